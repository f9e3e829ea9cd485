//! What a card shows: each field from the first source that has it, in the order
//! og → twitter → JSON-LD → oEmbed → HTML (`<title>`, then the first `<h1>`; meta
//! description; `link rel=image_src`; `application-name`, then the host). The
//! page's facts are read by [`super::page`], its JSON-LD by [`super::jsonld`], the
//! oEmbed document (fetched by the card, when the page gave no title from og,
//! twitter or JSON-LD) by [`super::oembed`]. Which source gave each field is kept
//! with the card, so `enishi card URL --json` can say why a card looks as it does.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use url::Url;

use super::oembed::OEmbed;
use super::page::Page;
use crate::util::{collapse_whitespace, cut_text};

/// Descriptions are cut to about this many characters.
pub const DESCRIPTION_CHARS: usize = 120;
/// Titles from hostile pages can be any length; a card has room for this much.
const TITLE_CHARS: usize = 200;

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
    /// Where each field came from. Cards cached before sources were recorded have
    /// none (they read as unknown until the card is fetched again).
    #[serde(default)]
    pub sources: Sources,
}

/// Where a card's field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    #[serde(rename = "og")]
    OpenGraph,
    #[serde(rename = "twitter")]
    Twitter,
    #[serde(rename = "json-ld")]
    JsonLd,
    #[serde(rename = "oembed")]
    OEmbed,
    /// Plain HTML: `<title>`, `<h1>`, meta description, `link rel=image_src`,
    /// `application-name`, a microdata `itemprop`.
    #[serde(rename = "html")]
    Html,
    /// The site name is the host: nothing named the site.
    #[serde(rename = "host")]
    Host,
}

impl Source {
    /// The name `enishi card --json` shows.
    pub fn name(self) -> &'static str {
        match self {
            Source::OpenGraph => "og",
            Source::Twitter => "twitter",
            Source::JsonLd => "json-ld",
            Source::OEmbed => "oembed",
            Source::Html => "html",
            Source::Host => "host",
        }
    }
}

/// The source of each field that has one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    pub title: Option<Source>,
    pub description: Option<Source>,
    pub image: Option<Source>,
    pub site_name: Option<Source>,
    pub published: Option<Source>,
}

/// A page's card from its HTML alone (no oEmbed).
pub fn extract(html: &str, final_url: &Url) -> PageMeta {
    assemble(&Page::read(html, final_url), None)
}

/// Whether the card needs the page's oEmbed document: no title from the sources
/// before it.
pub fn wants_oembed(page: &Page) -> bool {
    first(social(page, "title")).is_none() && page.json_ld.title.is_none()
}

/// The card of a read page and, when it was fetched, its oEmbed document.
pub fn assemble(page: &Page, oembed: Option<&OEmbed>) -> PageMeta {
    use Source::*;
    let oembed = oembed.cloned().unwrap_or_default();
    let ld = &page.json_ld;
    let meta = |key: &str| page.meta(key);

    let title = first(social(page, "title").into_iter().chain([
        (ld.title.as_deref(), JsonLd),
        (oembed.title.as_deref(), OEmbed),
        (page.title(), Html),
        (page.h1(), Html),
    ]))
    .map(|(t, src)| (cut_text(&t, TITLE_CHARS), src));

    // A description that repeats the title says nothing.
    let description = first(social(page, "description").into_iter().chain([
        (ld.description.as_deref(), JsonLd),
        (meta("description"), Html),
    ]))
    .filter(|(d, _)| Some(d) != title.as_ref().map(|(t, _)| t))
    .map(|(d, src)| (cut_text(&d, DESCRIPTION_CHARS), src));

    let mut images: Vec<(&str, Source)> = [
        ("og:image:secure_url", OpenGraph),
        ("og:image:url", OpenGraph),
        ("og:image", OpenGraph),
        ("twitter:image", Twitter),
        ("twitter:image:src", Twitter),
    ]
    .iter()
    .filter_map(|(k, src)| Some((page.meta(k)?, *src)))
    .collect();
    images.extend(ld.images.iter().map(|i| (i.as_str(), JsonLd)));
    images.extend(oembed.thumbnail_url.as_deref().map(|i| (i, OEmbed)));
    images.extend(
        page.links_with_rel(&["image_src"])
            .into_iter()
            .map(|i| (i, Html)),
    );
    let image = images
        .into_iter()
        .find_map(|(i, src)| Some((page.resolve(i)?, src)));

    let host = page.final_url.host_str().unwrap_or_default().to_string();
    let (site_name, site_source) = first([
        (meta("og:site_name"), OpenGraph),
        (ld.site_name.as_deref(), JsonLd),
        (oembed.provider_name.as_deref(), OEmbed),
        (meta("application-name"), Html),
    ])
    .map(|(s, src)| (cut_text(&s, TITLE_CHARS), src))
    .unwrap_or((host, Host));

    let icon = page
        .links_with_rel(&["icon", "apple-touch-icon"])
        .into_iter()
        .find_map(|i| page.resolve(i))
        .or_else(|| page.resolve("/favicon.ico"))
        .unwrap_or_default();

    let published = [
        (page.meta("article:published_time"), OpenGraph),
        (page.meta("og:published_time"), OpenGraph),
        (ld.published.as_deref(), JsonLd),
        (page.meta("datepublished"), Html),
        (page.meta("date"), Html),
    ]
    .into_iter()
    .find_map(|(d, src)| Some((parse_loose_date(d?)?, src)));

    PageMeta {
        sources: Sources {
            title: title.as_ref().map(|t| t.1),
            description: description.as_ref().map(|d| d.1),
            image: image.as_ref().map(|i| i.1),
            site_name: Some(site_source),
            published: published.as_ref().map(|p| p.1),
        },
        title: title.map(|t| t.0),
        description: description.map(|d| d.0),
        image: image.map(|i| i.0),
        site_name,
        icon,
        published: published.map(|p| p.0),
    }
}

/// `og:KEY` and `twitter:KEY`, as candidates.
fn social<'p>(page: &'p Page, key: &str) -> [(Option<&'p str>, Source); 2] {
    [
        (page.meta(&format!("og:{key}")), Source::OpenGraph),
        (page.meta(&format!("twitter:{key}")), Source::Twitter),
    ]
}

/// The first candidate with a value, whitespace collapsed, and its source.
fn first<'a>(
    candidates: impl IntoIterator<Item = (Option<&'a str>, Source)>,
) -> Option<(String, Source)> {
    candidates.into_iter().find_map(|(value, src)| {
        let value = collapse_whitespace(value?);
        (!value.is_empty()).then_some((value, src))
    })
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
    fn source_names_are_their_json_names() {
        use Source::*;
        for s in [OpenGraph, Twitter, JsonLd, OEmbed, Html, Host] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
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
