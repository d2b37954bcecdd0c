-- Reading an article's own page (see page_queue.rs and store/article_pages.rs): one row per
-- article queued for it, with what the last attempt gave.
--
-- `state`: 'queued' (due at `next_attempt`, Unix seconds), 'read' (its text stored),
-- 'wall' (a paywall or consent page: the feed text is kept), 'unchanged' (a 304 on a
-- re-read), 'failed' (`reason` says why: robots, refused, timeout, status, not_html, ...;
-- after its attempts or at once for a refusal). `text` is the page's main text, bounded
-- (20,000 characters); `host` is the link's host, for the counts per host.
-- `awaiting_summary` is 1 from the moment a text is stored until its story has been
-- summarised with it, so a restart between the two loses nothing.
CREATE TABLE article_pages (
    article_seq   BIGINT PRIMARY KEY,
    host          TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_attempt  BIGINT NOT NULL,
    text          TEXT,
    canonical_url TEXT,
    image         TEXT,
    author        TEXT,
    language      TEXT,
    published     BIGINT,
    etag          TEXT,
    last_modified TEXT,
    read_at       BIGINT,
    awaiting_summary BIGINT NOT NULL DEFAULT 0
);
-- The queue's next pages: due ones, oldest first.
CREATE INDEX article_pages_due ON article_pages (state, next_attempt);
-- Texts whose stories are still to be summarised with them.
CREATE INDEX article_pages_awaiting ON article_pages (awaiting_summary);
-- The counts per host.
CREATE INDEX article_pages_host ON article_pages (host, state);
