-- The previous and next events of the same topic: set when a story past its maximum span is
-- continued by a new one (see cluster::online). Merges repoint them (store/mod.rs,
-- merge_story). Both on the row, so a lookup reads them with the story at no extra cost.
ALTER TABLE stories ADD COLUMN follows BIGINT;
ALTER TABLE stories ADD COLUMN next_story BIGINT;
CREATE INDEX stories_follows ON stories (follows);
