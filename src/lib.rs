//! lockgate: a git hook that stops malicious and vulnerable dependencies before they are committed.
//!
//! [`run`] is the whole program in order: read the configuration → collect lockfile changes
//! from git and parse both sides (`scope.rs`) → work out what is new → local checks (each
//! project's lockfile present and in sync with package.json or pyproject.toml) → ask OSV (or
//! the offline database) about exactly what is new → decide by the policy → hand back a
//! [`Report`].
#![forbid(unsafe_code)]

pub mod advisory;
mod age;
pub mod cache;
pub mod check;
mod checks;
pub mod cilint;
pub mod config;
pub mod ecosystem;
pub mod error;
pub mod fuzz;
pub mod git;
mod index_file;
mod kept;
pub mod lookup;
pub mod matching;
pub mod offline;
pub mod osv;
pub mod package;
mod private;
pub mod progress;
pub mod push;
pub mod report;
pub mod sanitize;
pub mod sarif;
mod scope;
pub mod settings;
pub mod severity;
pub mod version;
pub mod watch;

pub use error::Error;
pub use report::Report;

use package::Package;
use report::{Mode, NonRegistryEntry, ProblemKind};
use scope::{
    all_scope, framework_push_scope, push_scope, read_push_input, staged_scope, LockfileToCheck,
};
use settings::{Command, Flags, Settings, Target};
use std::collections::BTreeMap;

/// What a run produced.
pub enum Outcome {
    /// A check's report.
    Report(Report),
    /// What `lockgate db update` did, one line per ecosystem.
    Updated(Vec<String>),
    /// `lockgate watch` ran (and printed each cycle): its exit code.
    Watched(u8),
}

/// Runs what the command line asks: a check, or `lockgate db update`. A check reads the
/// configuration file of its repository, and goes by the [`Settings`] of both; `db update`
/// reads none.
pub fn run(flags: &Flags) -> Result<Outcome, Error> {
    match &flags.command {
        Command::UpdateDatabases {
            ecosystems,
            export_url,
        } => {
            let settings = Settings::new(flags, config::Loaded::default());
            update_databases(&settings, ecosystems, export_url).map(Outcome::Updated)
        }
        Command::Watch(command) => {
            let settings = Settings::new(flags, config::Loaded::default());
            watch_settings(&settings, command)
                .and_then(|settings| watch::run(&settings))
                .map(Outcome::Watched)
        }
        Command::Check(target) => {
            let repo = git::Repo::open()?;
            let mut loaded =
                config::load(flags.config.as_deref(), repo.workdir()).map_err(Error::Config)?;
            date_exemptions(&repo, &mut loaded, flags.now.unwrap_or_else(offline::now));
            let mut readings = Vec::new();
            let report = check(&repo, &Settings::new(flags, loaded), target, &mut readings);
            // The process ends after this one run: what the lockfiles locked (50,000 entries:
            // a few milliseconds to free, entry by entry) is left for the system to take back
            // with the rest of its memory.
            std::mem::forget(readings);
            report.map(Outcome::Report)
        }
    }
}

/// When each exemption that names versions was written: the commit that added it to the
/// repository's `.lockgate.toml` (as `HEAD` has it), else now (an exemption being committed).
/// An exemption written before the version it names was published does not apply to it.
fn date_exemptions(repo: &git::Repo, loaded: &mut config::Loaded, now: u64) {
    // Blame walks the file's history: only for a configuration that has something to date, so
    // that a commit touching no lockfile stays near-free.
    if loaded
        .config
        .exemptions
        .iter()
        .all(|exemption| exemption.versions.is_empty())
    {
        return;
    }
    let (Some(path), Some(root)) = (&loaded.path, repo.workdir()) else {
        return;
    };
    let Ok(relative) = path.strip_prefix(root) else {
        return;
    };
    let relative = relative.to_string_lossy().replace('\\', "/");
    let committed = repo
        .head_file_with_blame(&relative)
        .and_then(|(text, times)| {
            let config = config::Config::parse(&relative, &text).ok()?;
            Some((text, times, config))
        });
    for exemption in loaded.config.exemptions.iter_mut() {
        if exemption.versions.is_empty() {
            continue;
        }
        let at_head = committed.as_ref().and_then(|(text, times, config)| {
            let index = config.exemptions.iter().position(|old| {
                (&old.package, &old.versions, &old.check, &old.until)
                    == (
                        &exemption.package,
                        &exemption.versions,
                        &exemption.check,
                        &exemption.until,
                    )
            })?;
            // The `[[exempt]]` header of that entry.
            let line = text
                .lines()
                .enumerate()
                .filter(|(_, line)| line.trim() == "[[exempt]]")
                .nth(index)?
                .0;
            times.get(line).copied()
        });
        exemption.written = Some(at_head.unwrap_or(now));
    }
}

/// The report of a check that could not run: the failure as its one blocking problem, so that
/// `--format json` and `--format sarif` still print a whole report (the exit code stays 2).
pub fn failure_report(target: &Target, error: &Error) -> Report {
    let mut report = Report::new(target.mode());
    report.problems.push(error.as_problem());
    report
}

/// `lockgate db update`.
/// What `lockgate watch` needs: the repositories (listed files read, relative paths in them taken
/// from the list's folder), the state folder, the export.
fn watch_settings(
    settings: &Settings,
    command: &settings::WatchCommand,
) -> Result<watch::Settings, Error> {
    let cache = settings.cache_folder.clone().ok_or(Error::NoCacheFolder)?;
    let mut repositories = command.repositories.clone();
    for list in &command.lists {
        let text = std::fs::read_to_string(list).map_err(|source| Error::Io {
            action: "read the repository list",
            path: list.clone(),
            source,
        })?;
        let folder = list.parent().unwrap_or(std::path::Path::new("."));
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            repositories.push(folder.join(line));
        }
    }
    repositories.sort();
    repositories.dedup();
    if repositories.is_empty() {
        return Err(Error::Io {
            action: "find repositories to watch in",
            path: command.lists.first().cloned().unwrap_or_default(),
            source: std::io::Error::other("no repository named: give paths or --repos FILE"),
        });
    }
    let mut ecosystems = command.ecosystems.clone();
    ecosystems.dedup();
    Ok(watch::Settings {
        repositories,
        state: command.state.clone().unwrap_or_else(|| cache.join("watch")),
        export: offline::update::Settings {
            export_url: command.export_url.clone(),
            timeout: settings.timeout,
            connect_timeout: settings.connect_timeout,
            retries: settings.retries,
        },
        cache,
        ecosystems,
        since: command.since.clone(),
        interval: command.interval,
        cycles: command.cycles,
        all_advisories: command.all_advisories,
        format: command.format,
    })
}

fn update_databases(
    settings: &Settings,
    ecosystems: &[package::Ecosystem],
    export_url: &str,
) -> Result<Vec<String>, Error> {
    let cache = settings
        .cache_folder
        .as_deref()
        .ok_or(Error::NoCacheFolder)?;
    let mut wanted = ecosystems.to_vec();
    if wanted.is_empty() {
        wanted = ecosystem::ECOSYSTEMS.iter().map(|e| e.id).collect();
    }
    wanted.dedup();
    let export = offline::update::Settings {
        export_url: export_url.to_string(),
        timeout: settings.timeout,
        connect_timeout: settings.connect_timeout,
        retries: settings.retries,
    };
    let progress = progress::Progress::new(true);
    let outcomes = offline::update::update(cache, &export, &wanted, &|text| progress.say(text));
    progress.finish();
    let outcomes = outcomes.map_err(|source| Error::Database {
        folder: offline::root(cache),
        source,
    })?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| {
            let how = match outcome.change {
                offline::update::Change::Full => "built from the whole export".to_string(),
                offline::update::Change::Incremental(count) => {
                    format!("{count} changed records fetched")
                }
                offline::update::Change::UpToDate => "already up to date".to_string(),
            };
            format!(
                "lockgate: {}: {how}; {} records in {}",
                outcome.ecosystem,
                outcome.records,
                offline::root(cache)
                    .join(outcome.ecosystem.as_osv())
                    .display()
            )
        })
        .collect())
}

/// Runs one check of `target` as `settings` say, and returns its report: what the mode covers,
/// then the checks that need no advisory, then OSV's answers judged by the policy.
/// Whether a second CPU core is there to work on beside this thread (asked once).
pub(crate) fn second_core() -> bool {
    static SECOND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SECOND.get_or_init(|| std::thread::available_parallelism().is_ok_and(|cores| cores.get() > 1))
}

/// The lockfiles a check read, handed back to its caller to free or not.
type Readings = Vec<Vec<LockfileToCheck>>;

fn check(
    repo: &git::Repo,
    settings: &Settings,
    target: &Target,
    readings: &mut Readings,
) -> Result<Report, Error> {
    let (scope, mode) = gather(repo, target)?;
    // The lockfiles are read: the texts and parses kept for a second reading can go.
    repo.forget_recent();
    ecosystem::memo::forget();
    let mut report = Report::new(mode);
    // git writes MERGE_HEAD after its pre-merge-commit hook, which says so itself.
    report.merging = mode == Mode::Staged && (repo.is_merging() || settings.merging);
    report.problems = scope.problems;
    cilint::configure(&mut report.problems, &settings.ci_lint);
    // A lockfile that cannot be parsed is said once, where the parser stopped, even when the
    // lockfile check of its project finds it unreadable too.
    let mut unreadable = std::collections::BTreeSet::new();
    report.problems.retain(|problem| {
        problem.kind != ProblemKind::LockfileUnreadable || unreadable.insert(problem.path.clone())
    });
    report.read = scope.read;
    let lockfiles = scope.lockfiles;
    let history = scope.history;
    if lockfiles.is_empty() && history.is_empty() {
        return Ok(report);
    }

    let context = checks::Context {
        lockfiles: &lockfiles,
        settings,
    };
    for check in checks::CHECKS {
        check(&context, &mut report.problems);
    }
    let (mut where_locked, kept) = inventory(&mut report, &lockfiles, &history);
    let all_lockfiles: Vec<&LockfileToCheck> = lockfiles.iter().chain(&history).collect();
    // The project's own packages are named to no public service (in every mode alike, so that
    // the count means the same with --offline): counted, said, not looked up.
    let private = private::packages(settings, &all_lockfiles);
    where_locked.retain(|package, _| !private.contains(package));
    report.private = private.len();
    let packages: Vec<Package> = where_locked.keys().cloned().collect();
    // Entries whose version cannot be read were considered and not checked (each is a problem).
    let unreadable: std::collections::BTreeSet<Package> = lockfiles
        .iter()
        .flat_map(|lockfile| lockfile.locked.unreadable())
        .collect();
    report.unchecked = unreadable.len();
    if packages.is_empty() && private.is_empty() {
        return Ok(report);
    }

    let progress = progress::Progress::new(mode == Mode::All);
    // Release ages: what the lockfiles say now; the registries beside OSV. Not with --all: an
    // age only grows, and what a commit or push added was judged then.
    let (aged, wanted) = if mode == Mode::All {
        (Vec::new(), Vec::new())
    } else {
        age::plan(settings, &lockfiles)
    };
    report.problems.extend(aged);
    let (found, aged) = std::thread::scope(|scope| {
        let registries = scope.spawn(|| age::ask_registries(settings, &wanted));
        // Only private packages: OSV is not asked (nor the offline database opened).
        let found = if packages.is_empty() {
            lookup::Lookup::nothing()
        } else {
            lookup::lookup(settings, &packages, &progress)
        };
        let aged = registries.join().unwrap_or_else(|_| {
            // Never silently allowed: a check that stopped says so, and blocks.
            vec![report::Problem::new(
                ProblemKind::ReleaseAgeUnchecked,
                ".",
                "the registry check stopped unexpectedly: release ages are not checked",
                true,
            )]
        });
        (found, aged)
    });
    report.problems.extend(aged);
    report.problems.extend(found.problems);
    // Only what got an answer counts as checked.
    report.checked = packages.len() - found.unchecked;
    report.unchecked += found.unchecked;
    report.offline_databases = found.databases;
    let locked = locked_facts(&all_lockfiles, where_locked, private);
    let policy = check::Policy {
        fail_on: settings.fail_on,
        dev: settings.dev,
        ignores: &settings.ignores,
        today: report::civil_date(offline::now()),
        // An ignore is unused only if every package got a whole answer that did not need it.
        report_unused: mode == Mode::All && found.complete,
    };
    let decided = check::decide(
        &packages,
        &found.answers.ids,
        &found.answers.advisories,
        &locked,
        policy,
    );
    report.findings = decided.findings;
    if !history.is_empty() {
        // A vulnerability that a later pushed commit removed does not reach the ref; malware
        // stays in the history the push hands over.
        report.findings.retain(|finding| {
            finding.malicious
                || finding.record_unavailable
                || kept.contains(&(finding.lockfile.clone(), finding.package.clone()))
        });
    }
    name_commits(&mut report.findings, &scope.introduced_by);
    report.problems.extend(decided.problems);
    report.config = settings
        .config_path
        .as_ref()
        .map(|path| sanitize::clean(&path.display().to_string()).into_owned());
    locate(&all_lockfiles, &mut report.findings);
    readings.extend([lockfiles, history]);
    Ok(report)
}

/// What `target` covers, read from git, and the mode its report is in (the framework's
/// pre-push stage run by hand checks everything, as `--all`).
fn gather(repo: &git::Repo, target: &Target) -> Result<(scope::Scope, Mode), Error> {
    Ok(match target {
        Target::PrePush { remote } => (
            push_scope(repo, remote, &read_push_input()?)?,
            Mode::PrePush,
        ),
        Target::PrePushEnv => match framework_push_scope(repo)? {
            Some(scope) => (scope, target.mode()),
            None => (all_scope(repo)?, Mode::All),
        },
        Target::All => (all_scope(repo)?, Mode::All),
        Target::Staged => (staged_scope(repo)?, Mode::Staged),
    })
}

/// The lockfiles that lock each package.
type WhereLocked = BTreeMap<Package, Vec<String>>;
/// (lockfile, package) pairs a push's refs keep.
type Kept = std::collections::BTreeSet<(String, Package)>;

/// Which lockfiles lock each package to check (unpinned requirements as their names), listed
/// in the report with their non-registry dependencies; and what the refs keep, as (lockfile,
/// package): the history of a push adds the rest, looked up for malware only.
fn inventory(
    report: &mut Report,
    lockfiles: &[LockfileToCheck],
    history: &[LockfileToCheck],
) -> (WhereLocked, Kept) {
    let mut where_locked: BTreeMap<Package, Vec<String>> = BTreeMap::new();
    let mut lock = |package: Package, path: &str| {
        where_locked
            .entry(package)
            .or_default()
            .push(path.to_string());
    };
    for lockfile in lockfiles {
        for unpinned in &lockfile.locked.unpinned {
            lock(unpinned.package.clone(), &lockfile.path);
        }
        report
            .lockfiles
            .push(sanitize::clean(&lockfile.path).into_owned());
        for package in lockfile.locked.packages() {
            lock(package, &lockfile.path);
        }
        report.non_registry.extend(
            lockfile
                .locked
                .non_registry()
                .into_iter()
                .map(|dependency| NonRegistryEntry {
                    lockfile: sanitize::clean(&lockfile.path).into_owned(),
                    dependency: package::NonRegistry {
                        name: sanitize::clean(&dependency.name).into_owned(),
                        kind: dependency.kind,
                        source: sanitize::clean(&dependency.source).into_owned(),
                    },
                }),
        );
    }
    let kept = where_locked
        .iter()
        .flat_map(|(package, paths)| {
            paths
                .iter()
                .map(move |path| (sanitize::clean(path).into_owned(), cleaned(package)))
        })
        .collect();
    for lockfile in history {
        let path = sanitize::clean(&lockfile.path).into_owned();
        if !report.lockfiles.contains(&path) {
            report.lockfiles.push(path);
        }
        let names = lockfile
            .locked
            .unpinned
            .iter()
            .map(|unpinned| unpinned.package.clone());
        for package in lockfile.locked.packages().into_iter().chain(names) {
            where_locked
                .entry(package)
                .or_default()
                .push(lockfile.path.clone());
        }
    }
    (where_locked, kept)
}

/// Names the pushed commit that added each finding's package, with its subject.
fn name_commits(
    findings: &mut [report::Finding],
    introduced_by: &BTreeMap<(String, Package), (String, Option<String>)>,
) {
    for finding in findings {
        let key = (finding.lockfile.clone(), finding.package.clone());
        if let Some((commit, subject)) = introduced_by.get(&key) {
            finding.commit = Some(commit.clone());
            finding.commit_subject = subject
                .as_deref()
                .map(|subject| sanitize::clean(subject).chars().take(200).collect());
        }
    }
}

/// The line of each finding's entry in its lockfile, as its parser recorded it, and where the
/// lockfile records its edges, the chain of dependencies that brings it in.
fn locate(lockfiles: &[&LockfileToCheck], findings: &mut [report::Finding]) {
    // Each lockfile's entries by package as findings name them, and its chains, built once
    // for all its findings (a finding costs a lookup, not a pass over the lockfile).
    type Index<'a> = (
        std::collections::HashMap<Package, &'a package::Entry>,
        package::DependencyPaths<'a>,
    );
    let mut indexes: BTreeMap<String, Index<'_>> = BTreeMap::new();
    // The names findings name, by lockfile: only their entries are indexed.
    let mut named: BTreeMap<String, std::collections::HashSet<String>> = BTreeMap::new();
    for finding in findings.iter() {
        named
            .entry(finding.lockfile.clone())
            .or_default()
            .insert(finding.package.name.clone());
    }
    for finding in findings {
        if !indexes.contains_key(&finding.lockfile) {
            let Some(lockfile) = lockfiles
                .iter()
                .find(|lockfile| sanitize::clean(&lockfile.path) == finding.lockfile)
            else {
                continue;
            };
            let names = &named[&finding.lockfile];
            let mut entries = std::collections::HashMap::new();
            for entry in lockfile.locked.entries.iter().filter(|e| e.is_queryable()) {
                if names.contains(sanitize::clean(&entry.package.name).as_ref()) {
                    entries.entry(cleaned(&entry.package)).or_insert(entry);
                }
            }
            let whole = lockfile.whole.as_deref().unwrap_or(&lockfile.locked);
            indexes.insert(
                finding.lockfile.clone(),
                (entries, whole.dependency_paths()),
            );
        }
        let Some((entries, paths)) = indexes.get(&finding.lockfile) else {
            continue;
        };
        let Some(entry) = entries.get(&finding.package) else {
            continue;
        };
        finding.line = entry.line;
        finding.dependency_path = paths
            .path_to(&entry.package)
            .unwrap_or_default()
            .iter()
            .map(|step| sanitize::clean(step).into_owned())
            .collect();
    }
}

/// `package` as a finding names it, cleaned of terminal controls.
fn cleaned(package: &Package) -> Package {
    Package::new(
        package.ecosystem,
        sanitize::clean(&package.name).into_owned(),
        sanitize::clean(&package.version).into_owned(),
    )
}

/// What the lockfiles say of each package besides its version: which lockfiles lock it,
/// whether every one of them locks it for development only, and which are the project's own.
fn locked_facts(
    lockfiles: &[&LockfileToCheck],
    where_locked: BTreeMap<Package, Vec<String>>,
    private: std::collections::BTreeSet<Package>,
) -> check::Locked {
    let mut dev_only: std::collections::BTreeSet<Package> = where_locked.keys().cloned().collect();
    for entry in lockfiles
        .iter()
        .flat_map(|lockfile| &lockfile.locked.entries)
    {
        if entry.is_queryable() && !entry.dev {
            dev_only.remove(&entry.package);
        }
    }
    // Version-less packages (unpinned requirements) have no lockfile entry to say so.
    dev_only.retain(|package| !package.version.is_empty());
    check::Locked {
        lockfiles: where_locked,
        dev_only,
        private,
    }
}
