//! Japanese morphological analysis with lindera and the IPADIC dictionary that
//! build.rs compiled into the binary. Turns text into the content words that
//! say what a post is about.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use anyhow::{Result, anyhow};
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera_dictionary::builder::DictionaryBuilder;
use lindera_dictionary::dictionary::{Dictionary, UserDictionary};
use unicode_normalization::UnicodeNormalization;

mod embedded {
    lindera_dictionary::embedded_dictionary!("/ipadic", EmbeddedIpadic);
}

/// Words the 2007 dictionary splits badly; always loaded.
pub const BUILTIN_USER_DICTIONARY: &str = include_str!("../../dictionaries/user.csv");
/// Words that carry no topic; always loaded.
pub const BUILTIN_STOPWORDS: &str = include_str!("../../dictionaries/stopwords.txt");
/// Bump when the way terms are chosen changes, so cached term counts are redone.
pub const ANALYSIS_VERSION: u32 = 1;

pub struct Tokenizer {
    segmenter: Segmenter,
    stopwords: HashSet<String>,
    fingerprint: String,
    /// Tells this tokenizer's entries in the per-thread word-class cache apart.
    id: u64,
}

/// What counting needs to know of a dictionary word: whether it is kept, whether
/// it joins compound nouns, and its base form when that differs from the surface.
#[derive(Clone)]
struct WordClass {
    keep: bool,
    joins: bool,
    base: Option<Box<str>>,
}

static NEXT_TOKENIZER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Word classes by (tokenizer, lexicon, word id): reading a word's details from
    /// the dictionary costs more than segmenting it, and a text repeats its words.
    static WORD_CLASSES: std::cell::RefCell<std::collections::HashMap<(u64, u8, u32), WordClass>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl Tokenizer {
    /// A tokenizer with the built-in user dictionary plus the site's own (CSV text
    /// and the name it is reported under in errors), if any.
    pub fn new(site_user_dictionary: Option<(&str, &str)>) -> Result<Tokenizer> {
        let dictionary =
            embedded::load().map_err(|e| anyhow!("cannot load the built-in dictionary: {e}"))?;
        let mut csv = String::from(BUILTIN_USER_DICTIONARY);
        if let Some((_, text)) = site_user_dictionary {
            if !csv.ends_with('\n') {
                csv.push('\n');
            }
            csv.push_str(text);
        }
        let user =
            build_user_dictionary(&dictionary, &csv).map_err(|e| match site_user_dictionary {
                Some((name, _)) => anyhow!(
                    "{name}: invalid user dictionary: {e} (each line is `surface,名詞,reading`)"
                ),
                None => anyhow!("built-in user dictionary: {e}"),
            })?;
        let segmenter = Segmenter::new(Mode::Normal, dictionary, Some(user));
        let stopwords = BUILTIN_STOPWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(normalize)
            .collect();
        let fingerprint = blake3::hash(
            format!("ipadic-2.7.0-20070801\0v{ANALYSIS_VERSION}\0{csv}\0{BUILTIN_STOPWORDS}")
                .as_bytes(),
        )
        .to_hex()[..16]
            .to_string();
        Ok(Tokenizer {
            segmenter,
            stopwords,
            fingerprint,
            id: NEXT_TOKENIZER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Identifies the dictionary, user dictionary, stopwords and term selection:
    /// cached term counts made under another fingerprint are redone.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Every token with its part of speech: for tests and `--explain`.
    pub fn segment(&self, text: &str) -> Result<Vec<(String, Vec<String>)>> {
        let tokens = self
            .segmenter
            .segment(Cow::Borrowed(text))
            .map_err(|e| anyhow!("tokenizer failed: {e}"))?;
        Ok(tokens
            .into_iter()
            .map(|mut t| {
                let surface = t.surface.to_string();
                let details = t.details().iter().map(|s| s.to_string()).collect();
                (surface, details)
            })
            .collect())
    }

    /// Counts the content words of `text`: nouns (without pronouns, numbers,
    /// suffixes and dependent nouns), plus each run of two or more nouns as one
    /// compound, normalised (NFKC, lower-case) and without stopwords.
    pub fn count_terms(&self, text: &str, counts: &mut BTreeMap<String, u32>) -> Result<()> {
        // NFKC first so full-width ASCII and half-width kana reach the dictionary as it expects.
        // Most text is NFKC already; checking is much cheaper than normalising.
        let text: Cow<str> = match unicode_normalization::is_nfkc_quick(text.chars()) {
            unicode_normalization::IsNormalized::Yes => Cow::Borrowed(text),
            _ => Cow::Owned(text.nfkc().collect()),
        };
        let mut tokens = self
            .segmenter
            .segment(Cow::Borrowed(text.as_ref()))
            .map_err(|e| anyhow!("tokenizer failed: {e}"))?;
        let mut run: Vec<String> = Vec::new();
        let mut run_end = 0usize;
        for t in tokens.iter_mut() {
            let adjacent = t.byte_start == run_end;
            run_end = t.byte_end;
            let (start, end) = (t.byte_start, t.byte_end);
            let lexicon = match t.word_id.lex_type() {
                lindera_dictionary::viterbi::LexType::System => 0u8,
                lindera_dictionary::viterbi::LexType::User => 1,
                lindera_dictionary::viterbi::LexType::Unknown => 2,
            };
            let key = (self.id, lexicon, t.word_id.id());
            let class = WORD_CLASSES.with(|cache| cache.borrow().get(&key).cloned());
            let class = match class {
                Some(c) => c,
                None => {
                    let c = word_class(t);
                    WORD_CLASSES.with(|cache| {
                        let mut cache = cache.borrow_mut();
                        // Bounded: a huge vocabulary just starts the cache over.
                        if cache.len() > 500_000 {
                            cache.clear();
                        }
                        cache.insert(key, c.clone());
                    });
                    c
                }
            };
            if !(class.joins && adjacent) {
                flush_compound(&mut run, counts, &self.stopwords);
            }
            if !(class.joins || class.keep) {
                continue;
            }
            let surface = &text[start..end];
            // The text is NFKC already; a dictionary base form may not be.
            let word = match class.base.as_deref().filter(|b| *b != surface) {
                Some(b) => normalize(b),
                None => surface.to_ascii_lowercase(),
            };
            if class.keep && self.is_content_word(&word) {
                *counts.entry(word.clone()).or_insert(0) += 1;
            }
            if class.joins {
                run.push(word);
            }
        }
        flush_compound(&mut run, counts, &self.stopwords);
        Ok(())
    }

    fn is_content_word(&self, word: &str) -> bool {
        is_meaningful(word) && !self.stopwords.contains(word)
    }
}

/// Reads the part of speech (and base form) of a token from the dictionary.
fn word_class(t: &mut lindera::token::Token) -> WordClass {
    let mut fields = t.details_iter();
    let pos = fields.next().unwrap_or("");
    let sub1 = fields.next().unwrap_or("*");
    let is_noun = pos == "名詞";
    let keep = is_noun
        && !matches!(
            sub1,
            "非自立" | "代名詞" | "数" | "接尾" | "副詞可能" | "特殊"
        );
    let joins = is_noun && !matches!(sub1, "非自立" | "代名詞" | "数" | "副詞可能");
    let base = if keep || joins {
        fields.nth(4).filter(|b| *b != "*").map(Box::from)
    } else {
        None
    };
    WordClass { keep, joins, base }
}

/// Adds the noun run as one compound term when it has two or more parts.
fn flush_compound(
    run: &mut Vec<String>,
    counts: &mut BTreeMap<String, u32>,
    stop: &HashSet<String>,
) {
    if run.len() >= 2 {
        let compound: String = run.concat();
        if is_meaningful(&compound) && !stop.contains(&compound) {
            *counts.entry(compound).or_insert(0) += 1;
        }
    }
    run.clear();
}

/// Single kana, punctuation and bare numbers say nothing about a topic.
fn is_meaningful(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if word
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace())
    {
        return false;
    }
    if chars.next().is_none() {
        // One character: keep kanji (猫, 車), drop kana, Latin letters and symbols.
        return is_kanji(first);
    }
    word.chars().any(|c| c.is_alphanumeric())
}

fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// NFKC, then ASCII lower-case: `ＧｉｔＨｕｂ` and `github` are one term.
pub fn normalize(s: &str) -> String {
    let mut out: String = s.nfkc().collect();
    out.make_ascii_lowercase();
    out
}

fn build_user_dictionary(dictionary: &Dictionary, csv: &str) -> Result<UserDictionary> {
    let builder = DictionaryBuilder::new((*dictionary.metadata).clone());
    builder
        .build_user_dict_from_reader(csv.as_bytes())
        .map_err(|e| anyhow!("{e}"))
}
