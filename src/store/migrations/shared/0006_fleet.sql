-- Several processes on one store (see fleet/ and store/fleet.rs).
--
-- `processes`: one row per running storybot service process, refreshed every few seconds
-- (`seen_at`, Unix milliseconds); a row not seen for a while belongs to a process that died.
-- `shard_first`/`shard_last`/`shard_total` are the gateway shards it holds (NULL: none, or
-- autosharded when `shard_total` is 0); `leader` is 1 for the process that fetches, clusters
-- and summarises.
CREATE TABLE processes (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         BIGINT NOT NULL,
    command     TEXT NOT NULL,
    version     TEXT NOT NULL,
    shard_first BIGINT,
    shard_last  BIGINT,
    shard_total BIGINT,
    leader      BIGINT NOT NULL DEFAULT 0,
    started_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL
);

-- Delivery: a channel's pending posts are sent by the process that holds its claim, until
-- `until` (Unix milliseconds); one claimant at a time keeps each channel in order.
CREATE TABLE channel_claims (
    channel_id BIGINT PRIMARY KEY,
    owner      TEXT NOT NULL,
    until      BIGINT NOT NULL
);

-- The bot's one global REST budget, shared by every process (Postgres): the earliest
-- microsecond, on the database's clock, at which the next globally limited request may start.
CREATE TABLE rest_pace (
    id      BIGINT PRIMARY KEY,
    next_us BIGINT NOT NULL
);
INSERT INTO rest_pace (id, next_us) VALUES (1, 0);
