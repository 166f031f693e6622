//! What `lockgate watch` knows between cycles, under its state folder:
//! - `state.json`: each repository's branch tips (commit, and the blob of each lockfile it
//!   holds), the cursor of each ecosystem's feed, and the matches already reported;
//! - `blobs/<oid>`: what one lockfile blob locks, one `ecosystem\tname\tversion` line per
//!   registry package (`name` as OSV normalises it, then as written);
//! - `names/<shard>`: `ecosystem\tname\tblob` lines: which blobs lock a package name.
//!
//! A lockfile blob is read once, whatever the number of branches and repositories that hold it;
//! a new record is matched by reading the shard of each name it affects and the blobs listed
//! there. Files are written beside their final name and renamed into place; `state.json` is
//! written last, so an interrupted cycle leaves the previous state in use.

use crate::offline::fnv1a;
use crate::package::Ecosystem;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Version of the state layout; another value starts afresh.
const FORMAT: u32 = 1;
/// Shards of the names index.
const SHARDS: u64 = 256;
/// The largest state or index file read.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// A branch tip as last indexed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    /// The commit.
    pub commit: String,
    /// Each lockfile of its tree: path, blob.
    pub lockfiles: Vec<(String, String)>,
}

/// Where one ecosystem's feed was read up to: the newest second, and the records of that second.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// `YYYY-MM-DDTHH:MM:SS`.
    pub second: String,
    /// Ids modified in that second.
    pub ids: Vec<String>,
}

/// `state.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    format: u32,
    /// Per ecosystem (OSV's name).
    pub cursors: BTreeMap<String, Cursor>,
    /// Repository → branch → tip.
    pub repositories: BTreeMap<String, BTreeMap<String, Tip>>,
    /// Matches reported: [`Key`]s.
    pub reported: BTreeSet<Key>,
    /// The ecosystems (OSV's names) of what the indexed lockfiles lock.
    #[serde(default)]
    pub ecosystems: BTreeSet<String>,
}

/// One match, as remembered: record, repository, branch, lockfile, ecosystem, name, version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// The record's id.
    pub id: String,
    /// The repository, as listed.
    pub repository: String,
    /// The branch (`refs/heads/main`).
    pub branch: String,
    /// The lockfile's path.
    pub lockfile: String,
    /// OSV's ecosystem name.
    pub ecosystem: String,
    /// The package name as the lockfile writes it.
    pub name: String,
    /// The locked version.
    pub version: String,
}

/// One package a blob locks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// As OSV normalises it (what the database and records are matched by).
    pub normal: String,
    /// As the lockfile writes it.
    pub name: String,
    /// The locked version.
    pub version: String,
}

/// The state folder.
pub struct Index {
    folder: PathBuf,
}

impl Index {
    /// The index in `folder` (created when missing).
    pub fn open(folder: &Path) -> std::io::Result<Index> {
        std::fs::create_dir_all(folder.join("blobs"))?;
        std::fs::create_dir_all(folder.join("names"))?;
        Ok(Index {
            folder: folder.to_path_buf(),
        })
    }

    /// The lock file that serialises cycles on this state.
    pub fn lock_path(&self) -> PathBuf {
        self.folder.join("lock")
    }

    /// `state.json`; a fresh state when there is none, or it is another layout's.
    pub fn read_state(&self) -> Result<State, String> {
        let path = self.folder.join("state.json");
        let Some(bytes) = read_bounded(&path)? else {
            return Ok(fresh());
        };
        let state: State = serde_json::from_slice(&bytes)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Ok(if state.format == FORMAT {
            state
        } else {
            fresh()
        })
    }

    /// Writes `state.json` in one step.
    pub fn write_state(&self, state: &State) -> Result<(), String> {
        let bytes = serde_json::to_vec(state).map_err(|error| error.to_string())?;
        write_whole(&self.folder.join("state.json"), &bytes)
    }

    /// Whether the blob `oid` has been indexed.
    pub fn has_blob(&self, oid: &str) -> bool {
        self.blob_path(oid).is_file()
    }

    /// Indexes what blob `oid` locks: its names first, then the blob's own file, which marks it
    /// done (a cycle cut short in between indexes it again; duplicate name lines are harmless).
    pub fn add_blob(&self, oid: &str, locked: &[Locked]) -> Result<(), String> {
        let mut by_shard: BTreeMap<String, String> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut text = String::new();
        for package in locked {
            let ecosystem = package.ecosystem.as_osv();
            text.push_str(&format!(
                "{ecosystem}\t{}\t{}\t{}\n",
                package.normal, package.name, package.version
            ));
            if seen.insert((ecosystem, package.normal.as_str())) {
                by_shard
                    .entry(shard_of(ecosystem, &package.normal))
                    .or_default()
                    .push_str(&format!("{ecosystem}\t{}\t{oid}\n", package.normal));
            }
        }
        for (shard, lines) in by_shard {
            let path = self.folder.join("names").join(shard);
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            file.write_all(lines.as_bytes())
                .map_err(|error| format!("{}: {error}", path.display()))?;
        }
        write_whole(&self.blob_path(oid), text.as_bytes())
    }

    /// The blobs that lock a package named `normal` of `ecosystem`.
    pub fn blobs_with(
        &self,
        ecosystem: Ecosystem,
        normal: &str,
    ) -> Result<BTreeSet<String>, String> {
        let ecosystem = ecosystem.as_osv();
        let path = self.folder.join("names").join(shard_of(ecosystem, normal));
        let Some(bytes) = read_bounded(&path)? else {
            return Ok(BTreeSet::new());
        };
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let wanted = fields.next() == Some(ecosystem) && fields.next() == Some(normal);
                wanted.then(|| fields.next().map(str::to_string)).flatten()
            })
            .collect())
    }

    /// What blob `oid` locks.
    pub fn blob(&self, oid: &str) -> Result<Vec<Locked>, String> {
        let path = self.blob_path(oid);
        let bytes = read_bounded(&path)?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let ecosystem = ecosystem_named(fields.next()?)?;
                Some(Locked {
                    ecosystem,
                    normal: fields.next()?.to_string(),
                    name: fields.next()?.to_string(),
                    version: fields.next()?.to_string(),
                })
            })
            .collect())
    }

    /// The bytes the index takes on disk.
    pub fn size(&self) -> u64 {
        fn under(path: &Path) -> u64 {
            std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => under(&entry.path()),
                    _ => entry.metadata().map_or(0, |meta| meta.len()),
                })
                .sum()
        }
        under(&self.folder)
    }

    fn blob_path(&self, oid: &str) -> PathBuf {
        // Blob ids are git's hex; anything else never names a file.
        let oid: String = oid.chars().filter(char::is_ascii_hexdigit).collect();
        self.folder.join("blobs").join(oid)
    }
}

fn fresh() -> State {
    State {
        format: FORMAT,
        ..State::default()
    }
}

/// The ecosystem OSV calls `name`.
pub fn ecosystem_named(name: &str) -> Option<Ecosystem> {
    crate::ecosystem::ECOSYSTEMS
        .iter()
        .map(|ecosystem| ecosystem.id)
        .find(|id| id.as_osv() == name)
}

fn shard_of(ecosystem: &str, normal: &str) -> String {
    format!(
        "{:02x}",
        fnv1a(format!("{ecosystem}\t{normal}").as_bytes()) % SHARDS
    )
}

fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read as _;
    match std::fs::File::open(path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(MAX_FILE_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            Ok(Some(bytes))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("{}: {error}", path.display())),
    }
}

/// Writes `bytes` beside `path` and renames it into place.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let temporary = path.with_extension(format!("tmp-{}", crate::offline::unique_suffix()));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|error| {
            let _ = std::fs::remove_file(&temporary);
            format!("{}: {error}", path.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_found_by_the_names_it_locks() {
        let folder = std::env::temp_dir().join(format!("lockgate-index-{}", std::process::id()));
        let index = Index::open(&folder).unwrap();
        let locked = |name: &str, version: &str| Locked {
            ecosystem: Ecosystem::Npm,
            normal: name.into(),
            name: name.into(),
            version: version.into(),
        };
        assert!(!index.has_blob("ab12"));
        index
            .add_blob(
                "ab12",
                &[locked("left-pad", "1.3.0"), locked("left-pad", "1.2.0")],
            )
            .unwrap();
        assert!(index.has_blob("ab12"));
        assert_eq!(
            index.blobs_with(Ecosystem::Npm, "left-pad").unwrap(),
            BTreeSet::from(["ab12".to_string()])
        );
        assert!(index
            .blobs_with(Ecosystem::PyPI, "left-pad")
            .unwrap()
            .is_empty());
        assert_eq!(index.blob("ab12").unwrap().len(), 2);
        assert_eq!(index.blob("../../etc").unwrap(), Vec::new());
        std::fs::remove_dir_all(folder).unwrap();
    }
}
