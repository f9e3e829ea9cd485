//! Hugo shortcodes: built-ins, the site's own templates, unknown and escaped calls,
//! `ref`/`relref`, and hostile bodies. Nothing of the shortcode syntax or of its
//! internal tokens may reach a page, the feed, a description or the text.

use enishi::content::shortcodes::{self, Library, Page};
use enishi::content::{FrontMatter, markdown};
use enishi::report::WarningKind;
use proptest::prelude::*;

use crate::common::*;

const POST: &str = "2024/01/02/a/index.html";

/// Fails when anything of the shortcode machinery shows in `text`.
fn assert_no_leak(what: &str, text: &str) {
    for needle in ["{{<", "{{%", ">}}", "%}}", "{{&lt;", "&gt;}}", "enishi0sc"] {
        assert!(!text.contains(needle), "{what} shows {needle:?}: {text}");
    }
}

fn post_body(site: &TestSite) -> String {
    select(&site.html(POST), ".post-body")[0].inner_html()
}

#[test]
fn builtins_embed_without_third_party_scripts() {
    let site = TestSite::with_config(&format!("{SITE_TOML}[params]\nhandle = \"@site\"\n"));
    site.post(
        "a",
        "title: 埋め込み\ndate: 2024-01-02\nmood: 上機嫌",
        r#"{{< youtube w7Ft2ymGmfc >}}

{{< youtube id="w7Ft2ymGmfc" title="猫の動画" start="30" >}}

{{< vimeo 146022717 >}}

{{< x user="SanDiegoZoo" id="1453110110599868418" >}}

{{< twitter SanDiegoZoo 1453110110599868418 >}}

{{< tweet 1453110110599868418 >}}

{{< gist spf13 7896402 >}}

{{< instagram BWNjjyYFxVx >}}

{{< figure src="cat.jpg" alt="猫" title="題" caption="*斜体*の説明" link="https://example.jp/" >}}

今日は {{< param mood >}}、中の人は {{% param handle %}}。
"#,
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let page = site.html(POST);
    let frames: Vec<String> = select(&page, ".post-body iframe")
        .iter()
        .map(|f| f.value().attr("src").unwrap().to_string())
        .collect();
    assert_eq!(
        frames,
        [
            "https://www.youtube-nocookie.com/embed/w7Ft2ymGmfc",
            "https://www.youtube-nocookie.com/embed/w7Ft2ymGmfc?start=30",
            "https://player.vimeo.com/video/146022717?dnt=1",
        ]
    );
    for frame in select(&page, ".post-body iframe") {
        assert_eq!(frame.value().attr("loading"), Some("lazy"));
        assert!(frame.value().attr("allowfullscreen").is_some());
        assert!(frame.value().attr("title").is_some());
    }
    assert_eq!(
        attr(&page, ".embed-youtube:nth-of-type(2) iframe", "title"),
        "猫の動画"
    );
    let links: Vec<String> = select(&page, ".post-body blockquote a, .post-body .embed-gist a")
        .iter()
        .map(|a| a.value().attr("href").unwrap().to_string())
        .collect();
    assert_eq!(
        links,
        [
            "https://x.com/SanDiegoZoo/status/1453110110599868418",
            "https://x.com/SanDiegoZoo/status/1453110110599868418",
            "https://x.com/i/status/1453110110599868418",
            "https://gist.github.com/spf13/7896402",
            "https://www.instagram.com/p/BWNjjyYFxVx/",
        ]
    );
    // The figure is Hugo's markup; shortcode output is never inside a `<p>`.
    assert_eq!(attr(&page, "figure > a > img", "src"), "cat.jpg");
    assert_eq!(attr(&page, "figure > a", "href"), "https://example.jp/");
    assert_eq!(text_of(&page, "figure figcaption h4"), "題");
    assert_eq!(text_of(&page, "figure figcaption p em"), "斜体");
    // (The raw file: an HTML parser would close the `<p>` itself.)
    let body = site.read(POST);
    for nested in ["<p><figure", "<p><div", "<p><blockquote"] {
        assert!(!body.contains(nested), "{nested}: {body}");
    }
    assert_eq!(
        text_of(&page, ".post-body > p:last-of-type"),
        "今日は 上機嫌、中の人は @site。"
    );
    // The only scripts are the page's own JSON-LD data, which runs nothing.
    assert_eq!(
        body.matches("<script").count(),
        body.matches("<script type=\"application/ld+json\">")
            .count(),
        "a third-party script: {body}"
    );
    for script in ["widgets.js", "gist.github.com/spf13/7896402.js", "embed.js"] {
        assert!(!body.contains(script), "{script}: {body}");
    }
    assert_no_leak("the page", &site.read(POST));
}

#[test]
fn highlight_shows_html_as_code() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: コード\ndate: 2024-01-02",
        "{{< highlight html \"linenos=table,hl_lines=2\" >}}\n<html><head><script>alert(1)</script></head></html>\n{{< /highlight >}}\n\n本文。\n",
    );
    site.build();
    let page = site.html(POST);
    assert!(select(&page, ".post-body script, .post-body head").is_empty());
    let code = select(&page, ".post-body pre code.language-html");
    assert_eq!(code.len(), 1);
    let shown: String = code[0].text().collect();
    assert_eq!(
        shown,
        "<html><head><script>alert(1)</script></head></html>\n"
    );
    assert!(
        code[0].inner_html().contains("hl-"),
        "highlighted: {}",
        code[0].inner_html()
    );
    // Code is not text: the description is the paragraph.
    assert_eq!(meta(&page, "description"), "本文。");
}

#[test]
fn user_shortcodes_come_from_the_site_then_the_theme() {
    let site = TestSite::with_config(&format!(
        "{SITE_TOML}theme = \"mine\"\n[params]\nshop = \"縁屋\"\n"
    ));
    // A theme on disk needs its templates; take the default theme's.
    for (name, text) in enishi::theme::BUILTIN_TEMPLATES {
        site.write(&format!("themes/mine/templates/{name}"), text);
    }
    site.write(
        "themes/mine/templates/shortcodes/note.html",
        "<aside class=\"theme-note\">{{ inner }}</aside>",
    );
    site.write(
        "themes/mine/templates/shortcodes/shop.html",
        "<span class=\"shop\">{{ site.params.shop }} / {{ page.title }} / {{ page.params.color }}</span>",
    );
    site.write(
        "templates/shortcodes/note.html",
        "<aside class=\"note {{ get('kind') or 'info' }}\">{{ inner }}</aside>",
    );
    site.write(
        "templates/shortcodes/md.html",
        "**{{ args[0] }}** と {{ args|length }} 個",
    );
    site.write(
        "templates/shortcodes/youtube.html",
        "<p class=\"my-video\">{{ get(0) }}</p>",
    );
    site.post(
        "a",
        "title: 自作\ndate: 2024-01-02\ncolor: 藍",
        "{{< note kind=\"warn\" >}}<b>注意</b>{{< /note >}}\n\n{{< shop />}}\n\n{{% md 太字 二 %}}\n\n{{< youtube abc >}}\n",
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let page = site.html(POST);
    assert_eq!(text_of(&page, "aside.note.warn b"), "注意");
    assert!(select(&page, ".theme-note").is_empty());
    assert_eq!(text_of(&page, ".shop"), "縁屋 / 自作 / 藍");
    assert_eq!(text_of(&page, ".post-body p strong"), "太字");
    assert_eq!(text_of(&page, ".my-video"), "abc");
    assert!(select(&page, "iframe").is_empty());
    assert_no_leak("the page", &site.read(POST));
}

#[test]
fn a_template_error_names_the_post_and_the_template_line() {
    let site = TestSite::new();
    site.write(
        "templates/shortcodes/bad.html",
        "<p>\n{{ args.title.upper( }}\n</p>",
    );
    site.post(
        "a",
        "title: 壊れた\ndate: 2024-01-02",
        "本文\n\n{{< bad >}}\n",
    );
    let err = format!("{:#}", site.try_build().unwrap_err());
    assert!(
        err.starts_with("templates/shortcodes/bad.html:2: template error: syntax error"),
        "{err}"
    );
    site.write(
        "templates/shortcodes/bad.html",
        "<p>\n{{ args.title.nope }}\n</p>",
    );
    let err = format!("{:#}", site.try_build().unwrap_err());
    assert!(
        err.starts_with(
            "content/posts/a.md:8: shortcode \"bad\": templates/shortcodes/bad.html:2: template error"
        ),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn an_unknown_shortcode_warns_and_leaves_no_trace() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 未知\ndate: 2024-01-02",
        "{{< nosuch id=\"x\" >}}冒頭の段落です。\n\n{{% box %}}箱の**中身**{{% /box %}}\n\n{{< nosuch >}}\n",
    );
    let report = site.build();
    let shown: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        shown,
        [
            "content/posts/a.md:6: unknown shortcode \"nosuch\" (used 2 times) left out (add templates/shortcodes/nosuch.html to define it)",
            "content/posts/a.md:8: unknown shortcode \"box\" left out, its inner content kept (add templates/shortcodes/box.html to define it)",
        ]
    );
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.kind == WarningKind::Content)
    );
    let page = site.html(POST);
    assert_eq!(text_of(&page, ".post-body strong"), "中身");
    assert_eq!(meta(&page, "description"), "冒頭の段落です。 箱の中身");
    for (what, text) in [
        ("the page", site.read(POST)),
        ("the feed", site.read("feed.xml")),
        ("the index", site.read("index.html")),
    ] {
        assert_no_leak(what, &text);
        assert!(!text.contains("nosuch"), "{what}: {text}");
    }

    // --strict fails on them, and an up-to-date build repeats them.
    let out = site.run(&["build", "--strict"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--strict: 2 warning(s) (2 content)"),
        "{stderr}"
    );
    let again = site.build();
    assert!(again.up_to_date);
    assert_eq!(again.warnings.len(), 2);
}

#[test]
fn escaped_shortcodes_print_their_syntax() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 書き方\ndate: 2024-01-02",
        "埋め込みは {{</* youtube w7Ft2ymGmfc */>}} と書きます。\n\n```markdown\n{{</* figure src=\"a.jpg\" */>}}\n{{%/* note */%}}中身{{%/* /note */%}}\n```\n",
    );
    let report = site.build();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let page = site.html(POST);
    assert!(select(&page, "iframe, figure").is_empty());
    assert_eq!(
        text_of(&page, ".post-body p"),
        "埋め込みは {{< youtube w7Ft2ymGmfc >}} と書きます。"
    );
    let code: String = select(&page, ".post-body pre code")[0].text().collect();
    assert_eq!(
        code,
        "{{< figure src=\"a.jpg\" >}}\n{{% note %}}中身{{% /note %}}\n"
    );
}

#[test]
fn ref_and_relref_link_to_pages() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 参照元\ndate: 2024-01-02",
        "[次]({{< relref \"b\" >}})、[節]({{< ref \"posts/b.md#節\" >}})、[紹介]({{< relref \"/about.md\" >}})、[束]({{< relref \"c\" >}})、[ここ]({{< relref \"#top\" >}})。\n",
    );
    site.post("b", "title: 参照先\ndate: 2024-01-03", "# 節\n");
    site.write("content/about.md", "---\ntitle: 紹介\n---\n紹介文\n");
    site.write(
        "content/posts/c/index.md",
        "---\ntitle: 束\ndate: 2024-01-04\n---\n束\n",
    );
    site.build();
    let page = site.html(POST);
    let hrefs: Vec<String> = select(&page, ".post-body a")
        .iter()
        .map(|a| a.value().attr("href").unwrap().to_string())
        .collect();
    assert_eq!(
        hrefs,
        [
            "/2024/01/03/b/",
            "https://blog.example.jp/2024/01/03/b/#節",
            "/about/",
            "/2024/01/04/c/",
            "/2024/01/02/a/#top",
        ]
    );
    assert_eq!(meta(&page, "description"), "次、節、紹介、束、ここ。");
    assert_no_leak("the page", &site.read(POST));
    assert_no_leak("the feed", &site.read("feed.xml"));
}

#[test]
fn a_ref_to_a_missing_or_unpublished_page_is_an_error() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 参照元\ndate: 2024-01-02",
        "一行目\n\n[x]({{< relref \"posts/nope.md\" >}})\n",
    );
    let err = format!("{:#}", site.try_build().unwrap_err());
    assert_eq!(
        err,
        "content/posts/a.md:8: ref \"posts/nope.md\" names no page (give the path under content/, e.g. \"posts/name.md\")"
    );
    site.post("nope", "title: 下書き\ndate: 2024-01-03\ndraft: true", "x");
    let err = format!("{:#}", site.try_build().unwrap_err());
    assert!(err.contains("names a draft or future post"), "{err}");
    let mut opts = site.opts();
    opts.drafts = true;
    enishi::pipeline::build(&opts, &enishi::report::Reporter::quiet()).unwrap();
}

#[test]
fn malformed_syntax_is_a_one_line_error() {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 閉じ忘れ\ndate: 2024-01-02",
        "一行目\n\n{{< youtube w7Ft2ymGmfc\n\n続き\n",
    );
    let out = site.run(&["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("content/posts/a.md:8: shortcode \"youtube\" is never closed by `>}}`"),
        "{stderr}"
    );
}

#[test]
fn a_changed_shortcode_template_rebuilds() {
    let site = TestSite::new();
    site.write("templates/shortcodes/hi.html", "<b>one</b>");
    site.post("a", "title: 再構築\ndate: 2024-01-02", "{{< hi >}}\n");
    site.build();
    assert!(site.build().up_to_date);
    site.write("templates/shortcodes/hi.html", "<b>two</b>");
    let report = site.build();
    assert!(!report.up_to_date);
    assert!(post_body(&site).contains("<b>two</b>"));

    // `serve` keeps parsed documents: a changed template parses them again.
    let loaded = enishi::config::Site::load(site.root(), None).unwrap();
    let mut memo = enishi::content::Memo::default();
    let body = |memo: &mut enishi::content::Memo| {
        let docs = enishi::content::load_with(&loaded, memo).unwrap();
        format!("{:?}", docs[0].body.segments)
    };
    assert!(body(&mut memo).contains("two"));
    site.write("templates/shortcodes/hi.html", "<b>three</b>");
    assert!(body(&mut memo).contains("three"));
}

/// Expands and renders `body` as a post would be, with no templates.
fn render(body: &str) -> anyhow::Result<markdown::Rendered> {
    let front = FrontMatter {
        title: "t".into(),
        ..Default::default()
    };
    let page = Page {
        source: "content/posts/p.md",
        body_line: 4,
        front: &front,
        date: None,
    };
    let expansion = shortcodes::expand(body, body, &page, &Library::default())?;
    Ok(markdown::render_expanded(&expansion.expanded, 4))
}

fn all_output(r: &markdown::Rendered) -> String {
    let mut all = format!("{}{}{:?}", r.text, r.prose, r.summary_text);
    for seg in &r.segments {
        if let markdown::Segment::Html(h) = seg {
            all.push_str(h);
        }
    }
    for h in &r.headings {
        all.push_str(&h.id);
        all.push_str(&h.text);
    }
    all
}

#[test]
fn hostile_bodies_never_panic_nor_leak() {
    const MB: usize = 1 << 20;
    let fill = |unit: &str| unit.repeat(MB / unit.len());
    let cases = [
        ("calls", fill("{{< youtube w7Ft2ymGmfc >}} ")),
        ("unknown pairs", fill("{{% box %}}x{{% /box %}}\n")),
        (
            "unclosed opens",
            format!("{{{{< a >}}}}{}{{{{< /a >}}}}", fill("{{< b >}}")),
        ),
        ("escapes", fill("{{</* x */>}}`{{%/* y */%}}`\n")),
        (
            "arguments",
            format!("{{{{< gist {} >}}}}", fill("a=\"b\" ")),
        ),
        ("braces", fill("{{ {{{ }} <% %> ")),
        ("refs in code", fill("```\n{{< relref \"a\" >}}\n```\n")),
        ("tokens in text", fill("enishi0scs0z enishi1sc ")),
        ("unbalanced", format!("{}{{{{<", fill("text "))),
        ("deep", format!("{}x", fill("{{< a >}}"))),
    ];
    // No timing here (speed lives in benchmarks): quadratic work on these 1 MB
    // bodies would keep this test from finishing at all.
    for (name, body) in cases {
        match render(&body) {
            Ok(r) => {
                let out = all_output(&r);
                assert!(!out.contains("enishi2sc"), "{name}");
            }
            Err(e) => {
                let e = e.to_string();
                assert!(e.starts_with("content/posts/p.md:"), "{name}: {e}");
                assert!(!e.contains('\n'), "{name}: {e}");
            }
        }
    }
}

/// Text made of shortcode syntax, Markdown and any character.
fn shortcode_markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{<".to_string()),
        Just("{{%".to_string()),
        Just(">}}".to_string()),
        Just("%}}".to_string()),
        Just("/>}}".to_string()),
        Just("{{< /".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just(" youtube w7Ft2ymGmfc ".to_string()),
        Just(" highlight html ".to_string()),
        Just(" figure src=\"a.jpg\" caption=\"*c*\" ".to_string()),
        Just(" relref \"a\" ".to_string()),
        Just(" param title ".to_string()),
        Just(" x=`y` ".to_string()),
        Just("\"".to_string()),
        Just("\n\n".to_string()),
        Just("```\n".to_string()),
        Just("# ".to_string()),
        Just("[a](".to_string()),
        "[\\PC\n\t\u{0}]{0,8}".prop_map(|s| s),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn shortcodes_never_panic_nor_leak_tokens(body in shortcode_markup()) {
        match render(&body) {
            Ok(r) => {
                let out = all_output(&r);
                // Output tokens are all substituted; ref tokens wait for the renderer
                // but are never text.
                prop_assert!(!out.contains("enishi0scs"), "{out}");
                prop_assert!(!r.text.contains("enishi0sc"), "{}", r.text);
                prop_assert!(!r.prose.contains("enishi0sc"), "{}", r.prose);
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.starts_with("content/posts/p.md:"), "{e}");
                prop_assert!(!e.contains('\n'), "{e}");
            }
        }
    }
}
