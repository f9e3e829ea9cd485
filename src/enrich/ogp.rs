//! What a card shows, read from a page's `<head>` with a fallback chain per field.
//! Pages are parsed by an HTML5 parser (scraper), so broken markup, unquoted
//! attributes and meta tags in `<body>` are all read the way a browser reads them,
//! and entities are decoded exactly once.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use scraper::{Html, Selector};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::util::{collapse_whitespace, cut_text};

/// Descriptions are cut to about this many characters.
pub const DESCRIPTION_CHARS: usize = 120;
/// Titles from hostile pages can be any length; a card has room for this much.
const TITLE_CHARS: usize = 200;
const URL_BYTES: usize = 2048;

/// The fields of a link card, every one already validated (URLs are absolute
/// http(s)) but not escaped: escaping is the template's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageMeta {
    pub title: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub site_name: String,
    pub icon: String,
    /// `YYYY-MM-DD`, when the page states a date we can read.
    pub published: Option<String>,
}

pub fn extract(html: &str, final_url: &Url) -> PageMeta {
    let doc = Html::parse_document(html);
    let sel = |s: &str| Selector::parse(s).expect("static selector");

    // property= and name= both count; the first non-empty tag of a key wins.
    let mut meta: HashMap<String, String> = HashMap::new();
    for el in doc.select(&sel("meta")) {
        let v = el.value();
        let Some(content) = v.attr("content").map(str::trim).filter(|c| !c.is_empty()) else {
            continue;
        };
        for key in [v.attr("property"), v.attr("name"), v.attr("itemprop")]
            .into_iter()
            .flatten()
        {
            meta.entry(key.trim().to_ascii_lowercase())
                .or_insert_with(|| content.to_string());
        }
    }
    let get = |key: &str| meta.get(key).map(String::as_str);

    let mut links: Vec<(Vec<String>, String)> = Vec::new();
    for el in doc.select(&sel("link[rel][href]")) {
        let v = el.value();
        let rel = v
            .attr("rel")
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        links.push((rel, v.attr("href").unwrap_or_default().trim().to_string()));
    }
    let link = |wanted: &[&str]| {
        links
            .iter()
            .filter(|(rel, href)| {
                !href.is_empty() && rel.iter().any(|r| wanted.contains(&r.as_str()))
            })
            .map(|(_, href)| href.as_str())
            .collect::<Vec<_>>()
    };

    let base = doc
        .select(&sel("base[href]"))
        .next()
        .and_then(|b| final_url.join(b.value().attr("href")?.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| final_url.clone());
    let resolve = |s: &str| -> Option<String> {
        let u = base.join(s).ok()?;
        (matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some()
            && u.as_str().len() <= URL_BYTES)
            .then(|| u.to_string())
    };

    let first_text = |selector: &str| {
        doc.select(&sel(selector))
            .map(|el| collapse_whitespace(&el.text().collect::<String>()))
            .find(|t| !t.is_empty())
    };
    let title = get("og:title")
        .or_else(|| get("twitter:title"))
        .map(collapse_whitespace)
        .filter(|t| !t.is_empty())
        .or_else(|| first_text("title"))
        .or_else(|| first_text("h1"))
        .map(|t| cut_text(&t, TITLE_CHARS));

    let description = get("og:description")
        .or_else(|| get("twitter:description"))
        .or_else(|| get("description"))
        .map(collapse_whitespace)
        .filter(|d| !d.is_empty() && Some(d) != title.as_ref())
        .map(|d| cut_text(&d, DESCRIPTION_CHARS));

    let mut image_candidates: Vec<&str> = [
        "og:image:secure_url",
        "og:image:url",
        "og:image",
        "twitter:image",
        "twitter:image:src",
    ]
    .iter()
    .filter_map(|k| get(k))
    .collect();
    image_candidates.extend(link(&["image_src"]));
    let image = image_candidates.into_iter().find_map(resolve);

    let host = final_url.host_str().unwrap_or_default().to_string();
    let site_name = get("og:site_name")
        .or_else(|| get("application-name"))
        .map(collapse_whitespace)
        .filter(|s| !s.is_empty())
        .map(|s| cut_text(&s, TITLE_CHARS))
        .unwrap_or(host);

    let icon = link(&["icon", "apple-touch-icon"])
        .into_iter()
        .find_map(resolve)
        .or_else(|| resolve("/favicon.ico"))
        .unwrap_or_default();

    let published = [
        "article:published_time",
        "og:published_time",
        "datepublished",
        "date",
    ]
    .iter()
    .filter_map(|k| get(k))
    .find_map(parse_loose_date);

    PageMeta {
        title,
        description,
        image,
        site_name,
        icon,
        published,
    }
}

/// Reads the dates Japanese sites actually write: ISO 8601 and RFC 3339, but also
/// `2018-05-26 12:34:56 +0900`, `2018/05/26 12:34`, `2018年5月26日`, a bare date.
/// Whatever cannot be read is ignored: a date is decoration, never a reason to fail.
pub fn parse_loose_date(raw: &str) -> Option<String> {
    let s = raw.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.date_naive().to_string());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y/%m/%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.date_naive().to_string());
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.date().to_string());
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_dates() {
        for (raw, want) in [
            ("2018-05-26T12:00:00+09:00", Some("2018-05-26")),
            ("2018-05-26 12:00:00 +0900", Some("2018-05-26")),
            ("2018/05/26 08:15", Some("2018-05-26")),
            ("2018年5月26日", Some("2018-05-26")),
            ("2018-05-26", Some("2018-05-26")),
            ("先週の金曜日", None),
            ("2018-13-45", None),
        ] {
            assert_eq!(parse_loose_date(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn cut_keeps_characters_whole() {
        let s = "あ".repeat(130);
        let c = cut_text(&s, 120);
        assert_eq!(c.chars().count(), 120);
        assert!(c.ends_with("あ…"));
        assert_eq!(cut_text("短い", 120), "短い");
    }
}
