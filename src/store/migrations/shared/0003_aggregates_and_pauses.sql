-- What a story's digest needs, without reading every article: per story and outlet, the
-- article count, the first and last publication times and the outlet's first article.
-- Maintained by every write (insert and merge); backfilled here.
CREATE TABLE story_outlets (
    story_seq       BIGINT NOT NULL REFERENCES stories (seq),
    outlet_name     TEXT NOT NULL,
    domain          TEXT NOT NULL,     -- the domain of the outlet's first article
    articles        BIGINT NOT NULL,
    first_published BIGINT NOT NULL,
    last_published  BIGINT NOT NULL,
    first_article   BIGINT NOT NULL,   -- articles.seq of its first (earliest) article
    PRIMARY KEY (story_seq, outlet_name)
);

INSERT INTO story_outlets (story_seq, outlet_name, domain, articles, first_published,
                           last_published, first_article)
SELECT g.story_seq, g.outlet_name, f.domain, g.n, g.first_published, g.last_published, f.seq
FROM (SELECT story_seq, outlet_name, COUNT(*) AS n, MIN(published) AS first_published,
             MAX(published) AS last_published
      FROM articles GROUP BY story_seq, outlet_name) g
JOIN articles f ON f.seq = (SELECT a.seq FROM articles a
                            WHERE a.story_seq = g.story_seq AND a.outlet_name = g.outlet_name
                            ORDER BY a.published, a.seq LIMIT 1);

-- Story pages list a story's articles newest first.
CREATE INDEX articles_story_newest ON articles (story_seq, published DESC, seq DESC);

-- A paused subscription is probed once per retry period, not once per story.
ALTER TABLE subscriptions ADD COLUMN retry_at BIGINT;
-- Subscriptions are numbered per server (#1, #2, ...), as people see them.
ALTER TABLE subscriptions ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
UPDATE subscriptions SET number = (SELECT COUNT(*) FROM subscriptions s2
                                   WHERE s2.guild_id = subscriptions.guild_id
                                     AND s2.id <= subscriptions.id);
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, state);

-- Counters shared by every process on the store. `write_generation` grows with every write
-- of the clustering path, so a process can tell that another one wrote since it last did.
CREATE TABLE store_meta (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO store_meta (name, value) VALUES ('write_generation', 0);
