//! Movable Type's export text format, which Hatena Blog writes too: entries
//! separated by a line of eight dashes, each a block of `KEY: value` lines, then
//! multi-line sections (`BODY:`, `EXTENDED BODY:`, `EXCERPT:`, `COMMENT:`,
//! `PING:` …) each closed by a line of five dashes.

use anyhow::{Result, anyhow};
use chrono::NaiveDateTime;

use super::entry::{BodyFormat, EntryKind, Export, ImportedComment, ImportedEntry, Origin};

const ENTRY_END: &str = "--------";
const SECTION_END: &str = "-----";

/// Keys that open an entry's header; a file whose first line is not one of them
/// is not this format.
const HEADER_KEYS: &[&str] = &[
    "AUTHOR",
    "TITLE",
    "BASENAME",
    "STATUS",
    "ALLOW COMMENTS",
    "ALLOW PINGS",
    "CONVERT BREAKS",
    "DATE",
    "PRIMARY CATEGORY",
    "CATEGORY",
    "TAGS",
    "IMAGE",
    "NO ENTRY",
];

/// Whether `text` looks like this format: its first non-blank line is a header key.
pub fn detect(text: &str) -> bool {
    let Some(first) = text.lines().map(str::trim_end).find(|l| !l.is_empty()) else {
        return false;
    };
    header(first).is_some_and(|(key, _)| HEADER_KEYS.contains(&key))
}

fn header(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let is_key = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b' ' || b == b'_');
    is_key.then(|| (key, value.strip_prefix(' ').unwrap_or(value)))
}

/// Reads every entry. `file` names the export in errors.
pub fn parse(text: &str, file: &str) -> Result<Export> {
    let mut export = Export {
        origin: Origin::MovableType,
        entries: Vec::new(),
        base_url: None,
        dropped_comments: 0,
        skipped: Vec::new(),
    };
    // CRLF files read the same as LF ones.
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut at = 0;
    loop {
        while at < lines.len() && lines[at].trim().is_empty() {
            at += 1;
        }
        if at >= lines.len() {
            break;
        }
        let position = export.entries.len() + 1;
        let (entry, dropped, next) = parse_entry(&lines, at, position, file)?;
        export.dropped_comments += dropped;
        export.entries.push(entry);
        at = next;
    }
    if export.entries.is_empty() {
        return Err(anyhow!(
            "{file}: no entries found in this Movable Type export"
        ));
    }
    Ok(export)
}

/// `NAME:` alone on a line: a section's first line.
fn is_section_header(line: &str) -> bool {
    line.strip_suffix(':').is_some_and(|name| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b' ')
    })
}

/// Whether the `-----` at `j` closes a section: a body may hold such a line (a
/// Markdown rule, SQL output), so it only counts when what follows is another
/// section, the entry's end or the file's end.
fn closes_section(lines: &[&str], j: usize) -> bool {
    if lines[j] != SECTION_END {
        return false;
    }
    let next = lines[j + 1..].iter().find(|l| !l.trim().is_empty());
    next.is_none_or(|l| *l == ENTRY_END || is_section_header(l.trim_end()))
}

/// One entry starting at line index `start`; returns it, the trackbacks dropped
/// and the index after its `--------` line.
fn parse_entry(
    lines: &[&str],
    start: usize,
    position: usize,
    file: &str,
) -> Result<(ImportedEntry, usize, usize)> {
    let mut entry = ImportedEntry::new(EntryKind::Post, position);
    let mut dropped = 0;
    let mut i = start;
    // The header: key lines up to the first section divider.
    while i < lines.len() && lines[i] != SECTION_END && lines[i] != ENTRY_END {
        let line = lines[i];
        let at = i + 1;
        i += 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = header(line) else {
            return Err(anyhow!(
                "{file}:{at}: expected a `KEY: value` line in the entry's header, found {:?} (is a `-----` line missing above it?)",
                shorten(line)
            ));
        };
        let value = value.trim();
        match key {
            "TITLE" => entry.title = value.to_string(),
            "BASENAME" => entry.basename = value.trim_matches('/').to_string(),
            "STATUS" => {
                entry.draft = !matches!(value.to_ascii_lowercase().as_str(), "publish" | "future")
            }
            "DATE" => {
                entry.date = Some(parse_date(value).ok_or_else(|| bad_date(file, at, value))?)
            }
            "CATEGORY" | "PRIMARY CATEGORY"
                if !value.is_empty() && !entry.categories.iter().any(|c| c == value) =>
            {
                entry.categories.push(value.to_string());
            }
            "TAGS" => entry.tags.extend(split_tags(value)),
            "CONVERT BREAKS" => {
                entry.format = match value.to_ascii_lowercase().as_str() {
                    "0" | "" | "richtext" => BodyFormat::Html,
                    "markdown" | "markdown_with_smartypants" => BodyFormat::Markdown,
                    _ => BodyFormat::AutoParagraphs,
                }
            }
            "IMAGE" if !value.is_empty() => entry.image = Some(value.to_string()),
            // AUTHOR, ALLOW COMMENTS, ALLOW PINGS, NO ENTRY and keys other tools add.
            _ => {}
        }
    }
    if i < lines.len() && lines[i] == SECTION_END {
        i += 1;
    }
    // The sections, up to the entry's end.
    loop {
        while i < lines.len() && lines[i].trim().is_empty() {
            i += 1;
        }
        if i >= lines.len() {
            break;
        }
        if lines[i] == ENTRY_END {
            i += 1;
            break;
        }
        let line = lines[i];
        let at = i + 1;
        if !is_section_header(line.trim_end()) {
            return Err(anyhow!(
                "{file}:{at}: expected a section such as `BODY:` or `COMMENT:`, found {:?}",
                shorten(line)
            ));
        }
        let name = line.trim_end().trim_end_matches(':');
        let body_start = i + 1;
        let body_end = (body_start..lines.len())
            .find(|&j| closes_section(lines, j))
            .ok_or_else(|| {
                anyhow!("{file}:{at}: the {name} section has no closing `-----` line")
            })?;
        let body = &lines[body_start..body_end];
        match name {
            "BODY" => entry.body = body.join("\n"),
            "EXTENDED BODY" => entry.extended = body.join("\n"),
            "EXCERPT" => {
                let text = body.join("\n");
                let text = text.trim();
                if !text.is_empty() {
                    entry.description = Some(text.to_string());
                }
            }
            "COMMENT" => entry
                .comments
                .push(parse_comment(body, body_start + 1, file)?),
            // Trackbacks are not kept.
            "PING" => dropped += 1,
            _ => {}
        }
        i = body_end + 1;
    }
    if entry.basename.is_empty()
        && let Some(date) = entry.date
    {
        // Movable Type without BASENAME: a stable name from the date.
        entry.basename = date.format("%Y%m%d%H%M%S").to_string();
    }
    entry.id = format!("mt:{}", entry.basename);
    Ok((entry, dropped, i))
}

/// A comment section: `AUTHOR:`, `EMAIL:`, `IP:`, `URL:`, `DATE:` lines, then the text.
fn parse_comment(lines: &[&str], first_line: usize, file: &str) -> Result<ImportedComment> {
    let mut comment = ImportedComment {
        author: String::new(),
        date: None,
        body: String::new(),
    };
    let mut i = 0;
    while i < lines.len() {
        let Some((key, value)) = header(lines[i]) else {
            break;
        };
        match key {
            "AUTHOR" => comment.author = value.trim().to_string(),
            "DATE" => {
                let value = value.trim();
                comment.date =
                    Some(parse_date(value).ok_or_else(|| bad_date(file, first_line + i, value))?);
            }
            // EMAIL, IP and URL are personal data we do not carry over.
            "EMAIL" | "IP" | "URL" => {}
            _ => break,
        }
        i += 1;
    }
    comment.body = lines[i..].join("\n").trim().to_string();
    Ok(comment)
}

/// `MM/DD/YYYY HH:MM:SS`, optionally with `AM`/`PM` as older Movable Type writes it.
pub fn parse_date(value: &str) -> Option<NaiveDateTime> {
    let value = value.trim();
    NaiveDateTime::parse_from_str(value, "%m/%d/%Y %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%m/%d/%Y %I:%M:%S %p"))
        .ok()
}

fn bad_date(file: &str, line: usize, value: &str) -> anyhow::Error {
    anyhow!(
        "{file}:{line}: DATE {value:?} is not a Movable Type date (expected MM/DD/YYYY HH:MM:SS, e.g. 01/02/2020 00:30:00)"
    )
}

/// Movable Type's `TAGS:` value: comma-separated, a tag with a comma in double quotes.
fn split_tags(value: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => tags.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    tags.push(current);
    tags.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn shorten(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "AUTHOR: someone\r\nTITLE: 最初\r\nBASENAME: 2020/01/02/003000\r\nSTATUS: Publish\r\nALLOW COMMENTS: 1\r\nCONVERT BREAKS: 0\r\nDATE: 01/02/2020 00:30:00\r\nCATEGORY: Rust\r\nCATEGORY: 日記\r\nIMAGE: https://cdn.example/a.png\r\n-----\r\nBODY:\r\n<p>本文</p>\r\n-----\r\nEXTENDED BODY:\r\n<p>続き</p>\r\n-----\r\nEXCERPT:\r\n概要\r\n-----\r\nCOMMENT:\r\nAUTHOR: 読者\r\nEMAIL: a@example.com\r\nIP: 192.0.2.1\r\nURL: \r\nDATE: 01/03/2020 10:00:00 PM\r\nありがとう<br>\r\nございます\r\n-----\r\nPING:\r\nTITLE: t\r\nURL: https://spam.example/\r\n-----\r\n--------\r\nTITLE: 下書き\r\nBASENAME: my-draft\r\nSTATUS: Draft\r\nDATE: 12/31/2019 23:59:59\r\nTAGS: \"a, b\",c\r\n-----\r\nBODY:\r\n<p>x</p>\r\n-----\r\n--------\r\n";

    #[test]
    fn reads_entries_sections_and_comments() {
        assert!(detect(TWO));
        let export = parse(TWO, "export.txt").unwrap();
        assert_eq!(export.entries.len(), 2);
        let e = &export.entries[0];
        assert_eq!(e.title, "最初");
        assert_eq!(e.basename, "2020/01/02/003000");
        assert!(!e.draft);
        assert_eq!(e.date.unwrap().to_string(), "2020-01-02 00:30:00");
        assert_eq!(e.categories, ["Rust", "日記"]);
        assert_eq!(e.image.as_deref(), Some("https://cdn.example/a.png"));
        assert_eq!(e.body, "<p>本文</p>");
        assert_eq!(e.extended, "<p>続き</p>");
        assert_eq!(e.description.as_deref(), Some("概要"));
        assert_eq!(e.comments.len(), 1);
        let c = &e.comments[0];
        assert_eq!(c.author, "読者");
        assert_eq!(c.date.unwrap().to_string(), "2020-01-03 22:00:00");
        assert_eq!(c.body, "ありがとう<br>\nございます");
        assert_eq!(export.dropped_comments, 1);
        let d = &export.entries[1];
        assert!(d.draft);
        assert_eq!(d.tags, ["a, b", "c"]);
    }

    #[test]
    fn dash_lines_inside_a_body_are_text() {
        let text = "TITLE: a\nDATE: 01/02/2020 00:00:00\n-----\nBODY:\n<pre>\n-----\nSELECT 1\n--------\n</pre>\n-----\n--------\nTITLE: b\n-----\nBODY:\nx\n-----\n--------\n";
        let export = parse(text, "e.txt").unwrap();
        assert_eq!(export.entries.len(), 2);
        assert_eq!(
            export.entries[0].body,
            "<pre>\n-----\nSELECT 1\n--------\n</pre>"
        );
        assert_eq!(export.entries[1].title, "b");
    }

    #[test]
    fn errors_name_the_line() {
        let text = "TITLE: x\nDATE: 2020-01-02\n-----\nBODY:\nx\n-----\n--------\n";
        let err = parse(text, "e.txt").unwrap_err().to_string();
        assert!(err.starts_with("e.txt:2: DATE \"2020-01-02\""), "{err}");
        let text = "TITLE: x\n-----\nBODY:\nx\n--------\n";
        let err = parse(text, "e.txt").unwrap_err().to_string();
        assert!(
            err.starts_with("e.txt:3: the BODY section has no closing"),
            "{err}"
        );
        assert!(!detect("<?xml version=\"1.0\"?>\n<rss>"));
        assert!(!detect("hello: world"));
    }
}
