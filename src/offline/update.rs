//! `lockgate db update`: bring each ecosystem's offline database up to date with OSV's export
//! (`<base>/<ECOSYSTEM>/all.zip`, `<base>/<ECOSYSTEM>/modified_id.csv`, `<base>/<ECOSYSTEM>/<ID>.json`).
//!
//! The first update reads the whole zip. Later ones read `modified_id.csv` (newest first) down to
//! the newest record already held and fetch only those records, unless there are so many that
//! the zip is cheaper or the list cannot be read. Either way the new database is written beside
//! the old one and only then made current, so a failed or interrupted update leaves the old one
//! in use. Updates of one ecosystem are serialised with a lock file.

use super::build::{self, Builder};
use super::{ecosystem_folder, io_error, ChangedRecord, Database, DbError};
use crate::osv;
use crate::package::Ecosystem;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest export zip read.
const MAX_ZIP_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Largest `modified_id.csv` read (the npm one is a few MiB).
const MAX_LIST_BYTES: u64 = 256 * 1024 * 1024;
/// Largest single record read.
const MAX_RECORD_BYTES: u64 = 4 * 1024 * 1024;
/// More changed records than this, and the zip is fetched instead of each record.
const MAX_INCREMENTAL: usize = 2000;
/// Records fetched at once in an incremental update.
const FETCH_THREADS: usize = 8;

/// Where the export is and how to reach it.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The export base URL (`https://…`, `http://…`, or `file:///folder` for a mirror).
    pub export_url: String,
    /// Longest time one request may take (a whole zip download is allowed 30 times this).
    pub timeout: Duration,
    /// Longest time to connect.
    pub connect_timeout: Duration,
    /// Extra attempts after a connection error, 429 or 5xx.
    pub retries: u32,
}

/// What an update did to one ecosystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Built from the whole export.
    Full,
    /// These many records were fetched one by one.
    Incremental(usize),
    /// Nothing had changed since the last update.
    UpToDate,
}

/// The result of updating one ecosystem.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// How it was brought up to date.
    pub change: Change,
    /// Records it now holds.
    pub records: usize,
}

/// The export, over HTTP or in a local folder.
enum Source {
    Http {
        /// For the list and single records.
        client: osv::Client,
        /// For the zip: the same, with room for a long download.
        downloader: Box<osv::Client>,
        base: String,
    },
    Folder(PathBuf),
}

impl Source {
    fn new(settings: &Settings) -> Source {
        let base = settings.export_url.trim_end_matches('/');
        if let Some(path) = base.strip_prefix("file://") {
            return Source::Folder(PathBuf::from(path));
        }
        let client = |timeout| {
            osv::Client::new(&osv::Settings {
                base_url: base.to_string(),
                timeout,
                connect_timeout: settings.connect_timeout,
                retries: settings.retries,
                deadline: None,
            })
        };
        Source::Http {
            client: client(settings.timeout),
            downloader: Box::new(client(settings.timeout * 30)),
            base: base.to_string(),
        }
    }

    fn describe(&self, relative: &str) -> String {
        match self {
            Source::Http { base, .. } => format!("{base}/{relative}"),
            Source::Folder(folder) => folder.join(relative).display().to_string(),
        }
    }

    /// The bytes at `relative`; `Ok(None)` when the export has no such file.
    fn get(&self, relative: &str, limit: u64) -> Result<Option<Vec<u8>>, DbError> {
        match self {
            Source::Http { client, base, .. } => {
                match client.get(&format!("{base}/{relative}"), limit) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(osv::OsvError::Status { status: 404, .. }) => Ok(None),
                    Err(error) => Err(DbError::Export(crate::error::chain(&error))),
                }
            }
            Source::Folder(folder) => {
                let path = folder.join(relative);
                match std::fs::File::open(&path) {
                    Ok(file) => {
                        let mut bytes = Vec::new();
                        file.take(limit)
                            .read_to_end(&mut bytes)
                            .map_err(io_error(&path))?;
                        Ok(Some(bytes))
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(DbError::Io { path, source }),
                }
            }
        }
    }

    /// Copies `relative` into `file`.
    fn download(
        &self,
        relative: &str,
        file: &mut std::fs::File,
        progress: &dyn Fn(u64, Option<u64>),
    ) -> Result<(), DbError> {
        match self {
            Source::Http {
                downloader, base, ..
            } => downloader
                .download(&format!("{base}/{relative}"), file, MAX_ZIP_BYTES, progress)
                .map(|_| ())
                .map_err(|error| DbError::Export(crate::error::chain(&error))),
            Source::Folder(folder) => {
                let path = folder.join(relative);
                let mut source = std::fs::File::open(&path).map_err(io_error(&path))?;
                std::io::copy(&mut (&mut source).take(MAX_ZIP_BYTES), file)
                    .map_err(io_error(&path))?;
                Ok(())
            }
        }
    }
}

/// Updates the databases of `ecosystems` under `cache`. `progress` hears what is happening, for a
/// progress line.
pub fn update(
    cache: &Path,
    settings: &Settings,
    ecosystems: &[Ecosystem],
    progress: &dyn Fn(&str),
) -> Result<Vec<Outcome>, DbError> {
    let source = Source::new(settings);
    ecosystems
        .iter()
        .map(|&ecosystem| update_one(cache, &source, ecosystem, progress))
        .collect()
}

fn update_one(
    cache: &Path,
    source: &Source,
    ecosystem: Ecosystem,
    progress: &dyn Fn(&str),
) -> Result<Outcome, DbError> {
    let base = ecosystem_folder(cache, ecosystem);
    std::fs::create_dir_all(&base).map_err(io_error(&base))?;
    let lock_path = base.join("update.lock");
    let lock = std::fs::File::create(&lock_path).map_err(io_error(&lock_path))?;
    lock.lock().map_err(io_error(&lock_path))?;
    remove_leftovers(&base);

    // An unreadable current database is rebuilt from the zip.
    let current = Database::open(cache, ecosystem).ok().flatten();
    let name = ecosystem.as_osv();
    if let Some(current) = &current {
        if let Some(changed) = changed_since(source, ecosystem, &current.meta)? {
            if changed.is_empty() {
                let mut meta = current.meta.clone();
                meta.updated = super::now();
                write_meta_in_place(&current.folder, &meta)?;
                return Ok(Outcome {
                    ecosystem,
                    change: Change::UpToDate,
                    records: meta.records,
                });
            }
            if changed.len() <= MAX_INCREMENTAL {
                progress(&format!(
                    "{name}: fetching {} changed records",
                    changed.len()
                ));
                let records = fetch_records(source, ecosystem, &changed)?;
                // A listed record the export does not have: the list and the records disagree
                // (an export being rewritten); the zip is the consistent copy.
                if records.iter().any(|(_, json)| json.is_none()) {
                    let records = full(cache, source, &base, ecosystem, progress)?;
                    return Ok(Outcome {
                        ecosystem,
                        change: Change::Full,
                        records,
                    });
                }
                let version = build::patch(&base, ecosystem, current, &records, super::now())?;
                make_current(&base, &version)?;
                let updated = Database::open(cache, ecosystem)?.ok_or_else(|| {
                    DbError::Export(format!("{name}: the new database did not open"))
                })?;
                return Ok(Outcome {
                    ecosystem,
                    change: Change::Incremental(changed.len()),
                    records: updated.meta.records,
                });
            }
        }
    }

    let records = full(cache, source, &base, ecosystem, progress)?;
    Ok(Outcome {
        ecosystem,
        change: Change::Full,
        records,
    })
}

/// Builds the database from the whole zip and makes it current; returns its record count.
fn full(
    cache: &Path,
    source: &Source,
    base: &Path,
    ecosystem: Ecosystem,
    progress: &dyn Fn(&str),
) -> Result<usize, DbError> {
    let name = ecosystem.as_osv();
    let relative = format!("{name}/all.zip");
    let zip_path = base.join(format!("download-{}.zip", build::unique_suffix()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&zip_path)
            .map_err(io_error(&zip_path))?;
        source.download(&relative, &mut file, &|done, total| {
            let megabytes = |bytes: u64| bytes as f64 / 1_048_576.0;
            progress(&match total {
                Some(total) => format!(
                    "{name}: downloading all.zip, {:.1} of {:.1} MiB",
                    megabytes(done),
                    megabytes(total)
                ),
                None => format!("{name}: downloading all.zip, {:.1} MiB", megabytes(done)),
            });
        })?;
        let where_ = source.describe(&relative);
        let mut builder = Builder::new(base, ecosystem)?;
        let built = read_export(file, &where_, &mut |index, total, entry_name, bytes| {
            builder.add(entry_name, bytes)?;
            if index % 1000 == 0 {
                progress(&format!("{name}: indexing record {index} of {total}"));
            }
            Ok(())
        });
        // An export without a single record is broken (OSV's hold tens of thousands); a
        // database built from it would answer "clean" for every package.
        let built = built.and_then(|()| match builder.records() {
            0 => Err(DbError::Export(format!(
                "{where_}: no {name} records in the export; the database is left as it was"
            ))),
            _ => Ok(()),
        });
        if let Err(error) = built {
            builder.discard();
            return Err(error);
        }
        let version = builder.finish(super::now())?;
        make_current(base, &version)?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&zip_path);
    result?;
    Ok(Database::open(cache, ecosystem)?.map_or(0, |database| database.meta.records))
}

/// The ids the export lists as modified at or after `second` (`YYYY-MM-DDTHH:MM:SS`, UTC), less
/// `seen` (records of that very second already handled): what changed since a watch's last
/// cycle, or in the window `--since` replays. `Ok(None)` when the list is missing or unreadable,
/// or names more than can be fetched one by one (then everything is to be looked at again).
pub fn changed_since_second(
    settings: &Settings,
    ecosystem: Ecosystem,
    second: &str,
    seen: &[String],
) -> Result<Option<Vec<String>>, DbError> {
    let meta = super::Meta {
        format: super::FORMAT,
        ecosystem: ecosystem.as_osv().to_string(),
        updated: 0,
        newest_modified: second.to_string(),
        newest_ids: seen.to_vec(),
        records: 0,
    };
    Ok(changed_since(&Source::new(settings), ecosystem, &meta)?
        .filter(|changed| changed.len() <= MAX_INCREMENTAL))
}

/// The ids changed since the database `meta` describes, from `modified_id.csv`; `Ok(None)` when
/// the list is missing or unreadable (the zip is used instead).
fn changed_since(
    source: &Source,
    ecosystem: Ecosystem,
    meta: &super::Meta,
) -> Result<Option<Vec<String>>, DbError> {
    let relative = format!("{}/modified_id.csv", ecosystem.as_osv());
    let Some(bytes) = source.get(&relative, MAX_LIST_BYTES).ok().flatten() else {
        return Ok(None);
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(None);
    };
    Ok(changed_ids(text, meta))
}

/// The ids `modified_id.csv` (`text`, newest first) lists as changed since the database `meta`
/// describes, at most one more than [`MAX_INCREMENTAL`]; `None` when the list cannot be read.
pub(crate) fn changed_ids(text: &str, meta: &super::Meta) -> Option<Vec<String>> {
    // Whole seconds of UTC times (`YYYY-MM-DDTHH:MM:SS`) compare as text. Records of the
    // newest second held are skipped by id, so a record of that second published later is not.
    let second = |time: &str| time.get(..19).map(str::to_string);
    let newest = second(&meta.newest_modified)?;
    let mut changed = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let (time, id) = line.split_once(',')?;
        let (time, id) = (second(time.trim())?, id.trim());
        if time < newest {
            break;
        }
        if !osv::is_plausible_id(id) {
            return None;
        }
        if time == newest && meta.newest_ids.iter().any(|held| held == id) {
            continue;
        }
        if !changed.iter().any(|known| known == id) {
            changed.push(id.to_string());
        }
        if changed.len() > MAX_INCREMENTAL {
            break;
        }
    }
    Some(changed)
}

/// What [`read_export`] hands each record to: its index, the entry count, its name, its bytes.
pub(crate) type AddRecord<'a> = dyn FnMut(usize, usize, &str, &[u8]) -> Result<(), DbError> + 'a;

/// Reads every `.json` record of an export zip and hands `add` its index, the entry count, its
/// name (prefixed with `where_`, which names the zip in errors) and its bytes; a record larger
/// than [`MAX_RECORD_BYTES`] is an error.
pub(crate) fn read_export<R: std::io::Read + std::io::Seek>(
    reader: R,
    where_: &str,
    add: &mut AddRecord<'_>,
) -> Result<(), DbError> {
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|error| DbError::Export(format!("{where_}: not a zip archive: {error}")))?;
    // Entries that share compressed data would inflate it once each: 60 KB of zip can be
    // 40 GB to read. OSV's export never shares data between entries.
    let overlapping = archive
        .has_overlapping_files()
        .map_err(|error| DbError::Export(format!("{where_}: not a zip archive: {error}")))?;
    if overlapping {
        return Err(DbError::Export(format!(
            "{where_}: entries overlap (a zip bomb); refused"
        )));
    }
    let total = archive.len();
    for index in 0..total {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| DbError::Export(format!("{where_}: entry {index}: {error}")))?;
        let Ok(file_name) = entry.name().map(|name| name.into_owned()) else {
            continue;
        };
        if !entry.is_file() || !file_name.ends_with(".json") {
            continue;
        }
        let entry_name = format!("{where_}: {file_name}");
        let mut bytes = Vec::with_capacity(entry.size().min(MAX_RECORD_BYTES) as usize);
        (&mut entry)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| DbError::Export(format!("{entry_name}: {error}")))?;
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(DbError::Export(format!(
                "{entry_name}: larger than {MAX_RECORD_BYTES} bytes"
            )));
        }
        add(index, total, &entry_name, &bytes)?;
    }
    Ok(())
}

/// One fetch: the text, `None` when the export has no such record.
type Fetched = Result<Option<Vec<u8>>, DbError>;

/// Fetches `<ECOSYSTEM>/<ID>.json` for each id, a few at a time; a missing one is `None` (the
/// record was deleted).
fn fetch_records(
    source: &Source,
    ecosystem: Ecosystem,
    ids: &[String],
) -> Result<Vec<ChangedRecord>, DbError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<(usize, Fetched)>> = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..FETCH_THREADS.min(ids.len()) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(id) = ids.get(index) else { break };
                let relative = format!("{}/{id}.json", ecosystem.as_osv());
                let result = source.get(&relative, MAX_RECORD_BYTES);
                let failed = result.is_err();
                results
                    .lock()
                    .expect("no panics while locked")
                    .push((index, result));
                if failed {
                    next.store(ids.len(), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let mut results = results.into_inner().expect("no panics while locked");
    results.sort_by_key(|(index, _)| *index);
    results
        .into_iter()
        .map(|(index, result)| result.map(|json| (ids[index].clone(), json)))
        .collect()
}

/// Points `current` at `version` (write a new pointer, rename it over the old one), then
/// removes versions older than the one it replaced.
fn make_current(base: &Path, version: &str) -> Result<(), DbError> {
    let pointer = base.join("current");
    let previous = std::fs::read_to_string(&pointer)
        .ok()
        .map(|text| text.trim().to_string());
    let temporary = base.join(format!("current.tmp-{}", build::unique_suffix()));
    std::fs::write(&temporary, format!("{version}\n")).map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, &pointer).map_err(io_error(&pointer))?;
    // The version just replaced stays one more round: a lookup may be reading it right now.
    if let Ok(entries) = std::fs::read_dir(base) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = name == version || Some(&name) == previous.as_ref();
            if name.starts_with('v') && !keep && entry.path().is_dir() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(())
}

/// Rewrites `meta.json` of the current version (an update that found nothing new).
fn write_meta_in_place(folder: &Path, meta: &super::Meta) -> Result<(), DbError> {
    let path = folder.join("meta.json");
    let temporary = folder.join(format!("meta.json.tmp-{}", build::unique_suffix()));
    std::fs::write(
        &temporary,
        serde_json::to_vec_pretty(meta).expect("plain data"),
    )
    .map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, &path).map_err(io_error(&path))
}

/// Removes what an interrupted update left (under the lock, nobody else is writing).
fn remove_leftovers(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("tmp-") {
            let _ = std::fs::remove_dir_all(entry.path());
        } else if name.starts_with("download-") || name.starts_with("current.tmp-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
