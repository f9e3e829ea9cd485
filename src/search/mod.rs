//! Site search: the static index under `/_search/` and the ES module that reads it
//! (`search.js`, whose `search(query, options)` other tools rely on). A stage beside
//! `render`: it reads the model and hands back files for the write stage.
//!
//! - `normalize.rs`: the one normalisation shared with `search.js`.
//! - `index.rs`: the posts' character-pair postings, shards and text blocks.
//! - `search.js`: the browser side (query → shards → verified matches → BM25 →
//!   excerpts).

pub mod index;
pub mod normalize;

use crate::config::Site;
use crate::model::{Entry, SEARCH_PAGE, SEARCH_SCRIPT, SiteModel};
use crate::render::OutputFile;
use crate::report::{Warning, WarningKind};

pub use index::SearchDoc;

/// The module the theme's search page imports; also what other tools import.
pub const SCRIPT: &str = include_str!("search.js");

/// Every file of the index and the module, or nothing when search is off.
pub fn render_index(site: &Site, model: &SiteModel) -> Vec<OutputFile> {
    if !site.config.search.enabled {
        return Vec::new();
    }
    let docs = documents(site, model);
    let mut files: Vec<OutputFile> = index::write_index(&docs)
        .into_iter()
        .map(|(path, bytes)| OutputFile { path, bytes })
        .collect();
    files.push(OutputFile {
        path: SEARCH_SCRIPT.trim_start_matches('/').into(),
        bytes: SCRIPT.as_bytes().to_vec(),
    });
    files
}

/// The warning when a page of the site is at `/search/`: it is shown there instead
/// of the built-in search page.
pub fn page_taken(site: &Site, model: &SiteModel) -> Option<Warning> {
    if !site.config.search.enabled {
        return None;
    }
    let page = model.pages.iter().find(|p| p.path == SEARCH_PAGE)?;
    Some(Warning::new(
        WarningKind::Content,
        &page.doc.source,
        None,
        format!(
            "this page is at {}, so it is shown there instead of the built-in search page (the index and {} are still written; move the page, or set [search] enabled = false)",
            SEARCH_PAGE, SEARCH_SCRIPT
        ),
    ))
}

/// The posts and pages search finds, in id order: by date, oldest first, undated
/// pages before every dated one (so the newer post has the higher id and wins ties),
/// then by URL.
pub fn documents(site: &Site, model: &SiteModel) -> Vec<SearchDoc> {
    let mut entries: Vec<&Entry> = model
        .posts
        .iter()
        .chain(&model.pages)
        .filter(|e| !e.doc.front.search_excluded && e.path != SEARCH_PAGE)
        .collect();
    entries.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.path.cmp(&b.path)));
    entries
        .into_iter()
        .map(|e| {
            let body = &e.doc.body;
            let mut text = String::with_capacity(body.text.len() + body.code.len() + 1);
            text.push_str(body.text.trim_end());
            if !body.code.is_empty() {
                text.push('\n');
                text.push_str(body.code.trim_end());
            }
            SearchDoc {
                url: site.url(&e.path),
                title: e.doc.front.title.clone(),
                date: e.date.map(|d| d.format("%Y-%m-%d").to_string()),
                text,
            }
        })
        .collect()
}
