//! Rebuilds `data/demo.jsonl` from the UCI News Aggregator headlines (CC BY 4.0):
//! `cargo run --example derive_demo -- ../shared/data/clustering/uci_news_aggregator_2014-03-10_to_12.csv > data/demo.jsonl`
//! Keeps a fixed set of Google News stories, at most [`PER_STORY`] articles each, earliest
//! first. The gold story ids are left out: the demo goes through storybot's own clustering.

use std::collections::HashMap;

/// The demo stories: varied topics, several of them covered across the spectrum.
const STORIES: &[&str] = &[
    "d9U18-FbnX6iAeMfWCPiWF-ATySKM", // criminal probe in GM's recall
    "d6oHu5PfuD_389MzHgrh61KXagXnM", // GM's internal recall probe
    "d85PwV5UxEUaHMM0to00pLgkAXkbM", // Mt. Gox seeks US bankruptcy relief
    "dZN_cm41wSN59aMjra4bdYw_-ofgM", // Libyan navy attacks oil tanker
    "dwKImS3hJEOWOxMdJ_GX7yxvWuzmM", // Comcast-Time Warner Cable deal
    "dqvpqdCv-IV7KrMD51wr0w-O_QIeM", // Edward Snowden at SXSW
    "dqGBNbtZggwuw5MCNC30E54BpP3aM", // Fannie-Freddie overhaul
    "d__jcKruuebDhTMfkhbUJpI3MBjEM", // Colorado marijuana taxes
    "dv9wrOJXBM-AyRMvttoT84rv3WnSM", // crowd search for the missing plane
    "dAYE1n5o-1fN7UMo9gparMNdIRNuM", // Twitter outage
    "dKtO7lhuRoSQrcML_ZKdUpeniexeM", // Sbarro files for Chapter 11
    "dBxpRXe8n64NSYMS2ELgYC0Mp3ySM", // Mark Carney at the Treasury committee
    "dTtx9G2RDbmc5YMasGm422Zcm7TVM", // Flappy Bird could return
    "d7RBEwyH92gFSrMjpl764nNfewB0M", // George Zimmerman
    "dEMAAHOiiULKoTMlQ5PeakjabUaYM", // MTA worker killed by train
    "dQ2X13huYM6KeAMCNxi9eKV6e1h0M", // US job openings in January
];
const PER_STORY: usize = 60;

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        "../shared/data/clustering/uci_news_aggregator_2014-03-10_to_12.csv".into()
    });
    let mut reader = csv::Reader::from_path(&path)?;
    let mut rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    // columns: ID,TITLE,URL,PUBLISHER,CATEGORY,STORY,HOSTNAME,TIMESTAMP
    rows.sort_by_key(|r| r.get(7).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0));
    let mut taken: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        let story = r.get(5).unwrap_or("");
        let Some(key) = STORIES.iter().find(|s| **s == story) else {
            continue;
        };
        let n = taken.entry(key).or_default();
        if *n == PER_STORY {
            continue;
        }
        *n += 1;
        let line = serde_json::json!({
            "url": r.get(2).unwrap_or("").replace("\\?", "?"),
            "title": r.get(1).unwrap_or("").replace('\\', ""),
            "outlet": r.get(3).unwrap_or("").replace('\\', ""),
            "published": r.get(7).and_then(|t| t.parse::<i64>().ok()),
        });
        println!("{line}");
    }
    Ok(())
}
