//! Dependencies that do not come from a registry (a git repository, a tarball URL, a local
//! path), and git dependencies that follow a branch or a tag rather than a commit.
//!
//! What is top level is what the lockfile records as the project's own dependencies
//! ([`LockedSet::roots`]: npm's root and workspace folders, pnpm's importers, yarn berry's and
//! bun's workspaces, uv's members, a requirements file's lines). Where a format records none
//! (yarn classic, poetry, pdm, pylock, Pipfile.lock, composer.lock), the manifest beside the
//! lockfile says it, and an entry that no other entry depends on is the project's own too.

use super::Context;
use crate::config::CiRule;
use crate::ecosystem::pypi::lockfiles::normalize;
use crate::package::{Dependency, Ecosystem, Entry, LockedSet, Source, SourceKind};
use crate::report::{Problem, ProblemKind};
use crate::sanitize::clean;
use crate::scope::LockfileToCheck;
use std::collections::{BTreeSet, HashMap};

/// Entries a change adds that come from a git repository, a tarball URL or a local path. At the
/// top level (a manifest of the project asks for it by name) it is said (`source-direct`);
/// below it (a package of the registry pulls it in) it blocks (`source-deep`), naming the
/// packages that depend on it where the lockfile records that.
pub(super) fn non_registry_sources(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let deep_level = context.level("source-deep");
    let direct_level = context.level("source-direct");
    if deep_level == CiRule::Off && direct_level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let others: Vec<&Entry> = lockfile
            .locked
            .entries
            .iter()
            .filter(|entry| matches!(entry.source, Source::Other { .. }))
            .collect();
        if others.is_empty() {
            continue;
        }
        let whole = lockfile.whole.as_deref().unwrap_or(&lockfile.locked);
        let names: BTreeSet<&str> = others
            .iter()
            .map(|entry| entry.package.name.as_str())
            .collect();
        let dependents = dependents_of(whole, &names);
        let manifests = Manifests::beside(lockfile);
        let records_edges = whole
            .entries
            .iter()
            .any(|entry| !entry.dependencies.is_empty());
        let mut seen = BTreeSet::new();
        for entry in others {
            let Source::Other { kind, location } = &entry.source else {
                continue;
            };
            if !seen.insert((&entry.package.name, location)) {
                continue;
            }
            let needed_by: Vec<&Entry> = dependents
                .get(entry.package.name.as_str())
                .into_iter()
                .flatten()
                .filter(|(dependency, dependent)| {
                    dependency
                        .version
                        .as_deref()
                        .is_none_or(|version| version == entry.package.version)
                        && (dependent.package != entry.package || dependent.source != entry.source)
                })
                .map(|(_, dependent)| *dependent)
                .collect();
            let top = is_top_level(entry, whole, &manifests, &needed_by, records_edges);
            let (check, kind_of_problem, level) = match top {
                true => ("source-direct", ProblemKind::SourceDirect, direct_level),
                false => ("source-deep", ProblemKind::SourceDeep, deep_level),
            };
            if level == CiRule::Off || context.exempt(&entry.package, check) {
                continue;
            }
            let name = clean(&entry.package.name);
            let source = format!("{} {}", describe(*kind), shown(location));
            let message = if top {
                format!(
                    "{name} comes from {source}, not from a registry: what gets installed is \
                     whatever that {} holds, and no advisory database knows it. A manifest of \
                     the project asks for it; if it is meant, {}; else replace it with a \
                     registry release",
                    noun(*kind),
                    keep_advice(*kind),
                )
            } else {
                format!(
                    "{name} comes from {source}, and no manifest of the project asks for it{}. \
                     A package that pulls code from outside the registry escapes every check \
                     of its releases. Replace {} with a release that needs no such source, or \
                     ask for {name} in a manifest if the project means to use it (then it is \
                     only reported)",
                    needed_by_text(&needed_by),
                    match needed_by.len() {
                        0 => "what brings it in",
                        1 => "that package",
                        _ => "those packages",
                    },
                )
            };
            problems.push(
                Problem::new(
                    kind_of_problem,
                    &lockfile.path,
                    &message,
                    level == CiRule::Block,
                )
                .at(entry.line.unwrap_or(0), 0),
            );
        }
    }
}

/// Git dependencies a change adds that follow a branch, a tag or the default branch rather than
/// a commit, as the lockfile records what was asked for: the next lock moves them to whatever
/// the repository holds then, with no change to any manifest.
pub(super) fn git_references_unpinned(context: &Context<'_>, problems: &mut Vec<Problem>) {
    let level = context.level("git-ref-unpinned");
    if level == CiRule::Off {
        return;
    }
    for lockfile in context.lockfiles {
        let mut seen = BTreeSet::new();
        for entry in &lockfile.locked.entries {
            let (Some(reference), Source::Other { location, .. }) =
                (&entry.git_reference, &entry.source)
            else {
                continue;
            };
            if reference.is_commit()
                || !seen.insert((&entry.package.name, location))
                || context.exempt(&entry.package, "git-ref-unpinned")
            {
                continue;
            }
            let locked_at = location
                .rsplit_once('#')
                .map(|(_, commit)| commit)
                .filter(|commit| commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(|commit| format!(" (locked now at {})", clean(commit)))
                .unwrap_or_default();
            problems.push(
                Problem::new(
                    ProblemKind::GitRefUnpinned,
                    &lockfile.path,
                    &format!(
                        "{} comes from the git repository {} and follows {}{locked_at}: the \
                         next lock moves it to whatever that points to then, and no manifest \
                         shows the change. Ask for a commit instead",
                        clean(&entry.package.name),
                        shown(location),
                        clean(&reference.describe()),
                    ),
                    level == CiRule::Block,
                )
                .at(entry.line.unwrap_or(0), 0),
            );
        }
    }
}

/// Whether the project itself asks for `entry`: the lockfile's record of the project's own
/// dependencies where it keeps one, the manifest beside the lockfile, else whether anything in
/// the lockfile depends on it.
fn is_top_level(
    entry: &Entry,
    whole: &LockedSet,
    manifests: &Manifests,
    needed_by: &[&Entry],
    records_edges: bool,
) -> bool {
    let name = entry.package.name.as_str();
    if manifests.asks(entry.package.ecosystem, name) {
        return true;
    }
    if !whole.roots.is_empty() {
        return whole.roots.iter().any(|root| {
            root.name == name
                && root
                    .version
                    .as_deref()
                    .is_none_or(|version| version == entry.package.version)
        });
    }
    if !needed_by.is_empty() {
        return false;
    }
    // Nothing in the lockfile needs it, so the project asked for it (a workspace member's
    // manifest, say); where the lockfile records no edges at all, only a manifest can tell.
    records_edges || !manifests.has(entry.package.ecosystem)
}

/// For each name in `names`, the entries of `locked` that record depending on it, with the
/// edge.
fn dependents_of<'a>(
    locked: &'a LockedSet,
    names: &BTreeSet<&str>,
) -> HashMap<&'a str, Vec<(&'a Dependency, &'a Entry)>> {
    let mut found: HashMap<&str, Vec<(&Dependency, &Entry)>> = HashMap::new();
    for entry in &locked.entries {
        for dependency in &entry.dependencies {
            if names.contains(dependency.name.as_str()) {
                found
                    .entry(dependency.name.as_str())
                    .or_default()
                    .push((dependency, entry));
            }
        }
    }
    found
}

/// The packages that depend on it, as the end of a clause.
fn needed_by_text(needed_by: &[&Entry]) -> String {
    let mut named: Vec<String> = needed_by
        .iter()
        .map(|entry| clean(&entry.package.to_string()).into_owned())
        .collect();
    named.sort();
    named.dedup();
    match named.len() {
        0 => " (nor does the lockfile record what depends on it)".to_string(),
        1 => format!(": {} depends on it", named[0]),
        n if n <= 3 => format!(": {} depend on it", named.join(", ")),
        n => format!(
            ": {} and {} more depend on it",
            named[..3].join(", "),
            n - 3
        ),
    }
}

fn describe(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Git => "the git repository",
        SourceKind::File => "the local path",
        SourceKind::Remote => "the tarball URL",
    }
}

fn noun(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Git => "repository",
        SourceKind::File => "folder",
        SourceKind::Remote => "URL",
    }
}

fn keep_advice(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Git => "pin it to a commit and review each change of it",
        SourceKind::File => "review the folder as the project's own code",
        SourceKind::Remote => "make sure the lockfile pins its checksum",
    }
}

/// A location for a message: terminal controls removed, and the user and password of a URL
/// (`https://user:token@host/…`) left out.
fn shown(location: &str) -> String {
    let cleaned = clean(location);
    if let Some((scheme, rest)) = cleaned.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            // `ssh://git@host` names a user, not a secret; anything longer may be a token.
            let user = &rest[..at];
            if user != "git" {
                return format!("{scheme}://***@{}", &rest[at + 1..]);
            }
        }
    }
    cleaned.into_owned()
}

/// The strings of a TOML array.
fn strings(value: Option<&toml::Value>) -> Vec<&str> {
    value
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
        .collect()
}

/// The strings of each array of a TOML table (`[project.optional-dependencies]`).
fn string_lists(value: Option<&toml::Value>) -> Vec<&str> {
    value
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|table| table.values())
        .flat_map(|list| strings(Some(list)))
        .collect()
}

/// The dependencies the manifests beside a lockfile ask for by name, per ecosystem, and which
/// ecosystems have one there.
#[derive(Default)]
struct Manifests {
    asked: BTreeSet<(Ecosystem, String)>,
    found: BTreeSet<Ecosystem>,
}

impl Manifests {
    /// The manifests in the lockfile's own folder, as the snapshot has them.
    fn beside(lockfile: &LockfileToCheck) -> Manifests {
        let mut manifests = Manifests::default();
        let folder = crate::ecosystem::folder_of(&lockfile.path);
        for (path, bytes) in lockfile.settings_files.iter() {
            if crate::ecosystem::folder_of(path) != folder {
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            match path.rsplit('/').next().unwrap_or(path) {
                "package.json" => manifests.package_json(&text),
                "composer.json" => manifests.composer_json(&text),
                "pyproject.toml" => manifests.pyproject(&text),
                "Pipfile" => manifests.pipfile(&text),
                _ => {}
            }
        }
        manifests
    }

    fn asks(&self, ecosystem: Ecosystem, name: &str) -> bool {
        self.asked.contains(&(ecosystem, name.to_string()))
    }

    fn has(&self, ecosystem: Ecosystem) -> bool {
        self.found.contains(&ecosystem)
    }

    fn add(&mut self, ecosystem: Ecosystem, name: &str) {
        let name = match ecosystem {
            Ecosystem::Npm => name.to_string(),
            Ecosystem::PyPI => normalize(name),
            Ecosystem::Packagist => name.to_ascii_lowercase(),
        };
        self.asked.insert((ecosystem, name));
    }

    fn package_json(&mut self, text: &str) {
        let Ok(manifest) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        self.found.insert(Ecosystem::Npm);
        for section in [
            "dependencies",
            "devDependencies",
            "optionalDependencies",
            "peerDependencies",
        ] {
            for name in manifest[section]
                .as_object()
                .into_iter()
                .flat_map(|map| map.keys())
            {
                self.add(Ecosystem::Npm, name);
            }
        }
    }

    fn composer_json(&mut self, text: &str) {
        let Ok(manifest) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        self.found.insert(Ecosystem::Packagist);
        for section in ["require", "require-dev"] {
            for name in manifest[section]
                .as_object()
                .into_iter()
                .flat_map(|map| map.keys())
            {
                self.add(Ecosystem::Packagist, name);
            }
        }
    }

    fn pipfile(&mut self, text: &str) {
        let Ok(manifest) = toml::from_str::<toml::Table>(text) else {
            return;
        };
        self.found.insert(Ecosystem::PyPI);
        for section in ["packages", "dev-packages"] {
            for name in manifest
                .get(section)
                .and_then(toml::Value::as_table)
                .into_iter()
                .flat_map(|table| table.keys())
            {
                self.add(Ecosystem::PyPI, name);
            }
        }
    }

    /// `[project]` dependencies, optional dependencies and dependency groups, uv's sources and
    /// dev dependencies, poetry's dependencies and groups, pdm's dev dependencies.
    fn pyproject(&mut self, text: &str) {
        let Ok(manifest) = toml::from_str::<toml::Table>(text) else {
            return;
        };
        self.found.insert(Ecosystem::PyPI);
        let at = |path: &[&str]| -> Option<&toml::Value> {
            let mut value = manifest.get(path[0])?;
            for key in &path[1..] {
                value = value.get(key)?;
            }
            Some(value)
        };
        let mut requirements: Vec<&str> = Vec::new();
        requirements.extend(strings(at(&["project", "dependencies"])));
        requirements.extend(string_lists(at(&["project", "optional-dependencies"])));
        requirements.extend(string_lists(at(&["dependency-groups"])));
        requirements.extend(strings(at(&["tool", "uv", "dev-dependencies"])));
        requirements.extend(string_lists(at(&["tool", "pdm", "dev-dependencies"])));
        for requirement in requirements {
            let end = requirement
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
                .unwrap_or(requirement.len());
            if end > 0 {
                self.add(Ecosystem::PyPI, &requirement[..end]);
            }
        }
        let mut tables: Vec<&toml::Value> = Vec::new();
        tables.extend(at(&["tool", "uv", "sources"]));
        tables.extend(at(&["tool", "poetry", "dependencies"]));
        tables.extend(at(&["tool", "poetry", "dev-dependencies"]));
        if let Some(groups) = at(&["tool", "poetry", "group"]).and_then(toml::Value::as_table) {
            tables.extend(
                groups
                    .values()
                    .filter_map(|group| group.get("dependencies")),
            );
        }
        let names: Vec<String> = tables
            .into_iter()
            .filter_map(toml::Value::as_table)
            .flat_map(|table| table.keys().cloned())
            .collect();
        for name in names {
            self.add(Ecosystem::PyPI, &name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_location_are_left_out() {
        assert_eq!(
            shown("git+https://user:token@git.example.test/a/b.git#main"),
            "git+https://***@git.example.test/a/b.git#main"
        );
        assert_eq!(
            shown("git+ssh://git@git.example.test/a/b.git"),
            "git+ssh://git@git.example.test/a/b.git"
        );
        assert_eq!(shown("file:vendor/x"), "file:vendor/x");
    }
}
