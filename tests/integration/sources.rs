//! The repository's source files, for the tests that read them rather than run them
//! (`local_zone.rs`, `engine_boundary.rs`).

use std::path::{Path, PathBuf};

/// The repository's root folder.
pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the server crate is in the repository").to_owned()
}

/// The files under `folder` whose name ends with one of `extensions`, skipping installed
/// packages, build output and vendored libraries (`web/vendor`: others' code, as published).
pub(crate) fn files(folder: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![folder.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("the folder is readable") {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if path.is_dir() {
                if !matches!(name, "node_modules" | "target" | "__pycache__" | "vendor") {
                    folders.push(path);
                }
            } else if extensions.iter().any(|extension| name.ends_with(extension)) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
