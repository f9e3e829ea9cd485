//! Enrich stage: remote images. Card images, card icons and `<img>`s with an http(s)
//! source are fetched once, decoded under strict limits, turned upright (EXIF), cut
//! to the sizes `[images]` names and re-encoded, then served from the site itself as
//! content-addressed files (`/_img/<hash>-<width>.<ext>`) a CDN may cache forever.
//!
//! Formats: lossy WebP first (about a third smaller than JPEG at the same look, and
//! every current browser shows it), with a JPEG fallback, or PNG when the image has
//! transparency. AVIF would save a little more, but its Rust encoders take seconds per
//! photo on a two-core CI machine. Animated GIFs are served as they are: re-encoding
//! animation is costly and rarely smaller.
//!
//! Originals and variants live under `.enishi/images/`; their metadata (validators,
//! content hash, the variants made from it) lives in the SQLite store. A second build
//! downloads nothing and encodes nothing.
//!
//! Here: the uses, the `images` and `image_sets` tables, and variant reuse.
//! `variants` makes an original's variants, `codec` reads and writes image bytes
//! under limits, `budget` shares decode memory between workers, `resize` computes
//! sizes, `html` finds `<img>`s in posts.

mod budget;
mod codec;
/// `enishi import --download-images` keeps what the image stage would accept.
pub(crate) use codec::sniff;
mod files;
mod html;
mod resize;
mod types;
mod variants;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use rayon::prelude::*;
use rusqlite::params;
use url::Url;

use super::engine::{self, Cached, Fetched, Freshness, Mode, Resource, RowTable};
use super::fetch::{BodyLimit, Client, LazyFetcher, Outcome, Validators};
use crate::config::{ImagesConfig, Site};
use crate::report::{Reporter, Warning, WarningKind};
use crate::store::{Store, Tables};

pub use html::{inline_uses, is_remote, remote_img_srcs, src_url, srcset};
pub use types::{ImageSet, ImageUse, Images, OUTPUT_DIR, Processed, Purpose, Role, Variant};

use files::write_atomic;
use types::{ENCODER_VERSION, Original};

/// The image cache: one row per URL (the bytes live in `.enishi/images/originals/`),
/// and the variants made from an original's bytes under given settings.
pub const TABLES: Tables = Tables {
    owner: "images",
    migrations: &[
        "CREATE TABLE IF NOT EXISTS images (
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
         )",
        // Originals that could not be made into variants, so they are not decoded
        // again on every build (keyed by the limits in force; retried after the
        // failure TTL or when the limits change).
        "CREATE TABLE IF NOT EXISTS image_refusals (
             content_hash TEXT NOT NULL,
             purpose TEXT NOT NULL,
             limits TEXT NOT NULL,
             reason TEXT NOT NULL,
             refused_at INTEGER NOT NULL,
             PRIMARY KEY (content_hash, purpose, limits)
         )",
    ],
};

const ORIGINAL_ROWS: RowTable = RowTable {
    table: "images",
    value_column: "content_hash",
};

/// The engine's view of remote images: the `images` table, and one original per URL
/// saved under `.enishi/images/originals/` as it arrives. The cached value is the
/// hash of the original's bytes.
struct Originals {
    dir: PathBuf,
    cap: usize,
}

impl Resource for Originals {
    type Value = String;
    const LABEL: &'static str = "画像";
    const CACHE_NAME: &'static str = "image cache";

    /// Rows whose original is no longer on disk count as missing.
    fn load(&self, store: &Store, urls: &[&str]) -> Result<HashMap<String, Cached<String>>> {
        ORIGINAL_ROWS.load(store, urls, |url, hash| {
            original_path(&self.dir, url).is_file().then_some(hash)
        })
    }

    fn save(&self, store: &mut Store, rows: &[(String, Cached<String>)]) -> Result<()> {
        ORIGINAL_ROWS.save(store, rows, |hash| Ok(hash.clone()))
    }

    fn fetch(
        &self,
        client: Arc<Client>,
        url: String,
        validators: Option<Validators>,
    ) -> impl Future<Output = Fetched<String>> + Send + 'static {
        let path = original_path(&self.dir, &url);
        let cap = self.cap;
        async move {
            let parsed = match Url::parse(&url) {
                Ok(u) => u,
                Err(e) => return Fetched::Failed(format!("not a valid URL ({e})")),
            };
            match client
                .get(&parsed, validators.as_ref(), BodyLimit::Whole { cap })
                .await
            {
                // Saved at once, so at most `concurrency` bodies are in memory.
                Ok(Outcome::Fetched(f)) => match codec::sniff(&f.body) {
                    Ok(_) => match write_atomic(&path, &f.body) {
                        Ok(()) => {
                            Fetched::Value(blake3::hash(&f.body).to_hex().to_string(), f.validators)
                        }
                        Err(e) => Fetched::Failed(e),
                    },
                    Err(reason) => Fetched::Failed(reason),
                },
                Ok(Outcome::NotModified { validators }) => Fetched::NotModified(validators),
                Err(reason) => Fetched::Failed(reason),
            }
        }
    }
}

/// Variants made under `spec`, by purpose and content hash.
fn load_image_sets(store: &Store, spec: &str) -> Result<HashMap<(Purpose, String), Processed>> {
    let rows = store.text_triples(
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

/// Refusals made under `limits`: why, and when (Unix seconds).
fn load_refusals(store: &Store, limits: &str) -> Result<HashMap<ImageKey, (String, i64)>> {
    let mut stmt = store.conn().prepare(
        "SELECT content_hash, purpose, reason, refused_at FROM image_refusals WHERE limits = ?1",
    )?;
    let rows = stmt.query_map(params![limits], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (hash, purpose, reason, at) = row?;
        if let Ok(purpose) = serde_json::from_str::<Purpose>(&purpose) {
            out.insert((purpose, hash), (reason, at));
        }
    }
    Ok(out)
}

fn save_refusals(store: &mut Store, limits: &str, refused: &[(ImageKey, String)]) -> Result<()> {
    if refused.is_empty() {
        return Ok(());
    }
    let now = chrono::Utc::now().timestamp();
    store.write(|tx| {
        let mut put = tx.prepare_cached(
            "INSERT INTO image_refusals (content_hash, purpose, limits, reason, refused_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(content_hash, purpose, limits) DO UPDATE SET
                 reason = excluded.reason, refused_at = excluded.refused_at",
        )?;
        for ((purpose, hash), reason) in refused {
            put.execute(params![
                hash,
                serde_json::to_string(purpose)?,
                limits,
                reason,
                now
            ])?;
        }
        Ok(())
    })
}

fn save_image_sets(
    store: &mut Store,
    spec: &str,
    sets: &[((Purpose, String), Processed)],
) -> Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
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

/// Fetches, processes and caches every image in `uses`.
pub fn resolve(
    site: &Site,
    store: &mut Store,
    fetcher: &LazyFetcher,
    uses: &[ImageUse],
    mode: Mode,
    reporter: &Reporter,
) -> Result<Images> {
    let mut out = Images::default();
    let settings = &site.config.images;
    if uses.is_empty() || !settings.enabled {
        return Ok(out);
    }
    let dir = images_dir(site);
    for sub in ["originals", "variants"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| {
            format!("{}: cannot create the image cache", dir.join(sub).display())
        })?;
    }

    // 1. Originals: from the cache, or fetched.
    let urls: BTreeSet<&str> = uses.iter().map(|u| u.url.as_str()).collect();
    let urls: Vec<&str> = urls.into_iter().collect();
    let (originals, requests, uncached, first_expiry) =
        originals(site, fetcher, store, &dir, &urls, mode, reporter)?;
    out.requests = requests;
    out.first_expiry = first_expiry;
    out.uncached = uses
        .iter()
        .filter(|u| uncached.contains(&u.url))
        .cloned()
        .collect();

    // 2. Variants: reused when the store knows them and their files exist, else made.
    let spec = spec_key(settings);
    let mut wanted: BTreeSet<(Purpose, &str)> = BTreeSet::new();
    for u in uses {
        if matches!(originals.get(u.url.as_str()), Some(Ok(_))) {
            wanted.insert((u.purpose, u.url.as_str()));
        }
    }
    let known = load_image_sets(store, &spec)?;
    let limits = limits_key(settings, &spec);
    let refused = load_refusals(store, &limits)?;
    let (_, retry_secs) = Freshness::of(&site.config.links).seconds();
    let now = chrono::Utc::now().timestamp();
    let encoded = AtomicUsize::new(0);
    let budget = budget::DecodeBudget::new(settings);
    let made: Vec<(ImageKey, Made)> = wanted
        .par_iter()
        .map(|&(purpose, url)| {
            let original = originals[url]
                .as_ref()
                .expect("only fetched originals are wanted");
            let key = (purpose, original.content_hash.clone());
            if let Some(p) = known.get(&key)
                && p.sets
                    .values()
                    .flat_map(all_variants)
                    .all(|v| dir.join("variants").join(&v.name).is_file())
            {
                return ((purpose, url.to_string()), Ok((p.clone(), false)));
            }
            // Refused before under these limits: not decoded again until retried.
            if let Some((reason, at)) = refused.get(&key)
                && now - at < retry_secs
            {
                return ((purpose, url.to_string()), Err((reason.clone(), false)));
            }
            let result = variants::process(&dir, original, purpose, settings, &budget)
                .map(|(p, n)| {
                    encoded.fetch_add(n, Ordering::Relaxed);
                    (p, true)
                })
                .map_err(|reason| (reason, true));
            ((purpose, url.to_string()), result)
        })
        .collect();
    out.encoded = encoded.into_inner();

    let mut new_sets = Vec::new();
    let mut new_refusals = Vec::new();
    let mut failed: HashMap<(Purpose, String), String> = HashMap::new();
    for ((purpose, url), result) in made {
        match result {
            Ok((processed, fresh)) => {
                let original = originals[url.as_str()].as_ref().expect("fetched");
                if fresh {
                    new_sets.push(((purpose, original.content_hash.clone()), processed.clone()));
                }
                out.bytes_in += original.bytes;
                for set in processed.sets.values() {
                    for v in all_variants(set) {
                        out.files.insert(
                            format!("{OUTPUT_DIR}/{}", v.name),
                            dir.join("variants").join(&v.name),
                        );
                    }
                    let largest = set.webp.last().unwrap_or(set.largest());
                    out.bytes_out += file_len(&dir.join("variants").join(&largest.name));
                }
                out.ready.insert((purpose, url), processed);
            }
            Err((reason, new)) => {
                // A file that could not be read or written is no verdict on the image.
                let transient = reason.contains("cannot read") || reason.contains("cannot write");
                if new && !transient {
                    let hash = originals[url.as_str()].as_ref().expect("fetched");
                    new_refusals.push(((purpose, hash.content_hash.clone()), reason.clone()));
                }
                failed.insert((purpose, url), reason);
            }
        }
    }
    save_image_sets(store, &spec, &new_sets)?;
    save_refusals(store, &limits, &new_refusals)?;

    for u in uses {
        let reason = match originals.get(u.url.as_str()) {
            Some(Err(reason)) => Some(reason.as_str()),
            _ => failed.get(&(u.purpose, u.url.clone())).map(String::as_str),
        };
        if let Some(reason) = reason {
            reporter.warn(Warning::new(
                WarningKind::Image,
                &u.source,
                Some(u.line),
                format!("image {}: {reason}", u.url),
            ));
        }
    }
    Ok(out)
}

/// `.enishi/images/` beside the cache file.
fn images_dir(site: &Site) -> PathBuf {
    let cache = site.cache_path();
    cache.parent().unwrap_or(Path::new(".")).join("images")
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn all_variants(set: &ImageSet) -> impl Iterator<Item = &Variant> {
    set.fallback.iter().chain(&set.webp)
}

/// Everything that decides whether an original is refused: the variants' spec and
/// the decode limits.
fn limits_key(s: &ImagesConfig, spec: &str) -> String {
    format!(
        "{spec};dim={};alloc={};budget={}",
        s.max_dimension, s.max_alloc_mb, s.decode_budget_mb
    )
}

/// Everything the variants depend on besides the original's bytes.
fn spec_key(s: &ImagesConfig) -> String {
    format!(
        "v{ENCODER_VERSION};w={:?};wide={};square={};webp={};jpeg={}",
        s.widths, s.card_wide_width, s.card_square_width, s.webp_quality, s.jpeg_quality
    )
}

type ImageKey = (Purpose, String);
/// Variants for one key, and whether they were encoded in this run.
/// Or why not, and whether that was found out in this run (and is to be remembered).
type Made = std::result::Result<(Processed, bool), (String, bool)>;
/// The original of each URL, or why there is none.
type OriginalsByUrl = HashMap<String, std::result::Result<Original, String>>;

fn original_path(dir: &Path, url: &str) -> PathBuf {
    dir.join("originals")
        .join(&blake3::hash(url.as_bytes()).to_hex().as_str()[..32])
}

/// The original of every URL (from the cache or fetched), the requests made, and
/// the URLs `--offline` found nothing for.
fn originals(
    site: &Site,
    fetcher: &LazyFetcher,
    store: &mut Store,
    dir: &Path,
    urls: &[&str],
    mode: Mode,
    reporter: &Reporter,
) -> Result<(OriginalsByUrl, usize, Vec<String>, Option<i64>)> {
    let resource = Originals {
        dir: dir.to_path_buf(),
        cap: site.config.images.max_bytes,
    };
    let freshness = Freshness::of(&site.config.links);
    let batch = engine::resolve(&resource, store, fetcher, urls, mode, freshness, reporter)?;
    let originals = batch
        .results
        .into_iter()
        .map(|(url, result)| {
            let original = result.map(|hash| {
                let path = original_path(dir, &url);
                Original {
                    bytes: file_len(&path),
                    path,
                    content_hash: hash,
                }
            });
            (url, original)
        })
        .collect();
    Ok((
        originals,
        batch.requests,
        batch.uncached,
        batch.first_expiry,
    ))
}
