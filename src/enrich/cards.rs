//! Enrich stage: link cards. Every URL that stands alone in a paragraph
//! ([`Segment::Card`]) is fetched once, read for Open Graph / Twitter / plain HTML
//! metadata, and cached in the SQLite store. URLs of the site itself become cards
//! from the local post at render time and are never fetched.
//!
//! A card that cannot be made is never fatal: the paragraph renders as a plain link
//! and a warning names the file, line, URL and reason (`--strict` turns warnings
//! into a failed build).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{LinksConfig, Site};
use crate::content::Segment;
use crate::model::{Entry, SiteModel};
use crate::store::{CachedCard, Store};

use super::charset;
use super::fetch::{self, BodyLimit, Outcome, Validators};
pub use super::ogp::PageMeta;

/// How the build may use the network for cards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Use fresh cache entries, fetch missing ones, revalidate expired ones.
    #[default]
    Online,
    /// Cache only, stale entries included; no request at all.
    Offline,
    /// Fetch everything again, ignoring the cache.
    Refresh,
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
    pub warnings: Vec<String>,
    /// HTTP requests sent (zero when everything came from the cache).
    pub requests: usize,
    /// Answers of 304 Not Modified to a conditional request.
    pub revalidated: usize,
    /// URLs that `Mode::Offline` could not serve from the cache (for `serve`'s
    /// background fetch).
    pub uncached: Vec<String>,
}

/// Fetches (online) the cards of `urls` into the cache; returns the requests made.
pub fn prefetch(
    site: &Site,
    store: &mut Store,
    fetcher: &fetch::LazyFetcher,
    urls: &[String],
) -> Result<usize> {
    if urls.is_empty() || !site.config.links.enabled {
        return Ok(0);
    }
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let batch = CardFetcher::new(site, fetcher).resolve_all(store, &urls, Mode::Online, false)?;
    Ok(batch.requests)
}

/// One place a URL stands alone in a paragraph.
struct Occurrence<'a> {
    source: &'a str,
    line: usize,
    url: &'a str,
}

/// Finds every card URL in published posts and pages and makes their cards.
pub fn resolve(
    site: &Site,
    model: &SiteModel,
    store: &mut Store,
    fetcher: &fetch::LazyFetcher,
    mode: Mode,
    progress: bool,
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
                out.warnings.push(format!(
                    "{}:{}: link card for {}: no post or page of this site has that URL; rendered as a plain link",
                    occ.source, occ.line, occ.url
                ));
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
        let batch = CardFetcher::new(site, fetcher).resolve_all(store, &urls, mode, progress)?;
        out.requests = batch.requests;
        out.revalidated = batch.revalidated;
        out.uncached = batch.uncached;
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
            Some(Err(reason)) if settings.enabled => out.warnings.push(format!(
                "{}:{}: link card for {}: {reason}; rendered as a plain link",
                occ.source, occ.line, occ.url
            )),
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

struct Batch {
    results: HashMap<String, CardResult>,
    requests: usize,
    revalidated: usize,
    /// URLs `--offline` found no cache entry for.
    uncached: Vec<String>,
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
                let mut batch = self.resolve_all(store, &[url], mode, false)?;
                Ok(batch
                    .results
                    .remove(url)
                    .unwrap_or_else(|| Err("no result".into())))
            }
            None if mode == Mode::Offline => Ok(Err("not in the link cache (offline)".into())),
            None => {
                let cap = self.settings.max_bytes;
                let url = url.to_string();
                let fetched = self
                    .fetcher
                    .get()?
                    .run_all(vec![url], move |client, url| async move {
                        fetch_card(&client, &url, None, cap).await
                    })
                    .pop()
                    .expect("one result per item");
                Ok(match fetched {
                    Fetch::Card(card, _) => Ok(*card),
                    Fetch::NotModified(_) => Err("unexpected 304 Not Modified".into()),
                    Fetch::Failed(reason) => Err(reason),
                })
            }
        }
    }

    fn resolve_all(
        &self,
        store: &mut Store,
        urls: &[&str],
        mode: Mode,
        progress: bool,
    ) -> Result<Batch> {
        let now = chrono::Utc::now().timestamp();
        let cached = store.load_cards(urls)?;
        let ok_ttl = (self.settings.success_ttl_days * 86_400.0) as i64;
        let err_ttl = (self.settings.failure_ttl_hours * 3_600.0) as i64;

        let mut results: HashMap<String, CardResult> = HashMap::new();
        let mut uncached = Vec::new();
        // URLs to fetch, with the cached entry to revalidate (if any).
        let mut to_fetch: Vec<(String, Option<CachedCard>)> = Vec::new();
        for &url in urls {
            let entry = cached.get(url);
            let fresh = entry.is_some_and(|c| {
                let ttl = if c.result.is_ok() { ok_ttl } else { err_ttl };
                now - c.fetched_at < ttl
            });
            match (mode, entry) {
                (Mode::Offline, Some(c)) => {
                    results.insert(url.to_string(), c.result.clone());
                }
                (Mode::Offline, None) => {
                    uncached.push(url.to_string());
                    results.insert(
                        url.to_string(),
                        Err("not in the link cache (--offline makes no requests)".into()),
                    );
                }
                (Mode::Online, Some(c)) if fresh => {
                    results.insert(url.to_string(), c.result.clone());
                }
                (Mode::Online, Some(c)) if c.result.is_ok() => {
                    to_fetch.push((url.to_string(), Some(c.clone())))
                }
                _ => to_fetch.push((url.to_string(), None)),
            }
        }
        if to_fetch.is_empty() {
            return Ok(Batch {
                results,
                requests: 0,
                revalidated: 0,
                uncached,
            });
        }

        let fetcher = self.fetcher.get()?;
        let bar = crate::util::progress_bar(progress, to_fetch.len(), 5, "リンクカード");
        let before = fetcher.requests();
        let cap = self.settings.max_bytes;
        let fetched: Vec<(String, Option<CachedCard>, Fetch)> =
            fetcher.run_all(to_fetch, |client, (url, old)| {
                let bar = bar.clone();
                async move {
                    let validators = old.as_ref().map(|c| c.validators.clone());
                    let result = fetch_card(&client, &url, validators.as_ref(), cap).await;
                    if let Some(bar) = bar {
                        bar.inc(1);
                    }
                    (url, old, result)
                }
            });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let requests = fetcher.requests() - before;

        let mut revalidated = 0;
        let mut rows = Vec::new();
        for (url, old, fetch) in fetched {
            let (result, validators) = match (fetch, old) {
                (Fetch::Card(card, v), _) => (Ok(*card), v),
                (Fetch::NotModified(v), Some(old)) => {
                    revalidated += 1;
                    let keep = |new: Option<String>, old: Option<String>| new.or(old);
                    (
                        old.result,
                        Validators {
                            etag: keep(v.etag, old.validators.etag),
                            last_modified: keep(v.last_modified, old.validators.last_modified),
                        },
                    )
                }
                (Fetch::NotModified(_), None) => (
                    Err("HTTP 304 to an unconditional request".into()),
                    Validators::default(),
                ),
                (Fetch::Failed(reason), _) => (Err(reason), Validators::default()),
            };
            rows.push(CachedCard {
                url: url.clone(),
                fetched_at: now,
                result: result.clone(),
                validators,
            });
            results.insert(url, result);
        }
        store.save_cards(&rows)?;
        Ok(Batch {
            results,
            requests,
            revalidated,
            uncached,
        })
    }
}

enum Fetch {
    Card(Box<Card>, Validators),
    NotModified(Validators),
    Failed(String),
}

async fn fetch_card(
    client: &fetch::Client,
    url: &str,
    validators: Option<&Validators>,
    cap: usize,
) -> Fetch {
    let parsed = match Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Fetch::Failed(format!("not a valid URL ({e})")),
    };
    let fetched = match client
        .get(&parsed, validators, BodyLimit::HtmlHead { cap })
        .await
    {
        Ok(Outcome::Fetched(f)) => f,
        Ok(Outcome::NotModified { validators }) => return Fetch::NotModified(validators),
        Err(reason) => return Fetch::Failed(reason),
    };
    if let Some(ct) = &fetched.content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !(mime == "text/html" || mime == "application/xhtml+xml" || mime.is_empty()) {
            return Fetch::Failed(format!("not an HTML page (content type {mime})"));
        }
    }
    let text = charset::decode(
        &fetched.body,
        fetched.content_type.as_deref(),
        fetched.final_url.host_str(),
    );
    let meta = super::ogp::extract(&text, &fetched.final_url);
    Fetch::Card(
        Box::new(Card {
            url: url.to_string(),
            final_url: fetched.final_url.to_string(),
            meta,
        }),
        fetched.validators,
    )
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
            },
        }
    }
}
