//! Finding shortcodes in a post body, as Hugo writes them: `{{< name args >}}`
//! (output is HTML), `{{% name args %}}` (output is Markdown), paired with
//! `{{< /name >}}` or self-closing `{{< name />}}`, and escaped as `{{</* … */>}}`
//! to show the syntax itself. One pass over the text, then one pass pairing the
//! calls with their closing tags: linear time whatever the input.

use super::args::{Arg, Args, collect_args, typed};

/// One piece of the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Ordinary text, `start..end` of the body.
    Text {
        start: usize,
        end: usize,
    },
    /// `{{</* x */>}}`: shown as `{{< x >}}`.
    Escaped {
        start: usize,
        text: String,
    },
    Open(Call),
    /// `{{< /name >}}`.
    Close {
        name: String,
        start: usize,
    },
}

/// A shortcode call: `{{< name args >}}` or `{{% name args %}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Args,
    /// `{{% %}}`: the output is Markdown, part of the document.
    pub markdown: bool,
    /// `{{< name />}}`: never paired with a closing tag.
    pub self_closing: bool,
    /// Offset of its `{{` in the body.
    pub start: usize,
}

/// Where the body stops being a well-formed shortcode, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// The body's tokens; `partner[i]` is the index of the closing tag of the call at `i`.
#[derive(Debug, Default)]
pub struct Parsed {
    pub tokens: Vec<Token>,
    pub partner: Vec<Option<usize>>,
}

pub fn parse(body: &str) -> Result<Parsed, SyntaxError> {
    let tokens = lex(body)?;
    let partner = pair(&tokens)?;
    Ok(Parsed { tokens, partner })
}

/// Whether `body` holds anything that starts a shortcode.
pub fn mentions_shortcodes(body: &str) -> bool {
    body.contains("{{<") || body.contains("{{%")
}

fn lex(body: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut pos = 0;
    while let Some(found) = body[pos..].find("{{") {
        let at = pos + found;
        let markdown = match body.as_bytes().get(at + 2) {
            Some(b'<') => false,
            Some(b'%') => true,
            _ => {
                pos = at + 1;
                continue;
            }
        };
        if text_start < at {
            tokens.push(Token::Text {
                start: text_start,
                end: at,
            });
        }
        let mut lexer = Lexer {
            body,
            start: at,
            pos: at + 3,
            markdown,
        };
        tokens.push(lexer.shortcode()?);
        pos = lexer.pos;
        text_start = pos;
    }
    if text_start < body.len() {
        tokens.push(Token::Text {
            start: text_start,
            end: body.len(),
        });
    }
    Ok(tokens)
}

/// Pairs each closing tag with the innermost open call of its name; calls left
/// open are standalone. Each search pops what it passes, so the whole is linear.
fn pair(tokens: &[Token]) -> Result<Vec<Option<usize>>, SyntaxError> {
    let mut partner = vec![None; tokens.len()];
    let mut open: Vec<(usize, &str)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Open(call) if !call.self_closing => open.push((i, &call.name)),
            Token::Close { name, start } => match open.iter().rposition(|(_, n)| n == name) {
                Some(p) => {
                    partner[open[p].0] = Some(i);
                    open.truncate(p);
                }
                None => {
                    return Err(SyntaxError {
                        offset: *start,
                        message: format!(
                            "closing tag {{{{< /{name} >}}}} without an opening {{{{< {name} >}}}} before it"
                        ),
                    });
                }
            },
            _ => {}
        }
    }
    Ok(partner)
}

struct Lexer<'a> {
    body: &'a str,
    /// Offset of the `{{`.
    start: usize,
    pos: usize,
    markdown: bool,
}

impl<'a> Lexer<'a> {
    fn open(&self) -> &'static str {
        if self.markdown { "{{%" } else { "{{<" }
    }

    fn close(&self) -> &'static str {
        if self.markdown { "%}}" } else { ">}}" }
    }

    fn rest(&self) -> &'a str {
        &self.body[self.pos..]
    }

    fn error(&self, message: String) -> SyntaxError {
        SyntaxError {
            offset: self.start,
            message,
        }
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn shortcode(&mut self) -> Result<Token, SyntaxError> {
        if self.rest().starts_with("/*") {
            return self.escaped();
        }
        self.skip_whitespace();
        if self.rest().starts_with('/') {
            self.pos += 1;
            self.skip_whitespace();
            let name = self.name()?;
            self.skip_whitespace();
            if !self.rest().starts_with(self.close()) {
                return Err(self.error(format!(
                    "closing tag {{{{< /{name} >}}}} is not ended by `{}`",
                    self.close()
                )));
            }
            self.pos += 3;
            return Ok(Token::Close {
                name,
                start: self.start,
            });
        }
        let name = self.name()?;
        let (args, self_closing) = self.args(&name)?;
        Ok(Token::Open(Call {
            name,
            args,
            markdown: self.markdown,
            self_closing,
            start: self.start,
        }))
    }

    /// `{{</* text */>}}` → `{{< text >}}`, as Hugo prints it.
    fn escaped(&mut self) -> Result<Token, SyntaxError> {
        let from = self.pos + 2;
        let end_marker = format!("*/{}", self.close());
        let Some(len) = self.body[from..].find(&end_marker) else {
            return Err(self.error(format!(
                "`{}/*` is never closed by `{end_marker}`",
                self.open()
            )));
        };
        let text = format!(
            "{}{}{}",
            self.open(),
            &self.body[from..from + len],
            self.close()
        );
        self.pos = from + len + end_marker.len();
        Ok(Token::Escaped {
            start: self.start,
            text,
        })
    }

    /// A name: letters, digits, `_`, `-`, and `/` between them (a template in a
    /// subfolder). A `/` right before `>}}` closes the call instead.
    fn name(&mut self) -> Result<String, SyntaxError> {
        let rest = self.rest();
        let mut len = 0;
        for (i, c) in rest.char_indices() {
            let name_char = c.is_alphanumeric() || c == '_' || c == '-';
            let inner_slash = c == '/'
                && i > 0
                && rest[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_alphanumeric() || n == '_' || n == '-');
            if !(name_char || inner_slash) {
                break;
            }
            len = i + c.len_utf8();
        }
        if len == 0 {
            let (open, close) = (self.open(), self.close());
            return Err(self.error(format!(
                "`{open}` is not followed by a shortcode name (to show `{open}` itself, write `{open}/* … */{close}`)"
            )));
        }
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    /// Arguments up to the closing `>}}` (or `/>}}`); whether it self-closes.
    fn args(&mut self, name: &str) -> Result<(Args, bool), SyntaxError> {
        let mut positional = Vec::new();
        let mut named = Vec::new();
        let self_close = format!("/{}", self.close());
        loop {
            self.skip_whitespace();
            if self.rest().starts_with(self.close()) {
                self.pos += 3;
                break;
            }
            if self.rest().starts_with(&self_close) {
                self.pos += self_close.len();
                return Ok((collect_args(positional, named), true));
            }
            if self.rest().is_empty() {
                return Err(self.error(format!(
                    "shortcode {name:?} is never closed by `{}`",
                    self.close()
                )));
            }
            let (value, bare) = self.value(name)?;
            let before_equals = self.pos;
            self.skip_whitespace();
            if self.rest().starts_with('=') {
                let Some(key) = bare else {
                    return Err(self.error(format!(
                        "shortcode {name:?}: an argument name cannot be quoted"
                    )));
                };
                self.pos += 1;
                self.skip_whitespace();
                let (value, _) = self.value(name)?;
                named.push((key, value));
            } else {
                self.pos = before_equals;
                positional.push(value);
            }
            if !named.is_empty() && !positional.is_empty() {
                return Err(self.error(format!(
                    "shortcode {name:?} mixes named (key=\"value\") and positional arguments; use one kind"
                )));
            }
        }
        Ok((collect_args(positional, named), false))
    }

    /// One value: `"quoted"` (with `\"`), `` `raw` ``, or a bare word (typed when a
    /// number or boolean). A bare word is also returned as text, for use as a name.
    fn value(&mut self, name: &str) -> Result<(Arg, Option<String>), SyntaxError> {
        let rest = self.rest();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut s = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' if quoted[i + 1..].starts_with('"') => {
                        s.push('"');
                        chars.next();
                    }
                    '"' => {
                        self.pos += 1 + i + 1;
                        return Ok((Arg::Str(s), None));
                    }
                    c => s.push(c),
                }
            }
            return Err(self.error(format!(
                "shortcode {name:?}: a quoted argument is never closed by `\"`"
            )));
        }
        if let Some(raw) = rest.strip_prefix('`') {
            let Some(end) = raw.find('`') else {
                return Err(self.error(format!(
                    "shortcode {name:?}: a `raw` argument is never closed by a backtick"
                )));
            };
            self.pos += end + 2;
            return Ok((Arg::Str(raw[..end].to_string()), None));
        }
        let close = self.close();
        let mut len = 0;
        for (i, c) in rest.char_indices() {
            let tail = &rest[i..];
            if c.is_whitespace()
                || matches!(c, '=' | '"' | '`')
                || tail.starts_with(close)
                || (tail.starts_with('/') && tail[1..].starts_with(close))
            {
                break;
            }
            len = i + c.len_utf8();
        }
        let word = &rest[..len];
        if word.is_empty() {
            return Err(self.error(format!(
                "shortcode {name:?}: unexpected `=` (write key=\"value\")"
            )));
        }
        if word.contains("{{") || word.contains("}}") {
            return Err(self.error(format!(
                "shortcode {name:?} is not closed by `{close}` before `{}`",
                if word.contains("{{") { "{{" } else { "}}" }
            )));
        }
        self.pos += len;
        Ok((typed(word), Some(word.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(body: &str) -> Vec<Call> {
        parse(body)
            .unwrap()
            .tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Open(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn one(body: &str) -> Call {
        let mut c = calls(body);
        assert_eq!(c.len(), 1, "{body}");
        c.remove(0)
    }

    fn s(x: &str) -> Arg {
        Arg::Str(x.into())
    }

    fn error(body: &str) -> String {
        parse(body).unwrap_err().message
    }

    #[test]
    fn positional_arguments_quoted_raw_and_typed() {
        let c = one(
            "a {{< echo w7Ft2ymGmfc \"a b\" `raw \"q\"` 5 -3 1.5 true 1e3 \"esc \\\"q\\\" \\n\" >}} b",
        );
        assert_eq!(c.name, "echo");
        assert!(!c.markdown && !c.self_closing);
        assert_eq!(c.start, 2);
        assert_eq!(
            c.args,
            Args::Positional(vec![
                s("w7Ft2ymGmfc"),
                s("a b"),
                s("raw \"q\""),
                Arg::Int(5),
                Arg::Int(-3),
                Arg::Float(1.5),
                Arg::Bool(true),
                s("1e3"),
                s("esc \"q\" \\n"),
            ])
        );
    }

    #[test]
    fn named_arguments_on_several_lines_and_around_equals() {
        let c = one("{{< figure\n  src=\"a.jpg\"\n  title = `猫` width=300 >}}");
        assert_eq!(
            c.args,
            Args::Named(vec![
                ("src".into(), s("a.jpg")),
                ("title".into(), s("猫")),
                ("width".into(), Arg::Int(300)),
            ])
        );
        assert_eq!(c.args.get("SRC", 0).as_deref(), Some("a.jpg"));
        assert_eq!(one("{{<tight>}}").name, "tight");
        assert_eq!(one("{{< dir/name-x_1 >}}").name, "dir/name-x_1");
    }

    #[test]
    fn paired_self_closing_and_nested() {
        let p = parse("{{< a >}}x {{< b />}} {{< a >}}y{{< /a >}} z{{< /a >}}{{% c %}}").unwrap();
        let kinds: Vec<String> = p
            .tokens
            .iter()
            .map(|t| match t {
                Token::Text { .. } => "t".into(),
                Token::Escaped { .. } => "e".into(),
                Token::Open(c) => format!("<{}", c.name),
                Token::Close { name, .. } => format!(">{name}"),
            })
            .collect();
        assert_eq!(
            kinds,
            ["<a", "t", "<b", "t", "<a", "t", ">a", "t", ">a", "<c"]
        );
        assert_eq!(p.partner[0], Some(8));
        assert_eq!(p.partner[4], Some(6));
        assert_eq!(p.partner[2], None);
        assert_eq!(p.partner[9], None);
        assert!(matches!(&p.tokens[2], Token::Open(c) if c.self_closing));
        assert!(matches!(&p.tokens[9], Token::Open(c) if c.markdown));
        assert!(one("{{< x a />}}").self_closing);
        assert!(one("{{< x/>}}").self_closing);
    }

    #[test]
    fn a_call_left_open_is_standalone() {
        let p = parse("{{< a >}} {{< b >}}in{{< /b >}} {{< a >}}").unwrap();
        assert_eq!(p.partner, [None, None, Some(4), None, None, None, None]);
    }

    #[test]
    fn escaped_calls_print_their_syntax() {
        let p = parse("x {{</*  echo   x  */>}} {{%/* md y */%}} {{</* /echo */>}}").unwrap();
        let shown: Vec<&str> = p
            .tokens
            .iter()
            .filter_map(|t| match t {
                Token::Escaped { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            shown,
            ["{{<  echo   x  >}}", "{{% md y %}}", "{{< /echo >}}"]
        );
        assert!(!mentions_shortcodes("{{ .Title }} {{ <x> }}"));
        assert!(parse("{{ .Title }} {{{< a >}}").unwrap().tokens.len() == 2);
    }

    #[test]
    fn malformed_calls_are_errors_naming_the_problem() {
        assert!(error("{{< echo x").contains("never closed by `>}}`"));
        assert!(error("{{< echo \"x >}}").contains("quoted argument is never closed"));
        assert!(error("{{< echo `x >}}").contains("raw"));
        assert!(error("{{< echo a b=c >}}").contains("mixes named"));
        assert!(error("{{< echo \"a\"=b >}}").contains("cannot be quoted"));
        assert!(error("{{< /echo >}}").contains("without an opening"));
        assert!(error("{{< >}}").contains("not followed by a shortcode name"));
        assert!(error("{{<").contains("not followed by a shortcode name"));
        assert!(error("{{</* x */ >}}").contains("never closed by `*/>}}`"));
        assert!(error("{{< x %}} text {{< y >}}").contains("before `}}`"));
        assert_eq!(parse("ab {{< x =y >}}").unwrap_err().offset, 3);
    }

    #[test]
    fn hostile_input_is_linear() {
        // Many unclosed opens, then one close that pops them all.
        let mut body = "{{< b >}}".to_string();
        body.push_str(&"{{< a >}}".repeat(100_000));
        body.push_str("{{< /b >}}");
        let p = parse(&body).unwrap();
        assert_eq!(p.partner[0], Some(100_001));
        // A huge argument list.
        let args = " x".repeat(200_000);
        let c = one(&format!("{{{{< many{args} >}}}}"));
        assert_eq!(c.args.len(), 200_000);
        // Braces everywhere that are no shortcode.
        assert_eq!(
            parse(&"{{{{ }} {{".repeat(100_000)).unwrap().tokens.len(),
            1
        );
    }
}
