//! Digest: a story rendered for people.
//!
//! [`Digest::build`] gathers what every rendering shows (title, link, key points, coverage,
//! top headlines); [`discord`] turns it into the exact Discord message payload, [`text`] into
//! terminal text with a coloured bias bar, [`png`] into the bias bar image, and [`export`] into
//! the machine-readable JSON of `storybot stories --json`.

pub mod discord;
pub mod export;
pub mod markdown;
pub mod png;
pub mod text;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ingest::OutletDirectory;
use crate::model::{Bias, Side, Story, StoryId};
use crate::summarise::Coverage;

/// Attribution shown wherever ratings are shown.
pub const RATINGS_ATTRIBUTION: &str =
    "Bias ratings: AllSides (CC BY-NC 4.0), Ad Fontes Media, Media Bias/Fact Check";

/// One headline as a digest lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub title: String,
    pub url: String,
    pub outlet: String,
    pub bias: Option<Bias>,
    pub published: DateTime<Utc>,
}

/// Everything a rendering of a story shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub id: StoryId,
    pub title: String,
    /// Where the title links: the configured story page, else the lead article.
    pub link: Option<String>,
    pub key_points: Vec<String>,
    pub coverage: Coverage,
    /// Top headlines: one per outlet, sides interleaved.
    pub headlines: Vec<Headline>,
}

impl Digest {
    /// Builds the digest of a story.
    pub fn build(story: &Story, outlets: &OutletDirectory, config: &Config) -> Digest {
        let coverage = Coverage::compute(&story.articles, outlets, &config.blindspot);
        let all = headlines_by_side(story, outlets);
        let headlines = interleave(&all, config.digest.headlines);
        let link = if config.digest.story_url.is_empty() {
            headlines.first().map(|h| h.url.clone())
        } else {
            Some(config.digest.story_url.replace("{id}", story.id.as_str()))
        };
        Digest {
            id: story.id.clone(),
            title: story.title.clone(),
            link,
            key_points: story.key_points.clone(),
            coverage,
            headlines,
        }
    }
}

/// The first headline of each outlet, grouped by side (Left, Center, Right, then unrated),
/// each group oldest first.
pub fn headlines_by_side(story: &Story, outlets: &OutletDirectory) -> [Vec<Headline>; 4] {
    let mut first: BTreeMap<&str, Headline> = BTreeMap::new();
    for a in &story.articles {
        first.entry(a.outlet.as_str()).or_insert_with(|| Headline {
            title: crate::summarise::keypoints::strip_outlet_suffix(&a.title, &a.outlet),
            url: a.url.clone(),
            outlet: a.outlet.clone(),
            bias: outlets.rating(&a.outlet, &a.domain),
            published: a.published,
        });
    }
    let mut groups: [Vec<Headline>; 4] = Default::default();
    for h in first.into_values() {
        let slot = match h.bias.map(Bias::side) {
            Some(Side::Left) => 0,
            Some(Side::Center) => 1,
            Some(Side::Right) => 2,
            None => 3,
        };
        groups[slot].push(h);
    }
    for g in &mut groups {
        g.sort_by(|a, b| (a.published, &a.outlet).cmp(&(b.published, &b.outlet)));
    }
    groups
}

/// Takes up to `n` headlines round-robin over Left, Center and Right, then unrated ones.
fn interleave(groups: &[Vec<Headline>; 4], n: usize) -> Vec<Headline> {
    let mut out = Vec::with_capacity(n);
    let mut round = 0;
    while out.len() < n {
        let mut any = false;
        for g in &groups[..3] {
            if let Some(h) = g.get(round) {
                any = true;
                if out.len() < n {
                    out.push(h.clone());
                }
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    out.extend(groups[3].iter().take(n - out.len()).cloned());
    out
}
