//! The factuality mix of a story's coverage: how much of it comes from outlets rated High,
//! Mixed or Low for factual reporting (MBFC, and Ad Fontes Media where MBFC has no rating; see
//! `data/outlets.csv`). A rating of the outlet, not of the article.
//!
//! Counted as the bias distribution is: over distinct outlets, whole percentages that sum to
//! exactly 100 (largest remainder), outlets without a factuality rating counted apart.
//!
//! **Low-factuality flag.** With at least `min_rated_sources` outlets rated for factuality, a
//! story is flagged when at least `low_share` percent of them are rated Low (defaults 3 and
//! 50 %; config `[factuality]`).

use serde::Serialize;

use super::percent::largest_remainder;
use crate::config::FactualityRule;
use crate::model::{Factuality, OutletCoverage};
use crate::outlets::OutletDirectory;

/// A story's coverage by the factuality of its outlets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FactualityMix {
    /// Outlets rated High, Mixed and Low.
    pub by_level: [usize; 3],
    /// Outlets without a factuality rating.
    pub unrated: usize,
    /// Whole percentages of the rated outlets (High, Mixed, Low), summing to 100; all zero when
    /// none is rated.
    pub percent: [u8; 3],
    /// Mostly low-factuality outlets, by the configured rule.
    pub mostly_low: bool,
}

impl FactualityMix {
    /// Rates each covering outlet with `outlets` and counts them.
    pub(crate) fn compute(
        coverage: &[OutletCoverage],
        outlets: &OutletDirectory,
        rule: &FactualityRule,
    ) -> FactualityMix {
        let mut by_level = [0usize; 3];
        let mut unrated = 0;
        for o in coverage {
            match outlets.factuality(&o.name, &o.domain) {
                Some(f) => by_level[level(f)] += 1,
                None => unrated += 1,
            }
        }
        FactualityMix::from_counts(by_level, unrated, rule)
    }

    /// The mix of outlets counted per level (High, Mixed, Low).
    pub fn from_counts(by_level: [usize; 3], unrated: usize, rule: &FactualityRule) -> Self {
        let rated: usize = by_level.iter().sum();
        let percent = largest_remainder(&by_level);
        let mostly_low = rated >= rule.min_rated_sources
            && by_level[2] * 100 >= usize::from(rule.low_share) * rated;
        FactualityMix {
            by_level,
            unrated,
            percent,
            mostly_low,
        }
    }

    /// Outlets rated for factuality.
    pub fn rated(&self) -> usize {
        self.by_level.iter().sum()
    }

    /// `"Factuality: High 60% · Mixed 30% · Low 10%"`, with the unrated outlets counted after;
    /// `None` when no covering outlet is rated.
    pub fn summary_line(&self) -> Option<String> {
        if self.rated() == 0 {
            return None;
        }
        let mut line = format!(
            "Factuality: High {}% · Mixed {}% · Low {}%",
            self.percent[0], self.percent[1], self.percent[2]
        );
        if self.unrated > 0 {
            line.push_str(&format!(" ({} unrated)", self.unrated));
        }
        Some(line)
    }
}

fn level(f: Factuality) -> usize {
    match f {
        Factuality::High => 0,
        Factuality::Mixed => 1,
        Factuality::Low => 2,
    }
}

/// "High", "Mixed" or "Low", as a digest writes it.
pub(crate) fn label(f: Factuality) -> &'static str {
    ["High", "Mixed", "Low"][level(f)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(by_level: [usize; 3], unrated: usize) -> FactualityMix {
        FactualityMix::from_counts(by_level, unrated, &FactualityRule::default())
    }

    #[test]
    fn percentages_sum_to_100_with_ties_broken_in_order() {
        let m = mix([1, 1, 1], 0);
        assert_eq!(m.percent, [34, 33, 33]);
        let m = mix([2, 1, 0], 4);
        assert_eq!(m.percent, [67, 33, 0]);
        assert_eq!(m.unrated, 4);
        assert_eq!(
            m.summary_line().unwrap(),
            "Factuality: High 67% · Mixed 33% · Low 0% (4 unrated)"
        );
    }

    #[test]
    fn all_unrated_has_no_line_and_no_flag() {
        let m = mix([0, 0, 0], 5);
        assert_eq!(m.percent, [0, 0, 0]);
        assert_eq!(m.summary_line(), None);
        assert!(!m.mostly_low);
    }

    #[test]
    fn one_outlet_is_100_percent_but_never_flagged() {
        let m = mix([0, 0, 1], 0);
        assert_eq!(m.percent, [0, 0, 100]);
        assert!(!m.mostly_low, "fewer rated outlets than the rule asks for");
    }

    #[test]
    fn the_flag_follows_the_rule() {
        assert!(mix([1, 1, 2], 9).mostly_low, "half Low");
        assert!(!mix([2, 1, 1], 0).mostly_low, "a quarter Low");
        let strict = FactualityRule {
            low_share: 75,
            ..FactualityRule::default()
        };
        assert!(!FactualityMix::from_counts([1, 1, 2], 0, &strict).mostly_low);
    }
}
