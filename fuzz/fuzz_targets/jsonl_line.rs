//! A JSONL import: any bytes read as lines, each line parsed and normalised. Invariants: no
//! panic, every line accounted for, normalised text bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::ingest::import::JsonlReader;
use storybot::ingest::normalise::{normalise, MAX_SUMMARY_CHARS, MAX_TITLE_CHARS};

fuzz_target!(|data: &[u8]| {
    let outlets = storybot::outlets::OutletDirectory::default();
    let mut reader = JsonlReader::new(data);
    let now = chrono::Utc::now();
    loop {
        let chunk = reader.next_chunk(64);
        assert!(chunk.articles.len() + chunk.errors.len() <= chunk.lines);
        for (_, raw) in chunk.articles {
            if let Ok(a) = normalise(raw, &outlets, now) {
                assert!(a.article.title.chars().count() <= MAX_TITLE_CHARS);
                assert!(a.article.summary.chars().count() <= MAX_SUMMARY_CHARS);
                assert!(a.article.published <= now);
                assert!(a.article.url.starts_with("http"));
            }
        }
        if chunk.done {
            break;
        }
    }
});
