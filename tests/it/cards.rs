//! Link cards against a real HTTP server on 127.0.0.1: extraction from the pages
//! Japanese sites really serve, every failure mode, escaping, the cache and the CLI.

use std::time::{Duration, Instant};

use encoding_rs::{EUC_JP, SHIFT_JIS};
use enishi::config::Site;
use enishi::enrich::Mode;
use enishi::enrich::cards::{self, CardFetcher, CardResult};
use enishi::enrich::fetch::LazyFetcher;
use enishi::pipeline::build;
use enishi::report::{Reporter, WarningKind};

use crate::common::{TestSite, select, text_of};
use crate::http::{Route, TestServer};

/// Image processing is off here (the images module has its own tests), so card images
/// stay as the page gave them: https only.
const LINKS: &str = "\n[links]\nallow_private_hosts = true\ntimeout = 1.5\nconnect_timeout = 1.0\nmax_bytes = 65536\n[images]\nenabled = false\n";

fn site() -> TestSite {
    TestSite::with_config(&format!("{}{LINKS}", crate::common::SITE_TOML))
}

/// The card for one URL, fetched with the test site's settings and no cache.
fn fetch(url: &str) -> CardResult {
    let site = site();
    let site = Site::load(site.root(), None).unwrap();
    let fetcher = LazyFetcher::new(&site);
    CardFetcher::new(&site, &fetcher)
        .resolve_one(None, url, Mode::Online)
        .unwrap()
}

fn ok(url: &str) -> cards::Card {
    fetch(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn err(url: &str) -> String {
    match fetch(url) {
        Ok(card) => panic!("{url}: expected a failure, got {card:?}"),
        Err(e) => e,
    }
}

fn page(head: &str, body: &str) -> String {
    format!("<!DOCTYPE html><html lang=\"ja\"><head>{head}</head><body>{body}</body></html>")
}

#[test]
fn plain_utf8_open_graph_page() {
    let s = TestServer::start();
    let url = s.html(
        "/articles/1",
        &page(
            r#"<meta charset="utf-8"><title>タイトル要素 | 縁側ブログ</title>
            <meta property="og:title" content="縁側で読む技術書">
            <meta property="og:description" content="秋の午後、縁側で  読みたい
              技術書を十冊選びました。">
            <meta property="og:image" content="https://cdn.example.jp/img/a.jpg">
            <meta property="og:site_name" content="縁側ブログ">
            <meta property="og:url" content="https://engawa.example.jp/articles/1">
            <link rel="icon" href="/icon.png">"#,
            "<h1>見出し</h1>",
        ),
    );
    let card = ok(&url);
    assert_eq!(card.url, url);
    assert_eq!(card.final_url, url);
    let m = &card.meta;
    assert_eq!(m.title.as_deref(), Some("縁側で読む技術書"));
    assert_eq!(
        m.description.as_deref(),
        Some("秋の午後、縁側で 読みたい 技術書を十冊選びました。")
    );
    assert_eq!(m.image.as_deref(), Some("https://cdn.example.jp/img/a.jpg"));
    assert_eq!(m.site_name, "縁側ブログ");
    assert_eq!(m.icon, s.url("/icon.png"));
    assert_eq!(m.published, None);
    let req = &s.requests()[0];
    assert!(
        req.header("User-Agent").unwrap().starts_with("Enishi/"),
        "{req:?}"
    );
    assert!(
        req.header("User-Agent")
            .unwrap()
            .contains("https://blog.example.jp/")
    );
    assert!(req.header("Accept-Language").unwrap().starts_with("ja"));
}

#[test]
fn hatena_like_page_with_loose_markup_and_date() {
    let s = TestServer::start();
    // Unquoted and upper-case attributes, a date that is not ISO 8601, a
    // protocol-relative image, og tags after body content, no og:site_name.
    let html = r#"<!DOCTYPE html>
<html lang="ja" data-admin-domain="//blog.hatena.ne.jp" data-avail-langs="ja en">
<head prefix="og: http://ogp.me/ns# article: http://ogp.me/ns/article#">
<META CHARSET=utf-8>
<title>ブログのタイトル - 記事の題</title>
<meta name="description" content="はてなブログ風の説明文です。">
<meta PROPERTY=og:title content="記事の題">
<meta property="og:image" content="//cdn-ak.example.jp/images/entry.png">
<meta property="article:published_time" content="2018/05/26 12:34">
<meta name="application-name" content="縁側ダイアリー">
<link rel="shortcut icon" href="https://cdn.example.jp/favicon.ico">
<body><p>本文<p>段落が閉じない"#;
    let url = s.html("/entry/2018/05/26/123400", html);
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("記事の題"));
    assert_eq!(
        m.description.as_deref(),
        Some("はてなブログ風の説明文です。")
    );
    assert_eq!(
        m.image.as_deref(),
        Some("http://cdn-ak.example.jp/images/entry.png")
    );
    assert_eq!(m.site_name, "縁側ダイアリー");
    assert_eq!(m.icon, "https://cdn.example.jp/favicon.ico");
    assert_eq!(m.published.as_deref(), Some("2018-05-26"));
}

#[test]
fn shift_jis_declared_only_by_http_equiv() {
    let s = TestServer::start();
    let html = page(
        r#"<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">
        <meta property="og:title" content="ソフトウェア開発の表と裏">
        <meta property="og:description" content="ダメ文字「表」「ソ」「能」を含む説明。">"#,
        "",
    );
    let url = s.reply(
        "/sjis",
        200,
        &[("Content-Type", "text/html")],
        SHIFT_JIS.encode(&html).0.into_owned(),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("ソフトウェア開発の表と裏"));
    assert_eq!(
        m.description.as_deref(),
        Some("ダメ文字「表」「ソ」「能」を含む説明。")
    );
}

#[test]
fn euc_jp_page() {
    let s = TestServer::start();
    let html = page(
        r#"<meta charset="EUC-JP"><title>日本語の古いサイト</title>
        <meta name="description" content="EUC-JPで書かれたページの説明です。">"#,
        "",
    );
    let url = s.reply(
        "/euc",
        200,
        &[("Content-Type", "text/html")],
        EUC_JP.encode(&html).0.into_owned(),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("日本語の古いサイト"));
    assert_eq!(
        m.description.as_deref(),
        Some("EUC-JPで書かれたページの説明です。")
    );
}

#[test]
fn a_wrong_charset_header_loses_to_the_document() {
    let s = TestServer::start();
    // The header says Latin-1; the page is Shift_JIS and says nothing itself.
    let html = page(
        "<title>文字コードを間違えて送るサーバーの記事</title>",
        "<p>本文には十分な量の日本語があり、判定の材料になります。</p>",
    );
    let latin = s.reply(
        "/latin",
        200,
        &[("Content-Type", "text/html; charset=ISO-8859-1")],
        SHIFT_JIS.encode(&html).0.into_owned(),
    );
    assert_eq!(
        ok(&latin).meta.title.as_deref(),
        Some("文字コードを間違えて送るサーバーの記事")
    );
    // The header says UTF-8; the page declares EUC-JP.
    let html = page(
        r#"<meta charset="euc-jp"><meta property="og:title" content="宣言が正しいページ">"#,
        "",
    );
    let utf = s.reply(
        "/utf",
        200,
        &[("Content-Type", "text/html; charset=UTF-8")],
        EUC_JP.encode(&html).0.into_owned(),
    );
    assert_eq!(ok(&utf).meta.title.as_deref(), Some("宣言が正しいページ"));
}

#[test]
fn twitter_tags_only() {
    let s = TestServer::start();
    let url = s.html(
        "/tw",
        &page(
            r#"<meta name="twitter:card" content="summary_large_image">
            <meta name="twitter:title" content="ツイッターだけのタイトル">
            <meta name="twitter:description" content="ツイッターだけの説明">
            <meta name="twitter:image:src" content="https://img.example.jp/tw.png">"#,
            "",
        ),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("ツイッターだけのタイトル"));
    assert_eq!(m.description.as_deref(), Some("ツイッターだけの説明"));
    assert_eq!(m.image.as_deref(), Some("https://img.example.jp/tw.png"));
    assert_eq!(m.site_name, "127.0.0.1");
    assert_eq!(m.icon, s.url("/favicon.ico"));
}

#[test]
fn no_open_graph_at_all() {
    let s = TestServer::start();
    let long = "長い説明文。".repeat(30);
    let url = s.html(
        "/plain",
        &page(
            &format!(
                "<title>\n  素朴な   ページ\n</title><meta name=\"description\" content=\"{long}\">"
            ),
            "<h1>見出しは使われない</h1>",
        ),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("素朴な ページ"));
    let d = m.description.unwrap();
    assert_eq!(d.chars().count(), 120);
    assert!(
        d.ends_with('…') && long.starts_with(d.trim_end_matches('…')),
        "{d}"
    );
    assert_eq!(m.image, None);

    // Only an <h1>; a description equal to the title is dropped.
    let url = s.html(
        "/h1",
        &page(
            "<meta name=description content=\"見出しだけ\">",
            "<h1>見出しだけ</h1>",
        ),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("見出しだけ"));
    assert_eq!(m.description, None);
}

#[test]
fn relative_protocol_relative_and_base_href_images() {
    let s = TestServer::start();
    let rel = s.html(
        "/a/rel",
        &page(r#"<meta property="og:image" content="../img/rel.png">"#, ""),
    );
    assert_eq!(ok(&rel).meta.image, Some(s.url("/img/rel.png")));
    let proto = s.html(
        "/a/proto",
        &page(
            r#"<meta property="og:image" content="//cdn.example.jp/p.png">"#,
            "",
        ),
    );
    assert_eq!(
        ok(&proto).meta.image.as_deref(),
        Some("http://cdn.example.jp/p.png")
    );
    let based = s.html(
        "/a/base",
        &page(
            r#"<base href="https://static.example.jp/dir/"><meta property="og:image" content="c.png">"#,
            "",
        ),
    );
    assert_eq!(
        ok(&based).meta.image.as_deref(),
        Some("https://static.example.jp/dir/c.png")
    );
}

#[test]
fn secure_url_is_preferred() {
    let s = TestServer::start();
    let url = s.html(
        "/secure",
        &page(
            r#"<meta property="og:image" content="http://img.example.jp/a.jpg">
            <meta property="og:image:secure_url" content="https://img.example.jp/a.jpg">"#,
            "",
        ),
    );
    assert_eq!(
        ok(&url).meta.image.as_deref(),
        Some("https://img.example.jp/a.jpg")
    );
}

#[test]
fn entities_are_decoded_exactly_once() {
    let s = TestServer::start();
    let url = s.html(
        "/ent",
        &page(
            r#"<meta property="og:title" content="Tom &amp; Jerry&#39;s &amp;lt;b&amp;gt; &#x7E01;">"#,
            "",
        ),
    );
    assert_eq!(
        ok(&url).meta.title.as_deref(),
        Some("Tom & Jerry's &lt;b&gt; 縁")
    );
}

#[test]
fn hostile_values_are_refused_or_escaped() {
    let s = TestServer::start();
    let js = s.html(
        "/js",
        &page(r#"<meta property="og:image" content="javascript:alert(1)"><meta property="og:title" content="js">"#, ""),
    );
    let m = ok(&js).meta;
    assert_eq!(m.image, None);
    let data = s.html(
        "/data",
        &page(r#"<link rel="icon" href="data:image/png;base64,AAAA">"#, ""),
    );
    assert_eq!(ok(&data).meta.icon, s.url("/favicon.ico"));

    let dup = s.html(
        "/dup",
        &page(
            r#"<meta property="og:title" content=""><meta property="og:title" content="一つ目"><meta property="og:title" content="二つ目">"#,
            "",
        ),
    );
    assert_eq!(ok(&dup).meta.title.as_deref(), Some("一つ目"));
}

#[test]
fn script_payload_is_escaped_in_the_built_page() {
    let s = TestServer::start();
    let url = s.html(
        "/xss",
        &page(
            r#"<meta property="og:title" content="&lt;script&gt;alert(1)&lt;/script&gt;">
            <meta property="og:description" content='"&gt;&lt;img src=x onerror=alert(2)&gt;'>
            <meta property="og:image" content="https://img.example.jp/x.png?a=1&amp;b=&quot;2">
            <meta property="og:site_name" content="&amp;lt;i&amp;gt;">"#,
            "",
        ),
    );
    let site = site();
    site.post(
        "a",
        "title: 記事\ndate: 2024-01-02",
        &format!("前置き。\n\n{url}\n\n後書き。"),
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let raw = site.read("2024/01/02/a/index.html");
    assert!(!raw.contains("<script>alert"), "{raw}");
    assert!(!raw.contains("<img src=x"), "{raw}");
    let doc = site.html("2024/01/02/a/index.html");
    assert_eq!(
        text_of(&doc, ".link-card-title"),
        "<script>alert(1)</script>"
    );
    assert_eq!(
        text_of(&doc, ".link-card-description"),
        "\"><img src=x onerror=alert(2)>"
    );
    assert!(text_of(&doc, ".link-card-site").starts_with("&lt;i&gt;"));
    let img = select(&doc, ".link-card-image")[0]
        .value()
        .attr("src")
        .unwrap()
        .to_string();
    assert_eq!(img, "https://img.example.jp/x.png?a=1&b=%222");
    assert_eq!(
        select(&doc, ".link-card a")[0].value().attr("href"),
        Some(url.as_str())
    );
}

#[test]
fn http_failures_are_reasons() {
    let s = TestServer::start();
    assert_eq!(err(&s.reply("/404", 404, &[], "")), "HTTP 404");
    assert_eq!(err(&s.reply("/500", 500, &[], "")), "HTTP 500");
    let pdf = s.reply(
        "/pdf",
        200,
        &[("Content-Type", "application/pdf")],
        "%PDF-1.4",
    );
    assert_eq!(err(&pdf), "not an HTML page (content type application/pdf)");

    // A chain of three redirects ends on the page.
    let end = s.html("/r/end", &page("<title>着いた</title>", ""));
    s.redirect("/r/3", &end);
    s.redirect("/r/2", "/r/3");
    let start = s.redirect("/r/1", "/r/2");
    let card = ok(&start);
    assert_eq!(card.final_url, end);
    assert_eq!(card.meta.title.as_deref(), Some("着いた"));

    s.redirect("/loop/a", "/loop/b");
    let a = s.redirect("/loop/b", "/loop/a");
    assert!(err(&a).contains("redirect loop"), "{}", err(&a));

    for i in 0..7 {
        s.redirect(&format!("/many/{i}"), &format!("/many/{}", i + 1));
    }
    s.html("/many/7", "<title>遠い</title>");
    assert!(err(&s.url("/many/0")).contains("more than 5 redirects"));
    // Five hops are allowed.
    assert_eq!(ok(&s.url("/many/2")).meta.title.as_deref(), Some("遠い"));
}

#[test]
fn slow_truncated_and_endless_responses() {
    let s = TestServer::start();
    let slow = s.route(
        "/slow",
        Route::Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<title>slow</title>".to_vec(),
            delay: Duration::from_secs(4),
        },
    );
    let started = Instant::now();
    assert_eq!(err(&slow), "timed out after 1.5 s");
    assert!(started.elapsed() < Duration::from_secs(4));

    let cut = s.route(
        "/cut",
        Route::Truncated {
            claimed: 5000,
            body: "<html><head><title>途中で".as_bytes().to_vec(),
        },
    );
    assert!(
        err(&cut).starts_with("the connection closed mid-response"),
        "{}",
        err(&cut)
    );

    // A head within the cap, then an endless body: reading stops at </head>.
    let endless = s.route(
        "/endless",
        Route::Endless {
            start: page(
                "<meta property=\"og:title\" content=\"終わらないページ\">",
                "",
            )
            .into_bytes(),
            filler: "<p>まだ続く</p>".repeat(100).into_bytes(),
        },
    );
    assert_eq!(ok(&endless).meta.title.as_deref(), Some("終わらないページ"));
    // A head that never ends: reading stops at the cap and what was read is used.
    let huge_head = s.route(
        "/huge-head",
        Route::Endless {
            start: "<html><head><meta property=\"og:title\" content=\"頭が長い\">"
                .as_bytes()
                .to_vec(),
            filler: b"<meta name=\"x\" content=\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\">".to_vec(),
        },
    );
    assert_eq!(ok(&huge_head).meta.title.as_deref(), Some("頭が長い"));

    // A body that stalls after its head: the card is made from what came. One
    // that stalls inside the head is a timeout.
    let stalled = s.route(
        "/stalled-body",
        Route::Stall {
            start: "<html><head><meta property=\"og:title\" content=\"頭は届いた\"></head><body><p>続きは"
                .as_bytes()
                .to_vec(),
            stall: Duration::from_secs(3),
        },
    );
    let started = Instant::now();
    assert_eq!(ok(&stalled).meta.title.as_deref(), Some("頭は届いた"));
    assert!(started.elapsed() < Duration::from_secs(3));
    let stalled = s.route(
        "/stalled-head",
        Route::Stall {
            start: b"<html><head><title>".to_vec(),
            stall: Duration::from_secs(3),
        },
    );
    assert_eq!(err(&stalled), "timed out after 1.5 s");
}

#[test]
fn private_addresses_are_refused_without_the_flag() {
    let s = TestServer::start();
    let url = s.html("/private", "<title>内部</title>");
    let site = TestSite::new();
    let site = Site::load(site.root(), None).unwrap();
    let fetcher = LazyFetcher::new(&site);
    let fetcher = CardFetcher::new(&site, &fetcher);
    let reason = fetcher
        .resolve_one(None, &url, Mode::Online)
        .unwrap()
        .unwrap_err();
    assert!(reason.contains("127.0.0.1 is a private"), "{reason}");
    assert!(reason.contains("allow_private_hosts"), "{reason}");
    // A name that resolves to loopback is refused after resolution.
    let by_name = format!("http://localhost:{}/private", s.port());
    let reason = fetcher
        .resolve_one(None, &by_name, Mode::Online)
        .unwrap()
        .unwrap_err();
    assert!(reason.contains("localhost is a private"), "{reason}");
    assert_eq!(s.total_hits(), 0);
}

#[test]
fn failed_cards_fall_back_to_links_with_warnings_and_strict_fails() {
    let s = TestServer::start();
    let missing = s.reply("/gone", 404, &[], "");
    let site = site();
    site.post(
        "a",
        "title: 記事\ndate: 2024-01-02",
        &format!("一行目。\n\n{missing}\n"),
    );
    let report = site.build();
    let lines: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        lines,
        [format!(
            "content/posts/a.md:8: link card for {missing}: HTTP 404; rendered as a plain link"
        )]
    );
    assert_eq!(report.warnings[0].kind, WarningKind::LinkCard);
    let doc = site.html("2024/01/02/a/index.html");
    assert!(select(&doc, ".link-card").is_empty());
    assert_eq!(select(&doc, &format!("p > a[href=\"{missing}\"]")).len(), 1);

    // --strict: the same warning fails the build and leaves the output as it was.
    let before = site.snapshot();
    std::fs::write(
        site.root().join("content/posts/b.md"),
        "---\ntitle: 二つ目\ndate: 2024-01-03\n---\n本文\n",
    )
    .unwrap();
    let out = site.run(&["build", "--strict"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("--strict: 1 warning(s)"), "{stderr}");
    assert!(stderr.contains("HTTP 404"), "{stderr}");
    assert_eq!(site.snapshot(), before);
}

#[test]
fn cards_render_only_for_lone_urls_and_local_urls_need_no_request() {
    let s = TestServer::start();
    let lone = s.html(
        "/lone",
        &page(r#"<meta property="og:title" content="単独のURL"><meta property="og:image" content="http://img.example.jp/insecure.png">"#, ""),
    );
    for p in ["/in-list", "/in-quote", "/in-text", "/in-code"] {
        s.html(p, "<title>x</title>");
    }
    let site = site();
    site.post(
        "other",
        "title: 別の記事\ndate: 2024-01-01\ndescription: 別の記事の説明。",
        "本文。",
    );
    site.post(
        "a",
        "title: 記事\ndate: 2024-01-02",
        &format!(
            "{lone}\n\n- {}\n\n> {}\n\n文中の {} です。\n\n    {}\n\nhttps://blog.example.jp/2024/01/01/other/\n",
            s.url("/in-list"),
            s.url("/in-quote"),
            s.url("/in-text"),
            s.url("/in-code")
        ),
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.link_requests, 1);
    assert_eq!(s.total_hits(), 1);
    let doc = site.html("2024/01/02/a/index.html");
    let cards = select(&doc, ".link-card");
    assert_eq!(cards.len(), 2);
    assert_eq!(text_of(&doc, ".link-card-title"), "単独のURL");
    // An http image would be mixed content on an https site: not shown.
    assert!(select(&doc, ".link-card-image").is_empty());
    let local = select(&doc, ".link-card-local")[0];
    let local_html = local.html();
    assert!(local_html.contains("別の記事"), "{local_html}");
    assert!(local_html.contains("別の記事の説明。"), "{local_html}");
    assert!(local_html.contains("テストブログ"), "{local_html}");
}

#[test]
fn cache_second_build_offline_and_revalidation() {
    let s = TestServer::start();
    let url = s.route(
        "/cached",
        Route::Etag {
            etag: "\"v1\"".into(),
            content_type: "text/html; charset=utf-8".into(),
            body: page(
                "<meta property=\"og:title\" content=\"キャッシュされる記事\">",
                "",
            )
            .into_bytes(),
        },
    );
    let failing = s.reply("/broken", 500, &[], "");
    let site = site();
    site.post(
        "a",
        "title: 記事\ndate: 2024-01-02",
        &format!("{url}\n\n{failing}\n"),
    );
    site.build();
    assert_eq!((s.hits("/cached"), s.hits("/broken")), (1, 1));
    let first = site.snapshot();

    // Second build: everything (the failure too) comes from the cache.
    let report = site.build();
    assert_eq!(report.link_requests, 0);
    assert_eq!(s.total_hits(), 2);
    assert_eq!(site.snapshot(), first);

    // --offline with an uncached URL: no request, a plain link and a warning.
    let uncached = s.html("/new", "<title>新しい</title>");
    site.post(
        "b",
        "title: 二つ目\ndate: 2024-01-03",
        &format!("{uncached}\n"),
    );
    let mut opts = site.opts();
    opts.links = Mode::Offline;
    let report = build(&opts, &Reporter::quiet()).unwrap();
    assert_eq!(report.link_requests, 0);
    assert_eq!(s.total_hits(), 2);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("--offline makes no requests")),
        "{:?}",
        report.warnings
    );
    std::fs::remove_file(site.root().join("content/posts/b.md")).unwrap();

    // Expire the entry in the real cache file: the next build asks conditionally.
    let db = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    db.execute(
        "UPDATE link_cards SET fetched_at = fetched_at - 40 * 86400",
        [],
    )
    .unwrap();
    drop(db);
    let mut opts = site.opts();
    opts.links = Mode::Offline;
    build(&opts, &Reporter::quiet()).unwrap();
    assert_eq!(
        s.total_hits(),
        2,
        "offline uses stale entries without asking"
    );
    site.build();
    let revalidation = s
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/cached")
        .unwrap();
    assert_eq!(revalidation.header("If-None-Match"), Some("\"v1\""));
    assert_eq!(s.hits("/cached"), 2);
    assert_eq!(s.hits("/broken"), 2, "an expired failure is tried again");
    let doc = site.html("2024/01/02/a/index.html");
    assert_eq!(text_of(&doc, ".link-card-title"), "キャッシュされる記事");

    // --refresh-links fetches again even though the entry is fresh.
    let mut opts = site.opts();
    opts.links = Mode::Refresh;
    build(&opts, &Reporter::quiet()).unwrap();
    assert_eq!(s.hits("/cached"), 3);
    assert_eq!(s.requests().last().unwrap().header("If-None-Match"), None);
}

#[test]
fn card_command_prints_the_exact_json() {
    let s = TestServer::start();
    let url = s.html(
        "/cli",
        &page(
            r#"<meta property="og:title" content="コマンドで見る">
            <meta property="og:image" content="/i.png">"#,
            "",
        ),
    );
    let site = site();
    let out = site.run(&["card", &url, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = serde_json::json!({
        "url": url,
        "final_url": url,
        "status": "ok",
        "title": "コマンドで見る",
        "description": null,
        "image": s.url("/i.png"),
        "site_name": "127.0.0.1",
        "icon": s.url("/favicon.ico"),
        "error": null
    });
    assert_eq!(got, want);
    let text = String::from_utf8_lossy(&out.stdout);
    let order: Vec<usize> = [
        "url",
        "final_url",
        "status",
        "title",
        "description",
        "image",
        "site_name",
        "icon",
        "error",
    ]
    .iter()
    .map(|k| text.find(&format!("\"{k}\":")).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    // The card is now cached: --offline answers without a request.
    let out = site.run(&["card", &url, "--json", "--offline"]);
    assert!(out.status.success());
    assert_eq!(s.total_hits(), 1);

    let missing = s.reply("/nope", 404, &[], "");
    let out = site.run(&["card", &missing, "--json"]);
    assert!(!out.status.success());
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["status"], "error");
    assert_eq!(got["error"], "HTTP 404");
    assert_eq!(got["title"], serde_json::Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!("error: {missing}: no card: HTTP 404")
    );
}

#[test]
fn a_build_with_every_failure_still_finishes_with_plain_links() {
    let s = TestServer::start();
    let urls = [
        (s.reply("/f/404", 404, &[], ""), "HTTP 404"),
        (s.reply("/f/500", 500, &[], "oops"), "HTTP 500"),
        (
            s.reply("/f/png", 200, &[("Content-Type", "image/png")], "\u{89}PNG"),
            "not an HTML page (content type image/png)",
        ),
        (
            s.route(
                "/f/slow",
                Route::Reply {
                    status: 200,
                    headers: vec![],
                    body: b"<title>late</title>".to_vec(),
                    delay: Duration::from_secs(3),
                },
            ),
            "timed out after 1.5 s",
        ),
        (
            s.route(
                "/f/cut",
                Route::Truncated {
                    claimed: 900,
                    body: b"<html><head>".to_vec(),
                },
            ),
            "the connection closed mid-response",
        ),
        (
            "https://ftp.example.jp:99999/".to_string(),
            "not a valid URL",
        ),
    ];
    s.redirect("/f/loop-b", "/f/loop-a");
    let looping = s.redirect("/f/loop-a", "/f/loop-b");
    let site = site();
    let mut body = String::from("失敗ばかりのリンク集。\n\n");
    for (u, _) in &urls {
        body.push_str(&format!("{u}\n\n"));
    }
    body.push_str(&format!("{looping}\n"));
    site.post("a", "title: 記事\ndate: 2024-01-02", &body);
    let report = site.build();
    assert_eq!(
        report.warnings.len(),
        urls.len() + 1,
        "{:?}",
        report.warnings
    );
    for (i, (u, reason)) in urls.iter().enumerate() {
        let line = 8 + 2 * i;
        let w = report
            .warnings
            .iter()
            .find(|w| w.to_string().contains(&format!("link card for {u}:")))
            .unwrap_or_else(|| panic!("no warning for {u}: {:?}", report.warnings))
            .to_string();
        assert!(
            w.starts_with(&format!("content/posts/a.md:{line}: ")),
            "{w}"
        );
        assert!(w.contains(reason), "{w}");
    }
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("redirect loop"))
    );
    let doc = site.html("2024/01/02/a/index.html");
    assert!(select(&doc, ".link-card").is_empty());
    assert_eq!(
        select(&doc, ".post-content p > a, article p > a").len(),
        urls.len() + 1
    );
}
