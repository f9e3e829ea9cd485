//! A fingerprint of everything a build reads, so a build can tell that nothing
//! changed since the last one and skip straight to "up to date": the site's files
//! (config, content, templates, themes, static files, dictionaries), the program
//! itself (a build id made at compile time), the options that change the output,
//! and the state of the cached cards and images that rendering uses.

use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;

use crate::config::Site;
use crate::store::Store;

/// A hash of the program's own sources, made by `build.rs`.
pub const BUILD_ID: &str = env!("ENISHI_BUILD_ID");

/// The folders of the site a build reads (besides `site.toml` and the user dictionary).
const SITE_FOLDERS: &[&str] = &["content", "templates", "themes", "static", "dictionaries"];

/// The fingerprint of the site's files and of the program, with `options` (what
/// else changes the output, as text).
pub fn of_files(site: &Site, options: &str) -> String {
    let mut files: Vec<PathBuf> = site.config_files.clone();
    for folder in SITE_FOLDERS {
        let dir = site.root.join(folder);
        if dir.is_dir() {
            // A folder that cannot be walked (a link loop) is the build's to report.
            let walk = walkdir::WalkDir::new(&dir).follow_links(true).into_iter();
            for entry in walk.filter_map(|e| e.ok()) {
                if entry.file_type().is_file() {
                    files.push(entry.into_path());
                }
            }
        }
    }
    // The theme may live outside `themes/` (an absolute or `..` name).
    let mut folders: Vec<PathBuf> = Vec::new();
    let theme = site.root.join("themes").join(&site.config.theme);
    if !theme.starts_with(site.root.join("themes")) || site.config.theme.contains("..") {
        folders.push(theme);
    }
    for dir in folders {
        let walk = walkdir::WalkDir::new(&dir).follow_links(true).into_iter();
        files.extend(
            walk.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path()),
        );
    }
    if let Some(dict) = &site.config.related.user_dictionary {
        files.push(site.root.join(dict));
    }
    files.sort();
    files.dedup();
    let hashes: Vec<String> = files
        .par_iter()
        .map(|path| file_hash(&site.root, path))
        .collect();
    let mut all = blake3::Hasher::new();
    for h in [BUILD_ID, options]
        .iter()
        .copied()
        .chain(hashes.iter().map(String::as_str))
    {
        all.update(h.as_bytes());
        all.update(b"\n");
    }
    all.finalize().to_hex().to_string()
}

/// A file's path and content hash; an unreadable file is marked as such (the build
/// itself says what is wrong with it).
fn file_hash(root: &Path, path: &Path) -> String {
    let rel = crate::util::display_rel(root, path);
    match std::fs::read(path) {
        Ok(bytes) => format!("{rel}\t{}", blake3::hash(&bytes).to_hex()),
        Err(e) => format!("{rel}\tunreadable: {e}"),
    }
}

/// The state of the cached link cards and images: any fetch, refresh or new row
/// changes it.
pub fn of_cache(store: &Store) -> Result<String> {
    const STATE: [&str; 3] = [
        "SELECT count(*), max(fetched_at) FROM link_cards",
        "SELECT count(*), max(fetched_at) FROM images",
        "SELECT count(*), 0 FROM image_sets",
    ];
    let mut state = String::new();
    for sql in STATE {
        let (rows, last): (i64, Option<i64>) = store
            .conn()
            .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        state.push_str(&format!("{rows}:{};", last.unwrap_or(0)));
    }
    Ok(state)
}
