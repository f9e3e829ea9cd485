//! Checks on the finished output before it is written. Mixed content: an https page
//! that loads anything over http shows a broken image or a browser warning, so every
//! `http://` in `src`, `srcset`, `poster` or a CSS `url()` is reported.

use std::collections::BTreeSet;

use crate::report::{Warning, WarningKind};

/// Warnings for `path` (an output path such as `2024/05/26/a/index.html`).
pub fn mixed_content_html(path: &str, html: &str) -> Vec<Warning> {
    let found = std::cell::RefCell::new(BTreeSet::new());
    let note = |what: &str, url: &str| {
        found.borrow_mut().insert(format!(
            "mixed content: {what} loads {url} over http (use https, or let the image pipeline copy it)"
        ));
    };
    let check_attr = |el: &lol_html::html_content::Element, name: &str| {
        if let Some(v) = el.get_attribute(name) {
            let urls: Vec<&str> = if name == "srcset" {
                v.split(',')
                    .filter_map(|c| c.split_whitespace().next())
                    .collect()
            } else {
                vec![v.trim()]
            };
            for u in urls {
                if is_http(u) {
                    note(&format!("<{} {name}>", el.tag_name()), u);
                }
            }
        }
    };
    let _ = lol_html::rewrite_str(
        html,
        lol_html::RewriteStrSettings {
            element_content_handlers: vec![
                lol_html::element!("[src], [srcset], [poster], [style]", |el| {
                    for name in ["src", "srcset", "poster"] {
                        check_attr(el, name);
                    }
                    if let Some(style) = el.get_attribute("style") {
                        for u in css_urls(&style) {
                            note("a style attribute", u);
                        }
                    }
                    Ok(())
                }),
                lol_html::text!("style", |t| {
                    for u in css_urls(t.as_str()) {
                        note("a <style> block", u);
                    }
                    Ok(())
                }),
            ],
            ..lol_html::RewriteStrSettings::new()
        },
    );
    found
        .into_inner()
        .into_iter()
        .map(|message| Warning::new(WarningKind::MixedContent, path, None, message))
        .collect()
}

/// Warnings for a stylesheet.
pub fn mixed_content_css(path: &str, css: &str) -> Vec<Warning> {
    css_urls(css)
        .into_iter()
        .map(|u| {
            let message =
                format!("mixed content: url() loads {u} over http (use https or a local file)");
            Warning::new(WarningKind::MixedContent, path, None, message)
        })
        .collect()
}

fn is_http(u: &str) -> bool {
    u.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
}

/// The http:// URLs inside `url(…)` in CSS text.
fn css_urls(css: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let lower = css.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("url(") {
        let start = from + at + 4;
        let inner = css[start..].trim_start_matches([' ', '"', '\'']);
        let end = inner.find([')', '"', '\'', ' ']).unwrap_or(inner.len());
        if is_http(&inner[..end]) {
            out.push(&inner[..end]);
        }
        from = start;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_http_in_every_loading_place() {
        let html = r#"<img src="http://a.example/1.png"><img srcset="/ok.png 1x, http://b.example/2.png 2x">
            <video poster="HTTP://c.example/p.jpg"></video><div style="background:url('http://d.example/bg.png')"></div>
            <style>.x { background: url(http://e.example/s.png) }</style>
            <a href="http://fine.example/">links are not loads</a><img src="https://ok.example/x.png">"#;
        let w = mixed_content_html("p/index.html", html);
        assert_eq!(w.len(), 5, "{w:?}");
        for host in [
            "a.example",
            "b.example",
            "c.example",
            "d.example",
            "e.example",
        ] {
            assert!(w.iter().any(|x| x.message.contains(host)), "{host}: {w:?}");
        }
        assert_eq!(
            mixed_content_css(
                "s.css",
                "a{background:url( \"http://x/y.png\" )} b{background:url(/z.png)}"
            )
            .len(),
            1
        );
    }
}
