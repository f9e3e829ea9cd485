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

    /// Repairs what killed builds left beside `target` (see [`recover_interrupted`]);
    /// called before anything else, so even a build that fails puts the output back.
    pub fn recover(target: &Path) {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Some(name) = target.file_name() {
            recover_interrupted(parent, &name.to_string_lossy(), target);
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

/// A folder beside the output that becomes the output when the build is complete.
struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    fn new(target: &Path) -> Result<Staging> {
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

    /// Where `rel` goes, and how messages name it (inside the output, not the
    /// staging folder, which is gone by the time anyone reads the message).
    fn place(&self, rel: &str) -> Result<(PathBuf, String)> {
        let rel = safe_rel(rel)?;
        let shown = self.target.join(&rel).display().to_string();
        let path = self.dir.join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).map_err(|e| anyhow!("{shown}: cannot create its folder ({e})"))?;
        }
        Ok((path, shown))
    }

    /// Writes `bytes` at `rel` (a `/`-separated path inside the output).
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let (path, shown) = self.place(rel)?;
        fs::write(&path, bytes).map_err(|e| anyhow!("{shown}: cannot write ({e})"))
    }

    /// Copies a file into the output at `rel`.
    fn copy(&self, from: &Path, rel: &str) -> Result<()> {
        let (path, shown) = self.place(rel)?;
        fs::copy(from, &path)
            .map(|_| ())
            .map_err(|e| anyhow!("{shown}: cannot copy {} there ({e})", from.display()))
    }

    /// Puts the staging folder in the target's place. Where the system can swap two
    /// folders in one step (Linux), there is no moment without an output; elsewhere
    /// the old output is moved aside first and removed only after the new one is in
    /// place (and a build killed in between is repaired by the next one).
    fn commit(mut self) -> Result<()> {
        let had_old = self.target.exists();
        if had_old && exchange(&self.dir, &self.target).is_ok() {
            self.committed = true;
            remove_tree(&self.dir);
            return Ok(());
        }
        let old = aside_name(&self.dir);
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

fn aside_name(staging: &Path) -> PathBuf {
    staging.with_file_name(format!(
        "{}.old",
        staging.file_name().unwrap_or_default().to_string_lossy()
    ))
}

/// Swaps two folders atomically (`renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Cleans up after builds that were killed: their staging folders (`.public.tmp-PID`)
/// are removed, and if one died between moving the old output aside and moving the
/// new one in (`.public.tmp-PID.old` left, no `public/`), the old output is put back.
/// Folders of a build still running (its process exists) are left alone.
fn recover_interrupted(parent: &Path, name: &str, target: &Path) {
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
    fn rel_paths_stay_inside() {
        assert!(safe_rel("a/b/index.html").is_ok());
        assert!(safe_rel("/a/index.html").is_ok());
        assert!(safe_rel("../x").is_err());
        assert!(safe_rel("a/../../x").is_err());
    }
}
