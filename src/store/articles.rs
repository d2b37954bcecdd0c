//! Articles: inserting them with their story's outlet aggregates, and reading them back in
//! bounded amounts (the ones a digest shows, a page of a story, a sample for summarising).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{placeholders, positional, time, Store, StoreError, StoreTx};
use crate::model::{Article, StoryKey};

pub(super) const ARTICLE_COLUMNS: &str =
    "seq, url, title, summary, outlet_name, domain, published, fetched";

/// Articles as `a`, each with its page's text in place of the feed's where it was read.
const WITH_PAGE_TEXT: &str =
    "SELECT a.seq, a.url, a.title, COALESCE(p.text, a.summary) AS summary, \
    a.outlet_name, a.domain, a.published, a.fetched FROM articles a \
    LEFT JOIN article_pages p ON p.article_seq = a.seq AND p.state = 'read'";
/// Articles as `a`, with the feed's text.
const FEED_TEXT: &str = "SELECT a.seq, a.url, a.title, a.summary, a.outlet_name, a.domain, \
    a.published, a.fetched FROM articles a";

/// The `ON CONFLICT` clause that folds one outlet aggregate into another: counts add up, the
/// earlier first article and the later last publication win.
pub(super) const MERGE_OUTLET: &str = "ON CONFLICT (story_seq, outlet_name) DO UPDATE SET \
    articles = story_outlets.articles + EXCLUDED.articles, \
    domain = CASE WHEN EXCLUDED.first_published < story_outlets.first_published \
                  THEN EXCLUDED.domain ELSE story_outlets.domain END, \
    first_article = CASE WHEN EXCLUDED.first_published < story_outlets.first_published \
                  THEN EXCLUDED.first_article ELSE story_outlets.first_article END, \
    first_published = CASE WHEN EXCLUDED.first_published < story_outlets.first_published \
                  THEN EXCLUDED.first_published ELSE story_outlets.first_published END, \
    last_published = CASE WHEN EXCLUDED.last_published > story_outlets.last_published \
                  THEN EXCLUDED.last_published ELSE story_outlets.last_published END";

/// An article to store in a story.
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub story: StoryKey,
    pub article: Article,
}

/// A stored article of a clustered story.
#[derive(Debug, Clone)]
pub(crate) struct ClusteredArticle {
    pub story: StoryKey,
    /// The story the clusterer placed it in, before any merge moved it.
    pub placed: StoryKey,
    /// When the story's first article was published.
    pub story_first: DateTime<Utc>,
    pub seq: i64,
    /// Of a story with an upstream key: counted in word rarity, never placed.
    pub upstream: bool,
    pub article: Article,
}

/// One outlet's share of the articles a batch inserted into one story.
struct Aggregate {
    domain: String,
    articles: i64,
    first_published: i64,
    last_published: i64,
    first_article: i64,
}

impl StoreTx {
    /// Which of these canonical URLs are stored already.
    pub(crate) async fn existing_urls(
        &mut self,
        urls: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in urls.chunks(500) {
            let sql = format!(
                "SELECT url FROM articles WHERE url IN ({})",
                positional(self.backend, chunk.len(), 1)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                found.insert(row.try_get::<String, _>("url")?);
            }
        }
        Ok(found)
    }

    /// Adds articles a hundred rows per statement, and folds them into their stories' outlet
    /// aggregates; returns how many were new (a URL already stored is skipped).
    pub async fn insert_articles(&mut self, articles: &[NewArticle]) -> Result<usize, StoreError> {
        let inserted = self.insert_rows(articles, |_| false).await?;
        Ok(inserted.len())
    }

    /// As [`Self::insert_articles`], and queues the pages of the new articles `read_page`
    /// picks, due at `now`, in the same transaction.
    pub(crate) async fn insert_articles_queueing(
        &mut self,
        articles: &[NewArticle],
        read_page: impl Fn(&NewArticle) -> bool,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let inserted = self.insert_rows(articles, read_page).await?;
        let pages: Vec<(i64, &str)> = inserted
            .iter()
            .filter_map(|&(seq, page)| page.map(|i| (seq, articles[i].article.domain.as_str())))
            .collect();
        self.queue_pages(&pages, now).await?;
        Ok(inserted.len())
    }

    /// Inserts, returning each new article's row and, where `read_page` picks it, its
    /// index in `articles`.
    async fn insert_rows(
        &mut self,
        articles: &[NewArticle],
        read_page: impl Fn(&NewArticle) -> bool,
    ) -> Result<Vec<(i64, Option<usize>)>, StoreError> {
        let mut inserted = Vec::new();
        let by_url: std::collections::HashMap<&str, usize> = articles
            .iter()
            .enumerate()
            .filter(|(_, a)| read_page(a))
            .map(|(i, a)| (a.article.url.as_str(), i))
            .collect();
        let mut aggregates: BTreeMap<(i64, String), Aggregate> = BTreeMap::new();
        for chunk in articles.chunks(100) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| format!("({})", positional(self.backend, 9, r * 9 + 1)))
                .collect();
            let sql = format!(
                "INSERT INTO articles (url, story_seq, placed_seq, title, summary, outlet_name, domain, published, fetched) \
                 VALUES {} ON CONFLICT (url) DO NOTHING \
                 RETURNING seq, url, story_seq, outlet_name, domain, published",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for NewArticle { story, article: a } in chunk {
                q = q
                    .bind(&a.url)
                    .bind(story.0)
                    .bind(story.0)
                    .bind(&a.title)
                    .bind(&a.summary)
                    .bind(&a.outlet)
                    .bind(&a.domain)
                    .bind(a.published.timestamp())
                    .bind(a.fetched.timestamp());
            }
            for row in q.fetch_all(&mut *self.tx).await? {
                let url: String = row.try_get("url")?;
                inserted.push((row.try_get("seq")?, by_url.get(url.as_str()).copied()));
                fold(&mut aggregates, &row)?;
            }
        }
        self.upsert_outlets(aggregates).await?;
        Ok(inserted)
    }

    async fn upsert_outlets(
        &mut self,
        aggregates: BTreeMap<(i64, String), Aggregate>,
    ) -> Result<(), StoreError> {
        let all: Vec<_> = aggregates.into_iter().collect();
        for chunk in all.chunks(100) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| format!("({})", positional(self.backend, 7, r * 7 + 1)))
                .collect();
            let sql = format!(
                "INSERT INTO story_outlets (story_seq, outlet_name, domain, articles, \
                 first_published, last_published, first_article) VALUES {} {MERGE_OUTLET}",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((seq, outlet), a) in chunk {
                q = q
                    .bind(*seq)
                    .bind(outlet)
                    .bind(&a.domain)
                    .bind(a.articles)
                    .bind(a.first_published)
                    .bind(a.last_published)
                    .bind(a.first_article);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Articles of clustered stories (no upstream key; with `upstream`, of upstream stories
    /// too) published at or after `since` (and before `until`, if given), in publication
    /// order, each with its story and the story's first publication time (which may be older
    /// than `since`): what the clusterer replays to rebuild its state, or places again.
    pub(crate) async fn clustered_articles(
        &mut self,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        upstream: bool,
    ) -> Result<Vec<ClusteredArticle>, StoreError> {
        let which = if upstream {
            ""
        } else {
            "AND s.upstream_key IS NULL"
        };
        let sql = format!(
            "SELECT a.story_seq, COALESCE(a.placed_seq, a.story_seq) AS placed_seq, \
               s.first_published AS story_first, a.seq, a.url, a.title, a.summary, \
               a.outlet_name, a.domain, a.published, a.fetched, \
               CAST(CASE WHEN s.upstream_key IS NULL THEN 0 ELSE 1 END AS BIGINT) AS upstream \
             FROM articles a JOIN stories s ON s.seq = a.story_seq \
             WHERE a.published >= $1 AND a.published < $2 AND s.merged_into IS NULL {which}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since.timestamp())
            .bind(until.map_or(i64::MAX, |t| t.timestamp()))
            .fetch_all(&mut *self.tx)
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(ClusteredArticle {
                    story: StoryKey(r.try_get("story_seq")?),
                    placed: StoryKey(r.try_get("placed_seq")?),
                    story_first: time(r.try_get("story_first")?)?,
                    seq: r.try_get("seq")?,
                    upstream: r.try_get::<i64, _>("upstream")? == 1,
                    article: article(r)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Publication order, ties by URL as Rust orders strings (a database's collation may
        // not), as the pipeline orders a batch.
        out.sort_by(|a, b| {
            (a.article.published, &a.article.url).cmp(&(b.article.published, &b.article.url))
        });
        Ok(out)
    }

    /// The newest publication time of any article.
    pub(crate) async fn newest_article(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = sqlx::query("SELECT MAX(published) AS t FROM articles")
            .fetch_one(&mut *self.tx)
            .await?
            .try_get("t")?;
        t.map(time).transpose()
    }

    /// A bounded sample of a story's articles for summarising: its first `first` and its
    /// latest `latest`, oldest first (a big story is not re-read whole on every update; ties
    /// in time go by URL, so the sample does not depend on the order articles arrived), each
    /// with its page's text in place of the feed's where the page was read.
    pub(crate) async fn article_sample(
        &mut self,
        story: StoryKey,
        first: i64,
        latest: i64,
    ) -> Result<Vec<Article>, StoreError> {
        let sql = format!(
            "{WITH_PAGE_TEXT} WHERE a.seq IN ( \
               SELECT seq FROM (SELECT seq FROM articles WHERE story_seq = $1 ORDER BY published, url LIMIT $2) f \
               UNION \
               SELECT seq FROM (SELECT seq FROM articles WHERE story_seq = $1 ORDER BY published DESC, url DESC LIMIT $3) l \
             ) ORDER BY a.published, a.url"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(story.0)
            .bind(first)
            .bind(latest)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(article).collect()
    }
}

/// Adds one inserted row to the aggregates of its (story, outlet).
fn fold(
    aggregates: &mut BTreeMap<(i64, String), Aggregate>,
    row: &AnyRow,
) -> Result<(), StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let story: i64 = row.try_get("story_seq")?;
    let outlet: String = row.try_get("outlet_name")?;
    let domain: String = row.try_get("domain")?;
    let published: i64 = row.try_get("published")?;
    let a = aggregates.entry((story, outlet)).or_insert(Aggregate {
        domain: domain.clone(),
        articles: 0,
        first_published: published,
        last_published: published,
        first_article: seq,
    });
    a.articles += 1;
    if (published, seq) < (a.first_published, a.first_article) {
        a.first_published = published;
        a.first_article = seq;
        a.domain = domain;
    }
    a.last_published = a.last_published.max(published);
    Ok(())
}

/// Which articles of a story a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first (headline pages).
    NewestFirst,
    /// Oldest first (exports).
    OldestFirst,
}

impl Store {
    /// Articles by seq, in the order given (missing ones skipped).
    /// The titles and summaries of the latest `limit` articles stored, one text each: what
    /// the grounding check learns its words from.
    pub(crate) async fn latest_texts(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        sqlx::query("SELECT title, summary FROM articles ORDER BY seq DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let (title, summary): (String, String) =
                    (r.try_get("title")?, r.try_get("summary")?);
                Ok(format!("{title}. {summary}"))
            })
            .collect()
    }

    pub(crate) async fn articles_by_seq(&self, seqs: &[i64]) -> Result<Vec<Article>, StoreError> {
        self.by_seq(seqs, FEED_TEXT).await
    }

    /// As [`Self::articles_by_seq`], each with its page's text in place of the feed's where
    /// the page was read: what the language model is given.
    pub(crate) async fn article_texts_by_seq(
        &self,
        seqs: &[i64],
    ) -> Result<Vec<Article>, StoreError> {
        self.by_seq(seqs, WITH_PAGE_TEXT).await
    }

    async fn by_seq(&self, seqs: &[i64], select: &str) -> Result<Vec<Article>, StoreError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(500) {
            let sql = format!("{select} WHERE a.seq IN ({})", placeholders(chunk.len(), 1));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for s in chunk {
                q = q.bind(*s);
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push((row.try_get::<i64, _>("seq")?, article(&row)?));
            }
        }
        out.sort_by_key(|(seq, _)| seqs.iter().position(|s| s == seq));
        Ok(out.into_iter().map(|(_, a)| a).collect())
    }

    /// A page of a story's articles: `limit` after skipping `offset`, optionally only those of
    /// the given outlets.
    pub(crate) async fn story_articles(
        &self,
        story: StoryKey,
        outlets: Option<&[String]>,
        order: Order,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Article>, StoreError> {
        let direction = match order {
            Order::NewestFirst => "published DESC, seq DESC",
            Order::OldestFirst => "published, seq",
        };
        let filter = match outlets {
            Some([]) => return Ok(Vec::new()),
            Some(names) => format!("AND outlet_name IN ({})", placeholders(names.len(), 4)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE story_seq = $1 {filter} \
             ORDER BY {direction} LIMIT $2 OFFSET $3"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(story.0)
            .bind(limit)
            .bind(offset);
        for name in outlets.unwrap_or_default() {
            q = q.bind(name);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(article).collect()
    }

    /// A story's articles in publication order after `after` (time, article), at most `limit`: for
    /// exports, which walk a story of any size page by page.
    pub async fn story_articles_after(
        &self,
        story: StoryKey,
        after: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<Vec<(i64, Article)>, StoreError> {
        let (t, s) = after.map_or((i64::MIN, i64::MIN), |(t, s)| (t.timestamp(), s));
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE story_seq = $1 \
             AND (published > $2 OR (published = $2 AND seq > $3)) \
             ORDER BY published, seq LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(story.0)
            .bind(t)
            .bind(s)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("seq")?, article(r)?)))
            .collect()
    }
}

pub(super) fn article(r: &AnyRow) -> Result<Article, StoreError> {
    Ok(Article {
        url: r.try_get("url")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        outlet: r.try_get("outlet_name")?,
        domain: r.try_get("domain")?,
        published: time(r.try_get("published")?)?,
        fetched: time(r.try_get("fetched")?)?,
    })
}
