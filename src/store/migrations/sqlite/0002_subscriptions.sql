-- Subscriptions of Discord channels, and the outbox of their deliveries.
CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       BIGINT NOT NULL,
    channel_id     BIGINT NOT NULL,
    kind           TEXT NOT NULL,               -- topic, story or briefing
    query          TEXT NOT NULL DEFAULT '',    -- topic: the query
    story_id       TEXT,                        -- story: the followed story
    min_sources    BIGINT NOT NULL DEFAULT 0,   -- topic: coverage a story needs first
    brief_time     TEXT,                        -- briefing: local HH:MM
    timezone       TEXT,                        -- briefing: IANA zone
    brief_count    BIGINT NOT NULL DEFAULT 5,
    watermark      BIGINT NOT NULL DEFAULT 0,   -- topic: stories up to this seq are old news
    last_count     BIGINT NOT NULL DEFAULT 0,   -- story: articles when last posted
    last_sides     BIGINT NOT NULL DEFAULT 0,   -- story: sides covered when last posted (bits)
    anchor_message BIGINT,                      -- the post updates reply to
    created_by     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    paused_reason  TEXT,
    paused_at      BIGINT
);
CREATE INDEX subscriptions_guild ON subscriptions (guild_id);

-- One row per subscription, subject and revision: a match is recorded once, however often
-- matching runs, and sent by the delivery worker.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,              -- a story id, or 'briefing'
    revision        BIGINT NOT NULL,            -- articles at the match, or the briefing's date
    channel_id      BIGINT NOT NULL,
    nonce           TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending, sent, dropped, failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    message_id      BIGINT,
    error           TEXT,
    UNIQUE (subscription_id, subject, revision)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt);
