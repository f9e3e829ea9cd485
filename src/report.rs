//! What a run tells its user besides its output: typed warnings, progress bars and
//! stage timings. `main` and `serve` make one [`Reporter`] per run and hand it down;
//! stages never decide on their own whether a terminal is there to draw on.

use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

/// What a warning is about: `--strict` counts them by kind, `serve` groups them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A source file was used, but not all of it (too many tags, say).
    Content,
    /// The cache file was damaged or foreign and was moved aside.
    Cache,
    /// A link card could not be made; the URL rendered as a plain link.
    LinkCard,
    /// A remote image could not be fetched or processed.
    Image,
    /// A page or stylesheet loads something over http.
    MixedContent,
}

impl WarningKind {
    pub fn label(self) -> &'static str {
        match self {
            WarningKind::Content => "content",
            WarningKind::Cache => "cache",
            WarningKind::LinkCard => "link card",
            WarningKind::Image => "image",
            WarningKind::MixedContent => "mixed content",
        }
    }
}

/// One warning: where (a source or output file, and a line when known), what kind,
/// and what happened. Displays as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl Warning {
    pub fn new(kind: WarningKind, file: &str, line: Option<usize>, message: String) -> Warning {
        Warning {
            kind,
            file: file.to_string(),
            line,
            message,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// `2 link card, 1 image`: how many warnings of each kind, in kind order.
pub fn count_by_kind(warnings: &[Warning]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for w in warnings {
        *counts.entry(w.kind).or_insert(0usize) += 1;
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{n} {}", kind.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collects the warnings of one run and draws its progress.
pub struct Reporter {
    progress: bool,
    timings: bool,
    warnings: Mutex<Vec<Warning>>,
}

impl Reporter {
    /// `progress`: draw bars (still only on a terminal). Timings print when
    /// `ENISHI_TIMINGS` is set.
    pub fn new(progress: bool) -> Reporter {
        Reporter {
            progress,
            timings: std::env::var_os("ENISHI_TIMINGS").is_some(),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// No bars; timings still as `ENISHI_TIMINGS` says.
    pub fn quiet() -> Reporter {
        Reporter::new(false)
    }

    pub fn warn(&self, warning: Warning) {
        self.lock().push(warning);
    }

    pub fn extend(&self, warnings: impl IntoIterator<Item = Warning>) {
        self.lock().extend(warnings);
    }

    /// The warnings so far, in the order they were given; the reporter keeps none.
    pub fn take_warnings(&self) -> Vec<Warning> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Warning>> {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A progress bar for `len` steps named `label`, or none: when this run draws
    /// none, for fewer than `min_len` steps, or when stdout or stderr is not a
    /// terminal (CI logs and `--json` output stay clean).
    pub fn progress_bar(
        &self,
        len: usize,
        min_len: usize,
        label: &str,
    ) -> Option<indicatif::ProgressBar> {
        use std::io::IsTerminal;
        if !self.progress
            || len < min_len
            || !std::io::stdout().is_terminal()
            || !std::io::stderr().is_terminal()
        {
            return None;
        }
        let bar = indicatif::ProgressBar::new(len as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{label} {{bar:40}} {{pos}}/{{len}} {{eta}}"
        )) {
            bar.set_style(style);
        }
        Some(bar)
    }

    /// A stopwatch whose `stage` calls print how long each stage took.
    pub fn timer(&self) -> Timer {
        Timer {
            on: self.timings,
            last: Instant::now(),
        }
    }
}

/// Prints how long each stage took (for profiling), when the reporter says so.
pub struct Timer {
    on: bool,
    last: Instant,
}

impl Timer {
    pub fn stage(&mut self, name: &str) {
        if self.on {
            eprintln!(
                "timing: {name:<10} {:>7.1} ms{}",
                self.last.elapsed().as_secs_f64() * 1000.0,
                resident_mb().map_or(String::new(), |mb| format!("  (resident {mb} MB)"))
            );
        }
        self.last = Instant::now();
    }
}

/// Memory resident now (Linux), for the timings.
fn resident_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_file_and_line_and_count_by_kind() {
        let w = |kind, line| Warning::new(kind, "content/posts/a.md", line, "x".into());
        assert_eq!(
            w(WarningKind::Image, Some(3)).to_string(),
            "content/posts/a.md:3: x"
        );
        assert_eq!(
            w(WarningKind::Cache, None).to_string(),
            "content/posts/a.md: x"
        );
        let all = [
            w(WarningKind::Image, None),
            w(WarningKind::LinkCard, None),
            w(WarningKind::Image, None),
        ];
        assert_eq!(count_by_kind(&all), "1 link card, 2 image");
    }
}
