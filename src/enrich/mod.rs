//! Enrich stage: what the build adds from other sites. Link cards now; remote
//! images next. Everything here fetches through [`fetch`] (limits, SSRF guard) and
//! remembers what it fetched in the [`crate::store`], so a second build is offline.

pub mod cards;
pub mod charset;
pub mod fetch;
pub mod ogp;
