//! The one HTTP client every enrich stage fetches through (link cards and remote
//! images, through the fetch-and-cache engine): timeouts, a byte cap, at most five redirects,
//! global and per-host concurrency limits, and no requests to private addresses
//! unless the site allows it. Redirects are followed here, not by reqwest, so a hop
//! that is not HTTP (a link card's `<meta http-equiv="refresh">`) counts against the
//! same cap through [`Client::follow`].
//!
//! Everything fetched is untrusted; this module only guarantees *how* it is fetched.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::Semaphore;
use url::Url;

pub const MAX_REDIRECTS: usize = 5;

/// What a fetch may do; from `[links]` in site.toml (`[images] max_bytes` caps image bodies).
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// For the whole request, body included.
    pub timeout: Duration,
    pub concurrency: usize,
    pub per_host: usize,
    pub allow_private_hosts: bool,
    pub user_agent: String,
}

/// Validators from an earlier response, sent so an unchanged page costs a 304.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// When to stop reading a body.
#[derive(Debug, Clone, Copy)]
pub enum BodyLimit {
    /// HTML: read up to the cap and use what was read. Metadata can sit anywhere
    /// (JSON-LD often ends the body), and only a tokenizer knows where the head
    /// really ends, so the bytes are not cut at the first `</head`. A body still
    /// arriving at the timeout is used as far as it came once a head end has.
    Html { cap: usize },
    /// A file that is useless when cut short: over the cap is an error.
    Whole { cap: usize },
}

#[derive(Debug)]
pub struct Fetched {
    pub final_url: Url,
    /// Hops taken to get here (HTTP redirects, and earlier hops handed to [`Client::follow`]).
    pub redirects: usize,
    pub content_type: Option<String>,
    pub validators: Validators,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Outcome {
    Fetched(Fetched),
    /// The server answered 304 to our validators.
    NotModified {
        validators: Validators,
    },
}

/// An HTTP client with its own small async runtime, so the rest of the build stays
/// synchronous: callers hand it a batch of requests and block until they are done.
pub struct Fetcher {
    pub client: Arc<Client>,
    runtime: tokio::runtime::Runtime,
}

impl Fetcher {
    /// A fetcher with the network limits of the site's `[links]` settings.
    pub fn for_site(site: &crate::config::Site) -> anyhow::Result<Fetcher> {
        use anyhow::Context;
        let settings = &site.config.links;
        let limits = Limits {
            connect_timeout: Duration::from_secs_f64(settings.connect_timeout),
            timeout: Duration::from_secs_f64(settings.timeout),
            concurrency: settings.concurrency,
            per_host: settings.per_host,
            allow_private_hosts: settings.allow_private_hosts,
            user_agent: format!(
                "Enishi/{} (static site generator; +{})",
                env!("CARGO_PKG_VERSION"),
                site.base_url
            ),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the HTTP runtime")?;
        // reqwest's client must be created inside the runtime it will run on.
        let client = {
            let _guard = runtime.enter();
            Arc::new(Client::new(limits).context("cannot create the HTTP client")?)
        };
        Ok(Fetcher { client, runtime })
    }

    /// Runs `work` for every item concurrently (the client's semaphores bound what is
    /// really in flight) and returns the results in the items' order.
    pub fn run_all<T, R, F, Fut>(&self, items: Vec<T>, work: F) -> Vec<R>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(Arc<Client>, T) -> Fut,
        Fut: std::future::Future<Output = R> + Send + 'static,
    {
        self.runtime.block_on(async {
            let handles: Vec<_> = items
                .into_iter()
                .map(|item| tokio::spawn(work(Arc::clone(&self.client), item)))
                .collect();
            let mut out = Vec::with_capacity(handles.len());
            for h in handles {
                match h.await {
                    Ok(r) => out.push(r),
                    // Only a panic in our own code gets here; it is a bug worth crashing on.
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                }
            }
            out
        })
    }

    pub fn requests(&self) -> usize {
        self.client.requests()
    }
}

/// A [`Fetcher`] made on first use, so a build with nothing to fetch starts no runtime.
pub struct LazyFetcher<'s> {
    site: &'s crate::config::Site,
    cell: std::sync::OnceLock<Fetcher>,
}

impl<'s> LazyFetcher<'s> {
    pub fn new(site: &'s crate::config::Site) -> LazyFetcher<'s> {
        LazyFetcher {
            site,
            cell: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> anyhow::Result<&Fetcher> {
        if let Some(f) = self.cell.get() {
            return Ok(f);
        }
        let f = Fetcher::for_site(self.site)?;
        Ok(self.cell.get_or_init(|| f))
    }
}

pub struct Client {
    http: reqwest::Client,
    limits: Limits,
    global: Semaphore,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    requests: AtomicUsize,
}

impl Client {
    pub fn new(limits: Limits) -> anyhow::Result<Client> {
        let allow_private = limits.allow_private_hosts;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("ja,en;q=0.5"),
        );
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.5"),
        );
        let http = reqwest::Client::builder()
            .user_agent(limits.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .no_proxy()
            // Redirects are followed in `get` (see the module comment).
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()?;
        Ok(Client {
            http,
            global: Semaphore::new(limits.concurrency.max(1)),
            hosts: Mutex::new(HashMap::new()),
            requests: AtomicUsize::new(0),
            limits,
        })
    }

    /// Requests sent so far (each redirect hop counts once in reqwest; we count calls).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// GETs `url`. The error is a short reason fit for a warning line.
    pub async fn get(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        limit: BodyLimit,
    ) -> Result<Outcome, String> {
        self.get_after(url, validators, limit, 0).await
    }

    /// One more hop from a fetched page to `to`, found in the page rather than in a
    /// header: it counts as a redirect, under the same cap and the same guard.
    pub async fn follow(
        &self,
        from: &Fetched,
        to: &Url,
        limit: BodyLimit,
    ) -> Result<Outcome, String> {
        let hops = from.redirects + 1;
        if hops > MAX_REDIRECTS {
            return Err(format!("more than {MAX_REDIRECTS} redirects"));
        }
        if without_fragment(to) == without_fragment(&from.final_url) {
            return Err("redirect loop".into());
        }
        check_url(to, self.limits.allow_private_hosts)
            .map_err(|reason| format!("redirected to a refused URL: {reason}"))?;
        self.get_after(to, None, limit, hops).await
    }

    /// [`Client::get`], `hops` redirects into a chain.
    async fn get_after(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        limit: BodyLimit,
        hops: usize,
    ) -> Result<Outcome, String> {
        check_url(url, self.limits.allow_private_hosts)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let per_host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_host.max(1))))
                .clone()
        };
        let _host_permit = per_host.acquire().await.map_err(|e| e.to_string())?;
        let _global_permit = self.global.acquire().await.map_err(|e| e.to_string())?;
        self.requests.fetch_add(1, Ordering::Relaxed);

        // A 304 only means "unchanged" when we asked conditionally.
        let conditional = validators.is_some_and(|v| v.etag.is_some() || v.last_modified.is_some());
        let timeout = self.limits.timeout;
        // reqwest's own timeout (what is left of it at each hop) covers the body too;
        // the outer one is a backstop for a server that trickles bytes forever.
        let read = async {
            let (mut response, redirects) = self
                .send_following(url, validators, hops, Instant::now() + timeout)
                .await?;
            let status = response.status();
            let validators = Validators {
                etag: header_str(response.headers(), header::ETAG),
                last_modified: header_str(response.headers(), header::LAST_MODIFIED),
            };
            if status == reqwest::StatusCode::NOT_MODIFIED && conditional {
                return Ok(Outcome::NotModified { validators });
            }
            if !status.is_success() {
                return Err(format!("HTTP {}", status.as_u16()));
            }
            let final_url = response.url().clone();
            let content_type = header_str(response.headers(), header::CONTENT_TYPE);
            let mut body = Vec::new();
            loop {
                let chunk = match response.chunk().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => break,
                    Err(e) if e.is_timeout() => {
                        // A page whose head has come is used as far as it came, like
                        // one cut by the cap: a slow body costs the card nothing.
                        if matches!(limit, BodyLimit::Html { .. }) && has_head_end(&body) {
                            break;
                        }
                        return Err(describe(&e, timeout));
                    }
                    Err(_) => {
                        return Err(format!(
                            "the connection closed mid-response after {} bytes",
                            body.len()
                        ));
                    }
                };
                body.extend_from_slice(&chunk);
                match limit {
                    BodyLimit::Html { cap } => {
                        if body.len() >= cap {
                            body.truncate(cap);
                            break;
                        }
                    }
                    BodyLimit::Whole { cap } => {
                        if body.len() > cap {
                            return Err(format!("larger than the {} byte limit", cap));
                        }
                    }
                }
            }
            if let BodyLimit::Html { cap } = limit
                && body.starts_with(GZIP_MAGIC)
            {
                body = gunzip(&body, cap);
            }
            Ok(Outcome::Fetched(Fetched {
                final_url,
                redirects,
                content_type,
                validators,
                body,
            }))
        };
        match tokio::time::timeout(timeout + Duration::from_secs(1), read).await {
            Ok(result) => result,
            Err(_) => Err(format!("timed out after {}", seconds(timeout))),
        }
    }

    /// Sends the request and follows HTTP redirects (at most [`MAX_REDIRECTS`] hops
    /// in all, `hops` of them already taken; no loops; every target checked like the
    /// first URL). Returns the last response and the hops taken in all.
    async fn send_following(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        mut hops: usize,
        deadline: Instant,
    ) -> Result<(reqwest::Response, usize), String> {
        let timeout = self.limits.timeout;
        let mut visited = vec![without_fragment(url)];
        let mut current = url.clone();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("timed out after {}", seconds(timeout)));
            }
            let mut request = self.http.get(current.clone()).timeout(left);
            if let Some(v) = validators {
                if let Some(etag) = &v.etag {
                    request = request.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &v.last_modified {
                    request = request.header(header::IF_MODIFIED_SINCE, lm);
                }
            }
            let response = request.send().await.map_err(|e| describe(&e, timeout))?;
            let status = response.status().as_u16();
            let location = header_str(response.headers(), header::LOCATION);
            let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
            else {
                return Ok((response, hops));
            };
            let next = current
                .join(&location)
                .map_err(|e| format!("redirected to an invalid URL ({e})"))?;
            if hops >= MAX_REDIRECTS {
                return Err(format!("more than {MAX_REDIRECTS} redirects"));
            }
            let key = without_fragment(&next);
            if visited.contains(&key) {
                return Err("redirect loop".into());
            }
            check_url(&next, self.limits.allow_private_hosts)
                .map_err(|reason| format!("redirected to a refused URL: {reason}"))?;
            visited.push(key);
            current = next;
            hops += 1;
        }
    }
}

/// Whether the bytes read so far hold the end of a head (`</head` or `<body`,
/// ASCII case-insensitive): a page cut after it still makes a card.
fn has_head_end(body: &[u8]) -> bool {
    body.windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"</head") || w[..5].eq_ignore_ascii_case(b"<body"))
}

/// A URL as a loop check compares it: the fragment is never sent.
fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

const GZIP_MAGIC: &[u8] = &[0x1F, 0x8B];

/// A gzip stream that arrived as the page itself (a server that compressed twice,
/// or sent a `.html.gz` without `Content-Encoding`): what it holds, up to `cap`
/// bytes. A stream cut off by the byte cap still gives what was before the cut.
fn gunzip(body: &[u8], cap: usize) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    // An error ends the stream; what was decoded before it is kept.
    let _ = flate2::read::MultiGzDecoder::new(body)
        .take(cap as u64)
        .read_to_end(&mut out);
    out
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// One line saying why a request failed, without reqwest's nested wording.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}", seconds(timeout));
    }
    let mut innermost = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    if e.is_redirect() {
        return innermost;
    }
    if e.is_connect() {
        return format!("cannot connect ({innermost})");
    }
    innermost
}

/// Only http(s) URLs with a host; literal private addresses are refused here, names
/// are checked after DNS resolution by [`GuardedResolver`].
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the {} scheme is not allowed (only http and https)",
            url.scheme()
        ));
    }
    let ip = match url.host() {
        None => return Err("the URL has no host".into()),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
    };
    if !allow_private && is_private(ip) {
        return Err(private_refusal(&ip.to_string()));
    }
    Ok(())
}

fn private_refusal(host: &str) -> String {
    format!(
        "{host} is a private, loopback or link-local address (set [links] allow_private_hosts = true in site.toml to allow it)"
    )
}

/// Addresses a public page must never make the build machine reach: loopback,
/// private networks, link-local (cloud metadata lives at 169.254.169.254), CGNAT,
/// multicast and the unspecified address; in IPv6 also unique-local, site-local,
/// documentation and discard ranges, and every form that embeds an IPv4 address a
/// router or translator may deliver to (mapped, compatible, NAT64, 6to4, Teredo).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || (o[0] == 198 && (o[1] & 0xFE) == 18)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if let Some(v4) = embedded_ipv4(&seg) {
                return v4.iter().any(|&a| is_private(IpAddr::V4(a)));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local.
                || (seg[0] & 0xFE00) == 0xFC00
                || (seg[0] & 0xFFC0) == 0xFE80
                || (seg[0] & 0xFFC0) == 0xFEC0
                // 2001:db8::/32 and 3fff::/20 documentation, 100::/64 discard.
                || (seg[0] == 0x2001 && seg[1] == 0x0DB8)
                || (seg[0] == 0x3FFF && (seg[1] & 0xF000) == 0)
                || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0])
                // 64:ff9b:1::/48, NAT64 for local use: whatever it embeds is local.
                || (seg[0] == 0x0064 && seg[1] == 0xFF9B && seg[2] == 0x0001)
        }
    }
}

/// The IPv4 addresses an IPv6 address carries, for the forms that deliver to them:
/// IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`,
/// 6to4 `2002:AABB:CCDD::/48` and Teredo `2001:0::/32` (server, and the client
/// address stored inverted).
fn embedded_ipv4(seg: &[u16; 8]) -> Option<Vec<std::net::Ipv4Addr>> {
    let v4 = |hi: u16, lo: u16| std::net::Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    let low = v4(seg[6], seg[7]);
    if seg[..5] == [0; 5] && seg[5] == 0xFFFF {
        return Some(vec![low]);
    }
    // `::` and `::1` are themselves (unspecified, loopback), not compatible forms.
    if seg[..6] == [0; 6] && (seg[6] != 0 || seg[7] > 1) {
        return Some(vec![low]);
    }
    if seg[0] == 0x0064 && seg[1] == 0xFF9B && seg[2..6] == [0; 4] {
        return Some(vec![low]);
    }
    if seg[0] == 0x2002 {
        return Some(vec![v4(seg[1], seg[2])]);
    }
    if seg[0] == 0x2001 && seg[1] == 0 {
        return Some(vec![v4(seg[2], seg[3]), v4(!seg[6], !seg[7])]);
    }
    None
}

/// Resolves with the system resolver, then drops private addresses (unless allowed).
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = if addrs.is_empty() {
                    format!("{host} does not resolve").into()
                } else {
                    private_refusal(&host).into()
                };
                return Err(err);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            // IPv4-compatible, NAT64 (well-known and local-use), 6to4, Teredo.
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::808:808",
            "2002:7f00:1::1",
            "2002:c0a8:101::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "2001:0:c0a8:101::1",
            // Site-local, documentation, discard.
            "fec0::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn schemes_and_literal_hosts() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(check_url(&u("https://example.com/"), false).is_ok());
        assert!(check_url(&u("javascript:alert(1)"), false).is_err());
        assert!(check_url(&u("file:///etc/passwd"), false).is_err());
        assert!(check_url(&u("http://169.254.169.254/latest/"), false).is_err());
        assert!(check_url(&u("http://127.0.0.1:8080/"), true).is_ok());
        for refused in [
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[::ffff:169.254.169.254]/latest/",
        ] {
            assert!(check_url(&u(refused), false).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_hop_found_in_a_page_is_a_redirect() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = Client::new(Limits {
                connect_timeout: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
                concurrency: 1,
                per_host: 1,
                allow_private_hosts: false,
                user_agent: "test".into(),
            })
            .unwrap();
            let page = |redirects| Fetched {
                final_url: Url::parse("https://short.example/abc").unwrap(),
                redirects,
                content_type: None,
                validators: Validators::default(),
                body: Vec::new(),
            };
            let limit = BodyLimit::Html { cap: 1024 };
            let to = |s: &str| Url::parse(s).unwrap();
            // None of these sends a request: each is refused before one would be.
            let refused = client
                .follow(&page(0), &to("http://169.254.169.254/latest/"), limit)
                .await
                .unwrap_err();
            assert!(
                refused.starts_with("redirected to a refused URL: 169.254.169.254 is a private"),
                "{refused}"
            );
            let far = client
                .follow(&page(MAX_REDIRECTS), &to("https://example.com/"), limit)
                .await
                .unwrap_err();
            assert_eq!(far, "more than 5 redirects");
            let same = client
                .follow(&page(0), &to("https://short.example/abc#x"), limit)
                .await
                .unwrap_err();
            assert_eq!(same, "redirect loop");
            assert_eq!(client.requests(), 0);
        });
    }

    #[test]
    fn a_gzip_body_is_unpacked_within_the_cap() {
        use std::io::Write;
        let page = "<title>圧縮</title>".repeat(100);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(page.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(gunzip(&gz, 1 << 20), page.as_bytes());
        assert_eq!(gunzip(&gz, 10), &page.as_bytes()[..10]);
        // Cut off mid-stream: what came before the cut.
        let cut = gunzip(&gz[..gz.len() / 2], 1 << 20);
        assert!(page.as_bytes().starts_with(&cut));
    }
}
