-- The previous event of the same topic: set when a story past its maximum span is continued
-- by a new one (see cluster::online). Merges repoint it (store/mod.rs, merge_story).
ALTER TABLE stories ADD COLUMN follows BIGINT;
CREATE INDEX stories_follows ON stories (follows);
