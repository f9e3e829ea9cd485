//! Link cards: the HTML of every card the site shows, from a fetched page or from
//! the site's own post.

use std::collections::BTreeMap;

use anyhow::Result;
use minijinja::context;
use rayon::prelude::*;

use crate::content::Segment;
use crate::enrich::cards::{self, Card};
use crate::enrich::images::{self, Images, Purpose, Role};
use crate::model::{Entry, SiteModel};

use super::renderer::Renderer;
use super::views::{CardView, PictureView, description};

const CARD_TEMPLATE: &str = "partials/link_card.html";

impl Renderer<'_> {
    /// The HTML of every link card the site's pages show, rendered once per URL
    /// through `partials/link_card.html`.
    pub(super) fn card_html(
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
                    .and_then(|p| p.sets.get(&Role::Icon))
                    .map(|set| format!("{prefix}{}", set.largest().name));
                (
                    card_image
                        .and_then(|p| p.sets.get(&Role::Wide))
                        .map(|s| PictureView::from_set(&prefix, s)),
                    card_image
                        .and_then(|p| p.sets.get(&Role::Square))
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
        // Linked by its path, so the card works on preview deployments and in `serve`.
        CardView {
            url: self.href(&target.path),
            title: target.doc.front.title.clone(),
            description: description(target),
            image: self
                .entry_image(target)
                .map(|(u, _)| u)
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
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}
