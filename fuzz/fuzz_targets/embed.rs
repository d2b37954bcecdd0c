//! A digest built from hostile text (title, key points, headlines, outlet names, the titles of
//! the topic's previous and next events, a model's name and its framing sentences), rendered as
//! a Discord message. Invariants: every Discord limit is met, the message parses nothing as a
//! mention, and no mention or masked link from the input survives unescaped.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use storybot::config::{BlindspotRule, FactualityRule};
use storybot::digest::embed::message;
use storybot::payload::limits::EMBED_TOTAL_MAX;
use storybot::digest::{Digest, Headline};
use storybot::model::{Bias, Factuality, Framing, Sequence, Side, StoryId, StoryLink};
use storybot::summarise::{Coverage, FactualityMix};

#[derive(Debug, Arbitrary)]
struct Input {
    title: String,
    points: Vec<String>,
    headlines: Vec<(String, String, String, u8)>,
    counts: [u16; 5],
    unrated: u16,
    /// Outlets rated High, Mixed, Low for factuality, and unrated.
    factuality: [u16; 3],
    factuality_unrated: u16,
    /// Titles of the previous and next events of the topic.
    previous: Option<String>,
    next: Option<String>,
    /// The model that wrote the key points, and its framing sentences per side.
    model: Option<String>,
    framing: [Option<String>; 3],
}

fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

fuzz_target!(|input: Input| {
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(1_700_000_000, 0).unwrap();
    let coverage = Coverage::from_counts(
        10,
        input.counts.map(usize::from),
        usize::from(input.unrated),
        Some(t),
        Some(t),
        &BlindspotRule::default(),
    );
    let mut coverage = coverage;
    coverage.factuality = FactualityMix::from_counts(
        input.factuality.map(usize::from),
        usize::from(input.factuality_unrated),
        &FactualityRule::default(),
    );
    let headlines = input
        .headlines
        .into_iter()
        .take(12)
        .map(|(title, url, outlet, bias)| Headline {
            title,
            url: format!("https://example.org/{url}"),
            outlet,
            bias: Bias::ALL.get(usize::from(bias)).copied(),
            factuality: [Factuality::High, Factuality::Mixed, Factuality::Low]
                .get(usize::from(bias % 4))
                .copied(),
            published: t,
        })
        .collect();
    let digest = Digest {
        id: StoryId::derive("fuzz", 8),
        title: input.title,
        link: None,
        key_points: input.points,
        key_points_by: input.model,
        framing: [Side::Left, Side::Center, Side::Right]
            .into_iter()
            .zip(input.framing)
            .filter_map(|(side, s)| s.map(|sentence| Framing { side, sentence }))
            .collect(),
        coverage,
        headlines,
        sequence: Sequence {
            previous: input.previous.map(|title| StoryLink {
                id: StoryId::derive("previous", 8),
                title,
            }),
            next: input.next.map(|title| StoryLink {
                id: StoryId::derive("next", 8),
                title,
            }),
        },
        image: None,
    };
    let m = message(&digest);
    assert!(m.allowed_mentions.parse.is_empty());
    let e = &m.embeds[0];
    assert!(utf16(&e.title) <= 256 && utf16(&e.description) <= 4096);
    assert!(e.fields.len() <= 25 && utf16(&e.footer.text) <= 2048);
    for f in &e.fields {
        assert!(utf16(&f.name) <= 256 && utf16(&f.value) <= 1024 && !f.value.is_empty());
    }
    assert!(e.total_len() <= EMBED_TOTAL_MAX);
    let json = serde_json::to_string(&m).unwrap();
    assert!(!json.contains("@everyone") && !json.contains("@here"), "{json}");
    for text in std::iter::once(&e.title)
        .chain(std::iter::once(&e.description))
        .chain(e.fields.iter().map(|f| &f.value))
    {
        // A mention needs an unescaped `<@`; the renderer escapes every `<`.
        for (i, _) in text.match_indices("<@") {
            assert!(text[..i].ends_with('\\'), "unescaped mention in {text:?}");
        }
    }
});
