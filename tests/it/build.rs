//! `enishi build`: front matter, dates, drafts, pages, theme, determinism, atomic output.

use crate::common::*;

fn basic_site() -> TestSite {
    let site = TestSite::new();
    site.post(
        "2024-05-26-yaml",
        "title: YAML の記事\ndate: 2024-05-26T10:00:00+09:00\ntags: [Rust, 日本語]\ncategories: 技術\ndescription: 説明文です。",
        "# はじめに\n\n本文です。\n\n## はじめに\n\n二つ目の見出し。\n\n```rust\nfn main() {}\n```\n",
    );
    site.write(
        "content/posts/toml.md",
        "+++\ntitle = \"TOML の記事\"\ndate = 2024-05-27\ntags = [\"rust\"]\n+++\n\nTOML で書いた本文。\n",
    );
    site.write(
        "content/about.md",
        "---\ntitle: このサイトについて\n---\n\n紹介文。\n",
    );
    site
}

#[test]
fn builds_every_kind_of_page() {
    let site = basic_site();
    let report = site.build();
    assert_eq!(report.posts, 2);
    for rel in [
        "index.html",
        "2024/05/26/yaml/index.html",
        "2024/05/27/toml/index.html",
        "about/index.html",
        "tags/index.html",
        "tags/rust/index.html",
        "tags/日本語/index.html",
        "categories/技術/index.html",
        "archive/index.html",
        "404.html",
        "feed.xml",
        "sitemap.xml",
        "robots.txt",
        "css/style.css",
    ] {
        assert!(site.public().join(rel).is_file(), "missing {rel}");
    }
    // `Rust` and `rust` are one tag, listing both posts, newest first.
    let tag = site.html("tags/rust/index.html");
    let titles: Vec<String> = select(&tag, ".post-item-title a")
        .iter()
        .map(|a| a.text().collect())
        .collect();
    assert_eq!(titles, ["TOML の記事", "YAML の記事"]);
    let index = site.html("index.html");
    assert_eq!(select(&index, ".post-item").len(), 2);
    assert_eq!(
        text_of(&site.html("about/index.html"), "h1"),
        "このサイトについて"
    );
}

#[test]
fn post_page_has_ogp_and_twitter_tags() {
    let site = basic_site();
    site.build();
    let doc = site.html("2024/05/26/yaml/index.html");
    assert_eq!(meta(&doc, "og:title"), "YAML の記事 | テストブログ");
    assert_eq!(meta(&doc, "og:description"), "説明文です。");
    assert_eq!(
        meta(&doc, "og:url"),
        "https://blog.example.jp/2024/05/26/yaml/"
    );
    assert_eq!(meta(&doc, "og:type"), "article");
    assert_eq!(meta(&doc, "og:site_name"), "テストブログ");
    assert_eq!(
        meta(&doc, "article:published_time"),
        "2024-05-26T10:00:00+09:00"
    );
    assert_eq!(meta(&doc, "twitter:card"), "summary");
    assert_eq!(attr(&doc, "time", "datetime"), "2024-05-26T10:00:00+09:00");
    assert_eq!(text_of(&doc, ".post-meta time"), "2024年5月26日");
    // Tag links are percent-encoded; the folder on disk is UTF-8.
    let hrefs: Vec<&str> = select(&doc, ".post-tags a")
        .iter()
        .map(|a| a.value().attr("href").unwrap())
        .collect();
    assert_eq!(hrefs, ["/tags/rust/", "/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E/"]);
    // prev/next: the older post is "prev".
    let newer = site.html("2024/05/27/toml/index.html");
    assert_eq!(attr(&newer, ".post-nav .prev", "href"), "/2024/05/26/yaml/");
    assert_eq!(attr(&doc, ".post-nav .next", "href"), "/2024/05/27/toml/");
}

#[test]
fn og_image_from_front_matter_is_absolute() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 画像\ndate: 2024-01-01\nimages: [cover.png]",
        "本文",
    );
    site.post("b", "title: 画像2\ndate: 2024-01-02", "![図](/img/x.png)");
    site.build();
    let a = site.html("2024/01/01/a/index.html");
    assert_eq!(
        meta(&a, "og:image"),
        "https://blog.example.jp/2024/01/01/a/cover.png"
    );
    assert_eq!(meta(&a, "twitter:card"), "summary_large_image");
    let b = site.html("2024/01/02/b/index.html");
    assert_eq!(meta(&b, "og:image"), "https://blog.example.jp/img/x.png");
}

#[test]
fn hugo_style_front_matter_builds_unchanged() {
    let site = TestSite::new();
    site.write(
        "content/posts/hugo-post/index.md",
        "---\nTitle: \"Hugo の記事\"\npublishDate: 2023-03-04T05:06:07+09:00\nlastmod: 2023-04-01\ndraft: false\ntags: single-tag\nweight: 10\nparams:\n  toc: true\nsummary: 手書きの要約。\n---\n\n![図](figure.svg)\n\n本文。\n",
    );
    site.write(
        "content/posts/hugo-post/figure.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    site.build();
    let doc = site.html("2023/03/04/hugo-post/index.html");
    assert_eq!(text_of(&doc, "h1"), "Hugo の記事");
    assert_eq!(
        meta(&doc, "article:modified_time"),
        "2023-04-01T00:00:00+09:00"
    );
    // The bundle's own files are published beside the page.
    assert!(
        site.public()
            .join("2023/03/04/hugo-post/figure.svg")
            .is_file()
    );
    assert!(site.public().join("tags/single-tag/index.html").is_file());
    let index = site.html("index.html");
    assert_eq!(text_of(&index, ".post-item-summary"), "手書きの要約。");
}

#[test]
fn dates_without_offset_are_in_the_site_time_zone() {
    let site = TestSite::new();
    // 23:30 UTC on the 1st is the 2nd in Tokyo: the permalink follows the site's zone.
    site.post("utc", "title: UTC\ndate: 2024-03-01T23:30:00Z", "本文");
    site.post("local", "title: 時刻なし\ndate: 2024-03-05 08:15", "本文");
    site.build();
    let doc = site.html("2024/03/02/utc/index.html");
    assert_eq!(attr(&doc, "time", "datetime"), "2024-03-02T08:30:00+09:00");
    let doc = site.html("2024/03/05/local/index.html");
    assert_eq!(attr(&doc, "time", "datetime"), "2024-03-05T08:15:00+09:00");

    let ny = TestSite::with_config(&format!("{SITE_TOML}timezone = \"America/New_York\"\n"));
    ny.post("local", "title: 時刻なし\ndate: 2024-07-04 20:00", "本文");
    ny.post("utc", "title: UTC\ndate: 2024-03-01T23:30:00Z", "本文");
    ny.build();
    let doc = ny.html("2024/07/04/local/index.html");
    assert_eq!(attr(&doc, "time", "datetime"), "2024-07-04T20:00:00-04:00");
    assert!(ny.public().join("2024/03/01/utc/index.html").is_file());
}

#[test]
fn drafts_and_future_posts_only_with_drafts() {
    let site = TestSite::new();
    site.post("pub", "title: 公開\ndate: 2024-01-01", "本文");
    site.post(
        "draft",
        "title: 下書き\ndate: 2024-01-02\ndraft: true",
        "本文",
    );
    site.post("future", "title: 予約\ndate: 2099-01-01", "本文");
    let report = site.build();
    assert_eq!((report.posts, report.skipped), (1, 2));
    assert!(!site.public().join("2024/01/02/draft").exists());
    assert!(!site.public().join("2099").exists());

    let mut opts = site.opts();
    opts.drafts = true;
    let report = enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
    assert_eq!(report.posts, 3);
    assert!(site.public().join("2024/01/02/draft/index.html").is_file());
    assert!(site.public().join("2099/01/01/future/index.html").is_file());
}

#[test]
fn aliases_emit_redirect_pages() {
    let site = TestSite::new();
    site.post(
        "moved",
        "title: 引っ越し\ndate: 2024-01-01\naliases: [/old/path/, legacy.html]",
        "本文",
    );
    site.build();
    for rel in ["old/path/index.html", "legacy.html"] {
        let doc = site.html(rel);
        let target = "https://blog.example.jp/2024/01/01/moved/";
        assert_eq!(attr(&doc, "link[rel=canonical]", "href"), target);
        assert_eq!(
            attr(&doc, "meta[http-equiv=refresh]", "content"),
            format!("0; url={target}")
        );
    }
}

#[test]
fn summaries_cut_japanese_text_at_a_sentence_end() {
    let site = TestSite::new();
    let body = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。";
    site.post("neko", "title: 猫\ndate: 2024-01-01", body);
    site.post(
        "more",
        "title: 続きを読む\ndate: 2024-01-02",
        "最初の段落です。\n\n<!--more-->\n\n続きの段落です。",
    );
    site.build();
    let index = site.html("index.html");
    let summaries: Vec<String> = select(&index, ".post-item-summary")
        .iter()
        .map(|e| e.text().collect())
        .collect();
    assert_eq!(summaries[0], "最初の段落です。");
    let neko = &summaries[1];
    assert!(neko.ends_with('。'), "{neko}");
    assert!(neko.chars().count() <= 120, "{neko}");
    assert!(body.starts_with(neko.as_str()));
    assert!(neko.chars().count() > 60, "{neko}");
}

#[test]
fn headings_get_stable_unique_ids() {
    let site = basic_site();
    site.build();
    let doc = site.html("2024/05/26/yaml/index.html");
    let ids: Vec<&str> = select(&doc, ".post-body h1, .post-body h2")
        .iter()
        .map(|h| h.value().attr("id").unwrap())
        .collect();
    assert_eq!(ids, ["はじめに", "はじめに-1"]);
    assert!(!select(&doc, "pre.code code.language-rust span").is_empty());
}

#[test]
fn markdown_extensions_render() {
    let site = TestSite::new();
    site.post(
        "ext",
        "title: 拡張\ndate: 2024-01-01",
        "| 列 | 値 |\n|---|---|\n| あ | 1 |\n\n~~取り消し~~\n\n- [x] 済み\n- [ ] まだ\n\n脚注です[^1]。\n\n[^1]: 脚注の本文。\n\n<div class=\"raw\">生の HTML</div>\n",
    );
    site.build();
    let doc = site.html("2024/01/01/ext/index.html");
    assert_eq!(select(&doc, ".post-body table td").len(), 2);
    assert_eq!(text_of(&doc, ".post-body del"), "取り消し");
    assert_eq!(select(&doc, ".post-body input[type=checkbox]").len(), 2);
    assert!(text_of(&doc, ".footnotes li#fn-1 p").starts_with("脚注の本文。"));
    assert_eq!(attr(&doc, ".post-body sup.footnote-ref a", "href"), "#fn-1");
    assert_eq!(
        attr(&doc, ".footnotes a.footnote-backref", "href"),
        "#fnref-1"
    );
    assert!(
        select(&doc, "#fnref-1").len() == 1,
        "the link back lands on the reference"
    );
    assert_eq!(text_of(&doc, "div.raw"), "生の HTML");
}

#[test]
fn site_templates_override_the_theme() {
    let site = basic_site();
    site.write(
        "templates/post.html",
        "<!DOCTYPE html><html><body><h1 class=\"custom\">{{ post.title }}</h1></body></html>",
    );
    site.build();
    let doc = site.html("2024/05/26/yaml/index.html");
    assert_eq!(text_of(&doc, "h1.custom"), "YAML の記事");
    // Other pages still come from the theme.
    assert!(!select(&site.html("index.html"), ".post-list").is_empty());
}

#[test]
fn paginates_the_index() {
    let site = TestSite::with_config(&format!("{SITE_TOML}paginate = 2\n"));
    for i in 1..=5 {
        site.post(
            &format!("p{i}"),
            &format!("title: 記事{i}\ndate: 2024-01-0{i}"),
            "本文",
        );
    }
    site.build();
    let first = site.html("index.html");
    assert_eq!(select(&first, ".post-item").len(), 2);
    assert_eq!(attr(&first, ".pagination .next", "href"), "/page/2/");
    let last = site.html("page/3/index.html");
    assert_eq!(select(&last, ".post-item").len(), 1);
    assert_eq!(attr(&last, ".pagination .prev", "href"), "/page/2/");
}

#[test]
fn feed_and_sitemap_list_posts() {
    let site = basic_site();
    site.build();
    let feed = scraper::Html::parse_document(&site.read("feed.xml"));
    let ids: Vec<String> = select(&feed, "entry > id")
        .iter()
        .map(|e| e.text().collect())
        .collect();
    assert_eq!(
        ids,
        [
            "https://blog.example.jp/2024/05/27/toml/",
            "https://blog.example.jp/2024/05/26/yaml/"
        ]
    );
    assert_eq!(
        text_of(&feed, "feed > updated"),
        "2024-05-27T00:00:00+09:00"
    );
    let sitemap = scraper::Html::parse_document(&site.read("sitemap.xml"));
    let locs: Vec<String> = select(&sitemap, "loc")
        .iter()
        .map(|e| e.text().collect())
        .collect();
    assert!(locs.contains(&"https://blog.example.jp/2024/05/26/yaml/".to_string()));
    assert!(
        locs.contains(&"https://blog.example.jp/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E/".to_string())
    );
    assert!(
        site.read("robots.txt")
            .contains("Sitemap: https://blog.example.jp/sitemap.xml")
    );
}

#[test]
fn base_url_with_a_path_prefixes_links() {
    let site = basic_site();
    let mut opts = site.opts();
    opts.base_url = Some("https://example.com/blog".into());
    enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
    let doc = site.html("2024/05/26/yaml/index.html");
    assert_eq!(
        meta(&doc, "og:url"),
        "https://example.com/blog/2024/05/26/yaml/"
    );
    assert_eq!(attr(&doc, ".site-title", "href"), "/blog/");
    assert_eq!(
        attr(&doc, "link[rel=stylesheet]", "href"),
        "/blog/css/style.css"
    );
}

#[test]
fn two_builds_are_byte_identical() {
    let site = basic_site();
    site.build();
    let first = site.snapshot();
    std::fs::remove_dir_all(site.root().join(".enishi")).unwrap();
    site.build();
    assert_eq!(first, site.snapshot());
}

#[test]
fn a_rebuild_replaces_the_previous_output_and_leaves_nothing_beside_it() {
    let site = basic_site();
    site.build();
    let before = site.snapshot();
    assert!(
        before.keys().any(|k| k.contains("toml")),
        "{:?}",
        before.keys()
    );
    std::fs::remove_file(site.root().join("content/posts/toml.md")).unwrap();
    site.build();
    let after = site.snapshot();
    assert!(
        !after.keys().any(|k| k.contains("toml")),
        "{:?}",
        after.keys()
    );
    // The old output's folders are gone too, not only its files.
    let folders = walkdir::WalkDir::new(site.public())
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir() && e.path().to_string_lossy().contains("toml"))
        .count();
    assert_eq!(folders, 0);
    let beside: Vec<String> = std::fs::read_dir(site.root())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("public") || n.contains(".tmp-") || n.ends_with(".old"))
        .collect();
    assert_eq!(beside, ["public"]);
}

#[test]
fn a_failed_build_leaves_the_previous_output_untouched() {
    let site = basic_site();
    site.build();
    let before = site.snapshot();
    site.post("broken", "title: [unclosed", "本文");
    assert!(site.try_build().is_err());
    assert_eq!(before, site.snapshot());
    let leftovers: Vec<_> = std::fs::read_dir(site.root())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "staging folder left behind");
}

#[test]
fn init_creates_a_site_that_builds_with_the_builtin_theme() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("myblog");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["init", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["build", "--source", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = scraper::Html::parse_document(
        &std::fs::read_to_string(target.join("public/index.html")).unwrap(),
    );
    assert_eq!(
        text_of(&index, ".post-item-title a"),
        "Enishi でブログを始めました",
        "not the title the README's next command gives a post"
    );
    assert!(target.join("public/css/style.css").is_file());
    assert!(target.join("public/about/index.html").is_file());
}

#[test]
fn new_post_creates_a_draft_with_a_readable_slug() {
    let site = TestSite::new();
    let out = site.run(&["new", "post", "はじめての Rust"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.run(&["new", "post", "Hello World"]);
    assert!(out.status.success());
    let out = site.run(&["new", "post", "任意のスラッグ", "--slug", "my-slug"]);
    assert!(out.status.success());
    let mut names: Vec<String> = std::fs::read_dir(site.root().join("content/posts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3);
    for n in &names {
        assert!(n.is_ascii(), "{n}");
        assert!(!n.contains('%'), "{n}");
        assert!(
            n.as_bytes()[..10].iter().filter(|b| **b == b'-').count() == 2,
            "{n}"
        );
    }
    assert!(names.iter().any(|n| n.ends_with("-hello-world.md")));
    assert!(names.iter().any(|n| n.ends_with("-my-slug.md")));
    assert!(names.iter().any(|n| n.contains("-post-")));
    // The same title again names the same file: refused, the first left alone.
    let first = std::fs::read_dir(site.root().join("content/posts"))
        .unwrap()
        .count();
    let again = site.run(&["new", "post", "はじめての Rust"]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exists, and is left as it is"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(site.root().join("content/posts"))
            .unwrap()
            .count(),
        first
    );
    // The new post is a draft: it builds only with --drafts.
    let mut opts = site.opts();
    opts.now = None;
    opts.drafts = true;
    let report = enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
    assert_eq!(report.posts, 3);
}

#[test]
fn a_line_break_joins_japanese_and_spaces_english_everywhere() {
    let site = TestSite::new();
    site.post(
        "kyoto",
        "title: 京都\ndate: 2024-01-01",
        "京都を巡りました。\n観光客が多かった。\nWe walked\nall day.\n",
    );
    site.build();
    let joined = "京都を巡りました。観光客が多かった。";
    let page = site.html("2024/01/01/kyoto/index.html");
    let body = text_of(&page, ".post-body");
    assert!(body.contains(joined), "{body}");
    assert!(body.contains("We walked\nall day."), "{body}");
    let description = meta(&page, "description");
    assert!(description.starts_with(joined), "{description}");
    assert!(description.contains("We walked all day."), "{description}");
    assert!(meta(&page, "og:description").starts_with(joined));
    let index = site.html("index.html");
    assert!(
        text_of(&index, ".post-list").contains(joined),
        "summary on the index"
    );
    let feed = site.read("feed.xml");
    assert!(feed.contains(&format!("<summary>{joined}")), "{feed}");
    assert!(
        feed.contains(joined) && !feed.contains("巡りました。 観光客"),
        "{feed}"
    );
}

#[test]
fn an_empty_description_writes_no_empty_description_tags() {
    let site = TestSite::new();
    site.post("a", "title: a\ndate: 2024-01-01", "本文");
    site.build();
    let index = site.html("index.html");
    for name in ["description", "og:description", "twitter:description"] {
        let css = format!("meta[property=\"{name}\"], meta[name=\"{name}\"]");
        assert!(select(&index, &css).is_empty(), "{name}");
    }
}
