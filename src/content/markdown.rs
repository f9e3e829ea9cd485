//! Markdown → HTML, plus the plain text the analysis and summaries need.
//!
//! A paragraph that holds nothing but one URL is not rendered here: it becomes a
//! [`Segment::Card`] so the enrich stage can turn it into a link card. Everything
//! else becomes [`Segment::Html`].

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::highlight;
use super::shortcodes::expanded::{Expanded, Placeholders};
use crate::util::{collapse_whitespace, escape_html, grapheme_prefix, slugify};

const MORE_MARKER: &str = "<!--more-->";

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Html(String),
    /// A URL alone in its own top-level paragraph, and the source line it is on.
    Card {
        url: String,
        line: usize,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Heading {
    pub level: u8,
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub segments: Vec<Segment>,
    /// Text of headings, paragraphs, lists and tables: no code blocks, no URLs, no markup.
    pub text: String,
    /// Text of the code blocks, one after another: what site search finds besides
    /// `text` (related posts leave code out).
    pub code: String,
    /// Text of the top-level paragraphs only: what an automatic summary is cut from.
    pub prose: String,
    /// Plain text of the part before `<!--more-->`, when the marker is present.
    pub summary_text: Option<String>,
    pub headings: Vec<Heading>,
    /// Source of the first image, for og:image when the front matter names none.
    pub first_image: Option<String>,
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders `markdown` (without shortcodes) whose first line is line `first_line`
/// of its source file.
pub fn render(markdown: &str, first_line: usize) -> Rendered {
    render_expanded(&Expanded::verbatim(markdown), first_line)
}

/// Renders a body whose shortcodes were expanded: each `{{< >}}` token becomes
/// its HTML in the segments and its plain text in the text.
pub fn render_expanded(expanded: &Expanded, first_line: usize) -> Rendered {
    render_with(expanded, first_line, false)
}

/// [`render_expanded`], with `:emoji:` codes outside code turned into emoji when
/// `emoji` is set (Hugo's `enableEmoji`).
pub fn render_with(expanded: &Expanded, first_line: usize, emoji: bool) -> Rendered {
    let markdown = expanded.markdown.as_str();
    let mut out = Rendered::default();
    let (before_more, has_more) = match find_more_marker(markdown) {
        Some(i) => (&markdown[..i], true),
        None => (markdown, false),
    };

    let mut ids = HeadingIds::default();
    let mut text = String::new();
    let source = Source {
        expanded,
        first_line,
        emoji,
    };
    let events = transform(markdown, &source, &mut out, &mut ids, &mut text);
    out.text = text;
    out.segments = split_segments(events, &expanded.placeholders);

    if has_more {
        let mut scratch = Rendered::default();
        let mut scratch_ids = HeadingIds::default();
        let mut summary_text = String::new();
        transform(
            before_more,
            &source,
            &mut scratch,
            &mut scratch_ids,
            &mut summary_text,
        );
        out.summary_text = Some(collapse_whitespace(&summary_text));
    }
    out
}

/// What the renderer needs besides the Markdown: the shortcode tokens and where
/// each offset came from.
struct Source<'e> {
    expanded: &'e Expanded,
    first_line: usize,
    emoji: bool,
}

impl Source<'_> {
    fn tokens(&self) -> &Placeholders {
        &self.expanded.placeholders
    }

    /// The source file's line of an offset in the Markdown.
    fn line(&self, offset: usize) -> usize {
        self.first_line + self.expanded.map.line_at(offset) - 1
    }
}

/// Replaces GitHub-style `:shortcode:`s (`:smile:`, `:+1:`) by their emoji; an
/// unknown one stays as written.
fn emojify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
            .count();
        let emoji = (name_len > 0 && after[name_len..].starts_with(':'))
            .then(|| emojis::get_by_shortcode(&after[..name_len]))
            .flatten();
        match emoji {
            Some(e) => {
                out.push_str(e.as_str());
                rest = &after[name_len + 1..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `<!--more-->` on a line of its own, outside code.
fn find_more_marker(markdown: &str) -> Option<usize> {
    let mut offset = 0;
    let mut in_fence: Option<&str> = None;
    for line in markdown.split_inclusive('\n') {
        let t = line.trim();
        if let Some(f) = in_fence {
            if t.starts_with(f) {
                in_fence = None;
            }
        } else if t.starts_with("```") {
            in_fence = Some("```");
        } else if t.starts_with("~~~") {
            in_fence = Some("~~~");
        } else if t == MORE_MARKER {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

enum Piece<'a> {
    Event(Event<'a>),
    Card { url: String, line: usize },
}

/// Runs the parser and rewrites what plain pulldown-cmark output lacks: heading ids,
/// highlighted code, URL-only paragraphs. Collects text, headings and images on the way.
fn transform<'a>(
    markdown: &'a str,
    source: &Source,
    out: &mut Rendered,
    ids: &mut HeadingIds,
    text: &mut String,
) -> Vec<Piece<'a>> {
    let mut pieces: Vec<Piece<'a>> = Vec::new();
    let mut in_code_block = false;
    let emoji = source.emoji;
    let mut events: Vec<(Event<'a>, std::ops::Range<usize>)> = Parser::new_ext(markdown, options())
        .into_offset_iter()
        .map(move |(event, range)| {
            match &event {
                Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
                Event::End(TagEnd::CodeBlock) => in_code_block = false,
                Event::Text(t) if emoji && !in_code_block && t.contains(':') => {
                    return (Event::Text(emojify(t).into()), range);
                }
                _ => {}
            }
            (event, range)
        })
        .collect();
    join_east_asian_lines(&mut events);
    // References are numbered in the order they appear.
    let mut footnotes = Footnotes::default();
    for (event, _) in events.iter_mut() {
        if let Event::FootnoteReference(label) = event {
            *event = Event::InlineHtml(footnotes.reference(label).into());
        }
    }
    let mut iter = events.into_iter();
    // Depth of open block containers (lists, quotes, footnotes, tables): a URL-only
    // paragraph inside one stays an ordinary link.
    let mut container_depth = 0usize;
    let mut in_image = false;

    while let Some((event, range)) = iter.next() {
        match event {
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                let mut inner = Vec::new();
                let mut heading_text = String::new();
                for (e, _) in iter.by_ref() {
                    match &e {
                        Event::End(TagEnd::Heading(_)) => break,
                        Event::Text(t) | Event::Code(t) => {
                            heading_text.push_str(&source.tokens().plain(t))
                        }
                        _ => {}
                    }
                    inner.push(e);
                }
                let heading_text = collapse_whitespace(&heading_text);
                let id = ids.unique(
                    id.map(|s| s.to_string())
                        .unwrap_or_else(|| slugify(&heading_text)),
                );
                push_text(text, &heading_text);
                text.push('\n');
                out.headings.push(Heading {
                    level: level as u8,
                    id: id.clone(),
                    text: heading_text,
                });
                pieces.push(Piece::Event(Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(id)),
                    classes,
                    attrs,
                })));
                pieces.extend(inner.into_iter().map(Piece::Event));
                pieces.push(Piece::Event(Event::End(TagEnd::Heading(level))));
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                let mut inner = Vec::new();
                for (e, _) in iter.by_ref() {
                    if matches!(e, Event::End(TagEnd::FootnoteDefinition)) {
                        break;
                    }
                    inner.push(e);
                }
                footnotes.define(label.to_string(), inner);
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match &kind {
                    CodeBlockKind::Fenced(info) => info
                        .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                let mut code = String::new();
                for (e, _) in iter.by_ref() {
                    match e {
                        Event::End(TagEnd::CodeBlock) => break,
                        Event::Text(t) => code.push_str(&t),
                        _ => {}
                    }
                }
                out.code.push_str(&source.tokens().plain(&code));
                out.code.push('\n');
                let mut html = highlight::highlight(&code, &lang);
                // A shortcode's token that the highlighter split would leak: show
                // such code unhighlighted, every token whole.
                if !source.tokens().survive(&code, &html) {
                    html = highlight::plain(&code, &lang);
                }
                pieces.push(Piece::Event(Event::Html(html.into())));
            }
            Event::Start(Tag::Paragraph) if container_depth == 0 => {
                let start = range.start;
                let mut inner = Vec::new();
                for (e, _) in iter.by_ref() {
                    if matches!(e, Event::End(TagEnd::Paragraph)) {
                        break;
                    }
                    inner.push(e);
                }
                if let Some(url) = lone_url(&inner) {
                    pieces.push(Piece::Card {
                        url,
                        line: source.line(start),
                    });
                    continue;
                }
                pieces.push(Piece::Event(Event::Start(Tag::Paragraph)));
                let before = text.len();
                for e in inner {
                    collect(&e, source.tokens(), text, out, &mut in_image);
                    pieces.push(Piece::Event(e));
                }
                pieces.push(Piece::Event(Event::End(TagEnd::Paragraph)));
                out.prose.push_str(&text[before..]);
                out.prose.push('\n');
                text.push('\n');
            }
            other => {
                match &other {
                    Event::Start(
                        Tag::List(_)
                        | Tag::BlockQuote(_)
                        | Tag::FootnoteDefinition(_)
                        | Tag::Table(_)
                        | Tag::DefinitionList,
                    ) => container_depth += 1,
                    Event::End(
                        TagEnd::List(_)
                        | TagEnd::BlockQuote(_)
                        | TagEnd::FootnoteDefinition
                        | TagEnd::Table
                        | TagEnd::DefinitionList,
                    ) => container_depth = container_depth.saturating_sub(1),
                    Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableCell) => {
                        text.push('\n')
                    }
                    _ => {}
                }
                collect(&other, source.tokens(), text, out, &mut in_image);
                pieces.push(Piece::Event(other));
            }
        }
    }
    for event in footnotes.section() {
        collect(&event, source.tokens(), text, out, &mut in_image);
        pieces.push(Piece::Event(event));
    }
    pieces
}

/// Footnotes as readers expect them: references numbered in the order they
/// are first made, every definition gathered at the end in one
/// `<section class="footnotes">` with a link back, and ids of their own
/// (`fn-1`, `fnref-1`) that cannot collide with a heading's.
#[derive(Default)]
struct Footnotes<'a> {
    /// Labels in the order of their first reference: the index + 1 is the number.
    order: Vec<String>,
    /// How many times each label was referenced (for `fnref-1-2` ids).
    uses: HashMap<String, usize>,
    definitions: HashMap<String, Vec<Event<'a>>>,
}

impl<'a> Footnotes<'a> {
    fn number(&mut self, label: &str) -> usize {
        match self.order.iter().position(|l| l == label) {
            Some(i) => i + 1,
            None => {
                self.order.push(label.to_string());
                self.order.len()
            }
        }
    }

    fn reference(&mut self, label: &str) -> String {
        let n = self.number(label);
        let uses = self.uses.entry(label.to_string()).or_default();
        *uses += 1;
        let id = if *uses == 1 {
            format!("fnref-{n}")
        } else {
            format!("fnref-{n}-{uses}")
        };
        format!(
            "<sup class=\"footnote-ref\"><a href=\"#fn-{n}\" id=\"{id}\" role=\"doc-noteref\">{n}</a></sup>"
        )
    }

    fn define(&mut self, label: String, events: Vec<Event<'a>>) {
        self.definitions.entry(label).or_insert(events);
    }

    /// The section of every definition, referenced ones first in reference order.
    fn section(mut self) -> Vec<Event<'a>> {
        let mut unreferenced: Vec<String> = self
            .definitions
            .keys()
            .filter(|l| !self.order.contains(l))
            .cloned()
            .collect();
        unreferenced.sort();
        for label in unreferenced {
            self.number(&label);
        }
        if self.definitions.is_empty() {
            return Vec::new();
        }
        let mut out = vec![Event::Html(
            "<section class=\"footnotes\" role=\"doc-endnotes\">\n<hr>\n<ol>\n".into(),
        )];
        for (i, label) in self.order.iter().enumerate() {
            let n = i + 1;
            let Some(mut body) = self.definitions.remove(label) else {
                continue;
            };
            out.push(Event::Html(format!("<li id=\"fn-{n}\">\n").into()));
            let back = match self.uses.get(label).copied().unwrap_or(0) {
                0 => String::new(),
                uses => (1..=uses)
                    .map(|k| {
                        let id = if k == 1 { format!("fnref-{n}") } else { format!("fnref-{n}-{k}") };
                        format!(" <a href=\"#{id}\" class=\"footnote-backref\" role=\"doc-backlink\" aria-label=\"本文の{n}に戻る\">↩</a>")
                    })
                    .collect(),
            };
            // The link back goes at the end of the definition's last paragraph.
            match body
                .iter()
                .rposition(|e| matches!(e, Event::End(TagEnd::Paragraph)))
            {
                Some(at) => body.insert(at, Event::Html(back.into())),
                None => body.push(Event::Html(back.into())),
            }
            out.extend(body);
            out.push(Event::Html("</li>\n".into()));
        }
        out.push(Event::Html("</ol>\n</section>\n".into()));
        out
    }
}

/// A line break inside a paragraph joins Japanese (and Chinese) text with
/// nothing, as it was written to be read: 「巡りました。観光客」, not
/// 「巡りました。 観光客」. Between Latin words it stays a space. The rule is
/// Hugo's `eastAsianLineBreaks`: nothing when the character on either side is
/// East Asian (kana, kanji, full-width punctuation); Hangul keeps its spaces.
fn join_east_asian_lines(events: &mut [(Event<'_>, std::ops::Range<usize>)]) {
    for i in 0..events.len() {
        if !matches!(events[i].0, Event::SoftBreak) {
            continue;
        }
        let before = events[..i]
            .iter()
            .rev()
            .find_map(|(e, _)| edge_char(e, true));
        let after = events[i + 1..]
            .iter()
            .find_map(|(e, _)| edge_char(e, false));
        let joined = matches!(before, Some(Some(c)) if is_east_asian(c))
            || matches!(after, Some(Some(c)) if is_east_asian(c));
        if joined {
            events[i].0 = Event::Text(CowStr::Borrowed(""));
        }
    }
}

/// The character a text event ends (`last`) or starts with; `Some(None)` for an
/// event that stops the search (a break, an image, a block); None to look past
/// it (inline tags opening and closing).
fn edge_char(event: &Event, last: bool) -> Option<Option<char>> {
    match event {
        Event::Text(t) | Event::Code(t) if !t.is_empty() => Some(if last {
            t.chars().next_back()
        } else {
            t.chars().next()
        }),
        Event::Text(_) => None,
        Event::Start(Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. })
        | Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link) => {
            None
        }
        _ => Some(None),
    }
}

/// Kana, kanji and the full-width forms and punctuation of Japanese and Chinese.
fn is_east_asian(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{303F}'   // CJK symbols and punctuation 、。「」
        | '\u{3040}'..='\u{30FF}' // hiragana, katakana
        | '\u{31F0}'..='\u{31FF}' // katakana extensions
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{FE30}'..='\u{FE4F}' // CJK compatibility forms
        | '\u{FF00}'..='\u{FFEF}' // full-width and half-width forms
        | '\u{20000}'..='\u{3FFFF}' // extensions B and later
    )
}

/// Gathers analysis text and images from an inline event; shortcode tokens count
/// as their output's text.
fn collect(
    event: &Event,
    tokens: &Placeholders,
    text: &mut String,
    out: &mut Rendered,
    in_image: &mut bool,
) {
    match event {
        Event::Start(Tag::Image { dest_url, .. }) => {
            *in_image = true;
            // An image named by a shortcode is not known before rendering.
            if out.first_image.is_none() && !tokens.active(dest_url) {
                out.first_image = Some(dest_url.to_string());
            }
        }
        Event::End(TagEnd::Image) => *in_image = false,
        Event::Text(t) | Event::Code(t) if !*in_image => push_text(text, &tokens.plain(t)),
        Event::SoftBreak | Event::HardBreak => text.push(' '),
        _ => {}
    }
}

/// Appends text with URLs removed: they carry no meaning for related posts. Only
/// the URL goes: Japanese text written right after it (`http://x.jp」と言った`)
/// stays, for related posts and for search.
fn push_text(text: &mut String, t: &str) {
    let mut first = true;
    for word in t.split(' ') {
        if !first {
            text.push(' ');
        }
        first = false;
        if word.starts_with("http://") || word.starts_with("https://") {
            let url_len = word
                .find(|c: char| !c.is_ascii_graphic() || matches!(c, '"' | '<' | '>' | '`'))
                .unwrap_or(word.len());
            text.push_str(&word[url_len..]);
        } else {
            text.push_str(word);
        }
    }
}

/// The URL when a paragraph is exactly one bare URL or one autolink.
fn lone_url(events: &[Event]) -> Option<String> {
    let mut url = String::new();
    let mut autolink_dest: Option<String> = None;
    for e in events {
        match e {
            Event::Text(t) => url.push_str(t),
            Event::Start(Tag::Link {
                link_type: LinkType::Autolink,
                dest_url,
                ..
            }) if autolink_dest.is_none() && url.is_empty() => {
                autolink_dest = Some(dest_url.to_string())
            }
            Event::End(TagEnd::Link) if autolink_dest.is_some() => {}
            _ => return None,
        }
    }
    let url = url.trim();
    if let Some(dest) = autolink_dest
        && dest != url
    {
        return None;
    }
    let is_url = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == '"');
    is_url.then(|| url.to_string())
}

/// A plain link in its own paragraph: what a card falls back to.
pub fn link_paragraph(url: &str) -> String {
    let u = escape_html(url);
    format!("<p><a href=\"{u}\">{u}</a></p>\n")
}

fn split_segments(pieces: Vec<Piece>, tokens: &Placeholders) -> Vec<Segment> {
    // Render in one pass so footnote numbering spans the whole document; cards are
    // cut out afterwards at markers no Markdown source can produce (the parser escapes `\0`).
    let mut cards = Vec::new();
    let events = pieces.into_iter().map(|p| match p {
        Piece::Event(e) => e,
        Piece::Card { url, line } => {
            cards.push((url, line));
            Event::Html("\u{0}CARD\u{0}".into())
        }
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    let mut segments = Vec::new();
    let mut cards = cards.into_iter();
    for (i, part) in html.split("\u{0}CARD\u{0}").enumerate() {
        if i > 0
            && let Some((url, line)) = cards.next()
        {
            segments.push(Segment::Card { url, line });
        }
        if !part.is_empty() {
            segments.push(Segment::Html(tokens.substitute(part)));
        }
    }
    segments
}

/// The heading ids of one document. Each base remembers the next suffix to try, so
/// 20,000 equal headings take linear time, not quadratic.
#[derive(Default)]
struct HeadingIds {
    used: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl HeadingIds {
    fn unique(&mut self, base: String) -> String {
        let base = if base.is_empty() {
            "section".to_string()
        } else {
            base
        };
        if self.used.insert(base.clone()) {
            return base;
        }
        let n = self.next_suffix.entry(base.clone()).or_insert(1);
        loop {
            let id = format!("{base}-{n}");
            *n += 1;
            if self.used.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// Plain-text summary of about `limit` characters: cut after a Japanese or Latin
/// sentence end when one falls in the second half, else at a word boundary with "…".
/// Every cut falls between grapheme clusters (see [`grapheme_prefix`]).
pub fn summarize(text: &str, limit: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    let text = collapse_whitespace(text);
    if text.chars().count() <= limit {
        return text;
    }
    let window = grapheme_prefix(&text, limit);
    // Byte offsets in `window`: after the last sentence end, before the last soft break.
    let (mut sentence_end, mut soft_break) = (None, None);
    let mut chars = 0;
    for (at, cluster) in window.grapheme_indices(true) {
        let first = cluster.chars().next().unwrap_or(' ');
        if matches!(first, '。' | '！' | '？' | '!' | '?' | '」') && chars >= limit / 3 {
            sentence_end = Some(at + cluster.len());
        }
        if (first.is_whitespace() || matches!(first, '、' | '，' | ',')) && chars >= limit / 2 {
            soft_break = Some(at);
        }
        chars += cluster.chars().count();
    }
    if let Some(end) = sentence_end {
        return window[..end].to_string();
    }
    let cut = soft_break.unwrap_or(window.len());
    let mut s = window[..cut]
        .trim_end_matches(['、', '，', ',', ' '])
        .to_string();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_leave_the_text_but_words_glued_after_them_stay() {
        let r = render(
            "写真 http://example.com/x」と、つぶやいた。 https://a.jp/b 次へ\n",
            1,
        );
        assert_eq!(r.text.trim(), "写真 」と、つぶやいた。  次へ");
    }

    #[test]
    fn emoji_codes_become_emoji_outside_code_when_asked() {
        let md = "いいね :+1: と :smile: と :nope: と 10:30:00\n\n`:smile:`\n\n```\n:smile:\n```\n";
        let on = render_with(&Expanded::verbatim(md), 1, true);
        let html: String = on
            .segments
            .iter()
            .map(|s| match s {
                Segment::Html(h) => h.clone(),
                Segment::Card { url, .. } => url.clone(),
            })
            .collect();
        assert!(
            html.contains("いいね 👍 と 😄 と :nope: と 10:30:00"),
            "{html}"
        );
        assert!(html.contains("<code>:smile:</code>"), "{html}");
        assert!(
            html.contains(":smile:\n</code>") || html.matches(":smile:").count() == 2,
            "{html}"
        );
        assert!(on.text.contains("👍"));
        let off = render(md, 1);
        assert!(!off.text.contains("👍"));
    }

    use super::*;

    fn html(r: &Rendered) -> String {
        r.segments
            .iter()
            .map(|s| match s {
                Segment::Html(h) => h.clone(),
                Segment::Card { url, .. } => format!("[card {url}]"),
            })
            .collect()
    }

    #[test]
    fn a_line_break_in_japanese_joins_without_a_space() {
        let md = "京都を巡りました。\n観光客が多く、\n**とても**賑やか。\nThen we\nwent home.\n日本語と\nEnglish の間、\n한국어\n문장\n\n<!--more-->\n\n続き\n";
        let r = render(md, 1);
        let h = html(&r);
        assert!(
            h.contains("京都を巡りました。観光客が多く、<strong>とても</strong>賑やか。"),
            "{h}"
        );
        assert!(h.contains("Then we\nwent home."), "{h}");
        assert!(
            h.contains("日本語とEnglish の間、한국어"),
            "either side East Asian: {h}"
        );
        assert!(h.contains("한국어\n문장"), "Hangul keeps its break: {h}");
        assert!(
            r.text
                .contains("巡りました。観光客が多く、とても賑やか。Then we went home."),
            "{}",
            r.text
        );
        let summary = r.summary_text.unwrap();
        assert!(summary.starts_with("京都を巡りました。観光客"), "{summary}");
    }

    #[test]
    fn footnotes_gather_at_the_end_with_links_back() {
        let md = "# 注の例\n\n本文[^b]と別の注[^a]、もう一度[^b]。\n\n[^a]: 注A。\n\n[^b]: 注B。\n\n後の段落。\n";
        let h = html(&render(md, 1));
        let body_end = h.find("<section class=\"footnotes\"").expect(&h);
        assert!(
            h[..body_end].contains("後の段落。"),
            "definitions are not where they were written: {h}"
        );
        assert!(
            h.contains("<a href=\"#fn-1\" id=\"fnref-1\""),
            "[^b] is referenced first: {h}"
        );
        assert!(h.contains("<a href=\"#fn-2\" id=\"fnref-2\""), "{h}");
        assert!(h.contains("<a href=\"#fn-1\" id=\"fnref-1-2\""), "{h}");
        let section = &h[body_end..];
        let first = section.find("<li id=\"fn-1\">").unwrap();
        let second = section.find("<li id=\"fn-2\">").unwrap();
        assert!(
            first < second && section[first..second].contains("注B。"),
            "{section}"
        );
        assert!(
            section.contains("注B。 <a href=\"#fnref-1\" class=\"footnote-backref\""),
            "{section}"
        );
        assert!(section.contains("<a href=\"#fnref-1-2\""), "{section}");
        assert!(!h.contains("id=\"1\""), "no bare numeric ids: {h}");
    }

    #[test]
    fn headings_get_unique_japanese_ids() {
        let r = render("# はじめに\n\n## はじめに\n\n## Rust と Go {#custom}\n", 1);
        let ids: Vec<_> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["はじめに", "はじめに-1", "custom"]);
        assert!(html(&r).contains("<h1 id=\"はじめに\">"));
    }

    #[test]
    fn heading_ids_skip_ids_taken_by_hand() {
        let r = render("# a\n\n# x {#a-1}\n\n# a\n\n# a\n\n# a-2\n", 1);
        let ids: Vec<_> = r.headings.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["a", "a-1", "a-2", "a-3", "a-2-1"]);
        // Many equal headings (linear time: each base remembers its next suffix).
        let r = render(&"## 同じ\n\n".repeat(20_000), 1);
        assert_eq!(r.headings.len(), 20_000);
        assert_eq!(r.headings[19_999].id, "同じ-19999");
    }

    #[test]
    fn lone_urls_become_cards_only_at_top_level() {
        let md = "前文\n\nhttps://example.com/a\n\n- https://example.com/b\n\n> https://example.com/c\n\n<https://example.com/d>\n\n文中 https://example.com/e です\n";
        let r = render(md, 5);
        let cards: Vec<_> = r
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Card { url, line } => Some((url.as_str(), *line)),
                _ => None,
            })
            .collect();
        assert_eq!(
            cards,
            [("https://example.com/a", 7), ("https://example.com/d", 13)]
        );
        assert!(!r.text.contains("example.com"), "{}", r.text);
    }

    #[test]
    fn code_is_highlighted_and_left_out_of_text() {
        let r = render("本文\n\n```rust\nfn main() {}\n```\n", 1);
        assert!(html(&r).contains("hl-"), "{}", html(&r));
        assert!(!r.text.contains("main"));
    }

    #[test]
    fn more_marker_sets_summary() {
        let r = render("最初の段落。\n\n<!--more-->\n\n続き。\n", 1);
        assert_eq!(r.summary_text.as_deref(), Some("最初の段落。"));
    }

    #[test]
    fn summaries_cut_at_sentence_end() {
        let text = "吾輩は猫である。名前はまだ無い。".repeat(10);
        let s = summarize(&text, 40);
        assert!(s.ends_with('。'), "{s}");
        assert!(s.chars().count() <= 40);
        let s = summarize(&"あ".repeat(200), 120);
        assert_eq!(s.chars().count(), 121);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn summaries_never_split_emoji_sequences() {
        let family = "👨\u{200D}👩\u{200D}👧";
        for pad in 0..8 {
            let text = format!("{}{family}🇯🇵{}", "あ".repeat(115 + pad), "い".repeat(50));
            let s = summarize(&text, 120);
            let kept = s.trim_end_matches('…');
            assert!(text.starts_with(kept), "{s}");
            let rest = &text[kept.len()..];
            assert!(
                !rest.starts_with('\u{200D}') && !rest.starts_with('👩') && !rest.starts_with('👧'),
                "split the family: {s}"
            );
            assert_eq!(
                kept.matches('🇵').count(),
                kept.matches('🇯').count(),
                "half a flag: {s}"
            );
        }
    }
}
