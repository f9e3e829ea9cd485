//! What a deploy does, decided before anything is sent: which files go up and in
//! what order, which objects are deleted, and which URLs the CDN must forget.
//! Pure data in, data out, so every rule here is tested without a network.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// One file of the built site.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Its path inside the site, `/`-separated (`posts/a/index.html`).
    pub rel: String,
    pub size: u64,
    pub md5: [u8; 16],
}

impl LocalFile {
    pub fn md5_hex(&self) -> String {
        self.md5.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One object under the target, as a bucket listing gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteObject {
    /// The ETag without quotes: the MD5 for a single-part upload, `md5-of-md5s-N`
    /// for a multipart one, something else under SSE-KMS.
    pub etag: String,
    pub size: u64,
}

/// How a local file compares with the object of the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    New,
    Changed,
    Same,
    /// Same size but an ETag that is not the file's MD5 (multipart, SSE-KMS): the
    /// object's metadata must tell.
    AskMetadata,
}

pub fn compare(local: &LocalFile, remote: Option<&RemoteObject>) -> Comparison {
    match remote {
        None => Comparison::New,
        Some(r) if r.size != local.size => Comparison::Changed,
        Some(r) if r.etag.eq_ignore_ascii_case(&local.md5_hex()) => Comparison::Same,
        Some(_) => Comparison::AskMetadata,
    }
}

/// Upload order: a visitor must never meet a page that links to something not yet
/// there, nor a feed entry whose page is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Images, CSS, scripts, fonts and every other file pages refer to.
    Assets,
    /// HTML at a new URL (a new post), before the pages that will link to it.
    NewPages,
    /// HTML that replaces a live page (the home page, tag pages …).
    ReplacedPages,
    /// Feeds and the sitemap, which point at pages.
    Feeds,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Assets,
        Phase::NewPages,
        Phase::ReplacedPages,
        Phase::Feeds,
    ];
}

pub fn phase(rel: &str, replaces: bool) -> Phase {
    let ext = rel.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") if replaces => Phase::ReplacedPages,
        Some("html" | "htm") => Phase::NewPages,
        Some("xml" | "rss" | "atom") => Phase::Feeds,
        _ => Phase::Assets,
    }
}

/// One upload of the plan.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file: LocalFile,
    /// Whether an object with this key existed (its URL may be cached by the CDN).
    pub replaces: bool,
}

impl Upload {
    pub fn phase(&self) -> Phase {
        phase(&self.file.rel, self.replaces)
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    /// In order: every asset before any page, every page before any feed.
    pub uploads: Vec<Upload>,
    /// Keys (inside the site) of objects the build no longer produces; deleted last.
    pub deletes: Vec<String>,
    pub unchanged: usize,
}

impl Plan {
    /// `recorded`: for the objects that needed it ([`Comparison::AskMetadata`]), the
    /// MD5 an earlier deploy stored in their metadata. `force`: every file goes up.
    pub fn new(
        local: Vec<LocalFile>,
        remote: &BTreeMap<String, RemoteObject>,
        recorded: &HashMap<String, Option<String>>,
        keep: impl Fn(&str) -> bool,
        force: bool,
    ) -> Plan {
        let produced: BTreeSet<&str> = local.iter().map(|f| f.rel.as_str()).collect();
        let deletes: Vec<String> = remote
            .keys()
            .filter(|k| !produced.contains(k.as_str()) && !keep(k))
            .cloned()
            .collect();
        let mut plan = Plan {
            deletes,
            ..Plan::default()
        };
        for file in local {
            let existing = remote.get(&file.rel);
            let upload = force
                || match compare(&file, existing) {
                    Comparison::New | Comparison::Changed => true,
                    Comparison::Same => false,
                    Comparison::AskMetadata => {
                        recorded.get(&file.rel).cloned().flatten() != Some(file.md5_hex())
                    }
                };
            if upload {
                plan.uploads.push(Upload {
                    replaces: existing.is_some(),
                    file,
                });
            } else {
                plan.unchanged += 1;
            }
        }
        // Stable: within a phase, the order of the site's paths.
        plan.uploads
            .sort_by(|a, b| (a.phase(), &a.file.rel).cmp(&(b.phase(), &b.file.rel)));
        plan
    }

    pub fn bytes(&self) -> u64 {
        self.uploads.iter().map(|u| u.file.size).sum()
    }

    /// The URL paths the CDN may hold an old copy of: every replaced and deleted
    /// file, a folder's `index.html` also as the folder, under the site's base path
    /// ("" or "/blog"), percent-encoded as a browser requests them.
    pub fn stale_paths(&self, base_path: &str) -> Vec<String> {
        let base_path = encode_path(base_path);
        let mut paths = BTreeSet::new();
        let replaced = self
            .uploads
            .iter()
            .filter(|u| u.replaces)
            .map(|u| u.file.rel.as_str());
        for rel in replaced.chain(self.deletes.iter().map(String::as_str)) {
            let encoded = encode_path(rel);
            if encoded == "index.html" || encoded.ends_with("/index.html") {
                let folder = &encoded[..encoded.len() - "index.html".len()];
                paths.insert(format!("{base_path}/{folder}"));
            }
            paths.insert(format!("{base_path}/{encoded}"));
        }
        paths.into_iter().collect()
    }
}

/// Characters a path segment keeps as they are; everything else (non-ASCII, spaces,
/// `%`, `*`, `?`, `#`) is percent-encoded, as CloudFront wants invalidation paths.
const PATH_KEEP: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'*')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'\\');

fn encode_path(rel: &str) -> String {
    rel.split('/')
        .map(|seg| utf8_percent_encode(seg, PATH_KEEP).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// CloudFront allows 15 wildcard paths in flight per distribution.
pub const MAX_WILDCARDS: usize = 15;

/// Keeps an invalidation within `limit` paths: when there are more, the paths of
/// the deepest folders that hold several are replaced by `folder/*`, as few
/// folders as needed, and never more than `MAX_WILDCARDS`; when no depth manages,
/// the whole site (`base/*`) is invalidated.
pub fn collapse(paths: Vec<String>, limit: usize, base_path: &str) -> Vec<String> {
    if paths.len() <= limit {
        return paths;
    }
    let depth_of = |p: &str| p[base_path.len()..].matches('/').count();
    let deepest = paths.iter().map(|p| depth_of(p)).max().unwrap_or(0);
    // A folder at depth d is the path's first d+1 `/`-ended segments after the base.
    for depth in (1..deepest).rev() {
        let folder_of = |p: &str| -> Option<String> {
            let rest = &p[base_path.len()..];
            let mut end = 0;
            for _ in 0..=depth {
                end += rest[end..].find('/')? + 1;
            }
            Some(format!("{base_path}{}", &rest[..end]))
        };
        let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for p in &paths {
            if let Some(f) = folder_of(p) {
                groups.entry(f).or_default().push(p);
            }
        }
        let mut by_size: Vec<(String, Vec<&String>)> =
            groups.into_iter().filter(|(_, v)| v.len() > 1).collect();
        by_size.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        let mut count = paths.len();
        let mut chosen = Vec::new();
        for (folder, members) in by_size {
            if count <= limit || chosen.len() == MAX_WILDCARDS {
                break;
            }
            count = count - members.len() + 1;
            chosen.push(folder);
        }
        if count <= limit {
            let covered = |p: &str| chosen.iter().any(|f| p.starts_with(f.as_str()));
            let mut out: Vec<String> = paths.iter().filter(|p| !covered(p)).cloned().collect();
            out.extend(chosen.iter().map(|f| format!("{f}*")));
            out.sort();
            return out;
        }
    }
    vec![format!("{base_path}/*")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, body: &[u8]) -> LocalFile {
        use md5::Digest;
        LocalFile {
            rel: rel.into(),
            size: body.len() as u64,
            md5: md5::Md5::digest(body).into(),
        }
    }

    fn remote_of(f: &LocalFile) -> RemoteObject {
        RemoteObject {
            etag: f.md5_hex(),
            size: f.size,
        }
    }

    #[test]
    fn uploads_are_ordered_assets_pages_feeds_and_only_what_differs() {
        let same = file("index.html", b"home");
        let changed = file("a/index.html", b"new");
        let mut remote = BTreeMap::new();
        remote.insert(same.rel.clone(), remote_of(&same));
        remote.insert(
            changed.rel.clone(),
            RemoteObject {
                etag: "0".repeat(32),
                size: 2,
            },
        );
        remote.insert("gone/index.html".into(), remote_of(&file("x", b"x")));
        remote.insert("keep/me.zip".into(), remote_of(&file("y", b"y")));
        let local = vec![
            file("sitemap.xml", b"s"),
            changed.clone(),
            same,
            file("_img/ab.webp", b"i"),
            file("css/site.css", b"c"),
            file("new/index.html", b"n"),
        ];
        let plan = Plan::new(
            local,
            &remote,
            &HashMap::new(),
            |k| k.starts_with("keep/"),
            false,
        );
        let order: Vec<&str> = plan.uploads.iter().map(|u| u.file.rel.as_str()).collect();
        // New pages go up before the replaced pages that may link to them.
        assert_eq!(
            order,
            [
                "_img/ab.webp",
                "css/site.css",
                "new/index.html",
                "a/index.html",
                "sitemap.xml"
            ]
        );
        assert_eq!(plan.deletes, ["gone/index.html"]);
        assert_eq!(plan.unchanged, 1);
        assert_eq!(
            plan.stale_paths("/blog"),
            [
                "/blog/a/",
                "/blog/a/index.html",
                "/blog/gone/",
                "/blog/gone/index.html"
            ]
        );
    }

    #[test]
    fn same_size_with_a_foreign_etag_is_decided_by_metadata() {
        let f = file("big.bin", b"0123456789");
        let mut remote = BTreeMap::new();
        remote.insert(
            f.rel.clone(),
            RemoteObject {
                etag: "abcdef-2".into(),
                size: f.size,
            },
        );
        assert_eq!(compare(&f, remote.get("big.bin")), Comparison::AskMetadata);
        let recorded = HashMap::from([("big.bin".to_string(), Some(f.md5_hex()))]);
        let plan = Plan::new(vec![f.clone()], &remote, &recorded, |_| false, false);
        assert_eq!((plan.uploads.len(), plan.unchanged), (0, 1));
        for other in [Some("0".repeat(32)), None] {
            let recorded = HashMap::from([("big.bin".to_string(), other)]);
            let plan = Plan::new(vec![f.clone()], &remote, &recorded, |_| false, false);
            assert_eq!(plan.uploads.len(), 1);
        }
    }

    #[test]
    fn root_index_and_japanese_paths_are_encoded() {
        let plan = Plan {
            deletes: vec!["index.html".into(), "tags/日本語/index.html".into()],
            ..Plan::default()
        };
        assert_eq!(
            plan.stale_paths("/ブログ")[0],
            "/%E3%83%96%E3%83%AD%E3%82%B0/"
        );
        assert_eq!(
            plan.stale_paths(""),
            [
                "/",
                "/index.html",
                "/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E/",
                "/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E/index.html"
            ]
        );
    }

    #[test]
    fn long_lists_collapse_to_the_deepest_folders_that_suffice() {
        let mut paths: Vec<String> = (0..40).map(|i| format!("/tags/t{i}/")).collect();
        paths.extend((0..40).map(|i| format!("/tags/t{i}/index.html")));
        paths.push("/index.html".into());
        paths.push("/".into());
        paths.sort();
        assert_eq!(collapse(paths.clone(), 100, ""), paths);
        // Depth 2 (/tags/tN/) would need 40 wildcards; depth 1 needs one.
        assert_eq!(
            collapse(paths.clone(), 10, ""),
            ["/", "/index.html", "/tags/*"]
        );
        let posts: Vec<String> = (0..6)
            .flat_map(|m| (0..5).map(move |d| format!("/2024/0{m}/{d}/post/index.html")))
            .collect();
        let collapsed = collapse(posts.clone(), 10, "");
        assert!(collapsed.len() <= 10 && collapsed.iter().all(|p| p.starts_with("/2024/0")));
        assert!(collapsed.iter().filter(|p| p.ends_with('*')).count() <= MAX_WILDCARDS);
        assert_eq!(collapse(posts, 1, ""), ["/2024/*"]);
        let top = vec!["/blog/a.html".to_string(), "/blog/b.html".to_string()];
        assert_eq!(collapse(top, 1, "/blog"), ["/blog/*"]);
    }
}
