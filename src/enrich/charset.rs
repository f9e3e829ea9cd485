//! Turning a fetched page's bytes into text. Japanese sites still send Shift_JIS,
//! EUC-JP and ISO-2022-JP, often with a wrong or missing charset header, so the order
//! is: byte-order mark, the document's own declaration (`<meta charset>` or
//! `http-equiv`, found anywhere outside comments, scripts and styles, else an XHTML
//! `<?xml encoding=…?>`), the Content-Type header, then detection (chardetng). When
//! the header and the document disagree, the document wins: servers are
//! misconfigured far more often than pages. A declared encoding loses to UTF-8 when
//! the bytes are UTF-8 with non-ASCII text in them: a page moved to UTF-8 often
//! keeps its old declaration, a short UTF-8 text can even decode as Shift_JIS
//! without an error, while Japanese text in a legacy encoding is practically never
//! valid UTF-8 (its lead bytes are UTF-8 continuation bytes). Labels are read as browsers read them
//! (the WHATWG table: `Windows-31J` is Shift_JIS), plus `CP932`, which browsers do
//! not know but Japanese servers send.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into the document a `<meta charset>` is looked for. The HTML standard
/// says 1024 bytes; real pages put long scripts, styles and comments first, and a
/// browser that meets a later declaration reloads the page with it, so we look
/// through everything read (the card's byte cap) up to this bound.
const META_SCAN_BYTES: usize = 1 << 20;

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
    // A page migrated to UTF-8 that kept its old declaration: trust the bytes.
    let utf8 = || !body.is_ascii() && !has_errors(UTF_8, body);
    if let Some(declared) = meta_charset(body).or_else(|| xml_declaration(body)) {
        if declared != UTF_8 && utf8() {
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
            if header != UTF_8 && utf8() {
                return UTF_8;
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

/// The first `<meta charset=…>`, or `<meta http-equiv="Content-Type"
/// content="…; charset=…">`, naming an encoding we know. Like the HTML standard's
/// prescan, tags are read attribute by attribute and comments skipped; unlike it,
/// the contents of scripts and styles are skipped too (a `<meta>` in a script
/// string is not the page's) and the scan goes on past 1024 bytes.
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let body = &body[..body.len().min(META_SCAN_BYTES)];
    let mut at = 0;
    while let Some(lt) = memchr(b'<', &body[at..]) {
        at += lt;
        let rest = &body[at..];
        if rest.starts_with(b"<!--") {
            at = find(&rest[4..], b"-->").map_or(body.len(), |e| at + 4 + e + 3);
            continue;
        }
        let name_len = rest[1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !rest[1].is_ascii_alphabetic() {
            at += 1;
            continue;
        }
        let name = rest[1..1 + name_len].to_ascii_lowercase();
        let (attrs, end) = attributes(&rest[1 + name_len..]);
        at += 1 + name_len + end;
        match name.as_slice() {
            b"meta" => {
                if let Some(encoding) = meta_encoding(&attrs) {
                    return Some(encoding);
                }
            }
            b"script" | b"style" => {
                let close: &[u8] = if name == b"script" {
                    b"</script"
                } else {
                    b"</style"
                };
                at = find_ci(&body[at..], close).map_or(body.len(), |e| at + e);
            }
            _ => {}
        }
    }
    None
}

/// The encoding one `<meta>`'s attributes declare, if any.
fn meta_encoding(attrs: &[Attribute]) -> Option<&'static Encoding> {
    let attr = |name: &[u8]| {
        attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    if let Some(label) = attr(b"charset") {
        return label_encoding(&String::from_utf8_lossy(label));
    }
    let content = attr(b"content")?;
    // The standard wants `http-equiv="content-type"`; pages that forgot it but are
    // not some other kind of meta (name, property, itemprop) still mean it.
    let pragma = match attr(b"http-equiv") {
        Some(v) => v.trim_ascii().eq_ignore_ascii_case(b"content-type"),
        None => ![&b"name"[..], b"property", b"itemprop"]
            .iter()
            .any(|n| attr(n).is_some()),
    };
    if !pragma {
        return None;
    }
    let lower = content.to_ascii_lowercase();
    let at = find(&lower, b"charset")?;
    let value = trim_ascii_start(&content[at + 7..]);
    let value = trim_ascii_start(value.strip_prefix(b"=")?);
    label_encoding(&String::from_utf8_lossy(value))
}

/// A name and its value, as written.
type Attribute<'a> = (&'a [u8], &'a [u8]);

/// A tag's attributes after its name, and the bytes up to and including its `>`.
/// Quoted values may hold `>`.
fn attributes(s: &[u8]) -> (Vec<Attribute<'_>>, usize) {
    let mut attrs = Vec::new();
    let mut i = 0;
    loop {
        while i < s.len() && (s[i].is_ascii_whitespace() || s[i] == b'/') {
            i += 1;
        }
        if i >= s.len() {
            return (attrs, s.len());
        }
        if s[i] == b'>' {
            return (attrs, i + 1);
        }
        let start = i;
        while i < s.len() && !matches!(s[i], b'=' | b'>' | b'/') && !s[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = &s[start..i];
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value: &[u8] = &[];
        if i < s.len() && s[i] == b'=' {
            i += 1;
            while i < s.len() && s[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < s.len() && matches!(s[i], b'"' | b'\'') {
                let quote = s[i];
                let end = memchr(quote, &s[i + 1..]).map_or(s.len(), |e| i + 1 + e);
                value = &s[i + 1..end];
                i = (end + 1).min(s.len());
            } else {
                let start = i;
                while i < s.len() && s[i] != b'>' && !s[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &s[start..i];
            }
        }
        if attrs.len() < 64 {
            attrs.push((name, value));
        }
    }
}

/// `<?xml version="1.0" encoding="EUC-JP"?>` at the very start (XHTML).
fn xml_declaration(body: &[u8]) -> Option<&'static Encoding> {
    let body = trim_ascii_start(&body[..body.len().min(1024)]);
    let rest = body.strip_prefix(b"<?xml")?;
    let end = find(rest, b"?>")?;
    let (attrs, _) = attributes(&rest[..end]);
    let (_, label) = attrs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(b"encoding"))?;
    label_encoding(&String::from_utf8_lossy(label))
}

/// An encoding from a label that may still carry quotes and trailing attributes.
fn label_encoding(raw: &str) -> Option<&'static Encoding> {
    let label: String = raw
        .trim_start_matches(['"', '\'', ' '])
        .chars()
        .take_while(|c| !matches!(c, '"' | '\'' | ';' | ' ' | '>' | '/' | ','))
        .collect();
    let label = label.trim();
    let encoding = Encoding::for_label(label.as_bytes()).or_else(|| {
        // Not in the WHATWG table, but what Windows and Java call Shift_JIS.
        ["cp932", "windows-932", "ms-kanji"]
            .iter()
            .any(|alias| label.eq_ignore_ascii_case(alias))
            .then_some(encoding_rs::SHIFT_JIS)
    })?;
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

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn memchr(byte: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == byte)
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
    fn a_late_declaration_still_counts_but_not_one_in_a_script_or_comment() {
        let filler = format!("<style>{}</style>", "p{margin:0}".repeat(2000));
        let body = page(SHIFT_JIS, &format!("{filler}<meta charset=\"Shift_JIS\">"));
        assert!(body.len() > 20_000);
        assert!(decode(&body, None, Some("example.com")).contains(TEXT));
        // A declaration in a script string or a comment is not the page's.
        let body = page(
            EUC_JP,
            r#"<script>var s = '<meta charset="shift_jis">';</script><!-- <meta charset=shift_jis> --><meta content="text/html; charset=EUC-JP" http-equiv="Content-Type">"#,
        );
        assert!(decode(&body, None, None).contains(TEXT));
        // Another kind of meta that mentions a charset declares nothing.
        let body = page(
            EUC_JP,
            r#"<meta name="description" content="charset=shift_jis の話"><meta charset=euc-jp>"#,
        );
        assert!(decode(&body, None, None).contains(TEXT));
    }

    #[test]
    fn labels_are_read_as_browsers_read_them() {
        for label in ["Windows-31J", "x-sjis", "MS_Kanji", "csShiftJIS", "CP932"] {
            let body = page(SHIFT_JIS, &format!("<meta charset=\"{label}\">"));
            assert!(decode(&body, None, None).contains(TEXT), "{label}");
            let body = page(SHIFT_JIS, "");
            let header = format!("text/html; charset=\"{label}\"");
            assert!(decode(&body, Some(&header), None).contains(TEXT), "{label}");
        }
        let body = page(EUC_JP, r#"<meta charset="x-euc-jp">"#);
        assert!(decode(&body, None, None).contains(TEXT));
    }

    #[test]
    fn an_xml_declaration_declares() {
        let html = format!(
            "<?xml version=\"1.0\" encoding=\"EUC-JP\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head></head><body>{TEXT}</body></html>"
        );
        let body = EUC_JP.encode(&html).0.into_owned();
        assert!(decode(&body, Some("application/xhtml+xml"), None).contains(TEXT));
        assert_eq!(
            xml_declaration(b"<?xml version='1.0' encoding='Shift_JIS'?>"),
            Some(SHIFT_JIS)
        );
        assert_eq!(xml_declaration(b"<html><?xml encoding='Shift_JIS'?>"), None);
    }

    #[test]
    fn a_declaration_that_cannot_decode_the_bytes_loses_to_utf8() {
        let body = page(UTF_8, r#"<meta charset="euc-jp">"#);
        assert!(decode(&body, None, None).contains(TEXT));
        let body = page(UTF_8, r#"<meta charset="shift_jis">"#);
        assert!(decode(&body, None, None).contains(TEXT));
        let body = page(UTF_8, "");
        assert!(decode(&body, Some("text/html; charset=EUC-JP"), None).contains(TEXT));
        assert!(decode(&body, Some("text/html; charset=Shift_JIS"), None).contains(TEXT));
        // Short enough to decode as Shift_JIS without an error: the bytes still win.
        let short = "<meta charset=shift_jis><title>首相、来週に訪米へ</title>";
        assert!(!has_errors(SHIFT_JIS, short.as_bytes()));
        assert!(decode(short.as_bytes(), None, None).contains("首相、来週に訪米へ"));
        assert!(
            decode(
                short.as_bytes(),
                Some("text/html; charset=windows-1252"),
                None
            )
            .contains("首相、来週に訪米へ")
        );
    }

    #[test]
    fn bom_wins() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend(page(UTF_8, r#"<meta charset="shift_jis">"#));
        assert!(decode(&body, Some("text/html; charset=euc-jp"), None).contains(TEXT));
    }
}
