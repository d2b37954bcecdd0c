//! Feed parsing cost of hostile markup against ordinary markup of the same size.
//!
//! `cargo bench --bench feed_parse`. One RSS item whose description holds 5 MB of markup goes
//! through the real parser (`storybot::ingest::feeds::parse`: feed-rs, then HTML to text); each
//! variant runs 5 times and the median is reported, with its ratio to ordinary markup. Parsing
//! must stay linear in its input: hostile markup costs at most about twice ordinary markup.

use std::time::{Duration, Instant};

const SIZE: usize = 5 * 1024 * 1024;

/// `unit` repeated to about `SIZE` bytes.
fn fill(unit: &str) -> String {
    unit.repeat(SIZE / unit.len())
}

fn feed(markup: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Bench</title><item>\
         <title>An item</title><link>https://example.org/a</link>\
         <description><![CDATA[{markup}]]></description></item></channel></rss>"
    )
    .into_bytes()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_text(markup: &str) -> Duration {
    let runs = (0..5)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(storybot::ingest::feeds::html_to_text(markup));
            t.elapsed()
        })
        .collect();
    median(runs)
}

fn time(doc: &[u8]) -> Duration {
    let runs = (0..5)
        .map(|_| {
            let t = Instant::now();
            let items = storybot::ingest::feeds::parse(doc, "https://example.org/feed", None)
                .expect("the feed parses");
            std::hint::black_box(items);
            t.elapsed()
        })
        .collect();
    median(runs)
}

fn main() {
    let ordinary = fill(
        "<p>Envoys met in <a href=\"https://example.org/geneva\">Geneva</a> on Monday, \
         officials said &amp; <b>talks</b> resumed.</p>\n",
    );
    let variants = [
        ("ordinary article markup", ordinary),
        ("<script></script> repeated", fill("<script></script>")),
        ("<SCRIPT> closed in other case", fill("<SCRIPT>x</ScRiPt >")),
        ("unclosed <style> repeated", fill("<style>")),
        ("'<' without tags", fill("<a<b<c<d")),
        ("entities", fill("&amp;&lt;&#x41;&eacute;")),
        (
            "one tag, huge attributes",
            format!("<p{}>", " a=b".repeat(SIZE / 4)),
        ),
        ("deep nesting", fill("<b><i><u><s>")),
    ];
    let (mut base, mut base_text) = (None, None);
    println!("5 MiB of markup in one item (median of 5 runs):");
    println!(
        "{:<32} {:>22}   {:>22}",
        "", "feed parse (as ingest)", "HTML to text, all 5 MiB"
    );
    for (name, markup) in variants {
        let doc = feed(&markup);
        let t = time(&doc);
        let base = *base.get_or_insert(t);
        let tt = time_text(&markup);
        let base_text = *base_text.get_or_insert(tt);
        println!(
            "{name:<32} {:>8.1} ms {:>5.2}x ordinary   {:>8.1} ms {:>5.2}x ordinary",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / base.as_secs_f64(),
            tt.as_secs_f64() * 1e3,
            tt.as_secs_f64() / base_text.as_secs_f64()
        );
    }
}
