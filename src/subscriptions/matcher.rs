//! Matching: turns new stories, grown stories and due briefings into outbox rows
//! ([`crate::store::subscriptions`]). Runs after every ingest cycle and on a timer; running it
//! twice records nothing twice.
//!
//! Every story a subscription would post passes its filters first (excluded words, side,
//! outlets). A subscription over its `max_per_day` still records its matches, held, and the
//! next day's first pass records the short list that carries them.

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::model::{ChannelKind, Follow, FollowKind, Story, Subscription, Updates};
use crate::store::subscriptions::{day_start, HELD_LIST};
use crate::store::{Mode, Scope, SearchTerms, StoreError, StoryRow};

use super::schedule;

/// Story posts of one subscription checked for growth per pass, newest first, and for how
/// long after they were posted.
const POSTS_WATCHED: i64 = 100;
const POSTS_WATCHED_FOR: chrono::Duration = chrono::Duration::hours(72);

/// What one matching pass recorded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MatchReport {
    pub topics: usize,
    pub stories: usize,
    pub briefings: usize,
    pub blindspots: usize,
    /// Updates of stories that topics and blindspot alerts posted.
    pub updates: usize,
    /// Short lists of posts held over `max_per_day`.
    pub lists: usize,
}

impl MatchReport {
    pub(crate) fn total(&self) -> usize {
        self.topics + self.stories + self.briefings + self.blindspots + self.updates + self.lists
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
    for kind in FollowKind::ALL {
        for sub in app.store.subscriptions_of_kind(kind).await? {
            match_one(app, &sub, now, &mut report).await?;
        }
    }
    if report.total() > 0 {
        tracing::info!(
            topics = report.topics,
            stories = report.stories,
            briefings = report.briefings,
            blindspots = report.blindspots,
            updates = report.updates,
            lists = report.lists,
            "subscriptions matched"
        );
    }
    Ok(report)
}

async fn match_one(
    app: &App,
    sub: &Subscription,
    now: DateTime<Utc>,
    report: &mut MatchReport,
) -> Result<(), StoreError> {
    match &sub.follow {
        Follow::Topic { .. } => report.topics += topic(app, sub, now).await?,
        Follow::Story { .. } => report.stories += usize::from(story(app, sub, now).await?),
        Follow::Briefing { .. } => report.briefings += usize::from(briefing(app, sub, now).await?),
        Follow::Blindspot { .. } => report.blindspots += blindspot(app, sub, now).await?,
    }
    if follows_posts(sub) {
        report.updates += updates(app, sub, now).await?;
    }
    if sub.options.max_per_day > 0 {
        report.lists += usize::from(short_list(app, sub, now).await?);
    }
    Ok(())
}

/// Whether a topic or blindspot subscription posts updates of the stories it posted: in a
/// forum (into each story's post), or when its `updates` option asks for them.
pub(crate) fn follows_posts(sub: &Subscription) -> bool {
    matches!(sub.follow, Follow::Topic { .. } | Follow::Blindspot { .. })
        && (sub.channel_kind == ChannelKind::Forum || sub.options.updates != Updates::Off)
}

/// Whether a story passes a subscription's filters.
pub(crate) fn passes(app: &App, sub: &Subscription, story: &Story) -> bool {
    // What the filters read is what a post shows (the model's points when it wrote them).
    let view = app.summary(story);
    let c = &view.coverage;
    let text = format!("{}\n{}", view.title, view.key_points.join("\n"));
    sub.options
        .passes(&text, c.sources as i64, &c.percent, c.blindspot)
}

/// New stories (created after the subscription) matching every word of the query and the
/// filters.
async fn topic(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let Follow::Topic { query } = &sub.follow else {
        return Ok(0);
    };
    let terms = SearchTerms::parse(query);
    let rows = app
        .store
        .search(&terms, Scope::Everything, Mode::All, 50)
        .await?
        .into_iter()
        .map(|(row, _)| row)
        .collect();
    enqueue_new(app, sub, rows, |_| true, now).await
}

/// New stories one side barely covers (the subscription's side, or either), that pass the
/// filters.
async fn blindspot(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let Follow::Blindspot { side } = &sub.follow else {
        return Ok(0);
    };
    let rows = app.store.top(500, app.settings.digest.top_window).await?;
    let want = *side;
    enqueue_new(
        app,
        sub,
        rows,
        |s| {
            let b = app.coverage(s).blindspot;
            b.is_some() && (want.is_none() || b == want)
        },
        now,
    )
    .await
}

/// Records the stories among `rows` that are newer than the subscription, pass `keep` and
/// the filters; how many were new.
async fn enqueue_new(
    app: &App,
    sub: &Subscription,
    rows: Vec<StoryRow>,
    keep: impl Fn(&Story) -> bool,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let fresh: Vec<StoryRow> = rows
        .into_iter()
        .filter(|r| r.key > sub.watermark && r.source_count >= sub.options.min_sources)
        .collect();
    let mut n = 0;
    for chunk in fresh.chunks(50) {
        for story in app.store.with_coverages(chunk.to_vec()).await? {
            if keep(&story)
                && passes(app, sub, &story)
                && app
                    .store
                    .enqueue(sub, story.id.as_str(), 0, None, now)
                    .await?
            {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Whether a story grew markedly since it was last posted (`last`: articles and side bits),
/// or a side covers it for the first time; its articles and sides now.
fn grew(app: &App, story: &Story, (last_count, last_sides): (i64, i64)) -> Option<(i64, i64)> {
    let count = story.article_count;
    let sides = side_bits(&app.coverage(story).by_side);
    let growth = app.settings.subscriptions.growth_percent;
    let grew =
        count > last_count && count.saturating_mul(100) >= last_count.saturating_mul(100 + growth);
    let new_side = sides & !last_sides != 0;
    (grew || new_side).then_some((count, sides))
}

/// Updates of the stories a topic or blindspot subscription posted (the newest
/// [`POSTS_WATCHED`] of the last [`POSTS_WATCHED_FOR`]): each grown story once per growth
/// step, as a revision of its subject.
async fn updates(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut n = 0;
    let since = now - POSTS_WATCHED_FOR;
    for post in app.store.story_posts(sub.id, since, POSTS_WATCHED).await? {
        let Some(story) = app.store.story(&post.story).await? else {
            continue;
        };
        let Some(progress) = grew(app, &story, (post.last_count, post.last_sides)) else {
            continue;
        };
        if passes(app, sub, &story)
            && app
                .store
                .enqueue_update(sub, &story.id, progress, now)
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
    let Some(progress) = grew(app, &story, (sub.last_count, sub.last_sides)) else {
        return Ok(false);
    };
    if !passes(app, sub, &story) {
        return Ok(false);
    }
    app.store
        .enqueue(sub, story.id.as_str(), progress.0, Some(progress), now)
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

/// The short list of posts held over `max_per_day` on earlier days: recorded once a day
/// (UTC), as that day's first post, when there are any.
async fn short_list(app: &App, sub: &Subscription, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let today = day_start(now);
    if app.store.held(sub.id, today, 1).await?.is_empty() {
        return Ok(false);
    }
    let key = schedule::date_key(today.date_naive());
    app.store.enqueue(sub, HELD_LIST, key, None, now).await
}
