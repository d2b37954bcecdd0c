//! Synthetic stores for the benchmarks, written through the store's own write path
//! (`StoreTx`), so their tables and search indexes are exactly what the application writes:
//! [`build_store`] (many small stories, as `story_lookup` and `web_pages` use) and
//! [`write_story`] (one story of any size, as `story_size` and `web_pages` use).

use std::path::Path;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use storybot::model::{Article, StoryId};
use storybot::store::{NewArticle, NewStory, Store, StoryUpdate};

use super::{word, Rng};

/// Writes the synthetic store through the store's own write path (`StoreTx`), so its tables
/// and search indexes are exactly what the application writes.
pub async fn build_store(path: &Path, stories: usize) -> anyhow::Result<()> {
    let store = Store::open(&format!("sqlite://{}", path.display())).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let vocab = 30_000;
    let outlets: Vec<(String, String)> = storybot::outlets::OutletDirectory::load(&[])?
        .iter()
        .take(400)
        .map(|o| (o.name.clone(), o.domains[0].clone()))
        .collect();
    let start = Instant::now();
    let mut tx = store.begin().await?;
    let mut article_seq = 0usize;
    for s in 0..stories {
        let topic: Vec<String> = (0..4).map(|_| word(rng.zipf(vocab), 3)).collect();
        let title = topic.join(" ");
        let n_articles = 2 + rng.below(17); // 2..=18, about 10 on average
        let t0 = Utc
            .timestamp_opt(1_700_000_000 + (s as i64) * 60, 0)
            .unwrap();
        let id = StoryId::derive(&format!("bench:{s}"), 8);
        let seq = tx
            .insert_story(NewStory {
                id: &id,
                upstream_key: None,
                seed_url: None,
                title: &title,
                published: t0,
                now: t0,
            })
            .await?;
        let mut headlines = Vec::with_capacity(n_articles);
        let mut articles = Vec::with_capacity(n_articles);
        for a in 0..n_articles {
            let extra: Vec<String> = (0..3).map(|_| word(rng.zipf(vocab), 3)).collect();
            let headline = format!(
                "{} {} {} {} {}",
                topic[rng.below(4)],
                extra[0],
                topic[rng.below(4)],
                extra[1],
                extra[2]
            );
            let (outlet, domain) = &outlets[rng.below(outlets.len())];
            let published = t0 + chrono::Duration::minutes(a as i64);
            articles.push(NewArticle {
                story: seq,
                article: Article {
                    url: format!("https://{domain}/a/{article_seq}"),
                    title: headline.clone(),
                    summary: String::new(),
                    outlet: outlet.clone(),
                    domain: domain.clone(),
                    published,
                    fetched: published,
                },
            });
            headlines.push(headline);
            article_seq += 1;
        }
        tx.insert_articles(&std::mem::take(&mut articles)).await?;
        let refs: Vec<&str> = headlines.iter().map(String::as_str).collect();
        tx.update_story(
            seq,
            StoryUpdate {
                title: &title,
                key_points: &[
                    format!("{title} happened."),
                    format!("{} reacted.", topic[1]),
                ],
                headlines: &refs,
            },
        )
        .await?;
        if s % 10_000 == 9_999 {
            tx.commit().await?;
            tx = store.begin().await?;
            eprintln!(
                "  {} stories, {} articles ({:.0?})",
                s + 1,
                article_seq,
                start.elapsed()
            );
        }
    }
    tx.commit().await?;
    store.close().await;
    eprintln!(
        "built {stories} stories, {article_seq} articles in {:.1?}",
        start.elapsed()
    );
    Ok(())
}

/// Writes one story of `n` articles from `outlets` outlets.
pub async fn write_story(
    store: &Store,
    key: &str,
    title: &str,
    n: usize,
    outlets: &[(String, String)],
) {
    let t0 = Utc::now() - chrono::Duration::days(2);
    let id = StoryId::derive(key, 8);
    let mut tx = store.begin().await.unwrap();
    let seq = tx
        .insert_story(NewStory {
            id: &id,
            upstream_key: Some(key),
            seed_url: None,
            title,
            published: t0,
            now: t0,
        })
        .await
        .unwrap();
    let mut batch = Vec::with_capacity(5_000);
    for i in 0..n {
        let (outlet, domain) = &outlets[i % outlets.len()];
        let t = t0 + chrono::Duration::seconds(i as i64);
        batch.push(NewArticle {
            story: seq,
            article: Article {
                url: format!("https://{domain}/{key}/{i}"),
                title: format!("{title}: report {i}"),
                summary: "Officials said the work went to plan and traffic will resume on \
                          Monday, after months of delays and disputes over the cost."
                    .to_string(),
                outlet: outlet.clone(),
                domain: domain.clone(),
                published: t,
                fetched: t,
            },
        });
        if batch.len() == 5_000 {
            tx.insert_articles(&batch).await.unwrap();
            batch.clear();
        }
    }
    tx.insert_articles(&batch).await.unwrap();
    tx.update_story(
        seq,
        StoryUpdate {
            title,
            key_points: &["Work went to plan.".to_string()],
            headlines: &[title],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}
