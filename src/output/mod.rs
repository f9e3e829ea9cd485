//! Write stage. A generated, checked site goes to a [`Destination`]: the disk for
//! `build` ([`Disk`], written incrementally), memory for `serve`. Nothing is
//! written before the whole site has been generated and checked, so a failed build
//! leaves the output as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::render::OutputFile;
use crate::store::Store;
use crate::theme::StaticSource;

pub mod files;
pub mod incremental;
mod leftovers;

pub use files::WriteSummary;

/// Where a checked site goes.
pub trait Destination {
    /// Whether `path` already holds exactly `bytes` (which were checked when they
    /// arrived, so they need no second audit).
    fn holds(&self, path: &str, bytes: &[u8]) -> bool;
    /// Makes the content exactly these files; says how many were written, removed
    /// and left as they were.
    fn replace(
        &mut self,
        pages: Vec<OutputFile>,
        files: BTreeMap<String, StaticSource>,
    ) -> Result<WriteSummary>;
}

/// The output folder of `enishi build`, written incrementally (see [`incremental`]).
pub struct Disk {
    target: PathBuf,
    store: Store,
    /// `build --clean`: empty the folder and write everything.
    clean: bool,
}

impl Disk {
    pub fn new(target: &Path, store: Store, clean: bool) -> Disk {
        Disk {
            target: target.to_path_buf(),
            store,
            clean,
        }
    }

    /// The cache, for what the build records after writing.
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Repairs what killed builds of earlier versions left beside `target`; called
    /// before anything else, so even a build that fails puts the output back.
    pub fn recover(target: &Path) {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Some(name) = target.file_name() {
            leftovers::recover_interrupted(parent, &name.to_string_lossy(), target);
        }
    }
}

impl Destination for Disk {
    /// Every page is audited on every build (and `--strict` fails every build that
    /// has a warning, not only the first), so the disk never vouches for a page.
    fn holds(&self, _path: &str, _bytes: &[u8]) -> bool {
        false
    }

    fn replace(
        &mut self,
        pages: Vec<OutputFile>,
        files: BTreeMap<String, StaticSource>,
    ) -> Result<WriteSummary> {
        if self.clean && self.target.exists() {
            leftovers::remove_tree(&self.target);
            incremental::forget(&mut self.store, &self.target)?;
        }
        incremental::apply(&self.target, &mut self.store, files::produced(pages, files))
    }
}
