//! Parsers for Python lockfiles: `poetry.lock`, `uv.lock`, `pdm.lock`, `pylock.toml` (PEP 751)
//! and `Pipfile.lock`. Each is TOML (Pipfile.lock: JSON) listing one entry per locked
//! package; names are PEP 503-normalised, versions kept as written (PEP 440 compares them).
//! Entries from git, a URL or a local path are other sources; the project itself (uv's
//! `virtual`/`editable` root, a local `directory`) is its own code.

use crate::ecosystem::json_lines::value_lines;
use crate::ecosystem::parse::LineIndex;
use crate::ecosystem::ParseError;
use crate::matching::normalize_name;
use crate::package::{Dependency, Ecosystem, Entry, LockedSet, Package, SourceKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::str::FromStr;

/// `name` normalised as PEP 503 says (`Foo_Bar` → `foo-bar`).
pub fn normalize(name: &str) -> String {
    normalize_name(Ecosystem::PyPI, name)
}

/// A published version of `name`.
fn registry(name: &str, version: &str) -> Entry {
    Entry::registry(Package::new(
        Ecosystem::PyPI,
        normalize(name),
        version.trim(),
    ))
}

/// `name` from another source.
fn other(name: &str, kind: SourceKind, source: String) -> Entry {
    Entry::other(Ecosystem::PyPI, &normalize(name), kind, source)
}

/// The line a `Spanned` value starts on.
fn line_of<T>(lines: &LineIndex, value: &toml::Spanned<T>) -> Option<usize> {
    Some(lines.line(value.span().start))
}

/// A file a TOML lockfile lists for a package (`{file = "…", hash = "sha256:…"}`, or uv's and
/// PEP 751's `{url = "…", hash(es) = …, upload-time = …}`).
#[derive(Deserialize, Default)]
struct FileWire {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default, rename = "upload-time")]
    upload_time: Option<toml::Value>,
    /// Where it is downloaded from (uv, pdm with URLs, PEP 751).
    #[serde(default)]
    url: Option<String>,
    /// Its file name, where no URL is recorded (poetry's and pdm's `file`, PEP 751's `name`).
    #[serde(default, alias = "name")]
    file: Option<String>,
}

impl FileWire {
    /// Its checksum as `algorithm:hex`.
    fn checksum(&self) -> Option<String> {
        self.hash.clone().or_else(|| {
            self.hashes
                .iter()
                .next()
                .map(|(algorithm, hex)| format!("{algorithm}:{hex}"))
        })
    }

    /// Whether it is a wheel (installed as built) rather than a source distribution (built at
    /// install, running its build backend's code); `None` when it does not say its name.
    fn is_wheel(&self) -> Option<bool> {
        let name = self.file.as_deref().or_else(|| {
            let url = self.url.as_deref()?;
            let path = url.split(['?', '#']).next()?;
            path.rsplit('/').next()
        })?;
        Some(name.to_ascii_lowercase().ends_with(".whl"))
    }

    /// When it was uploaded, as written.
    fn uploaded(&self) -> Option<String> {
        self.upload_time.as_ref().map(|time| match time {
            toml::Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }
}

/// Sets what the files of an entry say: the first checksum, the newest upload time (a file
/// added to an old release is as new as its upload: the release age judges that), where each is
/// downloaded from (its URL, else its file name), and whether installing it runs code: a
/// release offered only as source distributions is built at install.
fn with_files<'a>(entry: &mut Entry, files: impl IntoIterator<Item = &'a FileWire>) {
    // Wheels seen, and whether every file said what it is.
    let (mut wheels, mut files_seen, mut all_named) = (false, false, true);
    for file in files {
        files_seen = true;
        match file.is_wheel() {
            Some(wheel) => wheels |= wheel,
            None => all_named = false,
        }
        if let Some(download) = file.url.as_ref().or(file.file.as_ref()) {
            entry.downloads.push(download.clone());
            let path = download.split(['?', '#']).next().unwrap_or_default();
            let name = path.rsplit('/').next().unwrap_or_default();
            if let (false, Some(checksum)) = (name.is_empty(), file.checksum()) {
                entry.file_checksums.push((name.to_string(), checksum));
            }
        }
        if entry.checksum.is_none() {
            entry.checksum = file.checksum();
        }
        if let Some(uploaded) = file.uploaded() {
            if entry
                .uploaded
                .as_ref()
                .is_none_or(|newest| parse_time(&uploaded) > parse_time(newest))
            {
                entry.uploaded = Some(uploaded);
            }
        }
    }
    entry.install_scripts = if wheels {
        Some(false)
    } else if files_seen && all_named {
        Some(true)
    } else {
        None
    };
}

/// Unix seconds of an upload time (0 when unreadable), so that offsets and fractions compare.
fn parse_time(text: &str) -> u64 {
    crate::report::parse_rfc3339(text).unwrap_or(0)
}

/// Edges by name only (the lockfile records the range asked for, not what it resolved to).
fn named<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<Dependency> {
    names
        .into_iter()
        .map(|name| Dependency {
            name: normalize(name),
            version: None,
        })
        .collect()
}

/// A TOML document, or the line and column where it stops being one.
fn toml_document<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, ParseError> {
    toml::from_str(text).map_err(|error| ParseError::from_toml(text, &error))
}

// --- poetry.lock ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
    #[serde(default)]
    metadata: PoetryMetadata,
}

#[derive(Deserialize, Default)]
struct PoetryMetadata {
    #[serde(default, rename = "content-hash")]
    content_hash: Option<String>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: toml::Spanned<String>,
    version: String,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    files: Vec<FileWire>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    #[serde(default)]
    source: Option<PoetrySource>,
    /// poetry 2: the dependency groups that need it (`["main"]`, `["dev"]`).
    #[serde(default)]
    groups: Option<Vec<String>>,
    /// poetry 1: `main` or `dev`.
    #[serde(default)]
    category: Option<String>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    resolved_reference: Option<String>,
}

/// A parsed `poetry.lock`: its packages and `content-hash`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poetry {
    /// What it locks.
    pub locked: LockedSet,
    /// `[metadata] content-hash`: poetry's hash of the pyproject.toml it was locked from.
    pub content_hash: Option<String>,
}

impl Poetry {
    /// Parses `poetry.lock` text.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let lock: PoetryLock = toml_document(text)?;
        let lines = LineIndex::new(text);
        let mut locked = LockedSet::default();
        for package in lock.package {
            let dev = match (&package.groups, &package.category) {
                (Some(groups), _) => !groups.iter().any(|group| group == "main"),
                (None, Some(category)) => category == "dev",
                (None, None) => false,
            };
            let name = package.name.get_ref();
            let mut entry = match package.source {
                // `legacy` is another package index: still a published version.
                None => registry(name, &package.version),
                Some(source) if source.kind == "legacy" => {
                    registry(name, &package.version).from_url(&source.url)
                }
                Some(source) => {
                    // `reference` is what was asked for (`main`, `v1`, a commit; `HEAD` for
                    // nothing), `resolved_reference` the commit it resolved to.
                    let requested = match source.reference.as_deref() {
                        Some("HEAD") => Some(crate::package::GitReference::DefaultBranch),
                        Some(reference) => Some(crate::package::GitReference::named(reference)),
                        None => None,
                    };
                    let (kind, text) = match source.kind.as_str() {
                        "git" => {
                            let commit = source
                                .resolved_reference
                                .or(source.reference)
                                .unwrap_or_default();
                            (SourceKind::Git, format!("{}#{commit}", source.url))
                        }
                        "url" => (SourceKind::Remote, source.url),
                        _ => (SourceKind::File, source.url),
                    };
                    let mut entry = other(name, kind, text);
                    if kind == SourceKind::Git {
                        entry.git_reference = requested;
                    }
                    entry
                }
            };
            entry.dev = dev;
            entry.optional = package.optional;
            with_files(&mut entry, &package.files);
            entry.dependencies = named(package.dependencies.keys());
            locked.push(entry.at(line_of(&lines, &package.name)));
        }
        Ok(Poetry {
            locked,
            content_hash: lock.metadata.content_hash,
        })
    }
}

// --- uv.lock -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct UvLockWire {
    #[serde(default)]
    revision: u64,
    #[serde(default, rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    options: BTreeMap<String, toml::Value>,
    #[serde(default)]
    manifest: UvManifest,
    #[serde(default, rename = "required-markers")]
    required_markers: Vec<String>,
    #[serde(default, rename = "supported-markers")]
    supported_markers: Vec<String>,
    #[serde(default)]
    conflicts: Option<toml::Value>,
    #[serde(default)]
    package: Vec<UvPackageWire>,
}

#[derive(Deserialize)]
struct UvPackageWire {
    name: toml::Spanned<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    sdist: Option<FileWire>,
    #[serde(default)]
    wheels: Vec<FileWire>,
    #[serde(default)]
    dependencies: Vec<UvDependencyWire>,
    #[serde(default)]
    metadata: Option<UvMetadataWire>,
}

#[derive(Deserialize)]
struct UvDependencyWire {
    name: String,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
struct UvMetadataWire {
    #[serde(default, rename = "requires-dist")]
    requires_dist: Vec<UvRequirement>,
    #[serde(default, rename = "requires-dev")]
    requires_dev: BTreeMap<String, Vec<UvRequirement>>,
    #[serde(default, rename = "provides-extras")]
    provides_extras: Option<Vec<String>>,
}

/// What uv resolved the workspace from, beside its projects (`[manifest]`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct UvManifest {
    /// The workspace members' names (a workspace of one project has none).
    #[serde(default)]
    pub members: Vec<String>,
    /// Requirements of a workspace root without `[project]`.
    #[serde(default)]
    pub requirements: Vec<UvRequirement>,
    /// `[tool.uv] constraint-dependencies`.
    #[serde(default)]
    pub constraints: Vec<UvRequirement>,
    /// `[tool.uv] override-dependencies`.
    #[serde(default)]
    pub overrides: Vec<UvRequirement>,
    /// `[tool.uv] build-constraint-dependencies`.
    #[serde(default, rename = "build-constraints")]
    pub build_constraints: Vec<UvRequirement>,
    /// Dependency groups of a workspace root without `[project]`.
    #[serde(default, rename = "dependency-groups")]
    pub dependency_groups: BTreeMap<String, Vec<UvRequirement>>,
    /// `[tool.uv] exclude-dependencies`.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// `[[tool.uv.dependency-metadata]]`.
    #[serde(default, rename = "dependency-metadata")]
    pub dependency_metadata: Vec<toml::Value>,
}

/// One requirement uv recorded for the project (`{ name = "requests", specifier = ">=2" }`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct UvRequirement {
    /// The package.
    pub name: String,
    /// Its version specifier (`>=2.31`), when any.
    #[serde(default)]
    pub specifier: Option<String>,
    /// Extras asked for.
    #[serde(default)]
    pub extras: Vec<String>,
    /// The environment marker, when any.
    #[serde(default)]
    pub marker: Option<String>,
    /// Where it comes from when not the default index: `editable`, `directory`, `path`,
    /// `virtual`, `git`, `url` or `index`, and its location.
    #[serde(flatten)]
    pub source: BTreeMap<String, toml::Value>,
}

/// A parsed `uv.lock`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Uv {
    /// What it locks.
    pub locked: LockedSet,
    /// The source trees it locks (workspace members, local folders): name → what uv recorded of
    /// their `[project] dependencies` (`requires-dist`) and dependency groups (`requires-dev`).
    pub projects: BTreeMap<String, UvProject>,
    /// The lockfile's `revision`.
    pub revision: u64,
    /// `requires-python`: the workspace's Python range it was resolved for.
    pub requires_python: Option<String>,
    /// `[options]`: the resolver settings it was made with (`resolution-mode`, `exclude-newer`).
    pub options: BTreeMap<String, toml::Value>,
    /// `[manifest]`.
    pub manifest: UvManifest,
    /// `required-markers`: `[tool.uv] required-environments`.
    pub required_markers: Vec<String>,
    /// `supported-markers`: `[tool.uv] environments`.
    pub supported_markers: Vec<String>,
    /// `conflicts`: `[tool.uv] conflicts`.
    pub conflicts: Option<toml::Value>,
}

/// What `uv.lock` recorded of one of its source trees.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UvProject {
    /// Its `version`, when uv recorded one (not for a dynamic version).
    pub version: Option<String>,
    /// How it is installed (`virtual`, `editable`, `directory`) and its folder, relative to the
    /// lockfile's.
    pub source: (String, String),
    /// `provides-extras`, when recorded.
    pub provides_extras: Option<Vec<String>>,
    /// `requires-dist`.
    pub requires_dist: Vec<UvRequirement>,
    /// `requires-dev`: group → requirements.
    pub requires_dev: BTreeMap<String, Vec<UvRequirement>>,
}

impl Uv {
    /// Parses `uv.lock` text.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let lock: UvLockWire = toml_document(text)?;
        let lines = LineIndex::new(text);
        let mut uv = Uv {
            revision: lock.revision,
            requires_python: lock.requires_python,
            options: lock.options,
            manifest: lock.manifest,
            required_markers: lock.required_markers,
            supported_markers: lock.supported_markers,
            conflicts: lock.conflicts,
            ..Uv::default()
        };
        let manifest = uv
            .manifest
            .requirements
            .iter()
            .chain(uv.manifest.dependency_groups.values().flatten());
        uv.locked
            .roots
            .extend(named(manifest.map(|requirement| &requirement.name)));
        for package in lock.package {
            let source_text = |key: &str| {
                package
                    .source
                    .get(key)
                    .and_then(toml::Value::as_str)
                    .map(str::to_string)
            };
            let tree = ["editable", "virtual", "directory"]
                .into_iter()
                .find_map(|kind| Some((kind.to_string(), source_text(kind)?)));
            if let Some(source) = tree {
                let metadata = package.metadata.unwrap_or_default();
                let directory = source.0 == "directory";
                // What a member of the workspace asks for is the project's own dependency.
                if !directory {
                    let requires = metadata
                        .requires_dist
                        .iter()
                        .chain(metadata.requires_dev.values().flatten());
                    uv.locked
                        .roots
                        .extend(named(requires.map(|requirement| &requirement.name)));
                }
                uv.projects.insert(
                    normalize(package.name.get_ref()),
                    UvProject {
                        version: package.version.clone(),
                        source,
                        provides_extras: metadata.provides_extras,
                        requires_dist: metadata.requires_dist,
                        requires_dev: metadata.requires_dev,
                    },
                );
                // A local folder installed as a copy is a package of the set, not the project's code.
                if !directory {
                    continue;
                }
            }
            let version = package.version.clone().unwrap_or_default();
            let name = package.name.get_ref();
            let mut entry = if package.source.contains_key("registry") || package.source.is_empty()
            {
                registry(name, &version).from_url(&source_text("registry").unwrap_or_default())
            } else if let Some(git) = source_text("git") {
                let reference = uv_git_reference(&git);
                let mut entry = other(name, SourceKind::Git, git);
                entry.git_reference = Some(reference);
                entry
            } else if let Some(url) = source_text("url") {
                other(name, SourceKind::Remote, url)
            } else if let Some(path) = source_text("path").or_else(|| source_text("directory")) {
                other(name, SourceKind::File, path)
            } else {
                continue;
            };
            with_files(&mut entry, package.sdist.iter().chain(&package.wheels));
            entry.dependencies = package
                .dependencies
                .iter()
                .map(|dependency| Dependency {
                    name: normalize(&dependency.name),
                    version: dependency.version.clone(),
                })
                .collect();
            uv.locked.push(entry.at(line_of(&lines, &package.name)));
        }
        Ok(uv)
    }
}

/// What a uv git source follows: `?rev=`, `?tag=` or `?branch=` before the `#commit`, and
/// without one the default branch (uv writes the query whenever a reference was asked for).
fn uv_git_reference(location: &str) -> crate::package::GitReference {
    use crate::package::GitReference;
    let url = location.split('#').next().unwrap_or_default();
    let query = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("rev", rev)) => return GitReference::named(rev),
            Some(("tag", tag)) => return GitReference::Tag(tag.to_string()),
            Some(("branch", branch)) => return GitReference::Branch(branch.to_string()),
            _ => {}
        }
    }
    GitReference::DefaultBranch
}

// --- pdm.lock ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct PdmLockWire {
    #[serde(default)]
    package: Vec<PdmPackageWire>,
    #[serde(default)]
    metadata: PdmMetadataWire,
}

#[derive(Deserialize, Default)]
struct PdmMetadataWire {
    #[serde(default)]
    content_hash: Option<String>,
}

#[derive(Deserialize)]
struct PdmPackageWire {
    name: toml::Spanned<String>,
    #[serde(default)]
    files: Vec<FileWire>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    git: Option<String>,
    #[serde(default)]
    revision: Option<String>,
    /// What was asked for (a branch, a tag or a commit), beside the `revision` it resolved to.
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

/// A parsed `pdm.lock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pdm {
    /// What it locks.
    pub locked: LockedSet,
    /// `[metadata] content_hash` (`sha256:…`).
    pub content_hash: Option<String>,
}

impl Pdm {
    /// Parses `pdm.lock` text.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let lock: PdmLockWire = toml_document(text)?;
        let lines = LineIndex::new(text);
        let mut locked = LockedSet::default();
        for package in lock.package {
            let name = package.name.get_ref();
            let mut entry = if let Some(git) = package.git {
                let source = format!("{git}#{}", package.revision.unwrap_or_default());
                let mut entry = other(name, SourceKind::Git, source);
                entry.git_reference = package
                    .reference
                    .as_deref()
                    .map(crate::package::GitReference::named);
                entry
            } else if let Some(url) = package.url {
                other(name, SourceKind::Remote, url)
            } else if let Some(path) = package.path {
                other(name, SourceKind::File, path)
            } else if let Some(version) = package.version {
                registry(name, &version)
            } else {
                continue;
            };
            with_files(&mut entry, &package.files);
            // PEP 508 requirements: the name is what comes before any specifier or marker.
            let names: Vec<String> = package
                .dependencies
                .iter()
                .filter_map(|requirement| {
                    let end = requirement
                        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
                        .unwrap_or(requirement.len());
                    (end > 0).then(|| requirement[..end].to_string())
                })
                .collect();
            entry.dependencies = named(&names);
            locked.push(entry.at(line_of(&lines, &package.name)));
        }
        Ok(Pdm {
            locked,
            content_hash: lock.metadata.content_hash,
        })
    }
}

// --- pylock.toml (PEP 751) -----------------------------------------------------------------

#[derive(Deserialize)]
struct PylockWire {
    #[serde(rename = "lock-version")]
    lock_version: Option<String>,
    #[serde(default)]
    packages: Vec<PylockPackageWire>,
}

#[derive(Deserialize)]
struct PylockPackageWire {
    name: toml::Spanned<String>,
    #[serde(default)]
    sdist: Option<FileWire>,
    #[serde(default)]
    wheels: Vec<FileWire>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    vcs: Option<toml::Value>,
    #[serde(default)]
    directory: Option<toml::Value>,
    #[serde(default)]
    archive: Option<toml::Value>,
}

/// Parses `pylock.toml` (PEP 751): packages with `vcs`, `directory` or `archive` are other
/// sources; the rest (sdists and wheels from an index) are published versions.
pub fn parse_pylock(text: &str) -> Result<LockedSet, ParseError> {
    let lock: PylockWire = toml_document(text)?;
    let lines = LineIndex::new(text);
    if lock.lock_version.is_none() {
        return Err(ParseError::new(
            1,
            1,
            "no `lock-version`: not a PEP 751 pylock.toml",
        ));
    }
    let mut locked = LockedSet::default();
    let text_of = |value: &toml::Value, key: &str| {
        value
            .get(key)
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    for package in lock.packages {
        let name = package.name.get_ref();
        let mut entry = if let Some(vcs) = &package.vcs {
            let source = format!("{}#{}", text_of(vcs, "url"), text_of(vcs, "commit-id"));
            let mut entry = other(name, SourceKind::Git, source);
            let requested = text_of(vcs, "requested-revision");
            if !requested.is_empty() && text_of(vcs, "type") == "git" {
                entry.git_reference = Some(crate::package::GitReference::named(&requested));
            }
            entry
        } else if let Some(directory) = &package.directory {
            other(name, SourceKind::File, text_of(directory, "path"))
        } else if let Some(archive) = &package.archive {
            let url = text_of(archive, "url");
            let source = if url.is_empty() {
                text_of(archive, "path")
            } else {
                url
            };
            other(name, SourceKind::Remote, source)
        } else if let Some(version) = &package.version {
            registry(name, version)
        } else {
            continue;
        };
        with_files(&mut entry, package.sdist.iter().chain(&package.wheels));
        locked.push(entry.at(line_of(&lines, &package.name)));
    }
    Ok(locked)
}

// --- Pipfile.lock --------------------------------------------------------------------------

#[derive(Deserialize)]
struct PipfileLockWire {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    #[serde(default)]
    git: Option<String>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    file: Option<String>,
}

/// Parses `Pipfile.lock` (JSON): `default` and `develop`, each name → `{"version": "==1.2.3"}`
/// or a git / path / file source.
pub fn parse_pipfile_lock(text: &str) -> Result<LockedSet, ParseError> {
    let lock: PipfileLockWire =
        serde_json::from_str(text).map_err(|error| ParseError::from_json(&error))?;
    let lines = value_lines(text, 2, |path| {
        path.len() == 2 && (path[0] == "default" || path[0] == "develop")
    });
    let mut locked = LockedSet::default();
    let sections = [("default", &lock.default), ("develop", &lock.develop)];
    for (section, entries) in sections {
        for (name, wire) in entries {
            let mut entry = if let Some(git) = &wire.git {
                let source = format!("{git}#{}", wire.reference.clone().unwrap_or_default());
                other(name, SourceKind::Git, source)
            } else if let Some(path) = &wire.path {
                other(name, SourceKind::File, path.clone())
            } else if let Some(file) = &wire.file {
                other(name, SourceKind::Remote, file.clone())
            } else if let Some(version) = &wire.version {
                // pipenv leaves a package it did not resolve (its markers excluded it where
                // the lock was made) with the Pipfile's range: `"*"`, `"==>=2"`. Nothing is
                // locked.
                let pinned = version.trim_start_matches("===").trim_start_matches("==");
                if pep440_rs::Version::from_str(pinned).is_err() {
                    locked.unpinned.insert(crate::package::Unpinned {
                        package: Package::new(Ecosystem::PyPI, normalize(name), ""),
                        requirement: format!("{name} {version} (not resolved in Pipfile.lock)"),
                    });
                    continue;
                }
                registry(name, pinned)
            } else {
                continue;
            };
            entry.dev = section == "develop";
            entry.checksum = wire.hashes.first().cloned();
            let path = [section.to_string(), name.clone()];
            locked.push(entry.at(lines.get(&path[..]).copied()));
        }
    }
    Ok(locked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packages(locked: &LockedSet) -> Vec<String> {
        locked.packages().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn poetry_uv_pdm_pylock_and_pipfile() {
        // Shapes from each tool's documentation and tests/fixtures/pypi.
        let poetry = Poetry::parse(
            "[[package]]\nname = \"Jinja2\"\nversion = \"3.1.4\"\n\n[[package]]\nname = \"vcspkg\"\nversion = \"1.0\"\n[package.source]\ntype = \"git\"\nurl = \"https://example.test/repo.git\"\nreference = \"v1\"\nresolved_reference = \"abc\"\n\n[metadata]\ncontent-hash = \"deadbeef\"\n",
        )
        .unwrap();
        assert_eq!(packages(&poetry.locked), ["jinja2@3.1.4"]);
        assert_eq!(poetry.content_hash.as_deref(), Some("deadbeef"));
        assert_eq!(poetry.locked.non_registry().len(), 1);

        let uv = Uv::parse(
            "version = 1\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n\n[package.metadata]\nrequires-dist = [{ name = \"requests\", specifier = \">=2.31\" }]\n\n[[package]]\nname = \"typing-extensions\"\nversion = \"4.12.2\"\nsource = { registry = \"https://pypi.example.test/simple\" }\n",
        )
        .unwrap();
        assert_eq!(packages(&uv.locked), ["typing-extensions@4.12.2"]);
        assert_eq!(
            uv.projects["demo"].requires_dist[0].specifier.as_deref(),
            Some(">=2.31")
        );

        let pdm = Pdm::parse(
            "[metadata]\ncontent_hash = \"sha256:abc\"\n\n[[package]]\nname = \"six\"\nversion = \"1.16.0\"\n",
        )
        .unwrap();
        assert_eq!(packages(&pdm.locked), ["six@1.16.0"]);

        let pylock = parse_pylock(
            "lock-version = \"1.0\"\n\n[[packages]]\nname = \"Six\"\nversion = \"1.16.0\"\n\n[[packages]]\nname = \"local\"\ndirectory = { path = \".\" }\n",
        )
        .unwrap();
        assert_eq!(packages(&pylock), ["six@1.16.0"]);

        let pipfile = parse_pipfile_lock(
            r#"{"_meta": {}, "default": {"six": {"version": "==1.16.0"}}, "develop": {"Iniconfig": {"version": "==2.0.0"}, "vcspkg": {"git": "https://example.test/r.git", "ref": "abc"}}}"#,
        )
        .unwrap();
        assert_eq!(packages(&pipfile), ["iniconfig@2.0.0", "six@1.16.0"]);
    }

    #[test]
    fn what_git_sources_were_asked_to_follow() {
        use crate::package::GitReference;
        // uv writes the reference asked for as a query (uv-resolver's lock serialisation).
        let sha = "fe891bfca429d51ad275a5187dea1a3f4c7d97a8";
        let base = "https://git.example.test/helper";
        for (query, expected) in [
            ("?tag=v1", GitReference::Tag("v1".into())),
            ("?branch=main", GitReference::Branch("main".into())),
            (&format!("?rev={sha}"), GitReference::Commit(sha.into())),
            ("?rev=main", GitReference::Named("main".into())),
            ("?subdirectory=pkg", GitReference::DefaultBranch),
            ("", GitReference::DefaultBranch),
        ] {
            assert_eq!(
                uv_git_reference(&format!("{base}{query}#{sha}")),
                expected,
                "{query}"
            );
        }
        // poetry: `reference` (HEAD for nothing asked), pdm: `ref`, pylock: `requested-revision`.
        let poetry = Poetry::parse(&format!(
            "[[package]]\nname = \"a\"\nversion = \"1.0\"\n[package.source]\ntype = \"git\"\nurl = \"{base}\"\nreference = \"HEAD\"\nresolved_reference = \"{sha}\"\n"
        ))
        .unwrap();
        assert_eq!(
            poetry.locked.entries[0].git_reference,
            Some(GitReference::DefaultBranch)
        );
        let pdm = Pdm::parse(&format!(
            "[[package]]\nname = \"a\"\nversion = \"1.0\"\ngit = \"{base}\"\nref = \"v2\"\nrevision = \"{sha}\"\n"
        ))
        .unwrap();
        assert_eq!(
            pdm.locked.entries[0].git_reference,
            Some(GitReference::Named("v2".into()))
        );
        let pylock = parse_pylock(&format!(
            "lock-version = \"1.0\"\n\n[[packages]]\nname = \"a\"\nvcs = {{ type = \"git\", url = \"{base}\", requested-revision = \"{sha}\", commit-id = \"{sha}\" }}\n"
        ))
        .unwrap();
        assert_eq!(
            pylock.entries[0].git_reference,
            Some(GitReference::Commit(sha.into()))
        );
    }

    #[test]
    fn bad_input_names_the_line() {
        let error = Poetry::parse("[[package]]\nname = \"a\"\nversion = 1.0.0\n").unwrap_err();
        assert_eq!(error.line, 3, "{error}");
        let error = parse_pipfile_lock("{\n  \"default\": [}\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }
}
