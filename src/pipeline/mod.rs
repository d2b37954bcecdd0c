//! The write path: a batch of normalised articles through cluster, summarise and store, in
//! the caller's transaction, so a batch lands whole or not at all.
//!
//! The work between queries is CPU work (vectors, similarities, summaries) on the async
//! runtime's threads: summaries run on the blocking pool, and clustering yields every few
//! articles, so a large batch never holds a worker away from the bot's interactions.
//!
//! Articles with an upstream story key join that story; the others go through the online
//! [`Clusterer`], in publication order, and its merge step may fold stories together; then
//! every story that changed gets a fresh title and key points. A batch that reaches back
//! before the stories stored places the stored articles from its time on again ([`again`]),
//! against the clusterer as it stood then ([`restore`]): how articles arrive does not change
//! the stories they make.

mod again;
mod restore;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use again::{in_order, reaching_back, Item};
pub(crate) use restore::restore_clusterer;

use crate::cluster::{Assignment, Clusterer, Placement};
use crate::ingest::IncomingArticle;
use crate::model::{Article, StoryId, StoryKey};
use crate::store::{
    ClusteredArticle, LoggedMerge, NewArticle, NewStory, StoreError, StoreTx, StoryUpdate,
};
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

/// Stores a batch: assigns each article to a story, inserts it (once per canonical URL), runs
/// the merge step, then recomputes the summary of every story that changed.
///
/// A batch that reaches back more than [`LATE`](again::LATE) before the stories stored (a second archive
/// of the same months, a backfill after downtime) is placed as one import of everything
/// would have placed it: the clusterer is restored to just before the batch's earliest
/// article, and the stored articles from then on are placed again with the batch, in
/// publication order; articles that land in another story move there, and a story left
/// empty points to where its articles went, as a merged one does. The merge step runs after
/// articles picked by their URL ([`Clusterer::merge_due`]), so how the articles arrived does
/// not move it either.
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
    let again = reaching_back(tx, clusterer, &batch, &known).await?;
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
        moves: Vec::new(),
        went: BTreeMap::new(),
        vacated: again.changed.clone(),
        read_pages_under,
    };
    w.touched.extend(again.changed.iter().map(|&s| (s, false)));
    for item in in_order(batch, again.stored) {
        match item {
            Item::New(incoming) => w.add(incoming).await?,
            Item::Stored(c) => w.place_again(c).await?,
        }
    }
    // No merge step at the end of a batch: where a batch ends depends on how the articles
    // arrived. The next merge-due article runs it.
    w.write_pending().await?;
    w.retire_vacated().await?;
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
    /// Stories folded into others by the merge step, or left empty and pointed elsewhere.
    merged: BTreeSet<StoryKey>,
    clustered: usize,
    /// Articles waiting to go in by the hundred (before each merge step, and at the end).
    pending: Vec<NewArticle>,
    /// Stored articles placed in another story than the store has them in, waiting to move.
    moves: Vec<(i64, StoryKey)>,
    /// For each story that stored articles were placed out of: how many went to which story.
    went: BTreeMap<StoryKey, BTreeMap<StoryKey, usize>>,
    /// Stories that lost articles to a move: they may be left empty.
    vacated: BTreeSet<StoryKey>,
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
                self.clusterer.observe(&a.title, &a.summary, a.published);
                self.upstream_story(key, &incoming.article).await?
            }
            None => self.cluster(&incoming.article, false).await?,
        };
        self.touched.entry(story).or_insert(false);
        let point = (incoming.story_key.is_none() && Clusterer::merge_due(&incoming.article.url))
            .then(|| (incoming.article.published, incoming.article.url.clone()));
        self.pending.push(NewArticle {
            story,
            article: incoming.article,
        });
        if let Some((published, url)) = point {
            self.write_pending().await?;
            self.merge(published, url).await?;
        }
        Ok(())
    }

    /// Places a stored article again; it moves if it lands in another story. An upstream
    /// story's article is only counted in word rarity again, as it was the first time.
    async fn place_again(&mut self, c: ClusteredArticle) -> Result<(), StoreError> {
        if c.upstream {
            let a = &c.article;
            self.clusterer.observe(&a.title, &a.summary, a.published);
            return Ok(());
        }
        let story = self.cluster(&c.article, true).await?;
        self.touched.entry(story).or_insert(false);
        if story != c.story || story != c.placed {
            self.moves.push((c.seq, story));
            *self
                .went
                .entry(c.story)
                .or_default()
                .entry(story)
                .or_default() += 1;
        }
        if Clusterer::merge_due(&c.article.url) {
            self.write_pending().await?;
            self.merge(c.article.published, c.article.url).await?;
        }
        Ok(())
    }

    /// The story of an upstream key: found, or created.
    async fn upstream_story(&mut self, key: &str, a: &Article) -> Result<StoryKey, StoreError> {
        if let Some(&story) = self.by_upstream.get(key) {
            return Ok(story);
        }
        let story = match self.tx.story_by_upstream_key(key).await? {
            Some((story, _)) => story,
            None => {
                let assignment = Assignment::Upstream(key.to_string());
                self.create(&assignment, a).await?
            }
        };
        self.by_upstream.insert(key.to_string(), story);
        Ok(story)
    }

    /// The story the clusterer places an article in (a new one when none is close; for a
    /// `stored` article, the one it started before, if there is one).
    async fn cluster(&mut self, a: &Article, stored: bool) -> Result<StoryKey, StoreError> {
        let prepared = self.clusterer.prepare(&a.title, &a.summary, a.published);
        let placement = self.clusterer.place(&prepared);
        let story = match placement {
            Placement::Join(story) => story,
            Placement::New | Placement::Continue(_) => self.seed(a, stored).await?,
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

    /// A new story started by `a`: for a stored article, the story it started before (brought
    /// back if it was merged away), unless the clusterer holds that story already.
    async fn seed(&mut self, a: &Article, stored: bool) -> Result<StoryKey, StoreError> {
        let assignment = Assignment::New {
            seed_url: a.url.clone(),
        };
        if stored {
            for len in ID_LENGTHS {
                let id = assignment.story_id(len);
                let Some(story) = self.tx.seeded_story(&id, &a.url).await? else {
                    continue;
                };
                if self.clusterer.resolve(story).is_none() {
                    self.tx.revive_story(story).await?;
                    self.merged.remove(&story);
                    return Ok(story);
                }
            }
        }
        self.create(&assignment, a).await
    }

    async fn create(
        &mut self,
        assignment: &Assignment,
        a: &Article,
    ) -> Result<StoryKey, StoreError> {
        let story = create_story(self.tx, assignment, a, self.now).await?;
        self.touched.insert(story, true);
        Ok(story)
    }

    /// Inserts the queued articles and moves the stored ones placed elsewhere.
    async fn write_pending(&mut self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.pending);
        let read_page = |a: &NewArticle| {
            self.read_pages_under
                .is_some_and(|min| a.article.summary.chars().count() < min)
        };
        self.report.new_articles += self
            .tx
            .insert_articles_queueing(&pending, read_page, self.now)
            .await?;
        let moves = std::mem::take(&mut self.moves);
        if !moves.is_empty() {
            for left in self.tx.move_articles(&moves).await? {
                self.touched.entry(left).or_insert(false);
                self.vacated.insert(left);
            }
        }
        Ok(())
    }

    /// Runs the merge step (after the article published at `published` with this URL),
    /// applies its merges and logs them.
    async fn merge(
        &mut self,
        published: DateTime<Utc>,
        point_url: String,
    ) -> Result<(), StoreError> {
        for (order, (from, into)) in self.clusterer.merge_pass().into_iter().enumerate() {
            self.tx.merge_story(from, into).await?;
            let logged = LoggedMerge {
                from,
                into,
                point_url: point_url.clone(),
            };
            self.tx.log_merge(&logged, published, order).await?;
            self.merged.insert(from);
            let was_new = self.touched.remove(&from).unwrap_or(false);
            let into_new = self.touched.get(&into).copied().unwrap_or(false);
            self.touched.insert(into, was_new && into_new);
            self.report.merged_stories += 1;
        }
        Ok(())
    }

    /// Points every story that moves left empty to the story most of its articles went to,
    /// as a merge would (its id keeps finding them).
    async fn retire_vacated(&mut self) -> Result<(), StoreError> {
        let vacated = std::mem::take(&mut self.vacated);
        for story in self.tx.empty_stories(&vacated).await? {
            let target = self.went.get(&story).and_then(|to| {
                to.iter()
                    .filter_map(|(&s, &n)| Some((self.clusterer.resolve(s)?, n)))
                    .filter(|&(s, _)| s != story)
                    .max_by_key(|&(s, n)| (n, std::cmp::Reverse(s)))
            });
            let Some((into, _)) = target else {
                tracing::warn!(story = story.0, "a story left empty has nowhere to point");
                continue;
            };
            self.tx.merge_story(story, into).await?;
            self.merged.insert(story);
            self.touched.remove(&story);
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

/// The lengths a story id takes, shortest first: longer ones only after a collision.
const ID_LENGTHS: [usize; 3] = [StoryId::MIN_LEN, 10, StoryId::MAX_LEN];

/// Clustering hands its worker back to the runtime after this many articles.
const YIELD_EVERY: usize = 16;

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

/// Creates a story, started by `a`, with the shortest free id for its seed.
async fn create_story(
    tx: &mut StoreTx,
    assignment: &Assignment,
    a: &Article,
    now: DateTime<Utc>,
) -> Result<StoryKey, StoreError> {
    let (upstream_key, seed_url) = match assignment {
        Assignment::Upstream(key) => (Some(key.as_str()), None),
        Assignment::New { seed_url } => (None, Some(seed_url.as_str())),
    };
    for len in ID_LENGTHS {
        let id = assignment.story_id(len);
        if !tx.id_taken(&id).await? {
            let new = NewStory {
                id: &id,
                upstream_key,
                seed_url,
                title: &a.title,
                published: a.published,
                now,
            };
            return tx.insert_story(new).await;
        }
    }
    Err(StoreError::Corrupt(format!(
        "story id {} collides at every length",
        assignment.story_id(StoryId::MAX_LEN)
    )))
}
