//! The cache file across versions: a cache written by an earlier Enishi is upgraded
//! in place, and every stage keeps its rows.

use std::path::Path;

use enishi::enrich::Mode;
use image::{ImageEncoder, Rgb, RgbImage};

use crate::common::{TestSite, select};

const CARD_URL: &str = "https://news.example.jp/articles/42";
const IMAGE_URL: &str = "https://img.example.jp/photo.jpg";

/// The schema every table had in cache format 1, exactly as that version wrote it.
const FORMAT_1: &str = "
    CREATE TABLE analysis (path TEXT PRIMARY KEY, content_hash TEXT NOT NULL,
        fingerprint TEXT NOT NULL, features TEXT NOT NULL);
    CREATE TABLE related (path TEXT PRIMARY KEY, settings TEXT NOT NULL, links TEXT NOT NULL);
    CREATE TABLE link_cards (url TEXT PRIMARY KEY, fetched_at INTEGER NOT NULL, card TEXT,
        error TEXT, etag TEXT, last_modified TEXT);
    CREATE TABLE images (url TEXT PRIMARY KEY, fetched_at INTEGER NOT NULL, content_hash TEXT,
        error TEXT, etag TEXT, last_modified TEXT);
    CREATE TABLE image_sets (content_hash TEXT NOT NULL, purpose TEXT NOT NULL,
        spec TEXT NOT NULL, sets TEXT NOT NULL, PRIMARY KEY (content_hash, purpose, spec));
    PRAGMA application_id = 1162761032;
    PRAGMA user_version = 1;
";

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(&img, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A format-1 cache holding one card, one fetched original and one related list,
/// as that version left them (the original's file under `images/originals/`).
fn write_format_1_cache(root: &Path) {
    let dir = root.join(".enishi");
    std::fs::create_dir_all(dir.join("images/originals")).unwrap();
    let photo = jpeg(800, 600);
    let name = &blake3::hash(IMAGE_URL.as_bytes()).to_hex()[..32];
    std::fs::write(dir.join("images/originals").join(name), &photo).unwrap();
    let db = rusqlite::Connection::open(dir.join("cache.sqlite")).unwrap();
    db.execute_batch(FORMAT_1).unwrap();
    let card = format!(
        r#"{{"url":"{CARD_URL}","final_url":"{CARD_URL}","meta":{{"title":"キャッシュにある記事",
        "description":"前のバージョンが保存したカード","image":null,"site_name":"例のニュース",
        "icon":"","canonical":"{CARD_URL}","published":"2024-03-01"}}}}"#
    );
    let now = chrono::Utc::now().timestamp();
    db.execute(
        "INSERT INTO link_cards (url, fetched_at, card) VALUES (?1, ?2, ?3)",
        rusqlite::params![CARD_URL, now, card],
    )
    .unwrap();
    db.execute(
        "INSERT INTO images (url, fetched_at, content_hash) VALUES (?1, ?2, ?3)",
        rusqlite::params![IMAGE_URL, now, blake3::hash(&photo).to_hex().to_string()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO related (path, settings, links) VALUES ('content/posts/a.md', 's', '[]')",
        [],
    )
    .unwrap();
}

#[test]
fn a_format_1_cache_is_upgraded_in_place_and_keeps_cards_and_images() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 移行\ndate: 2024-01-02",
        &format!("カードと写真。\n\n{CARD_URL}\n\n![写真]({IMAGE_URL})\n"),
    );
    write_format_1_cache(site.root());

    // Offline: everything must come from the old cache, or the build warns.
    let mut opts = site.opts();
    opts.links = Mode::Offline;
    let report = enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!((report.link_requests, report.image_requests), (0, 0));
    let doc = site.html("2024/01/02/a/index.html");
    let card = select(&doc, ".link-card");
    assert_eq!(card.len(), 1);
    assert!(card[0].text().any(|t| t.contains("キャッシュにある記事")));
    let img = select(&doc, "img[alt=\"写真\"]");
    assert!(img[0].value().attr("src").unwrap().contains("/_img/"));

    let db = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("PRAGMA user_version"), 2);
    assert_eq!(count("SELECT count(*) FROM link_cards"), 1);
    assert_eq!(count("SELECT count(*) FROM images"), 1);
    // The related lists were never read: that table is gone.
    assert_eq!(
        count("SELECT count(*) FROM sqlite_master WHERE name = 'related'"),
        0
    );
    let owners: Vec<(String, i64)> = db
        .prepare("SELECT owner, version FROM schema_versions ORDER BY owner")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        owners,
        [
            ("cards".to_string(), 1),
            ("images".to_string(), 2),
            ("output".to_string(), 1),
            ("related".to_string(), 2)
        ]
    );
    assert!(!site.root().join(".enishi/cache.sqlite.corrupt").exists());
}

#[test]
fn a_cache_from_a_newer_enishi_is_refused_and_left_alone() {
    let site = TestSite::new();
    site.post("a", "title: 記事\ndate: 2024-01-02", "本文。");
    site.build();
    let cache = site.root().join(".enishi/cache.sqlite");
    let db = rusqlite::Connection::open(&cache).unwrap();
    db.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(db);
    let before = std::fs::read(&cache).unwrap();
    let out = site.run(&["build"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".enishi/cache.sqlite") && stderr.contains("newer Enishi"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(std::fs::read(&cache).unwrap(), before);
    assert!(!site.root().join(".enishi/cache.sqlite.corrupt").exists());
}
