//! Files of the image cache: written whole or not at all, named by content.

use std::path::Path;

use super::types::ENCODER_VERSION;

/// Writes a cache file whole or not at all (see [`crate::util::write_atomic`]).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::util::write_atomic(path, bytes)
        .map(|_| ())
        .map_err(|e| format!("{}: cannot write ({e})", path.display()))
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
    write_atomic(&dir.join(name), bytes)
}
