-- Stories and their articles. Times are Unix seconds (BIGINT) so the same SQL runs on
-- SQLite and Postgres.
CREATE TABLE stories (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    upstream_key    TEXT UNIQUE,
    title           TEXT NOT NULL,
    key_points      TEXT NOT NULL,            -- JSON array of strings
    article_count   BIGINT NOT NULL DEFAULT 0,
    source_count    BIGINT NOT NULL DEFAULT 0,
    first_published BIGINT NOT NULL,
    last_updated    BIGINT NOT NULL,
    created         BIGINT NOT NULL,
    revision        BIGINT NOT NULL DEFAULT 0,
    -- Set when the clusterer merged this story into another: the id keeps resolving there.
    merged_into     BIGINT
);
CREATE INDEX stories_last_updated ON stories (last_updated);

CREATE TABLE articles (
    seq         INTEGER PRIMARY KEY,
    url         TEXT NOT NULL UNIQUE,
    story_seq   BIGINT NOT NULL REFERENCES stories (seq),
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    outlet_name TEXT NOT NULL,
    domain      TEXT NOT NULL,
    published   BIGINT NOT NULL,
    fetched     BIGINT NOT NULL
);
CREATE INDEX articles_story ON articles (story_seq, published);
CREATE INDEX articles_published ON articles (published);

-- Full-text search (the SQLite side of the search seam): rowid = stories.seq.
CREATE VIRTUAL TABLE story_fts USING fts5 (
    title, key_points, headlines,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- Titles alone: searched first (small, and what people type). rowid = stories.seq.
CREATE VIRTUAL TABLE story_titles USING fts5 (
    title,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
-- Typo-tolerant suggestions over titles.
CREATE VIRTUAL TABLE story_trigram USING fts5 (title, tokenize = 'trigram');

-- Feed health and conditional-GET validators, one row per configured feed URL.
CREATE TABLE feeds (
    url             TEXT PRIMARY KEY,
    etag            TEXT,
    last_modified   TEXT,
    last_success    BIGINT,
    last_error      TEXT,
    last_error_at   BIGINT,
    failures        BIGINT NOT NULL DEFAULT 0,
    items           BIGINT NOT NULL DEFAULT 0,
    next_fetch      BIGINT NOT NULL DEFAULT 0,
    disabled_reason TEXT
);
