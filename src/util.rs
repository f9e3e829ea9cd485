//! Small helpers shared by several stages.

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// 1-based line number of a byte offset in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Characters left as they are in a URL path: RFC 3986 unreserved plus `/`.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes a URL path so Japanese slugs are valid in hrefs, feeds and sitemaps.
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_KEEP).to_string()
}

/// A URL/file-name-safe slug that keeps Japanese characters: ASCII is lower-cased,
/// runs of whitespace and punctuation become one `-`, letters and digits of any
/// script are kept. Returns an empty string when nothing usable is left.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' || is_kana_mark(c) {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.extend(c.to_lowercase());
        } else {
            pending_dash = true;
        }
    }
    out
}

/// The prolonged sound mark and iteration marks are not `alphanumeric` but belong to words.
fn is_kana_mark(c: char) -> bool {
    matches!(c, 'ー' | '々' | 'ゝ' | 'ゞ' | 'ヽ' | 'ヾ')
}

/// Runs of whitespace (line breaks included) as one space, none at either end.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest prefix of `s` of at most `max_chars` characters that ends between
/// grapheme clusters, so a flag, a family emoji, a skin tone or a letter with its
/// combining marks is never split. Counting characters (not clusters) keeps the
/// limits as they always were for text without such sequences, and bounds the size
/// of a hostile cluster.
pub fn grapheme_prefix(s: &str, max_chars: usize) -> &str {
    use unicode_segmentation::UnicodeSegmentation;
    let mut chars = 0;
    for (at, cluster) in s.grapheme_indices(true) {
        chars += cluster.chars().count();
        if chars > max_chars {
            return &s[..at];
        }
    }
    s
}

/// At most `max` characters: `s` itself, or a prefix cut between grapheme clusters
/// and ended with "…".
pub fn cut_text(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out = grapheme_prefix(s, max.saturating_sub(1))
        .trim_end()
        .to_string();
    out.push('…');
    out
}

/// Display form of a path relative to the site root, with `/` separators on every OS.
pub fn display_rel(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Size and modification time (ns since the epoch) of a file, as manifests record them.
pub fn size_and_mtime(meta: &std::fs::Metadata) -> Option<(u64, i64)> {
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as i64;
    Some((meta.len(), mtime))
}

/// Writes `bytes` at `path` and returns the file's size and mtime, read from the
/// open file (a `stat` by path afterwards would cost another lookup).
pub fn write_stamped(path: &Path, bytes: &[u8]) -> std::io::Result<(u64, i64)> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    size_and_mtime(&file.metadata()?).ok_or_else(|| std::io::Error::other("no modification time"))
}

/// Writes through a temporary name in the same folder, renamed into place, so a
/// reader never sees half a file; returns size and mtime (a rename keeps the mtime).
/// The temporary name is short (a 255-byte name must still get one) and unique to
/// the write: two writers may make the same file at the same moment.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<(u64, i64)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".enishi-tmp-{}-{n}", std::process::id()));
    let stamp = write_stamped(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(stamp)
}

/// Hands memory freed by a finished stage back to the system, so the next stage's
/// peak does not stack on top of it (glibc keeps freed memory otherwise).
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// An error and its causes on one line, without repeating a cause that an outer
/// message already quotes.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Writes a template value's `text` as both template environments do: escaped as
/// HTML needs and no more (minijinja's own escaper also turns `/` into `&#x2f;`,
/// which makes every URL unreadable), unless escaping is off or the value is safe.
pub fn write_template_text(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
    text: &str,
) -> Result<(), minijinja::Error> {
    if state.auto_escape() == minijinja::AutoEscape::None || value.is_safe() {
        out.write_str(text)
    } else {
        out.write_str(&escape_html(text))
    }
    .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Decodes the character references that appear in attribute values: the five
/// that [`escape_html`] writes, `&apos;`, `&nbsp;` and numeric ones. Other named
/// references are left as written (they do not occur in URLs in practice).
pub fn unescape_html(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let n = name.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_between_grapheme_clusters() {
        let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
        for (text, max, want) in [
            ("あいうえお", 3, "あい…"),
            ("あいう", 3, "あいう"),
            // A flag is two regional indicators: never half of one.
            ("日本🇯🇵です", 4, "日本…"),
            ("日本🇯🇵です", 5, "日本🇯🇵…"),
            // Skin tone, variation selector, combining mark.
            ("手👍🏽を", 3, "手…"),
            ("❤\u{FE0F}愛", 2, "…"),
            ("cafe\u{301}s", 5, "caf…"),
        ] {
            assert_eq!(cut_text(text, max), want, "{text} {max}");
        }
        let s = format!("家族{family}です");
        for max in 1..12 {
            let c = cut_text(&s, max);
            assert!(c.chars().count() <= max, "{c}");
            let kept = c.trim_end_matches('…');
            assert!(!kept.contains('\u{200D}') || kept.contains(family), "{c}");
        }
        assert_eq!(grapheme_prefix("🇯🇵🇯🇵", 3), "🇯🇵");
    }

    #[test]
    fn slugs_keep_japanese_and_fold_punctuation() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("はじめての Rust"), "はじめての-rust");
        assert_eq!(slugify("サーバーレス入門（前編）"), "サーバーレス入門-前編");
        assert_eq!(slugify("  ?? "), "");
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode_path("/tags/日本/"), "/tags/%E6%97%A5%E6%9C%AC/");
        assert_eq!(encode_path("/a b/"), "/a%20b/");
    }

    #[test]
    fn offsets_map_to_lines() {
        assert_eq!(line_of_offset("a\nb\nc", 0), 1);
        assert_eq!(line_of_offset("a\nb\nc", 2), 2);
        assert_eq!(line_of_offset("a\nb\nc", 99), 3);
    }

    #[test]
    fn unescape_reverses_escape() {
        let s = "a&b <c> \"d\" 'e' 縁 &unknown; &";
        assert_eq!(unescape_html(&escape_html(s)), s);
        assert_eq!(unescape_html("&#x7E01;&#32;x"), "縁 x");
    }
}
