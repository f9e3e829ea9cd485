//! `site.toml`: the site's settings, with defaults for everything but the title;
//! without one, a Hugo site's own configuration (`hugo`).

mod hugo;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::util::line_of_offset;

pub const CONFIG_FILE: &str = "site.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub title: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_permalink")]
    pub permalink: String,
    #[serde(default = "default_paginate")]
    pub paginate: usize,
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Tags (and, separately, categories) one post may have; more are cut with a
    /// warning, since each one is a page listing the post.
    #[serde(default = "default_max_terms_per_post")]
    pub max_terms_per_post: usize,
    #[serde(default)]
    pub related: RelatedConfig,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub links: LinksConfig,
    #[serde(default)]
    pub images: ImagesConfig,
    #[serde(default)]
    pub search: SearchConfig,
    /// Where `enishi deploy` sends the site; absent until the site is deployed.
    pub deploy: Option<DeployConfig>,
    /// The sections (folders under content/) whose pages are posts: dated, listed,
    /// tagged, related. Default `["posts"]`; a Hugo site's `params.mainSections`,
    /// else its section with the most pages, as Hugo does.
    #[serde(default)]
    pub sections: Option<Vec<String>>,
    /// How URLs are made: "enishi" (date prefix stripped from file names, `permalink`
    /// for posts) or "hugo" (Hugo's rules, the default for a site read from a Hugo
    /// configuration, so its old links keep working).
    #[serde(default)]
    pub urls: UrlStyle,
    /// Permalink patterns by section, as Hugo's `[permalinks]` (`post = "/:year/:slug/"`).
    #[serde(default)]
    pub permalinks: std::collections::BTreeMap<String, String>,
    /// Other languages than `language`: their translations (`about.en.md`,
    /// `index.en.md`) are recognised and, for now, left out with one warning.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Taxonomies besides tags and categories, singular → plural as Hugo's
    /// `[taxonomies]` (`series = "series"`): a post's front matter key of the
    /// plural name lists its terms, each with a page at `/<plural>/<term>/`.
    #[serde(default)]
    pub taxonomies: std::collections::BTreeMap<String, String>,
    /// Turn `:emoji:` codes into emoji, as Hugo's `enableEmoji`.
    #[serde(default)]
    pub enable_emoji: bool,
    /// Free values for templates (`site.params.x`), as Hugo's `[params]`.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, serde_json::Value>,
    /// Old addresses that answer with a redirect page, to a site path or an
    /// http(s) URL: `"/archive/category/日記" = "/tags/日記/"`. `enishi import`
    /// writes a Hatena blog's category archives here.
    #[serde(default)]
    pub redirects: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlStyle {
    #[default]
    Enishi,
    Hugo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelatedConfig {
    /// How many related posts each post shows.
    pub count: usize,
    /// Posts scoring below this cosine similarity are not shown.
    pub min_score: f64,
    /// How many times a title term counts compared with a body term.
    pub title_weight: f64,
    /// How many times a tag or category counts compared with a body term.
    pub tag_weight: f64,
    /// An extra user dictionary (CSV: surface,part_of_speech,reading), relative to the site.
    pub user_dictionary: Option<PathBuf>,
}

impl Default for RelatedConfig {
    fn default() -> Self {
        RelatedConfig {
            count: 5,
            min_score: 0.05,
            title_weight: 3.0,
            tag_weight: 2.0,
            user_dictionary: None,
        }
    }
}

/// `[search]`: the site search index under `/_search/` and the `/search/` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    pub enabled: bool,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig { enabled: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinksConfig {
    /// Turn URLs alone on a line into cards (false: they stay plain links, no requests).
    pub enabled: bool,
    /// Let cards fetch from loopback, private and link-local addresses. Off by
    /// default so a post cannot make a CI machine fetch its cloud metadata.
    pub allow_private_hosts: bool,
    /// Seconds for the whole request, body included.
    pub timeout: f64,
    /// Seconds to establish a connection.
    pub connect_timeout: f64,
    /// Bytes of HTML read at most (metadata such as JSON-LD can be anywhere in a page).
    pub max_bytes: usize,
    /// Requests in flight at once, over all hosts.
    pub concurrency: usize,
    /// Requests in flight at once to one host.
    pub per_host: usize,
    /// How long a fetched card is used before it is revalidated.
    pub success_ttl_days: f64,
    /// How long a failure is remembered before the URL is tried again.
    pub failure_ttl_hours: f64,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            enabled: true,
            allow_private_hosts: false,
            timeout: 10.0,
            connect_timeout: 5.0,
            max_bytes: 1024 * 1024,
            concurrency: 16,
            per_host: 4,
            success_ttl_days: 30.0,
            failure_ttl_hours: 24.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImagesConfig {
    /// Fetch remote images and serve resized copies from the site.
    pub enabled: bool,
    /// Bytes of one image fetched at most.
    pub max_bytes: usize,
    /// Pixels on a side an image may have; larger ones are refused before decoding.
    pub max_dimension: u32,
    /// Memory one decode may allocate, in MiB.
    pub max_alloc_mb: u64,
    /// Memory all parallel decodes together may hold, in MiB; an image needing more
    /// is refused, others wait for room.
    pub decode_budget_mb: u64,
    /// Widths made of images in posts (for srcset); never wider than the original.
    pub widths: Vec<u32>,
    /// Width of a card's 1.91:1 picture at 1× (2× is made too).
    pub card_wide_width: u32,
    /// Width of a card's square picture at 1× (2× is made too).
    pub card_square_width: u32,
    /// Lossy WebP quality, 0–100.
    pub webp_quality: f32,
    /// JPEG fallback quality, 1–100.
    pub jpeg_quality: u8,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        ImagesConfig {
            enabled: true,
            max_bytes: 10 * 1024 * 1024,
            max_dimension: 12_000,
            max_alloc_mb: 512,
            decode_budget_mb: 1024,
            widths: vec![600, 1200],
            card_wide_width: 240,
            card_square_width: 120,
            webp_quality: 80.0,
            jpeg_quality: 82,
        }
    }
}

/// `[deploy]`: an S3 bucket (optionally behind CloudFront) the built site is synced to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub target: String,
    /// The bucket's region; else the AWS environment (AWS_REGION, the profile).
    #[serde(default)]
    pub region: Option<String>,
    /// An S3-compatible endpoint (MinIO, R2 …); path-style addressing is used with it.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The CloudFront distribution in front of the bucket, to invalidate what changed.
    #[serde(default)]
    pub cloudfront_distribution_id: Option<String>,
    /// Files above this many MiB go up in parts of this size.
    #[serde(default = "default_multipart_mb")]
    pub multipart_threshold_mb: u64,
    /// Uploads in flight at once.
    #[serde(default = "default_deploy_concurrency")]
    pub concurrency: usize,
    /// Above this many paths an invalidation is collapsed into folder wildcards
    /// (CloudFront bills paths beyond 1,000 a month; a wildcard counts as one).
    #[serde(default = "default_max_invalidation_paths")]
    pub max_invalidation_paths: usize,
    /// Globs of keys under the target that are never deleted (files uploaded by
    /// other means), e.g. `["downloads/**"]`.
    #[serde(default)]
    pub keep: Vec<String>,
    /// Header rules by glob, first match wins, before the built-in ones.
    #[serde(default)]
    pub headers: Vec<HeaderRule>,
}

/// `[[deploy.headers]]`: headers for the keys matching `pattern` (a glob over the
/// path inside the site, `*` within one folder, `**` across folders).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRule {
    pub pattern: String,
    #[serde(default)]
    pub cache_control: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
}

fn default_multipart_mb() -> u64 {
    8
}
fn default_deploy_concurrency() -> usize {
    8
}
fn default_max_invalidation_paths() -> usize {
    100
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// The SQLite cache file, relative to the site (default `.enishi/cache.sqlite`).
    pub path: Option<PathBuf>,
}

fn default_base_url() -> String {
    "http://localhost:1313/".into()
}
fn default_language() -> String {
    "ja".into()
}
fn default_timezone() -> String {
    "Asia/Tokyo".into()
}
fn default_permalink() -> String {
    "/:year/:month/:day/:slug/".into()
}
fn default_paginate() -> usize {
    10
}
fn default_max_terms_per_post() -> usize {
    100
}

fn default_theme() -> String {
    "default".into()
}

/// The config plus values derived from it once, so later stages need not re-validate.
#[derive(Debug, Clone)]
pub struct Site {
    pub root: PathBuf,
    pub config: SiteConfig,
    pub tz: Tz,
    /// `base_url` with exactly one trailing slash.
    pub base_url: String,
    /// `base_url` as site.toml gives it, even when `--base-url` or `serve` overrides it:
    /// posts link to the site under this address.
    pub configured_base_url: String,
    /// The path part of `base_url` without its trailing slash ("" or "/blog").
    pub base_path: String,
    /// The sections whose pages are posts (see `SiteConfig::sections`).
    pub main_sections: Vec<String>,
    /// The files the settings were read from (`site.toml`, or a Hugo site's).
    pub config_files: Vec<PathBuf>,
    /// Things to tell the user once per build that are not warnings (what of a Hugo
    /// configuration was ignored).
    pub notes: Vec<String>,
}

impl Site {
    pub fn load(root: &Path, base_url_override: Option<&str>) -> Result<Site> {
        let path = root.join(CONFIG_FILE);
        let (mut config, files, note, shown) = if !path.exists()
            && let Some(h) = hugo::load(root)?
        {
            let shown = crate::util::display_rel(root, &h.files[0]);
            let mut config = h.config;
            if config.sections.is_none() {
                config.sections = Some(largest_section(root).into_iter().collect());
            }
            (config, h.files, h.note, shown)
        } else {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "{}: cannot read the site config (run `enishi init DIR` to create a site, or pass --source)",
                    path.display()
                )
            })?;
            let config = parse_config(&text, Path::new(CONFIG_FILE))?;
            (config, vec![path], None, CONFIG_FILE.to_string())
        };
        let configured = config.base_url.clone();
        if let Some(url) = base_url_override {
            config.base_url = url.to_string();
        }
        let mut site = Site::from_config(root, config, Path::new(&shown))?;
        if let Some((base, _)) = split_base_url(&configured) {
            site.configured_base_url = base;
        }
        site.config_files = files;
        site.notes.extend(note);
        Ok(site)
    }

    /// A site with every default, for commands that can run outside a site.
    pub fn with_defaults(root: &Path) -> Site {
        let config = parse_config("title = \"\"", Path::new(CONFIG_FILE))
            .expect("the default config parses");
        Site::from_config(root, config, Path::new(CONFIG_FILE))
            .expect("the default config is valid")
    }

    fn from_config(root: &Path, config: SiteConfig, path: &Path) -> Result<Site> {
        let tz: Tz = config.timezone.parse().map_err(|_| {
            anyhow!(
                "{}: unknown timezone {:?} (use an IANA name such as \"Asia/Tokyo\")",
                path.display(),
                config.timezone
            )
        })?;
        let (base_url, base_path) = split_base_url(&config.base_url).ok_or_else(|| {
            anyhow!(
                "{}: base_url {:?} must be an absolute http(s) URL such as \"https://example.com/\"",
                path.display(),
                config.base_url
            )
        })?;
        let links = &config.links;
        let positive = |s: f64| s > 0.0 && s.is_finite();
        if !positive(links.timeout) || !positive(links.connect_timeout) {
            return Err(anyhow!(
                "{}: [links] timeout and connect_timeout must be positive numbers of seconds",
                path.display()
            ));
        }
        if links.success_ttl_days < 0.0 || links.failure_ttl_hours < 0.0 {
            return Err(anyhow!(
                "{}: [links] success_ttl_days and failure_ttl_hours cannot be negative",
                path.display()
            ));
        }
        let images = &config.images;
        if !(0.0..=100.0).contains(&images.webp_quality)
            || !(1..=100).contains(&images.jpeg_quality)
            || images.widths.contains(&0)
            || images.card_wide_width == 0
            || images.card_square_width == 0
        {
            return Err(anyhow!(
                "{}: [images] qualities must be within 1–100 and widths above 0",
                path.display()
            ));
        }
        if images.max_alloc_mb == 0 || images.decode_budget_mb == 0 || images.max_dimension == 0 {
            return Err(anyhow!(
                "{}: [images] max_alloc_mb, decode_budget_mb and max_dimension must be above 0 (set enabled = false to turn images off)",
                path.display()
            ));
        }
        if let Some(deploy) = &config.deploy
            && (!(5..=5120).contains(&deploy.multipart_threshold_mb)
                || deploy.concurrency == 0
                || !(1..=3000).contains(&deploy.max_invalidation_paths))
        {
            return Err(anyhow!(
                "{}: [deploy] multipart_threshold_mb must be within 5–5120 (S3's smallest part and largest single upload), concurrency at least 1, max_invalidation_paths within 1–3000 (CloudFront's limit)",
                path.display()
            ));
        }
        if config.paginate == 0 {
            return Err(anyhow!("{}: paginate must be at least 1", path.display()));
        }
        let permalink_ok = match config.urls {
            UrlStyle::Enishi => {
                config.permalink.starts_with('/') && config.permalink.contains(":slug")
            }
            // Empty: the page's folder, as Hugo does without [permalinks].
            UrlStyle::Hugo => config.permalink.is_empty() || config.permalink.starts_with('/'),
        };
        if let Some((section, pattern)) =
            config.permalinks.iter().find(|(_, p)| !p.starts_with('/'))
        {
            return Err(anyhow!(
                "{}: permalinks.{section} {pattern:?} must start with / (e.g. \"/:year/:month/:slug/\")",
                path.display()
            ));
        }
        if !permalink_ok {
            return Err(anyhow!(
                "{}: permalink {:?} must start with / and contain :slug (e.g. \"/:year/:month/:day/:slug/\")",
                path.display(),
                config.permalink
            ));
        }
        let main_sections = config
            .sections
            .clone()
            .unwrap_or_else(|| vec![crate::content::POSTS_DIR.to_string()]);
        Ok(Site {
            root: root.to_path_buf(),
            config,
            tz,
            configured_base_url: base_url.clone(),
            base_url,
            base_path,
            main_sections,
            config_files: vec![root.join(CONFIG_FILE)],
            notes: Vec::new(),
        })
    }

    /// Root-relative URL (with the base path) for a site path such as "/tags/rust/".
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_path, path)
    }

    /// Absolute URL for a site path.
    pub fn permalink(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The primary subtag of `language` ("ja" for "ja-JP"): the language of files
    /// named `name.ja.md`.
    pub fn default_language(&self) -> String {
        self.config
            .language
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_lowercase()
    }

    /// The plural names of the taxonomies other than tags and categories, sorted.
    pub fn custom_taxonomies(&self) -> Vec<String> {
        let mut plurals: Vec<String> = self
            .config
            .taxonomies
            .values()
            .map(|p| p.to_lowercase())
            .filter(|p| {
                p != "tags" && p != "categories" && !p.is_empty() && !p.contains(['/', '.'])
            })
            .collect();
        plurals.sort();
        plurals.dedup();
        plurals
    }

    pub fn cache_path(&self) -> PathBuf {
        match &self.config.cache.path {
            Some(p) => self.root.join(p),
            None => self.root.join(".enishi").join("cache.sqlite"),
        }
    }
}

/// Hugo's default main section: the folder under content/ with the most Markdown
/// pages (ties: the first by name).
fn largest_section(root: &Path) -> Option<String> {
    let content = root.join(crate::content::CONTENT_DIR);
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for entry in walkdir::WalkDir::new(&content)
        .follow_links(true)
        .min_depth(2)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && name.ends_with(".md") && name != "_index.md" {
            let rel = entry.path().strip_prefix(&content).ok()?;
            if let Some(std::path::Component::Normal(top)) = rel.components().next() {
                *counts
                    .entry(top.to_string_lossy().into_owned())
                    .or_default() += 1;
            }
        }
    }
    let most = counts.values().copied().max()?;
    counts.into_iter().find(|(_, n)| *n == most).map(|(s, _)| s)
}

pub fn parse_config(text: &str, path: &Path) -> Result<SiteConfig> {
    toml::from_str::<SiteConfig>(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start));
        let message = e.message().trim().replace('\n', " ");
        let message = match line.and_then(|l| misplaced_key(text, l, &message)) {
            Some(better) => better,
            None => message,
        };
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        anyhow!("{}{at}: {message}", path.display())
    })
}

/// A key TOML put in a table because it was written below the table's header
/// (`theme = "x"` appended after `[related]`): say which table it fell into and,
/// when it is a top-level setting, to move it above that header.
fn misplaced_key(text: &str, line: usize, message: &str) -> Option<String> {
    let key = message.strip_prefix("unknown field `")?.split('`').next()?;
    let table = text
        .lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            (l.starts_with('[') && !l.starts_with("[["))
                .then(|| l.split(']').next().unwrap_or(l).trim_start_matches('['))
        })
        .last()?
        .trim()
        .to_string();
    if top_level_keys().iter().any(|k| k == key) {
        Some(format!(
            "`{key}` is a top-level setting but sits in the [{table}] table (every key below a `[{table}]` line belongs to it); move the `{key} = …` line above `[{table}]`"
        ))
    } else {
        Some(format!("in the [{table}] table: {message}"))
    }
}

/// The top-level keys of site.toml, as the settings type itself lists them.
fn top_level_keys() -> Vec<String> {
    let probe = toml::from_str::<SiteConfig>("enishi_probe_unknown_key = 1\n");
    let message = match probe {
        Err(e) => e.message().to_string(),
        Ok(_) => return Vec::new(),
    };
    message
        .split('`')
        .skip(3)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn split_base_url(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains(['?', '#', ' ']) || path.contains(['?', '#', ' ']) {
        return None;
    }
    let path = path.trim_end_matches('/');
    let scheme_len = url.len() - rest.len();
    let base = format!("{}{}{}/", &url[..scheme_len], host, path);
    Some((base, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_normalised() {
        assert_eq!(
            split_base_url("https://example.com"),
            Some(("https://example.com/".into(), "".into()))
        );
        assert_eq!(
            split_base_url("https://example.com/blog/"),
            Some(("https://example.com/blog/".into(), "/blog".into()))
        );
        assert_eq!(split_base_url("ftp://example.com"), None);
    }

    #[test]
    fn a_key_below_a_table_header_is_said_to_be_in_that_table() {
        let err = parse_config(
            "title = \"x\"\n\n[related]\ncount = 5\ntheme = \"mine\"\n",
            Path::new("site.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "site.toml:5: `theme` is a top-level setting but sits in the [related] table"
            ),
            "{err}"
        );
        assert!(
            err.contains("move the `theme = …` line above `[related]`"),
            "{err}"
        );
        let err = parse_config(
            "title = \"x\"\n[links]\ntimeot = 1\n",
            Path::new("site.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("site.toml:3: in the [links] table: unknown field `timeot`"),
            "{err}"
        );
        assert!(top_level_keys().iter().any(|k| k == "base_url"));
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse_config("title = \"x\"\ntitel = \"y\"\n", Path::new("site.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("site.toml:2:"), "{err}");
        assert!(err.contains("titel"), "{err}");
    }
}
