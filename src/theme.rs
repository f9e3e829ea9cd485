//! Where templates and theme static files come from: the site's own `templates/`
//! and `static/` override the theme's; the default theme is also built into the
//! binary, so `enishi init` sites build without copying it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};

use crate::config::Site;

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../themes/default/templates/", $name)))),*]
    };
}

/// The default theme's templates, embedded.
pub const BUILTIN_TEMPLATES: &[(&str, &str)] = builtin!(
    "base.html",
    "index.html",
    "post.html",
    "page.html",
    "terms.html",
    "term.html",
    "archive.html",
    "section.html",
    "404.html",
    "search.html",
    "alias.html",
    "feed.xml",
    "sitemap.xml",
    "robots.txt",
    "partials/post_list.html",
    "partials/pagination.html",
    "partials/related.html",
    "partials/link_card.html",
    "partials/archived_comments.html",
);

/// The folder of `templates/` that holds shortcode templates.
pub const SHORTCODES_DIR: &str = "shortcodes";

/// The default theme's static files, embedded.
pub const BUILTIN_STATIC: &[(&str, &[u8])] = &[
    (
        "css/style.css",
        include_bytes!("../themes/default/static/css/style.css"),
    ),
    (
        "favicon.ico",
        include_bytes!("../themes/default/static/favicon.ico"),
    ),
    (
        "icon.svg",
        include_bytes!("../themes/default/static/icon.svg"),
    ),
    (
        "apple-touch-icon.png",
        include_bytes!("../themes/default/static/apple-touch-icon.png"),
    ),
    (
        "og-default.png",
        include_bytes!("../themes/default/static/og-default.png"),
    ),
];

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    /// `<site>/templates`: overrides of single templates.
    site_templates: PathBuf,
    /// `<site>/themes/<name>` when that folder exists.
    theme_dir: Option<PathBuf>,
    site_root: PathBuf,
}

/// A template's text and the file it came from (for error messages).
pub struct Source {
    pub text: String,
    pub origin: String,
}

impl Theme {
    pub fn resolve(site: &Site) -> Result<Theme> {
        let name = site.config.theme.clone();
        let dir = site.root.join("themes").join(&name);
        let theme_dir = dir.join("templates").is_dir().then_some(dir);
        if theme_dir.is_none() && name != "default" {
            return Err(anyhow!(
                "site.toml: theme {name:?} not found (expected themes/{name}/templates/, or set theme = \"default\")"
            ));
        }
        Ok(Theme {
            name,
            site_templates: site.root.join("templates"),
            theme_dir,
            site_root: site.root.clone(),
        })
    }

    /// Finds a template by name: site override, then theme folder, then built-in default.
    pub fn template(&self, name: &str) -> Result<Option<Source>> {
        if name.contains("..") || name.starts_with('/') {
            return Ok(None);
        }
        let mut candidates = vec![self.site_templates.join(name)];
        if let Some(dir) = &self.theme_dir {
            candidates.push(dir.join("templates").join(name));
        }
        for path in candidates {
            if path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow!("{}: cannot read template: {e}", self.rel(&path)))?;
                return Ok(Some(Source {
                    text,
                    origin: self.rel(&path),
                }));
            }
        }
        // A theme on disk is complete by itself, except that partials added to the
        // default theme later (such as the link card) fall back to the built-in ones,
        // so a theme written before a feature keeps building.
        if (self.theme_dir.is_none() || name.starts_with("partials/"))
            && let Some((_, text)) = BUILTIN_TEMPLATES.iter().find(|(n, _)| *n == name)
        {
            return Ok(Some(Source {
                text: text.to_string(),
                origin: format!("(built-in default theme)/templates/{name}"),
            }));
        }
        Ok(None)
    }

    /// The shortcode templates, `templates/shortcodes/**/*.html`, by name (`youtube`,
    /// `dir/name`): the theme's, then the site's, which win.
    pub fn shortcode_templates(&self) -> Result<BTreeMap<String, Source>> {
        let mut dirs = Vec::new();
        if let Some(dir) = &self.theme_dir {
            dirs.push(dir.join("templates").join(SHORTCODES_DIR));
        }
        dirs.push(self.site_templates.join(SHORTCODES_DIR));
        let mut templates = BTreeMap::new();
        for dir in dirs {
            let mut files = BTreeMap::new();
            collect_dir(&dir, &mut files)?;
            for (rel, source) in files {
                let (Some(name), StaticSource::File(path)) = (rel.strip_suffix(".html"), source)
                else {
                    continue;
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow!("{}: cannot read template: {e}", self.rel(&path)))?;
                let origin = self.rel(&path);
                templates.insert(name.to_string(), Source { text, origin });
            }
        }
        Ok(templates)
    }

    /// Where a missing template should be put, for the error message.
    pub fn template_hint(&self, name: &str) -> String {
        match &self.theme_dir {
            Some(dir) => format!("add templates/{name} or {}/templates/{name}", self.rel(dir)),
            None => format!("add templates/{name}"),
        }
    }

    /// Theme static files as (output path, source). Files of the site's `static/`
    /// folder are added by the caller afterwards and win.
    pub fn static_files(&self) -> Result<BTreeMap<String, StaticSource>> {
        let mut files = BTreeMap::new();
        match &self.theme_dir {
            Some(dir) => collect_dir(&dir.join("static"), &mut files)?,
            None => {
                for (name, bytes) in BUILTIN_STATIC {
                    files.insert(name.to_string(), StaticSource::Builtin(bytes));
                }
            }
        }
        Ok(files)
    }

    fn rel(&self, path: &Path) -> String {
        crate::util::display_rel(&self.site_root, path)
    }
}

#[derive(Debug, Clone)]
pub enum StaticSource {
    File(PathBuf),
    Builtin(&'static [u8]),
}

/// Adds every file under `dir` (if it exists) keyed by its `/`-separated relative path.
pub fn collect_dir(dir: &Path, files: &mut BTreeMap<String, StaticSource>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| anyhow!("{}: cannot read folder: {e}", dir.display()))?;
        if entry.file_type().is_file() {
            let rel = crate::util::display_rel(dir, entry.path());
            files.insert(rel, StaticSource::File(entry.into_path()));
        }
    }
    Ok(())
}
