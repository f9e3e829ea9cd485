//! `enishi build`: load → parse → analyze → render → write, one stage after another.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;

use crate::audit;
use crate::config::Site;
use crate::enrich::fetch::LazyFetcher;
use crate::enrich::{cards, images};
use crate::model::{self, ModelOptions, SiteModel};
use crate::output::Staging;
use crate::related;
use crate::render::{OutputFile, Renderer};
use crate::store::Store;
use crate::theme::{self, StaticSource, Theme};

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The site folder (holding site.toml).
    pub source: PathBuf,
    /// Output folder; default `<source>/public`.
    pub output: Option<PathBuf>,
    pub base_url: Option<String>,
    /// Include drafts and future-dated posts.
    pub drafts: bool,
    /// Overrides "now" when deciding which posts are in the future.
    pub now: Option<DateTime<FixedOffset>>,
    /// Show a progress bar while analysing (only on a terminal).
    pub progress: bool,
    /// How link cards may use the network.
    pub links: cards::Mode,
    /// Fail the build (leaving the old output in place) when there are warnings.
    pub strict: bool,
}

#[derive(Debug)]
pub struct BuildReport {
    pub output: PathBuf,
    pub pages: usize,
    pub files: usize,
    pub posts: usize,
    pub skipped: usize,
    pub tokenized: usize,
    /// HTTP requests made for link cards.
    pub link_requests: usize,
    /// HTTP requests made for remote images.
    pub image_requests: usize,
    /// Image variants encoded (zero when every one came from the cache).
    pub images_encoded: usize,
    /// Bytes of the remote originals used, and of the largest copy made of each.
    pub image_bytes: (u64, u64),
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// Everything up to rendering: what `build`, `related` and `serve` share.
pub struct Analyzed {
    pub site: Site,
    pub model: SiteModel,
    pub related: related::Outcome,
    /// The open cache, for the stages after analysis.
    pub store: Store,
}

pub fn load_and_analyze(opts: &BuildOptions) -> Result<Analyzed> {
    load_and_analyze_with(opts, None)
}

/// What `enishi serve` keeps between rebuilds so an edit re-does only what changed.
#[derive(Default)]
pub struct Warm {
    pub docs: crate::content::Memo,
    pub related: related::Memo,
    /// The last computed related lists. With `defer_related`, a rebuild shows these
    /// and sets `related_stale`, so the caller can compute fresh ones right after
    /// the page has reloaded (for 10,000 posts that is half a second saved per save).
    pub lists: Option<related::ListsByPath>,
    pub defer_related: bool,
    pub related_stale: bool,
}

fn load_and_analyze_with(opts: &BuildOptions, warm: Option<&mut Warm>) -> Result<Analyzed> {
    let mut t = crate::util::Timings::new();
    let site = Site::load(&opts.source, opts.base_url.as_deref())?;
    // One connection to the cache for the whole build.
    let (mut store, store_warning) = Store::open_for(&site)?;
    let (docs, warm) = match warm {
        Some(w) => (crate::content::load_with(&site, &mut w.docs)?, Some(w)),
        None => (crate::content::load(&site)?, None),
    };
    t.stage("load");
    let now = opts.now.unwrap_or_else(|| Utc::now().fixed_offset());
    let model = model::build(
        &site,
        docs,
        &ModelOptions {
            drafts: opts.drafts,
            now,
        },
    )?;
    t.stage("model");
    let mut related = match warm {
        Some(w) if w.defer_related && w.lists.is_some() => {
            let outcome = w
                .lists
                .as_ref()
                .map(|lists| related::reuse(&model, lists))
                .unwrap_or_default();
            w.related_stale = true;
            outcome
        }
        Some(w) => {
            let outcome = related::compute_with(
                &site,
                &model,
                opts.progress,
                &mut store,
                Some(&mut w.related),
            )?;
            w.lists = Some(outcome.lists_by_path(&model));
            w.related_stale = false;
            outcome
        }
        None => related::compute_with(&site, &model, opts.progress, &mut store, None)?,
    };
    related.warnings.splice(0..0, store_warning);
    t.stage("related");
    Ok(Analyzed {
        site,
        model,
        related,
        store,
    })
}

/// The whole site, rendered and checked, not yet written anywhere.
pub struct Generated {
    pub site: Site,
    /// Rendered pages (HTML, XML, text) by output path.
    pub pages: Vec<OutputFile>,
    /// Files copied as they are (theme and site static files, bundle files, images).
    pub files: BTreeMap<String, StaticSource>,
    pub report: BuildReport,
    /// What `--offline` could not take from the cache.
    pub uncached: Uncached,
}

/// Link cards and images missing from the cache, for `serve` to fetch in the background.
#[derive(Debug, Clone, Default)]
pub struct Uncached {
    pub cards: Vec<String>,
    pub images: Vec<images::ImageUse>,
}

impl Uncached {
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty() && self.images.is_empty()
    }
}

/// Mixed-content warnings for rendered pages and the stylesheets among `files`.
pub fn audit(pages: &[OutputFile], files: &BTreeMap<String, StaticSource>) -> Result<Vec<String>> {
    let mut warnings: Vec<String> = pages
        .par_iter()
        .filter(|p| p.path.ends_with(".html"))
        .map(|p| audit::mixed_content_html(&p.path, &String::from_utf8_lossy(&p.bytes)))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    for (rel, src) in files {
        if rel.ends_with(".css") {
            let css = match src {
                StaticSource::File(path) => std::fs::read(path)
                    .with_context(|| format!("{}: cannot read", path.display()))?,
                StaticSource::Builtin(bytes) => bytes.to_vec(),
            };
            warnings.extend(audit::mixed_content_css(
                rel,
                &String::from_utf8_lossy(&css),
            ));
        }
    }
    Ok(warnings)
}

/// Fetches what a build could not take from the cache; returns the requests made.
pub fn fetch_uncached(opts: &BuildOptions, uncached: &Uncached) -> Result<usize> {
    let site = Site::load(&opts.source, opts.base_url.as_deref())?;
    let fetcher = LazyFetcher::new(&site);
    let (mut store, _) = Store::open_for(&site)?;
    let mut requests = cards::prefetch(&site, &mut store, &fetcher, &uncached.cards)?;
    if site.config.images.enabled && !uncached.images.is_empty() {
        requests += images::resolve(
            &site,
            &mut store,
            &fetcher,
            &uncached.images,
            cards::Mode::Online,
            false,
        )?
        .requests;
    }
    Ok(requests)
}

pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let started = Instant::now();
    let generated = generate(opts, None)?;
    let Generated {
        pages,
        files,
        mut report,
        ..
    } = generated;
    let mut t = crate::util::Timings::new();
    let staging = Staging::new(&report.output)?;
    pages
        .par_iter()
        .map(|p| staging.write(&p.path, &p.bytes))
        .collect::<Result<()>>()?;
    files
        .iter()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|(rel, src)| match src {
            StaticSource::File(path) => staging.copy(path, rel),
            StaticSource::Builtin(bytes) => staging.write(rel, bytes),
        })
        .collect::<Result<()>>()?;
    if opts.strict && !report.warnings.is_empty() {
        // The staging folder is dropped (and removed); public/ stays as it was.
        return Err(anyhow!(
            "--strict: {} warning(s), so the build stopped and the output was left as it was: {}",
            report.warnings.len(),
            report.warnings.join(" | ")
        ));
    }
    t.stage("write");
    staging.commit()?;
    t.stage("commit");
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Load → parse → enrich → analyze → render → audit, all in memory. `warm` carries
/// parsed documents and term counts from the previous run (for `serve`).
pub fn generate(opts: &BuildOptions, warm: Option<&mut Warm>) -> Result<Generated> {
    let started = Instant::now();
    let serving = warm.is_some();
    let analyzed = load_and_analyze_with(opts, warm)?;
    let mut t = crate::util::Timings::new();
    let Analyzed {
        site,
        model,
        related,
        mut store,
    } = analyzed;
    let theme = Theme::resolve(&site)?;
    let renderer = Renderer::new(&site, theme.clone());
    // Started only if something is fetched.
    let fetcher = LazyFetcher::new(&site);
    let cards = cards::resolve(
        &site,
        &model,
        &mut store,
        &fetcher,
        opts.links,
        opts.progress,
    )?;
    t.stage("cards");
    let mut warnings = related.warnings;
    warnings.extend(cards.warnings);
    let images = if site.config.images.enabled {
        let uses = image_uses(&model, &cards.cards);
        let images = images::resolve(
            &site,
            &mut store,
            &fetcher,
            &uses,
            opts.links,
            opts.progress,
        )?;
        warnings.extend(images.warnings.iter().cloned());
        Some(images)
    } else {
        None
    };
    t.stage("images");
    let pages = renderer.render_site(&model, &related.links, &cards.cards, images.as_ref())?;
    t.stage("render");

    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| site.root.join("public"));
    let mut files = theme.static_files()?;
    theme::collect_dir(&site.root.join("static"), &mut files)?;
    let bundles = bundle_files(&model)?;
    let page_paths: std::collections::BTreeSet<&str> =
        pages.iter().map(|p| p.path.as_str()).collect();
    for rel in files.keys().chain(bundles.keys()) {
        if page_paths.contains(rel.as_str()) {
            return Err(anyhow!(
                "static file {rel} would overwrite a generated page of the same path (rename or remove it)"
            ));
        }
    }
    files.extend(bundles);
    if let Some(images) = &images {
        for (rel, path) in &images.files {
            files.insert(rel.clone(), StaticSource::File(path.clone()));
        }
    }

    // `serve` audits only the pages a rebuild changed (see serve.rs).
    if !serving {
        warnings.extend(audit(&pages, &files)?);
    }
    t.stage("audit");
    let report = BuildReport {
        output,
        pages: pages.len(),
        files: pages.len() + files.len(),
        posts: model.posts.len(),
        skipped: model.skipped.len(),
        tokenized: related.tokenized,
        link_requests: cards.requests,
        image_requests: images.as_ref().map_or(0, |i| i.requests),
        images_encoded: images.as_ref().map_or(0, |i| i.encoded),
        image_bytes: images
            .as_ref()
            .map_or((0, 0), |i| (i.bytes_in, i.bytes_out)),
        warnings,
        elapsed: started.elapsed(),
    };
    let uncached = Uncached {
        cards: cards.uncached,
        images: images.map(|i| i.uncached).unwrap_or_default(),
    };
    Ok(Generated {
        site,
        pages,
        files,
        report,
        uncached,
    })
}

/// Every remote image the site shows: in post bodies, and the pictures and icons
/// of the link cards that were made.
fn image_uses(model: &SiteModel, cards: &BTreeMap<String, cards::Card>) -> Vec<images::ImageUse> {
    let mut uses = images::inline_uses(model);
    for entry in model.posts.iter().chain(&model.pages) {
        for seg in &entry.doc.body.segments {
            let crate::content::Segment::Card { url, line } = seg else {
                continue;
            };
            let Some(card) = cards.get(url) else { continue };
            let wanted = [
                (images::Purpose::Card, card.meta.image.clone()),
                (
                    images::Purpose::Icon,
                    Some(card.meta.icon.clone()).filter(|i| !i.is_empty()),
                ),
            ];
            for (purpose, image) in wanted {
                if let Some(image) = image {
                    uses.push(images::ImageUse {
                        purpose,
                        url: image,
                        source: entry.doc.source.clone(),
                        line: *line,
                    });
                }
            }
        }
    }
    uses
}

/// Files that sit beside a bundle's `index.md` are published beside its page.
fn bundle_files(model: &SiteModel) -> Result<BTreeMap<String, StaticSource>> {
    let mut out = BTreeMap::new();
    for entry in model.posts.iter().chain(&model.pages) {
        let Some(dir) = &entry.doc.bundle_dir else {
            continue;
        };
        let mut files = BTreeMap::new();
        theme::collect_dir(dir, &mut files)?;
        for (rel, src) in files {
            if rel.ends_with(".md") {
                continue;
            }
            out.insert(
                format!("{}{}", entry.path.trim_start_matches('/'), rel),
                src,
            );
        }
    }
    Ok(out)
}
