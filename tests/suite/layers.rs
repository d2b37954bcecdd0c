//! The layers ARCHITECTURE.md lists, kept by a test rather than by convention: every
//! module's `crate::` paths (and `super::` paths between sibling files) are read from the
//! source, and an import that points up the layers, or two files that import each other,
//! fail the test with the file and the import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules, lowest layer first. A module imports only modules of earlier layers,
/// or of its own layer where [`SAME_LAYER`] allows it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundations",
        &[
            "alloc_count",
            "fnv",
            "text",
            "secrets",
            "error",
            "model",
            "payload",
            "outlets",
            "config",
            "metrics",
            "workers",
        ],
    ),
    (
        "stages",
        &["ingest", "cluster", "summarise", "store", "llm", "digest"],
    ),
    (
        "above the stages",
        &[
            "pipeline",
            "app",
            "subscriptions",
            "fleet",
            "llm_queue",
            "page_queue",
            "service",
        ],
    ),
    ("front ends", &["web", "discord", "cli"]),
];

/// Imports inside one layer that ARCHITECTURE.md allows (importer, imported).
const SAME_LAYER: &[(&str, &str)] = &[
    // Foundations build on each other, in this order.
    ("model", "fnv"),
    ("model", "text"),
    ("payload", "text"),
    ("error", "secrets"),
    ("error", "text"),
    ("outlets", "model"),
    ("config", "model"),
    ("config", "outlets"),
    ("config", "secrets"),
    ("config", "text"),
    // Stages: ingest keeps feed health in the store; digests and the model's check read
    // what summarising computed.
    ("ingest", "store"),
    ("digest", "summarise"),
    ("llm", "summarise"),
    // Above the stages: the write path under the shared state, and what uses that state.
    ("app", "pipeline"),
    ("subscriptions", "app"),
    ("llm_queue", "app"),
    ("page_queue", "app"),
    ("service", "page_queue"),
    ("service", "app"),
    ("service", "fleet"),
    ("service", "llm_queue"),
    // Front ends: the command line starts the bot and the pages.
    ("cli", "discord"),
    ("cli", "web"),
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments (line and doc comments), so prose never counts as an import.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module path of a file under `src/` (`discord/delivery/mod.rs` → `discord::delivery`).
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The top-level modules a file names with `crate::` (in paths and `use crate::{a, b}`).
fn crate_imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

#[test]
fn imports_point_down_the_layers() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let Some(top) = module.first().cloned() else {
            continue; // lib.rs and main.rs sit above everything.
        };
        let Some(from) = layer_of(&top) else {
            wrong.push(format!(
                "{}: module `{top}` is in no layer of this test",
                file.display()
            ));
            continue;
        };
        for to in crate_imports(&code(file)) {
            if to == top {
                continue;
            }
            let Some(layer) = layer_of(&to) else {
                wrong.push(format!(
                    "{}: imports `{to}`, which is in no layer",
                    file.display()
                ));
                continue;
            };
            let allowed = layer < from || (layer == from && SAME_LAYER.contains(&(&*top, &*to)));
            if !allowed {
                wrong.push(format!(
                    "{}: `{top}` ({}) imports `{to}` ({})",
                    file.strip_prefix(src()).unwrap().display(),
                    LAYERS[from].0,
                    LAYERS[layer].0
                ));
            }
            graph.entry(top.clone()).or_default().insert(to);
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
    // The store imports no stage; digests know nothing of the store.
    for (module, forbidden) in [
        (
            "store",
            &["ingest", "cluster", "summarise", "llm", "digest"][..],
        ),
        ("digest", &["store"][..]),
        (
            "cluster",
            &["ingest", "summarise", "store", "llm", "digest"][..],
        ),
    ] {
        for f in forbidden {
            assert!(
                !graph.get(module).is_some_and(|g| g.contains(*f)),
                "`{module}` imports `{f}`"
            );
        }
    }
}

/// Sibling files (of one folder, or a folder's `mod.rs` and the files beside that folder)
/// that import each other through `super::`: what both need belongs in a third file.
#[test]
fn no_two_sibling_files_import_each_other() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for file in &files {
        let here = module_of(file);
        let Some((_, parent)) = here.split_last() else {
            continue;
        };
        // Only the file's own code: unit tests use their parent by design.
        let code = code(file);
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for (i, _) in code.match_indices("super::") {
            if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &code[i + "super::".len()..];
            let names: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())]
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or("").to_string())
                    .collect(),
                None => vec![rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()],
            };
            for name in names {
                let mut sibling = parent.to_vec();
                sibling.push(name);
                if sibling != here && modules.contains(&sibling) {
                    edges.insert((here.join("::"), sibling.join("::")));
                }
            }
        }
    }
    let mutual: Vec<String> = edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| format!("{a} <-> {b}"))
        .collect();
    assert!(
        mutual.is_empty(),
        "files that import each other:\n{}",
        mutual.join("\n")
    );
}
