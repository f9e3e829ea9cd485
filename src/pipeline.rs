//! `enishi build`: load → parse → analyze → render → write, one stage after another.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;

use crate::config::Site;
use crate::enrich::cards;
use crate::model::{self, ModelOptions, SiteModel};
use crate::output::Staging;
use crate::related;
use crate::render::Renderer;
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
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// Everything up to rendering: what `build`, `related` and `serve` share.
pub struct Analyzed {
    pub site: Site,
    pub model: SiteModel,
    pub related: related::Outcome,
}

pub fn load_and_analyze(opts: &BuildOptions) -> Result<Analyzed> {
    let site = Site::load(&opts.source, opts.base_url.as_deref())?;
    let docs = crate::content::load(&site)?;
    let now = opts.now.unwrap_or_else(|| Utc::now().fixed_offset());
    let model = model::build(
        &site,
        docs,
        &ModelOptions {
            drafts: opts.drafts,
            now,
        },
    )?;
    let related = related::compute(&site, &model, opts.progress)?;
    Ok(Analyzed {
        site,
        model,
        related,
    })
}

pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let started = Instant::now();
    let analyzed = load_and_analyze(opts)?;
    let Analyzed {
        site,
        model,
        related,
    } = analyzed;
    let theme = Theme::resolve(&site)?;
    let renderer = Renderer::new(&site, theme.clone());
    let cards = cards::resolve(&site, &model, opts.links, opts.progress)?;
    let mut warnings = related.warnings;
    warnings.extend(cards.warnings);
    let pages = renderer.render_site(&model, &related.links, &cards.cards)?;

    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| site.root.join("public"));
    let mut assets = theme.static_files()?;
    theme::collect_dir(&site.root.join("static"), &mut assets)?;
    let bundles = bundle_files(&model)?;

    let mut origins: BTreeMap<&str, String> = BTreeMap::new();
    for p in &pages {
        origins.insert(&p.path, "a generated page".into());
    }
    for rel in assets.keys().chain(bundles.keys()) {
        if origins.contains_key(rel.as_str()) {
            return Err(anyhow!(
                "static file {rel} would overwrite a generated page of the same path (rename or remove it)"
            ));
        }
    }

    let staging = Staging::new(&output)?;
    pages
        .par_iter()
        .map(|p| staging.write(&p.path, &p.bytes))
        .collect::<Result<()>>()?;
    assets
        .iter()
        .chain(bundles.iter())
        .collect::<Vec<_>>()
        .par_iter()
        .map(|(rel, src)| match src {
            StaticSource::File(path) => staging.copy(path, rel),
            StaticSource::Builtin(bytes) => staging.write(rel, bytes),
        })
        .collect::<Result<()>>()?;
    if opts.strict && !warnings.is_empty() {
        // The staging folder is dropped (and removed); public/ stays as it was.
        return Err(anyhow!(
            "--strict: {} warning(s), so the build stopped and the output was left as it was: {}",
            warnings.len(),
            warnings.join(" | ")
        ));
    }
    staging.commit()?;

    Ok(BuildReport {
        output,
        pages: pages.len(),
        files: pages.len() + assets.len() + bundles.len(),
        posts: model.posts.len(),
        skipped: model.skipped.len(),
        tokenized: related.tokenized,
        link_requests: cards.requests,
        warnings,
        elapsed: started.elapsed(),
    })
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
