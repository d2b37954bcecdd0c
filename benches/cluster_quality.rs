//! Story clustering quality on the development sets in `../shared`:
//!
//! - UCI News Aggregator: 6,366 real headlines (titles only) of 87 Google News stories over
//!   36 hours, fed in timestamp order: broad stories of up to 322 headlines.
//! - NeuS validation: 307 events, each covered by three articles (left, center, right), with
//!   their headlines and text: narrow events of three, headlines with summaries.
//!
//! - AllSides round-ups of April-June 2021: 602 articles of 209 real events over three
//!   months, many of them successive developments of one topic, as per-outlet feeds in time
//!   order (see [`roundups`]), with the precision over same-topic pairs.
//!
//! All go through one shipped configuration (`Params::default()`). Prints B-cubed precision,
//! recall and F1, and pairwise F1. `cargo bench --bench cluster_quality` (`-- --sweep`: the
//! neighbouring settings; `-- --errors`: UCI's biggest stories as storybot splits them;
//! `-- --errors-roundups`: the round-ups' split events and stories of several events).
//!
//! **Successive events**, the development case for "a story is an event, not a topic": the UCI
//! set holds topics that Google News split into several events (GM's recall: the criminal
//! probe, and the law firms GM hired; two Miley Cyrus events; three market days' reports; four
//! SXSW events; ...), listed in [`TOPICS`]. Over pairs of articles of one topic that storybot
//! puts in one story, the share from one event is the precision reported (1.0: the events of
//! a topic are never joined).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use storybot::cluster::{Clusterer, Params, Placement};
use storybot::model::StoryKey;

struct Item {
    /// The article's URL (made up where the set has none): the merge step runs after the
    /// articles it picks, as in the pipeline.
    url: String,
    /// The outlet (the round-ups only).
    outlet: String,
    title: String,
    summary: String,
    time: i64,
    gold: String,
}

fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.is_dir().then_some(dir)
}

fn uci(dir: &Path) -> anyhow::Result<Vec<Item>> {
    let mut reader =
        csv::Reader::from_path(dir.join("clustering/uci_news_aggregator_2014-03-10_to_12.csv"))?;
    let mut items = Vec::new();
    for r in reader.records() {
        let r = r?;
        items.push(Item {
            url: r[2].to_string(),
            outlet: r[3].to_string(),
            title: r[1].replace('\\', ""),
            summary: String::new(),
            time: r[7].parse()?,
            gold: r[5].to_string(),
        });
    }
    items.sort_by_key(|i| i.time);
    Ok(items)
}

fn neus(dir: &Path) -> anyhow::Result<Vec<Item>> {
    let text = std::fs::read_to_string(dir.join("keypoints/neus/val.source"))?;
    let mut items = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        for (k, part) in line.split("[SEP]").enumerate() {
            let Some(rest) = part.trim().strip_prefix("TITLE=>") else {
                continue;
            };
            let (title, body) = rest.split_once("ARTICLE=>").unwrap_or((rest, ""));
            items.push(Item {
                url: format!("https://neus.example/{line_no}/{k}"),
                outlet: String::new(),
                title: title.trim().to_string(),
                summary: body.trim().to_string(),
                // Interleave the events: one a minute, the three articles a few seconds apart.
                time: 1_600_000_000_000 + line_no as i64 * 60_000 + k as i64 * 5_000,
                gold: format!("neus-{line_no}"),
            });
        }
    }
    items.sort_by_key(|i| i.time);
    Ok(items)
}

/// The AllSides round-ups of April-June 2021: 209 real events of about 100 outlets, many of
/// them successive developments of one topic, fed as ingest sees them: each outlet's articles
/// as its own feed, in time order. An article's time is its round-up's date spread over the
/// day by outlet (a fixed hash), its text the first 300 characters of its first paragraphs (a
/// feed's description). Returns the items and each item's topic.
fn roundups(dir: &Path) -> anyhow::Result<(Vec<Item>, Vec<String>)> {
    let text =
        std::fs::read_to_string(dir.join("clustering/allsides_roundups_2021-04_to_2021-06.jsonl"))?;
    let mut rows: Vec<(Item, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let event: serde_json::Value = serde_json::from_str(line)?;
        let date = chrono::DateTime::parse_from_rfc3339(event["date"].as_str().unwrap_or(""))?;
        let topic = event["topic"].as_str().unwrap_or("").to_string();
        let Some(news) = event["news"].as_object() else {
            continue;
        };
        for article in news.values() {
            let (Some(outlet), Some(title)) = (
                article["newsSource"].as_str(),
                article["newsTitle"].as_str(),
            ) else {
                continue;
            };
            // The first paragraphs, as a list of strings.
            let body: Vec<&str> = article["newBody"]
                .as_array()
                .map(|p| p.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            let summary: String = body.join(" ").chars().take(300).collect();
            // Spread over the day around the round-up's time, the same offset per outlet.
            let offset = i64::from(fnv1a(outlet) % 86_400) - 43_200;
            let url = article["newsLink"].as_str().map_or_else(
                || format!("https://roundup.example/{}", rows.len()),
                str::to_string,
            );
            rows.push((
                Item {
                    url,
                    outlet: outlet.to_string(),
                    title: title.to_string(),
                    summary,
                    time: (date.timestamp() + offset) * 1000,
                    gold: format!("roundup-{}", event["id"]),
                },
                topic.clone(),
            ));
        }
    }
    rows.sort_by_key(|(i, _)| i.time);
    Ok(rows.into_iter().unzip())
}

/// A fixed hash of a name (FNV-1a, 32 bits).
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Pairwise precision over pairs of one round-up topic ("Congress", "Coronavirus") joined in
/// one story: the share from one event. (precision, joined pairs)
fn same_topic_precision(items: &[Item], topics: &[String], pred: &[i64]) -> (f64, usize) {
    topic_precision(items, pred, |i| Some(topics[i].as_str()))
}

/// Over pairs of articles of one topic (`topic` of each item's index, if it has one) that
/// share a predicted story, the share from one gold event: (precision, joined pairs).
fn topic_precision<'t>(
    items: &[Item],
    pred: &[i64],
    topic: impl Fn(usize) -> Option<&'t str>,
) -> (f64, usize) {
    // (story, topic) -> articles per event
    let mut groups: HashMap<(i64, &str), HashMap<&str, usize>> = HashMap::new();
    for (i, (it, &p)) in items.iter().zip(pred).enumerate() {
        if let Some(t) = topic(i) {
            *groups
                .entry((p, t))
                .or_default()
                .entry(&it.gold)
                .or_default() += 1;
        }
    }
    let pairs = |m: usize| m * m.saturating_sub(1) / 2;
    let (mut same, mut all) = (0, 0);
    for events in groups.values() {
        same += events.values().map(|&m| pairs(m)).sum::<usize>();
        all += pairs(events.values().sum());
    }
    (same as f64 / all.max(1) as f64, all)
}

/// UCI topics made of several gold events (gold story ids), chosen by their headlines' shared
/// subject before any measurement.
const TOPICS: &[(&str, &[&str])] = &[
    (
        "GM recall",
        &[
            "d6oHu5PfuD_389MzHgrh61KXagXnM",
            "d9U18-FbnX6iAeMfWCPiWF-ATySKM",
        ],
    ),
    (
        "Cosmos",
        &[
            "dF8Q4zU4z14K2OMVh3PR3dzl6x5BM",
            "dZ9Dt3M_96s6vvMSB5n0INMObqVuM",
        ],
    ),
    (
        "Miley Cyrus",
        &[
            "dQ7mGX5Q5MsdjmMycY3sCTlY_y57M",
            "dtWjQeJMt6t4cYMfY05dyzFJkdO-M",
        ],
    ),
    (
        "iOS 7.1",
        &[
            "dkPpmX2BDXp_I-M_YvnONLZAorKYM",
            "duyKLygj6joC2EMjuUKz3bIErTg1M",
        ],
    ),
    (
        "markets",
        &[
            "dchKRTV8vDviyCMH_lfUDTuFThh_M",
            "dJbOm1zHMJJGWuMjXPV4nRnytnmrM",
            "d-hjSD-DwX_qXnMBFcMkgFLw6bKqM",
            "dn8H6sYjpAZnsgM2qvfMRDttKqhXM",
        ],
    ),
    (
        "SXSW",
        &[
            "dqvpqdCv-IV7KrMD51wr0w-O_QIeM",
            "dbsKofJALBGZSUMWs-_8VCkD9K6yM",
            "dp3J65V1kZKXk1Mo1kTvq1KjL6RkM",
            "dcIVq7irVOe0J0M7GejS54hesarSM",
        ],
    ),
    (
        "marijuana",
        &[
            "deGkRmE5aHbs6kMtE8NwN79vpnZaM",
            "d__jcKruuebDhTMfkhbUJpI3MBjEM",
        ],
    ),
];

/// Pairwise precision over same-topic pairs joined in one story: (precision, joined pairs).
/// Development aid (`-- --errors-roundups`): the round-ups' events split over several stories
/// and the stories holding several events, with each article's hour and headline.
fn roundup_errors(dir: &Path) -> anyhow::Result<()> {
    let (items, _) = roundups(dir)?;
    let pred = cluster(&items, Params::default());
    let line = |i: usize| {
        format!(
            "   [{} in {}] hour {} | {}",
            items[i].gold,
            pred[i],
            items[i].time / 3_600_000,
            items[i].title
        )
    };
    let mut by_gold: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_story: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        by_gold.entry(it.gold.as_str()).or_default().push(i);
        by_story.entry(pred[i]).or_default().push(i);
    }
    let mut split = 0;
    for members in by_gold.values() {
        let stories: std::collections::HashSet<i64> = members.iter().map(|&i| pred[i]).collect();
        if stories.len() > 1 {
            split += 1;
            println!("== an event in {} stories", stories.len());
            members.iter().for_each(|&i| println!("{}", line(i)));
        }
    }
    let mut mixed = 0;
    for members in by_story.values() {
        let events: std::collections::HashSet<&str> =
            members.iter().map(|&i| items[i].gold.as_str()).collect();
        if events.len() > 1 {
            mixed += 1;
            println!("== a story of {} events", events.len());
            members.iter().for_each(|&i| println!("{}", line(i)));
        }
    }
    println!("{split} events split, {mixed} stories of several events");
    Ok(())
}

fn successive_events(items: &[Item], pred: &[i64]) -> (f64, usize) {
    topic_precision(items, pred, |i| {
        TOPICS
            .iter()
            .find(|(_, events)| events.contains(&items[i].gold.as_str()))
            .map(|(name, _)| *name)
    })
}

/// Clusters items in order; returns the predicted story per item.
fn cluster(items: &[Item], params: Params) -> Vec<i64> {
    let mut c = Clusterer::new(params);
    let mut next = 0;
    let mut keys = Vec::with_capacity(items.len());
    for it in items {
        let t = Utc.timestamp_millis_opt(it.time).unwrap();
        let p = c.prepare(&it.title, &it.summary, t);
        let key = match c.place(&p) {
            Placement::Join(k) => k,
            Placement::New | Placement::Continue(_) => {
                next += 1;
                StoryKey(next)
            }
        };
        c.add(key, &p);
        keys.push(key);
        if Clusterer::merge_due(&it.url) {
            c.merge_pass();
        }
    }
    keys.iter().map(|&k| c.resolve(k).unwrap_or(k).0).collect()
}

/// The round-ups through the store, as `storybot import` takes them: as one file, as two
/// interleaved halves imported one after the other, and as five shuffled files imported at
/// once by five processes on one SQLite file. Prints each one's stories and scores: the same
/// articles in any files and order should give the same stories.
fn arrival(items: &[Item]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let lines: Vec<String> = items
            .iter()
            .map(|it| {
                let line = serde_json::json!({
                    "url": it.url, "title": it.title, "summary": it.summary,
                    "outlet": it.outlet, "published": it.time,
                });
                format!("{line}\n")
            })
            .collect();
        // By the canonical URL, as the store keeps it (an article in two round-ups is one).
        let mut gold: HashMap<String, &str> = HashMap::new();
        for it in items {
            if let Ok(url) = storybot::ingest::normalise::canonical_url(&it.url) {
                gold.entry(url.to_string()).or_insert(it.gold.as_str());
            }
        }
        let one: Vec<String> = vec![lines.concat()];
        let halves: Vec<String> = (0..2)
            .map(|h| lines.iter().skip(h).step_by(2).cloned().collect())
            .collect();
        let mut shuffled: Vec<&String> = lines.iter().collect();
        shuffled.sort_by_key(|l| fnv1a(l));
        let fifths: Vec<String> = (0..5)
            .map(|f| shuffled.iter().skip(f).step_by(5).map(|l| l.as_str()).collect())
            .collect();
        let dir = tempfile::tempdir()?;
        let cases = [
            ("one import", one, false),
            ("two halves in turn", halves, false),
            ("five files at once", fifths, true),
        ];
        for (n, (name, files, at_once)) in cases.into_iter().enumerate() {
            let url = format!("sqlite://{}", dir.path().join(format!("{n}.db")).display());
            let t = std::time::Instant::now();
            let app = import_files(&url, files, at_once).await?;
            let elapsed = t.elapsed();
            let (g, p) = stored_stories(&app, &gold).await?;
            let s = score(&g, &p);
            println!(
                "round-ups, {name:<19} -> {} stories | B-cubed P {:.3} R {:.3} F1 {:.3} | pairwise F1 {:.3} | {elapsed:.1?}",
                s.clusters, s.b3_p, s.b3_r, s.b3_f, s.pair_f
            );
        }
        Ok(())
    })
}

/// Imports the files into a store (through one app one after another, or each through an
/// app of its own at once); returns an app on the store.
async fn import_files(
    url: &str,
    files: Vec<String>,
    at_once: bool,
) -> anyhow::Result<storybot::app::App> {
    let open = || {
        let mut config = storybot::config::Config::default();
        config.store.url = url.to_string();
        config.store.seed_demo = false;
        storybot::app::App::open(config)
    };
    let app = open().await?;
    if !at_once {
        for f in files {
            app.import(std::io::Cursor::new(f)).await?;
        }
        return Ok(app);
    }
    let mut tasks = Vec::new();
    for f in files {
        let other = open().await?;
        tasks.push(tokio::spawn(async move {
            other.import(std::io::Cursor::new(f)).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(app)
}

/// Each stored article's gold event and story.
async fn stored_stories<'g>(
    app: &storybot::app::App,
    gold: &HashMap<String, &'g str>,
) -> anyhow::Result<(Vec<&'g str>, Vec<i64>)> {
    let (mut g, mut p) = (Vec::new(), Vec::new());
    let mut after = None;
    loop {
        let rows = app.store.stories_after(after, 500).await?;
        let Some(last) = rows.last() else {
            return Ok((g, p));
        };
        after = Some(last.key);
        for row in rows {
            let mut from = None;
            loop {
                let page = app.store.story_articles_after(row.key, from, 1_000).await?;
                let Some((seq, a)) = page.last() else { break };
                from = Some((a.published, *seq));
                for (_, a) in &page {
                    if let Some(&e) = gold.get(a.url.as_str()) {
                        g.push(e);
                        p.push(row.key.0);
                    }
                }
            }
        }
    }
}

struct Scores {
    b3_p: f64,
    b3_r: f64,
    b3_f: f64,
    pair_f: f64,
    clusters: usize,
}

fn score(gold: &[&str], pred: &[i64]) -> Scores {
    let n = gold.len() as f64;
    let mut joint: HashMap<(&str, i64), usize> = HashMap::new();
    let mut g: HashMap<&str, usize> = HashMap::new();
    let mut p: HashMap<i64, usize> = HashMap::new();
    for (&gi, &pi) in gold.iter().zip(pred) {
        *joint.entry((gi, pi)).or_default() += 1;
        *g.entry(gi).or_default() += 1;
        *p.entry(pi).or_default() += 1;
    }
    let (mut bp, mut br) = (0.0, 0.0);
    for (&gi, &pi) in gold.iter().zip(pred) {
        let both = joint[&(gi, pi)] as f64;
        bp += both / p[&pi] as f64;
        br += both / g[&gi] as f64;
    }
    let (bp, br) = (bp / n, br / n);
    let pairs = |m: usize| (m * m.saturating_sub(1) / 2) as f64;
    let tp: f64 = joint.values().map(|&m| pairs(m)).sum();
    let pred_pairs: f64 = p.values().map(|&m| pairs(m)).sum();
    let gold_pairs: f64 = g.values().map(|&m| pairs(m)).sum();
    let (pp, pr) = (tp / pred_pairs.max(1.0), tp / gold_pairs.max(1.0));
    Scores {
        b3_p: bp,
        b3_r: br,
        b3_f: 2.0 * bp * br / (bp + br),
        pair_f: 2.0 * pp * pr / (pp + pr).max(1e-9),
        clusters: p.len(),
    }
}

fn evaluate(name: &str, items: &[Item], params: Params) -> (Scores, Vec<i64>) {
    let t = std::time::Instant::now();
    let pred = cluster(items, params);
    let gold: Vec<&str> = items.iter().map(|i| i.gold.as_str()).collect();
    let s = score(&gold, &pred);
    let stories = gold.iter().collect::<std::collections::HashSet<_>>().len();
    println!(
        "{name:<22} {} articles, {stories} gold stories -> {} stories | B-cubed P {:.3} R {:.3} F1 {:.4} | pairwise F1 {:.3} | {:.0?}",
        items.len(),
        s.clusters,
        s.b3_p,
        s.b3_r,
        s.b3_f,
        s.pair_f,
        t.elapsed()
    );
    (s, pred)
}

fn main() -> anyhow::Result<()> {
    let Some(dir) = shared() else {
        println!("skipped: ../shared/data is absent");
        return Ok(());
    };
    let uci = uci(&dir)?;
    let neus = neus(&dir)?;
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--sweep") {
        // Development aid: how F1 moves around the shipped setting.
        let roundups = roundups(&dir)?;
        let base = Params::default();
        let mut variants: Vec<(String, Params)> = vec![("shipped".into(), base)];
        for t in [0.22f32, 0.25, 0.31] {
            variants.push((
                format!("threshold long {t}"),
                Params {
                    threshold_long: t,
                    ..base
                },
            ));
        }
        for t in [0.18f32, 0.26] {
            variants.push((
                format!("threshold short {t}"),
                Params {
                    threshold_short: t,
                    ..base
                },
            ));
        }
        for m in [0.45f32, 0.65] {
            variants.push((
                format!("merge (long) {m}"),
                Params {
                    merge_threshold: m,
                    ..base
                },
            ));
        }
        for h in [48i64, 144] {
            variants.push((
                format!("span {h} h"),
                Params {
                    max_span: chrono::Duration::hours(h),
                    window: chrono::Duration::hours(h.min(72)),
                    ..base
                },
            ));
        }
        for relief in [0.01f32, 0.03] {
            variants.push((
                format!("size relief {relief}"),
                Params {
                    size_relief: relief,
                    ..base
                },
            ));
        }
        for merge in [0.2f32, 0.3] {
            variants.push((
                format!("merge (short) {merge}"),
                Params {
                    merge_threshold_short: merge,
                    ..base
                },
            ));
        }
        for relief in [0.02f32, 0.08] {
            variants.push((
                format!("merge relief {relief}"),
                Params {
                    merge_relief: relief,
                    ..base
                },
            ));
        }
        for floor in [0.14f32, 0.18] {
            variants.push((
                format!("floor {floor}"),
                Params {
                    threshold_floor: floor,
                    ..base
                },
            ));
        }
        variants.push((
            "no merge step".into(),
            Params {
                merge_threshold: 2.0,
                merge_threshold_short: 2.0,
                merge_relief: 0.0,
                ..base
            },
        ));
        if args.iter().any(|a| a == "--grid") {
            variants.clear();
            for nb in [1.0f32, 1.25, 1.5] {
                for mr in [0.02f32, 0.03, 0.04] {
                    for ms in [0.25f32, 0.28] {
                        let mut p = Params {
                            merge_relief: mr,
                            merge_threshold_short: ms,
                            ..base
                        };
                        p.features.name_boost = nb;
                        variants.push((format!("nb {nb} mr {mr} ms {ms}"), p));
                    }
                }
            }
        }
        let mut no_names = base;
        no_names.features.name_boost = 1.0;
        if !args.iter().any(|a| a == "--grid") {
            variants.push(("no name boost".into(), no_names));
        }
        let mut no_bigrams = base;
        no_bigrams.features.bigram = 0.0;
        variants.push(("no bigrams".into(), no_bigrams));
        for (name, p) in variants {
            let uci_pred = cluster(&uci, p);
            let a = score(
                &uci.iter().map(|i| i.gold.as_str()).collect::<Vec<_>>(),
                &uci_pred,
            );
            let (topics, _) = successive_events(&uci, &uci_pred);
            let b = score(
                &neus.iter().map(|i| i.gold.as_str()).collect::<Vec<_>>(),
                &cluster(&neus, p),
            );
            let c = score(
                &roundups
                    .0
                    .iter()
                    .map(|i| i.gold.as_str())
                    .collect::<Vec<_>>(),
                &cluster(&roundups.0, p),
            );
            println!(
                "{name:<20} UCI {:.3} (P {:.3} R {:.3})  NeuS {:.3} (P {:.3} R {:.3})  events P {topics:.3}  round-ups {:.3} (P {:.3} R {:.3}, pairwise {:.3})",
                a.b3_f, a.b3_p, a.b3_r, b.b3_f, b.b3_p, b.b3_r, c.b3_f, c.b3_p, c.b3_r, c.pair_f
            );
        }
        return Ok(());
    }
    if args.iter().any(|a| a == "--errors-roundups") {
        return roundup_errors(&dir);
    }
    if args.iter().any(|a| a == "--errors") {
        let pred = cluster(&uci, Params::default());
        let mut by_gold: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, it) in uci.iter().enumerate() {
            by_gold.entry(it.gold.as_str()).or_default().push(i);
        }
        let mut golds: Vec<_> = by_gold.into_iter().collect();
        golds.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        for (g, members) in golds.iter().take(12) {
            let mut parts: HashMap<i64, Vec<usize>> = HashMap::new();
            for &i in members {
                parts.entry(pred[i]).or_default().push(i);
            }
            let mut parts: Vec<_> = parts.into_iter().collect();
            parts.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
            println!(
                "== {g} ({} headlines) in {} predicted stories",
                members.len(),
                parts.len()
            );
            for (k, v) in parts.iter().take(6) {
                let total = pred.iter().filter(|&&p| p == *k).count();
                println!("   {:>4} of {:>4} | {}", v.len(), total, uci[v[0]].title);
            }
        }
        return Ok(());
    }
    let params = Params::default();
    let (_, pred) = evaluate("UCI (headlines)", &uci, params);
    evaluate("NeuS val (with text)", &neus, params);
    let (precision, pairs) = successive_events(&uci, &pred);
    println!(
        "successive events (UCI topics of several events): pairwise precision {precision:.3} over \
         {pairs} same-topic pairs in one story"
    );
    let (items, topics) = roundups(&dir)?;
    let (s, pred) = evaluate("round-ups Apr-Jun 2021", &items, params);
    let (precision, pairs) = same_topic_precision(&items, &topics, &pred);
    println!(
        "round-ups: target B-cubed F1 >= 0.90 ({:.3}) and pairwise F1 >= 0.75 ({:.3}); same-topic \
         pairs in one story: precision {precision:.3} over {pairs} pairs",
        s.b3_f, s.pair_f
    );
    arrival(&items)
}
