//! Enrich stage: what the build adds from other sites: link cards and remote images. Everything here fetches through [`fetch`] (limits, SSRF guard) and
//! remembers what it fetched in the [`crate::store`], so a second build is offline.

pub mod cards;
pub mod charset;
pub mod engine;
pub mod fetch;
pub mod images;
pub mod jsonld;
pub mod oembed;
pub mod ogp;
pub mod page;

pub use engine::Mode;
