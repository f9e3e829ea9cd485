//! The built-ins that embed another site's content: YouTube and Vimeo as lazy,
//! privacy-friendly frames; posts on X, gists and Instagram as plain links. No
//! third-party script, every id checked before it goes into a URL.

use super::args::Args;
use super::expanded::Output;
use crate::util::escape_html;

/// An id that goes into a URL: letters, digits, `_` and `-` only.
fn checked_id(id: Option<String>, what: &str, example: &str) -> Result<String, String> {
    let id = id.ok_or_else(|| format!("needs the {what}: {example}"))?;
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(id)
    } else {
        Err(format!(
            "the {what} {id:?} may only hold letters, digits, _ and -"
        ))
    }
}

fn digits(value: Option<String>, what: &str) -> Result<Option<String>, String> {
    match value {
        Some(v) if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) => {
            Err(format!("{what} must be a number of seconds, not {v:?}"))
        }
        v => Ok(v),
    }
}

/// Inline styles, so the frame is responsive whatever the theme's CSS says.
const FRAME_STYLE: &str = "aspect-ratio:16/9;width:100%;height:auto;border:0";

/// A responsive, lazy iframe in a `<div class="embed …">`.
fn frame(kind: &str, class: Option<String>, src: &str, title: &str, allow: &str) -> Output {
    let class = class
        .map(|c| format!(" {}", escape_html(&c)))
        .unwrap_or_default();
    let html = format!(
        "<div class=\"embed embed-{kind}{class}\"><iframe src=\"{}\" title=\"{}\" width=\"560\" height=\"315\" style=\"{FRAME_STYLE}\" loading=\"lazy\" allow=\"{allow}\" referrerpolicy=\"strict-origin-when-cross-origin\" allowfullscreen></iframe></div>",
        escape_html(src),
        escape_html(title),
    );
    Output {
        html,
        text: String::new(),
    }
}

/// `{{< youtube ID >}}`, `{{< youtube id="ID" title="…" start="30" >}}`.
pub fn youtube(args: &Args) -> Result<Output, String> {
    let id = checked_id(args.get("id", 0), "video id", "{{< youtube w7Ft2ymGmfc >}}")?;
    let mut query = Vec::new();
    for key in ["start", "end"] {
        if let Some(s) = digits(args.named_text(key), key)? {
            query.push(format!("{key}={s}"));
        }
    }
    if args.named_text("autoplay").as_deref() == Some("true") {
        query.push("autoplay=1".into());
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    let mut output = frame(
        "youtube",
        args.get("class", 1),
        &format!("https://www.youtube-nocookie.com/embed/{id}{query}"),
        &args
            .named_text("title")
            .unwrap_or_else(|| "YouTube video".into()),
        "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share",
    );
    match args.named_text("loading").as_deref() {
        None | Some("lazy") => {}
        Some("eager") => output.html = output.html.replace("loading=\"lazy\"", "loading=\"eager\""),
        Some(other) => return Err(format!("loading must be lazy or eager, not {other:?}")),
    }
    Ok(output)
}

/// `{{< vimeo 146022717 >}}`; positional class and title as in Hugo.
pub fn vimeo(args: &Args) -> Result<Output, String> {
    let id = checked_id(args.get("id", 0), "video id", "{{< vimeo 146022717 >}}")?;
    Ok(frame(
        "vimeo",
        args.get("class", 1),
        &format!("https://player.vimeo.com/video/{id}?dnt=1"),
        &args.get("title", 2).unwrap_or_else(|| "Vimeo video".into()),
        "autoplay; fullscreen; picture-in-picture",
    ))
}

/// A quote holding a plain link.
fn link_quote(kind: &str, url: &str, label: &str) -> Output {
    let html = format!(
        "<blockquote class=\"embed embed-{kind}\"><p><a href=\"{}\">{}</a></p></blockquote>",
        escape_html(url),
        escape_html(label)
    );
    Output {
        html,
        text: String::new(),
    }
}

/// `{{< x user="…" id="…" >}}` (also `twitter`, `tweet`; positional `user id` or `id`).
pub fn post_on_x(args: &Args) -> Result<Output, String> {
    let (user, id) = if args.is_named() {
        (args.named_text("user"), args.named_text("id"))
    } else if args.len() == 1 {
        (None, args.at_text(0))
    } else {
        (args.at_text(0), args.at_text(1))
    };
    let id = checked_id(
        id,
        "post id",
        "{{< x user=\"name\" id=\"1453110110599868418\" >}}",
    )?;
    if !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("the post id {id:?} must be a number"));
    }
    let url = match user {
        Some(user) => {
            let user = checked_id(Some(user), "user name", "")?;
            format!("https://x.com/{user}/status/{id}")
        }
        None => format!("https://x.com/i/status/{id}"),
    };
    Ok(link_quote("x", &url, &url))
}

/// `{{< gist user id [file] >}}`: a link to the gist.
pub fn gist(args: &Args) -> Result<Output, String> {
    let example = "{{< gist spf13 7896402 >}}";
    let user = checked_id(args.get("user", 0), "user name", example)?;
    let id = checked_id(args.get("id", 1), "gist id", example)?;
    let url = format!("https://gist.github.com/{user}/{id}");
    let (href, label) = match args.get("file", 2) {
        // GitHub's anchor of one file: `#file-` and the name with dots as dashes.
        Some(file) => (
            format!("{url}#file-{}", file.to_lowercase().replace('.', "-")),
            format!("{url} ({file})"),
        ),
        None => (url.clone(), url),
    };
    let html = format!(
        "<p class=\"embed embed-gist\"><a href=\"{}\">{}</a></p>",
        escape_html(&href),
        escape_html(&label)
    );
    Ok(Output {
        html,
        text: String::new(),
    })
}

/// `{{< instagram ID >}}`: a link to the post.
pub fn instagram(args: &Args) -> Result<Output, String> {
    let id = checked_id(
        args.get("id", 0),
        "post id",
        "{{< instagram BWNjjyYFxVx >}}",
    )?;
    let url = format!("https://www.instagram.com/p/{id}/");
    Ok(link_quote("instagram", &url, &url))
}

#[cfg(test)]
mod tests {
    use super::super::args::build::{named, pos};
    use super::*;

    fn html(name: &str, args: &Args) -> String {
        run(name, args).unwrap().html
    }

    fn warning(name: &str, args: &Args) -> String {
        run(name, args).unwrap_err()
    }

    fn run(name: &str, args: &Args) -> Result<Output, String> {
        match name {
            "youtube" => youtube(args),
            "vimeo" => vimeo(args),
            "gist" => gist(args),
            "instagram" => instagram(args),
            _ => post_on_x(args),
        }
    }

    #[test]
    fn youtube_is_a_lazy_no_cookie_frame() {
        let h = html("youtube", &pos(&["w7Ft2ymGmfc"]));
        assert!(
            h.contains("src=\"https://www.youtube-nocookie.com/embed/w7Ft2ymGmfc\""),
            "{h}"
        );
        assert!(
            h.contains("loading=\"lazy\"") && h.contains("allowfullscreen"),
            "{h}"
        );
        assert!(h.contains("title=\"YouTube video\""), "{h}");
        let h = html(
            "youtube",
            &named(&[
                ("id", "w7Ft2ymGmfc"),
                ("title", "\"猫\" <動画>"),
                ("start", "30"),
            ]),
        );
        assert!(h.contains("embed/w7Ft2ymGmfc?start=30\""), "{h}");
        assert!(h.contains("title=\"&quot;猫&quot; &lt;動画&gt;\""), "{h}");
        assert!(warning("youtube", &pos(&["a\"><script>"])).contains("may only hold"));
        assert!(warning("youtube", &pos(&[])).contains("needs the video id"));
        assert!(warning("youtube", &named(&[("id", "x"), ("start", "1m")])).contains("start"));
    }

    #[test]
    fn vimeo_x_gist_and_instagram_are_plain_links_or_frames() {
        assert!(
            html("vimeo", &pos(&["146022717"]))
                .contains("src=\"https://player.vimeo.com/video/146022717?dnt=1\"")
        );
        let x = "<blockquote class=\"embed embed-x\"><p><a href=\"https://x.com/SanDiegoZoo/status/1453110110599868418\">";
        assert!(
            html(
                "x",
                &named(&[("user", "SanDiegoZoo"), ("id", "1453110110599868418")])
            )
            .starts_with(x)
        );
        assert!(html("twitter", &pos(&["SanDiegoZoo", "1453110110599868418"])).starts_with(x));
        assert!(
            html("tweet", &pos(&["1453110110599868418"]))
                .contains("href=\"https://x.com/i/status/1453110110599868418\"")
        );
        assert!(warning("tweet", &pos(&["abc"])).contains("must be a number"));
        assert!(
            html("gist", &pos(&["spf13", "7896402"]))
                .contains("href=\"https://gist.github.com/spf13/7896402\"")
        );
        assert!(
            html("gist", &pos(&["spf13", "7896402", "img.html"]))
                .contains("href=\"https://gist.github.com/spf13/7896402#file-img-html\"")
        );
        assert!(
            html("instagram", &pos(&["BWNjjyYFxVx"]))
                .contains("href=\"https://www.instagram.com/p/BWNjjyYFxVx/\"")
        );
        for h in [html("gist", &pos(&["a", "b"])), html("x", &pos(&["1"]))] {
            assert!(!h.contains("<script"), "{h}");
        }
    }
}
