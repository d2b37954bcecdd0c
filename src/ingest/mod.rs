//! Ingest: articles in, normalised and matched to their outlet.
//!
//! Sources ([`feeds`] for RSS/Atom over HTTP, [`import`] for JSONL files, [`demo`] for the
//! bundled demo set) produce
//! [`RawArticle`]s; [`normalise()`] turns each into an [`IncomingArticle`] with a canonical URL,
//! bounded clean text and its outlet from the [`crate::outlets`] directory.

pub mod address;
pub mod demo;
pub mod extract;
pub mod feeds;
pub mod import;
pub mod normalise;
pub mod page;
pub mod poll;

pub use normalise::{normalise, IncomingArticle, RawArticle};
