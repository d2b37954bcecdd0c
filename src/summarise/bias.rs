//! Coverage and bias distribution of a story, computed from its articles.
//!
//! As Ground News counts *sources*, the distribution is over distinct outlets, not articles:
//! an outlet that runs ten articles counts once. Rated outlets fall into three buckets
//! (Left = Left + Lean Left, Center, Right = Lean Right + Right) with whole percentages that
//! always sum to exactly 100 (largest remainder method); the five-point detail is kept too.
//! Outlets without a rating are counted separately and never dropped silently.
//!
//! **Blindspot rule.** With at least `min_rated_sources` rated outlets, a story is a blindspot
//! for a side (Left or Right) when that side's share is at most `max_share` percent while the
//! other side's is at least `min_opposite_share` percent. Defaults: 3 sources, 10 %, 30 %
//! (config `[blindspot]`). "Blindspot for the Right" means the right barely covers it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::factuality::FactualityMix;
use super::percent::largest_remainder;
use crate::config::{BlindspotRule, FactualityRule};
use crate::model::{OutletCoverage, Side};
use crate::outlets::OutletDirectory;

/// Who covers a story, and how much.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub articles: usize,
    /// Distinct outlets.
    pub sources: usize,
    pub rated_sources: usize,
    pub unrated_sources: usize,
    /// Rated outlets per five-point rating, left to right.
    pub by_bias: [usize; 5],
    /// Rated outlets per side (Left, Center, Right).
    pub by_side: [usize; 3],
    /// Whole percentages per side, summing to 100 (all zero when nothing is rated).
    pub percent: [u8; 3],
    pub blindspot: Option<Side>,
    pub first_published: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    /// The same outlets by factuality (see [`super::factuality`]).
    pub factuality: FactualityMix,
}

impl Coverage {
    /// Rates each covering outlet with `outlets` and counts them.
    pub(crate) fn compute(
        coverage: &[OutletCoverage],
        outlets: &OutletDirectory,
        rule: &BlindspotRule,
        factuality: &FactualityRule,
    ) -> Coverage {
        let mut by_bias = [0usize; 5];
        let mut unrated = 0;
        for o in coverage {
            match outlets.rating(&o.name, &o.domain) {
                Some(b) => by_bias[b as usize] += 1,
                None => unrated += 1,
            }
        }
        let mut c = Coverage::from_counts(
            coverage.iter().map(|o| o.articles.max(0) as usize).sum(),
            by_bias,
            unrated,
            coverage.iter().map(|o| o.first_published).min(),
            coverage.iter().map(|o| o.last_published).max(),
            rule,
        );
        c.factuality = FactualityMix::compute(coverage, outlets, factuality);
        c
    }

    /// Builds coverage from outlet counts per rating (no factuality ratings).
    pub fn from_counts(
        articles: usize,
        by_bias: [usize; 5],
        unrated_sources: usize,
        first_published: Option<DateTime<Utc>>,
        last_updated: Option<DateTime<Utc>>,
        rule: &BlindspotRule,
    ) -> Coverage {
        let by_side = [by_bias[0] + by_bias[1], by_bias[2], by_bias[3] + by_bias[4]];
        let rated: usize = by_side.iter().sum();
        let percent = largest_remainder(&by_side);
        let blindspot = blindspot(rated, &percent, rule);
        Coverage {
            articles,
            sources: rated + unrated_sources,
            rated_sources: rated,
            unrated_sources,
            by_bias,
            by_side,
            percent,
            blindspot,
            first_published,
            last_updated,
            factuality: FactualityMix::default(),
        }
    }

    /// The share of a side, in whole percent.
    pub(crate) fn share(&self, side: Side) -> u8 {
        self.percent[side as usize]
    }

    /// "Left 20% · Center 51% · Right 29%", or a plain statement when nothing is rated.
    pub(crate) fn summary_line(&self) -> String {
        if self.rated_sources == 0 {
            return "No rated sources yet".to_string();
        }
        Side::ALL
            .iter()
            .map(|s| format!("{} {}%", s.label(), self.share(*s)))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The side with the largest share (ties go to Center, then Left).
    pub(crate) fn dominant(&self) -> Option<Side> {
        if self.rated_sources == 0 {
            return None;
        }
        [Side::Center, Side::Left, Side::Right]
            .into_iter()
            .max_by_key(|s| (self.by_side[*s as usize], matches!(s, Side::Center)))
    }
}

fn blindspot(rated: usize, percent: &[u8; 3], rule: &BlindspotRule) -> Option<Side> {
    if rated < rule.min_rated_sources.max(1) {
        return None;
    }
    [Side::Right, Side::Left].into_iter().find(|side| {
        let other = side.opposite().expect("partisan side");
        percent[*side as usize] <= rule.max_share
            && percent[other as usize] >= rule.min_opposite_share
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blindspot_rule() {
        let rule = BlindspotRule::default();
        let cov = |l, c, r| Coverage::from_counts(9, [l, 0, c, 0, r], 0, None, None, &rule);
        assert_eq!(cov(6, 3, 0).blindspot, Some(Side::Right));
        assert_eq!(cov(0, 3, 6).blindspot, Some(Side::Left));
        assert_eq!(cov(3, 3, 3).blindspot, None);
        assert_eq!(
            cov(0, 10, 1).blindspot,
            None,
            "center-heavy is no blindspot"
        );
        assert_eq!(cov(2, 0, 0).blindspot, None, "too few rated sources");
        assert_eq!(
            cov(5, 5, 0).summary_line(),
            "Left 50% · Center 50% · Right 0%"
        );
        assert_eq!(cov(0, 0, 0).summary_line(), "No rated sources yet");
    }
}
