//! Turning a fetched page's bytes into text. Japanese sites still send Shift_JIS,
//! EUC-JP and ISO-2022-JP, often with a wrong or missing charset header, so the order
//! is: byte-order mark, the document's own `<meta>` declaration, the Content-Type
//! header, then detection (chardetng). When the header and the document disagree,
//! the document wins: servers are misconfigured far more often than pages.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into the document a `<meta charset>` is looked for. The HTML standard
/// says 1024 bytes; real pages put scripts and comments first, so we look further.
const META_SCAN_BYTES: usize = 8192;

/// Decodes `body`. `content_type` is the raw header; `host` lets detection use the
/// top-level domain (a `.jp` page is more likely Shift_JIS than windows-1252).
pub fn decode(body: &[u8], content_type: Option<&str>, host: Option<&str>) -> String {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        return encoding
            .decode_without_bom_handling(&body[bom_len..])
            .0
            .into_owned();
    }
    let encoding = choose(body, content_type, host);
    encoding.decode_without_bom_handling(body).0.into_owned()
}

fn choose(body: &[u8], content_type: Option<&str>, host: Option<&str>) -> &'static Encoding {
    if let Some(declared) = meta_charset(body) {
        // A page migrated to UTF-8 that kept its old declaration: trust the bytes.
        if declared != UTF_8 && has_errors(declared, body) && !has_errors(UTF_8, body) {
            return UTF_8;
        }
        return declared;
    }
    let detected = || detect(body, host);
    match content_type.and_then(header_charset) {
        Some(header) => {
            if body.is_ascii() {
                return header;
            }
            // A Latin-1 label on Japanese bytes is the classic misconfiguration:
            // windows-1252 decodes anything without error, so errors prove nothing.
            if header == WINDOWS_1252 {
                let guess = detected();
                return if guess == UTF_8 || guess.is_single_byte() {
                    header
                } else {
                    guess
                };
            }
            if has_errors(header, body) {
                detected()
            } else {
                header
            }
        }
        None => detected(),
    }
}

/// Whether `body` holds bytes that are invalid in `encoding`. A sequence cut off at
/// the end does not count: reading stops at `</head>` or at the byte cap, wherever
/// that falls.
fn has_errors(encoding: &'static Encoding, body: &[u8]) -> bool {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(body.len() * 3 + 16);
    let (result, _) = decoder.decode_to_string_without_replacement(body, &mut out, false);
    matches!(result, encoding_rs::DecoderResult::Malformed(..))
}

fn detect(body: &[u8], host: Option<&str>) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(body, true);
    let tld = host
        .and_then(|h| h.rsplit('.').next())
        .map(|t| t.to_ascii_lowercase())
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    detector.guess(tld.as_deref().map(str::as_bytes), Utf8Detection::Allow)
}

/// The charset parameter of a Content-Type header value.
fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    let lower = content_type.to_ascii_lowercase();
    let at = lower.find("charset=")?;
    label_encoding(&content_type[at + "charset=".len()..])
}

/// `<meta charset=…>` or `<meta http-equiv=… content="…; charset=…">` near the top.
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(META_SCAN_BYTES)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos + 5;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(at) = find(tag, b"charset") {
            let rest = &tag[at + 7..];
            let rest = trim_ascii_start(rest);
            if let Some(value) = rest.strip_prefix(b"=")
                && let Ok(text) = std::str::from_utf8(trim_ascii_start(value))
                && let Some(encoding) = label_encoding(text)
            {
                return Some(encoding);
            }
        }
        from = end;
    }
    None
}

/// An encoding from a label that may still carry quotes and trailing attributes.
fn label_encoding(raw: &str) -> Option<&'static Encoding> {
    let label: String = raw
        .trim_start_matches(['"', '\'', ' '])
        .chars()
        .take_while(|c| !matches!(c, '"' | '\'' | ';' | ' ' | '>' | '/' | ','))
        .collect();
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    // A page cannot really be UTF-16 if its ASCII `<meta>` was readable (HTML standard).
    Some(
        if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            UTF_8
        } else if encoding == encoding_rs::X_USER_DEFINED {
            WINDOWS_1252
        } else {
            encoding
        },
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim_ascii_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{EUC_JP, ISO_2022_JP, SHIFT_JIS};

    const TEXT: &str = "<title>日本語のページです。形態素解析と関連記事</title><p>吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。</p>";

    fn page(encoding: &'static Encoding, head: &str) -> Vec<u8> {
        let html = format!("<html><head>{head}</head><body>{TEXT}</body></html>");
        encoding.encode(&html).0.into_owned()
    }

    #[test]
    fn http_equiv_declares_shift_jis() {
        let body = page(
            SHIFT_JIS,
            r#"<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=Shift_JIS">"#,
        );
        assert!(decode(&body, Some("text/html"), None).contains(TEXT));
    }

    #[test]
    fn document_beats_a_wrong_header() {
        let body = page(EUC_JP, r#"<meta charset="euc-jp">"#);
        assert!(decode(&body, Some("text/html; charset=UTF-8"), None).contains(TEXT));
        let body = page(SHIFT_JIS, "");
        assert!(
            decode(
                &body,
                Some("text/html; charset=ISO-8859-1"),
                Some("example.jp")
            )
            .contains(TEXT)
        );
    }

    #[test]
    fn undeclared_encodings_are_detected() {
        for enc in [SHIFT_JIS, EUC_JP, ISO_2022_JP, UTF_8] {
            let body = page(enc, "");
            assert!(
                decode(&body, None, Some("example.com")).contains(TEXT),
                "{}",
                enc.name()
            );
        }
    }

    #[test]
    fn a_character_cut_off_at_the_end_is_not_an_error() {
        let mut body = page(UTF_8, "");
        body.extend_from_slice(&"続く".as_bytes()[..4]);
        assert!(
            decode(&body, Some("text/html; charset=utf-8"), Some("example.com")).contains(TEXT)
        );
        let mut body = page(SHIFT_JIS, r#"<meta charset="shift_jis">"#);
        body.push(0x82);
        assert!(decode(&body, None, None).contains(TEXT));
    }

    #[test]
    fn bom_wins() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend(page(UTF_8, r#"<meta charset="shift_jis">"#));
        assert!(decode(&body, Some("text/html; charset=euc-jp"), None).contains(TEXT));
    }
}
