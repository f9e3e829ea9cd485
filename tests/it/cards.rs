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
        "error": null,
        "sources": {
            "title": "og",
            "description": null,
            "image": "og",
            "site_name": "host",
            "published": null
        }
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
        "sources",
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
    assert_eq!(got["sources"], serde_json::Value::Null);
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

// ---------------------------------------------------------------------------
// Sources beyond Open Graph (issue #18): JSON-LD, oEmbed, meta refresh, pages
// read by a tokenizer, grapheme-safe cuts, charsets.

fn ld(json: &str) -> String {
    format!(r#"<script type="application/ld+json">{json}</script>"#)
}

fn sources(card: &cards::Card) -> serde_json::Value {
    serde_json::to_value(&card.meta.sources).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// An app bundle inline in the head, the way ad-heavy and single-page sites ship
/// them: far longer than one network read, with `</head>` in its strings.
fn ad_script(bytes: usize) -> String {
    let mut s = String::from(
        "<script>var ad = '<div></head><body><p>広告</p>'; /* </head> */ window.ads = [",
    );
    while s.len() < bytes {
        s.push_str("{\"slot\":\"top\",\"html\":\"<title>広告の題</title>\"},");
    }
    s.push_str("];</script>");
    s
}

#[test]
fn json_ld_graph_beats_an_spa_shell_title() {
    let s = TestServer::start();
    let url = s.url("/news/2024/0501");
    let graph = r##"{"@context":"https://schema.org","@graph":[
        {"@type":"WebSite","@id":"https://news.example.jp/#website","name":"例示ニュース"},
        {"@type":"Organization","@id":"https://news.example.jp/#org","name":"例示新聞社",
         "logo":{"@type":"ImageObject","url":"https://news.example.jp/logo.png"}},
        {"@type":"ImageObject","@id":"https://news.example.jp/#img1","url":"https://img.example.jp/n/1.jpg"},
        {"@type":"WebPage","@id":"PAGE","name":"ページの名前","isPartOf":{"@id":"https://news.example.jp/#website"}},
        {"@type":["NewsArticle"],"@id":"PAGE#article","headline":"首相、来週に訪米へ",
         "description":"  政府関係者が\n明らかにした。 ","image":{"@id":"https://news.example.jp/#img1"},
         "datePublished":"2024-05-01T09:00:00+09:00","publisher":{"@id":"https://news.example.jp/#org"},
         "mainEntityOfPage":{"@id":"PAGE"}}
    ]}"##
        .replace("PAGE", &url);
    s.html(
        "/news/2024/0501",
        &page(
            "<meta charset=utf-8><title>例示ニュース</title><link rel=icon href=/favicon.png>",
            &format!("<div id=\"app\"></div>{}{}", ad_script(20_000), ld(&graph)),
        ),
    );
    let card = ok(&url);
    let m = &card.meta;
    assert_eq!(m.title.as_deref(), Some("首相、来週に訪米へ"));
    assert_eq!(
        m.description.as_deref(),
        Some("政府関係者が 明らかにした。")
    );
    assert_eq!(m.image.as_deref(), Some("https://img.example.jp/n/1.jpg"));
    assert_eq!(m.site_name, "例示新聞社");
    assert_eq!(m.published.as_deref(), Some("2024-05-01"));
    assert_eq!(
        sources(&card),
        serde_json::json!({"title": "json-ld", "description": "json-ld", "image": "json-ld",
                           "site_name": "json-ld", "published": "json-ld"})
    );
}

#[test]
fn json_ld_image_shapes_and_broken_blocks() {
    let s = TestServer::start();
    let cases = [
        (r#""/img/string.jpg""#, Some(s.url("/img/string.jpg"))),
        (
            r#"["https://img.example.jp/a.jpg","https://img.example.jp/b.jpg"]"#,
            Some("https://img.example.jp/a.jpg".to_string()),
        ),
        (
            r#"{"@type":"ImageObject","url":"https://img.example.jp/obj.jpg","width":1200}"#,
            Some("https://img.example.jp/obj.jpg".to_string()),
        ),
        (
            r#"[{"@type":"ImageObject","contentUrl":"https://img.example.jp/c.jpg"},{"@type":"ImageObject","url":"https://img.example.jp/d.jpg"}]"#,
            Some("https://img.example.jp/c.jpg".to_string()),
        ),
        (r#""javascript:alert(1)""#, None),
        (r#"{"@type":"ImageObject"}"#, None),
    ];
    for (i, (image, want)) in cases.iter().enumerate() {
        let url = s.html(
            &format!("/img-case/{i}"),
            &page(
                &ld(&format!(
                    r#"{{"@context":"https://schema.org","@type":"BlogPosting","headline":"画像{i}","image":{image}}}"#
                )),
                "",
            ),
        );
        let card = ok(&url);
        assert_eq!(&card.meta.image, want, "{image}");
        assert_eq!(card.meta.title, Some(format!("画像{i}")));
    }

    // A broken block is skipped; the good one after it is read. A block wrapped in
    // a comment with a trailing comma is repaired.
    let url = s.html(
        "/broken",
        &page(
            &format!(
                "<title>壊れたJSON-LDのページ</title>{}{}{}",
                ld(r#"{"@type": "NewsArticle", "headline": "閉じていない"#),
                ld(r#"{"@type":"BreadcrumbList","itemListElement":[{"@type":"ListItem","position":1,"name":"ホーム"}]}"#),
                ld("<!--\n{\"@type\":\"NewsArticle\",\"headline\":\"直せる記事\",\"publisher\":{\"@type\":\"Organization\",\"name\":\"直せる新聞\"},}\n-->"),
            ),
            "",
        ),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("直せる記事"));
    assert_eq!(m.site_name, "直せる新聞");
    // Only broken JSON-LD: the page is read as if it had none.
    let url = s.html(
        "/only-broken",
        &page(
            &format!(
                "<title>素のタイトル</title>{}",
                ld(r#"{"@type":"Article","headline":}"#)
            ),
            "",
        ),
    );
    let card = ok(&url);
    assert_eq!(card.meta.title.as_deref(), Some("素のタイトル"));
    assert_eq!(sources(&card)["title"], "html");
}

/// The same field offered by every source; each case takes the best one away.
#[test]
fn each_source_and_its_precedence() {
    let s = TestServer::start();
    s.reply(
        "/oembed.json",
        200,
        &[("Content-Type", "application/json")],
        r#"{"type":"video","version":"1.0","title":"oEmbedの題","thumbnail_url":"https://img.example.jp/oe.jpg","provider_name":"oEmbedの提供者"}"#,
    );
    let head = |og: bool, tw: bool, jl: bool, oe: bool| {
        let mut h = String::from(
            "<meta charset=utf-8><title>HTMLの題</title><meta name=description content=\"HTMLの説明\">\
             <link rel=image_src href=\"https://img.example.jp/html.jpg\"><meta name=application-name content=\"HTMLのサイト\">\
             <meta name=date content=\"2020-01-04\">",
        );
        if og {
            h.push_str("<meta property=og:title content=\"OGの題\"><meta property=og:description content=\"OGの説明\">\
                <meta property=og:image content=\"https://img.example.jp/og.jpg\"><meta property=og:site_name content=\"OGのサイト\">\
                <meta property=article:published_time content=\"2020-01-01\">");
        }
        if tw {
            h.push_str("<meta name=twitter:title content=\"Twitterの題\"><meta name=twitter:description content=\"Twitterの説明\">\
                <meta name=twitter:image content=\"https://img.example.jp/tw.jpg\">");
        }
        if jl {
            h.push_str(&ld(r#"{"@context":"https://schema.org","@type":"Article","headline":"JSON-LDの題","description":"JSON-LDの説明",
                "image":"https://img.example.jp/ld.jpg","datePublished":"2020-01-02","publisher":{"@type":"Organization","name":"JSON-LDの発行者"}}"#));
        }
        if oe {
            h.push_str(
                "<link rel=alternate type=\"application/json+oembed\" href=\"/oembed.json\">",
            );
        }
        h
    };
    // (og, twitter, json-ld, oembed) → title, description, image, site name, published sources
    let cases = [
        ((true, true, true, true), ["og", "og", "og", "og", "og"]),
        (
            (false, true, true, true),
            ["twitter", "twitter", "twitter", "json-ld", "json-ld"],
        ),
        (
            (false, false, true, true),
            ["json-ld", "json-ld", "json-ld", "json-ld", "json-ld"],
        ),
        (
            (false, false, false, true),
            ["oembed", "html", "oembed", "oembed", "html"],
        ),
        (
            (false, false, false, false),
            ["html", "html", "html", "html", "html"],
        ),
    ];
    let value = |src: &str, field: usize| -> String {
        let who = match src {
            "og" => "OG",
            "twitter" => "Twitter",
            "json-ld" => "JSON-LD",
            "oembed" => "oEmbed",
            _ => "HTML",
        };
        match field {
            0 => format!("{who}の題"),
            1 => format!("{who}の説明"),
            2 => format!(
                "https://img.example.jp/{}.jpg",
                match src {
                    "og" => "og",
                    "twitter" => "tw",
                    "json-ld" => "ld",
                    "oembed" => "oe",
                    _ => "html",
                }
            ),
            3 => match src {
                "json-ld" => "JSON-LDの発行者".into(),
                "oembed" => "oEmbedの提供者".into(),
                _ => format!("{who}のサイト"),
            },
            _ => match src {
                "og" => "2020-01-01".into(),
                "json-ld" => "2020-01-02".into(),
                _ => "2020-01-04".into(),
            },
        }
    };
    for (i, ((og, tw, jl, oe), want)) in cases.iter().enumerate() {
        let url = s.html(&format!("/prec/{i}"), &page(&head(*og, *tw, *jl, *oe), ""));
        let before = s.hits("/oembed.json");
        let card = ok(&url);
        let m = &card.meta;
        let got = [
            m.title.clone(),
            m.description.clone(),
            m.image.clone(),
            Some(m.site_name.clone()),
            m.published.clone(),
        ];
        for (field, src) in want.iter().enumerate() {
            assert_eq!(
                got[field].as_deref(),
                Some(value(src, field).as_str()),
                "case {i} field {field}"
            );
        }
        let got_sources = sources(&card);
        for (key, src) in ["title", "description", "image", "site_name", "published"]
            .iter()
            .zip(want)
        {
            assert_eq!(got_sources[key], *src, "case {i} {key}");
        }
        // oEmbed is asked only when og, twitter and JSON-LD gave no title.
        let asked = s.hits("/oembed.json") - before;
        assert_eq!(asked, usize::from(!og && !tw && !jl && *oe), "case {i}");
    }
}

#[test]
fn oembed_discovery_is_fetched_counted_and_cached() {
    let s = TestServer::start();
    let endpoint = s.reply(
        "/api/oembed",
        200,
        &[("Content-Type", "text/javascript; charset=utf-8")],
        r#"{"type":"video","version":"1.0","title":"猫が踊る動画","author_name":"投稿者","provider_name":"例示動画","thumbnail_url":"/thumb/42.jpg","html":"<iframe src=\"https://v.example.jp/embed/42\"></iframe>"}"#,
    );
    let url = s.html(
        "/watch/42",
        &page(
            &format!(
                r#"<title>例示動画</title><link rel="alternate" type="text/xml+oembed" href="/api/oembed.xml">
                <link rel="alternate" type="application/json+oembed" href="{}?url=%2Fwatch%2F42&amp;format=json" title="猫が踊る動画">"#,
                endpoint.trim_start_matches(&s.url(""))
            ),
            "<div id=player></div>",
        ),
    );
    let site = site();
    site.post(
        "a",
        "title: 記事\ndate: 2024-01-02",
        &format!("動画です。\n\n{url}\n"),
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.link_requests, 2, "the page and its oEmbed document");
    assert_eq!((s.hits("/watch/42"), s.hits("/api/oembed")), (1, 1));
    assert_eq!(s.hits("/api/oembed.xml"), 0);
    let oembed_request = s
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/oembed")
        .unwrap();
    assert!(
        oembed_request
            .header("User-Agent")
            .unwrap()
            .starts_with("Enishi/")
    );
    let doc = site.html("2024/01/02/a/index.html");
    assert_eq!(text_of(&doc, ".link-card-title"), "猫が踊る動画");

    // Cached with the card: the next build, and the CLI offline, ask nothing.
    let report = site.build();
    assert_eq!(report.link_requests, 0);
    let out = site.run(&["card", &url, "--json", "--offline"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["title"], "猫が踊る動画");
    assert_eq!(got["image"], s.url("/thumb/42.jpg"));
    assert_eq!(got["site_name"], "例示動画");
    assert_eq!(
        got["sources"],
        serde_json::json!({"title": "oembed", "description": null, "image": "oembed",
                           "site_name": "oembed", "published": null})
    );
    assert_eq!(s.total_hits(), 2);

    // A failing or unusable oEmbed document costs the card nothing.
    for (path, reply) in [("/bad/404", 404), ("/bad/html", 200)] {
        s.reply(
            path,
            reply,
            &[("Content-Type", "text/html")],
            "<html>not json</html>",
        );
        let page_url = s.html(
            &format!("/video{path}"),
            &page(
                &format!(r#"<title>サイト名だけ</title><link rel=alternate type="application/json+oembed" href="{path}">"#),
                "",
            ),
        );
        let card = ok(&page_url);
        assert_eq!(card.meta.title.as_deref(), Some("サイト名だけ"));
        assert_eq!(s.hits(path), 1);
    }
    // Not an http(s) URL: never asked.
    let card = ok(&s.html(
        "/video/file",
        &page(r#"<title>ファイル</title><link rel=alternate type="application/json+oembed" href="file:///etc/passwd">"#, ""),
    ));
    assert_eq!(card.meta.title.as_deref(), Some("ファイル"));
}

#[test]
fn a_meta_refresh_is_followed_once_and_only_without_metadata() {
    let s = TestServer::start();
    let target = s.html(
        "/articles/real",
        &page(
            r#"<meta property="og:title" content="本当の記事"><meta property="og:image" content="https://img.example.jp/real.jpg">"#,
            "",
        ),
    );
    let short = s.html(
        "/s/abc",
        &page(
            r#"<title>リダイレクト中…</title><meta http-equiv="refresh" content="0;url=/articles/real">"#,
            "<p>自動で移動しない場合は<a href=\"/articles/real\">こちら</a></p>",
        ),
    );
    let card = ok(&short);
    assert_eq!(card.url, short);
    assert_eq!(card.final_url, target);
    assert_eq!(card.meta.title.as_deref(), Some("本当の記事"));
    assert_eq!(
        card.meta.image.as_deref(),
        Some("https://img.example.jp/real.jpg")
    );
    assert_eq!(s.hits("/articles/real"), 1);

    // Quoted, upper case, with a fraction: still zero.
    s.html(
        "/s/quoted",
        &page(
            r#"<META HTTP-EQUIV="Refresh" CONTENT="0.0; URL='/articles/real'">"#,
            "",
        ),
    );
    assert_eq!(ok(&s.url("/s/quoted")).final_url, target);

    // A page with metadata of its own, a delayed refresh, a refresh in <noscript>:
    // the page itself is the card.
    for (path, head, title) in [
        (
            "/s/meta",
            r#"<meta property="og:title" content="紹介ページ"><meta http-equiv="refresh" content="0;url=/articles/real">"#,
            "紹介ページ",
        ),
        (
            "/s/later",
            r#"<title>五秒後に移動</title><meta http-equiv="refresh" content="5;url=/articles/real">"#,
            "五秒後に移動",
        ),
        (
            "/s/noscript",
            r#"<title>アプリ</title><noscript><meta http-equiv="refresh" content="0;url=/articles/real"></noscript>"#,
            "アプリ",
        ),
    ] {
        let card = ok(&s.html(path, &page(head, "")));
        assert_eq!(card.meta.title.as_deref(), Some(title), "{path}");
        assert_eq!(card.final_url, s.url(path));
    }
    assert_eq!(s.hits("/articles/real"), 2);

    // A shortener that redirects by script and gives browsers without scripts a
    // refresh in <noscript> to another site (t.co works so): followed.
    let elsewhere = format!("http://localhost:{}/articles/real", s.port());
    let tco = s.html(
        "/t/xyz",
        &format!(
            r#"<head><noscript><META http-equiv="refresh" content="0;URL={elsewhere}"></noscript><title>{elsewhere}</title></head><script>window.opener = null; location.replace("{elsewhere}")</script>"#
        ),
    );
    let card = ok(&tco);
    assert_eq!(card.final_url, elsewhere);
    assert_eq!(card.meta.title.as_deref(), Some("本当の記事"));
    assert_eq!(s.hits("/articles/real"), 3);

    // Once: a refresh page that refreshes again is carded as it is.
    s.html("/hop/3", &page("<title>三つ目</title>", ""));
    s.html(
        "/hop/2",
        &page(
            r#"<title>二つ目</title><meta http-equiv="refresh" content="0;url=/hop/3">"#,
            "",
        ),
    );
    let first = s.html(
        "/hop/1",
        &page(
            r#"<title>一つ目</title><meta http-equiv="refresh" content="0;url=/hop/2">"#,
            "",
        ),
    );
    let card = ok(&first);
    assert_eq!(card.meta.title.as_deref(), Some("二つ目"));
    assert_eq!(card.final_url, s.url("/hop/2"));
    assert_eq!(s.hits("/hop/3"), 0);

    // The refresh is a redirect: it counts against the cap of five.
    for i in 0..5 {
        s.redirect(&format!("/cap/{i}"), &format!("/cap/{}", i + 1));
    }
    s.html(
        "/cap/5",
        &page(
            r#"<meta http-equiv="refresh" content="0;url=/articles/real">"#,
            "",
        ),
    );
    assert_eq!(err(&s.url("/cap/0")), "more than 5 redirects");
    assert_eq!(ok(&s.url("/cap/1")).final_url, target);

    // Where it leads is checked like a redirect target.
    let pdf = s.reply(
        "/doc.pdf",
        200,
        &[("Content-Type", "application/pdf")],
        "%PDF",
    );
    s.html(
        "/s/pdf",
        &page(
            &format!(r#"<meta http-equiv="refresh" content="0;url={pdf}">"#),
            "",
        ),
    );
    assert_eq!(
        err(&s.url("/s/pdf")),
        "not an HTML page (content type application/pdf)"
    );
    s.html(
        "/s/ftp",
        &page(r#"<title>FTPへ</title><meta http-equiv="refresh" content="0;url=ftp://ftp.example.jp/">"#, ""),
    );
    assert_eq!(ok(&s.url("/s/ftp")).meta.title.as_deref(), Some("FTPへ"));
}

#[test]
fn head_end_inside_scripts_and_comments_and_svg_titles() {
    let s = TestServer::start();
    let url = s.html(
        "/ad-heavy",
        &format!(
            "<!DOCTYPE html><html><head><meta charset=utf-8>{}<!-- </head> --><title>広告だらけ | 例示</title>\
             <meta property=og:title content=\"広告の後ろの題\"><meta property=og:description content=\"広告の後ろの説明\">\
             <meta property=og:image content=\"https://img.example.jp/after-ads.jpg\"></head><body><p>本文</p></body></html>",
            ad_script(30_000)
        ),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("広告の後ろの題"));
    assert_eq!(m.description.as_deref(), Some("広告の後ろの説明"));
    assert_eq!(
        m.image.as_deref(),
        Some("https://img.example.jp/after-ads.jpg")
    );

    // Only the document's own <title> counts, not an inline SVG's.
    let url = s.html(
        "/svg-first",
        "<!DOCTYPE html><html><head><meta charset=utf-8></head><body>\
         <svg xmlns=\"http://www.w3.org/2000/svg\" style=\"display:none\"><symbol id=\"i\"><title>メニューを開く</title></symbol></svg>\
         <h1>SVGの後の見出し</h1></body></html>",
    );
    let card = ok(&url);
    assert_eq!(card.meta.title.as_deref(), Some("SVGの後の見出し"));
    let url = s.html(
        "/svg-and-title",
        "<!DOCTYPE html><html><head><meta charset=utf-8><svg><title>アイコン</title></svg><title>文書の題</title></head><body></body></html>",
    );
    assert_eq!(ok(&url).meta.title.as_deref(), Some("文書の題"));
}

#[test]
fn cuts_never_split_emoji_sequences() {
    use unicode_segmentation::UnicodeSegmentation;
    let s = TestServer::start();
    let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
    let pieces = [family, "🇯🇵", "👍🏽", "❤\u{FE0F}", "か\u{3099}", "e\u{301}"];
    let whole_clusters = |original: &str, cut: &str| {
        let kept = cut.strip_suffix('…').unwrap_or(cut);
        assert!(original.starts_with(kept), "{cut}");
        assert!(
            kept.is_empty()
                || original
                    .grapheme_indices(true)
                    .any(|(i, _)| i == kept.len()),
            "split a cluster: {cut:?}"
        );
    };
    for (i, piece) in pieces.iter().enumerate() {
        for pad in 0..8 {
            // The sequence straddles the title's and the description's cut.
            let title = format!("{}{}{}", "題".repeat(193 + pad), piece, "末".repeat(20));
            let description = format!("{}{}{}", "説".repeat(113 + pad), piece, "末".repeat(20));
            let url = s.html(
                &format!("/emoji/{i}/{pad}"),
                &page(
                    &ld(&serde_json::json!({
                        "@type": "NewsArticle",
                        "headline": title,
                        "description": description
                    })
                    .to_string()),
                    "",
                ),
            );
            let m = ok(&url).meta;
            let t = m.title.unwrap();
            let d = m.description.unwrap();
            assert!(t.chars().count() <= 200 && t.ends_with('…'), "{t}");
            assert!(d.chars().count() <= 120 && d.ends_with('…'), "{d}");
            whole_clusters(&title, &t);
            whole_clusters(&description, &d);
        }
    }
}

#[test]
fn charset_edge_cases() {
    let s = TestServer::start();
    // Titles this short are guessed wrong by detection (ｶﾀｶﾅ reads as EUC-KR, 表
    // as windows-1252, 漢字 in EUC-JP as GBK): only the declaration gets them right.
    // A <meta charset> after long inline scripts and styles (far past 1024 bytes).
    let html = page(
        &format!(
            "{}<style>{}</style><meta charset=\"Shift_JIS\"><title>ｶﾀｶﾅ</title>",
            "<script>var x = '<meta charset=euc-kr>';</script>".repeat(200),
            "p{margin:0}".repeat(1000)
        ),
        "",
    );
    assert!(html.find("<meta charset=\"Shift_JIS\"").unwrap() > 16_000);
    let url = s.reply(
        "/late-meta",
        200,
        &[("Content-Type", "text/html")],
        SHIFT_JIS.encode(&html).0.into_owned(),
    );
    assert_eq!(ok(&url).meta.title.as_deref(), Some("ｶﾀｶﾅ"));

    // Windows-31J, as Java servers label Shift_JIS, in the header and in the page.
    let html = page("<title>表</title>", "");
    let url = s.reply(
        "/w31j-header",
        200,
        &[("Content-Type", "text/html; charset=Windows-31J")],
        SHIFT_JIS.encode(&html).0.into_owned(),
    );
    assert_eq!(ok(&url).meta.title.as_deref(), Some("表"));
    let html = page(
        r#"<meta charset="windows-31j"><title>ダメ文字の表と能</title>"#,
        "",
    );
    let url = s.reply(
        "/w31j-meta",
        200,
        &[("Content-Type", "text/html; charset=UTF-8")],
        SHIFT_JIS.encode(&html).0.into_owned(),
    );
    assert_eq!(ok(&url).meta.title.as_deref(), Some("ダメ文字の表と能"));

    // An XHTML page that declares its encoding only in the XML declaration.
    let xhtml = "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n\
        <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"ja\"><head><title>漢字</title>\
        <meta name=\"description\" content=\"An old XHTML diary.\" /></head><body><p>...</p></body></html>";
    let url = s.reply(
        "/xhtml",
        200,
        &[("Content-Type", "application/xhtml+xml")],
        EUC_JP.encode(xhtml).0.into_owned(),
    );
    let m = ok(&url).meta;
    assert_eq!(m.title.as_deref(), Some("漢字"));
    assert_eq!(m.description.as_deref(), Some("An old XHTML diary."));

    // gzip: as a Content-Encoding, and a gzip file sent as the page itself.
    let html = page(
        r#"<meta property="og:title" content="圧縮されたページ">"#,
        "",
    );
    let url = s.reply(
        "/gzip",
        200,
        &[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
        ],
        gzip(html.as_bytes()),
    );
    assert_eq!(ok(&url).meta.title.as_deref(), Some("圧縮されたページ"));
    let asked = s
        .requests()
        .into_iter()
        .find(|r| r.path == "/gzip")
        .unwrap();
    assert!(
        asked
            .header("Accept-Encoding")
            .unwrap_or_default()
            .contains("gzip"),
        "{asked:?}"
    );
    let sjis = SHIFT_JIS
        .encode(&page(
            r#"<meta charset="shift_jis"><title>二重に圧縮</title>"#,
            "",
        ))
        .0
        .into_owned();
    let url = s.reply(
        "/gzip-twice",
        200,
        &[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        gzip(&gzip(&sjis)),
    );
    assert_eq!(ok(&url).meta.title.as_deref(), Some("二重に圧縮"));

    // A declaration that cannot decode the bytes loses to UTF-8, which can.
    for (path, head, ct) in [
        (
            "/migrated-meta",
            r#"<meta charset="Shift_JIS">"#,
            "text/html",
        ),
        (
            "/migrated-eucjp",
            r#"<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP">"#,
            "text/html",
        ),
        ("/migrated-header", "", "text/html; charset=Shift_JIS"),
    ] {
        let url = s.reply(
            path,
            200,
            &[("Content-Type", ct)],
            page(
                &format!("{head}<title>UTF-8に移行済みのページ「表」と「能」</title>"),
                "",
            ),
        );
        assert_eq!(
            ok(&url).meta.title.as_deref(),
            Some("UTF-8に移行済みのページ「表」と「能」"),
            "{path}"
        );
    }
}

#[test]
fn cache_rows_from_before_sources_still_load() {
    let s = TestServer::start();
    let url = s.html(
        "/old-row",
        &page(r#"<meta property="og:title" content="古い行">"#, ""),
    );
    let site = site();
    site.post("a", "title: 記事\ndate: 2024-01-02", &format!("{url}\n"));
    site.build();
    // Rewrite the row as an earlier version stored it: no `sources`.
    let db = rusqlite::Connection::open(site.root().join(".enishi/cache.sqlite")).unwrap();
    let card: String = db
        .query_row("SELECT card FROM link_cards WHERE url = ?1", [&url], |r| {
            r.get(0)
        })
        .unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&card).unwrap();
    assert!(
        value["meta"]
            .as_object_mut()
            .unwrap()
            .remove("sources")
            .is_some()
    );
    db.execute(
        "UPDATE link_cards SET card = ?1 WHERE url = ?2",
        rusqlite::params![value.to_string(), url],
    )
    .unwrap();
    drop(db);
    let out = site.run(&["card", &url, "--json", "--offline"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["title"], "古い行");
    assert_eq!(got["sources"]["title"], serde_json::Value::Null);
    let mut opts = site.opts();
    opts.links = Mode::Offline;
    let report = build(&opts, &Reporter::quiet()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(s.total_hits(), 1);
    let doc = site.html("2024/01/02/a/index.html");
    assert_eq!(text_of(&doc, ".link-card-title"), "古い行");
}

/// A self-check shaped like the issue's second held-out set: pages as Japanese
/// news sites, single-page apps, video sites, URL shorteners and ad-heavy sites
/// serve them, every field of every card checked. (Made up here; the real set is
/// not in this repository.)
#[test]
fn held_out_style_pages() {
    let s = TestServer::start();
    let host = "127.0.0.1".to_string();
    let html_page = |path: &str, head: &str, body: &str| s.html(path, &page(head, body));
    // (name, url, [title, description, image, site name])
    let mut cases: Vec<(&str, String, [Option<String>; 4])> = Vec::new();
    let some = |v: &str| Some(v.to_string());

    // 1. WordPress with a Yoast-style graph and no og tags.
    let url = s.url("/wp/2024/05/01/post/");
    let graph = r##"{"@context":"https://schema.org","@graph":[
        {"@type":"Article","@id":"PAGE#article","isPartOf":{"@id":"PAGE"},"author":{"name":"山田","@id":"https://wp.example.jp/#/schema/person/1"},
         "headline":"縁側で読む技術書十選","datePublished":"2024-05-01T08:00:00+00:00","mainEntityOfPage":{"@id":"PAGE"},
         "publisher":{"@id":"https://wp.example.jp/#organization"},"image":{"@id":"PAGE#primaryimage"},"thumbnailUrl":"https://wp.example.jp/wp-content/uploads/thumb.jpg"},
        {"@type":"WebPage","@id":"PAGE","url":"PAGE","name":"縁側で読む技術書十選 | 縁側ブログ","isPartOf":{"@id":"https://wp.example.jp/#website"},
         "primaryImageOfPage":{"@id":"PAGE#primaryimage"},"description":"秋の午後に読みたい技術書を選びました。"},
        {"@type":"ImageObject","inLanguage":"ja","@id":"PAGE#primaryimage","url":"https://wp.example.jp/wp-content/uploads/main.jpg","contentUrl":"https://wp.example.jp/wp-content/uploads/main.jpg","width":1200,"height":630},
        {"@type":"BreadcrumbList","@id":"PAGE#breadcrumb","itemListElement":[{"@type":"ListItem","position":1,"name":"ホーム","item":"https://wp.example.jp/"}]},
        {"@type":"WebSite","@id":"https://wp.example.jp/#website","url":"https://wp.example.jp/","name":"縁側ブログ","publisher":{"@id":"https://wp.example.jp/#organization"}},
        {"@type":"Organization","@id":"https://wp.example.jp/#organization","name":"縁側舎","url":"https://wp.example.jp/"}
    ]}"##.replace("PAGE", &url);
    html_page(
        "/wp/2024/05/01/post/",
        &format!(
            "<title>縁側で読む技術書十選 | 縁側ブログ</title>{}",
            ld(&graph)
        ),
        "",
    );
    cases.push((
        "yoast graph",
        url,
        [
            some("縁側で読む技術書十選"),
            some("秋の午後に読みたい技術書を選びました。"),
            some("https://wp.example.jp/wp-content/uploads/main.jpg"),
            some("縁側舎"),
        ],
    ));

    // 2. A news site: NewsArticle only, image an array of relative paths, a generic title.
    let url = html_page(
        "/news/article/DGX1",
        "<title>例示経済新聞</title><meta name=viewport content=\"width=device-width\">",
        &ld(
            r#"{"@context":"http://schema.org","@type":"NewsArticle","headline":"
            日銀、金融政策の現状維持を決定
            ","description":"日銀は金融政策決定会合で現状維持を決めた。","image":["/img/1x1.jpg","/img/16x9.jpg"],
            "datePublished":"2024-04-26T12:00:00+09:00","publisher":{"@type":"NewsMediaOrganization","name":"例示経済新聞","logo":{"@type":"ImageObject","url":"/logo.png"}}}"#,
        ),
    );
    cases.push((
        "news article",
        url,
        [
            some("日銀、金融政策の現状維持を決定"),
            some("日銀は金融政策決定会合で現状維持を決めた。"),
            Some(s.url("/img/1x1.jpg")),
            some("例示経済新聞"),
        ],
    ));

    // 3. @type as a list, ImageObjects in a list, the publisher defined in another block.
    let url = html_page(
        "/news/3",
        &format!(
            "<title>ニュース</title>{}{}",
            ld(
                r#"{"@context":"https://schema.org","@type":"Organization","@id":"https://n3.example.jp/#publisher","name":"三番新聞","logo":"https://n3.example.jp/logo.png"}"#
            ),
            ld(
                r#"{"@context":"https://schema.org","@type":["NewsArticle","Article"],"headline":"台風十号、九州に接近","description":"気象庁は警戒を呼びかけている。",
                "image":[{"@type":"ImageObject","url":"https://img.n3.example.jp/typhoon.jpg","width":1600},{"@type":"ImageObject","url":"https://img.n3.example.jp/typhoon-sq.jpg"}],
                "publisher":{"@id":"https://n3.example.jp/#publisher"}}"#
            ),
        ),
        "",
    );
    cases.push((
        "type list and cross-block publisher",
        url,
        [
            some("台風十号、九州に接近"),
            some("気象庁は警戒を呼びかけている。"),
            some("https://img.n3.example.jp/typhoon.jpg"),
            some("三番新聞"),
        ],
    ));

    // 4. A hand-written block in a comment, trailing commas, a raw line break.
    let url = html_page(
        "/blog/4",
        "<title>ブログ</title><script type=\"application/ld+json\"><!--\n{\"@type\": \"BlogPosting\", \"headline\": \"手書きのJSON-LD\", \"description\": \"改行を\n含む説明\", \"image\": \"https://img.example.jp/4.png\",}\n--></script>",
        "",
    );
    cases.push((
        "repaired block",
        url,
        [
            some("手書きのJSON-LD"),
            some("改行を 含む説明"),
            some("https://img.example.jp/4.png"),
            Some(host.clone()),
        ],
    ));

    // 5. Breadcrumbs and a WebSite before the article; no publisher.
    let url = html_page(
        "/news/5",
        &format!(
            "<title>五番ニュース</title>{}{}{}",
            ld(
                r#"{"@context":"https://schema.org","@type":"BreadcrumbList","itemListElement":[{"@type":"ListItem","position":1,"name":"トップ","item":"https://n5.example.jp/"},{"@type":"ListItem","position":2,"name":"社会"}]}"#
            ),
            ld(
                r#"{"@context":"https://schema.org","@type":"WebSite","name":"五番ニュース","url":"https://n5.example.jp/","potentialAction":{"@type":"SearchAction","target":"https://n5.example.jp/search?q={q}"}}"#
            ),
            ld(
                r#"{"@context":"https://schema.org","@type":"NewsArticle","headline":"駅前再開発、来春着工へ","image":"https://img.n5.example.jp/ekimae.jpg"}"#
            ),
        ),
        "",
    );
    cases.push((
        "breadcrumbs and website",
        url,
        [
            some("駅前再開発、来春着工へ"),
            None,
            some("https://img.n5.example.jp/ekimae.jpg"),
            some("五番ニュース"),
        ],
    ));

    // 6. A single-page app: a shell title, the article as the page's mainEntity.
    let url = html_page(
        "/app/articles/6",
        &format!(
            "<title>React App</title><meta name=description content=\"Web site created using create-react-app\">{}",
            ld(
                r#"{"@context":"https://schema.org","@type":"WebPage","name":"記事","mainEntity":{"@type":"Article","headline":"SPAでも読めるカード","description":"JSON-LDだけが頼りです。","image":"https://img.example.jp/spa.png","publisher":{"@type":"Organization","name":"SPA出版"}}}"#
            )
        ),
        "<div id=\"root\"></div><script src=\"/static/js/main.js\"></script>",
    );
    cases.push((
        "spa main entity",
        url,
        [
            some("SPAでも読めるカード"),
            some("JSON-LDだけが頼りです。"),
            some("https://img.example.jp/spa.png"),
            some("SPA出版"),
        ],
    ));

    // 7. An Article with a name but no headline or description.
    let url = html_page(
        "/blog/7",
        &format!(
            "<title>七番 - ブログ</title><meta name=description content=\"メタタグの説明です。\">{}",
            ld(r#"{"@context":"https://schema.org","@type":"Article","name":"名前だけの記事"}"#)
        ),
        "",
    );
    cases.push((
        "name not headline",
        url,
        [
            some("名前だけの記事"),
            some("メタタグの説明です。"),
            None,
            Some(host.clone()),
        ],
    ));

    // 8. A video page with VideoObject JSON-LD.
    let url = html_page(
        "/watch/8",
        &format!(
            "<title>例示動画</title>{}",
            ld(
                r#"{"@context":"https://schema.org","@type":"VideoObject","name":"【初心者向け】味噌汁の作り方","description":"出汁の取り方から。",
                "thumbnailUrl":["https://i.video.example.jp/8/max.jpg","https://i.video.example.jp/8/hq.jpg"],"uploadDate":"2024-03-03T10:00:00+09:00",
                "publisher":{"@type":"Organization","name":"例示動画"}}"#
            )
        ),
        "",
    );
    cases.push((
        "video json-ld",
        url,
        [
            some("【初心者向け】味噌汁の作り方"),
            some("出汁の取り方から。"),
            some("https://i.video.example.jp/8/max.jpg"),
            some("例示動画"),
        ],
    ));

    // 9. A video page whose only metadata is an oEmbed discovery link.
    s.reply(
        "/oembed/9",
        200,
        &[("Content-Type", "application/json")],
        r#"{"type":"video","version":"1.0","title":"猫が鍵盤を弾く","provider_name":"ねこ動画","provider_url":"https://neko.example.jp/","thumbnail_url":"https://img.neko.example.jp/9.jpg","thumbnail_width":480,"html":"<iframe></iframe>"}"#,
    );
    let url = html_page(
        "/video/9",
        "<title>ねこ動画</title><meta name=description content=\"猫の動画がいっぱい。\"><link rel=alternate type=\"application/json+oembed\" href=\"/oembed/9?format=json\">",
        "<div id=app></div>",
    );
    cases.push((
        "video oembed",
        url,
        [
            some("猫が鍵盤を弾く"),
            some("猫の動画がいっぱい。"),
            some("https://img.neko.example.jp/9.jpg"),
            some("ねこ動画"),
        ],
    ));

    // 10. oEmbed for the title, og:image kept (og comes first).
    s.reply(
        "/oembed/10",
        200,
        &[("Content-Type", "application/json+oembed")],
        r#"{"type":"rich","version":"1.0","title":"ライブ配信のお知らせ","provider_name":"配信サイト","thumbnail_url":"https://img.example.jp/oe10.jpg"}"#,
    );
    let url = html_page(
        "/live/10",
        "<title>配信サイト</title><meta property=og:image content=\"https://img.example.jp/og10.jpg\"><link rel=alternate type=application/json+oembed href=/oembed/10>",
        "",
    );
    cases.push((
        "oembed with og image",
        url,
        [
            some("ライブ配信のお知らせ"),
            None,
            some("https://img.example.jp/og10.jpg"),
            some("配信サイト"),
        ],
    ));

    // 11–13. URL shorteners: a 200 with a meta refresh, quoted, after an HTTP redirect.
    html_page(
        "/target/11",
        "<meta property=og:title content=\"短縮先の記事\"><meta property=og:description content=\"短縮URLの先です。\"><meta property=og:image content=\"https://img.example.jp/11.jpg\"><meta property=og:site_name content=\"短縮先サイト\">",
        "",
    );
    let url = html_page(
        "/s/11",
        "<title>リダイレクト中…</title><meta http-equiv=\"refresh\" content=\"0;url=/target/11\">",
        "",
    );
    cases.push((
        "shortener",
        url,
        [
            some("短縮先の記事"),
            some("短縮URLの先です。"),
            some("https://img.example.jp/11.jpg"),
            some("短縮先サイト"),
        ],
    ));
    html_page(
        "/target/12",
        "<title>十二 | サイト</title>",
        &ld(
            r#"{"@type":"NewsArticle","headline":"短縮先はJSON-LDだけ","image":"https://img.example.jp/12.jpg","publisher":{"name":"十二新聞"}}"#,
        ),
    );
    let url = html_page(
        "/s/12",
        "<META HTTP-EQUIV=\"Refresh\" CONTENT=\"0; URL='/target/12'\"><title>Redirecting...</title>",
        "",
    );
    cases.push((
        "shortener quoted",
        url,
        [
            some("短縮先はJSON-LDだけ"),
            None,
            some("https://img.example.jp/12.jpg"),
            some("十二新聞"),
        ],
    ));
    html_page(
        "/s/13/page",
        "<meta http-equiv=refresh content=\"0; url=/target/11\"><title>移動します</title>",
        "",
    );
    let url = s.redirect("/s/13", "/s/13/page");
    cases.push((
        "redirect then refresh",
        url,
        [
            some("短縮先の記事"),
            some("短縮URLの先です。"),
            some("https://img.example.jp/11.jpg"),
            some("短縮先サイト"),
        ],
    ));

    // 14. An ad-heavy head: `</head>` in script strings, 30 KB before the og tags.
    let url = s.html(
        "/ads/14",
        &format!(
            "<!DOCTYPE html><html><head><meta charset=utf-8><title>十四 | 広告サイト</title>{}\
             <meta property=og:title content=\"広告の向こうの記事\"><meta name=twitter:description content=\"広告の向こうの説明\">\
             <meta property=og:image content=\"https://img.example.jp/14.jpg\"><meta property=og:site_name content=\"広告サイト\"></head><body></body></html>",
            ad_script(30_000)
        ),
    );
    cases.push((
        "ad-heavy head",
        url,
        [
            some("広告の向こうの記事"),
            some("広告の向こうの説明"),
            some("https://img.example.jp/14.jpg"),
            some("広告サイト"),
        ],
    ));

    // 15. An icon sprite (inline SVG with titles) before the document's title.
    let url = s.html(
        "/sprite/15",
        "<!DOCTYPE html><html><head><meta charset=utf-8><svg style=\"display:none\"><symbol id=s><title>検索</title></symbol></svg>\
         <title>スプライトの後の題</title><meta name=description content=\"SVGの題は使わない。\"></head><body></body></html>",
    );
    cases.push((
        "svg sprite",
        url,
        [
            some("スプライトの後の題"),
            some("SVGの題は使わない。"),
            None,
            Some(host.clone()),
        ],
    ));

    // 16. Shift_JIS, declared after a long head script, JSON-LD metadata.
    let sjis = page(
        &format!(
            "{}<meta charset=\"Shift_JIS\">{}",
            "<script>var a='表';</script>".repeat(400),
            ld(
                r#"{"@type":"NewsArticle","headline":"ｼﾌﾄJISの記事","description":"ダメ文字「表」「ソ」「能」。","image":"https://img.example.jp/16.jpg","publisher":{"@type":"Organization","name":"老舗新聞"}}"#
            )
        ),
        "",
    );
    let url = s.reply(
        "/sjis/16",
        200,
        &[("Content-Type", "text/html")],
        SHIFT_JIS.encode(&sjis).0.into_owned(),
    );
    cases.push((
        "shift_jis late meta",
        url,
        [
            some("ｼﾌﾄJISの記事"),
            some("ダメ文字「表」「ソ」「能」。"),
            some("https://img.example.jp/16.jpg"),
            some("老舗新聞"),
        ],
    ));

    // 17. EUC-JP XHTML declared only by its XML declaration.
    let xhtml = "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>漢字</title><meta name=\"description\" content=\"日記\" /><link rel=\"image_src\" href=\"/17.png\" /></head><body></body></html>";
    let url = s.reply(
        "/xhtml/17",
        200,
        &[("Content-Type", "application/xhtml+xml")],
        EUC_JP.encode(xhtml).0.into_owned(),
    );
    cases.push((
        "euc-jp xhtml",
        url,
        [
            some("漢字"),
            some("日記"),
            Some(s.url("/17.png")),
            Some(host.clone()),
        ],
    ));

    // 18. gzip-encoded, JSON-LD.
    let body = page(
        "<title>十八</title>",
        &ld(
            r#"{"@type":"BlogPosting","headline":"圧縮されて届く記事","image":{"@type":"ImageObject","url":"https://img.example.jp/18.jpg"},"publisher":{"@type":"Person","name":"圧縮さん"}}"#,
        ),
    );
    let url = s.reply(
        "/gz/18",
        200,
        &[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
        ],
        gzip(body.as_bytes()),
    );
    cases.push((
        "gzip",
        url,
        [
            some("圧縮されて届く記事"),
            None,
            some("https://img.example.jp/18.jpg"),
            some("圧縮さん"),
        ],
    ));

    // 19. Moved to UTF-8, still declaring Shift_JIS.
    let url = s.reply(
        "/migrated/19",
        200,
        &[("Content-Type", "text/html; charset=Shift_JIS")],
        page("<meta charset=Shift_JIS><meta property=og:title content=\"首相、来週に訪米へ\"><meta property=og:site_name content=\"移行済み新聞\">", ""),
    );
    cases.push((
        "migrated to utf-8",
        url,
        [some("首相、来週に訪米へ"), None, None, some("移行済み新聞")],
    ));

    // 20. og, twitter and JSON-LD all present: each field from the best one it has.
    let url = html_page(
        "/mixed/20",
        &format!(
            "<meta property=og:title content=\"OGの題\"><meta name=twitter:description content=\"Twitterの説明\">{}",
            ld(
                r#"{"@type":"NewsArticle","headline":"JSON-LDの題","description":"JSON-LDの説明","image":"https://img.example.jp/20.jpg","publisher":{"@type":"Organization","name":"二十新聞"}}"#
            )
        ),
        "",
    );
    cases.push((
        "mixed sources",
        url,
        [
            some("OGの題"),
            some("Twitterの説明"),
            some("https://img.example.jp/20.jpg"),
            some("二十新聞"),
        ],
    ));

    // 21. A headline longer than a card, a flag on the cut.
    let long = format!("速報{}🇯🇵続き", "あ".repeat(196));
    let url = html_page(
        "/long/21",
        &ld(&serde_json::json!({"@type": "NewsArticle", "headline": long}).to_string()),
        "",
    );
    cases.push((
        "long headline",
        url,
        [
            Some(format!("速報{}…", "あ".repeat(196))),
            None,
            None,
            Some(host.clone()),
        ],
    ));

    // 22. An HTTP redirect to a JSON-LD page.
    html_page(
        "/moved/22",
        "<title>移転先</title>",
        &ld(
            r#"{"@type":"Article","headline":"移転した記事","description":"恒久的に移転しました。"}"#,
        ),
    );
    let url = s.reply("/old/22", 301, &[("Location", "/moved/22")], "");
    cases.push((
        "http redirect",
        url,
        [
            some("移転した記事"),
            some("恒久的に移転しました。"),
            None,
            Some(host.clone()),
        ],
    ));

    // 23. A shortener that redirects by script, with a <noscript> refresh to the
    // target on another host; an app whose <noscript> refresh stays on its host.
    let elsewhere = format!("http://localhost:{}/target/11", s.port());
    let url = s.html(
        "/t/23",
        &format!(r#"<noscript><META http-equiv="refresh" content="0;URL={elsewhere}"></noscript><title>{elsewhere}</title><script>location.replace("{elsewhere}")</script>"#),
    );
    cases.push((
        "script shortener",
        url,
        [
            some("短縮先の記事"),
            some("短縮URLの先です。"),
            some("https://img.example.jp/11.jpg"),
            some("短縮先サイト"),
        ],
    ));
    let url = html_page(
        "/app/24",
        &format!(
            "<title>アプリ</title><noscript><meta http-equiv=\"refresh\" content=\"0; URL=/nojs.html\"></noscript>{}",
            ld(
                r#"{"@type":"Article","headline":"アプリの中の記事","image":"https://img.example.jp/24.jpg"}"#
            )
        ),
        "<div id=app></div>",
    );
    cases.push((
        "app with noscript refresh",
        url,
        [
            some("アプリの中の記事"),
            None,
            some("https://img.example.jp/24.jpg"),
            Some(host.clone()),
        ],
    ));

    let names = ["title", "description", "image", "site_name"];
    let mut wrong = Vec::new();
    let mut fields = 0;
    for (name, url, want) in &cases {
        let m = ok(url).meta;
        let got = [m.title, m.description, m.image, Some(m.site_name)];
        for i in 0..4 {
            fields += 1;
            if got[i] != want[i] {
                wrong.push(format!(
                    "{name}: {} = {:?}, want {:?}",
                    names[i], got[i], want[i]
                ));
            }
        }
    }
    assert!(cases.len() >= 20);
    assert!(
        wrong.is_empty(),
        "{} of {fields} fields wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
