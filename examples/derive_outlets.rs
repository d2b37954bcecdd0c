//! Rebuilds `data/outlets.csv` from the published rating sets:
//! `cargo run --example derive_outlets -- ../shared/data/ratings > data/outlets.csv`
//! The merge rule is documented in `storybot::outlets::ratings`.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared/data/ratings".into()),
    );
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.join(name).display()))
    };
    let (rows, stats) = storybot::outlets::ratings::derive(
        &read("allsides_2023-11-15.csv")?,
        &read("mbfc_emnlp18.tsv")?,
        &read("adfontes_snapshot.csv")?,
    )?;
    print!("{}", storybot::outlets::ratings::to_csv(&rows));
    eprintln!("{}", storybot::outlets::ratings::describe(&stats));
    Ok(())
}
