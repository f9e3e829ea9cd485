//! A real HTTP/1.1 server on 127.0.0.1 for tests and benchmarks: canned responses per
//! path, misbehaviours on demand (delays, dropped connections, endless bodies), and a
//! log of every request so tests can count what the build fetched.
//! Shared with `examples/bench_build.rs` through `#[path]`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Route {
    /// A complete response.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        delay: Duration,
    },
    /// 304 when the request's If-None-Match equals `etag`, else 200 with the body.
    Etag {
        etag: String,
        content_type: String,
        body: Vec<u8>,
    },
    /// Promises `claimed` bytes, sends `body`, then closes the connection.
    Truncated { claimed: usize, body: Vec<u8> },
    /// Sends `start`, then `filler` again and again until the client hangs up.
    Endless { start: Vec<u8>, filler: Vec<u8> },
    /// Sends `start` of a body without a length, then stalls for `stall` and closes.
    Stall { start: Vec<u8>, stall: Duration },
}

#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    log: Vec<Request>,
    /// Added to every response (for latency benchmarks).
    latency: Duration,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                thread::spawn(move || handle(stream, &state));
            }
        });
        TestServer { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    pub fn route(&self, path: &str, route: Route) -> String {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), route);
        self.url(path)
    }

    pub fn reply(
        &self,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> String {
        self.route(
            path,
            Route::Reply {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: body.into(),
                delay: Duration::ZERO,
            },
        )
    }

    /// A UTF-8 HTML page.
    pub fn html(&self, path: &str, body: &str) -> String {
        self.reply(
            path,
            200,
            &[("Content-Type", "text/html; charset=utf-8")],
            body,
        )
    }

    pub fn redirect(&self, path: &str, to: &str) -> String {
        self.reply(path, 302, &[("Location", to)], "")
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    pub fn total_hits(&self) -> usize {
        self.state.lock().unwrap().log.len()
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let path = target.split('?').next().unwrap_or("/").to_string();
    let request = Request { path, headers };
    let (route, latency) = {
        let mut s = state.lock().unwrap();
        s.log.push(request.clone());
        (s.routes.get(&request.path).cloned(), s.latency)
    };
    thread::sleep(latency);
    let route = route.unwrap_or(Route::Reply {
        status: 404,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<title>Not Found</title>".to_vec(),
        delay: Duration::ZERO,
    });
    let _ = respond(&mut stream, &request, route);
}

fn respond(stream: &mut TcpStream, request: &Request, route: Route) -> std::io::Result<()> {
    match route {
        Route::Reply {
            status,
            headers,
            body,
            delay,
        } => {
            thread::sleep(delay);
            write_head(stream, status, &headers, Some(body.len()))?;
            stream.write_all(&body)?;
        }
        Route::Etag {
            etag,
            content_type,
            body,
        } => {
            let headers = vec![
                ("ETag".to_string(), etag.clone()),
                ("Content-Type".to_string(), content_type),
            ];
            if request.header("If-None-Match") == Some(etag.as_str()) {
                write_head(stream, 304, &headers, None)?;
            } else {
                write_head(stream, 200, &headers, Some(body.len()))?;
                stream.write_all(&body)?;
            }
        }
        Route::Truncated { claimed, body } => {
            let headers = vec![("Content-Type".to_string(), "text/html".to_string())];
            write_head(stream, 200, &headers, Some(claimed))?;
            stream.write_all(&body)?;
            stream.flush()?;
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Route::Endless { start, filler } => {
            let headers = vec![(
                "Content-Type".to_string(),
                "text/html; charset=utf-8".to_string(),
            )];
            write_head(stream, 200, &headers, None)?;
            stream.write_all(&start)?;
            // Without a length the body ends only when we close: the client must stop itself.
            for _ in 0..100_000 {
                stream.write_all(&filler)?;
            }
        }
        Route::Stall { start, stall } => {
            let headers = vec![(
                "Content-Type".to_string(),
                "text/html; charset=utf-8".to_string(),
            )];
            write_head(stream, 200, &headers, None)?;
            stream.write_all(&start)?;
            stream.flush()?;
            thread::sleep(stall);
        }
    }
    stream.flush()
}

fn write_head(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    length: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    }
}
