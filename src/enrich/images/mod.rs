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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use image::codecs::gif::GifDecoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use url::Url;

use std::future::Future;
use std::sync::Arc;

use rusqlite::params;

use super::engine::{self, Cached, Fetched, Freshness, Mode, Resource};
use super::fetch::{BodyLimit, Client, LazyFetcher, Outcome, Validators};
use crate::config::{ImagesConfig, Site};
use crate::content::Segment;
use crate::model::SiteModel;
use crate::report::{Reporter, Warning, WarningKind};
use crate::store::{Store, Tables};

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
                Ok(Outcome::Fetched(f)) => match sniff(&f.body) {
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
    /// Inline: "inline". Card: "wide" and "square". Icon: "icon".
    pub sets: BTreeMap<String, ImageSet>,
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
            let result = process(&dir, original, purpose, settings).map(|(p, n)| {
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

/// The format from the bytes themselves; the Content-Type header is not trusted.
fn sniff(bytes: &[u8]) -> std::result::Result<ImageFormat, String> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP)) => {
            Ok(f)
        }
        Ok(f) => Err(format!(
            "{f:?} images are not supported (JPEG, PNG, GIF and WebP are)"
        )),
        Err(_) => Err("not an image (the bytes are not JPEG, PNG, GIF or WebP)".into()),
    }
}

/// Decodes, orients, resizes and encodes; returns the sets and how many files it encoded.
fn process(
    dir: &Path,
    original: &Original,
    purpose: Purpose,
    settings: &ImagesConfig,
) -> std::result::Result<(Processed, usize), String> {
    let bytes = std::fs::read(&original.path)
        .map_err(|e| format!("cannot read the cached original ({e})"))?;
    let format = sniff(&bytes)?;
    if !is_complete(&bytes, format) {
        return Err("the file is truncated (it ends before the image does)".into());
    }
    let out_dir = dir.join("variants");
    let prefix = &original.content_hash[..16];

    if format == ImageFormat::Gif && purpose != Purpose::Icon && is_animated(&bytes) {
        let (w, h) = decoder_dimensions(&bytes, format, settings)?;
        let name = format!("{}-{w}.gif", short_hash(prefix, "animated"));
        write_variant(&out_dir, &name, &bytes)?;
        let set = ImageSet {
            fallback_type: "image/gif".into(),
            fallback: vec![Variant {
                name,
                width: w,
                height: h,
            }],
            webp: vec![],
        };
        let role = if purpose == Purpose::Card {
            "wide"
        } else {
            "inline"
        };
        let mut sets = BTreeMap::new();
        if purpose == Purpose::Card {
            sets.insert("square".into(), set.clone());
        }
        sets.insert(role.into(), set);
        return Ok((Processed { sets }, 1));
    }

    let img = decode(&bytes, format, settings)?;
    let alpha = has_transparency(&img);
    let mut encoded = 0;
    let mut sets = BTreeMap::new();
    let mut make = |role: &str, frames: Vec<DynamicImage>| -> std::result::Result<(), String> {
        let mut set = ImageSet {
            fallback_type: if alpha { "image/png" } else { "image/jpeg" }.into(),
            fallback: vec![],
            webp: vec![],
        };
        for frame in frames {
            let (w, h) = (frame.width(), frame.height());
            let base = short_hash(prefix, &format!("{role}-{w}x{h}"));
            let fallback_ext = if alpha { "png" } else { "jpg" };
            let name = format!("{base}-{w}.{fallback_ext}");
            write_variant(&out_dir, &name, &encode_fallback(&frame, alpha, settings)?)?;
            set.fallback.push(Variant {
                name,
                width: w,
                height: h,
            });
            if role != "icon" {
                let name = format!("{base}-{w}.webp");
                write_variant(&out_dir, &name, &encode_webp(&frame, alpha, settings)?)?;
                set.webp.push(Variant {
                    name,
                    width: w,
                    height: h,
                });
                encoded += 1;
            }
            encoded += 1;
        }
        sets.insert(role.to_string(), set);
        Ok(())
    };
    match purpose {
        Purpose::Inline => make("inline", widths(&img, &settings.widths)),
        Purpose::Card => {
            make("wide", crops(&img, WIDE_RATIO, settings.card_wide_width))?;
            make("square", crops(&img, 1.0, settings.card_square_width))
        }
        Purpose::Icon => make("icon", vec![fit(&img, 32)]),
    }?;
    Ok((Processed { sets }, encoded))
}

/// Whether the file ends where its format says it should. Decoders fill a cut-off
/// image with grey rather than fail, so this is checked before decoding.
fn is_complete(bytes: &[u8], format: ImageFormat) -> bool {
    let find_last = |needle: &[u8]| bytes.windows(needle.len()).rposition(|w| w == needle);
    match format {
        // The end-of-image marker after the last start-of-scan (an EXIF thumbnail has
        // its own pair earlier in the file).
        ImageFormat::Jpeg => match (find_last(&[0xFF, 0xDA]), find_last(&[0xFF, 0xD9])) {
            (Some(sos), Some(eoi)) => eoi > sos,
            _ => false,
        },
        ImageFormat::Png => find_last(b"IEND").is_some_and(|at| at + 8 <= bytes.len()),
        ImageFormat::Gif => bytes.iter().rev().take(16).any(|&b| b == 0x3B),
        ImageFormat::WebP => bytes
            .get(4..8)
            .map(|n| u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize + 8)
            .is_some_and(|len| len <= bytes.len()),
        _ => true,
    }
}

fn short_hash(prefix: &str, what: &str) -> String {
    blake3::hash(format!("{prefix}:{what}:{ENCODER_VERSION}").as_bytes()).to_hex()[..16].to_string()
}

fn write_variant(dir: &Path, name: &str, bytes: &[u8]) -> std::result::Result<(), String> {
    write_atomic(&dir.join(name), bytes).map_err(|e| format!("{e:#}"))
}

fn limits(settings: &ImagesConfig) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(settings.max_dimension);
    limits.max_image_height = Some(settings.max_dimension);
    limits.max_alloc = Some(settings.max_alloc_mb * 1024 * 1024);
    limits
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut r = ImageReader::new(Cursor::new(bytes));
    r.set_format(format);
    r
}

fn describe(e: image::ImageError) -> String {
    match e {
        image::ImageError::Limits(l) => format!("the image is too large to decode safely ({l})"),
        other => format!("cannot decode the image ({other})"),
    }
}

fn decoder_dimensions(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImagesConfig,
) -> std::result::Result<(u32, u32), String> {
    let mut r = reader(bytes, format);
    r.limits(limits(settings));
    let decoder = r.into_decoder().map_err(describe)?;
    let (w, h) = decoder.dimensions();
    if w > settings.max_dimension || h > settings.max_dimension {
        return Err(format!(
            "the image is too large to decode safely ({w}×{h} pixels; the limit is {} on a side)",
            settings.max_dimension
        ));
    }
    Ok((w, h))
}

/// Decoded under the limits and turned upright by its EXIF orientation.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    settings: &ImagesConfig,
) -> std::result::Result<DynamicImage, String> {
    decoder_dimensions(bytes, format, settings)?;
    let mut r = reader(bytes, format);
    r.limits(limits(settings));
    let mut decoder = r.into_decoder().map_err(describe)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(describe)?;
    img.apply_orientation(orientation);
    // 16-bit and float images are brought to 8 bits: that is what the web shows.
    Ok(match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    })
}

fn is_animated(bytes: &[u8]) -> bool {
    GifDecoder::new(Cursor::new(bytes))
        .map(|d| d.into_frames().take(2).count() > 1)
        .unwrap_or(false)
}

fn has_transparency(img: &DynamicImage) -> bool {
    match img {
        DynamicImage::ImageRgba8(buf) => buf.pixels().any(|p| p.0[3] < 255),
        _ => false,
    }
}

/// The configured widths narrower than the image, plus the image's own width when it
/// is narrower than the widest one. Never upscaled.
fn widths(img: &DynamicImage, wanted: &[u32]) -> Vec<DynamicImage> {
    let w = img.width();
    let mut ws: Vec<u32> = wanted.iter().copied().filter(|&x| x > 0 && x < w).collect();
    let widest = wanted.iter().copied().max().unwrap_or(w);
    if w <= widest {
        ws.push(w);
    }
    ws.sort_unstable();
    ws.dedup();
    // Each width from the next larger one: cheaper than from the original, same result.
    let mut out: Vec<DynamicImage> = Vec::new();
    let mut source = img.clone();
    for &target in ws.iter().rev() {
        let next = if target == source.width() {
            source.clone()
        } else {
            let h = scaled_height(source.width(), source.height(), target);
            source.resize_exact(target, h, FilterType::CatmullRom)
        };
        source = next.clone();
        out.push(next);
    }
    out.reverse();
    out
}

fn scaled_height(w: u32, h: u32, target_w: u32) -> u32 {
    ((h as f64 * target_w as f64 / w as f64).round() as u32).max(1)
}

/// A centred crop at `ratio` (width / height), at 1× and 2× of `width`, never upscaled.
fn crops(img: &DynamicImage, ratio: f64, width: u32) -> Vec<DynamicImage> {
    let (w, h) = (img.width(), img.height());
    let (cw, ch) = if (w as f64 / h as f64) > ratio {
        (((h as f64 * ratio).round() as u32).clamp(1, w), h)
    } else {
        (w, ((w as f64 / ratio).round() as u32).clamp(1, h))
    };
    let cropped = img.crop_imm((w - cw) / 2, (h - ch) / 2, cw, ch);
    let mut out = Vec::new();
    for target in [width, width * 2] {
        if target < cw {
            let th = ((target as f64 / ratio).round() as u32).max(1);
            out.push(cropped.resize_exact(target, th, FilterType::CatmullRom));
        }
    }
    if out.len() < 2 {
        out.push(cropped);
    }
    out
}

fn fit(img: &DynamicImage, side: u32) -> DynamicImage {
    if img.width() <= side && img.height() <= side {
        img.clone()
    } else {
        img.resize(side, side, FilterType::CatmullRom)
    }
}

fn encode_fallback(
    img: &DynamicImage,
    alpha: bool,
    settings: &ImagesConfig,
) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = if alpha {
        let rgba = img.to_rgba8();
        PngEncoder::new_with_quality(&mut out, CompressionType::Best, PngFilter::Adaptive)
            .write_image(
                &rgba,
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
    } else {
        let rgb = img.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, settings.jpeg_quality).write_image(
            &rgb,
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
    };
    result.map_err(|e| format!("cannot encode ({e})"))?;
    Ok(out)
}

fn encode_webp(
    img: &DynamicImage,
    alpha: bool,
    settings: &ImagesConfig,
) -> std::result::Result<Vec<u8>, String> {
    let memory = if alpha {
        let rgba = img.to_rgba8();
        webp::Encoder::from_rgba(&rgba, rgba.width(), rgba.height()).encode(settings.webp_quality)
    } else {
        let rgb = img.to_rgb8();
        webp::Encoder::from_rgb(&rgb, rgb.width(), rgb.height()).encode(settings.webp_quality)
    };
    Ok(memory.to_vec())
}

/// The http(s) `src` of every `<img>` in `html`, as written (entities not decoded:
/// the renderer matches on the same raw value).
pub fn remote_img_srcs(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let _ = lol_html::rewrite_str(
        html,
        lol_html::RewriteStrSettings {
            element_content_handlers: vec![lol_html::element!("img[src]", |el| {
                if let Some(src) = el.get_attribute("src")
                    && is_remote(&src)
                {
                    found.push(src);
                }
                Ok(())
            })],
            ..lol_html::RewriteStrSettings::new()
        },
    );
    found
}

pub fn is_remote(src: &str) -> bool {
    let s = src.trim_start();
    s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
        || s.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// Every remote image in the body of a published post or page.
pub fn inline_uses(model: &SiteModel) -> Vec<ImageUse> {
    let mut uses = Vec::new();
    for entry in model.posts.iter().chain(&model.pages) {
        let doc = &entry.doc;
        for seg in &doc.body.segments {
            let Segment::Html(html) = seg else { continue };
            if !html.contains("<img") {
                continue;
            }
            for raw in remote_img_srcs(html) {
                let url = crate::util::unescape_html(raw.trim());
                let line = doc
                    .markdown
                    .find(&url)
                    .or_else(|| doc.markdown.find(&raw))
                    .map(|at| doc.body_line + crate::util::line_of_offset(&doc.markdown, at) - 1)
                    .unwrap_or(doc.body_line);
                uses.push(ImageUse {
                    purpose: Purpose::Inline,
                    url,
                    source: doc.source.clone(),
                    line,
                });
            }
        }
    }
    uses
}

/// `srcset` for a list of variants under a URL prefix such as `/blog/_img/`.
pub fn srcset(prefix: &str, variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| format!("{prefix}{} {}w", v.name, v.width))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_never_upscale() {
        let img = DynamicImage::new_rgb8(800, 400);
        let ws: Vec<(u32, u32)> = widths(&img, &[600, 1200])
            .iter()
            .map(|i| (i.width(), i.height()))
            .collect();
        assert_eq!(ws, [(600, 300), (800, 400)]);
        let big = DynamicImage::new_rgb8(4000, 3000);
        let ws: Vec<u32> = widths(&big, &[600, 1200])
            .iter()
            .map(|i| i.width())
            .collect();
        assert_eq!(ws, [600, 1200]);
        let small = DynamicImage::new_rgb8(300, 300);
        let ws: Vec<u32> = widths(&small, &[600, 1200])
            .iter()
            .map(|i| i.width())
            .collect();
        assert_eq!(ws, [300]);
    }

    #[test]
    fn crops_have_the_ratio() {
        let img = DynamicImage::new_rgb8(4000, 3000);
        let wide: Vec<(u32, u32)> = crops(&img, WIDE_RATIO, 240)
            .iter()
            .map(|i| (i.width(), i.height()))
            .collect();
        assert_eq!(wide, [(240, 126), (480, 251)]);
        let square: Vec<(u32, u32)> = crops(&img, 1.0, 120)
            .iter()
            .map(|i| (i.width(), i.height()))
            .collect();
        assert_eq!(square, [(120, 120), (240, 240)]);
        let tiny = DynamicImage::new_rgb8(100, 50);
        let sq: Vec<(u32, u32)> = crops(&tiny, 1.0, 120)
            .iter()
            .map(|i| (i.width(), i.height()))
            .collect();
        assert_eq!(sq, [(50, 50)]);
    }
}
