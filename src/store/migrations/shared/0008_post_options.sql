-- Subscriptions' options: forum channels and threads, a role to ping, filters, a daily limit.
ALTER TABLE subscriptions ADD COLUMN channel_kind TEXT NOT NULL DEFAULT 'text';  -- text, forum
ALTER TABLE subscriptions ADD COLUMN role_id BIGINT;            -- pinged on each post
ALTER TABLE subscriptions ADD COLUMN exclude_words TEXT NOT NULL DEFAULT '';  -- space-separated
ALTER TABLE subscriptions ADD COLUMN side_filter TEXT;          -- 'right blindspot', 'left 40%'
ALTER TABLE subscriptions ADD COLUMN max_per_day BIGINT NOT NULL DEFAULT 0;   -- 0: no limit
ALTER TABLE subscriptions ADD COLUMN updates TEXT NOT NULL DEFAULT 'off';     -- off, reply, thread
ALTER TABLE subscriptions ADD COLUMN thread_id BIGINT;          -- story: where updates go
ALTER TABLE subscriptions ADD COLUMN blindspot_side TEXT;       -- blindspot: left, right or ''
-- Followed stories already posted updates as replies.
UPDATE subscriptions SET updates = 'reply' WHERE kind = 'story';

-- A forum post has no nonce: when a send was under way (`sending_at`) and its outcome is
-- unknown, the next attempt looks for the post before creating it again.
ALTER TABLE deliveries ADD COLUMN sending_at BIGINT;
-- Where the delivery was posted: the thread of a forum post, or the channel.
ALTER TABLE deliveries ADD COLUMN posted_channel BIGINT;

-- Every story a topic or blindspot subscription posted, and where its updates go.
CREATE TABLE story_posts (
    subscription_id BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    story_id        TEXT NOT NULL,
    channel_id      BIGINT NOT NULL,   -- the forum post's thread, or the text channel
    message_id      BIGINT NOT NULL,   -- the post (updates reply to it or start a thread on it)
    last_count      BIGINT NOT NULL,   -- articles when last posted
    last_sides      BIGINT NOT NULL,   -- sides covered when last posted (bits)
    posted_at       BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, story_id)
);
CREATE INDEX story_posts_recent ON story_posts (subscription_id, posted_at);
