//! Incremental writes: the output folder is brought to exactly what the build
//! produced while touching only what differs, guided by a manifest of the last
//! write kept in the cache (path → content hash, size and modification time).
//!
//! A file whose recorded hash matches and whose size and mtime on disk are still
//! those recorded is not opened. A file edited or deleted by hand no longer
//! matches and is written again; a file nobody produced is removed, and so is a
//! folder left empty. New bytes go to a temporary name in the same folder and are
//! renamed into place, so a reader never sees half a file. The manifest is marked
//! incomplete before the first change and complete after the last, so a killed
//! write is known (and repaired by the next build).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow};
use rayon::prelude::*;
use rusqlite::params;

use super::files::{Produced, WriteSummary, hash, safe_rel, stamp};
use crate::store::{Store, Tables};

/// The manifest of every output folder this cache has written.
pub const TABLES: Tables = Tables {
    owner: "output",
    migrations: &["CREATE TABLE IF NOT EXISTS output_folders (
             folder TEXT PRIMARY KEY,
             complete INTEGER NOT NULL,
             inputs TEXT,
             due_at INTEGER,
             summary TEXT
         );
         CREATE TABLE IF NOT EXISTS output_files (
             folder TEXT NOT NULL,
             path TEXT NOT NULL,
             hash TEXT NOT NULL,
             size INTEGER NOT NULL,
             mtime_ns INTEGER NOT NULL,
             source TEXT,
             PRIMARY KEY (folder, path)
         )"],
};

/// One file as the last write left it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub hash: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// For a copied file: its source's size and mtime, so an unchanged source is
    /// not read again to learn its hash.
    pub source: Option<String>,
}

/// The manifest of one output folder.
pub struct Manifest {
    /// The folder as the cache keys it (absolute).
    pub folder: String,
    pub files: HashMap<String, Recorded>,
    /// Whether the last write finished (`deploy` refuses a half-written folder).
    pub complete: bool,
}

/// The cache's key for an output folder: its absolute path.
pub fn folder_key(target: &Path) -> String {
    std::path::absolute(target)
        .unwrap_or_else(|_| target.to_path_buf())
        .display()
        .to_string()
}

pub fn load(store: &Store, target: &Path) -> Result<Manifest> {
    let folder = folder_key(target);
    let complete = store
        .conn()
        .query_row(
            "SELECT complete FROM output_folders WHERE folder = ?1",
            params![folder],
            |r| r.get::<_, i64>(0),
        )
        .map(|c| c != 0)
        .unwrap_or(false);
    let mut stmt = store
        .conn()
        .prepare("SELECT path, hash, size, mtime_ns, source FROM output_files WHERE folder = ?1")?;
    let files = stmt
        .query_map(params![folder], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Recorded {
                    hash: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    mtime_ns: r.get(3)?,
                    source: r.get(4)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<HashMap<_, _>>>()?;
    Ok(Manifest {
        folder,
        files,
        complete,
    })
}

/// What the last complete build into a folder was made from, to tell whether the
/// next one has anything to do.
#[derive(Debug, Clone, PartialEq)]
pub struct LastBuild {
    /// The fingerprint of its inputs.
    pub inputs: String,
    /// When it stops being up to date by itself (a post comes due, a card expires),
    /// in Unix seconds.
    pub due_at: Option<i64>,
    /// Its summary, to say again (JSON, the pipeline's to read).
    pub summary: String,
}

pub fn last_build(store: &Store, target: &Path) -> Result<Option<LastBuild>> {
    let row = store.conn().query_row(
        "SELECT inputs, due_at, summary FROM output_folders WHERE folder = ?1 AND complete = 1",
        params![folder_key(target)],
        |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    );
    match row {
        Ok((Some(inputs), due_at, Some(summary))) => Ok(Some(LastBuild {
            inputs,
            due_at,
            summary,
        })),
        Ok(_) | Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Remembers what the build that just wrote `target` was made from.
pub fn record_build(store: &mut Store, target: &Path, last: &LastBuild) -> Result<()> {
    let folder = folder_key(target);
    store.write(|tx| {
        tx.execute(
            "UPDATE output_folders SET inputs = ?2, due_at = ?3, summary = ?4 WHERE folder = ?1",
            params![folder, last.inputs, last.due_at, last.summary],
        )?;
        Ok(())
    })
}

/// Whether `target` holds exactly what the manifest says: every file with its
/// recorded size and mtime, and nothing else.
pub fn verify(store: &Store, target: &Path) -> Result<bool> {
    let manifest = load(store, target)?;
    if !manifest.complete {
        return Ok(false);
    }
    let intact = manifest.files.par_iter().all(|(rel, r)| {
        safe_rel(rel).is_ok_and(|p| stamp(&target.join(p)) == Some((r.size, r.mtime_ns)))
    });
    let wanted: HashSet<String> = manifest.files.into_keys().collect();
    let (extras, empty_folder) = unproduced_files(target, &wanted);
    Ok(intact && extras.is_empty() && !empty_folder)
}

/// Drops the manifest of `target` (`build --clean`).
pub fn forget(store: &mut Store, target: &Path) -> Result<()> {
    let folder = folder_key(target);
    store.write(|tx| {
        tx.execute(
            "DELETE FROM output_files WHERE folder = ?1",
            params![folder],
        )?;
        tx.execute(
            "DELETE FROM output_folders WHERE folder = ?1",
            params![folder],
        )?;
        Ok(())
    })
}

fn set_complete(store: &mut Store, folder: &str, complete: bool) -> Result<()> {
    store.write(|tx| {
        // Whatever the last build was made from no longer describes the folder.
        tx.execute(
            "INSERT INTO output_folders (folder, complete) VALUES (?1, ?2)
             ON CONFLICT(folder) DO UPDATE SET complete = excluded.complete, inputs = NULL",
            params![folder, complete as i64],
        )?;
        Ok(())
    })
}

/// Records what a write changed and marks the folder complete, in one transaction.
pub fn save(
    store: &mut Store,
    folder: &str,
    written: &[(String, Recorded)],
    removed: &[String],
) -> Result<()> {
    store.write(|tx| {
        let mut put = tx.prepare_cached(
            "INSERT INTO output_files (folder, path, hash, size, mtime_ns, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(folder, path) DO UPDATE SET hash = excluded.hash,
                 size = excluded.size, mtime_ns = excluded.mtime_ns, source = excluded.source",
        )?;
        for (path, r) in written {
            put.execute(params![
                folder,
                path,
                r.hash,
                r.size as i64,
                r.mtime_ns,
                r.source
            ])?;
        }
        let mut drop =
            tx.prepare_cached("DELETE FROM output_files WHERE folder = ?1 AND path = ?2")?;
        for path in removed {
            drop.execute(params![folder, path])?;
        }
        tx.execute(
            "INSERT INTO output_folders (folder, complete) VALUES (?1, 1)
             ON CONFLICT(folder) DO UPDATE SET complete = 1",
            params![folder],
        )?;
        Ok(())
    })
}

/// What to do with one produced file.
enum Decision {
    Keep(Recorded),
    Write {
        bytes: WriteFrom,
        hash: String,
        source: Option<String>,
    },
}

enum WriteFrom {
    Bytes(Vec<u8>),
    Builtin(&'static [u8]),
    /// The source was read to hash it; these are its bytes.
    Read(Vec<u8>),
}

impl WriteFrom {
    fn as_slice(&self) -> &[u8] {
        match self {
            WriteFrom::Bytes(b) | WriteFrom::Read(b) => b,
            WriteFrom::Builtin(b) => b,
        }
    }
}

/// The source stamp of a copied file: `size:mtime_ns`.
fn source_stamp(path: &Path) -> Option<String> {
    stamp(path).map(|(size, mtime)| format!("{size}:{mtime}"))
}

fn decide(
    target: &Path,
    rel: &str,
    produced: Produced,
    recorded: Option<&Recorded>,
) -> Result<Decision> {
    let on_disk = stamp(&target.join(safe_rel(rel)?));
    let intact = |r: &Recorded| on_disk == Some((r.size, r.mtime_ns));
    let (bytes, source) = match produced {
        Produced::File(path) => {
            let source = source_stamp(&path);
            if let Some(r) = recorded
                && source.is_some()
                && r.source == source
                && intact(r)
            {
                return Ok(Decision::Keep(r.clone()));
            }
            let bytes =
                fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
            (WriteFrom::Read(bytes), source)
        }
        Produced::Bytes(b) => (WriteFrom::Bytes(b), None),
        Produced::Builtin(b) => (WriteFrom::Builtin(b), None),
    };
    let hash = hash(bytes.as_slice());
    match recorded {
        Some(r) if r.hash == hash && intact(r) => Ok(Decision::Keep(Recorded {
            source,
            ..r.clone()
        })),
        _ => Ok(Decision::Write {
            bytes,
            hash,
            source,
        }),
    }
}

/// Brings `target` to exactly `produced`, recording the result in the manifest.
pub fn apply(
    target: &Path,
    store: &mut Store,
    produced: Vec<(String, Produced)>,
) -> Result<WriteSummary> {
    // Nothing in the folder: a cold write.
    let cold = fs::read_dir(target).map_or(true, |mut entries| entries.next().is_none());
    fs::create_dir_all(target)
        .with_context(|| format!("{}: cannot create the output folder", target.display()))?;
    let manifest = load(store, target)?;
    let wanted: HashSet<String> = produced.iter().map(|(p, _)| p.clone()).collect();
    let decisions: Vec<(String, Decision)> = produced
        .into_par_iter()
        .map(|(rel, p)| {
            let d = decide(target, &rel, p, manifest.files.get(&rel))?;
            Ok((rel, d))
        })
        .collect::<Result<_>>()?;
    let (extras, empty_folder) = unproduced_files(target, &wanted);
    let to_write = decisions
        .iter()
        .filter(|(_, d)| matches!(d, Decision::Write { .. }))
        .count();
    let removed_rows: Vec<String> = manifest
        .files
        .keys()
        .filter(|p| !wanted.contains(*p))
        .cloned()
        .collect();
    if to_write == 0
        && extras.is_empty()
        && !empty_folder
        && removed_rows.is_empty()
        && manifest.complete
    {
        return Ok(WriteSummary {
            unchanged: decisions.len(),
            ..WriteSummary::default()
        });
    }

    set_complete(store, &manifest.folder, false)?;
    extras.par_iter().for_each(|p| {
        let _ = fs::remove_file(p);
    });
    let written = write_all(target, decisions, cold)?;
    if !extras.is_empty() || empty_folder || !removed_rows.is_empty() || !manifest.complete {
        remove_empty_folders(target);
    }
    let summary = WriteSummary {
        written: written.iter().filter(|(_, _, fresh)| *fresh).count(),
        removed: extras.len(),
        unchanged: written.iter().filter(|(_, _, fresh)| !fresh).count(),
    };
    let rows: Vec<(String, Recorded)> = written
        .into_iter()
        .filter(|(path, r, fresh)| *fresh || manifest.files.get(path) != Some(r))
        .map(|(path, r, _)| (path, r))
        .collect();
    save(store, &manifest.folder, &rows, &removed_rows)?;
    Ok(summary)
}

/// Test-only: stop the process after this many files are written (to check that a
/// killed write is repaired by the next build).
const STOP_AFTER_ENV: &str = "ENISHI_TEST_STOP_AFTER_WRITES";

/// Writes what changed: folders first (each once, parents before children), then
/// files in parallel. Into a folder that was empty (`cold`) files are written in
/// place; otherwise through a temporary name, so a reader of the old site never sees
/// half a file. Returns every file's record and whether it was written now.
fn write_all(
    target: &Path,
    decisions: Vec<(String, Decision)>,
    cold: bool,
) -> Result<Vec<(String, Recorded, bool)>> {
    let mut folders: Vec<&Path> = Vec::new();
    for (rel, d) in &decisions {
        if matches!(d, Decision::Write { .. }) {
            folders.extend(Path::new(rel).ancestors().skip(1));
        }
    }
    folders.retain(|p| !p.as_os_str().is_empty());
    folders.sort_by(|a, b| (a.components().count(), a).cmp(&(b.components().count(), b)));
    folders.dedup();
    // Level by level, each level in parallel: a folder's parent exists before it,
    // and making a folder waits on the disk far more than on the processor.
    for level in folders.chunk_by(|a, b| a.components().count() == b.components().count()) {
        level
            .par_iter()
            .map(|folder| make_folder(&target.join(folder), cold))
            .collect::<Result<()>>()?;
    }
    let stop_after: Option<usize> = std::env::var(STOP_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let count = AtomicUsize::new(0);
    decisions
        .into_par_iter()
        .map(|(rel, d)| match d {
            Decision::Keep(r) => Ok((rel, r, false)),
            Decision::Write {
                bytes,
                hash,
                source,
            } => {
                let path = target.join(safe_rel(&rel)?);
                let (size, mtime_ns) = if cold {
                    crate::util::write_stamped(&path, bytes.as_slice())
                } else {
                    write_replacing(&path, bytes.as_slice())
                }
                .map_err(|e| anyhow!("{}: cannot write ({e})", path.display()))?;
                if stop_after.is_some_and(|n| count.fetch_add(1, Ordering::SeqCst) + 1 >= n) {
                    std::process::exit(86);
                }
                let r = Recorded {
                    hash,
                    size,
                    mtime_ns,
                    source,
                };
                Ok((rel, r, true))
            }
        })
        .collect()
}

/// Makes one folder whose parent exists. Outside a cold write, a file where the
/// folder must go (left by hand) gives way.
fn make_folder(path: &Path, cold: bool) -> Result<()> {
    if !cold && path.is_dir() {
        return Ok(());
    }
    if !cold && path.exists() {
        let _ = fs::remove_file(path);
    }
    match fs::create_dir(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(anyhow!("{}: cannot create folder ({e})", path.display()))
        }
        _ => Ok(()),
    }
}

/// Writes through a temporary name, renamed into place.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<(u64, i64)> {
    if path.is_dir() {
        // A folder where a file must go (left by hand) gives way.
        let _ = fs::remove_dir_all(path);
    }
    crate::util::write_atomic(path, bytes)
}

/// Files under `target` that the build did not produce (removed pages, hand-made
/// files, temporary files of a killed write), and whether any folder is empty.
fn unproduced_files(target: &Path, wanted: &HashSet<String>) -> (Vec<PathBuf>, bool) {
    let mut extras = Vec::new();
    let mut folders: HashSet<PathBuf> = HashSet::new();
    let mut parents: HashSet<PathBuf> = HashSet::new();
    for e in walkdir::WalkDir::new(target)
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if let Some(parent) = e.path().parent() {
            parents.insert(parent.to_path_buf());
        }
        if e.file_type().is_dir() {
            folders.insert(e.into_path());
            continue;
        }
        let rel = e.path().strip_prefix(target).unwrap_or(e.path());
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !wanted.contains(&rel) {
            extras.push(e.into_path());
        }
    }
    let empty_folder = folders.iter().any(|f| !parents.contains(f));
    (extras, empty_folder)
}

/// Removes folders left empty, deepest first.
fn remove_empty_folders(target: &Path) {
    let mut folders: Vec<(usize, PathBuf)> = walkdir::WalkDir::new(target)
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir())
        .map(|e| (e.depth(), e.into_path()))
        .collect();
    folders.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, folder) in folders {
        // Fails (and so keeps the folder) unless it is empty.
        let _ = fs::remove_dir(&folder);
    }
}
