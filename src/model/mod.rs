//! Domain types shared by every stage: outlets and their ratings, articles, stories.
//!
//! These are plain data. Coverage and bias distribution are *computed* from a story's
//! articles (see [`crate::summarise`]), never stored by hand.

mod post_options;
mod subscription;

pub use post_options::{
    parse_exclude, ChannelKind, PostOptions, SideFilter, Updates, EXCLUDE_WORDS_MAX,
    MAX_PER_DAY_MAX,
};
pub use subscription::{
    parse_time, parse_zone, Delivery, DeliveryState, Follow, FollowKind, NewSubscription,
    StoryPost, Subscription,
};

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An outlet's political lean on AllSides' five-point scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bias {
    Left,
    LeanLeft,
    Center,
    LeanRight,
    Right,
}

impl Bias {
    /// All five ratings, left to right.
    pub const ALL: [Bias; 5] = [
        Bias::Left,
        Bias::LeanLeft,
        Bias::Center,
        Bias::LeanRight,
        Bias::Right,
    ];

    /// The three-bucket side this rating counts towards (Left + Lean Left, Center,
    /// Lean Right + Right).
    pub fn side(self) -> Side {
        match self {
            Bias::Left | Bias::LeanLeft => Side::Left,
            Bias::Center => Side::Center,
            Bias::LeanRight | Bias::Right => Side::Right,
        }
    }

    /// The machine-readable name used in CSV, config and JSON (`lean-left`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Bias::Left => "left",
            Bias::LeanLeft => "lean-left",
            Bias::Center => "center",
            Bias::LeanRight => "lean-right",
            Bias::Right => "right",
        }
    }

    /// The human label (`Lean Left`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Bias::Left => "Left",
            Bias::LeanLeft => "Lean Left",
            Bias::Center => "Center",
            Bias::LeanRight => "Lean Right",
            Bias::Right => "Right",
        }
    }
}

impl fmt::Display for Bias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A rating name that is not one of the five accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bias rating {0:?} (expected left, lean-left, center, lean-right or right)")]
pub struct UnknownBias(pub String);

impl FromStr for Bias {
    type Err = UnknownBias;

    /// Accepts `lean-left`, `Lean Left`, `lean_left` and `leanleft` alike.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "left" => Ok(Bias::Left),
            "leanleft" => Ok(Bias::LeanLeft),
            "center" | "centre" => Ok(Bias::Center),
            "leanright" => Ok(Bias::LeanRight),
            "right" => Ok(Bias::Right),
            _ => Err(UnknownBias(s.to_string())),
        }
    }
}

/// The three buckets of a bias distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Left,
    Center,
    Right,
}

impl Side {
    pub(crate) const ALL: [Side; 3] = [Side::Left, Side::Center, Side::Right];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Side::Left => "Left",
            Side::Center => "Center",
            Side::Right => "Right",
        }
    }

    /// The other partisan side; `Center` has none.
    pub(crate) fn opposite(self) -> Option<Side> {
        match self {
            Side::Left => Some(Side::Right),
            Side::Right => Some(Side::Left),
            Side::Center => None,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How reliably an outlet reports facts (MBFC's scale; Ad Fontes' reliability mapped onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Factuality {
    High,
    Mixed,
    Low,
}

impl Factuality {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Factuality::High => "high",
            Factuality::Mixed => "mixed",
            Factuality::Low => "low",
        }
    }
}

/// A factuality name that is not `high`, `mixed` or `low`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown factuality {0:?} (expected high, mixed or low)")]
pub struct UnknownFactuality(pub String);

impl FromStr for Factuality {
    type Err = UnknownFactuality;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "high" | "very high" | "very-high" => Ok(Factuality::High),
            "mixed" | "mostly factual" | "mostly-factual" => Ok(Factuality::Mixed),
            "low" | "very low" | "very-low" => Ok(Factuality::Low),
            _ => Err(UnknownFactuality(s.to_string())),
        }
    }
}

/// A news outlet as the ratings table knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outlet {
    pub name: String,
    /// Hosts or registrable domains (`bbc.co.uk`, `latino.foxnews.com`), lower case, no `www.`.
    pub domains: Vec<String>,
    /// `None` when no rating source rates it.
    pub bias: Option<Bias>,
    pub factuality: Option<Factuality>,
}

/// One article, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Canonical URL (tracking parameters and fragment removed); unique in the store.
    pub url: String,
    pub title: String,
    /// Plain-text summary; empty when the source gives none.
    pub summary: String,
    /// The outlet's display name (the rated outlet's name when matched).
    pub outlet: String,
    /// The host the article was published on, lower case, without `www.`.
    pub domain: String,
    pub published: DateTime<Utc>,
    pub fetched: DateTime<Utc>,
}

/// A story's number in the store (its row), as opposed to its public [`StoryId`]: what the
/// clusterer, the store and subscription watermarks know a story by. Numbers grow with every
/// new story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoryKey(pub i64);

impl fmt::Display for StoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A story's stable short id: lower-case letters and digits, 8 to 12 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoryId(String);

/// Alphabet for story ids: no `0/o`, `1/l/i` look-alikes, so an id can be typed from a screen.
const ID_ALPHABET: &[u8; 32] = b"23456789abcdefghjkmnpqrstuvwxyz-";

impl StoryId {
    pub(crate) const MIN_LEN: usize = 8;
    pub(crate) const MAX_LEN: usize = 12;

    /// Derives an id from a seed (an upstream story key or the first article's URL).
    /// `len` is clamped to 8..=12; longer ids resolve the rare collision.
    pub fn derive(seed: &str, len: usize) -> StoryId {
        let len = len.clamp(Self::MIN_LEN, Self::MAX_LEN);
        // Two independent FNV-1a passes give 128 bits; 12 characters use 60 of them.
        let mut bits = u128::from(crate::fnv::hash(seed.as_bytes())) << 64
            | u128::from(crate::fnv::hash_with(
                0x8422_2325_cbf2_9ce4,
                seed.as_bytes(),
            ));
        let alphabet = &ID_ALPHABET[..31]; // '-' is never used inside an id
        let mut id = String::with_capacity(len);
        for _ in 0..len {
            id.push(alphabet[(bits % 31) as usize] as char);
            bits /= 31;
        }
        StoryId(id)
    }

    /// Parses user input as an id, if it has an id's shape.
    pub fn parse(s: &str) -> Option<StoryId> {
        let s = s.trim();
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len())
            && s.bytes().all(|b| ID_ALPHABET[..31].contains(&b));
        ok.then(|| StoryId(s.to_string()))
    }

    /// Wraps an id read back from the store.
    pub(crate) fn from_stored(s: String) -> StoryId {
        StoryId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One outlet's coverage of a story: how many articles, when, and its first one. A story is
/// read as these aggregates, never as all its articles, so any story costs the same to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutletCoverage {
    /// The outlet's display name (its rated name when matched).
    pub name: String,
    /// The domain of its first article (with the name, what decides its rating).
    pub domain: String,
    pub articles: i64,
    pub first_published: DateTime<Utc>,
    pub last_published: DateTime<Utc>,
    /// The store's number of its first article.
    pub first_article: i64,
}

/// A story: one event, and who covers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    /// The store's number of the story.
    pub key: StoryKey,
    pub id: StoryId,
    pub title: String,
    pub key_points: Vec<String>,
    pub article_count: i64,
    /// When the first covering article was published.
    pub first_published: DateTime<Utc>,
    /// When the latest covering article was published.
    pub last_updated: DateTime<Utc>,
    /// Grows with every change of the story.
    pub revision: i64,
    /// One entry per covering outlet, earliest first.
    pub outlets: Vec<OutletCoverage>,
    /// The events before and after this one in the same ongoing topic.
    pub sequence: Sequence,
    /// Key points a language model wrote and the grounding check passed, when `[llm]` is set
    /// and they have arrived; the digest shows them instead of `key_points`.
    pub written: Option<WrittenSummary>,
}

/// A story's title and key points as a language model wrote them, after the grounding check
/// (see [`crate::llm`]), with what wrote them and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenSummary {
    pub title: String,
    pub points: Vec<WrittenPoint>,
    /// One sentence per covering side on how its outlets frame the story.
    pub framing: Vec<Framing>,
    /// The model's name, as configured.
    pub model: String,
    /// The version of the instructions it was given.
    pub prompt_version: i64,
    pub written_at: DateTime<Utc>,
    /// The story's article count when it was written.
    pub article_count: i64,
}

/// A written key point and the URLs of the articles it cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenPoint {
    pub text: String,
    pub sources: Vec<String>,
}

/// How one side's outlets frame a story, in a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Framing {
    pub side: Side,
    pub sentence: String,
}

/// A story's neighbours in its topic: a story that reached its maximum span is continued by a
/// new one (see [`crate::cluster`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    pub previous: Option<StoryLink>,
    pub next: Option<StoryLink>,
}

/// Another story, as a digest names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryLink {
    pub id: StoryId,
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_parses_every_spelling_and_maps_to_sides() {
        assert_eq!("Lean Left".parse::<Bias>().unwrap(), Bias::LeanLeft);
        assert_eq!("lean-right".parse::<Bias>().unwrap(), Bias::LeanRight);
        assert_eq!("CENTRE".parse::<Bias>().unwrap(), Bias::Center);
        assert!("mixed".parse::<Bias>().is_err());
        assert_eq!(Bias::LeanLeft.side(), Side::Left);
        assert_eq!(Bias::Right.side(), Side::Right);
    }

    #[test]
    fn story_ids_are_stable_typeable_and_parse_back() {
        let a = StoryId::derive("upstream:abc", 8);
        assert_eq!(a, StoryId::derive("upstream:abc", 8));
        assert_ne!(a, StoryId::derive("upstream:abd", 8));
        assert_eq!(a.as_str().len(), 8);
        assert_eq!(StoryId::parse(a.as_str()), Some(a.clone()));
        // A longer id (used on collision) extends the short one.
        assert!(StoryId::derive("upstream:abc", 12)
            .as_str()
            .starts_with(a.as_str()));
        assert_eq!(StoryId::parse("peace talks"), None);
        assert_eq!(StoryId::parse("ab"), None);
    }
}
