-- Key points a language model wrote for a story (see llm/ and store/written.rs), and the
-- latest attempt, successful or not, so each revision of a story is asked for once and again
-- only when the story grows, the model changes or the prompt does. `title` is NULL until an
-- attempt succeeds; a later failed attempt keeps the earlier success.
CREATE TABLE written_summaries (
    story_seq          BIGINT PRIMARY KEY,
    title              TEXT,
    points             TEXT,              -- JSON: [{"text": ..., "sources": [url, ...]}]
    framing            TEXT,              -- JSON: [{"side": "left", "sentence": ...}]
    model              TEXT,
    prompt_version     BIGINT,
    written_at         BIGINT,
    written_articles   BIGINT,
    attempted_at       BIGINT NOT NULL,
    attempted_articles BIGINT NOT NULL,
    attempted_model    TEXT NOT NULL,
    attempted_prompt   BIGINT NOT NULL,
    last_error         TEXT
);
