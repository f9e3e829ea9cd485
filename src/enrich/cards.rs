//! Enrich stage: link cards. Every URL that stands alone in a paragraph
//! ([`Segment::Card`]) is fetched once, read for Open Graph / Twitter / JSON-LD /
//! oEmbed / plain HTML metadata ([`super::ogp`] says in which order), and cached in
//! the SQLite store. A zero-delay meta refresh on a page without Open Graph or
//! Twitter metadata (a URL shortener's page) is followed once, as a redirect. URLs
//! of the site itself become cards from the local post at render time and are
//! never fetched.
//!
//! A card that cannot be made is never fatal: the paragraph renders as a plain link
//! and a warning names the file, line, URL and reason (`--strict` turns warnings
//! into a failed build).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{LinksConfig, Site};
use crate::content::Segment;
use crate::model::{Entry, SiteModel};
use crate::report::{Reporter, Warning, WarningKind};
use crate::store::{Store, Tables};

use super::charset;
use super::engine::{self, Cached, Fetched, Freshness, Mode, Resource, RowTable};
use super::fetch::{self, BodyLimit, Outcome, Validators};
pub use super::ogp::{PageMeta, Source, Sources};
use super::page::Page;
use super::{oembed, ogp};

/// The link-card cache: one row per URL, failures included, with HTTP validators.
pub const TABLES: Tables = Tables {
    owner: "cards",
    migrations: &["CREATE TABLE IF NOT EXISTS link_cards (
         url TEXT PRIMARY KEY,
         fetched_at INTEGER NOT NULL,
         card TEXT,
         error TEXT,
         etag TEXT,
         last_modified TEXT
     )"],
};

const CARD_ROWS: RowTable = RowTable {
    table: "link_cards",
    value_column: "card",
};

/// The engine's view of link cards: the `link_cards` table and one page read per URL.
struct Cards {
    /// Bytes of HTML read at most.
    cap: usize,
}

impl Resource for Cards {
    type Value = Card;
    const LABEL: &'static str = "リンクカード";
    const CACHE_NAME: &'static str = "link cache";

    fn load(&self, store: &Store, urls: &[&str]) -> Result<HashMap<String, Cached<Card>>> {
        // A row that does not decode is treated as missing and fetched again.
        CARD_ROWS.load(store, urls, |_, json| serde_json::from_str(&json).ok())
    }

    fn save(&self, store: &mut Store, rows: &[(String, Cached<Card>)]) -> Result<()> {
        CARD_ROWS.save(store, rows, |card| Ok(serde_json::to_string(card)?))
    }

    fn fetch(
        &self,
        client: Arc<fetch::Client>,
        url: String,
        validators: Option<Validators>,
    ) -> impl Future<Output = Fetched<Card>> + Send + 'static {
        let cap = self.cap;
        async move { fetch_card(&client, &url, validators.as_ref(), cap).await }
    }
}

/// A successfully read card, as cached and as rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// The URL as written in the post (the card links here).
    pub url: String,
    /// Where the request ended after redirects.
    pub final_url: String,
    pub meta: PageMeta,
}

/// The result for one URL: a card, or why there is none.
pub type CardResult = std::result::Result<Card, String>;

#[derive(Debug, Default)]
pub struct Resolved {
    /// Remote cards by URL as written. URLs missing here render as plain links.
    pub cards: BTreeMap<String, Card>,
    /// HTTP requests sent (zero when everything came from the cache).
    pub requests: usize,
    /// URLs that `Mode::Offline` could not serve from the cache (for `serve`'s
    /// background fetch).
    pub uncached: Vec<String>,
    /// When the first card used stops being fresh (Unix seconds).
    pub first_expiry: Option<i64>,
}

/// Fetches (online) the cards of `urls` into the cache; returns the requests made.
pub fn prefetch(
    site: &Site,
    store: &mut Store,
    fetcher: &fetch::LazyFetcher,
    urls: &[String],
    reporter: &Reporter,
) -> Result<usize> {
    if urls.is_empty() || !site.config.links.enabled {
        return Ok(0);
    }
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let batch =
        CardFetcher::new(site, fetcher).resolve_all(store, &urls, Mode::Online, reporter)?;
    Ok(batch.requests)
}

/// One place a URL stands alone in a paragraph.
struct Occurrence<'a> {
    source: &'a str,
    line: usize,
    url: &'a str,
}

impl Occurrence<'_> {
    fn warning(&self, message: String) -> Warning {
        Warning::new(WarningKind::LinkCard, self.source, Some(self.line), message)
    }
}

/// Finds every card URL in published posts and pages and makes their cards.
pub fn resolve(
    site: &Site,
    model: &SiteModel,
    store: &mut Store,
    fetcher: &fetch::LazyFetcher,
    mode: Mode,
    reporter: &Reporter,
) -> Result<Resolved> {
    let mut occurrences = Vec::new();
    for entry in model.posts.iter().chain(&model.pages) {
        for seg in &entry.doc.body.segments {
            if let Segment::Card { url, line } = seg {
                occurrences.push(Occurrence {
                    source: &entry.doc.source,
                    line: *line,
                    url,
                });
            }
        }
    }
    let mut out = Resolved::default();
    let mut remote: BTreeSet<&str> = BTreeSet::new();
    for occ in &occurrences {
        if local_path(site, occ.url).is_some() {
            if local_entry(site, model, occ.url).is_none() {
                reporter.warn(occ.warning(format!(
                    "link card for {}: no post or page of this site has that URL; rendered as a plain link",
                    occ.url
                )));
            }
        } else {
            remote.insert(occ.url);
        }
    }
    if remote.is_empty() {
        return Ok(out);
    }
    let settings = &site.config.links;
    let results = if settings.enabled {
        let urls: Vec<&str> = remote.iter().copied().collect();
        let batch = CardFetcher::new(site, fetcher).resolve_all(store, &urls, mode, reporter)?;
        out.requests = batch.requests;
        out.uncached = batch.uncached;
        out.first_expiry = batch.first_expiry;
        batch.results
    } else {
        remote
            .iter()
            .map(|u| {
                (
                    u.to_string(),
                    Err("link cards are off ([links] enabled = false)".to_string()),
                )
            })
            .collect()
    };
    for occ in &occurrences {
        match results.get(occ.url) {
            Some(Ok(card)) => {
                out.cards.insert(occ.url.to_string(), card.clone());
            }
            Some(Err(reason)) if settings.enabled => reporter.warn(occ.warning(format!(
                "link card for {}: {reason}; rendered as a plain link",
                occ.url
            ))),
            _ => {}
        }
    }
    Ok(out)
}

/// The site path of a URL under the site's base_url (`/2018/05/26/a/`), unencoded.
pub fn local_path(site: &Site, url: &str) -> Option<String> {
    let rest = url
        .strip_prefix(&site.base_url)
        .or_else(|| url.strip_prefix(&site.configured_base_url))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    let mut path = format!("/{decoded}");
    if !path.ends_with('/') {
        path = path.trim_end_matches("index.html").to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
    }
    Some(path)
}

/// The post or page a URL of this site points at.
pub fn local_entry<'m>(site: &Site, model: &'m SiteModel, url: &str) -> Option<&'m Entry> {
    let path = local_path(site, url)?;
    model
        .posts
        .iter()
        .chain(&model.pages)
        .find(|e| e.path == path)
}

/// Fetches cards with the site's `[links]` limits, reading and writing the cache.
/// The HTTP client is started only when a request is really made, so a build
/// served wholly from the cache (every `serve` rebuild) starts no runtime.
pub struct CardFetcher<'f> {
    settings: LinksConfig,
    fetcher: &'f fetch::LazyFetcher<'f>,
}

impl<'f> CardFetcher<'f> {
    pub fn new(site: &Site, fetcher: &'f fetch::LazyFetcher<'f>) -> CardFetcher<'f> {
        CardFetcher {
            settings: site.config.links.clone(),
            fetcher,
        }
    }

    /// One card, for `enishi card`: same cache rules as a build.
    pub fn resolve_one(
        &self,
        store: Option<&mut Store>,
        url: &str,
        mode: Mode,
    ) -> Result<CardResult> {
        match store {
            Some(store) => {
                let mut batch = self.resolve_all(store, &[url], mode, &Reporter::quiet())?;
                Ok(batch
                    .results
                    .remove(url)
                    .unwrap_or_else(|| Err("no result".into())))
            }
            None if mode == Mode::Offline => Ok(Err("not in the link cache (offline)".into())),
            None => {
                let cards = self.resource();
                let fetched = self
                    .fetcher
                    .get()?
                    .run_all(vec![url.to_string()], |client, url| {
                        cards.fetch(client, url, None)
                    })
                    .pop()
                    .expect("one result per item");
                Ok(match fetched {
                    Fetched::Value(card, _) => Ok(card),
                    Fetched::NotModified(_) => Err("unexpected 304 Not Modified".into()),
                    Fetched::Failed(reason) => Err(reason),
                })
            }
        }
    }

    fn resource(&self) -> Cards {
        Cards {
            cap: self.settings.max_bytes,
        }
    }

    fn resolve_all(
        &self,
        store: &mut Store,
        urls: &[&str],
        mode: Mode,
        reporter: &Reporter,
    ) -> Result<engine::Batch<Card>> {
        let freshness = Freshness::of(&self.settings);
        engine::resolve(
            &self.resource(),
            store,
            self.fetcher,
            urls,
            mode,
            freshness,
            reporter,
        )
    }
}

async fn fetch_card(
    client: &fetch::Client,
    url: &str,
    validators: Option<&Validators>,
    cap: usize,
) -> Fetched<Card> {
    let parsed = match Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Fetched::Failed(format!("not a valid URL ({e})")),
    };
    let limit = BodyLimit::Html { cap };
    let fetched = match client.get(&parsed, validators, limit).await {
        Ok(Outcome::Fetched(f)) => f,
        Ok(Outcome::NotModified { validators }) => return Fetched::NotModified(validators),
        Err(reason) => return Fetched::Failed(reason),
    };
    // The card is revalidated against the page asked for, wherever it led.
    let validators = fetched.validators.clone();
    let mut page = match read_page(&fetched) {
        Ok(page) => page,
        Err(reason) => return Fetched::Failed(reason),
    };
    // A shortener's "redirecting…" page: go where it goes, once (the page there is
    // carded as it is, whatever it refreshes to).
    if !page.has_card_tags()
        && let Some(target) = page.refresh_target()
    {
        page = match client.follow(&fetched, &target, limit).await {
            Ok(Outcome::Fetched(next)) => match read_page(&next) {
                Ok(page) => page,
                Err(reason) => return Fetched::Failed(reason),
            },
            Ok(Outcome::NotModified { .. }) => {
                return Fetched::Failed("HTTP 304 to an unconditional request".into());
            }
            Err(reason) => return Fetched::Failed(reason),
        };
    }
    let oembed = match page.oembed_url() {
        Some(endpoint) if ogp::wants_oembed(&page) => oembed::fetch(client, &endpoint).await,
        _ => None,
    };
    let meta = ogp::assemble(&page, oembed.as_ref());
    Fetched::Value(
        Card {
            url: url.to_string(),
            final_url: page.final_url.to_string(),
            meta,
        },
        validators,
    )
}

/// A fetched HTML page, decoded and read; an error for anything else.
fn read_page(fetched: &fetch::Fetched) -> Result<Page, String> {
    if let Some(ct) = &fetched.content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !(mime == "text/html" || mime == "application/xhtml+xml" || mime.is_empty()) {
            return Err(format!("not an HTML page (content type {mime})"));
        }
    }
    let text = charset::decode(
        &fetched.body,
        fetched.content_type.as_deref(),
        fetched.final_url.host_str(),
    );
    Ok(Page::read(&text, &fetched.final_url))
}

/// `enishi card URL --json`: exactly these keys, absent fields null.
#[derive(Debug, Serialize)]
pub struct CardJson {
    pub url: String,
    pub final_url: Option<String>,
    pub status: &'static str,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub site_name: Option<String>,
    pub icon: Option<String>,
    pub error: Option<String>,
    /// Which source gave each field (`og`, `twitter`, `json-ld`, `oembed`, `html`,
    /// `host`); null for an error.
    pub sources: Option<Sources>,
}

impl CardJson {
    pub fn new(url: &str, result: &CardResult) -> CardJson {
        match result {
            Ok(card) => CardJson {
                url: url.to_string(),
                final_url: Some(card.final_url.clone()),
                status: "ok",
                title: card.meta.title.clone(),
                description: card.meta.description.clone(),
                image: card.meta.image.clone(),
                site_name: Some(card.meta.site_name.clone()),
                icon: Some(card.meta.icon.clone()).filter(|i| !i.is_empty()),
                error: None,
                sources: Some(card.meta.sources.clone()),
            },
            Err(reason) => CardJson {
                url: url.to_string(),
                final_url: None,
                status: "error",
                title: None,
                description: None,
                image: None,
                site_name: None,
                icon: None,
                error: Some(reason.clone()),
                sources: None,
            },
        }
    }
}
