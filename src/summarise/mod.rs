//! Summarise: what a story says and who covers it.
//!
//! [`keypoints`] writes a story's title and key points from its articles (recomputed whenever
//! the story grows; a headline is cleaned of wire and section labels first); [`bias`] computes coverage, the bias distribution and the blindspot flag
//! on read, from the articles and the outlet directory, so a ratings update applies at once;
//! [`trending`] scores stories for `top`; [`factuality`] counts the covering outlets by
//! factuality; [`grounding`] checks that a written key point states only what the articles it
//! cites say (the groundwork for key points written by a language model).

pub mod bias;
pub mod factuality;
pub mod grounding;
mod headline;
pub mod keypoints;
pub mod percent;
pub(crate) mod trending;

pub use bias::Coverage;
pub use factuality::FactualityMix;
pub(crate) use headline::for_display as headline_for_display;
