//! Architecture invariant: the core does no IO and reads no clock.
//!
//! The compiler enforces what the crate can call only through what it depends on, so this test
//! keeps the dependency list to crates that are pure computation. Adding a crate here is a
//! design decision; write down why in ARCHITECTURE.md.

// `toml` parses the moderation rules from text (`moderation::ModerationRules::from_toml`), so the
// server and the core's compiled-in defaults read them the same way; it is a parser, no IO.
const ALLOWED: &[&str] = &["jiff", "serde", "thiserror", "toml", "unicode-normalization", "utoipa"];

#[test]
fn the_core_depends_only_on_pure_crates() {
    let manifest: toml::Table =
        toml::from_str(include_str!("../Cargo.toml")).expect("the core's Cargo.toml parses");
    let dependencies = manifest.get("dependencies").and_then(|d| d.as_table()).expect("[dependencies]");
    for name in dependencies.keys() {
        assert!(ALLOWED.contains(&name.as_str()), "the core must stay pure, but depends on `{name}`");
    }
}

#[test]
fn the_core_source_never_reads_the_clock_or_does_io() {
    let forbidden = ["::now(", "std::fs", "std::net", "std::io", "std::thread", "std::env", "tokio", "sqlx"];
    let source_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders = vec![source_dir.clone()];
    let mut checked = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("the folder is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("source is readable");
            for word in forbidden {
                assert!(!source.contains(word), "{} uses `{word}`", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 9, "expected the core's modules in {}", source_dir.display());
}
