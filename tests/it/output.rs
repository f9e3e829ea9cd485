//! Incremental output: a build writes only the files whose bytes changed, repairs
//! what was changed by hand or left by a killed write, and ends byte-identical to a
//! clean build.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use crate::common::*;

/// Every file of the output with its inode and modification time.
fn stamps(site: &TestSite) -> BTreeMap<String, (u64, i64, i64)> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(site.public()) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let m = e.metadata().unwrap();
            let rel = e.path().strip_prefix(site.public()).unwrap();
            out.insert(
                rel.to_string_lossy().into_owned(),
                (m.ino(), m.mtime(), m.mtime_nsec()),
            );
        }
    }
    out
}

fn blog() -> TestSite {
    let site = TestSite::new();
    for (i, tag) in ["旅", "料理", "旅"].iter().enumerate() {
        site.post(
            &format!("p{i}"),
            &format!("title: 記事{i}\ndate: 2024-01-0{}\ntags: [{tag}]", i + 1),
            &format!("{tag}の話を書きました。本文{i}。"),
        );
    }
    site.write("static/css/extra.css", "p { color: teal; }\n");
    site
}

fn clean_build_of(site: &TestSite) -> BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    let mut opts = site.opts();
    opts.output = Some(out.path().join("public"));
    opts.clean = true;
    enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
    let copy = TestSite { dir: out };
    let mut files = BTreeMap::new();
    for e in walkdir::WalkDir::new(copy.root().join("public")) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(copy.root().join("public")).unwrap();
            files.insert(
                rel.to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            );
        }
    }
    files
}

#[test]
fn an_unchanged_rebuild_writes_no_file() {
    let site = blog();
    let first = site.build();
    assert_eq!(first.written.written, first.files);
    let before = stamps(&site);
    let report = site.build();
    assert!(
        report.up_to_date,
        "nothing changed, so nothing was generated"
    );
    assert_eq!(report.written.written, 0);
    assert_eq!(report.written.removed, 0);
    assert_eq!(report.written.unchanged, report.files);
    assert_eq!(stamps(&site), before);
    // Any input changing ends it: a template, a static file, the config.
    for (file, text) in [
        ("templates/robots.txt", "User-agent: *\n"),
        ("static/css/extra.css", "p { color: navy; }\n"),
        ("site.toml", &format!("{SITE_TOML}paginate = 2\n")),
    ] {
        site.write(file, text);
        let report = site.build();
        assert!(!report.up_to_date, "{file}");
        assert!(report.written.written > 0, "{file}");
        assert!(site.build().up_to_date, "{file}");
    }
    // A file changed in the output is noticed too.
    std::fs::write(site.public().join("index.html"), "x").unwrap();
    assert!(!site.build().up_to_date);
    assert_eq!(site.snapshot(), clean_build_of(&site));
}

#[test]
fn an_up_to_date_build_repeats_its_warnings_and_strict_still_fails() {
    let site = blog();
    site.post(
        "p0",
        "title: 記事0\ndate: 2024-01-01",
        "本文。\n\nhttps://blog.example.jp/nowhere/\n",
    );
    let first = site.build();
    assert_eq!(first.warnings.len(), 1);
    let again = site.build();
    assert!(again.up_to_date);
    assert_eq!(again.warnings, first.warnings);
    let out = site.run(&["build", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--strict: 1 warning(s) (1 link card)"));
}

#[test]
fn an_edit_rewrites_only_the_files_whose_bytes_changed() {
    let site = blog();
    site.build();
    let (before, bytes_before) = (stamps(&site), site.snapshot());
    site.post(
        "p1",
        "title: 記事1\ndate: 2024-01-02\ntags: [料理]",
        "料理の話を書き直しました。",
    );
    let report = site.build();
    let (after, bytes_after) = (stamps(&site), site.snapshot());
    let mut rewritten = 0;
    for (path, stamp) in &after {
        let same_bytes = bytes_before.get(path) == bytes_after.get(path);
        assert_eq!(before.get(path) == Some(stamp), same_bytes, "{path}");
        rewritten += usize::from(!same_bytes);
    }
    assert!(
        rewritten > 0 && rewritten < after.len() / 2,
        "{rewritten} of {}",
        after.len()
    );
    assert_eq!(report.written.written, rewritten);
    assert!(
        bytes_after["2024/01/02/p1/index.html"]
            .windows("書き直しました".len())
            .any(|w| w == "書き直しました".as_bytes())
    );
    assert_eq!(bytes_after, clean_build_of(&site));
}

#[test]
fn files_changed_or_deleted_by_hand_are_restored_and_strays_removed() {
    let site = blog();
    site.build();
    let expected = site.snapshot();
    let page = site.public().join("2024/01/01/p0/index.html");
    std::fs::write(&page, "手で書き換えた").unwrap();
    std::fs::remove_file(site.public().join("css/extra.css")).unwrap();
    std::fs::write(site.public().join("stray.html"), "誰も作っていない").unwrap();
    std::fs::create_dir_all(site.public().join("empty/deeper")).unwrap();
    let report = site.build();
    assert_eq!(report.written.written, 2);
    assert_eq!(report.written.removed, 1);
    assert_eq!(site.snapshot(), expected);
    assert!(!site.public().join("empty").exists());
}

#[test]
fn a_removed_post_leaves_no_file_and_no_empty_folder() {
    let site = blog();
    site.build();
    std::fs::remove_file(site.root().join("content/posts/p1.md")).unwrap();
    let report = site.build();
    assert!(report.written.removed >= 2, "{:?}", report.written);
    assert!(!site.public().join("2024/01/02").exists());
    assert!(!site.public().join("tags/料理").exists());
    assert_eq!(site.snapshot(), clean_build_of(&site));
}

#[test]
fn a_killed_write_is_repaired_by_the_next_build() {
    let site = blog();
    site.build();
    for i in 0..3 {
        site.post(
            &format!("p{i}"),
            &format!("title: 改訂{i}\ndate: 2024-01-0{}", i + 1),
            &format!("すべて書き直した本文{i}。"),
        );
    }
    let out = site.run_with_env(&["build"], &[("ENISHI_TEST_STOP_AFTER_WRITES", "3")]);
    assert_eq!(
        out.status.code(),
        Some(86),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    let complete: i64 = db
        .query_row("SELECT complete FROM output_folders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(complete, 0, "the manifest says the write did not finish");
    assert_ne!(
        site.snapshot(),
        clean_build_of(&site),
        "the kill left a mixed output"
    );
    let report = site.build();
    assert!(report.written.written > 0);
    assert_eq!(site.snapshot(), clean_build_of(&site));
    let complete: i64 = db
        .query_row("SELECT complete FROM output_folders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(complete, 1);
    let strays: Vec<String> = site
        .snapshot()
        .into_keys()
        .filter(|k| k.contains("enishi-tmp"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}

#[test]
fn a_post_whose_date_comes_due_is_published_by_the_next_build() {
    let site = blog();
    site.post(
        "later",
        "title: 予約投稿\ndate: 2025-06-10",
        "予約した本文。",
    );
    let mut opts = site.opts();
    let build = |opts: &enishi::pipeline::BuildOptions| {
        enishi::pipeline::build(opts, &enishi::report::Reporter::quiet()).unwrap()
    };
    build(&opts);
    assert!(build(&opts).up_to_date);
    assert!(!site.public().join("2025/06/10/later/index.html").exists());
    opts.now = Some(chrono::DateTime::parse_from_rfc3339("2025-06-11T00:00:00+09:00").unwrap());
    let report = build(&opts);
    assert!(!report.up_to_date, "the post came due");
    assert!(report.written.written > 0);
    assert!(
        site.read("2025/06/10/later/index.html")
            .contains("予約した本文。")
    );
}

#[test]
fn clean_empties_the_folder_and_writes_everything() {
    let site = blog();
    site.build();
    std::fs::write(site.public().join("stray.txt"), "x").unwrap();
    let out = site.run(&["build", "--clean"]);
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout);
    let files = site.snapshot().len();
    assert!(
        line.contains(&format!("written {files}, removed 0, unchanged 0")),
        "{line}"
    );
    assert!(!site.public().join("stray.txt").exists());
}

#[test]
fn an_output_folder_holding_the_site_is_refused_and_nothing_is_removed() {
    let site = blog();
    for output in [".", "..", "content/out", ".enishi"] {
        let out = site.run(&["build", "--output", output]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{output}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("choose a folder of its own"), "{stderr}");
    }
    assert!(site.root().join("site.toml").is_file());
    assert!(site.root().join("content/posts/p0.md").is_file());
}

#[test]
fn a_theme_outside_the_site_is_an_input_too() {
    let site = blog();
    let theme = tempfile::tempdir().unwrap();
    let default = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes/default");
    for e in walkdir::WalkDir::new(&default) {
        let e = e.unwrap();
        let to = theme.path().join(e.path().strip_prefix(&default).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
    std::fs::write(theme.path().join("templates/robots.txt"), "User-agent: a\n").unwrap();
    site.write(
        "site.toml",
        format!(
            "{SITE_TOML}theme = {:?}\n",
            theme.path().display().to_string()
        ),
    );
    site.build();
    assert_eq!(site.read("robots.txt"), "User-agent: a\n");
    std::fs::write(theme.path().join("templates/robots.txt"), "User-agent: b\n").unwrap();
    let report = site.build();
    assert!(!report.up_to_date);
    assert_eq!(site.read("robots.txt"), "User-agent: b\n");
}

#[test]
fn a_moved_cache_is_said_once_and_an_empty_folder_by_hand_is_removed() {
    let site = blog();
    site.build();
    let cache = site.root().join(".enishi/cache.sqlite");
    for side in ["cache.sqlite-wal", "cache.sqlite-shm"] {
        let _ = std::fs::remove_file(site.root().join(".enishi").join(side));
    }
    std::fs::write(&cache, b"not a database at all, just bytes").unwrap();
    let report = site.build();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let report = site.build();
    assert!(report.up_to_date);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    std::fs::create_dir_all(site.public().join("made/by/hand")).unwrap();
    assert!(!site.build().up_to_date);
    assert!(!site.public().join("made").exists());
}
