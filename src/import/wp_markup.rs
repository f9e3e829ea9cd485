//! WordPress post content → HTML for [`super::html::to_markdown`]: the
//! shortcodes we understand expanded, and paragraphs made explicit the way
//! WordPress itself does when it displays a post.

#[derive(Debug, Clone)]
pub struct Attachment {
    pub url: String,
    pub alt: String,
    pub caption: String,
}

/// Tags that start a block on their own; such blocks are not wrapped in <p>.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "iframe",
    "li",
    "main",
    "nav",
    "noscript",
    "ol",
    "p",
    "pre",
    "script",
    "section",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "video",
    "audio",
    "object",
    "embed",
];

// Stands for a protected <pre> element while paragraphs are made.
const PRE_OPEN: char = '\u{F8E0}';
const PRE_CLOSE: char = '\u{F8E1}';

fn starts_with_block_tag(block: &str) -> bool {
    if block.starts_with(PRE_OPEN) || block.starts_with("<!--") {
        return true;
    }
    let Some(rest) = block.strip_prefix('<') else {
        return false;
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    BLOCK_TAGS.contains(&name.as_str())
}

/// The block element a line opens with (`<h2 id=x>` → `h2`).
fn block_tag_name(line: &str) -> Option<String> {
    let rest = line.strip_prefix('<')?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    BLOCK_TAGS.contains(&name.as_str()).then_some(name)
}

/// The block element a line ends by closing (`…</h2>` → `h2`).
fn closing_block_tag(line: &str) -> Option<String> {
    let open = line.rfind("</")?;
    let name = line[open + 2..]
        .strip_suffix('>')?
        .trim()
        .to_ascii_lowercase();
    BLOCK_TAGS.contains(&name.as_str()).then_some(name)
}

/// Removes Gutenberg's `<!-- wp:… -->` / `<!-- /wp:… -->` block delimiters.
fn strip_block_comments(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(i) = rest.find("<!--") {
        let body = &rest[i + 4..];
        let t = body.trim_start();
        let Some(end) = body.find("-->") else { break };
        out.push_str(&rest[..i]);
        if t.starts_with("wp:") || t.starts_with("/wp:") {
            rest = &body[end + 3..];
        } else {
            out.push_str(&rest[i..i + 4 + end + 3]);
            rest = &body[end + 3..];
        }
    }
    out.push_str(rest);
    out
}

/// WordPress stores posts without <p>: blank lines separate paragraphs and single newlines are
/// line breaks (what wpautop does when it displays them). Blocks that already start with a block-level tag
/// are left alone; never touch the inside of <pre>. Gutenberg block comments (<!-- wp:… -->, <!-- /wp:… -->) removed.
pub fn autop(content: &str) -> String {
    let content = strip_block_comments(&content.replace("\r\n", "\n"));
    // Set <pre> elements aside: their blank lines are not paragraph breaks.
    let lower = content.to_ascii_lowercase();
    let mut pres: Vec<&str> = Vec::new();
    let mut text = String::with_capacity(content.len());
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<pre") {
        let start = pos + i;
        // `<pre` must be the tag itself, not `<prefix>`.
        let next = lower[start + 4..].chars().next();
        if !matches!(next, Some('>' | ' ' | '\n' | '\t' | '/')) {
            text.push_str(&content[pos..start + 4]);
            pos = start + 4;
            continue;
        }
        let end = lower[start..]
            .find("</pre>")
            .map(|e| start + e + "</pre>".len())
            .unwrap_or(content.len());
        text.push_str(&content[pos..start]);
        text.push_str(&format!("{PRE_OPEN}{}{PRE_CLOSE}", pres.len()));
        pres.push(&content[start..end]);
        pos = end;
    }
    text.push_str(&content[pos..]);

    let mut blocks: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let flush = |current: &mut Vec<&str>, blocks: &mut Vec<String>| {
        if current.is_empty() {
            return;
        }
        let block = current.join("\n");
        current.clear();
        let block = block.trim();
        if block.is_empty() {
            return;
        }
        if starts_with_block_tag(block) {
            blocks.push(block.to_string());
        } else {
            let lines: Vec<&str> = block.lines().map(str::trim_end).collect();
            blocks.push(format!("<p>{}</p>", lines.join("<br />\n")));
        }
    };
    for line in text.split('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut current, &mut blocks);
            continue;
        }
        // As wpautop does, a block element's lines are apart from the text
        // around them even without a blank line: `<h2>…</h2>` then a line of
        // text makes a heading and a paragraph, not one paragraph with a space.
        let in_text = current
            .first()
            .is_some_and(|l| !starts_with_block_tag(l.trim()));
        if in_text && starts_with_block_tag(trimmed) {
            flush(&mut current, &mut blocks);
        }
        current.push(line);
        // The element that opened the block closes on this line.
        let opened = current.first().and_then(|l| block_tag_name(l.trim()));
        let whole_line_block = current.len() == 1
            && ((trimmed.starts_with("<!--") && trimmed.ends_with("-->"))
                || (trimmed.starts_with(PRE_OPEN) && trimmed.ends_with(PRE_CLOSE)));
        if whole_line_block || (opened.is_some() && closing_block_tag(trimmed) == opened) {
            flush(&mut current, &mut blocks);
        }
    }
    flush(&mut current, &mut blocks);
    let joined = blocks.join("\n\n");

    // Put the <pre> elements back, untouched.
    let mut out = String::with_capacity(joined.len());
    let mut rest = joined.as_str();
    while let Some(i) = rest.find(PRE_OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + PRE_OPEN.len_utf8()..];
        let end = after.find(PRE_CLOSE).unwrap_or(after.len());
        if let Some(pre) = after[..end].parse::<usize>().ok().and_then(|n| pres.get(n)) {
            out.push_str(pre);
        }
        rest = after[end..]
            .strip_prefix(PRE_CLOSE)
            .unwrap_or(&after[end..]);
    }
    out.push_str(rest);
    out
}

/// `key="v" key='v' key=v` of a shortcode's opening tag.
fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let Some(r) = rest.strip_prefix('=') else {
            // A bare word (positional value).
            if !key.is_empty() {
                out.push((key, String::new()));
            }
            continue;
        };
        let r = r.trim_start();
        let (value, after) = match r.chars().next() {
            Some(q @ ('"' | '\'' | '\u{201d}' | '\u{2033}')) => {
                let body = &r[q.len_utf8()..];
                let end = body
                    .find(|c: char| c == q || (q != '\'' && matches!(c, '"' | '\u{201d}')))
                    .unwrap_or(body.len());
                let close = body[end..].chars().next().map_or(0, char::len_utf8);
                (&body[..end], &body[end + close..])
            }
            _ => {
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                (&r[..end], &r[end..])
            }
        };
        out.push((key, value.to_string()));
        rest = after.trim_start();
    }
    out
}

fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn escape_attr(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn escape_text(v: &str) -> String {
    v.replace('&', "&amp;").replace('<', "&lt;")
}

/// A shortcode at the start of `s` (which starts with '['): its name, the
/// attribute text and the length of the opening tag.
fn opening(s: &str) -> Option<(String, &str, usize)> {
    let body = s.strip_prefix('[')?;
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(body.len());
    let name = &body[..name_len];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return None;
    }
    let after = &body[name_len..];
    if !after.starts_with([' ', ']', '/', '\n', '\t']) {
        return None;
    }
    let close = after.find(']')?;
    let attrs = after[..close].trim().trim_end_matches('/');
    Some((name.to_string(), attrs, 1 + name_len + close + 1))
}

/// [caption …]<img …> Caption[/caption] → <figure><img…><figcaption>Caption</figcaption></figure>;
/// [gallery ids="12,13"] → the attachments' images (ids from `attachment`; unknown id → warning);
/// [embed]URL[/embed] and a bare [video src=URL] → the URL as its own paragraph; other [shortcodes] left as text with a warning.
/// Returns the expanded content and warnings. Run before autop.
pub fn expand_shortcodes(
    content: &str,
    attachment: &dyn Fn(u64) -> Option<Attachment>,
) -> (String, Vec<String>) {
    let mut out = String::with_capacity(content.len());
    let mut warnings: Vec<String> = Vec::new();
    let mut warn = |w: String| {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    };
    let mut rest = content;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // [[name]] is WordPress's escape for a literal [name].
        if let Some(inner) = rest.strip_prefix("[[")
            && let Some(end) = inner.find("]]")
            && opening(&format!("[{}]", &inner[..end])).is_some()
        {
            out.push('[');
            out.push_str(&inner[..end]);
            out.push(']');
            rest = &inner[end + 2..];
            continue;
        }
        let Some((name, attr_text, open_len)) = opening(rest) else {
            out.push('[');
            rest = &rest[1..];
            continue;
        };
        let attrs = parse_attrs(attr_text);
        let after_open = &rest[open_len..];
        let closing = format!("[/{name}]");
        // The enclosed content, when the shortcode has a closing tag.
        let (inner, after) = match after_open.find(&closing) {
            Some(e) => (Some(&after_open[..e]), &after_open[e + closing.len()..]),
            None => (None, after_open),
        };
        match name.as_str() {
            "caption" | "wp_caption" => {
                let inner = inner.unwrap_or("");
                // The caption is the text after the image (or its link).
                let split = ["</a>", "/>", ">"]
                    .iter()
                    .find_map(|t| inner.rfind(t).map(|p| p + t.len()))
                    .unwrap_or(0);
                let media = inner[..split].trim();
                let caption = get(&attrs, "caption")
                    .map(escape_text)
                    .unwrap_or_else(|| inner[split..].trim().to_string());
                out.push_str("\n\n<figure>");
                out.push_str(media);
                if !caption.is_empty() {
                    out.push_str(&format!("<figcaption>{caption}</figcaption>"));
                }
                out.push_str("</figure>\n\n");
                rest = after;
            }
            "gallery" => {
                let Some(ids) = get(&attrs, "ids") else {
                    warn("a [gallery] without ids left as text".to_string());
                    out.push_str(&rest[..open_len]);
                    rest = &rest[open_len..];
                    continue;
                };
                for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    match id.parse::<u64>().ok().and_then(attachment) {
                        Some(a) => {
                            let img = format!(
                                "<img src=\"{}\" alt=\"{}\">",
                                escape_attr(&a.url),
                                escape_attr(&a.alt)
                            );
                            if a.caption.trim().is_empty() {
                                out.push_str(&format!("\n\n<p>{img}</p>\n\n"));
                            } else {
                                out.push_str(&format!(
                                    "\n\n<figure>{img}<figcaption>{}</figcaption></figure>\n\n",
                                    escape_text(a.caption.trim())
                                ));
                            }
                        }
                        None => warn(format!("gallery image {id} not found in the export")),
                    }
                }
                rest = &rest[open_len..];
            }
            "embed" if inner.is_some() => {
                let url = inner.unwrap_or("").trim();
                out.push_str(&format!("\n\n{url}\n\n"));
                rest = after;
            }
            "video" | "audio"
                if let Some(src) = ["src", "mp4", "m4v", "webm", "ogv", "mp3", "ogg", "wav"]
                    .iter()
                    .find_map(|k| get(&attrs, k)) =>
            {
                out.push_str(&format!("\n\n{src}\n\n"));
                // An empty [/video] closing tag goes too.
                rest = match inner {
                    Some(i) if i.trim().is_empty() => after,
                    _ => after_open,
                };
            }
            _ => {
                warn(format!("a [{name}] shortcode left as text"));
                out.push_str(&rest[..open_len]);
                rest = &rest[open_len..];
            }
        }
    }
    out.push_str(rest);
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_after_a_block_tag_is_its_own_paragraph() {
        let html = autop(
            "<h2>見出し</h2>\n本文一行目\n二行目\n<ul>\n<li>a</li>\n</ul>\n後の行\n<!--more-->\n続き\n次",
        );
        assert_eq!(
            html,
            "<h2>見出し</h2>\n\n<p>本文一行目<br />\n二行目</p>\n\n<ul>\n<li>a</li>\n</ul>\n\n<p>後の行</p>\n\n<!--more-->\n\n<p>続き<br />\n次</p>"
        );
    }

    #[test]
    fn autop_paragraphs_and_breaks() {
        let src = "<!-- wp:paragraph -->\n一段落目\n二行目\n<!-- /wp:paragraph -->\n\n次の段落\n\n<h2>見出し</h2>\n\n<ul>\n<li>a</li>\n</ul>";
        assert_eq!(
            autop(src),
            "<p>一段落目<br />\n二行目</p>\n\n<p>次の段落</p>\n\n<h2>見出し</h2>\n\n<ul>\n<li>a</li>\n</ul>"
        );
    }

    #[test]
    fn pipeline_to_markdown() {
        let src = "冒頭の文章\n二行目\n\n[caption width=\"300\"]<img src=\"https://example.com/a.jpg\" alt=\"\" /> 夕焼け[/caption]\n\n<!--more-->\n\nhttps://www.youtube.com/watch?v=abc\n\n<pre>a\n\nb</pre>";
        let (html, _) = expand_shortcodes(src, &attachments);
        let c = crate::import::html::to_markdown(
            &autop(&html),
            &crate::import::html::Options {
                link: &|_| None,
                image: &|_| None,
            },
        );
        assert_eq!(
            c.markdown,
            "冒頭の文章\\\n二行目\n\n![夕焼け](https://example.com/a.jpg)\n\n*夕焼け*\n\n<!--more-->\n\nhttps://www.youtube.com/watch?v=abc\n\n```\na\n\nb\n```\n"
        );
        assert_eq!(c.raw_html_blocks, 0);
    }

    #[test]
    fn autop_leaves_pre_alone() {
        let src = "前\n\n<pre class=\"wp-block-code\"><code>fn a() {}\n\n\nfn b() {}\n</code></pre>\n\n後";
        assert_eq!(
            autop(src),
            "<p>前</p>\n\n<pre class=\"wp-block-code\"><code>fn a() {}\n\n\nfn b() {}\n</code></pre>\n\n<p>後</p>"
        );
    }

    fn attachments(id: u64) -> Option<Attachment> {
        (id == 12).then(|| Attachment {
            url: "https://example.com/wp-content/uploads/2020/01/a.jpg".into(),
            alt: "猫".into(),
            caption: "うちの猫".into(),
        })
    }

    #[test]
    fn caption_shortcode() {
        let (html, w) = expand_shortcodes(
            "前\n[caption id=\"attachment_12\" align=\"aligncenter\" width=\"300\"]<a href=\"https://example.com/a.jpg\"><img src=\"https://example.com/a.jpg\" alt=\"\" width=\"300\" /></a> 夕焼け[/caption]\n後",
            &attachments,
        );
        assert!(w.is_empty());
        assert_eq!(
            html,
            "前\n\n\n<figure><a href=\"https://example.com/a.jpg\"><img src=\"https://example.com/a.jpg\" alt=\"\" width=\"300\" /></a><figcaption>夕焼け</figcaption></figure>\n\n\n後"
        );
    }

    #[test]
    fn gallery_shortcode() {
        let (html, w) = expand_shortcodes("[gallery columns=\"2\" ids=\"12,13\"]", &attachments);
        assert_eq!(
            html,
            "\n\n<figure><img src=\"https://example.com/wp-content/uploads/2020/01/a.jpg\" alt=\"猫\"><figcaption>うちの猫</figcaption></figure>\n\n"
        );
        assert_eq!(w, vec!["gallery image 13 not found in the export"]);
    }

    #[test]
    fn embed_video_and_unknown_shortcodes() {
        let (html, w) = expand_shortcodes(
            "[embed]https://www.youtube.com/watch?v=abc[/embed]\n[video src=\"https://example.com/v.mp4\"][/video]\n[contact-form-7 id=\"1\"] と [注] と [[caption]]",
            &attachments,
        );
        assert_eq!(
            html,
            "\n\nhttps://www.youtube.com/watch?v=abc\n\n\n\n\nhttps://example.com/v.mp4\n\n\n[contact-form-7 id=\"1\"] と [注] と [caption]"
        );
        assert_eq!(w, vec!["a [contact-form-7] shortcode left as text"]);
        let (html, _) = expand_shortcodes("[video mp4=\"https://e.com/v.mp4\"]", &attachments);
        assert_eq!(html, "\n\nhttps://e.com/v.mp4\n\n");
    }
}
