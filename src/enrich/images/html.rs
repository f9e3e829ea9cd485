//! Finding remote `<img>`s in posts, and writing `srcset`.

use super::{ImageUse, Purpose, Variant};
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
                let url = crate::util::unescape_html(raw.trim());
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
