//! Hostile images (issue #12): files whose header promises far more pixels than their
//! bytes, served by a real HTTP server. Each is refused before anything is allocated,
//! with a warning naming file, line, URL and reason, and no build dies of it.

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

use crate::common::{TestSite, select};
use crate::http::TestServer;
use crate::images::{animated_gif, crc32, decoded, serve};

fn site(images: &str) -> TestSite {
    TestSite::with_config(&format!(
        "{}\n[links]\nallow_private_hosts = true\ntimeout = 3.0\nconnect_timeout = 1.0\n\
         \n[images]\n{images}",
        crate::common::SITE_TOML
    ))
}

/// A GIF with a `w`×`h` logical screen and `frames` 1×1 frames, written byte by byte.
fn gif_with_frames(w: u16, h: u16, frames: usize) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    // A global colour table of two colours, black and white.
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]);
    // Loop forever.
    out.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
    for _ in 0..frames {
        // 0.1 s, then a 1×1 frame at the top left: LZW clear, index 0, end.
        out.extend_from_slice(&[0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]);
        out.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0x00]);
        out.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
    }
    out.push(0x3B);
    out
}

/// The security review's bomb: 85 bytes, a 65535×65535 screen, two 1×1 frames.
fn gif_bomb() -> Vec<u8> {
    let bomb = gif_with_frames(65535, 65535, 2);
    assert_eq!(bomb.len(), 85);
    bomb
}

/// Deflate bits, least significant first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits {
    fn put(&mut self, value: u64, n: u32) {
        self.acc |= value << self.len;
        self.len += n;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    /// A Huffman code goes most significant bit first.
    fn code(&mut self, code: u64, n: u32) {
        self.put(code.reverse_bits() >> (64 - n), n);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A zlib stream of `n` zero bytes: one fixed-Huffman block of a literal zero and
/// copies of 258 bytes at distance 1 (13 bits each).
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(0b011, 3); // last block, fixed Huffman
    let literal_zero = |bits: &mut Bits| bits.code(0b0011_0000, 8);
    literal_zero(&mut bits);
    let mut left = n - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        literal_zero(&mut bits);
    }
    bits.code(0, 7); // end of block
    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&bits.finish());
    let adler = ((n % 65521) << 16) | 1;
    out.extend_from_slice(&(adler as u32).to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid `w`×`h` RGBA PNG of zeros: a few MB that decode to `w`×`h`×4 bytes.
fn zero_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // Each row: filter type 0, then 4 bytes a pixel.
    png_chunk(
        &mut out,
        b"IDAT",
        &zlib_zeros(h as u64 * (1 + 4 * w as u64)),
    );
    png_chunk(&mut out, b"IEND", b"");
    out
}

fn warning_for(warnings: &[String], url: &str) -> String {
    warnings
        .iter()
        .find(|w| w.contains(&format!("image {url}:")))
        .unwrap_or_else(|| panic!("no warning for {url}: {warnings:#?}"))
        .clone()
}

#[test]
fn a_gif_bomb_warns_and_no_build_dies_of_it() {
    let s = TestServer::start();
    let inline = serve(&s, "/bomb.gif", "image/gif", gif_bomb());
    let picture = serve(&s, "/og/bomb.gif", "image/gif", gif_bomb());
    let page = s.html(
        "/entry",
        &format!(
            "<html><head><meta property=og:title content=\"爆弾の記事\">\
             <meta property=og:image content=\"{picture}\"></head></html>"
        ),
    );
    let site = site("");
    site.post(
        "a",
        "title: 爆弾\ndate: 2024-01-02",
        &format!("![爆弾]({inline})\n\n{page}\n"),
    );
    // The real binary: an abort would show as a signal, not as a failed assertion.
    // The second build and the offline one decode the cached original again.
    for args in [&["build"][..], &["build"], &["build", "--offline"]] {
        let out = site.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?}\n{stderr}", out.status);
        let warnings: Vec<String> = stderr.lines().map(str::to_string).collect();
        for (url, line) in [(&inline, 6), (&picture, 8)] {
            let w = warning_for(&warnings, url);
            assert!(
                w.starts_with(&format!(
                    "warning: content/posts/a.md:{line}: image {url}: "
                )),
                "{w}"
            );
            assert!(
                w.contains("too large to decode safely (65535×65535 pixels; the limit is 12000"),
                "{w}"
            );
        }
    }
    let doc = site.html("2024/01/02/a/index.html");
    assert!(select(&doc, "img[alt=\"爆弾\"]").is_empty());
    assert!(select(&doc, ".link-card-image").is_empty());
    assert!(site.read("2024/01/02/a/index.html").contains("爆弾の記事"));
}

#[test]
fn a_png_over_max_alloc_is_refused_before_decoding() {
    // The generator makes real PNGs.
    let small = image::load_from_memory(&zero_png(64, 48)).unwrap();
    assert_eq!((small.width(), small.height()), (64, 48));
    assert!(small.to_rgba8().pixels().all(|p| p.0 == [0, 0, 0, 0]));

    let s = TestServer::start();
    let zeros = zero_png(12_000, 12_000);
    assert!(zeros.len() < 4 << 20, "{} bytes", zeros.len());
    let url = serve(&s, "/zeros.png", "image/png", zeros);
    let site = site("max_alloc_mb = 64\n");
    site.post(
        "a",
        "title: ゼロ\ndate: 2024-01-02",
        &format!("![ゼロ]({url})\n"),
    );
    let report = site.build();
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    // Refused from the header alone: 12000 × 12000 × 4 bytes is 550 MiB.
    assert_eq!(
        warnings[0],
        format!(
            "content/posts/a.md:6: image {url}: the image is too large to decode safely \
             (12000×12000 pixels would need 550 MiB; max_alloc_mb is 64)"
        )
    );
    assert_eq!(report.images_encoded, 0);
}

#[test]
fn a_refused_original_is_remembered_under_the_limits_in_force() {
    let s = TestServer::start();
    let url = serve(&s, "/zeros.png", "image/png", zero_png(12_000, 12_000));
    let site = site("max_alloc_mb = 64\n");
    let post = |body: &str| {
        site.post(
            "a",
            "title: ゼロ\ndate: 2024-01-02",
            &format!("![ゼロ]({url})\n\n{body}\n"),
        );
    };
    post("一回目。");
    site.build();
    let db = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    let refusals = || -> i64 {
        db.query_row("SELECT count(*) FROM image_refusals", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(refusals(), 1);
    // The next build takes the refusal from the cache instead of reading the image.
    db.execute(
        "UPDATE image_refusals SET reason = 'remembered by the test'",
        [],
    )
    .unwrap();
    post("二回目。");
    let report = site.build();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0]
            .message
            .ends_with("remembered by the test"),
        "{}",
        report.warnings[0]
    );
    // Other limits: the original is looked at again.
    site.write(
        "site.toml",
        format!(
            "{}\n[links]\nallow_private_hosts = true\n\n[images]\nmax_alloc_mb = 65\n",
            crate::common::SITE_TOML
        ),
    );
    let report = site.build();
    assert!(
        report.warnings[0].message.contains("max_alloc_mb is 65"),
        "{}",
        report.warnings[0]
    );
    assert_eq!(refusals(), 2);
}

/// A site (`max_alloc_mb = 64`) with one post titled `title` showing `inline` as an
/// image (alt `title`) and a link card whose picture is `picture`; returns the
/// site and the two image URLs.
fn animation_post(
    s: &TestServer,
    title: &str,
    inline: Vec<u8>,
    picture: Vec<u8>,
) -> (TestSite, String, String) {
    let inline = serve(s, "/long.gif", "image/gif", inline);
    let picture = serve(s, "/og/anim.gif", "image/gif", picture);
    serve(s, "/favicon.ico", "image/gif", gif_with_frames(16, 16, 1));
    let page = s.html(
        "/entry",
        &format!("<html><head><meta property=og:image content=\"{picture}\"></head></html>"),
    );
    let site = site("max_alloc_mb = 64\n");
    site.post(
        "a",
        &format!("title: {title}\ndate: 2024-01-02"),
        &format!("![{title}]({inline})\n\n{page}\n"),
    );
    (site, inline, picture)
}

#[test]
fn an_animation_over_the_frame_cap_is_refused() {
    let s = TestServer::start();
    // 100 frames of a 1000×1000 screen: 100 million frame pixels, over the 67 million
    // that max_alloc_mb = 64 allows; a single frame would decode in 4 MB.
    let long = gif_with_frames(1000, 1000, 100);
    let (site, inline, picture) = animation_post(&s, "長い", long.clone(), long);
    let report = site.build();
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    for url in [&inline, &picture] {
        let w = warning_for(&warnings, url);
        assert!(
            w.contains(
                "the animation is too large to serve safely (100 frames of 1000×1000 pixels"
            ),
            "{w}"
        );
    }
    assert!(site.snapshot().keys().all(|p| !p.ends_with(".gif")));
}

#[test]
fn animations_within_the_cap_are_served_as_they_are() {
    let s = TestServer::start();
    // 60 frames of 1000×1000: 60 million frame pixels, under the cap.
    let long = gif_with_frames(1000, 1000, 60);
    let (site, _, _) = animation_post(&s, "動く", long.clone(), animated_gif());
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let doc = site.html("2024/01/02/a/index.html");
    let read = |src: &str| std::fs::read(site.public().join(src.trim_start_matches('/'))).unwrap();
    let src = select(&doc, "img[alt=\"動く\"]")[0]
        .value()
        .attr("src")
        .unwrap();
    assert!(src.ends_with("-1000.gif"), "{src}");
    assert_eq!(read(src), long);
    let card = select(&doc, ".link-card-image")[0]
        .value()
        .attr("src")
        .unwrap();
    assert_eq!(decoded(&site, card), (ImageFormat::Gif, 300, 200));
    assert_eq!(read(card), animated_gif());
}

#[test]
fn an_image_needing_more_than_the_decode_budget_is_refused() {
    let photo = |w, h| {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }));
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Jpeg)
            .unwrap();
        out
    };
    let s = TestServer::start();
    // Decoding 3000×2000 takes 18 MB, which would fit in 32 MiB; but resizing it to
    // 1200 wide holds the picture, 3000 × 800 × 16 bytes of scratch and the variants:
    // 60 MB. 300×200 fits.
    let big = serve(&s, "/big.jpg", "image/jpeg", photo(3000, 2000));
    let small = serve(&s, "/small.jpg", "image/jpeg", photo(300, 200));
    let site = site("decode_budget_mb = 32\n");
    site.post(
        "a",
        "title: 予算\ndate: 2024-01-02",
        &format!("![大]({big})\n\n![小]({small})\n"),
    );
    let report = site.build();
    let warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let w = warning_for(&warnings, &big);
    assert!(w.contains("too large to process safely"), "{w}");
    assert!(w.contains("MiB; decode_budget_mb is 32)"), "{w}");
    let doc = site.html("2024/01/02/a/index.html");
    let src = select(&doc, "img[alt=\"小\"]")[0]
        .value()
        .attr("src")
        .unwrap();
    assert_eq!(decoded(&site, src), (ImageFormat::Jpeg, 300, 200));
}
