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
    content: String,
    toc: Vec<Heading>,
    prev: Option<PostLink>,
    next: Option<PostLink>,
    related: Vec<RelatedView>,
    source: String,
    params: BTreeMap<String, serde_json::Value>,
    /// Comments archived from an imported blog.
    comments: Vec<super::comments::CommentView>,
}

/// What every HTML page puts in its `<head>`: title, canonical URL, OGP and Twitter tags.
#[derive(Serialize)]
pub(super) struct Meta {
    pub title: String,
    pub description: String,
    pub url: String,
    pub og_type: &'static str,
    pub image: Option<String>,
    pub published_time: Option<String>,
    pub modified_time: Option<String>,
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
        }
    }

    /// The meta of a page that is not a post or standalone page (index, lists, 404).
    pub(super) fn website_meta(&self, title: String, path: &str) -> Meta {
        Meta {
            title,
            description: self.site.config.description.clone(),
            url: self.absolute(path),
            og_type: "website",
            image: None,
            published_time: None,
            modified_time: None,
        }
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

    /// og:image of a post or page: the first front-matter image, else the first in the body.
    pub(super) fn entry_image(&self, entry: &Entry) -> Option<String> {
        let doc = &entry.doc;
        doc.front
            .images
            .first()
            .or(doc.body.first_image.as_ref())
            .and_then(|src| self.image_url(entry, src))
    }

    pub(super) fn summary_of(&self, entry: &Entry, model: &SiteModel) -> PostSummary {
        let doc = &entry.doc;
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
            image: self.entry_image(entry),
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
