//! WordPress's export (WXR): an RSS feed whose items carry `wp:` elements for the
//! post's id, name, status, type and comments, and `content:encoded` for the
//! body as stored (no `<p>` tags; see `wp_markup`).

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use chrono::NaiveDateTime;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::entry::{BodyFormat, EntryKind, Export, ImportedComment, ImportedEntry, Origin};
use super::wp_markup::Attachment;

/// Elements nest no deeper than this in a WXR file; deeper is not an export.
const MAX_DEPTH: usize = 32;

/// Whether `text` looks like a WordPress export.
pub fn detect(text: &str) -> bool {
    let head: String = text.chars().take(4096).collect();
    head.contains("<rss") && (head.contains("xmlns:wp=") || head.contains("wordpress.org/export"))
}

/// The parts of a WXR file this reader keeps: attachments by id, for the
/// `[gallery]` and `[caption]` shortcodes and featured images.
pub struct Wxr {
    pub export: Export,
    pub attachments: BTreeMap<u64, Attachment>,
}

/// One XML element with its attributes, its own text and its children.
#[derive(Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn text_of(&self, name: &str) -> String {
        self.child(name)
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default()
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse(text: &str, file: &str) -> Result<Wxr> {
    let root = read_tree(text, file)?;
    let channel = root
        .child("rss")
        .and_then(|rss| rss.child("channel"))
        .ok_or_else(|| {
            anyhow!("{file}: no <rss><channel> element (is this a WordPress export?)")
        })?;
    let mut export = Export {
        origin: Origin::WordPress,
        entries: Vec::new(),
        base_url: Some(channel.text_of("link"))
            .filter(|l| !l.is_empty())
            .or_else(|| Some(channel.text_of("wp:base_blog_url")).filter(|l| !l.is_empty())),
        dropped_comments: 0,
        skipped: Vec::new(),
    };
    let mut attachments = BTreeMap::new();
    for item in channel.all("item") {
        if item.text_of("wp:post_type") == "attachment" {
            let Ok(id) = item.text_of("wp:post_id").parse::<u64>() else {
                continue;
            };
            let url = item.text_of("wp:attachment_url");
            if url.is_empty() {
                continue;
            }
            attachments.insert(
                id,
                Attachment {
                    url,
                    alt: meta(item, "_wp_attachment_image_alt").unwrap_or_default(),
                    caption: item.text_of("excerpt:encoded"),
                },
            );
        }
    }
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for item in channel.all("item") {
        let post_type = item.text_of("wp:post_type");
        let kind = match post_type.as_str() {
            "post" => EntryKind::Post,
            "page" => EntryKind::Page,
            // Read above, for galleries, captions and featured images.
            "attachment" => continue,
            other => {
                *skipped
                    .entry(if other.is_empty() {
                        "untyped".into()
                    } else {
                        other.to_string()
                    })
                    .or_default() += 1;
                continue;
            }
        };
        let status = item.text_of("wp:status");
        if status == "trash" || status == "auto-draft" || status == "inherit" {
            *skipped.entry(format!("{status} {post_type}")).or_default() += 1;
            continue;
        }
        let position = export.entries.len() + 1;
        let mut entry = ImportedEntry::new(kind, position);
        entry.title = item.text_of("title");
        entry.id = format!("wp:{}", item.text_of("wp:post_id"));
        entry.draft = !matches!(status.as_str(), "publish" | "future");
        entry.basename = percent_encoding::percent_decode_str(&item.text_of("wp:post_name"))
            .decode_utf8_lossy()
            .into_owned();
        if entry.basename.is_empty() {
            entry.basename = format!("post-{}", item.text_of("wp:post_id"));
        }
        entry.old_url = Some(item.text_of("link")).filter(|l| l.starts_with("http"));
        entry.date = wp_date(&item.text_of("wp:post_date"));
        for cat in item.all("category") {
            let name = cat.text.trim().to_string();
            if name.is_empty() {
                continue;
            }
            let list = match cat.attr("domain") {
                Some("post_tag") => &mut entry.tags,
                Some("category") => &mut entry.categories,
                _ => continue,
            };
            if !list.contains(&name) {
                list.push(name);
            }
        }
        // WordPress files everything under "Uncategorized" by default; it says nothing.
        entry
            .categories
            .retain(|c| c != "Uncategorized" && c != "未分類");
        entry.description = Some(item.text_of("excerpt:encoded")).filter(|e| !e.is_empty());
        entry.image = meta(item, "_thumbnail_id")
            .and_then(|id| id.parse::<u64>().ok())
            .and_then(|id| attachments.get(&id))
            .map(|a| a.url.clone());
        entry.body = item
            .child("content:encoded")
            .map(|c| c.text.clone())
            .unwrap_or_default();
        entry.format = BodyFormat::AutoParagraphs;
        for c in item.all("wp:comment") {
            let kind = c.text_of("wp:comment_type");
            let approved = c.text_of("wp:comment_approved") == "1";
            if !approved || !(kind.is_empty() || kind == "comment") {
                export.dropped_comments += 1;
                continue;
            }
            entry.comments.push(ImportedComment {
                author: c.text_of("wp:comment_author"),
                date: wp_date(&c.text_of("wp:comment_date")),
                body: c
                    .child("wp:comment_content")
                    .map(|t| t.text.trim().to_string())
                    .unwrap_or_default(),
            });
        }
        export.entries.push(entry);
    }
    export.skipped = skipped
        .into_iter()
        .map(|(what, n)| format!("{n} {what} item(s)"))
        .collect();
    if export.entries.is_empty() {
        return Err(anyhow!(
            "{file}: this WordPress export has no posts or pages"
        ));
    }
    Ok(Wxr {
        export,
        attachments,
    })
}

fn meta(item: &Element, key: &str) -> Option<String> {
    item.all("wp:postmeta")
        .find(|m| m.text_of("wp:meta_key") == key)
        .map(|m| m.text_of("wp:meta_value"))
        .filter(|v| !v.is_empty())
}

/// `2020-01-02 00:30:00`, local to the blog; WordPress writes zeros for "none".
fn wp_date(value: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%d %H:%M:%S").ok()
}

/// The whole document as a tree (a synthetic root holding the top element).
fn read_tree(text: &str, file: &str) -> Result<Element> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    let err_at = |reader: &Reader<&[u8]>, what: String| {
        let offset = usize::try_from(reader.error_position())
            .unwrap_or(0)
            .min(text.len());
        let line = text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        anyhow!(
            "{file}:{line}: not well-formed XML: {what} (a WordPress export must be exported again, unedited)"
        )
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| err_at(&reader, e.to_string()))?;
        match event {
            Event::Start(start) | Event::Empty(start) if stack.len() > MAX_DEPTH => {
                let _ = start;
                return Err(err_at(
                    &reader,
                    format!("elements nested deeper than {MAX_DEPTH}"),
                ));
            }
            Event::Start(start) => stack.push(element(&start)),
            Event::Empty(start) => {
                let el = element(&start);
                stack.last_mut().expect("root").children.push(el);
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err(err_at(
                        &reader,
                        "a closing tag without its opening tag".into(),
                    ));
                }
                let el = stack.pop().expect("checked");
                stack.last_mut().expect("root").children.push(el);
            }
            Event::Text(t) => stack
                .last_mut()
                .expect("root")
                .text
                .push_str(&t.xml10_content()),
            Event::CData(t) => stack
                .last_mut()
                .expect("root")
                .text
                .push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => {
                        let name = r.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_string(),
                            None => format!("&{name};"),
                        }
                    }
                };
                stack.last_mut().expect("root").text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(anyhow!(
            "{file}: the XML ends inside <{}> (the export is cut short; export it again)",
            stack.last().map(|e| e.name.as_str()).unwrap_or("?")
        ));
    }
    Ok(stack.pop().expect("root"))
}

fn element(start: &quick_xml::events::BytesStart) -> Element {
    let name = start.name().as_ref().to_string();
    let attrs = start
        .attributes()
        .flatten()
        .map(|a| {
            let key = a.key.as_ref().to_string();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            (key, value)
        })
        .collect();
    Element {
        name,
        attrs,
        ..Element::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WXR: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
  <title>Blog</title>
  <link>https://wp.example.com</link>
  <item>
    <title>Photo &amp; more</title>
    <link>https://wp.example.com/wp-content/uploads/a.jpg</link>
    <wp:post_id>12</wp:post_id>
    <wp:post_type><![CDATA[attachment]]></wp:post_type>
    <wp:status>inherit</wp:status>
    <wp:attachment_url><![CDATA[https://wp.example.com/wp-content/uploads/a.jpg]]></wp:attachment_url>
    <excerpt:encoded><![CDATA[A caption]]></excerpt:encoded>
    <wp:postmeta><wp:meta_key><![CDATA[_wp_attachment_image_alt]]></wp:meta_key><wp:meta_value><![CDATA[alt text]]></wp:meta_value></wp:postmeta>
  </item>
  <item>
    <title><![CDATA[こんにちは &amp; world]]></title>
    <link>https://wp.example.com/2020/01/02/hello/</link>
    <content:encoded><![CDATA[First line
second line

Para 2]]></content:encoded>
    <excerpt:encoded><![CDATA[]]></excerpt:encoded>
    <wp:post_id>5</wp:post_id>
    <wp:post_date><![CDATA[2020-01-02 00:30:00]]></wp:post_date>
    <wp:post_name><![CDATA[%e3%81%93%e3%82%93%e3%81%ab%e3%81%a1%e3%81%af]]></wp:post_name>
    <wp:status><![CDATA[publish]]></wp:status>
    <wp:post_type><![CDATA[post]]></wp:post_type>
    <category domain="category" nicename="uncategorized"><![CDATA[Uncategorized]]></category>
    <category domain="category" nicename="tech"><![CDATA[Tech]]></category>
    <category domain="post_tag" nicename="rust"><![CDATA[Rust]]></category>
    <wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key><wp:meta_value>12</wp:meta_value></wp:postmeta>
    <wp:comment>
      <wp:comment_author><![CDATA[Reader]]></wp:comment_author>
      <wp:comment_author_email><![CDATA[r@example.com]]></wp:comment_author_email>
      <wp:comment_author_IP><![CDATA[192.0.2.1]]></wp:comment_author_IP>
      <wp:comment_date><![CDATA[2020-01-03 09:00:00]]></wp:comment_date>
      <wp:comment_content><![CDATA[Nice <a href="https://x.example/">post</a>]]></wp:comment_content>
      <wp:comment_approved><![CDATA[1]]></wp:comment_approved>
      <wp:comment_type><![CDATA[comment]]></wp:comment_type>
    </wp:comment>
    <wp:comment>
      <wp:comment_author><![CDATA[Spammer]]></wp:comment_author>
      <wp:comment_content><![CDATA[buy]]></wp:comment_content>
      <wp:comment_approved><![CDATA[spam]]></wp:comment_approved>
    </wp:comment>
    <wp:comment>
      <wp:comment_author><![CDATA[Other blog]]></wp:comment_author>
      <wp:comment_content><![CDATA[pinged]]></wp:comment_content>
      <wp:comment_approved><![CDATA[1]]></wp:comment_approved>
      <wp:comment_type><![CDATA[pingback]]></wp:comment_type>
    </wp:comment>
  </item>
  <item>
    <title>About</title>
    <link>https://wp.example.com/about/</link>
    <wp:post_id>7</wp:post_id>
    <wp:post_name>about</wp:post_name>
    <wp:status>draft</wp:status>
    <wp:post_type>page</wp:post_type>
    <content:encoded><![CDATA[x]]></content:encoded>
  </item>
  <item><title>Menu</title><wp:post_type>nav_menu_item</wp:post_type></item>
</channel>
</rss>
"#;

    #[test]
    fn reads_posts_pages_attachments_and_comments() {
        assert!(detect(WXR));
        let wxr = parse(WXR, "wp.xml").unwrap();
        let e = &wxr.export;
        assert_eq!(e.base_url.as_deref(), Some("https://wp.example.com"));
        assert_eq!(e.entries.len(), 2);
        let post = &e.entries[0];
        assert_eq!(
            post.title, "こんにちは &amp; world",
            "CDATA is not unescaped"
        );
        assert_eq!(post.basename, "こんにちは");
        assert_eq!(post.categories, ["Tech"]);
        assert_eq!(post.tags, ["Rust"]);
        assert_eq!(post.date.unwrap().to_string(), "2020-01-02 00:30:00");
        assert_eq!(
            post.image.as_deref(),
            Some("https://wp.example.com/wp-content/uploads/a.jpg")
        );
        assert_eq!(post.body, "First line\nsecond line\n\nPara 2");
        assert_eq!(post.comments.len(), 1);
        assert_eq!(post.comments[0].author, "Reader");
        assert_eq!(e.dropped_comments, 2);
        let page = &e.entries[1];
        assert_eq!(page.kind, EntryKind::Page);
        assert!(page.draft);
        assert_eq!(wxr.attachments[&12].alt, "alt text");
        assert_eq!(wxr.attachments[&12].caption, "A caption");
        assert_eq!(e.skipped, ["1 nav_menu_item item(s)"]);
    }

    #[test]
    fn broken_xml_names_the_line() {
        let text = "<?xml version=\"1.0\"?>\n<rss xmlns:wp=\"http://wordpress.org/export/1.2/\">\n<channel>\n<item></channel>\n</rss>\n";
        let err = parse(text, "wp.xml").err().unwrap().to_string();
        assert!(err.starts_with("wp.xml:4: not well-formed XML"), "{err}");
    }
}
