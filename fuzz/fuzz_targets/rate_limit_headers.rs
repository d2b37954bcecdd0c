//! Rate-limit headers as Discord (or a proxy, or a broken middlebox) sends them. Invariants:
//! no panic, and the next two requests on the route wait a bounded time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderValue};
use storybot::discord::ratelimit::Limits;

fuzz_target!(|data: (&[u8], &[u8])| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let limits = Limits::new(50);
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(data.0) {
            headers.insert("x-ratelimit-remaining", v);
        }
        if let Ok(v) = HeaderValue::from_bytes(data.1) {
            headers.insert("x-ratelimit-reset-after", v);
        }
        limits.observe("POST /channels/1/messages", &headers).await;
        let start = tokio::time::Instant::now();
        limits.route_slot("POST /channels/1/messages").await;
        limits.route_slot("POST /channels/1/messages").await;
        assert!(start.elapsed() <= std::time::Duration::from_secs(3_600));
    });
});
