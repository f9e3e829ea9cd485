//! TF-IDF vectors and cosine similarity through an inverted index. Pure math on
//! plain data: term counts in, ranked neighbours out.

use std::collections::BTreeMap;

use rayon::prelude::*;

/// What the analysis extracted from one post.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DocFeatures {
    pub title: BTreeMap<String, u32>,
    pub body: BTreeMap<String, u32>,
    /// Tags and categories, normalised; each becomes one `tag:` feature.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub title: f64,
    pub tag: f64,
}

/// Sparse L2-normalised vectors over a shared vocabulary.
#[derive(Default, Debug, Clone)]
pub struct Vectors {
    /// Term text by id (see [`vectorize`] for the order).
    pub vocab: Vec<String>,
    /// Per document: (term id, weight), sorted by term id.
    pub docs: Vec<Vec<(u32, f32)>>,
}

/// Prefix of tag and category features, so a tag `rust` and the word `rust` differ.
pub const TAG_PREFIX: &str = "tag:";

/// How soon term frequency saturates (BM25's k1, at its usual value).
pub const TF_SATURATION: f64 = 1.2;

/// Sublinear term frequency, in BM25's saturating form: tf·(k1+1)/(tf+k1). One
/// occurrence weighs 1, repeats add less and less, never more than k1+1 in all.
/// On livedoor (`examples/related_eval.rs`, 900 posts) it lifted precision@5 from
/// 0.8716 with 1 + ln(tf) to 0.8840; k1 from 0.3 to 1.2 all gave 0.884–0.891, and
/// BM25's length term (b) added nothing over the cosine's own normalisation.
pub fn sublinear(tf: f64) -> f64 {
    if tf <= 0.0 {
        0.0
    } else {
        tf * (TF_SATURATION + 1.0) / (tf + TF_SATURATION)
    }
}

/// Smoothed inverse document frequency: ln((1 + n) / (1 + df)) + 1.
pub fn idf(n: usize, df: usize) -> f64 {
    ((1.0 + n as f64) / (1.0 + df as f64)).ln() + 1.0
}

/// One shard of [`vectorize`]'s term numbering: the terms in first-seen order and
/// the id of every occurrence in turn.
#[derive(Default)]
struct Numbering<'a> {
    table: hashbrown::HashTable<u32>,
    texts: Vec<&'a str>,
    hashes: Vec<u64>,
    ids: Vec<u32>,
}

impl<'a> Numbering<'a> {
    /// Numbers one occurrence of `t` (whose hash is `h`). The table holds only
    /// ids and compares text only on a hash match.
    fn number(&mut self, t: &'a str, h: u64) {
        let (texts, hashes) = (&self.texts, &self.hashes);
        let id = match self
            .table
            .entry(h, |&id| texts[id as usize] == t, |&id| hashes[id as usize])
        {
            hashbrown::hash_table::Entry::Occupied(e) => *e.get(),
            hashbrown::hash_table::Entry::Vacant(e) => {
                let id = self.texts.len() as u32;
                e.insert(id);
                self.texts.push(t);
                self.hashes.push(h);
                id
            }
        };
        self.ids.push(id);
    }
}

/// Every term occurrence of one document with its weighted raw frequency, in a
/// fixed order (body, title, tags); a term may come twice (body and title).
fn occurrences<'a>(
    doc: &'a DocFeatures,
    tags: &'a [String],
    w: Weights,
) -> impl Iterator<Item = (&'a str, f64)> {
    doc.body
        .iter()
        .map(|(t, &c)| (t.as_str(), c as f64))
        .chain(
            doc.title
                .iter()
                .map(move |(t, &c)| (t.as_str(), w.title * c as f64)),
        )
        .chain(tags.iter().map(move |t| (t.as_str(), w.tag)))
}

/// TF-IDF vectors of all documents. Term ids go by document frequency, most
/// common first, so the terms met most often sit together at the start of every
/// per-term array, where they stay in cache; ties go by text, so ids depend
/// neither on input order nor on the number of threads.
pub fn vectorize(docs: &[DocFeatures], w: Weights) -> Vectors {
    let tags: Vec<Vec<String>> = docs
        .iter()
        .map(|d| d.tags.iter().map(|t| format!("{TAG_PREFIX}{t}")).collect())
        .collect();
    let occurrences = |i: usize| occurrences(&docs[i], &tags[i], w);

    // Number every distinct term: split into shards by hash, one thread per shard.
    let hashes: Vec<Vec<u64>> = (0..docs.len())
        .into_par_iter()
        .map(|i| occurrences(i).map(|(t, _)| hash_term(t)).collect())
        .collect();
    let shards = rayon::current_num_threads().clamp(1, 64);
    // High bits: hashbrown places entries by the low ones.
    let shard_of = |h: u64| (h >> 40) as usize % shards;
    let parts: Vec<Numbering> = (0..shards)
        .into_par_iter()
        .map(|shard| {
            let mut part = Numbering::default();
            for (i, hs) in hashes.iter().enumerate() {
                for ((t, _), &h) in occurrences(i).zip(hs) {
                    if shard_of(h) == shard {
                        part.number(t, h);
                    }
                }
            }
            part
        })
        .collect();
    let mut base = Vec::with_capacity(shards);
    let mut texts: Vec<&str> = Vec::new();
    for part in &parts {
        base.push(texts.len() as u32);
        texts.extend(&part.texts);
    }
    let mut cursor = vec![0usize; shards];
    let ids: Vec<Vec<u32>> = hashes
        .iter()
        .map(|hs| {
            hs.iter()
                .map(|&h| {
                    let s = shard_of(h);
                    cursor[s] += 1;
                    base[s] + parts[s].ids[cursor[s] - 1]
                })
                .collect()
        })
        .collect();
    drop((parts, hashes));

    // Per document: (term, raw tf), one entry per term.
    let tfs: Vec<Vec<(u32, f64)>> = ids
        .par_iter()
        .enumerate()
        .map(|(i, ids)| {
            let mut tf: Vec<(u32, f64)> = ids
                .iter()
                .zip(occurrences(i))
                .map(|(&id, (_, f))| (id, f))
                .collect();
            tf.sort_unstable_by_key(|x| x.0);
            tf.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 += later.1;
                }
                same
            });
            tf.retain(|x| x.1 > 0.0);
            tf
        })
        .collect();
    drop(ids);
    let df: Vec<u32> = tfs
        .par_iter()
        .fold(
            || vec![0u32; texts.len()],
            |mut df, tf| {
                for &(t, _) in tf {
                    df[t as usize] += 1;
                }
                df
            },
        )
        .reduce(
            || vec![0u32; texts.len()],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );

    let n = docs.len();
    // A term of one post only cannot link it to another; left in, it would just
    // dilute the weights of the terms that can.
    let min_df = if n >= MIN_DOCS_FOR_CORPUS_STATS { 2 } else { 1 };
    let mut kept: Vec<u32> = (0..texts.len() as u32)
        .filter(|&t| df[t as usize] >= min_df)
        .collect();
    kept.par_sort_unstable_by(|&a, &b| {
        df[b as usize]
            .cmp(&df[a as usize])
            .then_with(|| texts[a as usize].cmp(texts[b as usize]))
    });
    let mut final_id = vec![u32::MAX; texts.len()];
    for (i, &t) in kept.iter().enumerate() {
        final_id[t as usize] = i as u32;
    }
    let idfs: Vec<f64> = kept
        .iter()
        .map(|&t| idf(n, df[t as usize] as usize))
        .collect();
    let vocab: Vec<String> = kept
        .iter()
        .map(|&t| texts[t as usize].to_string())
        .collect();
    let vecs = tfs
        .par_iter()
        .map(|tf| {
            let mut v: Vec<(u32, f64)> = tf
                .iter()
                .filter_map(|&(t, f)| {
                    let id = final_id[t as usize];
                    (id != u32::MAX).then(|| (id, sublinear(f) * idfs[id as usize]))
                })
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
            v.into_iter()
                .map(|(id, x)| (id, if norm > 0.0 { (x / norm) as f32 } else { 0.0 }))
                .collect()
        })
        .collect();
    Vectors { vocab, docs: vecs }
}

fn hash_term(t: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(t)
}

/// Below this many posts, document frequencies say little: the df cut-offs and
/// pseudo-relevance feedback are applied only from here up.
pub const MIN_DOCS_FOR_CORPUS_STATS: usize = 20;

/// How much work the candidate search may do per post, counted in posting entries
/// visited. Searching through every term costs the sum of df² over the
/// vocabulary, which real text makes quadratic: 0.94 billion at 10,000 livedoor
/// articles. The terms found in the most posts are left out of the search, most
/// common first, until it fits this budget; they still count in the exact scores
/// of the candidates, and weigh little (their idf is the lowest). Small sites stay
/// under the budget and are searched exhaustively.
///
/// On all 7,367 livedoor articles (`examples/related_eval.rs … 1000 5`),
/// precision@5 is 0.8944 searching exhaustively, 0.8936 at 20,000 and 0.8928 at
/// 5,000, 0.8880 at 2,000; at 10,000 posts (`examples/bench_build.rs related
/// 10000 CORPUS`) the neighbour search takes 1.2 s exhaustively, 0.3 s at 5,000.
pub const SEARCH_BUDGET_PER_POST: u64 = 5_000;

/// What a term does in the ranking.
#[derive(Clone, Copy, PartialEq)]
enum TermRole {
    /// In more than half of all posts: cannot tell posts apart; ignored.
    Ignored,
    /// Counts in exact scores, but too common to search candidates with.
    ScoredOnly,
    /// Finds candidates through its posting list, and counts in exact scores.
    Indexed,
}

/// The role of each term, from its document frequency and the search budget.
fn term_roles(vectors: &Vectors, budget_per_post: u64) -> Vec<TermRole> {
    let n = vectors.docs.len();
    let mut df = vec![0u64; vectors.vocab.len()];
    for v in &vectors.docs {
        for &(t, _) in v {
            df[t as usize] += 1;
        }
    }
    let ignored = |d: u64| n >= MIN_DOCS_FOR_CORPUS_STATS && d as usize * 2 > n;
    // The largest df whose terms, with all rarer ones, fit in the budget.
    let mut by_df: Vec<u64> = df.iter().copied().filter(|&d| !ignored(d)).collect();
    by_df.sort_unstable();
    let budget = budget_per_post.saturating_mul(n as u64);
    let (mut cost, mut cap, mut i) = (0u64, 0u64, 0usize);
    while i < by_df.len() {
        let d = by_df[i];
        let same = by_df[i..].iter().take_while(|&&x| x == d).count() as u64;
        cost += same * d * d;
        if cost > budget {
            break;
        }
        cap = d;
        i += same as usize;
    }
    df.iter()
        .map(|&d| {
            if ignored(d) {
                TermRole::Ignored
            } else if d <= cap {
                TermRole::Indexed
            } else {
                TermRole::ScoredOnly
            }
        })
        .collect()
}

/// An inverted index in one allocation: the (document, weight) pairs of term `t`
/// are `entries[starts[t]..starts[t + 1]]`, documents in ascending order.
struct Postings {
    starts: Vec<usize>,
    entries: Vec<(u32, f32)>,
}

impl Postings {
    fn new(vectors: &Vectors, indexed: impl Fn(u32) -> bool) -> Postings {
        let mut starts = vec![0usize; vectors.vocab.len() + 1];
        for v in &vectors.docs {
            for &(t, _) in v {
                if indexed(t) {
                    starts[t as usize + 1] += 1;
                }
            }
        }
        for t in 1..starts.len() {
            starts[t] += starts[t - 1];
        }
        let mut next = starts.clone();
        let mut entries = vec![(0u32, 0f32); starts[starts.len() - 1]];
        for (d, v) in vectors.docs.iter().enumerate() {
            for &(t, w) in v {
                if indexed(t) {
                    entries[next[t as usize]] = (d as u32, w);
                    next[t as usize] += 1;
                }
            }
        }
        Postings { starts, entries }
    }

    fn of(&self, t: u32) -> &[(u32, f32)] {
        &self.entries[self.starts[t as usize]..self.starts[t as usize + 1]]
    }
}

/// For every document, the `k` most similar others with cosine ≥ `min_score`,
/// best first; equal scores are ordered by document index, so results never
/// depend on thread timing.
///
/// Candidates come from an inverted index over the terms [`term_roles`] keeps in
/// the search. When some terms are left out, the best candidates by partial score
/// are scored again exactly over all terms but the ignored ones.
pub fn top_k(vectors: &Vectors, k: usize, min_score: f64) -> Vec<Vec<(usize, f64)>> {
    top_k_within(vectors, k, min_score, SEARCH_BUDGET_PER_POST)
}

/// [`top_k`] with a given search budget per post.
fn top_k_within(
    vectors: &Vectors,
    k: usize,
    min_score: f64,
    budget_per_post: u64,
) -> Vec<Vec<(usize, f64)>> {
    let n = vectors.docs.len();
    let roles = term_roles(vectors, budget_per_post);
    // The terms left out of the index are the most common ones, so few: numbered
    // compactly, one document's weights for them fit a small dense array.
    let mut compact: Vec<u32> = vec![u32::MAX; vectors.vocab.len()];
    let mut unindexed_terms = 0u32;
    for (t, role) in roles.iter().enumerate() {
        if *role == TermRole::ScoredOnly {
            compact[t] = unindexed_terms;
            unindexed_terms += 1;
        }
    }
    let postings = Postings::new(vectors, |t| roles[t as usize] == TermRole::Indexed);
    // Per document, its weights for the unindexed terms, by compact id.
    let unindexed: Vec<Vec<(u32, f32)>> = vectors
        .docs
        .par_iter()
        .map(|v| {
            v.iter()
                .filter(|(t, _)| roles[*t as usize] == TermRole::ScoredOnly)
                .map(|&(t, w)| (compact[t as usize], w))
                .collect()
        })
        .collect();
    let partial = unindexed_terms > 0;
    let by_rank = |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
    // Partial scores only pick candidates: keep a margin of them and score those
    // exactly.
    let keep = if partial { (k * 4).max(k + 16) } else { k };
    let buffer = keep * 4;
    if k == 0 {
        return vec![Vec::new(); n];
    }
    (0..n)
        .into_par_iter()
        .map_init(
            || {
                (
                    vec![0f32; n],
                    Vec::<(u32, f32)>::new(),
                    vec![0f32; unindexed_terms as usize],
                )
            },
            |(acc, scored, dense), a| {
                for &(t, wa) in &vectors.docs[a] {
                    for &(b, wb) in postings.of(t) {
                        acc[b as usize] += wa * wb;
                    }
                }
                acc[a] = 0.0;
                // Select the `keep` best in one sweep of the accumulator (cheaper
                // than tracking which slots were touched): whenever the buffer
                // fills, cut it back, and from then on skip scores under the cut.
                scored.clear();
                let mut floor = f32::MIN_POSITIVE;
                for (b, slot) in acc.iter_mut().enumerate() {
                    let s = std::mem::take(slot);
                    if s >= floor {
                        scored.push((b as u32, s));
                        if scored.len() == buffer {
                            scored.select_nth_unstable_by(keep - 1, by_rank);
                            scored.truncate(keep);
                            floor = scored[keep - 1].1;
                        }
                    }
                }
                if scored.len() > keep {
                    scored.select_nth_unstable_by(keep - 1, by_rank);
                    scored.truncate(keep);
                }
                if partial {
                    // The indexed terms' share of each score is exact already; add
                    // the rest.
                    for &(t, w) in &unindexed[a] {
                        dense[t as usize] = w;
                    }
                    for c in scored.iter_mut() {
                        c.1 += unindexed[c.0 as usize]
                            .iter()
                            .map(|&(t, w)| dense[t as usize] * w)
                            .sum::<f32>();
                    }
                    for &(t, _) in &unindexed[a] {
                        dense[t as usize] = 0.0;
                    }
                    if scored.len() > k {
                        scored.select_nth_unstable_by(k, by_rank);
                        scored.truncate(k);
                    }
                }
                let mut top: Vec<(usize, f64)> = scored
                    .iter()
                    .filter(|c| c.1 as f64 >= min_score && c.1 > 0.0)
                    .map(|&(b, s)| (b as usize, s as f64))
                    .collect();
                top.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
                top.truncate(k);
                top
            },
        )
        .collect()
}

/// Pseudo-relevance feedback settings, chosen on the livedoor corpus
/// (see `examples/related_eval.rs`): blending in 20 neighbours at twice their
/// similarity, keeping 200 terms, raised precision@5 from 0.84 to 0.87.
pub const FEEDBACK_NEIGHBOURS: usize = 20;
pub const FEEDBACK_WEIGHT: f64 = 2.0;
pub const FEEDBACK_MAX_TERMS: usize = 200;

/// How long each step of [`rank`] took, for the benchmark.
#[derive(Debug, Default, Clone, Copy)]
pub struct RankTimings {
    pub neighbours: std::time::Duration,
    pub feedback: std::time::Duration,
    pub ranking: std::time::Duration,
}

/// The related lists of every post: nearest neighbours, feedback from them
/// ([`expand`]), then the final top `k` over the expanded vectors, which are
/// returned too (for `--explain`). Small sites skip the feedback.
pub fn rank(
    vectors: Vectors,
    k: usize,
    min_score: f64,
) -> (Vectors, Vec<Vec<(usize, f64)>>, RankTimings) {
    let mut timings = RankTimings::default();
    if vectors.docs.len() < MIN_DOCS_FOR_CORPUS_STATS {
        let t = std::time::Instant::now();
        let ranked = top_k(&vectors, k, min_score);
        timings.ranking = t.elapsed();
        return (vectors, ranked, timings);
    }
    let t = std::time::Instant::now();
    let nearest = top_k(&vectors, FEEDBACK_NEIGHBOURS, 0.0);
    timings.neighbours = t.elapsed();
    let t = std::time::Instant::now();
    let expanded = expand(
        &vectors,
        &nearest,
        FEEDBACK_NEIGHBOURS,
        FEEDBACK_WEIGHT,
        FEEDBACK_MAX_TERMS,
    );
    timings.feedback = t.elapsed();
    let t = std::time::Instant::now();
    let ranked = top_k(&expanded, k, min_score);
    timings.ranking = t.elapsed();
    (expanded, ranked, timings)
}

/// Pseudo-relevance feedback (Rocchio): each vector is blended with the vectors of
/// its `neighbours` nearest documents, weighted by similarity, then cut back to its
/// `max_terms` heaviest terms and re-normalised. Two posts on one topic that happen
/// to use different words then meet through the posts between them.
pub fn expand(
    vectors: &Vectors,
    ranked: &[Vec<(usize, f64)>],
    neighbours: usize,
    beta: f64,
    max_terms: usize,
) -> Vectors {
    let vocab_len = vectors.vocab.len();
    let by_weight = |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
    let docs = (0..vectors.docs.len())
        .into_par_iter()
        .map_init(
            // A dense accumulator per thread: far cheaper than a map per document.
            || (vec![0f32; vocab_len], Vec::<u32>::new(), Vec::new()),
            |(acc, touched, scratch), a| {
                let nearest = &ranked[a][..ranked[a].len().min(neighbours)];
                let most = vectors.docs[a].len()
                    + nearest
                        .iter()
                        .map(|&(b, _)| vectors.docs[b].len())
                        .sum::<usize>();
                touched.resize(most, 0);
                let mut len = 0;
                for &(t, w) in &vectors.docs[a] {
                    acc[t as usize] = w;
                    touched[len] = t;
                    len += 1;
                }
                for &(b, s) in nearest {
                    let scale = (beta * s) as f32;
                    for &(t, w) in &vectors.docs[b] {
                        let slot = &mut acc[t as usize];
                        // Branch-free: whether a term is new is a coin toss to the
                        // branch predictor.
                        touched[len] = t;
                        len += (*slot == 0.0) as usize;
                        *slot += scale * w;
                    }
                }
                touched.truncate(len);
                let v = scratch;
                v.clear();
                v.extend(
                    touched
                        .iter()
                        .map(|&t| (t, std::mem::take(&mut acc[t as usize]))),
                );
                if v.len() > max_terms {
                    v.select_nth_unstable_by(max_terms, by_weight);
                    v.truncate(max_terms);
                }
                let norm = v
                    .iter()
                    .map(|(_, x)| (*x as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                v.sort_unstable_by_key(|(t, _)| *t);
                if norm > 0.0 {
                    v.iter_mut().for_each(|x| x.1 = (x.1 as f64 / norm) as f32);
                }
                // Copied out at its size: the scratch buffer held every term touched.
                v.to_vec()
            },
        )
        .collect();
    Vectors {
        vocab: vectors.vocab.clone(),
        docs,
    }
}

/// The shared terms that contribute most to the similarity of `a` and `b`.
pub fn shared_terms(vectors: &Vectors, a: usize, b: usize, limit: usize) -> Vec<(String, f64)> {
    let vb: BTreeMap<u32, f32> = vectors.docs[b].iter().copied().collect();
    let mut shared: Vec<(String, f64)> = vectors.docs[a]
        .iter()
        .filter_map(|&(t, wa)| {
            vb.get(&t)
                .map(|&wb| (vectors.vocab[t as usize].clone(), (wa * wb) as f64))
        })
        .collect();
    shared.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    shared.truncate(limit);
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weighted raw term frequencies of one document, written out plainly: the
    /// definition [`vectorize`] is checked against.
    fn raw_tf(doc: &DocFeatures, w: Weights) -> BTreeMap<String, f64> {
        let mut tf: BTreeMap<String, f64> = BTreeMap::new();
        for (t, &c) in &doc.body {
            *tf.entry(t.clone()).or_insert(0.0) += c as f64;
        }
        for (t, &c) in &doc.title {
            *tf.entry(t.clone()).or_insert(0.0) += w.title * c as f64;
        }
        for t in &doc.tags {
            *tf.entry(format!("{TAG_PREFIX}{t}")).or_insert(0.0) += w.tag;
        }
        tf.retain(|_, v| *v > 0.0);
        tf
    }

    fn doc(body: &[(&str, u32)]) -> DocFeatures {
        DocFeatures {
            body: body.iter().map(|(t, c)| (t.to_string(), *c)).collect(),
            ..Default::default()
        }
    }

    /// Three documents worked out by hand:
    /// d0 = {猫:2, 犬:1}, d1 = {猫:1, 鳥:1}, d2 = {魚:1}. n = 3.
    /// idf(猫, df 2) = ln(4/3) + 1 = 1.287682, idf(犬|鳥|魚, df 1) = ln 2 + 1 = 1.693147.
    /// Saturated tf: sat(1) = 1, sat(2) = 2·2.2/3.2 = 1.375.
    /// d0: 猫 1.375·1.287682 = 1.770563, 犬 1.693147 → norm 2.449824
    ///     → 猫 0.722730, 犬 0.691130.
    /// d1: 猫 1.287682, 鳥 1.693147 → norm 2.127175 → 猫 0.605348, 鳥 0.795961.
    /// cos(d0, d1) = 0.722730 · 0.605348 = 0.437504; d2 shares nothing.
    #[test]
    fn hand_computed_cosine() {
        let docs = vec![
            doc(&[("猫", 2), ("犬", 1)]),
            doc(&[("猫", 1), ("鳥", 1)]),
            doc(&[("魚", 1)]),
        ];
        let v = vectorize(
            &docs,
            Weights {
                title: 1.0,
                tag: 1.0,
            },
        );
        // Most common first, then by text.
        assert_eq!(v.vocab, ["猫", "犬", "魚", "鳥"]);
        let w0: Vec<f32> = v.docs[0].iter().map(|x| x.1).collect();
        assert!((w0[0] - 0.722730).abs() < 1e-5, "{w0:?}");
        assert!((w0[1] - 0.691130).abs() < 1e-5, "{w0:?}");
        let top = top_k(&v, 5, 0.0);
        assert_eq!(top[0].len(), 1);
        assert_eq!(top[0][0].0, 1);
        assert!((top[0][0].1 - 0.437504).abs() < 1e-5, "{:?}", top[0]);
        assert_eq!(top[1][0].0, 0);
        assert!(top[2].is_empty());
    }

    /// `vectorize` against the definition written out plainly with `raw_tf`.
    #[test]
    fn vectorize_follows_the_definition() {
        let mut docs: Vec<DocFeatures> = (0..30)
            .map(|i| {
                let mut d = doc(&[("共通", 1 + i % 3), ("片方", 1 + i % 2)]);
                d.body.insert(format!("語{}", i % 7), 2);
                d.body.insert(format!("一度{i}"), 1);
                d.title.insert(format!("語{}", i % 5), 1);
                d.tags = vec![format!("t{}", i % 4)];
                d
            })
            .collect();
        // In more than half of the posts: weighted, but ignored when ranking.
        docs.iter_mut().take(20).for_each(|d| {
            d.body.insert("多数".into(), 1);
        });
        let w = Weights {
            title: 3.0,
            tag: 2.0,
        };
        let v = vectorize(&docs, w);
        let tfs: Vec<BTreeMap<String, f64>> = docs.iter().map(|d| raw_tf(d, w)).collect();
        let n = docs.len();
        for (i, tf) in tfs.iter().enumerate() {
            let mut expected: BTreeMap<&str, f64> = tf
                .iter()
                .filter_map(|(t, f)| {
                    let df = tfs.iter().filter(|o| o.contains_key(t)).count();
                    (df >= 2).then(|| (t.as_str(), sublinear(*f) * idf(n, df)))
                })
                .collect();
            let norm = expected.values().map(|x| x * x).sum::<f64>().sqrt();
            expected.values_mut().for_each(|x| *x /= norm);
            let got: BTreeMap<&str, f64> = v.docs[i]
                .iter()
                .map(|&(t, x)| (v.vocab[t as usize].as_str(), x as f64))
                .collect();
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>()
            );
            for (t, x) in &expected {
                assert!((got[t] - x).abs() < 1e-6, "doc {i} term {t}");
            }
            assert!(v.docs[i].windows(2).all(|p| p[0].0 < p[1].0), "sorted ids");
        }
        // Ids: most common term first.
        assert_eq!(v.vocab[0], "共通");
    }

    /// With a search budget too small for the common terms, candidates come from
    /// the rare ones; the scores returned are still exact, over all terms, and the
    /// lists match the exhaustive search.
    #[test]
    fn budgeted_search_scores_exactly() {
        let docs: Vec<DocFeatures> = (0..120u32)
            .map(|i| {
                // Ten clusters of twelve share a rare term that outweighs the rest;
                // every post also has some of six common terms, each in 40 % of
                // the posts.
                let mut d = doc(&[(&format!("群{}", i / 12), 8)]);
                for c in 0..6u32 {
                    if (i * (c + 1) + c) % 5 < 2 {
                        d.body.insert(format!("常{c}"), 1);
                    }
                }
                d
            })
            .collect();
        let w = Weights {
            title: 1.0,
            tag: 1.0,
        };
        let v = vectorize(&docs, w);
        let roles = term_roles(&v, 50);
        assert!(roles.contains(&TermRole::ScoredOnly));
        assert!(roles.contains(&TermRole::Indexed));
        let budgeted = top_k_within(&v, 5, 0.0, 50);
        let exhaustive = top_k_within(&v, 5, 0.0, u64::MAX);
        assert!(
            term_roles(&v, u64::MAX)
                .iter()
                .all(|r| *r != TermRole::ScoredOnly)
        );
        let cosine = |a: usize, b: usize| -> f64 {
            let wb: BTreeMap<u32, f32> = v.docs[b].iter().copied().collect();
            v.docs[a]
                .iter()
                .filter(|(t, _)| roles[*t as usize] != TermRole::Ignored)
                .filter_map(|(t, x)| wb.get(t).map(|y| (x * y) as f64))
                .sum()
        };
        for (a, list) in budgeted.iter().enumerate() {
            assert_eq!(list.len(), 5);
            for &(b, s) in list {
                assert!((s - cosine(a, b)).abs() < 1e-5, "{a}→{b}: {s}");
            }
            assert_eq!(
                list.iter().map(|x| x.0).collect::<Vec<_>>(),
                exhaustive[a].iter().map(|x| x.0).collect::<Vec<_>>(),
                "post {a}"
            );
        }
    }

    #[test]
    fn ties_break_by_index_and_min_score_filters() {
        let docs = vec![doc(&[("a", 1)]), doc(&[("a", 1)]), doc(&[("a", 1)])];
        let v = vectorize(
            &docs,
            Weights {
                title: 1.0,
                tag: 1.0,
            },
        );
        let top = top_k(&v, 5, 0.0);
        assert_eq!(top[1].iter().map(|x| x.0).collect::<Vec<_>>(), [0, 2]);
        assert!(top_k(&v, 5, 1.5)[0].is_empty());
        assert_eq!(top_k(&v, 1, 0.0)[2].len(), 1);
    }

    #[test]
    fn title_and_tags_are_weighted() {
        // Both terms are in both documents, so their idf is equal and d0's weights
        // differ only by tf: 猫 1 in the body + 1 in the title × 3 = 4, the tag × 2 = 2.
        let d0 = DocFeatures {
            title: [("猫".to_string(), 1)].into(),
            body: [("猫".to_string(), 1)].into(),
            tags: vec!["rust".into()],
        };
        let d1 = DocFeatures {
            body: [("猫".to_string(), 1)].into(),
            tags: vec!["rust".into()],
            ..Default::default()
        };
        let w = Weights {
            title: 3.0,
            tag: 2.0,
        };
        let v = vectorize(&[d0, d1], w);
        let weight = |term: &str| {
            let id = v.vocab.iter().position(|t| t == term).unwrap() as u32;
            v.docs[0].iter().find(|(t, _)| *t == id).unwrap().1 as f64
        };
        let ratio = weight("猫") / weight("tag:rust");
        assert!(
            (ratio - sublinear(4.0) / sublinear(2.0)).abs() < 1e-6,
            "{ratio}"
        );
        assert!((sublinear(1.0) - 1.0).abs() < 1e-12);
        assert!((sublinear(4.0) - 4.0 * 2.2 / 5.2).abs() < 1e-12);
        assert!((idf(3, 1) - (2f64.ln() + 1.0)).abs() < 1e-12);
    }
}
