//! oEmbed, for pages whose only metadata is a discovery link (video sites, some
//! single-page apps): `<link rel="alternate" type="application/json+oembed"
//! href="…">` names a JSON document with the title, a thumbnail and the provider's
//! name. Only the JSON form is read; `text/xml+oembed` is ignored (every provider
//! that offers XML offers JSON too).
//!
//! The document is fetched through the card's client (same limits, redirects and
//! SSRF guard, counted as a request) and its fields are cached as part of the card,
//! so a cached card never asks again. A failure only means no oEmbed fields.

use serde_json::Value;
use url::Url;

use super::fetch::{BodyLimit, Client, Outcome};
use crate::util::collapse_whitespace;

/// An oEmbed response is a few hundred bytes; embed HTML can make it a few KB.
const BODY_CAP: usize = 256 * 1024;

/// The fields a card uses, as written (the thumbnail's URL not yet resolved).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OEmbed {
    pub title: Option<String>,
    pub thumbnail_url: Option<String>,
    pub provider_name: Option<String>,
}

/// Fetches and reads the oEmbed document at `url`; `None` when it cannot be had.
pub async fn fetch(client: &Client, url: &Url) -> Option<OEmbed> {
    match client
        .get(url, None, BodyLimit::Whole { cap: BODY_CAP })
        .await
    {
        Ok(Outcome::Fetched(f)) => parse(&f.body),
        _ => None,
    }
}

/// Reads an oEmbed JSON document (any content type: providers send JSON as
/// `text/html` or `text/javascript` too).
pub fn parse(body: &[u8]) -> Option<OEmbed> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    let text = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .map(collapse_whitespace)
            .filter(|s| !s.is_empty())
    };
    Some(OEmbed {
        title: text("title"),
        thumbnail_url: text("thumbnail_url"),
        provider_name: text("provider_name"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_a_card_uses() {
        let got = parse(
            r#"{"version":"1.0","type":"video","title":"  猫が  踊る動画 ","author_name":"投稿者",
                "provider_name":"動画サイト","thumbnail_url":"https://i.example.jp/t.jpg",
                "html":"<iframe></iframe>","width":640}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(got.title.as_deref(), Some("猫が 踊る動画"));
        assert_eq!(
            got.thumbnail_url.as_deref(),
            Some("https://i.example.jp/t.jpg")
        );
        assert_eq!(got.provider_name.as_deref(), Some("動画サイト"));
        let bom = parse(b"\xEF\xBB\xBF{\"title\":\"BOM\",\"thumbnail_url\":5}").unwrap();
        assert_eq!(bom.title.as_deref(), Some("BOM"));
        assert_eq!(bom.thumbnail_url, None);
        for bad in [&b"<html>"[..], b"[1]", b"", b"{\"title\":"] {
            assert_eq!(parse(bad), None);
        }
    }
}
