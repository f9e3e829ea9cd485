//! The Markdown file written for an imported entry: front matter (with the
//! comments and the hash of what was imported) and body, and the test of whether
//! a file already there is still exactly what an earlier import wrote.

use chrono::{DateTime, FixedOffset, SecondsFormat};

/// The keys of the import's record in the front matter (`imported:`).
const HASH_KEY: &str = "  hash: ";
const ID_KEY: &str = "  id: ";

/// The entry identity recorded in a file an import wrote, if it is one.
pub fn recorded_id(text: &str) -> Option<String> {
    let front_end = text.get(4..)?.find("\n---\n").map_or(text.len(), |e| e + 4);
    let front = &text[..front_end];
    let at = front.find("\nimported:\n")?;
    let line = front[at..].lines().find_map(|l| l.strip_prefix(ID_KEY))?;
    serde_json::from_str::<String>(line.trim()).ok()
}

pub struct Comment {
    pub author: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub text: String,
}

pub struct NewDocument<'a> {
    pub title: &'a str,
    pub date: Option<DateTime<FixedOffset>>,
    pub draft: bool,
    pub tags: &'a [String],
    pub categories: &'a [String],
    pub description: Option<&'a str>,
    pub image: Option<&'a str>,
    pub aliases: &'a [String],
    pub old_url: &'a str,
    /// The entry's lasting identity (`mt:2020/01/02/003000`, `wp:12`).
    pub id: &'a str,
    pub comments: &'a [Comment],
    pub body: &'a str,
}

/// A YAML double-quoted scalar. Every character YAML will not take raw (C0 and
/// C1 controls, DEL, line and paragraph separators, BOM, non-characters) is
/// escaped, so an odd byte in an old comment cannot break the front matter.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(key: &str, items: &[String], out: &mut String) {
    if items.is_empty() {
        return;
    }
    out.push_str(key);
    out.push_str(":\n");
    for item in items {
        out.push_str("  - ");
        out.push_str(&quoted(item));
        out.push('\n');
    }
}

/// The file's text, its hash filled in.
pub fn render(doc: &NewDocument) -> String {
    let mut fm = String::from("---\n");
    fm.push_str(&format!("title: {}\n", quoted(doc.title)));
    if let Some(date) = doc.date {
        fm.push_str(&format!(
            "date: {}\n",
            date.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    if doc.draft {
        fm.push_str("draft: true\n");
    }
    list("tags", doc.tags, &mut fm);
    list("categories", doc.categories, &mut fm);
    if let Some(d) = doc.description {
        fm.push_str(&format!("description: {}\n", quoted(d)));
    }
    if let Some(image) = doc.image {
        fm.push_str(&format!("images:\n  - {}\n", quoted(image)));
    }
    list("aliases", doc.aliases, &mut fm);
    if !doc.comments.is_empty() {
        fm.push_str("comments:\n");
        for c in doc.comments {
            fm.push_str(&format!("  - author: {}\n", quoted(&c.author)));
            if let Some(date) = c.date {
                fm.push_str(&format!(
                    "    date: {}\n",
                    date.to_rfc3339_opts(SecondsFormat::Secs, true)
                ));
            }
            fm.push_str(&format!("    text: {}\n", quoted(&c.text)));
        }
    }
    fm.push_str(&format!(
        "imported:\n  from: {}\n{ID_KEY}{}\n{HASH_KEY}\"\"\n",
        quoted(doc.old_url),
        quoted(doc.id)
    ));
    fm.push_str("---\n\n");
    let mut text = fm;
    text.push_str(doc.body);
    let hash = digest(&text);
    text.replacen(
        &format!("{HASH_KEY}\"\"\n"),
        &format!("{HASH_KEY}\"{hash}\"\n"),
        1,
    )
}

fn digest(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..24].to_string()
}

/// Text that a build would read as a Hugo shortcode call (`{{< x >}}`,
/// `{{% x %}}`: a post about Hugo, say) made to show as written: a call with
/// its closer becomes the escaped form `{{</* x */>}}`; an opener without one
/// gets a Markdown backslash (`{\{<`) so it is no call.
pub fn escape_shortcode_syntax(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("{{") {
        let after = &rest[at + 2..];
        let kind = match after.chars().next() {
            Some('<') => '<',
            Some('%') => '%',
            _ => {
                out.push_str(&rest[..at + 2]);
                rest = after;
                continue;
            }
        };
        out.push_str(&rest[..at]);
        let inner = &after[1..];
        let closer = if kind == '<' { ">}}" } else { "%}}" };
        let next_open = inner.find("{{").unwrap_or(inner.len());
        match inner.find(closer).filter(|&c| c < next_open) {
            Some(c) => {
                let end = if kind == '<' { '>' } else { '%' };
                out.push_str(&format!("{{{{{kind}/*{}*/{end}}}}}", &inner[..c]));
                rest = &inner[c + closer.len()..];
            }
            None => {
                out.push_str(&format!("{{\\{{{kind}"));
                rest = inner;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a file already at the entry's place is to the import.
#[derive(Debug, PartialEq, Eq)]
pub enum Existing {
    /// Exactly what this import would write.
    Same,
    /// Written by an earlier import and not touched since: safe to replace.
    Untouched,
    /// Edited since it was imported, or never imported: kept unless `--overwrite`.
    Edited,
}

pub fn compare(existing: &str, new: &str) -> Existing {
    if existing == new {
        return Existing::Same;
    }
    // The recorded hash is of the file with the hash itself blanked.
    let front_end = existing.find("\n---\n").unwrap_or(existing.len());
    let Some(at) = existing[..front_end].find(&format!("\n{HASH_KEY}\"")) else {
        return Existing::Edited;
    };
    let value_start = at + 1 + HASH_KEY.len() + 1;
    let Some(len) = existing[value_start..].find('"') else {
        return Existing::Edited;
    };
    let recorded = &existing[value_start..value_start + len];
    let blanked = format!(
        "{}{}",
        &existing[..value_start],
        &existing[value_start + len..]
    );
    if !recorded.is_empty() && digest(&blanked) == recorded {
        Existing::Untouched
    } else {
        Existing::Edited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(body: &'a str, comments: &'a [Comment]) -> NewDocument<'a> {
        NewDocument {
            title: "題名 \"引用\"",
            date: DateTime::parse_from_rfc3339("2020-01-02T00:30:00+09:00").ok(),
            draft: true,
            tags: &[],
            categories: &[],
            description: None,
            image: None,
            aliases: &[],
            old_url: "https://blog.example.com/entry/a",
            id: "mt:a",
            comments,
            body,
        }
    }

    #[test]
    fn the_hash_tells_untouched_from_edited() {
        let comments = [Comment {
            author: "a: b".into(),
            date: None,
            text: "x\ny".into(),
        }];
        let first = render(&doc("本文\n", &comments));
        assert!(first.contains("title: \"題名 \\\"引用\\\"\""), "{first}");
        assert!(first.contains("    text: \"x\\ny\"\n"), "{first}");
        assert_eq!(compare(&first, &first), Existing::Same);
        let second = render(&doc("本文が変わった\n", &comments));
        assert_eq!(compare(&first, &second), Existing::Untouched);
        let edited = first.replace("本文", "手で直した本文");
        assert_eq!(compare(&edited, &second), Existing::Edited);
        assert_eq!(
            compare("---\ntitle: mine\n---\n", &second),
            Existing::Edited
        );
        assert_eq!(recorded_id(&first).as_deref(), Some("mt:a"));
        assert_eq!(
            recorded_id("---\ntitle: mine\n---\n\nimported:\n  id: \"x\"\n"),
            None
        );
    }

    #[test]
    fn shortcode_syntax_shows_as_written() {
        assert_eq!(
            escape_shortcode_syntax("a {{< youtube x >}} b {{% note %}} c {{< d"),
            "a {{</* youtube x */>}} b {{%/* note */%}} c {\\{< d"
        );
        assert_eq!(escape_shortcode_syntax("{{x}} {{"), "{{x}} {{");
    }

    #[test]
    fn odd_characters_are_escaped_so_the_yaml_reads_back() {
        let nasty = "a\"b\\c\nd\u{7f}e\u{85}f\u{2028}g\u{0}h\u{feff}i 日本";
        let yaml = format!("k: {}\n", quoted(nasty));
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back["k"], nasty);
    }
}
