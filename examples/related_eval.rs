//! Measures related-post quality on a labelled corpus (one folder per category,
//! files `<category>-<id>.txt`: URL, date, title, body), such as the livedoor news
//! corpus. Builds a temporary site from the first N articles of each category,
//! runs the same analysis as `enishi related --json`, and prints precision@k:
//! the share of each post's k related posts that come from its own category
//! (a missing slot counts as a miss). The category is never a feature.
//!
//!     cargo run --release --example related_eval -- CORPUS_DIR [PER_CATEGORY] [K] [SKIP]
//!
//! SKIP leaves out the first SKIP articles of each category, to measure on a
//! sample the method was not tuned on.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use enishi::pipeline::{BuildOptions, load_and_analyze};
use enishi::related::json_report;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let corpus = PathBuf::from(args.first().ok_or_else(|| {
        anyhow!("usage: related_eval CORPUS_DIR [PER_CATEGORY=100] [K=5] [SKIP=0]")
    })?);
    let per_category: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let k: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let skip: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(0);

    let site = tempfile::tempdir()?;
    let count = write_site(&corpus, site.path(), per_category, k, skip)?;
    let started = std::time::Instant::now();
    let analyzed = load_and_analyze(
        &BuildOptions {
            source: site.path().to_path_buf(),
            drafts: true,
            ..Default::default()
        },
        &enishi::report::Reporter::new(true),
    )?;
    let elapsed = started.elapsed();
    let report = json_report(&analyzed.site, &analyzed.model, &analyzed.related);

    let category = |path: &str| -> String {
        let name = path.rsplit('/').next().unwrap_or("");
        name.split("__").next().unwrap_or("").to_string()
    };
    let mut hits = 0usize;
    let mut per_cat: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for post in &report {
        let own = category(&post.path);
        let h = post
            .related
            .iter()
            .take(k)
            .filter(|r| category(&r.path) == own)
            .count();
        hits += h;
        let e = per_cat.entry(own).or_default();
        e.0 += h;
        e.1 += k;
    }
    for (cat, (h, n)) in &per_cat {
        println!("{cat:<16} precision@{k} {:.3}", *h as f64 / *n as f64);
    }
    println!(
        "posts {count}, precision@{k} {:.4}, analysis {:.2} s",
        hits as f64 / (report.len() * k) as f64,
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// Writes `site.toml` and one post per article; the category is kept only in the
/// file name (which the analysis never reads) so it can be scored afterwards.
fn write_site(
    corpus: &Path,
    site: &Path,
    per_category: usize,
    k: usize,
    skip: usize,
) -> Result<usize> {
    std::fs::write(
        site.join("site.toml"),
        format!(
            "title = \"eval\"\n[related]\ncount = {k}\nmin_score = 0.0\n{}",
            std::env::var("EVAL_EXTRA")
                .unwrap_or_default()
                .replace("\\n", "\n")
        ),
    )?;
    let posts = site.join("content/posts");
    std::fs::create_dir_all(&posts)?;
    let mut categories: Vec<PathBuf> = std::fs::read_dir(corpus)
        .with_context(|| format!("{}: cannot read corpus", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    categories.sort();
    let mut count = 0;
    for dir in categories {
        let cat = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "txt")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&cat))
            })
            .collect();
        files.sort();
        for (i, f) in files.iter().skip(skip).take(per_category).enumerate() {
            let text = std::fs::read_to_string(f)?;
            let mut lines = text.lines();
            let _url = lines.next();
            let date = lines.next().unwrap_or("2012-01-01T00:00:00+0900").trim();
            let title = lines.next().unwrap_or("").trim().replace('"', "'");
            let body: Vec<&str> = lines.collect();
            let date = normalize_offset(date);
            std::fs::write(
                posts.join(format!("{cat}__{i:04}.md")),
                format!(
                    "---\ntitle: \"{}\"\ndate: {date}\nslug: p{count}\n---\n\n{}\n",
                    title.replace('\\', ""),
                    body.join("\n\n")
                ),
            )?;
            count += 1;
        }
    }
    Ok(count)
}

/// `2012-01-01T12:00:00+0900` → `…+09:00`.
fn normalize_offset(d: &str) -> String {
    if d.len() > 5 {
        let (head, tail) = d.split_at(d.len() - 5);
        if (tail.starts_with('+') || tail.starts_with('-'))
            && tail[1..].chars().all(|c| c.is_ascii_digit())
        {
            return format!("{head}{}:{}", &tail[..3], &tail[3..]);
        }
    }
    d.to_string()
}
