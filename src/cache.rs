//! The result cache of the online path, in `<cache>/results/`: which records OSV said affect a
//! (ecosystem, name, version), for `--cache-ttl` minutes, and each record by (id, `modified`),
//! which never goes stale because a changed record has another `modified`.
//!
//! One small file per answer, written to a temporary name and renamed into place, so two
//! commits running at once never see half a file; the last writer wins. A file that cannot be
//! read, or that says something else than asked for, is deleted and asked for again.

use crate::advisory::Advisory;
use crate::osv::{self, Answers, Hit, OsvError, Step};
use crate::package::Package;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the files; another value is a miss (2: records keep their severity).
const FORMAT: u32 = 2;
/// Largest cache file read.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The cache folder and how long query answers stay fresh.
pub struct Cache {
    folder: PathBuf,
    ttl_seconds: u64,
    now: u64,
}

#[derive(Serialize, Deserialize)]
struct QueryFile {
    format: u32,
    ecosystem: String,
    name: String,
    version: String,
    /// Unix seconds when OSV answered.
    at: u64,
    hits: Vec<Hit>,
}

#[derive(Serialize, Deserialize)]
struct RecordFile {
    format: u32,
    at: u64,
    record: Advisory,
}

impl Cache {
    /// The cache `settings` ask for; `None` with `--no-cache` or without a cache folder.
    pub fn open(settings: &crate::settings::Settings) -> Option<Cache> {
        if settings.no_cache {
            return None;
        }
        Some(Cache::at(
            settings.cache_folder.as_deref()?,
            settings.cache_ttl.saturating_mul(60),
            crate::offline::now(),
        ))
    }

    /// The cache under `root` (the cache folder) at time `now`.
    pub fn at(root: &Path, ttl_seconds: u64, now: u64) -> Cache {
        Cache {
            folder: root.join("results"),
            ttl_seconds,
            now,
        }
    }

    fn query_path(&self, package: &Package) -> PathBuf {
        let key = format!(
            "{}\0{}\0{}",
            package.ecosystem, package.name, package.version
        );
        let hash = crate::offline::fnv1a(key.as_bytes());
        self.folder
            .join("queries")
            .join(package.ecosystem.as_osv())
            .join(format!("{hash:016x}.json"))
    }

    fn record_path(&self, id: &str) -> Option<PathBuf> {
        osv::is_plausible_id(id).then(|| self.folder.join("records").join(format!("{id}.json")))
    }

    /// What OSV said about `package`, if it said it less than the TTL ago.
    fn query(&self, package: &Package) -> Option<Vec<Hit>> {
        let path = self.query_path(package);
        let file: QueryFile = read(&path)?;
        let fresh = file.at <= self.now && self.now - file.at < self.ttl_seconds;
        let same = file.format == FORMAT
            && file.ecosystem == package.ecosystem.as_osv()
            && file.name == package.name
            && file.version == package.version;
        if !same {
            let _ = std::fs::remove_file(&path);
        }
        (same && fresh).then_some(file.hits)
    }

    fn store_query(&self, package: &Package, hits: &[Hit]) {
        let file = QueryFile {
            format: FORMAT,
            ecosystem: package.ecosystem.as_osv().to_string(),
            name: package.name.clone(),
            version: package.version.clone(),
            at: self.now,
            hits: hits.to_vec(),
        };
        write(&self.query_path(package), &file);
    }

    /// The record `hit` names, when the cached one has the same `modified` (or, when OSV gave
    /// none, was cached less than the TTL ago).
    fn record(&self, hit: &Hit) -> Option<Advisory> {
        let path = self.record_path(&hit.id)?;
        let file: RecordFile = read(&path)?;
        let usable = file.format == FORMAT
            && file.record.id == hit.id
            && match &hit.modified {
                Some(modified) => file.record.modified.as_ref() == Some(modified),
                None => file.at <= self.now && self.now - file.at < self.ttl_seconds,
            };
        usable.then_some(file.record)
    }

    fn store_record(&self, record: &Advisory) {
        if let Some(path) = self.record_path(&record.id) {
            let file = RecordFile {
                format: FORMAT,
                at: self.now,
                record: record.clone(),
            };
            write(&path, &file);
        }
    }
}

/// Reads a cache file; a file that is not what lockgate writes is deleted.
fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(_) => {
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// Writes a cache file atomically; a cache that cannot be written is only slower.
fn write<T: Serialize>(path: &Path, value: &T) {
    let Some(folder) = path.parent() else { return };
    if std::fs::create_dir_all(folder).is_err() {
        return;
    }
    let temporary = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or_else(Default::default, |name| name.to_string_lossy()),
        crate::offline::unique_suffix()
    ));
    let written = serde_json::to_vec(value)
        .ok()
        .is_some_and(|bytes| std::fs::write(&temporary, bytes).is_ok());
    if !written || std::fs::rename(&temporary, path).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}

/// Asks OSV about `packages` through the cache: fresh answers are reused, the rest asked in
/// one batched pass, and only records not already held (by id and `modified`) fetched.
pub fn lookup(
    client: &osv::Client,
    cache: Option<&Cache>,
    packages: &[Package],
    progress: &(dyn Fn(Step) + Sync),
) -> Result<Answers, OsvError> {
    let Some(cache) = cache else {
        return client.lookup_with_progress(packages, progress);
    };
    let mut hits: Vec<Option<Vec<Hit>>> = packages.iter().map(|p| cache.query(p)).collect();
    let missing: Vec<usize> = (0..packages.len()).filter(|&i| hits[i].is_none()).collect();
    if !missing.is_empty() {
        let asked: Vec<Package> = missing.iter().map(|&i| packages[i].clone()).collect();
        let answered = client.query(&asked, progress)?;
        for (&index, found) in missing.iter().zip(answered) {
            cache.store_query(&packages[index], &found);
            hits[index] = Some(found);
        }
    }
    let hits: Vec<Vec<Hit>> = hits.into_iter().map(Option::unwrap_or_default).collect();

    let mut advisories: BTreeMap<String, Advisory> = BTreeMap::new();
    let mut to_fetch: Vec<String> = Vec::new();
    for hit in hits.iter().flatten() {
        if advisories.contains_key(&hit.id) || to_fetch.contains(&hit.id) {
            continue;
        }
        match cache.record(hit) {
            Some(record) => {
                advisories.insert(hit.id.clone(), record);
            }
            None => to_fetch.push(hit.id.clone()),
        }
    }
    to_fetch.sort();
    let (fetched, unfetched) = client.fetch(&to_fetch, progress);
    for (id, record) in fetched {
        cache.store_record(&record);
        advisories.insert(id, record);
    }
    Ok(Answers {
        ids: hits
            .into_iter()
            .map(|found| found.into_iter().map(|hit| hit.id).collect())
            .collect(),
        advisories,
        unfetched,
    })
}
