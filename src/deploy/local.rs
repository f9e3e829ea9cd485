//! The built site as deploy sees it: the output folder of a build that finished
//! writing, every file with its size and MD5 (what S3 reports as the ETag).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use md5::{Digest, Md5};
use rayon::prelude::*;

use super::plan::LocalFile;
use crate::output::incremental;
use crate::store::Store;

/// Refuses a folder no finished build is recorded for: a build killed halfway
/// leaves a mix of old and new pages that must never reach readers.
pub fn check_complete(store: &Store, output: &Path) -> Result<()> {
    let manifest = incremental::load(store, output)?;
    if manifest.complete {
        return Ok(());
    }
    let empty = output.read_dir().map_or(true, |mut d| d.next().is_none());
    let what = if empty {
        "no build of it is recorded in the cache"
    } else {
        "its last build did not finish writing (or was not made with this cache)"
    };
    Err(anyhow!(
        "{}: {what}; run `enishi build` and deploy again",
        output.display()
    ))
}

/// Every file under `output`, sorted by path. A build writes no symbolic links;
/// one found there was put by hand and could point anywhere, so it is refused.
pub fn scan(output: &Path) -> Result<Vec<LocalFile>> {
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(output).sort_by_file_name() {
        let entry =
            entry.with_context(|| format!("{}: cannot read the output", output.display()))?;
        if entry.path_is_symlink() && entry.depth() > 0 {
            return Err(anyhow!(
                "{}: a symbolic link in the output; deploy uploads files only (run `enishi build` to restore the folder)",
                entry.path().display()
            ));
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(output).unwrap_or(entry.path());
        let rel = rel
            .to_str()
            .ok_or_else(|| anyhow!("{}: the file name is not UTF-8", entry.path().display()))?
            .replace(std::path::MAIN_SEPARATOR, "/");
        // A temporary file of a write in progress is never part of the site.
        if rel
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with(".enishi-tmp-"))
        {
            continue;
        }
        paths.push((rel, entry.into_path()));
    }
    paths
        .into_par_iter()
        .map(|(rel, path)| {
            let (size, md5) =
                md5_of(&path).with_context(|| format!("{}: cannot read", path.display()))?;
            Ok(LocalFile { rel, size, md5 })
        })
        .collect()
}

/// Streams the file, so a large one is never held whole.
fn md5_of(path: &Path) -> std::io::Result<(u64, [u8; 16])> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hasher.finalize().into()))
}
