//! The recorded corpora under `tests/fixtures/<ecosystem>/<format>/<case>/`: where they are, and
//! how a case becomes a project in a test repository.

use super::TestRepo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `tests/fixtures` of this checkout.
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Files that record what a tool said about a case (its listings, its verdicts); everything
/// else in a case folder is the project the tool worked on.
pub const RECORDED: [&str; 9] = [
    "packages.txt",
    "unpinned.txt",
    "listing.txt",
    "listing.json",
    "verdict.txt",
    "verdict-after-edit.txt",
    "composer-verdict.txt",
    "expected.txt",
    "expected-cycle.txt",
];

/// The folder `tests/fixtures/<relative>` (`npm/yarn-classic/small`).
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(ROOT).join(relative)
}

/// Every file under `root`, sorted.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()));
        for entry in entries {
            let path = entry.expect("read a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The project files of the case at `root` (not what [`RECORDED`] names), by path relative to
/// it, as text.
pub fn project_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(root)
        .into_iter()
        .filter(|file| {
            let name = file.file_name().unwrap().to_string_lossy();
            !RECORDED.contains(&name.as_ref())
        })
        .map(|file| {
            let relative = file
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (relative, std::fs::read(&file).unwrap())
        })
        .collect()
}

/// Writes the project files of the case at `root` into the work tree of `repo`, under the folder
/// `into` (`""` for the repository root); nothing is staged.
pub fn write_case(repo: &TestRepo, root: &Path, into: &str) {
    for (relative, bytes) in project_files(root) {
        let path = if into.is_empty() {
            relative
        } else {
            format!("{into}/{relative}")
        };
        repo.write(&path, bytes);
    }
}
