//! Japanese morphological analysis with lindera and the IPADIC dictionary that
//! build.rs compiled into the binary. Turns text into the content words that
//! say what a post is about.

use std::borrow::Cow;
use std::collections::BTreeMap;

type HashSet<T> = rustc_hash::FxHashSet<T>;

use anyhow::{Result, anyhow};
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera_dictionary::builder::DictionaryBuilder;
use lindera_dictionary::dictionary::{Dictionary, UserDictionary};
use lindera_dictionary::viterbi::{Lattice, LatticeOptions, LexType, WordId};
use unicode_normalization::UnicodeNormalization;

mod embedded {
    lindera_dictionary::embedded_dictionary!("/ipadic", EmbeddedIpadic);
}

/// Words the 2007 dictionary splits badly; always loaded.
pub const BUILTIN_USER_DICTIONARY: &str = include_str!("../../dictionaries/user.csv");
/// Words that carry no topic; always loaded.
pub const BUILTIN_STOPWORDS: &str = include_str!("../../dictionaries/stopwords.txt");
/// Bump when the way terms are chosen changes, so cached term counts are redone.
pub const ANALYSIS_VERSION: u32 = 4;

pub struct Tokenizer {
    segmenter: Segmenter,
    stopwords: HashSet<String>,
    fingerprint: String,
    /// Tells this tokenizer's entries in the per-thread word-class cache apart.
    id: u64,
}

/// What counting needs to know of a dictionary word.
#[derive(Clone, Copy)]
struct WordClass {
    /// A term on its own (a content word).
    keep: bool,
    /// Joins compound nouns.
    joins: bool,
    /// `keep`, and the term is no stopword: counted at every occurrence.
    counted: bool,
    /// The word's term (normalised base form) in [`Counter::terms`], for
    /// dictionary words: the same at every occurrence, so normalised once.
    /// Unknown words (their surface varies) have [`NO_TERM`].
    term: u32,
}

const NO_TERM: u32 = u32::MAX;

static NEXT_TOKENIZER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Each thread's counting state, for the tokenizer that used it last.
    static COUNTER: std::cell::RefCell<Counter> = std::cell::RefCell::new(Counter::new(u64::MAX));
}

/// Per-thread state of [`Tokenizer::count_terms`], kept from one text to the next:
/// the Viterbi lattice (it grows to the longest sentence once), the class of every
/// dictionary word met so far (reading a word's details from the dictionary costs
/// more than segmenting it, and texts repeat their words), and the terms numbered,
/// so counting a token is an array bump rather than a string hash.
struct Counter {
    /// The tokenizer this state belongs to: word ids and classes are its own.
    owner: u64,
    lattice: Lattice,
    offsets: Vec<(usize, WordId)>,
    /// Index into `classes` by word id, per lexicon (system, user, unknown);
    /// `u32::MAX` until the word is met.
    class_of: [Vec<u32>; 3],
    classes: Vec<WordClass>,
    terms: TermTable,
    /// Count per term id for the current text, and the ids with a count.
    counts: Vec<u32>,
    counted: Vec<u32>,
    /// The noun run being read, and a buffer to join it in.
    run: Vec<u32>,
    joined: String,
    /// Two-part compounds by their parts' ids ([`NO_TERM`]: not counted).
    two_part: rustc_hash::FxHashMap<u64, u32>,
}

/// Term texts numbered in order of appearance.
#[derive(Default)]
struct TermTable {
    ids: rustc_hash::FxHashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl TermTable {
    fn id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.ids.get(term) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.ids.insert(term.into(), id);
        self.texts.push(term.into());
        id
    }
}

/// More terms than this (compounds are many) and a thread's state starts over,
/// so memory stays bounded on any input.
const MAX_TERMS_PER_THREAD: usize = 500_000;

/// Frees this thread's counting state (the lattice, word classes and term table a
/// tokenizer keeps between posts). A build calls it on every worker once the
/// analysis is done; `serve` keeps the state for the next save.
pub fn release_thread_state() {
    COUNTER.with(|cell| *cell.borrow_mut() = Counter::new(u64::MAX));
}

impl Counter {
    fn new(owner: u64) -> Counter {
        Counter {
            owner,
            lattice: Lattice::default(),
            offsets: Vec::new(),
            class_of: Default::default(),
            classes: Vec::new(),
            terms: TermTable::default(),
            counts: Vec::new(),
            counted: Vec::new(),
            run: Vec::new(),
            joined: String::new(),
            two_part: Default::default(),
        }
    }

    fn add(&mut self, term: u32, n: u32) {
        let i = term as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        if self.counts[i] == 0 {
            self.counted.push(term);
        }
        self.counts[i] += n;
    }

    /// Ends the noun run: a run of two or more nouns is one compound term, counted
    /// twice, and a run of three or more also adds each adjacent pair once.
    ///
    /// Why: a compound (東京都知事選挙) names a topic far more precisely than its
    /// parts, which are counted on their own as well; counting it twice lets a
    /// shared compound outweigh a shared part. The pairs (東京都知事, 都知事選挙)
    /// let two posts that share part of a long compound still meet on it. Measured
    /// with `examples/related_eval.rs` on three disjoint livedoor samples of
    /// 900–2,600 posts, each change raised precision@5 on all three.
    fn flush_run(&mut self, stopwords: &HashSet<String>) {
        let run = std::mem::take(&mut self.run);
        if run.len() >= 2 {
            self.add_joined(&run, COMPOUND_COUNT, stopwords);
        }
        if run.len() >= 3 {
            for pair in run.windows(2) {
                self.add_joined(pair, 1, stopwords);
            }
        }
        self.run = run;
        self.run.clear();
    }

    fn add_joined(&mut self, parts: &[u32], n: u32, stopwords: &HashSet<String>) {
        // Two-part compounds (most of them, and every pair) are remembered by their
        // parts' ids, so a repeat costs no joining and no string hashing.
        let key = match parts {
            [a, b] => Some((*a as u64) << 32 | *b as u64),
            _ => None,
        };
        if let Some(&term) = key.and_then(|k| self.two_part.get(&k)) {
            if term != NO_TERM {
                self.add(term, n);
            }
            return;
        }
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        for &p in parts {
            joined.push_str(&self.terms.texts[p as usize]);
        }
        let term = if is_meaningful(&joined) && !stopwords.contains(joined.as_str()) {
            self.terms.id(&joined)
        } else {
            NO_TERM
        };
        self.joined = joined;
        if let Some(k) = key {
            self.two_part.insert(k, term);
        }
        if term != NO_TERM {
            self.add(term, n);
        }
    }
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

    /// How many tokens lindera's own `segment` makes of `text`: the baseline the
    /// tokenizer benchmark compares [`Tokenizer::count_terms`] with.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self
            .segmenter
            .segment(Cow::Borrowed(text))
            .map_err(|e| anyhow!("tokenizer failed: {e}"))?
            .len())
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
    /// two or more nouns as a compound (see `Counter::flush_run`).
    pub fn count_terms(&self, text: &str, counts: &mut BTreeMap<String, u32>) -> Result<()> {
        // NFKC first so full-width ASCII and half-width kana reach the dictionary as it expects.
        let text = nfkc(text);
        COUNTER.with(|cell| {
            let counter = &mut *cell.borrow_mut();
            if counter.owner != self.id
                || counter.terms.texts.len() > MAX_TERMS_PER_THREAD
                || counter.two_part.len() > MAX_TERMS_PER_THREAD
            {
                *counter = Counter::new(self.id);
            }
            self.count_into(counter, &text);
            let found = counter.counted.drain(..).map(|term| {
                let n = std::mem::take(&mut counter.counts[term as usize]);
                (&counter.terms.texts[term as usize], n)
            });
            if counts.is_empty() {
                // Built from sorted pairs in one go: far cheaper than an insert each.
                let mut pairs: Vec<(String, u32)> =
                    found.map(|(t, n)| (t.to_string(), n)).collect();
                pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                *counts = BTreeMap::from_iter(pairs);
            } else {
                for (text, n) in found {
                    match counts.get_mut(text.as_ref()) {
                        Some(c) => *c += n,
                        None => {
                            counts.insert(text.to_string(), n);
                        }
                    }
                }
            }
        });
        Ok(())
    }

    fn count_into(&self, counter: &mut Counter, text: &str) {
        let mut offsets = std::mem::take(&mut counter.offsets);
        let mut run_end = 0usize;
        let mut start = 0;
        while start < text.len() {
            let end = sentence_end(text, start);
            self.segment_sentence(&mut counter.lattice, &text[start..end], &mut offsets);
            for (i, &(from, word)) in offsets.iter().enumerate() {
                let to = offsets.get(i + 1).map_or(end - start, |next| next.0);
                let (from, to) = (start + from, start + to);
                let adjacent = from == run_end;
                run_end = to;
                let class = self.class_of(counter, word, &text[from..to]);
                if !(class.joins && adjacent) {
                    counter.flush_run(&self.stopwords);
                }
                if !(class.joins || class.keep) {
                    continue;
                }
                let (term, counted) = if class.term != NO_TERM {
                    (class.term, class.counted)
                } else {
                    // The text is NFKC already.
                    let surface = &text[from..to];
                    let lower: Cow<str> = if surface.bytes().any(|b| b.is_ascii_uppercase()) {
                        Cow::Owned(surface.to_ascii_lowercase())
                    } else {
                        Cow::Borrowed(surface)
                    };
                    let counted = class.keep && self.is_content_word(&lower);
                    (counter.terms.id(&lower), counted)
                };
                if counted {
                    counter.add(term, 1);
                }
                if class.joins {
                    counter.run.push(term);
                }
            }
            start = end;
        }
        counter.flush_run(&self.stopwords);
        counter.offsets = offsets;
    }

    /// Fills `offsets` with (start, word) for every token of one sentence,
    /// whitespace included: lindera's segmentation without building a `Token` per
    /// word, as counting needs only the offsets and the word id.
    fn segment_sentence(
        &self,
        lattice: &mut Lattice,
        sentence: &str,
        offsets: &mut Vec<(usize, WordId)>,
    ) {
        let seg = &self.segmenter;
        let user = seg.user_dictionary.as_ref().map(|d| &d.dict);
        let mut options = LatticeOptions::new(&Mode::Normal);
        options.max_grouping_len = seg.max_grouping_len;
        options.unknown_word_ladder = seg.unknown_word_ladder;
        lattice.set_text_with_options(
            &seg.dictionary.prefix_dictionary,
            &user,
            &seg.dictionary.character_definition,
            &seg.dictionary.unknown_dictionary,
            &seg.dictionary.connection_cost_matrix,
            sentence,
            &options,
        );
        lattice.tokens_offset_into(offsets);
    }

    /// The class of a word, read from the dictionary the first time it is met.
    fn class_of(&self, counter: &mut Counter, word: WordId, surface: &str) -> WordClass {
        let lexicon = match word.lex_type() {
            LexType::System => 0,
            LexType::User => 1,
            LexType::Unknown => 2,
        };
        let id = word.id() as usize;
        let table = &mut counter.class_of[lexicon];
        if id >= table.len() {
            table.resize(id + 1, u32::MAX);
        }
        let index = table[id];
        if index != u32::MAX {
            return counter.classes[index as usize];
        }
        let seg = &self.segmenter;
        let mut token = lindera::token::Token::new(
            Cow::Borrowed(surface),
            0,
            surface.len(),
            0,
            word,
            &seg.dictionary,
            seg.user_dictionary.as_ref(),
        );
        let class = self.word_class(&mut token, lexicon != 2, &mut counter.terms);
        counter.class_of[lexicon][id] = counter.classes.len() as u32;
        counter.classes.push(class);
        class
    }

    fn is_content_word(&self, word: &str) -> bool {
        is_meaningful(word) && !self.stopwords.contains(word)
    }

    /// Reads the part of speech (and base form) of a token from the dictionary.
    /// `known`: a dictionary word, whose surface is the same at every occurrence.
    fn word_class(
        &self,
        t: &mut lindera::token::Token,
        known: bool,
        terms: &mut TermTable,
    ) -> WordClass {
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
        let term = match base {
            // A dictionary base form may not be NFKC.
            Some(b) => Some(normalize(b)),
            None if known => Some(surface.to_ascii_lowercase()),
            None => None,
        };
        let counted = keep && term.as_deref().is_some_and(|w| self.is_content_word(w));
        WordClass {
            keep,
            joins,
            counted,
            term: term.map_or(NO_TERM, |t| terms.id(&t)),
        }
    }
}

/// Where the sentence starting at `start` ends: after the next 。、\n or \t, or
/// at a character boundary 32 KiB on (as lindera cuts, to bound the lattice).
fn sentence_end(text: &str, start: usize) -> usize {
    const MAX_SENTENCE_BYTES: usize = 32 * 1024;
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len() {
        let b = bytes[end];
        end += 1;
        if b == b'\n' || b == b'\t' {
            return end;
        }
        // 。 and 、 are E3 80 82 and E3 80 81.
        if (b == 0x81 || b == 0x82) && end >= start + 3 && bytes[end - 3..end - 1] == [0xE3, 0x80] {
            return end;
        }
        if end - start >= MAX_SENTENCE_BYTES && text.is_char_boundary(end) {
            return end;
        }
    }
    end
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

/// `text` in NFKC. Japanese prose is mostly characters NFKC leaves alone (kana,
/// common kanji, ASCII) with a few that change (full-width ！ and （）): those
/// stretches are copied as they are and only the rest goes through the
/// normaliser, several times faster than normalising everything.
fn nfkc(text: &str) -> Cow<'_, str> {
    // Characters NFKC maps to themselves and that never combine with the
    // character before them.
    fn stable(c: char) -> bool {
        matches!(c,
            '\u{20}'..='\u{7E}' | '\n' | '\t'
            | '\u{3041}'..='\u{3096}'
            | '\u{30A1}'..='\u{30FA}'
            | '\u{30FC}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{3001}' | '\u{3002}')
    }
    if unicode_normalization::is_nfkc_quick(text.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // Start of the stretch not yet copied, which goes through the normaliser.
    let mut pending: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // A stable character is copied as it is only when the next one is stable
        // too: anything else may combine with it (か + ゛ → が, カ + ﾞ → ガ).
        let next_stable = chars.peek().is_none_or(|&(_, n)| stable(n));
        if stable(c) && next_stable {
            if let Some(from) = pending.take() {
                out.extend(text[from..i].nfkc());
            }
            out.push(c);
        } else if pending.is_none() {
            pending = Some(i);
        }
    }
    if let Some(from) = pending {
        out.extend(text[from..].nfkc());
    }
    Cow::Owned(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_nfkc_matches_the_normaliser() {
        let cases = [
            "カﾞ",
            "ｶﾞｷﾞ",
            "か\u{3099}",
            "ＡＢＣ１２３！",
            "e\u{301}",
            "①②",
            "㍻",
            "ﾊﾟｿｺﾝで（テスト）する。",
            "東京都に住んでいる",
            "ﾃﾞｰﾀ\nＳＱＬ\tｱ",
            "ガ\u{309A}",
            "猫\u{FF9E}",
            "漢字\u{F900}",
            "",
            "ａ",
            "ｰ",
            "ー\u{3099}x",
        ];
        for case in cases {
            let expected: String = case.nfkc().collect();
            assert_eq!(nfkc(case), expected, "{case:?}");
        }
    }
}
