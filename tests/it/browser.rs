//! Headless Chromium for the tests of what a browser runs: Debian's chromium driven
//! through chromedriver (the W3C WebDriver protocol is plain HTTP + JSON).
//! `.ci/run` installs both and sets ENISHI_REQUIRE_BROWSER=1, so in CI a test that
//! needs the browser cannot be skipped; elsewhere it is skipped with a note.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: pages load in milliseconds, but CI machines can be slow and busy.
const WAIT: Duration = Duration::from_secs(20);

/// A chromedriver process with one browser session; both end when it is dropped.
pub struct Browser {
    driver: Child,
    wd: WebDriver,
}

impl Browser {
    /// None (after a note) when chromium or chromedriver is missing and not required.
    pub fn start() -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
            assert!(
                std::env::var("ENISHI_REQUIRE_BROWSER").is_err(),
                "chromium and chromedriver are required (see .ci/run)"
            );
            eprintln!("skipped: chromium or chromedriver not installed (.ci/run installs them)");
            return None;
        };
        let port = crate::common::free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wd = WebDriver::new(port, &chromium);
        Some(Browser { driver, wd })
    }

    pub fn navigate(&self, url: &str) {
        self.wd.navigate(url);
    }

    /// Runs `js` (a function body) and gives back its return value as a string.
    pub fn script(&self, js: &str) -> String {
        self.wd.script(js)
    }

    /// Runs `js`, a function body whose last argument is the callback to call
    /// with the result, and gives back that result as JSON.
    pub fn script_async(&self, js: &str, args: serde_json::Value) -> serde_json::Value {
        let v = self.wd.call(
            "/execute/async",
            &serde_json::json!({ "script": js, "args": args }),
        );
        v["value"].clone()
    }

    /// Waits until the page's visible text contains `text`.
    pub fn wait_text(&self, text: &str) {
        self.wd.wait_text(text);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.wd.quit();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn which(name: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !path.is_empty()).then_some(path)
}

/// The few WebDriver calls the test needs, over plain HTTP.
struct WebDriver {
    base: String,
    session: String,
}

impl WebDriver {
    fn new(port: u16, chromium: &str) -> WebDriver {
        let base = format!("127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap().keep();
        let caps = serde_json::json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage",
                        format!("--user-data-dir={}", profile.display()),
                    ]
                }
            }}
        });
        let deadline = Instant::now() + WAIT;
        let response = loop {
            match try_post(&base, "/session", &caps) {
                Ok(r) => break r,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("chromedriver did not answer: {e}"),
            }
        };
        let session = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {response}"))
            .to_string();
        WebDriver { base, session }
    }

    fn call(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        try_post(
            &self.base,
            &format!("/session/{}{path}", self.session),
            body,
        )
        .unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
    }

    fn navigate(&self, url: &str) {
        self.call("/url", &serde_json::json!({ "url": url }));
    }

    fn script(&self, js: &str) -> String {
        let v = self.call(
            "/execute/sync",
            &serde_json::json!({ "script": js, "args": [] }),
        );
        match &v["value"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn wait_text(&self, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let body = self.script("return document.body ? document.body.innerText : '';");
            if body.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {text}: {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn quit(&self) {
        let mut stream = match TcpStream::connect(&self.base) {
            Ok(s) => s,
            Err(_) => return,
        };
        let _ = write!(
            stream,
            "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.session, self.base
        );
        let _ = read_response_body(&mut stream);
    }
}

fn try_post(host: &str, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    let body = body.to_string();
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let json = read_response_body(&mut stream)?;
    serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))
}

/// Reads one HTTP response's body by its Content-Length (chromedriver keeps the
/// connection open, so reading to the end would wait for its idle timeout).
fn read_response_body(stream: &mut TcpStream) -> Result<String, String> {
    let mut reader = BufReader::new(stream);
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let length = length.ok_or("no Content-Length in the response")?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    String::from_utf8(body).map_err(|e| e.to_string())
}
