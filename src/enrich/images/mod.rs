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
mod html;
mod resize;
mod variants;

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use rayon::prelude::*;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use url::Url;

use super::engine::{self, Cached, Fetched, Freshness, Mode, Resource};
use super::fetch::{BodyLimit, Client, LazyFetcher, Outcome, Validators};
use crate::config::{ImagesConfig, Site};
use crate::report::{Reporter, Warning, WarningKind};
use crate::store::{Store, Tables};

pub use html::{inline_uses, is_remote, remote_img_srcs, srcset};

/// The image cache: one row per URL (the bytes live in `.enishi/images/originals/`),
/// and the variants made from an original's bytes under given settings.
pub const TABLES: Tables = Tables {
    owner: "images",
    migrations: &["CREATE TABLE IF NOT EXISTS images (
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
         )"],
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
        let mut stmt = store.conn().prepare_cached(
            "SELECT fetched_at, content_hash, error, etag, last_modified FROM images WHERE url = ?1",
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
            let (fetched_at, hash, error, etag, last_modified) = match row {
                Ok(row) => row,
                Err(rusqlite::Error::QueryReturnedNoRows) => continue,
                Err(e) => return Err(e.into()),
            };
            let result = match (hash, error) {
                (Some(hash), _) if original_path(&self.dir, url).is_file() => Ok(hash),
                (None, Some(error)) => Err(error),
                _ => continue,
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

    fn save(&self, store: &mut Store, rows: &[(String, Cached<String>)]) -> Result<()> {
        store.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO images (url, fetched_at, content_hash, error, etag, last_modified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(url) DO UPDATE SET fetched_at = excluded.fetched_at,
                     content_hash = excluded.content_hash, error = excluded.error,
                     etag = excluded.etag, last_modified = excluded.last_modified",
            )?;
            for (url, r) in rows {
                put.execute(params![
                    url,
                    r.fetched_at,
                    r.result.as_ref().ok(),
                    r.result.as_ref().err(),
                    r.validators.etag,
                    r.validators.last_modified
                ])?;
            }
            Ok(())
        })
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
                        Err(e) => Fetched::Failed(format!("{e:#}")),
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

/// Where the output files go, under the output root.
pub const OUTPUT_DIR: &str = "_img";
/// Bumped when encoding changes, so old variants are not reused.
const ENCODER_VERSION: u32 = 1;
/// The ratio of a wide card image (Open Graph's 1200×630).
const WIDE_RATIO: f64 = 1.91;
/// The side of a card's site icon.
const ICON_SIDE: u32 = 32;

/// What an image is used as; each use has its own sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Purpose {
    /// An image in a post's body: the configured widths, for srcset.
    Inline,
    /// A link card's picture: 1.91:1 and 1:1 crops at 1× and 2×.
    Card,
    /// A link card's site icon: 32 px.
    Icon,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// File name under `/_img/`.
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// One picture at several widths: WebP and a fallback, both ascending by width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSet {
    /// `image/jpeg`, `image/png` or `image/gif`.
    pub fallback_type: String,
    pub fallback: Vec<Variant>,
    /// Empty for animated GIFs.
    pub webp: Vec<Variant>,
}

impl ImageSet {
    /// The largest fallback variant: what `src`, `width` and `height` name.
    pub fn largest(&self) -> &Variant {
        self.fallback
            .last()
            .expect("an image set has at least one variant")
    }
}

/// The sets made from one image for one purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processed {
    /// Inline: `Role::Inline`. Card: `Wide` and `Square`. Icon: `Icon`.
    pub sets: BTreeMap<Role, ImageSet>,
}

/// Which picture of a [`Processed`] a set is. The lowercase names are the keys of
/// cached `image_sets` rows and part of every variant's file name: they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    // In the order of their names, so that ordering a map by role orders it as the
    // names did (the JSON of a row is unchanged) and `Borrow<str>` is sound.
    /// A card's site icon.
    Icon,
    /// An image in a post's body.
    Inline,
    /// A card's picture, 1:1.
    Square,
    /// A card's picture, 1.91:1.
    Wide,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Icon => "icon",
            Role::Inline => "inline",
            Role::Square => "square",
            Role::Wide => "wide",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hashed as its name, so that `Borrow<str>` agrees with `Hash`.
impl Hash for Role {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// `sets.get("wide")` still finds `Role::Wide`.
impl Borrow<str> for Role {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// One place an image is used, for the warning if it cannot be made.
#[derive(Debug, Clone)]
pub struct ImageUse {
    pub purpose: Purpose,
    pub url: String,
    pub source: String,
    pub line: usize,
}

#[derive(Debug, Default)]
pub struct Images {
    /// Ready images by purpose and URL; a missing key means "could not be made".
    pub ready: HashMap<(Purpose, String), Processed>,
    /// Output path (`_img/…`) → file in the cache folder.
    pub files: BTreeMap<String, PathBuf>,
    pub requests: usize,
    /// Variants encoded in this run (zero when all came from the cache).
    pub encoded: usize,
    /// Bytes of the originals used, and of the largest variant of each.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Uses whose image `Mode::Offline` found no cache entry for (for `serve`).
    pub uncached: Vec<ImageUse>,
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
    let (originals, requests, uncached) =
        originals(site, fetcher, store, &dir, &urls, mode, reporter)?;
    out.requests = requests;
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
            let result =
                variants::process(&dir, original, purpose, settings, &budget).map(|(p, n)| {
                    encoded.fetch_add(n, Ordering::Relaxed);
                    (p, true)
                });
            ((purpose, url.to_string()), result)
        })
        .collect();
    out.encoded = encoded.into_inner();

    let mut new_sets = Vec::new();
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
            Err(reason) => {
                failed.insert((purpose, url), reason);
            }
        }
    }
    save_image_sets(store, &spec, &new_sets)?;

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

/// Everything the variants depend on besides the original's bytes.
fn spec_key(s: &ImagesConfig) -> String {
    format!(
        "v{ENCODER_VERSION};w={:?};wide={};square={};webp={};jpeg={}",
        s.widths, s.card_wide_width, s.card_square_width, s.webp_quality, s.jpeg_quality
    )
}

type ImageKey = (Purpose, String);
/// Variants for one key, and whether they were encoded in this run.
type Made = std::result::Result<(Processed, bool), String>;
/// The original of each URL, or why there is none.
type OriginalsByUrl = HashMap<String, std::result::Result<Original, String>>;

/// An original on disk.
#[derive(Debug, Clone)]
struct Original {
    path: PathBuf,
    content_hash: String,
    bytes: u64,
}

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
) -> Result<(OriginalsByUrl, usize, Vec<String>)> {
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
    Ok((originals, batch.requests, batch.uncached))
}

/// Writes through a temporary file renamed into place, so a reader never sees half a
/// file. The temporary name is unique per write: two URLs with the same bytes make
/// the same variant files, possibly at the same moment.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// A short name for a variant: its original's hash prefix, what it is, and the encoder.
fn short_hash(prefix: &str, what: &str) -> String {
    blake3::hash(format!("{prefix}:{what}:{ENCODER_VERSION}").as_bytes()).to_hex()[..16].to_string()
}

fn write_variant(dir: &Path, name: &str, bytes: &[u8]) -> std::result::Result<(), String> {
    write_atomic(&dir.join(name), bytes).map_err(|e| format!("{e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written when the roles were strings still decode, and encode back to the
    /// same JSON.
    #[test]
    fn rows_with_string_keys_decode() {
        let row = r#"{"sets":{"square":{"fallback_type":"image/jpeg","fallback":[{"name":"727c4decfd85a58c-100.jpg","width":100,"height":100}],"webp":[{"name":"727c4decfd85a58c-100.webp","width":100,"height":100}]},"wide":{"fallback_type":"image/jpeg","fallback":[{"name":"0c49896b2f7d7c54-191.jpg","width":191,"height":100}],"webp":[]}}}"#;
        let p: Processed = serde_json::from_str(row).unwrap();
        assert_eq!(
            p.sets.keys().copied().collect::<Vec<_>>(),
            [Role::Square, Role::Wide]
        );
        assert_eq!(p.sets[&Role::Wide].largest().width, 191);
        assert_eq!(serde_json::to_string(&p).unwrap(), row);
        for (json, role) in [
            (
                r#"{"sets":{"inline":{"fallback_type":"image/gif","fallback":[],"webp":[]}}}"#,
                Role::Inline,
            ),
            (
                r#"{"sets":{"icon":{"fallback_type":"image/png","fallback":[],"webp":[]}}}"#,
                Role::Icon,
            ),
        ] {
            let p: Processed = serde_json::from_str(json).unwrap();
            assert!(p.sets.contains_key(&role), "{json}");
        }
        assert!(
            serde_json::from_str::<Processed>(
                r#"{"sets":{"banner":{"fallback_type":"","fallback":[],"webp":[]}}}"#
            )
            .is_err()
        );
    }

    /// Ordered, compared and hashed as their names, so a map keyed by role can be
    /// looked up by name.
    #[test]
    fn roles_agree_with_their_names() {
        let roles = [Role::Icon, Role::Inline, Role::Square, Role::Wide];
        for a in roles {
            assert_eq!(a.to_string(), a.as_str());
            for b in roles {
                assert_eq!(a.cmp(&b), a.as_str().cmp(b.as_str()));
            }
        }
        let hash = |h: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
            let mut s = std::collections::hash_map::DefaultHasher::new();
            h(&mut s);
            s.finish()
        };
        assert_eq!(hash(&|s| Role::Wide.hash(s)), hash(&|s| "wide".hash(s)));
        let sets: BTreeMap<Role, u8> = [(Role::Wide, 1), (Role::Square, 2)].into();
        assert_eq!(sets.get("wide"), Some(&1));
        assert_eq!(sets.get("icon"), None);
    }
}
