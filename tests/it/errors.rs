//! Bad input: a one-line error naming the file (and line), a non-zero exit, no panic.

use crate::common::*;

/// Runs `enishi build` and returns its one-line error.
fn build_error(site: &TestSite) -> String {
    let out = site.run(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "build should fail; stderr: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line: {stderr}");
    lines[0].to_string()
}

fn site_with_one_post() -> TestSite {
    let site = TestSite::new();
    site.post("ok", "title: 正常\ndate: 2024-01-01", "本文");
    site
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let site = site_with_one_post();
    site.write(
        "content/posts/bad.md",
        "---\ntitle: 壊れた\ntags: [a, b\ndate: 2024-01-01\n---\n本文\n",
    );
    let e = build_error(&site);
    assert!(e.starts_with("error: content/posts/bad.md:"), "{e}");
    assert!(e.contains("invalid YAML"), "{e}");
    let line: usize = e.split(':').nth(2).unwrap().trim().parse().unwrap();
    assert!((3..=5).contains(&line), "{e}");
}

#[test]
fn invalid_toml_names_file_and_line() {
    let site = site_with_one_post();
    site.write(
        "content/posts/bad.md",
        "+++\ntitle = \"x\"\ndate = \n+++\n本文\n",
    );
    let e = build_error(&site);
    assert!(e.starts_with("error: content/posts/bad.md:3:"), "{e}");
    assert!(e.contains("invalid TOML"), "{e}");
}

#[test]
fn invalid_date_names_file_and_line() {
    let site = site_with_one_post();
    site.write(
        "content/posts/bad.md",
        "---\ntitle: 日付\ndate: 2024-02-30\n---\n本文\n",
    );
    let e = build_error(&site);
    assert!(
        e.starts_with("error: content/posts/bad.md:3: invalid date \"2024-02-30\""),
        "{e}"
    );
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let site = site_with_one_post();
    let mut bytes = b"---\ntitle: x\ndate: 2024-01-01\n---\n\n".to_vec();
    bytes.extend_from_slice(&[0x82, 0xa0, b'\n']); // Shift_JIS あ
    site.write("content/posts/sjis.md", bytes);
    let e = build_error(&site);
    assert_eq!(
        e,
        "error: content/posts/sjis.md:6: not valid UTF-8 (save the file as UTF-8)"
    );
}

#[test]
fn missing_title_is_a_warning_as_in_hugo_and_strict_fails() {
    let site = site_with_one_post();
    site.write(
        "content/posts/untitled.md",
        "---\ndate: 2024-01-01\n---\n本文\n",
    );
    let report = site.build();
    let w = warnings_text(&report);
    assert!(w.contains("content/posts/untitled.md:1: no title"), "{w}");
    assert!(
        site.public()
            .join("2024/01/01/untitled/index.html")
            .exists()
    );
    let mut strict = site.opts();
    strict.strict = true;
    assert!(enishi::pipeline::build(&strict, &enishi::report::Reporter::quiet()).is_err());
}

#[test]
fn unknown_config_key_names_the_key() {
    let site = site_with_one_post();
    site.write("site.toml", "title = \"x\"\npaginte = 5\n");
    let e = build_error(&site);
    assert!(e.starts_with("error: ") && e.contains("site.toml:2"), "{e}");
    assert!(e.contains("paginte"), "{e}");
}

#[test]
fn missing_theme_is_an_error() {
    let site = site_with_one_post();
    site.write("site.toml", "title = \"x\"\ntheme = \"nothere\"\n");
    let e = build_error(&site);
    assert!(e.contains("theme \"nothere\" not found"), "{e}");
}

#[test]
fn missing_template_names_the_template() {
    let site = site_with_one_post();
    site.write("site.toml", "title = \"x\"\ntheme = \"mine\"\n");
    site.write("themes/mine/templates/index.html", "x");
    let e = build_error(&site);
    assert!(e.contains("not found in theme \"mine\""), "{e}");
    assert!(e.contains(".html"), "{e}");
}

#[test]
fn template_error_names_template_and_line() {
    let site = site_with_one_post();
    site.write(
        "templates/post.html",
        "<h1>{{ post.title }}</h1>\n<p>{{ post.titel }}</p>\n",
    );
    let e = build_error(&site);
    assert!(
        e.starts_with("error: templates/post.html:2: template error"),
        "{e}"
    );
    site.write("templates/post.html", "{% if %}\n");
    let e = build_error(&site);
    assert!(
        e.starts_with("error: templates/post.html:1: template error"),
        "{e}"
    );
}

#[test]
fn two_sources_with_one_url_warn_naming_both_and_the_first_wins() {
    let site = TestSite::new();
    site.post("a", "title: A\ndate: 2024-01-01\nslug: same", "本文");
    site.post("b", "title: B\ndate: 2024-01-01\nslug: same", "本文");
    let report = site.build();
    let w = warnings_text(&report);
    assert!(
        w.contains("content/posts/a.md") && w.contains("content/posts/b.md"),
        "{w}"
    );
    assert!(w.contains("/2024/01/01/same/"), "{w}");
    assert_eq!(report.posts, 1);
    assert!(site.read("2024/01/01/same/index.html").contains("<h1"));
    assert!(site.read("2024/01/01/same/index.html").contains(">A<"));
}

#[test]
fn a_draft_is_skipped_before_it_is_validated_and_a_misspelt_draft_is_published() {
    let site = site_with_one_post();
    site.post(
        "broken-draft",
        "title: \"\"\ndate: 2024-02-30\ndraft: true",
        "下書き",
    );
    site.post(
        "fales",
        "title: 公開\ndate: 2024-01-05\ndraft: fales",
        "本文",
    );
    let report = site.build();
    let w = warnings_text(&report);
    assert!(
        w.contains("content/posts/fales.md:4: draft must be true or false"),
        "{w}"
    );
    assert!(!w.contains("broken-draft"), "{w}");
    assert!(site.public().join("2024/01/05/fales/index.html").exists());
    // Built with drafts, the broken draft is an error again.
    let mut drafts = site.opts();
    drafts.drafts = true;
    let e = enishi::pipeline::build(&drafts, &enishi::report::Reporter::quiet()).unwrap_err();
    assert!(e.to_string().contains("broken-draft.md"), "{e}");
}

#[test]
fn unclosed_front_matter_and_missing_config() {
    let site = site_with_one_post();
    site.write("content/posts/open.md", "---\ntitle: x\n本文\n");
    let e = build_error(&site);
    assert!(
        e.starts_with(
            "error: content/posts/open.md:1: front matter opened with `---` is never closed"
        ),
        "{e}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["build"])
        .current_dir(empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("site.toml") && stderr.contains("enishi init"),
        "{stderr}"
    );
}

#[test]
fn a_setting_written_below_a_table_is_said_to_be_in_it() {
    let site = TestSite::with_config(&format!(
        "{SITE_TOML}\n[related]\ncount = 5\ntheme = \"default\"\n"
    ));
    site.post("a", "title: a\ndate: 2024-01-01", "本文");
    let out = site.run(&["build"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: site.toml:6: `theme` is a top-level setting but sits in the [related] table"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("move the `theme = …` line above `[related]`"),
        "{stderr}"
    );
}

#[test]
fn tags_written_as_one_string_stay_one_tag_with_a_warning() {
    let site = TestSite::new();
    site.post("a", "title: a\ndate: 2024-01-01\ntags: 日記, Rust", "本文");
    let report = site.build();
    let warnings = warnings_text(&report);
    assert!(
        warnings.contains("content/posts/a.md:4: tags: \"日記, Rust\" is one term, as in Hugo; for several, write a list: tags: [日記, Rust]"),
        "{warnings}"
    );
    let doc = site.html("2024/01/01/a/index.html");
    assert_eq!(
        select(&doc, "a[rel=tag]").len(),
        1,
        "still one tag, as Hugo makes it"
    );
}
