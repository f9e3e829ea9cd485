//! Integration tests: real builds of real sites in temp dirs, real SQLite files.
//! One binary (it links the 46 MB dictionary once); one module per area.

mod browser;
mod common;
mod http;

mod build;
mod cache;
mod cards;
mod deploy;
mod errors;
mod hostile;
mod hostile_images;
mod hugo;
mod images;
mod import;
mod output;
mod props;
mod related;
mod search;
mod serve;
mod shortcodes;
mod theme;
