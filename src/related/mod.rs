//! Analyze stage: related posts from the Japanese text. Tokenizes what the cache
//! does not already hold (in parallel), builds TF-IDF vectors, ranks neighbours
//! by cosine similarity, and stores both term counts and results in the cache.

pub mod cache;
pub mod tfidf;
pub mod tokenize;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::config::Site;
use crate::content::Document;
use crate::model::SiteModel;
use crate::report::Reporter;
use crate::store::Store;
use cache::AnalysisRow;
use tfidf::{DocFeatures, Vectors, Weights};
use tokenize::Tokenizer;

/// One related post, as the analysis stage hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedLink {
    /// Index into `SiteModel::posts`.
    pub post: usize,
    pub score: f64,
}

/// What the analysis produced, for rendering and for the `related` command.
#[derive(Default)]
pub struct Outcome {
    /// Related posts per `SiteModel::posts` index, best first.
    pub links: Vec<Vec<RelatedLink>>,
    /// Posts whose text was tokenized this time (the rest came from the cache).
    pub tokenized: usize,
    pub vectors: Vectors,
}

/// The site's tokenizer: built-in dictionaries plus `[related] user_dictionary`.
pub fn tokenizer_for(site: &Site) -> Result<Tokenizer> {
    match &site.config.related.user_dictionary {
        Some(rel) => {
            let path = site.root.join(rel);
            let shown = rel.display().to_string();
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("{shown}: cannot read the user dictionary named in site.toml [related]")
            })?;
            Tokenizer::new(Some((&shown, &text)))
        }
        None => Tokenizer::new(None),
    }
}

/// The features of one post: title and body terms, tags and categories.
pub fn features(tokenizer: &Tokenizer, doc: &Document) -> Result<DocFeatures> {
    let mut f = DocFeatures::default();
    tokenizer
        .count_terms(&doc.front.title, &mut f.title)
        .with_context(|| doc.source.clone())?;
    tokenizer
        .count_terms(&doc.body.text, &mut f.body)
        .with_context(|| doc.source.clone())?;
    let mut tags: Vec<String> = doc
        .front
        .tags
        .iter()
        .chain(&doc.front.categories)
        .map(|t| tokenize::normalize(t.trim()))
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    f.tags = tags;
    Ok(f)
}

/// Term counts kept in memory between rebuilds (by `enishi serve`), so an edit
/// costs one post's analysis and no cache reads.
#[derive(Default)]
pub struct Memo {
    fingerprint: String,
    /// By source path: content hash and features.
    features: std::collections::HashMap<String, (String, DocFeatures)>,
}

/// Related lists by source path, as a later run can [`reuse`] them.
pub type ListsByPath = std::collections::HashMap<String, Vec<(String, f64)>>;

impl Outcome {
    pub fn lists_by_path(&self, model: &SiteModel) -> ListsByPath {
        self.links
            .iter()
            .enumerate()
            .map(|(i, links)| {
                let list = links
                    .iter()
                    .map(|l| (model.posts[l.post].doc.source.clone(), l.score))
                    .collect();
                (model.posts[i].doc.source.clone(), list)
            })
            .collect()
    }
}

/// The previous run's lists for this model's posts, without any analysis: what
/// `serve` shows at once after a save, before the fresh lists are computed.
/// Posts that are gone drop out; new posts have no list yet.
pub fn reuse(model: &SiteModel, previous: &ListsByPath) -> Outcome {
    let index: std::collections::HashMap<&str, usize> = model
        .posts
        .iter()
        .enumerate()
        .map(|(i, e)| (e.doc.source.as_str(), i))
        .collect();
    let links = model
        .posts
        .iter()
        .map(|e| {
            previous
                .get(&e.doc.source)
                .map(|list| {
                    list.iter()
                        .filter_map(|(path, score)| {
                            Some(RelatedLink {
                                post: *index.get(path.as_str())?,
                                score: *score,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    Outcome {
        links,
        tokenized: 0,
        vectors: Default::default(),
    }
}

/// Related posts for every post of `model`, with the build's open cache and (for
/// `serve`) term counts kept in memory.
pub fn compute_with(
    site: &Site,
    model: &SiteModel,
    reporter: &Reporter,
    store: &mut Store,
    mut memo: Option<&mut Memo>,
) -> Result<Outcome> {
    let cfg = &site.config.related;
    let mut timings = reporter.timer();
    let tokenizer = tokenizer_for(site)?;
    let fingerprint = tokenizer.fingerprint().to_string();

    let docs: Vec<&Document> = model.posts.iter().map(|e| &e.doc).collect();
    if let Some(m) = memo.as_deref_mut()
        && m.fingerprint != fingerprint
    {
        m.fingerprint = fingerprint.clone();
        m.features.clear();
    }
    let mut features: Vec<Option<DocFeatures>> = docs
        .iter()
        .map(|d| {
            let m = memo.as_deref()?;
            m.features
                .get(&d.source)
                .filter(|(hash, _)| *hash == d.content_hash)
                .map(|(_, f)| f.clone())
        })
        .collect();
    if features.iter().any(Option::is_none) {
        let mut cached = cache::load(store, &fingerprint)?;
        for (i, d) in docs.iter().enumerate() {
            if features[i].is_none() {
                features[i] = cached
                    .remove(&d.source)
                    .filter(|c| c.content_hash == d.content_hash)
                    .map(|c| c.features);
            }
        }
    }
    let todo: Vec<usize> = (0..docs.len()).filter(|&i| features[i].is_none()).collect();
    timings.stage("  cache read");

    let bar = reporter.progress_bar(todo.len(), 50, "形態素解析");
    let fresh: Vec<(usize, DocFeatures)> = todo
        .par_iter()
        .map(|&i| {
            let f = self::features(&tokenizer, docs[i]);
            if let Some(b) = &bar {
                b.inc(1);
            }
            f.map(|f| (i, f))
        })
        .collect::<Result<_>>()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let tokenized = fresh.len();
    for (i, f) in fresh {
        features[i] = Some(f);
    }
    let features: Vec<DocFeatures> = features
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();

    if memo.is_none() {
        // A one-off run needs the tokenizers' per-thread state no more.
        rayon::broadcast(|_| tokenize::release_thread_state());
        crate::util::return_freed_memory();
    }
    timings.stage("  tokenize");
    let weights = Weights {
        title: cfg.title_weight,
        tag: cfg.tag_weight,
    };
    let vectors = tfidf::vectorize(&features, weights);
    timings.stage("  vectorize");
    let (vectors, ranked, _) = tfidf::rank(vectors, cfg.count, cfg.min_score);
    timings.stage("  rank");
    let links: Vec<Vec<RelatedLink>> = ranked
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|(post, score)| RelatedLink { post, score })
                .collect()
        })
        .collect();

    let rows: Vec<AnalysisRow> = todo
        .iter()
        .map(|&i| AnalysisRow {
            path: &docs[i].source,
            content_hash: &docs[i].content_hash,
            features: &features[i],
        })
        .collect();
    cache::save(store, &fingerprint, &rows)
        .with_context(|| format!("{}: cannot update the cache", store.shown()))?;
    timings.stage("  cache write");
    if let Some(m) = memo {
        m.features = docs
            .iter()
            .zip(&features)
            .map(|(d, f)| (d.source.clone(), (d.content_hash.clone(), f.clone())))
            .collect();
    }

    Ok(Outcome {
        links,
        tokenized,
        vectors,
    })
}

pub fn round4(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

/// `enishi related --json`: posts in path order, related in rank order.
#[derive(serde::Serialize)]
pub struct JsonPost {
    pub path: String,
    pub url: String,
    pub title: String,
    pub related: Vec<JsonRelated>,
}

#[derive(serde::Serialize)]
pub struct JsonRelated {
    pub path: String,
    pub url: String,
    pub title: String,
    pub score: f64,
}

pub fn json_report(site: &Site, model: &SiteModel, outcome: &Outcome) -> Vec<JsonPost> {
    let url = |i: usize| site.url(&crate::util::encode_path(&model.posts[i].path));
    let mut out: Vec<JsonPost> = model
        .posts
        .iter()
        .enumerate()
        .map(|(i, e)| JsonPost {
            path: e.doc.source.clone(),
            url: url(i),
            title: e.doc.front.title.clone(),
            related: outcome.links[i]
                .iter()
                .map(|r| JsonRelated {
                    path: model.posts[r.post].doc.source.clone(),
                    url: url(r.post),
                    title: model.posts[r.post].doc.front.title.clone(),
                    score: round4(r.score),
                })
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Lines explaining one post's related list: each neighbour with the shared terms
/// that contributed most to its score.
pub fn explain(model: &SiteModel, outcome: &Outcome, index: usize) -> Vec<String> {
    let post = &model.posts[index];
    let mut lines = vec![format!("{} — {}", post.doc.source, post.doc.front.title)];
    if outcome.links[index].is_empty() {
        lines.push("  (no related posts above min_score)".into());
    }
    for (rank, r) in outcome.links[index].iter().enumerate() {
        let other = &model.posts[r.post];
        lines.push(format!(
            "{:>2}. {:.4}  {} — {}",
            rank + 1,
            r.score,
            other.doc.source,
            other.doc.front.title
        ));
        let terms: Vec<String> = tfidf::shared_terms(&outcome.vectors, index, r.post, 8)
            .into_iter()
            .map(|(t, w)| format!("{t} ({w:.4})"))
            .collect();
        lines.push(format!("      {}", terms.join(", ")));
    }
    lines
}
