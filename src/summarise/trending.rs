//! Trending: which stories matter now.
//!
//! A story's score grows with its coverage (distinct sources, on a log scale: the tenth
//! outlet adds less than the second), with its recent growth (the share of its articles from
//! the last six hours), and decays with the time since its last article (half-life one day).
//! Times are measured from the newest article in the store, so an archive ranks as it did
//! when it was live.

/// Hours over which growth is measured.
pub(crate) const GROWTH_HOURS: i64 = 6;
/// Half-life of a story's score, in hours since its last article.
pub(crate) const HALF_LIFE_HOURS: f64 = 24.0;

/// The trending score of a story.
pub(crate) fn score(
    sources: i64,
    articles: i64,
    recent_articles: i64,
    hours_since_update: f64,
) -> f64 {
    let coverage = (1.0 + sources.max(0) as f64).ln();
    let growth = 1.0 + recent_articles.max(0) as f64 / articles.max(1) as f64;
    let decay = 0.5f64.powf(hours_since_update.max(0.0) / HALF_LIFE_HOURS);
    coverage * growth * decay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_growth_and_recency_all_count() {
        assert!(score(20, 30, 0, 0.0) > score(5, 30, 0, 0.0));
        assert!(score(10, 20, 15, 0.0) > score(10, 20, 0, 0.0));
        assert!(score(10, 20, 5, 1.0) > score(10, 20, 5, 30.0));
        assert!((score(10, 20, 0, 24.0) * 2.0 - score(10, 20, 0, 0.0)).abs() < 1e-9);
    }
}
