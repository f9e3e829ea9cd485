//! Hostile and unlucky inputs (besides images, in `hostile_images`): each case a
//! security review or a killed build found, checked by what the user sees.

use std::path::Path;

use enishi::report::WarningKind;

use crate::common::*;

/// Runs `enishi build`, which must fail with one line; returns it.
fn one_line_error(site: &TestSite) -> String {
    let out = site.run(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains(".tmp-"),
        "names a temporary folder: {stderr}"
    );
    stderr.trim().to_string()
}

#[test]
fn too_many_tags_are_cut_with_a_warning() {
    let site = TestSite::new();
    let tags: Vec<String> = (0..150).map(|i| format!("t{i:03}")).collect();
    site.post(
        "a",
        &format!(
            "title: 多すぎるタグ\ndate: 2024-01-02\ntags: [{}]",
            tags.join(", ")
        ),
        "本文。",
    );
    let report = site.build();
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let w = &report.warnings[0];
    assert_eq!(w.kind, WarningKind::Content);
    assert_eq!(w.file, "content/posts/a.md");
    assert!(w.message.starts_with("150 tags; only the first 100"), "{w}");
    let term_pages = std::fs::read_dir(site.public().join("tags"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .count();
    assert_eq!(term_pages, 100);
    assert!(site.public().join("tags/t099/index.html").is_file());
    assert!(!site.public().join("tags/t100").exists());

    // The limit is the site's to set.
    site.write(
        "site.toml",
        format!("{SITE_TOML}max_terms_per_post = 200\n"),
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(site.public().join("tags/t149/index.html").is_file());
}

#[test]
fn twenty_thousand_equal_headings_get_distinct_ids() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 見出しだらけ\ndate: 2024-01-02",
        &"## 同じ\n\n".repeat(20_000),
    );
    site.build();
    let html = site.read("2024/01/02/a/index.html");
    assert!(html.contains("id=\"同じ-19999\""));
    assert!(!html.contains("id=\"同じ-20000\""));
}

#[test]
fn a_slug_too_long_for_a_file_name_is_named_at_load_time() {
    let site = TestSite::new();
    site.post(
        "a",
        &format!("title: 長い\ndate: 2024-01-06\nslug: {}", "a".repeat(300)),
        "本文。",
    );
    let e = one_line_error(&site);
    assert!(e.starts_with("error: content/posts/a.md: its URL"), "{e}");
    assert!(e.contains("300 bytes"), "{e}");
    assert!(!site.public().exists());
}

#[test]
fn an_alias_on_a_generated_file_or_with_nul_is_named() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 別名\ndate: 2024-01-06\naliases: [/sitemap.xml/]",
        "本文。",
    );
    let e = one_line_error(&site);
    assert!(
        e.contains("content/posts/a.md (alias /sitemap.xml/)"),
        "{e}"
    );
    assert!(e.contains("sitemap"), "{e}");

    site.post(
        "a",
        "title: 別名\ndate: 2024-01-06\naliases: [\"/old\\0path/\"]",
        "本文。",
    );
    let e = one_line_error(&site);
    assert!(e.starts_with("error: content/posts/a.md: alias"), "{e}");
}

/// Folders a killed build leaves beside the output: its staging folder, and the old
/// output it had moved aside when it died (so there is no `public/`).
fn leave_killed_build(root: &Path) {
    std::fs::create_dir_all(root.join(".public.tmp-999999/half")).unwrap();
    std::fs::create_dir_all(root.join(".public.tmp-999999.old")).unwrap();
    std::fs::write(root.join(".public.tmp-999999.old/index.html"), "前の版").unwrap();
}

#[test]
fn a_killed_build_is_repaired_by_the_next_one() {
    let site = TestSite::new();
    site.post("a", "title: 記事\ndate: 2024-01-02", "本文。");
    leave_killed_build(site.root());
    // A build that fails still puts the old output back.
    site.write("content/posts/bad.md", "---\ntitle: [\n---\n");
    let out = site.run(&["build"]);
    assert!(!out.status.success());
    assert_eq!(site.read("index.html"), "前の版");
    std::fs::remove_file(site.root().join("content/posts/bad.md")).unwrap();
    leave_killed_build(site.root());
    std::fs::remove_dir_all(site.public()).unwrap();
    site.build();
    assert!(site.read("index.html").contains("記事"));
    let beside: Vec<String> = std::fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".public"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn symbolic_links_are_followed_inside_the_site_and_refused_outside() {
    let site = TestSite::new();
    site.post("a", "title: 記事\ndate: 2024-01-02", "本文。");
    site.write(
        "drafts/shared.md",
        "---\ntitle: 共有\ndate: 2024-01-03\n---\n共有の本文。\n",
    );
    std::os::unix::fs::symlink(
        site.root().join("drafts/shared.md"),
        site.root().join("content/posts/shared.md"),
    )
    .unwrap();
    site.build();
    assert!(
        site.read("2024/01/03/shared/index.html")
            .contains("共有の本文。")
    );

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.md"), "---\ntitle: 外\n---\n").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("x.md"),
        site.root().join("content/posts/x.md"),
    )
    .unwrap();
    let e = one_line_error(&site);
    assert!(
        e.starts_with("error: content/posts/x.md: a symbolic link to"),
        "{e}"
    );
    assert!(e.contains("outside the site"), "{e}");
    std::fs::remove_file(site.root().join("content/posts/x.md")).unwrap();

    std::os::unix::fs::symlink(
        site.root().join("content"),
        site.root().join("content/posts/loop"),
    )
    .unwrap();
    let e = one_line_error(&site);
    assert!(
        e.contains("content/posts/loop: a symbolic link loops"),
        "{e}"
    );
}

/// Makes `path` unwritable for this process: the immutable attribute when running
/// as root (root ignores permissions), else the permission bits.
fn make_read_only(path: &Path) -> bool {
    let as_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if as_root {
        std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).is_ok()
    }
}

fn make_writable(path: &Path) {
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(path)
        .status();
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
}

#[test]
fn a_read_only_cache_is_used_as_it_is_with_a_warning() {
    let site = TestSite::new();
    site.post("a", "title: 記事\ndate: 2024-01-02", "本文。");
    site.post("b", "title: 二つ目\ndate: 2024-01-03", "本文。");
    site.build();
    let cache = site.root().join(".enishi/cache.sqlite");
    if !make_read_only(&cache) {
        eprintln!("note: cannot make a file read-only here (no chattr as root); skipped");
        return;
    }
    let before = std::fs::read(&cache).unwrap();
    site.post("c", "title: 三つ目\ndate: 2024-01-04", "新しい本文。");
    let report = site.try_build();
    make_writable(&cache);
    let report = report.unwrap();
    assert_eq!(
        report.tokenized, 1,
        "the two cached posts came from the cache"
    );
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].kind, WarningKind::Cache);
    assert!(
        report.warnings[0].message.contains("read-only"),
        "{}",
        report.warnings[0]
    );
    assert_eq!(std::fs::read(&cache).unwrap(), before);
    assert!(!site.root().join(".enishi/cache.sqlite.corrupt").exists());
}

#[test]
fn a_bracketed_ipv6_image_url_is_read_as_written_and_refused() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: IPv6\ndate: 2024-01-02",
        "![ループバック](http://[::1]/x.png)\n\n![NAT64](http://[64:ff9b::7f00:1]/y.png)\n",
    );
    let report = site.build();
    let lines: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("image http://[::1]/x.png: ::1 is a private"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("image http://[64:ff9b::7f00:1]/y.png: 64:ff9b::7f00:1 is a private"),
        "{lines:?}"
    );
}

#[test]
fn a_static_file_where_a_page_needs_a_folder_is_named() {
    let site = TestSite::new();
    site.post("a", "title: 記事\ndate: 2024-01-02", "本文。");
    site.write(
        "content/about.md",
        "---\ntitle: このサイトについて\n---\n本文。\n",
    );
    site.write("static/about", "a file named like the page's folder");
    let e = one_line_error(&site);
    assert!(
        e.contains(
            "the page about/index.html needs a folder where the static file about is written"
        ),
        "{e}"
    );
}

#[test]
fn image_limits_of_zero_are_refused_in_the_config() {
    let site = TestSite::with_config(&format!("{SITE_TOML}\n[images]\ndecode_budget_mb = 0\n"));
    site.post("a", "title: 記事\ndate: 2024-01-02", "本文。");
    let e = one_line_error(&site);
    assert!(
        e.contains("site.toml: [images]") && e.contains("above 0"),
        "{e}"
    );
}
