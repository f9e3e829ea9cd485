//! Render stage: turns the site model (plus related posts) into output files
//! through minijinja templates. Strict undefined: a typo in a template is an error
//! naming the template file and line.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value, context};
use rayon::prelude::*;
use serde::Serialize;

use crate::config::Site;
use crate::content::markdown::{link_paragraph, summarize};
use crate::content::{Heading, Segment};
use crate::enrich::cards::{self, Card};
use crate::enrich::images::{self, ImageSet, Images, Purpose};
use crate::model::{Entry, SiteModel, Term};
use crate::related::{RelatedLink, round4};
use crate::theme::Theme;
use crate::util::{encode_path, escape_html};

/// How many characters an automatic summary has.
pub const SUMMARY_CHARS: usize = 120;
/// How many posts the Atom feed carries.
pub const FEED_ENTRIES: usize = 20;

const CARD_TEMPLATE: &str = "partials/link_card.html";

/// What `partials/link_card.html` receives as `card`.
#[derive(Serialize, Clone)]
struct CardView {
    url: String,
    title: String,
    description: String,
    /// The 1.91:1 picture (or, with image processing off, the page's https image).
    image: Option<PictureView>,
    /// The 1:1 picture for narrow screens, when images are processed.
    image_square: Option<PictureView>,
    site_name: String,
    icon: Option<String>,
    host: String,
    published: Option<String>,
    /// A card of this site's own post.
    local: bool,
}

/// An image as a template shows it: `src` (largest fallback), `srcset`s, size.
#[derive(Serialize, Clone)]
struct PictureView {
    src: String,
    srcset: String,
    webp_srcset: String,
    width: Option<u32>,
    height: Option<u32>,
}

impl PictureView {
    fn from_set(prefix: &str, set: &ImageSet) -> PictureView {
        let largest = set.largest();
        PictureView {
            src: format!("{prefix}{}", largest.name),
            srcset: images::srcset(prefix, &set.fallback),
            webp_srcset: images::srcset(prefix, &set.webp),
            width: Some(largest.width),
            height: Some(largest.height),
        }
    }

    fn plain(url: &str) -> PictureView {
        PictureView {
            src: url.to_string(),
            srcset: String::new(),
            webp_srcset: String::new(),
            width: None,
            height: None,
        }
    }
}

/// What the render stage gets from the enrich stage, prepared once per build.
struct Enriched<'e> {
    /// Link-card HTML by URL.
    cards: BTreeMap<String, String>,
    images: Option<&'e Images>,
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// A rendered file, ready to be written.
pub struct OutputFile {
    /// `/`-separated path inside the output folder.
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Serialize, Clone)]
struct SiteView {
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

#[derive(Serialize, Clone)]
struct TermLink {
    name: String,
    url: String,
}

#[derive(Serialize, Clone)]
struct PostLink {
    title: String,
    url: String,
}

#[derive(Serialize, Clone)]
struct PostSummary {
    title: String,
    url: String,
    permalink: String,
    /// ISO 8601 with offset, in the site's time zone.
    date: String,
    /// `2018年5月26日`.
    date_display: String,
    year: i32,
    summary: String,
    tags: Vec<TermLink>,
    categories: Vec<TermLink>,
    image: Option<String>,
}

#[derive(Serialize)]
struct RelatedView {
    title: String,
    url: String,
    date: String,
    date_display: String,
    summary: String,
    score: f64,
}

#[derive(Serialize)]
struct PostView {
    #[serde(flatten)]
    summary: PostSummary,
    lastmod: Option<String>,
    description: String,
    content: String,
    toc: Vec<Heading>,
    prev: Option<PostLink>,
    next: Option<PostLink>,
    related: Vec<RelatedView>,
    source: String,
    params: BTreeMap<String, serde_json::Value>,
}

/// What every HTML page puts in its `<head>`: title, canonical URL, OGP and Twitter tags.
#[derive(Serialize)]
struct Meta {
    title: String,
    description: String,
    url: String,
    og_type: &'static str,
    image: Option<String>,
    published_time: Option<String>,
    modified_time: Option<String>,
}

#[derive(Serialize)]
struct Paginator {
    current: usize,
    total: usize,
    prev_url: Option<String>,
    next_url: Option<String>,
}

#[derive(Serialize)]
struct TermView {
    name: String,
    url: String,
    count: usize,
}

#[derive(Serialize)]
struct YearView {
    year: i32,
    posts: Vec<PostSummary>,
}

#[derive(Serialize)]
struct UrlEntry {
    loc: String,
    lastmod: Option<String>,
}

/// A page of output waiting for its template.
struct Job {
    path: String,
    template: &'static str,
    origin: String,
    ctx: Value,
}

pub struct Renderer<'a> {
    site: &'a Site,
    env: Environment<'static>,
    origins: Arc<std::sync::Mutex<BTreeMap<String, String>>>,
    theme: Theme,
}

impl<'a> Renderer<'a> {
    pub fn new(site: &'a Site, theme: Theme) -> Renderer<'a> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let origins = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let loader_theme = theme.clone();
        let loader_origins = origins.clone();
        env.set_loader(move |name| match loader_theme.template(name) {
            Ok(Some(src)) => {
                if let Ok(mut o) = loader_origins.lock() {
                    o.insert(name.to_string(), src.origin);
                }
                Ok(Some(src.text))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                e.to_string(),
            )),
        });
        env.add_filter("urlencode_path", |s: String| encode_path(&s));
        // Escape as HTML needs and no more: the built-in escaper also turns `/` into
        // `&#x2f;`, which is valid but makes every URL in the output unreadable.
        env.set_formatter(|out, state, value| {
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            let text = value.to_string();
            if state.auto_escape() == minijinja::AutoEscape::None || value.is_safe() {
                out.write_str(&text)
            } else {
                out.write_str(&escape_html(&text))
            }
            .map_err(|e| minijinja::Error::new(ErrorKind::WriteFailure, e.to_string()))
        });
        Renderer {
            site,
            env,
            origins,
            theme,
        }
    }

    /// Renders every page of the site. `cards`: the fetched link cards by URL; URLs of
    /// this site become cards of the local post, any other URL a plain link.
    pub fn render_site(
        &self,
        model: &SiteModel,
        related: &[Vec<RelatedLink>],
        cards: &BTreeMap<String, Card>,
        images: Option<&Images>,
    ) -> Result<Vec<OutputFile>> {
        let enriched = Enriched {
            cards: self.card_html(model, cards, images)?,
            images,
        };
        let jobs = self.plan(model, related, &enriched)?;
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for job in &jobs {
            if let Some(prev) = seen.insert(&job.path, &job.origin) {
                return Err(anyhow!(
                    "{} and {} both write {} (change a slug, alias or term name)",
                    prev,
                    job.origin,
                    job.path
                ));
            }
        }
        let results: Vec<Result<OutputFile>> = jobs
            .par_iter()
            .map(|job| {
                let text = self.render_template(job.template, &job.ctx)?;
                Ok(OutputFile {
                    path: job.path.clone(),
                    bytes: text.into_bytes(),
                })
            })
            .collect();
        results.into_iter().collect()
    }

    /// The HTML of every link card the site's pages show, rendered once per URL
    /// through `partials/link_card.html`.
    fn card_html(
        &self,
        model: &SiteModel,
        remote: &BTreeMap<String, Card>,
        images: Option<&Images>,
    ) -> Result<BTreeMap<String, String>> {
        let mut views: BTreeMap<&str, CardView> = BTreeMap::new();
        for entry in model.posts.iter().chain(&model.pages) {
            for seg in &entry.doc.body.segments {
                let Segment::Card { url, .. } = seg else {
                    continue;
                };
                if views.contains_key(url.as_str()) {
                    continue;
                }
                let view = if let Some(card) = remote.get(url) {
                    Some(self.remote_card(card, images))
                } else {
                    cards::local_entry(self.site, model, url)
                        .map(|target| self.local_card(url, target))
                };
                if let Some(view) = view {
                    views.insert(url, view);
                }
            }
        }
        views
            .into_par_iter()
            .map(|(url, card)| {
                let html = self.render_template(CARD_TEMPLATE, &context! { card })?;
                Ok((url.to_string(), html))
            })
            .collect()
    }

    fn remote_card(&self, card: &Card, images: Option<&Images>) -> CardView {
        let meta = &card.meta;
        let prefix = self.site.url(&format!("/{}/", images::OUTPUT_DIR));
        let processed = |purpose: Purpose, url: &Option<String>| {
            url.as_ref()
                .and_then(|u| images?.ready.get(&(purpose, u.clone())))
        };
        let (image, image_square, icon) = match images {
            Some(_) => {
                let card_image = processed(Purpose::Card, &meta.image);
                let icon = processed(Purpose::Icon, &Some(meta.icon.clone()))
                    .and_then(|p| p.sets.get("icon"))
                    .map(|set| format!("{prefix}{}", set.largest().name));
                (
                    card_image
                        .and_then(|p| p.sets.get("wide"))
                        .map(|s| PictureView::from_set(&prefix, s)),
                    card_image
                        .and_then(|p| p.sets.get("square"))
                        .map(|s| PictureView::from_set(&prefix, s)),
                    icon,
                )
            }
            // Without image processing only https images are shown: an http image
            // on an https page is mixed content.
            None => {
                let https = |u: &str| u.starts_with("https://").then(|| u.to_string());
                (
                    meta.image
                        .as_deref()
                        .and_then(https)
                        .map(|u| PictureView::plain(&u)),
                    None,
                    https(&meta.icon),
                )
            }
        };
        CardView {
            url: card.url.clone(),
            title: meta.title.clone().unwrap_or_else(|| card.url.clone()),
            description: meta.description.clone().unwrap_or_default(),
            image,
            image_square,
            site_name: meta.site_name.clone(),
            icon,
            host: host_of(&card.final_url),
            published: meta.published.clone(),
            local: false,
        }
    }

    /// A card for a post or page of this site, made without any request.
    fn local_card(&self, url: &str, target: &Entry) -> CardView {
        let doc = &target.doc;
        // Linked by its path, so the card works on preview deployments and in `serve`.
        CardView {
            url: self.site.url(&encode_path(&target.path)),
            title: doc.front.title.clone(),
            description: doc
                .front
                .description
                .clone()
                .or_else(|| doc.front.summary.clone())
                .or_else(|| doc.body.summary_text.clone())
                .unwrap_or_else(|| auto_summary(&doc.body)),
            image: self
                .entry_image(target)
                .filter(|u| u.starts_with("https://"))
                .map(|u| PictureView::plain(&u)),
            image_square: None,
            site_name: self.site.config.title.clone(),
            icon: None,
            host: host_of(url),
            published: target
                .date
                .map(|d| d.with_timezone(&self.site.tz).date_naive().to_string()),
            local: true,
        }
    }

    fn render_template(&self, name: &str, ctx: &Value) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| self.template_error(name, e))?;
        tmpl.render(ctx).map_err(|e| self.template_error(name, e))
    }

    /// `file:line: message` for a template problem, naming the file it came from.
    fn template_error(&self, requested: &str, e: minijinja::Error) -> anyhow::Error {
        if e.kind() == ErrorKind::TemplateNotFound {
            let missing = e
                .detail()
                .and_then(|d| d.split('"').nth(1).map(str::to_string))
                .or_else(|| e.name().map(str::to_string))
                .unwrap_or_else(|| requested.to_string());
            let missing = if missing.is_empty() {
                requested.to_string()
            } else {
                missing
            };
            return anyhow!(
                "template {missing:?} not found in theme {:?} ({})",
                self.theme.name,
                self.theme.template_hint(&missing)
            );
        }
        let name = e.name().unwrap_or(requested).to_string();
        let origin = self
            .origins
            .lock()
            .ok()
            .and_then(|o| o.get(&name).cloned())
            .unwrap_or(name);
        let line = e.line().map(|l| format!(":{l}")).unwrap_or_default();
        let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
        anyhow!("{origin}{line}: template error: {}{detail}", e.kind())
    }

    fn site_view(&self) -> SiteView {
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

    fn href(&self, path: &str) -> String {
        self.site.url(&encode_path(path))
    }

    fn absolute(&self, path: &str) -> String {
        self.site.permalink(&encode_path(path))
    }

    fn iso(&self, d: &DateTime<FixedOffset>) -> String {
        d.with_timezone(&self.site.tz)
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
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
    fn entry_image(&self, entry: &Entry) -> Option<String> {
        let doc = &entry.doc;
        doc.front
            .images
            .first()
            .or(doc.body.first_image.as_ref())
            .and_then(|src| self.image_url(entry, src))
    }

    fn summary_of(&self, entry: &Entry, model: &SiteModel) -> PostSummary {
        let doc = &entry.doc;
        let local = entry.date.map(|d| d.with_timezone(&self.site.tz));
        let summary = doc
            .front
            .summary
            .clone()
            .or_else(|| doc.body.summary_text.clone())
            .unwrap_or_else(|| auto_summary(&doc.body));
        let image = self.entry_image(entry);
        PostSummary {
            title: doc.front.title.clone(),
            url: self.href(&entry.path),
            permalink: self.absolute(&entry.path),
            date: entry.date.map(|d| self.iso(&d)).unwrap_or_default(),
            date_display: local
                .map(|d| date_ja(&d.fixed_offset()))
                .unwrap_or_default(),
            year: local.map(|d| d.year()).unwrap_or_default(),
            summary,
            tags: self.term_links(&entry.tags, &model.tags),
            categories: self.term_links(&entry.categories, &model.categories),
            image,
        }
    }

    fn content_html(&self, entry: &Entry, enriched: &Enriched) -> String {
        entry
            .doc
            .body
            .segments
            .iter()
            .map(|seg| match seg {
                Segment::Html(h) if h.contains("<img") => self.rewrite_images(h, enriched.images),
                Segment::Html(h) => h.clone(),
                Segment::Card { url, .. } => enriched
                    .cards
                    .get(url)
                    .cloned()
                    .unwrap_or_else(|| link_paragraph(url)),
            })
            .collect()
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
                    let url = crate::util::unescape_html(raw.trim());
                    let ready = images
                        .ready
                        .get(&(Purpose::Inline, url.clone()))
                        .and_then(|p| p.sets.get("inline"));
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

    fn post_view(
        &self,
        i: usize,
        model: &SiteModel,
        summaries: &[PostSummary],
        related: &[RelatedLink],
        cards: &Enriched,
    ) -> PostView {
        let entry = &model.posts[i];
        let doc = &entry.doc;
        let link = |j: usize| PostLink {
            title: summaries[j].title.clone(),
            url: summaries[j].url.clone(),
        };
        let summary = summaries[i].clone();
        PostView {
            description: doc
                .front
                .description
                .clone()
                .unwrap_or_else(|| summary.summary.clone()),
            lastmod: doc.front.lastmod.map(|d| self.iso(&d)),
            content: self.content_html(entry, cards),
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
            summary,
        }
    }

    fn website_meta(&self, title: String, path: &str) -> Meta {
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

    fn plan(
        &self,
        model: &SiteModel,
        related: &[Vec<RelatedLink>],
        cards: &Enriched,
    ) -> Result<Vec<Job>> {
        let site_view = self.site_view();
        let site_title = self.site.config.title.clone();
        let summaries: Vec<PostSummary> = model
            .posts
            .iter()
            .map(|e| self.summary_of(e, model))
            .collect();
        let mut jobs = Vec::new();
        let page_path = |p: &str| {
            if p.ends_with(".html") {
                p.trim_start_matches('/').to_string()
            } else {
                format!("{}index.html", p.trim_start_matches('/'))
            }
        };

        // Index, paginated.
        let per_page = self.site.config.paginate;
        let chunks: Vec<&[PostSummary]> = if summaries.is_empty() {
            vec![&[]]
        } else {
            summaries.chunks(per_page).collect()
        };
        let index_path = |n: usize| {
            if n == 1 {
                "/".to_string()
            } else {
                format!("/page/{n}/")
            }
        };
        for (k, chunk) in chunks.iter().enumerate() {
            let n = k + 1;
            let path = index_path(n);
            let title = if n == 1 {
                site_title.clone()
            } else {
                format!("{site_title}（{n}ページ目）")
            };
            jobs.push(Job {
                path: page_path(&path),
                template: "index.html",
                origin: "the post index".into(),
                ctx: context! {
                    site => &site_view,
                    meta => self.website_meta(title, &path),
                    posts => chunk,
                    paginator => Paginator {
                        current: n,
                        total: chunks.len(),
                        prev_url: (n > 1).then(|| self.href(&index_path(n - 1))),
                        next_url: (n < chunks.len()).then(|| self.href(&index_path(n + 1))),
                    },
                },
            });
        }

        // Posts.
        for (i, entry) in model.posts.iter().enumerate() {
            let empty = Vec::new();
            let view = self.post_view(
                i,
                model,
                &summaries,
                related.get(i).unwrap_or(&empty),
                cards,
            );
            let meta = Meta {
                title: format!("{} | {}", view.summary.title, site_title),
                description: view.description.clone(),
                url: view.summary.permalink.clone(),
                og_type: "article",
                image: view.summary.image.clone(),
                published_time: Some(view.summary.date.clone()),
                modified_time: view.lastmod.clone(),
            };
            jobs.push(Job {
                path: page_path(&entry.path),
                template: "post.html",
                origin: entry.doc.source.clone(),
                ctx: context! { site => &site_view, meta => meta, post => view },
            });
        }

        // Standalone pages.
        for entry in &model.pages {
            let doc = &entry.doc;
            let description = doc
                .front
                .description
                .clone()
                .or_else(|| doc.front.summary.clone())
                .unwrap_or_else(|| auto_summary(&doc.body));
            let image = self.entry_image(entry);
            let meta = Meta {
                title: format!("{} | {}", doc.front.title, site_title),
                description: description.clone(),
                url: self.absolute(&entry.path),
                og_type: "website",
                image,
                published_time: None,
                modified_time: None,
            };
            jobs.push(Job {
                path: page_path(&entry.path),
                template: "page.html",
                origin: doc.source.clone(),
                ctx: context! {
                    site => &site_view,
                    meta => meta,
                    page => context! {
                        title => doc.front.title.clone(),
                        url => self.href(&entry.path),
                        description => description,
                        content => self.content_html(entry, cards),
                        toc => doc.body.headings.clone(),
                        params => doc.front.params.clone(),
                    },
                },
            });
        }

        // Aliases of posts and pages.
        for entry in model.posts.iter().chain(&model.pages) {
            for alias in &entry.doc.front.aliases {
                let alias_path = normalize_alias(alias).ok_or_else(|| {
                    anyhow!(
                        "{}: alias {alias:?} is not a usable path (use e.g. /old/path/)",
                        entry.doc.source
                    )
                })?;
                jobs.push(Job {
                    path: page_path(&alias_path),
                    template: "alias.html",
                    origin: format!("{} (alias {alias})", entry.doc.source),
                    ctx: context! {
                        site => &site_view,
                        target => self.absolute(&entry.path),
                        title => entry.doc.front.title.clone(),
                    },
                });
            }
        }

        // Taxonomies.
        for (kind, label, terms) in [
            ("tags", "タグ", &model.tags),
            ("categories", "カテゴリー", &model.categories),
        ] {
            let list_path = format!("/{kind}/");
            let views: Vec<TermView> = terms
                .iter()
                .map(|t| TermView {
                    name: t.name.clone(),
                    url: self.href(&t.path),
                    count: t.posts.len(),
                })
                .collect();
            jobs.push(Job {
                path: page_path(&list_path),
                template: "terms.html",
                origin: format!("the {kind} list"),
                ctx: context! {
                    site => &site_view,
                    meta => self.website_meta(format!("{label}一覧 | {site_title}"), &list_path),
                    kind => kind,
                    label => label,
                    terms => views,
                },
            });
            for term in terms {
                let posts: Vec<&PostSummary> = term.posts.iter().map(|&i| &summaries[i]).collect();
                jobs.push(Job {
                    path: page_path(&term.path),
                    template: "term.html",
                    origin: format!("{kind} {:?}", term.name),
                    ctx: context! {
                        site => &site_view,
                        meta => self.website_meta(
                            format!("{label}「{}」の記事 | {site_title}", term.name),
                            &term.path,
                        ),
                        kind => kind,
                        label => label,
                        term => TermView {
                            name: term.name.clone(),
                            url: self.href(&term.path),
                            count: term.posts.len(),
                        },
                        posts => posts,
                    },
                });
            }
        }

        // Yearly archive, newest year first.
        let mut years: Vec<YearView> = Vec::new();
        for s in &summaries {
            match years.last_mut() {
                Some(y) if y.year == s.year => y.posts.push(s.clone()),
                _ => years.push(YearView {
                    year: s.year,
                    posts: vec![s.clone()],
                }),
            }
        }
        jobs.push(Job {
            path: "archive/index.html".into(),
            template: "archive.html",
            origin: "the archive".into(),
            ctx: context! {
                site => &site_view,
                meta => self.website_meta(format!("アーカイブ | {site_title}"), "/archive/"),
                years => years,
            },
        });

        jobs.push(Job {
            path: "404.html".into(),
            template: "404.html",
            origin: "the 404 page".into(),
            ctx: context! {
                site => &site_view,
                meta => self.website_meta(format!("ページが見つかりません | {site_title}"), "/404.html"),
                recent => summaries.iter().take(5).collect::<Vec<_>>(),
            },
        });

        // Feed: newest posts; `updated` comes from content, never from the clock.
        let feed_posts: Vec<PostView> = (0..summaries.len().min(FEED_ENTRIES))
            .map(|i| self.post_view(i, model, &summaries, &[], cards))
            .collect();
        let updated = model
            .posts
            .iter()
            .filter_map(|e| e.doc.front.lastmod.or(e.date))
            .max()
            .map(|d| self.iso(&d))
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
        jobs.push(Job {
            path: "feed.xml".into(),
            template: "feed.xml",
            origin: "the feed".into(),
            ctx: context! {
                site => &site_view,
                feed_url => self.absolute("/feed.xml"),
                updated => updated,
                posts => feed_posts,
            },
        });

        // Sitemap.
        let mut urls = vec![UrlEntry {
            loc: self.absolute("/"),
            lastmod: None,
        }];
        for (e, s) in model.posts.iter().zip(&summaries) {
            urls.push(UrlEntry {
                loc: s.permalink.clone(),
                lastmod: Some(
                    e.doc
                        .front
                        .lastmod
                        .map(|d| self.iso(&d))
                        .unwrap_or(s.date.clone()),
                ),
            });
        }
        for e in &model.pages {
            urls.push(UrlEntry {
                loc: self.absolute(&e.path),
                lastmod: None,
            });
        }
        for path in ["/tags/", "/categories/", "/archive/"] {
            urls.push(UrlEntry {
                loc: self.absolute(path),
                lastmod: None,
            });
        }
        for t in model.tags.iter().chain(&model.categories) {
            urls.push(UrlEntry {
                loc: self.absolute(&t.path),
                lastmod: None,
            });
        }
        jobs.push(Job {
            path: "sitemap.xml".into(),
            template: "sitemap.xml",
            origin: "the sitemap".into(),
            ctx: context! { site => &site_view, urls => urls },
        });
        jobs.push(Job {
            path: "robots.txt".into(),
            template: "robots.txt",
            origin: "robots.txt".into(),
            ctx: context! { site => &site_view, sitemap_url => self.absolute("/sitemap.xml") },
        });
        Ok(jobs)
    }
}

/// `/old/path/`, `old/path` or `/old.html` → a site path; `None` for URLs and `..`.
fn normalize_alias(alias: &str) -> Option<String> {
    let a = alias.trim();
    if a.is_empty() || a.contains("://") || a.contains("..") || a.contains(['?', '#', '\\']) {
        return None;
    }
    let mut p = format!("/{}", a.trim_start_matches('/'));
    if !p.ends_with('/') && !p.ends_with(".html") {
        p.push('/');
    }
    Some(p)
}

/// About 120 characters from the first paragraphs; from all text when there are none
/// (a post that is only a list or a table).
fn auto_summary(body: &crate::content::Rendered) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_normalised() {
        assert_eq!(normalize_alias("old/post").as_deref(), Some("/old/post/"));
        assert_eq!(normalize_alias("/old.html").as_deref(), Some("/old.html"));
        assert_eq!(normalize_alias("../etc"), None);
        assert_eq!(normalize_alias("https://x"), None);
    }
}
