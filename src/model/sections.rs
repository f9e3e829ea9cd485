//! Sections: the top folders under `content/`, each with a list page at its own
//! path (`/post/`, `/docs/`), titled and introduced by its `_index.md` when it has
//! one, as in Hugo. `content/_index.md` introduces the home page.

use std::collections::BTreeMap;

use super::{Entry, permalink};
use crate::config::{Site, UrlStyle};
use crate::content::Document;

#[derive(Debug)]
pub struct Section {
    /// The folder's name under `content/`.
    pub name: String,
    /// Site path of its list page: `/post/`.
    pub path: String,
    pub title: String,
    /// Its `_index.md`, rendered like a page (its path is the section's).
    pub intro: Option<Entry>,
    /// Indexes into `SiteModel::posts` (newest first) and `SiteModel::pages`.
    pub posts: Vec<usize>,
    pub pages: Vec<usize>,
}

/// The sections that hold published posts or pages, by name; and the home page's
/// introduction. `indexes`: the published `_index.md` documents.
pub fn collect(
    site: &Site,
    indexes: Vec<Document>,
    posts: &[Entry],
    pages: &[Entry],
) -> (Vec<Section>, Option<Entry>) {
    let top = |doc: &Document| doc.section.split('/').next().unwrap_or("").to_string();
    let mut by_name: BTreeMap<String, Section> = BTreeMap::new();
    fn section<'a>(
        by_name: &'a mut BTreeMap<String, Section>,
        name: String,
        site: &Site,
    ) -> &'a mut Section {
        by_name.entry(name.clone()).or_insert_with(|| Section {
            path: format!("/{}/", folder_part(&name, site)),
            title: default_title(&name),
            name,
            intro: None,
            posts: Vec::new(),
            pages: Vec::new(),
        })
    }
    for (i, e) in posts.iter().enumerate() {
        section(&mut by_name, top(&e.doc), site).posts.push(i);
    }
    for (i, e) in pages.iter().enumerate() {
        let name = top(&e.doc);
        if !name.is_empty() {
            section(&mut by_name, name, site).pages.push(i);
        }
    }
    let mut home = None;
    for doc in indexes {
        let name = top(&doc);
        if name.is_empty() {
            home = Some(Entry::new("/".into(), doc));
            continue;
        }
        // A nested `_index.md` (a sub-section) has no list page of its own here.
        if doc.section.contains('/') {
            continue;
        }
        if let Some(s) = by_name.get_mut(&name) {
            if !doc.front.title.is_empty() {
                s.title = doc.front.title.clone();
            }
            s.intro = Some(Entry::new(s.path.clone(), doc));
        }
    }
    by_name.remove("");
    (by_name.into_values().collect(), home)
}

fn folder_part(name: &str, site: &Site) -> String {
    match site.config.urls {
        UrlStyle::Hugo => permalink::term_slug(name, UrlStyle::Hugo),
        UrlStyle::Enishi => name.to_string(),
    }
}

/// Hugo titles a section without `_index.md` after its folder, capitalised.
fn default_title(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
