//! Rendered story pages, kept while their story is unchanged.
//!
//! A story's page reads the story's headlines and its timeline, which costs more for a story of
//! thousands of articles. Its row and per-outlet aggregates, read first anyway, change whenever
//! an article joins, so their hash (with the page's query and the program's version) says
//! whether a page rendered earlier still holds. That hash is also the page's ETag: a client
//! that has the page gets a 304 without anything being rendered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::model::{Story, StoryKey};

/// Pages kept at most; the cache starts afresh when full.
const MAX_PAGES: usize = 512;

/// A story and a page's query string.
type PageKey = (StoryKey, String);

#[derive(Debug, Default)]
pub(super) struct Pages {
    /// Per page: the fingerprint it was rendered for, and the HTML.
    pages: Mutex<HashMap<PageKey, (u64, Arc<str>)>>,
}

/// What identifies a story page's content: the story as read (row, aggregates, written points,
/// sequence), the query, and this build.
pub(super) fn fingerprint(story: &Story, query: &str) -> u64 {
    let mut bytes = serde_json::to_vec(story).unwrap_or_default();
    bytes.extend_from_slice(query.as_bytes());
    bytes.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    crate::fnv::hash(&bytes)
}

impl Pages {
    /// The page rendered for this story and query, if its fingerprint still matches.
    pub(super) fn get(&self, key: StoryKey, query: &str, fingerprint: u64) -> Option<Arc<str>> {
        let pages = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (f, body) = pages.get(&(key, query.to_string()))?;
        (*f == fingerprint).then(|| body.clone())
    }

    pub(super) fn put(&self, key: StoryKey, query: &str, fingerprint: u64, body: Arc<str>) {
        let mut pages = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pages.len() >= MAX_PAGES {
            pages.clear();
        }
        pages.insert((key, query.to_string()), (fingerprint, body));
    }
}
