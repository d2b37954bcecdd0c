//! storybot: news stories as digests, the way Ground News shows them, for Discord and the
//! terminal.
//!
//! Data flows one way, one module per stage:
//! [`ingest`] (articles in, normalised, matched to rated [`outlets`]) → [`cluster`] (which
//! story) → [`summarise`] (title, key points, coverage, bias distribution, blindspot) →
//! [`store`] (SQLite or Postgres, full-text search) → [`digest`] (Discord payload, terminal
//! text, PNG). Optionally [`llm`] writes key points with a model the operator runs, checked
//! against the sources. The write path runs cluster, summarise and store in transactions; [`app`] holds
//! the shared state that the front ends ([`cli`], [`discord`], [`web`]) use; [`subscriptions`] is the
//! subscription domain that `discord` adapts; [`workers`] supervises background loops.
//! Foundations: [`model`], [`config`] (settings validated once), [`payload`] (Discord's types
//! and limits), [`text`], [`secrets`] (kept out of every output), [`error`], [`metrics`]
//! (what a process counts for its operators).
//! ARCHITECTURE.md has the code map and the invariants.

// Printing macros panic on a closed stream (`storybot ... | head -1`): write and ignore.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[cfg(test)]
mod alloc_count;
#[cfg(test)]
#[global_allocator]
static ALLOC: alloc_count::Counting = alloc_count::Counting;

pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod digest;
pub mod discord;
pub mod error;
pub mod fleet;
mod fnv;
pub mod ingest;
pub mod llm;
pub mod llm_queue;
pub mod metrics;
pub mod model;
pub mod outlets;
pub mod page_queue;
pub mod payload;
mod pipeline;
pub mod secrets;
pub mod service;
pub mod store;
pub mod subscriptions;
pub mod summarise;
pub mod text;
pub mod web;
pub mod workers;
