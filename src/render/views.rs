//! The views handed to templates (what each template can use) and the functions
//! that make them from the site model.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat};
use serde::Serialize;

use crate::content::markdown::summarize;
use crate::content::{Heading, Rendered};
use crate::enrich::images::{self, ImageSet};
use crate::model::{Entry, SiteModel, Term};
use crate::related::{RelatedLink, round4};
use crate::util::encode_path;

use super::renderer::{Enriched, Renderer, SUMMARY_CHARS};

/// `site` in every template.
#[derive(Serialize)]
pub(super) struct SiteView {
    title: String,
    description: String,
    author: String,
    language: String,
    base_url: String,
    home: String,
    feed_url: String,
    tags_url: String,
    categories_url: String,
    archive_url: String,
    css_url: String,
    /// `/favicon.ico` (16, 32 and 48 px).
    favicon_url: String,
    /// `/icon.svg`.
    icon_url: String,
    /// `/apple-touch-icon.png` (180 px).
    apple_touch_icon_url: String,
    /// The search page and the module it imports; None when `[search]` is off.
    search_url: Option<String>,
    search_script: Option<String>,
}

/// A tag or category a post is filed under.
#[derive(Serialize, Clone)]
pub(super) struct TermLink {
    name: String,
    url: String,
}

/// The previous or next post.
#[derive(Serialize)]
pub(super) struct PostLink {
    title: String,
    url: String,
}

/// A post in a list (index, term pages, archive, 404); also the top level of
/// [`PostView`].
#[derive(Serialize, Clone)]
pub(super) struct PostSummary {
    pub title: String,
    pub url: String,
    pub permalink: String,
    /// ISO 8601 with offset, in the site's time zone.
    pub date: String,
    /// `2018年5月26日`.
    pub date_display: String,
    pub year: i32,
    pub summary: String,
    pub tags: Vec<TermLink>,
    pub categories: Vec<TermLink>,
    pub image: Option<String>,
    /// The share image's alt text, for the post's own meta (not in lists).
    #[serde(skip)]
    pub image_alt: String,
}

/// A related post under a post.
#[derive(Serialize)]
pub(super) struct RelatedView {
    title: String,
    url: String,
    date: String,
    date_display: String,
    summary: String,
    score: f64,
}

/// `post` in `post.html`, and each post of the feed.
#[derive(Serialize)]
pub(super) struct PostView {
    #[serde(flatten)]
    pub summary: PostSummary,
    pub lastmod: Option<String>,
    pub description: String,
    pub content: String,
    toc: Vec<Heading>,
    prev: Option<PostLink>,
    next: Option<PostLink>,
    related: Vec<RelatedView>,
    source: String,
    params: BTreeMap<String, serde_json::Value>,
    /// Comments archived from an imported blog.
    comments: Vec<super::comments::CommentView>,
}

/// What every HTML page puts in its `<head>`: title, canonical URL, language, OGP
/// and Twitter tags, structured data.
#[derive(Serialize)]
pub(super) struct Meta {
    pub title: String,
    pub description: String,
    pub url: String,
    pub og_type: &'static str,
    /// og:image, a full URL: the page's own first raster image, else the theme's
    /// share image (when the site has one).
    pub image: Option<String>,
    /// Known for the theme's share image only.
    pub image_width: Option<u32>,
    pub image_height: Option<u32>,
    pub image_alt: String,
    /// `summary_large_image` for a page's own image; `summary` (a square crop of the
    /// share image beside the text) otherwise.
    pub twitter_card: &'static str,
    pub published_time: Option<String>,
    pub modified_time: Option<String>,
    /// The page's language (`<html lang>`): a translation's own, else the site's.
    pub lang: String,
    /// og:locale, `ja_JP` for `ja`.
    pub og_locale: String,
    /// JSON-LD objects, each ready to go inside a `<script>` as it is (see [`json_ld`]).
    pub json_ld: Vec<String>,
}

/// The theme's share image (a static file of the default theme): og:image of every
/// page that has no raster image of its own.
pub(super) const DEFAULT_IMAGE: &str = "og-default.png";
const DEFAULT_IMAGE_SIZE: (u32, u32) = (1200, 630);
/// The icon named as the publisher's logo in structured data.
const LOGO_IMAGE: &str = "apple-touch-icon.png";

/// A JSON-LD value as the text of a `<script>` element: `<`, `>` and `&` written as
/// `\u003c`… (they only occur inside JSON strings, where the escape means the same),
/// so no title can close the script or open a comment.
pub(super) fn json_ld(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

/// og:locale for a language tag: `ja` → `ja_JP`, `en-US` → `en_US`.
fn og_locale(lang: &str) -> String {
    match lang {
        "ja" => "ja_JP".into(),
        "en" => "en_US".into(),
        "ko" => "ko_KR".into(),
        "zh" => "zh_CN".into(),
        other => other.replace('-', "_"),
    }
}

/// Whether an image reference can be an og:image: not SVG (X and Facebook do not
/// show it) and not inline data.
fn is_raster(src: &str) -> bool {
    let path = src.split(['?', '#']).next().unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    !(lower.ends_with(".svg") || lower.ends_with(".svgz") || lower.starts_with("data:"))
}

/// Every `<img src>` of a rendered body, in order, with its alt text.
fn body_images(segments: &[crate::content::Segment]) -> Vec<(String, String)> {
    let found = std::cell::RefCell::new(Vec::new());
    for seg in segments {
        let crate::content::Segment::Html(html) = seg else {
            continue;
        };
        if !html.contains("<img") {
            continue;
        }
        let _ = lol_html::rewrite_str(
            html,
            lol_html::RewriteStrSettings {
                element_content_handlers: vec![lol_html::element!("img[src]", |el| {
                    let src =
                        crate::util::unescape_html(&el.get_attribute("src").unwrap_or_default());
                    let alt =
                        crate::util::unescape_html(&el.get_attribute("alt").unwrap_or_default());
                    found.borrow_mut().push((src, alt));
                    Ok(())
                })],
                ..lol_html::RewriteStrSettings::new()
            },
        );
    }
    found.into_inner()
}

/// `paginator` in `index.html`.
#[derive(Serialize)]
pub(super) struct Paginator {
    pub current: usize,
    pub total: usize,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
}

/// A tag or category with its post count.
#[derive(Serialize)]
pub(super) struct TermView {
    pub name: String,
    pub url: String,
    pub count: usize,
}

/// The posts of one year in the archive.
#[derive(Serialize)]
pub(super) struct YearView {
    pub year: i32,
    pub posts: Vec<PostSummary>,
}

/// A `<url>` of the sitemap.
#[derive(Serialize)]
pub(super) struct UrlEntry {
    pub loc: String,
    pub lastmod: Option<String>,
}

/// What `partials/link_card.html` receives as `card`.
#[derive(Serialize)]
pub(super) struct CardView {
    pub url: String,
    pub title: String,
    pub description: String,
    /// The 1.91:1 picture (or, with image processing off, the page's https image).
    pub image: Option<PictureView>,
    /// The 1:1 picture for narrow screens, when images are processed.
    pub image_square: Option<PictureView>,
    pub site_name: String,
    pub icon: Option<String>,
    pub host: String,
    pub published: Option<String>,
    /// A card of this site's own post.
    pub local: bool,
}

/// An image as a template shows it: `src` (largest fallback), `srcset`s, size.
#[derive(Serialize)]
pub(super) struct PictureView {
    src: String,
    srcset: String,
    webp_srcset: String,
    width: Option<u32>,
    height: Option<u32>,
}

impl PictureView {
    pub fn from_set(prefix: &str, set: &ImageSet) -> PictureView {
        let largest = set.largest();
        PictureView {
            src: format!("{prefix}{}", largest.name),
            srcset: images::srcset(prefix, &set.fallback),
            webp_srcset: images::srcset(prefix, &set.webp),
            width: Some(largest.width),
            height: Some(largest.height),
        }
    }

    pub fn plain(url: &str) -> PictureView {
        PictureView {
            src: url.to_string(),
            srcset: String::new(),
            webp_srcset: String::new(),
            width: None,
            height: None,
        }
    }
}

/// The description of every post and page (meta, OGP, feed, link card):
/// front-matter `description`, else the [`summary`].
pub(super) fn description(entry: &Entry) -> String {
    entry
        .doc
        .front
        .description
        .clone()
        .unwrap_or_else(|| summary(entry))
}

/// What post lists show under a title: front-matter `summary`, else the text before
/// `<!--more-->`, else an automatic summary.
fn summary(entry: &Entry) -> String {
    let doc = &entry.doc;
    doc.front
        .summary
        .clone()
        .or_else(|| doc.body.summary_text.clone())
        .unwrap_or_else(|| auto_summary(&doc.body))
}

/// About 120 characters from the first paragraphs; from all text when there are none
/// (a post that is only a list or a table).
fn auto_summary(body: &Rendered) -> String {
    if body.prose.trim().is_empty() {
        summarize(&body.text, SUMMARY_CHARS)
    } else {
        summarize(&body.prose, SUMMARY_CHARS)
    }
}

/// `2018年5月26日`.
pub fn date_ja(d: &DateTime<FixedOffset>) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

impl Renderer<'_> {
    /// The comments archived with an imported post or page.
    pub(super) fn comment_views(
        &self,
        doc: &crate::content::Document,
    ) -> Vec<super::comments::CommentView> {
        doc.front
            .comments
            .iter()
            .map(|c| {
                super::comments::CommentView::new(
                    c,
                    |d| self.iso(d),
                    |d| date_ja(&d.with_timezone(&self.site.tz).fixed_offset()),
                )
            })
            .collect()
    }

    /// A site path as a link on the site (under `base_url`'s path).
    pub(super) fn href(&self, path: &str) -> String {
        self.site.url(&encode_path(path))
    }

    /// A site path as a full URL.
    pub(super) fn absolute(&self, path: &str) -> String {
        self.site.permalink(&encode_path(path))
    }

    /// ISO 8601 in the site's time zone.
    pub(super) fn iso(&self, d: &DateTime<FixedOffset>) -> String {
        d.with_timezone(&self.site.tz)
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    pub(super) fn site_view(&self) -> SiteView {
        let s = self.site;
        SiteView {
            title: s.config.title.clone(),
            description: s.config.description.clone(),
            author: s.config.author.clone(),
            language: s.config.language.clone(),
            base_url: s.base_url.clone(),
            home: s.url("/"),
            feed_url: s.url("/feed.xml"),
            tags_url: s.url("/tags/"),
            categories_url: s.url("/categories/"),
            archive_url: s.url("/archive/"),
            css_url: s.url("/css/style.css"),
            favicon_url: s.url("/favicon.ico"),
            icon_url: s.url("/icon.svg"),
            apple_touch_icon_url: s.url("/apple-touch-icon.png"),
            search_url: s
                .config
                .search
                .enabled
                .then(|| s.url(crate::model::SEARCH_PAGE)),
            search_script: s
                .config
                .search
                .enabled
                .then(|| s.url(crate::model::SEARCH_SCRIPT)),
        }
    }

    /// The meta of any page; `image` is the page's own og:image, if any.
    pub(super) fn meta(
        &self,
        title: String,
        description: String,
        path: &str,
        og_type: &'static str,
        image: Option<(String, String)>,
        lang: Option<&str>,
    ) -> Meta {
        let lang = lang
            .unwrap_or(self.site.config.language.as_str())
            .to_string();
        let (image, image_alt, size) = match image {
            Some((url, alt)) => (Some(url), alt, None),
            None if self.static_names.contains(DEFAULT_IMAGE) => (
                Some(self.absolute(&format!("/{DEFAULT_IMAGE}"))),
                self.site.config.title.clone(),
                Some(DEFAULT_IMAGE_SIZE),
            ),
            None => (None, String::new(), None),
        };
        let twitter_card = if size.is_some() || image.is_none() {
            "summary"
        } else {
            "summary_large_image"
        };
        Meta {
            title,
            description,
            url: self.absolute(path),
            og_type,
            image,
            image_width: size.map(|s| s.0),
            image_height: size.map(|s| s.1),
            twitter_card,
            image_alt,
            published_time: None,
            modified_time: None,
            og_locale: og_locale(&lang),
            lang,
            json_ld: Vec::new(),
        }
    }

    /// The site as the publisher in structured data.
    fn publisher(&self) -> serde_json::Value {
        let mut publisher = serde_json::json!({
            "@type": "Organization",
            "name": self.site.config.title,
            "url": self.absolute("/"),
        });
        if self.static_names.contains(LOGO_IMAGE) {
            publisher["logo"] = serde_json::json!({
                "@type": "ImageObject",
                "url": self.absolute(&format!("/{LOGO_IMAGE}")),
            });
        }
        publisher
    }

    /// `WebSite` for the home page.
    pub(super) fn website_json_ld(&self) -> String {
        let c = &self.site.config;
        json_ld(&serde_json::json!({
            "@context": "https://schema.org",
            "@type": "WebSite",
            "name": c.title,
            "description": c.description,
            "url": self.absolute("/"),
            "inLanguage": c.language,
            "publisher": self.publisher(),
        }))
    }

    /// `BreadcrumbList`: home, then each (name, full URL) given.
    pub(super) fn breadcrumbs_json_ld(&self, trail: &[(String, String)]) -> String {
        let home = (self.site.config.title.clone(), self.absolute("/"));
        let items: Vec<serde_json::Value> = std::iter::once(&home)
            .chain(trail)
            .enumerate()
            .map(|(i, (name, url))| {
                serde_json::json!({
                    "@type": "ListItem",
                    "position": i + 1,
                    "name": name,
                    "item": url,
                })
            })
            .collect();
        json_ld(&serde_json::json!({
            "@context": "https://schema.org",
            "@type": "BreadcrumbList",
            "itemListElement": items,
        }))
    }

    /// `BlogPosting` for a post, from its view and meta.
    pub(super) fn posting_json_ld(&self, view: &PostView, meta: &Meta) -> String {
        let c = &self.site.config;
        let author = if c.author.is_empty() {
            serde_json::json!({ "@type": "Organization", "name": c.title })
        } else {
            serde_json::json!({ "@type": "Person", "name": c.author, "url": self.absolute("/") })
        };
        let s = &view.summary;
        let mut posting = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "BlogPosting",
            "headline": s.title,
            "description": view.description,
            "url": s.permalink,
            "mainEntityOfPage": { "@type": "WebPage", "@id": s.permalink },
            "datePublished": s.date,
            "dateModified": view.lastmod.as_deref().unwrap_or(&s.date),
            "author": author,
            "publisher": self.publisher(),
            "inLanguage": meta.lang,
        });
        if let Some(image) = &meta.image {
            posting["image"] = serde_json::json!([image]);
        }
        if !s.tags.is_empty() {
            posting["keywords"] = s.tags.iter().map(|t| t.name.clone()).collect();
        }
        if let Some(c) = s.categories.first() {
            posting["articleSection"] = c.name.clone().into();
        }
        json_ld(&posting)
    }

    /// The meta of a page that is not a post or standalone page (index, lists, 404).
    pub(super) fn website_meta(&self, title: String, path: &str) -> Meta {
        let description = self.site.config.description.clone();
        self.meta(title, description, path, "website", None, None)
    }

    pub(super) fn term_view(&self, term: &Term) -> TermView {
        TermView {
            name: term.name.clone(),
            url: self.href(&term.path),
            count: term.posts.len(),
        }
    }

    fn term_links(&self, ids: &[usize], terms: &[Term]) -> Vec<TermLink> {
        ids.iter()
            .map(|&i| TermLink {
                name: terms[i].name.clone(),
                url: self.href(&terms[i].path),
            })
            .collect()
    }

    /// An image reference from content made absolute (og:image needs a full URL).
    fn image_url(&self, entry: &Entry, src: &str) -> Option<String> {
        if src.starts_with("https://") || src.starts_with("http://") {
            Some(src.to_string())
        } else if src.starts_with("//") || src.contains(':') {
            None
        } else if let Some(rest) = src.strip_prefix('/') {
            Some(self.site.permalink(rest))
        } else {
            Some(self.absolute(&format!("{}{}", entry.path, src)))
        }
    }

    /// og:image of a post or page, as a full URL with its alt text: the first raster
    /// front-matter image, else the first raster image in the body. SVGs are skipped.
    pub(super) fn entry_image(&self, entry: &Entry) -> Option<(String, String)> {
        let doc = &entry.doc;
        let front = doc
            .front
            .images
            .iter()
            .map(|src| (src.clone(), doc.front.title.clone()));
        // The rendered body, so that images of raw HTML and shortcodes count too.
        let mut body = body_images(&doc.body.segments);
        if let Some(first) = &doc.body.first_image
            && body.is_empty()
        {
            body.push((first.clone(), String::new()));
        }
        front
            .chain(body)
            .filter(|(src, _)| is_raster(src))
            .find_map(|(src, alt)| {
                let alt = if alt.is_empty() {
                    doc.front.title.clone()
                } else {
                    alt
                };
                self.image_url(entry, &src).map(|url| (url, alt))
            })
    }

    pub(super) fn summary_of(&self, entry: &Entry, model: &SiteModel) -> PostSummary {
        let doc = &entry.doc;
        let (image, image_alt) = match self.entry_image(entry) {
            Some((url, alt)) => (Some(url), alt),
            None => (None, String::new()),
        };
        let local = entry.date.map(|d| d.with_timezone(&self.site.tz));
        PostSummary {
            title: doc.front.title.clone(),
            url: self.href(&entry.path),
            permalink: self.absolute(&entry.path),
            date: entry.date.map(|d| self.iso(&d)).unwrap_or_default(),
            date_display: local
                .map(|d| date_ja(&d.fixed_offset()))
                .unwrap_or_default(),
            year: local.map(|d| d.year()).unwrap_or_default(),
            summary: summary(entry),
            tags: self.term_links(&entry.tags, &model.tags),
            categories: self.term_links(&entry.categories, &model.categories),
            image,
            image_alt,
        }
    }

    /// The view of post `i` (newest first); `summaries` are those of all posts.
    pub(super) fn post_view(
        &self,
        i: usize,
        model: &SiteModel,
        summaries: &[PostSummary],
        related: &[RelatedLink],
        enriched: &Enriched,
    ) -> PostView {
        let entry = &model.posts[i];
        let doc = &entry.doc;
        let link = |j: usize| PostLink {
            title: summaries[j].title.clone(),
            url: summaries[j].url.clone(),
        };
        PostView {
            description: description(entry),
            lastmod: doc.front.lastmod.map(|d| self.iso(&d)),
            content: self.content_html(entry, enriched),
            toc: doc.body.headings.clone(),
            // Posts are newest first: the previous (older) post is the next index.
            prev: (i + 1 < summaries.len()).then(|| link(i + 1)),
            next: i.checked_sub(1).map(link),
            related: related
                .iter()
                .map(|r| {
                    let s = &summaries[r.post];
                    RelatedView {
                        title: s.title.clone(),
                        url: s.url.clone(),
                        date: s.date.clone(),
                        date_display: s.date_display.clone(),
                        summary: s.summary.clone(),
                        score: round4(r.score),
                    }
                })
                .collect(),
            source: doc.source.clone(),
            params: doc.front.params.clone(),
            comments: self.comment_views(doc),
            summary: summaries[i].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::content::markdown::render;
    use crate::content::{Document, FrontMatter, Kind};

    fn page(description: Option<&str>, summary: Option<&str>, markdown: &str) -> Entry {
        let front = FrontMatter {
            title: "ページ".into(),
            description: description.map(Into::into),
            summary: summary.map(Into::into),
            ..Default::default()
        };
        Entry {
            doc: Document {
                source: "content/page.md".into(),
                kind: Kind::Page,
                front,
                date: None,
                slug: "page".into(),
                name: "page".into(),
                warnings: Vec::new(),
                lang: None,
                section: String::new(),
                bundle_dir: None,
                body: Arc::new(render(markdown, 1)),
                markdown: markdown.into(),
                body_line: 1,
                content_hash: String::new(),
                refs: Default::default(),
            },
            path: "/page/".into(),
            date: None,
            tags: Vec::new(),
            categories: Vec::new(),
            refs: Vec::new(),
            custom_terms: Vec::new(),
        }
    }

    #[test]
    fn description_is_front_matter_then_text_before_more_then_auto_summary() {
        let more = "前半の段落。\n\n<!--more-->\n\n後半の段落。\n";
        assert_eq!(description(&page(Some("説明"), Some("要約"), more)), "説明");
        assert_eq!(description(&page(None, Some("要約"), more)), "要約");
        assert_eq!(description(&page(None, None, more)), "前半の段落。");
        assert_eq!(
            description(&page(None, None, "前半の段落。\n\n後半の段落。\n")),
            "前半の段落。 後半の段落。"
        );
    }
}
