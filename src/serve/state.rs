//! What `serve`'s rebuild loop and its HTTP handlers share: the site held in
//! memory (swapped whole, as the output seam's [`Destination`]), the last error and
//! warnings, and the channel of events for the pages.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Result;
use tokio::sync::broadcast;

use crate::output::{Destination, WriteSummary};
use crate::render::OutputFile;
use crate::report::Warning;
use crate::theme::StaticSource;

/// The path of the live-reload event stream.
pub const EVENTS_PATH: &str = "/__enishi/events";

/// What the browser is told.
#[derive(Debug, Clone)]
pub(super) enum LiveEvent {
    Reload,
    /// Only stylesheets changed: swap them without a reload.
    Css,
    /// The build failed: show an overlay with this one-line message.
    Error(String),
    /// The build's warnings (none clears the panel), grouped by kind in the page.
    Warnings(Vec<Warning>),
    Shutdown,
}

/// The server's state, behind one `Arc`.
pub(super) struct Shared {
    pub current: RwLock<Arc<Snapshot>>,
    /// The last build error, shown to pages opened while the site is broken.
    pub error: RwLock<Option<String>>,
    /// The last good build's warnings, shown to pages opened later.
    pub warnings: RwLock<Vec<Warning>>,
    pub events: broadcast::Sender<LiveEvent>,
    /// The live-reload client put into every page; None without watching, when
    /// nothing would ever be sent to it.
    pub reload_script: Option<String>,
}

/// One served file.
#[derive(Clone)]
pub(super) enum Asset {
    Bytes(Arc<Vec<u8>>),
    File(PathBuf),
    Builtin(&'static [u8]),
}

impl Asset {
    fn same_as(&self, other: &Asset) -> bool {
        match (self, other) {
            (Asset::Bytes(x), Asset::Bytes(y)) => x == y,
            (Asset::File(x), Asset::File(y)) => x == y,
            (Asset::Builtin(x), Asset::Builtin(y)) => x == y,
            _ => false,
        }
    }
}

#[derive(Default)]
pub(super) struct Snapshot {
    pub files: HashMap<String, Asset>,
}

impl Snapshot {
    /// How `new` differs from this snapshot.
    fn compare(&self, new: &HashMap<String, Asset>) -> WriteSummary {
        let written = new
            .iter()
            .filter(|(k, v)| self.files.get(*k).is_none_or(|o| !o.same_as(v)))
            .count();
        WriteSummary {
            written,
            removed: self.files.keys().filter(|k| !new.contains_key(*k)).count(),
            unchanged: new.len() - written,
        }
    }
}

/// The served site as a [`Destination`].
pub(super) struct Memory<'s> {
    pub shared: &'s Shared,
}

impl Memory<'_> {
    fn current(&self) -> Option<Arc<Snapshot>> {
        self.shared.current.read().map(|c| Arc::clone(&c)).ok()
    }
}

impl Destination for Memory<'_> {
    fn holds(&self, path: &str, bytes: &[u8]) -> bool {
        self.current()
            .and_then(|c| match c.files.get(path) {
                Some(Asset::Bytes(b)) => Some(b.as_slice() == bytes),
                _ => None,
            })
            .unwrap_or(false)
    }

    fn replace(
        &mut self,
        pages: Vec<OutputFile>,
        files: BTreeMap<String, StaticSource>,
    ) -> Result<WriteSummary> {
        let mut assets: HashMap<String, Asset> = HashMap::new();
        for page in pages {
            assets.insert(page.path, Asset::Bytes(Arc::new(page.bytes)));
        }
        for (rel, src) in files {
            let asset = match src {
                StaticSource::File(p) => Asset::File(p),
                StaticSource::Builtin(b) => Asset::Builtin(b),
            };
            assets.insert(rel, asset);
        }
        let changed = self.current().map_or(
            WriteSummary {
                written: assets.len(),
                ..WriteSummary::default()
            },
            |old| old.compare(&assets),
        );
        if let Ok(mut current) = self.shared.current.write() {
            *current = Arc::new(Snapshot { files: assets });
        }
        Ok(changed)
    }
}
