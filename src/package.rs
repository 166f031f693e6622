//! Domain types for packages found in lockfiles: what OSV is asked about, and what it is not.

use serde::Serialize;
use std::fmt;

/// A package ecosystem, named as OSV names it (case-sensitive on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Ecosystem {
    /// The npm registry (npm, yarn, pnpm and bun lockfiles).
    #[serde(rename = "npm")]
    Npm,
    /// The Python Package Index.
    #[serde(rename = "PyPI")]
    PyPI,
    /// PHP's Packagist (Composer's `composer.lock`).
    #[serde(rename = "Packagist")]
    Packagist,
}

impl Ecosystem {
    /// The ecosystem's name as OSV spells it.
    pub fn as_osv(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Packagist => "Packagist",
        }
    }
}

impl Ecosystem {
    /// Whose rules read its versions, for messages.
    pub fn version_rules(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm's semver",
            Ecosystem::PyPI => "PEP 440",
            Ecosystem::Packagist => "Composer",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_osv())
    }
}

/// A registry package at one exact version: the unit OSV is asked about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Package {
    /// Where the package is published.
    pub ecosystem: Ecosystem,
    /// The real (un-aliased) package name.
    pub name: String,
    /// The exact locked version.
    pub version: String,
}

impl Package {
    /// A package of `ecosystem` named `name` at `version`.
    pub fn new(ecosystem: Ecosystem, name: impl Into<String>, version: impl Into<String>) -> Self {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
        }
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version.is_empty() {
            write!(f, "{} (any version)", self.name)
        } else {
            write!(f, "{}@{}", self.name, self.version)
        }
    }
}

/// How a dependency that does not come from the registry is fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A git repository at some commit.
    Git,
    /// A local file or directory (`file:`).
    File,
    /// A tarball downloaded from a URL that is not a registry.
    Remote,
}

impl SourceKind {
    /// The kind's name as the JSON report spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Git => "git",
            SourceKind::File => "file",
            SourceKind::Remote => "remote",
        }
    }
}

/// A locked dependency that OSV cannot be asked about by version, listed in the report instead.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NonRegistry {
    /// The name the dependency is installed under.
    pub name: String,
    /// What kind of source it is.
    pub kind: SourceKind,
    /// Where it comes from, as the lockfile records it (git URL and commit, path, URL).
    pub source: String,
}

/// Everything one lockfile locks, split into what OSV can be asked about and what it cannot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockedSet {
    /// Registry packages, queried by exact version.
    pub packages: std::collections::BTreeSet<Package>,
    /// Git, `file:` and remote-tarball dependencies.
    pub non_registry: std::collections::BTreeSet<NonRegistry>,
    /// Requirements that name a package without pinning one version (`requests>=2`): only
    /// malware published under the name can be looked for.
    pub unpinned: std::collections::BTreeSet<Unpinned>,
    /// Packages the lockfile marks as needed for development only.
    pub dev: std::collections::BTreeSet<Package>,
    /// The host each package was resolved from, when the lockfile records a URL.
    pub hosts: std::collections::BTreeMap<Package, String>,
    /// Registry entries whose version the package manager would not read as one exact version
    /// (as the lockfile spells it): they cannot be checked, and are reported, never skipped.
    pub unreadable: std::collections::BTreeSet<Package>,
}

/// The host of a URL (`https://user@Host:8080/x` → `host`), lowercased; `None` for no URL.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A requirement without one exact version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Unpinned {
    /// The package, its name normalised.
    pub package: String,
    /// The requirement as written (`requests>=2`).
    pub requirement: String,
}

impl LockedSet {
    /// What `self` locks that `old` did not: the packages a change adds or moves to a new version.
    pub fn added_since(&self, old: &LockedSet) -> LockedSet {
        LockedSet {
            packages: self.packages.difference(&old.packages).cloned().collect(),
            non_registry: self
                .non_registry
                .difference(&old.non_registry)
                .cloned()
                .collect(),
            unpinned: self.unpinned.difference(&old.unpinned).cloned().collect(),
            dev: self.dev.difference(&old.packages).cloned().collect(),
            hosts: self
                .hosts
                .iter()
                .filter(|(package, _)| !old.packages.contains(*package))
                .map(|(package, host)| (package.clone(), host.clone()))
                .collect(),
            unreadable: self
                .unreadable
                .difference(&old.unreadable)
                .cloned()
                .collect(),
        }
    }

    /// Adds everything `other` locks.
    pub fn extend(&mut self, other: LockedSet) {
        self.packages.extend(other.packages);
        self.non_registry.extend(other.non_registry);
        self.unpinned.extend(other.unpinned);
        self.dev.extend(other.dev);
        self.hosts.extend(other.hosts);
        self.unreadable.extend(other.unreadable);
    }

    /// The same set with every version in its ecosystem's normal form
    /// ([`crate::version::normal`]); an entry whose version has none moves to `unreadable`.
    pub fn normalised(self) -> LockedSet {
        let mut normal = std::collections::BTreeMap::new();
        let mut unreadable = self.unreadable;
        for package in &self.packages {
            match crate::version::normal(package.ecosystem, &package.version) {
                Some(version) => {
                    normal.insert(
                        package.clone(),
                        Package::new(package.ecosystem, package.name.clone(), version),
                    );
                }
                None => {
                    unreadable.insert(package.clone());
                }
            }
        }
        LockedSet {
            packages: normal.values().cloned().collect(),
            dev: self
                .dev
                .iter()
                .filter_map(|package| normal.get(package).cloned())
                .collect(),
            hosts: self
                .hosts
                .into_iter()
                .filter_map(|(package, host)| Some((normal.get(&package)?.clone(), host)))
                .collect(),
            non_registry: self.non_registry,
            unpinned: self.unpinned,
            unreadable,
        }
    }

    /// Whether nothing is locked.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
            && self.non_registry.is_empty()
            && self.unpinned.is_empty()
            && self.unreadable.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(packages: &[(&str, &str)]) -> LockedSet {
        LockedSet {
            packages: packages
                .iter()
                .map(|(name, version)| Package::new(Ecosystem::Npm, *name, *version))
                .collect(),
            ..LockedSet::default()
        }
    }

    #[test]
    fn added_since_keeps_new_names_and_changed_versions_only() {
        let old = set(&[("debug", "4.4.1"), ("ms", "2.1.3"), ("gone", "1.0.0")]);
        let new = set(&[("debug", "4.4.2"), ("ms", "2.1.3"), ("fresh", "0.1.0")]);
        let added = new.added_since(&old);
        assert_eq!(added, set(&[("debug", "4.4.2"), ("fresh", "0.1.0")]));
    }
}
