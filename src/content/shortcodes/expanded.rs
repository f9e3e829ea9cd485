//! What shortcode expansion hands the Markdown renderer: the Markdown with every
//! `{{% %}}` output in place and every `{{< >}}` call replaced by an opaque token,
//! the HTML and plain text each token stands for, and a map from the expanded
//! Markdown back to source lines. A leaf: `markdown.rs` and the expander both use it.
//!
//! A token is `{prefix}{kind}{index}z`, letters and digits only, so Markdown,
//! HTML escaping and URL encoding leave it whole wherever it lands (text, code,
//! a link destination). The prefix is chosen per document so that it never occurs
//! in the source file: anything in the output that looks like a token is one.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::util::unescape_html;

/// Token kind: a `{{< >}}` call's output, substituted when the Markdown is rendered.
pub const OUTPUT: u8 = b's';
/// Token kind: a `ref`/`relref` target, substituted by the renderer once URLs exist.
pub const REF: u8 = b'r';

/// A shortcode's output: what goes in the page and what counts as its text (for
/// related posts and summaries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub html: String,
    pub text: String,
}

impl Output {
    /// Output whose text is the visible text of its HTML.
    pub fn from_html(html: String) -> Output {
        Output {
            text: html_text(&html),
            html,
        }
    }
}

/// The tokens of one document and what they stand for.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    prefix: String,
    outputs: Vec<Output>,
}

/// One token found in a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub at: usize,
    pub end: usize,
    pub kind: u8,
    pub index: usize,
}

impl Placeholders {
    /// Tokens starting with `prefix` (which must not occur in the source).
    pub fn new(prefix: String) -> Placeholders {
        Placeholders {
            prefix,
            outputs: Vec::new(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn token(&self, kind: u8, index: usize) -> String {
        format!("{}{}{index}z", self.prefix, kind as char)
    }

    /// Stores a `{{< >}}` call's output and returns the token that stands for it.
    pub fn add(&mut self, output: Output) -> String {
        let text = self.plain(&output.text).into_owned();
        self.outputs.push(Output {
            html: output.html,
            text,
        });
        self.token(OUTPUT, self.outputs.len() - 1)
    }

    /// `text` with each output token replaced by its plain text and each ref token
    /// removed (a URL is not text).
    pub fn plain<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.replace(text, |found, out| {
            if found.kind == OUTPUT
                && let Some(o) = self.outputs.get(found.index)
            {
                out.push_str(&o.text);
            }
        })
    }

    /// Rendered HTML with each output token replaced by its HTML. A token alone in
    /// a paragraph replaces the paragraph, as in Hugo (a `<figure>` must not sit in
    /// a `<p>`). Ref tokens are left for the renderer.
    pub fn substitute(&self, html: &str) -> String {
        if !self.active(html) {
            return html.to_string();
        }
        let mut out = String::with_capacity(html.len());
        let mut last = 0;
        for found in tokens(html, &self.prefix) {
            let Some(output) = self.outputs.get(found.index) else {
                continue;
            };
            if found.kind != OUTPUT || found.at < last {
                continue;
            }
            let before = &html[last..found.at];
            let lone = before.ends_with("<p>") && html[found.end..].starts_with("</p>");
            if lone {
                out.push_str(&before[..before.len() - "<p>".len()]);
                last = found.end + "</p>".len();
            } else {
                out.push_str(before);
                last = found.end;
            }
            out.push_str(&output.html);
        }
        out.push_str(&html[last..]);
        out
    }

    /// Whether every token of `code` is still whole in `highlighted` (a highlighter
    /// may split a word into spans; then the code is shown unhighlighted instead).
    pub fn survive(&self, code: &str, highlighted: &str) -> bool {
        if !self.active(code) {
            return true;
        }
        let wanted: Vec<(u8, usize)> = tokens(code, &self.prefix)
            .map(|f| (f.kind, f.index))
            .collect();
        let got: Vec<(u8, usize)> = tokens(highlighted, &self.prefix)
            .map(|f| (f.kind, f.index))
            .collect();
        wanted == got
    }

    /// Whether `text` may hold tokens of this document.
    pub fn active(&self, text: &str) -> bool {
        !self.prefix.is_empty() && text.contains(&self.prefix)
    }

    /// Calls `put` for each token in `text`, copying everything else.
    fn replace<'t>(&self, text: &'t str, mut put: impl FnMut(Found, &mut String)) -> Cow<'t, str> {
        if !self.active(text) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for found in tokens(text, &self.prefix) {
            out.push_str(&text[last..found.at]);
            put(found, &mut out);
            last = found.end;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }
}

/// Every token `{prefix}{kind}{digits}z` in `text`, left to right.
pub fn tokens<'t>(text: &'t str, prefix: &'t str) -> impl Iterator<Item = Found> + 't {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if prefix.is_empty() {
            return None;
        }
        while let Some(i) = text.get(pos..)?.find(prefix) {
            let at = pos + i;
            pos = at + prefix.len();
            if let Some(found) = token_at(text, at, prefix.len()) {
                pos = found.end;
                return Some(found);
            }
        }
        None
    })
}

/// The token starting at `at` (its prefix `prefix_len` bytes long), if well formed.
fn token_at(text: &str, at: usize, prefix_len: usize) -> Option<Found> {
    let bytes = text.as_bytes();
    let kind_at = at + prefix_len;
    let kind = *bytes.get(kind_at)?;
    if kind != OUTPUT && kind != REF {
        return None;
    }
    let digits = bytes[kind_at + 1..]
        .iter()
        .take(10)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let z = kind_at + 1 + digits;
    if digits == 0 || bytes.get(z) != Some(&b'z') {
        return None;
    }
    let index = text[kind_at + 1..z].parse().ok()?;
    Some(Found {
        at,
        end: z + 1,
        kind,
        index,
    })
}

/// A token prefix `enishi{k}sc` that occurs nowhere in `text`: the smallest `k`
/// not taken, found in one pass.
pub fn unique_prefix(text: &str) -> String {
    let mut taken = HashSet::new();
    let mut pos = 0;
    while let Some(i) = text[pos..].find("enishi") {
        let digits_at = pos + i + "enishi".len();
        let digits = text[digits_at..]
            .bytes()
            .take(10)
            .take_while(u8::is_ascii_digit)
            .count();
        if text[digits_at + digits..].starts_with("sc")
            && let Ok(k) = text[digits_at..digits_at + digits].parse::<u64>()
        {
            taken.insert(k);
        }
        pos = digits_at;
    }
    let k = (0u64..).find(|k| !taken.contains(k)).unwrap_or(0);
    format!("enishi{k}sc")
}

/// 1-based line numbers of byte offsets, by binary search.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

/// Where a stretch of the expanded Markdown came from.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// Offset in the expanded Markdown where the stretch starts.
    pub expanded: usize,
    /// Offset in the source body it came from.
    pub source: usize,
    /// Copied as it is (offsets inside map one to one), or a shortcode's output
    /// (every offset inside maps to the shortcode's start).
    pub verbatim: bool,
}

/// Maps offsets of the expanded Markdown to lines of the source body.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    lines: LineIndex,
    spans: Vec<Span>,
}

impl SourceMap {
    /// `spans` in increasing `expanded` order.
    pub fn new(source: &str, spans: Vec<Span>) -> SourceMap {
        SourceMap {
            lines: LineIndex::new(source),
            spans,
        }
    }

    /// The 1-based line of the source body that `offset` of the expanded Markdown came from.
    pub fn line_at(&self, offset: usize) -> usize {
        let i = self.spans.partition_point(|s| s.expanded <= offset);
        let source = match i.checked_sub(1).and_then(|i| self.spans.get(i)) {
            Some(span) if span.verbatim => span.source + offset.saturating_sub(span.expanded),
            Some(span) => span.source,
            None => offset,
        };
        self.lines.line(source)
    }
}

/// The body's Markdown after shortcode expansion, ready for the Markdown renderer.
#[derive(Debug, Clone, Default)]
pub struct Expanded {
    pub markdown: String,
    pub placeholders: Placeholders,
    pub map: SourceMap,
}

impl Expanded {
    /// Markdown without shortcodes: no tokens, offsets map one to one.
    pub fn verbatim(markdown: &str) -> Expanded {
        Expanded {
            markdown: markdown.to_string(),
            placeholders: Placeholders::default(),
            map: SourceMap::new(
                markdown,
                vec![Span {
                    expanded: 0,
                    source: 0,
                    verbatim: true,
                }],
            ),
        }
    }
}

/// The visible text of an HTML fragment: tags dropped (block tags become spaces),
/// entities decoded, the contents of `<script>`, `<style>`, `<pre>` and `<iframe>`
/// left out (code is not text for related posts either).
pub fn html_text(html: &str) -> String {
    const SKIPPED: [&str; 4] = ["script", "style", "pre", "iframe"];
    const INLINE: [&str; 16] = [
        "a", "abbr", "b", "code", "em", "i", "kbd", "mark", "q", "ruby", "s", "small", "span",
        "strong", "sub", "sup",
    ];
    let mut text = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let name: String = rest[1..]
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        rest = &rest[tag_end(rest).unwrap_or(rest.len())..];
        if SKIPPED.contains(&name.as_str()) && !rest.is_empty() {
            rest = after_closing_tag(rest, &name);
        }
        if !INLINE.contains(&name.as_str()) {
            text.push(' ');
        }
    }
    text.push_str(rest);
    crate::util::collapse_whitespace(&unescape_html(&text))
}

/// What follows the closing tag `</name>` in `s` (nothing when it is missing).
fn after_closing_tag<'s>(s: &'s str, name: &str) -> &'s str {
    for (i, _) in s.match_indices("</") {
        let candidate = &s.as_bytes()[i + 2..];
        if candidate.len() >= name.len()
            && candidate[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            let tag = &s[i..];
            return &tag[tag_end(tag).unwrap_or(tag.len())..];
        }
    }
    ""
}

/// Offset just past the `>` ending the tag that starts `s`, skipping quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(outputs: &[(&str, &str)]) -> (Placeholders, Vec<String>) {
        let mut p = Placeholders::new("enishi0sc".into());
        let tokens = outputs
            .iter()
            .map(|(html, text)| {
                p.add(Output {
                    html: html.to_string(),
                    text: text.to_string(),
                })
            })
            .collect();
        (p, tokens)
    }

    #[test]
    fn tokens_become_html_or_text_and_lone_ones_leave_their_paragraph() {
        let (p, t) = with(&[("<figure>F</figure>", "F"), ("<b>x</b>", "x")]);
        let html = format!("<p>{}</p>\n<p>a {} b</p>\n", t[0], t[1]);
        assert_eq!(
            p.substitute(&html),
            "<figure>F</figure>\n<p>a <b>x</b> b</p>\n"
        );
        assert_eq!(p.plain(&format!("a {} b{}", t[1], t[0])), "a x bF");
        // A ref token is not text and is left in HTML for the renderer.
        let r = p.token(REF, 0);
        assert_eq!(p.plain(&format!("see {r}.")), "see .");
        assert_eq!(p.substitute(&r), r);
    }

    #[test]
    fn malformed_tokens_are_left_alone() {
        let (p, _) = with(&[("X", "x")]);
        for s in [
            "enishi0sc",
            "enishi0scs",
            "enishi0scsz",
            "enishi0scs0",
            "enishi0scq0z",
        ] {
            assert_eq!(p.substitute(s), s);
        }
        assert_eq!(p.substitute("enishi0scs9z"), "enishi0scs9z");
        assert_eq!(p.substitute("enishi0enishi0scs0z"), "enishi0X");
    }

    #[test]
    fn the_prefix_is_one_the_text_does_not_contain() {
        assert_eq!(unique_prefix("plain"), "enishi0sc");
        assert_eq!(unique_prefix("enishi0sc enishi1sc enishi"), "enishi2sc");
        let hostile: String = (0..50_000).map(|k| format!("enishi{k}sc")).collect();
        assert_eq!(unique_prefix(&hostile), "enishi50000sc");
    }

    #[test]
    fn offsets_map_back_to_source_lines() {
        let source = "a\n{{< x >}}\nb\nc\n";
        // "a\nTOKEN\nb\nc\n": the call (source 2..11) became 6 bytes.
        let map = SourceMap::new(
            source,
            vec![
                Span {
                    expanded: 0,
                    source: 0,
                    verbatim: true,
                },
                Span {
                    expanded: 2,
                    source: 2,
                    verbatim: false,
                },
                Span {
                    expanded: 8,
                    source: 11,
                    verbatim: true,
                },
            ],
        );
        assert_eq!(map.line_at(0), 1);
        assert_eq!(map.line_at(5), 2);
        assert_eq!(map.line_at(9), 3);
        assert_eq!(map.line_at(11), 4);
    }

    #[test]
    fn html_text_keeps_what_a_reader_sees() {
        assert_eq!(
            html_text("<figure><img src=\"a>b\"><figcaption>猫 &amp; 犬</figcaption></figure>"),
            "猫 & 犬"
        );
        assert_eq!(html_text("a<script>x<y</script>b<PRE>code</pre>c"), "a b c");
        assert_eq!(html_text("<iframe src=x></iframe>"), "");
        assert_eq!(html_text("unclosed <b"), "unclosed");
        assert_eq!(html_text("猫<b>と</b>犬<br>鳥"), "猫と犬 鳥");
    }
}
