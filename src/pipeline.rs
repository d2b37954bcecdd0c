//! The write path: a batch of normalised articles through cluster, summarise and store, in
//! the caller's transaction, so a batch lands whole or not at all.
//!
//! The work between queries is CPU work (vectors, similarities, summaries) on the async
//! runtime's threads: summaries run on the blocking pool, and clustering yields every few
//! articles, so a large batch never holds a worker away from the bot's interactions.
//!
//! Articles with an upstream story key join that story; the others go through the online
//! [`Clusterer`], in publication order. After the batch the clusterer's merge step may fold
//! stories together; then every story that changed gets a fresh title and key points.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cluster::{Assignment, Clusterer, Placement};
use crate::ingest::IncomingArticle;
use crate::model::StoryId;
use crate::outlets::OutletDirectory;
use crate::store::{NewArticle, NewStory, StoreError, StoreTx, StoryUpdate};
use crate::summarise;

/// What a batch changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub new_articles: usize,
    /// Articles whose canonical URL was already stored (or repeated in the batch).
    pub duplicates: usize,
    pub new_stories: usize,
    /// Existing stories that gained articles.
    pub updated_stories: usize,
    /// Stories folded into another by the merge step.
    pub merged_stories: usize,
}

impl std::ops::AddAssign for BatchReport {
    fn add_assign(&mut self, o: BatchReport) {
        self.new_articles += o.new_articles;
        self.duplicates += o.duplicates;
        self.new_stories += o.new_stories;
        self.updated_stories += o.updated_stories;
        self.merged_stories += o.merged_stories;
    }
}

/// Rebuilds a clusterer from the store, as the transaction sees it: the articles of
/// clustered stories within the clustering window of the newest article, replayed in
/// publication order (on the blocking pool: it is pure CPU work).
pub async fn restore_clusterer(
    tx: &mut StoreTx,
    params: crate::cluster::Params,
) -> Result<Clusterer, StoreError> {
    let Some(newest) = tx.newest_article().await? else {
        return Ok(Clusterer::new(params));
    };
    let since = newest
        .checked_sub_signed(params.window)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let articles = tx.clustered_articles_since(since).await?;
    let replay = move || {
        let mut clusterer = Clusterer::new(params);
        for (seq, a) in articles {
            let prepared = clusterer.prepare(&a.title, &a.summary, a.published);
            clusterer.add(seq, &prepared);
        }
        // What was merged before was merged in the store already.
        let _ = clusterer.merge_pass();
        clusterer
    };
    Ok(crate::workers::joined(
        tokio::task::spawn_blocking(replay).await,
    ))
}

/// Stores a batch: assigns each article to a story, inserts it (once per canonical URL), runs
/// the merge step, then recomputes the summary of every story that changed.
///
/// `clusterer` must reflect the store; if this returns an error the caller must drop it (its
/// state ran ahead of a transaction that rolled back) and restore a new one.
pub async fn apply(
    tx: &mut StoreTx,
    outlets: &Arc<OutletDirectory>,
    clusterer: &mut Clusterer,
    batch: Vec<IncomingArticle>,
    now: DateTime<Utc>,
) -> Result<BatchReport, StoreError> {
    let mut report = BatchReport::default();
    // seq -> whether the story is new in this batch
    let mut touched: BTreeMap<i64, bool> = BTreeMap::new();
    let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
    let mut merged: BTreeSet<i64> = BTreeSet::new();
    let mut clustered = 0usize;
    let mut batch = batch;
    // Publication order, so clustering and story ids do not depend on the input order.
    batch.sort_by(|a, b| {
        (a.article.published, &a.article.url).cmp(&(b.article.published, &b.article.url))
    });
    // Which URLs are stored already: one query per few hundred, not one per article.
    let urls: Vec<&str> = batch.iter().map(|i| i.article.url.as_str()).collect();
    let mut known: std::collections::HashSet<String> = tx.existing_urls(&urls).await?;
    // Articles wait here and go in by the hundred (before each merge step, and at the end).
    let mut pending: Vec<NewArticle> = Vec::new();
    for incoming in batch {
        let a = &incoming.article;
        if !known.insert(a.url.clone()) {
            report.duplicates += 1;
            continue;
        }
        let seq = match incoming.story_key.as_deref() {
            Some(key) => match by_key.get(key) {
                Some(&seq) => seq,
                None => {
                    let seq = match tx.story_by_key(key).await? {
                        Some((seq, _)) => seq,
                        None => {
                            let assignment = Assignment::Upstream(key.to_string());
                            let seq = create_story(
                                tx,
                                &assignment,
                                Some(key),
                                &a.title,
                                a.published,
                                now,
                            )
                            .await?;
                            touched.insert(seq, true);
                            seq
                        }
                    };
                    by_key.insert(key.to_string(), seq);
                    seq
                }
            },
            None => {
                let prepared = clusterer.prepare(&a.title, &a.summary, a.published);
                let seq = match clusterer.place(&prepared) {
                    Placement::Join(seq) => seq,
                    Placement::New => {
                        let assignment = Assignment::New {
                            seed_url: a.url.clone(),
                        };
                        let seq =
                            create_story(tx, &assignment, None, &a.title, a.published, now).await?;
                        touched.insert(seq, true);
                        seq
                    }
                };
                clusterer.add(seq, &prepared);
                clustered += 1;
                if clustered.is_multiple_of(YIELD_EVERY) {
                    tokio::task::yield_now().await;
                }
                seq
            }
        };
        touched.entry(seq).or_insert(false);
        pending.push(NewArticle {
            story_seq: seq,
            article: incoming.article,
        });
        if clustered > 0 && clustered.is_multiple_of(MERGE_EVERY) {
            report.new_articles += tx.insert_articles(&std::mem::take(&mut pending)).await?;
            merge(tx, clusterer, &mut touched, &mut merged, &mut report).await?;
        }
    }
    report.new_articles += tx.insert_articles(&pending).await?;
    merge(tx, clusterer, &mut touched, &mut merged, &mut report).await?;
    clusterer.compact();
    for (&seq, &is_new) in &touched {
        if merged.contains(&seq) {
            continue;
        }
        refresh_story(tx, outlets, seq).await?;
        if is_new {
            report.new_stories += 1;
        } else {
            report.updated_stories += 1;
        }
    }
    Ok(report)
}

/// Clustering hands its worker back to the runtime after this many articles.
const YIELD_EVERY: usize = 16;

/// The merge step runs after this many clustered articles (and at the end of a batch), so a
/// long batch clusters as a stream of smaller ones would.
const MERGE_EVERY: usize = 50;

/// Runs the clusterer's merge step and applies its merges to the store.
async fn merge(
    tx: &mut StoreTx,
    clusterer: &mut Clusterer,
    touched: &mut BTreeMap<i64, bool>,
    merged: &mut BTreeSet<i64>,
    report: &mut BatchReport,
) -> Result<(), StoreError> {
    for (from, into) in clusterer.merge_pass() {
        tx.merge_story(from, into).await?;
        merged.insert(from);
        let was_new = touched.remove(&from).unwrap_or(false);
        let into_new = touched.get(&into).copied().unwrap_or(false);
        touched.insert(into, was_new && into_new);
        report.merged_stories += 1;
    }
    Ok(())
}

/// A story's title, key points and search entry come from its first this-many articles...
const SAMPLE_FIRST: i64 = 10;
/// ... and its latest this-many, so updating a big story costs the same as a small one.
const SAMPLE_LATEST: i64 = 40;

/// Recomputes a story's title, key points and counts from its articles.
async fn refresh_story(
    tx: &mut StoreTx,
    outlets: &Arc<OutletDirectory>,
    seq: i64,
) -> Result<(), StoreError> {
    let articles = tx.article_sample(seq, SAMPLE_FIRST, SAMPLE_LATEST).await?;
    let directory = outlets.clone();
    let (articles, summary) = crate::workers::joined(
        tokio::task::spawn_blocking(move || {
            let summary = summarise::summarise(&articles, &directory);
            (articles, summary)
        })
        .await,
    );
    let headlines: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
    tx.update_story(
        seq,
        StoryUpdate {
            title: &summary.title,
            key_points: &summary.key_points,
            headlines: &headlines,
        },
    )
    .await
}

/// Creates a story with the shortest free id for its seed.
async fn create_story(
    tx: &mut StoreTx,
    assignment: &Assignment,
    upstream_key: Option<&str>,
    title: &str,
    published: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mut id = assignment.story_id(StoryId::MIN_LEN);
    for len in [10, StoryId::MAX_LEN] {
        if !tx.id_taken(&id).await? {
            break;
        }
        id = assignment.story_id(len);
    }
    if tx.id_taken(&id).await? {
        return Err(StoreError::Corrupt(format!(
            "story id {id} collides at every length"
        )));
    }
    tx.insert_story(NewStory {
        id: &id,
        upstream_key,
        title,
        published,
        now,
    })
    .await
}
