//! Organises parsed documents into the site: published posts in order, pages,
//! taxonomies and every URL. Pure: documents in, a `SiteModel` out.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset};

use crate::config::{Site, UrlStyle};
use crate::content::shortcodes::refs::{Miss, RefIndex};
use crate::content::{Document, Kind};
use crate::report::{Warning, WarningKind};

pub mod permalink;
pub mod sections;

pub use sections::Section;

#[derive(Debug)]
pub struct SiteModel {
    /// Published posts, newest first; ties broken by source path.
    pub posts: Vec<Entry>,
    /// Standalone pages, in source path order.
    pub pages: Vec<Entry>,
    pub tags: Vec<Term>,
    pub categories: Vec<Term>,
    /// Custom taxonomies, in `Site::custom_taxonomies` order.
    pub taxonomies: Vec<Taxonomy>,
    /// The top folders under content/ with their list pages, by name.
    pub sections: Vec<Section>,
    /// The home page's introduction (`content/_index.md`).
    pub home: Option<Entry>,
    /// Sources left out (drafts, future posts), for the build summary.
    pub skipped: Vec<String>,
    /// What the published sources' parsing worked around (unknown shortcodes), and
    /// posts whose tags or categories were cut to `max_terms_per_post`.
    pub warnings: Vec<Warning>,
    /// When the earliest post left out for its future date comes due (a build after
    /// that publishes it, so the site is not up to date any more).
    pub next_due: Option<DateTime<FixedOffset>>,
}

#[derive(Debug)]
pub struct Entry {
    pub doc: Document,
    /// Site path with a leading and trailing slash, unencoded: `/2018/05/26/hello/`.
    pub path: String,
    pub date: Option<DateTime<FixedOffset>>,
    /// Indexes into `SiteModel::tags` / `categories`.
    pub tags: Vec<usize>,
    pub categories: Vec<usize>,
    /// The site path (and `#anchor`) each of `doc.refs` names.
    pub refs: Vec<String>,
    /// For each of the site's custom taxonomies (`Site::custom_taxonomies`, in
    /// order): the post's term names, and their indexes into that taxonomy's terms.
    pub custom_terms: Vec<(Vec<String>, Vec<usize>)>,
}

/// A taxonomy besides tags and categories (Hugo's `[taxonomies]`).
#[derive(Debug)]
pub struct Taxonomy {
    /// Its plural name, which is also its folder: `series`.
    pub name: String,
    pub terms: Vec<Term>,
}

impl Entry {
    /// A published document at `path`, before terms and refs are known.
    pub fn new(path: String, doc: Document) -> Entry {
        Entry {
            date: doc.date,
            path,
            tags: Vec::new(),
            categories: Vec::new(),
            refs: Vec::new(),
            custom_terms: Vec::new(),
            doc,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Term {
    /// Display name (the first spelling met in post order).
    pub name: String,
    pub slug: String,
    /// Site path: `/tags/<slug>/`.
    pub path: String,
    /// Indexes into `SiteModel::posts`, newest first.
    pub posts: Vec<usize>,
}

pub struct ModelOptions {
    /// Include drafts and future-dated posts.
    pub drafts: bool,
    /// "Now" for deciding what is future-dated.
    pub now: DateTime<FixedOffset>,
}

pub fn build(site: &Site, docs: Vec<Document>, opts: &ModelOptions) -> Result<SiteModel> {
    let mut posts = Vec::new();
    let mut pages = Vec::new();
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    let mut next_due: Option<DateTime<FixedOffset>> = None;
    let mut translations: Vec<String> = Vec::new();
    let mut indexes: Vec<Document> = Vec::new();
    for mut doc in docs {
        if doc.lang.is_some() {
            translations.push(doc.source.clone());
            continue;
        }
        let future = doc.date.is_some_and(|d| d > opts.now);
        if !opts.drafts && (doc.front.draft || (doc.kind == Kind::Post && future)) {
            if future && !doc.front.draft && doc.kind == Kind::Post {
                next_due = next_due.into_iter().chain(doc.date).min();
            }
            skipped.push(doc.source.clone());
            continue;
        }
        if let Some(invalid) = &doc.front.invalid {
            return Err(anyhow!("{invalid}"));
        }
        warnings.append(&mut doc.warnings);
        warnings.extend(cap_terms(&mut doc, site.config.max_terms_per_post));
        if doc.kind == Kind::Post && doc.date.is_none() {
            warnings.push(Warning::new(
                WarningKind::Content,
                &doc.source,
                None,
                "no date; the post is listed last (add `date: 2024-05-26` to the front matter)"
                    .into(),
            ));
        }
        if doc.kind == Kind::Index {
            indexes.push(doc);
            continue;
        }
        let entry = Entry::new(permalink::page_path(&doc, site), doc);
        match entry.doc.kind {
            Kind::Post => posts.push(entry),
            _ => pages.push(entry),
        }
    }
    if let Some(first) = translations.first() {
        warnings.push(Warning::new(
            WarningKind::Content,
            first,
            None,
            format!(
                "{} pages in other languages than {:?} are not built yet (only the site's own language is): {}",
                translations.len(),
                site.config.language,
                translations.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let (mut posts, mut pages) = drop_collisions(posts, pages, &mut warnings)?;
    posts.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then_with(|| a.doc.source.cmp(&b.doc.source))
    });
    pages.sort_by(|a, b| a.doc.source.cmp(&b.doc.source));

    let style = site.config.urls;
    let tags = collect_terms(
        &mut posts,
        "tags",
        style,
        |e| &e.doc.front.tags,
        |e| &mut e.tags,
    );
    let categories = collect_terms(
        &mut posts,
        "categories",
        style,
        |e| &e.doc.front.categories,
        |e| &mut e.categories,
    );
    let mut taxonomies = Vec::new();
    for (k, name) in site.custom_taxonomies().into_iter().enumerate() {
        for post in posts.iter_mut() {
            let mut names = crate::content::frontmatter::string_list(
                &param_ci(&post.doc.front.params, &name).unwrap_or_default(),
            );
            let max = site.config.max_terms_per_post;
            if names.len() > max {
                warnings.push(Warning::new(
                    WarningKind::Content,
                    &post.doc.source,
                    None,
                    format!("{} {name}; only the first {max} are used (raise max_terms_per_post in site.toml to keep more)", names.len()),
                ));
                names.truncate(max);
            }
            post.custom_terms.push((names, Vec::new()));
        }
        let terms = collect_terms(
            &mut posts,
            &name,
            style,
            |e| &e.custom_terms[k].0,
            |e| &mut e.custom_terms[k].1,
        );
        taxonomies.push(Taxonomy { name, terms });
    }
    let (sections, home) = sections::collect(site, indexes, &posts, &pages);
    Ok(SiteModel {
        posts,
        pages,
        tags,
        categories,
        taxonomies,
        sections,
        home,
        skipped,
        warnings,
        next_due,
    })
    .and_then(resolve_refs)
}

/// Finds the page of every `ref`/`relref`; one that names no published page is an
/// error naming the file, line and ref, as in Hugo.
fn resolve_refs(mut model: SiteModel) -> Result<SiteModel> {
    let entries = || model.posts.iter().chain(&model.pages);
    if entries().all(|e| e.doc.refs.calls.is_empty()) {
        return Ok(model);
    }
    let published = RefIndex::new(entries().map(|e| e.doc.source.as_str()));
    let paths: Vec<&str> = entries().map(|e| e.path.as_str()).collect();
    let unpublished = RefIndex::new(model.skipped.iter().map(String::as_str));
    let mut resolved = Vec::new();
    for entry in entries() {
        let doc = &entry.doc;
        let mut urls = Vec::new();
        for call in &doc.refs.calls {
            let (target, anchor) = call.split_anchor();
            let page = published.find(&doc.source, target).map_err(|miss| {
                let why = match miss {
                    Miss::Ambiguous(sources) => format!(
                        "names several pages ({}); write the path under content/ instead",
                        sources.join(", ")
                    ),
                    Miss::NotFound if unpublished.find(&doc.source, target).is_ok() => {
                        "names a draft or future post, which is not published (build with --drafts, or remove the link)".to_string()
                    }
                    Miss::NotFound => "names no page (give the path under content/, e.g. \"posts/name.md\")".to_string(),
                };
                anyhow!("{}:{}: ref {:?} {why}", doc.source, call.line, call.target)
            })?;
            urls.push(format!("{}{anchor}", paths[page]));
        }
        resolved.push(urls);
    }
    for (entry, urls) in model
        .posts
        .iter_mut()
        .chain(model.pages.iter_mut())
        .zip(resolved)
    {
        entry.refs = urls;
    }
    Ok(model)
}

/// A front matter value by key, whatever its case (Hugo's keys are).
fn param_ci(params: &BTreeMap<String, serde_json::Value>, key: &str) -> Option<serde_json::Value> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.clone())
}

/// Cuts a post's tags and categories to `max` each: every term is a page that lists
/// the post, so a post with 10,000 tags would make the output grow with their square.
fn cap_terms(doc: &mut Document, max: usize) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let front = &mut doc.front;
    for (key, terms) in [
        ("tags", &mut front.tags),
        ("categories", &mut front.categories),
    ] {
        if terms.len() > max {
            warnings.push(Warning::new(
                WarningKind::Content,
                &doc.source,
                None,
                format!(
                    "{} {key}; only the first {max} are used (raise max_terms_per_post in site.toml to keep more)",
                    terms.len()
                ),
            ));
            terms.truncate(max);
        }
    }
    warnings
}

/// Two sources that claim the same URL: as in Hugo the build goes on, with a
/// warning naming both; the first by source path keeps the URL, deterministically.
/// A URL that cannot be a file path is an error naming its source.
fn drop_collisions(
    posts: Vec<Entry>,
    pages: Vec<Entry>,
    warnings: &mut Vec<Warning>,
) -> Result<(Vec<Entry>, Vec<Entry>)> {
    let mut all: Vec<Entry> = posts.into_iter().chain(pages).collect();
    all.sort_by(|a, b| a.doc.source.cmp(&b.doc.source));
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let (mut posts, mut pages) = (Vec::new(), Vec::new());
    for e in all {
        if let Err(why) = check_site_path(&e.path) {
            return Err(anyhow!(
                "{}: its URL {:?} {why} (change `slug` or the file name)",
                e.doc.source,
                e.path
            ));
        }
        if let Some(winner) = seen.get(&e.path) {
            warnings.push(Warning::new(
                WarningKind::Content,
                &e.doc.source,
                None,
                format!(
                    "{winner} and {} both map to {}; {} is left out (give one of them a different `slug`)",
                    e.doc.source, e.path, e.doc.source
                ),
            ));
            continue;
        }
        seen.insert(e.path.clone(), e.doc.source.clone());
        match e.doc.kind {
            Kind::Post => posts.push(e),
            _ => pages.push(e),
        }
    }
    Ok((posts, pages))
}

/// Longest file or folder name most file systems take, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// The site path of the search page (built in, unless the site has a page there).
pub const SEARCH_PAGE: &str = "/search/";
/// The site path of the search module (`search::SCRIPT`).
pub const SEARCH_SCRIPT: &str = "/_search/search.js";

/// `/old/path/`, `old/path` or `/old.html` → a site path; `None` for URLs and `..`.
pub fn alias_path(alias: &str) -> Option<String> {
    let a = alias.trim();
    if a.is_empty() || a.contains("://") || a.contains("..") || a.contains(['?', '#', '\\']) {
        return None;
    }
    let mut p = format!("/{}", a.trim_start_matches('/'));
    if !p.ends_with('/') && !p.ends_with(".html") {
        p.push('/');
    }
    // Names a file system cannot take (a NUL, 300 bytes) are refused here, with the post.
    check_site_path(&p).ok()?;
    Some(p)
}

/// Why a site path (`/a/b/`, `/x.html`) cannot be written as files, if it cannot:
/// a name over 255 bytes, a control character (NUL included), or `.`/`..`.
pub fn check_site_path(path: &str) -> std::result::Result<(), String> {
    if path.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    for name in path.split('/') {
        if name == "." || name == ".." {
            return Err("contains `.` or `..`".into());
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(format!(
                "has a part of {} bytes; file systems allow {MAX_NAME_BYTES}",
                name.len()
            ));
        }
    }
    Ok(())
}

/// Output paths (with what made each) that cannot live side by side on disk: a path
/// that is also a folder of another (an alias `/sitemap.xml/` beside `sitemap.xml`).
/// The first such pair in path order, as "the X of A is the folder of B's file".
pub fn folder_clash<'a>(paths: &[(&'a str, &'a str)]) -> Option<(&'a str, &'a str, &'a str)> {
    let files: BTreeMap<&str, &str> = paths.iter().copied().collect();
    for &(path, origin) in paths {
        let mut at = 0;
        while let Some(slash) = path[at..].find('/') {
            let folder = &path[..at + slash];
            if let Some(other) = files.get(folder) {
                return Some((folder, other, origin));
            }
            at += slash + 1;
        }
    }
    None
}

fn collect_terms(
    posts: &mut [Entry],
    kind: &str,
    style: UrlStyle,
    names: impl Fn(&Entry) -> &Vec<String>,
    indexes: impl Fn(&mut Entry) -> &mut Vec<usize>,
) -> Vec<Term> {
    let mut by_slug: BTreeMap<String, Term> = BTreeMap::new();
    for (i, post) in posts.iter().enumerate() {
        for name in names(post) {
            let slug = permalink::term_slug(name, style);
            if slug.is_empty() {
                continue;
            }
            let term = by_slug.entry(slug.clone()).or_insert_with(|| Term {
                name: name.clone(),
                path: format!("/{kind}/{slug}/"),
                slug,
                posts: Vec::new(),
            });
            if term.posts.last() != Some(&i) {
                term.posts.push(i);
            }
        }
    }
    let terms: Vec<Term> = by_slug.into_values().collect();
    let index: BTreeMap<&str, usize> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| (t.slug.as_str(), i))
        .collect();
    for post in posts.iter_mut() {
        let mut ids: Vec<usize> = names(post)
            .iter()
            .filter_map(|n| index.get(permalink::term_slug(n, style).as_str()).copied())
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|i| seen.insert(*i));
        *indexes(post) = ids;
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_normalised() {
        assert_eq!(alias_path("old/post").as_deref(), Some("/old/post/"));
        assert_eq!(alias_path("/old.html").as_deref(), Some("/old.html"));
        assert_eq!(alias_path("../etc"), None);
        assert_eq!(alias_path("https://x"), None);
        assert_eq!(alias_path("/a\0b/"), None);
    }

    #[test]
    fn unusable_site_paths_are_named() {
        assert!(check_site_path("/2024/01/06/a/").is_ok());
        assert!(check_site_path(&format!("/{}/", "a".repeat(300))).is_err());
        assert!(check_site_path("/a\0b/").is_err());
        assert!(check_site_path("/a/../b/").is_err());
        let clash = folder_clash(&[
            ("sitemap.xml", "the sitemap"),
            ("sitemap.xml/index.html", "a.md (alias /sitemap.xml/)"),
        ]);
        assert_eq!(
            clash,
            Some(("sitemap.xml", "the sitemap", "a.md (alias /sitemap.xml/)"))
        );
        assert_eq!(folder_clash(&[("a/index.html", "x"), ("b", "y")]), None);
    }
}
