//! The build cache's SQLite handle: open, integrity check, move-aside of a damaged or
//! foreign file, forward migrations and write transactions. It knows no table: each
//! stage declares its own [`Tables`] (cards in `enrich::cards`, images in
//! `enrich::images`, term counts in `related`) and reads and writes them itself.
//!
//! Migrations are per owner, so a stage that adds, drops or changes a table upgrades
//! the file in place and every other stage keeps its cached rows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

/// `PRAGMA application_id`: "ENSH".
const APPLICATION_ID: i64 = 0x454E_5348;
/// `PRAGMA user_version`: the file's layout. 1 had one fixed schema; 2 keeps a
/// version per owner in `schema_versions`.
const FORMAT_VERSION: i64 = 2;
/// How long a writer waits for another process (`build` beside `related`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A stage's tables: `migrations[k]` takes them from version `k` to `k + 1`. Steps
/// are only ever appended. The first step of a table that existed in format 1 must
/// be `CREATE TABLE IF NOT EXISTS` with that format's columns, so a format-1 file
/// keeps its rows.
#[derive(Debug)]
pub struct Tables {
    pub owner: &'static str,
    pub migrations: &'static [&'static str],
}

pub struct Store {
    conn: Connection,
    /// The cache file as messages name it (relative to the site).
    shown: String,
    /// The file cannot be written: it is read as it is, and writes are skipped.
    read_only: bool,
}

/// Why a file could not be used: damaged or foreign files are moved aside; a file
/// from a newer Enishi is left alone (moving it would throw away that version's
/// cache), and so is a read-only one that would need upgrading.
enum OpenError {
    Unusable(String),
    /// Not to be touched; the message says why and what to do.
    Refused(String),
}

impl Store {
    /// Opens the site's cache (`[cache] path`, by default `.enishi/cache.sqlite`) and
    /// brings `tables` up to date.
    pub fn open_for(
        site: &crate::config::Site,
        tables: &[&Tables],
    ) -> Result<(Store, Option<String>)> {
        let path = site.cache_path();
        Store::open(&path, &crate::util::display_rel(&site.root, &path), tables)
    }

    /// Opens (or creates) the cache at `path`. The returned message, if any, says that
    /// a damaged or foreign file was moved aside (the caller names the file).
    pub fn open(path: &Path, shown: &str, tables: &[&Tables]) -> Result<(Store, Option<String>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create cache folder", dir.display()))?;
        }
        let named = |conn: Connection| Store {
            read_only: conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false),
            conn,
            shown: shown.to_string(),
        };
        match open_checked(path, tables) {
            Ok(conn) => {
                let store = named(conn);
                let note = store.read_only.then(|| {
                    "cannot be written (read-only); it is used as it is and nothing new is saved in it (make it writable to keep new results)".to_string()
                });
                Ok((store, note))
            }
            Err(OpenError::Refused(why)) => Err(anyhow!("{shown}: {why}")),
            Err(OpenError::Unusable(reason)) => {
                let aside = move_aside(path)?;
                let conn = open_checked(path, tables).map_err(|e| {
                    let (OpenError::Unusable(e) | OpenError::Refused(e)) = e;
                    anyhow!("{shown}: cannot create a new cache: {e} (check that the folder is writable)")
                })?;
                Ok((
                    named(conn),
                    Some(format!(
                        "{reason}; moved it to {} and started a new cache",
                        aside.display()
                    )),
                ))
            }
        }
    }

    /// The cache file as messages name it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The connection, for a stage's reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The rows of a three-text-column query with one parameter.
    pub fn text_triples(&self, sql: &str, key: &str) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params![key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs `f` in one write transaction, taken at once (`BEGIN IMMEDIATE`) so a
    /// concurrent `build` and `related` queue up behind the busy timeout.
    pub fn write(&mut self, f: impl FnOnce(&rusqlite::Transaction) -> Result<()>) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        f(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

fn open_checked(path: &Path, tables: &[&Tables]) -> std::result::Result<Connection, OpenError> {
    let unusable = |e: rusqlite::Error| OpenError::Unusable(format!("not a usable cache ({e})"));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .map_err(|e| OpenError::Unusable(format!("cannot open ({e})")))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unusable)?;
    let pragma = |name: &str| -> rusqlite::Result<i64> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
    };
    let app_id = pragma("application_id").map_err(unusable)?;
    let version = pragma("user_version").map_err(unusable)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(unusable)?;
    let empty = app_id == 0 && objects == 0;
    if app_id != APPLICATION_ID && !empty {
        return Err(OpenError::Unusable("is not an Enishi cache".into()));
    }
    if app_id == APPLICATION_ID && !(1..=FORMAT_VERSION).contains(&version) {
        return Err(if version > FORMAT_VERSION {
            OpenError::Refused(format!(
                "was written by a newer Enishi (cache format {version}; this one reads up to {FORMAT_VERSION}): upgrade Enishi, or set [cache] path in site.toml to another file"
            ))
        } else {
            OpenError::Unusable(format!("has an unknown cache format ({version})"))
        });
    }
    // The integrity check reads the whole file: once per process and file state is
    // enough (`serve` opens the cache on every save).
    if !already_checked(path) {
        let ok: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(unusable)?;
        if ok != "ok" {
            return Err(OpenError::Unusable(format!("is damaged ({ok})")));
        }
        mark_checked(path);
    }
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        check_current(&conn, tables)?;
        return Ok(conn);
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(unusable)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(unusable)?;
    migrate(&conn, tables)?;
    Ok(conn)
}

/// A read-only file is usable only when it needs no migration.
fn check_current(conn: &Connection, tables: &[&Tables]) -> std::result::Result<(), OpenError> {
    let version = |owner: &str| -> i64 {
        conn.query_row(
            "SELECT version FROM schema_versions WHERE owner = ?1",
            params![owner],
            |r| r.get(0),
        )
        .unwrap_or(0)
    };
    for t in tables {
        if version(t.owner) != t.migrations.len() as i64 {
            return Err(OpenError::Refused(format!(
                "is read-only and its {} tables are of another Enishi version (make it writable once so it can be upgraded)",
                t.owner
            )));
        }
    }
    Ok(())
}

/// Brings every owner's tables to its newest version in one transaction.
fn migrate(conn: &Connection, tables: &[&Tables]) -> std::result::Result<(), OpenError> {
    let unusable = |e: rusqlite::Error| OpenError::Unusable(format!("cannot be upgraded ({e})"));
    conn.execute_batch("BEGIN IMMEDIATE").map_err(unusable)?;
    let result = (|| {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_versions (
                 owner TEXT PRIMARY KEY,
                 version INTEGER NOT NULL
             )",
        )
        .map_err(unusable)?;
        for t in tables {
            let at: i64 = conn
                .query_row(
                    "SELECT coalesce(max(version), 0) FROM schema_versions WHERE owner = ?1",
                    params![t.owner],
                    |r| r.get(0),
                )
                .map_err(unusable)?;
            let known = t.migrations.len() as i64;
            if at > known {
                return Err(OpenError::Refused(format!(
                    "holds {} tables of a newer Enishi (version {at}; this one knows up to {known}): upgrade Enishi, or set [cache] path in site.toml to another file",
                    t.owner
                )));
            }
            for step in &t.migrations[at as usize..] {
                conn.execute_batch(step).map_err(unusable)?;
            }
            if at < known {
                conn.execute(
                    "INSERT INTO schema_versions (owner, version) VALUES (?1, ?2)
                     ON CONFLICT(owner) DO UPDATE SET version = excluded.version",
                    params![t.owner, known],
                )
                .map_err(unusable)?;
            }
        }
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {FORMAT_VERSION};"
        ))
        .map_err(unusable)
    })();
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.execute_batch(end).map_err(unusable);
    result.and(ended)
}

/// A cache file as last checked: its path, size and modification time. Anything
/// that rewrites the file (another process, a damaged disk) gets it checked again.
type FileStamp = (PathBuf, u64, Option<std::time::SystemTime>);

fn checked_paths() -> &'static std::sync::Mutex<std::collections::HashSet<FileStamp>> {
    static CHECKED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<FileStamp>>> =
        std::sync::OnceLock::new();
    CHECKED.get_or_init(Default::default)
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((path.to_path_buf(), meta.len(), meta.modified().ok()))
}

fn already_checked(path: &Path) -> bool {
    let Some(stamp) = stamp(path) else {
        return false;
    };
    checked_paths()
        .lock()
        .map(|set| set.contains(&stamp))
        .unwrap_or(false)
}

fn mark_checked(path: &Path) {
    if let (Some(stamp), Ok(mut set)) = (stamp(path), checked_paths().lock()) {
        set.insert(stamp);
    }
}

/// Renames a damaged cache (and its WAL files) to `<name>.corrupt[-N]`.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let mut n = 0;
    let aside = loop {
        let candidate = if n == 0 {
            path.with_extension("sqlite.corrupt")
        } else {
            path.with_extension(format!("sqlite.corrupt-{n}"))
        };
        if !candidate.exists() {
            break candidate;
        }
        n += 1;
    };
    std::fs::rename(path, &aside)
        .with_context(|| format!("{}: cannot move the damaged cache aside", path.display()))?;
    if let Ok(mut set) = checked_paths().lock() {
        set.retain(|(p, _, _)| p != path);
    }
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(&side, PathBuf::from(format!("{}{suffix}", aside.display())));
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: Tables = Tables {
        owner: "t",
        migrations: &["CREATE TABLE IF NOT EXISTS a (x TEXT)"],
    };
    const V2: Tables = Tables {
        owner: "t",
        migrations: &[
            "CREATE TABLE IF NOT EXISTS a (x TEXT)",
            "ALTER TABLE a ADD COLUMN y TEXT",
        ],
    };

    #[test]
    fn migrations_run_once_and_keep_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        let (mut s, w) = Store::open(&path, "c", &[&V1]).unwrap();
        assert!(w.is_none());
        s.write(|tx| Ok(tx.execute_batch("INSERT INTO a (x) VALUES ('kept')")?))
            .unwrap();
        drop(s);
        let (s, w) = Store::open(&path, "c", &[&V2]).unwrap();
        assert!(w.is_none());
        let row: (String, Option<String>) = s
            .conn()
            .query_row("SELECT x, y FROM a", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, ("kept".to_string(), None));
        drop(s);
        // Reopening runs nothing again (the ALTER would fail on a second run).
        Store::open(&path, "c", &[&V2]).unwrap();
        // An older Enishi refuses the newer file without moving it.
        let e = Store::open(&path, "c", &[&V1]).err().unwrap().to_string();
        assert!(e.contains("newer Enishi"), "{e}");
        assert!(path.is_file());
    }
}
