//! The minijinja environment: theme loader, output escaping, and template errors
//! that name the file and line they came from.

use anyhow::{Result, anyhow};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};

use crate::theme::Theme;
use crate::util::{encode_path, write_template_text};

use super::renderer::{Origins, Renderer};

/// An environment loading templates from `theme`, recording their origins in `origins`.
/// Strict undefined: a typo in a template is an error, not empty output.
pub(super) fn environment(theme: &Theme, origins: &Origins) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let loader_theme = theme.clone();
    let loader_origins = origins.clone();
    env.set_loader(move |name| match loader_theme.template(name) {
        Ok(Some(src)) => {
            if let Ok(mut o) = loader_origins.lock() {
                o.insert(name.to_string(), src.origin);
            }
            Ok(Some(src.text))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            e.to_string(),
        )),
    });
    env.add_filter("urlencode_path", |s: String| encode_path(&s));
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        write_template_text(out, state, value, &value.to_string())
    });
    env
}

impl Renderer<'_> {
    pub(super) fn render_template(&self, name: &str, ctx: &Value) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| self.template_error(name, e))?;
        tmpl.render(ctx).map_err(|e| self.template_error(name, e))
    }

    /// `file:line: message` for a template problem, naming the file it came from.
    fn template_error(&self, requested: &str, e: minijinja::Error) -> anyhow::Error {
        if e.kind() == ErrorKind::TemplateNotFound {
            let missing = e
                .detail()
                .and_then(|d| d.split('"').nth(1).map(str::to_string))
                .or_else(|| e.name().map(str::to_string))
                .unwrap_or_else(|| requested.to_string());
            let missing = if missing.is_empty() {
                requested.to_string()
            } else {
                missing
            };
            return anyhow!(
                "template {missing:?} not found in theme {:?} ({})",
                self.theme.name,
                self.theme.template_hint(&missing)
            );
        }
        let name = e.name().unwrap_or(requested).to_string();
        let origin = self
            .origins
            .lock()
            .ok()
            .and_then(|o| o.get(&name).cloned())
            .unwrap_or(name);
        let line = e.line().map(|l| format!(":{l}")).unwrap_or_default();
        let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
        anyhow!("{origin}{line}: template error: {}{detail}", e.kind())
    }
}
