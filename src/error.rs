//! Error reporting helpers: an error with its causes on one line, each said once.
//!
//! Error types here follow one rule: a wrapper's message says what it was doing, and its
//! cause is its `source()`, never repeated inside its own message. [`Chain`] prints the whole
//! story ("cannot open the store: database error: connection refused"), and skips a cause
//! whose text the line already holds (dependencies do not all follow the rule).

use std::fmt;

/// Displays an error and its sources, joined with `": "`, without repeats.
pub(crate) struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !text.is_empty() && !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        f.write_str(&line)
    }
}

/// `Chain(e).to_string()`.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    Chain(e).to_string()
}

/// An HTTP client error, its causes included ("error sending request: dns error: ..."), without
/// the URL it was for (feed URLs carry credentials, interaction URLs carry tokens), bounded in
/// length.
pub(crate) fn http(e: reqwest::Error) -> String {
    let line = chain(&e.without_url());
    crate::text::truncate_chars(&crate::secrets::scrub(&line), 300)
}

/// A short id tying a user's error message to the log line.
pub(crate) fn error_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{:08x}", h.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the store")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("database is locked")]
    struct Inner;

    #[test]
    fn causes_are_said_once() {
        assert_eq!(
            chain(&Outer(Inner)),
            "cannot open the store: database is locked"
        );
        let io = std::io::Error::other(Outer(Inner));
        assert_eq!(chain(&io), "cannot open the store: database is locked");
    }
}
