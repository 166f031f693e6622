//! Parser for `pnpm-lock.yaml`, lockfile versions 5.4, 6 and 9.
//!
//! Every version lists the installed packages under `packages`, keyed `/name/1.0.0` (5.x),
//! `/name@1.0.0` (6) or `name@1.0.0` (9), with peer suffixes (`_react@18.2.0` in 5.x,
//! `(react@18.2.0)` after) that do not change the package. Each project of the workspace is an
//! importer (`importers`, or the top level for a single project) that records, per dependency,
//! the specifier of package.json it was locked for: what `pnpm install --frozen-lockfile`
//! compares.

use super::package_lock::{classify, Source};
use crate::ecosystem::{yaml_document_with_lines, yaml_line, yaml_text, ParseError};
use crate::package::{Dependency, Ecosystem, Entry, LockedSet, SourceKind};
use std::collections::BTreeMap;
use yaml_rust2::Yaml;

/// A parsed `pnpm-lock.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PnpmLock {
    /// `lockfileVersion`, as written (`5.4`, `6.0`, `9.0`).
    pub version: String,
    /// Each project's locked dependencies, by folder relative to the lockfile (`.` the root).
    pub importers: BTreeMap<String, Importer>,
    /// What the packages section locks.
    pub locked: LockedSet,
    /// `settings:` (`autoInstallPeers`, `excludeLinksFromLockfile`), as written.
    pub settings: BTreeMap<String, String>,
    /// `overrides:`, as written.
    pub overrides: BTreeMap<String, String>,
    /// `catalogs:`: catalog name → dependency → the specifier it was locked for.
    pub catalogs: BTreeMap<String, BTreeMap<String, String>>,
    /// `patchedDependencies:`: `name@version` → the hash of the patch file it was locked with.
    pub patched: BTreeMap<String, String>,
    /// `engines.node` of each package installed other than as an optional dependency, by its
    /// `packages` key.
    pub engines: BTreeMap<String, String>,
}

/// One project of a pnpm lockfile: dependency name → the package.json specifier it was
/// locked for, per dependency type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Importer {
    /// `dependencies`.
    pub dependencies: BTreeMap<String, String>,
    /// `devDependencies`.
    pub dev_dependencies: BTreeMap<String, String>,
    /// `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
}

impl PnpmLock {
    /// Parses `pnpm-lock.yaml` text.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let (document, lines) = yaml_document_with_lines(text)?;
        if !matches!(document, Yaml::Hash(_)) {
            return Err(ParseError::new(1, 1, "expected a mapping"));
        }
        let version = yaml_text(&document["lockfileVersion"])
            .ok_or_else(|| ParseError::new(1, 1, "no `lockfileVersion`: not a pnpm lockfile"))?;
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|major| major.parse().ok())
            .ok_or_else(|| {
                ParseError::new(
                    yaml_line(text, "lockfileVersion"),
                    1,
                    format!("`lockfileVersion: {version}` is not a version"),
                )
            })?;
        let mut lock = PnpmLock {
            version,
            settings: crate::ecosystem::yaml::text_map(&document["settings"], |value| {
                yaml_text(value)
            }),
            overrides: crate::ecosystem::yaml::text_map(&document["overrides"], |value| {
                yaml_text(value)
            }),
            catalogs: match &document["catalogs"] {
                Yaml::Hash(catalogs) => catalogs
                    .iter()
                    .filter_map(|(name, entries)| {
                        let entries = crate::ecosystem::yaml::text_map(entries, |entry| {
                            yaml_text(&entry["specifier"])
                        });
                        Some((yaml_text(name)?, entries))
                    })
                    .collect(),
                _ => BTreeMap::new(),
            },
            patched: crate::ecosystem::yaml::text_map(&document["patchedDependencies"], |value| {
                yaml_text(&value["hash"]).or_else(|| yaml_text(value))
            }),
            ..PnpmLock::default()
        };
        // Each importer's dependencies: (name, locked version, specifier), the project's own.
        let mut asked: Vec<(String, String, String)> = Vec::new();
        match &document["importers"] {
            Yaml::Hash(importers) => {
                for (path, importer) in importers {
                    if let Some(path) = yaml_text(path) {
                        lock.importers.insert(path, read_importer(importer));
                        asked.extend(importer_versions(importer));
                    }
                }
            }
            _ => {
                lock.importers.insert(".".into(), read_importer(&document));
                asked.extend(importer_versions(&document));
            }
        }
        lock.locked.roots = asked
            .iter()
            .map(|(name, version, _)| edge(name.clone(), version))
            .collect();
        // 9 records the edges of each installed copy (one per peer set) under `snapshots`.
        let mut snapshots: std::collections::HashMap<String, Vec<Dependency>> =
            std::collections::HashMap::new();
        // Packages with a copy that is not optional (9 marks optional copies in `snapshots`).
        let mut required = std::collections::HashSet::new();
        if let Yaml::Hash(listed) = &document["snapshots"] {
            for (key, snapshot) in listed {
                let Some(key) = yaml_text(key) else { continue };
                let base = key.split('(').next().unwrap_or_default().to_string();
                if !matches!(snapshot["optional"], Yaml::Boolean(true)) {
                    required.insert(base.clone());
                }
                snapshots
                    .entry(base)
                    .or_default()
                    .extend(dependencies_of(snapshot));
            }
        }
        match &document["packages"] {
            Yaml::Hash(packages) => {
                for (key, entry) in packages {
                    let Some(key) = yaml_text(key) else { continue };
                    let optional = matches!(entry["optional"], Yaml::Boolean(true))
                        || major >= 9 && !required.contains(&key);
                    if let Some(node) = yaml_text(&entry["engines"]["node"]).filter(|_| !optional) {
                        lock.engines.insert(key.clone(), node);
                    }
                    let line = lines
                        .get(&["packages".to_string(), key.clone()][..])
                        .copied();
                    let added = add_package(major, &key, entry)
                        .map_err(|message| ParseError::new(line.unwrap_or(0), 1, message))?;
                    let Some(mut added) = added else { continue };
                    if let crate::package::Source::Other { kind, .. } = added.source {
                        added.git_reference =
                            git_reference(major, &key, kind == SourceKind::Git, &asked);
                    }
                    let added = lock.locked.push(added.at(line));
                    added.dependencies = match snapshots.get_mut(key.as_str()) {
                        Some(dependencies) => std::mem::take(dependencies),
                        None => dependencies_of(entry),
                    };
                }
            }
            Yaml::BadValue | Yaml::Null => {}
            _ => {
                return Err(ParseError::new(
                    yaml_line(text, "packages"),
                    1,
                    "`packages` is not a mapping",
                ))
            }
        }
        // `time:` (time-based resolution): when each direct dependency was published.
        if let Yaml::Hash(times) = &document["time"] {
            let mut published = std::collections::HashMap::new();
            for (key, time) in times {
                let (Some(key), Some(time)) = (yaml_text(key), yaml_text(time)) else {
                    continue;
                };
                if let Some((name, version)) = split_key(major, &key) {
                    let version = version.split('(').next().unwrap_or_default().to_string();
                    published.insert((name, version), time);
                }
            }
            for entry in &mut lock.locked.entries {
                let key = (entry.package.name.clone(), entry.package.version.clone());
                if let Some(time) = published.get(&key) {
                    entry.uploaded = Some(time.clone());
                }
            }
        }
        Ok(lock)
    }
}

/// An importer: 6 and 9 write `name: {specifier, version}`; 5.x writes `specifiers: {name:
/// spec}` beside `dependencies: {name: version}`.
fn read_importer(importer: &Yaml) -> Importer {
    let specifiers = &importer["specifiers"];
    let read = |section: &Yaml| -> BTreeMap<String, String> {
        let Yaml::Hash(entries) = section else {
            return BTreeMap::new();
        };
        entries
            .iter()
            .filter_map(|(name, value)| {
                let name = yaml_text(name)?;
                let specifier = yaml_text(&value["specifier"])
                    .or_else(|| yaml_text(&specifiers[name.as_str()]))
                    .unwrap_or_default();
                Some((name, specifier))
            })
            .collect()
    };
    Importer {
        dependencies: read(&importer["dependencies"]),
        dev_dependencies: read(&importer["devDependencies"]),
        optional_dependencies: read(&importer["optionalDependencies"]),
    }
}

/// A `packages` key as (name, version): the peer suffix cut, the 5.x `/name/version` and the
/// 6/9 `name@version` forms both read.
fn split_key(major: u32, key: &str) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    if major < 6 {
        // `name/1.0.0_peer@1.0.0`, `@scope/name/1.0.0`; peers spell their `/` as `+`.
        let segments: Vec<&str> = key.split('/').collect();
        let (name, version) = if key.starts_with('@') {
            (segments.get(..2)?.join("/"), *segments.get(2)?)
        } else {
            (segments.first()?.to_string(), *segments.get(1)?)
        };
        let version = version.split('_').next().unwrap_or(version);
        return Some((name, version.to_string()));
    }
    let key = key.split('(').next().unwrap_or(key);
    let at = key.get(1..)?.find('@')? + 1;
    Some((key[..at].to_string(), key[at + 1..].to_string()))
}

fn add_package(major: u32, key: &str, entry: &Yaml) -> Result<Option<Entry>, String> {
    let (key_name, key_version) =
        split_key(major, key).ok_or_else(|| format!("`{key}` is not `name@version`"))?;
    let name = yaml_text(&entry["name"]).unwrap_or(key_name);
    let version = yaml_text(&entry["version"]).unwrap_or(key_version);
    let resolution = &entry["resolution"];
    let other = |kind, source: String| Some(Entry::other(Ecosystem::Npm, &name, kind, source));
    if yaml_text(&resolution["type"]).as_deref() == Some("git")
        || !matches!(resolution["repo"], Yaml::BadValue)
    {
        let repo = yaml_text(&resolution["repo"]).unwrap_or_default();
        let commit = yaml_text(&resolution["commit"]).unwrap_or_default();
        return Ok(other(SourceKind::Git, format!("{repo}#{commit}")));
    }
    if let Some(directory) = yaml_text(&resolution["directory"]) {
        return Ok(other(SourceKind::File, format!("file:{directory}")));
    }
    let tarball = yaml_text(&resolution["tarball"]);
    if tarball.is_none() && version.contains([':', '/']) {
        // A key such as `gdep@git+file:///…#sha` without a resolution type.
        let kind = if version.starts_with("file:") || version.starts_with("link:") {
            SourceKind::File
        } else {
            SourceKind::Git
        };
        return Ok(other(kind, version));
    }
    Ok(match classify(&name, Some(&version), tarball.as_deref()) {
        Some(Source::Registry(installed)) => {
            let mut locked = super::package_lock::registry_entry(
                &name,
                installed,
                Some(&version),
                tarball.as_deref(),
            );
            // 5.x and 6 mark development-only packages and those that build (so one without
            // `requiresBuild` does not); 9 keeps both out of the lockfile.
            locked.dev = matches!(entry["dev"], Yaml::Boolean(true));
            let builds = matches!(entry["requiresBuild"], Yaml::Boolean(true));
            if major < 9 || builds {
                locked.install_scripts = Some(builds);
            }
            locked.checksum = yaml_text(&resolution["integrity"]);
            Some(locked)
        }
        Some(Source::Other(kind, source)) => other(kind, source.to_string()),
        None => None,
    })
}

/// The dependencies a `packages` (5.x, 6) or `snapshots` (9) entry records, with the version
/// each resolved to (peer suffixes cut).
fn dependencies_of(entry: &Yaml) -> Vec<Dependency> {
    let mut dependencies = Vec::new();
    for section in ["dependencies", "optionalDependencies"] {
        let Yaml::Hash(listed) = &entry[section] else {
            continue;
        };
        for (name, version) in listed {
            let (Some(name), Some(version)) = (yaml_text(name), yaml_text(version)) else {
                continue;
            };
            dependencies.push(edge(name, &version));
        }
    }
    dependencies
}

/// The edge to `name` locked at `version` as pnpm writes it: peer suffixes cut, an alias
/// (`is-number@6.0.0`) the package it points at, another source (`git+…`, `link:…`) known by
/// its name alone.
fn edge(name: String, version: &str) -> Dependency {
    let version = version.split(['(', '_']).next().unwrap_or_default();
    if version.contains(':') {
        return Dependency {
            name,
            version: None,
        };
    }
    match version.get(1..).and_then(|rest| rest.find('@')) {
        Some(at) => Dependency {
            name: version[..=at].to_string(),
            version: Some(version[at + 2..].to_string()),
        },
        // 6's `github.com/a/b/<commit>`: a tarball from a git host.
        None if version.contains('/') => Dependency {
            name,
            version: None,
        },
        None => Dependency {
            name,
            version: Some(version.to_string()),
        },
    }
}

/// The dependencies an importer (6 and 9: `name: {specifier, version}`; 5.x: `specifiers`
/// beside `dependencies: {name: version}`) locks: (name, version, specifier).
fn importer_versions(importer: &Yaml) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for section in ["dependencies", "devDependencies", "optionalDependencies"] {
        let Yaml::Hash(entries) = &importer[section] else {
            continue;
        };
        for (name, value) in entries {
            let Some(name) = yaml_text(name) else {
                continue;
            };
            let version = yaml_text(&value["version"]).or_else(|| yaml_text(value));
            let specifier = yaml_text(&value["specifier"])
                .or_else(|| yaml_text(&importer["specifiers"][name.as_str()]));
            if let Some(version) = version {
                found.push((name, version, specifier.unwrap_or_default()));
            }
        }
    }
    found
}

/// What the git package at `packages` key `key` was asked to follow: the specifier of the
/// importer dependency locked to it. pnpm records no specifier for a package's own
/// dependencies, so a git package below the top level has none.
fn git_reference(
    major: u32,
    key: &str,
    git: bool,
    asked: &[(String, String, String)],
) -> Option<crate::package::GitReference> {
    let (name, version) = split_key(major, key)?;
    asked
        .iter()
        .find(|(asked_name, asked_version, specifier)| {
            *asked_name == name
                && !specifier.is_empty()
                && (*asked_version == version
                    || asked_version.strip_prefix('/') == Some(key.trim_start_matches('/')))
        })
        .and_then(|(_, _, specifier)| {
            crate::package::GitReference::of_npm_dependency(specifier, git)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_9_with_importers_peers_aliases_and_git() {
        // The shapes pnpm 9 writes (tests/fixtures/npm/pnpm).
        let text = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      num:
        specifier: npm:is-number@^6.0.0
        version: is-number@6.0.0
      gdep:
        specifier: git+file:///tmp/lockgate-gitdeps/gdep.git#v1
        version: git+file:///tmp/lockgate-gitdeps/gdep.git#4b5c2f4e
    devDependencies:
      '@types/node':
        specifier: 20.11.0
        version: 20.11.0

packages:

  '@types/node@20.11.0':
    resolution: {integrity: sha512-abc}

  gdep@git+file:///tmp/lockgate-gitdeps/gdep.git#4b5c2f4e:
    resolution: {commit: 4b5c2f4e, repo: file:///tmp/lockgate-gitdeps/gdep.git, type: git}
    version: 1.0.0

  is-number@6.0.0:
    resolution: {integrity: sha512-def}

  react-dom@18.2.0:
    resolution: {integrity: sha512-ghi}
    peerDependencies:
      react: ^18.2.0

snapshots:

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
"#;
        let lock = PnpmLock::parse(text).unwrap();
        assert_eq!(
            lock.locked.package_list(),
            ["@types/node@20.11.0", "is-number@6.0.0", "react-dom@18.2.0"]
        );
        let root = &lock.importers["."];
        assert_eq!(root.dependencies["num"], "npm:is-number@^6.0.0");
        assert_eq!(root.dev_dependencies["@types/node"], "20.11.0");
        assert_eq!(lock.locked.non_registry().len(), 1);
    }

    #[test]
    fn versions_5_4_and_6_keys() {
        // pnpm 7 (5.4) and pnpm 8 (6.0) shapes, from pnpm's lockfile documentation.
        let v5 = "lockfileVersion: 5.4\n\nspecifiers:\n  is-odd: ^3.0.1\n\ndependencies:\n  is-odd: 3.0.1\n\npackages:\n\n  /is-odd/3.0.1:\n    resolution: {integrity: sha512-a}\n\n  /@scope/pkg/1.0.0_react@18.2.0:\n    resolution: {integrity: sha512-b}\n";
        let lock = PnpmLock::parse(v5).unwrap();
        assert_eq!(
            lock.locked.package_list(),
            ["@scope/pkg@1.0.0", "is-odd@3.0.1"]
        );
        assert_eq!(lock.importers["."].dependencies["is-odd"], "^3.0.1");

        let v6 = "lockfileVersion: '6.0'\n\ndependencies:\n  is-odd:\n    specifier: ^3.0.1\n    version: 3.0.1\n\npackages:\n\n  /is-odd@3.0.1:\n    resolution: {integrity: sha512-a}\n\n  /@scope/pkg@1.0.0(react@18.2.0):\n    resolution: {integrity: sha512-b}\n";
        let lock = PnpmLock::parse(v6).unwrap();
        assert_eq!(
            lock.locked.package_list(),
            ["@scope/pkg@1.0.0", "is-odd@3.0.1"]
        );
        assert_eq!(lock.importers["."].dependencies["is-odd"], "^3.0.1");
    }

    #[test]
    fn requires_build_is_a_fact_in_6_and_unknown_in_9() {
        // pnpm 8.15.9 wrote these (tests/fixtures/integrity/pnpm8): `requiresBuild: true` on a
        // package that builds, nothing on one that does not.
        let v6 = "lockfileVersion: '6.0'\n\npackages:\n\n  /is-odd@3.0.1:\n    resolution: {integrity: sha512-a}\n    requiresBuild: true\n    dev: false\n\n  /left-pad@1.3.0:\n    resolution: {integrity: sha512-b}\n    dev: false\n";
        let scripts = |text: &str| -> Vec<Option<bool>> {
            let lock = PnpmLock::parse(text).unwrap();
            lock.locked
                .entries
                .iter()
                .map(|e| e.install_scripts)
                .collect()
        };
        assert_eq!(scripts(v6), [Some(true), Some(false)]);
        // 9.0 records no builds at all: not knowing is not "none".
        let v9 = "lockfileVersion: '9.0'\n\npackages:\n\n  left-pad@1.3.0:\n    resolution: {integrity: sha512-b}\n\nsnapshots:\n\n  left-pad@1.3.0: {}\n";
        assert_eq!(scripts(v9), [None]);
    }

    #[test]
    fn time_based_resolution_records_when_direct_dependencies_were_published() {
        let text = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      left-pad:\n        specifier: ^1.3.0\n        version: 1.3.0\npackages:\n  left-pad@1.3.0:\n    resolution: {integrity: sha512-AA}\nsnapshots:\n  left-pad@1.3.0: {}\ntime:\n  left-pad@1.3.0: '2018-04-09T01:23:45.000Z'\n";
        let lock = PnpmLock::parse(text).unwrap();
        assert_eq!(
            lock.locked.entries[0].uploaded.as_deref(),
            Some("2018-04-09T01:23:45.000Z")
        );
    }

    #[test]
    fn bad_input_names_the_line() {
        let cases = [
            ("lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [\n", 4),
            ("packages: {}\n", 1),
            (
                "lockfileVersion: '9.0'\npackages:\n  not-a-key:\n    resolution: {integrity: x}\n",
                3,
            ),
        ];
        for (text, line) in cases {
            let error = PnpmLock::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
        }
    }
}
