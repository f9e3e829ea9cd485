//! An imported entry body (Hatena Blog's rendered HTML, or WordPress content
//! after [`super::wp_markup`]) → Markdown that reads as if written by hand.
//!
//! htmd does the general conversion; the handlers here override its built-in
//! ones for every tag that has a Markdown form (so stray `class`/`id`
//! attributes don't force raw HTML) and add the Hatena/WordPress specifics.
//! htmd handlers must be `'static`, so they can't call [`Options`]' closures:
//! they leave numbered placeholders for URLs, resolved after the conversion.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use htmd::element_handler::{HandlerResult, Handlers};
use htmd::options::TranslationMode;
use htmd::{Element, HtmlToMarkdown};
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

pub struct Options<'a> {
    /// An absolute link target found in the body -> the new site path to link to instead
    /// (links to the old blog's own entries); None = leave the link as is.
    pub link: &'a dyn Fn(&str) -> Option<String>,
    /// An image URL -> what to put in the Markdown instead (a bundle-relative file name when
    /// images were downloaded); None = keep the URL.
    pub image: &'a dyn Fn(&str) -> Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Trimmed, ends with exactly one '\n' (or empty).
    pub markdown: String,
    /// HTML kept as raw HTML because it had no Markdown form (as pulldown-cmark sees it).
    pub raw_html_blocks: usize,
    /// `<script>` elements dropped.
    pub scripts_removed: usize,
    /// Absolute http(s) image URLs in order, deduplicated (before `image` mapping).
    pub images: Vec<String>,
    /// Short, human.
    pub warnings: Vec<String>,
}

// Private-use markers. Input is stripped of the whole U+F8F0..=U+F8FF range
// first, so these can only come from our own handlers.
const URL_OPEN: char = '\u{F8F0}';
const URL_CLOSE: char = '\u{F8F1}';
const MORE_TAG: &str = "enishi-more";
/// Wraps an image's alt inside a figure, so the figure can swap in its caption.
const ALT_OPEN: char = '\u{F8F5}';
const ALT_CLOSE: char = '\u{F8F6}';
/// '`' and '~' inside <pre>: htmd escapes a text node starting with them.
const BACKTICK: char = '\u{F8F7}';
const TILDE: char = '\u{F8F8}';
/// A <br>: becomes a backslash hard break, or nothing at the end of a block.
const BR: char = '\u{F8F9}';
/// `*N` of a footnote number inside the footnote block.
const FN_NUMBER: char = '\u{F8FA}';

#[derive(Clone, Copy, PartialEq)]
enum UrlKind {
    Link,
    Image,
    /// A URL written on its own line (link card, video, tweet).
    Bare,
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    caption: String,
    representable: bool,
}

#[derive(Default)]
struct State {
    urls: Vec<(String, UrlKind)>,
    scripts_removed: usize,
    warnings: Vec<String>,
    in_pre: usize,
    code_lang: Option<String>,
    /// (ordered, next number) of the lists we are in.
    lists: Vec<(bool, u64)>,
    tables: Vec<Table>,
    /// Set while converting a table that will be serialized as HTML instead.
    table_raw: usize,
    /// Captions of the figures we are in (innermost last).
    figures: Vec<Option<String>>,
    /// Inside a tweet: its status URL once seen.
    tweet: Option<Option<String>>,
    footnote_defs: BTreeMap<u64, String>,
    /// Titles of footnote references, the fallback definition.
    footnote_titles: BTreeMap<u64, String>,
    /// A link card whose iframe had no `url=`: the citation that follows supplies it.
    card_pending: bool,
    /// Inside a hatena-citation: the href seen.
    cite_href: Option<Option<String>>,
}

type Shared = Arc<Mutex<State>>;

fn lock(st: &Shared) -> std::sync::MutexGuard<'_, State> {
    st.lock().unwrap_or_else(|e| e.into_inner())
}

fn attr<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

fn has_class(el: &Element, class: &str) -> bool {
    attr(el, "class").is_some_and(|c| c.split_ascii_whitespace().any(|c| c == class))
}

fn res(content: String) -> Option<HandlerResult> {
    Some(HandlerResult {
        content,
        markdown_translated: true,
    })
}

fn block(content: &str) -> Option<HandlerResult> {
    if content.is_empty() {
        return None;
    }
    res(format!("\n\n{content}\n\n"))
}

fn url_placeholder(st: &Shared, url: &str, kind: UrlKind) -> String {
    let mut s = lock(st);
    s.urls.push((url.to_string(), kind));
    format!("{URL_OPEN}{}{URL_CLOSE}", s.urls.len() - 1)
}

/// Trims a block's content, drops <br>s at its ends and turns two or more
/// <br>s in a row into a paragraph break (what they looked like).
fn tidy(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(i) = rest.find(BR) {
        out.push_str(rest[..i].trim_end_matches(' '));
        rest = &rest[i + BR.len_utf8()..];
        let mut breaks = 1;
        loop {
            let after = rest.trim_start_matches([' ', '\n']);
            if let Some(r) = after.strip_prefix(BR) {
                breaks += 1;
                rest = r;
            } else {
                rest = after;
                break;
            }
        }
        out.push_str(if breaks > 1 { "\n\n" } else { "\u{F8F9}\n" });
    }
    out.push_str(rest);
    let t = out.trim_matches(|c: char| c.is_whitespace() || c == BR);
    t.to_string()
}

fn is_punct(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    c.is_ascii_punctuation()
        || matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Punctuation | GeneralCategoryGroup::Symbol
        )
}

fn escape_attr(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// An inline element with no Markdown form: its tags as HTML around its
/// converted content (CommonMark reads Markdown between inline tags).
fn inline_html(el: &Element, content: &str) -> String {
    let mut s = format!("<{}", el.tag);
    for a in el.attrs {
        s.push_str(&format!(
            " {}=\"{}\"",
            &*a.name.local,
            escape_attr(&a.value)
        ));
    }
    s.push('>');
    s.push_str(content);
    s.push_str(&format!("</{}>", el.tag));
    s
}

fn host_of(url: &str) -> String {
    let url = if url.starts_with("//") {
        format!("https:{url}")
    } else {
        url.to_string()
    };
    url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "an unknown site".to_string())
}

fn absolute(url: &str) -> String {
    if url.starts_with("//") {
        format!("https:{url}")
    } else {
        url.to_string()
    }
}

/// The watch URL for a YouTube embed iframe's src.
fn youtube_watch(src: &str) -> Option<String> {
    let u = url::Url::parse(&absolute(src)).ok()?;
    let host = u.host_str()?;
    if !(host.ends_with("youtube.com") || host.ends_with("youtube-nocookie.com")) {
        return None;
    }
    let id = u.path().strip_prefix("/embed/")?.trim_end_matches('/');
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some(format!("https://www.youtube.com/watch?v={id}"))
}

/// The target of a Hatena link-card iframe (`…/embed?url=…`).
fn card_target(src: &str) -> Option<String> {
    let u = url::Url::parse(&absolute(src)).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// A tweet's status URL without the tracking query.
fn tweet_status(href: &str) -> Option<String> {
    let u = url::Url::parse(href).ok()?;
    let host = u.host_str()?;
    let host_ok = ["twitter.com", "x.com"]
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")));
    if !host_ok || !u.path().contains("/status/") {
        return None;
    }
    Some(format!("https://{host}{}", u.path()))
}

/// The URL if a paragraph's Markdown is nothing but one (htmd escaped `_` etc.).
fn bare_url(md: &str) -> Option<String> {
    if md.contains(char::is_whitespace) || md.contains(URL_OPEN) {
        return None;
    }
    let mut url = String::with_capacity(md.len());
    let mut chars = md.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            url.push(chars.next()?);
        } else {
            url.push(c);
        }
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    (!rest.is_empty() && !url.contains(['<', '>', '[', ']', '`'])).then_some(url)
}

/// The `N` of a Hatena footnote mark `*N` (as htmd escaped it: `\*N`).
/// `https://gist.github.com/user/id.js` (the embed's script) → the gist's page.
fn gist_page(src: &str) -> Option<String> {
    let url = url::Url::parse(&absolute(src)).ok()?;
    if url.host_str()? != "gist.github.com" {
        return None;
    }
    let path = url.path().strip_suffix(".js")?;
    Some(format!("https://gist.github.com{path}"))
}

fn footnote_number(text: &str) -> Option<u64> {
    let t = text.trim().trim_start_matches('\\').trim_start_matches('*');
    t.parse().ok()
}

fn build_converter(st: &Shared) -> HtmlToMarkdown {
    let mut b = HtmlToMarkdown::builder().options(htmd::options::Options {
        translation_mode: TranslationMode::Faithful,
        ..Default::default()
    });

    b = b.add_handler(vec![MORE_TAG], |_: &dyn Handlers, _: Element| {
        res("\n\n<!--more-->\n\n".to_string())
    });

    let s = st.clone();
    b = b.add_handler(vec!["script"], move |_: &dyn Handlers, el: Element| {
        lock(&s).scripts_removed += 1;
        // A gist is embedded by its script alone: keep its page as a URL line.
        let gist = attr(&el, "src").and_then(gist_page);
        gist.and_then(|url| block(&url_placeholder(&s, &url, UrlKind::Bare)))
    });
    b = b.add_handler(
        vec!["style", "noscript", "template"],
        |_: &dyn Handlers, _: Element| None,
    );
    b = b.add_handler(vec!["wbr"], |_: &dyn Handlers, _: Element| None);

    // A paragraph that is only a URL stays a bare URL (a link card), unescaped.
    let s = st.clone();
    b = b.add_handler(vec!["p"], move |h: &dyn Handlers, el: Element| {
        let content = tidy(&h.walk_children(el.node).content);
        if let Some(url) = bare_url(&content) {
            return block(&url_placeholder(&s, &url, UrlKind::Bare));
        }
        block(&content)
    });

    // Wrappers with no meaning unwrap; a div with inline style (centring,
    // colour boxes) has no Markdown form and stays HTML.
    let s = st.clone();
    b = b.add_handler(
        vec!["div", "section", "article", "main", "header", "footer"],
        move |h: &dyn Handlers, el: Element| {
            if has_class(&el, "footnote") {
                let _ = h.walk_children(el.node);
                return None;
            }
            if attr(&el, "style").is_some() && lock(&s).in_pre == 0 {
                return h.fallback(el);
            }
            block(&tidy(&h.walk_children(el.node).content))
        },
    );

    b = b.add_handler(
        vec!["h1", "h2", "h3", "h4", "h5", "h6"],
        |h: &dyn Handlers, el: Element| {
            let level: usize = el.tag[1..].parse().unwrap_or(1);
            let text = tidy(&h.walk_children(el.node).content);
            let text = text
                .replace(&format!("{BR}\n"), " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if text.is_empty() {
                return None;
            }
            block(&format!("{} {text}", "#".repeat(level)))
        },
    );

    let s = st.clone();
    b = b.add_handler(vec!["br"], move |_: &dyn Handlers, _: Element| {
        if lock(&s).in_pre > 0 {
            res("\n".to_string())
        } else {
            res(format!("{BR}\n"))
        }
    });

    b = b.add_handler(vec!["hr"], |_: &dyn Handlers, _: Element| {
        res("\n\n---\n\n".to_string())
    });

    // Emphasis. CommonMark's flanking rules fail for `**「語」**です`
    // (punctuation inside, a letter outside), common in Japanese, so such
    // content keeps its HTML tag.
    for (tags, marker, html_tag) in [
        (vec!["strong", "b"], "**", "strong"),
        (vec!["em", "i"], "*", "em"),
        (vec!["del", "s", "strike"], "~~", "del"),
    ] {
        let s = st.clone();
        b = b.add_handler(tags, move |h: &dyn Handlers, el: Element| {
            let content = h.walk_children(el.node).content;
            if lock(&s).in_pre > 0 {
                return res(content);
            }
            let inner = content.trim();
            if inner.is_empty() {
                return res(if content.is_empty() { "" } else { " " }.to_string());
            }
            let lead = &content[..content.len() - content.trim_start().len()];
            let trail = &content[content.trim_end().len()..];
            let edge_punct = inner.chars().next().is_some_and(is_punct)
                || inner.chars().next_back().is_some_and(is_punct);
            let wrapped = if edge_punct || inner.contains('\n') {
                format!("<{html_tag}>{inner}</{html_tag}>")
            } else {
                format!("{marker}{inner}{marker}")
            };
            res(format!("{lead}{wrapped}{trail}"))
        });
    }

    // Inline elements with no Markdown form stay HTML around Markdown content.
    let s = st.clone();
    b = b.add_handler(
        vec![
            "sup", "sub", "u", "ins", "mark", "small", "big", "kbd", "samp", "var", "abbr",
            "acronym", "dfn", "q", "time", "ruby", "rb", "rt", "rp", "rtc", "font", "bdi", "bdo",
            "label",
        ],
        move |h: &dyn Handlers, el: Element| {
            let content = h.walk_children(el.node).content;
            if lock(&s).in_pre > 0 {
                return res(content);
            }
            res(inline_html(&el, &content))
        },
    );

    let s = st.clone();
    b = b.add_handler(vec!["span"], move |h: &dyn Handlers, el: Element| {
        if has_class(&el, "footnote-delimiter") {
            return None;
        }
        let content = h.walk_children(el.node).content;
        if lock(&s).in_pre > 0 {
            return res(content);
        }
        if attr(&el, "style").is_some() {
            return res(inline_html(&el, &content));
        }
        res(content)
    });

    let s = st.clone();
    b = b.add_handler(vec!["code", "tt"], move |h: &dyn Handlers, el: Element| {
        let in_pre = lock(&s).in_pre > 0;
        if in_pre {
            let lang = attr(&el, "class").and_then(|c| {
                c.split_ascii_whitespace().find_map(|c| {
                    c.strip_prefix("language-")
                        .or_else(|| c.strip_prefix("lang-"))
                        .map(str::to_string)
                })
            });
            if lang.is_some() {
                lock(&s).code_lang = lang;
            }
            return res(h.walk_children(el.node).content);
        }
        let code = h.walk_children(el.node).content;
        let code = code.replace(['\n', BR], " ");
        let code = code.replace(BACKTICK, "`").replace(TILDE, "~");
        if code.trim().is_empty() {
            return res(code);
        }
        let mut longest = 0;
        let mut run = 0;
        for c in code.chars() {
            run = if c == '`' { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        let fence = "`".repeat(longest + 1);
        let pad = if code.starts_with('`') || code.ends_with('`') {
            " "
        } else {
            ""
        };
        res(format!("{fence}{pad}{code}{pad}{fence}"))
    });

    let s = st.clone();
    b = b.add_handler(vec!["pre"], move |h: &dyn Handlers, el: Element| {
        {
            let mut st = lock(&s);
            st.in_pre += 1;
            st.code_lang = None;
        }
        let content = h.walk_children(el.node).content;
        let code_lang = {
            let mut st = lock(&s);
            st.in_pre -= 1;
            st.code_lang.take()
        };
        // Hatena: class="code lang-ruby" data-lang="ruby"; WordPress/Markdown:
        // <code class="language-rust"> inside.
        let lang = attr(&el, "data-lang")
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .or_else(|| {
                attr(&el, "class").and_then(|c| {
                    c.split_ascii_whitespace()
                        .find_map(|c| c.strip_prefix("lang-").map(str::to_string))
                })
            })
            .or(code_lang)
            .unwrap_or_default();
        let code = content.replace(BACKTICK, "`").replace(TILDE, "~");
        let code = code.trim_end_matches(['\n', ' ', '\t']);
        let mut longest = 0;
        let mut run = 0;
        for c in code.chars() {
            run = if c == '`' { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        let fence = "`".repeat((longest + 1).max(3));
        res(format!("\n\n{fence}{lang}\n{code}\n{fence}\n\n"))
    });

    let s = st.clone();
    b = b.add_handler(vec!["a"], move |h: &dyn Handlers, el: Element| {
        let href = attr(&el, "href").unwrap_or("").trim().to_string();
        if lock(&s).in_pre > 0 {
            return res(h.walk_children(el.node).content);
        }
        // Inside a hatena-citation: only its href matters.
        if let Some(cite) = lock(&s).cite_href.as_mut() {
            *cite = Some(href);
            return None;
        }
        if has_class(&el, "footnote-number") {
            let text = h.walk_children(el.node).content;
            return footnote_number(&text).map(|n| format!("{FN_NUMBER}{n}{FN_NUMBER}").into());
        }
        // Hatena keyword links: noise, the word stays.
        if has_class(&el, "keyword") || has_class(&el, "okeyword") {
            return res(h.walk_children(el.node).content);
        }
        let content = h.walk_children(el.node).content;
        if href.is_empty() || href.to_ascii_lowercase().starts_with("javascript:") {
            return res(content);
        }
        if href.starts_with("#f-")
            && let Some(n) = footnote_number(&content)
        {
            if let Some(title) = attr(&el, "title") {
                lock(&s).footnote_titles.insert(n, title.to_string());
            }
            return res(format!("[^{n}]"));
        }
        // An image linking to its own fotolife page: just the image.
        if (has_class(&el, "hatena-fotolife") || href.contains("f.hatena.ne.jp/"))
            && content.trim().starts_with("![")
        {
            return res(content.trim().to_string());
        }
        if let Some(status) = tweet_status(&href) {
            let mut st = lock(&s);
            if let Some(seen) = st.tweet.as_mut() {
                if seen.is_none() {
                    *seen = Some(status);
                }
                return res(content);
            }
        }
        let text = content.trim();
        if text.is_empty() {
            return None;
        }
        let url = url_placeholder(&s, &absolute(&href), UrlKind::Link);
        res(format!("[{text}]({url})"))
    });

    let s = st.clone();
    b = b.add_handler(vec!["img"], move |_: &dyn Handlers, el: Element| {
        let mut src = attr(&el, "src").unwrap_or("").trim();
        if src.is_empty() || src.starts_with("data:") {
            // Lazy loading puts the real image elsewhere.
            if let Some(lazy) = attr(&el, "data-src").filter(|v| !v.trim().is_empty()) {
                src = lazy.trim();
            }
        }
        if src.is_empty() {
            return None;
        }
        let alt = attr(&el, "alt").unwrap_or("");
        // Hatena's fotolife syntax as alt text says nothing to a reader.
        let alt = if alt.starts_with("f:id:") { "" } else { alt };
        let alt = alt
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace('\\', "\\\\")
            .replace('[', "\\[")
            .replace(']', "\\]");
        let in_figure = !lock(&s).figures.is_empty();
        let url = url_placeholder(&s, &absolute(src), UrlKind::Image);
        if in_figure {
            res(format!("![{ALT_OPEN}{alt}{ALT_CLOSE}]({url})"))
        } else {
            res(format!("![{alt}]({url})"))
        }
    });

    // A figure: the image with the caption as alt, the caption in italics below.
    let s = st.clone();
    b = b.add_handler(vec!["figure"], move |h: &dyn Handlers, el: Element| {
        lock(&s).figures.push(None);
        let content = tidy(&h.walk_children(el.node).content);
        let caption = lock(&s).figures.pop().flatten();
        let caption = caption
            .or_else(|| attr(&el, "title").map(str::to_string))
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        let mut out = String::new();
        let mut rest = content.as_str();
        while let Some(i) = rest.find(ALT_OPEN) {
            out.push_str(&rest[..i]);
            let after = &rest[i + ALT_OPEN.len_utf8()..];
            let end = after.find(ALT_CLOSE).unwrap_or(after.len());
            match &caption {
                Some(c) => out.push_str(c),
                None => out.push_str(&after[..end]),
            }
            rest = after[end..]
                .strip_prefix(ALT_CLOSE)
                .unwrap_or(&after[end..]);
        }
        out.push_str(rest);
        if let Some(c) = caption {
            out.push_str(&format!("\n\n*{c}*"));
        }
        block(out.trim())
    });

    let s = st.clone();
    b = b.add_handler(vec!["figcaption"], move |h: &dyn Handlers, el: Element| {
        let text = tidy(&h.walk_children(el.node).content)
            .replace(&format!("{BR}\n"), " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut st = lock(&s);
        match st.figures.last_mut() {
            Some(slot) => {
                *slot = Some(text);
                None
            }
            None => {
                drop(st);
                block(&text)
            }
        }
    });

    // Lists: our own, so that `class` on ul/li doesn't force HTML.
    let s = st.clone();
    b = b.add_handler(vec!["ul", "ol"], move |h: &dyn Handlers, el: Element| {
        let start = attr(&el, "start")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        let nested = {
            let mut st = lock(&s);
            let nested = !st.lists.is_empty();
            st.lists.push((el.tag == "ol", start));
            nested
        };
        let content = h.walk_children(el.node).content;
        lock(&s).lists.pop();
        let content = content.trim_matches(|c: char| c == '\n' || c == ' ');
        if content.is_empty() {
            return None;
        }
        if nested {
            res(format!("\n{content}\n"))
        } else {
            block(content)
        }
    });

    let s = st.clone();
    b = b.add_handler(vec!["li"], move |h: &dyn Handlers, el: Element| {
        let marker = {
            let mut st = lock(&s);
            match st.lists.last_mut() {
                Some((true, n)) => {
                    *n += 1;
                    format!("{}.", *n - 1)
                }
                _ => "-".to_string(),
            }
        };
        let content = tidy(&h.walk_children(el.node).content);
        let indent = " ".repeat(marker.len() + 1);
        let mut out = format!("\n{marker}");
        for (i, line) in content.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str(&indent);
                }
            } else if !line.is_empty() {
                out.push(' ');
            }
            out.push_str(line);
        }
        res(out)
    });

    let s = st.clone();
    b = b.add_handler(vec!["blockquote"], move |h: &dyn Handlers, el: Element| {
        let tweet = has_class(&el, "twitter-tweet");
        if tweet {
            lock(&s).tweet = Some(None);
        }
        let content = tidy(&h.walk_children(el.node).content);
        let status = if tweet {
            lock(&s).tweet.take().flatten()
        } else {
            None
        };
        let quoted = content
            .split('\n')
            .map(|l| {
                if l.trim().is_empty() {
                    ">".to_string()
                } else {
                    format!("> {l}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut out = if content.is_empty() {
            String::new()
        } else {
            quoted
        };
        if let Some(url) = status {
            out.push_str("\n\n");
            out.push_str(&url_placeholder(&s, &url, UrlKind::Bare));
        }
        block(out.trim())
    });

    // Embeds.
    let s = st.clone();
    b = b.add_handler(vec!["iframe"], move |h: &dyn Handlers, el: Element| {
        let src = attr(&el, "src").unwrap_or("").trim().to_string();
        if has_class(&el, "embed-card") || src.contains("hatenablog-parts.com/embed") {
            return match card_target(&src) {
                Some(target) => block(&url_placeholder(&s, &target, UrlKind::Bare)),
                None => {
                    lock(&s).card_pending = true;
                    None
                }
            };
        }
        if let Some(watch) = youtube_watch(&src) {
            return block(&url_placeholder(&s, &watch, UrlKind::Bare));
        }
        lock(&s)
            .warnings
            .push(format!("an iframe from {} kept as HTML", host_of(&src)));
        h.fallback(el)
    });

    let s = st.clone();
    b = b.add_handler(vec!["cite"], move |h: &dyn Handlers, el: Element| {
        if !has_class(&el, "hatena-citation") {
            let content = h.walk_children(el.node).content;
            return res(inline_html(&el, &content));
        }
        lock(&s).cite_href = Some(None);
        let _ = h.walk_children(el.node);
        let mut st = lock(&s);
        let href = st.cite_href.take().flatten();
        if std::mem::take(&mut st.card_pending)
            && let Some(href) = href.filter(|h| !h.is_empty())
        {
            drop(st);
            return block(&url_placeholder(&s, &href, UrlKind::Bare));
        }
        None
    });

    // Hatena footnotes: the definitions block at the end.
    let s = st.clone();
    b = b.add_handler(vec!["p"], move |h: &dyn Handlers, el: Element| {
        if !has_class(&el, "footnote") {
            return h.fallback(el);
        }
        let content = tidy(&h.walk_children(el.node).content);
        let Some(start) = content.find(FN_NUMBER) else {
            return block(&content);
        };
        let after = &content[start + FN_NUMBER.len_utf8()..];
        let end = after.find(FN_NUMBER).unwrap_or(after.len());
        let n: Option<u64> = after[..end].parse().ok();
        let text = format!(
            "{}{}",
            &content[..start],
            after[end..].trim_start_matches(FN_NUMBER)
        );
        let text = text
            .replace(&format!("{BR}\n"), " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match n {
            Some(n) => {
                lock(&s).footnote_defs.insert(n, text);
                None
            }
            None => block(&text),
        }
    });

    // Tables: our own (GFM), or raw HTML when a cell holds blocks.
    let s = st.clone();
    b = b.add_handler(vec!["table"], move |h: &dyn Handlers, el: Element| {
        if lock(&s).table_raw > 0 {
            return Some(HandlerResult {
                content: String::new(),
                markdown_translated: false,
            });
        }
        lock(&s).tables.push(Table {
            representable: true,
            ..Default::default()
        });
        let _ = h.walk_children(el.node);
        let table = lock(&s).tables.pop().unwrap_or_default();
        let width = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        if !table.representable || width == 0 {
            lock(&s).table_raw += 1;
            let r = h.fallback(el);
            lock(&s).table_raw -= 1;
            return r;
        }
        let mut out = String::new();
        if !table.caption.is_empty() {
            out.push_str(&table.caption);
            out.push_str("\n\n");
        }
        for (i, row) in table.rows.iter().enumerate() {
            out.push('|');
            for c in 0..width {
                let cell = row.get(c).map(String::as_str).unwrap_or("");
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
            if i == 0 {
                out.push('|');
                out.push_str(&" --- |".repeat(width));
                out.push('\n');
            }
        }
        block(out.trim_end())
    });
    let s = st.clone();
    b = b.add_handler(
        vec!["thead", "tbody", "tfoot", "tr", "caption"],
        move |h: &dyn Handlers, el: Element| {
            let raw = {
                let mut st = lock(&s);
                if st.table_raw > 0 || st.tables.is_empty() {
                    true
                } else {
                    if el.tag == "tr"
                        && let Some(t) = st.tables.last_mut()
                    {
                        t.rows.push(Vec::new());
                    }
                    false
                }
            };
            let content = h.walk_children(el.node).content;
            if raw {
                return Some(HandlerResult {
                    content,
                    markdown_translated: false,
                });
            }
            if el.tag == "caption"
                && let Some(t) = lock(&s).tables.last_mut()
            {
                t.caption = tidy(&content).replace(&format!("{BR}\n"), " ");
            }
            None
        },
    );
    let s = st.clone();
    b = b.add_handler(vec!["td", "th"], move |h: &dyn Handlers, el: Element| {
        let content = h.walk_children(el.node).content;
        let mut st = lock(&s);
        if st.table_raw > 0 || st.tables.is_empty() {
            return Some(HandlerResult {
                content,
                markdown_translated: false,
            });
        }
        let cell = tidy(&content).replace(&format!("{BR}\n"), "<br>");
        let table = st.tables.last_mut().expect("checked above");
        let starts_block = cell.starts_with("- ")
            || cell.starts_with('>')
            || cell.trim_start_matches('#').starts_with(' ') && cell.starts_with('#')
            || cell.starts_with("```")
            || cell
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        // Block markers unescaped at the start can only come from our handlers.
        if cell.contains('\n') || starts_block {
            // Paragraphs, lists or code in a cell: no GFM form.
            table.representable = false;
        }
        let cell = cell.replace('|', "\\|");
        if table.rows.is_empty() {
            table.rows.push(Vec::new());
        }
        if let Some(row) = table.rows.last_mut() {
            row.push(cell);
        }
        None
    });

    b.build()
}

/// Comments become a custom element; `more` is the only one kept.
fn prepare(html: &str) -> String {
    let html: String = html
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !('\u{F8F0}'..='\u{F8FF}').contains(c))
        .collect();
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let body = &rest[i + 4..];
        let (inner, after) = match body.find("-->") {
            Some(e) => (&body[..e], &body[e + 3..]),
            None => (body, ""),
        };
        let word = inner.trim().to_ascii_lowercase();
        if word == "more" || word.starts_with("more ") {
            out.push_str(&format!("<{MORE_TAG}></{MORE_TAG}>"));
        }
        rest = after;
    }
    out.push_str(rest);
    protect_pre(&out)
}

/// Inside <pre>…</pre>, '`' and '~' become markers (see [`BACKTICK`]).
fn protect_pre(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<pre") {
        let start = pos + i;
        let end = lower[start..]
            .find("</pre")
            .map(|e| start + e)
            .unwrap_or(html.len());
        out.push_str(&html[pos..start]);
        out.push_str(
            &html[start..end]
                .replace('`', &BACKTICK.to_string())
                .replace('~', &TILDE.to_string()),
        );
        pos = end;
        if pos == html.len() {
            break;
        }
        // Step past "</pre" so the search moves on.
        let step = 5.min(html.len() - pos);
        out.push_str(&html[pos..pos + step]);
        pos += step;
    }
    out.push_str(&html[pos..]);
    out
}

/// Link destination as written by hand: bare when it can be, `<…>` otherwise.
fn destination(url: &str) -> String {
    let mut depth: i32 = 0;
    let mut balanced = true;
    for c in url.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    balanced = false;
                }
            }
            _ => {}
        }
    }
    if balanced && depth == 0 && !url.contains(|c: char| c.is_whitespace() || c == '<') {
        url.to_string()
    } else {
        format!("<{}>", url.replace('<', "%3C").replace('>', "%3E"))
    }
}

fn pulldown_options() -> pulldown_cmark::Options {
    pulldown_cmark::Options::ENABLE_TABLES
        | pulldown_cmark::Options::ENABLE_STRIKETHROUGH
        | pulldown_cmark::Options::ENABLE_FOOTNOTES
}

/// htmd writes a text `&` as is, so text that reads `&amp;` would render as
/// `&`: escape `&` where it starts something entity-like, outside code.
fn escape_entities(md: &str) -> String {
    let mut inserts = Vec::new();
    let mut in_code = 0;
    for (ev, range) in Parser::new_ext(md, pulldown_options()).into_offset_iter() {
        match ev {
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => in_code -= 1,
            Event::Text(_) if in_code == 0 => {
                let src = &md[range.clone()];
                for (i, _) in src.match_indices('&') {
                    if looks_like_entity(&src[i + 1..])
                        && !src[..i].ends_with('\\')
                        && !inserts.contains(&(range.start + i))
                    {
                        inserts.push(range.start + i);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = md.to_string();
    inserts.sort_unstable();
    for i in inserts.into_iter().rev() {
        out.insert(i, '\\');
    }
    out
}

fn looks_like_entity(s: &str) -> bool {
    let Some(end) = s.find(';') else {
        return false;
    };
    let name = &s[..end];
    if let Some(num) = name.strip_prefix('#') {
        if let Some(hex) = num.strip_prefix(['x', 'X']) {
            return !hex.is_empty() && hex.len() <= 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        }
        return !num.is_empty() && num.len() <= 7 && num.chars().all(|c| c.is_ascii_digit());
    }
    !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Raw HTML a reader of the Markdown sees: HTML blocks and inline start tags,
/// not counting our `<!--more-->`.
fn count_raw_html(md: &str) -> usize {
    let mut n = 0;
    for (ev, range) in Parser::new_ext(md, pulldown_options()).into_offset_iter() {
        match ev {
            Event::Start(Tag::HtmlBlock) if md[range].trim() != "<!--more-->" => n += 1,
            Event::InlineHtml(h) if !h.starts_with("</") && !h.starts_with("<!--") => n += 1,
            _ => {}
        }
    }
    n
}

pub fn to_markdown(html: &str, opts: &Options) -> Converted {
    // htmd walks the tree recursively; a body nested deeper than any real post
    // is kept as it is (the build reads HTML as a stream), its scripts removed.
    if nesting_depth(html) > MAX_NESTING {
        return kept_unconverted(html);
    }
    let st: Shared = Arc::default();
    let converter = build_converter(&st);
    let md = converter.convert(&prepare(html)).unwrap_or_default();
    let mut state = std::mem::take(&mut *lock(&st));

    // Footnote definitions at the end, numbered as the old blog numbered them.
    let mut md = md.trim().to_string();
    let mut defs = std::mem::take(&mut state.footnote_defs);
    for (n, title) in std::mem::take(&mut state.footnote_titles) {
        defs.entry(n).or_insert(title);
    }
    if !defs.is_empty() {
        md.push_str("\n\n");
        for (n, text) in &defs {
            md.push_str(&format!("[^{n}]: {text}\n"));
        }
    }

    // URL placeholders, in document order.
    let mut images: Vec<String> = Vec::new();
    let mut out = String::with_capacity(md.len());
    let mut rest = md.as_str();
    while let Some(i) = rest.find(URL_OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + URL_OPEN.len_utf8()..];
        let end = after.find(URL_CLOSE).unwrap_or(after.len());
        if let Some((url, kind)) = after[..end]
            .parse::<usize>()
            .ok()
            .and_then(|n| state.urls.get(n))
        {
            let is_http = url.starts_with("http://") || url.starts_with("https://");
            let mapped = match kind {
                UrlKind::Image => {
                    if is_http && !images.contains(url) {
                        images.push(url.clone());
                    }
                    if is_http { (opts.image)(url) } else { None }
                }
                _ if is_http => (opts.link)(url),
                _ => None,
            };
            let url = mapped.unwrap_or_else(|| url.clone());
            if *kind == UrlKind::Bare {
                out.push_str(&url);
            } else {
                out.push_str(&destination(&url));
            }
        }
        rest = after[end..]
            .strip_prefix(URL_CLOSE)
            .unwrap_or(&after[end..]);
    }
    out.push_str(rest);

    // Remaining markers: a <br> inside a line is a hard break.
    let md = hard_breaks(&out).replace(BACKTICK, "`").replace(TILDE, "~");
    let md: String = md
        .chars()
        .filter(|c| !('\u{F8F0}'..='\u{F8FF}').contains(c))
        .collect();
    let md = escape_entities(&md);

    let md = md.trim();
    let markdown = if md.is_empty() {
        String::new()
    } else {
        format!("{md}\n")
    };
    Converted {
        raw_html_blocks: count_raw_html(&markdown),
        markdown,
        scripts_removed: state.scripts_removed,
        images,
        warnings: state.warnings,
    }
}

/// A `<br>` is a hard break (`\` at the end of the line). The next line is
/// still the same paragraph, so text there that would start a block (`# `,
/// `- `, `1. `, `> `, a fence, `===`) is escaped.
fn hard_breaks(md: &str) -> String {
    let marker = format!("{BR}\n");
    let mut parts = md.split(marker.as_str());
    let mut out = String::with_capacity(md.len());
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        out.push_str("\\\n");
        let rest = part.trim_start_matches(' ');
        out.push_str(&part[..part.len() - rest.len()]);
        let b = rest.as_bytes();
        let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if matches!(b.first(), Some(b'#' | b'>' | b'=' | b'+' | b'-' | b'*'))
            || rest.starts_with("```")
            || rest.starts_with("~~~")
        {
            out.push('\\');
            out.push_str(rest);
        } else if digits > 0 && matches!(b.get(digits), Some(b'.' | b')')) {
            out.push_str(&rest[..digits]);
            out.push('\\');
            out.push_str(&rest[digits..]);
        } else {
            out.push_str(rest);
        }
    }
    out
}

/// Deeper than this, a body is not converted (see [`to_markdown`]).
pub const MAX_NESTING: usize = 400;

/// How deep elements nest, counted from the tags alone (void elements and `/>`
/// close themselves; implied closes are not known, so this over-counts a little).
fn nesting_depth(html: &str) -> usize {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    let bytes = html.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'<') {
        i += at + 1;
        if bytes[i..].starts_with(b"!--") {
            i = html[i..].find("-->").map_or(bytes.len(), |e| i + e + 3);
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if len == 0 || !bytes[start].is_ascii_alphabetic() {
            continue;
        }
        let name = html[start..start + len].to_ascii_lowercase();
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(bytes.len(), |e| start + e);
        if closing {
            depth = depth.saturating_sub(1);
        } else if !VOID.contains(&name.as_str()) && !html[..end].ends_with('/') {
            depth += 1;
            max = max.max(depth);
        }
        i = end.min(bytes.len());
    }
    max
}

/// A body too deep to convert: kept as raw HTML without its `<script>`s.
fn kept_unconverted(html: &str) -> Converted {
    let scripts = std::cell::Cell::new(0usize);
    let kept = lol_html::rewrite_str(
        html,
        lol_html::RewriteStrSettings {
            element_content_handlers: vec![lol_html::element!("script, style", |el| {
                if el.tag_name() == "script" {
                    scripts.set(scripts.get() + 1);
                }
                el.remove();
                Ok(())
            })],
            ..lol_html::RewriteStrSettings::new()
        },
    )
    .unwrap_or_default();
    Converted {
        markdown: format!("{}\n", kept.trim()),
        raw_html_blocks: 1,
        scripts_removed: scripts.get(),
        images: Vec::new(),
        warnings: vec![format!(
            "the body nests HTML more than {MAX_NESTING} levels deep; it is kept as HTML, unconverted"
        )],
    }
}

/// A comment body (untrusted HTML or text) -> plain text: <br> and </p><p> become newlines,
/// other tags dropped, entities decoded, runs of blank lines collapsed, trimmed.
pub fn comment_text(html: &str) -> String {
    fn walk(el: scraper::ElementRef, out: &mut String) {
        for child in el.children() {
            match child.value() {
                scraper::Node::Text(t) => out.push_str(t),
                scraper::Node::Element(e) => {
                    let name = e.name();
                    if matches!(name, "script" | "style" | "template") {
                        continue;
                    }
                    if name == "br" {
                        out.push('\n');
                        continue;
                    }
                    let is_block = matches!(
                        name,
                        "p" | "div"
                            | "li"
                            | "blockquote"
                            | "pre"
                            | "h1"
                            | "h2"
                            | "h3"
                            | "h4"
                            | "h5"
                            | "h6"
                            | "ul"
                            | "ol"
                            | "table"
                            | "tr"
                    );
                    if is_block {
                        out.push_str("\n\n");
                    }
                    if let Some(e) = scraper::ElementRef::wrap(child) {
                        walk(e, out);
                    }
                    if is_block {
                        out.push_str("\n\n");
                    }
                }
                _ => {}
            }
        }
    }
    let doc = scraper::Html::parse_fragment(&html.replace("\r\n", "\n"));
    let mut text = String::new();
    walk(doc.root_element(), &mut text);
    let mut out = String::new();
    let mut blank = 0;
    for line in text.split('\n') {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(html: &str) -> Converted {
        to_markdown(
            html,
            &Options {
                link: &|_| None,
                image: &|_| None,
            },
        )
    }

    fn md(html: &str) -> String {
        conv(html).markdown
    }

    fn render(md: &str) -> String {
        let mut out = String::new();
        pulldown_cmark::html::push_html(&mut out, Parser::new_ext(md, pulldown_options()));
        out
    }

    #[test]
    fn a_body_nested_too_deep_is_kept_without_scripts() {
        assert_eq!(
            nesting_depth("<p>a<br>b<img src=x /></p><!-- <div><div> --><div><span>x</span></div>"),
            2
        );
        let deep = format!(
            "{}x<script>alert(1)</script>{}",
            "<div>".repeat(50_000),
            "</div>".repeat(50_000)
        );
        let c = conv(&deep);
        assert_eq!(c.scripts_removed, 1);
        assert!(!c.markdown.contains("script"));
        assert!(c.markdown.starts_with("<div><div>"));
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn block_markers_after_a_line_break_stay_text() {
        let html = "<p>一行目<br />\n# 見出しではない<br />\n- 箇条書きでもない<br />\n1. 番号もない<br />\n> 引用でもない<br />\n```\n</p>";
        let markdown = md(html);
        let rendered = render(&markdown);
        assert!(rendered.starts_with("<p>一行目<br />"), "{rendered}");
        assert_eq!(rendered.matches("<p>").count(), 1, "{markdown}\n{rendered}");
        for text in [
            "# 見出しではない",
            "- 箇条書きでもない",
            "1. 番号もない",
            "&gt; 引用でもない",
        ] {
            assert!(rendered.contains(text), "{text}: {rendered}");
        }
    }

    #[test]
    fn a_gist_script_becomes_its_page() {
        let c = conv(
            "<p>例:</p><script src=\"https://gist.github.com/someone/0123abcd.js\"></script><cite class=\"hatena-citation\"><a href=\"https://gist.github.com/someone/0123abcd\">gist.github.com</a></cite>",
        );
        assert!(
            c.markdown
                .contains("\nhttps://gist.github.com/someone/0123abcd\n"),
            "{}",
            c.markdown
        );
        assert_eq!(c.scripts_removed, 1);
    }

    #[test]
    fn paragraphs_and_breaks() {
        let m = md("<p>一行目<br />\n二行目</p>\n<p>次の段落<br></p>");
        assert_eq!(m, "一行目\\\n二行目\n\n次の段落\n");
        assert_eq!(render(&m), "<p>一行目<br />\n二行目</p>\n<p>次の段落</p>\n");
        // Two breaks in a row were a paragraph break to the reader.
        assert_eq!(md("<p>a<br><br>b</p>"), "a\n\nb\n");
    }

    #[test]
    fn headings_keep_levels() {
        let m = md(
            r#"<div class="section"><h3 id="見出し">見出し</h3><p>本文</p><h4>小見出し</h4><h5>五</h5></div><h1>一</h1><h6>六</h6>"#,
        );
        assert_eq!(
            m,
            "### 見出し\n\n本文\n\n#### 小見出し\n\n##### 五\n\n# 一\n\n###### 六\n"
        );
    }

    #[test]
    fn nested_lists() {
        let m = md(
            "<ul>\n<li>りんご</li>\n<li>果物\n<ul>\n<li>みかん</li>\n</ul>\n</li>\n</ul>\n<ol class=\"x\"><li>一</li><li>二</li></ol>",
        );
        assert_eq!(m, "- りんご\n- 果物\n  - みかん\n\n1. 一\n2. 二\n");
    }

    #[test]
    fn tables_with_and_without_thead() {
        let hatena = md(
            "<table><tr><th>言語</th><th>年</th></tr><tr><td>Ruby</td><td>1995</td></tr></table>",
        );
        assert_eq!(hatena, "| 言語 | 年 |\n| --- | --- |\n| Ruby | 1995 |\n");
        let wp = md(
            "<table class=\"wp\"><thead><tr><th>a</th></tr></thead><tbody><tr><td>x|y</td></tr></tbody></table>",
        );
        assert_eq!(wp, "| a |\n| --- |\n| x\\|y |\n");
        assert!(render(&wp).contains("<td>x|y</td>"));
        // A cell with a list has no GFM form: the table stays HTML.
        let c = conv("<table><tr><td><ul><li>a</li></ul></td></tr></table>");
        assert!(c.markdown.starts_with("<table>"), "{}", c.markdown);
        assert_eq!(c.raw_html_blocks, 1);
    }

    #[test]
    fn blockquote_and_inline() {
        let m = md(
            "<blockquote><p>引用<strong>太字</strong>と<em>斜体</em>と<del>消し</del>と<s>線</s>と<code>a*b</code></p><p>二段落目</p></blockquote><hr><p><b>b</b><i>i</i><strike>st</strike></p>",
        );
        assert_eq!(
            m,
            "> 引用**太字**と*斜体*と~~消し~~と~~線~~と`a*b`\n>\n> 二段落目\n\n---\n\n**b***i*~~st~~\n"
        );
        let h = render(&m);
        assert!(h.contains("<strong>太字</strong>"), "{h}");
        assert!(h.contains("<del>消し</del>"), "{h}");
        assert!(h.contains("<code>a*b</code>"), "{h}");
    }

    #[test]
    fn emphasis_around_japanese_punctuation_stays_html() {
        let c = conv("<p>これは<strong>「重要」</strong>です</p>");
        assert_eq!(c.markdown, "これは<strong>「重要」</strong>です\n");
        assert_eq!(c.raw_html_blocks, 1);
        assert!(render(&c.markdown).contains("<strong>「重要」</strong>"));
    }

    #[test]
    fn links_and_images() {
        let c = to_markdown(
            r#"<p><a href="https://old.example.com/entry/2020/01/01/000000">前の記事</a>と<a href="https://other.example.net/a_(b)">外</a>と<a href="javascript:void(0)">押す</a></p><p><img src="//cdn.example.com/a.png" alt="猫の[写真]"></p>"#,
            &Options {
                link: &|u| {
                    u.starts_with("https://old.example.com/")
                        .then(|| "/2020/01/01/000000/".to_string())
                },
                image: &|u| u.ends_with("a.png").then(|| "a.png".to_string()),
            },
        );
        assert_eq!(
            c.markdown,
            "[前の記事](/2020/01/01/000000/)と[外](https://other.example.net/a_(b))と押す\n\n![猫の\\[写真\\]](a.png)\n"
        );
        assert_eq!(c.images, vec!["https://cdn.example.com/a.png"]);
    }

    #[test]
    fn text_that_looks_like_html_stays_text() {
        let m = md(
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; &quot;q&quot; &#x3042;&nbsp;x</p>",
        );
        let h = render(&m);
        assert_eq!(
            h,
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; \"q\" あ\u{a0}x</p>\n"
        );
        assert_eq!(conv("<p>&lt;b&gt;</p>").raw_html_blocks, 0);
    }

    #[test]
    fn markdown_specials_escaped_only_as_needed() {
        let m = md(
            "<p># 見出しではない</p><p>a*b*c と [括弧] と snake_case と 1. 番号</p><p>1. 番号ではない</p>",
        );
        let h = render(&m);
        assert_eq!(
            h,
            "<p># 見出しではない</p>\n<p>a*b*c と [括弧] と snake_case と 1. 番号</p>\n<p>1. 番号ではない</p>\n"
        );
    }

    #[test]
    fn hatena_code_block() {
        let html = "<pre class=\"code lang-ruby\" data-lang=\"ruby\" data-unlink><span class=\"synPreProc\">require</span> <span class=\"synConstant\">&quot;json&quot;</span>\n\n  <span class=\"synStatement\">if</span> a &lt; b &amp;&amp; `ls`\n    puts <span class=\"synConstant\">&quot;~&quot;</span>\n  <span class=\"synStatement\">end</span>\n</pre>";
        assert_eq!(
            md(html),
            "```ruby\nrequire \"json\"\n\n  if a < b && `ls`\n    puts \"~\"\n  end\n```\n"
        );
        assert_eq!(
            md("<pre class=\"code\" data-lang=\"\" data-unlink>`x`\n*y*</pre>"),
            "```\n`x`\n*y*\n```\n"
        );
    }

    #[test]
    fn pre_code_language_and_long_fence() {
        assert_eq!(
            md("<pre><code class=\"language-rust\">fn main() {}\n</code></pre>"),
            "```rust\nfn main() {}\n```\n"
        );
        assert_eq!(
            md("<pre class=\"wp-block-code\"><code>```md\nx\n```</code></pre>"),
            "````\n```md\nx\n```\n````\n"
        );
    }

    #[test]
    fn hatena_footnotes() {
        let html = r##"<p>本文<a href="#f-1b2c3d4e" name="fn-1b2c3d4e" title="注の内容">*1</a>と<a href="#f-22222222" name="fn-22222222" title="二つ目">*2</a></p>
<div class="footnote">
<p class="footnote"><a href="#fn-1b2c3d4e" name="f-1b2c3d4e" class="footnote-number">*1</a><span class="footnote-delimiter">:</span><span class="footnote-text">注の<a href="https://example.com">内容</a></span></p>
</div>"##;
        let m = md(html);
        assert_eq!(
            m,
            "本文[^1]と[^2]\n\n[^1]: 注の[内容](https://example.com)\n[^2]: 二つ目\n"
        );
        assert!(render(&m).contains("footnote-definition"));
    }

    #[test]
    fn more_marker_and_comments() {
        let c = conv("<p>概要</p>\n<!-- more -->\n<p>続き<!-- 内緒 --></p><p>x</p><!--MORE-->");
        assert_eq!(
            c.markdown,
            "概要\n\n<!--more-->\n\n続き\n\nx\n\n<!--more-->\n"
        );
        assert_eq!(c.raw_html_blocks, 0);
    }

    #[test]
    fn hatena_link_cards() {
        let html = r#"<p><iframe class="embed-card embed-blogcard js-embed-blogcard" style="display: block; width: 100%;" title="T" src="https://hatenablog-parts.com/embed?url=https%3A%2F%2Fold.example.com%2Fentry%2F2020%2F01%2F01%2F000000" frameborder="0" scrolling="no"></iframe><cite class="hatena-citation"><a href="https://old.example.com/entry/2020/01/01/000000">old.example.com</a></cite></p>
<p>間</p><iframe class="embed-card embed-webcard" src="https://hatenablog-parts.com/embed?url=https%3A%2F%2Fexample.net%2F" title="x"></iframe><cite class="hatena-citation"><a href="https://example.net/">example.net</a></cite>"#;
        let c = to_markdown(
            html,
            &Options {
                link: &|u| {
                    u.contains("old.example.com")
                        .then(|| "/2020/01/01/000000/".to_string())
                },
                image: &|_| None,
            },
        );
        assert_eq!(
            c.markdown,
            "/2020/01/01/000000/\n\n間\n\nhttps://example.net/\n"
        );
        assert_eq!(c.raw_html_blocks, 0);
        // No url= on the iframe: the citation's link is the card.
        assert_eq!(
            md(
                r#"<iframe class="embed-card" src="https://hatenablog-parts.com/embed"></iframe><cite class="hatena-citation"><a href="https://a.example/">a</a></cite>"#
            ),
            "https://a.example/\n"
        );
    }

    #[test]
    fn youtube_twitter_and_other_iframes() {
        let c = conv(
            r#"<p><iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=oembed" frameborder="0" allowfullscreen></iframe><cite class="hatena-citation"><a href="https://youtu.be/dQw4w9WgXcQ">youtu.be</a></cite></p>
<blockquote class="twitter-tweet" data-lang="ja"><p lang="ja" dir="ltr">ツイート本文</p>&mdash; name (@user) <a href="https://twitter.com/user/status/123?ref_src=twsrc%5Etfw">January 1, 2020</a></blockquote> <script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>
<iframe src="https://player.example.net/v/1"></iframe>"#,
        );
        assert_eq!(
            c.markdown,
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ\n\n> ツイート本文\n>\n> — name (@user) January 1, 2020\n\nhttps://twitter.com/user/status/123\n\n<iframe src=\"https://player.example.net/v/1\"></iframe>\n"
        );
        assert_eq!(c.scripts_removed, 1);
        assert_eq!(c.raw_html_blocks, 1);
        assert_eq!(
            c.warnings,
            vec!["an iframe from player.example.net kept as HTML"]
        );
        assert_eq!(
            md(r#"<iframe src="https://www.youtube-nocookie.com/embed/abc"></iframe>"#),
            "https://www.youtube.com/watch?v=abc\n"
        );
    }

    #[test]
    fn scripts_and_styles_removed() {
        let c = conv(
            "<style>p{}</style><p>a</p><script>alert(1)</script><script src=\"x.js\"></script>",
        );
        assert_eq!(c.markdown, "a\n");
        assert_eq!(c.scripts_removed, 2);
    }

    #[test]
    fn hatena_fotolife() {
        let img = r#"<span itemscope itemtype="http://schema.org/Photograph"><img src="https://cdn-ak.f.st-hatena.com/images/fotolife/u/user/20200101/20200101123456.png" alt="f:id:user:20200101123456p:plain" width="1200" height="630" loading="lazy" title="" class="hatena-fotolife" itemprop="image"></span>"#;
        let c = conv(&format!("<p>{img}</p>"));
        assert_eq!(
            c.markdown,
            "![](https://cdn-ak.f.st-hatena.com/images/fotolife/u/user/20200101/20200101123456.png)\n"
        );
        assert_eq!(c.raw_html_blocks, 0);
        // A figure: caption as alt and as an italic line below.
        let fig = format!(
            r#"<figure class="figure-image figure-image-fotolife" title="夕焼け"><p>{img}</p><figcaption>夕焼け</figcaption></figure>"#
        );
        assert_eq!(
            md(&fig),
            "![夕焼け](https://cdn-ak.f.st-hatena.com/images/fotolife/u/user/20200101/20200101123456.png)\n\n*夕焼け*\n"
        );
        // Linked to its own fotolife page: just the image; recorded once.
        let linked = format!(
            r#"<p><a href="https://f.hatena.ne.jp/user/20200101123456" class="hatena-fotolife" itemprop="url">{img}</a></p><p>{img}</p><p><img src="data:image/gif;base64,R0lGOD" alt="点"></p>"#
        );
        let c = conv(&linked);
        assert!(
            c.markdown.starts_with("![](https://cdn-ak"),
            "{}",
            c.markdown
        );
        assert_eq!(c.images.len(), 1);
        assert!(c.markdown.contains("![点](data:image/gif;base64,R0lGOD)"));
    }

    #[test]
    fn keyword_links_are_plain_text() {
        assert_eq!(
            md(
                r#"<p><a class="keyword" href="http://d.hatena.ne.jp/keyword/Ruby">Ruby</a>と<a class="okeyword" href="https://d.hatena.ne.jp/keyword/%E7%8C%AB">猫</a></p>"#
            ),
            "Rubyと猫\n"
        );
    }

    #[test]
    fn wrappers_unwrap_styles_stay_html() {
        let c = conv(
            r#"<div class="section"><p><span>素の</span><span style="color: #ff0000">赤い</span>文字<sup>2</sup></p></div><div style="text-align:center"><p>中央</p></div>"#,
        );
        assert_eq!(
            c.markdown,
            "素の<span style=\"color: #ff0000\">赤い</span>文字<sup>2</sup>\n\n<div style=\"text-align:center\"><p>中央</p></div>\n"
        );
        assert_eq!(c.raw_html_blocks, 3);
    }

    #[test]
    fn bare_url_paragraph_stays_a_card() {
        let c = to_markdown(
            "<p>https://example.com/a_b?x=1&amp;y=2</p><p>前 https://example.com/a_b 後</p><table><tr><td>-5度</td></tr></table>",
            &Options {
                link: &|_| None,
                image: &|_| None,
            },
        );
        assert_eq!(
            c.markdown,
            "https://example.com/a_b?x=1&y=2\n\n前 https://example.com/a\\_b 後\n\n| -5度 |\n| --- |\n"
        );
    }

    #[test]
    fn comment_text_plain() {
        assert_eq!(
            comment_text(
                "<p>こんにちは<br>二行目</p><p>&lt;b&gt; &amp; <a href=\"x\">リンク</a><script>x</script></p>\n\n\n<p></p>"
            ),
            "こんにちは\n二行目\n\n<b> & リンク"
        );
        assert_eq!(
            comment_text("ただの\n\n\n\nテキスト  "),
            "ただの\n\nテキスト"
        );
    }
}
