//! Benchmark of `lockgate watch` at the size issue 17 asks about: 2,000 repositories.
//!
//! Builds 2,000 bare git repositories (as a mirror host holds them) with libgit2, each with a
//! `main` branch holding a README, a package.json and an npm package-lock.json v3 of a few
//! hundred entries (each aims at 150 to 450; it prints the spread of packages locked); one in
//! ten also has a `feature` branch that adds a dependency. Each lockfile is a
//! dependency-closed part of one of the real lockfiles of ../shared/data/lockfiles: a few of its
//! top-level packages with everything they need, entries copied as npm wrote them, so names,
//! versions, nesting and entry shapes are real and every repository's set differs. The OSV export
//! is the real npm records of ../shared/data/osv (malicious and advisories), laid out as OSV's
//! bucket is and read from a `file://` URL.
//!
//! Then it runs the release binary, `lockgate watch --format json`, and times: the first cycle
//! (index every tip, match every record), a cycle where nothing changed, a cycle after one new
//! `MAL-` record that affects a version about 50 repositories lock (and, apart, `db update`
//! alone and the cycle after it), and a cycle after one branch tip moved.
//! Run with `cargo bench --bench watch`; figures go in BENCHMARKS.md.

#[path = "../tests/support/export_folder.rs"]
mod export_folder;
#[path = "../tests/support/random.rs"]
mod random;

use export_folder::folder_size;
use random::Random;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const REPOSITORIES: usize = 2_000;
/// Every this many repositories, one has a second branch.
const FEATURE_EVERY: usize = 10;
/// Timed runs of each repeated scenario.
const RUNS: usize = 7;
/// Timed runs of the first cycle (each from nothing).
const FIRST_RUNS: usize = 3;
/// About this many repositories lock the version the new record affects.
const WANTED_HOLDERS: usize = 50;
/// The record published during the benchmark (made up; not in the shared records).
const NEW_RECORD: &str = "MAL-2026-99017";
/// Its `modified`: later than every shared record's.
const NEW_MODIFIED: &str = "2026-12-01T08:00:00Z";
/// The repository whose `main` moves.
const MOVED: usize = 7;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() {
    let work = tempfile::tempdir().expect("temp dir");
    let work = work.path();
    let home = work.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // SAFETY: called before any other thread starts and before any repository is opened; it
    // only tells libgit2 (in this process) where the global, XDG and system configs are: in an
    // empty folder, so no user's or machine's git configuration shapes the repositories.
    unsafe {
        for level in [
            git2::ConfigLevel::System,
            git2::ConfigLevel::XDG,
            git2::ConfigLevel::Global,
            git2::ConfigLevel::ProgramData,
        ] {
            git2::opts::set_search_path(level, &home).expect("set libgit2's config search path");
        }
    }

    // 1. The repositories.
    let sources = [
        Source::read("npm-2041-packages"),
        Source::read("npm-5055-packages"),
    ];
    let repos = work.join("repos");
    std::fs::create_dir_all(&repos).unwrap();
    let start = Instant::now();
    let built = build_repositories(&sources, &repos);
    let tips: usize = built.iter().map(|repo| repo.branches.len()).sum();
    let entries: Vec<usize> = built.iter().map(|repo| repo.branches[0].1.len()).collect();
    println!(
        "repositories: {REPOSITORIES} ({tips} branch tips), {} to {} locked packages per main \
         lockfile (mean {}), {:.1} MiB on disk, built in {:.1} s",
        entries.iter().min().unwrap(),
        entries.iter().max().unwrap(),
        entries.iter().sum::<usize>() / entries.len(),
        folder_size(&repos).0 as f64 / 1_048_576.0,
        start.elapsed().as_secs_f64()
    );
    let list = work.join("repos.txt");
    let listed: String = built
        .iter()
        .map(|repo| format!("{}\n", repo.path.display()))
        .collect();
    std::fs::write(&list, listed).unwrap();

    // The version the new record will affect: the one locked by a number of repositories
    // nearest WANTED_HOLDERS (ties: the name first in order).
    let mut holders: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    for (index, repo) in built.iter().enumerate() {
        for (_, locked) in &repo.branches {
            for package in locked {
                holders.entry(package.clone()).or_default().insert(index);
            }
        }
    }
    let (target, target_repos) = holders
        .iter()
        .min_by_key(|(_, repos)| repos.len().abs_diff(WANTED_HOLDERS))
        .map(|(package, repos)| (package.clone(), repos.len()))
        .unwrap();
    let target_tips = built
        .iter()
        .flat_map(|repo| &repo.branches)
        .filter(|(_, locked)| locked.contains(&target))
        .count();
    println!(
        "new record {NEW_RECORD} will affect {}@{}: locked by {target_repos} repositories, \
         {target_tips} branch tips",
        target.0, target.1
    );

    // 2. The export: the real npm records.
    let export = work.join("export");
    let mut records = shared_records(&["malicious/npm", "advisories/npm"]);
    assert!(records
        .iter()
        .all(|record| record["modified"].as_str().unwrap_or("") < NEW_MODIFIED));
    export_folder::write_export(&export, "npm", &records);
    let database_records = records.len();

    let watcher = Watcher {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_lockgate")),
        work: work.to_path_buf(),
        home: home.clone(),
        list,
        state: work.join("state"),
        cache: work.join("cache"),
        export_url: format!("file://{}", export.display()),
    };
    let mut rows: Vec<[String; 4]> = Vec::new();

    // 3. The first cycle: the database from the zip, every tip indexed, every record matched.
    // Each run starts with no state and no database.
    let mut first = Value::Null;
    let timings = watcher.repeat(
        FIRST_RUNS,
        || {
            watcher.forget();
            let (elapsed, cycle) = watcher.cycle(&[]);
            first = cycle.clone();
            (elapsed, cycle)
        },
        |cycle| {
            assert_eq!(cycle["branch_tips"], tips, "{cycle}");
            assert_eq!(cycle["branch_tips_moved"], tips, "{cycle}");
        },
    );
    let first_matches = first["matches"].as_array().unwrap().len();
    report(
        &mut rows,
        &format!(
            "first cycle: database built from the export's zip ({database_records} records), \
             {tips} tips indexed ({} lockfiles), every record matched ({first_matches} matches)",
            first["lockfiles_indexed"]
        ),
        &timings,
    );
    let size = |folder: &str| folder_size(&watcher.state.join(folder));
    let (state_bytes, state_files) = folder_size(&watcher.state);
    let state_json = std::fs::metadata(watcher.state.join("state.json"))
        .unwrap()
        .len();
    let (database_bytes, _) = folder_size(&watcher.cache.join("db"));
    println!(
        "index (state folder): {state_bytes} bytes ({:.1} MiB, {state_files} files): blobs/ \
         {:.1} MiB, names/ {:.1} MiB, state.json {:.0} KiB; database: {database_bytes} bytes \
         ({:.2} MiB)",
        mib(state_bytes),
        mib(size("blobs").0),
        mib(size("names").0),
        state_json as f64 / 1024.0,
        mib(database_bytes)
    );

    // 4. Nothing changed.
    let timings = watcher.repeat(
        RUNS,
        || watcher.cycle(&[]),
        |cycle| {
            assert_eq!(cycle["matches"], json!([]), "{cycle}");
            assert_eq!(cycle["branch_tips_moved"], 0, "{cycle}");
        },
    );
    report(
        &mut rows,
        "nothing changed (export, every tip read)",
        &timings,
    );

    // 5. One new MAL- record. Every run starts from the state and database of before it.
    let before = watcher.snapshot("before-record");
    records.push(new_record(&records, &target.0, &target.1));
    export_folder::write_export(&export, "npm", &records);
    let check_new = |cycle: &Value| {
        let matches = cycle["matches"].as_array().unwrap();
        assert_eq!(matches.len(), target_tips, "{cycle}");
        assert!(matches.iter().all(|found| found["id"] == NEW_RECORD));
        assert_eq!(cycle["changed_records"]["npm"], 1, "{cycle}");
    };
    let timings = watcher.repeat(
        RUNS,
        || {
            watcher.restore(&before);
            watcher.cycle(&[])
        },
        check_new,
    );
    report(
        &mut rows,
        &format!(
            "one new MAL- record ({}@{}), whole cycle: database update, match, {target_tips} \
             matches in {target_repos} repositories with their dependency paths",
            target.0, target.1
        ),
        &timings,
    );
    // The same, with `db update` run first and timed alone; each such cycle is followed by one
    // where nothing changed, so that what matching the record adds is measured in pairs.
    let (mut updates, mut differences) = (Vec::new(), Vec::new());
    let timings = watcher.repeat(
        RUNS,
        || {
            watcher.restore(&before);
            let start = Instant::now();
            watcher.run(&["db", "update", "--ecosystem", "npm"]);
            updates.push(start.elapsed());
            let (elapsed, cycle) = watcher.cycle(&[]);
            let (idle, next) = watcher.cycle(&[]);
            assert_eq!(next["matches"], json!([]), "{next}");
            differences.push(elapsed.saturating_sub(idle));
            (elapsed, cycle)
        },
        check_new,
    );
    updates.sort();
    differences.sort();
    report(
        &mut rows,
        "  of which `db update` alone (fetch the record, patch the database)",
        &updates,
    );
    report(
        &mut rows,
        "  the cycle after that `db update` (match the record, dependency paths)",
        &timings,
    );
    report(
        &mut rows,
        "  that cycle less the next one, where nothing changed (matching and paths alone)",
        &differences,
    );

    // 6. One branch tip moved: MOVED's main gains a dependency. Every run starts from the state
    // of before the move.
    let settled = watcher.snapshot("before-move");
    let moved_locked = move_tip(&sources, &built[MOVED]);
    let timings = watcher.repeat(
        RUNS,
        || {
            watcher.restore(&settled);
            watcher.cycle(&[])
        },
        |cycle| {
            assert_eq!(cycle["branch_tips_moved"], 1, "{cycle}");
            assert_eq!(cycle["lockfiles_indexed"], 1, "{cycle}");
        },
    );
    report(
        &mut rows,
        &format!("one branch tip moved (re-index one lockfile of {moved_locked} packages)"),
        &timings,
    );

    println!();
    println!(
        "| scenario ({FIRST_RUNS} runs of the first, {RUNS} of the others) | median | min | max |"
    );
    println!("| --- | --- | --- | --- |");
    for [name, median, min, max] in &rows {
        println!("| {name} | {median} | {min} | {max} |");
    }
}

/// Someone who runs `lockgate watch` on the repositories of `list`.
struct Watcher {
    binary: PathBuf,
    work: PathBuf,
    home: PathBuf,
    list: PathBuf,
    state: PathBuf,
    cache: PathBuf,
    export_url: String,
}

impl Watcher {
    /// Runs lockgate with `args` (and the cache and export), hermetically; its stdout.
    fn run(&self, args: &[&str]) -> Vec<u8> {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(["--export-url", &self.export_url])
            .current_dir(&self.work);
        for (name, _) in std::env::vars_os() {
            let name_text = name.to_string_lossy();
            if name_text.starts_with("LOCKGATE_") || name_text.starts_with("GIT_") {
                command.env_remove(&name);
            }
        }
        let output = command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            output.status.code().is_some_and(|code| code <= 1),
            "lockgate {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// One `watch` cycle, timed; its JSON.
    fn cycle(&self, extra: &[&str]) -> (Duration, Value) {
        let mut args = vec![
            "watch".to_string(),
            "--repos".into(),
            self.list.display().to_string(),
            "--state".into(),
            self.state.display().to_string(),
            "--ecosystem".into(),
            "npm".into(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(extra.iter().map(|arg| arg.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = Instant::now();
        let stdout = self.run(&args);
        let elapsed = start.elapsed();
        let cycle: Value = serde_json::from_slice(&stdout).expect("one JSON cycle on stdout");
        assert_eq!(cycle["problems"], json!([]), "{cycle}");
        (elapsed, cycle)
    }

    /// Runs `scenario` `runs` times, checking each cycle; the timings, sorted.
    fn repeat(
        &self,
        runs: usize,
        mut scenario: impl FnMut() -> (Duration, Value),
        check: impl Fn(&Value),
    ) -> Vec<Duration> {
        let mut timings: Vec<Duration> = (0..runs)
            .map(|_| {
                let (elapsed, cycle) = scenario();
                check(&cycle);
                elapsed
            })
            .collect();
        timings.sort();
        timings
    }

    /// A copy of the state and cache folders, to start runs from.
    fn snapshot(&self, name: &str) -> PathBuf {
        let folder = self.work.join("snapshots").join(name);
        copy_folder(&self.state, &folder.join("state"));
        copy_folder(&self.cache, &folder.join("cache"));
        folder
    }

    /// No state and no database: as before the first cycle.
    fn forget(&self) {
        for folder in [&self.state, &self.cache] {
            if folder.exists() {
                std::fs::remove_dir_all(folder).unwrap();
            }
        }
    }

    fn restore(&self, snapshot: &Path) {
        for (from, to) in [("state", &self.state), ("cache", &self.cache)] {
            std::fs::remove_dir_all(to).unwrap();
            copy_folder(&snapshot.join(from), to);
        }
    }
}

/// One of the real lockfiles, and what each of its top-level packages needs.
struct Source {
    name: &'static str,
    /// Every entry but the root's, by location.
    entries: BTreeMap<String, Value>,
    /// Top-level locations that may start a repository's set, each with its closure (its own
    /// location first).
    roots: Vec<Vec<String>>,
}

impl Source {
    fn read(name: &'static str) -> Source {
        let path = format!("{ROOT}/../shared/data/lockfiles/{name}/package-lock.json");
        let lock: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let entries: BTreeMap<String, Value> = lock["packages"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(location, _)| !location.is_empty())
            .map(|(location, entry)| (location.clone(), entry.clone()))
            .collect();
        let roots = entries
            .keys()
            .filter(|location| location.matches("node_modules/").count() == 1)
            .map(|location| closure(&entries, location))
            // Frameworks of a thousand packages would make one repository alone.
            .filter(|closure| closure.len() <= 250)
            .collect();
        Source {
            name,
            entries,
            roots,
        }
    }
}

/// `location` and every location it needs, as npm resolves them (its own `node_modules/`, then
/// each enclosing one, then the top level).
fn closure(entries: &BTreeMap<String, Value>, location: &str) -> Vec<String> {
    let mut seen = BTreeSet::from([location.to_string()]);
    let mut order = vec![location.to_string()];
    let mut pending = vec![location.to_string()];
    while let Some(from) = pending.pop() {
        let entry = &entries[&from];
        for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
            for dependency in entry[field]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                let Some(found) = resolve(entries, &from, dependency) else {
                    continue; // An optional package of another platform, not locked.
                };
                if seen.insert(found.clone()) {
                    order.push(found.clone());
                    pending.push(found);
                }
            }
        }
    }
    order
}

fn resolve(entries: &BTreeMap<String, Value>, from: &str, dependency: &str) -> Option<String> {
    let mut base = from.to_string();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{dependency}")
        } else {
            format!("{base}/node_modules/{dependency}")
        };
        if entries.contains_key(&candidate) {
            return Some(candidate);
        }
        if base.is_empty() {
            return None;
        }
        base = base
            .rfind("/node_modules/")
            .map_or(String::new(), |at| base[..at].to_string());
    }
}

/// What one repository's lockfile is made of: a source and some of its roots.
#[derive(Clone)]
struct Plan {
    source: usize,
    roots: Vec<usize>,
}

impl Plan {
    /// Repository `index`'s `main`: roots drawn until 150 to 450 entries are locked.
    fn of(sources: &[Source], index: usize) -> Plan {
        let mut rng = Random(index as u64 * 7919 + 17);
        let source = rng.below(sources.len());
        let wanted = 150 + rng.below(301);
        let mut plan = Plan {
            source,
            roots: Vec::new(),
        };
        let mut locations = BTreeSet::new();
        for _ in 0..200 {
            if locations.len() >= wanted {
                break;
            }
            let root = rng.below(sources[source].roots.len());
            let closure = &sources[source].roots[root];
            let added = closure
                .iter()
                .filter(|location| !locations.contains(*location))
                .count();
            if locations.len() + added > wanted * 5 / 4 {
                continue;
            }
            locations.extend(closure.iter().cloned());
            plan.roots.push(root);
        }
        plan
    }

    /// The same with one more root (a dependency added on a branch); `salt` picks which.
    fn plus_one(&self, sources: &[Source], salt: u64) -> Plan {
        let mut rng = Random(salt);
        let mut plan = self.clone();
        loop {
            let root = rng.below(sources[self.source].roots.len());
            if !plan.roots.contains(&root) {
                plan.roots.push(root);
                return plan;
            }
        }
    }

    /// package.json, package-lock.json, and the (name, version) pairs it locks.
    fn render(&self, sources: &[Source], project: &str) -> (String, String, Locked) {
        let source = &sources[self.source];
        let mut locations = BTreeSet::new();
        let mut dependencies = serde_json::Map::new();
        for &root in &self.roots {
            let closure = &source.roots[root];
            let top = &closure[0];
            let name = top.trim_start_matches("node_modules/");
            let version = source.entries[top]["version"].as_str().unwrap_or("*");
            dependencies.insert(name.to_string(), format!("^{version}").into());
            locations.extend(closure.iter().cloned());
        }
        let mut packages = serde_json::Map::new();
        packages.insert(
            String::new(),
            json!({"name": project, "version": "1.0.0", "dependencies": dependencies}),
        );
        let mut locked = BTreeSet::new();
        for location in &locations {
            let entry = &source.entries[location];
            packages.insert(location.clone(), entry.clone());
            let name = entry["name"].as_str().map_or_else(
                || location.rsplit("node_modules/").next().unwrap().to_string(),
                str::to_string,
            );
            if let Some(version) = entry["version"].as_str() {
                if entry.get("link").is_none() && entry.get("inBundle").is_none() {
                    locked.insert((name, version.to_string()));
                }
            }
        }
        let lock = json!({"name": project, "version": "1.0.0", "lockfileVersion": 3,
            "requires": true, "packages": packages});
        let manifest = json!({"name": project, "version": "1.0.0", "private": true,
            "description": format!("generated from {}", source.name),
            "dependencies": dependencies});
        (format!("{:#}\n", manifest), format!("{:#}\n", lock), locked)
    }
}

/// The (name, version) pairs a lockfile locks.
type Locked = BTreeSet<(String, String)>;

/// A built repository: its folder, and what each branch locks (`main` first).
struct Built {
    path: PathBuf,
    plan: Plan,
    branches: Vec<(String, Locked)>,
}

/// Builds the REPOSITORIES repositories under `folder`, on up to four threads.
fn build_repositories(sources: &[Source], folder: &Path) -> Vec<Built> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let mut built: Vec<(usize, Built)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    (worker..REPOSITORIES)
                        .step_by(threads)
                        .map(|index| (index, build_repository(sources, folder, index)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    built.sort_by_key(|(index, _)| *index);
    built.into_iter().map(|(_, repo)| repo).collect()
}

fn build_repository(sources: &[Source], folder: &Path, index: usize) -> Built {
    let project = format!("service-{index:04}");
    let path = folder.join(format!("{project}.git"));
    let mut options = git2::RepositoryInitOptions::new();
    options
        .bare(true)
        .initial_head("main")
        .external_template(false);
    let repo = git2::Repository::init_opts(&path, &options).unwrap();
    let plan = Plan::of(sources, index);
    let (manifest, lock, locked) = plan.render(sources, &project);
    let main = commit(
        &repo,
        "refs/heads/main",
        None,
        &project,
        &manifest,
        &lock,
        0,
    );
    let mut branches = vec![("refs/heads/main".to_string(), locked)];
    if index % FEATURE_EVERY == 3 {
        let feature = plan.plus_one(sources, index as u64 + 1_000_003);
        let (manifest, lock, locked) = feature.render(sources, &project);
        commit(
            &repo,
            "refs/heads/feature",
            Some(main),
            &project,
            &manifest,
            &lock,
            60,
        );
        branches.push(("refs/heads/feature".to_string(), locked));
    }
    Built {
        path,
        plan,
        branches,
    }
}

/// Commits a tree of README.md, package.json and package-lock.json on `branch`.
fn commit(
    repo: &git2::Repository,
    branch: &str,
    parent: Option<git2::Oid>,
    project: &str,
    manifest: &str,
    lock: &str,
    offset: i64,
) -> git2::Oid {
    let mut tree = repo.treebuilder(None).unwrap();
    let readme = format!("# {project}\n\nA service.\n");
    for (name, text) in [
        ("README.md", readme.as_str()),
        ("package-lock.json", lock),
        ("package.json", manifest),
    ] {
        let blob = repo.blob(text.as_bytes()).unwrap();
        tree.insert(name, blob, 0o100_644).unwrap();
    }
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    let time = git2::Time::new(1_764_547_200 + offset, 0);
    let signature = git2::Signature::new("Bench", "bench@example.test", &time).unwrap();
    let parents: Vec<git2::Commit> = parent
        .map(|oid| repo.find_commit(oid).unwrap())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(
        Some(branch),
        &signature,
        &signature,
        "dependencies",
        &tree,
        &parents,
    )
    .unwrap()
}

/// Moves `repo`'s main: a commit that adds a dependency. The packages its lockfile now locks.
fn move_tip(sources: &[Source], repo: &Built) -> usize {
    let git = git2::Repository::open_bare(&repo.path).unwrap();
    let main = git.refname_to_id("refs/heads/main").unwrap();
    let project = repo
        .path
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let plan = repo.plan.plus_one(sources, 4_242);
    let (manifest, lock, locked) = plan.render(sources, &project);
    commit(
        &git,
        "refs/heads/main",
        Some(main),
        &project,
        &manifest,
        &lock,
        3600,
    );
    locked.len()
}

/// The real records of `../shared/data/osv/<family>/`.
fn shared_records(families: &[&str]) -> Vec<Value> {
    let mut records = Vec::new();
    for family in families {
        let mut paths: Vec<PathBuf> =
            std::fs::read_dir(format!("{ROOT}/../shared/data/osv/{family}"))
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect();
        paths.sort();
        for path in paths {
            records.push(serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap());
        }
    }
    records
}

/// A new malware record for `name@version`, shaped as the real MAL-2025-46974 (a compromised
/// release of a popular package) is.
fn new_record(records: &[Value], name: &str, version: &str) -> Value {
    let mut record = records
        .iter()
        .find(|record| record["id"] == "MAL-2025-46974")
        .expect("the shared records hold MAL-2025-46974")
        .clone();
    let object = record.as_object_mut().unwrap();
    for field in ["aliases", "credits", "references", "database_specific"] {
        object.remove(field);
    }
    record["id"] = NEW_RECORD.into();
    record["modified"] = NEW_MODIFIED.into();
    record["published"] = NEW_MODIFIED.into();
    record["summary"] = format!("Malicious code in {name} (npm)").into();
    record["details"] = "A compromised release (made up for the benchmark).".into();
    record["affected"][0]["package"]["name"] = name.into();
    record["affected"][0]["versions"] = json!([version]);
    record
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn seconds(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{:.0} ms", seconds * 1000.0)
    }
}

/// Prints one repeated scenario and adds its row.
fn report(rows: &mut Vec<[String; 4]>, name: &str, timings: &[Duration]) {
    let (median, min, max) = (
        timings[timings.len() / 2],
        timings[0],
        timings[timings.len() - 1],
    );
    println!(
        "{name}: median {}, min {}, max {} ({} runs)",
        seconds(median),
        seconds(min),
        seconds(max),
        timings.len()
    );
    rows.push([
        name.trim().to_string(),
        seconds(median),
        seconds(min),
        seconds(max),
    ]);
}
