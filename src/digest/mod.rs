//! Digest: a story rendered for people.
//!
//! [`Digest::build`] gathers what every rendering shows (title, link, key points, coverage,
//! top headlines); [`embed`] turns it into the exact Discord message payload, [`terminal`] into
//! terminal text with a coloured bias bar, [`png`] into the bias bar image, and [`export`] into
//! the machine-readable JSON of `storybot stories --json`.

pub mod embed;
pub mod export;
pub(crate) mod markdown;
pub(crate) mod png;
pub(crate) mod terminal;

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::model::{
    Article, Bias, Factuality, Framing, OutletCoverage, Sequence, Side, Story, StoryId, StoryLink,
};
use crate::outlets::OutletDirectory;
use crate::summarise::Coverage;

/// Attribution shown wherever ratings are shown.
pub(crate) const RATINGS_ATTRIBUTION: &str =
    "Ratings of outlets: bias from AllSides (CC BY-NC 4.0), Ad Fontes Media, Media Bias/Fact \
     Check; factuality from Media Bias/Fact Check, Ad Fontes Media";

/// One headline as a digest lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    pub title: String,
    pub url: String,
    pub outlet: String,
    pub bias: Option<Bias>,
    /// The outlet's factuality rating, where known.
    pub factuality: Option<Factuality>,
    pub published: DateTime<Utc>,
}

impl Headline {
    /// `"Lean Left · High factuality"`: the outlet's ratings, as a digest tags a headline.
    pub(crate) fn tag(&self) -> String {
        let bias = self.bias.map_or("Unrated", |b| b.label());
        match self.factuality {
            Some(f) => format!(
                "{bias} · {} factuality",
                crate::summarise::factuality::label(f)
            ),
            None => bias.to_string(),
        }
    }

    /// An article as a headline: its title without the outlet's suffix, and its outlet's rating.
    pub(crate) fn of(a: &Article, outlets: &OutletDirectory) -> Headline {
        Headline {
            title: crate::summarise::headline_for_display(&a.title, &a.outlet),
            url: a.url.clone(),
            outlet: a.outlet.clone(),
            bias: outlets.rating(&a.outlet, &a.domain),
            factuality: outlets.factuality(&a.outlet, &a.domain),
            published: a.published,
        }
    }
}

/// Everything a rendering of a story shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub id: StoryId,
    pub title: String,
    /// Where the title links: the configured story page, else the lead article.
    pub link: Option<String>,
    pub key_points: Vec<String>,
    /// The model that wrote the key points (checked against the sources); `None`: extractive.
    pub key_points_by: Option<String>,
    /// How each side's outlets frame the story, when a model wrote the points.
    pub framing: Vec<Framing>,
    pub coverage: Coverage,
    /// Top headlines: one per outlet, sides interleaved.
    pub headlines: Vec<Headline>,
    /// The previous and next events of the same topic.
    pub sequence: Sequence,
    /// The lead image of the first lead article whose page gave one (https only).
    pub image: Option<String>,
}

impl Digest {
    /// What a list shows of a story: the digest's own title, key points (the model's when
    /// stored), coverage and sequence, without headlines; built from the story alone, so
    /// every surface that lists stories decides what a story shows the same way.
    pub fn summary(story: &Story, outlets: &OutletDirectory, settings: &Settings) -> Digest {
        Digest::build(story, &[], outlets, settings)
    }

    /// Builds the digest of a story from its lead articles: the first articles of the
    /// outlets [`lead_outlets`] picks, in that order.
    pub fn build(
        story: &Story,
        leads: &[Article],
        outlets: &OutletDirectory,
        settings: &Settings,
    ) -> Digest {
        let coverage = Coverage::compute(
            &story.outlets,
            outlets,
            &settings.blindspot,
            &settings.factuality,
        );
        let headlines: Vec<Headline> = leads
            .iter()
            .take(settings.digest.headlines)
            .map(|a| Headline::of(a, outlets))
            .collect();
        let link = match &settings.digest.story_url {
            None => headlines.first().map(|h| h.url.clone()),
            Some(template) => Some(template.replace("{id}", story.id.as_str())),
        };
        let written = story.written.as_ref();
        Digest {
            id: story.id.clone(),
            title: written.map_or(&story.title, |w| &w.title).clone(),
            link,
            key_points: written.map_or_else(
                || story.key_points.clone(),
                |w| w.points.iter().map(|p| p.text.clone()).collect(),
            ),
            key_points_by: written.map(|w| w.model.clone()),
            framing: written.map(|w| w.framing.clone()).unwrap_or_default(),
            coverage,
            headlines,
            sequence: story.sequence.clone(),
            image: None,
        }
    }
}

impl Sequence {
    /// "Previous event" and "Next event" with each one's title and id, as lines of `render`.
    pub(crate) fn lines(&self, render: impl Fn(&str, &StoryLink) -> String) -> Vec<String> {
        [
            ("Previous event", &self.previous),
            ("Next event", &self.next),
        ]
        .into_iter()
        .filter_map(|(label, link)| link.as_ref().map(|l| render(label, l)))
        .collect()
    }
}

/// The outlets whose first articles a digest shows: up to `n`, round-robin over Left, Center
/// and Right (each side earliest first), then unrated ones.
pub fn lead_outlets<'a>(
    story: &'a Story,
    outlets: &OutletDirectory,
    n: usize,
) -> Vec<&'a OutletCoverage> {
    let mut groups: [Vec<&OutletCoverage>; 4] = Default::default();
    for o in &story.outlets {
        let slot = match outlets.rating(&o.name, &o.domain).map(Bias::side) {
            Some(Side::Left) => 0,
            Some(Side::Center) => 1,
            Some(Side::Right) => 2,
            None => 3,
        };
        groups[slot].push(o);
    }
    for g in &mut groups {
        g.sort_by(|a, b| (a.first_published, &a.name).cmp(&(b.first_published, &b.name)));
    }
    let mut out = Vec::with_capacity(n);
    let mut round = 0;
    while out.len() < n {
        let mut any = false;
        for g in &groups[..3] {
            if let Some(o) = g.get(round) {
                any = true;
                if out.len() < n {
                    out.push(*o);
                }
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    let rest = n - out.len();
    out.extend(groups[3].iter().take(rest));
    out
}

/// The names of a story's outlets on one side (by their current rating).
pub(crate) fn outlets_on_side(story: &Story, outlets: &OutletDirectory, side: Side) -> Vec<String> {
    story
        .outlets
        .iter()
        .filter(|o| outlets.rating(&o.name, &o.domain).map(Bias::side) == Some(side))
        .map(|o| o.name.clone())
        .collect()
}

/// Articles per side (by their outlet's rating).
pub(crate) fn articles_per_side(story: &Story, outlets: &OutletDirectory) -> [i64; 3] {
    let mut n = [0; 3];
    for o in &story.outlets {
        if let Some(b) = outlets.rating(&o.name, &o.domain) {
            n[b.side() as usize] += o.articles;
        }
    }
    n
}
