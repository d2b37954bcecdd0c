//! An article page's main text and metadata from any HTML. Invariants: no panic; the text is
//! bounded and has no control characters but line breaks; a page behind a wall gives no
//! text; the lead image is https and the canonical URL http(s), or absent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::ingest::extract::{extract, MAX_TEXT_CHARS};

fuzz_target!(|html: &str| {
    let e = extract(html, Some("https://news.example/a/story"));
    assert!(e.text.chars().count() <= MAX_TEXT_CHARS);
    assert!(!e.text.chars().any(|c| c.is_control() && c != '\n'), "{:?}", e.text);
    if e.wall.is_some() {
        assert!(e.text.is_empty());
    }
    assert!(e.image.as_deref().is_none_or(|u| u.starts_with("https://")));
    assert!(e
        .canonical_url
        .as_deref()
        .is_none_or(|u| u.starts_with("https://") || u.starts_with("http://")));
});
