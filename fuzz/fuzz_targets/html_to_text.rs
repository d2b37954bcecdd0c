//! HTML to text on any input. Invariants: no panic; the text has no control characters, no
//! markup of a script or style element survives, and it is never longer than its input by
//! more than entity expansion allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::ingest::feeds::html_to_text;

fuzz_target!(|html: &str| {
    let text = html_to_text(html);
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.len() <= html.len() * 4 + 4);
    assert_eq!(text, text.trim());
});
