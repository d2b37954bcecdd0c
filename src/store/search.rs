//! The search seam: the one place where SQLite and Postgres differ.
//!
//! User text never reaches the search syntax: it is cut into words of letters and digits
//! ([`SearchTerms::parse`]), each word is bounded in length and count, and the words are put
//! into the backend's query language as quoted terms, passed as a bind parameter. Quotes,
//! `NEAR(`, `*`, `-`, brackets and the like are separators, never operators.
//!
//! Ranking considers the [`RANK_WINDOW`] most recent matching stories (newest first in the
//! index, so the cost is bounded however common the words are).
//!
//! Titles have an index of their own, searched first ([`Scope::Titles`]): titles are what people
//! type, and the small index keeps lookups fast; the full index (titles, key points, headlines)
//! answers when no title matches.
//!
//! - SQLite: FTS5 (`story_titles`; `story_fts` with bm25 weighting the title highest) and a
//!   trigram index over titles (`story_trigram`) for typo-tolerant suggestions.
//! - Postgres: `tsvector`s with GIN indexes and `ts_rank`; suggestions fall back to any-word
//!   matches (no trigram extension is assumed).

use sqlx::{Any, Row, Transaction};

use super::{Backend, StoreError};
use crate::model::StoryKey;

/// At most this many words of a query are used.
pub(crate) const MAX_TERMS: usize = 12;
/// Longer words are cut to this many characters.
pub(crate) const MAX_TERM_CHARS: usize = 40;
/// At most this many headlines of a story are indexed.
pub(crate) const MAX_INDEXED_HEADLINES: usize = 100;
/// Ranking looks at the most recent stories that match, at most this many: it keeps a lookup
/// fast however common the words are, and a news query wants the recent story anyway.
pub(crate) const RANK_WINDOW: i64 = 200;

/// The words of a user query, safe for any backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchTerms {
    /// Content words (stop words dropped unless nothing else is left).
    pub words: Vec<String>,
}

/// Which text is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Story titles only: what people type, and a small index, so it is tried first.
    Titles,
    /// Titles, key points and every indexed headline.
    Everything,
}

/// How the words combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every word must match: a real match.
    All,
    /// Every word must match, the last as a prefix (`peace tal`): a match while typing.
    AllPrefix,
    /// Any word: for "did you mean" suggestions.
    Any,
}

impl SearchTerms {
    /// Cuts a query into at most [`MAX_TERMS`] distinct words.
    pub(crate) fn parse(query: &str) -> SearchTerms {
        let all: Vec<String> = crate::text::words(query)
            .map(|w| w.chars().take(MAX_TERM_CHARS).collect::<String>())
            .collect();
        let content: Vec<String> = all
            .iter()
            .filter(|w| !crate::text::is_stop_word(w))
            .cloned()
            .collect();
        let chosen = if content.is_empty() { all } else { content };
        let mut words: Vec<String> = Vec::new();
        for w in chosen {
            if !words.contains(&w) {
                words.push(w);
            }
            if words.len() == MAX_TERMS {
                break;
            }
        }
        SearchTerms { words }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// FTS5 query: `"w1" "w2" "w3"*` (all) or `"w1" OR "w2"` (any).
    pub(crate) fn fts5(&self, mode: Mode) -> String {
        let quoted: Vec<String> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let q = format!("\"{}\"", w.replace('"', "\"\""));
                let last = i + 1 == self.words.len();
                if mode == Mode::AllPrefix && last && w.chars().count() >= 2 {
                    format!("{q}*")
                } else {
                    q
                }
            })
            .collect();
        match mode {
            Mode::All | Mode::AllPrefix => quoted.join(" "),
            Mode::Any => quoted.join(" OR "),
        }
    }

    /// Postgres tsquery text: `w1 & w2 & w3:*` or `w1 | w2`. Words are letters and digits
    /// only, so they cannot carry tsquery operators.
    pub(crate) fn tsquery(&self, mode: Mode) -> String {
        let parts: Vec<String> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let clean: String = w.chars().filter(|c| c.is_alphanumeric()).collect();
                if mode == Mode::AllPrefix && i + 1 == self.words.len() {
                    format!("{clean}:*")
                } else {
                    clean
                }
            })
            .collect();
        parts.join(match mode {
            Mode::All | Mode::AllPrefix => " & ",
            Mode::Any => " | ",
        })
    }

    /// FTS5 trigram query over the words' three-letter windows, for typo tolerance.
    pub(crate) fn trigrams(&self) -> Option<String> {
        let mut grams: Vec<String> = Vec::new();
        for w in &self.words {
            let chars: Vec<char> = w.chars().collect();
            for win in chars.windows(3) {
                let g: String = win.iter().collect();
                if !grams.contains(&g) {
                    grams.push(g);
                }
            }
        }
        grams.truncate(48);
        (!grams.is_empty()).then(|| {
            grams
                .iter()
                .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" OR ")
        })
    }
}

/// A search hit: the story and a relevance in (0, 1], best first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub key: StoryKey,
    pub relevance: f64,
}

/// Replaces a story's entry in the search index; the title-only indexes are rewritten only
/// when `title_changed`.
pub(crate) async fn index_story(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    key: StoryKey,
    title: &str,
    key_points: &str,
    headlines: &str,
    title_changed: bool,
) -> Result<(), StoreError> {
    let seq = key.0;
    match backend {
        Backend::Sqlite => {
            // FTS5 tables keyed by rowid = stories.seq: replace the row in each, in one
            // statement (FTS5 takes REPLACE by rowid).
            let tables: [(&str, &[&str]); 3] = [
                (
                    "REPLACE INTO story_fts (rowid, title, key_points, headlines) VALUES ($1, $2, $3, $4)",
                    &[title, key_points, headlines],
                ),
                (
                    "REPLACE INTO story_titles (rowid, title) VALUES ($1, $2)",
                    &[title],
                ),
                (
                    "REPLACE INTO story_trigram (rowid, title) VALUES ($1, $2)",
                    &[title],
                ),
            ];
            let rewrite = if title_changed { 3 } else { 1 };
            for (replace, values) in tables.into_iter().take(rewrite) {
                let mut q = sqlx::query(replace).bind(seq);
                for v in values {
                    q = q.bind(*v);
                }
                q.execute(&mut **tx).await?;
            }
        }
        Backend::Postgres => {
            sqlx::query(
                "INSERT INTO story_search (seq, title, doc) VALUES ($1, to_tsvector('simple', $2), \
                   setweight(to_tsvector('simple', $2), 'A') || \
                   setweight(to_tsvector('simple', $3), 'B') || \
                   setweight(to_tsvector('simple', $4), 'D')) \
                 ON CONFLICT (seq) DO UPDATE SET title = EXCLUDED.title, doc = EXCLUDED.doc",
            )
            .bind(seq)
            .bind(title)
            .bind(key_points)
            .bind(headlines)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Removes a story from the search index (it was merged into another).
pub(crate) async fn unindex_story(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    key: StoryKey,
) -> Result<(), StoreError> {
    let seq = key.0;
    let statements: &[&'static str] = match backend {
        Backend::Sqlite => &[
            "DELETE FROM story_fts WHERE rowid = $1",
            "DELETE FROM story_titles WHERE rowid = $1",
            "DELETE FROM story_trigram WHERE rowid = $1",
        ],
        Backend::Postgres => &["DELETE FROM story_search WHERE seq = $1"],
    };
    for sql in statements {
        sqlx::query(*sql).bind(seq).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Finds stories for the terms, best first.
pub(crate) async fn search(
    pool: &sqlx::AnyPool,
    backend: Backend,
    terms: &SearchTerms,
    scope: Scope,
    mode: Mode,
    limit: i64,
) -> Result<Vec<Hit>, StoreError> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    // The inner query walks the index newest first and stops after RANK_WINDOW rows, so the
    // rank is computed for those rows only.
    let sql = match (backend, scope) {
        (Backend::Sqlite, Scope::Titles) => {
            "SELECT seq, score FROM ( \
               SELECT rowid AS seq, bm25(story_titles) AS score FROM story_titles \
               WHERE story_titles MATCH $1 ORDER BY rowid DESC LIMIT $2 \
             ) ORDER BY score, seq DESC LIMIT $3"
        }
        (Backend::Sqlite, Scope::Everything) => {
            "SELECT seq, score FROM ( \
               SELECT rowid AS seq, bm25(story_fts, 10.0, 4.0, 1.0) AS score FROM story_fts \
               WHERE story_fts MATCH $1 ORDER BY rowid DESC LIMIT $2 \
             ) ORDER BY score, seq DESC LIMIT $3"
        }
        (Backend::Postgres, Scope::Titles) => {
            "SELECT seq, score FROM ( \
               SELECT seq, -ts_rank(title, q)::float8 AS score \
               FROM story_search, to_tsquery('simple', $1) q \
               WHERE title @@ q ORDER BY seq DESC LIMIT $2 \
             ) recent ORDER BY score, seq DESC LIMIT $3"
        }
        (Backend::Postgres, Scope::Everything) => {
            "SELECT seq, score FROM ( \
               SELECT seq, -ts_rank(doc, q)::float8 AS score \
               FROM story_search, to_tsquery('simple', $1) q \
               WHERE doc @@ q ORDER BY seq DESC LIMIT $2 \
             ) recent ORDER BY score, seq DESC LIMIT $3"
        }
    };
    let query_text = match backend {
        Backend::Sqlite => terms.fts5(mode),
        Backend::Postgres => terms.tsquery(mode),
    };
    let rows = sqlx::query(sql)
        .bind(query_text)
        .bind(RANK_WINDOW)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    to_hits(rows)
}

/// Typo-tolerant title matches, for suggestions when nothing matches.
pub(crate) async fn fuzzy(
    pool: &sqlx::AnyPool,
    backend: Backend,
    terms: &SearchTerms,
    limit: i64,
) -> Result<Vec<Hit>, StoreError> {
    match (backend, terms.trigrams()) {
        (Backend::Sqlite, Some(q)) => {
            let rows = sqlx::query(
                "SELECT seq, score FROM ( \
                   SELECT rowid AS seq, bm25(story_trigram) AS score FROM story_trigram \
                   WHERE story_trigram MATCH $1 ORDER BY rowid DESC LIMIT $2 \
                 ) ORDER BY score, seq DESC LIMIT $3",
            )
            .bind(q)
            .bind(RANK_WINDOW)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            to_hits(rows)
        }
        _ => Ok(Vec::new()),
    }
}

/// Rows of (seq, score with lower = better) as hits with relevance relative to the best.
fn to_hits(rows: Vec<sqlx::any::AnyRow>) -> Result<Vec<Hit>, StoreError> {
    let mut hits = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.try_get("seq")?;
        let score: f64 = row.try_get("score")?;
        hits.push((seq, score));
    }
    let best = hits.first().map(|h| h.1).unwrap_or(-1.0);
    Ok(hits
        .into_iter()
        .map(|(seq, score)| Hit {
            key: StoryKey(seq),
            relevance: if best < 0.0 {
                (score / best).clamp(0.0, 1.0)
            } else {
                1.0
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_queries_become_plain_quoted_words() {
        let t = SearchTerms::parse("\"peace\" NEAR(talks* -war) OR (((");
        assert_eq!(t.words, vec!["peace", "near", "talks", "war"]);
        assert_eq!(
            t.fts5(Mode::AllPrefix),
            "\"peace\" \"near\" \"talks\" \"war\"*"
        );
        assert_eq!(t.fts5(Mode::All), "\"peace\" \"near\" \"talks\" \"war\"");
        assert_eq!(t.tsquery(Mode::AllPrefix), "peace & near & talks & war:*");
        assert_eq!(t.tsquery(Mode::Any), "peace | near | talks | war");
        let t = SearchTerms::parse(&"a".repeat(10_000));
        assert_eq!(t.words[0].chars().count(), MAX_TERM_CHARS);
        let t = SearchTerms::parse(&"word ".repeat(1000));
        assert_eq!(t.words.len(), 1);
        assert!(SearchTerms::parse("🙂🙂 !!! ---").is_empty());
        assert_eq!(SearchTerms::parse("the who").words, vec!["the", "who"]);
        assert_eq!(SearchTerms::parse("שלום עולם").words.len(), 2);
    }
}
