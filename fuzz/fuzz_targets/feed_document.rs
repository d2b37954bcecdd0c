//! A feed document as a server sends it, through feed-rs and our normalisation. Invariants: no
//! panic; every article that passes normalisation is bounded and free of control characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::ingest::feeds::parse;
use storybot::ingest::normalise::normalise;

fuzz_target!(|data: &[u8]| {
    let Ok(items) = parse(data, "https://feeds.example.org/rss", None) else {
        return;
    };
    let outlets = storybot::outlets::OutletDirectory::default();
    let now = chrono::Utc::now();
    for raw in items {
        if let Ok(a) = normalise(raw, &outlets, now) {
            let a = a.article;
            assert!(!a.title.is_empty());
            assert!(!a.title.chars().any(char::is_control));
            assert!(!a.summary.chars().any(char::is_control));
        }
    }
});
