//! Render stage: turns the site model (plus related posts) into output files
//! through minijinja templates. Strict undefined: a typo in a template is an error
//! naming the template file and line.

mod cards;
mod comments;
mod content;
mod env;
mod outputs;
mod renderer;
mod views;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};

use rayon::prelude::*;

use crate::config::Site;
use crate::enrich::cards::Card;
use crate::enrich::images::Images;
use crate::model::SiteModel;
use crate::related::RelatedLink;
use crate::theme::Theme;

pub use renderer::{FEED_ENTRIES, OutputFile, Renderer, SUMMARY_CHARS};
pub use views::date_ja;

use renderer::{Enriched, Job};

impl<'a> Renderer<'a> {
    pub fn new(site: &'a Site, theme: Theme) -> Renderer<'a> {
        let origins: renderer::Origins = Arc::new(Mutex::new(BTreeMap::new()));
        // Unreadable folders are reported when the static files are copied; here
        // they only mean that no share image is linked.
        let mut files = theme.static_files().unwrap_or_default();
        let _ = crate::theme::collect_dir(&site.root.join("static"), &mut files);
        Renderer {
            site,
            env: env::environment(&theme, &origins),
            origins,
            theme,
            static_names: files.into_keys().collect(),
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
        // Each job's context is dropped as soon as its page is rendered, so the
        // contexts and the pages are not all held at once.
        let results: Vec<Result<OutputFile>> = jobs
            .into_par_iter()
            .map(|job| {
                let text = self.render_template(job.template, &job.ctx)?;
                Ok(OutputFile {
                    path: job.path,
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
        let mut jobs = self.render_index(&shared, enriched);
        jobs.extend(self.render_posts(&shared, related, enriched));
        jobs.extend(self.render_pages(&shared, enriched));
        jobs.extend(self.render_aliases(&shared)?);
        jobs.extend(self.render_taxonomies(&shared));
        jobs.extend(self.render_sections(&shared, enriched, &jobs)?);
        jobs.push(self.render_archive(&shared));
        jobs.push(self.render_404(&shared));
        jobs.extend(self.render_search(&shared)?);
        jobs.push(self.render_feed(&shared, enriched));
        jobs.push(self.render_sitemap(&shared));
        jobs.push(self.render_robots(&shared));
        Ok(jobs)
    }
}

/// Fails when two jobs would write the same file, or one would need a folder
/// where another writes a file (an alias `/sitemap.xml/`), naming both.
fn check_collisions(jobs: &[Job]) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for job in jobs {
        if let Err(why) = crate::model::check_site_path(&job.path) {
            return Err(anyhow!(
                "{}: the output path {:?} {why} (shorten the name)",
                job.origin,
                job.path
            ));
        }
        if let Some(prev) = seen.insert(&job.path, &job.origin) {
            return Err(anyhow!(
                "{} and {} both write {} (change a slug, alias or term name)",
                prev,
                job.origin,
                job.path
            ));
        }
    }
    let paths: Vec<(&str, &str)> = seen.into_iter().collect();
    if let Some((file, owner, other)) = crate::model::folder_clash(&paths) {
        return Err(anyhow!(
            "{other} needs a folder {file}/, but {owner} writes the file {file} (change the alias or slug)"
        ));
    }
    Ok(())
}
