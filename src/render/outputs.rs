//! One function per kind of output file, each giving the jobs (path, template and
//! context) for that output.

use anyhow::{Result, anyhow};
use minijinja::context;

use crate::model::{SEARCH_PAGE, SiteModel};
use crate::related::RelatedLink;

use super::content::absolute_links;
use super::renderer::{Enriched, FEED_ENTRIES, Job, Renderer};
use super::views::{
    Paginator, PostSummary, PostView, SiteView, TermView, UrlEntry, YearView, description,
};

/// What several outputs need, made once per build.
pub(super) struct Shared<'m> {
    pub model: &'m SiteModel,
    pub site: SiteView,
    /// The summary of every post, in `model.posts` order (newest first).
    pub summaries: Vec<PostSummary>,
}

impl Renderer<'_> {
    pub(super) fn shared<'m>(&self, model: &'m SiteModel) -> Shared<'m> {
        Shared {
            model,
            site: self.site_view(),
            summaries: model
                .posts
                .iter()
                .map(|e| self.summary_of(e, model))
                .collect(),
        }
    }

    /// The post index, `paginate` posts a page; one empty page when there are no posts.
    pub(super) fn render_index(&self, s: &Shared, enriched: &Enriched) -> Vec<Job> {
        let site_title = &self.site.config.title;
        // `content/_index.md`'s text, on the first page.
        let home_intro = s
            .model
            .home
            .as_ref()
            .map(|e| self.content_html(e, enriched));
        let chunks: Vec<&[PostSummary]> = if s.summaries.is_empty() {
            vec![&[]]
        } else {
            s.summaries.chunks(self.site.config.paginate).collect()
        };
        let mut jobs = Vec::new();
        for (k, chunk) in chunks.iter().enumerate() {
            let n = k + 1;
            let path = index_path(n);
            let title = if n == 1 {
                site_title.clone()
            } else {
                format!("{site_title}（{n}ページ目）")
            };
            let mut meta = self.website_meta(title, &path);
            if n == 1 {
                meta.json_ld.push(self.website_json_ld());
            }
            jobs.push(Job {
                path: page_path(&path),
                template: "index.html",
                origin: "the post index".into(),
                ctx: context! {
                    site => &s.site,
                    meta => meta,
                    home_intro => if n == 1 { home_intro.clone() } else { None },
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
        jobs
    }

    pub(super) fn render_posts(
        &self,
        s: &Shared,
        related: &[Vec<RelatedLink>],
        enriched: &Enriched,
    ) -> Vec<Job> {
        let site_title = &self.site.config.title;
        let mut jobs = Vec::new();
        for (i, entry) in s.model.posts.iter().enumerate() {
            let related = related.get(i).map(Vec::as_slice).unwrap_or_default();
            let view = self.post_view(i, s.model, &s.summaries, related, enriched);
            let mut meta = self.meta(
                format!("{} | {}", view.summary.title, site_title),
                view.description.clone(),
                &entry.path,
                "article",
                // Found once, for the summary.
                view.summary
                    .image
                    .clone()
                    .map(|url| (url, view.summary.image_alt.clone())),
                entry.doc.lang.as_deref(),
            );
            meta.published_time = Some(view.summary.date.clone());
            meta.modified_time = view.lastmod.clone();
            meta.json_ld.push(self.posting_json_ld(&view, &meta));
            // Home, the first category (else the archive), the post.
            let middle = match entry.categories.first().map(|&c| &s.model.categories[c]) {
                Some(c) => (c.name.clone(), self.absolute(&c.path)),
                None => ("アーカイブ".to_string(), self.absolute("/archive/")),
            };
            let post = (view.summary.title.clone(), view.summary.permalink.clone());
            meta.json_ld.push(self.breadcrumbs_json_ld(&[middle, post]));
            jobs.push(Job {
                path: page_path(&entry.path),
                template: "post.html",
                origin: entry.doc.source.clone(),
                ctx: context! { site => &s.site, meta => meta, post => view },
            });
        }
        jobs
    }

    /// Standalone pages (`content/*.md` outside `posts/`).
    pub(super) fn render_pages(&self, s: &Shared, enriched: &Enriched) -> Vec<Job> {
        let site_title = &self.site.config.title;
        let mut jobs = Vec::new();
        for entry in &s.model.pages {
            let doc = &entry.doc;
            let description = description(entry);
            let mut meta = self.meta(
                format!("{} | {}", doc.front.title, site_title),
                description.clone(),
                &entry.path,
                "website",
                self.entry_image(entry),
                doc.lang.as_deref(),
            );
            let trail = [(doc.front.title.clone(), self.absolute(&entry.path))];
            meta.json_ld.push(self.breadcrumbs_json_ld(&trail));
            jobs.push(Job {
                path: page_path(&entry.path),
                template: "page.html",
                origin: doc.source.clone(),
                ctx: context! {
                    site => &s.site,
                    meta => meta,
                    page => context! {
                        title => doc.front.title.clone(),
                        url => self.href(&entry.path),
                        description => description,
                        content => self.content_html(entry, enriched),
                        toc => doc.body.headings.clone(),
                        params => doc.front.params.clone(),
                        comments => self.comment_views(doc),
                    },
                },
            });
        }
        jobs
    }

    /// A redirect page at each alias of a post or page.
    pub(super) fn render_aliases(&self, s: &Shared) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();
        for entry in s.model.posts.iter().chain(&s.model.pages) {
            for alias in &entry.doc.front.aliases {
                let alias_path = crate::model::alias_path(alias).ok_or_else(|| {
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
                        site => &s.site,
                        target => self.absolute(&entry.path),
                        title => entry.doc.front.title.clone(),
                    },
                });
            }
        }
        for (from, to) in &self.site.config.redirects {
            let path = crate::model::alias_path(from).ok_or_else(|| {
                anyhow!(
                    "site.toml: [redirects] {from:?} is not a usable path (use e.g. \"/old/path/\")"
                )
            })?;
            let target = if to.starts_with('/') {
                self.absolute(to)
            } else if to.starts_with("https://") || to.starts_with("http://") {
                to.clone()
            } else {
                return Err(anyhow!(
                    "site.toml: [redirects] {from:?} = {to:?}: the target must be a site path (\"/tags/rust/\") or an http(s) URL"
                ));
            };
            jobs.push(Job {
                path: page_path(&path),
                template: "alias.html",
                origin: format!("site.toml ([redirects] {from})"),
                ctx: context! { site => &s.site, target => target, title => to.clone() },
            });
        }
        Ok(jobs)
    }

    /// For tags, then categories: the list of terms, then a page per term.
    pub(super) fn render_taxonomies(&self, s: &Shared) -> Vec<Job> {
        let site_title = &self.site.config.title;
        let mut jobs = Vec::new();
        let builtin = [
            ("tags", "タグ", &s.model.tags),
            ("categories", "カテゴリー", &s.model.categories),
        ];
        let custom = s
            .model
            .taxonomies
            .iter()
            .map(|t| (t.name.as_str(), t.name.as_str(), &t.terms));
        for (kind, label, terms) in builtin.into_iter().chain(custom) {
            let list_path = format!("/{kind}/");
            let views: Vec<TermView> = terms.iter().map(|t| self.term_view(t)).collect();
            jobs.push(Job {
                path: page_path(&list_path),
                template: "terms.html",
                origin: format!("the {kind} list"),
                ctx: context! {
                    site => &s.site,
                    meta => self.website_meta(format!("{label}一覧 | {site_title}"), &list_path),
                    kind => kind,
                    label => label,
                    terms => views,
                },
            });
            for term in terms {
                let posts: Vec<&PostSummary> =
                    term.posts.iter().map(|&i| &s.summaries[i]).collect();
                jobs.push(Job {
                    path: page_path(&term.path),
                    template: "term.html",
                    origin: format!("{kind} {:?}", term.name),
                    ctx: context! {
                        site => &s.site,
                        meta => self.website_meta(
                            format!("{label}「{}」の記事 | {site_title}", term.name),
                            &term.path,
                        ),
                        kind => kind,
                        label => label,
                        term => self.term_view(term),
                        posts => posts,
                    },
                });
            }
        }
        jobs
    }

    /// A list page per section (`/post/`, `/docs/`), titled and introduced by its
    /// `_index.md`, unless a page already has that path. A theme of its own that
    /// has no `section.html` gets none (it was written before sections had pages).
    pub(super) fn render_sections(
        &self,
        s: &Shared,
        enriched: &Enriched,
        planned: &[Job],
    ) -> Result<Vec<Job>> {
        if self.theme.template("section.html")?.is_none() {
            return Ok(Vec::new());
        }
        let taken: std::collections::BTreeSet<&str> =
            planned.iter().map(|j| j.path.as_str()).collect();
        let site_title = &self.site.config.title;
        let mut jobs = Vec::new();
        for section in &s.model.sections {
            let path = page_path(&section.path);
            if taken.contains(path.as_str()) {
                continue;
            }
            let posts: Vec<&PostSummary> = section.posts.iter().map(|&i| &s.summaries[i]).collect();
            let pages: Vec<_> = section
                .pages
                .iter()
                .map(|&i| {
                    let e = &s.model.pages[i];
                    context! { title => e.doc.front.title.clone(), url => self.href(&e.path) }
                })
                .collect();
            let content = section
                .intro
                .as_ref()
                .map(|e| self.content_html(e, enriched));
            let mut meta =
                self.website_meta(format!("{} | {site_title}", section.title), &section.path);
            if let Some(d) = section
                .intro
                .as_ref()
                .and_then(|e| e.doc.front.description.clone())
            {
                meta.description = d;
            }
            jobs.push(Job {
                path,
                template: "section.html",
                origin: format!("the section {}", section.name),
                ctx: context! {
                    site => &s.site,
                    meta => meta,
                    section => context! {
                        name => section.name.clone(),
                        title => section.title.clone(),
                        url => self.href(&section.path),
                        content => content,
                    },
                    posts => posts,
                    pages => pages,
                },
            });
        }
        Ok(jobs)
    }

    /// The yearly archive, newest year first.
    pub(super) fn render_archive(&self, s: &Shared) -> Job {
        let mut years: Vec<YearView> = Vec::new();
        for p in &s.summaries {
            match years.last_mut() {
                Some(y) if y.year == p.year => y.posts.push(p.clone()),
                _ => years.push(YearView {
                    year: p.year,
                    posts: vec![p.clone()],
                }),
            }
        }
        Job {
            path: "archive/index.html".into(),
            template: "archive.html",
            origin: "the archive".into(),
            ctx: context! {
                site => &s.site,
                meta => self.website_meta(
                    format!("アーカイブ | {}", self.site.config.title),
                    "/archive/",
                ),
                years => years,
            },
        }
    }

    /// The search page, unless search is off, the site has its own page there
    /// (which the pipeline warns about), or the site's own theme has no
    /// `search.html` (a theme written before search keeps building; the index is
    /// written all the same).
    pub(super) fn render_search(&self, s: &Shared) -> Result<Option<Job>> {
        let taken = s.model.pages.iter().any(|p| p.path == SEARCH_PAGE);
        if !self.site.config.search.enabled
            || taken
            || self.theme.template("search.html")?.is_none()
        {
            return Ok(None);
        }
        Ok(Some(Job {
            path: format!("{}index.html", SEARCH_PAGE.trim_start_matches('/')),
            template: "search.html",
            origin: "the search page".into(),
            ctx: context! {
                site => &s.site,
                meta => self.website_meta(
                    format!("検索 | {}", self.site.config.title),
                    SEARCH_PAGE,
                ),
            },
        }))
    }

    pub(super) fn render_404(&self, s: &Shared) -> Job {
        Job {
            path: "404.html".into(),
            template: "404.html",
            origin: "the 404 page".into(),
            ctx: context! {
                site => &s.site,
                meta => self.website_meta(
                    format!("ページが見つかりません | {}", self.site.config.title),
                    "/404.html",
                ),
                recent => s.summaries.iter().take(5).collect::<Vec<_>>(),
            },
        }
    }

    /// The Atom feed of the newest posts; `updated` comes from content, never from
    /// the clock, so an unchanged site gives an unchanged feed.
    pub(super) fn render_feed(&self, s: &Shared, enriched: &Enriched) -> Job {
        // Feed readers show entries away from the site: links and images in them
        // must be full URLs.
        let posts: Vec<PostView> = (0..s.summaries.len().min(FEED_ENTRIES))
            .map(|i| {
                let mut view = self.post_view(i, s.model, &s.summaries, &[], enriched);
                view.content = absolute_links(&view.content, &view.summary.permalink);
                view
            })
            .collect();
        let updated = s
            .model
            .posts
            .iter()
            .filter_map(|e| e.doc.front.lastmod.or(e.date))
            .max()
            .map(|d| self.iso(&d))
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
        Job {
            path: "feed.xml".into(),
            template: "feed.xml",
            origin: "the feed".into(),
            ctx: context! {
                site => &s.site,
                feed_url => self.absolute("/feed.xml"),
                updated => updated,
                posts => posts,
            },
        }
    }

    /// Home, posts, pages, the term lists, the archive and term pages (no alias,
    /// later index page or 404).
    pub(super) fn render_sitemap(&self, s: &Shared) -> Job {
        let page = |path: &str| UrlEntry {
            loc: self.absolute(path),
            lastmod: None,
        };
        let mut urls = vec![page("/")];
        for (e, p) in s.model.posts.iter().zip(&s.summaries) {
            urls.push(UrlEntry {
                loc: p.permalink.clone(),
                lastmod: Some(
                    e.doc
                        .front
                        .lastmod
                        .map(|d| self.iso(&d))
                        .unwrap_or(p.date.clone()),
                ),
            });
        }
        urls.extend(s.model.pages.iter().map(|e| page(&e.path)));
        urls.extend(["/tags/", "/categories/", "/archive/"].map(page));
        let custom = s.model.taxonomies.iter().flat_map(|t| &t.terms);
        urls.extend(
            s.model
                .tags
                .iter()
                .chain(&s.model.categories)
                .chain(custom)
                .map(|t| page(&t.path)),
        );
        Job {
            path: "sitemap.xml".into(),
            template: "sitemap.xml",
            origin: "the sitemap".into(),
            ctx: context! { site => &s.site, urls => urls },
        }
    }

    pub(super) fn render_robots(&self, s: &Shared) -> Job {
        Job {
            path: "robots.txt".into(),
            template: "robots.txt",
            origin: "robots.txt".into(),
            ctx: context! { site => &s.site, sitemap_url => self.absolute("/sitemap.xml") },
        }
    }
}

/// The file a site path is written to: `/a/b/` → `a/b/index.html`, `/a.html` → `a.html`.
fn page_path(p: &str) -> String {
    if p.ends_with(".html") {
        p.trim_start_matches('/').to_string()
    } else {
        format!("{}index.html", p.trim_start_matches('/'))
    }
}

/// The site path of page `n` (from 1) of the post index.
fn index_path(n: usize) -> String {
    if n == 1 {
        "/".to_string()
    } else {
        format!("/page/{n}/")
    }
}
