//! Before any advisory exists: a package version that a change adds and that was published less
//! than the minimum release age ago blocks, with its publish time and the moment it becomes
//! acceptable; so does a version the registry no longer serves (pulled), whatever its age.
//!
//! The publish time comes from the lockfile where it records one (uv.lock, pylock.toml,
//! composer.lock, pnpm's `time:`), without a request; else from the registry the lockfile
//! downloaded the package from (or the one `[registries]` names): npm today. A version whose
//! time cannot be had is said so, and blocks or not as `on-unreachable` says for OSV.

use crate::config::{Exemption, OnUnreachable};
use crate::ecosystem::npm::registry::{self, Published};
use crate::package::{Ecosystem, Entry, Package, Source};
use crate::private::Private;
use crate::report::{parse_rfc3339, rfc3339, Problem, ProblemKind};
use crate::scope::LockfileToCheck;
use crate::settings::Settings;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) mod project;

/// Registry requests in flight at once.
const PARALLEL: usize = crate::osv::MAX_PARALLEL_REQUESTS;

/// One package to ask a registry about: (ecosystem, registry, name), and where it is locked.
type Job<'a> = (&'a (Ecosystem, String, String), &'a Vec<&'a Wanted>);

/// One version to judge: where it is locked, and the registry to ask.
pub(crate) struct Wanted {
    lockfile: String,
    ecosystem: Ecosystem,
    name: String,
    version: String,
    registry: Option<String>,
    /// The minimum release age that applies, in seconds, and how to name it.
    minimum: (u64, String),
    /// The versions it replaces (an upgrade's other side), whose publishing evidence it must
    /// keep.
    replaces: Vec<String>,
    /// Resolved from a private registry (then only a private registry is asked about it).
    private: bool,
    /// The `Authorization` the project's settings give for its registry.
    authorization: Option<String>,
    /// Whether the registry's time decides its age (not when the lockfile gave it, or an
    /// exemption covers it).
    judge_age: bool,
    /// When the exemption that covers its age was written, where it names versions: it does
    /// not apply to a version published after it.
    exemption_written: Option<u64>,
    /// Whether the registry is to say if it runs an install script (npm, where the lockfile
    /// does not record it, and nothing approves it), and the versions it replaces.
    scripts: Option<Vec<String>>,
    /// The line of its entry.
    line: Option<usize>,
}

/// Who says when a version was published, for an exemption that came before it.
const PREDATES: &str = "its registry; the [[exempt]] that names it was written before it was \
                        published, so it does not apply";

/// The release-age problems the lockfiles answer themselves, and the versions to ask registries
/// about ([`ask_registries`], which may run beside the OSV lookup).
pub(crate) fn plan(
    settings: &Settings,
    lockfiles: &[LockfileToCheck],
) -> (Vec<Problem>, Vec<Wanted>) {
    let mut problems = Vec::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut seen = BTreeSet::new();
    for lockfile in lockfiles {
        let project = project::read(&lockfile.path, &lockfile.settings_files, settings.now);
        let approved = crate::checks::scripts::approved_for(settings, lockfile);
        let private = Private::around(settings, lockfile, &project);
        for entry in &lockfile.locked.entries {
            let minimum = minimum_for(settings, &project, &entry.package);
            if minimum.0 == 0 || !entry.is_queryable() {
                continue;
            }
            if !seen.insert((lockfile.path.clone(), entry.package.clone())) {
                continue;
            }
            let age_exemption = exemption(settings, entry, "release-age");
            // An exemption that names versions is dated; one written before the version it
            // names was published does not apply to it.
            let written = age_exemption.and_then(|exemption| exemption.written);
            let time = entry.uploaded.as_deref().and_then(parse_rfc3339);
            if let Some(time) = time {
                // The lockfile says when: no request for the age.
                let predates = written.is_some_and(|written| time > written);
                if age_exemption.is_none() || predates {
                    let said_by = if predates { PREDATES } else { "the lockfile" };
                    problems.extend(too_recent(
                        settings,
                        &lockfile.path,
                        entry,
                        time,
                        &minimum,
                        said_by,
                    ));
                }
            }
            let replaces = match settings.trust_downgrade {
                crate::config::CiRule::Off => Vec::new(),
                _ => lockfile
                    .replaced
                    .get(&entry.package)
                    .cloned()
                    .unwrap_or_default(),
            };
            // The registry: for the time the lockfile does not give, whether the version is
            // still served, and for an upgrade, how each side was published.
            if time.is_none() || !replaces.is_empty() {
                let registry = registry_for(settings, &project, &private, entry);
                wanted.push(Wanted {
                    lockfile: lockfile.path.clone(),
                    ecosystem: entry.package.ecosystem,
                    name: entry.package.name.clone(),
                    version: entry.package.version.clone(),
                    authorization: registry
                        .as_deref()
                        .and_then(|registry| project.authorization_for(registry))
                        .map(str::to_string),
                    registry,
                    minimum,
                    judge_age: time.is_none() && age_exemption.is_none(),
                    exemption_written: written.filter(|_| time.is_none()),
                    replaces,
                    private: private.entry(entry),
                    scripts: scripts_wanted(settings, lockfile, entry, &approved),
                    line: entry.line,
                });
            }
        }
    }
    (problems, wanted)
}

/// Where the registry is to say whether `entry` runs an install script: an npm entry whose
/// lockfile does not record it (npm lockfile v1, yarn, bun, pnpm 9), that nothing approves and
/// whose check is on; with the versions it replaces.
fn scripts_wanted(
    settings: &Settings,
    lockfile: &LockfileToCheck,
    entry: &Entry,
    approved: &BTreeSet<String>,
) -> Option<Vec<String>> {
    if entry.package.ecosystem != Ecosystem::Npm
        || entry.install_scripts.is_some()
        || crate::checks::scripts::is_approved(approved, &entry.package)
    {
        return None;
    }
    let before = lockfile.replaced.get(&entry.package).cloned();
    let check = match before {
        Some(_) => "install-script-gained",
        None => "install-script-new",
    };
    let off = settings.level(check) == crate::config::CiRule::Off;
    (!off && !exempt(settings, &entry.package, check)).then(|| before.unwrap_or_default())
}

/// What the registry says of the install scripts of `item` (as `evidence` has them): an upgrade
/// that gains one is a problem; a new package that runs one is returned to be said with the
/// others of its lockfile.
fn scripts_said(
    settings: &Settings,
    item: &Wanted,
    evidence: &BTreeMap<String, registry::Evidence>,
) -> (Option<Problem>, Option<NewScript>) {
    let Some(before) = &item.scripts else {
        return (None, None);
    };
    let runs = |version: &str| evidence.get(version).and_then(|said| said.install_script);
    if runs(&item.version) != Some(true) {
        return (None, None);
    }
    let package = Package::new(item.ecosystem, item.name.clone(), item.version.clone());
    if before.is_empty() {
        return (None, Some((item.lockfile.clone(), package, item.line)));
    }
    if !before.iter().all(|old| runs(old) == Some(false)) {
        return (None, None);
    }
    let level = settings.level("install-script-gained");
    let message = format!(
        "{} (as its registry says)",
        crate::checks::scripts::gained_message(&package, &before[0])
    );
    let problem = Problem::new(
        ProblemKind::InstallScriptGained,
        &item.lockfile,
        &message,
        level == crate::config::CiRule::Block,
    )
    .at(item.line.unwrap_or(0), 0);
    (Some(problem), None)
}

/// A new package a registry says runs an install script: its lockfile, and its entry's line.
type NewScript = (String, Package, Option<usize>);

/// The new packages the registries say run install scripts, said once per lockfile.
fn new_scripts_said(settings: &Settings, new: Vec<NewScript>) -> Vec<Problem> {
    let mut by_lockfile: BTreeMap<String, Vec<(Package, Option<usize>)>> = BTreeMap::new();
    for (lockfile, package, line) in new {
        by_lockfile
            .entry(lockfile)
            .or_default()
            .push((package, line));
    }
    let level = settings.level("install-script-new");
    by_lockfile
        .into_iter()
        .map(|(lockfile, mut packages)| {
            packages.sort();
            packages.dedup();
            let names: Vec<&Package> = packages.iter().map(|(package, _)| package).collect();
            let message = format!(
                "{} (as the registry says)",
                crate::checks::scripts::new_message(
                    ProblemKind::InstallScriptNew,
                    &crate::checks::scripts::summary(&names),
                    names.len() == 1,
                )
            );
            let line = packages.iter().filter_map(|(_, line)| *line).min();
            Problem::new(
                ProblemKind::InstallScriptNew,
                &lockfile,
                &message,
                level == crate::config::CiRule::Block,
            )
            .at(line.unwrap_or(0), 0)
        })
        .collect()
}

/// Whether an exemption for `check` covers `package` today.
pub(crate) fn exempt(settings: &Settings, package: &crate::package::Package, check: &str) -> bool {
    exemption_of(settings, package, check).is_some()
}

/// The exemption for `check` that covers `entry` today, if any.
fn exemption<'s>(settings: &'s Settings, entry: &Entry, check: &str) -> Option<&'s Exemption> {
    exemption_of(settings, &entry.package, check)
}

/// The exemption for `check` that covers `package` today, if any.
fn exemption_of<'s>(
    settings: &'s Settings,
    package: &crate::package::Package,
    check: &str,
) -> Option<&'s Exemption> {
    let today = rfc3339(settings.now)[..10].to_string();
    settings.exemptions.iter().find(|exemption: &&Exemption| {
        exemption.check == check
            && crate::ecosystem::glob::name_matches(&exemption.package, &package.name)
            && (exemption.versions.is_empty() || exemption.versions.contains(&package.version))
            && exemption
                .until
                .to_string()
                .get(..10)
                .is_some_and(|until| until >= today.as_str())
    })
}

/// The minimum release age for `ecosystem`: lockgate's, or the tool's own setting where that is
/// stricter; with how to name it.
fn minimum_for(
    settings: &Settings,
    project: &project::Project,
    package: &crate::package::Package,
) -> (u64, String) {
    let ecosystem = package.ecosystem;
    let own = settings.release_age.get(&ecosystem).copied().unwrap_or(0);
    match project.minimum_for(&package.name) {
        Some((seconds, named)) if *seconds > own && ecosystem_of_tool(ecosystem) => (
            *seconds,
            format!("{named}, stricter than lockgate's {}", age(own)),
        ),
        _ => (own, "lockgate's release-age".to_string()),
    }
}

/// Whether the tools whose settings are read lock packages of `ecosystem` (npm's tools and uv).
fn ecosystem_of_tool(ecosystem: Ecosystem) -> bool {
    matches!(ecosystem, Ecosystem::Npm | Ecosystem::PyPI)
}

/// The registry to ask about `entry`: the one its lockfile URL names, else the one the
/// project's settings name, else the configured one; for a private package, only a private
/// registry.
fn registry_for(
    settings: &Settings,
    project: &project::Project,
    private: &Private<'_>,
    entry: &Entry,
) -> Option<String> {
    let recorded = match &entry.source {
        Source::Registry { url: Some(url), .. } => match entry.package.ecosystem {
            Ecosystem::Npm => registry::registry_of(url, &entry.package.name),
            // An index (`https://…/simple`), not a file's URL.
            Ecosystem::PyPI => {
                let file = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".egg"]
                    .iter()
                    .any(|suffix| url.ends_with(suffix));
                let web = url.starts_with("https://") || url.starts_with("http://");
                (web && !file).then(|| url.clone())
            }
            _ => None,
        },
        _ => None,
    };
    let chosen = recorded
        .or_else(|| match entry.package.ecosystem {
            Ecosystem::Npm | Ecosystem::PyPI => project
                .registry_for(&entry.package.name)
                .map(str::to_string),
            _ => None,
        })
        .or_else(|| settings.registries.get(&entry.package.ecosystem).cloned())?;
    // A private package is never named to a registry that is not private.
    if private.entry(entry) {
        let host = crate::package::url_host(&chosen).unwrap_or_default();
        if !private.host(&host) {
            return None;
        }
    }
    Some(chosen)
}

/// The problem of a version published at `time`, if that is less than `minimum` seconds ago.
fn too_recent(
    settings: &Settings,
    lockfile: &str,
    entry: &Entry,
    time: u64,
    (minimum, named): &(u64, String),
    said_by: &str,
) -> Option<Problem> {
    let acceptable = time.saturating_add(*minimum);
    (acceptable > settings.now).then(|| {
        Problem::new(
            ProblemKind::ReleaseTooRecent,
            lockfile,
            &format!(
                "{}@{} was published {} ({} ago, as {said_by} says), under the minimum release \
                 age of {} ({named}): it is accepted from {}",
                entry.package.name,
                entry.package.version,
                rfc3339(time),
                age(settings.now.saturating_sub(time)),
                age(*minimum),
                rfc3339(acceptable),
            ),
            true,
        )
    })
}

/// `3 days 4 hours`, `2 hours`, `12 minutes`.
fn age(seconds: u64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    let unit =
        |count: u64, one: &str| format!("{count} {one}{}", if count == 1 { "" } else { "s" });
    match (days, hours) {
        (0, 0) => unit(minutes, "minute"),
        (0, _) => unit(hours, "hour"),
        (_, 0) => unit(days, "day"),
        _ => format!("{} {}", unit(days, "day"), unit(hours, "hour")),
    }
}

/// Asks each registry about the versions it serves, a few packages at a time: the release-age
/// and pulled-version problems of `wanted`.
pub(crate) fn ask_registries(settings: &Settings, wanted: &[Wanted]) -> Vec<Problem> {
    let mut problems = Vec::new();
    // (registry, name) → versions.
    let mut by_package: BTreeMap<(Ecosystem, String, String), Vec<&Wanted>> = BTreeMap::new();
    // (lockfile, why) → names: what cannot be asked, said once per lockfile.
    let mut unasked: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    // New packages the registries say run install scripts: said once per lockfile.
    let mut new_scripts = Vec::new();
    let cache = Cache::new(settings);
    for item in wanted {
        // Publish times never change: what was learnt once answers without a request.
        // An upgrade's evidence is only in the registry's document: no shortcut.
        let exact = item.replaces.is_empty() && item.exemption_written.is_none();
        if let (Some(registry), true) = (&item.registry, exact) {
            let cached = cache.read(registry, &item.name);
            // Whether an install script is to be known, and is.
            let scripts = cached.evidence();
            let scripts_known = item.scripts.as_ref().is_none_or(|before| {
                std::iter::once(&item.version)
                    .chain(before)
                    .all(|version| scripts.contains_key(version))
            });
            match cached.published(&item.version) {
                // Known only to be older than a time that is not old enough for today's
                // minimum: asked again.
                Some(Published::Before(time))
                    if time.saturating_add(item.minimum.0) > settings.now => {}
                Some(published) if scripts_known => {
                    problems.extend(judge(settings, item, Some(&published)));
                    let (gained, new) = scripts_said(settings, item, &scripts);
                    problems.extend(gained);
                    new_scripts.extend(new);
                    continue;
                }
                _ => {}
            }
        }
        // Its age is known; only the registry could say more (an upgrade's evidence).
        if !item.judge_age && (item.registry.is_none() || settings.offline) {
            continue;
        }
        match (&item.registry, item.ecosystem) {
            // No network: what the lockfiles do not say is not checked, and said so.
            _ if settings.offline => unasked
                .entry((
                    item.lockfile.clone(),
                    "--offline asks no registry".to_string(),
                ))
                .or_default()
                .push(format!("{}@{}", item.name, item.version)),
            (Some(registry), Ecosystem::Npm | Ecosystem::PyPI) => by_package
                .entry((item.ecosystem, registry.clone(), item.name.clone()))
                .or_default()
                .push(item),
            (None, _) if item.private => unasked
                .entry((
                    item.lockfile.clone(),
                    "it is private (from a private registry, or named so by the configuration), \
                     and lockgate names a private package to no registry that is not private"
                        .to_string(),
                ))
                .or_default()
                .push(format!("{}@{}", item.name, item.version)),
            (None, ecosystem @ (Ecosystem::Npm | Ecosystem::PyPI)) => unasked
                .entry((
                    item.lockfile.clone(),
                    format!(
                        "the lockfile records no {} for it: name it in [registries] of \
                         .lockgate.toml ({ecosystem} = \"https://…\")",
                        if ecosystem == Ecosystem::Npm {
                            "download URL"
                        } else {
                            "index"
                        }
                    ),
                ))
                .or_default()
                .push(format!("{}@{}", item.name, item.version)),
            (_, other) => unasked
                .entry((
                    item.lockfile.clone(),
                    format!(
                        "the lockfile records no upload time, and lockgate does not ask {other} \
                         registries yet"
                    ),
                ))
                .or_default()
                .push(format!("{}@{}", item.name, item.version)),
        }
    }
    // A configuration gap, not an outage: said, not blocking.
    for ((lockfile, why), names) in unasked {
        let shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
        let more = match names.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        problems.push(Problem::new(
            ProblemKind::ReleaseAgeUnchecked,
            &lockfile,
            &format!(
                "release age not checked for {}{more}: {why}",
                shown.join(", ")
            ),
            false,
        ));
    }
    if by_package.is_empty() {
        problems.extend(new_scripts_said(settings, new_scripts));
        return problems;
    }
    let client = crate::osv::Client::new(&crate::osv::Settings {
        base_url: String::new(),
        timeout: settings.timeout,
        connect_timeout: settings.connect_timeout,
        retries: settings.retries,
        deadline: Some(settings.deadline),
    });
    let jobs: Vec<Job<'_>> = by_package.iter().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = std::sync::Mutex::new(Vec::new());
    let new_scripts = std::sync::Mutex::new(new_scripts);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(jobs.len()) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(((ecosystem, base, name), items)) = jobs.get(index) else {
                    break;
                };
                let versions: Vec<&str> = items.iter().map(|item| item.version.as_str()).collect();
                // The earliest cutoff of the lockfiles that lock it: an answer that this version
                // is older than it holds for every one of them.
                let minimum = items.iter().map(|item| item.minimum.0).max().unwrap_or(0);
                let cutoff = settings.now.saturating_sub(minimum);
                let replaced: Vec<&str> = items
                    .iter()
                    .flat_map(|item| item.replaces.iter().map(String::as_str))
                    .collect();
                // The versions whose install scripts are to be known besides `versions`.
                let mut also: Vec<&str> = items
                    .iter()
                    .flat_map(|item| item.scripts.iter().flatten().map(String::as_str))
                    .chain(replaced.iter().copied())
                    .collect();
                also.sort_unstable();
                also.dedup();
                let mut evidence = BTreeMap::new();
                let at = crate::ecosystem::RegistryAt {
                    base,
                    authorization: items.first().and_then(|item| item.authorization.as_deref()),
                };
                let answer = match ecosystem {
                    Ecosystem::PyPI => crate::ecosystem::pypi::registry::published(
                        &client, &at, name, &versions, &replaced,
                    )
                    .map(|(published, found)| {
                        evidence = found;
                        published
                    }),
                    // An upgrade (the full document says how each side was published), or a
                    // dated exemption (it needs the exact time).
                    _ if !replaced.is_empty()
                        || items.iter().any(|item| item.exemption_written.is_some()) =>
                    {
                        registry::published_with_evidence(&client, &at, name, &versions, &also).map(
                            |(published, found)| {
                                evidence = found;
                                published
                            },
                        )
                    }
                    _ => registry::published(&client, &at, name, &versions, &also, cutoff).map(
                        |(published, found)| {
                            evidence = found;
                            published
                        },
                    ),
                };
                if let Ok(published) = &answer {
                    cache.put(base, name, published, &evidence);
                }
                let mut new = Vec::new();
                let judged: Vec<Problem> = match answer {
                    Ok(published) => items
                        .iter()
                        .flat_map(|item| {
                            let (gained, is_new) = scripts_said(settings, item, &evidence);
                            new.extend(is_new);
                            judge(settings, item, published.get(&item.version))
                                .into_iter()
                                .chain(downgrade(settings, item, &evidence))
                                .chain(gained)
                        })
                        .collect(),
                    Err(error) => items
                        .iter()
                        .map(|item| unchecked(settings, item, crate::error::chain(&error)))
                        .collect(),
                };
                if let Ok(mut found) = found.lock() {
                    found.extend(judged);
                }
                if let Ok(mut said) = new_scripts.lock() {
                    said.extend(new);
                }
            });
        }
    });
    problems.extend(found.into_inner().unwrap_or_default());
    problems.extend(new_scripts_said(
        settings,
        new_scripts.into_inner().unwrap_or_default(),
    ));
    problems
}

/// Publish times learnt from registries, kept with no expiry under `<cache>/published/`: one
/// file per registry and package, `{"at": {version: seconds}, "before": {version: seconds}}`
/// (`before`: published before that time, the document's `modified`). Pulled versions are
/// not kept: they are asked again.
struct Cache {
    folder: Option<std::path::PathBuf>,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct CachedTimes {
    #[serde(default)]
    at: BTreeMap<String, u64>,
    #[serde(default)]
    before: BTreeMap<String, u64>,
    /// Whether each version runs an install script, where the registry said.
    #[serde(default)]
    scripts: BTreeMap<String, bool>,
}

impl CachedTimes {
    /// What is known of when `version` was published.
    fn published(&self, version: &str) -> Option<Published> {
        self.at
            .get(version)
            .map(|&time| Published::At(time))
            .or_else(|| {
                self.before
                    .get(version)
                    .map(|&time| Published::Before(time))
            })
    }

    /// What is known of each version's install scripts.
    fn evidence(&self) -> BTreeMap<String, registry::Evidence> {
        self.scripts
            .iter()
            .map(|(version, &script)| {
                let said = registry::Evidence {
                    install_script: Some(script),
                    ..registry::Evidence::default()
                };
                (version.clone(), said)
            })
            .collect()
    }
}

/// The largest cache file read.
const MAX_CACHED: u64 = 4 * 1024 * 1024;

impl Cache {
    fn new(settings: &Settings) -> Cache {
        Cache {
            folder: (!settings.no_cache)
                .then(|| {
                    settings
                        .cache_folder
                        .as_ref()
                        .map(|folder| folder.join("published"))
                })
                .flatten(),
        }
    }

    fn path(&self, registry: &str, name: &str) -> Option<std::path::PathBuf> {
        let key = format!("{registry}\t{name}");
        Some(self.folder.as_ref()?.join(format!(
            "{:016x}.json",
            crate::offline::fnv1a(key.as_bytes())
        )))
    }

    fn read(&self, registry: &str, name: &str) -> CachedTimes {
        use std::io::Read as _;
        let Some(path) = self.path(registry, name) else {
            return CachedTimes::default();
        };
        let mut text = Vec::new();
        let read = std::fs::File::open(&path)
            .and_then(|file| file.take(MAX_CACHED).read_to_end(&mut text));
        match read {
            // A file that does not read back is not trusted; it is asked again.
            Ok(_) => serde_json::from_slice(&text).unwrap_or_default(),
            Err(_) => CachedTimes::default(),
        }
    }

    fn put(
        &self,
        registry: &str,
        name: &str,
        published: &BTreeMap<String, Published>,
        evidence: &BTreeMap<String, registry::Evidence>,
    ) {
        let Some(path) = self.path(registry, name) else {
            return;
        };
        let mut cached = self.read(registry, name);
        for (version, answer) in published {
            match answer {
                Published::At(time) => {
                    cached.at.insert(version.clone(), *time);
                }
                Published::Before(time) => {
                    cached.before.insert(version.clone(), *time);
                }
                Published::Pulled(_) | Published::Unknown(_) => {}
            }
        }
        for (version, said) in evidence {
            if let Some(script) = said.install_script {
                cached.scripts.insert(version.clone(), script);
            }
        }
        let Ok(bytes) = serde_json::to_vec(&cached) else {
            return;
        };
        // Best effort: a cache that cannot be written only costs a request next time.
        if let Some(folder) = path.parent() {
            let _ = std::fs::create_dir_all(folder);
        }
        let temporary = path.with_extension(format!("tmp-{}", crate::offline::unique_suffix()));
        if std::fs::write(&temporary, bytes).is_err() || std::fs::rename(&temporary, &path).is_err()
        {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

/// The problem, if any, of what the registry said of one version.
fn judge(settings: &Settings, item: &Wanted, published: Option<&Published>) -> Option<Problem> {
    let entry = Entry::registry(crate::package::Package::new(
        item.ecosystem,
        item.name.clone(),
        item.version.clone(),
    ));
    match published? {
        Published::Before(_) => None,
        Published::At(time)
            if item
                .exemption_written
                .is_some_and(|written| *time > written) =>
        {
            too_recent(
                settings,
                &item.lockfile,
                &entry,
                *time,
                &item.minimum,
                PREDATES,
            )
        }
        Published::At(_) if !item.judge_age => None,
        Published::At(time) => too_recent(
            settings,
            &item.lockfile,
            &entry,
            *time,
            &item.minimum,
            "its registry",
        ),
        Published::Pulled(why) if !exempt(settings, &entry.package, "pulled") => {
            Some(Problem::new(
                ProblemKind::VersionPulled,
                &item.lockfile,
                &format!(
                    "{}@{} is no longer served by its registry: {why}. Registries pull malware \
                 before advisories name it; lock another version",
                    item.name, item.version
                ),
                true,
            ))
        }
        Published::Pulled(_) => None,
        Published::Unknown(_) if !item.judge_age => None,
        Published::Unknown(why) => Some(unchecked(settings, item, why.clone())),
    }
}

/// An upgrade to a version published with less evidence than a version it replaces: without
/// provenance, or without the trusted publisher (OIDC from CI) it had. Known false positives
/// exist (a maintainer publishing by hand once), so it warns unless `trust-downgrade` says block.
fn downgrade(
    settings: &Settings,
    item: &Wanted,
    evidence: &BTreeMap<String, registry::Evidence>,
) -> Option<Problem> {
    let new = evidence.get(&item.version)?;
    let mut lost = Vec::new();
    for old in &item.replaces {
        let Some(had) = evidence.get(old) else {
            continue;
        };
        if had.attested && !new.attested {
            lost.push(format!(
                "{old} had provenance attestations, {} has none",
                item.version
            ));
        }
        if had.trusted_publisher && !new.trusted_publisher {
            lost.push(format!(
                "{old} was published by a trusted publisher (from CI), {} was not",
                item.version
            ));
        }
    }
    let entry = Entry::registry(crate::package::Package::new(
        item.ecosystem,
        item.name.clone(),
        item.version.clone(),
    ));
    if lost.is_empty() || exempt(settings, &entry.package, "provenance") {
        return None;
    }
    lost.dedup();
    Some(Problem::new(
        ProblemKind::TrustDowngrade,
        &item.lockfile,
        &format!(
            "{} upgraded to {} with less evidence of who published it: {}. A stolen token \
             publishes this way; check the release before trusting it",
            item.name,
            item.version,
            lost.join("; ")
        ),
        settings.trust_downgrade == crate::config::CiRule::Block,
    ))
}

/// A version whose publish time could not be had: blocking unless `on-unreachable` says warn
/// (with `offline`, the cache answered what it could before the registry was asked, as the
/// offline database does for OSV; what it lacks stays unchecked and blocks).
fn unchecked(settings: &Settings, item: &Wanted, why: String) -> Problem {
    Problem::new(
        ProblemKind::ReleaseAgeUnchecked,
        &item.lockfile,
        &format!(
            "{}@{}: its publish time could not be had ({why}), so its release age is not checked",
            item.name, item.version
        ),
        settings.on_unreachable != OnUnreachable::Warn,
    )
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(90), "1 minute");
        assert_eq!(age(7200), "2 hours");
        assert_eq!(age(3 * 86_400), "3 days");
        assert_eq!(age(86_400 + 3600 * 5), "1 day 5 hours");
    }
}
