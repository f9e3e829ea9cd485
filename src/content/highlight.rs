//! Syntax highlighting of code, shared by fenced code blocks (`markdown.rs`) and
//! the `highlight` shortcode: CSS classes, never inline styles, never live HTML.

use std::sync::OnceLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

use crate::util::escape_html;

/// Prefix of the CSS classes that syntax highlighting emits (`hl-keyword`, …).
pub const HIGHLIGHT_CLASS_PREFIX: &str = "hl-";

fn syntax_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// `<pre class="code"><code>` with `code` highlighted as CSS classes; an unknown
/// or empty language is escaped verbatim.
pub fn highlight(code: &str, lang: &str) -> String {
    let ss = syntax_set();
    let syntax = if lang.is_empty() {
        None
    } else {
        ss.find_syntax_by_token(lang)
    };
    let body = match syntax {
        Some(syntax) => {
            let mut generator = ClassedHTMLGenerator::new_with_class_style(
                syntax,
                ss,
                ClassStyle::SpacedPrefixed {
                    prefix: HIGHLIGHT_CLASS_PREFIX,
                },
            );
            let ok = LinesWithEndings::from(code).all(|line| {
                generator
                    .parse_html_for_line_which_includes_newline(line)
                    .is_ok()
            });
            if ok {
                generator.finalize()
            } else {
                escape_html(code)
            }
        }
        None => escape_html(code),
    };
    code_block(&body, lang)
}

/// `code` escaped, not highlighted, in the same markup as [`highlight`].
pub fn plain(code: &str, lang: &str) -> String {
    code_block(&escape_html(code), lang)
}

fn code_block(body: &str, lang: &str) -> String {
    let lang_attr = if lang.is_empty() {
        String::new()
    } else {
        format!(" class=\"language-{}\"", escape_html(lang))
    };
    format!("<pre class=\"code\"><code{lang_attr}>{body}</code></pre>\n")
}
