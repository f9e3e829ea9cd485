//! Hugo shortcodes in post bodies, expanded before the Markdown is rendered, the
//! way Hugo does it: a `{{% name %}}` call's output goes into the Markdown (it is
//! part of the document); a `{{< name >}}` call becomes an opaque token that
//! `markdown.rs` replaces with the call's HTML after rendering, so its output is
//! never read as Markdown. `ref`/`relref` leave a token for the renderer (URLs
//! are known only after every document is loaded).
//!
//! - `parse.rs`: finding calls, pairs and escaped calls; `args.rs`: their arguments;
//! - `builtins.rs`: the built-ins by name, and highlight, figure, param, ref/relref;
//!   `embeds.rs`: youtube, vimeo, x/twitter/tweet, gist, instagram;
//! - `templates.rs`: the site's own shortcodes (minijinja templates);
//! - `refs.rs`: finding the page a `ref` names, putting its URL in;
//! - `expanded.rs`: the tokens, what they stand for, and the source line map.
//!
//! Malformed syntax is an error (`file:line: …`), as in Hugo. An unknown
//! shortcode, or a built-in given bad arguments, is a warning kept in the
//! document (`serve` reuses parsed documents, so nothing is printed here) and
//! leaves nothing behind but a paired call's inner content.

pub mod args;
pub mod builtins;
pub mod embeds;
pub mod expanded;
pub mod parse;
pub mod refs;
pub mod templates;

use std::collections::BTreeMap;
use std::ops::Range;

use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset, SecondsFormat};
use minijinja::{Value, context};

use crate::content::frontmatter::FrontMatter;
use crate::report::{Warning, WarningKind};
use builtins::{Ctx, Produced};
use expanded::{Expanded, LineIndex, Output, Placeholders, REF, SourceMap, Span};
use parse::{Call, Parsed, Token};
use refs::{RefCall, Refs};
pub use templates::Library;

/// How deep paired shortcodes may nest (Hugo has no limit; this keeps a hostile
/// post from exhausting the stack).
pub const MAX_DEPTH: usize = 32;

/// The page whose body is expanded.
pub struct Page<'a> {
    /// The source file as shown in messages.
    pub source: &'a str,
    /// The line of the source file the body starts on.
    pub body_line: usize,
    pub front: &'a FrontMatter,
    pub date: Option<DateTime<FixedOffset>>,
}

/// A body with its shortcodes expanded.
#[derive(Debug, Default)]
pub struct Expansion {
    pub expanded: Expanded,
    pub refs: Refs,
    pub warnings: Vec<Warning>,
    /// A shortcode ran: the output depends on the templates and the site too.
    pub called: bool,
}

/// Expands the shortcodes of `body`. `file_text` (the whole source file) is what
/// the tokens must never be confused with.
pub fn expand(body: &str, file_text: &str, page: &Page, library: &Library) -> Result<Expansion> {
    if !parse::mentions_shortcodes(body) {
        return Ok(Expansion {
            expanded: Expanded::verbatim(body),
            ..Expansion::default()
        });
    }
    let lines = LineIndex::new(body);
    let at_line = |offset: usize| page.body_line + lines.line(offset) - 1;
    let parsed = parse::parse(body)
        .map_err(|e| anyhow!("{}:{}: {}", page.source, at_line(e.offset), e.message))?;
    let prefix = expanded::unique_prefix(file_text);
    let mut expander = Expander {
        body,
        parsed: &parsed,
        page,
        library,
        lines: &lines,
        page_value: None,
        placeholders: Placeholders::new(prefix.clone()),
        refs: Vec::new(),
        unknown: BTreeMap::new(),
        warnings: Vec::new(),
        spans: Vec::new(),
        called: false,
    };
    let mut markdown = String::with_capacity(body.len());
    expander.range(0..parsed.tokens.len(), Mode::Top, 0, &mut markdown)?;
    let warnings = expander.all_warnings();
    Ok(Expansion {
        expanded: Expanded {
            markdown,
            placeholders: expander.placeholders,
            map: SourceMap::new(body, expander.spans),
        },
        refs: Refs {
            prefix,
            calls: expander.refs,
        },
        warnings,
        called: expander.called,
    })
}

/// Where an expansion's output goes.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Into the document's Markdown: `{{< >}}` output becomes a token.
    Top,
    /// Into a paired call's `inner`: every output is put in as it is.
    Inner,
}

/// Uses of one unknown shortcode in a document, reported once.
struct Unknown {
    line: usize,
    count: usize,
    paired: bool,
}

struct Expander<'a> {
    body: &'a str,
    parsed: &'a Parsed,
    page: &'a Page<'a>,
    library: &'a Library,
    lines: &'a LineIndex,
    /// `page` as templates see it, made on first use.
    page_value: Option<Value>,
    placeholders: Placeholders,
    refs: Vec<RefCall>,
    unknown: BTreeMap<String, Unknown>,
    warnings: Vec<Warning>,
    spans: Vec<Span>,
    called: bool,
}

impl Expander<'_> {
    fn line(&self, offset: usize) -> usize {
        self.page.body_line + self.lines.line(offset) - 1
    }

    /// Appends the text of tokens `range` to `out`, each call replaced by what it
    /// expands to. At the top level, `out` is the document's Markdown.
    fn range(
        &mut self,
        range: Range<usize>,
        mode: Mode,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        let mut i = range.start;
        while i < range.end {
            match &self.parsed.tokens[i] {
                Token::Text { start, end } => {
                    self.span(mode, out.len(), *start, true);
                    out.push_str(&self.body[*start..*end]);
                }
                Token::Escaped { start, text } => {
                    self.span(mode, out.len(), *start, false);
                    out.push_str(text);
                }
                // Every closing tag is its call's partner, skipped with it.
                Token::Close { .. } => {}
                Token::Open(call) => {
                    self.span(mode, out.len(), call.start, false);
                    let close = self.parsed.partner[i];
                    let inner = close.map(|c| i + 1..c);
                    self.call(call, inner, mode, depth, out)?;
                    if let Some(c) = close {
                        i = c;
                    }
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// Records where a stretch of the top-level Markdown came from.
    fn span(&mut self, mode: Mode, expanded: usize, source: usize, verbatim: bool) {
        if mode == Mode::Top {
            self.spans.push(Span {
                expanded,
                source,
                verbatim,
            });
        }
    }

    fn call(
        &mut self,
        call: &Call,
        inner: Option<Range<usize>>,
        mode: Mode,
        depth: usize,
        out: &mut String,
    ) -> Result<()> {
        let line = self.line(call.start);
        if depth >= MAX_DEPTH {
            return Err(anyhow!(
                "{}:{line}: shortcodes nested more than {MAX_DEPTH} deep (close the paired ones, or escape them as {{{{</* … */>}}}})",
                self.page.source
            ));
        }
        let known = self.library.has(&call.name) || builtins::is_builtin(&call.name);
        if !known {
            self.unknown_call(call, line, inner.is_some());
            // The inner content is kept, as if the tags were not there.
            if let Some(inner) = inner {
                self.range(inner, mode, depth + 1, out)?;
            }
            return Ok(());
        }
        self.called = true;
        let inner = match inner {
            Some(r) => {
                let mut text = String::new();
                self.range(r, Mode::Inner, depth + 1, &mut text)?;
                Some(text)
            }
            None => None,
        };
        let produced = if self.library.has(&call.name) {
            let page = self.page_value();
            let html = self
                .library
                .render(&call.name, &call.args, inner.as_deref(), &page)
                .map_err(|e| {
                    anyhow!(
                        "{}:{line}: shortcode {:?}: {e}",
                        self.page.source,
                        call.name
                    )
                })?;
            Produced::Output(Output::from_html(html))
        } else {
            let ctx = Ctx {
                front: self.page.front,
                site_params: self.library.site_params(),
            };
            match builtins::render(&call.name, &call.args, inner.as_deref(), &ctx) {
                Ok(produced) => produced,
                Err(why) => {
                    self.warn(line, format!("shortcode {:?}: {why}", call.name));
                    return Ok(());
                }
            }
        };
        self.emit(call, produced, line, mode, out);
        Ok(())
    }

    /// Puts a call's product where it belongs: Markdown output as it is, HTML as a
    /// token at the top level, a ref as a ref token.
    fn emit(&mut self, call: &Call, produced: Produced, line: usize, mode: Mode, out: &mut String) {
        match produced {
            Produced::Output(output) if call.markdown || mode == Mode::Inner => {
                out.push_str(&output.html)
            }
            Produced::Output(output) => out.push_str(&self.placeholders.add(output)),
            Produced::Ref { target, absolute } => {
                out.push_str(&self.placeholders.token(REF, self.refs.len()));
                self.refs.push(RefCall {
                    target,
                    line,
                    absolute,
                });
            }
        }
    }

    fn unknown_call(&mut self, call: &Call, line: usize, paired: bool) {
        let entry = self.unknown.entry(call.name.clone()).or_insert(Unknown {
            line,
            count: 0,
            paired: false,
        });
        entry.count += 1;
        entry.paired |= paired;
    }

    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Warning::new(
            WarningKind::Content,
            self.page.source,
            Some(line),
            message,
        ));
    }

    /// The warnings in line order, one per unknown shortcode name.
    fn all_warnings(&mut self) -> Vec<Warning> {
        let unknown = std::mem::take(&mut self.unknown);
        for (name, u) in unknown {
            let times = if u.count > 1 {
                format!(" (used {} times)", u.count)
            } else {
                String::new()
            };
            let kept = if u.paired {
                ", its inner content kept"
            } else {
                ""
            };
            self.warn(
                u.line,
                format!(
                    "unknown shortcode {name:?}{times} left out{kept} (add {} to define it)",
                    templates::template_path(&name)
                ),
            );
        }
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.sort_by_key(|w| w.line);
        warnings
    }

    fn page_value(&mut self) -> Value {
        let (front, date) = (self.page.front, self.page.date);
        let source = self.page.source;
        self.page_value
            .get_or_insert_with(|| page_value(source, front, date))
            .clone()
    }
}

/// `page` in shortcode templates.
fn page_value(source: &str, front: &FrontMatter, date: Option<DateTime<FixedOffset>>) -> Value {
    let iso = |d: DateTime<FixedOffset>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    context! {
        title => front.title,
        date => date.map(iso),
        lastmod => front.lastmod.map(iso),
        description => front.description,
        tags => front.tags,
        categories => front.categories,
        params => Value::from_serialize(&front.params),
        source => source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::markdown::{Segment, render_expanded};

    fn front() -> FrontMatter {
        FrontMatter {
            title: "記事".into(),
            ..Default::default()
        }
    }

    fn run(body: &str) -> Result<Expansion> {
        let front = front();
        let page = Page {
            source: "content/posts/a.md",
            body_line: 5,
            front: &front,
            date: None,
        };
        expand(body, body, &page, &Library::default())
    }

    fn html(body: &str) -> (String, Expansion) {
        let expansion = run(body).unwrap();
        let rendered = render_expanded(&expansion.expanded, 5);
        let html = rendered
            .segments
            .iter()
            .map(|s| match s {
                Segment::Html(h) => h.clone(),
                Segment::Card { url, .. } => format!("[card {url}]"),
            })
            .collect();
        (html, expansion)
    }

    #[test]
    fn html_calls_are_not_markdown_and_leave_their_paragraph() {
        let (h, e) = html("前\n\n{{< youtube w7Ft2ymGmfc >}}\n\n文中 {{< param title >}} です\n");
        assert!(
            h.contains("<p>前</p>\n<div class=\"embed embed-youtube\">"),
            "{h}"
        );
        assert!(h.contains("<p>文中 記事 です</p>"), "{h}");
        assert!(e.called && e.warnings.is_empty());
        assert!(!h.contains("enishi0sc"), "{h}");
    }

    #[test]
    fn highlight_inner_is_code_not_html_nor_text() {
        let body =
            "{{< highlight html >}}\n<html><head></head></html>\n{{< /highlight >}}\n\n本文\n";
        let e = run(body).unwrap();
        let r = render_expanded(&e.expanded, 5);
        let Segment::Html(h) = &r.segments[0] else {
            panic!()
        };
        assert!(
            h.starts_with("<pre class=\"code\"><code class=\"language-html\">"),
            "{h}"
        );
        assert!(!h.contains("<html>"), "{h}");
        assert_eq!(r.text.trim(), "本文");
    }

    #[test]
    fn escaped_calls_show_their_syntax_in_text_and_code() {
        let (h, e) = html("例: {{</* youtube id */>}}\n\n```\n{{%/* note */%}}\n```\n");
        assert!(h.contains("<p>例: {{&lt; youtube id &gt;}}</p>"), "{h}");
        assert!(h.contains("{{% note %}}\n</code></pre>"), "{h}");
        assert!(!e.called);
    }

    #[test]
    fn unknown_shortcodes_warn_once_and_keep_inner_content() {
        let body = "a {{< nope x >}} b\n\n{{< nope >}}\n\n{{% box %}}中身 *強調*{{% /box %}}\n";
        let (h, e) = html(body);
        assert_eq!(h, "<p>a  b</p>\n<p>中身 <em>強調</em></p>\n");
        let shown: Vec<String> = e.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            shown,
            [
                "content/posts/a.md:5: unknown shortcode \"nope\" (used 2 times) left out (add templates/shortcodes/nope.html to define it)",
                "content/posts/a.md:9: unknown shortcode \"box\" left out, its inner content kept (add templates/shortcodes/box.html to define it)",
            ]
        );
        assert!(e.warnings.iter().all(|w| w.kind == WarningKind::Content));
    }

    #[test]
    fn bad_builtin_arguments_warn_with_the_line() {
        let (h, e) = html("\n\n{{< youtube \"a b\" >}}\n");
        assert_eq!(h, "");
        assert_eq!(e.warnings[0].line, Some(7));
        assert!(
            e.warnings[0].message.contains("may only hold"),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn refs_leave_a_token_per_call() {
        let (h, e) = html("[b]({{< relref \"b.md#x\" >}}) {{< ref b >}}\n");
        assert_eq!(e.refs.calls.len(), 2);
        assert_eq!(e.refs.calls[0].target, "b.md#x");
        assert!(!e.refs.calls[0].absolute && e.refs.calls[1].absolute);
        assert_eq!(h, "<p><a href=\"enishi0scr0z\">b</a> enishi0scr1z</p>\n");
        let r = render_expanded(&e.expanded, 5);
        assert_eq!(r.text.trim(), "b");
    }

    #[test]
    fn syntax_errors_are_one_line_with_file_and_line() {
        let err = run("ok\n\nthen {{< youtube x\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "content/posts/a.md:7: shortcode \"youtube\" is never closed by `>}}`"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}x{}", "{{< a >}}".repeat(40), "{{< /a >}}".repeat(40));
        let err = run(&deep).unwrap_err().to_string();
        assert!(err.contains("nested more than 32 deep"), "{err}");
        let ok = format!("{}x{}", "{{% a %}}".repeat(20), "{{% /a %}}".repeat(20));
        assert_eq!(run(&ok).unwrap().expanded.markdown, "x");
    }

    #[test]
    fn cards_keep_their_source_line_after_expansion() {
        let body =
            "{{< highlight go >}}\nfunc a() {\n}\n{{< /highlight >}}\n\nhttps://example.com/\n";
        let e = run(body).unwrap();
        let r = render_expanded(&e.expanded, 5);
        assert!(
            r.segments
                .iter()
                .any(|s| matches!(s, Segment::Card { line: 10, .. })),
            "{:?}",
            r.segments
        );
    }
}
