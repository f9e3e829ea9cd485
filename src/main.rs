//! The `enishi` command line: one function per subcommand.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Parser, Subcommand};

use enishi::config::Site;
use enishi::enrich::{Mode, cards};
use enishi::pipeline::{self, BuildOptions};
use enishi::report::Reporter;
use enishi::{related, scaffold};

#[derive(Parser)]
#[command(
    name = "enishi",
    version,
    about = "縁 Enishi: a static-site generator for Japanese blogs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the site into public/ (replaced only when the build succeeds).
    Build {
        /// The site folder, holding site.toml.
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
        /// Where to write the site (default: <source>/public).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Override base_url from site.toml (e.g. for a preview deployment).
        #[arg(long)]
        base_url: Option<String>,
        /// Include drafts and posts dated in the future.
        #[arg(long)]
        drafts: bool,
        #[command(flatten)]
        links: LinkFlags,
        /// Treat warnings (failed link cards, a replaced cache…) as errors.
        #[arg(long)]
        strict: bool,
        /// Empty the output folder and write every file (normally only changed files are written).
        #[arg(long)]
        clean: bool,
    },
    /// Move a blog in: a Hatena Blog / Movable Type export (.txt) or a WordPress
    /// export (.xml) becomes Markdown posts, its old URLs kept as redirects.
    Import {
        /// The export file.
        file: PathBuf,
        /// The site folder to import into.
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
        /// The old blog's address (e.g. https://example.hatenablog.com), for links
        /// between its entries; read from the export when it says it.
        #[arg(long, value_name = "URL")]
        old_base_url: Option<String>,
        /// Download the posts' images into their folders instead of keeping them remote.
        #[arg(long)]
        download_images: bool,
        /// Show what would be imported; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Replace posts edited since an earlier import of the same export.
        #[arg(long)]
        overwrite: bool,
        /// What the blog's categories become: tags (default) or categories.
        #[arg(long, value_name = "tags|categories", default_value = "tags")]
        categories_as: String,
        /// The time zone the export's dates are in (default: the site's timezone).
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
    },
    /// Upload the built site to S3 (only what changed) and invalidate CloudFront.
    Deploy {
        /// The site folder, holding site.toml with a [deploy] section.
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
        /// The built site to upload (default: <source>/public).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Print what would be uploaded, deleted and invalidated; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Upload every file, changed or not (e.g. after changing header rules).
        #[arg(long)]
        force: bool,
        /// Refuse to deploy when more objects than this would be deleted.
        #[arg(long, default_value_t = 256)]
        max_deletes: usize,
        /// Do not create a CloudFront invalidation.
        #[arg(long)]
        no_invalidate: bool,
        /// Wait until the invalidation has completed.
        #[arg(long)]
        wait: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Preview the link card of one URL (uses the site's cache and [links] settings).
    Card {
        /// The page to make a card of.
        url: String,
        /// The site folder, holding site.toml (without one, defaults and no cache).
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
        /// Print the card as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        links: LinkFlags,
    },
    /// Serve the site from memory for writing, rebuilding and reloading on save.
    Serve {
        /// The site folder, holding site.toml.
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
        /// Serve what was built once; do not watch files, rebuild or reload
        /// (watching is the default, as with `hugo server`).
        #[arg(long, conflicts_with = "watch")]
        no_watch: bool,
        /// Watch, rebuild and reload (the default; kept so older scripts still run).
        #[arg(long, short, hide = true)]
        watch: bool,
        /// The port to listen on (0 picks a free one).
        #[arg(long, short, default_value_t = 1313)]
        port: u16,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Show drafts and future posts (the default while serving).
        #[arg(long, conflicts_with = "no_drafts")]
        drafts: bool,
        /// Hide drafts and future posts, as the published site does.
        #[arg(long)]
        no_drafts: bool,
        /// Open the site in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Create a new site skeleton in DIR.
    Init {
        /// The folder to create the site in.
        dir: PathBuf,
    },
    /// Create new content.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
    /// Recompute related posts for every post and refresh the cache.
    Related {
        /// Only show this post (a path such as content/posts/a.md).
        path: Option<String>,
        /// The site folder, holding site.toml.
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
        /// Show the shared terms behind each related post (needs PATH).
        #[arg(long, requires = "path")]
        explain: bool,
        /// Include drafts and posts dated in the future.
        #[arg(long)]
        drafts: bool,
    },
}

#[derive(clap::Args)]
struct LinkFlags {
    /// Use cached link cards only (stale ones too) and make no requests.
    #[arg(long, conflicts_with = "refresh_links")]
    offline: bool,
    /// Fetch every link card again, ignoring the cache.
    #[arg(long)]
    refresh_links: bool,
}

impl LinkFlags {
    fn mode(&self) -> Mode {
        if self.offline {
            Mode::Offline
        } else if self.refresh_links {
            Mode::Refresh
        } else {
            Mode::Online
        }
    }
}

#[derive(Subcommand)]
enum NewCommand {
    /// Create content/posts/<date>-<slug>.md as a draft.
    Post {
        /// The post's title.
        title: String,
        /// The URL slug (ASCII). Default: from an ASCII title, else post-<short id>.
        #[arg(long)]
        slug: Option<String>,
        /// The site folder, holding site.toml.
        #[arg(long, short, default_value = ".")]
        source: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build {
            source,
            output,
            base_url,
            drafts,
            links,
            strict,
            clean,
        } => build(BuildOptions {
            source,
            output,
            base_url,
            drafts,
            now: None,
            links: links.mode(),
            strict,
            clean,
        }),
        Command::Deploy {
            source,
            output,
            dry_run,
            force,
            max_deletes,
            no_invalidate,
            wait,
            json,
        } => deploy(
            enishi::deploy::DeployOptions {
                source,
                output,
                dry_run,
                force,
                max_deletes,
                invalidate: !no_invalidate,
                wait,
            },
            json,
        ),
        Command::Import {
            file,
            source,
            old_base_url,
            download_images,
            dry_run,
            overwrite,
            categories_as,
            timezone,
        } => import(
            source,
            file,
            old_base_url,
            download_images,
            dry_run,
            overwrite,
            &categories_as,
            timezone.as_deref(),
        ),
        Command::Card {
            url,
            source,
            json,
            links,
        } => card(source, &url, json, links.mode()),
        Command::Serve {
            source,
            no_watch,
            watch: _,
            port,
            bind,
            drafts: _,
            no_drafts,
            open,
        } => enishi::serve::serve(enishi::serve::ServeOptions {
            source,
            bind,
            port,
            drafts: !no_drafts,
            watch: !no_watch,
            open,
        }),
        Command::Init { dir } => init(dir),
        Command::New {
            what:
                NewCommand::Post {
                    title,
                    slug,
                    source,
                },
        } => new_post(source, &title, slug.as_deref()),
        Command::Related {
            path,
            source,
            json,
            explain,
            drafts,
        } => related_cmd(source, path, json, explain, drafts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", enishi::util::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn import(
    source: PathBuf,
    file: PathBuf,
    old_base_url: Option<String>,
    download_images: bool,
    dry_run: bool,
    overwrite: bool,
    categories_as: &str,
    timezone: Option<&str>,
) -> Result<()> {
    use enishi::import::{CategoriesAs, ImportOptions};
    let categories_as = match categories_as {
        "tags" => CategoriesAs::Tags,
        "categories" => CategoriesAs::Categories,
        other => {
            return Err(anyhow::anyhow!(
                "--categories-as {other:?}: use `tags` or `categories`"
            ));
        }
    };
    let timezone = match timezone {
        Some(name) => Some(name.parse::<chrono_tz::Tz>().map_err(|_| {
            anyhow::anyhow!("--timezone {name:?} is not a time zone name (e.g. Asia/Tokyo)")
        })?),
        None => None,
    };
    let site = enishi::config::Site::load(&source, None)?;
    let opts = ImportOptions {
        file,
        old_base_url,
        timezone,
        download_images,
        dry_run,
        overwrite,
        categories_as,
    };
    let report = enishi::import::run(&site, &opts)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!("{}", report.summary(dry_run));
    Ok(())
}

fn build(opts: BuildOptions) -> Result<()> {
    let report = pipeline::build(&opts, &Reporter::new(true))?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if report.up_to_date {
        println!(
            "up to date: {} pages ({} files) in {}, nothing changed since the last build ({} ms, {} warnings)",
            report.pages,
            report.files,
            report.output.display(),
            report.elapsed.as_millis(),
            report.warnings.len()
        );
        return Ok(());
    }
    println!(
        "built {} pages ({} files: written {}, removed {}, unchanged {}; {} posts, {} left out as drafts or future; tokenized {}, {} link-card and {} image requests, {} images encoded) into {} in {} ms, {} warnings",
        report.pages,
        report.files,
        report.written.written,
        report.written.removed,
        report.written.unchanged,
        report.posts,
        report.skipped,
        report.tokenized,
        report.link_requests,
        report.image_requests,
        report.images_encoded,
        report.output.display(),
        report.elapsed.as_millis(),
        report.warnings.len()
    );
    Ok(())
}

fn deploy(opts: enishi::deploy::DeployOptions, json: bool) -> Result<()> {
    let reporter = Reporter::new(!json);
    let report = enishi::deploy::deploy(&opts, &reporter)?;
    for w in reporter.take_warnings() {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    if opts.dry_run {
        for key in &report.uploaded {
            writeln!(out, "upload  {key}")?;
        }
        for key in &report.deleted {
            writeln!(out, "delete  {key}")?;
        }
        for path in report.invalidation.iter().flat_map(|i| &i.paths) {
            writeln!(out, "invalidate  {path}")?;
        }
    }
    writeln!(out, "{}", report.summary())?;
    if let Some(limit) = report.refused_deletes {
        eprintln!(
            "note: a deploy would be refused: {} deletions are more than --max-deletes {limit}",
            report.deleted.len()
        );
    }
    Ok(())
}

fn card(source: PathBuf, url: &str, json: bool, mode: Mode) -> Result<()> {
    let site = if source.join(enishi::config::CONFIG_FILE).exists() {
        Site::load(&source, None)?
    } else {
        eprintln!(
            "note: no {} in {}; using default [links] settings and no cache",
            enishi::config::CONFIG_FILE,
            source.display()
        );
        Site::with_defaults(&source)
    };
    let reporter = Reporter::quiet();
    let mut store = if site.root.join(enishi::config::CONFIG_FILE).exists() {
        Some(pipeline::open_cache(&site, &reporter)?)
    } else {
        None
    };
    for w in reporter.take_warnings() {
        eprintln!("warning: {w}");
    }
    let fetcher = enishi::enrich::fetch::LazyFetcher::new(&site);
    let result = cards::CardFetcher::new(&site, &fetcher).resolve_one(store.as_mut(), url, mode)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &cards::CardJson::new(url, &result))?;
        writeln!(out)?;
    } else if let Ok(card) = &result {
        let m = &card.meta;
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        writeln!(out, "url          {}", card.url)?;
        writeln!(out, "final url    {}", card.final_url)?;
        writeln!(out, "title        {}", or_none(&m.title))?;
        writeln!(out, "description  {}", or_none(&m.description))?;
        writeln!(out, "image        {}", or_none(&m.image))?;
        writeln!(out, "site name    {}", m.site_name)?;
        writeln!(out, "icon         {}", m.icon)?;
        writeln!(out, "published    {}", or_none(&m.published))?;
        let src = &m.sources;
        let named = |s: Option<cards::Source>| s.map_or("-", cards::Source::name);
        writeln!(
            out,
            "sources      title {}, description {}, image {}, site name {}, published {}",
            named(src.title),
            named(src.description),
            named(src.image),
            named(src.site_name),
            named(src.published)
        )?;
    }
    match result {
        Ok(_) => Ok(()),
        Err(reason) => Err(anyhow!("{url}: no card: {reason}")),
    }
}

fn init(dir: PathBuf) -> Result<()> {
    let files = scaffold::init(&dir, chrono::Utc::now())?;
    for f in files {
        println!("created {}", dir.join(f).display());
    }
    println!("next: cd {} && enishi build", dir.display());
    Ok(())
}

fn new_post(source: PathBuf, title: &str, slug: Option<&str>) -> Result<()> {
    let site = Site::load(&source, None)?;
    let made = scaffold::new_post(&site, title, slug, chrono::Utc::now())?;
    println!("created {} (a draft)", made.path.display());
    if let Some(slug) = made.made_up_slug {
        println!(
            "  its URL slug is {slug}: the title has no ASCII letters to make one from (pass --slug NAME to choose it)"
        );
    }
    Ok(())
}

fn related_cmd(
    source: PathBuf,
    path: Option<String>,
    json: bool,
    explain: bool,
    drafts: bool,
) -> Result<()> {
    let started = std::time::Instant::now();
    let opts = BuildOptions {
        source,
        drafts,
        ..Default::default()
    };
    let reporter = Reporter::new(!json);
    let analyzed = pipeline::load_and_analyze(&opts, &reporter)?;
    let (site, model, outcome) = (&analyzed.site, &analyzed.model, &analyzed.related);
    for w in reporter.take_warnings() {
        eprintln!("warning: {w}");
    }
    let index = match &path {
        Some(p) => {
            let wanted = p.trim_start_matches("./");
            Some(
                model
                    .posts
                    .iter()
                    .position(|e| e.doc.source == wanted)
                    .ok_or_else(|| {
                        anyhow!("{p}: not a published post of this site (give a path such as content/posts/a.md)")
                    })?,
            )
        }
        None => None,
    };
    let mut out = std::io::stdout().lock();
    if json {
        let mut report = related::json_report(site, model, outcome);
        if let Some(i) = index {
            report.retain(|p| p.path == model.posts[i].doc.source);
        }
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    if let Some(i) = index {
        if explain {
            for line in related::explain(model, outcome, i) {
                writeln!(out, "{line}")?;
            }
        } else {
            let report = related::json_report(site, model, outcome);
            if let Some(p) = report.iter().find(|p| p.path == model.posts[i].doc.source) {
                writeln!(out, "{} — {}", p.path, p.title)?;
                for (k, r) in p.related.iter().enumerate() {
                    writeln!(
                        out,
                        "{:>2}. {:.4}  {} — {}",
                        k + 1,
                        r.score,
                        r.path,
                        r.title
                    )?;
                }
            }
        }
    }
    writeln!(
        out,
        "tokenized {} of {} posts, computed related for {} posts in {:.2} s",
        outcome.tokenized,
        model.posts.len(),
        model.posts.len(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}
