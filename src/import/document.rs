//! The Markdown file written for an imported entry: front matter (with the
//! comments and the hash of what was imported) and body, and the test of whether
//! a file already there is still exactly what an earlier import wrote.

use chrono::{DateTime, FixedOffset, SecondsFormat};

/// The front matter key holding the import's record.
const HASH_KEY: &str = "  hash: ";

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
    pub comments: &'a [Comment],
    pub body: &'a str,
}

/// A YAML double-quoted scalar: JSON's string syntax is a subset of YAML's.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
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
        fm.push_str(&format!("date: {}\n", date.to_rfc3339_opts(SecondsFormat::Secs, true)));
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
                fm.push_str(&format!("    date: {}\n", date.to_rfc3339_opts(SecondsFormat::Secs, true)));
            }
            fm.push_str(&format!("    text: {}\n", quoted(&c.text)));
        }
    }
    fm.push_str(&format!("imported:\n  from: {}\n{HASH_KEY}\"\"\n", quoted(doc.old_url)));
    fm.push_str("---\n\n");
    let mut text = fm;
    text.push_str(doc.body);
    let hash = digest(&text);
    text.replacen(&format!("{HASH_KEY}\"\"\n"), &format!("{HASH_KEY}\"{hash}\"\n"), 1)
}

fn digest(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..24].to_string()
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
    let blanked = format!("{}{}", &existing[..value_start], &existing[value_start + len..]);
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
            comments,
            body,
        }
    }

    #[test]
    fn the_hash_tells_untouched_from_edited() {
        let comments = [Comment { author: "a: b".into(), date: None, text: "x\ny".into() }];
        let first = render(&doc("本文\n", &comments));
        assert!(first.contains("title: \"題名 \\\"引用\\\"\""), "{first}");
        assert!(first.contains("    text: \"x\\ny\"\n"), "{first}");
        assert_eq!(compare(&first, &first), Existing::Same);
        let second = render(&doc("本文が変わった\n", &comments));
        assert_eq!(compare(&first, &second), Existing::Untouched);
        let edited = first.replace("本文", "手で直した本文");
        assert_eq!(compare(&edited, &second), Existing::Edited);
        assert_eq!(compare("---\ntitle: mine\n---\n", &second), Existing::Edited);
    }
}
