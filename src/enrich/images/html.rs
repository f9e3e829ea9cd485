//! Finding remote `<img>`s in posts, and writing `srcset`.

use super::types::{ImageUse, Purpose, Variant};
use crate::content::Segment;
use crate::model::SiteModel;

/// The http(s) `src` of every `<img>` in `html`, as written (entities not decoded:
/// the renderer matches on the same raw value).
pub fn remote_img_srcs(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let _ = lol_html::rewrite_str(
        html,
        lol_html::RewriteStrSettings {
            element_content_handlers: vec![lol_html::element!("img[src]", |el| {
                if let Some(src) = el.get_attribute("src")
                    && is_remote(&src)
                {
                    found.push(src);
                }
                Ok(())
            })],
            ..lol_html::RewriteStrSettings::new()
        },
    );
    found
}

/// The URL an `<img src>` names: entities decoded, and an IPv6 host's brackets,
/// which the Markdown renderer percent-encodes (`http://%5B::1%5D/`), restored.
pub fn src_url(raw: &str) -> String {
    let url = crate::util::unescape_html(raw.trim());
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let host_start = scheme_end + 3;
    let host_end = url[host_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| host_start + i);
    let host = &url[host_start..host_end];
    if !host.contains("%5B") && !host.contains("%5b") {
        return url;
    }
    let host = host
        .replace("%5B", "[")
        .replace("%5b", "[")
        .replace("%5D", "]")
        .replace("%5d", "]");
    format!("{}{host}{}", &url[..host_start], &url[host_end..])
}

pub fn is_remote(src: &str) -> bool {
    let s = src.trim_start();
    s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
        || s.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// Every remote image in the body of a published post or page.
pub fn inline_uses(model: &SiteModel) -> Vec<ImageUse> {
    let mut uses = Vec::new();
    for entry in model.posts.iter().chain(&model.pages) {
        let doc = &entry.doc;
        for seg in &doc.body.segments {
            let Segment::Html(html) = seg else { continue };
            if !html.contains("<img") {
                continue;
            }
            for raw in remote_img_srcs(html) {
                let url = src_url(&raw);
                let line = doc
                    .markdown
                    .find(&url)
                    .or_else(|| doc.markdown.find(&raw))
                    .map(|at| doc.body_line + crate::util::line_of_offset(&doc.markdown, at) - 1)
                    .unwrap_or(doc.body_line);
                uses.push(ImageUse {
                    purpose: Purpose::Inline,
                    url,
                    source: doc.source.clone(),
                    line,
                });
            }
        }
    }
    uses
}

/// `srcset` for a list of variants under a URL prefix such as `/blog/_img/`.
pub fn srcset(prefix: &str, variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| format!("{prefix}{} {}w", v.name, v.width))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn img_srcs_become_urls() {
        assert_eq!(
            src_url(" https://a.jp/x?a=1&amp;b=2 "),
            "https://a.jp/x?a=1&b=2"
        );
        assert_eq!(
            src_url("http://%5B::1%5D:8080/a.png"),
            "http://[::1]:8080/a.png"
        );
        // Only the host: an encoded bracket in the path stays as written.
        assert_eq!(
            src_url("http://a.jp/%5Bx%5D.png"),
            "http://a.jp/%5Bx%5D.png"
        );
    }
}
