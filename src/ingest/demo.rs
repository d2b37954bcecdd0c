//! The bundled demo set, so every command works offline on a fresh machine.
//!
//! `data/demo.jsonl` holds real headlines from the UCI News Aggregator data set (Gasparetti,
//! 2016, CC BY 4.0): titles, URLs, publishers and times of the articles of 16 Google News
//! stories from 10–12 March 2014. They carry no story keys: storybot clusters them itself.
//! `cargo run --example derive_demo -- ../shared/data/clustering/...csv` rebuilds it.

/// The demo set in the import format.
pub const DEMO_JSONL: &str = include_str!("../../data/demo.jsonl");
