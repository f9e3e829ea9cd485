//! Enishi (縁): a static-site generator for Japanese blogs.
//!
//! The pipeline, one module per stage, data flowing one way:
//! [`content`] (load + parse) → [`model`] (organise) → [`enrich`] (link cards) →
//! [`related`] (analyze) →
//! [`render`] and [`search`] → [`output`] (write) → [`deploy`]. [`pipeline`] runs
//! them in order; [`store`] is the SQLite cache behind the analysis and the fetched
//! cards. See ARCHITECTURE.md for the map.

pub mod audit;
pub mod config;
pub mod content;
pub mod deploy;
pub mod enrich;
pub mod import;
pub mod inputs;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod related;
pub mod render;
pub mod report;
pub mod scaffold;
pub mod search;
pub mod serve;
pub mod store;
pub mod theme;
pub mod util;
