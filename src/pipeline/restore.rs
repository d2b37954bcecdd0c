//! Rebuilding the clusterer from the store as it stood at a time: each stored article added
//! to the story it was placed in, in publication order, with the merge step's logged merges
//! replayed where they ran; so a rebuilt clusterer places the next article as the one that
//! wrote the store would have.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::cluster::{Clusterer, Params};
use crate::store::{LoggedMerge, StoreError, StoreTx};

/// Rebuilds a clusterer from the store, as the transaction sees it: the stream's articles of
/// the [history](Params::history) before the newest one, replayed in publication order (on
/// the blocking pool: it is pure CPU work).
pub(crate) async fn restore_clusterer(
    tx: &mut StoreTx,
    params: Params,
) -> Result<Clusterer, StoreError> {
    let Some(newest) = tx.newest_article().await? else {
        return Ok(Clusterer::new(params));
    };
    replay(tx, params, before(newest, params.history()), None).await
}

/// The clusterer as it stood just before `at`: the stream's articles of the history before
/// `at`, replayed; what an article published at `at` is placed against.
pub(super) async fn restore_before(
    tx: &mut StoreTx,
    params: Params,
    at: DateTime<Utc>,
) -> Result<Clusterer, StoreError> {
    replay(tx, params, before(at, params.history()), Some(at)).await
}

pub(super) fn before(t: DateTime<Utc>, d: chrono::Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A clusterer that has seen the stored articles published in `since..until`, as it stood
/// after them: each article counted in word rarity and added to the story it was placed in
/// (an upstream story's only counted), and the merge step's merges replayed where they ran,
/// in publication order.
async fn replay(
    tx: &mut StoreTx,
    params: Params,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> Result<Clusterer, StoreError> {
    let articles = tx.clustered_articles(since, until, true).await?;
    let mut merges: HashMap<String, Vec<LoggedMerge>> = HashMap::new();
    for m in tx.merges_between(since, until).await? {
        merges.entry(m.point_url.clone()).or_default().push(m);
    }
    let replay = move || {
        let mut clusterer = Clusterer::new(params);
        for c in &articles {
            let a = &c.article;
            if c.upstream {
                clusterer.observe(&a.title, &a.summary, a.published);
                continue;
            }
            let prepared = clusterer.prepare(&a.title, &a.summary, a.published);
            clusterer.add(c.placed, &prepared);
            // The merge step ran here: what grew since (and what it merged) is what the next
            // one compares.
            if Clusterer::merge_due(&a.url) {
                clusterer.settle();
            }
            for m in merges.get(&a.url).into_iter().flatten() {
                clusterer.replay_merge(m.from, m.into);
            }
        }
        // A story's span counts from its first article, even one older than the replay.
        for c in articles.iter().filter(|c| !c.upstream) {
            clusterer.began(c.story, c.story_first);
        }
        clusterer
    };
    Ok(crate::workers::joined(
        tokio::task::spawn_blocking(replay).await,
    ))
}
