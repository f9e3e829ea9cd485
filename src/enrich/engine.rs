//! The fetch-and-cache engine that link cards and remote images share. Per URL it
//! decides, from the mode and the cached row's age, whether to use the row, to
//! revalidate it (`If-None-Match` / `If-Modified-Since`), or to fetch anew; it runs
//! the requests concurrently through [`super::fetch`], merges 304 answers into the
//! cached value, saves every outcome (failures too) and counts the requests.
//!
//! What differs between cards and images — the table, how a response becomes a
//! value, the progress label — is a [`Resource`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::Result;

use super::fetch::{Client, LazyFetcher, Validators};
use crate::config::LinksConfig;
use crate::report::Reporter;
use crate::store::Store;

/// How the build may use the network.
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

/// A URL's value (or why there is none) as last fetched.
#[derive(Debug, Clone)]
pub struct Cached<T> {
    /// Unix seconds.
    pub fetched_at: i64,
    pub result: std::result::Result<T, String>,
    pub validators: Validators,
}

/// What one request brought.
pub enum Fetched<T> {
    Value(T, Validators),
    /// The server answered 304 to our validators.
    NotModified(Validators),
    Failed(String),
}

/// One kind of remote thing the engine fetches and caches.
pub trait Resource {
    type Value: Clone + Send + 'static;
    /// Named on the progress bar.
    const LABEL: &'static str;
    /// Named when `--offline` finds no row ("link cache", "image cache").
    const CACHE_NAME: &'static str;

    /// The cached rows of these URLs (missing or unusable ones left out).
    fn load(&self, store: &Store, urls: &[&str]) -> Result<HashMap<String, Cached<Self::Value>>>;
    fn save(&self, store: &mut Store, rows: &[(String, Cached<Self::Value>)]) -> Result<()>;
    /// One request; must not borrow `self`, since requests run on the HTTP runtime.
    fn fetch(
        &self,
        client: Arc<Client>,
        url: String,
        validators: Option<Validators>,
    ) -> impl Future<Output = Fetched<Self::Value>> + Send + 'static;
}

/// A resource's cache table: one row per URL with `fetched_at`, the value (as text)
/// or the error, and the validators. Cards and images keep theirs this way.
pub struct RowTable {
    pub table: &'static str,
    /// The column holding the value; NULL when the row records a failure.
    pub value_column: &'static str,
}

impl RowTable {
    /// The rows of these URLs. `decode` turns a stored value back into one; `None`
    /// (a row that no longer decodes, a file that is gone) counts as no row.
    pub fn load<T>(
        &self,
        store: &Store,
        urls: &[&str],
        decode: impl Fn(&str, String) -> Option<T>,
    ) -> Result<HashMap<String, Cached<T>>> {
        let mut stmt = store.conn().prepare_cached(&format!(
            "SELECT fetched_at, {}, error, etag, last_modified FROM {} WHERE url = ?1",
            self.value_column, self.table
        ))?;
        let mut out = HashMap::new();
        for &url in urls {
            let row = stmt.query_row(rusqlite::params![url], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            });
            let (fetched_at, value, error, etag, last_modified) = match row {
                Ok(row) => row,
                Err(rusqlite::Error::QueryReturnedNoRows) => continue,
                Err(e) => return Err(e.into()),
            };
            let result = match (value, error) {
                (Some(value), _) => match decode(url, value) {
                    Some(value) => Ok(value),
                    None => continue,
                },
                (None, Some(error)) => Err(error),
                (None, None) => continue,
            };
            let validators = Validators {
                etag,
                last_modified,
            };
            out.insert(
                url.to_string(),
                Cached {
                    fetched_at,
                    result,
                    validators,
                },
            );
        }
        Ok(out)
    }

    /// Saves rows (failures too) in one transaction.
    pub fn save<T>(
        &self,
        store: &mut Store,
        rows: &[(String, Cached<T>)],
        encode: impl Fn(&T) -> Result<String>,
    ) -> Result<()> {
        let (table, column) = (self.table, self.value_column);
        store.write(|tx| {
            let mut put = tx.prepare_cached(&format!(
                "INSERT INTO {table} (url, fetched_at, {column}, error, etag, last_modified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at,
                     {column} = excluded.{column}, error = excluded.error,
                     etag = excluded.etag, last_modified = excluded.last_modified"
            ))?;
            for (url, row) in rows {
                let (value, error) = match &row.result {
                    Ok(value) => (Some(encode(value)?), None),
                    Err(e) => (None, Some(e.as_str())),
                };
                put.execute(rusqlite::params![
                    url,
                    row.fetched_at,
                    value,
                    error,
                    row.validators.etag,
                    row.validators.last_modified
                ])?;
            }
            Ok(())
        })
    }
}

/// The outcome for a batch of URLs.
pub struct Batch<T> {
    pub results: HashMap<String, std::result::Result<T, String>>,
    /// HTTP requests sent (zero when everything came from the cache).
    pub requests: usize,
    /// URLs `--offline` found no cache row for (for `serve`'s background fetch).
    pub uncached: Vec<String>,
    /// When the first of these URLs' rows stops being fresh (Unix seconds): an online
    /// build after that fetches again.
    pub first_expiry: Option<i64>,
}

/// How long a success and a failure stay fresh, from `[links]`.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    ok_secs: i64,
    failed_secs: i64,
}

impl Freshness {
    pub fn of(links: &LinksConfig) -> Freshness {
        Freshness {
            ok_secs: (links.success_ttl_days * 86_400.0) as i64,
            failed_secs: (links.failure_ttl_hours * 3_600.0) as i64,
        }
    }

    /// Seconds a success and a failure stay fresh.
    pub fn seconds(&self) -> (i64, i64) {
        (self.ok_secs, self.failed_secs)
    }

    fn is_fresh<T>(&self, row: &Cached<T>, now: i64) -> bool {
        now < self.expiry(row)
    }

    /// When `row` stops being fresh.
    fn expiry<T>(&self, row: &Cached<T>) -> i64 {
        let ttl = if row.result.is_ok() {
            self.ok_secs
        } else {
            self.failed_secs
        };
        row.fetched_at.saturating_add(ttl)
    }
}

/// What to do with one URL.
enum Plan<T> {
    Use(std::result::Result<T, String>),
    Uncached,
    /// Fetch, conditionally when there is a cached row to revalidate.
    Fetch(Option<Cached<T>>),
}

fn plan<T: Clone>(mode: Mode, row: Option<&Cached<T>>, fresh: bool) -> Plan<T> {
    match (mode, row) {
        (Mode::Offline, Some(row)) => Plan::Use(row.result.clone()),
        (Mode::Offline, None) => Plan::Uncached,
        (Mode::Online, Some(row)) if fresh => Plan::Use(row.result.clone()),
        (Mode::Online, Some(row)) if row.result.is_ok() => Plan::Fetch(Some(row.clone())),
        _ => Plan::Fetch(None),
    }
}

/// Resolves `urls` from the cache and the network as `mode` allows.
pub fn resolve<R: Resource>(
    resource: &R,
    store: &mut Store,
    fetcher: &LazyFetcher,
    urls: &[&str],
    mode: Mode,
    freshness: Freshness,
    reporter: &Reporter,
) -> Result<Batch<R::Value>> {
    let now = chrono::Utc::now().timestamp();
    let cached = resource.load(store, urls)?;
    let mut results = HashMap::new();
    let mut uncached = Vec::new();
    let mut to_fetch = Vec::new();
    let mut first_expiry: Option<i64> = None;
    for &url in urls {
        let row = cached.get(url);
        let fresh = row.is_some_and(|r| freshness.is_fresh(r, now));
        match plan(mode, row, fresh) {
            Plan::Use(result) => {
                if let Some(row) = row {
                    earliest(&mut first_expiry, freshness.expiry(row));
                }
                results.insert(url.to_string(), result);
            }
            Plan::Uncached => {
                uncached.push(url.to_string());
                let why = format!("not in the {} (--offline makes no requests)", R::CACHE_NAME);
                results.insert(url.to_string(), Err(why));
            }
            Plan::Fetch(old) => to_fetch.push((url.to_string(), old)),
        }
    }
    if to_fetch.is_empty() {
        return Ok(Batch {
            results,
            requests: 0,
            uncached,
            first_expiry,
        });
    }

    let fetcher = fetcher.get()?;
    let before = fetcher.requests();
    let bar = reporter.progress_bar(to_fetch.len(), 5, R::LABEL);
    let fetched = fetcher.run_all(to_fetch, |client, (url, old)| {
        let bar = bar.clone();
        let request = resource.fetch(
            client,
            url.clone(),
            old.as_ref()
                .map(|c: &Cached<R::Value>| c.validators.clone()),
        );
        async move {
            let fetched = request.await;
            if let Some(bar) = bar {
                bar.inc(1);
            }
            (url, old, fetched)
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let requests = fetcher.requests() - before;

    let mut rows = Vec::with_capacity(fetched.len());
    for (url, old, fetched) in fetched {
        let row = merge(fetched, old, now);
        earliest(&mut first_expiry, freshness.expiry(&row));
        results.insert(url.clone(), row.result.clone());
        rows.push((url, row));
    }
    resource.save(store, &rows)?;
    Ok(Batch {
        results,
        requests,
        uncached,
        first_expiry,
    })
}

fn earliest(first: &mut Option<i64>, at: i64) {
    *first = Some(first.map_or(at, |e| e.min(at)));
}

/// The row to cache after a request. A 304 keeps the cached value, with the new
/// validators where the server sent them and the old ones where it did not.
fn merge<T>(fetched: Fetched<T>, old: Option<Cached<T>>, now: i64) -> Cached<T> {
    let (result, validators) = match (fetched, old) {
        (Fetched::Value(value, v), _) => (Ok(value), v),
        (Fetched::NotModified(v), Some(old)) => (
            old.result,
            Validators {
                etag: v.etag.or(old.validators.etag),
                last_modified: v.last_modified.or(old.validators.last_modified),
            },
        ),
        (Fetched::NotModified(_), None) => (
            Err("HTTP 304 to an unconditional request".into()),
            Validators::default(),
        ),
        (Fetched::Failed(reason), _) => (Err(reason), Validators::default()),
    };
    Cached {
        fetched_at: now,
        result,
        validators,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ok: bool, age: i64) -> Cached<u8> {
        Cached {
            fetched_at: 1_000 - age,
            result: if ok { Ok(1) } else { Err("x".into()) },
            validators: Validators::default(),
        }
    }

    fn what<T>(p: Plan<T>) -> &'static str {
        match p {
            Plan::Use(Ok(_)) => "use",
            Plan::Use(Err(_)) => "use failure",
            Plan::Uncached => "uncached",
            Plan::Fetch(Some(_)) => "revalidate",
            Plan::Fetch(None) => "fetch",
        }
    }

    #[test]
    fn plans_follow_mode_and_age() {
        let f = Freshness {
            ok_secs: 100,
            failed_secs: 10,
        };
        let decide = |mode, r: Option<Cached<u8>>| {
            let fresh = r.as_ref().is_some_and(|r| f.is_fresh(r, 1_000));
            what(plan(mode, r.as_ref(), fresh))
        };
        assert_eq!(decide(Mode::Online, Some(row(true, 50))), "use");
        assert_eq!(decide(Mode::Online, Some(row(true, 500))), "revalidate");
        assert_eq!(decide(Mode::Online, Some(row(false, 5))), "use failure");
        assert_eq!(decide(Mode::Online, Some(row(false, 50))), "fetch");
        assert_eq!(decide(Mode::Online, None), "fetch");
        assert_eq!(decide(Mode::Offline, Some(row(true, 500))), "use");
        assert_eq!(decide(Mode::Offline, Some(row(false, 500))), "use failure");
        assert_eq!(decide(Mode::Offline, None), "uncached");
        assert_eq!(decide(Mode::Refresh, Some(row(true, 5))), "fetch");
    }

    #[test]
    fn a_304_keeps_the_value_and_old_validators_it_did_not_resend() {
        let mut old = row(true, 500);
        old.validators = Validators {
            etag: Some("\"a\"".into()),
            last_modified: Some("yesterday".into()),
        };
        let v = Validators {
            etag: Some("\"b\"".into()),
            last_modified: None,
        };
        let merged = merge(Fetched::NotModified(v), Some(old), 1_000);
        assert_eq!(merged.result, Ok(1));
        assert_eq!(merged.validators.etag.as_deref(), Some("\"b\""));
        assert_eq!(
            merged.validators.last_modified.as_deref(),
            Some("yesterday")
        );
        let unasked = merge::<u8>(Fetched::NotModified(Validators::default()), None, 1_000);
        assert!(unasked.result.is_err());
    }
}
