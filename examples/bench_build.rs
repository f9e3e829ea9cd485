//! Benchmarks on generated Japanese sites (no test asserts timings; figures go in notes).
//!
//!     cargo run --release --example bench_build -- build 1000
//!         cold build (tokenizing everything), then a warm build (all from the cache):
//!         wall time and peak memory of each
//!     cargo run --release --example bench_build -- related 10000
//!         related top-5 from ready term counts (what a warm `enishi related` does)
//!     cargo run --release --example bench_build -- tokenize 2000 [CORPUS_DIR]
//!         tokenizer throughput in MB/s on one core (generated text, or real text
//!         such as the livedoor corpus)
//!     cargo run --release --example bench_build -- cards 500 [PER_HOST]
//!         link cards for 500 distinct URLs from a local server answering each request
//!         after 50 ms: first build (wall time, requests) and second build (requests)
//!     cargo run --release --example bench_build -- serve 1000
//!         `serve --watch` on a generated site: time from saving one post to the reload
//!         event, over several edits (median and worst)
//!     cargo run --release --example bench_build -- images 200
//!         200 distinct photos (mixed sizes up to 4000×3000) through the image pipeline:
//!         wall time, peak memory, bytes in and out; then a second build
//!
//! Run one mode per process: peak memory is the process's high-water mark.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;

#[path = "../tests/it/http.rs"]
mod http;
use enishi::pipeline::{BuildOptions, build};
use enishi::related::tfidf::{self, DocFeatures, Weights};
use enishi::related::tokenize::Tokenizer;

const TOPICS: &[&[&str]] = &[
    &[
        "所有権",
        "借用",
        "コンパイラ",
        "型推論",
        "トレイト",
        "ライフタイム",
        "クレート",
        "並列処理",
        "非同期",
        "マクロ",
    ],
    &[
        "出汁",
        "昆布",
        "かつお節",
        "味噌汁",
        "豆腐",
        "大根",
        "煮物",
        "醤油",
        "土鍋",
        "炊き込みご飯",
    ],
    &[
        "鈍行列車",
        "車窓",
        "乗り換え",
        "駅弁",
        "温泉",
        "宿",
        "路線図",
        "時刻表",
        "寺",
        "城下町",
    ],
    &[
        "サーバーレス",
        "コンテナ",
        "デプロイ",
        "監視",
        "障害",
        "負荷分散",
        "データベース",
        "バックアップ",
        "権限",
        "ログ",
    ],
    &[
        "形態素解析",
        "辞書",
        "品詞",
        "検索",
        "全文検索",
        "索引",
        "類似度",
        "分類",
        "要約",
        "コーパス",
    ],
    &[
        "カメラ",
        "レンズ",
        "露出",
        "構図",
        "夜景",
        "三脚",
        "現像",
        "望遠",
        "画質",
        "撮影",
    ],
    &[
        "野球",
        "投手",
        "打者",
        "本塁打",
        "監督",
        "試合",
        "優勝",
        "球場",
        "守備",
        "練習",
    ],
    &[
        "映画",
        "監督",
        "脚本",
        "主演",
        "公開",
        "興行",
        "字幕",
        "予告編",
        "劇場",
        "续編",
    ],
];
const COMMON: &[&str] = &[
    "今回", "方法", "結果", "問題", "時間", "説明", "理由", "経験", "準備", "確認",
];
const FRAMES: &[&str] = &[
    "{a}と{b}について考えてみました。",
    "まず{a}を確認し、次に{b}を試します。",
    "{a}の{b}は思ったより{c}に左右されます。",
    "{c}を使えば{a}がずっと楽になります。",
    "先週は{a}と{b}、それに{c}の話をしました。",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn post_text(rng: &mut Rng, sentences: usize) -> (String, String) {
    let topic = TOPICS[(rng.next() % TOPICS.len() as u64) as usize];
    let title = format!("{}と{}の話", rng.pick(topic), rng.pick(topic));
    let mut body = String::new();
    for i in 0..sentences {
        let word = |rng: &mut Rng| {
            if rng.next().is_multiple_of(4) {
                rng.pick(COMMON)
            } else {
                rng.pick(topic)
            }
        };
        let s = rng
            .pick(FRAMES)
            .replace("{a}", word(rng))
            .replace("{b}", word(rng))
            .replace("{c}", word(rng));
        body.push_str(&s);
        if i % 4 == 3 {
            body.push_str("\n\n");
        }
    }
    (title, body)
}

/// A memory figure from /proc/self/status (`VmHWM` peak, `VmRSS` now) in MB.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn current_rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// Resets VmHWM (Linux: writing 5 to clear_refs), so a later peak belongs to what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("build");
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    match mode {
        "build" => bench_build(n),
        "related" => bench_related(n, args.get(2).map(std::path::PathBuf::from)),
        "tokenize" => bench_tokenize(n, args.get(2).map(std::path::PathBuf::from)),
        "cards" => bench_cards(n, args.get(2).map(|s| s.parse()).transpose()?),
        "images" => bench_images(n),
        "serve" => bench_serve(n),
        other => anyhow::bail!("unknown mode {other} (build, related, tokenize, cards, images)"),
    }
}

/// A generated site of `n` posts in a temp dir; returns it and its Markdown bytes.
fn generated_site(n: usize) -> Result<(tempfile::TempDir, usize)> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("site.toml"),
        "title = \"bench\"\nbase_url = \"https://bench.example/\"\n",
    )?;
    let posts = dir.path().join("content/posts");
    std::fs::create_dir_all(&posts)?;
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut bytes = 0;
    for i in 0..n {
        let (title, body) = post_text(&mut rng, 40);
        let text = format!(
            "---\ntitle: {title}\ndate: {}\ntags: [タグ{}]\n---\n\n## はじめに\n\n{body}\n",
            chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap()
                + chrono::Days::new(i as u64 % 3650),
            i % 50
        );
        bytes += text.len();
        std::fs::write(posts.join(format!("p{i:06}.md")), text)?;
    }
    Ok((dir, bytes))
}

fn bench_build(n: usize) -> Result<()> {
    let (dir, bytes) = generated_site(n)?;
    let opts = BuildOptions {
        source: dir.path().to_path_buf(),
        ..Default::default()
    };
    let t = Instant::now();
    let cold = build(&opts, &enishi::report::Reporter::quiet())?;
    let cold_time = t.elapsed();
    let t = Instant::now();
    let warm = build(&opts, &enishi::report::Reporter::quiet())?;
    let warm_time = t.elapsed();
    println!(
        "build {n} posts ({:.1} MB of Markdown): cold {:.2} s ({} pages, tokenized {}), warm {:.2} s (tokenized {}), peak RSS {:.0} MB",
        bytes as f64 / 1e6,
        cold_time.as_secs_f64(),
        cold.pages,
        cold.tokenized,
        warm_time.as_secs_f64(),
        warm.tokenized,
        peak_rss_mb()
    );
    Ok(())
}

/// Term counts shaped like real posts: a topic vocabulary, Zipf-like word choice.
fn synthetic_features(n: usize) -> Vec<DocFeatures> {
    let mut rng = Rng(0xD1B54A32D192ED03);
    let topics = 200;
    let per_topic = 300;
    (0..n)
        .map(|_| {
            let topic = rng.next() % topics;
            let mut body = BTreeMap::new();
            for _ in 0..150 {
                // Zipf-like: small ranks far more often.
                let r = (rng.next() % 1000) as f64 / 1000.0;
                let rank = ((per_topic as f64).powf(r) as u64).min(per_topic - 1);
                let word = if rng.next().is_multiple_of(3) {
                    format!("共通{}", rank * 7 % 2000)
                } else {
                    format!("語{topic}_{rank}")
                };
                *body.entry(word).or_insert(0) += 1;
            }
            let title = [(format!("語{topic}_0"), 1)].into_iter().collect();
            DocFeatures {
                title,
                body,
                tags: vec![format!("t{}", topic % 40)],
            }
        })
        .collect()
}

/// Term counts of real articles: every text file under `dir` (path order), each a
/// title line then the body, tokenized in parallel. Past the corpus size, a post is
/// two articles merged, so `n` can exceed the corpus with real term statistics.
fn corpus_features(n: usize, dir: &std::path::Path) -> Result<Vec<DocFeatures>> {
    use rayon::prelude::*;
    let tokenizer = Tokenizer::new(None)?;
    let texts = corpus_texts(dir, usize::MAX);
    anyhow::ensure!(!texts.is_empty(), "{}: no .txt files", dir.display());
    let real: Vec<DocFeatures> = texts
        .par_iter()
        .map(|text| {
            // livedoor's files open with a URL and a date line before the title.
            let text = text
                .lines()
                .skip_while(|l| {
                    l.starts_with("http") || l.starts_with(|c: char| c.is_ascii_digit())
                })
                .collect::<Vec<_>>()
                .join("\n");
            let (title, body) = text.split_once('\n').unwrap_or(("", &text));
            let mut f = DocFeatures::default();
            tokenizer.count_terms(title, &mut f.title)?;
            tokenizer.count_terms(body, &mut f.body)?;
            Ok(f)
        })
        .collect::<Result<_>>()?;
    Ok((0..n)
        .map(|i| {
            let mut f = real[i % real.len()].clone();
            if i >= real.len() {
                for (t, c) in &real[(i * 7 + 1) % real.len()].body {
                    *f.body.entry(t.clone()).or_insert(0) += c;
                }
            }
            f
        })
        .collect())
}

/// The text files under `dir` in path order, at most `n` of them.
fn corpus_texts(dir: &std::path::Path, n: usize) -> Vec<String> {
    let mut files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "txt"))
        // Leave out README.txt, LICENSE.txt and the like.
        .filter(|e| {
            !e.file_name()
                .to_string_lossy()
                .trim_end_matches(".txt")
                .chars()
                .all(|c| c.is_ascii_uppercase())
        })
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .take(n)
        .collect()
}

/// Related posts from term counts already in hand (as after a cached analysis):
/// synthetic ones, or with `corpus` those of real articles.
fn bench_related(n: usize, corpus: Option<std::path::PathBuf>) -> Result<()> {
    let features = match &corpus {
        Some(dir) => corpus_features(n, dir)?,
        None => synthetic_features(n),
    };
    reset_peak_rss();
    let before = current_rss_mb();
    let t = Instant::now();
    let w = Weights {
        title: 3.0,
        tag: 2.0,
    };
    let vectors = tfidf::vectorize(&features, w);
    let vec_time = t.elapsed();
    let t = Instant::now();
    let (_, ranked, steps) = tfidf::rank(vectors, 5, 0.05);
    let rank_time = t.elapsed();
    println!(
        "  neighbours {:.2} s, feedback {:.2} s, final ranking {:.2} s",
        steps.neighbours.as_secs_f64(),
        steps.feedback.as_secs_f64(),
        steps.ranking.as_secs_f64()
    );
    let filled = ranked.iter().filter(|r| r.len() == 5).count();
    println!(
        "related top-5 for {n} posts: vectorize {:.2} s, rank (with feedback) {:.2} s, total {:.2} s; \
         {filled} posts with 5 related; peak RSS {:.0} MB ({before:.0} MB before it started: term counts, dictionary, allocator reserve)",
        vec_time.as_secs_f64(),
        rank_time.as_secs_f64(),
        (vec_time + rank_time).as_secs_f64(),
        peak_rss_mb()
    );
    Ok(())
}

/// Generated text, or with `corpus` the first `n` text files under that folder (in
/// path order), such as the livedoor corpus: real text repeats its words less.
fn bench_tokenize(n: usize, corpus: Option<std::path::PathBuf>) -> Result<()> {
    let tokenizer = Tokenizer::new(None)?;
    let texts: Vec<String> = match corpus {
        Some(dir) => corpus_texts(&dir, n),
        None => {
            let mut rng = Rng(0x2545F4914F6CDD1D);
            (0..n).map(|_| post_text(&mut rng, 40).1).collect()
        }
    };
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    // Best of three, against lindera's own segmentation of the same text.
    let mut segment_secs = f64::MAX;
    let mut count_secs = f64::MAX;
    let (mut tokens, mut terms) = (0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        tokens = 0;
        for text in &texts {
            tokens += tokenizer.count_tokens(text)?;
        }
        segment_secs = segment_secs.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        terms = 0;
        for text in &texts {
            let mut counts = BTreeMap::new();
            tokenizer.count_terms(text, &mut counts)?;
            terms += counts.len();
        }
        count_secs = count_secs.min(t.elapsed().as_secs_f64());
    }
    println!(
        "tokenize {mb:.1} MB on one core (best of 3): lindera segment alone {:.1} MB/s ({tokens} tokens); \
         term counting {:.2} s, {:.1} MB/s ({terms} distinct terms per post summed)",
        mb / segment_secs,
        count_secs,
        mb / count_secs
    );
    Ok(())
}

fn bench_cards(n: usize, per_host: Option<usize>) -> Result<()> {
    let server = http::TestServer::start();
    server.set_latency(std::time::Duration::from_millis(50));
    let dir = tempfile::tempdir()?;
    let per_host_line = per_host
        .map(|p| format!("per_host = {p}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.path().join("site.toml"),
        format!(
            "title = \"bench\"\nbase_url = \"https://bench.example/\"\n[links]\nallow_private_hosts = true\n{per_host_line}"
        ),
    )?;
    let posts = dir.path().join("content/posts");
    std::fs::create_dir_all(&posts)?;
    let per_post = 10;
    for p in 0..n.div_ceil(per_post) {
        let mut body = String::from("リンク集です。\n\n");
        for i in p * per_post..((p + 1) * per_post).min(n) {
            let url = server.html(
                &format!("/pages/{i}"),
                &format!(
                    "<html><head><meta charset=utf-8><title>ページ{i}</title>\
                     <meta property=og:title content=\"記事その{i}\">\
                     <meta property=og:description content=\"{i}番目のページの説明です。\">\
                     <meta property=og:image content=\"/img/{i}.jpg\"></head><body>{}</body></html>",
                    "本文".repeat(500)
                ),
            );
            body.push_str(&format!("{url}\n\n"));
        }
        std::fs::write(
            posts.join(format!("post-{p:05}.md")),
            format!("---\ntitle: リンク集{p}\ndate: 2024-01-01\n---\n\n{body}"),
        )?;
    }
    let opts = BuildOptions {
        source: dir.path().to_path_buf(),
        ..Default::default()
    };
    for label in ["first", "second"] {
        let started = Instant::now();
        let report = build(&opts, &enishi::report::Reporter::quiet())?;
        println!(
            "{label} build: {:.2} s, {} link-card requests, {} warnings, peak RSS {:.0} MB",
            started.elapsed().as_secs_f64(),
            report.link_requests,
            report.warnings.len(),
            peak_rss_mb()
        );
    }
    println!("server saw {} requests in all", server.total_hits());
    Ok(())
}

fn bench_images(n: usize) -> Result<()> {
    use image::ImageEncoder;
    const SIZES: &[(u32, u32)] = &[
        (4000, 3000),
        (3000, 2000),
        (1920, 1080),
        (1200, 800),
        (800, 600),
        (640, 480),
    ];
    let server = http::TestServer::start();
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("site.toml"),
        "title = \"bench\"\nbase_url = \"https://bench.example/\"\n[links]\nallow_private_hosts = true\ntimeout = 60.0\n",
    )?;
    let posts = dir.path().join("content/posts");
    std::fs::create_dir_all(&posts)?;
    let started = Instant::now();
    let mut body = String::new();
    let mut served = 0u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..n {
        let (w, h) = SIZES[i % SIZES.len()];
        let shift = (rng.next() % 64) as u8;
        // A photo-like picture: gradients plus noise, different for every image.
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let n = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 32) as u8;
            image::Rgb([
                ((x * 200 / w) as u8).wrapping_add(shift).saturating_add(n),
                ((y * 200 / h) as u8).saturating_add(n),
                (((x + y) * 100 / (w + h)) as u8).wrapping_add(shift),
            ])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92).write_image(
            &img,
            w,
            h,
            image::ExtendedColorType::Rgb8,
        )?;
        served += bytes.len() as u64;
        let url = server.reply(
            &format!("/photos/{i}.jpg"),
            200,
            &[("Content-Type", "image/jpeg")],
            bytes,
        );
        body.push_str(&format!("![写真{i}]({url})\n\n"));
    }
    println!(
        "generated {n} JPEGs ({:.1} MB) in {:.1} s",
        served as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    std::fs::write(
        posts.join("photos.md"),
        format!("---\ntitle: 写真集\ndate: 2024-01-01\n---\n\n{body}"),
    )?;
    let opts = BuildOptions {
        source: dir.path().to_path_buf(),
        ..Default::default()
    };
    // The server holds every original in this process: report the build's own peak
    // on top of what was resident before it.
    let before = current_rss_mb();
    reset_peak_rss();
    println!("resident before the build (server with all originals): {before:.0} MB");
    for label in ["first", "second"] {
        let started = Instant::now();
        let report = build(&opts, &enishi::report::Reporter::quiet())?;
        let (bytes_in, bytes_out) = report.image_bytes;
        println!(
            "{label} build: {:.2} s, {} image requests, {} variants encoded, {} warnings, originals {:.1} MB → largest copies {:.1} MB ({:.0}% smaller), peak RSS {:.0} MB",
            started.elapsed().as_secs_f64(),
            report.image_requests,
            report.images_encoded,
            report.warnings.len(),
            bytes_in as f64 / 1e6,
            bytes_out as f64 / 1e6,
            100.0 * (1.0 - bytes_out as f64 / bytes_in.max(1) as f64),
            peak_rss_mb()
        );
    }
    let out: u64 = walkdir::WalkDir::new(dir.path().join("public/_img"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    println!("all variants written: {:.1} MB", out as f64 / 1e6);
    Ok(())
}

fn bench_serve(n: usize) -> Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let (dir, _) = generated_site(n)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let source = dir.path().to_path_buf();
    std::thread::spawn(move || {
        enishi::serve::serve(enishi::serve::ServeOptions {
            source,
            bind: "127.0.0.1".parse().unwrap(),
            port,
            drafts: true,
            watch: true,
            open: false,
        })
    });
    let addr = format!("127.0.0.1:{port}");
    let mut stream = loop {
        if let Ok(s) = std::net::TcpStream::connect(&addr) {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // The socket listens before the first build ends: a page answered means ready.
    {
        use std::io::Read;
        let mut probe = std::net::TcpStream::connect(&addr)?;
        write!(
            probe,
            "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut sink = Vec::new();
        probe.read_to_end(&mut sink)?;
    }
    write!(
        stream,
        "GET /__enishi/events HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )?;
    stream.set_read_timeout(Some(std::time::Duration::from_millis(100)))?;
    let mut reader = BufReader::new(stream);
    // Whether an `event: reload` line arrives within `limit`.
    let mut next_reload = |limit: std::time::Duration| -> bool {
        let until = Instant::now() + limit;
        let mut line = String::new();
        while Instant::now() < until {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => return false,
                Ok(_) if line.trim() == "event: reload" => return true,
                _ => {}
            }
        }
        false
    };
    let post = dir.path().join("content/posts/p000007.md");
    let original = std::fs::read_to_string(&post)?;
    let mut first = Vec::new();
    let mut refreshed = Vec::new();
    for round in 0..9 {
        // Let the previous edit settle (its related refresh included).
        while next_reload(std::time::Duration::from_millis(300)) {}
        let edited = original.replace("はじめに", &format!("はじめに（改訂{round}）"));
        let t = Instant::now();
        std::fs::write(&post, edited)?;
        if !next_reload(std::time::Duration::from_secs(30)) {
            anyhow::bail!("no reload event after edit {round}");
        }
        first.push(t.elapsed().as_secs_f64() * 1000.0);
        // Fresh related lists follow with a second reload when they changed.
        if next_reload(std::time::Duration::from_secs(5)) {
            refreshed.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let edits = first.len();
    let changed = refreshed.len();
    println!(
        "serve {n} posts: save → reload event median {:.0} ms over {edits} edits (fastest {:.0}, slowest {:.0}); the related lists changed after {changed} edits and their reload came {:.0} ms after the save (median); peak RSS {:.0} MB",
        median(&mut first),
        first[0],
        first[edits - 1],
        median(&mut refreshed),
        peak_rss_mb()
    );
    Ok(())
}
