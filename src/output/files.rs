//! What the write stage writes: one file of the output, where its bytes come from,
//! and the content hash every write records.

use std::path::{Component, Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::render::OutputFile;
use crate::theme::StaticSource;

/// One file of the output and where its bytes come from.
pub enum Produced {
    Bytes(Vec<u8>),
    Builtin(&'static [u8]),
    /// Copied from this file (static files, bundle files, images).
    File(PathBuf),
}

/// Every file of the site, by `/`-separated path inside the output.
pub fn produced(
    pages: Vec<OutputFile>,
    files: std::collections::BTreeMap<String, StaticSource>,
) -> Vec<(String, Produced)> {
    let mut out: Vec<(String, Produced)> = pages
        .into_iter()
        .map(|p| (p.path, Produced::Bytes(p.bytes)))
        .collect();
    out.extend(files.into_iter().map(|(rel, src)| {
        let p = match src {
            StaticSource::File(path) => Produced::File(path),
            StaticSource::Builtin(bytes) => Produced::Builtin(bytes),
        };
        (rel, p)
    }));
    out
}

/// How much a write changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Files written because they were new or their bytes changed.
    pub written: usize,
    /// Files removed because the build no longer produces them.
    pub removed: usize,
    /// Files left as they were.
    pub unchanged: usize,
}

impl WriteSummary {
    pub fn changed(&self) -> usize {
        self.written + self.removed
    }
}

pub fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Size and modification time (ns since the epoch) of a file, as the manifest
/// records them.
pub fn stamp(path: &Path) -> Option<(u64, i64)> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file()
        .then(|| crate::util::size_and_mtime(&meta))
        .flatten()
}

/// Rejects absolute paths and `..`, so no content can write outside the output.
pub fn safe_rel(rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel.trim_start_matches('/'));
    if p.components().all(|c| matches!(c, Component::Normal(_))) && !p.as_os_str().is_empty() {
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
    fn rel_paths_stay_inside() {
        assert!(safe_rel("a/b/index.html").is_ok());
        assert!(safe_rel("/a/index.html").is_ok());
        assert!(safe_rel("../x").is_err());
        assert!(safe_rel("a/../../x").is_err());
        assert!(safe_rel("/").is_err());
    }
}
