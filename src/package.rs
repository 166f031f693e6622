//! Domain types for packages found in lockfiles: what OSV is asked about, and what it is not.

use serde::Serialize;
use std::collections::BTreeSet;
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
        crate::ecosystem::of(self).version_rules
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

/// Where a locked package comes from, as the lockfile records it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A package registry; its host and URL when the lockfile records one (a download or an
    /// index).
    Registry {
        /// The host, lowercased.
        host: Option<String>,
        /// The URL, as written.
        url: Option<String>,
    },
    /// Not a registry: a git repository, a local path or a remote tarball.
    Other {
        /// Which of those.
        kind: SourceKind,
        /// Where, as the lockfile records it (git URL and commit, path, URL).
        location: String,
    },
}

/// What a git dependency was asked to follow, as the lockfile records the request (not the
/// commit it resolved to): only a commit stays where it is when the lockfile is made again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GitReference {
    /// A commit (a full or abbreviated hexadecimal id).
    Commit(String),
    /// A branch, by name.
    Branch(String),
    /// A tag, by name.
    Tag(String),
    /// A name that may be a branch or a tag (npm `#main`, poetry `reference = "v1"`).
    Named(String),
    /// A semver range over the repository's tags (npm `#semver:^1.0`).
    TagRange(String),
    /// Nothing asked for: the repository's default branch.
    DefaultBranch,
}

impl GitReference {
    /// A reference given by name alone: a commit when it is hexadecimal and at least 7 long
    /// (git's shortest abbreviation), else a branch or a tag.
    pub fn named(name: &str) -> GitReference {
        let name = name.trim();
        if name.is_empty() {
            GitReference::DefaultBranch
        } else if name.len() >= 7 && name.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            GitReference::Commit(name.to_string())
        } else {
            GitReference::Named(name.to_string())
        }
    }

    /// The reference of an npm-family git spec (`github:a/b#main`, `git+https://h/x.git#v1`,
    /// berry's `#commit=…`/`#head=…`/`#tag=…`/`#semver=…`): what follows `#`, or the default
    /// branch when nothing does.
    pub fn of_npm_spec(spec: &str) -> GitReference {
        let Some((_, fragment)) = spec.split_once('#') else {
            return GitReference::DefaultBranch;
        };
        // npm's `#ref::path:sub`, berry's `#workspace=x&commit=y`.
        let fragment = fragment.split("::").next().unwrap_or_default();
        let mut found = None;
        for part in fragment.split('&') {
            let reference = match part.split_once(['=', ':']) {
                Some(("commit", commit)) => GitReference::named(commit),
                Some(("head" | "branch", branch)) => GitReference::Branch(branch.to_string()),
                Some(("tag", tag)) => GitReference::Tag(tag.to_string()),
                Some(("semver", range)) => GitReference::TagRange(range.to_string()),
                Some(_) => continue,
                None => GitReference::named(part),
            };
            found = Some(reference);
        }
        found.unwrap_or(GitReference::DefaultBranch)
    }

    /// The reference a dependency from another source was asked for by the npm-family `spec`,
    /// when that spec is a git one (`git+…`, `github:a/b`, `a/b#main`, `https://h/x.git`);
    /// `None` for a tarball URL, a path or a registry range. `git` says the lockfile resolved
    /// it from git, whatever the spec looks like.
    pub fn of_npm_dependency(spec: &str, git: bool) -> Option<GitReference> {
        let lower = spec.trim().to_ascii_lowercase();
        let before_fragment = lower.split('#').next().unwrap_or_default();
        let hosted = has_git_prefix(&lower);
        let url = lower.starts_with("http://") || lower.starts_with("https://");
        let shorthand = !before_fragment.contains(':')
            && !lower.starts_with(['@', '.', '/', '~'])
            && before_fragment.matches('/').count() == 1;
        let git_url = url && (before_fragment.ends_with(".git") || lower.contains(".git#"));
        (git || hosted || shorthand || git_url).then(|| GitReference::of_npm_spec(spec))
    }

    /// Whether it names a commit, so the next lock keeps it.
    pub fn is_commit(&self) -> bool {
        matches!(self, GitReference::Commit(_))
    }

    /// What it follows, for messages (`the branch main`).
    pub fn describe(&self) -> String {
        match self {
            GitReference::Commit(commit) => format!("the commit {commit}"),
            GitReference::Branch(branch) => format!("the branch {branch}"),
            GitReference::Tag(tag) => format!("the tag {tag}"),
            GitReference::Named(name) => format!("{name} (a branch or a tag)"),
            GitReference::TagRange(range) => format!("the newest tag in {range}"),
            GitReference::DefaultBranch => "the default branch".to_string(),
        }
    }
}

/// A dependency edge a lockfile records: the entry needs `name`, resolved to `version` where
/// the lockfile says which.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dependency {
    /// The name the dependency is asked for by.
    pub name: String,
    /// The version it resolved to, when the lockfile records it.
    pub version: Option<String>,
}

/// Everything a lockfile says about one locked package, as its parser read it: nothing later
/// reads the lockfile again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The package (its version in its ecosystem's normal form once parsed; for an entry from
    /// another source, the name it is installed under and the version it states, if any).
    pub package: Package,
    /// Where it comes from.
    pub source: Source,
    /// Needed for development only.
    pub dev: bool,
    /// Optional (installed where it can be).
    pub optional: bool,
    /// The checksum the lockfile pins (`sha512-…`, `sha256:…`), the first if several.
    pub checksum: Option<String>,
    /// Whether it runs install scripts, where the format records it.
    pub install_scripts: Option<bool>,
    /// When it was uploaded, where the format records it (RFC 3339; of several files, the
    /// newest).
    pub uploaded: Option<String>,
    /// The dependencies it records.
    pub dependencies: Vec<Dependency>,
    /// The 1-based line the entry starts on in the lockfile.
    pub line: Option<usize>,
    /// For a git dependency, what it was asked to follow, where the lockfile records the
    /// request.
    pub git_reference: Option<GitReference>,
    /// The package manager would not read its version as one exact version: it cannot be
    /// checked, and is reported, never skipped.
    pub unreadable: bool,
    /// The files the lockfile lists for it beside its source (Python's sdists and wheels): each
    /// file's URL, or its file name where the lockfile records only that.
    pub downloads: Vec<String>,
    /// The checksum the lockfile pins for each of those files, by file name (`sha256:…`).
    pub file_checksums: Vec<(String, String)>,
    /// The version the lockfile's own field states, where its download URL names another (npm
    /// installs what `resolved` names, so that is [`Entry::package`]'s version).
    pub stated_version: Option<String>,
}

impl Entry {
    /// A registry entry of `package`, with nothing else known yet.
    pub fn registry(package: Package) -> Entry {
        Entry {
            package,
            source: Source::Registry {
                host: None,
                url: None,
            },
            dev: false,
            optional: false,
            checksum: None,
            install_scripts: None,
            uploaded: None,
            dependencies: Vec::new(),
            line: None,
            git_reference: None,
            unreadable: false,
            downloads: Vec::new(),
            file_checksums: Vec::new(),
            stated_version: None,
        }
    }

    /// An entry from another source: `name` installed from `location`.
    pub fn other(ecosystem: Ecosystem, name: &str, kind: SourceKind, location: String) -> Entry {
        Entry {
            source: Source::Other { kind, location },
            ..Entry::registry(Package::new(ecosystem, name, ""))
        }
    }

    /// Sets the registry host from the URL the package was resolved from.
    pub fn from_url(mut self, url: &str) -> Entry {
        if let Source::Registry {
            host,
            url: recorded,
        } = &mut self.source
        {
            *host = url_host(url);
            *recorded = (!url.is_empty()).then(|| url.to_string());
        }
        self
    }

    /// Sets the line the entry stands on.
    pub fn at(mut self, line: Option<usize>) -> Entry {
        self.line = line;
        self
    }

    /// Every URL the lockfile records for it, beside a git or local source: the registry's
    /// (an npm tarball, a Python index), a remote tarball's, and its files'. File names without
    /// a URL are not among them.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        let source = match &self.source {
            Source::Registry { url: Some(url), .. } => Some(url.as_str()),
            Source::Other {
                kind: SourceKind::Remote,
                location,
            } => Some(location.as_str()),
            _ => None,
        };
        source
            .into_iter()
            .chain(self.downloads.iter().map(String::as_str))
            .filter(|url| url.contains("://"))
    }

    /// Whether `other` states everything `self` does, but perhaps on another line.
    pub fn same_but_line(&self, other: &Entry) -> bool {
        // Every field by name: a field added to Entry must be placed here.
        let Entry {
            package,
            source,
            dev,
            optional,
            checksum,
            install_scripts,
            uploaded,
            dependencies,
            line: _,
            git_reference,
            unreadable,
            downloads,
            file_checksums,
            stated_version,
        } = self;
        *package == other.package
            && *source == other.source
            && *dev == other.dev
            && *optional == other.optional
            && *checksum == other.checksum
            && *install_scripts == other.install_scripts
            && *uploaded == other.uploaded
            && *dependencies == other.dependencies
            && *git_reference == other.git_reference
            && *unreadable == other.unreadable
            && *downloads == other.downloads
            && *file_checksums == other.file_checksums
            && *stated_version == other.stated_version
    }

    /// Whether it is a registry package OSV can be asked about by version.
    pub fn is_queryable(&self) -> bool {
        matches!(self.source, Source::Registry { .. }) && !self.unreadable
    }

    /// The report's view of an entry from another source.
    pub fn non_registry(&self) -> Option<NonRegistry> {
        match &self.source {
            Source::Other { kind, location } => Some(NonRegistry {
                name: self.package.name.clone(),
                kind: *kind,
                source: location.clone(),
            }),
            Source::Registry { .. } => None,
        }
    }
}

/// Everything one lockfile locks: one [`Entry`] per package it lists (in file order; a package
/// installed in several places has several), and the requirements that pin no version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockedSet {
    /// The entries.
    pub entries: Vec<Entry>,
    /// Requirements that name a package without pinning one version (`requests>=2`): only
    /// malware published under the name can be looked for.
    pub unpinned: BTreeSet<Unpinned>,
    /// The project's own dependencies, where the lockfile records them: where chains of
    /// dependencies start.
    pub roots: Vec<Dependency>,
}

/// The host of a URL (`https://user@Host:8080/x` → `host`), lowercased; `None` for no URL.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The path of a URL as a server reads it: without query or fragment, percent-decoded (`%2f`
/// too: registries read `@scope%2fname` as `@scope/name`), `.` and `..` segments resolved.
/// `None` for no URL. Bounded by the URL's length.
pub fn url_path(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = rest.find('/').map_or("", |start| &rest[start..]);
    let decoded = percent_decode(path);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let joined = segments.join("/");
    Some(if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    })
}

/// Whether a lowercased npm-family spec or `resolved` starts the way only git sources do
/// (`git+…`, `git:`, `git@`, `github:`, `gitlab:`, `bitbucket:`, `gist:`).
pub(crate) fn has_git_prefix(lower: &str) -> bool {
    [
        "git+",
        "git:",
        "git@",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
    ]
    .iter()
    .any(|prefix| lower.starts_with(prefix))
}

/// `%2F` → `/`, `%3A` → `:` (berry escapes the references it nests): every `%` and two hex
/// digits as the byte they name (invalid UTF-8 replaced).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The entries of `entries` that `dependency` resolves to (`by_name`: entry indexes by name),
/// without a list or a string per edge: the version as written is compared first, its normal
/// form only when that differs.
fn resolved<'d>(
    entries: &'d [Entry],
    by_name: &'d foldhash::HashMap<&str, Vec<usize>>,
    dependency: &'d Dependency,
) -> impl Iterator<Item = usize> + 'd {
    let candidates = by_name.get(dependency.name.as_str()).into_iter().flatten();
    candidates.copied().filter(move |&index| {
        let package = &entries[index].package;
        dependency.version.as_ref().is_none_or(|version| {
            *version == package.version
                || crate::version::normal(package.ecosystem, version).as_ref()
                    == Some(&package.version)
        })
    })
}

/// The chains of dependencies of a [`LockedSet`], walked once.
pub struct DependencyPaths<'a> {
    set: &'a LockedSet,
    /// By entry: `None` when the walk did not reach it, else the entry it was reached from
    /// (`None` again for a start).
    came_from: Vec<Option<Option<usize>>>,
    first: foldhash::HashMap<&'a Package, usize>,
}

impl DependencyPaths<'_> {
    /// The shortest chain that brings `target` in, as `name@version` steps ending with it.
    pub fn path_to(&self, target: &Package) -> Option<Vec<String>> {
        let mut steps = Vec::new();
        let mut step = Some(*self.first.get(target)?);
        while let Some(index) = step {
            steps.push(self.set.entries[index].package.to_string());
            step = self.came_from.get(index).copied().flatten().flatten();
        }
        steps.reverse();
        Some(steps)
    }
}

/// A requirement without one exact version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Unpinned {
    /// The package (no version), its name normalised.
    pub package: Package,
    /// The requirement as written (`requests>=2`).
    pub requirement: String,
}

impl LockedSet {
    /// Adds an entry and returns it, for its parser to fill in.
    pub fn push(&mut self, entry: Entry) -> &mut Entry {
        self.entries.push(entry);
        self.entries.last_mut().expect("just pushed")
    }

    /// The registry packages, queried by exact version.
    pub fn packages(&self) -> BTreeSet<Package> {
        self.entries
            .iter()
            .filter(|entry| entry.is_queryable())
            .map(|entry| entry.package.clone())
            .collect()
    }

    /// The registry packages as `name@version`, in order (for tests and messages).
    pub fn package_list(&self) -> Vec<String> {
        self.packages().iter().map(ToString::to_string).collect()
    }

    /// The git, `file:` and remote-tarball dependencies.
    pub fn non_registry(&self) -> BTreeSet<NonRegistry> {
        self.entries
            .iter()
            .filter_map(Entry::non_registry)
            .collect()
    }

    /// Registry entries whose version cannot be read as one exact version.
    pub fn unreadable(&self) -> BTreeSet<Package> {
        self.entries
            .iter()
            .filter(|entry| entry.unreadable)
            .map(|entry| entry.package.clone())
            .collect()
    }

    /// What `self` locks that `old` did not: the entries of packages a change adds or moves to
    /// a new version (or source), and the unpinned requirements it adds.
    pub fn added_since(&self, old: &LockedSet) -> LockedSet {
        let known: std::collections::HashSet<(&Package, Option<NonRegistry>, bool)> = old
            .entries
            .iter()
            .map(|entry| (&entry.package, entry.non_registry(), entry.unreadable))
            .collect();
        LockedSet {
            entries: self
                .entries
                .iter()
                .filter(|entry| {
                    !known.contains(&(&entry.package, entry.non_registry(), entry.unreadable))
                })
                .cloned()
                .collect(),
            unpinned: self.unpinned.difference(&old.unpinned).cloned().collect(),
            roots: self.roots.clone(),
        }
    }

    /// Adds everything `other` locks.
    pub fn extend(&mut self, other: LockedSet) {
        self.entries.extend(other.entries);
        self.unpinned.extend(other.unpinned);
        self.roots.extend(other.roots);
    }

    /// The same set with every registry version in its ecosystem's normal form
    /// ([`crate::version::normal`]); an entry whose version has none is marked unreadable.
    pub fn normalised(mut self) -> LockedSet {
        for entry in &mut self.entries {
            if !matches!(entry.source, Source::Registry { .. }) || entry.unreadable {
                continue;
            }
            match crate::version::normal(entry.package.ecosystem, &entry.package.version) {
                Some(version) => entry.package.version = version,
                None => entry.unreadable = true,
            }
        }
        self
    }

    /// The shortest chain of recorded dependencies from the project to an entry of `target`,
    /// as `name@version` steps ending with it; `None` when the lockfile records no chain to it.
    /// Chains start at the project's own dependencies ([`LockedSet::roots`]), or where the
    /// lockfile does not record those, at the entries nothing else depends on.
    pub fn dependency_path(&self, target: &Package) -> Option<Vec<String>> {
        self.dependency_paths().path_to(target)
    }

    /// Every chain of dependencies at once (one walk of the graph), for asking about many
    /// packages: [`DependencyPaths::path_to`] answers as [`dependency_path`](Self::dependency_path).
    pub fn dependency_paths(&self) -> DependencyPaths<'_> {
        let mut by_name: foldhash::HashMap<&str, Vec<usize>> = foldhash::HashMap::default();
        for (index, entry) in self.entries.iter().enumerate() {
            by_name.entry(&entry.package.name).or_default().push(index);
        }
        let resolve = |dependency| resolved(&self.entries, &by_name, dependency);
        let mut starts: Vec<usize> = self.roots.iter().flat_map(&resolve).collect();
        if self.roots.is_empty() {
            let needed: BTreeSet<usize> = self
                .entries
                .iter()
                .flat_map(|entry| entry.dependencies.iter().flat_map(&resolve))
                .collect();
            starts = (0..self.entries.len())
                .filter(|index| !needed.contains(index))
                .collect();
        }
        // Breadth first from the starts: the first entry of each package reached is the one
        // its chain ends at (the shortest).
        let mut came_from: Vec<Option<Option<usize>>> = vec![None; self.entries.len()];
        let mut queue = std::collections::VecDeque::new();
        for start in starts {
            if came_from[start].is_none() {
                came_from[start] = Some(None);
                queue.push_back(start);
            }
        }
        let mut first: foldhash::HashMap<&Package, usize> = foldhash::HashMap::default();
        while let Some(at) = queue.pop_front() {
            first.entry(&self.entries[at].package).or_insert(at);
            for next in self.entries[at].dependencies.iter().flat_map(&resolve) {
                if came_from[next].is_none() {
                    came_from[next] = Some(Some(at));
                    queue.push_back(next);
                }
            }
        }
        DependencyPaths {
            set: self,
            came_from,
            first,
        }
    }

    /// Whether nothing is locked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.unpinned.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(packages: &[(&str, &str)]) -> LockedSet {
        LockedSet {
            entries: packages
                .iter()
                .map(|(name, version)| {
                    Entry::registry(Package::new(Ecosystem::Npm, *name, *version))
                })
                .collect(),
            ..LockedSet::default()
        }
    }

    #[test]
    fn git_references_of_npm_specs() {
        // Spec shapes from npm-package-arg's and yarn berry's documentation.
        let sha = "b7d9818608d0fe7aec016186c6e3afc5df721145";
        let cases = [
            ("github:acme/tool", GitReference::DefaultBranch),
            (
                "git+https://git.example.test/a/b.git#main",
                GitReference::Named("main".into()),
            ),
            (
                &format!("git+ssh://git@git.example.test/a/b.git#{sha}"),
                GitReference::Commit(sha.into()),
            ),
            (
                "acme/tool#semver:^1.2",
                GitReference::TagRange("^1.2".into()),
            ),
            (
                "https://git.example.test/a/b.git#head=dev",
                GitReference::Branch("dev".into()),
            ),
            (
                "https://git.example.test/a/b.git#tag=v1",
                GitReference::Tag("v1".into()),
            ),
            (
                "https://git.example.test/a/b.git#workspace=x&commit=abcdef1",
                GitReference::Commit("abcdef1".into()),
            ),
            (
                "git+https://git.example.test/a/b.git#v1::path:packages/x",
                GitReference::Named("v1".into()),
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                GitReference::of_npm_dependency(spec, false),
                Some(expected),
                "{spec}"
            );
        }
        for spec in [
            "^1.2.0",
            "file:../x",
            "https://files.example.test/x.tgz",
            "npm:other@1",
        ] {
            assert_eq!(GitReference::of_npm_dependency(spec, false), None, "{spec}");
        }
        // Resolved from git, whatever the spec looks like.
        assert_eq!(
            GitReference::of_npm_dependency("x", true),
            Some(GitReference::DefaultBranch)
        );
    }

    #[test]
    fn added_since_keeps_new_names_and_changed_versions_only() {
        let old = set(&[("debug", "4.4.1"), ("ms", "2.1.3"), ("gone", "1.0.0")]);
        let new = set(&[("debug", "4.4.2"), ("ms", "2.1.3"), ("fresh", "0.1.0")]);
        let added = new.added_since(&old);
        assert_eq!(added, set(&[("debug", "4.4.2"), ("fresh", "0.1.0")]));
    }
}
