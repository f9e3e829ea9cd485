//! What builds of earlier versions left beside the output when they were killed:
//! they wrote a staging folder (`.public.tmp-PID`) and swapped it in.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// Cleans up after builds that were killed: their staging folders (`.public.tmp-PID`)
/// are removed, and if one died between moving the old output aside and moving the
/// new one in (`.public.tmp-PID.old` left, no `public/`), the old output is put back.
/// Folders of a build still running (its process exists) are left alone.
pub fn recover_interrupted(parent: &Path, name: &str, target: &Path) {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let mut leftovers: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let file_name = e.file_name();
            let file_name = file_name.to_string_lossy();
            let Some(rest) = file_name.strip_prefix(&prefix) else {
                return false;
            };
            let pid = rest.trim_end_matches(".old");
            pid.parse::<u32>()
                .is_ok_and(|pid| pid == std::process::id() || !process_exists(pid))
        })
        .map(|e| e.path())
        .collect();
    leftovers.sort();
    if !target.exists()
        && let Some(at) = leftovers
            .iter()
            .position(|p| p.to_string_lossy().ends_with(".old"))
        && fs::rename(&leftovers[at], target).is_ok()
    {
        leftovers.remove(at);
    }
    for dir in leftovers {
        remove_tree(&dir);
    }
}

/// Whether a process with this id runs (Linux: `/proc/PID`; elsewhere assumed, so
/// another system never removes a running build's folder).
fn process_exists(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Removes a folder and everything in it, files in parallel, then the folders
/// deepest first. A site's output is thousands of small folders (one per post), and
/// removing them one by one took longer than writing the new output.
pub fn remove_tree(dir: &Path) {
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
