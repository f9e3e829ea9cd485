//! Japanese morphological analysis with lindera and the IPADIC dictionary that
//! build.rs compiled into the binary. Turns text into the content words that
//! say what a post is about.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

type HashSet<T> = rustc_hash::FxHashSet<T>;

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
pub const ANALYSIS_VERSION: u32 = 2;

pub struct Tokenizer {
    segmenter: Segmenter,
    stopwords: HashSet<String>,
    fingerprint: String,
    /// Tells this tokenizer's entries in the per-thread word-class cache apart.
    id: u64,
}

/// What counting needs to know of a dictionary word: whether it is a term on its
/// own, whether it joins compound nouns, and its term (normalised base form).
#[derive(Clone)]
struct WordClass {
    keep: bool,
    joins: bool,
    /// The word's term, for dictionary words: the same at every occurrence, so
    /// normalised once. Unknown words (their surface varies) have none.
    term: Option<Rc<str>>,
    /// `keep`, and the term is no stopword: counted at every occurrence.
    counted: bool,
}

static NEXT_TOKENIZER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// The Viterbi lattice, reused from one text to the next (with the id of the
    /// tokenizer that filled it): it grows to the longest sentence once.
    static LATTICE: std::cell::RefCell<(u64, lindera_dictionary::viterbi::Lattice)> =
        std::cell::RefCell::new((u64::MAX, Default::default()));
    /// Word classes by (tokenizer, lexicon, word id): reading a word's details from
    /// the dictionary costs more than segmenting it, and a text repeats its words.
    static WORD_CLASSES: std::cell::RefCell<rustc_hash::FxHashMap<(u64, u8, u32), WordClass>> =
        Default::default();
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

    /// Counts the content words of `text`, normalised (NFKC, lower-case) and
    /// without stopwords: nouns (without pronouns, numbers, suffixes and dependent
    /// nouns), independent verbs and adjectives by their base form, and each run of
    /// two or more nouns as a compound (see [`flush_compound`]).
    pub fn count_terms(&self, text: &str, counts: &mut BTreeMap<String, u32>) -> Result<()> {
        // NFKC first so full-width ASCII and half-width kana reach the dictionary as it expects.
        // Most text is NFKC already; checking is much cheaper than normalising.
        let text: Cow<str> = match unicode_normalization::is_nfkc_quick(text.chars()) {
            unicode_normalization::IsNormalized::Yes => Cow::Borrowed(text),
            _ => Cow::Owned(text.nfkc().collect()),
        };
        let mut lattice = LATTICE.with(|l| {
            let (owner, lattice) = &mut *l.borrow_mut();
            // A lattice is tied to the dictionaries it was filled from.
            if *owner != self.id {
                *owner = self.id;
                *lattice = Default::default();
            }
            std::mem::take(lattice)
        });
        let tokens = self
            .segmenter
            .segment_with_lattice(Cow::Borrowed(text.as_ref()), &mut lattice);
        LATTICE.with(|l| l.borrow_mut().1 = lattice);
        let mut tokens = tokens.map_err(|e| anyhow!("tokenizer failed: {e}"))?;
        // Counted here first: cheap to bump, one string per distinct term at the end.
        let mut local: rustc_hash::FxHashMap<Rc<str>, u32> = Default::default();
        let mut run: Vec<Rc<str>> = Vec::new();
        let mut run_end = 0usize;
        WORD_CLASSES.with(|cache| {
            let mut cache = cache.borrow_mut();
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
                let class = match cache.get(&key) {
                    Some(c) => c.clone(),
                    None => {
                        let c = self.word_class(t, lexicon != 2);
                        // Bounded: a huge vocabulary just starts the cache over.
                        if cache.len() > 500_000 {
                            cache.clear();
                        }
                        cache.insert(key, c.clone());
                        c
                    }
                };
                if !(class.joins && adjacent) {
                    flush_compound(&mut run, &mut local, &self.stopwords);
                }
                if !(class.joins || class.keep) {
                    continue;
                }
                let (term, counted) = match class.term {
                    Some(term) => (term, class.counted),
                    None => {
                        // The text is NFKC already.
                        let term: Rc<str> = Rc::from(text[start..end].to_ascii_lowercase());
                        let counted = class.keep && self.is_content_word(&term);
                        (term, counted)
                    }
                };
                if counted {
                    *local.entry(term.clone()).or_insert(0) += 1;
                }
                if class.joins {
                    run.push(term);
                }
            }
        });
        flush_compound(&mut run, &mut local, &self.stopwords);
        for (term, c) in local {
            match counts.get_mut(term.as_ref()) {
                Some(n) => *n += c,
                None => {
                    counts.insert(term.to_string(), c);
                }
            }
        }
        Ok(())
    }

    fn is_content_word(&self, word: &str) -> bool {
        is_meaningful(word) && !self.stopwords.contains(word)
    }
}

impl Tokenizer {
    /// Reads the part of speech (and base form) of a token from the dictionary.
    /// `known`: a dictionary word, whose surface is the same at every occurrence.
    fn word_class(&self, t: &mut lindera::token::Token, known: bool) -> WordClass {
        let surface = t.surface.to_string();
        let mut fields = t.details_iter();
        let pos = fields.next().unwrap_or("");
        let sub1 = fields.next().unwrap_or("*");
        let is_noun = pos == "名詞";
        // Verbs and adjectives say what happens in a post (走る, 撮る, 美味しい); the
        // grammatical ones (する, なる, ある) are stopwords.
        let is_predicate = matches!(pos, "動詞" | "形容詞") && sub1 == "自立";
        let keep = is_predicate
            || is_noun
                && !matches!(
                    sub1,
                    "非自立" | "代名詞" | "数" | "接尾" | "副詞可能" | "特殊"
                );
        let joins = is_noun && !matches!(sub1, "非自立" | "代名詞" | "数" | "副詞可能");
        let base = if keep || joins {
            fields.nth(4).filter(|b| *b != "*" && *b != surface)
        } else {
            None
        };
        let term: Option<Rc<str>> = match base {
            // A dictionary base form may not be NFKC.
            Some(b) => Some(Rc::from(normalize(b))),
            None if known => Some(Rc::from(surface.to_ascii_lowercase())),
            None => None,
        };
        let counted = keep && term.as_deref().is_some_and(|w| self.is_content_word(w));
        WordClass {
            keep,
            joins,
            term,
            counted,
        }
    }
}

/// Adds a run of two or more nouns as one compound term, counted twice, and for
/// runs of three or more also each adjacent pair once.
///
/// Why: a compound (東京都知事選挙) names a topic far more precisely than its
/// parts, which are counted on their own as well; counting it twice lets a shared
/// compound outweigh a shared part. The pairs (東京都知事, 都知事選挙) let two posts
/// that share part of a long compound still meet on it. Measured with
/// `examples/related_eval.rs` on three disjoint livedoor samples of 900–2,600
/// posts, each change raised precision@5 on all three.
fn flush_compound(
    run: &mut Vec<Rc<str>>,
    counts: &mut rustc_hash::FxHashMap<Rc<str>, u32>,
    stop: &HashSet<String>,
) {
    let mut add = |term: String, n: u32| {
        if is_meaningful(&term) && !stop.contains(&term) {
            *counts.entry(Rc::from(term)).or_insert(0) += n;
        }
    };
    if run.len() >= 2 {
        add(run.concat(), COMPOUND_COUNT);
    }
    if run.len() >= 3 {
        for pair in run.windows(2) {
            add(pair.concat(), 1);
        }
    }
    run.clear();
}

/// How many times each occurrence of a compound noun is counted.
const COMPOUND_COUNT: u32 = 2;

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
