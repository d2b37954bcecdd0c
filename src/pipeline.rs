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

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use crate::cluster::{Assignment, Clusterer, Placement};
use crate::ingest::IncomingArticle;
use crate::model::{StoryId, StoryKey};
use crate::store::{NewArticle, NewStory, StoreError, StoreTx, StoryUpdate};
use crate::summarise::keypoints::{StoryText, SummaryParams, ARTICLE_LEAD_CHARS};

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
pub(crate) async fn restore_clusterer(
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
        for (seq, first, a) in articles {
            let prepared = clusterer.prepare(&a.title, &a.summary, a.published);
            clusterer.add(seq, &prepared);
            // A story's span counts from its first article, even one older than the replay.
            clusterer.began(seq, first);
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
/// state ran ahead of a transaction that rolled back) and restore a new one. With
/// `read_pages_under`, every new article whose text is shorter than that many characters is
/// queued to have its page read, in the same transaction.
pub(crate) async fn apply(
    tx: &mut StoreTx,
    clusterer: &mut Clusterer,
    mut batch: Vec<IncomingArticle>,
    now: DateTime<Utc>,
    read_pages_under: Option<usize>,
) -> Result<BatchReport, StoreError> {
    // Publication order, so clustering and story ids do not depend on the input order.
    batch.sort_by(|a, b| {
        (a.article.published, &a.article.url).cmp(&(b.article.published, &b.article.url))
    });
    // Which URLs are stored already: one query per few hundred, not one per article.
    let urls: Vec<&str> = batch.iter().map(|i| i.article.url.as_str()).collect();
    let known = tx.existing_urls(&urls).await?;
    let mut w = Write {
        tx,
        clusterer,
        now,
        known,
        report: BatchReport::default(),
        touched: BTreeMap::new(),
        by_upstream: BTreeMap::new(),
        merged: BTreeSet::new(),
        clustered: 0,
        pending: Vec::new(),
        read_pages_under,
    };
    for incoming in batch {
        w.add(incoming).await?;
    }
    w.flush().await?;
    w.clusterer.compact();
    w.refresh().await?;
    Ok(w.report)
}

/// A batch being written.
struct Write<'a> {
    tx: &'a mut StoreTx,
    clusterer: &'a mut Clusterer,
    now: DateTime<Utc>,
    /// Canonical URLs stored already (or earlier in the batch).
    known: HashSet<String>,
    report: BatchReport,
    /// The stories that changed, and whether each is new in this batch.
    touched: BTreeMap<StoryKey, bool>,
    /// Stories found or created for upstream keys in this batch.
    by_upstream: BTreeMap<String, StoryKey>,
    /// Stories folded into others by the merge step.
    merged: BTreeSet<StoryKey>,
    clustered: usize,
    /// Articles waiting to go in by the hundred (before each merge step, and at the end).
    pending: Vec<NewArticle>,
    /// Articles whose text is shorter than this have their pages queued to be read.
    read_pages_under: Option<usize>,
}

impl Write<'_> {
    /// Places one article in a story (unless its URL is stored) and queues it.
    async fn add(&mut self, incoming: IncomingArticle) -> Result<(), StoreError> {
        if !self.known.insert(incoming.article.url.clone()) {
            self.report.duplicates += 1;
            return Ok(());
        }
        let story = match incoming.story_key.as_deref() {
            Some(key) => {
                let a = &incoming.article;
                self.clusterer.observe(&a.title, &a.summary);
                self.upstream_story(key, &incoming).await?
            }
            None => self.cluster(&incoming).await?,
        };
        self.touched.entry(story).or_insert(false);
        self.pending.push(NewArticle {
            story,
            article: incoming.article,
        });
        if self.clustered > 0 && self.clustered.is_multiple_of(MERGE_EVERY) {
            self.flush().await?;
        }
        Ok(())
    }

    /// The story of an upstream key: found, or created.
    async fn upstream_story(
        &mut self,
        key: &str,
        incoming: &IncomingArticle,
    ) -> Result<StoryKey, StoreError> {
        if let Some(&story) = self.by_upstream.get(key) {
            return Ok(story);
        }
        let story = match self.tx.story_by_upstream_key(key).await? {
            Some((story, _)) => story,
            None => {
                let assignment = Assignment::Upstream(key.to_string());
                self.create(&assignment, Some(key), incoming).await?
            }
        };
        self.by_upstream.insert(key.to_string(), story);
        Ok(story)
    }

    /// The story the clusterer places an article in (a new one when none is close).
    async fn cluster(&mut self, incoming: &IncomingArticle) -> Result<StoryKey, StoreError> {
        let a = &incoming.article;
        let prepared = self.clusterer.prepare(&a.title, &a.summary, a.published);
        let placement = self.clusterer.place(&prepared);
        let story = match placement {
            Placement::Join(story) => story,
            Placement::New | Placement::Continue(_) => {
                let assignment = Assignment::New {
                    seed_url: a.url.clone(),
                };
                self.create(&assignment, None, incoming).await?
            }
        };
        if let Placement::Continue(previous) = placement {
            self.tx.set_follows(story, previous).await?;
        }
        self.clusterer.add(story, &prepared);
        self.clustered += 1;
        if self.clustered.is_multiple_of(YIELD_EVERY) {
            tokio::task::yield_now().await;
        }
        Ok(story)
    }

    async fn create(
        &mut self,
        assignment: &Assignment,
        upstream_key: Option<&str>,
        incoming: &IncomingArticle,
    ) -> Result<StoryKey, StoreError> {
        let a = &incoming.article;
        let story = create_story(
            self.tx,
            assignment,
            upstream_key,
            &a.title,
            a.published,
            self.now,
        )
        .await?;
        self.touched.insert(story, true);
        Ok(story)
    }

    /// Inserts the queued articles, then runs the merge step and applies its merges.
    async fn flush(&mut self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.pending);
        let read_page = |a: &NewArticle| {
            self.read_pages_under
                .is_some_and(|min| a.article.summary.chars().count() < min)
        };
        self.report.new_articles += self
            .tx
            .insert_articles_queueing(&pending, read_page, self.now)
            .await?;
        for (from, into) in self.clusterer.merge_pass() {
            self.tx.merge_story(from, into).await?;
            self.merged.insert(from);
            let was_new = self.touched.remove(&from).unwrap_or(false);
            let into_new = self.touched.get(&into).copied().unwrap_or(false);
            self.touched.insert(into, was_new && into_new);
            self.report.merged_stories += 1;
        }
        Ok(())
    }

    /// A fresh title and key points for every story that changed.
    async fn refresh(&mut self) -> Result<(), StoreError> {
        for (&story, &is_new) in &self.touched {
            if self.merged.contains(&story) {
                continue;
            }
            refresh_story(self.tx, self.clusterer, story).await?;
            if is_new {
                self.report.new_stories += 1;
            } else {
                self.report.updated_stories += 1;
            }
        }
        Ok(())
    }
}

/// Clustering hands its worker back to the runtime after this many articles.
const YIELD_EVERY: usize = 16;

/// The merge step runs after this many clustered articles (and at the end of a batch), so a
/// long batch clusters as a stream of smaller ones would.
const MERGE_EVERY: usize = 50;

/// A story's title, key points and search entry come from its first this-many articles...
const SAMPLE_FIRST: i64 = 10;
/// ... and its latest this-many, so updating a big story costs the same as a small one.
const SAMPLE_LATEST: i64 = 40;

/// Recomputes a story's title, key points and counts from its articles, with the rarity of
/// their words as the clusterer has seen it in the stream.
pub(crate) async fn refresh_story(
    tx: &mut StoreTx,
    clusterer: &Clusterer,
    story: StoryKey,
) -> Result<(), StoreError> {
    let mut articles = tx
        .article_sample(story, SAMPLE_FIRST, SAMPLE_LATEST)
        .await?;
    for a in &mut articles {
        let lead = crate::text::lead(&a.summary, ARTICLE_LEAD_CHARS);
        if lead.len() < a.summary.len() {
            a.summary = lead.to_string();
        }
    }
    let params = SummaryParams::default();
    let (articles, mut text) = crate::workers::joined(
        tokio::task::spawn_blocking(move || {
            let text = StoryText::read(&articles, &params);
            (articles, text)
        })
        .await,
    );
    text.set_rarity(|stem| clusterer.rarity(stem));
    let summary =
        crate::workers::joined(tokio::task::spawn_blocking(move || text.summarise(&params)).await);
    let headlines: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
    tx.update_story(
        story,
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
) -> Result<StoryKey, StoreError> {
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
