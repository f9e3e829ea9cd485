use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, FixedOffset};
use enishi::pipeline::{BuildOptions, BuildReport, build};
use enishi::report::Reporter;
use scraper::{Html, Selector};

/// A site in a temporary folder.
pub struct TestSite {
    pub dir: tempfile::TempDir,
}

pub const SITE_TOML: &str = "title = \"テストブログ\"\nbase_url = \"https://blog.example.jp/\"\n";

impl TestSite {
    pub fn new() -> TestSite {
        Self::with_config(SITE_TOML)
    }

    pub fn with_config(config: &str) -> TestSite {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("site.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("content/posts")).unwrap();
        TestSite { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> &Self {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    pub fn post(&self, name: &str, front: &str, body: &str) -> &Self {
        self.write(
            &format!("content/posts/{name}.md"),
            format!("---\n{front}\n---\n\n{body}\n"),
        )
    }

    pub fn opts(&self) -> BuildOptions {
        BuildOptions {
            source: self.root().to_path_buf(),
            now: Some(fixed_now()),
            ..Default::default()
        }
    }

    pub fn build(&self) -> BuildReport {
        build(&self.opts(), &Reporter::quiet()).unwrap_or_else(|e| panic!("build failed: {e:#}"))
    }

    pub fn try_build(&self) -> anyhow::Result<BuildReport> {
        build(&self.opts(), &Reporter::quiet())
    }

    pub fn public(&self) -> PathBuf {
        self.root().join("public")
    }

    pub fn read(&self, rel: &str) -> String {
        let p = self.public().join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub fn html(&self, rel: &str) -> Html {
        Html::parse_document(&self.read(rel))
    }

    /// Runs the real `enishi` binary in the site folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// [`TestSite::run`] with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_enishi"))
            .args(args)
            .current_dir(self.root())
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// Every file of the output and its bytes.
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        for e in walkdir::WalkDir::new(self.public()) {
            let e = e.unwrap();
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(self.public()).unwrap();
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                );
            }
        }
        out
    }
}

/// Every warning of a build, one a line, as the command line prints them.
pub fn warnings_text(report: &BuildReport) -> String {
    let lines: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    lines.join("\n")
}

/// A fixed "now" so future-dated tests do not depend on the clock.
pub fn fixed_now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-06-01T12:00:00+09:00").unwrap()
}

pub fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

pub fn text_of(doc: &Html, css: &str) -> String {
    select(doc, css)
        .first()
        .unwrap_or_else(|| panic!("no element matches {css}"))
        .text()
        .collect::<String>()
        .trim()
        .to_string()
}

pub fn attr(doc: &Html, css: &str, name: &str) -> String {
    select(doc, css)
        .first()
        .unwrap_or_else(|| panic!("no element matches {css}"))
        .value()
        .attr(name)
        .unwrap_or_else(|| panic!("{css} has no {name}"))
        .to_string()
}

pub fn meta(doc: &Html, property: &str) -> String {
    let css = format!("meta[property=\"{property}\"], meta[name=\"{property}\"]");
    attr(doc, &css, "content")
}

/// A port on 127.0.0.1 that was free a moment ago, for a server the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
