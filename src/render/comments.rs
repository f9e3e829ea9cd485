//! Archived comments (kept by `enishi import` from the old blog), shown read-only
//! under the post. Their text came from strangers: everything is escaped, and the
//! only markup made is a line break and a link for an http(s) URL, marked
//! `nofollow ugc` so the site does not vouch for it.

use serde::Serialize;

use crate::content::frontmatter::ArchivedComment;
use crate::util::escape_html;

#[derive(Serialize)]
pub(super) struct CommentView {
    author: String,
    date: String,
    date_display: String,
    /// Escaped text with `<br>` and links: safe to insert as HTML.
    html: String,
}

impl CommentView {
    pub(super) fn new(
        comment: &ArchivedComment,
        iso: impl Fn(&chrono::DateTime<chrono::FixedOffset>) -> String,
        display: impl Fn(&chrono::DateTime<chrono::FixedOffset>) -> String,
    ) -> CommentView {
        CommentView {
            author: comment.author.clone(),
            date: comment.date.as_ref().map(&iso).unwrap_or_default(),
            date_display: comment.date.as_ref().map(&display).unwrap_or_default(),
            html: comment_html(&comment.text),
        }
    }
}

/// Plain text as HTML: escaped, line breaks as `<br>`, http(s) URLs as links.
pub(super) fn comment_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (n, line) in text.lines().enumerate() {
        if n > 0 {
            out.push_str("<br>\n");
        }
        let mut rest = line;
        while let Some(at) = find_url(rest) {
            out.push_str(&escape_html(&rest[..at]));
            let url_len = rest[at..]
                .find(|c: char| {
                    c.is_whitespace()
                        || matches!(
                            c,
                            '<' | '>' | '"' | '\'' | '「' | '」' | '、' | '。' | '（' | '）'
                        )
                })
                .unwrap_or(rest.len() - at);
            let url = rest[at..at + url_len].trim_end_matches(['.', ',', ')', '!', '?']);
            let escaped = escape_html(url);
            if url.ends_with("//") {
                // A scheme alone links nowhere.
                out.push_str(&escaped);
            } else {
                out.push_str(&format!(
                    "<a href=\"{escaped}\" rel=\"nofollow ugc\">{escaped}</a>"
                ));
            }
            rest = &rest[at + url.len()..];
        }
        out.push_str(&escape_html(rest));
    }
    out
}

fn find_url(s: &str) -> Option<usize> {
    let http = s.find("http://");
    let https = s.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_breaks_and_http_links_survive() {
        let html = comment_html(
            "<script>alert(1)</script>\nsee https://example.com/a?b=1&c=2. ok\njavascript:alert(1) <a href=\"x\">",
        );
        assert_eq!(
            html,
            "&lt;script&gt;alert(1)&lt;/script&gt;<br>\nsee <a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow ugc\">https://example.com/a?b=1&amp;c=2</a>. ok<br>\njavascript:alert(1) &lt;a href=&quot;x&quot;&gt;"
        );
        assert_eq!(
            comment_html("http://\"onmouseover=x"),
            "http://&quot;onmouseover=x"
        );
    }
}
