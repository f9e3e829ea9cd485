//! Files of the image cache: written whole or not at all, named by content.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

use super::types::ENCODER_VERSION;

/// Writes through a temporary file renamed into place, so a reader never sees half a
/// file. The temporary name is unique per write: two URLs with the same bytes make
/// the same variant files, possibly at the same moment.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// A short name for a variant: its original's hash prefix, what it is, and the encoder.
pub(super) fn short_hash(prefix: &str, what: &str) -> String {
    blake3::hash(format!("{prefix}:{what}:{ENCODER_VERSION}").as_bytes()).to_hex()[..16].to_string()
}

pub(super) fn write_variant(
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> std::result::Result<(), String> {
    write_atomic(&dir.join(name), bytes).map_err(|e| format!("{e:#}"))
}
