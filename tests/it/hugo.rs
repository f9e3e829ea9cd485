//! A Hugo blog builds unchanged: its configuration, its sections, its URLs. The
//! expected URLs below are what Hugo 0.111 wrote for the same fixtures.

use std::collections::BTreeSet;

use crate::common::*;

/// A site with a Hugo configuration and no site.toml.
fn hugo_site(config_name: &str, config: &str) -> TestSite {
    let site = TestSite::new();
    std::fs::remove_file(site.root().join("site.toml")).unwrap();
    std::fs::remove_dir(site.root().join("content/posts")).unwrap();
    site.write(config_name, config);
    site
}

fn page(site: &TestSite, rel: &str, front: &str) {
    site.write(
        &format!("content/{rel}"),
        format!("---\n{front}\n---\n本文です。\n"),
    );
}

/// Every page the build wrote (folders holding an index.html), as site paths.
fn pages(site: &TestSite) -> BTreeSet<String> {
    site.snapshot()
        .into_keys()
        .filter_map(|k| k.strip_suffix("index.html").map(|f| format!("/{f}")))
        .collect()
}

#[test]
fn a_hugo_blog_builds_with_hugos_sections_and_urls() {
    let site = hugo_site(
        "hugo.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'Hugoのブログ'\nlanguageCode = 'ja'\ntheme = 'PaperMod'\n[permalinks]\nblog = '/:year/:month/:title/'\n",
    );
    page(
        &site,
        "post/2020-01-02-hello.md",
        "title: \"テンプレート（html5up）\"\ndate: 2020-01-02\ntags: [\"C++\", \".gitignore\", \"情報／タスク管理\", \"Hello World\"]",
    );
    page(
        &site,
        "post/sub/x.md",
        "title: \"C++ の話\"\ndate: 2020-01-03",
    );
    page(
        &site,
        "post/withslug.md",
        "title: \"A\"\ndate: 2020-01-04\nslug: \"My Slug!\"",
    );
    page(
        &site,
        "post/withurl.md",
        "title: \"U\"\ndate: 2020-01-05\nurl: /custom/path",
    );
    page(
        &site,
        "blog/b1.md",
        "title: \"情報／タスク管理 .gitignore C++\"\ndate: 2021-03-04",
    );
    page(
        &site,
        "blog/b2.md",
        "title: \"B2\"\ndate: 2021-03-04\nslug: s2",
    );
    page(&site, "about.md", "title: \"About\"");
    let report = site.build();
    // The main section is the one with the most pages, as in Hugo.
    assert_eq!(report.posts, 4);
    let built = pages(&site);
    for hugo in [
        "/2021/03/b2/",
        "/2021/03/情報タスク管理-.gitignore-c-/",
        "/about/",
        "/custom/path/",
        "/post/2020-01-02-hello/",
        "/post/my-slug/",
        "/post/sub/x/",
        "/tags/.gitignore/",
        "/tags/c++/",
        "/tags/hello-world/",
        "/tags/情報タスク管理/",
    ] {
        assert!(built.contains(hugo), "{hugo} missing from {built:?}");
    }
    let note = report.notes.join("\n");
    assert!(
        note.starts_with("hugo.toml: read as a Hugo site") && note.contains("theme"),
        "{note}"
    );
    assert!(site.read("index.html").contains("Hugoのブログ"));
    assert!(
        site.read("post/my-slug/index.html")
            .contains("https://example.jp/post/my-slug/")
    );
}

#[test]
fn every_permalink_token_expands_as_in_hugo() {
    let site = hugo_site(
        "config.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'T'\n[params]\nmainSections = ['blog']\n[permalinks]\nblog = '/:year/:month/:monthname/:day/:weekday/:weekdayname/:yearday/:section/:sections/:title/:slugorfilename/:filename/'\npost = '/:slug/'\n",
    );
    page(
        &site,
        "blog/deep/er/B1File.md",
        "title: \"A+B C# .NET 日本語？ テスト！ foo/bar\"\ndate: 2021-03-04T10:00:00+09:00",
    );
    page(
        &site,
        "post/P1.md",
        "title: \"C++ と Go: (入門) 100%\"\ndate: 2020-01-02",
    );
    page(
        &site,
        "post/P2.md",
        "title: \"Hello\"\ndate: 2020-01-02\nslug: \"C++ Slug\"",
    );
    page(
        &site,
        "post/Bundle_Dir/index.md",
        "title: \"bundle\"\ndate: 2020-01-02\ntags: [\"C#\", \"A B\", \"Ｃ＋＋全角\", \"foo/bar\", \"100%\", \"a.b\"]",
    );
    page(&site, "docs/My_Page.md", "title: \"Doc Page\"");
    let report = site.build();
    // mainSections names the posts: blog only.
    assert_eq!(report.posts, 1);
    let built = pages(&site);
    for hugo in [
        "/2021/03/march/04/4/thursday/63/blog/blog/a-b-c#-.net-日本語-テスト-foo/bar/b1file/b1file/",
        "/bundle/",
        "/c-slug/",
        "/c-と-go-入門-100/",
        "/docs/my_page/",
    ] {
        assert!(built.contains(hugo), "{hugo} missing from {built:?}");
    }
}

#[test]
fn config_default_and_a_site_toml_naming_its_sections() {
    let site = hugo_site(
        "config/_default/hugo.yaml",
        "title: 分割設定\nbaseURL: https://x.example/\n",
    );
    site.write("config/_default/params.yaml", "mainSections: [entry]\n");
    site.write(
        "config/_default/permalinks.yaml",
        "entry: /entry/:year/:month/:day/:slug/\n",
    );
    page(
        &site,
        "entry/2019/a.md",
        "title: 記事\ndate: 2019-05-06\nslug: hello",
    );
    page(&site, "notes/n.md", "title: メモ");
    let report = site.build();
    assert_eq!(report.posts, 1);
    assert!(pages(&site).contains("/entry/2019/05/06/hello/"));

    // A site.toml site: `sections` says where the posts are; URLs stay Enishi's.
    let native = TestSite::with_config(&format!("{SITE_TOML}sections = [\"blog\"]\n"));
    native.write(
        "content/blog/2024-03-01-first.md",
        "---\ntitle: 最初\ndate: 2024-03-01\n---\n本文\n",
    );
    let report = native.build();
    assert_eq!(report.posts, 1);
    assert!(pages(&native).contains("/2024/03/01/first/"));
}

#[test]
fn a_broken_hugo_config_is_one_line_naming_file_and_line() {
    let site = hugo_site("hugo.toml", "title = 'x'\nbaseURL = \n");
    page(&site, "post/a.md", "title: a\ndate: 2020-01-01");
    let e = format!("{:#}", site.try_build().unwrap_err());
    assert!(e.starts_with("hugo.toml:2"), "{e}");
}

#[test]
fn sections_have_list_pages_introduced_by_their_index() {
    let site = hugo_site(
        "hugo.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'T'\n",
    );
    page(&site, "post/a.md", "title: 記事A\ndate: 2020-01-02");
    page(&site, "post/b.md", "title: 記事B\ndate: 2020-01-03");
    page(&site, "docs/guide.md", "title: 使い方");
    site.write(
        "content/_index.md",
        "---\ntitle: ホーム\n---\nようこそ、**縁側**へ。\n",
    );
    site.write(
        "content/docs/_index.md",
        "---\ntitle: ドキュメント\ndescription: 説明書の一覧\n---\n説明書です。\n",
    );
    let report = site.build();
    assert_eq!(report.posts, 2);
    let docs = site.read("docs/index.html");
    assert!(
        docs.contains("ドキュメント") && docs.contains("説明書です。"),
        "{docs}"
    );
    assert!(docs.contains("href=\"/docs/guide/\""), "{docs}");
    assert_eq!(
        meta(&site.html("docs/index.html"), "og:description"),
        "説明書の一覧"
    );
    let posts = site.read("post/index.html");
    assert!(
        posts.contains("記事A") && posts.contains("記事B"),
        "{posts}"
    );
    let home = site.read("index.html");
    assert!(home.contains("<strong>縁側</strong>"), "{home}");
    // The index files are no pages of their own.
    assert!(!pages(&site).iter().any(|p| p.contains("_index")));
}

#[test]
fn translations_and_files_beside_the_posts() {
    let site = hugo_site(
        "hugo.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'T'\nlanguageCode = 'ja'\ndefaultContentLanguage = 'ja'\n",
    );
    page(&site, "post/b1/index.ja.md", "title: b\ndate: 2020-01-01");
    page(&site, "post/c.ja.md", "title: c\ndate: 2020-01-01");
    page(&site, "about.en.md", "title: a");
    page(&site, "about.md", "title: a");
    site.write("content/post/pic.png", "png");
    site.write("content/post/images/x.png", "x");
    site.write("content/post/b1/photo.jpg", "jpg");
    let report = site.build();
    assert_eq!(report.posts, 2);
    // As Hugo 0.111 wrote them: `ja` is the site's language, `en` is no language here.
    let built = pages(&site);
    for hugo in ["/post/b1/", "/post/c/", "/about/", "/about.en/"] {
        assert!(built.contains(hugo), "{hugo} missing from {built:?}");
    }
    let files = site.snapshot();
    for hugo in ["post/pic.png", "post/images/x.png", "post/b1/photo.jpg"] {
        assert!(files.contains_key(hugo), "{hugo}");
    }

    // With English configured, its translation is recognised and left out, saying so.
    site.write(
        "hugo.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'T'\ndefaultContentLanguage = 'ja'\n[languages.ja]\nweight = 1\n[languages.en]\nweight = 2\n",
    );
    let report = site.build();
    let w = warnings_text(&report);
    assert!(
        w.contains("content/about.en.md") && w.contains("other languages"),
        "{w}"
    );
    assert!(!pages(&site).contains("/about.en/"));
    assert!(pages(&site).contains("/about/"));
}

#[test]
fn custom_taxonomies_get_their_pages_as_in_hugo() {
    let site = hugo_site(
        "hugo.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'T'\n[taxonomies]\ntag = 'tags'\ncategory = 'categories'\nseries = 'series'\n",
    );
    page(
        &site,
        "post/a.md",
        "title: 第1回\ndate: 2020-01-02\nSeries: [\"Rust入門\"]",
    );
    page(
        &site,
        "post/b.md",
        "title: 第2回\ndate: 2020-01-03\nseries: Rust入門",
    );
    page(
        &site,
        "post/c.md",
        "title: 別の話\ndate: 2020-01-04\ntags: [\"C++\"]",
    );
    let report = site.build();
    assert!(
        report.notes.iter().all(|n| !n.contains("series")),
        "{:?}",
        report.notes
    );
    let built = pages(&site);
    assert!(built.contains("/series/rust入門/"), "{built:?}");
    assert!(
        built.contains("/series/") && built.contains("/tags/c++/"),
        "{built:?}"
    );
    let list = site.read("series/rust入門/index.html");
    assert!(
        list.contains("第1回") && list.contains("第2回") && !list.contains("別の話"),
        "{list}"
    );
    assert!(
        site.read("sitemap.xml")
            .contains("/series/rust%E5%85%A5%E9%96%80/")
            || site.read("sitemap.xml").contains("/series/rust入門/")
    );
}

#[test]
fn a_new_post_goes_into_the_main_section_named_by_its_slug() {
    let site = hugo_site(
        "hugo.toml",
        "baseURL = 'https://example.jp/'\ntitle = 'T'\n",
    );
    page(&site, "blog/old.md", "title: 古い記事\ndate: 2020-01-02");
    let out = site.run(&["new", "post", "Hello", "--slug", "hello"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(site.root().join("content/blog/hello.md").is_file());
}
