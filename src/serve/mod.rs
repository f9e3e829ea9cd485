//! `enishi serve`: the writing loop. The site is generated into memory (never
//! into `public/`) and served over HTTP; unless `--no-watch`, a save rebuilds what
//! changed and the browser reloads through a Server-Sent Events stream.
//!
//! Threads: the HTTP server runs on a small tokio runtime; rebuilds run on the
//! calling thread, one at a time; a background thread fetches link cards and images
//! the cache lacks, so the network never blocks an edit. A finished rebuild swaps
//! one `Arc` of files, so a request sees either the old site or the new one.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use axum::Router;
use notify::Watcher;
use tokio::sync::broadcast;

use crate::config::{CONFIG_FILE, Site};
use crate::enrich::Mode;
use crate::pipeline::{self, BuildOptions, Uncached, Warm};
use crate::report::{Reporter, Warning, WarningKind};
pub use state::EVENTS_PATH;
use state::{LiveEvent, Memory, Shared, Snapshot};

mod http;
mod state;

/// How long the watcher waits for a burst of file events (an editor's save) to end.
const DEBOUNCE: Duration = Duration::from_millis(40);

pub struct ServeOptions {
    pub source: PathBuf,
    pub bind: IpAddr,
    /// 0 picks a free port (tests use this).
    pub port: u16,
    pub drafts: bool,
    pub watch: bool,
    pub open: bool,
}

enum Message {
    Changed(Vec<PathBuf>),
    /// The background fetcher filled the cache: rebuild to show the new cards.
    Fetched,
    Shutdown,
}

pub fn serve(opts: ServeOptions) -> Result<()> {
    let site = Site::load(&opts.source, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the HTTP runtime")?;
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow!(
                "{addr} is already in use (is another `enishi serve` running? choose another port with --port {})",
                opts.port.wrapping_add(1).max(1024)
            )
        } else {
            anyhow!("cannot listen on {addr}: {e} (check --bind and --port)")
        }
    })?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let host = if opts.bind.is_unspecified() {
        "localhost".to_string()
    } else {
        match local.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        }
    };
    let url = format!("http://{host}:{}/", local.port());

    let build_opts = BuildOptions {
        source: opts.source.clone(),
        base_url: Some(url.clone()),
        drafts: opts.drafts,
        // The edit loop never waits for the network: cards and images come from the
        // cache; the background fetcher fills it and triggers a rebuild.
        links: Mode::Offline,
        ..Default::default()
    };
    let (events, _) = broadcast::channel(64);
    let shared = Arc::new(Shared {
        current: RwLock::new(Arc::new(Snapshot::default())),
        error: RwLock::new(None),
        warnings: RwLock::new(Vec::new()),
        events,
        reload_script: opts
            .watch
            .then(|| http::reload_script(&site.config.language)),
    });
    let mut warm = Warm::default();
    let config_names: Vec<std::ffi::OsString> = site
        .config_files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_os_string()))
        .collect();
    let (tx, rx) = mpsc::channel::<Message>();
    let fetching = Arc::new(AtomicBool::new(false));
    // Watching starts before the first build, so no save is missed in between.
    let _watcher = if opts.watch {
        Some(watch(&site, tx.clone())?)
    } else {
        None
    };
    let uncached = rebuild(&build_opts, &mut warm, &shared, &[], Trigger::Start);
    spawn_fetch(&build_opts, uncached.unwrap_or_default(), &fetching, &tx);
    // From now on a save shows the text at once with the last related lists, and the
    // fresh lists follow (see `Warm::defer_related`).
    warm.defer_related = true;

    let app = Router::new()
        .route(EVENTS_PATH, axum::routing::get(http::events_handler))
        .fallback(http::file_handler)
        .with_state(Arc::clone(&shared));
    let server_shared = Arc::clone(&shared);
    let shutdown_tx = tx.clone();
    let server = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = tokio::signal::ctrl_c().await;
                let _ = server_shared.events.send(LiveEvent::Shutdown);
                let _ = shutdown_tx.send(Message::Shutdown);
            })
            .await
    });
    println!("serving {} at {url} (Ctrl-C to stop)", site.config.title);

    if opts.open {
        open_browser(&url);
    }

    let mut seen = Seen::default();
    while let Ok(msg) = rx.recv() {
        let (mut changed, mut fetched) = match msg {
            Message::Shutdown => break,
            Message::Fetched => (Vec::new(), true),
            Message::Changed(paths) => (paths, false),
        };
        // Collect the rest of the burst (editors write, rename and touch).
        let mut shutdown = false;
        while let Ok(more) = rx.recv_timeout(DEBOUNCE) {
            match more {
                Message::Changed(paths) => changed.extend(paths),
                Message::Fetched => fetched = true,
                Message::Shutdown => shutdown = true,
            }
        }
        if shutdown {
            break;
        }
        // One rebuild per save: events whose files hold what they held at the
        // last build (an editor's second write, a touch) change nothing.
        let changed = seen.really_changed(changed);
        if changed.is_empty() && !fetched {
            continue;
        }
        if changed.iter().any(|p| is_config(p, &config_names)) {
            // Settings change how every file is parsed: start cold.
            warm = Warm::default();
        }
        let trigger = if changed.is_empty() {
            Trigger::Fetched
        } else {
            Trigger::Save
        };
        let uncached = rebuild(&build_opts, &mut warm, &shared, &changed, trigger);
        if uncached.is_some() && warm.related_stale {
            warm.defer_related = false;
            rebuild(&build_opts, &mut warm, &shared, &[], Trigger::Related);
            warm.defer_related = true;
        }
        spawn_fetch(&build_opts, uncached.unwrap_or_default(), &fetching, &tx);
    }
    runtime.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    });
    println!("stopped");
    Ok(())
}

/// Why a build runs; a build that follows another for the same save (fresh
/// related lists, fetched cards) prints only what is new.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Start,
    Save,
    Related,
    Fetched,
}

/// What each changed file held when it was last seen, so a burst of events that
/// changes no file's bytes makes no rebuild.
#[derive(Default)]
struct Seen(HashMap<PathBuf, Option<blake3::Hash>>);

impl Seen {
    fn really_changed(&mut self, paths: Vec<PathBuf>) -> Vec<PathBuf> {
        paths
            .into_iter()
            .filter(|p| {
                let now = content_hash(p);
                self.0.insert(p.clone(), now) != Some(now)
            })
            .collect()
    }
}

/// A file's bytes' hash (its size and time when large); None for a folder or a
/// file that is gone.
fn content_hash(path: &Path) -> Option<blake3::Hash> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    if meta.len() > 8 * 1024 * 1024 {
        let stamp = format!("{}:{:?}", meta.len(), meta.modified().ok());
        return Some(blake3::hash(stamp.as_bytes()));
    }
    std::fs::read(path).ok().map(|b| blake3::hash(&b))
}

/// Builds into memory; on success swaps the files in and tells the browsers.
/// Returns what the cache lacked, for the background fetcher (None if it failed).
fn rebuild(
    opts: &BuildOptions,
    warm: &mut Warm,
    shared: &Shared,
    changed: &[PathBuf],
    trigger: Trigger,
) -> Option<Uncached> {
    let started = Instant::now();
    let css_only = !changed.is_empty()
        && changed
            .iter()
            .all(|p| p.extension().is_some_and(|e| e == "css"));
    // Static files are served from disk, so their edits never show up as changed output.
    let static_touched = changed
        .iter()
        .any(|p| p.components().any(|c| c.as_os_str() == "static"));
    let first = shared
        .current
        .read()
        .map(|c| c.files.is_empty())
        .unwrap_or(true);
    let reporter = Reporter::new(true);
    let built = pipeline::generate(opts, Some(warm), &reporter).and_then(|mut generated| {
        let uncached = std::mem::take(&mut generated.uncached);
        let report = pipeline::publish(generated, &mut Memory { shared }, false, &reporter)?;
        Ok((report, uncached))
    });
    let (report, uncached) = match built {
        Ok(built) => built,
        Err(e) => {
            let message = crate::util::one_line(&e);
            eprintln!("error: {message}");
            if let Ok(mut err) = shared.error.write() {
                *err = Some(message.clone());
            }
            let _ = shared.events.send(LiveEvent::Error(message));
            return None;
        }
    };
    let was_broken = shared
        .error
        .write()
        .map(|mut e| e.take().is_some())
        .unwrap_or(false);
    // Each warning once per save: a follow-up build says only what is new.
    let before: Vec<Warning> = match trigger {
        Trigger::Related | Trigger::Fetched => shared
            .warnings
            .read()
            .map(|w| w.clone())
            .unwrap_or_default(),
        Trigger::Start | Trigger::Save => Vec::new(),
    };
    for w in report.warnings.iter().filter(|w| !before.contains(w)) {
        eprintln!("warning: {w}");
    }
    let event = if was_broken {
        Some(LiveEvent::Reload)
    } else if css_only {
        Some(LiveEvent::Css)
    } else if report.written.changed() > 0 || static_touched {
        Some(LiveEvent::Reload)
    } else {
        None
    };
    if first {
        println!(
            "built {} pages in {} ms",
            report.pages,
            started.elapsed().as_millis()
        );
    } else if trigger == Trigger::Related {
        if report.written.changed() > 0 {
            println!(
                "related posts updated in {} ms",
                started.elapsed().as_millis()
            );
        }
    } else {
        println!(
            "rebuilt in {} ms: {} files changed{}",
            started.elapsed().as_millis(),
            report.written.changed(),
            match &event {
                Some(LiveEvent::Reload) => ", reloading",
                Some(LiveEvent::Css) => ", swapping stylesheets",
                _ => "",
            }
        );
    }
    // The page's warning panel changes only when the warnings do.
    let new_warnings = shared
        .warnings
        .write()
        .map(|mut w| {
            let changed = *w != report.warnings;
            *w = report.warnings.clone();
            changed
        })
        .unwrap_or(false);
    if new_warnings {
        let _ = shared.events.send(LiveEvent::Warnings(report.warnings));
    }
    if let Some(e) = event {
        let _ = shared.events.send(e);
    }
    Some(uncached)
}

/// Fetches, in the background, the link cards and images the cache lacks; when any
/// request was made, asks for a rebuild so the page shows them.
fn spawn_fetch(
    opts: &BuildOptions,
    uncached: Uncached,
    running: &Arc<AtomicBool>,
    tx: &mpsc::Sender<Message>,
) {
    if uncached.is_empty() || running.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut opts = opts.clone();
    opts.links = Mode::Online;
    let running = Arc::clone(running);
    let tx = tx.clone();
    std::thread::spawn(move || {
        let reporter = Reporter::quiet();
        let fetched = pipeline::fetch_uncached(&opts, &uncached, &reporter);
        // The build that follows shows the failed cards and images; only a cache
        // that had to be moved aside is said here.
        for w in reporter.take_warnings() {
            if w.kind == WarningKind::Cache {
                eprintln!("warning: {w}");
            }
        }
        let made_requests = match fetched {
            Ok(n) => n,
            Err(e) => {
                eprintln!(
                    "warning: fetching link cards and images: {}",
                    crate::util::one_line(&e)
                );
                0
            }
        };
        running.store(false, Ordering::SeqCst);
        if made_requests > 0 {
            let _ = tx.send(Message::Fetched);
        }
    });
}

/// Watches everything a build reads and sends the changed paths.
fn watch(site: &Site, tx: mpsc::Sender<Message>) -> Result<notify::RecommendedWatcher> {
    let root = site.root.clone();
    let ignored = [
        root.join("public"),
        root.join(".enishi"),
        site.cache_path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        root.join("target"),
    ];
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| !ignored.iter().any(|i| p.starts_with(i)))
            .filter(|p| !is_editor_noise(p))
            .collect();
        if !paths.is_empty() {
            let _ = tx.send(Message::Changed(paths));
        }
    })
    .context("cannot start the file watcher")?;
    let mut watched = vec![
        (site.root.join("content"), true),
        (site.root.join("templates"), true),
        (site.root.join("themes"), true),
        (site.root.join("static"), true),
        (site.root.join("dictionaries"), true),
        (site.root.join(CONFIG_FILE), false),
        // A Hugo site's settings: hugo.toml and the like, and config/_default/.
        (site.root.join("config"), true),
    ];
    watched.extend(site.config_files.iter().map(|f| (f.clone(), false)));
    if let Some(dict) = &site.config.related.user_dictionary {
        watched.push((site.root.join(dict), false));
    }
    for (path, recursive) in watched {
        if path.exists() {
            let mode = if recursive {
                notify::RecursiveMode::Recursive
            } else {
                notify::RecursiveMode::NonRecursive
            };
            watcher
                .watch(&path, mode)
                .with_context(|| format!("{}: cannot watch", path.display()))?;
        }
    }
    Ok(watcher)
}

/// Whether a changed path is one of the site's settings files (`config_names`: the
/// file names the settings were read from), or under a Hugo site's `config/`.
fn is_config(path: &std::path::Path, config_names: &[std::ffi::OsString]) -> bool {
    let named = path
        .file_name()
        .is_some_and(|n| n == CONFIG_FILE || config_names.iter().any(|c| c == n));
    let in_config_dir = path
        .components()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0].as_os_str() == "config" && w[1].as_os_str() == "_default");
    named || in_config_dir
}

/// Swap files, backups and lock files that editors write beside the real one.
fn is_editor_noise(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with(".#")
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(opener).arg(url).spawn().is_err() {
        eprintln!("note: could not start {opener}; open {url} yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_files_are_recognised_whatever_their_format() {
        let names = vec![std::ffi::OsString::from("hugo.yaml")];
        assert!(is_config(std::path::Path::new("/s/hugo.yaml"), &names));
        assert!(is_config(std::path::Path::new("/s/site.toml"), &names));
        assert!(is_config(
            std::path::Path::new("/s/config/_default/params.toml"),
            &names
        ));
        assert!(!is_config(
            std::path::Path::new("/s/content/hugo.md"),
            &names
        ));
    }
}
