//! The build cache: one SQLite file (WAL mode) holding what is expensive to redo.
//! Tables: `analysis` (term counts per post, keyed by path + content hash +
//! analysis fingerprint), `related` (the last computed related lists) and
//! `link_cards` (one row per URL, failures included, with HTTP validators), `images`
//! (the same for remote images; the bytes live in `.enishi/images/`) and `image_sets`
//! (the variants made from an image's bytes under given settings).
//!
//! A file that is not an Enishi cache, or is damaged, is moved aside (never
//! deleted) and a fresh cache is started, with a warning saying where it went.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use crate::enrich::cards::{Card, CardResult};
use crate::enrich::fetch::Validators;
use crate::enrich::images::{Processed, Purpose};
use crate::related::tfidf::DocFeatures;

/// `PRAGMA application_id`: "ENSH".
const APPLICATION_ID: i64 = 0x454E_5348;
const SCHEMA_VERSION: i64 = 1;
/// How long a writer waits for another process (`build` beside `related`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Store {
    conn: Connection,
    /// The cache file as messages name it (relative to the site).
    shown: String,
}

pub struct CachedAnalysis {
    pub content_hash: String,
    pub features: DocFeatures,
}

/// A link card (or the reason there is none) as last fetched.
#[derive(Debug, Clone)]
pub struct CachedCard {
    pub url: String,
    /// Unix seconds.
    pub fetched_at: i64,
    pub result: CardResult,
    pub validators: Validators,
}

/// A remote image as last fetched: the hash of its bytes (the file is in the image
/// cache folder) or why it could not be fetched.
#[derive(Debug, Clone)]
pub struct CachedImage {
    pub url: String,
    pub fetched_at: i64,
    pub content_hash: Option<String>,
    pub error: Option<String>,
    pub validators: Validators,
}

/// One post's analysis, to be saved.
pub struct AnalysisRow<'a> {
    pub path: &'a str,
    pub content_hash: &'a str,
    pub features: &'a DocFeatures,
}

impl Store {
    /// Opens (or creates) the cache at `path`. The returned warning, if any, says
    /// that a damaged or foreign file was moved aside.
    /// Opens the site's cache (`[cache] path`, by default `.enishi/cache.sqlite`).
    pub fn open_for(site: &crate::config::Site) -> Result<(Store, Option<String>)> {
        let path = site.cache_path();
        Store::open(&path, &crate::util::display_rel(&site.root, &path))
    }

    /// The cache file as messages name it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn open(path: &Path, shown: &str) -> Result<(Store, Option<String>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create cache folder", dir.display()))?;
        }
        let named = |store: Store| Store {
            shown: shown.to_string(),
            ..store
        };
        match Self::open_checked(path) {
            Ok(store) => Ok((named(store), None)),
            Err(reason) => {
                let aside = move_aside(path)?;
                let store = Self::open_checked(path).map(named).map_err(|e| {
                    anyhow!("{shown}: cannot create a new cache: {e} (check that the folder is writable)")
                })?;
                Ok((
                    store,
                    Some(format!(
                        "{shown}: {reason}; moved it to {} and started a new cache",
                        aside.display()
                    )),
                ))
            }
        }
    }

    fn open_checked(path: &Path) -> std::result::Result<Store, String> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(|e| format!("cannot open ({e})"))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
        let check = |e: rusqlite::Error| format!("not a usable cache ({e})");
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(check)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(check)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(check)?;
        if app_id != APPLICATION_ID && !(app_id == 0 && tables == 0) {
            return Err("is not an Enishi cache".into());
        }
        if app_id == APPLICATION_ID && version != SCHEMA_VERSION {
            return Err(format!(
                "was written by another Enishi version (schema {version}, expected {SCHEMA_VERSION})"
            ));
        }
        // The integrity check reads the whole file: once per process and file is
        // enough (a build opens the cache for each stage, `serve` on every save).
        if !already_checked(path) {
            let ok: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(check)?;
            if ok != "ok" {
                return Err(format!("is damaged ({ok})"));
            }
            mark_checked(path);
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(check)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(check)?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS analysis (
                 path TEXT PRIMARY KEY,
                 content_hash TEXT NOT NULL,
                 fingerprint TEXT NOT NULL,
                 features TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS related (
                 path TEXT PRIMARY KEY,
                 settings TEXT NOT NULL,
                 links TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS link_cards (
                 url TEXT PRIMARY KEY,
                 fetched_at INTEGER NOT NULL,
                 card TEXT,
                 error TEXT,
                 etag TEXT,
                 last_modified TEXT
             );
             CREATE TABLE IF NOT EXISTS images (
                 url TEXT PRIMARY KEY,
                 fetched_at INTEGER NOT NULL,
                 content_hash TEXT,
                 error TEXT,
                 etag TEXT,
                 last_modified TEXT
             );
             CREATE TABLE IF NOT EXISTS image_sets (
                 content_hash TEXT NOT NULL,
                 purpose TEXT NOT NULL,
                 spec TEXT NOT NULL,
                 sets TEXT NOT NULL,
                 PRIMARY KEY (content_hash, purpose, spec)
             );
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};
             COMMIT;"
        ))
        .map_err(check)?;
        Ok(Store {
            conn,
            shown: String::new(),
        })
    }

    /// Cached analyses made under `fingerprint`, by path.
    pub fn load_analysis(&self, fingerprint: &str) -> Result<HashMap<String, CachedAnalysis>> {
        let rows = self.text_triples(
            "SELECT path, content_hash, features FROM analysis WHERE fingerprint = ?1",
            fingerprint,
        )?;
        use rayon::prelude::*;
        // Decoding is most of the time here, and each row decodes on its own.
        Ok(rows
            .into_par_iter()
            .filter_map(|(path, content_hash, json)| {
                // A row that does not decode is treated as missing and redone.
                let features = serde_json::from_str(&json).ok()?;
                Some((
                    path,
                    CachedAnalysis {
                        content_hash,
                        features,
                    },
                ))
            })
            .collect())
    }

    /// Saves new analyses and the related lists in one transaction.
    pub fn save(
        &mut self,
        fingerprint: &str,
        analyses: &[AnalysisRow],
        settings: &str,
        related: &[(String, String)],
    ) -> Result<()> {
        self.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO analysis (path, content_hash, fingerprint, features)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(path) DO UPDATE SET content_hash = excluded.content_hash,
                 fingerprint = excluded.fingerprint, features = excluded.features",
            )?;
            for a in analyses {
                put.execute(params![
                    a.path,
                    a.content_hash,
                    fingerprint,
                    serde_json::to_string(a.features)?
                ])?;
            }
            let mut put = tx.prepare_cached(
                "INSERT INTO related (path, settings, links) VALUES (?1, ?2, ?3)
             ON CONFLICT(path) DO UPDATE SET settings = excluded.settings, links = excluded.links",
            )?;
            for (path, links) in related {
                put.execute(params![path, settings, links])?;
            }
            Ok(())
        })
    }
}

impl Store {
    /// Cached cards for these URLs (those that have a row).
    pub fn load_cards(&self, urls: &[&str]) -> Result<HashMap<String, CachedCard>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT fetched_at, card, error, etag, last_modified FROM link_cards WHERE url = ?1",
        )?;
        let mut out = HashMap::new();
        for &url in urls {
            let row = stmt.query_row(params![url], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            });
            let (fetched_at, card, error, etag, last_modified) = match row {
                Ok(row) => row,
                Err(rusqlite::Error::QueryReturnedNoRows) => continue,
                Err(e) => return Err(e.into()),
            };
            // A row that does not decode is treated as missing and fetched again.
            let result = match (card, error) {
                (Some(json), _) => match serde_json::from_str::<Card>(&json) {
                    Ok(card) => Ok(card),
                    Err(_) => continue,
                },
                (None, Some(error)) => Err(error),
                (None, None) => continue,
            };
            out.insert(
                url.to_string(),
                CachedCard {
                    url: url.to_string(),
                    fetched_at,
                    result,
                    validators: Validators {
                        etag,
                        last_modified,
                    },
                },
            );
        }
        Ok(out)
    }

    /// Saves fetched cards (and failures) in one transaction.
    pub fn save_cards(&mut self, rows: &[CachedCard]) -> Result<()> {
        self.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO link_cards (url, fetched_at, card, error, etag, last_modified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at,
                 card = excluded.card, error = excluded.error, etag = excluded.etag,
                 last_modified = excluded.last_modified",
            )?;
            for row in rows {
                let (card, error) = match &row.result {
                    Ok(card) => (Some(serde_json::to_string(card)?), None),
                    Err(e) => (None, Some(e.as_str())),
                };
                put.execute(params![
                    row.url,
                    row.fetched_at,
                    card,
                    error,
                    row.validators.etag,
                    row.validators.last_modified
                ])?;
            }
            Ok(())
        })
    }
}

impl Store {
    pub fn load_images(&self, urls: &[&str]) -> Result<HashMap<String, CachedImage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT fetched_at, content_hash, error, etag, last_modified FROM images WHERE url = ?1",
        )?;
        let mut out = HashMap::new();
        for &url in urls {
            let row = stmt.query_row(params![url], |r| {
                Ok(CachedImage {
                    url: url.to_string(),
                    fetched_at: r.get(0)?,
                    content_hash: r.get(1)?,
                    error: r.get(2)?,
                    validators: Validators {
                        etag: r.get(3)?,
                        last_modified: r.get(4)?,
                    },
                })
            });
            match row {
                Ok(row) => {
                    out.insert(url.to_string(), row);
                }
                Err(rusqlite::Error::QueryReturnedNoRows) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    pub fn save_images(&mut self, rows: &[CachedImage]) -> Result<()> {
        self.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO images (url, fetched_at, content_hash, error, etag, last_modified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at,
                 content_hash = excluded.content_hash, error = excluded.error,
                 etag = excluded.etag, last_modified = excluded.last_modified",
            )?;
            for r in rows {
                put.execute(params![
                    r.url,
                    r.fetched_at,
                    r.content_hash,
                    r.error,
                    r.validators.etag,
                    r.validators.last_modified
                ])?;
            }
            Ok(())
        })
    }

    /// Variants made under `spec`, by purpose and content hash.
    pub fn load_image_sets(&self, spec: &str) -> Result<HashMap<(Purpose, String), Processed>> {
        let rows = self.text_triples(
            "SELECT content_hash, purpose, sets FROM image_sets WHERE spec = ?1",
            spec,
        )?;
        let mut out = HashMap::new();
        for (hash, purpose, json) in rows {
            // Rows that do not decode are remade.
            if let (Ok(purpose), Ok(sets)) = (
                serde_json::from_str::<Purpose>(&purpose),
                serde_json::from_str::<Processed>(&json),
            ) && sets.sets.values().all(|set| !set.fallback.is_empty())
            {
                out.insert((purpose, hash), sets);
            }
        }
        Ok(out)
    }

    pub fn save_image_sets(
        &mut self,
        spec: &str,
        sets: &[((Purpose, String), Processed)],
    ) -> Result<()> {
        if sets.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO image_sets (content_hash, purpose, spec, sets) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(content_hash, purpose, spec) DO UPDATE SET sets = excluded.sets",
            )?;
            for ((purpose, hash), processed) in sets {
                put.execute(params![
                    hash,
                    serde_json::to_string(purpose)?,
                    spec,
                    serde_json::to_string(processed)?
                ])?;
            }
            Ok(())
        })
    }
}

/// A cache file as last checked: its path, size and modification time. Anything
/// that rewrites the file (another process, a damaged disk) gets it checked again.
type FileStamp = (PathBuf, u64, Option<std::time::SystemTime>);

fn checked_paths() -> &'static std::sync::Mutex<std::collections::HashSet<FileStamp>> {
    static CHECKED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<FileStamp>>> =
        std::sync::OnceLock::new();
    CHECKED.get_or_init(Default::default)
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((path.to_path_buf(), meta.len(), meta.modified().ok()))
}

fn already_checked(path: &Path) -> bool {
    let Some(stamp) = stamp(path) else {
        return false;
    };
    checked_paths()
        .lock()
        .map(|set| set.contains(&stamp))
        .unwrap_or(false)
}

fn mark_checked(path: &Path) {
    if let (Some(stamp), Ok(mut set)) = (stamp(path), checked_paths().lock()) {
        set.insert(stamp);
    }
}

impl Store {
    /// The rows of a three-text-column query with one parameter.
    fn text_triples(&self, sql: &str, key: &str) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params![key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs `f` in one write transaction, taken at once (`BEGIN IMMEDIATE`) so a
    /// concurrent `build` and `related` queue up behind the busy timeout.
    fn write(&mut self, f: impl FnOnce(&rusqlite::Transaction) -> Result<()>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        f(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

/// Renames a damaged cache (and its WAL files) to `<name>.corrupt[-N]`.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let mut n = 0;
    let aside = loop {
        let candidate = if n == 0 {
            path.with_extension("sqlite.corrupt")
        } else {
            path.with_extension(format!("sqlite.corrupt-{n}"))
        };
        if !candidate.exists() {
            break candidate;
        }
        n += 1;
    };
    std::fs::rename(path, &aside)
        .with_context(|| format!("{}: cannot move the damaged cache aside", path.display()))?;
    if let Ok(mut set) = checked_paths().lock() {
        set.retain(|(p, _, _)| p != path);
    }
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(&side, PathBuf::from(format!("{}{suffix}", aside.display())));
        }
    }
    Ok(aside)
}
