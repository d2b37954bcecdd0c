//! The machine-readable story export (`storybot stories --json`, `storybot story --json`
//! prints the Discord payload instead). Its shape is documented in README.md and stable:
//! fields may be added, never renamed or removed.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::ingest::OutletDirectory;
use crate::model::{Bias, Side, Story};
use crate::summarise::Coverage;

/// One story in the export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportStory {
    pub id: String,
    pub title: String,
    pub key_points: Vec<String>,
    pub article_count: usize,
    pub source_count: usize,
    pub first_published: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    pub bias: ExportBias,
    pub articles: Vec<ExportArticle>,
}

/// The bias distribution over distinct outlets.
#[derive(Debug, Clone, Serialize)]
pub struct ExportBias {
    /// Whole percentages of rated outlets, summing to 100 (all 0 when none is rated).
    pub left: u8,
    pub center: u8,
    pub right: u8,
    pub rated_sources: usize,
    pub unrated_sources: usize,
    /// Rated outlets per rating: left, lean-left, center, lean-right, right.
    pub detail: Detail,
    /// `"left"` or `"right"`: the side that barely covers the story; `null` otherwise.
    pub blindspot: Option<Side>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub left: usize,
    #[serde(rename = "lean-left")]
    pub lean_left: usize,
    pub center: usize,
    #[serde(rename = "lean-right")]
    pub lean_right: usize,
    pub right: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportArticle {
    pub url: String,
    pub title: String,
    pub outlet: String,
    pub bias: Option<Bias>,
    pub published: DateTime<Utc>,
}

impl ExportStory {
    pub fn new(story: &Story, outlets: &OutletDirectory, config: &Config) -> ExportStory {
        let c = Coverage::compute(&story.articles, outlets, &config.blindspot);
        ExportStory {
            id: story.id.to_string(),
            title: story.title.clone(),
            key_points: story.key_points.clone(),
            article_count: c.articles,
            source_count: c.sources,
            first_published: c.first_published,
            last_updated: c.last_updated,
            bias: ExportBias {
                left: c.percent[0],
                center: c.percent[1],
                right: c.percent[2],
                rated_sources: c.rated_sources,
                unrated_sources: c.unrated_sources,
                detail: Detail {
                    left: c.by_bias[0],
                    lean_left: c.by_bias[1],
                    center: c.by_bias[2],
                    lean_right: c.by_bias[3],
                    right: c.by_bias[4],
                },
                blindspot: c.blindspot,
            },
            articles: story
                .articles
                .iter()
                .map(|a| ExportArticle {
                    url: a.url.clone(),
                    title: a.title.clone(),
                    outlet: a.outlet.clone(),
                    bias: outlets.rating(&a.outlet, &a.domain),
                    published: a.published,
                })
                .collect(),
        }
    }
}
