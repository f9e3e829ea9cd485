//! A post's or page's HTML: its segments joined, link cards filled in, `ref`
//! shortcodes pointed at their pages, and remote `<img>`s pointed at their
//! processed copies.

use std::borrow::Cow;

use crate::content::Segment;
use crate::content::markdown::link_paragraph;
use crate::content::shortcodes::refs;
use crate::enrich::images::{self, Images, Purpose, Role};
use crate::model::Entry;
use crate::util::escape_html;

use super::renderer::{Enriched, Renderer};

/// `html` with every relative link and image made a full URL against `base` (the
/// post's permalink): feed readers show an entry away from the site, where
/// `/images/a.png` or `#fn-1` lead nowhere. `href`, `src`, `srcset` and `poster`.
pub(super) fn absolute_links(html: &str, base: &str) -> String {
    let Ok(base) = url::Url::parse(base) else {
        return html.to_string();
    };
    let resolve = |raw: &str| -> Option<String> {
        let value = raw.trim();
        if has_scheme(value) {
            return None;
        }
        base.join(value).ok().map(String::from)
    };
    let rewritten = lol_html::rewrite_str(
        html,
        lol_html::RewriteStrSettings {
            element_content_handlers: vec![lol_html::element!(
                "[href], [src], [srcset], [poster]",
                |el| {
                    for name in ["href", "src", "poster"] {
                        if let Some(raw) = el.get_attribute(name) {
                            let raw = crate::util::unescape_html(&raw);
                            if let Some(full) = resolve(&raw) {
                                el.set_attribute(name, &full.replace('&', "&amp;"))?;
                            }
                        }
                    }
                    if let Some(raw) = el.get_attribute("srcset") {
                        let raw = crate::util::unescape_html(&raw);
                        let set: Vec<String> = raw
                            .split(',')
                            .map(|candidate| {
                                let candidate = candidate.trim();
                                let (url, descriptor) =
                                    candidate.split_once(' ').unwrap_or((candidate, ""));
                                let url = resolve(url).unwrap_or_else(|| url.to_string());
                                format!("{url} {}", descriptor.trim())
                                    .trim_end()
                                    .to_string()
                            })
                            .collect();
                        el.set_attribute("srcset", &set.join(", ").replace('&', "&amp;"))?;
                    }
                    Ok(())
                }
            )],
            ..lol_html::RewriteStrSettings::new()
        },
    );
    rewritten.unwrap_or_else(|_| html.to_string())
}

/// `mailto:`, `https:`, `data:`…: a URL that is already complete.
fn has_scheme(value: &str) -> bool {
    let Some((scheme, _)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

impl Renderer<'_> {
    pub(super) fn content_html(&self, entry: &Entry, enriched: &Enriched) -> String {
        entry
            .doc
            .body
            .segments
            .iter()
            .map(|seg| match seg {
                Segment::Html(h) => {
                    let h = self.with_refs(entry, h);
                    if h.contains("<img") {
                        self.rewrite_images(&h, enriched.images)
                    } else {
                        h.into_owned()
                    }
                }
                Segment::Card { url, .. } => enriched
                    .cards
                    .get(url)
                    .cloned()
                    .unwrap_or_else(|| link_paragraph(url)),
            })
            .collect()
    }

    /// `html` with the URL of each `ref`/`relref` in place of its token.
    fn with_refs<'h>(&self, entry: &Entry, html: &'h str) -> Cow<'h, str> {
        let doc_refs = &entry.doc.refs;
        if doc_refs.calls.is_empty() || !html.contains(&doc_refs.prefix) {
            return Cow::Borrowed(html);
        }
        Cow::Owned(refs::substitute(html, doc_refs, |i| {
            let Some((call, resolved)) = doc_refs.calls.get(i).zip(entry.refs.get(i)) else {
                return String::new();
            };
            let (path, anchor) = match resolved.find('#') {
                Some(at) => resolved.split_at(at),
                None => (resolved.as_str(), ""),
            };
            let url = if call.absolute {
                self.absolute(path)
            } else {
                self.href(path)
            };
            escape_html(&format!("{url}{anchor}"))
        }))
    }

    /// Points every remote `<img>` at its copies on this site (`<picture>` with WebP,
    /// srcset, intrinsic size, lazy loading). An image that could not be made keeps
    /// its URL if that is https; an http one is replaced by its alt text, since it
    /// would be mixed content.
    fn rewrite_images(&self, html: &str, images: Option<&Images>) -> String {
        let Some(images) = images else {
            return html.to_string();
        };
        let prefix = self.site.url(&format!("/{}/", images::OUTPUT_DIR));
        let rewritten = lol_html::rewrite_str(
            html,
            lol_html::RewriteStrSettings {
                element_content_handlers: vec![lol_html::element!("img[src]", |el| {
                    let raw = el.get_attribute("src").unwrap_or_default();
                    if !images::is_remote(&raw) {
                        return Ok(());
                    }
                    let url = images::src_url(&raw);
                    let ready = images
                        .ready
                        .get(&(Purpose::Inline, url.clone()))
                        .and_then(|p| p.sets.get(&Role::Inline));
                    match ready {
                        Some(set) => {
                            let largest = set.largest();
                            let sizes = format!("(max-width: {0}px) 100vw, {0}px", largest.width);
                            el.set_attribute("src", &format!("{prefix}{}", largest.name))?;
                            el.set_attribute("width", &largest.width.to_string())?;
                            el.set_attribute("height", &largest.height.to_string())?;
                            if set.fallback.len() > 1 {
                                el.set_attribute(
                                    "srcset",
                                    &images::srcset(&prefix, &set.fallback),
                                )?;
                                el.set_attribute("sizes", &sizes)?;
                            }
                            if !set.webp.is_empty() {
                                el.before(
                                    &format!(
                                        "<picture><source type=\"image/webp\" srcset=\"{}\" sizes=\"{sizes}\">",
                                        images::srcset(&prefix, &set.webp)
                                    ),
                                    lol_html::html_content::ContentType::Html,
                                );
                                el.after("</picture>", lol_html::html_content::ContentType::Html);
                            }
                        }
                        None if url.starts_with("https://") => {}
                        None => {
                            let alt = crate::util::unescape_html(
                                &el.get_attribute("alt").unwrap_or_default(),
                            );
                            el.replace(
                                &escape_html(&alt),
                                lol_html::html_content::ContentType::Html,
                            );
                            return Ok(());
                        }
                    }
                    el.set_attribute("loading", "lazy")?;
                    el.set_attribute("decoding", "async")?;
                    Ok(())
                })],
                ..lol_html::RewriteStrSettings::new()
            },
        );
        // The input is our own renderer's output; should the rewriter still refuse it,
        // the page keeps its original images rather than losing content.
        rewritten.unwrap_or_else(|_| html.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::absolute_links;

    const BASE: &str = "https://blog.example.jp/2024/01/08/post/";

    #[test]
    fn relative_links_and_images_become_full_urls() {
        let html = r##"<p><a href="/tags/rust/">t</a> <a href="#fn-1">1</a> <img src="/images/a.png" alt=""> <img src="b.png" srcset="b.png 1x, /c.png 2x"> <a href="../other/?a=1&amp;b=2">o</a></p>"##;
        let out = absolute_links(html, BASE);
        assert!(
            out.contains(r##"href="https://blog.example.jp/tags/rust/""##),
            "{out}"
        );
        assert!(
            out.contains(r##"href="https://blog.example.jp/2024/01/08/post/#fn-1""##),
            "{out}"
        );
        assert!(
            out.contains(r##"src="https://blog.example.jp/images/a.png""##),
            "{out}"
        );
        assert!(
            out.contains(r##"src="https://blog.example.jp/2024/01/08/post/b.png""##),
            "{out}"
        );
        assert!(
            out.contains(r##"srcset="https://blog.example.jp/2024/01/08/post/b.png 1x, https://blog.example.jp/c.png 2x""##),
            "{out}"
        );
        assert!(
            out.contains("https://blog.example.jp/2024/01/08/other/?a=1&amp;b=2"),
            "{out}"
        );
    }

    #[test]
    fn complete_urls_are_left_alone() {
        let html = r##"<a href="https://other.example/x">x</a><a href="mailto:a@example.jp">m</a><img src="data:image/png;base64,AAAA">"##;
        assert_eq!(absolute_links(html, BASE), html);
    }
}
