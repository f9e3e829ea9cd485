//! Hugo's built-in shortcodes: which name runs what, and those that need no other
//! site (`highlight`, `figure`, `param`, `ref`/`relref`). The embeds of other
//! sites' content are in `embeds.rs`. Every value is checked or escaped.

use std::collections::BTreeMap;

use pulldown_cmark::{Options, Parser};
use serde_json::Value;

use super::args::Args;
use super::embeds;
use super::expanded::{Output, html_text};
use crate::content::frontmatter::FrontMatter;
use crate::content::highlight;
use crate::util::escape_html;

/// What a built-in produces.
#[derive(Debug, Clone, PartialEq)]
pub enum Produced {
    Output(Output),
    /// A link to another page (`ref`, `relref`), resolved once URLs exist.
    Ref {
        target: String,
        absolute: bool,
    },
}

/// What built-ins may read besides their arguments.
pub struct Ctx<'a> {
    pub front: &'a FrontMatter,
    pub site_params: &'a BTreeMap<String, Value>,
}

pub const NAMES: &[&str] = &[
    "figure",
    "gist",
    "highlight",
    "instagram",
    "param",
    "ref",
    "relref",
    "tweet",
    "twitter",
    "twitter_simple",
    "vimeo",
    "vimeo_simple",
    "x",
    "youtube",
];

pub fn is_builtin(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Runs built-in `name`. `Err`: what is wrong with the call (a warning; the call
/// is left out).
pub fn render(name: &str, args: &Args, inner: Option<&str>, ctx: &Ctx) -> Result<Produced, String> {
    let output = match name {
        "youtube" => embeds::youtube(args)?,
        "vimeo" | "vimeo_simple" => embeds::vimeo(args)?,
        "x" | "twitter" | "twitter_simple" | "tweet" => embeds::post_on_x(args)?,
        "gist" => embeds::gist(args)?,
        "instagram" => embeds::instagram(args)?,
        "highlight" => code(args, inner.unwrap_or("")),
        "figure" => figure(args),
        "param" => param(args, ctx)?,
        "ref" | "relref" => {
            let target = args
                .get("path", 0)
                .ok_or_else(|| format!("needs the page: {{{{< {name} \"posts/name.md\" >}}}}"))?;
            return Ok(Produced::Ref {
                target,
                absolute: name == "ref",
            });
        }
        _ => return Err(format!("{name:?} is not a built-in shortcode")),
    };
    Ok(Produced::Output(output))
}

/// `{{< highlight go "linenos=table" >}}code{{< /highlight >}}`: the code
/// highlighted as fenced code is (the options are ignored). Code is never text.
fn code(args: &Args, inner: &str) -> Output {
    let lang = args.get("lang", 0).unwrap_or_default();
    // Blank lines after the opening tag and before the closing one belong to
    // the tags, not to the code (as in Hugo); the first line keeps its indent.
    let code = inner.trim_start_matches(['\r', '\n']).trim_end();
    let code = format!("{code}\n");
    Output {
        html: highlight::highlight(&code, &lang),
        text: String::new(),
    }
}

/// `{{< figure src="…" … >}}`, with Hugo's arguments and markup.
fn figure(args: &Args) -> Output {
    let get = |key: &str| args.named_text(key).filter(|v| !v.is_empty());
    let attr = |name: &str, value: Option<String>| {
        value
            .map(|v| format!(" {name}=\"{}\"", escape_html(&v)))
            .unwrap_or_default()
    };
    let caption = get("caption").map(|c| inline_markdown(&c));
    let alt = get("alt").or_else(|| caption.as_deref().map(html_text));
    let img = format!(
        "<img src=\"{}\"{}{}{}{}>",
        escape_html(&get("src").unwrap_or_default()),
        attr("alt", alt),
        attr("width", get("width")),
        attr("height", get("height")),
        attr("loading", get("loading")),
    );
    let img = match get("link") {
        Some(link) => format!(
            "<a href=\"{}\"{}{}>{img}</a>",
            escape_html(&link),
            attr("target", get("target")),
            attr("rel", get("rel")),
        ),
        None => img,
    };
    let figcaption = figcaption(
        get("title"),
        caption,
        get("attr").map(|a| inline_markdown(&a)),
        get("attrlink"),
    );
    Output {
        text: html_text(&figcaption),
        html: format!(
            "<figure{}>{img}{figcaption}</figure>",
            attr("class", get("class"))
        ),
    }
}

/// Title as `<h4>`, caption and attribution (both HTML already) as a `<p>`.
fn figcaption(
    title: Option<String>,
    caption: Option<String>,
    attribution: Option<String>,
    attrlink: Option<String>,
) -> String {
    if title.is_none() && caption.is_none() && attribution.is_none() {
        return String::new();
    }
    let mut html = String::from("<figcaption>");
    if let Some(title) = title {
        html.push_str(&format!("<h4>{}</h4>", escape_html(&title)));
    }
    if caption.is_some() || attribution.is_some() {
        html.push_str("<p>");
        html.push_str(caption.as_deref().unwrap_or(""));
        if let Some(attribution) = attribution {
            match attrlink {
                Some(link) => html.push_str(&format!(
                    "<a href=\"{}\">{attribution}</a>",
                    escape_html(&link)
                )),
                None => html.push_str(&attribution),
            }
        }
        html.push_str("</p>");
    }
    html.push_str("</figcaption>");
    html
}

/// Markdown of one line as inline HTML (Hugo's `markdownify`): no `<p>` around it.
fn inline_markdown(text: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(
        &mut html,
        Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH),
    );
    let trimmed = html.trim_end();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|s| s.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_string(),
        _ => trimmed.to_string(),
    }
}

/// `{{< param "key" >}}`: the page's front matter value, else site.toml's
/// `[params]`; `a.b` looks inside a table.
fn param(args: &Args, ctx: &Ctx) -> Result<Output, String> {
    let key = args
        .get("name", 0)
        .ok_or("needs the name of a param: {{< param \"key\" >}}")?;
    let value = front_value(ctx.front, &key)
        .or_else(|| lookup(&ctx.front.params, &key))
        .or_else(|| lookup(ctx.site_params, &key))
        .ok_or_else(|| {
            format!("no param {key:?} in the front matter or in site.toml [params]; left out")
        })?;
    let text = value_text(&value);
    Ok(Output {
        html: escape_html(&text),
        text,
    })
}

/// The front matter fields that are not kept in `params`.
fn front_value(front: &FrontMatter, key: &str) -> Option<Value> {
    let list = |v: &Vec<String>| Some(Value::from(v.clone())).filter(|_| !v.is_empty());
    match key.to_lowercase().as_str() {
        "title" => Some(Value::from(front.title.clone())),
        "description" => front.description.clone().map(Value::from),
        "summary" => front.summary.clone().map(Value::from),
        "slug" => front.slug.clone().map(Value::from),
        "tags" => list(&front.tags),
        "categories" => list(&front.categories),
        _ => None,
    }
}

/// `key` (dotted for nested tables) in `params`, comparing names case-insensitively.
fn lookup(params: &BTreeMap<String, Value>, key: &str) -> Option<Value> {
    let mut parts = key.split('.');
    let first = parts.next()?;
    let mut value = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(first))
        .map(|(_, v)| v)?;
    for part in parts {
        value = value
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(part))
            .map(|(_, v)| v)?;
    }
    Some(value.clone())
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::build::{named, pos};
    use super::*;

    fn html(name: &str, args: &Args) -> String {
        html_with(name, args, None)
    }

    fn html_with(name: &str, args: &Args, inner: Option<&str>) -> String {
        let front = FrontMatter::default();
        let site = BTreeMap::new();
        let ctx = Ctx {
            front: &front,
            site_params: &site,
        };
        match render(name, args, inner, &ctx) {
            Ok(Produced::Output(o)) => o.html,
            other => panic!("{other:?}"),
        }
    }

    fn warning(name: &str, args: &Args) -> String {
        let front = FrontMatter::default();
        let site = BTreeMap::new();
        let ctx = Ctx {
            front: &front,
            site_params: &site,
        };
        render(name, args, None, &ctx).unwrap_err()
    }

    #[test]
    fn every_name_runs_a_built_in() {
        for name in NAMES {
            let front = FrontMatter::default();
            let site = BTreeMap::new();
            let ctx = Ctx {
                front: &front,
                site_params: &site,
            };
            if let Err(why) = render(name, &pos(&[]), None, &ctx) {
                assert!(why.contains("needs the"), "{name}: {why}");
            }
        }
        assert!(warning("ref", &pos(&[])).contains("{{< ref \"posts/name.md\" >}}"));
        assert!(warning("nope", &pos(&[])).contains("not a built-in"));
    }

    #[test]
    fn highlight_never_emits_the_code_as_html() {
        let h = html_with(
            "highlight",
            &pos(&["html", "linenos=table"]),
            Some("\n<html><head></head></html>\n"),
        );
        assert!(
            h.starts_with("<pre class=\"code\"><code class=\"language-html\">"),
            "{h}"
        );
        assert!(!h.contains("<html>") && !h.contains("<head>"), "{h}");
        assert!(h.contains("&lt;"), "{h}");
        let h = html_with(
            "highlight",
            &pos(&["no-such-language"]),
            Some("<script>x</script>"),
        );
        assert!(h.contains("&lt;script&gt;x&lt;/script&gt;\n</code>"), "{h}");
    }

    #[test]
    fn figure_has_hugos_markup() {
        let h = html(
            "figure",
            &named(&[
                ("src", "a.jpg"),
                ("link", "https://e.example/"),
                ("target", "_blank"),
                ("title", "T <x>"),
                ("caption", "C **b**"),
                ("attr", "著者"),
                ("attrlink", "https://a.example/"),
                ("class", "wide"),
                ("width", "300"),
            ]),
        );
        assert_eq!(
            h,
            "<figure class=\"wide\"><a href=\"https://e.example/\" target=\"_blank\"><img src=\"a.jpg\" alt=\"C b\" width=\"300\"></a><figcaption><h4>T &lt;x&gt;</h4><p>C <strong>b</strong><a href=\"https://a.example/\">著者</a></p></figcaption></figure>"
        );
        assert_eq!(
            html("figure", &named(&[("src", "b.png"), ("alt", "代替")])),
            "<figure><img src=\"b.png\" alt=\"代替\"></figure>"
        );
    }

    #[test]
    fn param_reads_the_page_then_the_site() {
        let mut front = FrontMatter {
            title: "題".into(),
            ..Default::default()
        };
        front.params.insert("Author".into(), Value::from("<花子>"));
        front
            .params
            .insert("nested".into(), serde_json::json!({"a": {"b": 1}}));
        let mut site = BTreeMap::new();
        site.insert("author".into(), Value::from("site"));
        site.insert("tw".into(), Value::from("@x"));
        let ctx = Ctx {
            front: &front,
            site_params: &site,
        };
        let out = |key: &str| match render("param", &pos(&[key]), None, &ctx) {
            Ok(Produced::Output(o)) => Ok((o.html, o.text)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(out("author"), Ok(("&lt;花子&gt;".into(), "<花子>".into())));
        assert_eq!(out("tw").unwrap().1, "@x");
        assert_eq!(out("nested.a.b").unwrap().1, "1");
        assert_eq!(out("title").unwrap().1, "題");
        assert!(out("missing").unwrap_err().contains("no param \"missing\""));
    }
}
