//! Helpers shared by the benchmark binaries: a deterministic generator of synthetic words and
//! numbers, and `--name value` arguments.
#![allow(dead_code)]

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
