//! Component `custom_id`s as Discord sends them back (any text). Invariants: no panic; what
//! parses encodes back to the same id, within Discord's 100 characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::discord::custom_id::Action;

fuzz_target!(|id: &str| {
    if let Some(action) = Action::parse(id) {
        let encoded = action.encode();
        assert!(encoded.len() <= 100);
        assert_eq!(Action::parse(&encoded), Some(action));
        assert_eq!(encoded, id);
    }
});
