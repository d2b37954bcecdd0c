//! Helpers shared by the benchmark binaries: a deterministic generator of synthetic words and
//! numbers, and `--name value` arguments.
#![allow(dead_code)]

pub mod stores;

/// A small deterministic generator (xorshift64*), so every run builds the same data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Zipf-like: small indexes are much more likely.
    pub fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as usize % n
    }
}

/// A pronounceable synthetic word: `syllables` syllables give 16^syllables distinct words.
pub fn word(i: usize, syllables: u32) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ra", "to", "vu", "se", "da", "pi", "gor", "lan", "tes", "mar",
        "vin", "sol",
    ];
    let mut w = String::new();
    let mut x = i + 17;
    for _ in 0..syllables {
        w.push_str(SYL[x % 16]);
        x /= 16;
    }
    w
}

/// The sample at quantile `p` of sorted samples.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One line: the samples' count, p50, p99 and max, in milliseconds.
pub fn report(name: &str, mut samples: Vec<std::time::Duration>) {
    samples.sort();
    println!(
        "{name:<34} n={:<6} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// The value of `--name N` on the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one statement on a Postgres database (schema set-up for benchmarks).
pub async fn pg_exec(url: &str, sql: &str) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .expect("connect to Postgres");
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .expect("statement");
}

/// Function words, left out of content words.
const STOP: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "for", "from", "had", "has", "have", "he", "her", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "more", "new", "no", "not", "now", "of",
    "on", "or", "our", "out", "over", "said", "says", "she", "so", "than", "that", "the", "their",
    "them", "there", "they", "this", "to", "up", "was", "we", "were", "what", "when", "which",
    "who", "will", "with", "would", "you",
];

/// The stemmed content words of `s`, in order: lower case, letters and digits, no stop words.
pub fn content_stems(stemmer: &rust_stemmers::Stemmer, s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1 && !STOP.contains(w))
        .map(|w| stemmer.stem(w).into_owned())
        .collect()
}

/// Splits prose into sentences at `.`, `!` or `?` followed by a space and a capital, digit or
/// quote (a plain splitter for baselines).
pub fn sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = s.char_indices().collect();
    for i in 0..bytes.len() {
        let (pos, c) = bytes[i];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let space = bytes.get(i + 1).is_some_and(|&(_, c)| c == ' ');
        let next = bytes.get(i + 2).map(|&(_, c)| c);
        if space && next.is_some_and(|n| n.is_uppercase() || n.is_numeric() || "\"“'".contains(n))
        {
            let sentence = s[start..=pos].trim();
            if sentence.split_whitespace().count() >= 3 {
                out.push(sentence.to_string());
            }
            start = pos + 1;
        }
    }
    let last = s[start..].trim();
    if last.split_whitespace().count() >= 3 {
        out.push(last.to_string());
    }
    out
}
