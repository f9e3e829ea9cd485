//! What a page's JSON-LD (`<script type="application/ld+json">`) says about it, for
//! the link card: news sites and single-page apps often publish their metadata only
//! there.
//!
//! Every block of the page is read; a block that is not JSON, even after the usual
//! repairs (an HTML comment or CDATA wrapper, trailing commas, raw line breaks in
//! strings), is skipped. Top-level values, arrays, `@graph` members and the
//! `mainEntity` of those are the page's *nodes*; every object with an `@id` can be
//! referred to (`{"@id": "…"}`). A reference leads straight to its definition, and
//! every walk through values has a depth bound, so a cycle of references ends.
//!
//! Which node describes the page, in this order:
//! 1. an Article-like node (Article, NewsArticle, BlogPosting and their kin),
//! 2. another main-content node (VideoObject, Recipe, Product, Event…),
//! 3. a WebPage-like node, only for the fields 1 and 2 did not give.
//!
//! When several nodes of a tier exist, the one whose `url`, `@id` or
//! `mainEntityOfPage` is the page's own URL wins, else the first. WebSite,
//! Organization, BreadcrumbList and the like never give a title; a WebSite's name
//! is the site name when no publisher is named. Strings are taken as written
//! (script text has no HTML entities to decode), whitespace collapsed.

use std::collections::HashMap;

use serde_json::{Map, Value};
use url::Url;

use crate::util::collapse_whitespace;

/// Blocks read at most, and bytes of one block: a page is already capped, this
/// bounds the work on one made of nothing else.
const MAX_BLOCKS: usize = 32;
const MAX_BLOCK_BYTES: usize = 512 * 1024;
/// Objects visited in one page, and how deep nesting is followed.
const MAX_NODES: usize = 4096;
const MAX_DEPTH: usize = 16;

/// The fields a card can take from JSON-LD, as written (URLs not yet resolved).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct JsonLd {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Candidates in order of preference.
    pub images: Vec<String>,
    pub site_name: Option<String>,
    /// As written; the caller reads the date.
    pub published: Option<String>,
}

const ARTICLE_TYPES: &[&str] = &[
    "article",
    "newsarticle",
    "blogposting",
    "socialmediaposting",
    "discussionforumposting",
    "liveblogposting",
    "report",
    "scholarlyarticle",
    "medicalscholarlyarticle",
    "techarticle",
    "apireference",
    "analysisnewsarticle",
    "askpublicnewsarticle",
    "backgroundnewsarticle",
    "opinionnewsarticle",
    "reportagenewsarticle",
    "reviewnewsarticle",
    "satiricalarticle",
    "advertisercontentarticle",
];

const CONTENT_TYPES: &[&str] = &[
    "videoobject",
    "recipe",
    "product",
    "event",
    "book",
    "movie",
    "tvepisode",
    "podcastepisode",
    "course",
    "howto",
    "musicrecording",
];

const PAGE_TYPES: &[&str] = &[
    "webpage",
    "itempage",
    "collectionpage",
    "aboutpage",
    "profilepage",
    "contactpage",
    "faqpage",
    "qapage",
    "searchresultspage",
    "medicalwebpage",
];

/// Reads the page's JSON-LD blocks. `page_urls` are the URLs that mean "this page"
/// (where the request ended, `og:url`, the canonical link).
pub fn read<'a>(blocks: impl IntoIterator<Item = &'a str>, page_urls: &[Url]) -> JsonLd {
    let values: Vec<Value> = blocks
        .into_iter()
        .take(MAX_BLOCKS)
        .filter(|b| b.len() <= MAX_BLOCK_BYTES)
        .flat_map(parse_block)
        .collect();
    if values.is_empty() {
        return JsonLd::default();
    }
    let graph = Graph::new(&values);
    let tier = |types: &[&str]| graph.pick(types, page_urls);
    let main = tier(ARTICLE_TYPES).or_else(|| tier(CONTENT_TYPES));
    let page = tier(PAGE_TYPES);
    let ordered: Vec<&Map<String, Value>> = main.into_iter().chain(page).collect();

    let first_text = |keys: &[&str]| {
        ordered
            .iter()
            .find_map(|node| keys.iter().find_map(|k| graph.text(node.get(*k)?)))
    };
    let mut images = Vec::new();
    for node in &ordered {
        for key in ["image", "primaryImageOfPage", "thumbnailUrl", "thumbnail"] {
            if let Some(v) = node.get(key) {
                graph.image_urls(v, 0, &mut images);
            }
        }
    }
    let publisher = main
        .and_then(|m| m.get("publisher"))
        .and_then(|p| graph.named(p));
    let website = graph
        .nodes
        .iter()
        .filter(|n| has_type(n, &["website"]))
        .find_map(|n| graph.text(n.get("name")?));
    JsonLd {
        title: first_text(&["headline", "name"]),
        description: first_text(&["description"]),
        images,
        site_name: publisher.or(website),
        published: main.and_then(|m| {
            ["datePublished", "uploadDate", "dateCreated"]
                .iter()
                .find_map(|k| graph.text(m.get(*k)?))
        }),
    }
}

/// One block as JSON values: as written, else repaired; several values one after
/// the other count as several blocks.
fn parse_block(raw: &str) -> Vec<Value> {
    let text = unwrap(raw);
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return vec![v];
    }
    let repaired = repair(text);
    if let Ok(v) = serde_json::from_str::<Value>(&repaired) {
        return vec![v];
    }
    let mut out = Vec::new();
    let mut rest = repaired.as_str();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
        if rest.is_empty() {
            break;
        }
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                out.push(v);
                rest = &rest[stream.byte_offset()..];
            }
            _ => break,
        }
    }
    out
}

/// The JSON inside the wrappers pages put around it for old browsers.
fn unwrap(raw: &str) -> &str {
    let mut t = raw.trim();
    for (open, close) in [
        ("<!--", "-->"),
        ("//<![CDATA[", "//]]>"),
        ("<![CDATA[", "]]>"),
    ] {
        if let Some(inner) = t.strip_prefix(open) {
            t = inner.strip_suffix(close).unwrap_or(inner).trim();
        }
    }
    t
}

/// Fixes what hand-made and templated JSON-LD gets wrong most: commas before `}`
/// or `]`, and raw control characters (line breaks, tabs) inside strings.
fn repair(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    out.push(c);
                }
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push(' '),
                c => out.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ',' => {
                let next = text[at + 1..].trim_start().chars().next();
                if !matches!(next, Some('}' | ']')) {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out
}

type Node = Map<String, Value>;

/// The page's nodes and every object by `@id`.
struct Graph<'v> {
    /// In document order.
    nodes: Vec<&'v Node>,
    by_id: HashMap<&'v str, &'v Node>,
}

impl<'v> Graph<'v> {
    fn new(values: &'v [Value]) -> Graph<'v> {
        let mut graph = Graph {
            nodes: Vec::new(),
            by_id: HashMap::new(),
        };
        let mut budget = MAX_NODES;
        for v in values {
            graph.index(v, 0, &mut budget);
        }
        for v in values {
            graph.collect_nodes(v, 0);
        }
        // The main entity of a page node is a node too (`WebPage.mainEntity`).
        let mut i = 0;
        while i < graph.nodes.len() && graph.nodes.len() < MAX_NODES {
            if let Some(main) = graph.nodes[i].get("mainEntity") {
                for target in graph.objects(main) {
                    if !graph.nodes.iter().any(|n| std::ptr::eq(*n, target)) {
                        graph.nodes.push(target);
                    }
                }
            }
            i += 1;
        }
        graph
    }

    /// Every object with an `@id` that says more than its id; the first wins.
    fn index(&mut self, v: &'v Value, depth: usize, budget: &mut usize) {
        if depth > MAX_DEPTH || *budget == 0 {
            return;
        }
        match v {
            Value::Array(items) => items.iter().for_each(|i| self.index(i, depth + 1, budget)),
            Value::Object(map) => {
                *budget -= 1;
                if let Some(Value::String(id)) = map.get("@id")
                    && map.keys().any(|k| k != "@id")
                {
                    self.by_id.entry(id.as_str()).or_insert(map);
                }
                map.values().for_each(|i| self.index(i, depth + 1, budget));
            }
            _ => {}
        }
    }

    /// Top-level objects and `@graph` members, in order.
    fn collect_nodes(&mut self, v: &'v Value, depth: usize) {
        if depth > MAX_DEPTH || self.nodes.len() >= MAX_NODES {
            return;
        }
        match v {
            Value::Array(items) => items.iter().for_each(|i| self.collect_nodes(i, depth + 1)),
            Value::Object(map) => {
                if map.contains_key("@type") {
                    self.nodes.push(map);
                }
                if let Some(g) = map.get("@graph") {
                    self.collect_nodes(g, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// A value as the objects it stands for: itself, the members of an array, the
    /// target of a reference.
    fn objects(&self, v: &'v Value) -> Vec<&'v Node> {
        match v {
            Value::Array(items) => items
                .iter()
                .take(16)
                .filter_map(|i| self.object(i))
                .collect(),
            _ => self.object(v).into_iter().collect(),
        }
    }

    /// One value as an object: a reference (`{"@id": …}`, perhaps with its
    /// `@type`) is its definition, when the page has one.
    fn object(&self, v: &'v Value) -> Option<&'v Node> {
        let map = v.as_object()?;
        let is_ref = map.keys().all(|k| k == "@id" || k == "@type");
        match map.get("@id") {
            Some(Value::String(id)) if is_ref => {
                Some(self.by_id.get(id.as_str()).copied().unwrap_or(map))
            }
            _ => Some(map),
        }
    }

    /// The node of one of `types` that is this page, else the first of them.
    fn pick(&self, types: &[&str], page_urls: &[Url]) -> Option<&'v Node> {
        let mut of_type = self.nodes.iter().copied().filter(|n| has_type(n, types));
        let first = of_type.next()?;
        let this_page = |n: &&'v Node| {
            ["url", "@id", "mainEntityOfPage"].iter().any(|k| {
                n.get(*k).is_some_and(|v| {
                    self.urls(v)
                        .iter()
                        .any(|u| page_urls.iter().any(|p| same_page(u, p)))
                })
            })
        };
        Some(
            std::iter::once(first)
                .chain(of_type)
                .find(this_page)
                .unwrap_or(first),
        )
    }

    /// The URL strings a value names: a string, `{"@id"}` or `{"url"}`, or a list.
    fn urls(&self, v: &'v Value) -> Vec<&'v str> {
        match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().flat_map(|i| self.urls(i)).take(8).collect(),
            Value::Object(map) => ["@id", "url"]
                .iter()
                .filter_map(|k| map.get(*k)?.as_str())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A text value: a string, `{"@value": …}`, or the first of a list; whitespace
    /// collapsed, empty as none.
    fn text(&self, v: &Value) -> Option<String> {
        let s = match v {
            Value::String(s) => collapse_whitespace(s),
            Value::Object(map) => return self.text(map.get("@value")?),
            Value::Array(items) => return items.iter().take(8).find_map(|i| self.text(i)),
            _ => return None,
        };
        (!s.is_empty()).then_some(s)
    }

    /// The `name` of the first object a value stands for (a publisher). A bare
    /// string is an `@id` when the page defines one, else a name written as text.
    fn named(&self, v: &'v Value) -> Option<String> {
        match v {
            Value::String(s) => match self.by_id.get(s.as_str()) {
                Some(node) => self.text(node.get("name")?),
                None if s.contains("://") || s.starts_with(['#', '/']) => None,
                None => self.text(v),
            },
            _ => self
                .objects(v)
                .into_iter()
                .find_map(|n| self.text(n.get("name")?)),
        }
    }

    /// Image URLs a value gives, in order: a string, an ImageObject (`url`,
    /// `contentUrl`), a reference to one, or a list of those.
    fn image_urls(&self, v: &'v Value, depth: usize, out: &mut Vec<String>) {
        if depth > 4 || out.len() >= 16 {
            return;
        }
        match v {
            // A string can be the `@id` of an ImageObject the page defines.
            Value::String(s) if self.by_id.contains_key(s.as_str()) => {
                let node = self.by_id[s.as_str()];
                for key in ["url", "contentUrl"] {
                    if let Some(u) = node.get(key) {
                        self.image_urls(u, depth + 1, out);
                    }
                }
            }
            Value::String(s) => {
                let s = s.trim();
                if !s.is_empty() && !out.iter().any(|o| o == s) {
                    out.push(s.to_string());
                }
            }
            Value::Array(items) => items
                .iter()
                .take(16)
                .for_each(|i| self.image_urls(i, depth + 1, out)),
            Value::Object(_) => {
                if let Some(node) = self.object(v) {
                    for key in ["url", "contentUrl"] {
                        if let Some(u) = node.get(key) {
                            self.image_urls(u, depth + 1, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a node's `@type` (a string or a list; `schema:X` and full IRIs too) is
/// one of `types` (lower-case local names).
fn has_type(node: &Node, types: &[&str]) -> bool {
    let matches = |t: &Value| {
        t.as_str().is_some_and(|t| {
            let local = t.rsplit(['/', '#', ':']).next().unwrap_or(t).trim();
            types.iter().any(|w| local.eq_ignore_ascii_case(w))
        })
    };
    match node.get("@type") {
        Some(Value::Array(ts)) => ts.iter().any(matches),
        Some(t) => matches(t),
        None => false,
    }
}

/// Whether a URL as written in JSON-LD is `page`: scheme, `www.`, a trailing slash
/// and the fragment do not count.
fn same_page(written: &str, page: &Url) -> bool {
    let Ok(u) = page.join(written.trim()) else {
        return false;
    };
    let key = |u: &Url| {
        let host = u.host_str().unwrap_or_default();
        let host = host
            .strip_prefix("www.")
            .unwrap_or(host)
            .to_ascii_lowercase();
        let path = u.path().trim_end_matches('/').to_string();
        (host, path, u.query().map(str::to_string))
    };
    key(&u) == key(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Vec<Url> {
        vec![Url::parse("https://news.example.jp/articles/123").unwrap()]
    }

    fn ld(blocks: &[&str]) -> JsonLd {
        read(blocks.iter().copied(), &page())
    }

    #[test]
    fn a_plain_news_article() {
        let got = ld(&[r#"{
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": "  首相、来週に  訪米へ ",
            "description": "政府関係者が明らかにした。",
            "image": "https://img.example.jp/a.jpg",
            "datePublished": "2024-05-01T09:00:00+09:00",
            "publisher": {"@type": "Organization", "name": "例示新聞"}
        }"#]);
        assert_eq!(got.title.as_deref(), Some("首相、来週に 訪米へ"));
        assert_eq!(
            got.description.as_deref(),
            Some("政府関係者が明らかにした。")
        );
        assert_eq!(got.images, ["https://img.example.jp/a.jpg"]);
        assert_eq!(got.site_name.as_deref(), Some("例示新聞"));
        assert_eq!(got.published.as_deref(), Some("2024-05-01T09:00:00+09:00"));
    }

    #[test]
    fn a_graph_with_references() {
        let got = ld(&[r##"{"@context":"https://schema.org","@graph":[
            {"@type":"WebSite","@id":"https://news.example.jp/#website","name":"例示ニュース"},
            {"@type":"Organization","@id":"https://news.example.jp/#org","name":"例示新聞社",
             "logo":{"@id":"https://news.example.jp/#logo"}},
            {"@type":"ImageObject","@id":"https://news.example.jp/articles/123#primaryimage",
             "url":"https://img.example.jp/primary.jpg","width":1200},
            {"@type":"WebPage","@id":"https://news.example.jp/articles/123","name":"ページ名 | 例示ニュース",
             "primaryImageOfPage":{"@id":"https://news.example.jp/articles/123#primaryimage"}},
            {"@type":["NewsArticle"],"@id":"https://news.example.jp/articles/123#article",
             "headline":"見出し","isPartOf":{"@id":"https://news.example.jp/articles/123"},
             "image":{"@id":"https://news.example.jp/articles/123#primaryimage"},
             "publisher":{"@id":"https://news.example.jp/#org"}}
        ]}"##]);
        assert_eq!(got.title.as_deref(), Some("見出し"));
        assert_eq!(got.images, ["https://img.example.jp/primary.jpg"]);
        assert_eq!(got.site_name.as_deref(), Some("例示新聞社"));
    }

    #[test]
    fn image_shapes() {
        for (image, want) in [
            (r#""/a.jpg""#, vec!["/a.jpg"]),
            (
                r#"["https://x/1.jpg","https://x/2.jpg"]"#,
                vec!["https://x/1.jpg", "https://x/2.jpg"],
            ),
            (
                r#"{"@type":"ImageObject","url":"https://x/o.jpg"}"#,
                vec!["https://x/o.jpg"],
            ),
            (
                r#"[{"@type":"ImageObject","contentUrl":"https://x/c.jpg"}]"#,
                vec!["https://x/c.jpg"],
            ),
            (
                r#"{"@type":"ImageObject","url":["https://x/u.jpg"]}"#,
                vec!["https://x/u.jpg"],
            ),
            (r##""#img""##, vec!["https://x/by-id.jpg"]),
            ("42", vec![]),
        ] {
            let got = ld(&[&format!(
                r##"[{{"@type":"Article","headline":"h","image":{image}}},
                    {{"@type":"ImageObject","@id":"#img","url":"https://x/by-id.jpg"}}]"##
            )]);
            assert_eq!(got.images, want, "{image}");
        }
    }

    #[test]
    fn broken_blocks_are_skipped_and_repairable_ones_read() {
        let got = ld(&[
            "{ this is not json",
            r#"<!--
            {"@type": "BlogPosting", "headline": "改行が
            そのまま", "image": ["https://x/a.jpg",],}
            -->"#,
        ]);
        assert_eq!(got.title.as_deref(), Some("改行が そのまま"));
        assert_eq!(got.images, ["https://x/a.jpg"]);
        assert_eq!(ld(&["", "null", "[]", "\"s\"", "{}"]), JsonLd::default());
        let two =
            ld(&[r#"{"@type":"WebSite","name":"サイト"} {"@type":"Article","name":"記事名"}"#]);
        assert_eq!(two.title.as_deref(), Some("記事名"));
        assert_eq!(two.site_name.as_deref(), Some("サイト"));
    }

    #[test]
    fn non_article_types_give_no_title() {
        let got = ld(&[
            r#"{"@type":"WebSite","name":"サイト名","description":"サイトの説明"}"#,
            r#"{"@type":"BreadcrumbList","itemListElement":[{"@type":"ListItem","name":"ホーム"}]}"#,
            r#"{"@type":"Organization","name":"会社","logo":"https://x/logo.png"}"#,
        ]);
        assert_eq!(got.title, None);
        assert_eq!(got.description, None);
        assert!(got.images.is_empty());
        assert_eq!(got.site_name.as_deref(), Some("サイト名"));
    }

    #[test]
    fn tiers_and_the_page_own_node() {
        // A WebPage fills only what the article lacks.
        let got = ld(&[
            r#"[{"@type":"WebPage","name":"ページ","description":"ページの説明","image":"https://x/p.jpg"},
                          {"@type":"Article","headline":"記事"}]"#,
        ]);
        assert_eq!(got.title.as_deref(), Some("記事"));
        assert_eq!(got.description.as_deref(), Some("ページの説明"));
        assert_eq!(got.images, ["https://x/p.jpg"]);
        // Only a WebPage: its name is the title.
        assert_eq!(
            ld(&[r#"{"@type":"WebPage","name":"ページ"}"#])
                .title
                .as_deref(),
            Some("ページ")
        );
        // Of several articles, the one that is this page.
        let got = ld(&[
            r#"[{"@type":"NewsArticle","headline":"関連記事","url":"https://news.example.jp/articles/9"},
                          {"@type":"NewsArticle","headline":"この記事","mainEntityOfPage":{"@id":"http://www.news.example.jp/articles/123/"}}]"#,
        ]);
        assert_eq!(got.title.as_deref(), Some("この記事"));
        // An article before a video; the main entity of a page.
        let got = ld(&[
            r#"[{"@type":"VideoObject","name":"動画","thumbnailUrl":["https://x/t.jpg"],"uploadDate":"2024-01-02"},
                          {"@type":"WebPage","mainEntity":{"@type":"schema:BlogPosting","headline":"主役"}}]"#,
        ]);
        assert_eq!(got.title.as_deref(), Some("主役"));
        let video = ld(&[
            r#"{"@type":"http://schema.org/VideoObject","name":"動画","thumbnailUrl":["https://x/t.jpg"],"uploadDate":"2024-01-02"}"#,
        ]);
        assert_eq!(video.title.as_deref(), Some("動画"));
        assert_eq!(video.images, ["https://x/t.jpg"]);
        assert_eq!(video.published.as_deref(), Some("2024-01-02"));
    }

    #[test]
    fn reference_cycles_end() {
        let got = ld(&[r##"{"@graph":[
            {"@type":"Article","@id":"#a","headline":"循環","image":{"@id":"#i"},"publisher":{"@id":"#p"}},
            {"@type":"ImageObject","@id":"#i","url":{"@id":"#i"}},
            {"@type":"Organization","@id":"#p","publisher":{"@id":"#p"}}
        ]}"##]);
        assert_eq!(got.title.as_deref(), Some("循環"));
        assert!(got.images.is_empty());
        assert_eq!(got.site_name, None);
        // Deep nesting is cut off, not recursed into without end.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(ld(&[&deep]), JsonLd::default());
    }
}
