-- The points the grounding check dropped from a story's latest attempt, kept or failed, each
-- with why (the operators' page /written, see store/written.rs): JSON
-- [{"text": ..., "reason": ...}]. NULL for attempts made before this column.
ALTER TABLE written_summaries ADD COLUMN dropped TEXT;
