//! Matching: turns new stories, grown stories and due briefings into outbox rows
//! ([`crate::store::subscriptions`]). Runs after every ingest cycle and on a timer; running it
//! twice records nothing twice.

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::model::{Follow, FollowKind, Subscription};
use crate::store::{Mode, Scope, SearchTerms, StoreError};

use super::schedule;

/// What one matching pass recorded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MatchReport {
    pub topics: usize,
    pub stories: usize,
    pub briefings: usize,
}

impl MatchReport {
    pub(crate) fn total(&self) -> usize {
        self.topics + self.stories + self.briefings
    }
}

/// Sides covered, as bits: 1 left, 2 center, 4 right.
pub(crate) fn side_bits(by_side: &[usize; 3]) -> i64 {
    by_side
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, _)| 1i64 << i)
        .sum()
}

/// Records every delivery due at `now`.
pub async fn run_once(app: &App, now: DateTime<Utc>) -> Result<MatchReport, StoreError> {
    let mut report = MatchReport::default();
    for sub in app.store.subscriptions_of_kind(FollowKind::Topic).await? {
        report.topics += topic(app, &sub, now).await?;
    }
    for sub in app.store.subscriptions_of_kind(FollowKind::Story).await? {
        report.stories += usize::from(story(app, &sub, now).await?);
    }
    for sub in app
        .store
        .subscriptions_of_kind(FollowKind::Briefing)
        .await?
    {
        report.briefings += usize::from(briefing(app, &sub, now).await?);
    }
    if report.total() > 0 {
        tracing::info!(
            topics = report.topics,
            stories = report.stories,
            briefings = report.briefings,
            "subscriptions matched"
        );
    }
    Ok(report)
}

/// New stories (created after the subscription) matching every word of the query, once they
/// have enough outlets.
async fn topic(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let Follow::Topic { query, min_sources } = &sub.follow else {
        return Ok(0);
    };
    let terms = SearchTerms::parse(query);
    let mut n = 0;
    for (row, _) in app
        .store
        .search(&terms, Scope::Everything, Mode::All, 50)
        .await?
    {
        if row.key > sub.watermark
            && row.source_count >= *min_sources
            && app
                .store
                .enqueue(sub, row.id.as_str(), 0, None, now)
                .await?
        {
            n += 1;
        }
    }
    Ok(n)
}

/// A followed story that grew markedly since it was last posted, or that a side covers for
/// the first time; or, when its topic continued in a new story, that new story, which the
/// subscription follows from then on.
async fn story(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let Follow::Story { story: id } = &sub.follow else {
        return Ok(false);
    };
    let Some(row) = app.store.story_row(id).await? else {
        return Ok(false);
    };
    // The topic moved on to a new event: the subscription follows it there.
    if let Some(next) = app.store.latest_event(&row).await? {
        let story = app.store.with_coverage(next).await?;
        let sides = side_bits(&app.coverage(&story).by_side);
        return app
            .store
            .enqueue_continuation(sub, &story.id, (story.article_count, sides), now)
            .await;
    }
    if row.article_count <= sub.last_count {
        return Ok(false);
    }
    let story = app.store.with_coverage(row).await?;
    let count = story.article_count;
    let sides = side_bits(&app.coverage(&story).by_side);
    let growth = app.settings.subscriptions.growth_percent;
    let grew = count.saturating_mul(100) >= sub.last_count.saturating_mul(100 + growth);
    let new_side = sides & !sub.last_sides != 0;
    if !(grew || new_side) {
        return Ok(false);
    }
    app.store
        .enqueue(sub, story.id.as_str(), count, Some((count, sides)), now)
        .await
}

/// A briefing whose local time has come (within the grace period), once per local date.
async fn briefing(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let Follow::Briefing { time, zone, .. } = &sub.follow else {
        return Ok(false);
    };
    let grace = app.settings.subscriptions.briefing_grace;
    let Some((date, _)) = schedule::due(now, *time, *zone, sub.created_at, grace) else {
        return Ok(false);
    };
    app.store
        .enqueue(sub, "briefing", schedule::date_key(date), None, now)
        .await
}
