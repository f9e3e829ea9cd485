//! `enishi init` and `enishi new post`: files a writer starts from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::config::{CONFIG_FILE, Site};
use crate::content::{CONTENT_DIR, POSTS_DIR};
use crate::util::slugify;

/// Creates a new site skeleton in `dir`, which must not already hold a site.
pub fn init(dir: &Path, now: DateTime<Utc>) -> Result<Vec<PathBuf>> {
    let config = dir.join(CONFIG_FILE);
    if config.exists() {
        return Err(anyhow!(
            "{}: a site already exists here (choose an empty folder)",
            config.display()
        ));
    }
    let tokyo = now.with_timezone(&chrono_tz::Asia::Tokyo);
    let date = tokyo.format("%Y-%m-%d").to_string();
    let files = [
        (
            PathBuf::from(CONFIG_FILE),
            "title = \"わたしのブログ\"\n\
             base_url = \"https://example.com/\"\n\
             language = \"ja\"\n\
             timezone = \"Asia/Tokyo\"\n\
             author = \"\"\n\
             description = \"Enishi で書いているブログです。\"\n\
             permalink = \"/:year/:month/:day/:slug/\"\n\
             paginate = 10\n\
             theme = \"default\"\n\
             \n\
             [related]\n\
             count = 5\n"
                .to_string(),
        ),
        (
            PathBuf::from(CONTENT_DIR)
                .join(POSTS_DIR)
                .join(format!("{date}-hello.md")),
            format!(
                "---\ntitle: \"Enishi でブログを始めました\"\ndate: {}\ntags: [お知らせ]\ncategories: [日記]\n---\n\n\
                 Enishi でブログを始めました。`content/posts/` に Markdown を置くと記事になります。\n\n\
                 ## 書き方\n\n\
                 - 見出し、リスト、表、脚注が使えます\n\
                 - `enishi build` で `public/` にサイトができます\n",
                tokyo.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        ),
        (
            PathBuf::from(CONTENT_DIR).join("about.md"),
            "---\ntitle: \"このブログについて\"\n---\n\nこのブログの紹介をここに書きます。\n"
                .to_string(),
        ),
        (
            PathBuf::from(".gitignore"),
            "/public/\n/.enishi/\n".to_string(),
        ),
    ];
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p)
                .with_context(|| format!("{}: cannot create folder", p.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
        written.push(rel);
    }
    Ok(written)
}

/// What `new post` made.
pub struct NewPost {
    pub path: PathBuf,
    /// The slug, when it was made up because the title gives no ASCII one.
    pub made_up_slug: Option<String>,
}

/// Creates `content/posts/<date>-<slug>.md`. Without `--slug`, an ASCII title is
/// slugified; a Japanese title gets `post-<short hash of the title>`, so the URL
/// stays readable and the same title twice names the same file (refused, never a
/// silent second post).
pub fn new_post(
    site: &Site,
    title: &str,
    slug: Option<&str>,
    now: DateTime<Utc>,
) -> Result<NewPost> {
    let title = title.trim();
    if title.is_empty() {
        return Err(anyhow!("the title is empty (enishi new post \"タイトル\")"));
    }
    let mut made_up = false;
    let slug = match slug {
        Some(s) => {
            let s = slugify(s);
            if s.is_empty() || !s.is_ascii() {
                return Err(anyhow!(
                    "--slug {s:?} must contain ASCII letters or digits (e.g. --slug my-first-post)"
                ));
            }
            s
        }
        None => {
            let s = slugify(title);
            if !s.is_empty() && s.is_ascii() {
                s
            } else {
                made_up = true;
                let id = blake3::hash(title.as_bytes()).to_hex();
                format!("post-{}", &id[..6])
            }
        }
    };
    let local = now.with_timezone(&site.tz);
    // A Hugo site keeps a date prefix in the URL, so its posts are named by slug.
    let name = match site.config.urls {
        crate::config::UrlStyle::Hugo => format!("{slug}.md"),
        crate::config::UrlStyle::Enishi => format!("{}-{slug}.md", local.format("%Y-%m-%d")),
    };
    let section = site.main_sections.first().map_or(POSTS_DIR, String::as_str);
    let path = site.root.join(CONTENT_DIR).join(section).join(&name);
    if path.exists() {
        return Err(anyhow!(
            "{}: already exists, and is left as it is (pass --slug NAME for a new post of the same title)",
            crate::util::display_rel(&site.root, &path)
        ));
    }
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)
            .with_context(|| format!("{}: cannot create folder", p.display()))?;
    }
    let escaped = title.replace('\\', "\\\\").replace('"', "\\\"");
    let text = format!(
        "---\ntitle: \"{escaped}\"\ndate: {}\nslug: {slug}\ndraft: true\ntags: []\ncategories: []\n---\n\n",
        local
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    // `create_new`: a file that appeared since the check above is not overwritten either.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(NewPost {
        path,
        made_up_slug: made_up.then_some(slug),
    })
}
