//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the folders' files, and a
//! new file changes no Rust source.
fn main() {
    println!("cargo:rerun-if-changed=src/store/migrations");
}
