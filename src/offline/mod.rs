//! The offline advisory database: OSV's per-ecosystem export, indexed on disk so that a lookup
//! reads a few small files instead of every record.
//!
//! Layout, under `<cache>/db/<ECOSYSTEM>/`:
//! - `current`: the name of the version folder in use; replaced atomically (write, rename), so
//!   a reader sees the old database or the new one, never half of an update.
//! - `<version>/meta.json`: when it was last brought up to date, the newest `modified` time it
//!   holds, how many records.
//! - `<version>/names/<shard>`: lines `<package name>\t<entry JSON>`, an entry being a record id
//!   and its `affected[]` entries for that package; names are OSV's (PEP 503 for PyPI).
//! - `<version>/records/<shard>`: lines `<id>\t<record JSON>`, the records as OSV serves them.
//!
//! A shard is picked by a stable hash of the name or id. Shard files are never changed in
//! place: an update writes a new version folder (hard-linking the shards it does not touch) and
//! then points `current` at it.

mod build;
pub mod update;

pub(crate) use build::{index_record, unique_suffix};

use crate::advisory::{Advisory, Affected};
use crate::matching;
use crate::package::{Ecosystem, Package};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Shards per index: a lookup of one package reads 1/1024th of the names.
const SHARDS: u64 = 1024;

/// Version of the on-disk layout; another value means "update the database".
const FORMAT: u32 = 1;

/// The largest shard file read (a shard of the real npm export is tens of KiB).
const MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;

/// A changed record's id and its new text (`None`: the record is gone): what an update fetches
/// (`update.rs`) and what a patch writes (`build.rs`).
type ChangedRecord = (String, Option<Vec<u8>>);

/// Why the offline database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A file of the database could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the database is not what lockgate writes.
    #[error("{}: {message}; run `lockgate db update` to rebuild it", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Downloading or reading OSV's export failed.
    #[error("{0}")]
    Export(String),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What `meta.json` records about one ecosystem's database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// OSV's ecosystem name.
    pub ecosystem: String,
    /// When it was last brought up to date with OSV (Unix seconds).
    pub updated: u64,
    /// The newest `modified` time among the records it has seen, to the second
    /// (`YYYY-MM-DDTHH:MM:SS`, UTC): where incremental updates start.
    pub newest_modified: String,
    /// The records modified in that second (so the next update does not fetch them again).
    #[serde(default)]
    pub newest_ids: Vec<String>,
    /// Records indexed (withdrawn ones are not).
    pub records: usize,
}

/// The newest second seen among records' `modified` times, and which records have it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Newest {
    second: String,
    ids: BTreeSet<String>,
}

impl Newest {
    fn of(meta: &Meta) -> Newest {
        Newest {
            second: meta.newest_modified.clone(),
            ids: meta.newest_ids.iter().cloned().collect(),
        }
    }

    /// Takes note of a record `id` modified at `modified` (RFC 3339).
    fn see(&mut self, id: &str, modified: &str) {
        let second = modified.get(..19).unwrap_or(modified);
        match second.cmp(self.second.as_str()) {
            std::cmp::Ordering::Greater => {
                self.second = second.to_string();
                self.ids = BTreeSet::from([id.to_string()]);
            }
            std::cmp::Ordering::Equal => {
                self.ids.insert(id.to_string());
            }
            std::cmp::Ordering::Less => {}
        }
    }
}

/// One entry of the names index: a record and what it says about one package.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct NameEntry {
    id: String,
    affected: Vec<Affected>,
}

/// The stable shard of `key` (FNV-1a; the same on every machine and in every version).
fn shard_of(key: &str) -> String {
    format!("{:03x}", fnv1a(key.as_bytes()) % SHARDS)
}

/// 64-bit FNV-1a: a hash that is the same on every machine and in every version, for names of
/// files that must be found again.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where the databases live: `<cache>/db`.
pub fn root(cache: &Path) -> PathBuf {
    cache.join("db")
}

fn ecosystem_folder(cache: &Path, ecosystem: Ecosystem) -> PathBuf {
    root(cache).join(ecosystem.as_osv())
}

/// One ecosystem's database, opened for lookups.
pub struct Database {
    ecosystem: Ecosystem,
    folder: PathBuf,
    /// What `meta.json` says.
    pub meta: Meta,
}

impl Database {
    /// Opens the database of `ecosystem` under `cache`; `Ok(None)` when there is none.
    pub fn open(cache: &Path, ecosystem: Ecosystem) -> Result<Option<Database>, DbError> {
        let base = ecosystem_folder(cache, ecosystem);
        let pointer = base.join("current");
        let version = match std::fs::read_to_string(&pointer) {
            Ok(version) => version.trim().to_string(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(DbError::Io {
                    path: pointer,
                    source,
                })
            }
        };
        if version.is_empty() || version.contains(['/', '\\']) || version.starts_with('.') {
            return Err(DbError::Corrupt {
                path: pointer,
                message: "does not name a version folder".into(),
            });
        }
        let folder = base.join(version);
        let meta = read_meta(&folder)?;
        if meta.format != FORMAT || meta.ecosystem != ecosystem.as_osv() {
            return Err(DbError::Corrupt {
                path: folder.join("meta.json"),
                message: format!(
                    "written by another version of lockgate (format {})",
                    meta.format
                ),
            });
        }
        Ok(Some(Database {
            ecosystem,
            folder,
            meta,
        }))
    }

    /// The ids of the records that affect each package (all of this database's ecosystem), in
    /// the order given; each shard is read once.
    pub fn lookup(&self, packages: &[&Package]) -> Result<Vec<Vec<String>>, DbError> {
        let mut by_shard: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let names: Vec<String> = packages
            .iter()
            .map(|package| matching::normalize_name(self.ecosystem, &package.name))
            .collect();
        for (index, name) in names.iter().enumerate() {
            by_shard.entry(shard_of(name)).or_default().push(index);
        }
        let mut ids = vec![Vec::new(); packages.len()];
        for (shard, indexes) in by_shard {
            let path = self.folder.join("names").join(&shard);
            let Some(text) = read_shard(&path)? else {
                continue;
            };
            let wanted: BTreeSet<&str> = indexes.iter().map(|&i| names[i].as_str()).collect();
            for (key, value) in shard_lines(&text) {
                if !wanted.contains(key) {
                    continue;
                }
                let entry: NameEntry =
                    serde_json::from_str(value).map_err(|error| DbError::Corrupt {
                        path: path.clone(),
                        message: error.to_string(),
                    })?;
                for &index in indexes.iter().filter(|&&i| names[i] == key) {
                    let version = &packages[index].version;
                    // No version known: every record of the package, as OSV answers it.
                    let hit = version.is_empty()
                        || entry
                            .affected
                            .iter()
                            .any(|affected| matching::affects(affected, self.ecosystem, version));
                    if hit && !ids[index].contains(&entry.id) {
                        ids[index].push(entry.id.clone());
                    }
                }
            }
        }
        Ok(ids)
    }

    /// The full records for `ids`.
    pub fn records(&self, ids: &[String]) -> Result<BTreeMap<String, Advisory>, DbError> {
        let mut by_shard: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for id in ids {
            by_shard.entry(shard_of(id)).or_default().insert(id);
        }
        let mut records = BTreeMap::new();
        for (shard, wanted) in by_shard {
            let path = self.folder.join("records").join(&shard);
            let Some(text) = read_shard(&path)? else {
                continue;
            };
            for (id, value) in shard_lines(&text) {
                if wanted.contains(id) {
                    let record = Advisory::from_json(value.as_bytes()).map_err(|error| {
                        DbError::Corrupt {
                            path: path.clone(),
                            message: error.to_string(),
                        }
                    })?;
                    records.insert(id.to_string(), record);
                }
            }
        }
        Ok(records)
    }
}

fn read_meta(folder: &Path) -> Result<Meta, DbError> {
    let path = folder.join("meta.json");
    let text = std::fs::read(&path).map_err(io_error(&path))?;
    serde_json::from_slice(&text).map_err(|error| DbError::Corrupt {
        path,
        message: error.to_string(),
    })
}

/// A shard's text; `None` when the shard does not exist (nothing hashed to it).
fn read_shard(path: &Path) -> Result<Option<String>, DbError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DbError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut text = String::new();
    file.take(MAX_SHARD_BYTES)
        .read_to_string(&mut text)
        .map_err(io_error(path))?;
    Ok(Some(text))
}

/// The `key\tvalue` lines of a shard.
fn shard_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| line.split_once('\t'))
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
