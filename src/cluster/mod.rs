//! Cluster: which story an incoming article belongs to.
//!
//! An article that carries an upstream story key (a pre-clustered source) joins the story with
//! that key. Any other article goes through [`online`] clustering: it joins the most similar
//! active story, or starts a new one. Story ids are derived from the key or the first
//! article's URL, so they are stable as stories grow.

pub(crate) mod features;
mod horizon;
pub(crate) mod online;

pub use online::{Clusterer, Params, Placement, Prepared};

use crate::model::StoryId;

/// How a new story's id is seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Assignment {
    /// A story with this upstream key.
    Upstream(String),
    /// A story started by the article with this URL.
    New { seed_url: String },
}

impl Assignment {
    /// The id seed: distinct namespaces keep keys and URLs from colliding.
    pub(crate) fn seed(&self) -> String {
        match self {
            Assignment::Upstream(k) => format!("story:{k}"),
            Assignment::New { seed_url } => format!("url:{seed_url}"),
        }
    }

    /// The story id of length `len` (8, or longer after a collision).
    pub(crate) fn story_id(&self, len: usize) -> StoryId {
        StoryId::derive(&self.seed(), len)
    }
}
