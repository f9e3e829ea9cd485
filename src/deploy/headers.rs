//! The headers each object is stored with: Content-Type from the extension (with
//! `charset=utf-8` on text), Cache-Control by rules. The site's own rules from
//! `[[deploy.headers]]` come first; the built-in ones below make content-addressed
//! files immutable and let the CDN keep everything else until it is invalidated.

use anyhow::{Result, anyhow};
use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::config::{CONFIG_FILE, DeployConfig};

/// Files whose name changes whenever their bytes do.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages and everything else behind CloudFront: browsers revalidate every time, the
/// CDN keeps its copy for a year, since a deploy invalidates exactly what changed.
pub const REVALIDATE_CDN: &str = "public, max-age=0, s-maxage=31536000, must-revalidate";
/// Without a CDN we can invalidate: a short time in any cache.
pub const SHORT: &str = "public, max-age=300";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub content_type: String,
    pub cache_control: String,
}

struct Rule {
    matcher: GlobMatcher,
    cache_control: Option<String>,
    content_type: Option<String>,
}

pub struct Rules {
    rules: Vec<Rule>,
    has_cdn: bool,
}

/// `*` stays within one folder, as in a shell.
fn glob(pattern: &str) -> Result<Glob> {
    GlobBuilder::new(pattern.trim_start_matches('/'))
        .literal_separator(true)
        .build()
        .map_err(|e| {
            anyhow!("{CONFIG_FILE}: [deploy] pattern {pattern:?} is not a glob: {e} (e.g. \"_img/**\" or \"**/*.css\")")
        })
}

/// The `keep` globs of `[deploy]`, as one matcher.
pub fn keep_set(config: &DeployConfig) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for pattern in &config.keep {
        set.add(glob(pattern)?);
    }
    Ok(set.build()?)
}

impl Rules {
    pub fn new(config: &DeployConfig) -> Result<Rules> {
        let rules = config
            .headers
            .iter()
            .map(|r| {
                Ok(Rule {
                    matcher: glob(&r.pattern)?.compile_matcher(),
                    cache_control: r.cache_control.clone(),
                    content_type: r.content_type.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Rules {
            rules,
            has_cdn: config.cloudfront_distribution_id.is_some(),
        })
    }

    pub fn for_key(&self, rel: &str) -> Headers {
        let mut cache_control = None;
        let mut content_type = None;
        // Each header from the first rule that sets it.
        for rule in self.rules.iter().filter(|r| r.matcher.is_match(rel)) {
            cache_control = cache_control.or_else(|| rule.cache_control.clone());
            content_type = content_type.or_else(|| rule.content_type.clone());
        }
        Headers {
            content_type: content_type.unwrap_or_else(|| content_type_of(rel)),
            cache_control: cache_control.unwrap_or_else(|| self.default_cache_control(rel).into()),
        }
    }

    fn default_cache_control(&self, rel: &str) -> &'static str {
        if is_fingerprinted(rel) {
            IMMUTABLE
        } else if self.has_cdn {
            REVALIDATE_CDN
        } else {
            SHORT
        }
    }
}

/// `_img/` is content-addressed; elsewhere a file (not a page or feed, which keep
/// their URLs) whose name carries a hex digest of 8 or more characters with both
/// digits and letters a–f (`app.3f9a0c1b.css`, `logo-3f9a0c1be2.png`) is taken as
/// fingerprinted. Dates and counters (`IMG_20240526.jpg`) are not digests.
fn is_fingerprinted(rel: &str) -> bool {
    if rel.starts_with("_img/") {
        return true;
    }
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    if matches!(
        ext.to_ascii_lowercase().as_str(),
        "html" | "htm" | "xml" | "json" | "txt"
    ) {
        return false;
    }
    stem.split(['.', '-', '_']).skip(1).any(|part| {
        part.len() >= 8
            && part.bytes().all(|b| b.is_ascii_hexdigit())
            && part.bytes().any(|b| b.is_ascii_digit())
            && part.bytes().any(|b| b.is_ascii_alphabetic())
    })
}

fn content_type_of(rel: &str) -> String {
    let mime = mime_guess::from_path(rel).first_or_octet_stream();
    let essence = mime.essence_str();
    let text = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/atom+xml"
                | "application/rss+xml"
                | "application/manifest+json"
                | "image/svg+xml"
        );
    if text {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HeaderRule;

    fn config(cdn: bool, headers: Vec<HeaderRule>) -> DeployConfig {
        let mut c: DeployConfig = toml::from_str("target = \"s3://b\"").unwrap();
        c.cloudfront_distribution_id = cdn.then(|| "E1".into());
        c.headers = headers;
        c
    }

    #[test]
    fn content_types_carry_utf8_on_text() {
        let rules = Rules::new(&config(false, vec![])).unwrap();
        let ct = |p: &str| rules.for_key(p).content_type;
        assert_eq!(ct("a/index.html"), "text/html; charset=utf-8");
        assert_eq!(ct("css/site.css"), "text/css; charset=utf-8");
        assert_eq!(ct("feed.xml"), "text/xml; charset=utf-8");
        assert_eq!(ct("logo.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(ct("robots.txt"), "text/plain; charset=utf-8");
        assert_eq!(ct("_img/ab/cd.webp"), "image/webp");
        assert_eq!(ct("photo.JPG"), "image/jpeg");
        assert_eq!(ct("CNAME"), "application/octet-stream");
    }

    #[test]
    fn cache_control_by_fingerprint_cdn_and_site_rules() {
        let plain = Rules::new(&config(false, vec![])).unwrap();
        assert_eq!(
            plain.for_key("_img/ab/cd-600.webp").cache_control,
            IMMUTABLE
        );
        assert_eq!(
            plain.for_key("css/app.3f9a0c1b.css").cache_control,
            IMMUTABLE
        );
        assert_eq!(plain.for_key("css/site.css").cache_control, SHORT);
        assert_eq!(
            plain
                .for_key("2024/01/02/deadbeef/index.html")
                .cache_control,
            SHORT
        );
        let cdn = Rules::new(&config(
            true,
            vec![
                HeaderRule {
                    pattern: "fonts/**".into(),
                    cache_control: Some("public, max-age=86400".into()),
                    content_type: None,
                },
                HeaderRule {
                    pattern: "*.webmanifest".into(),
                    cache_control: None,
                    content_type: Some("application/manifest+json".into()),
                },
            ],
        ))
        .unwrap();
        assert_eq!(cdn.for_key("index.html").cache_control, REVALIDATE_CDN);
        assert_eq!(
            cdn.for_key("fonts/a/b.woff2").cache_control,
            "public, max-age=86400"
        );
        let manifest = cdn.for_key("site.webmanifest");
        assert_eq!(manifest.content_type, "application/manifest+json");
        assert_eq!(manifest.cache_control, REVALIDATE_CDN);
        // `*` does not cross folders.
        assert_ne!(
            cdn.for_key("x/site.webmanifest").content_type,
            "application/manifest+json"
        );
    }
}
