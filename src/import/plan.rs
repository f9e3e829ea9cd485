//! Where each imported entry goes: its file, its new URL, the old paths that must
//! keep answering, and how a link to the old blog's entry becomes a link to the
//! new post. Pure: reads nothing, writes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use url::Url;

use super::entry::{EntryKind, Export, ImportedEntry, Origin};
use crate::config::{Site, UrlStyle};
use crate::content::{CONTENT_DIR, POSTS_DIR};
use crate::util::slugify;

/// One entry's place in the new site.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Relative to the site root, `/`-separated, without the bundle's `index.md`:
    /// `content/posts/2020-01-02-hello` (the file is that plus `.md`, or the folder
    /// holding `index.md` when the post has downloaded images).
    pub stem: String,
    pub date: Option<DateTime<FixedOffset>>,
    /// Old site paths (`/entry/2020/01/02/003000`) that redirect to the new page.
    pub aliases: Vec<String>,
    /// The old address, kept in the front matter so a re-import finds the post.
    pub old_url: String,
}

impl Placement {
    pub fn flat_file(&self) -> String {
        format!("{}.md", self.stem)
    }
    pub fn bundle_file(&self) -> String {
        format!("{}/index.md", self.stem)
    }
}

/// The old blog's address: scheme, host and path prefix, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldBase {
    pub host: String,
    pub path: String,
}

impl OldBase {
    pub fn parse(url: &str) -> Option<OldBase> {
        let url = Url::parse(url.trim()).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        Some(OldBase {
            host: url.host_str()?.to_ascii_lowercase(),
            path: url.path().trim_end_matches('/').to_string(),
        })
    }

    /// The path of `url` below this base (`/entry/x`), if `url` is on the old blog.
    pub fn relative(&self, url: &str) -> Option<String> {
        let url = Url::parse(url.trim()).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !url.host_str()?.eq_ignore_ascii_case(&self.host)
        {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(url.path()).decode_utf8_lossy();
        let rest = decoded.strip_prefix(self.path.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| rest.to_string())
    }
}

/// The old path of an entry below the blog's base: Hatena's `/entry/<BASENAME>`,
/// WordPress's link path.
pub fn old_path(entry: &ImportedEntry, origin: Origin, base: Option<&OldBase>) -> Option<String> {
    match origin {
        Origin::MovableType if !entry.basename.is_empty() => {
            Some(format!("/entry/{}", entry.basename))
        }
        Origin::MovableType => None,
        Origin::WordPress => {
            let link = entry.old_url.as_deref()?;
            let url = Url::parse(link).ok()?;
            if url.query().is_some() {
                // `/?p=12`: a static site cannot answer a query string.
                return None;
            }
            let path = match base {
                Some(base) => base.relative(link)?,
                None => percent_encoding::percent_decode_str(url.path())
                    .decode_utf8_lossy()
                    .into_owned(),
            };
            (!path.trim_matches('/').is_empty()).then_some(path)
        }
    }
}

/// Hatena's export does not name the blog, but its own link cards and links do:
/// the origin most often seen in front of `/entry/<a basename of this export>`.
pub fn infer_base(export: &Export) -> Option<String> {
    let basenames: BTreeSet<&str> = export
        .entries
        .iter()
        .map(|e| e.basename.as_str())
        .filter(|b| !b.is_empty())
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for entry in &export.entries {
        for text in [&entry.body, &entry.extended] {
            for candidate in urls_in(text) {
                let Ok(url) = Url::parse(&candidate) else {
                    continue;
                };
                let path = percent_encoding::percent_decode_str(url.path())
                    .decode_utf8_lossy()
                    .into_owned();
                let Some(at) = path.find("/entry/") else {
                    continue;
                };
                let basename = path[at + "/entry/".len()..].trim_end_matches('/');
                if basenames.contains(basename)
                    && let Some(host) = url.host_str()
                {
                    let base = format!("{}://{}{}", url.scheme(), host, &path[..at]);
                    *seen.entry(base).or_default() += 1;
                }
            }
        }
    }
    seen.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(base, _)| base)
}

/// Every http(s) URL in `href`/`src` attributes and in Hatena card `url=` parameters.
fn urls_in(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "href='", "src='"] {
        let quote = &attr[attr.len() - 1..];
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find(quote).unwrap_or(rest.len());
            let value = rest[..end].replace("&amp;", "&");
            if let Ok(url) = Url::parse(&value) {
                if url.host_str() == Some("hatenablog-parts.com")
                    && let Some((_, target)) = url.query_pairs().find(|(k, _)| k == "url")
                {
                    out.push(target.into_owned());
                } else if matches!(url.scheme(), "http" | "https") {
                    out.push(value);
                }
            }
        }
    }
    out
}

/// Decides file names, slugs and dates for every entry, deterministically and
/// without two entries sharing a file or a slug. An entry an earlier import
/// wrote (`existing`: its id → the file's stem) keeps that file, so a re-export
/// with new entries, or an edited title, never moves or duplicates a post.
pub fn place(
    site: &Site,
    export: &Export,
    zone: Tz,
    base: Option<&OldBase>,
    existing: &HashMap<String, String>,
) -> Vec<Placement> {
    let posts_dir = site
        .main_sections
        .first()
        .map_or(POSTS_DIR, String::as_str)
        .to_string();
    let dated_permalink = site.config.urls == UrlStyle::Enishi
        && ["year", "month", "day"]
            .iter()
            .all(|t| site.config.permalink.contains(&format!(":{t}")));
    let dir_of = |entry: &ImportedEntry| match entry.kind {
        EntryKind::Post => format!("{CONTENT_DIR}/{posts_dir}"),
        EntryKind::Page => CONTENT_DIR.to_string(),
    };
    let dates: Vec<Option<DateTime<FixedOffset>>> = export
        .entries
        .iter()
        .map(|e| e.date.and_then(|d| in_zone(d, zone)))
        .collect();
    let mut stems: Vec<Option<String>> = export
        .entries
        .iter()
        .map(|e| existing.get(&e.id).cloned())
        .collect();
    // Slugs taken, per folder (and per day when the URL has the date, so
    // `/2020/01/02/120000/` and `/2020/01/03/120000/` may both be): first by the
    // files earlier imports wrote.
    let day_of = |date: Option<DateTime<FixedOffset>>| {
        if dated_permalink {
            date.map(|d| d.format("%Y-%m-%d").to_string())
        } else {
            None
        }
    };
    let mut taken: BTreeSet<(String, Option<String>, String)> = BTreeSet::new();
    for stem in stems.iter().flatten() {
        let (dir, name) = stem.rsplit_once('/').unwrap_or(("", stem));
        let slug = slug_of_name(name, site.config.urls);
        let day = (dated_permalink && slug.len() < name.len()).then(|| name[..10].to_string());
        taken.insert((dir.to_string(), day, slug.to_string()));
    }
    // Then the new entries, oldest first, so a later export adding entries does
    // not shift which one gets `-2`.
    let mut order: Vec<usize> = (0..export.entries.len())
        .filter(|&i| stems[i].is_none())
        .collect();
    order.sort_by(|&a, &b| {
        let (ea, eb) = (&export.entries[a], &export.entries[b]);
        (dates[a], &ea.basename, ea.position).cmp(&(dates[b], &eb.basename, eb.position))
    });
    for i in order {
        let entry = &export.entries[i];
        let dir = dir_of(entry);
        let base_slug = base_slug(entry, dated_permalink);
        let mut slug = base_slug.clone();
        let mut n = 1;
        while !taken.insert((dir.clone(), day_of(dates[i]), slug.clone())) {
            n += 1;
            slug = format!("{base_slug}-{n}");
        }
        let name = match (entry.kind, site.config.urls, dates[i]) {
            (EntryKind::Post, UrlStyle::Enishi, Some(d)) => {
                format!("{}-{slug}", d.format("%Y-%m-%d"))
            }
            _ => slug,
        };
        stems[i] = Some(format!("{dir}/{name}"));
    }
    export
        .entries
        .iter()
        .zip(stems)
        .zip(dates)
        .map(|((entry, stem), date)| {
            let old = old_path(entry, export.origin, base);
            let old_url = match (&old, base, &entry.old_url) {
                (_, _, Some(url)) => url.clone(),
                (Some(path), Some(base), None) => {
                    format!("https://{}{}{}", base.host, base.path, path)
                }
                (Some(path), None, None) => path.clone(),
                (None, _, None) => format!("#{}", entry.basename),
            };
            Placement {
                stem: stem.expect("every entry was given a stem"),
                date,
                aliases: old.into_iter().collect(),
                old_url,
            }
        })
        .collect()
}

/// The slug a file name gives a page: Enishi drops a `YYYY-MM-DD-` prefix, by
/// the content loader's own rule.
fn slug_of_name(name: &str, style: UrlStyle) -> &str {
    match crate::content::split_date_prefix(name) {
        (Some(_), rest) if style == UrlStyle::Enishi => rest,
        _ => name,
    }
}

/// The URL slug of an entry: a readable title when it is ASCII; else the part of
/// the old address that names it.
fn base_slug(entry: &ImportedEntry, dated_permalink: bool) -> String {
    let from_title = slugify(&entry.title);
    let from_basename = || {
        let b = entry.basename.trim_matches('/');
        // Hatena's date basename `2020/01/02/003000`: the time names the entry on its day.
        let parts: Vec<&str> = b.split('/').collect();
        let is_date_path =
            parts.len() == 4 && parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_digit()));
        if is_date_path {
            if dated_permalink {
                parts[3].to_string()
            } else {
                format!("{}{}{}-{}", parts[0], parts[1], parts[2], parts[3])
            }
        } else {
            slugify(b)
        }
    };
    let slug = if !from_title.is_empty()
        && from_title.is_ascii()
        && entry.kind == EntryKind::Post
        && !has_custom_basename(entry)
    {
        from_title
    } else {
        from_basename()
    };
    let slug: String = slug.chars().take(80).collect();
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        format!("entry-{}", entry.position)
    } else {
        slug
    }
}

/// A basename the author chose (Hatena's custom URL, WordPress's slug) rather than
/// one made from the date.
fn has_custom_basename(entry: &ImportedEntry) -> bool {
    let b = entry.basename.trim_matches('/');
    !b.is_empty() && !b.split('/').all(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

/// A local time of the blog's zone with its offset; the earlier of two when a
/// clock change makes it ambiguous, an hour later when it does not exist.
pub fn in_zone(local: NaiveDateTime, zone: Tz) -> Option<DateTime<FixedOffset>> {
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|d| d.fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_base_matches_host_and_prefix() {
        let base = OldBase::parse("https://Blog.example.com/").unwrap();
        assert_eq!(
            base.relative("http://blog.example.com/entry/2020/01/02/003000")
                .as_deref(),
            Some("/entry/2020/01/02/003000")
        );
        assert_eq!(base.relative("https://other.example/entry/x"), None);
        let sub = OldBase::parse("https://example.com/blog").unwrap();
        assert_eq!(
            sub.relative("https://example.com/blog/entry/x").as_deref(),
            Some("/entry/x")
        );
        assert_eq!(sub.relative("https://example.com/blogger/entry/x"), None);
        assert_eq!(OldBase::parse("javascript:alert(1)"), None);
    }

    #[test]
    fn just_after_midnight_in_tokyo_is_the_same_day() {
        let local =
            NaiveDateTime::parse_from_str("2020-01-02 00:05:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let d = in_zone(local, chrono_tz::Asia::Tokyo).unwrap();
        assert_eq!(d.to_rfc3339(), "2020-01-02T00:05:00+09:00");
    }

    #[test]
    fn the_same_time_on_two_days_needs_no_suffix_under_a_dated_permalink() {
        let site = Site::with_defaults(std::path::Path::new("/nonexistent"));
        let entry = |position: usize, basename: &str, date: &str| {
            let mut e = ImportedEntry::new(EntryKind::Post, position);
            e.title = "日記".into();
            e.basename = basename.into();
            e.id = format!("mt:{basename}");
            e.date = NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S").ok();
            e
        };
        let export = Export {
            origin: Origin::MovableType,
            entries: vec![
                entry(1, "2020/01/03/120000", "2020-01-03 12:00:00"),
                entry(2, "2020/01/02/120000", "2020-01-02 12:00:00"),
                entry(3, "2020/01/02/120000/", "2020-01-02 12:00:00"),
            ],
            base_url: None,
            dropped_comments: 0,
            skipped: Vec::new(),
        };
        let stems: Vec<String> = place(
            &site,
            &export,
            chrono_tz::Asia::Tokyo,
            None,
            &HashMap::new(),
        )
        .into_iter()
        .map(|p| p.stem)
        .collect();
        assert_eq!(
            stems,
            [
                "content/posts/2020-01-03-120000",
                "content/posts/2020-01-02-120000",
                "content/posts/2020-01-02-120000-2"
            ]
        );
    }

    #[test]
    fn slugs_prefer_ascii_titles_then_basenames() {
        let mut e = ImportedEntry::new(EntryKind::Post, 3);
        e.title = "Rust で書く".into();
        e.basename = "2020/01/02/003000".into();
        assert_eq!(base_slug(&e, true), "003000");
        assert_eq!(base_slug(&e, false), "20200102-003000");
        e.title = "Hello, World!".into();
        assert_eq!(base_slug(&e, true), "hello-world");
        e.basename = "tech/My-Post".into();
        assert_eq!(
            base_slug(&e, true),
            "tech-my-post",
            "a chosen URL wins over the title"
        );
        e.basename.clear();
        e.title = "日本語".into();
        assert_eq!(base_slug(&e, true), "entry-3");
    }
}
