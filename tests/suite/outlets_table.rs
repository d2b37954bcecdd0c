//! The shipped outlet table is exactly what the documented merge derives from `../shared`.

use crate::common;

#[test]
fn shipped_outlets_csv_matches_the_derivation() {
    let Some(shared) = common::shared_dir() else {
        common::skip(
            "shipped_outlets_csv_matches_the_derivation",
            "../shared is absent: no rating sets to derive from",
        );
        return;
    };
    let ratings = shared.join("data/ratings");
    let read = |f: &str| std::fs::read_to_string(ratings.join(f)).unwrap();
    let (rows, stats) = storybot::outlets::ratings::derive(
        &read("allsides_2023-11-15.csv"),
        &read("mbfc_emnlp18.tsv"),
        &read("adfontes_snapshot.csv"),
    )
    .unwrap();
    let derived = storybot::outlets::ratings::to_csv(&rows);
    let shipped = storybot::outlets::BUNDLED_OUTLETS_CSV;
    assert!(
        derived == shipped,
        "data/outlets.csv is stale: run `cargo run --example derive_outlets > data/outlets.csv` ({})",
        storybot::outlets::ratings::describe(&stats)
    );
    assert!(
        stats.allsides_outlets > 1000 && stats.rated > 2000,
        "{stats:?}"
    );
}
