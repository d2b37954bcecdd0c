//! Summarise: what a story says and who covers it.
//!
//! [`keypoints`] writes a story's title and key points from its articles (recomputed whenever
//! the story grows); [`bias`] computes coverage, the bias distribution and the blindspot flag
//! on read, from the articles and the outlet directory, so a ratings update applies at once;
//! [`trending`] scores stories for `top`.

pub mod bias;
pub mod keypoints;
pub(crate) mod trending;

pub use bias::Coverage;
pub(crate) use keypoints::summarise;
