//! A subscription's `side:` and `exclude:` options as a member types them. Invariants: no
//! panic; an accepted side filter reads back the same from its own text; accepted excluded
//! words are at most ten whole words of letters and digits; a refusal's message stays short.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::model::{parse_exclude, SideFilter, EXCLUDE_WORDS_MAX};

fuzz_target!(|text: &str| {
    match SideFilter::parse(text) {
        Ok(f) => assert_eq!(SideFilter::parse(&f.text()), Ok(f)),
        Err(why) => assert!(why.chars().count() < 400, "{why}"),
    }
    match parse_exclude(text) {
        Ok(words) => {
            assert!(words.len() <= EXCLUDE_WORDS_MAX);
            for w in &words {
                assert!(!w.is_empty() && w.chars().count() <= 40);
                assert!(w.chars().all(char::is_alphanumeric));
            }
        }
        Err(why) => assert!(why.chars().count() < 400, "{why}"),
    }
});
