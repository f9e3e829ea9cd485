//! Runs the stages in order: load → parse → enrich → analyze → render, then
//! [`publish`] checks the result and hands it to a [`Destination`] (the disk for
//! `build`, memory for `serve`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;

use crate::audit;
use crate::config::Site;
use crate::enrich::fetch::LazyFetcher;
use crate::enrich::{Mode, cards, images};
use crate::inputs;
use crate::model::{self, ModelOptions, SiteModel};
use crate::output::{Destination, Disk, WriteSummary, incremental};
use crate::related;
use crate::render::{OutputFile, Renderer};
use crate::report::{Reporter, Warning, WarningKind};
use crate::store::Store;
use crate::theme::{self, StaticSource, Theme};

/// Every stage's cache tables, brought up to date when the cache is opened.
pub const CACHE_TABLES: [&crate::store::Tables; 4] = [
    &related::cache::TABLES,
    &cards::TABLES,
    &images::TABLES,
    &crate::output::incremental::TABLES,
];

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The site folder (holding site.toml).
    pub source: PathBuf,
    /// Output folder; default `<source>/public`.
    pub output: Option<PathBuf>,
    pub base_url: Option<String>,
    /// Include drafts and future-dated posts.
    pub drafts: bool,
    /// Overrides "now" when deciding which posts are in the future.
    pub now: Option<DateTime<FixedOffset>>,
    /// How link cards and images may use the network.
    pub links: Mode,
    /// Fail the build (leaving the old output in place) when there are warnings.
    pub strict: bool,
    /// Empty the output folder and write every file (`build --clean`).
    pub clean: bool,
}

#[derive(Debug)]
pub struct BuildReport {
    pub output: PathBuf,
    pub pages: usize,
    pub files: usize,
    pub posts: usize,
    pub skipped: usize,
    pub tokenized: usize,
    /// HTTP requests made for link cards.
    pub link_requests: usize,
    /// HTTP requests made for remote images.
    pub image_requests: usize,
    /// Image variants encoded (zero when every one came from the cache).
    pub images_encoded: usize,
    /// Bytes of the remote originals used, and of the largest copy made of each.
    pub image_bytes: (u64, u64),
    /// What the write changed in the destination.
    pub written: WriteSummary,
    /// Nothing had changed since the last build: nothing was generated or written.
    pub up_to_date: bool,
    pub warnings: Vec<Warning>,
    /// What the user should know that is not a warning (a Hugo configuration's
    /// ignored settings).
    pub notes: Vec<String>,
    pub elapsed: Duration,
}

/// Everything up to rendering: what `build`, `related` and `serve` share.
pub struct Analyzed {
    pub site: Site,
    pub model: SiteModel,
    pub related: related::Outcome,
    /// The open cache, for the stages after analysis.
    pub store: Store,
}

/// What `enishi serve` keeps between rebuilds so an edit re-does only what changed.
#[derive(Default)]
pub struct Warm {
    pub docs: crate::content::Memo,
    pub related: related::Memo,
    /// The last computed related lists. With `defer_related`, a rebuild shows these
    /// and sets `related_stale`, so the caller can compute fresh ones right after
    /// the page has reloaded (for 10,000 posts that is half a second saved per save).
    pub lists: Option<related::ListsByPath>,
    pub defer_related: bool,
    pub related_stale: bool,
}

/// Opens the site's cache, every stage's tables up to date. A damaged or foreign
/// file moved aside is a warning.
pub fn open_cache(site: &Site, reporter: &Reporter) -> Result<Store> {
    let (store, moved) = Store::open_for(site, &CACHE_TABLES)?;
    if let Some(message) = moved {
        reporter.warn(Warning::new(
            WarningKind::Cache,
            store.shown(),
            None,
            message,
        ));
    }
    Ok(store)
}

pub fn load_and_analyze(opts: &BuildOptions, reporter: &Reporter) -> Result<Analyzed> {
    load_and_analyze_with(opts, None, None, reporter)
}

/// `opened`: the site and its cache when the caller has them already.
fn load_and_analyze_with(
    opts: &BuildOptions,
    warm: Option<&mut Warm>,
    opened: Option<(Site, Store)>,
    reporter: &Reporter,
) -> Result<Analyzed> {
    let mut t = reporter.timer();
    let (site, mut store) = match opened {
        Some(opened) => opened,
        None => {
            let site = Site::load(&opts.source, opts.base_url.as_deref())?;
            let store = open_cache(&site, reporter)?;
            (site, store)
        }
    };
    let (docs, warm) = match warm {
        Some(w) => (crate::content::load_with(&site, &mut w.docs)?, Some(w)),
        None => (crate::content::load(&site)?, None),
    };
    t.stage("load");
    let now = opts.now.unwrap_or_else(|| Utc::now().fixed_offset());
    let mut model = model::build(
        &site,
        docs,
        &ModelOptions {
            drafts: opts.drafts,
            now,
        },
    )?;
    reporter.extend(std::mem::take(&mut model.warnings));
    t.stage("model");
    let related = match warm {
        Some(w) if w.defer_related && w.lists.is_some() => {
            let outcome = w
                .lists
                .as_ref()
                .map(|lists| related::reuse(&model, lists))
                .unwrap_or_default();
            w.related_stale = true;
            outcome
        }
        Some(w) => {
            let outcome =
                related::compute_with(&site, &model, reporter, &mut store, Some(&mut w.related))?;
            w.lists = Some(outcome.lists_by_path(&model));
            w.related_stale = false;
            outcome
        }
        None => related::compute_with(&site, &model, reporter, &mut store, None)?,
    };
    t.stage("related");
    Ok(Analyzed {
        site,
        model,
        related,
        store,
    })
}

/// The whole site, rendered, not yet checked or written anywhere.
pub struct Generated {
    pub site: Site,
    /// Rendered pages (HTML, XML, text) by output path.
    pub pages: Vec<OutputFile>,
    /// Files copied as they are (theme and site static files, bundle files, images).
    pub files: BTreeMap<String, StaticSource>,
    pub report: BuildReport,
    /// What `--offline` could not take from the cache.
    pub uncached: Uncached,
    /// When the first post left out for its future date comes due (Unix seconds).
    pub next_due: Option<i64>,
    /// When the first card or image used stops being fresh (Unix seconds).
    pub first_expiry: Option<i64>,
}

/// Link cards and images missing from the cache, for `serve` to fetch in the background.
#[derive(Debug, Clone, Default)]
pub struct Uncached {
    pub cards: Vec<String>,
    pub images: Vec<images::ImageUse>,
}

impl Uncached {
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty() && self.images.is_empty()
    }
}

/// Mixed-content warnings for rendered pages and the stylesheets among `files`.
pub fn audit(
    pages: &[&OutputFile],
    files: &BTreeMap<String, StaticSource>,
) -> Result<Vec<Warning>> {
    let mut warnings: Vec<Warning> = pages
        .par_iter()
        .filter(|p| p.path.ends_with(".html"))
        .map(|p| audit::mixed_content_html(&p.path, &String::from_utf8_lossy(&p.bytes)))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    for (rel, src) in files {
        if rel.ends_with(".css") {
            let css = match src {
                StaticSource::File(path) => std::fs::read(path)
                    .with_context(|| format!("{}: cannot read", path.display()))?,
                StaticSource::Builtin(bytes) => bytes.to_vec(),
            };
            warnings.extend(audit::mixed_content_css(
                rel,
                &String::from_utf8_lossy(&css),
            ));
        }
    }
    Ok(warnings)
}

/// Fetches what a build could not take from the cache; returns the requests made.
pub fn fetch_uncached(
    opts: &BuildOptions,
    uncached: &Uncached,
    reporter: &Reporter,
) -> Result<usize> {
    let site = Site::load(&opts.source, opts.base_url.as_deref())?;
    let fetcher = LazyFetcher::new(&site);
    let mut store = open_cache(&site, reporter)?;
    let mut requests = cards::prefetch(&site, &mut store, &fetcher, &uncached.cards, reporter)?;
    if site.config.images.enabled && !uncached.images.is_empty() {
        requests += images::resolve(
            &site,
            &mut store,
            &fetcher,
            &uncached.images,
            Mode::Online,
            reporter,
        )?
        .requests;
    }
    Ok(requests)
}

/// `enishi build`: unless nothing changed since the last build into the same
/// folder, generate, then check and write into the output folder.
pub fn build(opts: &BuildOptions, reporter: &Reporter) -> Result<BuildReport> {
    let started = Instant::now();
    let output = output_folder(opts);
    let site = Site::load(&opts.source, opts.base_url.as_deref())?;
    check_output_folder(&site, &output)?;
    Disk::recover(&output);
    let files = inputs::of_files(&site, &options_key(opts, &output));
    let notes = site.notes.clone();
    // One connection for the whole build.
    let store = open_cache(&site, reporter)?;
    if !opts.clean
        && let Some(mut report) = up_to_date(&store, opts, &output, &files, reporter)?
    {
        check_strict(opts.strict, &report.warnings)?;
        report.elapsed = started.elapsed();
        report.notes = notes;
        return Ok(report);
    }
    let (generated, store) = generate_with(opts, None, Some((site, store)), reporter)?;
    let next_due = match opts.links {
        // Offline, an expired card is used as it is: only posts come due.
        Mode::Online => [generated.next_due, generated.first_expiry]
            .into_iter()
            .flatten()
            .min(),
        Mode::Offline | Mode::Refresh => generated.next_due,
    };
    let mut disk = Disk::new(&output, store, opts.clean);
    let mut report = publish(generated, &mut disk, opts.strict, reporter)?;
    remember(disk.store(), &output, &files, next_due, &report)?;
    report.elapsed = started.elapsed();
    report.notes = notes;
    Ok(report)
}

/// The output folder is emptied of whatever the build does not produce, so it must
/// not be (or hold, or sit inside) the site's own files.
fn check_output_folder(site: &Site, output: &Path) -> Result<()> {
    let absolute = |p: &Path| -> PathBuf {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        // Resolve what exists (symbolic links, `..`); keep the rest as written.
        p.canonicalize().unwrap_or(p)
    };
    let out = absolute(output);
    let root = absolute(&site.root);
    let cache_dir = absolute(site.cache_path().parent().unwrap_or(&site.root));
    let inside_sources = ["content", "static", "templates", "themes", "dictionaries"]
        .iter()
        .any(|d| out.starts_with(root.join(d)));
    if root.starts_with(&out) || cache_dir.starts_with(&out) || inside_sources {
        return Err(anyhow!(
            "{}: the output folder would hold the site's own files (site.toml, content/, the cache), and a build removes whatever it does not produce there; choose a folder of its own such as public/",
            output.display()
        ));
    }
    Ok(())
}

/// What the build options change in the output, as part of the inputs' fingerprint.
/// `--refresh-links` is never up to date, so it needs no place here.
fn options_key(opts: &BuildOptions, output: &Path) -> String {
    format!(
        "drafts={};base_url={:?};links={:?};output={};now={:?}",
        opts.drafts,
        opts.base_url,
        opts.links,
        output.display(),
        opts.now
    )
}

/// What a later build needs to say it is up to date: the counts and warnings it
/// repeats.
#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    pages: usize,
    files: usize,
    posts: usize,
    skipped: usize,
    warnings: Vec<Warning>,
}

/// The report of the last build into `output`, if nothing it was made from has
/// changed since, no post has come due and no cached card expired, and the folder
/// still holds exactly what it wrote.
fn up_to_date(
    store: &Store,
    opts: &BuildOptions,
    output: &Path,
    files: &str,
    reporter: &Reporter,
) -> Result<Option<BuildReport>> {
    if opts.links == Mode::Refresh || !output.is_dir() {
        return Ok(None);
    }
    let Some(last) = incremental::last_build(store, output)? else {
        return Ok(None);
    };
    let now = opts
        .now
        .map_or_else(|| Utc::now().timestamp(), |d| d.timestamp());
    let fingerprint = format!("{files}|{}", inputs::of_cache(store)?);
    if last.inputs != fingerprint || last.due_at.is_some_and(|due| due <= now) {
        return Ok(None);
    }
    let Ok(remembered) = serde_json::from_str::<Remembered>(&last.summary) else {
        return Ok(None);
    };
    if !incremental::verify(store, output)? {
        return Ok(None);
    }
    // This run's own warnings (opening the cache) come first, as in a full build.
    let mut warnings = reporter.take_warnings();
    warnings.extend(remembered.warnings);
    Ok(Some(BuildReport {
        output: output.to_path_buf(),
        pages: remembered.pages,
        files: remembered.files,
        posts: remembered.posts,
        skipped: remembered.skipped,
        tokenized: 0,
        link_requests: 0,
        image_requests: 0,
        images_encoded: 0,
        image_bytes: (0, 0),
        written: WriteSummary {
            unchanged: remembered.files,
            ..WriteSummary::default()
        },
        up_to_date: true,
        warnings,
        notes: Vec::new(),
        elapsed: Duration::ZERO,
    }))
}

/// Records what this build was made from, for the next build's [`up_to_date`].
fn remember(
    store: &mut Store,
    output: &Path,
    files: &str,
    next_due: Option<i64>,
    report: &BuildReport,
) -> Result<()> {
    let due_at = next_due;
    let summary = serde_json::to_string(&Remembered {
        pages: report.pages,
        files: report.files,
        posts: report.posts,
        skipped: report.skipped,
        // What opening the cache said belongs to that run, not to the site.
        warnings: report
            .warnings
            .iter()
            .filter(|w| w.kind != WarningKind::Cache)
            .cloned()
            .collect(),
    })?;
    let last = incremental::LastBuild {
        inputs: format!("{files}|{}", inputs::of_cache(store)?),
        due_at,
        summary,
    };
    incremental::record_build(store, output, &last)
}

/// `--strict`: any warning fails the build, naming them all.
fn check_strict(strict: bool, warnings: &[Warning]) -> Result<()> {
    if strict && !warnings.is_empty() {
        let listed: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        return Err(anyhow!(
            "--strict: {} warning(s) ({}), so the build stopped and the output was left as it was: {}",
            warnings.len(),
            crate::report::count_by_kind(warnings),
            listed.join(" | ")
        ));
    }
    Ok(())
}

/// Checks a generated site and hands it to `destination` (the disk, or `serve`'s
/// memory). Pages the destination already holds with the same bytes were checked
/// when they got there and are not audited again. With `strict`, any warning stops
/// here and the destination keeps what it had.
pub fn publish(
    generated: Generated,
    destination: &mut dyn Destination,
    strict: bool,
    reporter: &Reporter,
) -> Result<BuildReport> {
    let mut t = reporter.timer();
    let Generated {
        pages,
        files,
        mut report,
        ..
    } = generated;
    let unchecked: Vec<&OutputFile> = pages
        .iter()
        .filter(|p| !destination.holds(&p.path, &p.bytes))
        .collect();
    reporter.extend(audit(&unchecked, &files)?);
    t.stage("audit");
    report.warnings = reporter.take_warnings();
    check_strict(strict, &report.warnings)?;
    report.written = destination.replace(pages, files)?;
    t.stage("write");
    Ok(report)
}

/// Load → parse → enrich → analyze → render, all in memory. `warm` carries parsed
/// documents and term counts from the previous run (for `serve`).
pub fn generate(
    opts: &BuildOptions,
    warm: Option<&mut Warm>,
    reporter: &Reporter,
) -> Result<Generated> {
    generate_with(opts, warm, None, reporter).map(|(generated, _)| generated)
}

/// [`generate`], also handing back the open cache (for the write stage's manifest).
/// The address `enishi init` writes is a placeholder: feeds, canonical links and
/// share images built with it point at someone else's domain.
fn example_base_url(site: &Site) -> Option<Warning> {
    let host = url::Url::parse(&site.configured_base_url)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    let placeholder = ["example.com", "example.org", "example.net"]
        .iter()
        .any(|e| host == *e || host.ends_with(&format!(".{e}")));
    if !placeholder {
        return None;
    }
    let file = site.config_files.first()?;
    let shown = crate::util::display_rel(&site.root, file);
    let line = std::fs::read_to_string(file).ok().and_then(|t| {
        t.lines()
            .position(|l| l.trim_start().to_ascii_lowercase().starts_with("base"))
            .map(|i| i + 1)
    });
    Some(Warning::new(
        WarningKind::Content,
        &shown,
        line,
        format!(
            "base_url is still the example address {}: feeds, canonical links and share images point there (set it to your blog's address)",
            site.configured_base_url
        ),
    ))
}

fn generate_with(
    opts: &BuildOptions,
    warm: Option<&mut Warm>,
    opened: Option<(Site, Store)>,
    reporter: &Reporter,
) -> Result<(Generated, Store)> {
    let started = Instant::now();
    let analyzed = load_and_analyze_with(opts, warm, opened, reporter)?;
    let mut t = reporter.timer();
    let Analyzed {
        site,
        model,
        related,
        mut store,
    } = analyzed;
    // The term vectors serve `related --explain` only: free them before rendering.
    let related::Outcome {
        links: related_links,
        tokenized,
        ..
    } = related;
    crate::util::return_freed_memory();
    if let Some(warning) = example_base_url(&site) {
        reporter.warn(warning);
    }
    let theme = Theme::resolve(&site)?;
    let renderer = Renderer::new(&site, theme.clone());
    // Started only if something is fetched.
    let fetcher = LazyFetcher::new(&site);
    let cards = cards::resolve(&site, &model, &mut store, &fetcher, opts.links, reporter)?;
    t.stage("cards");
    let images = if site.config.images.enabled {
        let uses = image_uses(&model, &cards.cards);
        Some(images::resolve(
            &site, &mut store, &fetcher, &uses, opts.links, reporter,
        )?)
    } else {
        None
    };
    t.stage("images");
    let mut pages = renderer.render_site(&model, &related_links, &cards.cards, images.as_ref())?;
    t.stage("render");
    let page_count = pages.len();
    if let Some(warning) = crate::search::page_taken(&site, &model) {
        reporter.warn(warning);
    }
    pages.extend(crate::search::render_index(&site, &model));
    t.stage("search");

    let output = output_folder(opts);
    let files = output_files(&theme, &site, &model, &pages, images.as_ref())?;
    let report = BuildReport {
        output,
        pages: page_count,
        files: pages.len() + files.len(),
        posts: model.posts.len(),
        skipped: model.skipped.len(),
        tokenized,
        link_requests: cards.requests,
        image_requests: images.as_ref().map_or(0, |i| i.requests),
        images_encoded: images.as_ref().map_or(0, |i| i.encoded),
        image_bytes: images
            .as_ref()
            .map_or((0, 0), |i| (i.bytes_in, i.bytes_out)),
        written: WriteSummary::default(),
        up_to_date: false,
        warnings: Vec::new(),
        notes: Vec::new(),
        elapsed: started.elapsed(),
    };
    let first_expiry = [
        cards.first_expiry,
        images.as_ref().and_then(|i| i.first_expiry),
    ]
    .into_iter()
    .flatten()
    .min();
    let uncached = Uncached {
        cards: cards.uncached,
        images: images.map(|i| i.uncached).unwrap_or_default(),
    };
    let generated = Generated {
        site,
        pages,
        files,
        report,
        uncached,
        next_due: model.next_due.map(|d| d.timestamp()),
        first_expiry,
    };
    Ok((generated, store))
}

/// `--output`, or `public/` in the site folder.
fn output_folder(opts: &BuildOptions) -> PathBuf {
    opts.output
        .clone()
        .unwrap_or_else(|| opts.source.join("public"))
}

/// The files published as they are: the theme's and the site's static files, the
/// files of page bundles and the processed images. None may take a page's path.
fn output_files(
    theme: &Theme,
    site: &Site,
    model: &SiteModel,
    pages: &[OutputFile],
    images: Option<&images::Images>,
) -> Result<BTreeMap<String, StaticSource>> {
    let mut files = theme.static_files()?;
    theme::collect_dir(&site.root.join("static"), &mut files)?;
    let mut bundles = bundle_files(model)?;
    bundles.extend(crate::content::loose_files(site)?);
    let page_paths: std::collections::BTreeSet<&str> =
        pages.iter().map(|p| p.path.as_str()).collect();
    for rel in files.keys().chain(bundles.keys()) {
        if page_paths.contains(rel.as_str()) {
            return Err(anyhow!(
                "static file {rel} would overwrite a generated page of the same path (rename or remove it)"
            ));
        }
    }
    // A static file where a page needs a folder, or the reverse (`static/about` beside
    // the page `/about/`), cannot both be written either.
    let mut named: Vec<(&str, String)> = pages
        .iter()
        .map(|p| (p.path.as_str(), format!("the page {}", p.path)))
        .collect();
    named.extend(
        files
            .keys()
            .chain(bundles.keys())
            .map(|k| (k.as_str(), format!("the static file {k}"))),
    );
    let everything: Vec<(&str, &str)> = named.iter().map(|(p, o)| (*p, o.as_str())).collect();
    if let Some((_, owner, other)) = crate::model::folder_clash(&everything) {
        return Err(anyhow!(
            "{other} needs a folder where {owner} is written (rename or remove the static file)"
        ));
    }
    files.extend(bundles);
    if let Some(images) = images {
        for (rel, path) in &images.files {
            files.insert(rel.clone(), StaticSource::File(path.clone()));
        }
    }
    Ok(files)
}

/// Every remote image the site shows: in post bodies, and the pictures and icons
/// of the link cards that were made.
fn image_uses(model: &SiteModel, cards: &BTreeMap<String, cards::Card>) -> Vec<images::ImageUse> {
    let mut uses = images::inline_uses(model);
    for entry in model.posts.iter().chain(&model.pages) {
        for seg in &entry.doc.body.segments {
            let crate::content::Segment::Card { url, line } = seg else {
                continue;
            };
            let Some(card) = cards.get(url) else { continue };
            let wanted = [
                (images::Purpose::Card, card.meta.image.clone()),
                (
                    images::Purpose::Icon,
                    Some(card.meta.icon.clone()).filter(|i| !i.is_empty()),
                ),
            ];
            for (purpose, image) in wanted {
                if let Some(image) = image {
                    uses.push(images::ImageUse {
                        purpose,
                        url: image,
                        source: entry.doc.source.clone(),
                        line: *line,
                    });
                }
            }
        }
    }
    uses
}

/// Files that sit beside a bundle's `index.md` are published beside its page.
fn bundle_files(model: &SiteModel) -> Result<BTreeMap<String, StaticSource>> {
    let mut out = BTreeMap::new();
    for entry in model.posts.iter().chain(&model.pages) {
        let Some(dir) = &entry.doc.bundle_dir else {
            continue;
        };
        let mut files = BTreeMap::new();
        theme::collect_dir(dir, &mut files)?;
        for (rel, src) in files {
            if rel.ends_with(".md") {
                continue;
            }
            out.insert(
                format!("{}{}", entry.path.trim_start_matches('/'), rel),
                src,
            );
        }
    }
    Ok(out)
}
