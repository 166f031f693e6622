//! lockgate: a git hook that stops malicious and vulnerable dependencies before they are committed.
//!
//! [`run`] is the whole program in order: collect lockfile changes from git → parse both sides →
//! work out what is new → local checks (lockfile presence and sync with package.json) → ask OSV
//! about exactly what is new → decide → hand back a [`Report`].
#![forbid(unsafe_code)]

pub mod advisory;
pub mod check;
pub mod cli;
pub mod error;
pub mod git;
pub mod lockfile;
pub mod npm_sync;
pub mod osv;
pub mod package;
pub mod report;
pub mod sanitize;

pub use error::Error;
pub use report::Report;

use cli::Cli;
use lockfile::LockfileKind;
use package::{LockedSet, Package};
use report::{Mode, NonRegistryEntry, Problem, ProblemKind};
use std::collections::BTreeMap;

/// One lockfile and the dependencies to check in it.
struct LockfileToCheck {
    path: String,
    locked: LockedSet,
}

/// Runs one check as the command line asks, and returns its report.
pub fn run(cli: &Cli) -> Result<Report, Error> {
    let mode = if cli.all { Mode::All } else { Mode::Staged };
    let repo = git::Repo::open()?;
    let (lockfiles, sync_triggers) = match mode {
        Mode::Staged => {
            let changes = repo.staged_changes(|path| {
                LockfileKind::from_path(path).is_some() || npm_sync::is_trigger(path)
            })?;
            let triggers: Vec<String> = changes
                .iter()
                .filter(|change| npm_sync::is_trigger(&change.path))
                .map(|change| change.path.clone())
                .collect();
            (staged_additions(&repo, changes)?, triggers)
        }
        Mode::All => (tracked_lockfiles(&repo)?, Vec::new()),
    };
    let mut report = Report::new(mode);

    // Local checks: each npm project the change touches needs a lockfile npm ci would accept.
    report
        .problems
        .extend(local_checks(&repo, mode, &sync_triggers)?);

    if lockfiles.is_empty() {
        return Ok(report);
    }

    let mut where_locked: BTreeMap<Package, Vec<String>> = BTreeMap::new();
    for lockfile in &lockfiles {
        report
            .lockfiles
            .push(sanitize::clean(&lockfile.path).into_owned());
        for package in &lockfile.locked.packages {
            where_locked
                .entry(package.clone())
                .or_default()
                .push(lockfile.path.clone());
        }
        report
            .non_registry
            .extend(
                lockfile
                    .locked
                    .non_registry
                    .iter()
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
    let packages: Vec<Package> = where_locked.keys().cloned().collect();
    report.checked = packages.len();
    if packages.is_empty() {
        return Ok(report);
    }

    let settings = osv::Settings {
        base_url: cli.osv_url.clone(),
        timeout: cli.timeout,
        connect_timeout: cli.connect_timeout,
        retries: cli.retries,
    };
    match osv::Client::new(&settings).lookup(&packages) {
        Ok(answers) => {
            let policy = check::Policy {
                fail_on_vuln: cli.fail_on_vuln,
            };
            report.findings = check::findings(
                &packages,
                &answers.ids,
                &answers.advisories,
                &where_locked,
                policy,
            );
        }
        Err(source) if cli.fail_open => {
            report.problems.push(Problem::new(
                ProblemKind::AdvisorySourceUnavailable,
                &cli.osv_url,
                &format!("OSV could not be asked ({source}); allowing because of --fail-open"),
                false,
            ));
        }
        Err(source) => {
            return Err(Error::Osv {
                url: cli.osv_url.clone(),
                source,
            })
        }
    }
    Ok(report)
}

/// Lockfile presence and sync with package.json, read from the index, offline. In the staged
/// mode only the projects whose package.json or npm lockfile changed are read; a commit that
/// touches neither costs nothing here.
fn local_checks(
    repo: &git::Repo,
    mode: Mode,
    sync_triggers: &[String],
) -> Result<Vec<Problem>, Error> {
    if mode == Mode::Staged && sync_triggers.is_empty() {
        return Ok(Vec::new());
    }
    let tree = git::IndexTree::new(repo)?;
    let projects = match mode {
        Mode::Staged => npm_sync::staged_projects(&tree, sync_triggers)?,
        Mode::All => npm_sync::all_projects(&tree)?,
    };
    let mut problems = Vec::new();
    for project in projects {
        problems.extend(npm_sync::check_project(&tree, &project)?);
    }
    Ok(problems)
}

/// Staged lockfiles, each with what it locks that `HEAD`'s version did not.
fn staged_additions(
    repo: &git::Repo,
    changes: Vec<git::Change>,
) -> Result<Vec<LockfileToCheck>, Error> {
    let mut lockfiles = Vec::new();
    for change in changes {
        let (Some(new), Some(kind)) = (change.new, LockfileKind::from_path(&change.path)) else {
            continue; // A deleted lockfile adds nothing.
        };
        let staged = parse(repo, kind, &change.path, new)?;
        // An unreadable old version cannot vouch for anything: then all of the new one is new.
        let old = change
            .old
            .and_then(|old| parse(repo, kind, &change.path, old).ok())
            .unwrap_or_default();
        lockfiles.push(LockfileToCheck {
            locked: staged.added_since(&old),
            path: change.path,
        });
    }
    Ok(lockfiles)
}

/// Every lockfile in the index, whole.
fn tracked_lockfiles(repo: &git::Repo) -> Result<Vec<LockfileToCheck>, Error> {
    let files = repo.staged_files(|path| LockfileKind::from_path(path).is_some())?;
    let mut lockfiles = Vec::new();
    for (path, oid) in files {
        let Some(kind) = LockfileKind::from_path(&path) else {
            continue;
        };
        lockfiles.push(LockfileToCheck {
            locked: parse(repo, kind, &path, oid)?,
            path,
        });
    }
    Ok(lockfiles)
}

fn parse(
    repo: &git::Repo,
    kind: LockfileKind,
    path: &str,
    oid: git2::Oid,
) -> Result<LockedSet, Error> {
    let bytes = repo.read_blob(path, oid)?;
    lockfile::decode(&bytes)
        .and_then(|text| kind.parse(text))
        .map_err(|error| Error::Parse {
            path: sanitize::clean(path).into_owned(),
            line: error.line,
            column: error.column,
            message: error.message,
        })
}
