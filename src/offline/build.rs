//! Writing a version folder of the offline database: from scratch (every record of an export),
//! or as the current version with some records replaced (an incremental update).

use super::{
    io_error, shard_lines, shard_of, ChangedRecord, DbError, Meta, NameEntry, Newest, FORMAT,
};
use crate::advisory::Advisory;
use crate::matching;
use crate::package::Ecosystem;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Lines held in memory before they are appended to their shard files.
const FLUSH_BYTES: usize = 32 * 1024 * 1024;

/// A version folder being written (under a temporary name until [`finish`](Builder::finish)).
pub(super) struct Builder {
    ecosystem: Ecosystem,
    base: PathBuf,
    folder: PathBuf,
    names: BTreeMap<String, String>,
    records: BTreeMap<String, String>,
    buffered: usize,
    count: usize,
    newest: Newest,
}

/// A record, read: its compact JSON, and its lines for the names index.
struct Indexed {
    id: String,
    compact: String,
    names: Vec<(String, String)>,
}

impl Builder {
    /// Starts an empty version folder under `base` (the ecosystem's database folder).
    pub(super) fn new(base: &Path, ecosystem: Ecosystem) -> Result<Self, DbError> {
        let folder = base.join(format!("tmp-{}", unique_suffix()));
        for sub in ["names", "records"] {
            let path = folder.join(sub);
            std::fs::create_dir_all(&path).map_err(io_error(&path))?;
        }
        Ok(Builder {
            ecosystem,
            base: base.to_path_buf(),
            folder,
            names: BTreeMap::new(),
            records: BTreeMap::new(),
            buffered: 0,
            count: 0,
            newest: Newest::default(),
        })
    }

    /// Adds one record (OSV JSON); withdrawn records, and records of other ecosystems only, are
    /// left out. `origin` names it in errors.
    pub(super) fn add(&mut self, origin: &str, json: &[u8]) -> Result<(), DbError> {
        let (id, modified, indexed) = index(self.ecosystem, origin, json)?;
        // Withdrawn records count for where the next incremental update starts.
        self.newest.see(&id, &modified);
        let Some(indexed) = indexed else {
            return Ok(());
        };
        self.take(indexed);
        if self.buffered > FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn take(&mut self, indexed: Indexed) {
        for (name, entry) in indexed.names {
            let line = format!("{name}\t{entry}\n");
            self.buffered += line.len();
            self.names
                .entry(shard_of(&name))
                .or_default()
                .push_str(&line);
        }
        let line = format!("{}\t{}\n", indexed.id, indexed.compact);
        self.buffered += line.len();
        self.records
            .entry(shard_of(&indexed.id))
            .or_default()
            .push_str(&line);
        self.count += 1;
    }

    /// Appends the buffered lines to their shard files.
    fn flush(&mut self) -> Result<(), DbError> {
        for (sub, shards) in [("names", &mut self.names), ("records", &mut self.records)] {
            for (shard, lines) in std::mem::take(shards) {
                let path = self.folder.join(sub).join(shard);
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(io_error(&path))?;
                file.write_all(lines.as_bytes()).map_err(io_error(&path))?;
            }
        }
        self.buffered = 0;
        Ok(())
    }

    /// Records added so far (withdrawn ones and other ecosystems' are not).
    pub(super) fn records(&self) -> usize {
        self.count
    }

    /// Writes the rest and `meta.json`, gives the folder its final name, and returns that name.
    pub(super) fn finish(mut self, updated: u64) -> Result<String, DbError> {
        self.flush()?;
        let meta = Meta {
            format: FORMAT,
            ecosystem: self.ecosystem.as_osv().to_string(),
            updated,
            newest_modified: self.newest.second.clone(),
            newest_ids: self.newest.ids.iter().cloned().collect(),
            records: self.count,
        };
        finish_folder(&self.base, &self.folder, &meta)
    }

    /// Abandons the folder.
    pub(super) fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Writes `meta.json` into `folder` and renames it to its final `v…` name.
fn finish_folder(base: &Path, folder: &Path, meta: &Meta) -> Result<String, DbError> {
    let path = folder.join("meta.json");
    let text = serde_json::to_vec_pretty(meta).expect("plain data");
    std::fs::write(&path, text).map_err(io_error(&path))?;
    let name = format!("v{}", unique_suffix());
    let target = base.join(&name);
    std::fs::rename(folder, &target).map_err(io_error(&target))?;
    Ok(name)
}

/// Reads a record as [`Builder::add`] does and makes its index lines, without writing them: for
/// the fuzz harness, which reads hostile exports without a disk.
pub(crate) fn index_record(
    ecosystem: Ecosystem,
    origin: &str,
    json: &[u8],
) -> Result<usize, DbError> {
    let (_, _, indexed) = index(ecosystem, origin, json)?;
    Ok(indexed.map_or(0, |indexed| {
        indexed
            .names
            .iter()
            .map(|(name, entry)| name.len() + entry.len() + 2)
            .sum::<usize>()
            + indexed.id.len()
            + indexed.compact.len()
    }))
}

/// Reads a record: its `modified` time, and what goes in the index (`None` for a withdrawn
/// record or one that names no package of `ecosystem`).
fn index(
    ecosystem: Ecosystem,
    origin: &str,
    json: &[u8],
) -> Result<(String, String, Option<Indexed>), DbError> {
    let corrupt = |message: String| DbError::Export(format!("{origin}: {message}"));
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|error| corrupt(error.to_string()))?;
    let record: Advisory =
        serde_json::from_value(value.clone()).map_err(|error| corrupt(error.to_string()))?;
    if !crate::osv::is_plausible_id(&record.id) {
        return Err(corrupt(format!(
            "{:?} is not an OSV id",
            crate::sanitize::clean(&record.id)
        )));
    }
    let modified = record.modified.clone().unwrap_or_default();
    if record.withdrawn.is_some() {
        return Ok((record.id, modified, None));
    }
    let mut by_name: BTreeMap<String, Vec<crate::advisory::Affected>> = BTreeMap::new();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        if package.ecosystem != ecosystem.as_osv() || package.name.contains(['\t', '\n']) {
            continue;
        }
        let name = matching::normalize_name(ecosystem, &package.name);
        let mut kept = affected.clone();
        kept.package = None;
        by_name.entry(name).or_default().push(kept);
    }
    if by_name.is_empty() {
        return Ok((record.id, modified, None));
    }
    let names = by_name
        .into_iter()
        .map(|(name, affected)| {
            let entry = NameEntry {
                id: record.id.clone(),
                affected,
            };
            (name, serde_json::to_string(&entry).expect("plain data"))
        })
        .collect();
    Ok((
        record.id.clone(),
        modified,
        Some(Indexed {
            id: record.id,
            compact: value.to_string(),
            names,
        }),
    ))
}

/// Writes a new version folder that is `current` with the records of `changed` replaced:
/// `Some(json)` is the record's new text, `None` (or a withdrawn record) removes it. Shards no
/// change touches are hard links to the current ones; touched ones are written anew.
pub(super) fn patch(
    base: &Path,
    ecosystem: Ecosystem,
    current: &super::Database,
    changed: &[ChangedRecord],
    updated: u64,
) -> Result<String, DbError> {
    let folder = base.join(format!("tmp-{}", unique_suffix()));
    let result = patch_into(&folder, ecosystem, current, changed)
        .and_then(|meta| finish_folder(base, &folder, &Meta { updated, ..meta }));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&folder);
    }
    result
}

fn patch_into(
    folder: &Path,
    ecosystem: Ecosystem,
    current: &super::Database,
    changed: &[ChangedRecord],
) -> Result<Meta, DbError> {
    for sub in ["names", "records"] {
        let from = current.folder.join(sub);
        let to = folder.join(sub);
        std::fs::create_dir_all(&to).map_err(io_error(&to))?;
        for entry in std::fs::read_dir(&from).map_err(io_error(&from))? {
            let entry = entry.map_err(io_error(&from))?;
            let target = to.join(entry.file_name());
            if std::fs::hard_link(entry.path(), &target).is_err() {
                std::fs::copy(entry.path(), &target).map_err(io_error(&target))?;
            }
        }
    }

    // What goes: every changed id, from its record shard and from the name shards its current
    // version is listed under.
    let removed: BTreeSet<&str> = changed.iter().map(|(id, _)| id.as_str()).collect();
    let old = current.records(&changed.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>())?;
    let mut name_shards: BTreeSet<String> = BTreeSet::new();
    for record in old.values() {
        for affected in &record.affected {
            if let Some(package) = affected.package.as_ref() {
                if package.ecosystem == ecosystem.as_osv() {
                    name_shards.insert(shard_of(&matching::normalize_name(
                        ecosystem,
                        &package.name,
                    )));
                }
            }
        }
    }
    let mut record_shards: BTreeSet<String> = removed.iter().map(|id| shard_of(id)).collect();

    // What comes: the new versions that are not withdrawn.
    let mut newest = Newest::of(&current.meta);
    let mut added = Vec::new();
    for (id, json) in changed {
        let Some(json) = json else { continue };
        let (_, modified, indexed) = index(ecosystem, id, json)?;
        newest.see(id, &modified);
        if let Some(indexed) = indexed {
            if indexed.id != *id {
                return Err(DbError::Export(format!(
                    "{id}: the record says it is {}",
                    crate::sanitize::clean(&indexed.id)
                )));
            }
            name_shards.extend(indexed.names.iter().map(|(name, _)| shard_of(name)));
            record_shards.insert(shard_of(id));
            added.push(indexed);
        }
    }
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut records: BTreeMap<String, String> = BTreeMap::new();
    for indexed in &added {
        for (name, entry) in &indexed.names {
            names
                .entry(shard_of(name))
                .or_default()
                .push_str(&format!("{name}\t{entry}\n"));
        }
        records
            .entry(shard_of(&indexed.id))
            .or_default()
            .push_str(&format!("{}\t{}\n", indexed.id, indexed.compact));
    }

    for shard in &name_shards {
        rewrite(
            &folder.join("names").join(shard),
            names.get(shard),
            |value| {
                serde_json::from_str::<NameEntry>(value)
                    .map(|entry| removed.contains(entry.id.as_str()))
                    .unwrap_or(true)
            },
        )?;
    }
    for shard in &record_shards {
        rewrite_keys(
            &folder.join("records").join(shard),
            &removed,
            records.get(shard),
        )?;
    }
    let kept = current.meta.records.saturating_sub(old.len());
    Ok(Meta {
        format: FORMAT,
        ecosystem: ecosystem.as_osv().to_string(),
        updated: current.meta.updated,
        newest_modified: newest.second,
        newest_ids: newest.ids.into_iter().collect(),
        records: kept + added.len(),
    })
}

/// Rewrites a names shard: its lines whose value `drop` refuses go, `extra` lines are added.
fn rewrite(
    path: &Path,
    extra: Option<&String>,
    drop: impl Fn(&str) -> bool,
) -> Result<(), DbError> {
    let text = super::read_shard(path)?.unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let keep = match line.split_once('\t') {
            Some((_, value)) => !drop(value),
            None => false,
        };
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(extra) = extra {
        out.push_str(extra);
    }
    replace_file(path, &out)
}

/// Rewrites a records shard without the lines of `removed` ids, then with `extra` lines.
fn rewrite_keys(
    path: &Path,
    removed: &BTreeSet<&str>,
    extra: Option<&String>,
) -> Result<(), DbError> {
    let text = super::read_shard(path)?.unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for (id, value) in shard_lines(&text) {
        if !removed.contains(id) {
            out.push_str(id);
            out.push('\t');
            out.push_str(value);
            out.push('\n');
        }
    }
    if let Some(extra) = extra {
        out.push_str(extra);
    }
    replace_file(path, &out)
}

/// Replaces the file at `path` (a hard link to the current version's shard, or new) by a new
/// file with `text`, leaving the linked file untouched.
fn replace_file(path: &Path, text: &str) -> Result<(), DbError> {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, text).map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io_error(path))
}

/// `<unix seconds>-<pid>-<nanoseconds>`: distinct for every folder a process makes.
pub(crate) fn unique_suffix() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}-{}-{:09}",
        now.as_secs(),
        std::process::id(),
        now.subsec_nanos()
    )
}
