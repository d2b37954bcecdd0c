//! Placing stored articles again: a batch that reaches back before the stories stored (a
//! second archive of the same months, a backfill after downtime) is placed with the stored
//! articles from its earliest on, in one publication order, as one import of everything would
//! have placed it.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use super::restore::{before, restore_before};
use crate::cluster::Clusterer;
use crate::ingest::IncomingArticle;
use crate::model::StoryKey;
use crate::store::{ClusteredArticle, StoreError, StoreTx};

/// An article published more than this before the newest one the clusterer has placed makes
/// the stored stories from its time on be placed again (see [`super::apply`]). Later ones are
/// placed against the stories as they stand: live feeds deliver minutes out of order all the
/// time, and rebuilding the window for each would cost seconds per poll.
pub(super) const LATE: chrono::Duration = chrono::Duration::hours(1);

/// What placing a batch again involves: the stored articles to place again, and the stories
/// whose articles undoing the later merges changed.
#[derive(Default)]
pub(super) struct Again {
    pub(super) stored: Vec<ClusteredArticle>,
    pub(super) changed: BTreeSet<StoryKey>,
}

/// When the batch reaches back before the stories the clusterer holds: the merges run since
/// its earliest article undone, the stored articles from then on (to be placed again, with the
/// batch), and the clusterer restored to just before it; else nothing.
pub(super) async fn reaching_back(
    tx: &mut StoreTx,
    clusterer: &mut Clusterer,
    batch: &[IncomingArticle],
    known: &HashSet<String>,
) -> Result<Again, StoreError> {
    let earliest = batch
        .iter()
        .filter(|i| !known.contains(&i.article.url))
        .map(|i| i.article.published)
        .min();
    let (Some(earliest), Some(newest)) = (earliest, clusterer.newest()) else {
        return Ok(Again::default());
    };
    if earliest >= before(newest, LATE) {
        return Ok(Again::default());
    }
    let changed = tx.undo_merges_since(earliest).await?;
    let stored = tx.clustered_articles(earliest, None, true).await?;
    *clusterer = restore_before(tx, clusterer.params(), earliest).await?;
    Ok(Again { stored, changed })
}

/// An article to place: new from the batch, or stored and placed again.
pub(super) enum Item {
    New(IncomingArticle),
    Stored(ClusteredArticle),
}

impl Item {
    fn order(&self) -> (DateTime<Utc>, &str) {
        let a = match self {
            Item::New(i) => &i.article,
            Item::Stored(c) => &c.article,
        };
        (a.published, &a.url)
    }
}

/// The batch and the stored articles to place again, as one list in publication order
/// (both come sorted).
pub(super) fn in_order(batch: Vec<IncomingArticle>, stored: Vec<ClusteredArticle>) -> Vec<Item> {
    let mut out = Vec::with_capacity(batch.len() + stored.len());
    let mut batch = batch.into_iter().map(Item::New).peekable();
    let mut stored = stored.into_iter().map(Item::Stored).peekable();
    loop {
        let next = match (batch.peek(), stored.peek()) {
            (Some(b), Some(s)) if s.order() < b.order() => stored.next(),
            (Some(_), _) => batch.next(),
            (None, _) => stored.next(),
        };
        match next {
            Some(item) => out.push(item),
            None => return out,
        }
    }
}
