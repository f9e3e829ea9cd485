//! Remote images against a real HTTP server on 127.0.0.1, with real images made by
//! the test: what is written, what the HTML says, what happens on failure, and that a
//! second build neither downloads nor encodes anything.

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, Frame, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

use crate::common::{TestSite, select};
use crate::http::TestServer;

const CONFIG: &str =
    "\n[links]\nallow_private_hosts = true\ntimeout = 3.0\nconnect_timeout = 1.0\n";

fn site() -> TestSite {
    TestSite::with_config(&format!("{}{CONFIG}", crate::common::SITE_TOML))
}

/// A photo-like image: smooth gradients with noise, so encoders have work to do.
fn photo(w: u32, h: u32) -> RgbImage {
    let mut seed = 0x2545_f491_u32;
    RgbImage::from_fn(w, h, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (seed >> 27) as u8;
        Rgb([
            ((x * 255 / w) as u8).saturating_add(n),
            ((y * 255 / h) as u8).saturating_add(n),
            (((x + y) * 127 / (w + h)) as u8).saturating_add(n),
        ])
    })
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
fn rotated_jpeg(w: u32, h: u32) -> Vec<u8> {
    let plain = jpeg(&photo(w, h));
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid PNG header that claims 100000×100000 pixels: a decompression bomb's shape.
fn huge_png_header() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IEND");
    out.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    out
}

pub(crate) fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        for c in [0u8, 200] {
            let frame = RgbaImage::from_pixel(300, 200, Rgba([c, 100, 255 - c, 255]));
            enc.encode_frame(Frame::new(frame)).unwrap();
        }
    }
    out
}

pub(crate) fn serve(s: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> String {
    s.reply(path, 200, &[("Content-Type", content_type)], body)
}

/// Decodes an output file back: its format and size.
pub(crate) fn decoded(site: &TestSite, src: &str) -> (ImageFormat, u32, u32) {
    let rel = src.trim_start_matches('/');
    let bytes = std::fs::read(site.public().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let format = image::guess_format(&bytes).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    (format, img.width(), img.height())
}

fn img_with_alt<'a>(doc: &'a scraper::Html, alt: &str) -> scraper::ElementRef<'a> {
    select(doc, &format!("img[alt=\"{alt}\"]"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no img with alt {alt}"))
}

#[test]
fn remote_images_are_copied_resized_and_rewritten() {
    let s = TestServer::start();
    let big_jpeg = serve(&s, "/img/big.jpg", "image/jpeg", jpeg(&photo(3000, 2000)));
    let big_png = serve(
        &s,
        "/img/big.png",
        "image/png",
        png(&DynamicImage::ImageRgb8(photo(2400, 1600))),
    );
    let alpha = RgbaImage::from_fn(800, 600, |x, _| {
        Rgba([200, 50, 50, if x < 400 { 0 } else { 255 }])
    });
    let alpha_png = serve(
        &s,
        "/img/alpha.png",
        "image/png",
        png(&DynamicImage::ImageRgba8(alpha)),
    );
    let deep = DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(photo(1000, 800)).to_rgb16());
    let deep_png = serve(&s, "/img/deep.png", "image/png", png(&deep));
    let gif = serve(&s, "/img/anim.gif", "image/gif", animated_gif());
    let rotated = serve(&s, "/img/rotated.jpg", "image/jpeg", rotated_jpeg(400, 200));
    let mislabelled = serve(
        &s,
        "/img/mislabelled",
        "text/plain",
        png(&DynamicImage::ImageRgb8(photo(500, 300))),
    );
    let target = serve(&s, "/img/target.jpg", "image/jpeg", jpeg(&photo(700, 500)));
    let redirect = s.redirect("/img/redirect", &target);

    let site = site();
    site.post(
        "a",
        "title: 画像の記事\ndate: 2024-01-02",
        &format!(
            "大きな写真。\n\n![大きなJPEG]({big_jpeg})\n\n![大きなPNG]({big_png})\n\n![透過PNG]({alpha_png})\n\n\
             ![16ビットPNG]({deep_png})\n\n![動くGIF]({gif})\n\n![回転JPEG]({rotated})\n\n\
             ![種類違い]({mislabelled})\n\n![転送]({redirect})\n\n<p><img src=\"{big_jpeg}\" alt=\"生のHTML\"></p>\n"
        ),
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let doc = site.html("2024/01/02/a/index.html");

    // Large JPEG: 600 and 1200 wide, JPEG fallback, WebP source, all attributes.
    let img = img_with_alt(&doc, "大きなJPEG");
    let v = img.value();
    let src = v.attr("src").unwrap();
    assert!(
        src.starts_with("/_img/") && src.ends_with("-1200.jpg"),
        "{src}"
    );
    assert_eq!(
        (v.attr("width"), v.attr("height")),
        (Some("1200"), Some("800"))
    );
    assert_eq!(v.attr("loading"), Some("lazy"));
    assert_eq!(v.attr("decoding"), Some("async"));
    assert!(v.attr("srcset").unwrap().contains("-600.jpg 600w"));
    assert_eq!(v.attr("sizes"), Some("(max-width: 1200px) 100vw, 1200px"));
    assert_eq!(decoded(&site, src), (ImageFormat::Jpeg, 1200, 800));
    let picture = img.parent().and_then(scraper::ElementRef::wrap).unwrap();
    assert_eq!(picture.value().name(), "picture");
    let source = picture
        .select(&scraper::Selector::parse("source").unwrap())
        .next()
        .unwrap();
    assert_eq!(source.value().attr("type"), Some("image/webp"));
    let webp_srcset = source.value().attr("srcset").unwrap();
    let webp_600 = webp_srcset
        .split(", ")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(decoded(&site, webp_600), (ImageFormat::WebP, 600, 400));

    // The same URL in raw HTML gets the same files.
    assert_eq!(
        img_with_alt(&doc, "生のHTML").value().attr("src"),
        Some(src)
    );

    let big_png_src = img_with_alt(&doc, "大きなPNG").value().attr("src").unwrap();
    assert_eq!(
        decoded(&site, big_png_src),
        (ImageFormat::Jpeg, 1200, 800),
        "an opaque PNG photo becomes a JPEG"
    );

    let alpha_src = img_with_alt(&doc, "透過PNG").value().attr("src").unwrap();
    assert!(
        alpha_src.ends_with("-800.png"),
        "never upscaled, transparency kept: {alpha_src}"
    );
    let (format, w, h) = decoded(&site, alpha_src);
    assert_eq!((format, w, h), (ImageFormat::Png, 800, 600));
    let bytes = std::fs::read(site.public().join(alpha_src.trim_start_matches('/'))).unwrap();
    let back = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(back.get_pixel(10, 10).0[3], 0);
    assert_eq!(back.get_pixel(700, 10).0[3], 255);

    let deep_src = img_with_alt(&doc, "16ビットPNG")
        .value()
        .attr("src")
        .unwrap();
    assert_eq!(decoded(&site, deep_src), (ImageFormat::Jpeg, 1000, 800));

    let gif_img = img_with_alt(&doc, "動くGIF");
    let gif_src = gif_img.value().attr("src").unwrap();
    assert_eq!(decoded(&site, gif_src), (ImageFormat::Gif, 300, 200));
    let gif_bytes = std::fs::read(site.public().join(gif_src.trim_start_matches('/'))).unwrap();
    assert_eq!(
        gif_bytes,
        animated_gif(),
        "an animated GIF is served as it is"
    );

    let rotated_src = img_with_alt(&doc, "回転JPEG").value().attr("src").unwrap();
    assert_eq!(
        decoded(&site, rotated_src),
        (ImageFormat::Jpeg, 200, 400),
        "EXIF orientation applied"
    );

    let mis_src = img_with_alt(&doc, "種類違い").value().attr("src").unwrap();
    assert_eq!(decoded(&site, mis_src), (ImageFormat::Jpeg, 500, 300));
    let red_src = img_with_alt(&doc, "転送").value().attr("src").unwrap();
    assert_eq!(decoded(&site, red_src), (ImageFormat::Jpeg, 700, 500));

    // No http:// image left anywhere in the output.
    for (path, bytes) in site.snapshot() {
        if path.ends_with(".html") {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("src=\"http://"), "{path}");
            assert!(!text.contains("srcset=\"http://"), "{path}");
        }
    }
    assert!(report.images_encoded > 0);
    let (bytes_in, bytes_out) = report.image_bytes;
    assert!(bytes_out < bytes_in, "{bytes_out} >= {bytes_in}");

    // Second build: nothing downloaded, nothing encoded, same output.
    let hits = s.total_hits();
    let before = site.snapshot();
    let db = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    let fetched_at = |db: &rusqlite::Connection| -> Vec<i64> {
        let mut st = db
            .prepare("SELECT fetched_at FROM images ORDER BY url")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let stamps = fetched_at(&db);
    assert_eq!(
        stamps.len(),
        8,
        "one row per URL as written (the redirect target has none)"
    );
    let report = site.build();
    assert_eq!((report.image_requests, report.images_encoded), (0, 0));
    assert_eq!(s.total_hits(), hits);
    assert_eq!(fetched_at(&db), stamps);
    assert_eq!(site.snapshot(), before);

    // --offline also works from the cache alone.
    let mut opts = site.opts();
    opts.links = enishi::enrich::Mode::Offline;
    let report = enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(s.total_hits(), hits);
}

#[test]
fn bad_images_fall_back_and_never_fail_the_build() {
    let s = TestServer::start();
    let bomb = serve(&s, "/bad/bomb.png", "image/png", huge_png_header());
    let full = jpeg(&photo(800, 600));
    let truncated = serve(
        &s,
        "/bad/cut.jpg",
        "image/jpeg",
        full[..full.len() / 3].to_vec(),
    );
    let html = serve(
        &s,
        "/bad/page",
        "image/jpeg",
        b"<html>not an image</html>".to_vec(),
    );
    let missing = s.reply("/bad/404.png", 404, &[], "");
    // An https URL nobody answers: kept as it is (it is not mixed content).
    let https = "https://127.0.0.1:9/photo.jpg".to_string();

    let site = site();
    site.post(
        "a",
        "title: 壊れた画像\ndate: 2024-01-02",
        &format!(
            "![爆弾]({bomb})\n\n![途切れ]({truncated})\n\n![偽物]({html})\n\n![無い]({missing})\n\n![暗号化]({https})\n"
        ),
    );
    let report = site.build();
    let reason = |url: &str| {
        report
            .warnings
            .iter()
            .find(|w| w.to_string().contains(&format!("image {url}:")))
            .unwrap_or_else(|| panic!("no warning for {url}: {:?}", report.warnings))
            .to_string()
    };
    assert!(
        reason(&bomb).starts_with("content/posts/a.md:6: "),
        "{}",
        reason(&bomb)
    );
    assert!(
        reason(&bomb).contains("too large to decode safely"),
        "{}",
        reason(&bomb)
    );
    assert!(
        reason(&truncated).contains("truncated"),
        "{}",
        reason(&truncated)
    );
    assert!(reason(&html).contains("not an image"), "{}", reason(&html));
    assert!(
        reason(&missing).contains("HTTP 404"),
        "{}",
        reason(&missing)
    );
    assert!(
        reason(&https).starts_with("content/posts/a.md:14: "),
        "{}",
        reason(&https)
    );
    assert_eq!(report.warnings.len(), 5, "{:?}", report.warnings);

    let doc = site.html("2024/01/02/a/index.html");
    assert!(select(&doc, "img[alt=\"爆弾\"]").is_empty());
    let text: String = select(&doc, "article")[0].text().collect();
    for alt in ["爆弾", "途切れ", "偽物", "無い"] {
        assert!(text.contains(alt), "alt text {alt} kept");
    }
    let kept = img_with_alt(&doc, "暗号化");
    assert_eq!(kept.value().attr("src"), Some(https.as_str()));
    assert_eq!(kept.value().attr("loading"), Some("lazy"));
    assert!(
        !site
            .read("2024/01/02/a/index.html")
            .contains("src=\"http://")
    );

    // --strict turns these warnings into a failed build.
    let out = site.run(&["build", "--strict"]);
    assert!(!out.status.success());
}

#[test]
fn card_pictures_and_icons_come_from_the_site() {
    let s = TestServer::start();
    let photo_url = serve(&s, "/og.jpg", "image/jpeg", jpeg(&photo(1200, 630)));
    let icon = RgbaImage::from_fn(64, 64, |x, y| Rgba([(x * 4) as u8, (y * 4) as u8, 90, 255]));
    serve(
        &s,
        "/icon.png",
        "image/png",
        png(&DynamicImage::ImageRgba8(icon)),
    );
    let page = s.html(
        "/entry",
        &format!(
            "<html><head><meta property=og:title content=\"写真つきの記事\"><meta property=og:image content=\"{photo_url}\">\
             <link rel=icon href=/icon.png></head></html>"
        ),
    );
    let site = site();
    site.post("a", "title: カード\ndate: 2024-01-02", &format!("{page}\n"));
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let doc = site.html("2024/01/02/a/index.html");
    let img = select(&doc, ".link-card-image")[0].value();
    let src = img.attr("src").unwrap();
    assert_eq!(decoded(&site, src), (ImageFormat::Jpeg, 480, 251));
    assert_eq!(
        (img.attr("width"), img.attr("height")),
        (Some("480"), Some("251"))
    );
    assert!(img.attr("srcset").unwrap().contains(" 240w"));
    let sources = select(&doc, ".link-card-picture source");
    assert_eq!(sources.len(), 3);
    let square = sources[1].value().attr("srcset").unwrap();
    let first = square.split(' ').next().unwrap();
    assert_eq!(decoded(&site, first), (ImageFormat::Jpeg, 120, 120));
    let icon_src = select(&doc, ".link-card-icon")[0]
        .value()
        .attr("src")
        .unwrap();
    assert_eq!(decoded(&site, icon_src), (ImageFormat::Jpeg, 32, 32));
}

#[test]
fn the_same_picture_at_two_urls_is_made_once_and_used_twice() {
    let s = TestServer::start();
    let bytes = jpeg(&photo(900, 600));
    let a = serve(&s, "/a.jpg", "image/jpeg", bytes.clone());
    let b = serve(&s, "/mirror/b.jpg", "image/jpeg", bytes);
    let site = site();
    site.post(
        "a",
        "title: 同じ写真\ndate: 2024-01-02",
        &format!("![一枚目]({a})\n\n![二枚目]({b})\n"),
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let doc = site.html("2024/01/02/a/index.html");
    let first = img_with_alt(&doc, "一枚目")
        .value()
        .attr("src")
        .unwrap()
        .to_string();
    let second = img_with_alt(&doc, "二枚目")
        .value()
        .attr("src")
        .unwrap()
        .to_string();
    assert_eq!(first, second, "content-addressed: one file for one picture");
    assert_eq!(decoded(&site, &first), (ImageFormat::Jpeg, 900, 600));
}
