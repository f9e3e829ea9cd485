//! A fetched page read once into the facts a card is made from: meta tags, links,
//! the base URL, the document's title, the first `<h1>`, the JSON-LD, a meta
//! refresh and an oEmbed discovery link.
//!
//! The page goes through a full HTML5 parser (html5ever, through scraper), whatever
//! was read of it up to the byte cap: broken markup, unquoted attributes and meta
//! tags in `<body>` are read the way a browser reads them, a `</head>` inside a
//! script or a comment is script or comment, entities are decoded exactly once, and
//! a `<title>` inside an inline `<svg>` is SVG's, not the document's.

use std::collections::HashMap;

use scraper::{ElementRef, Html};
use url::Url;

use super::jsonld::{self, JsonLd};
use crate::util::collapse_whitespace;

const URL_BYTES: usize = 2048;
const HTML_NS: &str = "http://www.w3.org/1999/xhtml";
/// Meta tags and links kept at most (a hostile page can have millions).
const MAX_TAGS: usize = 4096;

/// The metadata keys that make a page a card of its own (not a redirect page).
const CARD_TAGS: &[&str] = &[
    "og:title",
    "og:description",
    "og:image",
    "og:image:url",
    "og:image:secure_url",
    "twitter:title",
    "twitter:description",
    "twitter:image",
    "twitter:image:src",
];

pub struct Page {
    /// Where the request ended.
    pub final_url: Url,
    /// What relative URLs resolve against: `<base href>` when it is http(s).
    base: Url,
    /// `property=`, `name=` and `itemprop=` keys, lower-cased: the first non-empty
    /// content of each.
    meta: HashMap<String, String>,
    links: Vec<Link>,
    title: Option<String>,
    h1: Option<String>,
    /// The first `<meta http-equiv="refresh">`'s content, and whether it sits in
    /// `<noscript>` (one outside wins).
    refresh: Option<(String, bool)>,
    pub json_ld: JsonLd,
}

struct Link {
    rel: Vec<String>,
    href: String,
    /// The `type` attribute, lower-cased.
    kind: String,
}

impl Page {
    pub fn read(html: &str, final_url: &Url) -> Page {
        let doc = Html::parse_document(html);
        let mut meta: HashMap<String, String> = HashMap::new();
        let mut links = Vec::new();
        let mut base_href = None;
        let mut title = None;
        let mut h1 = None;
        let mut refresh = None;
        let mut scripts: Vec<String> = Vec::new();
        let mut noscripts: Vec<String> = Vec::new();
        let text = |el: ElementRef| collapse_whitespace(&el.text().collect::<String>());
        for el in doc
            .root_element()
            .descendants()
            .filter_map(ElementRef::wrap)
        {
            let v = el.value();
            let html_ns = v.name.ns.as_ref() == HTML_NS;
            match v.name() {
                "meta" if meta.len() < MAX_TAGS => {
                    let Some(content) = v.attr("content").map(str::trim).filter(|c| !c.is_empty())
                    else {
                        continue;
                    };
                    for key in [v.attr("property"), v.attr("name"), v.attr("itemprop")]
                        .into_iter()
                        .flatten()
                    {
                        meta.entry(key.trim().to_ascii_lowercase())
                            .or_insert_with(|| content.to_string());
                    }
                    if refresh.is_none() && is_refresh(el) {
                        refresh = Some((content.to_string(), false));
                    }
                }
                "link" if links.len() < MAX_TAGS => {
                    let (Some(rel), Some(href)) = (v.attr("rel"), v.attr("href")) else {
                        continue;
                    };
                    links.push(Link {
                        rel: rel
                            .split_ascii_whitespace()
                            .map(str::to_ascii_lowercase)
                            .collect(),
                        href: href.trim().to_string(),
                        kind: v
                            .attr("type")
                            .unwrap_or_default()
                            .trim()
                            .to_ascii_lowercase(),
                    });
                }
                "base" if base_href.is_none() => base_href = v.attr("href").map(str::to_string),
                "title" if html_ns && title.is_none() => {
                    title = Some(text(el)).filter(|t| !t.is_empty());
                }
                "h1" if html_ns && h1.is_none() => h1 = Some(text(el)).filter(|t| !t.is_empty()),
                "script" if is_json_ld(v.attr("type")) => {
                    scripts.push(el.text().collect());
                }
                // Parsed as a browser that runs scripts parses it: raw text.
                "noscript" if noscripts.len() < 8 => {
                    let raw: String = el.text().collect();
                    if raw.len() <= 16 * 1024 {
                        noscripts.push(raw);
                    }
                }
                _ => {}
            }
        }
        if refresh.is_none() {
            refresh = noscripts.iter().find_map(|raw| noscript_refresh(raw));
        }
        let base = base_href
            .and_then(|href| final_url.join(href.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or_else(|| final_url.clone());
        let mut page = Page {
            final_url: final_url.clone(),
            base,
            meta,
            links,
            title,
            h1,
            refresh,
            json_ld: JsonLd::default(),
        };
        let mut this_page = vec![final_url.clone()];
        let named = page
            .meta("og:url")
            .into_iter()
            .chain(page.links_with_rel(&["canonical"]));
        this_page.extend(named.filter_map(|u| page.base.join(u).ok()));
        page.json_ld = jsonld::read(scripts.iter().map(String::as_str), &this_page);
        page
    }

    /// The first non-empty content of a meta key (lower-case).
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(String::as_str)
    }

    /// The hrefs of links with one of these rels, in document order.
    pub fn links_with_rel(&self, wanted: &[&str]) -> Vec<&str> {
        self.links
            .iter()
            .filter(|l| !l.href.is_empty() && l.rel.iter().any(|r| wanted.contains(&r.as_str())))
            .map(|l| l.href.as_str())
            .collect()
    }

    /// The document's own title (not an SVG's), whitespace collapsed.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    pub fn h1(&self) -> Option<&str> {
        self.h1.as_deref()
    }

    /// `s` as an absolute http(s) URL against the page's base, or nothing.
    pub fn resolve(&self, s: &str) -> Option<String> {
        let u = self.base.join(s.trim()).ok()?;
        (matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some()
            && u.as_str().len() <= URL_BYTES)
            .then(|| u.to_string())
    }

    /// Whether the page has Open Graph or Twitter metadata of its own.
    pub fn has_card_tags(&self) -> bool {
        CARD_TAGS.iter().any(|k| self.meta.contains_key(*k))
    }

    /// Where a zero-delay meta refresh sends the reader, when it sends them
    /// elsewhere. Whether to go is the caller's decision.
    ///
    /// A refresh in `<noscript>` is what browsers without scripts get: a
    /// shortener's fallback when it leads to another site (t.co works so), an
    /// "enable JavaScript" page when it stays on this one, which is not followed.
    pub fn refresh_target(&self) -> Option<Url> {
        let (content, hidden) = self.refresh.as_ref()?;
        let (delay, target) = parse_refresh(content)?;
        if delay != 0 {
            return None;
        }
        let target = Url::parse(&self.resolve(target?)?).ok()?;
        if *hidden && target.host_str() == self.final_url.host_str() {
            return None;
        }
        let same = |a: &Url, b: &Url| a.as_str().split('#').next() == b.as_str().split('#').next();
        (!same(&target, &self.final_url)).then_some(target)
    }

    /// The page's JSON oEmbed discovery link, resolved.
    pub fn oembed_url(&self) -> Option<Url> {
        self.links
            .iter()
            .filter(|l| l.kind == "application/json+oembed" && !l.href.is_empty())
            .find_map(|l| Url::parse(&self.resolve(&l.href)?).ok())
    }
}

fn is_json_ld(kind: Option<&str>) -> bool {
    kind.and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
}

fn is_refresh(el: ElementRef) -> bool {
    el.value()
        .attr("http-equiv")
        .is_some_and(|h| h.trim().eq_ignore_ascii_case("refresh"))
}

/// The refresh in a `<noscript>`'s markup, which only browsers without scripts
/// read (marked as such).
fn noscript_refresh(raw: &str) -> Option<(String, bool)> {
    if !raw.to_ascii_lowercase().contains("refresh") {
        return None;
    }
    let fragment = Html::parse_fragment(raw);
    let content = fragment
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|el| el.value().name() == "meta" && is_refresh(*el))
        .find_map(|el| el.value().attr("content"))?;
    Some((content.trim().to_string(), true))
}

/// A refresh's delay in seconds and its URL, read as browsers read it (the HTML
/// standard's "shared declarative refresh steps"): `0;url=…`, `0; URL='…'`, `0.5,
/// …` (the fraction is ignored), `5` (no URL: the page itself).
pub fn parse_refresh(content: &str) -> Option<(u64, Option<&str>)> {
    let s = content.trim_start();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 && !s.starts_with('.') {
        return None;
    }
    let delay = s[..digits].parse::<u64>().unwrap_or(u64::MAX);
    let s = s[digits..].trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if s.is_empty() {
        return Some((delay, None));
    }
    if !s.starts_with([';', ',']) && !s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let s = s.trim_start();
    let s = s.strip_prefix([';', ',']).unwrap_or(s).trim_start();
    if s.is_empty() {
        return Some((delay, None));
    }
    let mut url = s;
    if s.as_bytes()
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"url"))
    {
        let rest = s[3..].trim_start();
        if let Some(rest) = rest.strip_prefix('=') {
            let rest = rest.trim_start();
            url = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &rest[1..];
                    inner.split(q).next().unwrap_or(inner)
                }
                _ => rest,
            };
        }
    }
    let url = url.trim();
    Some((delay, (!url.is_empty()).then_some(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_contents() {
        for (content, want) in [
            (
                "0;url=https://a.example/x",
                Some((0, Some("https://a.example/x"))),
            ),
            ("0; URL='/next?a=1'", Some((0, Some("/next?a=1")))),
            ("0;URL=\"/q\" ", Some((0, Some("/q")))),
            ("0.0; url=/z", Some((0, Some("/z")))),
            (" 0 , /plain", Some((0, Some("/plain")))),
            ("0;url = /spaced", Some((0, Some("/spaced")))),
            ("3;url=/later", Some((3, Some("/later")))),
            ("5", Some((5, None))),
            ("0;", Some((0, None))),
            ("soon", None),
            ("0x;url=/bad", None),
            ("0;éé", Some((0, Some("éé")))),
            ("0;ur", Some((0, Some("ur")))),
            ("", None),
        ] {
            assert_eq!(parse_refresh(content), want, "{content}");
        }
    }

    fn read(html: &str) -> Page {
        Page::read(html, &Url::parse("https://s.example.jp/a/b").unwrap())
    }

    #[test]
    fn a_head_end_inside_a_script_or_comment_does_not_end_the_head() {
        let page = read(
            r#"<html><head><script>document.write("</head><body>");</script>
            <!-- </head> --><meta property="og:title" content="広告の後"></head><body></body></html>"#,
        );
        assert_eq!(page.meta("og:title"), Some("広告の後"));
    }

    #[test]
    fn svg_titles_are_not_the_document_title() {
        let page = read(
            r#"<html><head><meta charset=utf-8></head><body><svg><title>アイコン</title></svg>
            <title>本当の題</title><h1>見出し</h1></body></html>"#,
        );
        assert_eq!(page.title(), Some("本当の題"));
        let page = read(r#"<body><svg viewBox="0 0 1 1"><title>矢印</title></svg><h1>見出し</h1>"#);
        assert_eq!(page.title(), None);
        assert_eq!(page.h1(), Some("見出し"));
    }

    #[test]
    fn refresh_targets() {
        let target = |html: &str| read(html).refresh_target().map(|u| u.to_string());
        assert_eq!(
            target(r#"<meta http-equiv="Refresh" content="0; URL='../c'">"#).as_deref(),
            Some("https://s.example.jp/c")
        );
        assert_eq!(
            target(r#"<meta http-equiv="refresh" content="2;url=/c">"#),
            None
        );
        assert_eq!(target(r#"<meta http-equiv="refresh" content="0">"#), None);
        assert_eq!(
            target(r#"<meta http-equiv="refresh" content="0;url=b#top">"#),
            None
        );
        assert_eq!(
            target(r#"<meta http-equiv="refresh" content="0;url=javascript:alert(1)">"#),
            None
        );
        assert_eq!(
            target(r#"<noscript><meta http-equiv="refresh" content="0;url=/nojs"></noscript>"#),
            None
        );
        // A shortener's no-script fallback to another site; one outside wins.
        assert_eq!(
            target(r#"<noscript><META http-equiv="refresh" content="0;URL=https://dest.example/a"></noscript>"#)
                .as_deref(),
            Some("https://dest.example/a")
        );
        assert_eq!(
            target(
                r#"<noscript><meta http-equiv="refresh" content="0;url=https://x.example/"></noscript>
                <meta http-equiv="refresh" content="0;url=/real">"#
            )
            .as_deref(),
            Some("https://s.example.jp/real")
        );
    }

    #[test]
    fn oembed_discovery() {
        let page = read(
            r#"<link rel="alternate" type="text/xml+oembed" href="/o.xml">
            <link rel="alternate" type="Application/JSON+oEmbed" href="/oembed?url=x&amp;format=json">"#,
        );
        assert_eq!(
            page.oembed_url().map(|u| u.to_string()).as_deref(),
            Some("https://s.example.jp/oembed?url=x&format=json")
        );
        assert_eq!(read("<title>x</title>").oembed_url(), None);
    }
}
