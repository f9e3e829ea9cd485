//! Front matter: YAML between `---` lines or TOML between `+++` lines, with Hugo's
//! field names. Keys are matched case-insensitively, as Hugo does; fields we do not
//! know are kept in `params` for templates.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde_json::Value;

/// The front matter block and the body that follows it.
#[derive(Debug)]
pub struct Split<'a> {
    pub format: Format,
    /// Text between the fences.
    pub front: &'a str,
    /// 1-based line of the first front-matter line (after the opening fence).
    pub front_line: usize,
    pub body: &'a str,
    /// 1-based line of the first body line.
    pub body_line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

#[derive(Debug, Clone, Default)]
pub struct FrontMatter {
    pub title: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub lastmod: Option<DateTime<FixedOffset>>,
    pub draft: bool,
    pub slug: Option<String>,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub description: Option<String>,
    pub summary: Option<String>,
    pub images: Vec<String>,
    pub aliases: Vec<String>,
    /// Hugo's `url`: the page's whole path, overriding every permalink rule.
    pub url: Option<String>,
    /// What Hugo accepts but is probably a mistake (an empty title, `draft: fales`),
    /// with the line: warnings, not errors.
    pub problems: Vec<(usize, String)>,
    /// For a draft: the error it would be if published (`enishi build --drafts`
    /// reports it; a normal build skips the draft before validating it).
    pub invalid: Option<String>,
    /// Comments archived from the blog the post was imported from (`enishi
    /// import`): shown read-only, their text escaped.
    pub comments: Vec<ArchivedComment>,
    /// `search: false`: the page is left out of the site search index.
    pub search_excluded: bool,
    /// Every other key, for templates (`page.params.foo`). Hugo's own `params`
    /// table is merged in too.
    pub params: BTreeMap<String, Value>,
}

/// A reader's comment kept from an imported blog. `text` is plain text: the
/// renderer escapes it and links only http(s) URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedComment {
    pub author: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub text: String,
}

/// Splits a source file into front matter and body. `file` is only used in errors.
pub fn split<'a>(text: &'a str, file: &str) -> Result<Split<'a>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_end = text.find('\n').map(|i| i + 1).unwrap_or(text.len());
    let fence = text[..first_end].trim_end();
    let format = match fence {
        "---" => Format::Yaml,
        "+++" => Format::Toml,
        _ => {
            return Err(anyhow!(
                "{file}:1: no front matter (start the file with a `---` YAML or `+++` TOML block containing at least `title`)"
            ));
        }
    };
    let mut pos = first_end;
    let mut line = 2;
    while pos < text.len() {
        let end = text[pos..]
            .find('\n')
            .map(|i| pos + i + 1)
            .unwrap_or(text.len());
        let l = text[pos..end].trim_end();
        let closes = match format {
            Format::Yaml => l == "---" || l == "...",
            Format::Toml => l == "+++",
        };
        if closes {
            return Ok(Split {
                format,
                front: &text[first_end..pos],
                front_line: 2,
                body: &text[end..],
                body_line: line + 1,
            });
        }
        pos = end;
        line += 1;
    }
    Err(anyhow!(
        "{file}:1: front matter opened with `{fence}` is never closed (add a `{fence}` line after it)"
    ))
}

/// Parses the front matter into Hugo's fields, with dates in the site's time zone.
pub fn parse(split: &Split, file: &str, tz: Tz) -> Result<FrontMatter> {
    let map = match split.format {
        Format::Yaml => parse_yaml(split, file)?,
        Format::Toml => parse_toml(split, file)?,
    };
    let at = |key: &str| format!("{file}:{}", key_line(split, key));

    let mut fm = FrontMatter::default();
    // Field errors wait until we know whether the page is a draft: a draft is
    // skipped before it is validated, as Hugo does.
    let mut errors: Vec<anyhow::Error> = Vec::new();
    for (raw_key, value) in map {
        let key = raw_key.to_lowercase();
        match key.as_str() {
            "title" => fm.title = scalar_string(&value).unwrap_or_default(),
            "date" | "publishdate" | "pubdate" if fm.date.is_none() || key == "date" => {
                if value.is_null() {
                    continue;
                }
                match scalar_string(&value).and_then(|s| parse_date(&s, tz)) {
                    Some(d) => fm.date = Some(d),
                    None => errors.push(invalid_date(&at(&raw_key), &raw_key, &value)),
                }
            }
            "lastmod" => {
                if value.is_null() {
                    continue;
                }
                match scalar_string(&value).and_then(|s| parse_date(&s, tz)) {
                    Some(d) => fm.lastmod = Some(d),
                    None => errors.push(invalid_date(&at(&raw_key), &raw_key, &value)),
                }
            }
            "draft" => {
                fm.draft = match &value {
                    Value::Bool(b) => *b,
                    Value::String(s) if s.eq_ignore_ascii_case("true") => true,
                    Value::String(s) if s.eq_ignore_ascii_case("false") => false,
                    Value::Null => false,
                    _ => {
                        // Hugo publishes such a page; so do we, saying so.
                        fm.problems.push((
                            key_line(split, &raw_key),
                            format!("draft must be true or false, found {value}; the page is published (write `draft: true` to keep it out)"),
                        ));
                        false
                    }
                }
            }
            "search" => match &value {
                Value::Bool(b) => fm.search_excluded = !b,
                Value::String(s) if s.eq_ignore_ascii_case("false") => fm.search_excluded = true,
                Value::String(s) if s.eq_ignore_ascii_case("true") => {}
                _ => fm.problems.push((
                    key_line(split, &raw_key),
                    format!("search must be true or false, found {value}; the page stays searchable (write `search: false` to leave it out)"),
                )),
            },
            "slug" => fm.slug = scalar_string(&value).filter(|s| !s.trim().is_empty()),
            "tags" | "categories" => {
                // Hugo keeps `tags: 日記, Rust` as one tag; so do we, saying so.
                if let Value::String(one) = &value
                    && one.contains([',', '、', '，'])
                {
                    fm.problems.push((
                        key_line(split, &raw_key),
                        format!(
                            "{raw_key}: {one:?} is one term, as in Hugo; for several, write a list: {raw_key}: [{}]",
                            one.split([',', '、', '，']).map(str::trim).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                let list = string_list(&value);
                if key == "tags" {
                    fm.tags = list;
                } else {
                    fm.categories = list;
                }
            }
            "description" => fm.description = scalar_string(&value).filter(|s| !s.is_empty()),
            "summary" => fm.summary = scalar_string(&value).filter(|s| !s.is_empty()),
            "images" | "image" => {
                if fm.images.is_empty() {
                    fm.images = string_list(&value)
                }
            }
            "aliases" => fm.aliases = string_list(&value),
            "url" => fm.url = scalar_string(&value).filter(|s| !s.trim().is_empty()),
            "comments" => match archived_comments(&value, tz) {
                Ok(list) => fm.comments = list,
                Err(why) => fm.problems.push((key_line(split, &raw_key), why)),
            },
            "params" => {
                if let Value::Object(obj) = value {
                    for (k, v) in obj {
                        fm.params.insert(k, v);
                    }
                }
            }
            _ => {
                fm.params.insert(raw_key, value);
            }
        }
    }
    if let Some(first) = errors.into_iter().next() {
        if !fm.draft {
            return Err(first);
        }
        fm.invalid = Some(first.to_string());
    }
    fm.title = fm.title.trim().to_string();
    if fm.title.is_empty() {
        fm.problems.push((
            split.front_line.saturating_sub(1).max(1),
            "no title (add `title: ...` to the front matter)".into(),
        ));
    }
    Ok(fm)
}

/// `comments:` as `enishi import` writes it: a list of `author`, `date`, `text`.
fn archived_comments(value: &Value, tz: Tz) -> std::result::Result<Vec<ArchivedComment>, String> {
    let hint = "comments must be a list of `author`, `date` and `text` entries; they are not shown";
    let Value::Array(items) = value else {
        return Err(hint.to_string());
    };
    items
        .iter()
        .map(|item| {
            let get = |k: &str| item.get(k).and_then(scalar_string);
            let text = get("text").ok_or_else(|| hint.to_string())?;
            let date = match get("date") {
                Some(d) => Some(parse_date(&d, tz).ok_or_else(|| {
                    format!("comment date {d:?} is not a date; comments are not shown")
                })?),
                None => None,
            };
            Ok(ArchivedComment {
                author: get("author").unwrap_or_default(),
                date,
                text,
            })
        })
        .collect()
}

fn invalid_date(at: &str, key: &str, value: &Value) -> anyhow::Error {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    anyhow!(
        "{at}: invalid {key} {shown:?} (use 2024-05-26, 2024-05-26T10:00:00 or 2024-05-26T10:00:00+09:00)"
    )
}

fn parse_yaml(split: &Split, file: &str) -> Result<serde_json::Map<String, Value>> {
    if split.front.trim().is_empty() {
        return Ok(Default::default());
    }
    let value: Value = serde_saphyr::from_str(split.front).map_err(|e| {
        let line = e
            .location()
            .map(|l| split.front_line + (l.line() as usize).saturating_sub(1))
            .unwrap_or(split.front_line);
        let full = first_line(&e.to_string());
        // The parser prefixes its own "error: line N column M: "; we give the file's line instead.
        let msg = full.strip_prefix("error: ").unwrap_or(&full);
        let msg = match msg.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") => rest,
            _ => msg,
        }
        .to_string();
        anyhow!("{file}:{line}: invalid YAML front matter: {msg}")
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Default::default()),
        _ => Err(anyhow!(
            "{file}:{}: front matter must be a mapping of `key: value` lines",
            split.front_line
        )),
    }
}

fn parse_toml(split: &Split, file: &str) -> Result<serde_json::Map<String, Value>> {
    let table: toml::Table = split.front.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| split.front_line + crate::util::line_of_offset(split.front, s.start) - 1)
            .unwrap_or(split.front_line);
        anyhow!(
            "{file}:{line}: invalid TOML front matter: {}",
            first_line(e.message())
        )
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, toml_to_json(v)))
        .collect())
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// A TOML value as JSON (dates as their text).
fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// The 1-based line of `key` in the front matter (its opening line when not found).
fn key_line(split: &Split, key: &str) -> usize {
    for (i, line) in split.front.lines().enumerate() {
        let t = line.trim_start().trim_start_matches('"');
        if let Some(rest) = t.strip_prefix(key) {
            let rest = rest.trim_start_matches('"').trim_start();
            if rest.starts_with(':') || rest.starts_with('=') {
                return split.front_line + i;
            }
        }
    }
    split.front_line
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Hugo accepts both `tags: [a, b]` and `tags: a`.
pub fn string_list(v: &Value) -> Vec<String> {
    let items: Vec<String> = match v {
        Value::Array(a) => a.iter().filter_map(scalar_string).collect(),
        other => scalar_string(other).into_iter().collect(),
    };
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses the date forms found in Hugo, Jekyll and hand-written front matter.
/// A date without an offset is a wall-clock time in the site's time zone.
pub fn parse_date(s: &str, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    let normalized = s.replace('/', "-");
    let s = normalized.as_str();
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.fZ",
    ] {
        if let Ok(d) = DateTime::parse_from_str(&s.replace('Z', "+00:00"), fmt) {
            return Some(d);
        }
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    // `earliest` resolves a wall-clock time inside a DST gap or overlap deterministically.
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKYO: Tz = chrono_tz::Asia::Tokyo;

    #[test]
    fn dates_without_offset_are_in_site_zone() {
        let d = parse_date("2018-05-26", TOKYO).unwrap();
        assert_eq!(d.to_rfc3339(), "2018-05-26T00:00:00+09:00");
        let d = parse_date("2018-05-26 10:30", TOKYO).unwrap();
        assert_eq!(d.to_rfc3339(), "2018-05-26T10:30:00+09:00");
        let d = parse_date("2018-05-26T10:30:00Z", TOKYO).unwrap();
        assert_eq!(d.to_rfc3339(), "2018-05-26T10:30:00+00:00");
        let d = parse_date("2018-05-26 10:30:00 +0900", TOKYO).unwrap();
        assert_eq!(d.to_rfc3339(), "2018-05-26T10:30:00+09:00");
        let d = parse_date("2018/05/26", TOKYO).unwrap();
        assert_eq!(d.to_rfc3339(), "2018-05-26T00:00:00+09:00");
        let ny = parse_date("2018-07-01T12:00:00", chrono_tz::America::New_York).unwrap();
        assert_eq!(ny.to_rfc3339(), "2018-07-01T12:00:00-04:00");
        assert!(parse_date("2018-13-45", TOKYO).is_none());
        assert!(parse_date("昨日", TOKYO).is_none());
    }

    #[test]
    fn split_finds_fences_and_lines() {
        let s = split("---\ntitle: a\n---\nbody\n", "a.md").unwrap();
        assert_eq!(s.format, Format::Yaml);
        assert_eq!(s.front, "title: a\n");
        assert_eq!(s.body, "body\n");
        assert_eq!(s.body_line, 4);
        let s = split("+++\ntitle = 'a'\n+++\n", "a.md").unwrap();
        assert_eq!(s.format, Format::Toml);
        assert!(split("---\ntitle: a\n", "a.md").is_err());
    }
}
