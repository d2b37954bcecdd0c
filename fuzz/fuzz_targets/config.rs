//! `config.toml` text. Invariants: no panic; an accepted configuration gives settings whose
//! durations are bounded (so no later arithmetic on them can overflow); a refusal names the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storybot::config::{Config, Settings};

fuzz_target!(|text: &str| {
    let path = std::path::Path::new("fuzz.toml");
    match Config::parse(text, path) {
        Ok(config) => {
            let s = Settings::new(&config).expect("parse validated it");
            let decade = chrono::Duration::days(3_660);
            assert!(s.digest.top_window <= decade && s.cluster_window <= decade);
            assert!(s.ingest.max_age.is_none_or(|a| a <= decade));
            assert!(s.subscriptions.max_delivery_age <= decade);
            assert!(s.subscriptions.pause_retry <= decade);
            assert!(s.subscriptions.briefing_grace <= decade);
            for f in &s.feeds {
                assert!(f.refresh <= std::time::Duration::from_secs(7 * 86_400));
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz.toml")),
    }
});
