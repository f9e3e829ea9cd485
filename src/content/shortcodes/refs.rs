//! `ref` and `relref`: links to other pages by their source path. URLs exist only
//! once every document is loaded, so expansion leaves a token per call, `model`
//! finds each target with a [`RefIndex`] (an error naming file, line and ref when
//! none matches), and the renderer puts the URL in with [`substitute`].
//!
//! A target is found as Hugo finds it: by path relative to `content/` (`/posts/a`,
//! `posts/a.md`), relative to the referring page's folder, or by a base name only
//! one page has (`a`); with or without `.md`, a bundle by its folder; an
//! `#anchor` is kept; case does not matter.

use std::collections::HashMap;

use super::expanded::{REF, tokens};

/// One `ref`/`relref` call of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct RefCall {
    /// As written: `posts/a.md#section`.
    pub target: String,
    /// Line of the call in the source file.
    pub line: usize,
    /// `ref`: a full URL; `relref`: a path on the site.
    pub absolute: bool,
}

/// The ref calls of a document and the token prefix they were written with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refs {
    pub prefix: String,
    pub calls: Vec<RefCall>,
}

impl RefCall {
    /// The target without its `#anchor`, and the anchor (with `#`, or "").
    pub fn split_anchor(&self) -> (&str, &str) {
        match self.target.find('#') {
            Some(i) => (&self.target[..i], &self.target[i..]),
            None => (&self.target, ""),
        }
    }
}

/// `html` with ref token `i` replaced by `url(i)` (already escaped for HTML).
pub fn substitute(html: &str, refs: &Refs, mut url: impl FnMut(usize) -> String) -> String {
    if refs.calls.is_empty() || !html.contains(&refs.prefix) {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for found in tokens(html, &refs.prefix).filter(|f| f.kind == REF) {
        out.push_str(&html[last..found.at]);
        if found.index < refs.calls.len() {
            out.push_str(&url(found.index));
        }
        last = found.end;
    }
    out.push_str(&html[last..]);
    out
}

/// Why a ref found no single page.
#[derive(Debug, Clone, PartialEq)]
pub enum Miss {
    NotFound,
    /// Several pages have that base name: their sources.
    Ambiguous(Vec<String>),
}

/// Pages by the keys a ref may use: `posts/a` (path without `content/` and `.md`,
/// a bundle by its folder) and the last part of it (`a`).
#[derive(Debug, Default)]
pub struct RefIndex {
    by_key: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    sources: Vec<String>,
}

impl RefIndex {
    /// `sources`: site-relative source paths (`content/posts/a.md`), in page order.
    pub fn new<'s>(sources: impl IntoIterator<Item = &'s str>) -> RefIndex {
        let mut index = RefIndex::default();
        for (i, source) in sources.into_iter().enumerate() {
            let key = key_of_source(source);
            let name = key.rsplit('/').next().unwrap_or(&key).to_string();
            index.by_name.entry(name).or_default().push(i);
            index.by_key.insert(key, i);
            index.sources.push(source.to_string());
        }
        index
    }

    /// The page `target` (without anchor) names, seen from the page at `from`
    /// (its source path). An empty target is the page itself.
    pub fn find(&self, from: &str, target: &str) -> Result<usize, Miss> {
        let from_key = key_of_source(from);
        let wanted = normalize(target);
        if wanted.is_empty() {
            return self.by_key.get(&from_key).copied().ok_or(Miss::NotFound);
        }
        if let Some(absolute) = wanted.strip_prefix('/') {
            return self.lookup(&join("", absolute));
        }
        let folder = folder_of_source(from);
        if let Ok(i) = self.lookup(&join(&folder, &wanted)) {
            return Ok(i);
        }
        if let Ok(i) = self.lookup(&join("", &wanted)) {
            return Ok(i);
        }
        if wanted.contains('/') {
            return Err(Miss::NotFound);
        }
        match self.by_name.get(&wanted).map(Vec::as_slice) {
            Some([one]) => Ok(*one),
            Some(many) if many.len() > 1 => Err(Miss::Ambiguous(
                many.iter().map(|&i| self.sources[i].clone()).collect(),
            )),
            _ => Err(Miss::NotFound),
        }
    }

    fn lookup(&self, key: &str) -> Result<usize, Miss> {
        self.by_key.get(key).copied().ok_or(Miss::NotFound)
    }
}

/// `content/posts/a.md` → `posts/a`; `content/posts/b/index.md` → `posts/b`.
fn key_of_source(source: &str) -> String {
    let rel = source.strip_prefix("content/").unwrap_or(source);
    normalize(rel).trim_start_matches('/').to_string()
}

/// The folder of a source relative to `content/`, where its relative refs start:
/// `content/posts/a.md` → `posts`, a bundle's `index.md` → its folder.
fn folder_of_source(source: &str) -> String {
    let rel = source
        .strip_prefix("content/")
        .unwrap_or(source)
        .to_lowercase();
    match rel.rfind('/') {
        Some(i) => rel[..i].to_string(),
        None => String::new(),
    }
}

/// Lower case, no `./`, no `.md`, no trailing `/`, a bundle's `index` dropped.
fn normalize(target: &str) -> String {
    let mut t = target.trim().to_lowercase();
    while let Some(rest) = t.strip_prefix("./") {
        t = rest.to_string();
    }
    for suffix in [".md", ".markdown"] {
        if let Some(rest) = t.strip_suffix(suffix) {
            t = rest.to_string();
            break;
        }
    }
    let t = t.trim_end_matches('/');
    for index in ["/index", "/_index"] {
        if let Some(rest) = t.strip_suffix(index) {
            return rest.to_string();
        }
    }
    if t == "index" || t == "_index" {
        return String::new();
    }
    t.to_string()
}

/// `folder` + `rel`, with `.` and `..` resolved (never above `content/`).
fn join(folder: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> RefIndex {
        RefIndex::new([
            "content/posts/a.md",
            "content/posts/b/index.md",
            "content/about.md",
            "content/docs/a.md",
            "content/docs/guide.md",
        ])
    }

    #[test]
    fn targets_are_found_as_hugo_finds_them() {
        let idx = index();
        let from = "content/posts/x.md";
        for (target, want) in [
            ("posts/a.md", 0),
            ("/posts/a", 0),
            ("posts/A.md", 0),
            ("./a", 0),
            ("a.md", 0),
            ("b", 1),
            ("posts/b/", 1),
            ("/posts/b/index.md", 1),
            ("about", 2),
            ("/about.md", 2),
            ("../docs/a", 3),
            ("guide", 4),
        ] {
            assert_eq!(idx.find(from, target), Ok(want), "{target}");
        }
        // Relative to the referring page's folder first.
        assert_eq!(idx.find("content/docs/guide.md", "a"), Ok(3));
        // The page itself (an anchor-only ref).
        assert_eq!(idx.find("content/about.md", ""), Ok(2));
    }

    #[test]
    fn misses_say_why() {
        let idx = index();
        assert_eq!(idx.find("content/about.md", "nothing"), Err(Miss::NotFound));
        assert_eq!(idx.find("content/about.md", "/guide"), Err(Miss::NotFound));
        assert_eq!(
            idx.find("content/about.md", "a"),
            Err(Miss::Ambiguous(vec![
                "content/posts/a.md".into(),
                "content/docs/a.md".into()
            ]))
        );
    }

    #[test]
    fn tokens_become_urls() {
        let refs = Refs {
            prefix: "enishi0sc".into(),
            calls: vec![RefCall {
                target: "b#x".into(),
                line: 3,
                absolute: false,
            }],
        };
        assert_eq!(refs.calls[0].split_anchor(), ("b", "#x"));
        let html = "<a href=\"enishi0scr0z\">enishi0scr0z</a> enishi0scr7z";
        assert_eq!(
            substitute(html, &refs, |_| "/b/#x".into()),
            "<a href=\"/b/#x\">/b/#x</a> "
        );
    }
}
