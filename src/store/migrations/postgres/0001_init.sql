-- Stories and their articles. Times are Unix seconds (BIGINT) so the same SQL runs on
-- SQLite and Postgres.
CREATE TABLE stories (
    seq             BIGSERIAL PRIMARY KEY,
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
    seq         BIGSERIAL PRIMARY KEY,
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

-- Full-text search (the Postgres side of the search seam).
CREATE TABLE story_search (
    seq   BIGINT PRIMARY KEY REFERENCES stories (seq),
    title TSVECTOR NOT NULL,   -- searched first
    doc   TSVECTOR NOT NULL    -- title (A), key points (B), headlines (D)
);
CREATE INDEX story_search_title ON story_search USING GIN (title);
CREATE INDEX story_search_doc ON story_search USING GIN (doc);

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
