-- What lets stored articles be placed again as one import would have placed them (an import
-- older than the stories, see pipeline.rs), and the clusterer be rebuilt as it stood at any
-- time (store/replace.rs):
--
-- the URL of the article that started a clustered story (its id is derived from it), so a
-- story placed again is the same story; NULL for upstream stories and older rows;
ALTER TABLE stories ADD COLUMN seed_url TEXT;
-- the story the clusterer placed each article in, before any merge moved it (NULL: its story);
ALTER TABLE articles ADD COLUMN placed_seq BIGINT;
-- and each merge of the merge step, with the article after which it ran (and its place among
-- that step's merges).
CREATE TABLE story_merges (
    from_seq        BIGINT PRIMARY KEY,
    into_seq        BIGINT NOT NULL,
    point_published BIGINT NOT NULL,
    point_url       TEXT NOT NULL,
    point_order     BIGINT NOT NULL
);
CREATE INDEX story_merges_point ON story_merges (point_published);
CREATE INDEX story_merges_into ON story_merges (into_seq);
