//! A shortcode call's arguments: all positional or all named, as in Hugo, with
//! unquoted numbers and booleans typed.

use std::fmt;

/// Arguments are all positional or all named, as in Hugo.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    Positional(Vec<Arg>),
    Named(Vec<(String, Arg)>),
}

/// An argument's value. Unquoted numbers and booleans are typed, as in Hugo.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Str(s) => f.write_str(s),
            Arg::Int(i) => write!(f, "{i}"),
            Arg::Float(x) => write!(f, "{x}"),
            Arg::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Args {
    /// The `i`th positional argument.
    pub fn at(&self, i: usize) -> Option<&Arg> {
        match self {
            Args::Positional(v) => v.get(i),
            Args::Named(_) => None,
        }
    }

    /// The named argument `key` (names compare case-insensitively, as in Hugo).
    pub fn named(&self, key: &str) -> Option<&Arg> {
        match self {
            Args::Named(v) => v
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, a)| a),
            Args::Positional(_) => None,
        }
    }

    /// `key` when named, else the `i`th positional argument, as text.
    pub fn get(&self, key: &str, i: usize) -> Option<String> {
        self.named(key)
            .or_else(|| self.at(i))
            .map(ToString::to_string)
    }

    /// The named argument `key` as text.
    pub fn named_text(&self, key: &str) -> Option<String> {
        self.named(key).map(ToString::to_string)
    }

    /// The `i`th positional argument as text.
    pub fn at_text(&self, i: usize) -> Option<String> {
        self.at(i).map(ToString::to_string)
    }

    pub fn is_named(&self) -> bool {
        matches!(self, Args::Named(_))
    }

    pub fn len(&self) -> usize {
        match self {
            Args::Positional(v) => v.len(),
            Args::Named(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn collect_args(positional: Vec<Arg>, named: Vec<(String, Arg)>) -> Args {
    if named.is_empty() {
        Args::Positional(positional)
    } else {
        Args::Named(named)
    }
}

/// An unquoted word as Hugo types it: `true`/`false`, an integer, a decimal.
pub fn typed(word: &str) -> Arg {
    if word == "true" || word == "false" {
        return Arg::Bool(word == "true");
    }
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    let numeric = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && !digits.starts_with('.')
        && !digits.ends_with('.');
    if numeric {
        if let Ok(i) = word.parse::<i64>() {
            return Arg::Int(i);
        }
        if let Ok(x) = word.parse::<f64>() {
            return Arg::Float(x);
        }
    }
    Arg::Str(word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_words_are_typed_as_hugo_types_them() {
        assert_eq!(typed("true"), Arg::Bool(true));
        assert_eq!(typed("-5"), Arg::Int(-5));
        assert_eq!(typed("1.5"), Arg::Float(1.5));
        for word in ["1e3", "0x10", "1.", ".5", "1.2.3", "-", "abc"] {
            assert_eq!(typed(word), Arg::Str(word.into()), "{word}");
        }
    }
}

/// Arguments as tests write them.
#[cfg(test)]
pub mod build {
    use super::{Arg, Args};

    pub fn pos(values: &[&str]) -> Args {
        Args::Positional(values.iter().map(|v| Arg::Str(v.to_string())).collect())
    }

    pub fn named(pairs: &[(&str, &str)]) -> Args {
        Args::Named(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Arg::Str(v.to_string())))
                .collect(),
        )
    }
}
