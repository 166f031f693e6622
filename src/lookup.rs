//! Where the advisories for a run come from: OSV (through the result cache), or the offline
//! database with `--offline`, and what happens when OSV cannot be reached (`--on-unreachable`:
//! block, warn, or answer from the offline database). Whatever could not be checked becomes a
//! problem in the report, never a silent "clean".

use crate::advisory::Advisory;
use crate::config::OnUnreachable;
use crate::offline::Database;
use crate::osv::{self, Answers};
use crate::package::{Ecosystem, Package};
use crate::progress::Progress;
use crate::report::{plural, DatabaseNote, Problem, ProblemKind};
use crate::settings::Settings;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The advisories found, with what the report must say about where they came from.
pub struct Lookup {
    /// Record ids per package (in the order asked; empty for a package not checked) and the
    /// records.
    pub answers: Answers,
    /// Packages that went unchecked, stale data, OSV outages.
    pub problems: Vec<Problem>,
    /// The offline databases answered from.
    pub databases: Vec<DatabaseNote>,
    /// Packages that went without an answer (OSV and the database could not be asked).
    pub unchecked: usize,
    /// Whether every package has a whole answer: none unchecked, and every record named read.
    pub complete: bool,
}

impl Lookup {
    /// The answer when nothing is to be asked: nothing found, nothing left unchecked.
    pub fn nothing() -> Lookup {
        Lookup::clean(0)
    }

    /// Nothing found for any of `count` packages, nothing left unchecked, no problems.
    fn clean(count: usize) -> Lookup {
        Lookup {
            answers: Answers {
                ids: vec![Vec::new(); count],
                advisories: BTreeMap::new(),
                unfetched: None,
            },
            problems: Vec::new(),
            databases: Vec::new(),
            unchecked: 0,
            complete: true,
        }
    }

    fn unchecked(packages: &[Package], problem: Problem) -> Lookup {
        Lookup {
            problems: vec![problem],
            unchecked: packages.len(),
            complete: false,
            ..Lookup::clean(packages.len())
        }
    }
}

/// Looks `packages` up as `settings` say.
pub fn lookup(settings: &Settings, packages: &[Package], progress: &Progress) -> Lookup {
    if settings.offline {
        return offline(settings, packages);
    }
    // Where lockgate remembers that OSV could not be reached, and when.
    let memory = settings
        .cache_folder
        .as_ref()
        .map(|cache| cache.join(UNREACHABLE_FILE));
    let now = crate::offline::now();
    if settings.on_unreachable == OnUnreachable::Offline {
        let since = memory.as_deref().and_then(|file| seconds_since(file, now));
        if let Some(ago) = since.filter(|ago| *ago < UNREACHABLE_MEMORY) {
            return offline_instead(
                settings,
                packages,
                format!(
                    "OSV could not be reached {ago} s ago: answered from the offline database \
                     without waiting on the network (OSV is asked again {UNREACHABLE_MEMORY} s \
                     after it failed)"
                ),
            );
        }
    }
    match ask_osv(settings, packages, progress) {
        Ok(answered) => {
            if let Some(file) = &memory {
                let _ = std::fs::remove_file(file);
            }
            answered
        }
        Err(error) => {
            if settings.on_unreachable == OnUnreachable::Offline {
                if let Some(file) = &memory {
                    // Best effort: without it the next run only waits on the network again.
                    if let Some(folder) = file.parent() {
                        let _ = std::fs::create_dir_all(folder);
                    }
                    let _ = std::fs::write(file, now.to_string());
                }
            }
            unreachable(settings, packages, &error)
        }
    }
}

/// OSV's answers (through the cache) for `packages`; a batch left unanswered is a problem.
fn ask_osv(
    settings: &Settings,
    packages: &[Package],
    progress: &Progress,
) -> Result<Lookup, osv::OsvError> {
    let connection = osv::Settings {
        base_url: settings.osv_url.clone(),
        timeout: settings.timeout,
        connect_timeout: settings.connect_timeout,
        retries: settings.retries,
        deadline: Some(settings.deadline),
    };
    let cache = crate::cache::Cache::open(settings);
    let answered = crate::cache::lookup(
        &osv::Client::new(&connection),
        cache.as_ref(),
        packages,
        &|step| progress.step(step),
    );
    progress.finish();
    let mut answers = answered?;
    let complete = answers.unfetched.is_none();
    let problems = answers
        .unfetched
        .take()
        .map(|error| unfetched_problem(&settings.osv_url, &answers, &error))
        .into_iter()
        .collect();
    Ok(Lookup {
        answers,
        problems,
        databases: Vec::new(),
        unchecked: 0,
        complete,
    })
}

/// The offline database's answers, said to stand in for OSV's because of `why`.
fn offline_instead(settings: &Settings, packages: &[Package], why: String) -> Lookup {
    let mut answered = offline(settings, packages);
    answered.problems.insert(
        0,
        Problem::new(
            ProblemKind::AdvisorySourceUnavailable,
            &settings.osv_url,
            &why,
            false,
        ),
    );
    answered
}

/// What happens when OSV cannot be asked: `--on-unreachable` decides.
fn unreachable(settings: &Settings, packages: &[Package], error: &osv::OsvError) -> Lookup {
    let reason = format!(
        "OSV could not be asked about {} ({})",
        plural(packages.len(), "package", "packages"),
        crate::error::chain(error)
    );
    let (message, blocking) = match settings.on_unreachable {
        OnUnreachable::Offline => {
            return offline_instead(
                settings,
                packages,
                format!("{reason}; answered from the offline database instead"),
            );
        }
        OnUnreachable::Warn => (
            format!("{reason}; allowing, as --fail-open / --on-unreachable=warn says"),
            false,
        ),
        OnUnreachable::Block => (
            format!(
                "{reason}; blocking, because lockgate fails closed. Ways forward: retry once the \
                 network is back; or keep a copy of OSV's database (`lockgate db update`) and \
                 answer from it whenever OSV cannot be reached (`--on-unreachable=offline`, \
                 `LOCKGATE_ON_UNREACHABLE=offline`, or `on-unreachable = \"offline\"` in \
                 .lockgate.toml); or warn and allow (`--fail-open`); or, as a last resort, skip \
                 the hook once with `git {} --no-verify`",
                if settings.is_pre_push_hook() {
                    "push"
                } else {
                    "commit"
                }
            ),
            true,
        ),
    };
    Lookup::unchecked(
        packages,
        Problem::new(
            ProblemKind::AdvisorySourceUnavailable,
            &settings.osv_url,
            &message,
            blocking,
        ),
    )
}

/// Answers from the offline database of each ecosystem. An ecosystem without one (or with one
/// that cannot be read) leaves its packages unchecked, which blocks unless failing open.
fn offline(settings: &Settings, packages: &[Package]) -> Lookup {
    let mut lookup = Lookup::clean(packages.len());
    let mut by_ecosystem: BTreeMap<Ecosystem, Vec<usize>> = BTreeMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_ecosystem
            .entry(package.ecosystem)
            .or_default()
            .push(index);
    }
    let cache = settings.cache_folder.as_ref();
    let blocking = settings.on_unreachable != OnUnreachable::Warn;
    for (ecosystem, indexes) in by_ecosystem {
        let asked: Vec<&Package> = indexes.iter().map(|&index| &packages[index]).collect();
        let (database, ids, records) = match ask_database(cache, ecosystem, &asked) {
            Ok(answered) => answered,
            Err(why) => {
                lookup.problems.push(Problem::new(
                    ProblemKind::AdvisoryDataMissing,
                    &database_path(cache, ecosystem),
                    &format!(
                        "{} of {ecosystem} not checked: {why}; run `lockgate db update \
                         --ecosystem {ecosystem}`",
                        plural(indexes.len(), "package", "packages")
                    ),
                    blocking,
                ));
                lookup.unchecked += indexes.len();
                lookup.complete = false;
                continue;
            }
        };
        for (slot, found) in indexes.iter().zip(ids) {
            lookup.answers.ids[*slot] = found;
        }
        lookup.answers.advisories.extend(records);
        let note = DatabaseNote::new(ecosystem, &database.meta, crate::offline::now());
        if note.age_days > settings.max_db_age {
            lookup.problems.push(Problem::new(
                ProblemKind::AdvisoryDataStale,
                &database_path(cache, ecosystem),
                &format!(
                    "the offline database of {ecosystem} was last updated {} days ago (more \
                     than {}); malware published since is not in it: run `lockgate db update`",
                    note.age_days, settings.max_db_age
                ),
                false,
            ));
        }
        lookup.databases.push(note);
    }
    lookup
}

/// An offline database, the ids it names for each package asked about, and their records.
type DatabaseAnswer = (Database, Vec<Vec<String>>, BTreeMap<String, Advisory>);

/// What `ecosystem`'s offline database in `cache` says of `asked`: the database, the ids it
/// names for each package (in order) and their records; else why it cannot answer.
fn ask_database(
    cache: Option<&PathBuf>,
    ecosystem: Ecosystem,
    asked: &[&Package],
) -> Result<DatabaseAnswer, String> {
    let cache = cache.ok_or("there is no cache folder (set LOCKGATE_CACHE_DIR)")?;
    let unreadable = |error| format!("the offline database cannot be read ({error})");
    let database = Database::open(cache, ecosystem)
        .map_err(unreadable)?
        .ok_or("the offline database has no data for it")?;
    let ids = database.lookup(asked).map_err(unreadable)?;
    let mut unique: Vec<String> = ids.iter().flatten().cloned().collect();
    unique.sort();
    unique.dedup();
    let records = database.records(&unique).map_err(unreadable)?;
    Ok((database, ids, records))
}

/// The file in the cache folder that remembers when OSV was last found unreachable.
const UNREACHABLE_FILE: &str = "osv-unreachable";
/// For how long after OSV could not be reached a run with `on-unreachable = "offline"` goes
/// straight to the offline database instead of waiting on the network again.
const UNREACHABLE_MEMORY: u64 = 300;

/// Seconds since the Unix time written in `file`, when it holds one not in the future.
fn seconds_since(file: &std::path::Path, now: u64) -> Option<u64> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(file)
        .ok()?
        .take(32)
        .read_to_string(&mut text)
        .ok()?;
    now.checked_sub(text.trim().parse().ok()?)
}

/// OSV named records it then did not hand over: the packages they name block whatever the
/// policy, because an unread record cannot be told apart from malware.
fn unfetched_problem(url: &str, answers: &Answers, error: &osv::OsvError) -> Problem {
    let missing: std::collections::BTreeSet<&String> = answers
        .ids
        .iter()
        .flatten()
        .filter(|id| !answers.advisories.contains_key(*id))
        .collect();
    let listed: Vec<&str> = missing.iter().take(5).map(|id| id.as_str()).collect();
    Problem::new(
        ProblemKind::AdvisorySourceUnavailable,
        url,
        &format!(
            "OSV named {} it could not then hand over ({}): {}{}; the packages they name are \
             blocked as if malware, whatever --fail-open says, until the records can be read",
            plural(missing.len(), "record", "records"),
            crate::error::chain(error),
            listed.join(", "),
            if missing.len() > listed.len() {
                ", …"
            } else {
                ""
            }
        ),
        false,
    )
}

fn database_path(cache: Option<&PathBuf>, ecosystem: Ecosystem) -> String {
    match cache {
        Some(cache) => crate::offline::root(cache)
            .join(ecosystem.as_osv())
            .display()
            .to_string(),
        None => format!("offline database ({ecosystem})"),
    }
}
