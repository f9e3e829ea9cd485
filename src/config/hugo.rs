//! A Hugo site's configuration read as Enishi settings, so a Hugo blog builds
//! without a `site.toml`: `hugo.toml|yaml|json`, `config.toml|yaml|json`, and
//! `config/_default/` (a root file plus one file per top-level key, such as
//! `params.toml`). Keys are case-insensitive, as in Hugo. What has no Enishi
//! equivalent (the theme's Go templates, menus, markup settings …) is ignored and
//! named in one note, never an error: it is someone else's format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde_json::{Map, Value};

use super::{SiteConfig, UrlStyle, parse_config};

const ROOT_NAMES: &[&str] = &["hugo", "config"];
const EXTENSIONS: &[&str] = &["toml", "yaml", "yml", "json"];

/// Keys read (the rest are named in the note).
const KNOWN: &[&str] = &[
    "title",
    "baseurl",
    "languagecode",
    "defaultcontentlanguage",
    "timezone",
    "permalinks",
    "taxonomies",
    "params",
    "paginate",
    "pagination",
    "author",
    "enableemoji",
    "languages",
];

/// The Hugo configuration of the site at `root`: the settings, the files they came
/// from, and a note naming what was ignored. None when the site has none.
pub struct HugoConfig {
    pub config: SiteConfig,
    pub files: Vec<PathBuf>,
    pub note: Option<String>,
}

/// The files a Hugo site's configuration is read from, in merge order.
fn config_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let root_file = ROOT_NAMES
        .iter()
        .flat_map(|n| {
            EXTENSIONS
                .iter()
                .map(move |e| root.join(format!("{n}.{e}")))
        })
        .find(|p| p.is_file());
    files.extend(root_file);
    let dir = root.join("config").join("_default");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut more: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|e| EXTENSIONS.contains(&e.to_string_lossy().as_ref()))
            })
            .collect();
        more.sort();
        files.extend(more);
    }
    files
}

pub fn load(root: &Path) -> Result<Option<HugoConfig>> {
    let files = config_files(root);
    if files.is_empty() {
        return Ok(None);
    }
    let mut merged = Map::new();
    for file in &files {
        let shown = crate::util::display_rel(root, file);
        let text =
            std::fs::read_to_string(file).map_err(|e| anyhow!("{shown}: cannot read ({e})"))?;
        let value = lower_keys(parse(&text, file, &shown)?);
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_lowercase());
        let in_default_dir = file
            .parent()
            .is_some_and(|p| p.ends_with("config/_default"));
        match (value, stem.as_deref()) {
            // config/_default/params.toml holds the `params` table, and so on.
            (value, Some(key)) if in_default_dir && !ROOT_NAMES.contains(&key) => {
                merge(&mut merged, Map::from_iter([(key.to_string(), value)]));
            }
            (Value::Object(map), _) => merge(&mut merged, map),
            _ => return Err(anyhow!("{shown}: not a table of settings")),
        }
    }
    let (config, ignored) = to_site_config(&merged)?;
    let first = crate::util::display_rel(root, &files[0]);
    let note = (!ignored.is_empty()).then(|| {
        format!(
            "{first}: read as a Hugo site (the default theme is used; Hugo themes are Go templates); settings with no Enishi equivalent ignored: {}",
            ignored.join(", ")
        )
    });
    Ok(Some(HugoConfig {
        config,
        files,
        note,
    }))
}

fn parse(text: &str, file: &Path, shown: &str) -> Result<Value> {
    let ext = file.extension().map(|e| e.to_string_lossy().to_lowercase());
    match ext.as_deref() {
        Some("toml") => toml::from_str::<Value>(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(":{}", crate::util::line_of_offset(text, s.start)))
                .unwrap_or_default();
            anyhow!("{shown}{line}: {}", e.message().trim().replace('\n', " "))
        }),
        Some("json") => {
            serde_json::from_str(text).map_err(|e| anyhow!("{shown}:{}: {e}", e.line()))
        }
        _ => serde_saphyr::from_str::<Value>(text)
            .map_err(|e| anyhow!("{shown}: {}", e.to_string().replace('\n', " "))),
    }
}

fn lower_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

/// Later files add keys and merge tables; a key set twice keeps the later value.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => merge(old, new),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

fn string_at<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let mut value = map.get(path[0])?;
    for key in &path[1..] {
        value = value.get(key)?;
    }
    value.as_str().filter(|s| !s.trim().is_empty())
}

fn to_site_config(hugo: &Map<String, Value>) -> Result<(SiteConfig, Vec<String>)> {
    let mut config = parse_config("title = \"\"", Path::new("hugo config"))?;
    config.urls = UrlStyle::Hugo;
    // Hugo's default: a page's URL follows its folder; [permalinks] say otherwise.
    config.permalink = String::new();
    if let Some(title) = string_at(hugo, &["title"]) {
        config.title = title.to_string();
    }
    if let Some(url) = string_at(hugo, &["baseurl"])
        && (url.starts_with("http://") || url.starts_with("https://"))
    {
        config.base_url = url.to_string();
    }
    if let Some(lang) =
        string_at(hugo, &["languagecode"]).or_else(|| string_at(hugo, &["defaultcontentlanguage"]))
    {
        config.language = lang.to_string();
    }
    let default_lang = string_at(hugo, &["defaultcontentlanguage"]).map(str::to_lowercase);
    if let Some(Value::Object(languages)) = hugo.get("languages") {
        config.languages = languages
            .keys()
            .filter(|l| Some(l.as_str()) != default_lang.as_deref())
            .cloned()
            .collect();
    }
    if let Some(tz) = string_at(hugo, &["timezone"]) {
        config.timezone = tz.to_string();
    }
    if let Some(Value::Object(permalinks)) = hugo.get("permalinks") {
        // Newer Hugo nests them by kind (`[permalinks.page]`); pages are what we use.
        let pages = match permalinks.get("page") {
            Some(Value::Object(p)) => p,
            _ => permalinks,
        };
        for (section, pattern) in pages {
            if let Some(p) = pattern.as_str() {
                config.permalinks.insert(section.clone(), p.to_string());
            }
        }
    }
    let params = hugo.get("params").and_then(Value::as_object);
    if let Some(main) = params.and_then(|p| p.get("mainsections")) {
        let sections: Vec<String> = match main {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        if !sections.is_empty() {
            config.sections = Some(sections);
        }
    }
    let pager = hugo
        .get("paginate")
        .or_else(|| hugo.get("pagination").and_then(|p| p.get("pagersize")))
        .and_then(Value::as_u64);
    if let Some(n) = pager.filter(|n| *n > 0) {
        config.paginate = n as usize;
    }
    if let Some(d) = string_at(hugo, &["params", "description"]) {
        config.description = d.to_string();
    }
    let author = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Object(m) => m.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    };
    if let Some(a) =
        author(params.and_then(|p| p.get("author"))).or_else(|| author(hugo.get("author")))
    {
        config.author = a;
    }
    if let Some(Value::Bool(on)) = hugo.get("enableemoji") {
        config.enable_emoji = *on;
    }
    if let Some(Value::Object(params)) = hugo.get("params") {
        config.params = params.clone().into_iter().collect::<BTreeMap<_, _>>();
    }
    let ignored: Vec<String> = hugo
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .cloned()
        .collect();
    if let Some(Value::Object(tax)) = hugo.get("taxonomies") {
        for (singular, plural) in tax {
            let plural = plural.as_str().unwrap_or(singular);
            config
                .taxonomies
                .insert(singular.clone(), plural.to_string());
        }
    }
    Ok((config, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_hugo_toml_becomes_settings_and_names_what_is_ignored() {
        let dir = site(&[(
            "hugo.toml",
            "baseURL = 'https://blog.example.jp/'\ntitle = 'ブログ'\nlanguageCode = 'ja-jp'\ntheme = 'PaperMod'\nPaginate = 7\nenableEmoji = true\n[permalinks]\npost = '/:year/:month/:slug/'\n[params]\nmainSections = ['post']\ndescription = '説明'\n[params.author]\nname = '山田'\n[taxonomies]\ntag = 'tags'\nseries = 'series'\n[markup.goldmark.renderer]\nunsafe = true\n",
        )]);
        let hugo = load(dir.path()).unwrap().unwrap();
        let c = &hugo.config;
        assert_eq!(c.title, "ブログ");
        assert_eq!(c.base_url, "https://blog.example.jp/");
        assert_eq!(c.language, "ja-jp");
        assert_eq!(c.paginate, 7);
        assert_eq!(c.sections.as_deref(), Some(&["post".to_string()][..]));
        assert_eq!(c.permalinks["post"], "/:year/:month/:slug/");
        assert_eq!(
            (c.description.as_str(), c.author.as_str()),
            ("説明", "山田")
        );
        assert_eq!(c.urls, UrlStyle::Hugo);
        assert!(c.enable_emoji);
        let note = hugo.note.unwrap();
        assert!(note.contains("theme") && note.contains("markup"), "{note}");
        assert!(!note.contains("taxonomies"), "{note}");
        assert_eq!(c.taxonomies["series"], "series");
    }

    #[test]
    fn config_default_files_merge_by_key() {
        let dir = site(&[
            (
                "config/_default/hugo.yaml",
                "title: X\nbaseURL: https://x.example/\n",
            ),
            ("config/_default/params.yaml", "mainSections: [blog]\n"),
            (
                "config/_default/permalinks.toml",
                "[page]\nblog = '/:slug/'\n",
            ),
        ]);
        let hugo = load(dir.path()).unwrap().unwrap();
        assert_eq!(hugo.config.title, "X");
        assert_eq!(
            hugo.config.sections.as_deref(),
            Some(&["blog".to_string()][..])
        );
        assert_eq!(hugo.config.permalinks["blog"], "/:slug/");
        assert_eq!(hugo.files.len(), 3);
        assert!(load(site(&[]).path()).unwrap().is_none());
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let dir = site(&[("config.toml", "title = 'x'\nbaseURL = \n")]);
        let err = load(dir.path()).err().unwrap().to_string();
        assert!(err.starts_with("config.toml:2"), "{err}");
    }
}
