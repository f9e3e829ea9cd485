//! `enishi import`: a Hatena Blog export and a WordPress export, written for these
//! tests in `tests/fixtures/import/`, imported into real sites and built; every
//! old URL must answer, and importing again must change nothing.

use std::path::{Path, PathBuf};

use enishi::enrich::Mode;
use enishi::pipeline::build;
use enishi::report::Reporter;

use crate::common::{TestSite, select, text_of};
use crate::http::TestServer;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn import(site: &TestSite, args: &[&str]) -> (String, String) {
    let out = site.run(&[&["import"], args].concat());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "import failed:\n{stderr}\n{stdout}");
    (stdout, stderr)
}

/// The built site, offline: the fixtures' cards and images point at hosts a test
/// must not reach; what is checked here is the import, not the fetching.
fn build_offline(site: &TestSite) -> enishi::pipeline::BuildReport {
    let mut opts = site.opts();
    opts.links = Mode::Offline;
    build(&opts, &Reporter::quiet()).unwrap_or_else(|e| panic!("build failed: {e:#}"))
}

/// The one imported file whose name starts with `prefix` under `dir`.
fn source(site: &TestSite, dir: &str, prefix: &str) -> (String, String) {
    let mut found: Vec<PathBuf> = std::fs::read_dir(site.root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    found.sort();
    assert_eq!(found.len(), 1, "{dir}/{prefix}*: {found:?}");
    let path = if found[0].is_dir() {
        found[0].join("index.md")
    } else {
        found[0].clone()
    };
    let rel = path
        .strip_prefix(site.root())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (rel, std::fs::read_to_string(&path).unwrap())
}

/// Every `aliases` entry of every Markdown file under content/.
fn all_aliases(site: &TestSite) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(site.root().join("content")) {
        let e = e.unwrap();
        if !e.path().to_string_lossy().ends_with(".md") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        let mut in_aliases = false;
        for line in text.lines() {
            if line == "aliases:" {
                in_aliases = true;
            } else if in_aliases && let Some(v) = line.strip_prefix("  - ") {
                out.push(serde_json::from_str::<String>(v).unwrap());
            } else {
                in_aliases = false;
            }
        }
    }
    out.sort();
    out
}

/// The redirect target of the alias page at `path` (a site path, as an old link asks it).
fn redirect_target(site: &TestSite, path: &str) -> String {
    let rel = format!("{}/index.html", path.trim_matches('/'));
    let doc = site.html(&rel);
    let target = crate::common::attr(&doc, "link[rel=canonical]", "href");
    assert!(!target.is_empty(), "{rel} is not a redirect page");
    target
}

#[test]
fn a_hatena_export_imports_builds_and_keeps_every_old_url() {
    let site = TestSite::new();
    let export = fixture("hatena-export.txt");
    let (stdout, stderr) = import(&site, &[export.to_str().unwrap()]);
    assert!(
        stdout.contains("imported 5 posts (1 drafts) and 0 pages"),
        "{stdout}"
    );
    assert!(stdout.contains("2 comments kept (1 trackbacks"), "{stdout}");
    assert!(stdout.contains("2 scripts removed"), "{stdout}");
    assert!(stdout.contains("5 new, 0 updated, 0 unchanged"), "{stdout}");
    assert!(
        stdout.contains("old URLs under https://enishi-test.hatenablog.com answer"),
        "inferred from its own cards: {stdout}"
    );
    assert!(
        !stdout.contains("0 raw-HTML blocks"),
        "the coloured span is kept as HTML and counted: {stdout}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");

    // The first post, written just after midnight in Tokyo.
    let (_, ruby) = source(&site, "content/posts", "2020-01-02-");
    assert!(ruby.contains("date: 2020-01-02T00:05:12+09:00\n"), "{ruby}");
    assert!(
        ruby.contains("tags:\n  - \"Ruby\"\n  - \"プログラミング\"\n"),
        "{ruby}"
    );
    assert!(
        !ruby.contains("categories:"),
        "categories become tags by default"
    );
    assert!(
        ruby.contains("aliases:\n  - \"/entry/2020/01/02/000512\"\n"),
        "{ruby}"
    );
    assert!(
        ruby.contains("description: \"Ruby のハッシュの基本をまとめました。\""),
        "{ruby}"
    );
    assert!(ruby.contains("```ruby\nrequire \"json\"\n\nh = { a: 1 }\nif h[:a] < 2 && true\n  puts h.to_json # => {\"a\":1}\nend\n```"), "{ruby}");
    assert!(ruby.contains("plain text block\n  indented line"), "{ruby}");
    assert!(ruby.contains("まとめます[^1]。"), "{ruby}");
    assert!(ruby.contains("[^1]: Ruby 3.3 で確認しました"), "{ruby}");
    assert!(ruby.contains("\n<!--more-->\n"), "{ruby}");
    assert!(
        ruby.contains("](https://blog.example.jp/2019/12/31/235959/)"),
        "a link to an old entry points at its new page: {ruby}"
    );
    assert!(
        ruby.contains("\nhttps://blog.example.jp/2020/01/05/120000/\n"),
        "an own card is a URL line to the new page: {ruby}"
    );
    assert!(ruby.contains("\nhttps://www.ruby-lang.org/ja/\n"), "{ruby}");
    assert!(ruby.contains("![](https://cdn-ak.f.st-hatena.com/images/fotolife/e/enishi-test/20200102/20200102000100.png)"), "{ruby}");
    assert!(ruby.contains("初日の出"), "{ruby}");
    for gone in [
        "f:id:",
        "hatena-citation",
        "hatenablog-parts",
        "d.hatena.ne.jp/keyword",
        "synPreProc",
        "reader@example.com",
        "192.0.2.10",
        "スパム",
    ] {
        assert!(!ruby.contains(gone), "{gone} left in:\n{ruby}");
    }
    // Same titles, distinct files and URLs.
    let (a, _) = source(&site, "content/posts", "2019-12-31-");
    let (b, _) = source(&site, "content/posts", "2020-01-05-");
    assert_ne!(a, b);
    let (_, moving) = source(&site, "content/posts", "2019-12-25-");
    assert!(moving.contains("| 項目 | 旧 | 新 |"), "{moving}");
    assert!(moving.contains("~~手作業~~自動"), "{moving}");
    assert!(
        moving.contains("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        "{moving}"
    );
    assert!(
        moving.contains("https://twitter.com/enishi_test/status/1209000000000000000"),
        "{moving}"
    );
    assert!(!moving.contains("<script"), "{moving}");
    assert!(
        moving.contains("\nhttps://gist.github.com/enishi-test/0123abcd\n"),
        "a gist is its URL: {moving}"
    );
    assert!(
        moving.contains("```\n-----\n区切り線ではない\n--------\n```"),
        "dash lines in a body are text: {moving}"
    );
    let (_, draft) = source(&site, "content/posts", "2020-02-01-");
    assert!(draft.contains("draft: true\n"), "{draft}");

    build_offline(&site);
    // Every old URL answers: each alias page sends the reader to a page that exists.
    let aliases = all_aliases(&site);
    assert_eq!(aliases.len(), 5, "{aliases:?}");
    for alias in aliases.iter().filter(|a| !a.contains("2020/02/01")) {
        let target = redirect_target(&site, alias);
        let path = target.strip_prefix("https://blog.example.jp/").unwrap();
        assert!(
            site.public().join(path).join("index.html").is_file(),
            "{alias} → {target}: no such page"
        );
    }
    assert!(
        !site.public().join("entry/2020/02/01/090000").exists(),
        "a draft's old URL stays unpublished"
    );
    assert_eq!(
        redirect_target(&site, "/entry/about-moving"),
        "https://blog.example.jp/2019/12/25/about-moving/"
    );
    assert_eq!(
        redirect_target(&site, "/archive/category/Ruby"),
        "https://blog.example.jp/tags/ruby/"
    );
    assert!(site.public().join("tags/ruby/index.html").is_file());
    let moving_page = site.html("2019/12/25/about-moving/index.html");
    let codes: Vec<String> = select(&moving_page, ".post-body p code")
        .iter()
        .map(|c| c.text().collect())
        .collect();
    assert!(
        codes.iter().any(|c| c == "{{< youtube id >}}"),
        "shortcode syntax in a post stays text: {codes:?}"
    );
    assert!(
        text_of(&moving_page, ".post-body").contains("# これは見出しではありません"),
        "a line after <br> stays text"
    );

    // The post: body converted, comments archived, escaped, without personal data.
    let page = site.read("2020/01/02/000512/index.html");
    let doc = scraper::Html::parse_document(&page);
    assert!(
        text_of(&doc, ".post-body").contains("<script>alert(1)</script> のように"),
        "text stays text"
    );
    assert!(!page.contains("<script>alert"), "{page}");
    assert_eq!(select(&doc, ".post-body pre code").len(), 2);
    let comments = select(&doc, ".archived-comment");
    assert_eq!(comments.len(), 2);
    assert!(text_of(&doc, ".archived-comment .comment-author").starts_with("読者A"));
    assert!(
        page.contains("<a href=\"https://example.org/ruby?a=1&amp;b=2\" rel=\"nofollow ugc\">"),
        "{page}"
    );
    assert!(
        page.contains("&lt;b&gt;太字&lt;/b&gt;"),
        "an escaped tag in a comment stays visible text"
    );
    assert!(
        !page.contains("alert(\"xss\")") || page.contains("alert(&quot;xss&quot;)"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(\"xss\")"), "{page}");
    for private in [
        "reader@example.com",
        "192.0.2.10",
        "192.0.2.11",
        "reader.example.net",
    ] {
        assert!(!page.contains(private), "{private} published");
    }
}

#[test]
fn importing_again_changes_nothing_and_keeps_edits() {
    let site = TestSite::new();
    let export = fixture("hatena-export.txt");
    let export = export.to_str().unwrap();
    import(&site, &[export]);
    let before = content_snapshot(&site);
    let (stdout, _) = import(&site, &[export]);
    assert!(stdout.contains("0 new, 0 updated, 5 unchanged"), "{stdout}");
    assert_eq!(
        content_snapshot(&site),
        before,
        "a second import wrote something"
    );

    // An edited post is kept, and reported; --overwrite replaces it.
    let (rel, text) = source(&site, "content/posts", "2019-12-31-");
    let edited = text.replace("大晦日。", "大晦日。追記しました。");
    std::fs::write(site.root().join(&rel), &edited).unwrap();
    let (stdout, _) = import(&site, &[export]);
    assert!(
        stdout.contains("1 edited since the last import and kept"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("kept (edited since import): {rel}")),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(site.root().join(&rel)).unwrap(),
        edited
    );
    let (stdout, _) = import(&site, &[export, "--overwrite"]);
    assert!(stdout.contains("0 new, 1 updated, 4 unchanged"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(site.root().join(&rel)).unwrap(),
        text
    );

    // A dry run writes nothing.
    let fresh = TestSite::new();
    let (stdout, _) = import(&fresh, &[export, "--dry-run"]);
    assert!(stdout.contains("would import 5 posts"), "{stdout}");
    assert!(stdout.contains("dry run: nothing was written"), "{stdout}");
    assert_eq!(
        std::fs::read_dir(fresh.root().join("content/posts"))
            .unwrap()
            .count(),
        0
    );
    assert!(
        !std::fs::read_to_string(fresh.root().join("site.toml"))
            .unwrap()
            .contains("[redirects]")
    );
}

fn content_snapshot(site: &TestSite) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(site.root()).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            out.push((
                e.path().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn categories_can_stay_categories() {
    let site = TestSite::new();
    let export = fixture("hatena-export.txt");
    import(
        &site,
        &[export.to_str().unwrap(), "--categories-as", "categories"],
    );
    let (_, ruby) = source(&site, "content/posts", "2020-01-02-");
    assert!(
        ruby.contains("categories:\n  - \"Ruby\"\n  - \"プログラミング\"\n"),
        "{ruby}"
    );
    build_offline(&site);
    assert_eq!(
        redirect_target(&site, "/archive/category/Ruby"),
        "https://blog.example.jp/categories/ruby/"
    );
}

#[test]
fn a_wordpress_export_imports_posts_pages_and_galleries() {
    // Another permalink pattern than the old blog's, so its old URLs need redirects.
    let site = TestSite::with_config(&format!(
        "{}permalink = \"/blog/:slug/\"\n",
        crate::common::SITE_TOML
    ));
    let export = fixture("wordpress.xml");
    let (stdout, stderr) = import(&site, &[export.to_str().unwrap()]);
    assert!(
        stdout.contains("imported 3 posts (1 drafts) and 1 pages from a WordPress export"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 comments kept (2 trackbacks, pingbacks or unapproved dropped)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("left out: 1 nav_menu_item item(s)"),
        "{stderr}"
    );

    let (_, trip) = source(&site, "content/posts", "2021-04-05-");
    assert!(trip.contains("title: \"京都旅行 & 桜\"\n"), "{trip}");
    assert!(trip.contains("date: 2021-04-05T00:30:00+09:00\n"), "{trip}");
    assert!(
        trip.contains("tags:\n  - \"京都\"\n  - \"桜\"\n  - \"旅行\"\n"),
        "{trip}"
    );
    assert!(!trip.contains("未分類"), "{trip}");
    assert!(
        trip.contains("aliases:\n  - \"/2021/04/05/kyoto-trip/\"\n"),
        "{trip}"
    );
    assert!(trip.contains("images:\n  - \"https://wp.enishi-test.example/wp-content/uploads/2021/04/kyoto-temple.jpg\""), "featured image: {trip}");
    assert!(trip.contains("京都へ行ってきました。"), "{trip}");
    assert!(trip.contains("清水寺の舞台"), "caption: {trip}");
    assert!(
        trip.contains(
            "![苔の庭](https://wp.enishi-test.example/wp-content/uploads/2021/04/kyoto-garden.png)"
        ),
        "gallery: {trip}"
    );
    assert!(
        trip.contains("\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ\n"),
        "embed: {trip}"
    );
    assert!(
        trip.contains("```python\ndef hello():\n\n    print(\"こんにちは <世界>\")\n```"),
        "{trip}"
    );
    assert!(trip.contains("](https://blog.example.jp/about/)"), "{trip}");
    assert!(
        trip.contains("](https://blog.example.jp/blog/spring/)"),
        "{trip}"
    );
    assert!(trip.contains("\n<!--more-->\n"), "{trip}");
    assert!(
        !trip.contains("[gallery") && !trip.contains("[caption") && !trip.contains("[embed"),
        "{trip}"
    );
    assert!(
        !trip.contains("tabi@example.com") && !trip.contains("198.51.100.7"),
        "{trip}"
    );
    assert!(
        !trip.contains("cheap pills") && !trip.contains("他のブログ"),
        "{trip}"
    );
    let (_, spring) = source(&site, "content/posts", "2021-03-20-");
    assert!(!spring.contains("wp:paragraph"), "{spring}");
    let (_, about) = source(&site, "content", "about.md");
    assert!(
        !about.contains("aliases:"),
        "its old URL is its new URL: {about}"
    );
    assert!(
        about.contains("旅行と写真のブログです。\n\nお問い合わせはフォームから。"),
        "{about}"
    );

    build_offline(&site);
    assert_eq!(
        redirect_target(&site, "/2021/04/05/kyoto-trip/"),
        "https://blog.example.jp/blog/kyoto-trip/"
    );
    assert_eq!(
        redirect_target(&site, "/2021/03/20/spring/"),
        "https://blog.example.jp/blog/spring/"
    );
    let page = site.read("blog/kyoto-trip/index.html");
    assert!(page.contains("旅好き"), "{page}");
    assert!(page.contains("ここも行きました"), "{page}");
    assert!(!page.contains("javascript:alert"), "{page}");
    let about_page = site.read("about/index.html");
    assert!(
        about_page.contains("常連さん") && about_page.contains("いつも読んでいます。"),
        "a page's comments are shown too"
    );
    assert!(!about_page.contains("joren@example.com"));
    assert!(site.public().join("blog/spring/index.html").is_file());
    let (_, draft) = source(&site, "content/posts", "2021-05-01-");
    assert!(
        !draft.contains("aliases:"),
        "`/?p=12` cannot be a static page: {draft}"
    );
}

#[test]
fn download_images_puts_them_in_the_post_bundle() {
    let server = TestServer::start();
    let png = {
        let img = image::RgbImage::from_pixel(8, 6, image::Rgb([200, 40, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let base = "/images/fotolife/e/enishi-test/20200102";
    server.reply(
        &format!("{base}/20200102000100.png"),
        200,
        &[("Content-Type", "image/png")],
        png.clone(),
    );
    // The second one fails: it stays remote, with a warning.
    server.reply(&format!("{base}/20200102000200.jpg"), 404, &[], "gone");
    let text = std::fs::read_to_string(fixture("hatena-export.txt"))
        .unwrap()
        .replace(
            "https://cdn-ak.f.st-hatena.com",
            server.url("").trim_end_matches('/'),
        );
    let site = TestSite::with_config(&format!(
        "{}\n[links]\nallow_private_hosts = true\ntimeout = 3.0\n",
        crate::common::SITE_TOML
    ));
    site.write("export.txt", text);
    let (stdout, stderr) = import(&site, &["export.txt", "--download-images"]);
    assert!(stdout.contains("(1 downloaded)"), "{stdout}");
    assert!(
        stderr.contains("20200102000200.jpg not downloaded (HTTP 404")
            || stderr.contains("20200102000200.jpg not downloaded"),
        "{stderr}"
    );
    let (rel, post) = source(&site, "content/posts", "2020-01-02-");
    assert!(
        rel.ends_with("/index.md"),
        "a post with images is a bundle: {rel}"
    );
    let bundle = site.root().join(&rel).parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::read(bundle.join("20200102000100.png")).unwrap(),
        png
    );
    assert!(post.contains("![](20200102000100.png)"), "{post}");
    assert!(
        post.contains(&server.url(&format!("{base}/20200102000200.jpg"))),
        "{post}"
    );
    assert_eq!(server.hits(&format!("{base}/20200102000100.png")), 1);

    // Again: the bundle is unchanged, and the flat file an earlier plain import
    // would have written is not left beside it.
    let (stdout, _) = import(&site, &["export.txt", "--download-images"]);
    assert!(stdout.contains("0 new, 0 updated, 5 unchanged"), "{stdout}");
    build_offline(&site);
    let page_dir = site.public().join("2020/01/02/000512");
    assert_eq!(
        std::fs::read(page_dir.join("20200102000100.png")).unwrap(),
        png
    );
}

#[test]
fn a_file_that_is_no_export_is_one_clear_line() {
    let site = TestSite::new();
    site.write("notes.txt", "just some notes\nnothing else\n");
    let out = site.run(&["import", "notes.txt"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: notes.txt: not an export Enishi can read"),
        "{stderr}"
    );
    assert!(stderr.contains("WordPress WXR"), "{stderr}");

    site.write(
        "broken.txt",
        "TITLE: x\nDATE: yesterday\n-----\nBODY:\nx\n-----\n--------\n",
    );
    let out = site.run(&["import", "broken.txt"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: broken.txt:2: DATE \"yesterday\""),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(site.root().join("content/posts"))
            .unwrap()
            .count(),
        0,
        "nothing half-written"
    );
}

/// A Movable Type export of `entries` (title, basename, date), written for a test.
fn mt_export(entries: &[(&str, &str, &str)]) -> String {
    entries
        .iter()
        .map(|(title, basename, date)| {
            format!("TITLE: {title}\nBASENAME: {basename}\nSTATUS: Publish\nDATE: {date}\n-----\nBODY:\n<p>{basename}</p>\n-----\n--------\n")
        })
        .collect()
}

#[test]
fn a_later_export_with_more_entries_of_one_title_keeps_every_post_in_its_file() {
    let site = TestSite::new();
    // Hatena exports newest first; two posts share a title.
    site.write(
        "export.txt",
        mt_export(&[
            ("Weekly Report", "2020/03/08/000000", "03/08/2020 00:00:00"),
            ("Weekly Report", "2020/03/01/000000", "03/01/2020 00:00:00"),
        ]),
    );
    import(&site, &["export.txt"]);
    let first: Vec<(String, String)> = ["2020-03-01-", "2020-03-08-"]
        .iter()
        .map(|p| source(&site, "content/posts", p))
        .collect();
    // A later export: one more of the same title, older than both, and a title changed on the old blog.
    site.write(
        "export.txt",
        mt_export(&[
            (
                "Weekly Report (edited)",
                "2020/03/08/000000",
                "03/08/2020 00:00:00",
            ),
            ("Weekly Report", "2020/03/01/000000", "03/01/2020 00:00:00"),
            ("Weekly Report", "2020/02/23/000000", "02/23/2020 00:00:00"),
        ]),
    );
    let (stdout, _) = import(&site, &["export.txt"]);
    assert!(stdout.contains("1 new, 1 updated, 1 unchanged"), "{stdout}");
    let after: Vec<(String, String)> = ["2020-03-01-", "2020-03-08-"]
        .iter()
        .map(|p| source(&site, "content/posts", p))
        .collect();
    assert_eq!(after[0], first[0], "an entry keeps its file");
    assert_eq!(
        after[1].0, first[1].0,
        "an entry whose title changed keeps its file"
    );
    let (_, new) = source(&site, "content/posts", "2020-02-23-");
    assert!(new.contains("2020/02/23/000000"), "{new}");
    let names: Vec<String> = std::fs::read_dir(site.root().join("content/posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    build_offline(&site);
}

#[test]
fn a_post_without_a_date_is_imported_as_a_draft() {
    let site = TestSite::new();
    site.write("export.txt", "TITLE: いつか\nBASENAME: someday\nSTATUS: Publish\n-----\nBODY:\n<p>日付なし</p>\n-----\n--------\n");
    let (stdout, stderr) = import(&site, &["export.txt"]);
    assert!(stdout.contains("imported 1 posts (1 drafts)"), "{stdout}");
    assert!(
        stderr.contains("warning: 「いつか」: no date in the export; imported as a draft"),
        "{stderr}"
    );
    build_offline(&site);
}
