//! `enishi deploy`: the last stage. Syncs a finished build to an S3 bucket by
//! content and tells CloudFront to forget exactly the URLs whose bytes changed.
//!
//! - `local`: the output folder, refused unless its last write finished; MD5 of
//!   every file.
//! - `remote`: the bucket and the CDN through the AWS SDK (list, compare metadata,
//!   upload, delete, invalidate), every failure as one line.
//! - `plan`: what goes up in which order, what is deleted, which paths are
//!   invalidated (pure, unit-tested).
//! - `headers`: Content-Type and Cache-Control for each key.
//!
//! The order keeps the live site whole at every moment: assets, then pages, then
//! feeds and the sitemap, and deletions only after every upload succeeded, so a
//! deploy that dies halfway leaves nothing missing, and running it again converges.

mod headers;
mod local;
mod plan;
mod remote;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::config::Site;
use crate::report::Reporter;
pub use headers::Headers;
use plan::{Comparison, Phase, Plan, Upload};
use remote::Remote;

/// Test-only: stop the process after this many uploads (to check that a deploy
/// killed halfway deleted nothing and that the next one converges).
const STOP_AFTER_ENV: &str = "ENISHI_TEST_STOP_AFTER_UPLOADS";

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub source: PathBuf,
    /// The built site (default: `<source>/public`).
    pub output: Option<PathBuf>,
    pub dry_run: bool,
    /// Upload every file, changed or not (after changing header rules).
    pub force: bool,
    pub max_deletes: usize,
    pub invalidate: bool,
    pub wait: bool,
}

/// What a deploy did (or, with `--dry-run`, would do). Serialized as `--json`.
#[derive(Debug, Serialize)]
pub struct DeployReport {
    pub uploaded: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
    pub bytes_uploaded: u64,
    pub invalidation: Option<Invalidation>,
    pub dry_run: bool,
    #[serde(skip)]
    pub target: String,
    #[serde(skip)]
    pub requests: usize,
}

#[derive(Debug, Serialize)]
pub struct Invalidation {
    /// Empty on a dry run.
    pub id: String,
    pub paths: Vec<String>,
}

pub fn deploy(opts: &DeployOptions, reporter: &Reporter) -> Result<DeployReport> {
    let site = Site::load(&opts.source, None)?;
    let config = site.config.deploy.clone().ok_or_else(|| {
        anyhow!(
            "{}: no [deploy] section; add one with target = \"s3://bucket\" (see the README)",
            site.root.join(crate::config::CONFIG_FILE).display()
        )
    })?;
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| site.root.join("public"));
    if !site.cache_path().exists() {
        return Err(anyhow!(
            "{}: no finished build of it is recorded (no cache at {}); run `enishi build` and deploy again",
            output.display(),
            site.cache_path().display()
        ));
    }
    let store = crate::pipeline::open_cache(&site, reporter)?;
    local::check_complete(&store, &output)?;
    drop(store);
    let rules = headers::Rules::new(&config)?;
    let keep = headers::keep_set(&config)?;
    let files = local::scan(&output)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let remote = Remote::connect(&config).await?;
        let listed = remote.list().await?;
        // Same size, but an ETag that is not an MD5: the metadata decides.
        let ask: Vec<String> = if opts.force {
            Vec::new()
        } else {
            files
                .iter()
                .filter(|f| plan::compare(f, listed.get(&f.rel)) == Comparison::AskMetadata)
                .map(|f| f.rel.clone())
                .collect()
        };
        let md5_of: std::collections::HashMap<&str, String> =
            files.iter().map(|f| (f.rel.as_str(), f.md5_hex())).collect();
        let recorded = bounded(&remote, ask, config.concurrency, |remote, rel| async move {
            let md5 = remote.recorded_md5(&rel).await?;
            Ok((rel, md5))
        })
        .await?;
        let changed: BTreeSet<String> = recorded
            .into_iter()
            .filter(|(rel, md5)| md5.as_deref() != md5_of.get(rel.as_str()).map(String::as_str))
            .map(|(rel, _)| rel)
            .collect();
        let plan = Plan::new(files, &listed, &changed, |k| keep.is_match(k), opts.force);
        if plan.deletes.len() > opts.max_deletes {
            return Err(anyhow!(
                "{}: refusing to delete {} objects (more than --max-deletes {}); nothing was changed. Check the target and the build, then pass --max-deletes {} if this is intended",
                remote.target.display(),
                plan.deletes.len(),
                opts.max_deletes,
                plan.deletes.len()
            ));
        }
        let stale = plan::collapse(
            plan.stale_paths(&site.base_path),
            config.max_invalidation_paths,
            &site.base_path,
        );
        let distribution = config
            .cloudfront_distribution_id
            .as_deref()
            .filter(|_| opts.invalidate && !stale.is_empty());
        let mut report = DeployReport {
            uploaded: plan.uploads.iter().map(|u| u.file.rel.clone()).collect(),
            deleted: plan.deletes.clone(),
            unchanged: plan.unchanged,
            bytes_uploaded: plan.bytes(),
            invalidation: distribution.map(|_| Invalidation {
                id: String::new(),
                paths: stale.clone(),
            }),
            dry_run: opts.dry_run,
            target: remote.target.display(),
            requests: 0,
        };
        if opts.dry_run {
            report.requests = remote.requests();
            return Ok(report);
        }
        let bar = reporter.progress_bar(plan.uploads.len(), 50, "uploading");
        upload_in_phases(&remote, &output, &plan, &rules, config.concurrency, bar.clone()).await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        remote.delete(&plan.deletes).await?;
        if let (Some(distribution), Some(invalidation)) = (distribution, &mut report.invalidation) {
            invalidation.id = remote.invalidate(distribution, &stale).await?;
            if opts.wait {
                remote.wait_invalidated(distribution, &invalidation.id).await?;
            }
        }
        report.requests = remote.requests();
        Ok(report)
    })
}

/// Uploads phase by phase, each finished before the next starts.
async fn upload_in_phases(
    remote: &Remote,
    output: &Path,
    plan: &Plan,
    rules: &headers::Rules,
    concurrency: usize,
    bar: Option<indicatif::ProgressBar>,
) -> Result<()> {
    let stop_after: Option<usize> = std::env::var(STOP_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for phase in [Phase::Assets, Phase::Pages, Phase::Feeds] {
        let jobs: Vec<(Upload, Headers)> = plan
            .uploads
            .iter()
            .filter(|u| plan::phase(&u.file.rel) == phase)
            .map(|u| (u.clone(), rules.for_key(&u.file.rel)))
            .collect();
        let output = output.to_path_buf();
        let done = done.clone();
        let bar = bar.clone();
        bounded(
            remote,
            jobs,
            concurrency,
            move |remote, (upload, headers)| {
                let output = output.clone();
                let done = done.clone();
                let bar = bar.clone();
                async move {
                    remote.upload(&output, &upload.file, &headers).await?;
                    if let Some(bar) = &bar {
                        bar.inc(1);
                    }
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    if stop_after == Some(n) {
                        std::process::exit(86);
                    }
                    Ok(())
                }
            },
        )
        .await?;
    }
    Ok(())
}

/// Runs `task` on every item, at most `limit` at once; the first error stops the
/// rest and is returned.
async fn bounded<T, R, F, Fut>(
    remote: &Remote,
    items: Vec<T>,
    limit: usize,
    task: F,
) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Remote, T) -> Fut,
    Fut: std::future::Future<Output = Result<R>> + Send + 'static,
{
    let mut running = JoinSet::new();
    let mut results = Vec::with_capacity(items.len());
    let mut collect = |joined: Result<Result<R>, tokio::task::JoinError>| -> Result<()> {
        results.push(joined.map_err(|e| anyhow!("a deploy task failed: {e}"))??);
        Ok(())
    };
    for item in items {
        if running.len() >= limit
            && let Some(joined) = running.join_next().await
            && let Err(e) = collect(joined)
        {
            running.abort_all();
            return Err(e);
        }
        running.spawn(task(remote.clone(), item));
    }
    while let Some(joined) = running.join_next().await {
        if let Err(e) = collect(joined) {
            running.abort_all();
            return Err(e);
        }
    }
    Ok(results)
}

impl DeployReport {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        let mb = self.bytes_uploaded as f64 / (1024.0 * 1024.0);
        let (verb, deleted) = if self.dry_run {
            ("would upload", "would delete")
        } else {
            ("uploaded", "deleted")
        };
        let invalidated = match &self.invalidation {
            Some(i) if self.dry_run => format!("would invalidate {} paths", i.paths.len()),
            Some(i) => format!("invalidated {} paths ({})", i.paths.len(), i.id),
            None => "invalidated nothing".into(),
        };
        format!(
            "{verb} {} ({mb:.1} MB), {deleted} {}, unchanged {}, {invalidated} at {} in {} requests",
            self.uploaded.len(),
            self.deleted.len(),
            self.unchanged,
            self.target,
            self.requests
        )
    }
}
