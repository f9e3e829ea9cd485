//! `enishi serve` (watching by default): the real binary on an ephemeral port, real HTTP requests,
//! the real live-reload event stream, and one test in headless Chromium.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::browser::Browser;
use crate::common::TestSite;

/// Generous: a rebuild takes milliseconds, but CI machines can be slow and busy.
const WAIT: Duration = Duration::from_secs(20);

pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub(crate) base: String,
    stdout: Receiver<String>,
}

impl Server {
    pub(crate) fn start(site: &TestSite, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_enishi"))
            .args(["serve", "--port", "0"])
            .args(extra)
            .current_dir(site.root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + WAIT;
        let base = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("serve printed its address");
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_string();
            }
        };
        Server {
            child,
            base,
            stdout: rx,
        }
    }

    /// The lines printed since the last call.
    fn printed(&self) -> Vec<String> {
        self.stdout.try_iter().collect()
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        http_get(&format!("{}{}", self.base, path))
    }

    fn events(&self) -> Events {
        Events::connect(&format!("{}/__enishi/events", self.base))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET with a fresh connection: (status, headers, body).
fn http_get(url: &str) -> (u16, String, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// A live-reload subscriber: (event name, data) as they arrive.
struct Events {
    rx: Receiver<(String, String)>,
}

impl Events {
    fn connect(url: &str) -> Events {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut name = String::new();
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if line.is_empty()
                    && let Some(r) = ready.take()
                {
                    // The end of the response head: the stream is subscribed.
                    let _ = r.send(());
                }
                if let Some(n) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    name = n.trim().to_string();
                } else if let Some(d) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    let _ = tx.send((std::mem::take(&mut name), d.trim().to_string()));
                }
            }
        });
        ready_rx
            .recv_timeout(WAIT)
            .expect("the event stream answered");
        Events { rx }
    }

    /// Waits for `name`, skipping others; returns its data.
    fn wait_for(&self, name: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((n, data)) if n == name => return data,
                Ok(_) => continue,
                Err(_) => panic!("no {name} event within {WAIT:?}"),
            }
        }
    }

    /// Nothing but keep-alives for `d`.
    fn assert_quiet(&self, d: Duration) {
        if let Ok((n, data)) = self.rx.recv_timeout(d)
            && !n.is_empty()
        {
            panic!("unexpected {n} event: {data}");
        }
    }
}

fn blog() -> TestSite {
    let site = TestSite::new();
    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02\ntags: [日記]",
        "はじめの本文です。",
    );
    site.post(
        "b",
        "title: 二つ目\ndate: 2024-01-03\nslug: 日本語のスラッグ",
        "二つ目の本文。",
    );
    site.write(
        "content/posts/draft.md",
        "---\ntitle: 下書き\ndate: 2024-01-04\ndraft: true\n---\n書きかけ。\n",
    );
    site.write("static/css/site.css", "body { color: black; }\n");
    site
}

#[test]
fn serves_pages_with_types_indexes_404_and_japanese_paths() {
    let site = blog();
    let server = Server::start(&site, &[]);
    let (status, head, body) = server.get("/");
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(body.contains("最初の記事") && body.contains("enishi-live-reload"));
    assert!(body.contains("下書き"), "drafts are shown while serving");
    let (status, _, body) = server.get(
        "/2024/01/03/%E6%97%A5%E6%9C%AC%E8%AA%9E%E3%81%AE%E3%82%B9%E3%83%A9%E3%83%83%E3%82%B0/",
    );
    assert_eq!(status, 200);
    assert!(body.contains("二つ目の本文。"));
    let (status, head, _) = server.get("/2024/01/02/a");
    assert_eq!(status, 301);
    assert!(head.contains("/2024/01/02/a/"), "{head}");
    let (status, head, body) = server.get("/css/site.css");
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/css"),
        "{head}"
    );
    assert_eq!(body, "body { color: black; }\n");
    let (status, _, body) = server.get("/no/such/page/");
    assert_eq!(status, 404);
    assert!(
        body.contains("enishi-live-reload"),
        "the 404 page is a real page"
    );
    let (status, _, _) = server.get("/feed.xml");
    assert_eq!(status, 200);
    assert!(!site.public().exists(), "serve never writes public/");

    let hidden = Server::start(&site, &["--no-drafts"]);
    assert!(!hidden.get("/").2.contains("下書き"));
}

#[test]
fn edit_reloads_broken_front_matter_shows_an_overlay_and_recovers() {
    let site = blog();
    let server = Server::start(&site, &[]);
    let events = server.events();

    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02\ntags: [日記]",
        "書き直した本文です。",
    );
    events.wait_for("reload");
    let (_, _, body) = server.get("/2024/01/02/a/");
    assert!(body.contains("書き直した本文です。"), "{body}");

    site.write(
        "content/posts/a.md",
        "---\ntitle: 最初の記事\ndate: [壊れた\n---\n本文\n",
    );
    let data = events.wait_for("error");
    let message: serde_json::Value = serde_json::from_str(&data).unwrap();
    let message = message["message"].as_str().unwrap();
    assert!(message.starts_with("content/posts/a.md:"), "{message}");
    // The last good site keeps being served, and a newly opened page sees the error.
    let (status, _, body) = server.get("/2024/01/02/a/");
    assert_eq!(status, 200);
    assert!(body.contains("書き直した本文です。"));
    let late = server.events();
    assert!(late.wait_for("error").contains("content/posts/a.md:"));

    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02",
        "直った本文です。",
    );
    events.wait_for("reload");
    assert!(server.get("/2024/01/02/a/").2.contains("直った本文です。"));
}

#[test]
fn css_only_change_swaps_stylesheets() {
    let site = blog();
    let server = Server::start(&site, &[]);
    let events = server.events();
    site.write("static/css/site.css", "body { color: navy; }\n");
    events.wait_for("css");
    events.assert_quiet(Duration::from_millis(500));
    assert_eq!(server.get("/css/site.css").2, "body { color: navy; }\n");
}

#[test]
fn concurrent_requests_are_answered_while_rebuilding() {
    let site = blog();
    for i in 0..60 {
        site.post(
            &format!("p{i:02}"),
            &format!("title: 記事{i}\ndate: 2024-02-01"),
            &"本文の段落です。".repeat(40),
        );
    }
    let server = Server::start(&site, &[]);
    let events = server.events();
    let base = server.base.clone();
    let writer = {
        let root = site.root().to_path_buf();
        std::thread::spawn(move || {
            for round in 0..5 {
                std::fs::write(
                    root.join("content/posts/a.md"),
                    format!("---\ntitle: 最初の記事\ndate: 2024-01-02\n---\n版{round}\n"),
                )
                .unwrap();
                std::thread::sleep(Duration::from_millis(60));
            }
        })
    };
    let handles: Vec<_> = (0..200)
        .map(|i| {
            let url = format!("{base}/2024/02/01/p{:02}/", i % 60);
            std::thread::spawn(move || http_get(&url))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (status, _, body) = h.join().unwrap();
        assert_eq!(status, 200, "request {i}");
        assert!(body.contains(&format!("記事{}</", i % 60)), "request {i}");
        assert!(
            body.trim_end().ends_with("</html>"),
            "request {i} got a whole page"
        );
    }
    writer.join().unwrap();
    events.wait_for("reload");
}

#[test]
fn a_port_in_use_is_a_clear_error_and_ctrl_c_stops_cleanly() {
    let site = blog();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = site.run(&["serve", "--port", &port]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("already in use") && stderr.contains("--port"),
        "{stderr}"
    );

    let mut server = Server::start(&site, &[]);
    let events = server.events();
    let status = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    events.wait_for("shutdown");
    let deadline = Instant::now() + WAIT;
    let exit = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}

/// Drives Debian's headless Chromium through chromedriver (the W3C WebDriver
/// protocol is plain HTTP + JSON): load a page, save a change, and see the new text
/// appear with no reload by the test. `.ci/run` installs Chromium and sets
/// ENISHI_REQUIRE_BROWSER=1, so in CI this test cannot be skipped.
#[test]
fn chromium_shows_a_saved_change_without_a_manual_reload() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let site = blog();
    let server = Server::start(&site, &[]);
    let page = format!("{}/2024/01/02/a/", server.base);
    browser.navigate(&page);
    browser.wait_text("はじめの本文です。");
    // A marker the page keeps only as long as it is not reloaded by anyone else.
    browser.script("window.__enishiMarker = 1; return 1;");
    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02\ntags: [日記]",
        "ブラウザで見える新しい本文。",
    );
    browser.wait_text("ブラウザで見える新しい本文。");
    let marker =
        browser.script("return window.__enishiMarker === undefined ? 'reloaded' : 'same';");
    assert_eq!(
        marker, "reloaded",
        "the page was reloaded by the live-reload script"
    );
}

#[test]
fn related_lists_follow_an_edit() {
    let site = TestSite::new();
    site.post(
        "dashi",
        "title: 出汁の取り方\ndate: 2024-01-01",
        "昆布とかつお節で出汁を取ります。昆布は水から煮出します。",
    );
    site.post(
        "miso",
        "title: 味噌汁\ndate: 2024-01-02",
        "出汁に味噌を溶きます。昆布の出汁がよく合います。",
    );
    site.post(
        "rust",
        "title: Rust の所有権\ndate: 2024-01-03",
        "所有権と借用はコンパイラが検査します。",
    );
    let server = Server::start(&site, &[]);
    let events = server.events();
    let related_of = |path: &str| -> String {
        let (_, _, body) = server.get(path);
        let doc = scraper::Html::parse_document(&body);
        crate::common::select(&doc, ".related li a")
            .iter()
            .map(|a| a.text().collect::<String>())
            .collect::<Vec<_>>()
            .join("|")
    };
    assert!(!related_of("/2024/01/01/dashi/").contains("Rust"));

    // The Rust post turns into a cooking post: the shown text changes at once, and
    // the related lists of the other posts follow once they are recomputed.
    site.post(
        "rust",
        "title: 昆布出汁の味噌汁\ndate: 2024-01-03",
        "昆布の出汁で味噌汁を作ります。出汁と味噌と昆布。",
    );
    events.wait_for("reload");
    let deadline = Instant::now() + WAIT;
    while !related_of("/2024/01/01/dashi/").contains("昆布出汁の味噌汁") {
        assert!(
            Instant::now() < deadline,
            "related lists never caught up: {}",
            related_of("/2024/01/01/dashi/")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // What serve shows is what a build makes.
    let built = site.build();
    assert!(built.warnings.is_empty());
    let doc = site.html("2024/01/01/dashi/index.html");
    let from_build: Vec<String> = crate::common::select(&doc, ".related li a")
        .iter()
        .map(|a| a.text().collect::<String>())
        .collect();
    assert_eq!(related_of("/2024/01/01/dashi/"), from_build.join("|"));
}

#[test]
fn warnings_reach_open_pages_by_kind_and_clear_when_fixed() {
    let site = blog();
    let server = Server::start(&site, &[]);
    let events = server.events();
    // A card for a URL of this site that no post has: a warning, no network.
    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02",
        "はじめの本文です。\n\nhttps://blog.example.jp/nowhere/\n",
    );
    let shown: serde_json::Value = serde_json::from_str(&events.wait_for("warnings")).unwrap();
    assert_eq!(shown["summary"], "1 link card", "{shown}");
    assert_eq!(shown["warnings"][0]["kind"], "link-card", "{shown}");
    let text = shown["warnings"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("content/posts/a.md:"), "{text}");
    // A page opened later is told at once.
    let late = server.events();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&late.wait_for("warnings")).unwrap(),
        shown
    );
    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02",
        "はじめの本文です。",
    );
    let cleared: serde_json::Value = serde_json::from_str(&events.wait_for("warnings")).unwrap();
    assert_eq!(cleared["warnings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn serve_watches_by_default_and_one_save_is_one_rebuild() {
    let site = blog();
    let server = Server::start(&site, &[]);
    let events = server.events();
    let page = server.get("/").2;
    assert!(page.contains("enishi-live-reload"));
    assert!(
        page.contains("ビルドエラー") && page.contains("閉じる"),
        "the error overlay speaks the site's language and can be closed"
    );
    // A write of the same bytes (an editor touching the file) rebuilds nothing.
    let path = site.root().join("content/posts/a.md");
    std::fs::write(&path, std::fs::read(&path).unwrap()).unwrap();
    events.assert_quiet(Duration::from_millis(800));
    server.printed();
    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02\ntags: [日記]",
        "保存した本文です。",
    );
    events.wait_for("reload");
    assert!(
        server
            .get("/2024/01/02/a/")
            .2
            .contains("保存した本文です。")
    );
    std::thread::sleep(Duration::from_millis(800));
    let rebuilt: Vec<String> = server
        .printed()
        .into_iter()
        .filter(|l| l.starts_with("rebuilt"))
        .collect();
    assert_eq!(rebuilt.len(), 1, "{rebuilt:?}");
}

#[test]
fn no_watch_serves_what_was_built_without_the_reload_client() {
    let site = blog();
    let server = Server::start(&site, &["--no-watch"]);
    let (status, _, body) = server.get("/");
    assert_eq!(status, 200);
    assert!(
        !body.contains("enishi-live-reload"),
        "nothing would ever reload it"
    );
    site.post(
        "a",
        "title: 最初の記事\ndate: 2024-01-02\ntags: [日記]",
        "変えた本文です。",
    );
    std::thread::sleep(Duration::from_millis(800));
    assert!(!server.get("/2024/01/02/a/").2.contains("変えた本文です。"));
}
