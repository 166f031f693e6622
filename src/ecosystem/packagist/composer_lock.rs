//! Parser for Composer's `composer.lock` (JSON): every package it locks, with what the lockfile
//! states of it, read into [`ComposerLock`]; [`to_locked_set`] is the one place that turns that
//! into what the rest of lockgate reads.
//!
//! Composer names are `vendor/name`, case-insensitive; OSV's Packagist records spell them in
//! lower case, as Packagist does. A release's version is kept as the lockfile spells it, less a
//! leading `v` (OSV drops it too; `version::osv_normal`). A branch (`dev-main`, `2.x-dev`) is
//! locked at a commit, not a release, and a `path` package is a folder: neither can be asked of
//! OSV by version, so both are listed as non-registry sources.

use super::version;
use crate::ecosystem::ParseError;
use crate::package::{Dependency, Ecosystem, Entry, LockedSet, Package, SourceKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest composer.lock read; larger ones are refused rather than parsed.
pub const MAX_SIZE: usize = 64 * 1024 * 1024;

/// What composer.lock says, package by package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComposerLock {
    /// `content-hash`: which composer.json the lock was made from.
    pub content_hash: Option<String>,
    /// `hash`: the md5 of the whole composer.json, in lockfiles older than `content-hash`.
    pub hash: Option<String>,
    /// Whether it has a `packages` list at all (Composer treats one without as no lock).
    pub has_packages: bool,
    /// `packages` then `packages-dev`, in the file's order.
    pub packages: Vec<LockedPackage>,
    /// `aliases`: versions the root package gives to locked packages (`dev-main as 1.0.x-dev`).
    pub aliases: Vec<Alias>,
    /// The line of `content-hash`.
    pub content_hash_line: Option<usize>,
}

/// One entry of `packages` or `packages-dev`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockedPackage {
    /// `vendor/name`, lower case.
    pub name: String,
    /// The version as written (`v2.1.0`, `dev-main`).
    pub version: String,
    /// `dist`: the archive Composer downloads.
    pub dist: Option<Origin>,
    /// `source`: the repository Composer clones with `--prefer-source`.
    pub source: Option<Origin>,
    /// Whether it is in `packages-dev`.
    pub dev: bool,
    /// `require`: name → constraint.
    pub require: BTreeMap<String, String>,
    /// `replace`: name → constraint (the package stands in for these).
    pub replace: BTreeMap<String, String>,
    /// `provide`: name → constraint.
    pub provide: BTreeMap<String, String>,
    /// `extra.branch-alias`: branch → the version it is aliased to.
    pub branch_alias: BTreeMap<String, String>,
    /// `default-branch`: the package's default branch (aliased to `9999999-dev`).
    pub default_branch: bool,
    /// `time`: when the version was released.
    pub time: Option<String>,
    /// The line of its `"name"`.
    pub line: Option<usize>,
}

/// A package's `dist` (the archive Composer downloads) or `source` (the repository it clones
/// with `--prefer-source`): the two share one shape in composer.lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// `zip`, `tar`, `path` for a dist; `git`, `hg`, `svn` for a source.
    pub kind: String,
    /// Where it is (a folder for a `path` dist).
    pub url: String,
    /// The commit or tag it was made from.
    pub reference: Option<String>,
    /// sha1 of a dist's archive, when recorded (often empty; sources have none).
    pub shasum: Option<String>,
}

/// One entry of `aliases`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alias {
    /// The package, lower case.
    pub package: String,
    /// The version it aliases (`dev-main`).
    pub version: String,
    /// The normalised alias (`1.0.9999999.9999999-dev`).
    pub alias_normalized: String,
}

#[derive(Deserialize)]
struct LockWire {
    #[serde(rename = "content-hash", default)]
    content_hash: Option<String>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    packages: Option<Vec<serde_json::Value>>,
    #[serde(rename = "packages-dev", default)]
    packages_dev: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    aliases: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct PackageWire {
    name: String,
    version: Scalar,
    #[serde(default)]
    dist: Option<OriginWire>,
    #[serde(default)]
    source: Option<OriginWire>,
    #[serde(default)]
    require: Links,
    #[serde(default)]
    replace: Links,
    #[serde(default)]
    provide: Links,
    #[serde(default)]
    extra: Option<serde_json::Value>,
    #[serde(rename = "default-branch", default)]
    default_branch: Option<serde_json::Value>,
    #[serde(default)]
    time: Option<serde_json::Value>,
}

/// A version Composer casts to a string (`1.0` written as a number by hand).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(text) => text,
            Scalar::Number(number) => number.to_string(),
        }
    }
}

/// `require`, `replace`, `provide`: an object of strings (PHP writes an empty one as `[]`).
#[derive(Default)]
struct Links(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Links, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let mut links = BTreeMap::new();
        if let serde_json::Value::Object(map) = value {
            for (name, constraint) in map {
                if let Some(constraint) = constraint.as_str() {
                    links.insert(name.to_ascii_lowercase(), constraint.to_string());
                }
            }
        }
        Ok(Links(links))
    }
}

#[derive(Deserialize)]
struct OriginWire {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    shasum: Option<String>,
}

impl OriginWire {
    fn origin(self) -> Origin {
        Origin {
            kind: self.kind.unwrap_or_default(),
            url: self.url.unwrap_or_default(),
            reference: self.reference,
            shasum: self.shasum.filter(|sum| !sum.is_empty()),
        }
    }
}

#[derive(Deserialize)]
struct AliasWire {
    package: String,
    version: String,
    alias_normalized: String,
}

/// The 1-based line of byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    crate::ecosystem::parse::position_of(text, offset).0
}

/// Finds `"key": "value"` in `text` from byte `from` on, as Composer writes it.
fn find_pair(text: &str, key: &str, value: &str, from: usize) -> Option<usize> {
    let needle = format!("\"{key}\": {}", serde_json::Value::from(value));
    text.get(from..)?.find(&needle).map(|at| from + at)
}

/// Reads composer.lock.
pub fn parse(text: &str) -> Result<ComposerLock, ParseError> {
    if text.len() > MAX_SIZE {
        return Err(ParseError::new(0, 0, "the file is too large to read"));
    }
    let wire: LockWire = serde_json::from_str(text).map_err(|error| {
        let mut error = ParseError::from_json(&error);
        if error.message.starts_with("invalid type") {
            error.message = format!("not a composer.lock ({})", error.message);
        }
        error
    })?;
    let mut lock = ComposerLock {
        has_packages: wire.packages.is_some(),
        content_hash_line: wire
            .content_hash
            .as_deref()
            .and_then(|hash| find_pair(text, "content-hash", hash, 0))
            .map(|at| line_at(text, at)),
        content_hash: wire.content_hash.filter(|hash| !hash.is_empty()),
        hash: wire.hash.filter(|hash| !hash.is_empty()),
        ..ComposerLock::default()
    };
    let mut searched_from = 0;
    let lists = [(wire.packages, false), (wire.packages_dev, true)];
    for (list, dev) in lists {
        for (index, value) in list.unwrap_or_default().into_iter().enumerate() {
            let named = value
                .get("name")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
            let line = named.as_deref().and_then(|name| {
                let at = find_pair(text, "name", name, searched_from)
                    .or_else(|| find_pair(text, "name", name, 0))?;
                searched_from = at + 1;
                Some(line_at(text, at))
            });
            let package: PackageWire = serde_json::from_value(value).map_err(|error| {
                let list = if dev { "packages-dev" } else { "packages" };
                let what = named.as_deref().unwrap_or("an entry");
                ParseError::new(
                    line.unwrap_or(0),
                    0,
                    format!("{list}[{index}] ({what}): {error}"),
                )
            })?;
            lock.packages.push(locked_package(package, dev, line));
        }
    }
    for value in wire.aliases {
        if let Ok(alias) = serde_json::from_value::<AliasWire>(value) {
            lock.aliases.push(Alias {
                package: alias.package.to_ascii_lowercase(),
                version: alias.version,
                alias_normalized: alias.alias_normalized,
            });
        }
    }
    Ok(lock)
}

fn locked_package(wire: PackageWire, dev: bool, line: Option<usize>) -> LockedPackage {
    let branch_alias = wire
        .extra
        .as_ref()
        .and_then(|extra| extra.get("branch-alias"))
        .and_then(serde_json::Value::as_object)
        .map(|aliases| {
            aliases
                .iter()
                .filter_map(|(from, to)| Some((from.clone(), to.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    LockedPackage {
        name: wire.name.to_ascii_lowercase(),
        version: wire.version.text(),
        dist: wire.dist.map(OriginWire::origin),
        source: wire.source.map(OriginWire::origin),
        dev,
        require: wire.require.0,
        replace: wire.replace.0,
        provide: wire.provide.0,
        branch_alias,
        default_branch: wire.default_branch == Some(serde_json::Value::Bool(true)),
        time: wire.time.and_then(|time| time.as_str().map(str::to_string)),
        line,
    }
}

/// What the rest of lockgate reads of a composer.lock: registry releases to ask OSV about
/// (development ones marked, with the host of their archive), branches and folders as
/// non-registry sources.
pub fn to_locked_set(lock: &ComposerLock) -> LockedSet {
    let mut locked = LockedSet::default();
    for package in &lock.packages {
        let dist_kind = package.dist.as_ref().map(|dist| dist.kind.as_str());
        let mut entry = if dist_kind == Some("path") {
            let url = package.dist.as_ref().map_or("", |dist| dist.url.as_str());
            Entry::other(
                Ecosystem::Packagist,
                &package.name,
                SourceKind::File,
                url.to_string(),
            )
        } else if version::is_branch(&package.version) {
            let (kind, source) = match (&package.source, &package.dist) {
                (Some(source), _) => (
                    SourceKind::Git,
                    match &source.reference {
                        Some(reference) => format!("{}#{reference}", source.url),
                        None => source.url.clone(),
                    },
                ),
                (None, Some(dist)) => (SourceKind::Remote, dist.url.clone()),
                (None, None) => (SourceKind::Remote, package.version.clone()),
            };
            let mut entry = Entry::other(Ecosystem::Packagist, &package.name, kind, source);
            // A branch version follows the branch: `dev-main`, `2.x-dev`.
            if kind == SourceKind::Git {
                let branch = package
                    .version
                    .strip_prefix("dev-")
                    .or_else(|| package.version.strip_suffix("-dev"))
                    .unwrap_or(&package.version);
                entry.git_reference =
                    Some(crate::package::GitReference::Branch(branch.to_string()));
            }
            entry
        } else {
            let url = package
                .dist
                .as_ref()
                .map(|dist| dist.url.as_str())
                .or(package.source.as_ref().map(|source| source.url.as_str()));
            Entry::registry(Package::new(
                Ecosystem::Packagist,
                &package.name,
                &package.version,
            ))
            .from_url(url.unwrap_or_default())
        };
        entry.dev = package.dev;
        entry.checksum = package
            .dist
            .as_ref()
            .and_then(|dist| dist.shasum.clone())
            .filter(|shasum| !shasum.is_empty());
        entry.uploaded = package.time.clone();
        entry.dependencies = package
            .require
            .keys()
            .filter(|name| name.contains('/'))
            .map(|name| Dependency {
                name: name.to_ascii_lowercase(),
                version: None,
            })
            .collect();
        locked.push(entry.at(package.line));
    }
    locked
}

/// The [`crate::ecosystem::Format`] parser: composer.lock's text to what it locks.
pub fn parse_locked(text: &str) -> Result<LockedSet, ParseError> {
    parse(text).map(|lock| to_locked_set(&lock))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/packagist/composer"
    );

    fn fixture(case: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{case}/composer.lock")).unwrap()
    }

    #[test]
    fn reads_registry_git_and_path_entries() {
        let lock = parse(&fixture("registry-dist")).unwrap();
        let tagged = &lock.packages[2];
        assert_eq!(tagged.name, "acme/tagged");
        assert_eq!(tagged.version, "v2.1.0");
        assert_eq!(tagged.source.as_ref().unwrap().kind, "git");
        assert_eq!(tagged.line, Some(33));
        let locked = to_locked_set(&lock).normalised();
        let names: Vec<String> = locked.packages().iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            ["acme/http@1.2.0", "acme/log@1.4.2", "acme/tagged@2.1.0"]
        );
        assert!(locked.entries.iter().all(|entry| matches!(
            &entry.source,
            crate::package::Source::Registry { host: Some(host), url: Some(_) }
                if host == "repo.example.test"
        )));
        assert_eq!(locked.entries[2].line, Some(33));

        let locked = to_locked_set(&parse(&fixture("git-source")).unwrap());
        let git: Vec<_> = locked.non_registry().into_iter().collect();
        assert_eq!(git.len(), 1);
        assert_eq!(git[0].kind, SourceKind::Git);
        assert_eq!(
            git[0].source,
            "https://git.example.test/acme/edge.git#0123456789abcdef0123456789abcdef01234567"
        );

        let locked = to_locked_set(&parse(&fixture("path-repository")).unwrap());
        let path: Vec<_> = locked.non_registry().into_iter().collect();
        assert_eq!(
            (path[0].kind, path[0].source.as_str()),
            (SourceKind::File, "packages/local-lib")
        );
        assert_eq!(locked.packages().len(), 1);
    }

    #[test]
    fn dev_packages_are_marked() {
        let locked = to_locked_set(&parse(&fixture("dev-packages")).unwrap());
        let dev: Vec<String> = locked
            .entries
            .iter()
            .filter(|entry| entry.dev)
            .map(|entry| entry.package.to_string())
            .collect();
        assert_eq!(dev, ["acme/test-kit@3.1.0"]);
    }

    #[test]
    fn broken_input_is_a_located_error() {
        let error = parse("{\n  \"packages\": [\n    {\"name\": \"a/b\"}\n  ]\n}").unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.message.contains("version"), "{}", error.message);
        let error = parse("[1, 2]").unwrap_err();
        assert!(
            error.message.contains("not a composer.lock"),
            "{}",
            error.message
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep).is_err());
    }
}
