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
//! The order keeps the live site whole at every moment: assets, then new pages,
//! then replaced pages, then feeds and the sitemap, and deletions only after every
//! upload succeeded, so a deploy that dies halfway leaves nothing missing. Before
//! changing anything, the paths it will owe the CDN are recorded in the bucket
//! (`remote::PENDING_KEY`); the next deploy invalidates them too, so running it
//! again converges for the CDN as well as the bucket.

mod headers;
mod local;
mod plan;
mod remote;

use std::collections::{BTreeSet, HashMap};
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
    /// On a dry run over `--max-deletes`: the limit a real deploy would refuse at.
    #[serde(skip)]
    pub refused_deletes: Option<usize>,
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
    check_output(&site, &output, reporter)?;
    let rules = headers::Rules::new(&config)?;
    let keep = headers::keep_set(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Credentials and the bucket first: a wrong setting fails before any work.
        let remote = Remote::connect(&config).await?;
        let listing = remote.list().await?;
        let files = local::scan(&output)?;
        let recorded = recorded_md5s(&remote, &files, &listing, opts.force, config.concurrency).await?;
        let plan = Plan::new(files, &listing.objects, &recorded, |k| keep.is_match(k), opts.force);
        let refused = plan.deletes.len() > opts.max_deletes;
        if refused && !opts.dry_run {
            return Err(anyhow!(
                "{}: refusing to delete {} objects (more than --max-deletes {}); nothing was changed. Check the target and the build, then pass --max-deletes {} if this is intended",
                remote.target.display(),
                plan.deletes.len(),
                opts.max_deletes,
                plan.deletes.len()
            ));
        }
        // What the CDN may hold old copies of: this deploy's, and what a deploy that
        // died before invalidating still owes.
        let mut owed: BTreeSet<String> = plan.stale_paths(&site.base_path).into_iter().collect();
        if listing.pending {
            owed.extend(remote.read_pending().await?);
        }
        let owed: Vec<String> = owed.into_iter().collect();
        let distribution = config
            .cloudfront_distribution_id
            .as_deref()
            .filter(|_| opts.invalidate && !owed.is_empty());
        let paths = plan::collapse(owed.clone(), config.max_invalidation_paths, &site.base_path);
        let mut report = DeployReport {
            uploaded: plan.uploads.iter().map(|u| u.file.rel.clone()).collect(),
            deleted: plan.deletes.clone(),
            unchanged: plan.unchanged,
            bytes_uploaded: plan.bytes(),
            invalidation: distribution.map(|_| Invalidation {
                id: String::new(),
                paths: paths.clone(),
            }),
            dry_run: opts.dry_run,
            target: remote.target.display(),
            requests: 0,
            refused_deletes: refused.then_some(opts.max_deletes),
        };
        if opts.dry_run {
            report.requests = remote.requests();
            return Ok(report);
        }
        if distribution.is_some() {
            remote.write_pending(&owed).await?;
        }
        let bar = reporter.progress_bar(plan.uploads.len(), 50, "uploading");
        upload_in_phases(&remote, &output, &plan, &rules, config.concurrency, bar.clone()).await?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        remote.delete(&plan.deletes).await?;
        if let (Some(distribution), Some(invalidation)) = (distribution, &mut report.invalidation) {
            invalidation.id = remote.invalidate(distribution, &paths).await?;
            remote.clear_pending().await?;
            if opts.wait {
                remote.wait_invalidated(distribution, &invalidation.id).await?;
            }
        }
        report.requests = remote.requests();
        Ok(report)
    })
}

/// Refuses an output no finished build is recorded for. Opening the cache to ask
/// never writes a table of deploy's.
fn check_output(site: &Site, output: &Path, reporter: &Reporter) -> Result<()> {
    if !site.cache_path().exists() {
        return Err(anyhow!(
            "{}: no build of it is recorded (no cache at {}); run `enishi build` and deploy again",
            output.display(),
            site.cache_path().display()
        ));
    }
    let store = crate::pipeline::open_cache(site, reporter)?;
    local::check_complete(&store, output)
}

/// For each file whose comparison needs it (same size, an ETag that is not the
/// file's MD5: multipart, SSE-KMS, or simply other bytes), the MD5 recorded in
/// the object's metadata, by one HEAD request each.
async fn recorded_md5s(
    remote: &Remote,
    files: &[plan::LocalFile],
    listing: &remote::Listing,
    force: bool,
    concurrency: usize,
) -> Result<HashMap<String, Option<String>>> {
    if force {
        return Ok(HashMap::new());
    }
    let ask: Vec<String> = files
        .iter()
        .filter(|f| plan::compare(f, listing.objects.get(&f.rel)) == Comparison::AskMetadata)
        .map(|f| f.rel.clone())
        .collect();
    let found = bounded(remote, ask, concurrency, |remote, rel| async move {
        let md5 = remote.recorded_md5(&rel).await?;
        Ok((rel, md5))
    })
    .await?;
    Ok(found.into_iter().collect())
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
    for phase in Phase::ALL {
        let jobs: Vec<(Upload, Headers)> = plan
            .uploads
            .iter()
            .filter(|u| u.phase() == phase)
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

/// Runs `task` on every item, at most `limit` at once. After the first error no
/// new task starts, but the running ones finish (an interrupted multipart upload
/// must get to abort itself); then the first error is returned.
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
    let mut first_error: Option<anyhow::Error> = None;
    let mut settle = |joined: Result<Result<R>, tokio::task::JoinError>,
                      first_error: &mut Option<anyhow::Error>| {
        match joined
            .map_err(|e| anyhow!("a deploy task failed: {e}"))
            .and_then(|r| r)
        {
            Ok(r) => results.push(r),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    };
    for item in items {
        while running.len() >= limit {
            if let Some(joined) = running.join_next().await {
                settle(joined, &mut first_error);
            }
        }
        if first_error.is_some() {
            break;
        }
        running.spawn(task(remote.clone(), item));
    }
    while let Some(joined) = running.join_next().await {
        settle(joined, &mut first_error);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

impl DeployReport {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        let mb = self.bytes_uploaded as f64 / 1e6;
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
