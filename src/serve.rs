//! `enishi serve [--watch]`: the writing loop. The site is generated into memory
//! (never into `public/`) and served over HTTP; with `--watch`, a save rebuilds what
//! changed and the browser reloads through a Server-Sent Events stream.
//!
//! Threads: the HTTP server runs on a small tokio runtime; rebuilds run on the
//! calling thread, one at a time; a background thread fetches link cards and images
//! the cache lacks, so the network never blocks an edit. A finished rebuild swaps
//! one `Arc` of files, so a request sees either the old site or the new one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use notify::Watcher;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;

use crate::config::{CONFIG_FILE, Site};
use crate::enrich::cards::Mode;
use crate::pipeline::{self, BuildOptions, Uncached, Warm};
use crate::theme::StaticSource;

/// The path of the live-reload event stream.
pub const EVENTS_PATH: &str = "/__enishi/events";
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

/// What the browser is told.
#[derive(Debug, Clone)]
enum LiveEvent {
    Reload,
    /// Only stylesheets changed: swap them without a reload.
    Css,
    /// The build failed: show an overlay with this one-line message.
    Error(String),
    Shutdown,
}

/// One served file.
#[derive(Clone)]
enum Asset {
    Bytes(Arc<Vec<u8>>),
    File(PathBuf),
    Builtin(&'static [u8]),
}

#[derive(Default)]
struct Snapshot {
    files: HashMap<String, Asset>,
}

struct Shared {
    current: RwLock<Arc<Snapshot>>,
    /// The last build error, shown to pages opened while the site is broken.
    error: RwLock<Option<String>>,
    events: broadcast::Sender<LiveEvent>,
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
        progress: true,
        // The edit loop never waits for the network: cards and images come from the
        // cache; the background fetcher fills it and triggers a rebuild.
        links: Mode::Offline,
        ..Default::default()
    };
    let (events, _) = broadcast::channel(64);
    let shared = Arc::new(Shared {
        current: RwLock::new(Arc::new(Snapshot::default())),
        error: RwLock::new(None),
        events,
    });
    let mut warm = Warm::default();
    let (tx, rx) = mpsc::channel::<Message>();
    let fetching = Arc::new(AtomicBool::new(false));
    // Watching starts before the first build, so no save is missed in between.
    let _watcher = if opts.watch {
        Some(watch(&site, tx.clone())?)
    } else {
        None
    };
    let uncached = rebuild(&build_opts, &mut warm, &shared, &[]);
    spawn_fetch(&build_opts, uncached.unwrap_or_default(), &fetching, &tx);
    // From now on a save shows the text at once with the last related lists, and the
    // fresh lists follow (see `Warm::defer_related`).
    warm.defer_related = true;

    let app = Router::new()
        .route(EVENTS_PATH, axum::routing::get(events_handler))
        .fallback(file_handler)
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

    while let Ok(msg) = rx.recv() {
        let mut changed = match msg {
            Message::Shutdown => break,
            Message::Fetched => Vec::new(),
            Message::Changed(paths) => paths,
        };
        // Collect the rest of the burst (editors write, rename and touch).
        let mut shutdown = false;
        while let Ok(more) = rx.recv_timeout(DEBOUNCE) {
            match more {
                Message::Changed(paths) => changed.extend(paths),
                Message::Fetched => {}
                Message::Shutdown => shutdown = true,
            }
        }
        if shutdown {
            break;
        }
        if changed
            .iter()
            .any(|p| p.file_name().is_some_and(|n| n == CONFIG_FILE))
        {
            // Settings change how every file is parsed: start cold.
            warm = Warm::default();
        }
        let uncached = rebuild(&build_opts, &mut warm, &shared, &changed);
        if uncached.is_some() && warm.related_stale {
            warm.defer_related = false;
            rebuild(&build_opts, &mut warm, &shared, &[]);
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

/// Builds into memory; on success swaps the files in and tells the browsers.
/// Returns what the cache lacked, for the background fetcher (None if it failed).
fn rebuild(
    opts: &BuildOptions,
    warm: &mut Warm,
    shared: &Shared,
    changed: &[PathBuf],
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
    match pipeline::generate(opts, Some(warm)) {
        Ok(generated) => {
            let mut files: HashMap<String, Asset> = HashMap::new();
            let uncached = generated.uncached;
            let previous = shared.current.read().map(|c| Arc::clone(&c)).ok();
            // Only pages whose bytes changed are checked for mixed content again.
            let changed_html: Vec<crate::render::OutputFile> = generated
                .pages
                .iter()
                .filter(|p| p.path.ends_with(".html"))
                .filter(|p| {
                    previous
                        .as_ref()
                        .and_then(|old| old.files.get(&p.path))
                        .is_none_or(|old| !matches!(old, Asset::Bytes(b) if **b == p.bytes))
                })
                .map(|p| crate::render::OutputFile {
                    path: p.path.clone(),
                    bytes: p.bytes.clone(),
                })
                .collect();
            let mut warnings = generated.report.warnings.clone();
            let css: std::collections::BTreeMap<String, StaticSource> = generated
                .files
                .iter()
                .filter(|(k, _)| k.ends_with(".css"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match pipeline::audit(&changed_html, &css) {
                Ok(w) => warnings.extend(w),
                Err(e) => warnings.push(crate::util::one_line(&e)),
            }
            for page in generated.pages {
                files.insert(page.path, Asset::Bytes(Arc::new(page.bytes)));
            }
            for (rel, src) in generated.files {
                files.insert(
                    rel,
                    match src {
                        StaticSource::File(p) => Asset::File(p),
                        StaticSource::Builtin(b) => Asset::Builtin(b),
                    },
                );
            }
            let first = previous.as_ref().is_none_or(|old| old.files.is_empty());
            let changed_pages = previous
                .as_ref()
                .map_or(files.len(), |old| changed_files(old, &files));
            if let Ok(mut current) = shared.current.write() {
                *current = Arc::new(Snapshot { files });
            }
            let was_broken = shared
                .error
                .write()
                .map(|mut e| e.take().is_some())
                .unwrap_or(false);
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let event = if was_broken {
                Some(LiveEvent::Reload)
            } else if css_only {
                Some(LiveEvent::Css)
            } else if changed_pages > 0 || static_touched {
                Some(LiveEvent::Reload)
            } else {
                None
            };
            if first {
                println!(
                    "built {} pages in {} ms",
                    generated.report.pages,
                    started.elapsed().as_millis()
                );
            } else {
                println!(
                    "rebuilt in {} ms: {} files changed{}",
                    started.elapsed().as_millis(),
                    changed_pages,
                    match &event {
                        Some(LiveEvent::Reload) => ", reloading",
                        Some(LiveEvent::Css) => ", swapping stylesheets",
                        _ => "",
                    }
                );
            }
            if let Some(e) = event {
                let _ = shared.events.send(e);
            }
            Some(uncached)
        }
        Err(e) => {
            let message = crate::util::one_line(&e);
            eprintln!("error: {message}");
            if let Ok(mut err) = shared.error.write() {
                *err = Some(message.clone());
            }
            let _ = shared.events.send(LiveEvent::Error(message));
            None
        }
    }
}

/// How many files differ between two snapshots (added, removed or changed).
fn changed_files(old: &Snapshot, new: &HashMap<String, Asset>) -> usize {
    let same = |a: &Asset, b: &Asset| match (a, b) {
        (Asset::Bytes(x), Asset::Bytes(y)) => x == y,
        (Asset::File(x), Asset::File(y)) => x == y,
        (Asset::Builtin(x), Asset::Builtin(y)) => x == y,
        _ => false,
    };
    let changed = new
        .iter()
        .filter(|(k, v)| old.files.get(*k).is_none_or(|o| !same(o, v)))
        .count();
    let removed = old.files.keys().filter(|k| !new.contains_key(*k)).count();
    changed + removed
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
    opts.progress = false;
    let running = Arc::clone(running);
    let tx = tx.clone();
    std::thread::spawn(move || {
        let made_requests = match pipeline::fetch_uncached(&opts, &uncached) {
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
    ];
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

async fn events_handler(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let rx = shared.events.subscribe();
    // A page opened while the build is broken sees the error at once.
    let initial: Vec<LiveEvent> = shared
        .error
        .read()
        .ok()
        .and_then(|e| e.clone())
        .map(LiveEvent::Error)
        .into_iter()
        .collect();
    // Forward until (and including) the shutdown event, then end the stream so the
    // server can stop without waiting for browsers to hang up.
    let (tx, out) = tokio::sync::mpsc::channel::<LiveEvent>(16);
    tokio::spawn(async move {
        for e in initial {
            if tx.send(e).await.is_err() {
                return;
            }
        }
        let mut rx = rx;
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let last = matches!(e, LiveEvent::Shutdown);
                    if tx.send(e).await.is_err() || last {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(out).map(|e| {
        Ok::<_, Infallible>(match e {
            LiveEvent::Reload => Event::default().event("reload").data("{}"),
            LiveEvent::Css => Event::default().event("css").data("{}"),
            LiveEvent::Error(message) => Event::default()
                .event("error")
                .data(serde_json::json!({ "message": message }).to_string()),
            LiveEvent::Shutdown => Event::default().event("shutdown").data("{}"),
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn file_handler(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let snapshot = shared.current.read().map(|c| Arc::clone(&c)).ok();
    let Some(snapshot) = snapshot else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let decoded = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .to_string();
    let rel = decoded.trim_start_matches('/');
    if rel.split('/').any(|seg| seg == "..") {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let candidates = if rel.is_empty() || rel.ends_with('/') {
        vec![format!("{rel}index.html")]
    } else {
        vec![rel.to_string()]
    };
    for c in &candidates {
        if let Some(asset) = snapshot.files.get(c) {
            return respond(StatusCode::OK, c, asset).await;
        }
    }
    // `/2024/05/26/a` → `/2024/05/26/a/` when that is a page, as a static host does.
    if !rel.is_empty()
        && !rel.ends_with('/')
        && snapshot.files.contains_key(&format!("{rel}/index.html"))
    {
        let location = format!("{}/", uri.path());
        let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        return response;
    }
    match snapshot.files.get("404.html") {
        Some(page) => respond(StatusCode::NOT_FOUND, "404.html", page).await,
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn respond(status: StatusCode, path: &str, asset: &Asset) -> Response {
    let bytes: Vec<u8> = match asset {
        Asset::Bytes(b) => b.as_ref().clone(),
        Asset::Builtin(b) => b.to_vec(),
        Asset::File(p) => match tokio::fs::read(p).await {
            Ok(b) => b,
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    let content_type = content_type(path);
    let body = if content_type.starts_with("text/html") {
        inject_reload_script(bytes)
    } else {
        bytes
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // While writing, every request must see the latest build.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The live-reload client: reload on `reload`, swap stylesheets on `css`, show an
/// overlay with the message on `error`.
const RELOAD_SCRIPT: &str = r#"<script id="enishi-live-reload">
(() => {
  const source = new EventSource("/__enishi/events");
  source.addEventListener("reload", () => location.reload());
  source.addEventListener("css", () => {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href);
      url.searchParams.set("enishi", Date.now().toString());
      const next = link.cloneNode();
      next.href = url.href;
      next.addEventListener("load", () => link.remove());
      link.after(next);
    }
  });
  source.addEventListener("error", (e) => {
    if (!e.data) return;
    const { message } = JSON.parse(e.data);
    let box = document.getElementById("enishi-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "enishi-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(20,20,20,.92);color:#fff;font:15px/1.6 ui-monospace,monospace;padding:2rem;white-space:pre-wrap;overflow:auto";
      document.body.appendChild(box);
    }
    box.textContent = "ビルドエラー (build error)\n\n" + message;
  });
  source.addEventListener("shutdown", () => source.close());
})();
</script>"#;

fn inject_reload_script(html: Vec<u8>) -> Vec<u8> {
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + RELOAD_SCRIPT.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(RELOAD_SCRIPT.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}
