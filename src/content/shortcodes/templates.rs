//! User shortcodes: minijinja templates `templates/shortcodes/NAME.html` in the
//! site or its theme (the site's win, and either wins over a built-in of the same
//! name). What a template receives:
//!
//! - `args`: the arguments, a list (positional) or a map (named);
//!   `get(0)` / `get("title")` gives one or none; `is_named` says which kind;
//! - `inner`: the text between a paired call's tags (nested shortcodes already
//!   expanded), or none;
//! - `name`, `page` (title, date, lastmod, tags, categories, description, params,
//!   source) and `site` (title, description, author, language, base_url, params).

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use minijinja::{Environment, UndefinedBehavior, Value, context};

use super::args::{Arg, Args};
use crate::config::Site;
use crate::theme::{SHORTCODES_DIR, Theme};
use crate::util::write_template_text;

/// The shortcode templates of a site, compiled once per load.
pub struct Library {
    env: Environment<'static>,
    /// The file each template came from, by template name, for error messages.
    origins: BTreeMap<String, String>,
    site: Value,
    site_params: BTreeMap<String, serde_json::Value>,
    /// Changes whenever a template or anything templates see of the site changes.
    fingerprint: String,
}

impl Default for Library {
    fn default() -> Library {
        Library {
            env: environment(),
            origins: BTreeMap::new(),
            site: Value::from(()),
            site_params: BTreeMap::new(),
            fingerprint: String::new(),
        }
    }
}

impl Library {
    /// Reads and compiles the site's and its theme's shortcode templates; a
    /// template that does not compile is an error naming its file and line.
    pub fn load(site: &Site) -> Result<Library> {
        let theme = Theme::resolve(site)?;
        let site_params: BTreeMap<String, serde_json::Value> = site.config.params.clone();
        let c = &site.config;
        let site_value = context! {
            title => c.title,
            description => c.description,
            author => c.author,
            language => c.language,
            base_url => site.base_url,
            params => Value::from_serialize(&site_params),
        };
        let mut fingerprint = blake3::Hasher::new();
        fingerprint.update(format!("{site_value:?}\n").as_bytes());
        let mut library = Library {
            site: site_value,
            site_params,
            ..Library::default()
        };
        for (name, source) in theme.shortcode_templates()? {
            fingerprint.update(format!("{name}\n{}\n{}\n", source.origin, source.text).as_bytes());
            let template = template_name(&name);
            library
                .env
                .add_template_owned(template.clone(), source.text)
                .map_err(|e| anyhow!(describe(&e, &source.origin)))?;
            library.origins.insert(template, source.origin);
        }
        library.fingerprint = fingerprint.finalize().to_hex().to_string();
        Ok(library)
    }

    pub fn has(&self, name: &str) -> bool {
        self.origins.contains_key(&template_name(name))
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `[params]` of site.toml.
    pub fn site_params(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.site_params
    }

    /// Renders shortcode `name`; an error is one line naming the template file and line.
    pub fn render(
        &self,
        name: &str,
        args: &Args,
        inner: Option<&str>,
        page: &Value,
    ) -> Result<String, String> {
        let template_name = template_name(name);
        let args_value = args_value(args);
        let get_from = args_value.clone();
        let get = Value::from_function(move |key: Value| -> Value {
            get_from
                .get_item(&key)
                .ok()
                .filter(|v| !v.is_undefined())
                .unwrap_or(Value::from(()))
        });
        let ctx = context! {
            name => name,
            args => args_value,
            is_named => args.is_named(),
            get => get,
            inner => inner.map(|s| Value::from_safe_string(s.to_string())),
            page => page,
            site => self.site,
        };
        let origin = |e: &minijinja::Error| {
            let shown = e.name().unwrap_or(&template_name);
            self.origins
                .get(shown)
                .cloned()
                .unwrap_or_else(|| shown.to_string())
        };
        self.env
            .get_template(&template_name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| describe(&e, &origin(&e)))
    }
}

/// Where the template of shortcode `name` goes, for messages.
pub fn template_path(name: &str) -> String {
    format!("templates/{SHORTCODES_DIR}/{name}.html")
}

fn template_name(name: &str) -> String {
    format!("{SHORTCODES_DIR}/{name}.html")
}

/// Templates see the arguments as a list or a map of plain values.
fn args_value(args: &Args) -> Value {
    let value = |a: &Arg| match a {
        Arg::Str(s) => Value::from(s.as_str()),
        Arg::Int(i) => Value::from(*i),
        Arg::Float(x) => Value::from(*x),
        Arg::Bool(b) => Value::from(*b),
    };
    match args {
        Args::Positional(list) => Value::from(list.iter().map(value).collect::<Vec<_>>()),
        Args::Named(pairs) => Value::from(
            pairs
                .iter()
                .map(|(k, a)| (k.clone(), value(a)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Escaping and undefined values as the theme's templates have them, except that
/// a test on a missing value (`{% if args.title %}`) is allowed: arguments are optional.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        // `true`, not Jinja's `True`: shortcodes print Hugo's booleans.
        let text = if value.kind() == minijinja::value::ValueKind::Bool {
            value.is_true().to_string()
        } else {
            value.to_string()
        };
        write_template_text(out, state, value, &text)
    });
    env
}

/// `file:line: template error: …` on one line.
fn describe(e: &minijinja::Error, origin: &str) -> String {
    let line = e.line().map(|l| format!(":{l}")).unwrap_or_default();
    let detail = e
        .detail()
        .map(|d| format!(": {}", d.replace('\n', " ")))
        .unwrap_or_default();
    format!("{origin}{line}: template error: {}{detail}", e.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(templates: &[(&str, &str)]) -> Library {
        let mut library = Library::default();
        for (name, text) in templates {
            let t = template_name(name);
            library
                .env
                .add_template_owned(t.clone(), text.to_string())
                .unwrap();
            library.origins.insert(t, template_path(name));
        }
        library
    }

    #[test]
    fn templates_see_args_inner_and_page() {
        let lib = library(&[(
            "note",
            "<aside class=\"{{ get('kind') or 'info' }}\" data-n=\"{{ args.n }}\">{{ inner }} {{ page.title }}{% if args.missing %}x{% endif %}</aside>",
        )]);
        let args = Args::Named(vec![
            ("kind".into(), Arg::Str("<warn>".into())),
            ("n".into(), Arg::Int(3)),
        ]);
        let page = context! { title => "題" };
        let out = lib
            .render("note", &args, Some("<b>中身</b>"), &page)
            .unwrap();
        assert_eq!(
            out,
            "<aside class=\"&lt;warn&gt;\" data-n=\"3\"><b>中身</b> 題</aside>"
        );
        let lib = library(&[(
            "pos",
            "{{ get(0) }}-{{ get(5) }}-{{ args|length }}-{{ is_named }}",
        )]);
        let args = Args::Positional(vec![Arg::Str("a".into())]);
        assert_eq!(lib.render("pos", &args, None, &page).unwrap(), "a--1-false");
    }

    #[test]
    fn errors_name_the_template_file_and_line() {
        let lib = library(&[("bad", "line one\n{{ args.nope.deeper }}")]);
        let err = lib
            .render("bad", &Args::Positional(vec![]), None, &Value::from(()))
            .unwrap_err();
        assert!(
            err.starts_with("templates/shortcodes/bad.html:2: template error"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
