//! Load and parse stage: finds the Markdown sources under `content/`, reads them,
//! splits off front matter, expands shortcodes and renders the Markdown. Pure
//! apart from reading files.

pub mod frontmatter;
pub mod highlight;
pub mod markdown;
pub mod shortcodes;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rayon::prelude::*;

use crate::config::{Site, UrlStyle};
use crate::report::{Warning, WarningKind};
use crate::util::display_rel;
pub use frontmatter::FrontMatter;
pub use markdown::{Heading, Rendered, Segment};
use shortcodes::Library;
pub use shortcodes::refs::Refs;

pub const CONTENT_DIR: &str = "content";
pub const POSTS_DIR: &str = "posts";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In a main section (`content/posts/` unless configured): dated, listed,
    /// tagged, related.
    Post,
    /// Anywhere else under `content/`: a standalone page such as `about.md`.
    Page,
    /// `_index.md`: the title and text of a section's list page (or, at the top
    /// of `content/`, of the home page), as in Hugo.
    Index,
}

/// One parsed source file.
#[derive(Debug, Clone)]
pub struct Document {
    /// Path relative to the site root with `/` separators, e.g. `content/posts/a.md`.
    pub source: String,
    pub kind: Kind,
    pub front: FrontMatter,
    /// Publication date: front matter `date`, else a `YYYY-MM-DD-` file-name prefix.
    pub date: Option<DateTime<FixedOffset>>,
    pub slug: String,
    /// The file name without `.md`, or a bundle's folder name (Hugo's `:filename`).
    pub name: String,
    /// Folder of the page relative to `content/` (e.g. "" for `about.md`, "docs" for `docs/x.md`).
    pub section: String,
    /// For a page bundle (`…/name/index.md`), the folder whose other files are copied beside the page.
    pub bundle_dir: Option<PathBuf>,
    /// Shared: `serve` keeps documents between rebuilds and clones them cheaply.
    pub body: std::sync::Arc<Rendered>,
    /// The raw Markdown body, for analysis of the text.
    pub markdown: std::sync::Arc<str>,
    /// The line of the source file the Markdown body starts on.
    pub body_line: usize,
    /// Hash of the whole source file (and, when it calls shortcodes, of the
    /// shortcode templates and site params): what the analysis cache is keyed by.
    pub content_hash: String,
    /// The `ref`/`relref` calls of the body, whose tokens the renderer replaces.
    pub refs: Refs,
    /// What is accepted but probably a mistake (an unknown shortcode, an empty
    /// title), reported when the page is published.
    pub warnings: Vec<Warning>,
    /// For a translation (`about.en.md`): its language, one of the site's other
    /// `languages`; None for the site's own language.
    pub lang: Option<String>,
}

/// Paths of every Markdown source under `content/`, sorted. Symbolic links are
/// followed when they point inside the site folder (a shared `posts` folder, a
/// linked post); a link out of the site or one that loops is an error naming it.
pub fn discover(site: &Site) -> Result<Vec<PathBuf>> {
    let dir = site.root.join(CONTENT_DIR);
    if !dir.is_dir() {
        return Err(anyhow!(
            "{}: no content folder (create it and put posts in content/posts/)",
            dir.display()
        ));
    }
    let root = site
        .root
        .canonicalize()
        .with_context(|| format!("{}: cannot read the site folder", site.root.display()))?;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| walk_error(site, &e))?;
        // `content/` itself may be a link to anywhere (content kept in another repository).
        if entry.path_is_symlink() && entry.depth() > 0 {
            let target = entry.path().canonicalize().ok();
            if !target.as_ref().is_some_and(|t| t.starts_with(&root)) {
                return Err(anyhow!(
                    "{}: a symbolic link to {} outside the site folder (copy the file into the site, or remove the link)",
                    display_rel(&site.root, entry.path()),
                    target.map_or("nothing".into(), |t| t.display().to_string())
                ));
            }
        }
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && name.ends_with(".md") && !name.starts_with('.')
        // Hugo's section list pages carry no article of their own.
        {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// The other files under `content/` (images beside posts, PDFs …), by path inside
/// the output, where Hugo publishes them too. Page bundles are left out: their files
/// go beside their page, wherever its URL is.
pub fn loose_files(
    site: &Site,
) -> Result<std::collections::BTreeMap<String, crate::theme::StaticSource>> {
    let dir = site.root.join(CONTENT_DIR);
    let is_bundle = |p: &Path| {
        std::fs::read_dir(p).is_ok_and(|mut entries| {
            entries.any(|e| {
                e.ok().is_some_and(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with("index.") && name.ends_with(".md")
                })
            })
        })
    };
    let mut out = std::collections::BTreeMap::new();
    let walk = walkdir::WalkDir::new(&dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
            let bundle = e.depth() > 0 && e.file_type().is_dir() && is_bundle(e.path());
            !hidden && !bundle
        });
    for entry in walk {
        let entry = entry.map_err(|e| walk_error(site, &e))?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && !name.ends_with(".md") {
            let rel = display_rel(&dir, entry.path());
            out.insert(rel, crate::theme::StaticSource::File(entry.into_path()));
        }
    }
    Ok(out)
}

/// One line for a folder that cannot be walked, naming the place.
fn walk_error(site: &Site, e: &walkdir::Error) -> anyhow::Error {
    let place = e
        .path()
        .map(|p| display_rel(&site.root, p))
        .unwrap_or_else(|| CONTENT_DIR.to_string());
    if let Some(ancestor) = e.loop_ancestor() {
        return anyhow!(
            "{place}: a symbolic link loops back to {} (remove the link)",
            display_rel(&site.root, ancestor)
        );
    }
    let why = e
        .io_error()
        .map_or_else(|| e.to_string(), |io| io.to_string());
    anyhow!("{place}: cannot read ({why})")
}

/// Reads and parses every source in parallel. The first error in path order wins,
/// so the message does not depend on thread timing.
pub fn load(site: &Site) -> Result<Vec<Document>> {
    let files = discover(site)?;
    let library = Library::load(site)?;
    let results: Vec<Result<Document>> = files
        .par_iter()
        .map(|p| {
            let (source, bytes, hash) = read_source(site, p)?;
            parse_bytes(site, &library, p, source, bytes, hash)
        })
        .collect();
    results.into_iter().collect()
}

/// Parsed documents kept between rebuilds (by `enishi serve`): a file whose bytes
/// did not change is not parsed again.
#[derive(Default)]
pub struct Memo {
    /// By path: the file's size and modification time when it was parsed.
    docs: std::collections::HashMap<PathBuf, (Option<(u64, std::time::SystemTime)>, Document)>,
    /// The shortcode library the documents were expanded with: when a template
    /// or a site param changes, every document is parsed again.
    shortcodes: String,
}

/// [`load`], reusing the documents of `memo` whose files are unchanged.
pub fn load_with(site: &Site, memo: &mut Memo) -> Result<Vec<Document>> {
    let files = discover(site)?;
    let library = Library::load(site)?;
    if memo.shortcodes != library.fingerprint() {
        memo.docs.clear();
        memo.shortcodes = library.fingerprint().to_string();
    }
    let results: Vec<Result<_>> = files
        .par_iter()
        .map(|p| {
            let stamp = std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)));
            if let Some((Some(old), doc)) = memo.docs.get(p)
                && Some(*old) == stamp
            {
                return Ok((stamp, doc.clone()));
            }
            let (source, bytes, hash) = read_source(site, p)?;
            match memo.docs.get(p) {
                Some((_, doc))
                    if doc.content_hash == hash
                        || doc.content_hash == with_shortcodes(&hash, &library) =>
                {
                    Ok((stamp, doc.clone()))
                }
                _ => parse_bytes(site, &library, p, source, bytes, hash).map(|d| (stamp, d)),
            }
        })
        .collect();
    let loaded: Vec<(Option<(u64, std::time::SystemTime)>, Document)> =
        results.into_iter().collect::<Result<_>>()?;
    let docs: Vec<Document> = loaded.iter().map(|(_, d)| d.clone()).collect();
    memo.docs = files.into_iter().zip(loaded).collect();
    Ok(docs)
}

pub fn load_one(site: &Site, path: &Path) -> Result<Document> {
    let (source, bytes, content_hash) = read_source(site, path)?;
    parse_bytes(
        site,
        &Library::load(site)?,
        path,
        source,
        bytes,
        content_hash,
    )
}

/// Documents from texts not (yet) on disk at their paths: `enishi import` learns
/// the URL each post will have, by the same rules as a build, before writing it.
pub fn parse_texts(site: &Site, texts: &[(PathBuf, String)]) -> Result<Vec<Document>> {
    let library = Library::load(site)?;
    texts
        .iter()
        .map(|(path, text)| {
            let source = display_rel(&site.root, path);
            let hash = blake3::hash(text.as_bytes()).to_hex().to_string();
            parse_document(site, &library, path, source, text, hash)
        })
        .collect()
}

/// The analysis key of a document that calls shortcodes: its text depends on
/// their templates and the site's params as well as on its file.
fn with_shortcodes(file_hash: &str, library: &Library) -> String {
    let key = format!("{file_hash}\n{}", library.fingerprint());
    blake3::hash(key.as_bytes()).to_hex().to_string()
}

/// A source file's name as shown in messages, its bytes, and their hash (what the
/// caches are keyed by).
fn read_source(site: &Site, path: &Path) -> Result<(String, Vec<u8>, String)> {
    let source = display_rel(&site.root, path);
    let bytes = std::fs::read(path).with_context(|| format!("{source}: cannot read file"))?;
    let hash = blake3::hash(&bytes).to_hex().to_string();
    Ok((source, bytes, hash))
}

fn parse_bytes(
    site: &Site,
    library: &Library,
    path: &Path,
    source: String,
    bytes: Vec<u8>,
    content_hash: String,
) -> Result<Document> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        anyhow!("{source}:{line}: not valid UTF-8 (save the file as UTF-8)")
    })?;
    parse_document(site, library, path, source, &text, content_hash)
}

fn parse_document(
    site: &Site,
    library: &Library,
    path: &Path,
    source: String,
    text: &str,
    content_hash: String,
) -> Result<Document> {
    let split = frontmatter::split(text, &source)?;
    let front = frontmatter::parse(&split, &source, site.tz)?;

    let content_dir = site.root.join(CONTENT_DIR);
    let rel = path.strip_prefix(&content_dir).unwrap_or(path);
    // Posts are the pages of the main sections, at any depth.
    let in_main_section = rel
        .parent()
        .and_then(|p| p.components().next())
        .is_some_and(|top| {
            site.main_sections
                .iter()
                .any(|m| top.as_os_str() == std::ffi::OsStr::new(m))
        });
    let is_index = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("_index."));
    let kind = if is_index {
        Kind::Index
    } else if in_main_section {
        Kind::Post
    } else {
        Kind::Page
    };
    let hugo = site.config.urls == UrlStyle::Hugo;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, lang) = split_language(&stem, site);
    let is_bundle = stem == "index";
    let name = if is_bundle {
        path.parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        stem
    };
    // Hugo keeps a `2024-05-26-` prefix in the URL and takes no date from it.
    let (name_date, name_rest) = if hugo {
        (None, name.as_str())
    } else {
        split_date_prefix(&name)
    };

    let date = front.date.or_else(|| {
        name_date.and_then(|d| frontmatter::parse_date(&d.format("%Y-%m-%d").to_string(), site.tz))
    });
    // A draft is skipped before it is validated, as Hugo does; Hugo lists a post
    // without a date too.
    let mut front = front;
    if kind == Kind::Post && date.is_none() && !hugo {
        let missing = format!(
            "{source}:{}: missing date (add `date: 2024-05-26` to the front matter)",
            split.front_line - 1
        );
        if !front.draft {
            return Err(anyhow!(missing));
        }
        front.invalid.get_or_insert(missing);
    }

    let slug_source = front.slug.clone().unwrap_or_else(|| name_rest.to_string());
    let mut slug = if hugo {
        crate::model::permalink::term_slug(&slug_source, UrlStyle::Hugo)
    } else {
        crate::util::slugify(&slug_source)
    };
    if slug.is_empty() {
        let unusable = format!(
            "{source}: cannot make a URL slug from {slug_source:?} (set `slug:` in the front matter)"
        );
        if !front.draft {
            return Err(anyhow!(unusable));
        }
        front.invalid.get_or_insert(unusable);
        slug = content_hash[..12].to_string();
    }

    // A page's section is its folder under content/ (bundles count their parent).
    let mut section_dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
    if is_bundle {
        section_dir = section_dir.parent().unwrap_or(Path::new("")).to_path_buf();
    }
    let section = display_rel(Path::new(""), &section_dir);

    let mut warnings: Vec<Warning> = front
        .problems
        .iter()
        .map(|(line, message)| {
            Warning::new(WarningKind::Content, &source, Some(*line), message.clone())
        })
        .collect();
    let page = shortcodes::Page {
        source: &source,
        body_line: split.body_line,
        front: &front,
        date,
    };
    let expansion = shortcodes::expand(split.body, text, &page, library)?;
    let body = markdown::render_with(
        &expansion.expanded,
        split.body_line,
        site.config.enable_emoji,
    );
    warnings.extend(expansion.warnings);
    let content_hash = if expansion.called {
        with_shortcodes(&content_hash, library)
    } else {
        content_hash
    };
    Ok(Document {
        source,
        kind,
        date,
        slug,
        name,
        section,
        bundle_dir: is_bundle.then(|| path.parent().unwrap_or(Path::new("")).to_path_buf()),
        body: std::sync::Arc::new(body),
        markdown: split.body.into(),
        body_line: split.body_line,
        front,
        content_hash,
        refs: expansion.refs,
        warnings,
        lang,
    })
}

/// `about.ja` → `about` in a Japanese site; `about.en` → `about` and "en" when
/// English is one of the site's `languages`; otherwise the suffix is part of the
/// name, as in Hugo (`about.en` stays `about.en` in a site that has no English).
fn split_language(stem: &str, site: &Site) -> (String, Option<String>) {
    if let Some((rest, suffix)) = stem.rsplit_once('.')
        && !rest.is_empty()
    {
        let suffix = suffix.to_lowercase();
        if suffix == site.default_language() {
            return (rest.to_string(), None);
        }
        if site
            .config
            .languages
            .iter()
            .any(|l| l.to_lowercase() == suffix)
        {
            return (rest.to_string(), Some(suffix));
        }
    }
    (stem.to_string(), None)
}

/// Splits `2024-05-26-hello` into its date and `hello`.
pub(crate) fn split_date_prefix(name: &str) -> (Option<NaiveDate>, &str) {
    if name.len() >= 10
        && name.is_char_boundary(10)
        && let Ok(d) = NaiveDate::parse_from_str(&name[..10], "%Y-%m-%d")
    {
        let rest = name[10..].trim_start_matches(['-', '_']);
        return (Some(d), if rest.is_empty() { name } else { rest });
    }
    (None, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_prefix_is_split_off() {
        let (d, rest) = split_date_prefix("2024-05-26-hello-world");
        assert_eq!(d.unwrap().to_string(), "2024-05-26");
        assert_eq!(rest, "hello-world");
        assert_eq!(split_date_prefix("hello"), (None, "hello"));
        assert_eq!(
            split_date_prefix("日本語の記事タイトル").1,
            "日本語の記事タイトル"
        );
    }
}
