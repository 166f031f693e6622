//! `lockgate watch`: when the malware feed lists a package, say at once which repositories lock
//! it. Each cycle brings the offline database up to date, re-indexes the branch tips that moved
//! since the last cycle (and only those), and matches the records that changed since the last
//! cycle against every indexed tip, and every record against the tips that moved. Only what was
//! not reported before is reported; a withdrawn record stops matching.

pub mod index;
mod output;

pub use output::Format;

use crate::advisory::Advisory;
use crate::ecosystem;
use crate::error::Error;
use crate::git;
use crate::matching;
use crate::offline::{self, update, Database};
use crate::package::{Ecosystem, Package};
use index::{Cursor, Index, Key, Locked, State, Tip};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `lockgate watch` is asked to do.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The repositories (working trees or bare mirrors).
    pub repositories: Vec<PathBuf>,
    /// The state folder.
    pub state: PathBuf,
    /// The offline database's cache folder.
    pub cache: PathBuf,
    /// Where the export is.
    pub export: update::Settings,
    /// The ecosystems to follow (empty: those the watched lockfiles lock).
    pub ecosystems: Vec<Ecosystem>,
    /// Replay the records modified since this second (`YYYY-MM-DDTHH:MM:SS`), reporting again
    /// what they match.
    pub since: Option<String>,
    /// Every advisory, not only malware.
    pub all_advisories: bool,
    /// Run a cycle every this often, instead of once.
    pub interval: Option<Duration>,
    /// Stop after this many cycles (with `interval`).
    pub cycles: Option<u64>,
    /// How cycles are reported.
    pub format: Format,
}

/// A package version a tip locks that a record affects.
#[derive(Clone, Debug)]
pub struct Match {
    /// The record.
    pub id: String,
    /// Whether it is malware.
    pub malicious: bool,
    /// Its summary.
    pub summary: String,
    /// The package.
    pub package: Package,
    /// The repository, as listed.
    pub repository: String,
    /// The branch.
    pub branch: String,
    /// The tip's commit.
    pub commit: String,
    /// The lockfile.
    pub lockfile: String,
    /// From the project to the package, `name@version` steps (empty when not recorded).
    pub dependency_path: Vec<String>,
}

/// What one cycle found and did.
#[derive(Clone, Debug, Default)]
pub struct Cycle {
    /// When it started (Unix seconds).
    pub started: u64,
    /// Matches not reported before (or, with `--since`, every match in the window).
    pub matches: Vec<Match>,
    /// Records that matched before and are now withdrawn or gone.
    pub withdrawn: Vec<String>,
    /// Records that changed, per ecosystem (`None`: all of them were looked at).
    pub changed: BTreeMap<String, Option<usize>>,
    /// Branch tips in all, and those read again because they moved.
    pub tips: (usize, usize),
    /// Lockfile blobs read and indexed this cycle.
    pub blobs_indexed: usize,
    /// Repositories or lockfiles that could not be read (they are left as last indexed).
    pub problems: Vec<String>,
}

/// Runs cycles as `settings` says, reporting each; the exit code: 1 when a cycle matched
/// something new, else 0.
pub fn run(settings: &Settings) -> Result<u8, Error> {
    let mut cycles = 0;
    let mut found = false;
    loop {
        let cycle = cycle(settings)?;
        found |= !cycle.matches.is_empty();
        output::print(settings, &cycle);
        cycles += 1;
        let Some(interval) = settings.interval else {
            break;
        };
        if settings.cycles.is_some_and(|most| cycles >= most) {
            break;
        }
        std::thread::sleep(interval);
    }
    Ok(u8::from(found))
}

/// One cycle.
pub fn cycle(settings: &Settings) -> Result<Cycle, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action: "use the watch state in",
            path,
            source,
        }
    };
    let index = Index::open(&settings.state).map_err(io(&settings.state))?;
    // Cycles on one state run one at a time (a cron job and a service may share it).
    let lock_path = index.lock_path();
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let state_error = |message: String| Error::Io {
        action: "read the watch state in",
        path: settings.state.clone(),
        source: std::io::Error::other(message),
    };
    let mut state = index.read_state().map_err(state_error)?;
    let mut cycle = Cycle {
        started: offline::now(),
        ..Cycle::default()
    };
    let moved = refresh_tips(settings, &index, &mut state, &mut cycle);
    let followed = Settings {
        ecosystems: match settings.ecosystems.as_slice() {
            [] => state
                .ecosystems
                .iter()
                .filter_map(|name| index::ecosystem_named(name))
                .collect(),
            named => named.to_vec(),
        },
        ..settings.clone()
    };
    let settings = &followed;
    let changed = update_feeds(settings, &mut state, &mut cycle)?;
    let old = state.reported.clone();
    let fresh = match_all(settings, &index, &state, &changed, &moved, &mut cycle)?;

    // What is remembered: every match of what was looked at now replaces what was remembered
    // of it.
    let looked_at = |key: &Key| {
        changed.get(&key.ecosystem).is_some_and(|ids| match ids {
            None => true,
            Some(ids) => ids.contains(&key.id),
        }) || moved.contains(&(key.repository.clone(), key.branch.clone()))
            || !state
                .repositories
                .get(&key.repository)
                .is_some_and(|tips| tips.contains_key(&key.branch))
    };
    state.reported.retain(|key| !looked_at(key));
    let gone: BTreeSet<&String> = old
        .iter()
        .filter(|key| !state.reported.contains(*key) && !fresh.contains_key(*key))
        .filter(|key| changed.get(&key.ecosystem).is_some_and(Option::is_some))
        .map(|key| &key.id)
        .collect();
    let withdrawn = withdrawn_of(settings, &gone)?;
    cycle.withdrawn = withdrawn;
    let replay = settings.since.is_some();
    for (key, found) in fresh {
        if replay || !old.contains(&key) {
            cycle.matches.push(found);
        }
        state.reported.insert(key);
    }
    add_paths(settings, &state, &mut cycle.matches);
    index.write_state(&state).map_err(|message| Error::Io {
        action: "write the watch state in",
        path: settings.state.clone(),
        source: std::io::Error::other(message),
    })?;
    Ok(cycle)
}

/// Brings each ecosystem's database up to date; the records changed since the last cycle, per
/// ecosystem (`None`: every record is to be looked at: the first cycle, or too many changed).
fn update_feeds(
    settings: &Settings,
    state: &mut State,
    cycle: &mut Cycle,
) -> Result<BTreeMap<String, Option<BTreeSet<String>>>, Error> {
    let database_error = |source| Error::Database {
        folder: offline::root(&settings.cache),
        source,
    };
    update::update(
        &settings.cache,
        &settings.export,
        &settings.ecosystems,
        &|_| {},
    )
    .map_err(database_error)?;
    let mut changed = BTreeMap::new();
    for &ecosystem in &settings.ecosystems {
        let name = ecosystem.as_osv().to_string();
        let Some(database) = Database::open(&settings.cache, ecosystem).map_err(database_error)?
        else {
            continue;
        };
        let from = match (&settings.since, state.cursors.get(&name)) {
            (Some(since), _) => Some(Cursor {
                second: since.clone(),
                ids: Vec::new(),
            }),
            (None, cursor) => cursor.cloned(),
        };
        let ids = match from {
            Some(from) => {
                update::changed_since_second(&settings.export, ecosystem, &from.second, &from.ids)
                    .map_err(database_error)?
                    .map(|ids| ids.into_iter().collect::<BTreeSet<_>>())
            }
            None => None,
        };
        cycle
            .changed
            .insert(name.clone(), ids.as_ref().map(BTreeSet::len));
        changed.insert(name.clone(), ids);
        state.cursors.insert(
            name,
            Cursor {
                second: database.meta.newest_modified.clone(),
                ids: database.meta.newest_ids.clone(),
            },
        );
    }
    Ok(changed)
}

/// Reads the branch tips of every repository; indexes the lockfiles of those that moved. Returns
/// the tips that moved (repository, branch). A repository that cannot be read keeps what was
/// last indexed of it.
fn refresh_tips(
    settings: &Settings,
    index: &Index,
    state: &mut State,
    cycle: &mut Cycle,
) -> BTreeSet<(String, String)> {
    let mut moved = BTreeSet::new();
    let listed: BTreeSet<String> = settings
        .repositories
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    // A repository no longer listed is forgotten.
    state.repositories.retain(|name, _| listed.contains(name));
    for path in &settings.repositories {
        let name = path.display().to_string();
        let tips = match git::Repo::open_at(path).and_then(|repo| {
            let tips = repo.branch_tips()?;
            Ok((repo, tips))
        }) {
            Ok(found) => found,
            Err(error) => {
                cycle
                    .problems
                    .push(format!("{name}: {}", crate::error::chain(&error)));
                continue;
            }
        };
        let (repo, tips) = tips;
        let known = state.repositories.remove(&name).unwrap_or_default();
        let mut now = BTreeMap::new();
        for (branch, commit) in tips {
            cycle.tips.0 += 1;
            let commit_id = commit.to_string();
            if let Some(tip) = known.get(&branch).filter(|tip| tip.commit == commit_id) {
                now.insert(branch, tip.clone());
                continue;
            }
            cycle.tips.1 += 1;
            match index_tip(&repo, index, commit, &mut state.ecosystems, cycle) {
                Ok(lockfiles) => {
                    moved.insert((name.clone(), branch.clone()));
                    now.insert(
                        branch,
                        Tip {
                            commit: commit_id,
                            lockfiles,
                        },
                    );
                }
                Err(error) => {
                    cycle.problems.push(format!("{name} {branch}: {error}"));
                    if let Some(tip) = known.get(&branch) {
                        now.insert(branch, tip.clone());
                    }
                }
            }
        }
        state.repositories.insert(name, now);
    }
    moved
}

/// The lockfiles of `commit`'s tree (path, blob), each blob indexed if it was not.
fn index_tip(
    repo: &git::Repo,
    index: &Index,
    commit: git2::Oid,
    ecosystems: &mut BTreeSet<String>,
    cycle: &mut Cycle,
) -> Result<Vec<(String, String)>, String> {
    use crate::ecosystem::Files as _;
    let tree = repo
        .commit_tree(commit)
        .map_err(|error| crate::error::chain(&error))?;
    let mut lockfiles = Vec::new();
    let paths: Vec<String> = tree.paths().map(str::to_string).collect();
    for path in paths {
        let (Some(format), Some(oid)) = (ecosystem::format_of(&path), tree.blob(&path)) else {
            continue;
        };
        let blob = oid.to_string();
        if !index.has_blob(&blob) {
            let locked = match read_locked(repo, &tree, format, &path, oid) {
                Ok(locked) => locked,
                Err(error) => {
                    // Indexed as locking nothing, so that it is not read again each cycle.
                    cycle
                        .problems
                        .push(crate::sanitize::clean(&error).into_owned());
                    Vec::new()
                }
            };
            ecosystems.extend(
                locked
                    .iter()
                    .map(|package| package.ecosystem.as_osv().to_string()),
            );
            index.add_blob(&blob, &locked)?;
            cycle.blobs_indexed += 1;
        }
        lockfiles.push((path, blob));
    }
    Ok(lockfiles)
}

/// The registry packages a lockfile blob locks.
fn read_locked(
    repo: &git::Repo,
    tree: &git::CommitTree<'_>,
    format: &ecosystem::Format,
    path: &str,
    oid: git2::Oid,
) -> Result<Vec<Locked>, String> {
    let locked = parse(repo, tree, format, path, oid)?;
    Ok(locked
        .entries
        .iter()
        .filter(|entry| {
            matches!(entry.source, crate::package::Source::Registry { .. })
                && !entry.unreadable
                && !entry.package.version.is_empty()
        })
        .map(|entry| Locked {
            ecosystem: entry.package.ecosystem,
            normal: matching::normalize_name(entry.package.ecosystem, &entry.package.name),
            name: entry.package.name.clone(),
            version: entry.package.version.clone(),
        })
        .collect())
}

fn parse(
    repo: &git::Repo,
    tree: &git::CommitTree<'_>,
    format: &ecosystem::Format,
    path: &str,
    oid: git2::Oid,
) -> Result<crate::package::LockedSet, String> {
    use crate::ecosystem::Files as _;
    let bytes = repo
        .read_blob(path, oid)
        .map_err(|error| crate::error::chain(&error))?;
    let includes = |included: &str| match tree.read(included) {
        Ok(Some(bytes)) => ecosystem::decode(&bytes).map(|text| Some(text.to_string())),
        Ok(None) => Ok(None),
        Err(error) => Err(ecosystem::ParseError::new(0, 0, error.to_string())),
    };
    ecosystem::decode(&bytes)
        .and_then(|text| format.parse(path, text, &includes))
        .map_err(|error| format!("{path}:{}:{}: {}", error.line, error.column, error.message))
}

/// Every match of what is to be looked at: the changed records against every tip, and every
/// record against the tips that moved. Keyed as remembered.
fn match_all(
    settings: &Settings,
    index: &Index,
    state: &State,
    changed: &BTreeMap<String, Option<BTreeSet<String>>>,
    moved: &BTreeSet<(String, String)>,
    cycle: &mut Cycle,
) -> Result<BTreeMap<Key, Match>, Error> {
    // Who holds each blob: (repository, branch, commit, lockfile).
    let mut holders: HashMap<&str, Vec<(&str, &str, &Tip, &str)>> = HashMap::new();
    for (repository, tips) in &state.repositories {
        for (branch, tip) in tips {
            for (lockfile, blob) in &tip.lockfiles {
                holders
                    .entry(blob.as_str())
                    .or_default()
                    .push((repository, branch, tip, lockfile));
            }
        }
    }
    let mut fresh = BTreeMap::new();
    let mut matcher = Matcher {
        settings,
        index,
        holders: &holders,
        blobs: HashMap::new(),
        fresh: &mut fresh,
    };
    for &ecosystem in &settings.ecosystems {
        let Some(database) = open_database(settings, ecosystem)? else {
            continue;
        };
        match changed.get(ecosystem.as_osv()) {
            Some(Some(ids)) => {
                let ids: Vec<String> = ids.iter().cloned().collect();
                let records = records(&database, &ids, settings)?;
                for record in records.values() {
                    matcher.record_everywhere(ecosystem, record)?;
                }
            }
            // Everything: the first cycle, or more changed than can be fetched one by one.
            Some(None) => {
                let blobs: BTreeSet<&str> = holders.keys().copied().collect();
                matcher.blobs_against_database(&database, ecosystem, &blobs, None)?;
            }
            None => {}
        }
        // A tip that moved may lock something already listed.
        let mut blobs = BTreeSet::new();
        for (repository, branch) in moved {
            if let Some(tip) = state
                .repositories
                .get(repository)
                .and_then(|tips| tips.get(branch))
            {
                blobs.extend(tip.lockfiles.iter().map(|(_, blob)| blob.as_str()));
            }
        }
        matcher.blobs_against_database(&database, ecosystem, &blobs, Some(moved))?;
    }
    let _ = cycle;
    Ok(fresh)
}

/// The records `ids` that the database holds (withdrawn ones it does not), kept to those
/// watched (malware, unless every advisory is).
fn records(
    database: &Database,
    ids: &[String],
    settings: &Settings,
) -> Result<BTreeMap<String, Advisory>, Error> {
    let mut records = database.records(ids).map_err(|source| Error::Database {
        folder: offline::root(&settings.cache),
        source,
    })?;
    records.retain(|_, record| {
        record.withdrawn.is_none() && (settings.all_advisories || record.is_malicious())
    });
    Ok(records)
}

struct Matcher<'a> {
    settings: &'a Settings,
    index: &'a Index,
    holders: &'a HashMap<&'a str, Vec<(&'a str, &'a str, &'a Tip, &'a str)>>,
    blobs: HashMap<String, Vec<Locked>>,
    fresh: &'a mut BTreeMap<Key, Match>,
}

impl Matcher<'_> {
    fn blob(&mut self, oid: &str) -> Result<&[Locked], Error> {
        if !self.blobs.contains_key(oid) {
            let locked = self.index.blob(oid).map_err(|message| Error::Io {
                action: "read the watch index in",
                path: self.settings.state.clone(),
                source: std::io::Error::other(message),
            })?;
            self.blobs.insert(oid.to_string(), locked);
        }
        Ok(&self.blobs[oid])
    }

    /// Every tip that locks a version `record` affects.
    fn record_everywhere(&mut self, ecosystem: Ecosystem, record: &Advisory) -> Result<(), Error> {
        for affected in &record.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            if package.ecosystem.split(':').next() != Some(ecosystem.as_osv()) {
                continue;
            }
            let normal = matching::normalize_name(ecosystem, &package.name);
            let blobs = self
                .index
                .blobs_with(ecosystem, &normal)
                .map_err(|message| Error::Io {
                    action: "read the watch index in",
                    path: self.settings.state.clone(),
                    source: std::io::Error::other(message),
                })?;
            for blob in blobs {
                if !self.holders.contains_key(blob.as_str()) {
                    continue; // No tip holds it any more.
                }
                let hits: Vec<Locked> = self
                    .blob(&blob)?
                    .iter()
                    .filter(|locked| locked.ecosystem == ecosystem && locked.normal == normal)
                    .filter(|locked| matching::affects(affected, ecosystem, &locked.version))
                    .cloned()
                    .collect();
                for locked in hits {
                    self.found(record, &blob, &locked, None);
                }
            }
        }
        Ok(())
    }

    /// Every record that affects what `blobs` lock (only for the tips in `only`, when given).
    fn blobs_against_database(
        &mut self,
        database: &Database,
        ecosystem: Ecosystem,
        blobs: &BTreeSet<&str>,
        only: Option<&BTreeSet<(String, String)>>,
    ) -> Result<(), Error> {
        let mut packages: BTreeMap<Package, Vec<(String, Locked)>> = BTreeMap::new();
        for &blob in blobs {
            for locked in self.blob(blob)?.to_vec() {
                if locked.ecosystem != ecosystem {
                    continue;
                }
                let package =
                    Package::new(ecosystem, locked.normal.clone(), locked.version.clone());
                packages
                    .entry(package)
                    .or_default()
                    .push((blob.to_string(), locked));
            }
        }
        if packages.is_empty() {
            return Ok(());
        }
        let wanted: Vec<&Package> = packages.keys().collect();
        let database_error = |source| Error::Database {
            folder: offline::root(&self.settings.cache),
            source,
        };
        let ids = database.lookup(&wanted).map_err(database_error)?;
        let all: BTreeSet<String> = ids.iter().flatten().cloned().collect();
        let all: Vec<String> = all.into_iter().collect();
        let found = records(database, &all, self.settings)?;
        for (package, ids) in wanted.iter().zip(&ids) {
            for id in ids {
                let Some(record) = found.get(id) else {
                    continue;
                };
                for (blob, locked) in &packages[*package] {
                    self.found(record, blob, locked, only);
                }
            }
        }
        Ok(())
    }

    fn found(
        &mut self,
        record: &Advisory,
        blob: &str,
        locked: &Locked,
        only: Option<&BTreeSet<(String, String)>>,
    ) {
        for &(repository, branch, tip, lockfile) in self.holders.get(blob).into_iter().flatten() {
            if only
                .is_some_and(|only| !only.contains(&(repository.to_string(), branch.to_string())))
            {
                continue;
            }
            let key = Key {
                id: record.id.clone(),
                repository: repository.to_string(),
                branch: branch.to_string(),
                lockfile: lockfile.to_string(),
                ecosystem: locked.ecosystem.as_osv().to_string(),
                name: locked.name.clone(),
                version: locked.version.clone(),
            };
            self.fresh.entry(key).or_insert_with(|| Match {
                id: record.id.clone(),
                malicious: record.is_malicious(),
                summary: record
                    .summary
                    .clone()
                    .or_else(|| record.details.clone())
                    .unwrap_or_default(),
                package: Package::new(
                    locked.ecosystem,
                    locked.name.clone(),
                    locked.version.clone(),
                ),
                repository: repository.to_string(),
                branch: branch.to_string(),
                commit: tip.commit.clone(),
                lockfile: lockfile.to_string(),
                dependency_path: Vec::new(),
            });
        }
    }
}

/// The offline database of `ecosystem`, if there is one.
fn open_database(settings: &Settings, ecosystem: Ecosystem) -> Result<Option<Database>, Error> {
    Database::open(&settings.cache, ecosystem).map_err(|source| Error::Database {
        folder: offline::root(&settings.cache),
        source,
    })
}

/// Of the records whose matches are gone, those the database no longer holds as watched
/// (withdrawn, or deleted from the feed).
fn withdrawn_of(settings: &Settings, gone: &BTreeSet<&String>) -> Result<Vec<String>, Error> {
    let mut withdrawn = Vec::new();
    for &ecosystem in &settings.ecosystems {
        let Some(database) = open_database(settings, ecosystem)? else {
            continue;
        };
        let ids: Vec<String> = gone.iter().map(|id| id.to_string()).collect();
        let held = records(&database, &ids, settings)?;
        withdrawn.extend(ids.into_iter().filter(|id| !held.contains_key(id)));
    }
    withdrawn.sort();
    withdrawn.dedup();
    Ok(withdrawn)
}

/// The dependency path of each match, from its lockfile (read again: only matches need it).
fn add_paths(settings: &Settings, state: &State, matches: &mut [Match]) {
    let _ = settings;
    let mut parsed: HashMap<(String, String), Option<crate::package::LockedSet>> = HashMap::new();
    for found in matches.iter_mut() {
        let blob = state
            .repositories
            .get(&found.repository)
            .and_then(|tips| tips.get(&found.branch))
            .and_then(|tip| {
                tip.lockfiles
                    .iter()
                    .find(|(path, _)| *path == found.lockfile)
            })
            .map(|(_, blob)| blob.clone());
        let Some(blob) = blob else { continue };
        let locked = parsed
            .entry((found.repository.clone(), blob.clone()))
            .or_insert_with(|| {
                let repo = git::Repo::open_at(Path::new(&found.repository)).ok()?;
                let commit = git2::Oid::from_str(&found.commit).ok()?;
                let tree = repo.commit_tree(commit).ok()?;
                let format = ecosystem::format_of(&found.lockfile)?;
                let oid = git2::Oid::from_str(&blob).ok()?;
                parse(&repo, &tree, format, &found.lockfile, oid).ok()
            });
        if let Some(path) = locked
            .as_ref()
            .and_then(|locked| locked.dependency_path(&found.package))
        {
            found.dependency_path = path;
        }
    }
}
