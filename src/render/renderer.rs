//! The renderer's data: what every output function works with. A leaf of `render/`,
//! so the modules that add methods to [`Renderer`] never import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use minijinja::{Environment, Value};

use crate::config::Site;
use crate::enrich::images::Images;
use crate::theme::Theme;

/// Where each loaded template came from (theme file or built-in), by template name.
pub(super) type Origins = Arc<Mutex<BTreeMap<String, String>>>;

/// How many characters an automatic summary has.
pub const SUMMARY_CHARS: usize = 120;
/// How many posts the Atom feed carries.
pub const FEED_ENTRIES: usize = 20;

/// A rendered file, ready to be written.
pub struct OutputFile {
    /// `/`-separated path inside the output folder.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A page of output waiting for its template.
pub(super) struct Job {
    pub path: String,
    pub template: &'static str,
    /// What asked for this file, for the error when two jobs write the same path.
    pub origin: String,
    pub ctx: Value,
}

/// What the render stage gets from the enrich stage, prepared once per build.
pub(super) struct Enriched<'e> {
    /// Link-card HTML by URL.
    pub cards: BTreeMap<String, String>,
    pub images: Option<&'e Images>,
}

pub struct Renderer<'a> {
    pub(super) site: &'a Site,
    pub(super) env: Environment<'static>,
    pub(super) origins: Origins,
    pub(super) theme: Theme,
    /// The static files the site will have (theme's and site's), by output path: a
    /// page links the share image or an icon only when it is there.
    pub(super) static_names: BTreeSet<String>,
}
