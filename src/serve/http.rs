//! `serve`'s HTTP side: files from the current snapshot, the live-reload event
//! stream, and the script every page gets to follow it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;
use tokio_stream::StreamExt;

use super::state::{Asset, EVENTS_PATH, LiveEvent, Shared};

pub(super) async fn events_handler(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let rx = shared.events.subscribe();
    // A page opened while the build is broken sees the error at once.
    let mut initial: Vec<LiveEvent> = shared
        .error
        .read()
        .ok()
        .and_then(|e| e.clone())
        .map(LiveEvent::Error)
        .into_iter()
        .collect();
    if let Some(warnings) = shared.warnings.read().ok().filter(|w| !w.is_empty()) {
        initial.push(LiveEvent::Warnings(warnings.clone()));
    }
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
            LiveEvent::Warnings(warnings) => Event::default().event("warnings").data(
                serde_json::json!({
                    "summary": crate::report::count_by_kind(&warnings),
                    "warnings": warnings
                        .iter()
                        .map(|w| serde_json::json!({ "kind": w.kind, "text": w.to_string() }))
                        .collect::<Vec<_>>(),
                })
                .to_string(),
            ),
            LiveEvent::Shutdown => Event::default().event("shutdown").data("{}"),
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

pub(super) async fn file_handler(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
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
            return respond(StatusCode::OK, c, asset, shared.reload_script.as_deref()).await;
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
        Some(page) => {
            respond(
                StatusCode::NOT_FOUND,
                "404.html",
                page,
                shared.reload_script.as_deref(),
            )
            .await
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn respond(
    status: StatusCode,
    path: &str,
    asset: &Asset,
    reload_script: Option<&str>,
) -> Response {
    let bytes: Vec<u8> = match asset {
        Asset::Bytes(b) => b.as_ref().clone(),
        Asset::Builtin(b) => b.to_vec(),
        Asset::File(p) => match tokio::fs::read(p).await {
            Ok(b) => b,
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    let content_type = content_type(path);
    let body = match reload_script {
        Some(script) if content_type.starts_with("text/html") => inject(bytes, script),
        _ => bytes,
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
  const source = new EventSource("__EVENTS_PATH__");
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
  const text = __TEXT__;
  source.addEventListener("error", (e) => {
    if (!e.data) return;
    const { message } = JSON.parse(e.data);
    let box = document.getElementById("enishi-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "enishi-error";
      box.setAttribute("role", "alertdialog");
      box.setAttribute("aria-labelledby", "enishi-error-title");
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:#1b1b1b;color:#f5f5f5;font:15px/1.6 ui-monospace,monospace;padding:2rem;overflow:auto";
      document.body.appendChild(box);
    }
    const title = document.createElement("h2");
    title.id = "enishi-error-title";
    title.textContent = text.title;
    title.style.cssText = "margin:0 0 1rem;font-size:1.2rem;color:#ff8a80";
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = text.close;
    close.style.cssText = "position:absolute;top:1rem;right:1rem;font:inherit;padding:.3rem .9rem;background:#f5f5f5;color:#1b1b1b;border:0;border-radius:4px;cursor:pointer";
    close.addEventListener("click", () => box.remove());
    const body = document.createElement("pre");
    body.textContent = message;
    body.style.cssText = "white-space:pre-wrap;margin:0 0 1rem";
    const hint = document.createElement("p");
    hint.textContent = text.hint;
    hint.style.cssText = "margin:0;color:#bdbdbd";
    box.replaceChildren(title, close, body, hint);
    close.focus();
  });
  source.addEventListener("warnings", (e) => {
    const { summary, warnings } = JSON.parse(e.data);
    let box = document.getElementById("enishi-warnings");
    if (!warnings.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("details");
      box.id = "enishi-warnings";
      box.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483646;max-width:min(40rem,90vw);max-height:50vh;overflow:auto;background:#fff8e1;color:#3e2723;border:1px solid #f9a825;border-radius:6px;font:13px/1.5 ui-monospace,monospace;padding:.5rem .75rem;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.replaceChildren();
    const head = document.createElement("summary");
    head.textContent = `警告 ${warnings.length} 件 (${summary})`;
    box.appendChild(head);
    for (const w of warnings) {
      const line = document.createElement("div");
      line.dataset.kind = w.kind;
      line.textContent = w.text;
      box.appendChild(line);
    }
  });
  source.addEventListener("shutdown", () => source.close());
})();
</script>"#;

/// The live-reload client for a site in `language` (its overlay's words).
pub(super) fn reload_script(language: &str) -> String {
    let text = if language.starts_with("ja") {
        r#"{ title: "ビルドエラー", close: "閉じる", hint: "ファイルを直して保存すると、もう一度ビルドします。" }"#
    } else {
        r#"{ title: "Build error", close: "Close", hint: "Fix the file and save it to build again." }"#
    };
    RELOAD_SCRIPT
        .replace("__EVENTS_PATH__", EVENTS_PATH)
        .replace("__TEXT__", text)
}

fn inject(html: Vec<u8>, script: &str) -> Vec<u8> {
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + script.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(script.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}
