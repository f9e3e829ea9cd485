//! Write stage. A generated site goes to a [`Destination`]: the disk for `build`
//! ([`Disk`]), memory for `serve`. On disk everything goes into a staging folder
//! beside the output, which replaces the output only when the whole build has
//! succeeded. A failed build leaves the previous `public/` exactly as it was.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use rayon::prelude::*;

use crate::render::OutputFile;
use crate::theme::StaticSource;

/// Where a checked site goes. Both kinds take the whole site at once, so a reader
/// sees either the old site or the new one.
pub trait Destination {
    /// Whether `path` already holds exactly `bytes` (which were checked when they
    /// arrived, so they need no second audit).
    fn holds(&self, path: &str, bytes: &[u8]) -> bool;
    /// Replaces the whole content; returns how many files were added, changed or removed.
    fn replace(
        &mut self,
        pages: Vec<OutputFile>,
        files: BTreeMap<String, StaticSource>,
    ) -> Result<usize>;
}

/// The output folder of `enishi build`.
pub struct Disk {
    target: PathBuf,
}

impl Disk {
    pub fn new(target: &Path) -> Disk {
        Disk {
            target: target.to_path_buf(),
        }
    }
}

impl Destination for Disk {
    /// The folder is rewritten whole, so every page is audited on every build (and
    /// `--strict` fails every build that has a warning, not only the first).
    fn holds(&self, _path: &str, _bytes: &[u8]) -> bool {
        false
    }

    fn replace(
        &mut self,
        pages: Vec<OutputFile>,
        files: BTreeMap<String, StaticSource>,
    ) -> Result<usize> {
        let staging = Staging::new(&self.target)?;
        pages
            .par_iter()
            .map(|p| staging.write(&p.path, &p.bytes))
            .collect::<Result<()>>()?;
        files
            .iter()
            .collect::<Vec<_>>()
            .par_iter()
            .map(|(rel, src)| match src {
                StaticSource::File(path) => staging.copy(path, rel),
                StaticSource::Builtin(bytes) => staging.write(rel, bytes),
            })
            .collect::<Result<()>>()?;
        staging.commit()?;
        Ok(pages.len() + files.len())
    }
}

struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    pub fn new(target: &Path) -> Result<Staging> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create output folder", parent.display()))?;
        let name = target
            .file_name()
            .ok_or_else(|| anyhow!("{}: not a usable output folder", target.display()))?
            .to_string_lossy()
            .into_owned();
        let dir = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("{}: cannot clear old staging folder", dir.display()))?;
        }
        fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create staging folder", dir.display()))?;
        Ok(Staging {
            dir,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Writes `bytes` at `rel` (a `/`-separated path inside the output).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(safe_rel(rel)?);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)
                .with_context(|| format!("{}: cannot create folder", p.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("{}: cannot write file", path.display()))
    }

    /// Copies a file into the output at `rel`.
    pub fn copy(&self, from: &Path, rel: &str) -> Result<()> {
        let path = self.dir.join(safe_rel(rel)?);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)
                .with_context(|| format!("{}: cannot create folder", p.display()))?;
        }
        fs::copy(from, &path)
            .map(|_| ())
            .with_context(|| format!("{}: cannot copy to {}", from.display(), path.display()))
    }

    /// Swaps the staging folder in for the target. The old output is moved aside
    /// first and removed only after the new one is in place.
    pub fn commit(mut self) -> Result<()> {
        let old = self.dir.with_file_name(format!(
            "{}.old",
            self.dir.file_name().unwrap_or_default().to_string_lossy()
        ));
        let had_old = self.target.exists();
        if had_old {
            fs::rename(&self.target, &old).with_context(|| {
                format!(
                    "{}: cannot move the previous output aside",
                    self.target.display()
                )
            })?;
        }
        if let Err(e) = fs::rename(&self.dir, &self.target) {
            if had_old {
                let _ = fs::rename(&old, &self.target);
            }
            return Err(anyhow!(
                "{}: cannot move the new output into place: {e}",
                self.target.display()
            ));
        }
        self.committed = true;
        if had_old {
            remove_tree(&old);
        }
        Ok(())
    }
}

/// Removes a folder and everything in it, files in parallel, then the folders
/// deepest first. A site's output is thousands of small folders (one per post), and
/// removing them one by one took longer than writing the new output.
fn remove_tree(dir: &Path) {
    let entries: Vec<walkdir::DirEntry> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .collect();
    entries
        .par_iter()
        .filter(|e| !e.file_type().is_dir())
        .for_each(|e| {
            let _ = fs::remove_file(e.path());
        });
    let mut dirs: Vec<&walkdir::DirEntry> =
        entries.iter().filter(|e| e.file_type().is_dir()).collect();
    dirs.sort_by_key(|e| std::cmp::Reverse(e.depth()));
    for level in dirs.chunk_by(|a, b| a.depth() == b.depth()) {
        level.par_iter().for_each(|e| {
            let _ = fs::remove_dir(e.path());
        });
    }
    // Whatever could not go above (a file added meanwhile) goes now.
    if dir.exists() {
        let _ = fs::remove_dir_all(dir);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Longest file or folder name most file systems take, in bytes.
const MAX_NAME_BYTES: usize = 255;

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

/// Rejects absolute paths and `..`, so no content can write outside the output.
fn safe_rel(rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel.trim_start_matches('/'));
    if p.components().all(|c| matches!(c, Component::Normal(_))) && !rel.is_empty() {
        Ok(p.to_path_buf())
    } else {
        Err(anyhow!(
            "refusing to write outside the output folder: {rel:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn rel_paths_stay_inside() {
        assert!(safe_rel("a/b/index.html").is_ok());
        assert!(safe_rel("/a/index.html").is_ok());
        assert!(safe_rel("../x").is_err());
        assert!(safe_rel("a/../../x").is_err());
    }
}
