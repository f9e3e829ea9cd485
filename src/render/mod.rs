//! Render stage: turns the site model (plus related posts) into output files
//! through minijinja templates. Strict undefined: a typo in a template is an error
//! naming the template file and line.

mod cards;
mod content;
mod env;
mod outputs;
mod views;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};
use minijinja::{Environment, Value};
use rayon::prelude::*;

use crate::config::Site;
use crate::enrich::cards::Card;
use crate::enrich::images::Images;
use crate::model::SiteModel;
use crate::related::RelatedLink;
use crate::theme::Theme;

pub use views::date_ja;

/// How many characters an automatic summary has.
pub const SUMMARY_CHARS: usize = 120;
/// How many posts the Atom feed carries.
pub const FEED_ENTRIES: usize = 20;

/// A rendered file, ready to be written.
pub struct OutputFile {
    /// `/`-separated path inside the output folder.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A page of output waiting for its template.
struct Job {
    path: String,
    template: &'static str,
    /// What asked for this file, for the error when two jobs write the same path.
    origin: String,
    ctx: Value,
}

/// What the render stage gets from the enrich stage, prepared once per build.
struct Enriched<'e> {
    /// Link-card HTML by URL.
    cards: BTreeMap<String, String>,
    images: Option<&'e Images>,
}

pub struct Renderer<'a> {
    site: &'a Site,
    env: Environment<'static>,
    origins: env::Origins,
    theme: Theme,
}

impl<'a> Renderer<'a> {
    pub fn new(site: &'a Site, theme: Theme) -> Renderer<'a> {
        let origins: env::Origins = Arc::new(Mutex::new(BTreeMap::new()));
        Renderer {
            site,
            env: env::environment(&theme, &origins),
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
        check_collisions(&jobs)?;
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

    /// Every output file of the site, in a fixed order: the collision error names
    /// the earlier job first.
    fn plan(
        &self,
        model: &SiteModel,
        related: &[Vec<RelatedLink>],
        enriched: &Enriched,
    ) -> Result<Vec<Job>> {
        let shared = self.shared(model);
        let mut jobs = self.render_index(&shared);
        jobs.extend(self.render_posts(&shared, related, enriched));
        jobs.extend(self.render_pages(&shared, enriched));
        jobs.extend(self.render_aliases(&shared)?);
        jobs.extend(self.render_taxonomies(&shared));
        jobs.push(self.render_archive(&shared));
        jobs.push(self.render_404(&shared));
        jobs.push(self.render_feed(&shared, enriched));
        jobs.push(self.render_sitemap(&shared));
        jobs.push(self.render_robots(&shared));
        Ok(jobs)
    }
}

/// Fails when two jobs would write the same file, naming both.
fn check_collisions(jobs: &[Job]) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for job in jobs {
        if let Some(prev) = seen.insert(&job.path, &job.origin) {
            return Err(anyhow!(
                "{} and {} both write {} (change a slug, alias or term name)",
                prev,
                job.origin,
                job.path
            ));
        }
    }
    Ok(())
}
