//! What every export format is read into: one entry (post or page) with its
//! metadata, its body as HTML, and its comments. Format readers fill it in;
//! nothing here knows about files or Markdown.

use chrono::NaiveDateTime;

/// Where the export came from; decides which body conventions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Movable Type's text format as Hatena Blog writes it (or any blog that does).
    MovableType,
    /// WordPress's WXR (RSS with `wp:` elements).
    WordPress,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::MovableType => "Movable Type / Hatena Blog export",
            Origin::WordPress => "WordPress export (WXR)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Post,
    Page,
}

/// How the body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// HTML as published (Hatena, Movable Type with `CONVERT BREAKS: 0`).
    Html,
    /// HTML whose paragraphs are blank lines and whose line breaks are newlines
    /// (WordPress, Movable Type's `convert breaks`).
    AutoParagraphs,
    /// Already Markdown (Movable Type's `CONVERT BREAKS: markdown`).
    Markdown,
}

#[derive(Debug, Clone)]
pub struct ImportedEntry {
    pub kind: EntryKind,
    /// What names the entry in its blog for good (Hatena's BASENAME, WordPress's
    /// post id): how a later import of the same blog finds the file it wrote.
    pub id: String,
    pub title: String,
    /// The old URL's identifying part: Hatena's BASENAME (`2020/01/02/003000` or a
    /// custom path), WordPress's `post_name`.
    pub basename: String,
    /// The entry's old address when the export says it (WordPress's `link`).
    pub old_url: Option<String>,
    /// Local time in the blog's zone, as exports write it.
    pub date: Option<NaiveDateTime>,
    pub draft: bool,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub description: Option<String>,
    /// The eye-catch image (Hatena's `IMAGE:`, WordPress's featured image).
    pub image: Option<String>,
    pub body: String,
    /// The part after "read more" when the export keeps it apart.
    pub extended: String,
    pub format: BodyFormat,
    pub comments: Vec<ImportedComment>,
    /// 1-based position in the export, for messages.
    pub position: usize,
}

impl ImportedEntry {
    pub fn new(kind: EntryKind, position: usize) -> ImportedEntry {
        ImportedEntry {
            kind,
            id: String::new(),
            title: String::new(),
            basename: String::new(),
            old_url: None,
            date: None,
            draft: false,
            categories: Vec::new(),
            tags: Vec::new(),
            description: None,
            image: None,
            body: String::new(),
            extended: String::new(),
            format: BodyFormat::Html,
            comments: Vec::new(),
            position,
        }
    }

    /// How messages name the entry.
    pub fn label(&self) -> String {
        if self.title.trim().is_empty() {
            format!("entry {} (untitled)", self.position)
        } else {
            format!("「{}」", self.title.trim())
        }
    }
}

/// A reader's comment, as exported. E-mail and IP addresses are never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedComment {
    pub author: String,
    pub date: Option<NaiveDateTime>,
    /// The comment's body as the export has it (HTML or text): untrusted.
    pub body: String,
}

/// Everything one export file holds.
#[derive(Debug, Clone)]
pub struct Export {
    pub origin: Origin,
    pub entries: Vec<ImportedEntry>,
    /// The old blog's address when the export says it (WordPress's channel link).
    pub base_url: Option<String>,
    /// Trackbacks, pingbacks, spam and unapproved comments left out.
    pub dropped_comments: usize,
    /// Entries of kinds we do not import (attachments, menus), by reason.
    pub skipped: Vec<String>,
}
