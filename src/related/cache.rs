//! The related stage's cache table: term counts per post, keyed by path, content
//! hash and the analysis fingerprint (dictionaries and stopwords).

use std::collections::HashMap;

use anyhow::Result;
use rayon::prelude::*;
use rusqlite::params;

use super::tfidf::DocFeatures;
use crate::store::{Store, Tables};

pub const TABLES: Tables = Tables {
    owner: "related",
    migrations: &[
        "CREATE TABLE IF NOT EXISTS analysis (
             path TEXT PRIMARY KEY,
             content_hash TEXT NOT NULL,
             fingerprint TEXT NOT NULL,
             features TEXT NOT NULL
         )",
        // The related lists were written on every build and never read.
        "DROP TABLE IF EXISTS related",
    ],
};

pub struct CachedAnalysis {
    pub content_hash: String,
    pub features: DocFeatures,
}

/// One post's analysis, to be saved.
pub struct AnalysisRow<'a> {
    pub path: &'a str,
    pub content_hash: &'a str,
    pub features: &'a DocFeatures,
}

/// Cached analyses made under `fingerprint`, by path.
pub fn load(store: &Store, fingerprint: &str) -> Result<HashMap<String, CachedAnalysis>> {
    let rows = store.text_triples(
        "SELECT path, content_hash, features FROM analysis WHERE fingerprint = ?1",
        fingerprint,
    )?;
    // Decoding is most of the time here, and each row decodes on its own.
    Ok(rows
        .into_par_iter()
        .filter_map(|(path, content_hash, json)| {
            // A row that does not decode is treated as missing and redone.
            let features = serde_json::from_str(&json).ok()?;
            Some((
                path,
                CachedAnalysis {
                    content_hash,
                    features,
                },
            ))
        })
        .collect())
}

/// Saves new analyses in one transaction.
pub fn save(store: &mut Store, fingerprint: &str, analyses: &[AnalysisRow]) -> Result<()> {
    if analyses.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        let mut put = tx.prepare_cached(
            "INSERT INTO analysis (path, content_hash, fingerprint, features)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(path) DO UPDATE SET content_hash = excluded.content_hash,
                 fingerprint = excluded.fingerprint, features = excluded.features",
        )?;
        for a in analyses {
            put.execute(params![
                a.path,
                a.content_hash,
                fingerprint,
                serde_json::to_string(a.features)?
            ])?;
        }
        Ok(())
    })
}
