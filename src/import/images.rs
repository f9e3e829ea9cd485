//! `--download-images`: the images an imported post shows, fetched once through
//! the build's guarded client (size cap, timeouts, no private addresses unless the
//! site allows them) and saved beside the post in its bundle.

use std::collections::{BTreeMap, BTreeSet};

use url::Url;

use crate::config::Site;
use crate::enrich::fetch::{BodyLimit, Fetcher, Outcome};

/// A downloaded image: its bytes and the file extension its content says.
pub struct Downloaded {
    pub bytes: Vec<u8>,
    pub extension: &'static str,
}

/// Fetches every URL (each once); a failure is a reason fit for a warning.
pub fn download(
    site: &Site,
    urls: &BTreeSet<String>,
) -> anyhow::Result<BTreeMap<String, Result<Downloaded, String>>> {
    if urls.is_empty() {
        return Ok(BTreeMap::new());
    }
    let fetcher = Fetcher::for_site(site)?;
    let cap = site.config.images.max_bytes;
    let items: Vec<String> = urls.iter().cloned().collect();
    let results = fetcher.run_all(items.clone(), move |client, url| async move {
        let parsed = Url::parse(&url).map_err(|e| format!("not a URL: {e}"))?;
        match client.get(&parsed, None, BodyLimit::Whole { cap }).await? {
            Outcome::Fetched(f) => Ok(f.body),
            Outcome::NotModified { .. } => {
                Err("the server answered 304 to a plain request".to_string())
            }
        }
    });
    Ok(items
        .into_iter()
        .zip(results)
        .map(|(url, body)| {
            let outcome = body.and_then(|bytes| match extension(&bytes) {
                Some(extension) => Ok(Downloaded { bytes, extension }),
                None => Err("not a JPEG, PNG, GIF or WebP image".to_string()),
            });
            (url, outcome)
        })
        .collect())
}

/// The extension the bytes call for; None for anything that is not a raster image
/// (an HTML error page served with 200, say).
/// The formats are the image stage's (SVG is not one: it can carry scripts, and
/// served from the site's own origin they would run there, so it stays remote).
fn extension(bytes: &[u8]) -> Option<&'static str> {
    match crate::enrich::images::sniff(bytes).ok()? {
        image::ImageFormat::Jpeg => Some("jpg"),
        image::ImageFormat::Png => Some("png"),
        image::ImageFormat::Gif => Some("gif"),
        image::ImageFormat::WebP => Some("webp"),
        _ => None,
    }
}

/// A file name for the image in the bundle: the URL's own name when it is plain
/// ASCII, made unique among `taken`.
pub fn file_name(url: &str, extension: &str, taken: &mut BTreeSet<String>) -> String {
    let last = Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
        })
        .map(|s| {
            percent_encoding::percent_decode_str(&s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let stem = last.rsplit_once('.').map_or(last.as_str(), |(s, _)| s);
    let clean: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(60)
        .collect();
    let stem = if clean.is_empty() {
        "image".to_string()
    } else {
        clean
    };
    let mut name = format!("{stem}.{extension}");
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{stem}-{n}.{extension}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(
            file_name(
                "https://cdn.example/a/20200101123456.png",
                "png",
                &mut taken
            ),
            "20200101123456.png"
        );
        assert_eq!(
            file_name(
                "https://cdn.example/b/20200101123456.png?x=1",
                "png",
                &mut taken
            ),
            "20200101123456-2.png"
        );
        assert_eq!(
            file_name(
                "https://cdn.example/%E7%94%BB%E5%83%8F.jpeg",
                "jpg",
                &mut taken
            ),
            "image.jpg"
        );
        assert_eq!(extension(b"<html>nope</html>"), None);
        assert_eq!(
            extension(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            None
        );
    }
}
