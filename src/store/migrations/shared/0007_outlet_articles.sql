-- An outlet's page lists its latest articles: one index range per outlet, however large the
-- store.
CREATE INDEX articles_outlet ON articles (outlet_name, published DESC);
-- A story's coverage timeline counts its articles per hour and outlet from the index alone.
CREATE INDEX articles_story_timeline ON articles (story_seq, published, outlet_name);
