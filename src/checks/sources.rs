//! Where entries are downloaded from.

use super::Context;
use crate::config::CiRule;
use crate::ecosystem;
use crate::package::{url_host, Entry, LockedSet, Package, Source, SourceKind};
use crate::report::{Problem, ProblemKind};
use crate::scope::{LockfileToCheck, UrlChange};
use std::collections::{BTreeMap, BTreeSet};

/// Entries a change adds that download over plain `http:` (a registry's or any other URL): anyone
/// on the path can swap the tarball. Loopback hosts (a registry on this machine) are not
/// reported: that traffic never leaves it.
pub(super) fn insecure_downloads(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("download-insecure");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let mut seen = std::collections::BTreeSet::new();
        for entry in &lockfile.locked.entries {
            let source = match &entry.source {
                Source::Registry { url: Some(url), .. } => Some(url),
                Source::Other { location, .. } => Some(location),
                Source::Registry { url: None, .. } => None,
            };
            // Its source, else the first of its files (Python) fetched over plain http.
            let plain = |url: &&String| {
                url.get(..7)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
                    && !is_loopback(&url_host(url).unwrap_or_default())
            };
            let Some(url) = source.into_iter().chain(&entry.downloads).find(plain) else {
                continue;
            };
            if !seen.insert(url.clone()) || context.exempt(&entry.package, "download-insecure") {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::DownloadInsecure,
                    &lockfile.path,
                    &format!(
                        "{}@{} downloads over plain http ({url}): anyone on the way can replace \
                         it. Use the registry's https address and lock it again",
                        entry.package.name, entry.package.version
                    ),
                    level == CiRule::Block,
                )
                .at(entry.line.unwrap_or(0), 0),
            );
        }
    }
}

/// Whether `host` is this machine: traffic to it never leaves it.
fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1") || host.starts_with("127.")
}

/// A URL for a message: as written, cut short.
fn shown(url: &str) -> String {
    let cut: String = url.chars().take(160).collect();
    if cut.len() < url.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// `name@version`, or the name alone for an entry that states no version.
fn described(package: &Package) -> String {
    if package.version.is_empty() {
        package.name.clone()
    } else {
        format!("{}@{}", package.name, package.version)
    }
}

/// The hosts one lockfile may download from.
struct Allowed {
    /// Named by the project's package manager settings, or by `.lockgate.toml`
    /// (`[registries]`, `private-registries`).
    configured: BTreeSet<String>,
    /// `allowed-hosts` of `[checks]`: hosts, or `*.suffix`.
    patterns: Vec<String>,
    /// `private-registries`, as [`crate::check::is_private`] reads them (a host or below it).
    private: Vec<String>,
    /// The hosts the old versions of the lockfile used, or for one committed for the first
    /// time, the hosts most of its registry entries use.
    usual: BTreeSet<String>,
}

impl Allowed {
    /// What `lockfile` may download from.
    fn of(context: &Context<'_>, lockfile: &LockfileToCheck) -> Allowed {
        let settings = context.settings;
        let project =
            crate::age::project::read(&lockfile.path, &lockfile.settings_files, settings.now);
        let mut configured = project.hosts;
        configured.extend(settings.registries.values().filter_map(|url| url_host(url)));
        // A requirements file names its index itself (`--index-url`): that is the project's
        // setting, and the URL its entries record.
        let requirements = ecosystem::format_of(&lockfile.path).is_some_and(|f| f.has_includes());
        if requirements {
            let all = lockfile.whole.as_deref().unwrap_or(&lockfile.locked);
            for entry in &all.entries {
                if let Source::Registry {
                    host: Some(host), ..
                } = &entry.source
                {
                    configured.insert(host.clone());
                }
            }
        }
        let usual = match &lockfile.changes.old_hosts {
            Some(old) => old.clone(),
            None => most_used(&lockfile.locked),
        };
        Allowed {
            configured,
            patterns: settings.checks.allowed_hosts.clone(),
            private: settings.private_registries.clone(),
            usual,
        }
    }

    /// Whether the project's settings or `.lockgate.toml` allow `host`.
    fn configures(&self, host: &str) -> bool {
        is_loopback(host)
            || self.configured.contains(host)
            || crate::private::listed(host, &self.private)
            || self.patterns.iter().any(|pattern| {
                let pattern = pattern.trim().to_ascii_lowercase();
                match pattern.strip_prefix("*.") {
                    Some(suffix) => host
                        .strip_suffix(suffix)
                        .is_some_and(|below| below.ends_with('.') && below.len() > 1),
                    None => url_host(&pattern).unwrap_or(pattern) == host,
                }
            })
    }

    /// Whether an entry may download from `host`.
    fn allows(&self, host: &str) -> bool {
        self.usual.contains(host) || self.configures(host)
    }
}

/// The hosts most of `locked`'s registry entries use: of their registry URLs (an npm tarball,
/// a Python index) and of their files' URLs (Python's files host), each the most common (all
/// of them on a tie).
fn most_used(locked: &LockedSet) -> BTreeSet<String> {
    let mut sources: BTreeMap<String, usize> = BTreeMap::new();
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    for entry in locked.entries.iter().filter(|entry| entry.is_queryable()) {
        if let Source::Registry {
            host: Some(host),
            url: Some(url),
        } = &entry.source
        {
            if url.contains("://") {
                *sources.entry(host.clone()).or_default() += 1;
            }
        }
        let hosts: BTreeSet<String> = entry
            .downloads
            .iter()
            .filter_map(|url| url_host(url))
            .collect();
        for host in hosts {
            *files.entry(host).or_default() += 1;
        }
    }
    let mut usual = BTreeSet::new();
    for counts in [sources, files] {
        let most = counts.values().copied().max().unwrap_or(0);
        usual.extend(
            counts
                .into_iter()
                .filter(|(_, count)| *count == most)
                .map(|(host, _)| host),
        );
    }
    usual
}

/// Where to allow a host, in the terms of the lockfile's package manager.
fn where_to_allow(path: &str) -> &'static str {
    match path.rsplit('/').next().unwrap_or(path) {
        "package-lock.json" | "npm-shrinkwrap.json" | "pnpm-lock.yaml" => {
            "as the registry (or a scope's, `@scope:registry`) in .npmrc"
        }
        "yarn.lock" => {
            "as npmRegistryServer (or a scope's in npmScopes) in .yarnrc.yml, or in .npmrc"
        }
        "bun.lock" | "bun.lockb" => "as the registry (or a scope's) in bunfig.toml or .npmrc",
        "uv.lock" => "as an index ([[tool.uv.index]]) in pyproject.toml",
        "poetry.lock" => "as a source ([[tool.poetry.source]]) in pyproject.toml",
        "pdm.lock" => "as a source ([[tool.pdm.source]]) in pyproject.toml",
        _ => "in [registries] of .lockgate.toml",
    }
}

/// A package's download: the package, the line of its entry, the URL.
type Download<'a> = (&'a Package, Option<usize>, &'a str);

/// Entries a change adds that download from a host that is not an allowed registry: the
/// project's configured registries, `.lockgate.toml`'s, the hosts the lockfile already used
/// (or, committed for the first time, the one most of its entries use). A lockfile edited to
/// fetch a known name from another host looks like this. Said once per host; git and local
/// sources are another check's.
pub(super) fn download_hosts(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("download-host");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let mut allowed: Option<Allowed> = None;
        // host → the packages (one an entry) downloading from it, with their line and URL.
        let mut found: BTreeMap<String, Vec<Download<'_>>> = BTreeMap::new();
        let added = lockfile.locked.entries.iter().flat_map(|entry| {
            entry
                .urls()
                .map(move |url| (&entry.package, entry.line, url))
        });
        // Files the change adds to versions it keeps.
        let files = lockfile
            .changes
            .urls
            .iter()
            .filter(|change| change.old.is_none())
            .map(|change| (&change.package, change.line, change.new.as_str()));
        for (package, line, url) in added.chain(files) {
            let Some(host) = url_host(url) else { continue };
            if is_loopback(&host) {
                continue;
            }
            let allowed = allowed.get_or_insert_with(|| Allowed::of(context, lockfile));
            if allowed.allows(&host) {
                continue;
            }
            let listed = found.entry(host).or_default();
            if !listed.iter().any(|(seen, ..)| *seen == package) {
                listed.push((package, line, url));
            }
        }
        let Some(allowed) = allowed else { continue };
        for (host, mut entries) in found {
            entries.retain(|(package, ..)| !context.exempt(package, "download-host"));
            let Some((first, line, url)) = entries.first() else {
                continue;
            };
            let more = match entries.len() {
                1 => String::new(),
                n => {
                    let names: Vec<String> = entries[1..]
                        .iter()
                        .take(3)
                        .map(|(package, ..)| described(package))
                        .collect();
                    let rest = if n > 4 {
                        format!(" and {} more", n - 4)
                    } else {
                        String::new()
                    };
                    format!(" (so do {}{rest})", names.join(", "))
                }
            };
            let why = if lockfile.changes.old_hosts.is_some() {
                "a host this lockfile did not download from before and the project does not \
                 configure"
                    .to_string()
            } else if allowed.usual.is_empty() {
                "a host the project does not configure, in a new lockfile whose registry \
                 entries name no host"
                    .to_string()
            } else {
                let usual: Vec<&str> = allowed.usual.iter().map(String::as_str).collect();
                format!(
                    "while most of this new lockfile's entries download from {}, and the \
                     project does not configure {host}",
                    usual.join(" and ")
                )
            };
            problems.push(
                Problem::new(
                    ProblemKind::DownloadHost,
                    &lockfile.path,
                    &format!(
                        "{} downloads from {host} ({}){more}, {why}: a lockfile edited to fetch \
                         a package from elsewhere looks like this. If the host is intended, name \
                         it {} or in allowed-hosts under [checks] of .lockgate.toml; if not, \
                         restore the entry and lock it again",
                        described(first),
                        shown(url),
                        where_to_allow(&lockfile.path),
                    ),
                    level == CiRule::Block,
                )
                .at(line.unwrap_or(0), 0),
            );
        }
    }
}

/// Versions a change keeps with another download URL: a version is downloaded from where it
/// was, so the lockfile was edited, unless the project moved registries. A move (the same file,
/// from a host the project's settings or `.lockgate.toml` name) is said without blocking, once
/// per pair of hosts; anything else blocks.
pub(super) fn download_urls_changed(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("download-url-changed");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        if lockfile
            .changes
            .urls
            .iter()
            .all(|change| change.old.is_none())
        {
            continue;
        }
        let allowed = Allowed::of(context, lockfile);
        // (old host, new host) → the packages moved between them.
        let mut moves: BTreeMap<(String, String), Vec<&UrlChange>> = BTreeMap::new();
        let mut reported = BTreeSet::new();
        for change in &lockfile.changes.urls {
            let Some(old) = &change.old else { continue };
            if context.exempt(&change.package, "download-url-changed") {
                continue;
            }
            let file = |url: &str| {
                let path = crate::package::url_path(url).unwrap_or_default();
                path.rsplit('/').next().unwrap_or_default().to_string()
            };
            let old_host = url_host(old).unwrap_or_default();
            let new_host = url_host(&change.new).unwrap_or_default();
            if file(old) == file(&change.new) && allowed.configures(&new_host) {
                moves.entry((old_host, new_host)).or_default().push(change);
                continue;
            }
            if !reported.insert(&change.package) {
                continue;
            }
            problems.push(
                Problem::new(
                    ProblemKind::DownloadUrlChanged,
                    &lockfile.path,
                    &format!(
                        "{} keeps its version but now downloads from {} instead of {}: a \
                         version's files do not move, so the lockfile was edited to fetch \
                         something else. Restore the entry (git checkout the lockfile) and lock \
                         it again; if the project moved to another registry, name it {} or in \
                         allowed-hosts under [checks] of .lockgate.toml",
                        described(&change.package),
                        shown(&change.new),
                        shown(old),
                        where_to_allow(&lockfile.path),
                    ),
                    level == CiRule::Block,
                )
                .at(change.line.unwrap_or(0), 0),
            );
        }
        for ((old_host, new_host), changes) in moves {
            let first = changes[0];
            let count = changes.len();
            let others = match count {
                1 => " keeps its version but moved".to_string(),
                n => format!(" and {} more keep their version but moved", n - 1),
            };
            problems.push(
                Problem::new(
                    ProblemKind::DownloadUrlChanged,
                    &lockfile.path,
                    &format!(
                        "{}{others} from {old_host} to {new_host}, \
                         a registry the project configures: a move to a mirror, if that is what \
                         the change means to do ({} was {})",
                        described(&first.package),
                        shown(&first.new),
                        shown(first.old.as_deref().unwrap_or_default()),
                    ),
                    false,
                )
                .at(first.line.unwrap_or(0), 0),
            );
        }
    }
}

/// Registry downloads a change adds whose URL (or file name) names another package or version
/// than the entry: npm's `…/<name>/-/<name>-<version>.tgz`, Python's sdist and wheel names
/// (PEP 427, PEP 625). The package manager installs what the URL names under the entry's name.
/// npm entries whose `version` disagrees with their `resolved` tarball are said too. Composer's
/// archive URLs name no package.
pub(super) fn download_name_mismatches(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("download-name-mismatch");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let mut reported = BTreeSet::new();
        let added = lockfile
            .locked
            .entries
            .iter()
            .map(|entry| (&entry.package, entry.line, name_mismatch(entry)));
        // Files the change adds to versions it keeps.
        let files = lockfile
            .changes
            .urls
            .iter()
            .filter(|change| change.old.is_none())
            .map(|change| {
                let found = url_mismatch(&change.package, &change.new);
                (&change.package, change.line, found)
            });
        for (package, line, found) in added.chain(files) {
            let Some(found) = found else { continue };
            if reported.contains(package) || context.exempt(package, "download-name-mismatch") {
                continue;
            }
            reported.insert(package.clone());
            problems.push(
                Problem::new(
                    ProblemKind::DownloadNameMismatch,
                    &lockfile.path,
                    &format!(
                        "{found}: the package manager installs what the URL names under the \
                         entry's name, so the lockfile was edited or is corrupt. Restore the \
                         entry and lock it again with the package manager"
                    ),
                    level == CiRule::Block,
                )
                .at(line.unwrap_or(0), 0),
            );
        }
    }
}

/// What is wrong with the names `entry`'s downloads give, if anything, said for a message.
fn name_mismatch(entry: &Entry) -> Option<String> {
    let package = &entry.package;
    let downloads: Vec<&str> = match &entry.source {
        Source::Registry { url, .. } => url
            .iter()
            .chain(&entry.downloads)
            .map(String::as_str)
            .collect(),
        // npm installs a registry tarball under whatever name the lockfile gives it (pip
        // refuses a file that names another project).
        Source::Other {
            kind: SourceKind::Remote,
            location,
        } if package.ecosystem == crate::package::Ecosystem::Npm => vec![location.as_str()],
        Source::Other { .. } => return None,
    };
    if let Some(found) = downloads
        .into_iter()
        .find_map(|download| url_mismatch(package, download))
    {
        return Some(found);
    }
    let stated = entry.stated_version.as_deref()?;
    (!same_version(package, stated)).then(|| {
        format!(
            "{} is locked as version {stated}, but its download URL ({}) is version {}'s",
            package.name,
            shown(match &entry.source {
                Source::Registry { url: Some(url), .. } => url,
                _ => "",
            }),
            package.version
        )
    })
}

/// Whether `version` is `package`'s, in its ecosystem's normal form.
fn same_version(package: &Package, version: &str) -> bool {
    let rules = ecosystem::of(package.ecosystem);
    version == package.version
        || (rules.normal_version)(version).as_deref() == Some(package.version.as_str())
}

/// What `download` names instead of `package` (its version too, unless the entry states none),
/// said for a message; `None` when it names `package` or nothing its ecosystem reads.
fn url_mismatch(package: &Package, download: &str) -> Option<String> {
    let rules = ecosystem::of(package.ecosystem);
    let (name, version) = (rules.download_names)(download, package)?;
    let same_name = (rules.normal_name)(&name) == (rules.normal_name)(&package.name);
    let versioned = !package.version.is_empty();
    (!same_name || (versioned && !same_version(package, &version))).then(|| {
        format!(
            "{} downloads {} ({name} {version})",
            described(package),
            shown(download)
        )
    })
}
