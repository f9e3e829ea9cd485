//! The default theme as readers, crawlers and share cards see it: one `<h1>` a
//! page, structured data that parses, icons and share images, full URLs in the
//! feed, and text colours that meet WCAG AA in both colour schemes.

use std::collections::BTreeMap;

use scraper::Html;

use crate::common::{TestSite, attr, meta, select};

const BASE: &str = "https://blog.example.jp";

/// A site with every kind of page: posts (tags, categories, one dated alone in
/// its year), a standalone page, a section with its `_index.md`, an alias.
fn full_site() -> TestSite {
    let site = TestSite::new();
    site.post(
        "2024-03-01-first",
        "title: 最初の記事\ndate: 2024-03-01\ntags: [rust, 日本語]\ncategories: [技術]\naliases: [/old/first/]",
        "本文です。\n\n## 見出し\n\n`code` と [リンク](/about/)。",
    );
    site.post(
        "2023-12-24-second",
        "title: 二番目\ndate: 2023-12-24\ntags: [rust]",
        "短い本文。",
    );
    site.write(
        "content/about.md",
        "---\ntitle: このブログについて\n---\n\n説明です。\n",
    );
    site.write(
        "content/docs/_index.md",
        "---\ntitle: ドキュメント\n---\n説明書です。\n",
    );
    site.write("content/docs/guide.md", "---\ntitle: 使い方\n---\n手順。\n");
    site
}

fn html_files(site: &TestSite) -> BTreeMap<String, String> {
    site.snapshot()
        .into_iter()
        .filter(|(path, _)| path.ends_with(".html"))
        .map(|(path, bytes)| (path, String::from_utf8(bytes).unwrap()))
        .collect()
}

#[test]
fn every_page_has_one_h1_a_canonical_link_and_a_language() {
    let site = full_site();
    site.build();
    let files = html_files(&site);
    for expected in [
        "index.html",
        "2024/03/01/first/index.html",
        "about/index.html",
        "docs/index.html",
        "tags/index.html",
        "tags/rust/index.html",
        "categories/index.html",
        "archive/index.html",
        "404.html",
    ] {
        assert!(
            files.contains_key(expected),
            "{expected} missing: {:?}",
            files.keys()
        );
    }
    let mut checked = 0;
    for (path, text) in &files {
        if text.contains("http-equiv=\"refresh\"") {
            continue; // an alias: a redirect, not a page
        }
        let doc = Html::parse_document(text);
        assert_eq!(
            select(&doc, "h1").len(),
            1,
            "{path} needs exactly one h1:\n{text}"
        );
        assert_eq!(attr(&doc, "html", "lang"), "ja", "{path}");
        let canonical = select(&doc, "link[rel=canonical]");
        assert_eq!(canonical.len(), 1, "{path}");
        let href = canonical[0].value().attr("href").unwrap();
        assert!(
            href.starts_with(&format!("{BASE}/")),
            "{path}: canonical {href}"
        );
        checked += 1;
    }
    assert!(checked >= 9, "{checked}");
    // The home page's h1 is the site's name.
    let home = site.html("index.html");
    assert_eq!(crate::common::text_of(&home, "h1"), "テストブログ");
}

/// The JSON-LD objects of a page, parsed.
fn json_ld(doc: &Html) -> Vec<serde_json::Value> {
    select(doc, "script[type=\"application/ld+json\"]")
        .iter()
        .map(|s| {
            let text: String = s.text().collect();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        })
        .collect()
}

fn of_type<'a>(data: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    data.iter()
        .find(|d| d["@type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {data:?}"))
}

#[test]
fn posts_carry_blog_posting_and_breadcrumbs_that_no_title_can_break_out_of() {
    let title = "</script><script>alert(1)</script> & <!-- \"引用\"";
    let site = TestSite::with_config(&format!(
        "{}author = \"縁側 太郎\"\n",
        crate::common::SITE_TOML
    ));
    site.post(
        "2024-05-01-hostile",
        &format!(
            "title: '{title}'\ndate: 2024-05-01T10:00:00+09:00\nlastmod: 2024-06-02T08:00:00+09:00\ncategories: [技術]\ntags: [rust]"
        ),
        "![写真](/images/photo.jpg)\n\n本文。",
    );
    site.write("content/about.md", "---\ntitle: 概要\n---\n\n説明。\n");
    site.build();
    let text = site.read("2024/05/01/hostile/index.html");
    assert!(!text.contains("<script>alert(1)"), "{text}");
    let doc = Html::parse_document(&text);
    // Only the two JSON-LD scripts: the title opened no element of its own.
    assert_eq!(select(&doc, "script").len(), 2, "{text}");
    let data = json_ld(&doc);
    let url = format!("{BASE}/2024/05/01/hostile/");
    let posting = of_type(&data, "BlogPosting");
    assert_eq!(posting["@context"], "https://schema.org");
    assert_eq!(posting["headline"], title);
    assert_eq!(posting["url"], url.as_str());
    assert_eq!(posting["datePublished"], "2024-05-01T10:00:00+09:00");
    assert_eq!(posting["dateModified"], "2024-06-02T08:00:00+09:00");
    assert_eq!(posting["author"]["name"], "縁側 太郎");
    assert_eq!(posting["publisher"]["name"], "テストブログ");
    assert_eq!(
        posting["image"][0],
        format!("{BASE}/images/photo.jpg").as_str()
    );
    let crumbs = of_type(&data, "BreadcrumbList");
    let items = crumbs["itemListElement"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{crumbs}");
    assert_eq!(items[0]["item"], format!("{BASE}/").as_str());
    assert_eq!(items[1]["name"], "技術");
    assert_eq!(items[2]["name"], title);
    assert_eq!(items[2]["item"], url.as_str());
    assert_eq!(items[2]["position"], 3);

    let page = json_ld(&site.html("about/index.html"));
    assert_eq!(
        of_type(&page, "BreadcrumbList")["itemListElement"][1]["name"],
        "概要"
    );
    let home = json_ld(&site.html("index.html"));
    assert_eq!(
        of_type(&home, "WebSite")["url"],
        format!("{BASE}/").as_str()
    );
}

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn icons_and_the_share_image_are_written_and_linked() {
    let site = full_site();
    site.build();
    let out = site.snapshot();
    let ico = &out["favicon.ico"];
    assert_eq!(&ico[..4], &[0, 0, 1, 0], "favicon.ico is no icon file");
    assert_eq!(png_size(&out["apple-touch-icon.png"]), (180, 180));
    assert!(String::from_utf8_lossy(&out["icon.svg"]).contains("<svg"));
    let share = &out["og-default.png"];
    assert_eq!(png_size(share), (1200, 630));
    assert!(
        share.len() < 30_000,
        "the share image is {} bytes",
        share.len()
    );
    for page in [
        "index.html",
        "2024/03/01/first/index.html",
        "archive/index.html",
    ] {
        let doc = site.html(page);
        assert_eq!(
            attr(&doc, "link[rel=icon][type=\"image/svg+xml\"]", "href"),
            "/icon.svg"
        );
        assert_eq!(attr(&doc, "link[rel=icon][sizes]", "href"), "/favicon.ico");
        assert_eq!(
            attr(&doc, "link[rel=apple-touch-icon]", "href"),
            "/apple-touch-icon.png"
        );
    }
}

#[test]
fn og_image_is_the_first_raster_image_else_the_default_never_an_svg() {
    let site = TestSite::new();
    site.post(
        "2024-01-01-photo",
        "title: 写真\ndate: 2024-01-01",
        "前置き。\n\n![写真](/images/photo.jpg)\n\n![二枚目](/images/second.png)",
    );
    site.post(
        "2024-01-02-svg-first",
        "title: 図のあと写真\ndate: 2024-01-02\nimages: [/images/cover.svg]",
        "![図](/images/figure.svg)\n\n![写真](photo.webp)",
    );
    site.post(
        "2024-01-03-svg-only",
        "title: 図だけ\ndate: 2024-01-03",
        "![図](/images/figure.svg)",
    );
    site.post(
        "2024-01-04-none",
        "title: 画像なし\ndate: 2024-01-04",
        "文字だけ。",
    );
    site.build();

    let photo = site.html("2024/01/01/photo/index.html");
    assert_eq!(meta(&photo, "og:image"), format!("{BASE}/images/photo.jpg"));
    assert_eq!(meta(&photo, "twitter:card"), "summary_large_image");
    assert!(select(&photo, "meta[property=\"og:image:width\"]").is_empty());

    let later = site.html("2024/01/02/svg-first/index.html");
    assert_eq!(
        meta(&later, "og:image"),
        format!("{BASE}/2024/01/02/svg-first/photo.webp")
    );

    let default = format!("{BASE}/og-default.png");
    for page in [
        "2024/01/03/svg-only/index.html",
        "2024/01/04/none/index.html",
        "index.html",
        "tags/index.html",
    ] {
        let doc = site.html(page);
        assert_eq!(meta(&doc, "og:image"), default, "{page}");
        assert_eq!(meta(&doc, "og:image:width"), "1200", "{page}");
        assert_eq!(meta(&doc, "og:image:height"), "630", "{page}");
        assert_eq!(meta(&doc, "twitter:image"), default, "{page}");
        // The share image is the site's, not the page's: a small card.
        assert_eq!(meta(&doc, "twitter:card"), "summary", "{page}");
    }
    for (path, text) in html_files(&site) {
        let doc = Html::parse_document(&text);
        for tag in select(
            &doc,
            "meta[property=\"og:image\"], meta[name=\"twitter:image\"]",
        ) {
            let url = tag.value().attr("content").unwrap();
            assert!(url.starts_with("https://"), "{path}: {url}");
            assert!(!url.ends_with(".svg"), "{path}: {url}");
        }
    }
}

/// The HTML of each feed entry, unescaped from the XML.
fn feed_contents(feed: &str) -> Vec<String> {
    feed.split("<content type=\"html\">")
        .skip(1)
        .map(|rest| {
            rest.split("</content>")
                .next()
                .unwrap()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn feed_entries_have_only_full_urls() {
    let site = TestSite::new();
    site.post(
        "2024-02-03-links",
        "title: リンク集\ndate: 2024-02-03",
        "注釈つき[^1]。[上へ](#top)、[タグ](/tags/rust/)、[隣](../other/)。\n\n![図](/images/a.png)\n\n![同じ場所](b.jpg)\n\n<a href=\"mailto:me@example.jp\">メール</a>\n\n[^1]: 注釈。",
    );
    site.build();
    let feed = site.read("feed.xml");
    let contents = feed_contents(&feed);
    assert_eq!(contents.len(), 1, "{feed}");
    let post = format!("{BASE}/2024/02/03/links/");
    let doc = Html::parse_fragment(&contents[0]);
    let mut urls = Vec::new();
    for el in select(&doc, "[href], [src]") {
        for name in ["href", "src"] {
            if let Some(url) = el.value().attr(name) {
                urls.push(url.to_string());
            }
        }
    }
    assert!(urls.len() >= 6, "{urls:?}");
    for url in &urls {
        assert!(
            url.starts_with("https://") || url.starts_with("mailto:"),
            "relative URL {url} in {}",
            contents[0]
        );
    }
    for expected in [
        format!("{post}#top"),
        format!("{BASE}/tags/rust/"),
        format!("{BASE}/2024/02/03/other/"),
        format!("{BASE}/images/a.png"),
        format!("{post}b.jpg"),
    ] {
        assert!(urls.contains(&expected), "{expected} not in {urls:?}");
    }
    assert!(
        urls.iter().any(|u| u.starts_with(&format!("{post}#"))),
        "{urls:?}"
    );
    // The page itself keeps its short links.
    let page = site.read("2024/02/03/links/index.html");
    assert!(page.contains("href=\"/tags/rust/\""), "{page}");
}

// ---- Colour contrast (WCAG 2 relative luminance) ----

/// The custom properties of the first `:root { … }` block in `css`.
fn root_properties(css: &str) -> BTreeMap<String, String> {
    let start = css.find(":root").expect("no :root block");
    let open = start + css[start..].find('{').unwrap();
    let close = open + css[open..].find('}').unwrap();
    css[open + 1..close]
        .split(';')
        .filter_map(|decl| {
            let (name, value) = decl.split_once(':')?;
            let name = name.trim();
            name.starts_with("--")
                .then(|| (name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The light scheme's properties and the dark scheme's (the light ones overridden).
fn schemes(css: &str) -> [(&'static str, BTreeMap<String, String>); 2] {
    let light = root_properties(css);
    let at = css
        .find("@media (prefers-color-scheme: dark)")
        .expect("no dark scheme");
    let mut dark = light.clone();
    dark.extend(root_properties(&css[at..]));
    [("light", light), ("dark", dark)]
}

fn luminance(hex: &str) -> f64 {
    let h = hex.trim_start_matches('#');
    let h: String = if h.len() == 3 {
        h.chars().flat_map(|c| [c, c]).collect()
    } else {
        h.to_string()
    };
    assert_eq!(h.len(), 6, "colour {hex} is not #rgb or #rrggbb");
    let channel = |i: usize| {
        let c = u8::from_str_radix(&h[i..i + 2], 16).unwrap() as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[test]
fn contrast_ratio_is_computed_as_wcag_defines_it() {
    assert!((contrast("#000", "#fff") - 21.0).abs() < 1e-9);
    assert!((contrast("#777", "#fff") - 4.48).abs() < 0.01);
}

#[test]
fn every_text_colour_meets_aa_in_both_schemes() {
    let site = TestSite::new();
    site.build();
    let css = site.read("css/style.css");
    for (scheme, vars) in schemes(&css) {
        let get = |name: &str| {
            vars.get(name)
                .unwrap_or_else(|| panic!("{scheme}: {name} is not defined"))
                .as_str()
        };
        let mut text = vec!["--fg", "--muted", "--accent", "--code-fg"];
        let tokens: Vec<&str> = vars
            .keys()
            .filter(|k| k.starts_with("--hl-"))
            .map(String::as_str)
            .collect();
        assert!(tokens.len() >= 8, "{scheme}: {tokens:?}");
        text.extend(&tokens);
        // Prose colours on the page; all of them, and the code tokens, on code.
        for (fg, bgs) in [
            (
                &["--fg", "--muted", "--accent"][..],
                &["--bg", "--code-bg"][..],
            ),
            (&text[..], &["--code-bg"][..]),
            (&["--fg"][..], &["--mark-bg"][..]),
            (&["--bg"][..], &["--accent"][..]),
        ] {
            for f in fg {
                for b in bgs {
                    let ratio = contrast(get(f), get(b));
                    assert!(
                        ratio >= 4.5,
                        "{scheme}: {f} {} on {b} {} is {ratio:.2}:1",
                        get(f),
                        get(b)
                    );
                }
            }
        }
    }
}

#[test]
fn every_colour_in_a_rule_comes_from_the_checked_properties() {
    let site = TestSite::new();
    site.build();
    let css = site.read("css/style.css");
    let properties: Vec<String> = schemes(&css)[0].1.keys().cloned().collect();
    for decl in css.split([';', '{', '}']) {
        let Some((name, value)) = decl.split_once(':') else {
            continue;
        };
        if name.trim() != "color" {
            continue;
        }
        let value = value.trim();
        let ok = value == "inherit"
            || value == "currentColor"
            || value
                .strip_prefix("var(")
                .and_then(|v| v.strip_suffix(')'))
                .is_some_and(|v| properties.iter().any(|p| p == v));
        assert!(
            ok,
            "`{}` uses a colour the contrast test does not check",
            decl.trim()
        );
    }
    // Links differ from text by more than colour; code and Japanese are never slanted.
    let link_rule = css
        .split("\na {")
        .nth(1)
        .expect("no rule for a")
        .split('}')
        .next()
        .unwrap();
    assert!(
        link_rule.contains("text-decoration: underline"),
        "{link_rule}"
    );
    assert!(
        !css.contains("font-style: italic"),
        "synthetic italics for Japanese"
    );
}
