//! Re-placing stored articles: when a batch reaches back before the stories already stored
//! (a second archive of the same months, a backfill after downtime), the pipeline places the
//! stored articles from the batch's time on again, with the batch, as one import would have
//! placed them. Here: finding the story an article started before, moving articles between
//! stories with their outlet aggregates, telling which stories were left empty, and the log of
//! the merge step's merges, so that the clusterer can be rebuilt as it stood at any time and
//! the merges after that time undone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{placeholders, StoreError, StoreTx};
use crate::model::{StoryId, StoryKey};

/// One merge of the merge step: `from` was folded into `into` after the article `point_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedMerge {
    pub from: StoryKey,
    pub into: StoryKey,
    pub point_url: String,
}

/// Articles per `UPDATE`, well under either backend's limit on parameters.
const MOVE_CHUNK: usize = 500;

impl StoreTx {
    /// The story with this id that `seed_url` started, if there is one (merged away or not).
    pub(crate) async fn seeded_story(
        &mut self,
        id: &StoryId,
        seed_url: &str,
    ) -> Result<Option<StoryKey>, StoreError> {
        let row = sqlx::query("SELECT seq FROM stories WHERE id = $1 AND seed_url = $2")
            .bind(id.as_str())
            .bind(seed_url)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|r| Ok(StoryKey(r.try_get("seq")?))).transpose()
    }

    /// Makes a story that was merged away a story of its own again. Its title is cleared so
    /// that its next summary indexes it for search whole (a merge took it out of the index).
    pub(crate) async fn revive_story(&mut self, story: StoryKey) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE stories SET merged_into = NULL, title = '' \
             WHERE seq = $1 AND merged_into IS NOT NULL",
        )
        .bind(story.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves each article (by seq) to its story and recounts the outlet aggregates of the
    /// stories they left and joined. Returns the stories they left.
    pub(crate) async fn move_articles(
        &mut self,
        moves: &[(i64, StoryKey)],
    ) -> Result<BTreeSet<StoryKey>, StoreError> {
        let mut left = BTreeSet::new();
        let mut by_story: BTreeMap<StoryKey, Vec<i64>> = BTreeMap::new();
        for &(article, story) in moves {
            by_story.entry(story).or_default().push(article);
        }
        for (&story, articles) in &by_story {
            for chunk in articles.chunks(MOVE_CHUNK) {
                let list = placeholders(chunk.len(), 2);
                // Where they are now (a merge may have carried them since they were read).
                let sql = format!(
                    "SELECT DISTINCT story_seq FROM articles WHERE story_seq <> $1 AND seq IN ({list})"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(story.0);
                for &seq in chunk {
                    q = q.bind(seq);
                }
                for row in q.fetch_all(&mut *self.tx).await? {
                    left.insert(StoryKey(row.try_get("story_seq")?));
                }
                let sql = format!(
                    "UPDATE articles SET story_seq = $1, placed_seq = $1 WHERE seq IN ({list})"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(story.0);
                for &seq in chunk {
                    q = q.bind(seq);
                }
                q.execute(&mut *self.tx).await?;
            }
        }
        for &story in left.iter().chain(by_story.keys()) {
            self.recount_outlets(story).await?;
        }
        Ok(left)
    }

    /// Rebuilds a story's outlet aggregates from its articles.
    async fn recount_outlets(&mut self, story: StoryKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM story_outlets WHERE story_seq = $1")
            .bind(story.0)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO story_outlets (story_seq, outlet_name, domain, articles, \
               first_published, last_published, first_article) \
             SELECT g.story_seq, g.outlet_name, f.domain, g.n, g.first_published, \
               g.last_published, f.seq \
             FROM (SELECT story_seq, outlet_name, COUNT(*) AS n, \
                     MIN(published) AS first_published, MAX(published) AS last_published \
                   FROM articles WHERE story_seq = $1 GROUP BY story_seq, outlet_name) g \
             JOIN articles f ON f.seq = (SELECT a.seq FROM articles a \
               WHERE a.story_seq = g.story_seq AND a.outlet_name = g.outlet_name \
               ORDER BY a.published, a.seq LIMIT 1)",
        )
        .bind(story.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Which of these stories (not merged away) have no article left.
    pub(crate) async fn empty_stories(
        &mut self,
        stories: &BTreeSet<StoryKey>,
    ) -> Result<Vec<StoryKey>, StoreError> {
        let mut empty = Vec::new();
        for &story in stories {
            let row = sqlx::query(
                "SELECT 1 AS one FROM stories s WHERE s.seq = $1 AND s.merged_into IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_seq = s.seq)",
            )
            .bind(story.0)
            .fetch_optional(&mut *self.tx)
            .await?;
            if row.is_some() {
                empty.push(story);
            }
        }
        Ok(empty)
    }

    /// Logs a merge of the merge step, run after the article published at `published` with
    /// URL `url`, as the `order`-th merge of that step.
    pub(crate) async fn log_merge(
        &mut self,
        m: &LoggedMerge,
        published: DateTime<Utc>,
        order: usize,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO story_merges (from_seq, into_seq, point_published, point_url, point_order) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (from_seq) DO UPDATE SET \
               into_seq = EXCLUDED.into_seq, point_published = EXCLUDED.point_published, \
               point_url = EXCLUDED.point_url, point_order = EXCLUDED.point_order",
        )
        .bind(m.from.0)
        .bind(m.into.0)
        .bind(published.timestamp())
        .bind(&m.point_url)
        .bind(order as i64)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The merges run after articles published in `since..until`, in the order they ran.
    pub(crate) async fn merges_between(
        &mut self,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<LoggedMerge>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_seq, into_seq, point_url, point_order FROM story_merges \
             WHERE point_published >= $1 AND point_published < $2",
        )
        .bind(since.timestamp())
        .bind(until.map_or(i64::MAX, |t| t.timestamp()))
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let m = LoggedMerge {
                    from: StoryKey(r.try_get("from_seq")?),
                    into: StoryKey(r.try_get("into_seq")?),
                    point_url: r.try_get("point_url")?,
                };
                Ok((r.try_get::<i64, _>("point_order")?, m))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, m)| m).collect())
    }

    /// Undoes the merges run after articles published at or after `at`: the articles before
    /// `at` that a merge carried away go back to the story they resolve to without it (which
    /// becomes a story of its own again). Returns the stories whose articles changed.
    pub(crate) async fn undo_merges_since(
        &mut self,
        at: DateTime<Utc>,
    ) -> Result<BTreeSet<StoryKey>, StoreError> {
        let rows = sqlx::query("SELECT from_seq FROM story_merges WHERE point_published >= $1")
            .bind(at.timestamp())
            .fetch_all(&mut *self.tx)
            .await?;
        let undone: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("from_seq"))
            .collect::<Result<_, _>>()?;
        sqlx::query("DELETE FROM story_merges WHERE point_published >= $1")
            .bind(at.timestamp())
            .execute(&mut *self.tx)
            .await?;
        let mut changed = BTreeSet::new();
        for from in undone {
            changed.extend(self.restore_merged(StoryKey(from), at).await?);
        }
        for &story in &changed {
            self.recount_outlets(story).await?;
        }
        Ok(changed)
    }

    /// Brings back the articles before `at` that were placed in `story` (or in stories merged
    /// into it before `at`), making it a story of its own if it gets any. Returns the stories
    /// whose articles changed.
    async fn restore_merged(
        &mut self,
        story: StoryKey,
        at: DateTime<Utc>,
    ) -> Result<Vec<StoryKey>, StoreError> {
        // The stories that resolve to `story` through the merges that stay.
        let mut group = vec![story.0];
        let mut next = 0;
        while next < group.len() {
            let rows = sqlx::query("SELECT from_seq FROM story_merges WHERE into_seq = $1")
                .bind(group[next])
                .fetch_all(&mut *self.tx)
                .await?;
            for r in rows {
                group.push(r.try_get("from_seq")?);
            }
            next += 1;
        }
        let list = placeholders(group.len(), 3);
        let owners = format!(
            "SELECT DISTINCT story_seq FROM articles WHERE published < $1 AND story_seq <> $2 \
             AND COALESCE(placed_seq, story_seq) IN ({list})"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(owners))
            .bind(at.timestamp())
            .bind(story.0);
        for &g in &group {
            q = q.bind(g);
        }
        let left: Vec<StoryKey> = q
            .fetch_all(&mut *self.tx)
            .await?
            .iter()
            .map(|r| Ok(StoryKey(r.try_get("story_seq")?)))
            .collect::<Result<_, StoreError>>()?;
        if left.is_empty() {
            return Ok(left);
        }
        let sql = format!(
            "UPDATE articles SET story_seq = $2 WHERE published < $1 \
             AND COALESCE(placed_seq, story_seq) IN ({list})"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(at.timestamp())
            .bind(story.0);
        for &g in &group {
            q = q.bind(g);
        }
        q.execute(&mut *self.tx).await?;
        self.revive_story(story).await?;
        for &g in &group[1..] {
            sqlx::query("UPDATE stories SET merged_into = $1 WHERE seq = $2")
                .bind(story.0)
                .bind(g)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(left.into_iter().chain([story]).collect())
    }
}
