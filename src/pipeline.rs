//! The write path: a batch of normalised articles through cluster, summarise and store, in
//! one transaction, so a batch lands whole or not at all.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::cluster::{self, Assignment};
use crate::ingest::{IncomingArticle, OutletDirectory};
use crate::model::StoryId;
use crate::store::{NewStory, Store, StoreError, StoryUpdate};
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
}

impl std::ops::AddAssign for BatchReport {
    fn add_assign(&mut self, o: BatchReport) {
        self.new_articles += o.new_articles;
        self.duplicates += o.duplicates;
        self.new_stories += o.new_stories;
        self.updated_stories += o.updated_stories;
    }
}

/// Stores a batch: assigns each article to a story, inserts it (once per canonical URL), then
/// recomputes the summary of every story that grew.
pub async fn apply(
    store: &Store,
    outlets: &OutletDirectory,
    batch: Vec<IncomingArticle>,
    now: DateTime<Utc>,
) -> Result<BatchReport, StoreError> {
    let mut report = BatchReport::default();
    let mut tx = store.begin().await?;
    // seq -> whether the story is new in this batch
    let mut touched: BTreeMap<i64, bool> = BTreeMap::new();
    let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
    let mut batch = batch;
    // Publication order, so a story's id comes from its first article whatever the input order.
    batch.sort_by(|a, b| {
        (a.article.published, &a.article.url).cmp(&(b.article.published, &b.article.url))
    });
    for incoming in batch {
        let a = &incoming.article;
        if tx.article_exists(&a.url).await? {
            report.duplicates += 1;
            continue;
        }
        let assignment = cluster::assign(incoming.story_key.as_deref(), &a.url);
        let seq = match &assignment {
            Assignment::Upstream(key) => match by_key.get(key) {
                Some(&seq) => seq,
                None => match tx.story_by_key(key).await? {
                    Some((seq, _)) => {
                        by_key.insert(key.clone(), seq);
                        seq
                    }
                    None => {
                        let seq = create_story(
                            &mut tx,
                            &assignment,
                            Some(key),
                            &a.title,
                            a.published,
                            now,
                        )
                        .await?;
                        by_key.insert(key.clone(), seq);
                        touched.insert(seq, true);
                        seq
                    }
                },
            },
            Assignment::New { .. } => {
                let seq =
                    create_story(&mut tx, &assignment, None, &a.title, a.published, now).await?;
                touched.insert(seq, true);
                seq
            }
        };
        if tx.insert_article(seq, a).await? {
            report.new_articles += 1;
            touched.entry(seq).or_insert(false);
        } else {
            report.duplicates += 1;
        }
    }
    for (&seq, &is_new) in &touched {
        let articles = tx.articles(seq).await?;
        let summary = summarise::summarise(&articles, outlets);
        let sources = articles
            .iter()
            .map(|a| a.outlet.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let headlines: Vec<&str> = articles.iter().map(|a| a.title.as_str()).collect();
        tx.update_story(
            seq,
            StoryUpdate {
                title: &summary.title,
                key_points: &summary.key_points,
                source_count: sources as i64,
                headlines: &headlines,
            },
        )
        .await?;
        if is_new {
            report.new_stories += 1;
        } else {
            report.updated_stories += 1;
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Creates a story with the shortest free id for its seed.
async fn create_story(
    tx: &mut crate::store::StoreTx,
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
