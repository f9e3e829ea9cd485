//! The images stage's data: what an image is used as, the variants made from it,
//! and what the stage hands to the renderer. A leaf of `images/`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where the output files go, under the output root.
pub const OUTPUT_DIR: &str = "_img";
/// Bumped when encoding changes, so old variants are not reused.
pub(super) const ENCODER_VERSION: u32 = 1;
/// The ratio of a wide card image (Open Graph's 1200×630).
pub(super) const WIDE_RATIO: f64 = 1.91;
/// The side of a card's site icon.
pub(super) const ICON_SIDE: u32 = 32;

/// What an image is used as; each use has its own sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Purpose {
    /// An image in a post's body: the configured widths, for srcset.
    Inline,
    /// A link card's picture: 1.91:1 and 1:1 crops at 1× and 2×.
    Card,
    /// A link card's site icon: 32 px.
    Icon,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// File name under `/_img/`.
    pub name: String,
    pub width: u32,
    pub height: u32,
}

/// One picture at several widths: WebP and a fallback, both ascending by width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSet {
    /// `image/jpeg`, `image/png` or `image/gif`.
    pub fallback_type: String,
    pub fallback: Vec<Variant>,
    /// Empty for animated GIFs.
    pub webp: Vec<Variant>,
}

impl ImageSet {
    /// The largest fallback variant: what `src`, `width` and `height` name.
    pub fn largest(&self) -> &Variant {
        self.fallback
            .last()
            .expect("an image set has at least one variant")
    }
}

/// The sets made from one image for one purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processed {
    /// Inline: `Role::Inline`. Card: `Wide` and `Square`. Icon: `Icon`.
    pub sets: BTreeMap<Role, ImageSet>,
}

/// Which picture of a [`Processed`] a set is. The lowercase names are the keys of
/// cached `image_sets` rows and part of every variant's file name: they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    // In the order of their names, so that ordering a map by role orders it as the
    // names did (the JSON of a row is unchanged) and `Borrow<str>` is sound.
    /// A card's site icon.
    Icon,
    /// An image in a post's body.
    Inline,
    /// A card's picture, 1:1.
    Square,
    /// A card's picture, 1.91:1.
    Wide,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Icon => "icon",
            Role::Inline => "inline",
            Role::Square => "square",
            Role::Wide => "wide",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One place an image is used, for the warning if it cannot be made.
#[derive(Debug, Clone)]
pub struct ImageUse {
    pub purpose: Purpose,
    pub url: String,
    pub source: String,
    pub line: usize,
}

#[derive(Debug, Default)]
pub struct Images {
    /// Ready images by purpose and URL; a missing key means "could not be made".
    pub ready: HashMap<(Purpose, String), Processed>,
    /// Output path (`_img/…`) → file in the cache folder.
    pub files: BTreeMap<String, PathBuf>,
    pub requests: usize,
    /// Variants encoded in this run (zero when all came from the cache).
    pub encoded: usize,
    /// Bytes of the originals used, and of the largest variant of each.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// When the first original used stops being fresh (Unix seconds).
    pub first_expiry: Option<i64>,
    /// Uses whose image `Mode::Offline` found no cache entry for (for `serve`).
    pub uncached: Vec<ImageUse>,
}

/// An original on disk.
#[derive(Debug, Clone)]
pub(super) struct Original {
    pub path: PathBuf,
    pub content_hash: String,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written when the roles were strings still decode, and encode back to the
    /// same JSON.
    #[test]
    fn rows_with_string_keys_decode() {
        let row = r#"{"sets":{"square":{"fallback_type":"image/jpeg","fallback":[{"name":"727c4decfd85a58c-100.jpg","width":100,"height":100}],"webp":[{"name":"727c4decfd85a58c-100.webp","width":100,"height":100}]},"wide":{"fallback_type":"image/jpeg","fallback":[{"name":"0c49896b2f7d7c54-191.jpg","width":191,"height":100}],"webp":[]}}}"#;
        let p: Processed = serde_json::from_str(row).unwrap();
        assert_eq!(
            p.sets.keys().copied().collect::<Vec<_>>(),
            [Role::Square, Role::Wide]
        );
        assert_eq!(p.sets[&Role::Wide].largest().width, 191);
        assert_eq!(serde_json::to_string(&p).unwrap(), row);
        for (json, role) in [
            (
                r#"{"sets":{"inline":{"fallback_type":"image/gif","fallback":[],"webp":[]}}}"#,
                Role::Inline,
            ),
            (
                r#"{"sets":{"icon":{"fallback_type":"image/png","fallback":[],"webp":[]}}}"#,
                Role::Icon,
            ),
        ] {
            let p: Processed = serde_json::from_str(json).unwrap();
            assert!(p.sets.contains_key(&role), "{json}");
        }
        assert!(
            serde_json::from_str::<Processed>(
                r#"{"sets":{"banner":{"fallback_type":"","fallback":[],"webp":[]}}}"#
            )
            .is_err()
        );
    }

    /// Ordered as their names, so cached rows list their sets in the same order as
    /// when the roles were strings.
    #[test]
    fn roles_agree_with_their_names() {
        let roles = [Role::Icon, Role::Inline, Role::Square, Role::Wide];
        for a in roles {
            assert_eq!(a.to_string(), a.as_str());
            for b in roles {
                assert_eq!(a.cmp(&b), a.as_str().cmp(b.as_str()));
            }
        }
    }
}
