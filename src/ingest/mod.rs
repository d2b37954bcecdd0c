//! Ingest: articles in, normalised and matched to their outlet.
//!
//! Sources ([`feeds`] for RSS/Atom over HTTP, [`import`] for JSONL files, [`demo`] for the
//! bundled demo set) produce
//! [`RawArticle`]s; [`normalise`] turns each into an [`IncomingArticle`] with a canonical URL,
//! bounded clean text and its outlet from the [`outlets`] directory (whose bundled table
//! [`ratings`] derives from AllSides, MBFC and Ad Fontes).

pub mod demo;
pub mod feeds;
pub mod import;
pub mod normalise;
pub mod outlets;
pub mod poll;
pub mod ratings;

pub use normalise::{normalise, IncomingArticle, RawArticle};
pub use outlets::OutletDirectory;
