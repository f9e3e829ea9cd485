//! `enishi import`: a Hatena Blog / Movable Type text export or a WordPress WXR
//! file becomes Markdown posts in `content/`, with the old URLs kept as aliases.
//!
//! read the export (`movable_type`, `wxr`) ─► place every entry (`plan`: file,
//! slug, old paths, new URL) ─► convert bodies (`wp_markup` for WordPress's
//! stored form, `html` to Markdown, links to old entries rewritten) ─► download
//! images (`images`, with `--download-images`) ─► write (`document`: front
//! matter, the import's hash, the edited-since check) and the category redirects.

mod document;
mod entry;
pub mod html;
mod images;
mod movable_type;
mod plan;
pub mod wp_markup;
mod wxr;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono_tz::Tz;
use rayon::prelude::*;

use crate::config::{CONFIG_FILE, Site};
use crate::model::permalink::{page_path, term_slug};
use crate::util::display_rel;
use document::{Comment, Existing, NewDocument};
use entry::{BodyFormat, EntryKind, Export, ImportedEntry, Origin};
use plan::{OldBase, Placement};

/// An export larger than this is refused before it is read.
const MAX_EXPORT_BYTES: u64 = 512 * 1024 * 1024;
/// Stack for each conversion thread (address space; only what is used is memory).
const CONVERT_STACK: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoriesAs {
    Tags,
    Categories,
}

pub struct ImportOptions {
    pub file: PathBuf,
    /// The old blog's address (`https://example.hatenablog.com`), for aliases and
    /// links between its entries; inferred from the export when absent.
    pub old_base_url: Option<String>,
    /// The zone the export's dates are in; the site's `timezone` by default.
    pub timezone: Option<Tz>,
    pub download_images: bool,
    pub dry_run: bool,
    pub overwrite: bool,
    pub categories_as: CategoriesAs,
}

/// What happened to each entry's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// Edited since the last import (or not written by one): left as it is.
    KeptEdited,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub format: &'static str,
    pub posts: usize,
    pub pages: usize,
    pub drafts: usize,
    pub comments: usize,
    pub dropped_comments: usize,
    pub images: usize,
    pub images_downloaded: usize,
    pub raw_html_blocks: usize,
    pub scripts_removed: usize,
    pub redirects: usize,
    /// Files by outcome, site-relative.
    pub files: Vec<(String, Outcome)>,
    /// One line each, naming the entry.
    pub warnings: Vec<String>,
    pub old_base_url: Option<String>,
}

impl ImportReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.files.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// The summary printed after an import.
    pub fn summary(&self, dry_run: bool) -> String {
        let mut lines = vec![format!(
            "{} {} posts ({} drafts) and {} pages from a {}",
            if dry_run { "would import" } else { "imported" },
            self.posts,
            self.drafts,
            self.pages,
            self.format
        )];
        lines.push(format!(
            "  {} comments kept ({} trackbacks, pingbacks or unapproved dropped), {} images ({} downloaded), {} raw-HTML blocks kept, {} scripts removed, {} category redirects",
            self.comments,
            self.dropped_comments,
            self.images,
            self.images_downloaded,
            self.raw_html_blocks,
            self.scripts_removed,
            self.redirects
        ));
        lines.push(format!(
            "  {} new, {} updated, {} unchanged, {} edited since the last import and kept (--overwrite replaces them)",
            self.count(Outcome::Created),
            self.count(Outcome::Updated),
            self.count(Outcome::Unchanged),
            self.count(Outcome::KeptEdited)
        ));
        match &self.old_base_url {
            Some(base) => lines.push(format!("  old URLs under {base} answer through aliases")),
            None => lines.push(
                "  the old blog's address is unknown: pass --old-base-url URL so links between its entries are rewritten"
                    .to_string(),
            ),
        }
        for (file, outcome) in &self.files {
            if *outcome == Outcome::KeptEdited {
                lines.push(format!("  kept (edited since import): {file}"));
            }
        }
        if dry_run {
            lines.push("  dry run: nothing was written".to_string());
        }
        lines.join("\n")
    }
}

/// Reads the export and writes its entries into the site.
pub fn run(site: &Site, opts: &ImportOptions) -> Result<ImportReport> {
    let (mut export, attachments) = read(&opts.file)?;
    let zone = opts.timezone.unwrap_or(site.tz);
    let mut report = ImportReport {
        format: export.origin.name(),
        dropped_comments: export.dropped_comments,
        ..ImportReport::default()
    };
    for skipped in &export.skipped {
        report
            .warnings
            .push(format!("left out: {skipped} (not posts or pages)"));
    }
    let base_url = opts
        .old_base_url
        .clone()
        .or_else(|| export.base_url.clone())
        .or_else(|| plan::infer_base(&export));
    let base = match &base_url {
        Some(url) => Some(OldBase::parse(url).ok_or_else(|| {
            anyhow!("--old-base-url {url:?} is not an http(s) address (e.g. https://example.hatenablog.com)")
        })?),
        None => None,
    };
    report.old_base_url = base_url;
    if site.configured_base_url.contains("://example.com/") {
        report.warnings.push(format!(
            "base_url in {CONFIG_FILE} is still {}: links between the imported posts are written with it; set it to the new blog's address and import again (posts not edited since are updated)",
            site.configured_base_url
        ));
    }
    // Hatena's category archives go wherever the categories end up.
    let redirects = category_redirects(site, &export, opts.categories_as, &mut report.warnings);
    settle_entries(&mut export, opts.categories_as, &mut report.warnings);

    let existing = imported_files(site);
    let mut placements = plan::place(site, &export, zone, base.as_ref(), &existing);
    let paths = new_paths(site, &export, &placements)?;
    let urls: Vec<String> = paths.iter().map(|p| site.permalink(p)).collect();
    // Links follow every old address, the ones that need no redirect page too.
    let links = LinkMap::new(site, &placements, &urls, &redirects, base);
    prune_aliases(&mut placements, &paths, &export, &mut report.warnings);
    let (new_config, redirect_count) = redirects_config(site, &redirects, &mut report.warnings)?;
    report.redirects = redirect_count;

    // Convert every body (the slow part, so in parallel); images first collected
    // with no mapping, then converted again with their bundle names once downloaded.
    // The converter recurses once per nesting level (bounded by html::MAX_NESTING):
    // its threads get stacks to match.
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(CONVERT_STACK)
        .build()
        .context("cannot start the conversion threads")?;
    let converted: Vec<html::Converted> = pool.install(|| {
        export
            .entries
            .par_iter()
            .map(|entry| convert(entry, &attachments, &links, &|_| None))
            .collect()
    });
    let mut downloads = BTreeMap::new();
    if opts.download_images && !opts.dry_run {
        let wanted: BTreeSet<String> = converted
            .iter()
            .flat_map(|c| c.images.iter().cloned())
            .collect();
        downloads = images::download(site, &wanted)?;
    }

    for ((entry, place), converted) in export.entries.iter().zip(&placements).zip(&converted) {
        let mut warnings = converted.warnings.clone();
        let mut body = converted.markdown.clone();
        let mut bundle: Vec<(String, &[u8])> = Vec::new();
        if opts.download_images {
            let mut taken = BTreeSet::new();
            let mut local: HashMap<String, String> = HashMap::new();
            for url in &converted.images {
                match downloads.get(url) {
                    Some(Ok(d)) => {
                        let name = images::file_name(url, d.extension, &mut taken);
                        bundle.push((name.clone(), &d.bytes));
                        local.insert(url.clone(), name);
                    }
                    Some(Err(reason)) => warnings.push(format!(
                        "image {url} not downloaded ({reason}); it stays remote"
                    )),
                    None => {}
                }
            }
            if !local.is_empty() {
                let image = |u: &str| local.get(u).cloned();
                body = pool
                    .install(|| convert(entry, &attachments, &links, &image))
                    .markdown;
            }
        }
        report.images += converted.images.len();
        report.images_downloaded += bundle.len();
        report.raw_html_blocks += converted.raw_html_blocks;
        report.scripts_removed += converted.scripts_removed;
        for w in warnings {
            report.warnings.push(format!("{}: {w}", entry.label()));
        }
        match entry.kind {
            EntryKind::Post => report.posts += 1,
            EntryKind::Page => report.pages += 1,
        }
        report.drafts += usize::from(entry.draft);
        report.comments += entry.comments.len();

        let comments = archived_comments(entry, zone);
        let body = document::escape_shortcode_syntax(&body);
        let text = document::render(&document_of(entry, place, &comments, &body));
        report
            .files
            .push(write_entry(site, place, &text, &bundle, opts)?);
    }
    if let Some(text) = new_config
        && !opts.dry_run
    {
        let path = site.root.join(CONFIG_FILE);
        crate::util::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("{CONFIG_FILE}: cannot write"))?;
    }
    Ok(report)
}

/// The export, read by the reader of its format, and (WordPress) its attachments.
fn read(file: &Path) -> Result<(Export, BTreeMap<u64, wp_markup::Attachment>)> {
    let shown = file.display().to_string();
    let text = read_export(file, &shown)?;
    if wxr::detect(&text) {
        let w = wxr::parse(&text, &shown)?;
        Ok((w.export, w.attachments))
    } else if movable_type::detect(&text) {
        Ok((movable_type::parse(&text, &shown)?, BTreeMap::new()))
    } else {
        Err(anyhow!(
            "{shown}: not an export Enishi can read (it reads Hatena Blog and Movable Type text exports, and WordPress WXR files from Tools → Export)"
        ))
    }
}

/// What the entries become before they are placed: categories as tags (unless
/// kept), WordPress titles as text, a post without a date a draft.
fn settle_entries(export: &mut Export, categories_as: CategoriesAs, warnings: &mut Vec<String>) {
    for entry in &mut export.entries {
        if categories_as == CategoriesAs::Tags {
            for c in std::mem::take(&mut entry.categories) {
                if !entry.tags.contains(&c) {
                    entry.tags.push(c);
                }
            }
        }
        if export.origin == Origin::WordPress {
            entry.title = html::comment_text(&entry.title);
        }
        // A post needs a date to be placed and listed; the export has none for it.
        if entry.kind == EntryKind::Post && entry.date.is_none() && !entry.draft {
            entry.draft = true;
            warnings.push(format!(
                "{}: no date in the export; imported as a draft (add `date:` to publish it)",
                entry.label()
            ));
        }
    }
}

/// Hatena's `/archive/category/NAME` → the page of the tag (or category) NAME.
fn category_redirects(
    site: &Site,
    export: &Export,
    categories_as: CategoriesAs,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut redirects = BTreeMap::new();
    if export.origin != Origin::MovableType {
        return redirects;
    }
    let kind = match categories_as {
        CategoriesAs::Tags => "tags",
        CategoriesAs::Categories => "categories",
    };
    for name in export.entries.iter().flat_map(|e| &e.categories) {
        let from = format!("/archive/category/{name}");
        let slug = term_slug(name, site.config.urls);
        if crate::model::alias_path(&from).is_none() || slug.is_empty() {
            warnings.push(format!(
                "category {name:?}: its archive URL cannot be a page of a static site; it gets no redirect"
            ));
            continue;
        }
        redirects.insert(from, format!("/{kind}/{slug}/"));
    }
    redirects
}

/// The old paths that become redirect pages: not one a file cannot be written
/// at (a `?`, `..`, a 300-byte name), nor the post's own new address (WordPress's
/// `/2021/04/05/slug/` under the same permalink pattern: the page answers there
/// itself), nor one another imported page has or an earlier entry claimed (two
/// files at one path): the first keeps it.
fn prune_aliases(
    placements: &mut [Placement],
    paths: &[String],
    export: &Export,
    warnings: &mut Vec<String>,
) {
    let taken_by_pages: BTreeSet<&str> = paths.iter().map(|p| p.trim_end_matches('/')).collect();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for ((place, path), entry) in placements.iter_mut().zip(paths).zip(&export.entries) {
        place.aliases.retain(|a| {
            let key = a.trim_end_matches('/');
            if key == path.trim_end_matches('/') {
                return false;
            }
            let why = if crate::model::alias_path(a).is_none() {
                "cannot be a page of a static site"
            } else if taken_by_pages.contains(key) || !claimed.insert(key.to_string()) {
                "is another imported page's address"
            } else {
                return true;
            };
            warnings.push(format!(
                "{}: its old URL {a} {why}; it gets no redirect",
                entry.label()
            ));
            false
        });
    }
}

/// An entry's comments as they are kept: the text plain, an empty author named
/// as such, empty comments left out.
fn archived_comments(entry: &ImportedEntry, zone: Tz) -> Vec<Comment> {
    entry
        .comments
        .iter()
        .map(|c| Comment {
            author: match c.author.trim() {
                "" => "匿名".to_string(),
                name => name.to_string(),
            },
            date: c.date.and_then(|d| plan::in_zone(d, zone)),
            text: html::comment_text(&c.body),
        })
        .filter(|c| !c.text.is_empty())
        .collect()
}

/// The files earlier imports wrote: each entry id → its file's stem
/// (`content/posts/2020-01-02-x`, whether a flat file or a bundle's `index.md`).
fn imported_files(site: &Site) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let content = site.root.join(crate::content::CONTENT_DIR);
    for e in walkdir::WalkDir::new(&content)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        let path = e.path();
        if !e.file_type().is_file() || path.extension().is_none_or(|x| x != "md") {
            continue;
        }
        // A post's front matter is near its start; a huge file is no import's.
        if e.metadata().map_or(true, |m| m.len() > 16 * 1024 * 1024) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Some(id) = document::recorded_id(&text) else {
            continue;
        };
        let rel = display_rel(&site.root, path);
        let stem = rel
            .strip_suffix("/index.md")
            .or_else(|| rel.strip_suffix(".md"))
            .unwrap_or(&rel)
            .to_string();
        found.entry(id).or_insert(stem);
    }
    found
}

/// The export's text: size-checked before it is read, UTF-8 (a BOM dropped), or
/// decoded from the legacy Japanese encoding it is in.
fn read_export(path: &Path, shown: &str) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("{shown}: cannot read the export"))?;
    if !meta.is_file() {
        return Err(anyhow!(
            "{shown}: not a file (pass the exported .txt or .xml file)"
        ));
    }
    if meta.len() > MAX_EXPORT_BYTES {
        return Err(anyhow!(
            "{shown}: {} MB is more than the {} MB an export may be (split it, or ask us to raise the limit)",
            meta.len() / 1_000_000,
            MAX_EXPORT_BYTES / 1_000_000
        ));
    }
    let bytes = std::fs::read(path).with_context(|| format!("{shown}: cannot read the export"))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => {
            // Older Movable Type blogs export Shift_JIS or EUC-JP.
            use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
            let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
            detector.feed(bytes, true);
            let encoding = detector.guess(Some(b"jp"), Utf8Detection::Deny);
            let (text, _, had_errors) = encoding.decode(bytes);
            if had_errors {
                return Err(anyhow!(
                    "{shown}: neither UTF-8 nor a Japanese encoding Enishi recognises (convert it to UTF-8, e.g. with iconv)"
                ));
            }
            Ok(text.into_owned())
        }
    }
}

/// The front matter and body an entry is written as.
fn document_of<'a>(
    entry: &'a ImportedEntry,
    place: &'a Placement,
    comments: &'a [Comment],
    body: &'a str,
) -> NewDocument<'a> {
    NewDocument {
        title: entry.title.trim(),
        date: place.date,
        draft: entry.draft,
        tags: &entry.tags,
        categories: &entry.categories,
        description: entry.description.as_deref(),
        image: entry.image.as_deref(),
        aliases: &place.aliases,
        old_url: &place.old_url,
        id: &entry.id,
        comments,
        body,
    }
}

/// The site path each entry will have, found by parsing its front matter as a
/// build would.
fn new_paths(site: &Site, export: &Export, placements: &[Placement]) -> Result<Vec<String>> {
    let texts: Vec<(PathBuf, String)> = export
        .entries
        .iter()
        .zip(placements)
        .map(|(entry, place)| {
            let text = document::render(&document_of(entry, place, &[], ""));
            (site.root.join(place.flat_file()), text)
        })
        .collect();
    let docs = crate::content::parse_texts(site, &texts)?;
    Ok(docs.iter().map(|d| page_path(d, site)).collect())
}

/// Links to the old blog's entries and category archives, and where they go now.
struct LinkMap {
    base: Option<OldBase>,
    /// Old path without a trailing slash → new absolute URL.
    paths: HashMap<String, String>,
}

impl LinkMap {
    fn new(
        site: &Site,
        placements: &[Placement],
        urls: &[String],
        redirects: &BTreeMap<String, String>,
        base: Option<OldBase>,
    ) -> LinkMap {
        let mut paths = HashMap::new();
        for (place, url) in placements.iter().zip(urls) {
            for alias in &place.aliases {
                paths.insert(alias.trim_end_matches('/').to_string(), url.clone());
            }
        }
        for (from, to) in redirects {
            paths.insert(from.clone(), site.permalink(to));
        }
        LinkMap { base, paths }
    }

    /// The new address of a link to the old blog, the fragment kept.
    fn rewrite(&self, url: &str) -> Option<String> {
        let base = self.base.as_ref()?;
        let (without_fragment, fragment) = match url.split_once('#') {
            Some((u, f)) => (u, Some(f)),
            None => (url, None),
        };
        let path = base.relative(without_fragment)?;
        let new = self.paths.get(path.trim_end_matches('/'))?;
        Some(match fragment {
            Some(f) => format!("{new}#{f}"),
            None => new.clone(),
        })
    }
}

/// An entry's body as Markdown.
fn convert(
    entry: &ImportedEntry,
    attachments: &BTreeMap<u64, wp_markup::Attachment>,
    links: &LinkMap,
    image: &dyn Fn(&str) -> Option<String>,
) -> html::Converted {
    let link = |url: &str| links.rewrite(url);
    let opts = html::Options { link: &link, image };
    let join = |body: &str, extended: &str| {
        if extended.trim().is_empty() {
            body.to_string()
        } else {
            format!("{body}\n\n<!-- more -->\n\n{extended}")
        }
    };
    match entry.format {
        BodyFormat::Markdown => html::Converted {
            markdown: format!("{}\n", join(&entry.body, &entry.extended).trim()),
            raw_html_blocks: 0,
            scripts_removed: 0,
            images: Vec::new(),
            warnings: Vec::new(),
        },
        BodyFormat::Html => html::to_markdown(&join(&entry.body, &entry.extended), &opts),
        BodyFormat::AutoParagraphs => {
            let lookup = |id: u64| attachments.get(&id).cloned();
            let (expanded, warnings) =
                wp_markup::expand_shortcodes(&join(&entry.body, &entry.extended), &lookup);
            let mut converted = html::to_markdown(&wp_markup::autop(&expanded), &opts);
            converted.warnings.splice(0..0, warnings);
            converted
        }
    }
}

/// Writes one entry (and its downloaded images) unless an edited file is in the
/// way; returns the file and what happened to it.
fn write_entry(
    site: &Site,
    place: &Placement,
    text: &str,
    bundle: &[(String, &[u8])],
    opts: &ImportOptions,
) -> Result<(String, Outcome)> {
    let flat = site.root.join(place.flat_file());
    let bundled = site.root.join(place.bundle_file());
    let (target, other) = if bundle.is_empty() {
        (&flat, &bundled)
    } else {
        (&bundled, &flat)
    };
    let shown = display_rel(&site.root, target);
    // The post may be in the other form from an earlier import (with or without images).
    let existing_path = [target, other].into_iter().find(|p| p.is_file());
    let outcome = match existing_path {
        None => Outcome::Created,
        Some(path) => {
            let existing = std::fs::read_to_string(path).unwrap_or_default();
            match document::compare(&existing, text) {
                Existing::Same if path == target && bundle_is_current(target, bundle) => {
                    Outcome::Unchanged
                }
                Existing::Edited if !opts.overwrite => {
                    return Ok((display_rel(&site.root, path), Outcome::KeptEdited));
                }
                _ => Outcome::Updated,
            }
        }
    };
    if opts.dry_run || outcome == Outcome::Unchanged {
        return Ok((shown, outcome));
    }
    let dir = target.parent().expect("a file under content/");
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    for (name, bytes) in bundle {
        let path = dir.join(name);
        crate::util::write_atomic(&path, bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    crate::util::write_atomic(target, text.as_bytes())
        .with_context(|| format!("{shown}: cannot write"))?;
    if let Some(path) = existing_path
        && path != target
    {
        std::fs::remove_file(path)
            .with_context(|| format!("{}: cannot remove the earlier import", path.display()))?;
    }
    Ok((shown, outcome))
}

fn bundle_is_current(target: &Path, bundle: &[(String, &[u8])]) -> bool {
    let dir = target.parent().expect("a file in a folder");
    bundle
        .iter()
        .all(|(name, bytes)| std::fs::read(dir.join(name)).is_ok_and(|b| b == *bytes))
}

/// Hatena's category archives (`/archive/category/NAME`) redirect to the term's
/// page: site.toml's `[redirects]` with the missing ones added (keys already there
/// are left alone), checked to still read. Made before any post is written, so a
/// site.toml that cannot take them stops the import before it starts.
/// Returns the new text (None when nothing changes) and how many redirects apply.
fn redirects_config(
    site: &Site,
    redirects: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(Option<String>, usize)> {
    if redirects.is_empty() {
        return Ok((None, 0));
    }
    let path = site.root.join(CONFIG_FILE);
    if !path.is_file() {
        warnings.push(format!(
            "this site has no {CONFIG_FILE}, so the {} category archive redirects (/archive/category/…) were not written",
            redirects.len()
        ));
        return Ok((None, 0));
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("{CONFIG_FILE}: cannot read"))?;
    let present = &site.config.redirects;
    let new: Vec<String> = redirects
        .iter()
        .filter(|(from, _)| !present.contains_key(*from))
        .map(|(from, to)| format!("{} = {}", toml_string(from), toml_string(to)))
        .collect();
    if new.is_empty() {
        return Ok((None, redirects.len()));
    }
    let header = |l: &str| l.split('#').next().unwrap_or("").trim() == "[redirects]";
    let updated = match text.lines().position(header) {
        Some(at) => {
            let mut lines: Vec<&str> = text.lines().collect();
            for (k, line) in new.iter().enumerate() {
                lines.insert(at + 1 + k, line);
            }
            let mut s = lines.join("\n");
            s.push('\n');
            s
        }
        None => {
            let mut s = text.clone();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str("\n# Old addresses that answer with a redirect (written by enishi import).\n[redirects]\n");
            for line in &new {
                s.push_str(line);
                s.push('\n');
            }
            s
        }
    };
    // Refuse to leave a site.toml that no longer reads.
    crate::config::parse_config(&updated, Path::new(CONFIG_FILE)).context(
        "adding the category redirects to [redirects] would break site.toml; nothing was imported (fix its [redirects] table, or remove it)",
    )?;
    Ok((Some(updated), redirects.len()))
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
