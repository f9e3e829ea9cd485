//! Property tests: arbitrary input to every reader of untrusted text never panics.
//! (Images: `hostile_images`.) Inputs mix random bytes with the characters each
//! format gives meaning to, so the parsers' interesting paths are reached.

use proptest::prelude::*;

use enishi::content::{frontmatter, markdown};
use enishi::enrich::page::Page;
use enishi::enrich::{charset, jsonld, ogp, page};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of the pieces front matter and Markdown care about, and any character.
fn markup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("---\n".to_string()),
        Just("+++\n".to_string()),
        Just("title: ".to_string()),
        Just("date: 2024-02-30T25:61:00+99:00\n".to_string()),
        Just("tags: [a, [b, {c: d}]\n".to_string()),
        Just("# 見出し {#id}\n".to_string()),
        Just("```rust\n".to_string()),
        Just("<!--more-->".to_string()),
        Just("[^1]: 注\n".to_string()),
        Just("![](http://[::1]/x.png)".to_string()),
        Just("<img src=\"https://x/&amp;\">".to_string()),
        Just("https://example.jp/\n\n".to_string()),
        Just("| a | b |\n|---|\n".to_string()),
        "[\\PC\n\t\r\u{0}]{0,12}".prop_map(|s| s),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// HTML heads made of the tags the link-card reader looks at, and any bytes.
fn html_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"<meta charset=\"shift_jis\">".to_vec()),
        Just(b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=euc-jp\">".to_vec()),
        Just(b"<meta property=\"og:title\" content=\"".to_vec()),
        Just(b"<meta property=\"og:image\" content=\"//x/../a.png\">".to_vec()),
        Just(b"<link rel=\"icon\" href=\"javascript:alert(1)\">".to_vec()),
        Just(b"<base href=\"::\">".to_vec()),
        Just(b"<title>".to_vec()),
        Just(b"</head>".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\x1B$B".to_vec()),
        Just(b"<script type=\"application/ld+json\">".to_vec()),
        Just(b"</script>".to_vec()),
        Just(b"{\"@context\":\"https://schema.org\",\"@graph\":[".to_vec()),
        Just(b"{\"@type\":[\"NewsArticle\"],\"@id\":\"#a\",\"headline\":\"".to_vec()),
        Just(b"\"image\":{\"@id\":\"#a\"},\"publisher\":{\"@id\":\"#a\"}},".to_vec()),
        Just(b"]}".to_vec()),
        Just(b"<meta http-equiv=refresh content=\"0;url=".to_vec()),
        Just(b"<noscript>".to_vec()),
        Just(b"<svg><title>".to_vec()),
        Just(b"<link rel=alternate type=application/json+oembed href=\"".to_vec()),
        Just(b"<?xml version=\"1.0\" encoding=\"euc-jp\"?>".to_vec()),
        Just("👨\u{200D}👩\u{200D}👧🇯🇵".as_bytes().to_vec()),
        Just(b"\x1F\x8B\x08".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..24),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn front_matter_never_panics(text in markup()) {
        if let Ok(split) = frontmatter::split(&text, "content/posts/p.md") {
            let _ = frontmatter::parse(&split, "content/posts/p.md", chrono_tz::Asia::Tokyo);
        }
    }

    #[test]
    fn markdown_never_panics(text in markup(), line in 1usize..10_000) {
        let rendered = markdown::render(&text, line);
        prop_assert!(rendered.headings.iter().all(|h| !h.id.is_empty()));
    }

    #[test]
    fn charset_and_card_reader_never_panic(
        body in html_bytes(),
        content_type in proptest::option::of("[ -~]{0,40}"),
    ) {
        let text = charset::decode(&body, content_type.as_deref(), Some("example.jp"));
        let url = url::Url::parse("https://example.jp/a/b").unwrap();
        let meta = ogp::extract(&text, &url);
        // Whatever the page says, only http(s) URLs come out as the picture.
        if let Some(image) = &meta.image {
            prop_assert!(image.starts_with("http://") || image.starts_with("https://"), "{image}");
        }
        prop_assert!(meta.title.as_ref().is_none_or(|t| t.chars().count() <= 200));
        let page = Page::read(&text, &url);
        for next in [page.refresh_target(), page.oembed_url()].into_iter().flatten() {
            prop_assert!(matches!(next.scheme(), "http" | "https"), "{next}");
        }
        let _ = page::parse_refresh(&text);
        let _ = jsonld::read([text.as_str()], std::slice::from_ref(&url));
    }

    #[test]
    fn cuts_fall_between_grapheme_clusters(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("👨\u{200D}👩\u{200D}👧\u{200D}👦"),
                Just("🇯🇵"),
                Just("👍🏽"),
                Just("❤\u{FE0F}"),
                Just("か\u{3099}"),
                Just("e\u{301}\u{302}"),
                Just("あ"),
                Just(" "),
                Just("。"),
            ],
            0..80,
        ),
        max in 1usize..60,
    ) {
        use unicode_segmentation::UnicodeSegmentation;
        let text: String = pieces.concat();
        let boundary = |kept: &str| text.grapheme_indices(true).any(|(i, _)| i == kept.len()) || kept.len() == text.len();
        let cut = enishi::util::cut_text(&text, max);
        prop_assert!(cut.chars().count() <= max);
        let kept = cut.strip_suffix('…').unwrap_or(&cut).trim_end();
        prop_assert!(text.starts_with(kept) && boundary(kept), "{cut:?}");
        let summary = enishi::content::markdown::summarize(&text, max);
        let kept = summary.strip_suffix('…').unwrap_or(&summary);
        let collapsed = enishi::util::collapse_whitespace(&text);
        prop_assert!(collapsed.starts_with(kept), "{summary:?}");
        prop_assert!(
            kept.is_empty() || collapsed.len() == kept.len()
                || collapsed.grapheme_indices(true).any(|(i, _)| i == kept.len()),
            "{summary:?}"
        );
    }
}
