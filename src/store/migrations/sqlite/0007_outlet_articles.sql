-- An outlet's page lists its latest articles: one index range per outlet, however large the
-- store.
CREATE INDEX articles_outlet ON articles (outlet_name, published DESC);
