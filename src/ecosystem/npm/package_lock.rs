//! Parser for npm's `package-lock.json` and `npm-shrinkwrap.json`, lockfileVersion 1, 2 and 3.
//!
//! Versions 2 and 3 list every installed package under `packages`, keyed by its folder
//! (`node_modules/a/node_modules/b`); version 1 nests `dependencies`. Both are read into the same
//! [`NpmLock`] of folders, which the advisory check and the sync check share.

use crate::ecosystem::json_lines::value_lines;
use crate::ecosystem::parse::{position_of, LineIndex};
use crate::ecosystem::ParseError;
use crate::package::{
    has_git_prefix, Dependency, Ecosystem, Entry, GitReference, LockedSet, Package, SourceKind,
};
use foldhash::{HashMap, HashMapExt as _};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A parsed npm lockfile: one [`Node`] per folder, `""` being the project root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NpmLock {
    /// `lockfileVersion` (0 when absent).
    pub lockfile_version: u64,
    /// Version 1's top-level `requires`: whether entries record their own dependency ranges.
    pub requires: bool,
    /// Folders by location, relative to the project root.
    pub nodes: BTreeMap<String, Node>,
}

/// One folder of the install tree, as the lockfile records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// The real package name when it differs from the folder name (aliases, workspaces).
    pub name: Option<String>,
    /// The installed version, when recorded.
    pub version: Option<String>,
    /// Where it was fetched from (a URL, `git+…#commit`, `file:…`, or a link target folder).
    pub resolved: Option<String>,
    /// A link to another folder of the project (workspaces, `file:` directories).
    pub link: bool,
    /// Only needed for development.
    pub dev: bool,
    /// Only needed as an optional dependency.
    pub optional: bool,
    /// Shipped inside another package's tarball.
    pub in_bundle: bool,
    /// Ranges of `dependencies` (version 1: `requires`).
    pub dependencies: BTreeMap<String, String>,
    /// Ranges of `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
    /// Ranges of `peerDependencies`.
    pub peer_dependencies: BTreeMap<String, String>,
    /// Names of peer dependencies marked optional in `peerDependenciesMeta`.
    pub optional_peers: Vec<String>,
    /// Ranges of `devDependencies` (only recorded for the root and workspaces).
    pub dev_dependencies: BTreeMap<String, String>,
    /// Names listed in `bundleDependencies`: shipped inside this package's own tarball.
    pub bundle_dependencies: Vec<String>,
    /// The package ships its own `npm-shrinkwrap.json`, which decides its dependencies.
    pub has_shrinkwrap: bool,
    /// `integrity`: the checksum of its tarball.
    pub integrity: Option<String>,
    /// `hasInstallScript` (version 2 and later; version 1 does not record it).
    pub has_install_script: Option<bool>,
    /// `engines.node` (version 2 and later), when it is a string.
    pub engines_node: Option<String>,
    /// The line its entry starts on.
    pub line: Option<usize>,
}

impl Node {
    /// The package name installed at `location`: the recorded `name`, else the folder name.
    pub fn package_name<'a>(&'a self, location: &'a str) -> &'a str {
        self.name
            .as_deref()
            .unwrap_or_else(|| folder_package_name(location))
    }
}

/// The package name a `node_modules` folder stands for (`node_modules/@s/a` → `@s/a`).
pub fn folder_package_name(location: &str) -> &str {
    match last_node_modules(location) {
        Some(at) => &location[at + "node_modules/".len()..],
        None => location.rsplit('/').next().unwrap_or(location),
    }
}

/// Where the last `node_modules` folder segment of `location` starts, if it has one followed by
/// a package (`a/node_modules/@s/b` → 2). One backward pass over the bytes: this runs for every
/// edge of a lockfile.
pub fn last_node_modules(location: &str) -> Option<usize> {
    const SEGMENT: &[u8] = b"node_modules/";
    let bytes = location.as_bytes();
    // Something must follow the segment.
    let mut at = bytes.len().checked_sub(SEGMENT.len() + 1)?;
    loop {
        if bytes[at] == b'n'
            && bytes[at..].starts_with(SEGMENT)
            && (at == 0 || bytes[at - 1] == b'/')
        {
            return Some(at);
        }
        at = at.checked_sub(1)?;
    }
}

/// The lockfile as serde reads it; `P` is each `packages` entry: a [`WireNode`], or its text
/// (for the line it stands on).
#[derive(Deserialize)]
struct WireLock<P> {
    #[serde(rename = "lockfileVersion", default)]
    lockfile_version: Option<u64>,
    #[serde(default)]
    requires: Option<bool>,
    #[serde(default = "Option::default")]
    packages: Option<InFileOrder<P>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, WireV1Node>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNode {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    dev_optional: bool,
    #[serde(default)]
    in_bundle: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies_meta: BTreeMap<String, WirePeerMeta>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, String>,
    /// An array of names, or `true` for "all of them" (then the entries carry `inBundle`).
    #[serde(default, alias = "bundledDependencies")]
    bundle_dependencies: serde_json::Value,
    #[serde(default)]
    has_shrinkwrap: bool,
    integrity: Option<String>,
    #[serde(default)]
    has_install_script: bool,
    /// An object, or in old packages an array of strings (which npm does not check): only
    /// `node` is kept, without building the rest.
    #[serde(default, deserialize_with = "engines_node")]
    engines: Option<String>,
}

/// `engines.node` when `engines` is an object whose `node` is a string; nothing otherwise.
fn engines_node<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<String>;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("an engines object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut node = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "node" {
                    node = match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::String(range) => Some(range),
                        _ => None,
                    };
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(node)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(Visitor)
}

#[derive(Deserialize)]
struct WirePeerMeta {
    #[serde(default)]
    optional: bool,
}

#[derive(Deserialize)]
struct WireV1Node {
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    bundled: bool,
    #[serde(default)]
    requires: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: BTreeMap<String, WireV1Node>,
}

/// `packages` as written, in file order: the map of folders is built once from it, sorted,
/// rather than through a map of its own (10,000s of inserts of long `node_modules/` keys).
struct InFileOrder<P>(Vec<(String, P)>);

impl<'de, P: Deserialize<'de>> Deserialize<'de> for InFileOrder<P> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<P>(std::marker::PhantomData<P>);
        impl<'de, P: Deserialize<'de>> serde::de::Visitor<'de> for Entries<P> {
            type Value = InFileOrder<P>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(InFileOrder(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// Folders by location; of a location written twice, the last, as `JSON.parse` reads it. (std's
/// `BTreeMap` from an iterator sorts stably and, of equal keys, keeps the last: one sort and
/// one move of the entries, which are large.)
fn by_location(nodes: Vec<(String, Node)>) -> BTreeMap<String, Node> {
    nodes.into_iter().collect()
}

/// From this many entries, a lockfile's entries are read in two halves at once.
const TWO_HALVES_FROM: usize = 2_000;

/// The lockfile's JSON, or where it stops being one.
fn wire<'a, P: Deserialize<'a>>(text: &'a str) -> Result<WireLock<P>, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::new(1, 1, "the lockfile is empty"));
    }
    serde_json::from_str(text).map_err(|error| ParseError::from_json(&error))
}

impl NpmLock {
    /// Parses lockfile text. Unknown fields are ignored; a known field of the wrong type is an
    /// error at its line and column. (The sync check's parse: no lines.)
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let wire: WireLock<WireNode> = wire(text)?;
        let mut lock = NpmLock::from_wire(&wire);
        if let Some(packages) = wire.packages {
            lock.nodes = by_location(
                packages
                    .0
                    .into_iter()
                    .map(|(location, node)| (location, Node::from(node)))
                    .collect(),
            );
        } else if let Some(dependencies) = wire.dependencies {
            add_v1_nodes(&mut lock.nodes, "", dependencies);
        }
        Ok(lock)
    }

    /// [`NpmLock::parse`], and the line each folder's entry stands on: for versions 2 and 3,
    /// where each entry's text stands, read in the same parse (serde_json's `RawValue`); for
    /// version 1, which nests `dependencies.a.dependencies.b` for
    /// `node_modules/a/node_modules/b`, from one more pass over the text.
    pub fn parse_with_lines(text: &str) -> Result<Self, ParseError> {
        let wire: WireLock<&serde_json::value::RawValue> = wire(text)?;
        let mut lock = NpmLock::from_wire(&wire);
        if let Some(packages) = wire.packages {
            let lines = LineIndex::new(text);
            let read = |members: Vec<(String, &serde_json::value::RawValue)>| {
                members
                    .into_iter()
                    .map(|(location, raw)| {
                        let at = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                        let node: WireNode = serde_json::from_str(raw.get()).map_err(|error| {
                            let inner = ParseError::from_json(&error);
                            let (line, column) = position_of(text, at);
                            let column = if inner.line <= 1 {
                                column + inner.column.saturating_sub(1)
                            } else {
                                inner.column
                            };
                            let line = line + inner.line.saturating_sub(1);
                            ParseError::new(line, column, inner.message)
                        })?;
                        let mut node = Node::from(node);
                        node.line = Some(lines.line(at));
                        Ok((location, node))
                    })
                    .collect::<Result<Vec<_>, ParseError>>()
            };
            let mut first = packages.0;
            // A large lockfile's entries are read in two halves, the second on another core
            // when there is one; the first half's error comes first, as in the file.
            let nodes = if first.len() >= TWO_HALVES_FROM && crate::second_core() {
                let second = first.split_off(first.len() / 2);
                let (first, second) = std::thread::scope(|scope| {
                    let second = scope.spawn(|| read(second));
                    let first = read(first);
                    let second = second
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (first, second)
                });
                let mut nodes = first?;
                nodes.extend(second?);
                nodes
            } else {
                read(first)?
            };
            lock.nodes = by_location(nodes);
            return Ok(lock);
        }
        if let Some(dependencies) = wire.dependencies {
            add_v1_nodes(&mut lock.nodes, "", dependencies);
        }
        let lines = value_lines(text, usize::MAX, |path| {
            path.len() % 2 == 0 && path.iter().step_by(2).all(|key| key == "dependencies")
        });
        for (path, line) in lines {
            let location = path
                .iter()
                .skip(1)
                .step_by(2)
                .map(|name| format!("node_modules/{name}"))
                .collect::<Vec<_>>()
                .join("/");
            if let Some(node) = lock.nodes.get_mut(&location) {
                node.line = Some(line);
            }
        }
        Ok(lock)
    }

    fn from_wire<P>(wire: &WireLock<P>) -> NpmLock {
        NpmLock {
            lockfile_version: wire.lockfile_version.unwrap_or(0),
            requires: wire.requires.unwrap_or(false),
            nodes: BTreeMap::new(),
        }
    }

    /// The registry packages and other sources this lockfile installs.
    pub fn locked_set(&self) -> LockedSet {
        let mut set = LockedSet::default();
        set.entries.reserve(self.nodes.len());
        let mut folders = Folders::of(self);
        // The folder of each entry, and the entries from other sources by folder.
        let mut located: Vec<(&str, &Node)> = Vec::new();
        let mut others: HashMap<&str, usize> = HashMap::new();
        for (location, node) in &self.nodes {
            // The root, workspace folders and `file:` directories are the project's own code.
            if node.link || last_node_modules(location).is_none() {
                continue;
            }
            let name = node.package_name(location);
            let entry = match classify(name, node.version.as_deref(), node.resolved.as_deref()) {
                Some(Source::Registry(version)) => registry_entry(
                    name,
                    version,
                    node.version.as_deref(),
                    node.resolved.as_deref(),
                ),
                Some(Source::Other(kind, source)) => {
                    others.insert(location, set.entries.len());
                    Entry::other(
                        Ecosystem::Npm,
                        folder_package_name(location),
                        kind,
                        source.to_string(),
                    )
                }
                None => continue,
            };
            let entry = set.push(entry.at(node.line));
            entry.dev = node.dev;
            entry.optional = node.optional;
            entry.checksum = node.integrity.clone();
            entry.install_scripts = node.has_install_script;
            located.push((location, node));
        }
        // What the folders depending on an entry from another source asked it for.
        let mut asked = Vec::new();
        for (index, (location, node)) in located.into_iter().enumerate() {
            set.entries[index].dependencies =
                self.edges(&mut folders, &others, location, node, &mut asked);
        }
        // The project's own folders start the chains: the root, workspaces, `file:` folders.
        for (location, node) in &self.nodes {
            if last_node_modules(location).is_none() {
                let edges = self.edges(&mut folders, &others, location, node, &mut asked);
                set.roots.extend(edges);
            }
        }
        NpmLock::git_references(&asked, &mut set);
        set
    }

    /// Sets what each entry from another source was asked to follow, when git: the first spec
    /// of `asked` (entry index, the spec a folder depending on it wrote: `github:a/b#main`)
    /// that names no commit, else the first.
    fn git_references(asked: &[(usize, &str)], set: &mut LockedSet) {
        for &(index, spec) in asked {
            let entry = &mut set.entries[index];
            let crate::package::Source::Other { kind, .. } = entry.source else {
                continue;
            };
            if entry
                .git_reference
                .as_ref()
                .is_none_or(GitReference::is_commit)
            {
                entry.git_reference =
                    GitReference::of_npm_dependency(spec, kind == SourceKind::Git)
                        .or(entry.git_reference.take());
            }
        }
    }
}

impl NpmLock {
    /// The dependencies of the folder at `location`, each with the version it resolves to as
    /// npm resolves it (its own `node_modules/<name>`, then each enclosing folder's).
    /// (An entry from another source, one of `others`, is known by its name alone: its version
    /// is not a registry's.)
    fn edges<'a>(
        &self,
        folders: &mut Folders<'_>,
        others: &HashMap<&str, usize>,
        location: &str,
        node: &'a Node,
        asked: &mut Vec<(usize, &'a str)>,
    ) -> Vec<Dependency> {
        node.dependencies
            .iter()
            .chain(&node.optional_dependencies)
            .chain(&node.peer_dependencies)
            .chain(&node.dev_dependencies)
            .map(|(name, spec)| match folders.resolve(location, name) {
                // An entry from another source is named by its folder, as its entry is; the
                // spec says what it was asked to follow.
                Some((at, _)) if others.contains_key(at) => {
                    asked.push((others[at], spec.as_str()));
                    Dependency {
                        name: folder_package_name(at).to_string(),
                        version: None,
                    }
                }
                Some((at, node)) => Dependency {
                    name: node.package_name(at).to_string(),
                    version: node.version.clone(),
                },
                None => Dependency {
                    name: name.clone(),
                    version: None,
                },
            })
            .collect()
    }
}

/// The folders of a lockfile hashed by location (every edge looks up a long `node_modules/`
/// path), with a buffer for the locations tried.
struct Folders<'a> {
    nodes: HashMap<&'a str, &'a Node>,
    candidate: String,
}

impl<'a> Folders<'a> {
    fn of(lock: &'a NpmLock) -> Self {
        Folders {
            nodes: lock
                .nodes
                .iter()
                .map(|(location, node)| (location.as_str(), node))
                .collect(),
            candidate: String::new(),
        }
    }

    /// The folder `name` resolves to from the folder `from`, following a link to its target.
    fn resolve(&mut self, from: &str, name: &str) -> Option<(&'a str, &'a Node)> {
        let mut at = from;
        loop {
            self.candidate.clear();
            if !at.is_empty() {
                self.candidate.push_str(at);
                self.candidate.push('/');
            }
            self.candidate.push_str("node_modules/");
            self.candidate.push_str(name);
            if let Some((&location, &node)) = self.nodes.get_key_value(self.candidate.as_str()) {
                if !node.link {
                    return Some((location, node));
                }
                let target = crate::ecosystem::npm::sync::spec::join("", node.resolved.as_deref()?);
                return self
                    .nodes
                    .get_key_value(target.as_str())
                    .map(|(&location, &node)| (location, node));
            }
            if at.is_empty() {
                return None;
            }
            // Up one level: the enclosing package's folder, else the project root.
            at = last_node_modules(at)
                .map(|start| at[..start].strip_suffix('/').unwrap_or(""))
                .unwrap_or("");
        }
    }
}

impl From<WireNode> for Node {
    fn from(wire: WireNode) -> Self {
        Node {
            name: wire.name,
            version: wire.version,
            resolved: wire.resolved,
            link: wire.link,
            dev: wire.dev || wire.dev_optional,
            optional: wire.optional || wire.dev_optional,
            in_bundle: wire.in_bundle,
            dependencies: wire.dependencies,
            optional_dependencies: wire.optional_dependencies,
            peer_dependencies: wire.peer_dependencies,
            optional_peers: wire
                .peer_dependencies_meta
                .into_iter()
                .filter(|(_, meta)| meta.optional)
                .map(|(name, _)| name)
                .collect(),
            dev_dependencies: wire.dev_dependencies,
            bundle_dependencies: wire
                .bundle_dependencies
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|name| name.as_str().map(str::to_string))
                .collect(),
            has_shrinkwrap: wire.has_shrinkwrap,
            integrity: wire.integrity,
            has_install_script: Some(wire.has_install_script),
            engines_node: wire.engines,
            line: None,
        }
    }
}

/// Flattens version 1's nested `dependencies` into folder locations, turning its spec-like
/// `version` values (`npm:real@1.0.0`, `git+…`, `file:…`, URLs) into name, version and resolved.
fn add_v1_nodes(
    nodes: &mut BTreeMap<String, Node>,
    parent: &str,
    deps: BTreeMap<String, WireV1Node>,
) {
    for (name, wire) in deps {
        let location = if parent.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{parent}/node_modules/{name}")
        };
        let mut node = Node {
            version: wire.version.clone(),
            resolved: wire.resolved,
            dev: wire.dev,
            optional: wire.optional,
            in_bundle: wire.bundled,
            dependencies: wire.requires,
            integrity: wire.integrity,
            ..Node::default()
        };
        if let Some(version) = wire.version.as_deref() {
            if let Some((real, real_version)) = version
                .strip_prefix("npm:")
                .and_then(|alias| split_name_at_version(alias))
            {
                node.name = Some(real.to_string());
                node.version = Some(real_version.to_string());
            } else if let Some(folder) = version
                .strip_prefix("file:")
                .filter(|path| !is_tarball_path(path))
            {
                // A `file:` directory is a link to a folder of the project, as version 2 says
                // with `link: true`.
                node.link = true;
                node.resolved = Some(folder.to_string());
                node.version = None;
            } else if is_spec(version) {
                // Version 1 records a git/file/URL dependency's source in `version`.
                node.resolved = Some(version.to_string());
                node.version = None;
            }
        }
        nodes.insert(location.clone(), node);
        add_v1_nodes(nodes, &location, wire.dependencies);
    }
}

/// Splits `name@version`, where a scoped name starts with `@`.
pub fn split_name_at_version(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((&spec[..at], &spec[at + 1..]))
}

/// Whether a `file:` path names a tarball rather than a folder (npm-package-arg's rule).
pub fn is_tarball_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".tgz", ".tar.gz", ".tar"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

fn is_spec(version: &str) -> bool {
    version.contains(':') || version.contains('/')
}

/// The registry entry of `name` at `installed` (what `resolved` downloads), noting the version
/// the lockfile states when it is another one.
pub(super) fn registry_entry(
    name: &str,
    installed: &str,
    stated: Option<&str>,
    resolved: Option<&str>,
) -> Entry {
    let mut entry = Entry::registry(Package::new(Ecosystem::Npm, name, installed))
        .from_url(resolved.unwrap_or_default());
    // pnpm's keys carry peers after the version: `1.0.0(react@18.2.0)`.
    entry.stated_version = stated
        .map(|stated| stated.split('(').next().unwrap_or(stated))
        .filter(|stated| *stated != installed && !is_spec(stated))
        .map(str::to_string);
    entry
}

/// Where a locked entry came from.
pub(super) enum Source<'a> {
    /// A registry, at this version.
    Registry(&'a str),
    /// Somewhere else, recorded as this.
    Other(SourceKind, &'a str),
}

/// Decides whether a locked entry came from a registry (and can be asked about by version) or
/// from git, a local path or a plain URL.
pub(super) fn classify<'a>(
    name: &str,
    version: Option<&'a str>,
    resolved: Option<&'a str>,
) -> Option<Source<'a>> {
    let Some(resolved) = resolved else {
        // npm can be set to omit registry URLs; a bare version is a registry package. (Version
        // 1's git, file and URL versions were moved to `resolved` when it was read; anything
        // else that is not a version is reported as unreadable, not skipped.)
        return version.map(Source::Registry);
    };
    // Only the start is compared without case (this runs for every entry).
    let start = resolved.get(..16).unwrap_or(resolved).to_ascii_lowercase();
    if has_git_prefix(&start) {
        return Some(Source::Other(SourceKind::Git, resolved));
    }
    if start.starts_with("http://") || start.starts_with("https://") {
        return match version {
            Some(version) if is_registry_tarball(resolved, name, version) => {
                Some(Source::Registry(version))
            }
            // A registry tarball of another version than the entry says: npm installs what
            // `resolved` names, so that version is the one to check.
            _ => match tarball_version(resolved, name) {
                Some(installed) => Some(Source::Registry(installed)),
                None => Some(Source::Other(SourceKind::Remote, resolved)),
            },
        };
    }
    Some(Source::Other(SourceKind::File, resolved))
}

/// The version in a registry tarball URL for `name` (`…/<name>/-/<unscoped>-<version>.tgz`).
fn tarball_version<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let unscoped = name.rsplit('/').next().unwrap_or(name);
    let (before, file) = path.rsplit_once("/-/")?;
    if !before.ends_with(&format!("/{name}"))
        && !before.ends_with(&format!("/{}", name.replace('/', "%2f")))
    {
        return None;
    }
    let version = file
        .strip_prefix(unscoped)?
        .strip_prefix('-')?
        .strip_suffix(".tgz")?;
    (!version.is_empty() && !version.contains('/')).then_some(version)
}

/// The package and version a registry tarball URL names: registries serve
/// `…/<name>/-/<unscoped name>-<version>.tgz` (some repeat the scope in the file part,
/// `…/@scope/name/-/@scope/name-1.0.0.tgz`). Where the folder and the file disagree, the reading
/// that disagrees with `package` is given. `None` for a URL of another shape (a tarball someone
/// put somewhere).
pub fn tarball_names(url: &str, package: &Package) -> Option<(String, String)> {
    let path = crate::package::url_path(url)?;
    let (folder, file) = path.rsplit_once("/-/")?;
    let end = file.len().checked_sub(4)?;
    if !file.is_char_boundary(end) || !file[end..].eq_ignore_ascii_case(".tgz") {
        return None;
    }
    let file = &file[..end];
    let mut segments = folder.rsplit('/');
    let last = segments.next().filter(|last| !last.is_empty())?;
    let scope = segments.next().filter(|scope| scope.starts_with('@'));
    let named = match scope {
        Some(scope) => format!("{scope}/{last}"),
        None => last.to_string(),
    };
    let (file_scope, base) = match file.rsplit_once('/') {
        Some((file_scope, base)) => (Some(file_scope), base),
        None => (scope, file),
    };
    // `<base>-<version>`: the split after the folder's name, else before the first digit.
    let split = base
        .strip_prefix(last)
        .and_then(|rest| rest.strip_prefix('-'))
        .map(|version| (last, version))
        .or_else(|| {
            let at = base
                .match_indices('-')
                .map(|(at, _)| at)
                .find(|&at| base[at + 1..].starts_with(|c: char| c.is_ascii_digit()))?;
            Some((&base[..at], &base[at + 1..]))
        })?;
    let (file_name, version) = split;
    let file_named = match file_scope {
        Some(file_scope) => format!("{file_scope}/{file_name}"),
        None => file_name.to_string(),
    };
    let name = if named != package.name {
        named
    } else {
        file_named
    };
    Some((name, version.to_string()))
}

/// Registries serve tarballs at `…/<name>/-/<unscoped name>-<version>.tgz`; any other URL is a
/// tarball someone put somewhere, not a published version.
fn is_registry_tarball(url: &str, name: &str, version: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let unscoped = name.rsplit('/').next().unwrap_or(name);
    // `…/-/<unscoped>-<version>.tgz`, without case, read from the end.
    let strip = |text: &'_ str, suffix: &str| -> Option<usize> {
        let at = text.len().checked_sub(suffix.len())?;
        (text.is_char_boundary(at) && text[at..].eq_ignore_ascii_case(suffix)).then_some(at)
    };
    let mut rest = path;
    for part in [".tgz", version, "-", unscoped, "/-/"] {
        match strip(rest, part) {
            Some(at) => rest = &rest[..at],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lockfile large enough to be read in two halves reads as one read in order: the same
    /// folders and lines, and of two broken entries the first is the error, at its line.
    #[test]
    fn a_lockfile_read_in_two_halves_reads_as_one_read_in_order() {
        let count = super::TWO_HALVES_FROM * 2;
        let entry = |index: usize, version: &str| {
            format!(
                "    \"node_modules/p{index:05}\": {{\n      \"version\": {version},\n      \"dependencies\": {{ \"p{:05}\": \"^1.0.0\" }}\n    }}",
                (index + 1) % count
            )
        };
        let text = |broken: &[usize]| {
            let entries: Vec<String> = (0..count)
                .map(|index| {
                    let version = if broken.contains(&index) {
                        "[1]"
                    } else {
                        "\"1.0.0\""
                    };
                    entry(index, version)
                })
                .collect();
            format!(
                "{{\n  \"lockfileVersion\": 3,\n  \"packages\": {{\n{}\n  }}\n}}\n",
                entries.join(",\n")
            )
        };
        let whole = text(&[]);
        let lock = NpmLock::parse_with_lines(&whole).unwrap();
        let plain = NpmLock::parse(&whole).unwrap();
        assert_eq!(lock.nodes.len(), count);
        for (index, (location, node)) in lock.nodes.iter().enumerate() {
            assert_eq!(node.line, Some(4 + index * 4), "{location}");
            let same = Node {
                line: None,
                ..node.clone()
            };
            assert_eq!(plain.nodes.get(location), Some(&same));
        }
        // Each entry is four lines; entry i's version stands on line 5 + 4 i.
        let late = count - 10;
        let error = NpmLock::parse_with_lines(&text(&[late])).unwrap_err();
        assert_eq!(error.line, 5 + late * 4, "{error:?}");
        let error = NpmLock::parse_with_lines(&text(&[7, late])).unwrap_err();
        assert_eq!(error.line, 5 + 7 * 4, "{error:?}");
    }

    #[test]
    fn registry_tarballs_name_their_package_and_version() {
        // Shapes from the registries' tarball URLs, and lockfile-lint's validate-package-names
        // cases (its path-traversal one included).
        let names = |url: &str, name: &str, version: &str| {
            tarball_names(url, &Package::new(Ecosystem::Npm, name, version))
        };
        let pair = |name: &str, version: &str| Some((name.to_string(), version.to_string()));
        let r = "https://registry.example.test";
        assert_eq!(
            names(
                &format!("{r}/left-pad/-/left-pad-1.3.0.tgz"),
                "left-pad",
                "1.3.0"
            ),
            pair("left-pad", "1.3.0")
        );
        assert_eq!(
            names(
                &format!("{r}/@babel/core/-/core-7.0.0.tgz"),
                "@babel/core",
                "7.0.0"
            ),
            pair("@babel/core", "7.0.0")
        );
        assert_eq!(
            names(
                &format!("{r}/@babel%2fcore/-/core-7.0.0.tgz"),
                "@babel/core",
                "7.0.0"
            ),
            pair("@babel/core", "7.0.0")
        );
        assert_eq!(
            names(
                &format!("{r}/api/npm/main/@babel/core/-/@babel/core-7.0.0.tgz#abc"),
                "@babel/core",
                "7.0.0"
            ),
            pair("@babel/core", "7.0.0")
        );
        assert_eq!(
            names(&format!("{r}/evil/-/evil-1.0.0.tgz"), "left-pad", "1.3.0"),
            pair("evil", "1.0.0")
        );
        assert_eq!(
            names(
                &format!("{r}/@evil/core/-/core-7.0.0.tgz"),
                "@babel/core",
                "7.0.0"
            ),
            pair("@evil/core", "7.0.0")
        );
        assert_eq!(
            names(
                &format!("{r}/left-pad/-/evil-pkg-1.0.0.tgz"),
                "left-pad",
                "1.3.0"
            ),
            pair("evil-pkg", "1.0.0")
        );
        assert_eq!(
            names(
                &format!("{r}/meow/../evil/-/evil-1.0.0.tgz"),
                "meow",
                "1.0.0"
            ),
            pair("evil", "1.0.0")
        );
        assert_eq!(
            names(
                &format!("{r}/left-pad/-/left-pad-6.6.6.tgz"),
                "left-pad",
                "1.3.0"
            ),
            pair("left-pad", "6.6.6")
        );
        assert_eq!(
            names(
                "https://example.test/downloads/left-pad.tgz",
                "left-pad",
                "1.3.0"
            ),
            None
        );
        assert_eq!(names("https://example.test/-/", "left-pad", "1.3.0"), None);
    }

    fn packages(text: &str) -> Vec<String> {
        let set = NpmLock::parse(text).unwrap().locked_set();
        set.packages().iter().map(ToString::to_string).collect()
    }

    fn sources(text: &str) -> Vec<(String, SourceKind, String)> {
        let set = NpmLock::parse(text).unwrap().locked_set();
        set.non_registry()
            .into_iter()
            .map(|entry| (entry.name, entry.kind, entry.source))
            .collect()
    }

    #[test]
    fn v3_registry_packages_alias_link_and_workspace() {
        // Shapes taken from ../shared/npm-sync-cases/30-alias-in-sync, 48-workspace-in-sync and
        // 57-link-dir-in-sync.
        let text = r#"{"lockfileVersion": 3, "requires": true, "packages": {
            "": {"name": "case", "dependencies": {"num": "npm:is-number@^7.0.0"}},
            "node_modules/num": {"name": "is-number", "version": "7.0.0",
                "resolved": "https://registry.example.test/is-number/-/is-number-7.0.0.tgz"},
            "node_modules/@scope/pkg": {"version": "1.2.3",
                "resolved": "https://registry.example.test/@scope/pkg/-/pkg-1.2.3.tgz"},
            "node_modules/a": {"resolved": "packages/a", "link": true},
            "packages/a": {"version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}},
            "node_modules/a/node_modules/left-pad": {"version": "1.3.0", "dev": true},
            "local/ldep": {"version": "1.0.0"}
        }}"#;
        assert_eq!(
            packages(text),
            ["@scope/pkg@1.2.3", "is-number@7.0.0", "left-pad@1.3.0"]
        );
        assert!(sources(text).is_empty());
    }

    #[test]
    fn v3_git_file_and_remote_sources_are_not_registry_packages() {
        // From ../shared/npm-sync-cases/61-git-in-sync and 54-file-tarball-in-sync.
        let text = r#"{"lockfileVersion": 3, "packages": {
            "node_modules/gdep": {"version": "1.0.0",
                "resolved": "git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac"},
            "node_modules/tdep": {"version": "1.0.0", "resolved": "file:vendor/tdep-1.0.0.tgz"},
            "node_modules/rdep": {"version": "2.0.0", "resolved": "https://cdn.example.test/builds/rdep.tgz"}
        }}"#;
        assert!(packages(text).is_empty());
        assert_eq!(
            sources(text),
            [
                (
                    "gdep".to_string(),
                    SourceKind::Git,
                    "git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac".to_string()
                ),
                (
                    "rdep".to_string(),
                    SourceKind::Remote,
                    "https://cdn.example.test/builds/rdep.tgz".to_string()
                ),
                (
                    "tdep".to_string(),
                    SourceKind::File,
                    "file:vendor/tdep-1.0.0.tgz".to_string()
                ),
            ]
        );
    }

    #[test]
    fn the_shortest_dependency_path_to_an_installed_package() {
        // app → express → body-parser → debug@4.4.2 (nested); a workspace reaches debug@4.4.1
        // through send; a hoisted debug@2.6.9 is another version.
        let lock = NpmLock::parse(
            &serde_json::json!({"lockfileVersion": 3, "packages": {
                "": {"name": "app", "dependencies": {"express": "^4"}, "workspaces": ["ws"]},
                "node_modules/express": {"version": "4.18.2",
                    "dependencies": {"body-parser": "1", "debug": "2"}},
                "node_modules/body-parser": {"version": "1.20.1",
                    "dependencies": {"debug": "4"}},
                "node_modules/body-parser/node_modules/debug": {"version": "v4.4.2"},
                "node_modules/debug": {"version": "2.6.9"},
                "node_modules/ws": {"resolved": "ws", "link": true},
                "ws": {"name": "ws", "version": "1.0.0", "dependencies": {"send": "1"}},
                "ws/node_modules/send": {"version": "1.0.0", "dependencies": {"debug": "4"}},
                "ws/node_modules/debug": {"version": "4.4.1"}
            }})
            .to_string(),
        )
        .unwrap()
        .locked_set()
        .normalised();
        let path = |name: &str, version: &str| {
            lock.dependency_path(&Package::new(Ecosystem::Npm, name, version))
        };
        assert_eq!(
            path("debug", "4.4.2").unwrap(),
            ["express@4.18.2", "body-parser@1.20.1", "debug@4.4.2"]
        );
        assert_eq!(
            path("debug", "2.6.9").unwrap(),
            ["express@4.18.2", "debug@2.6.9"]
        );
        assert_eq!(path("express", "4.18.2").unwrap(), ["express@4.18.2"]);
        // A workspace's own dependencies start chains too.
        assert_eq!(
            path("debug", "4.4.1").unwrap(),
            ["send@1.0.0", "debug@4.4.1"]
        );
        assert_eq!(path("left-pad", "1.3.0"), None);
    }

    #[test]
    fn v1_nested_dependencies_and_spec_versions() {
        // Shape of ../shared/npm-sync-cases/25-lockfile-v1-in-sync, plus v1's spec-in-version forms.
        let text = r#"{"lockfileVersion": 1, "requires": true, "dependencies": {
            "is-odd": {"version": "3.0.1", "resolved": "https://registry.example.test/is-odd/-/is-odd-3.0.1.tgz",
                "requires": {"is-number": "^6.0.0"},
                "dependencies": {"is-number": {"version": "6.0.0"}}},
            "num": {"version": "npm:is-number@7.0.0"},
            "@s/alias": {"version": "npm:@real/pkg@2.0.0"},
            "gdep": {"version": "git+ssh://git@example.test/x/gdep.git#0123abc", "from": "gdep@git+ssh://git@example.test/x/gdep.git"},
            "tdep": {"version": "file:vendor/tdep-1.0.0.tgz"}
        }}"#;
        assert_eq!(
            packages(text),
            [
                "@real/pkg@2.0.0",
                "is-number@6.0.0",
                "is-number@7.0.0",
                "is-odd@3.0.1"
            ]
        );
        let kinds: Vec<_> = sources(text)
            .into_iter()
            .map(|(name, kind, _)| (name, kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("gdep".to_string(), SourceKind::Git),
                ("tdep".to_string(), SourceKind::File)
            ]
        );
        let lock = NpmLock::parse(text).unwrap();
        assert!(lock.requires);
        assert_eq!(
            lock.nodes["node_modules/is-odd"].dependencies["is-number"],
            "^6.0.0"
        );
    }

    #[test]
    fn v1_file_directory_is_a_link_and_bundles_are_recorded() {
        // v1 writes a `file:` directory dependency as `"version": "file:local/ldep"` (npm 6);
        // v3 entries carry `bundleDependencies` and `hasShrinkwrap` (67-bundled-entry-removed-from-lock).
        let v1 = NpmLock::parse(
            r#"{"lockfileVersion": 1, "dependencies": {
                "ldep": {"version": "file:local/ldep"},
                "tdep": {"version": "file:vendor/tdep-1.0.0.tgz"}}}"#,
        )
        .unwrap();
        let link = &v1.nodes["node_modules/ldep"];
        assert!(link.link);
        assert_eq!(link.resolved.as_deref(), Some("local/ldep"));
        assert!(!v1.nodes["node_modules/tdep"].link);

        let v3 = NpmLock::parse(
            r#"{"lockfileVersion": 3, "packages": {
                "node_modules/bdep": {"version": "1.0.0", "bundleDependencies": ["ms"], "hasShrinkwrap": true},
                "node_modules/all": {"version": "1.0.0", "bundleDependencies": true}}}"#,
        )
        .unwrap();
        assert_eq!(v3.nodes["node_modules/bdep"].bundle_dependencies, ["ms"]);
        assert!(v3.nodes["node_modules/bdep"].has_shrinkwrap);
        assert!(v3.nodes["node_modules/all"].bundle_dependencies.is_empty());
    }

    #[test]
    fn a_tarball_of_another_version_locks_that_version() {
        // npm installs what `resolved` names; a lockfile saying 4.4.1 over 4.4.2's tarball
        // installs 4.4.2.
        let lock = NpmLock::parse(
            r#"{"lockfileVersion": 3, "packages": {"node_modules/debug": {"version": "4.4.1",
                "resolved": "https://registry.example.test/debug/-/debug-4.4.2.tgz"}}}"#,
        )
        .unwrap();
        let set = lock.locked_set();
        let packages: Vec<String> = set.packages().iter().map(ToString::to_string).collect();
        assert_eq!(packages, ["debug@4.4.2"]);
        assert!(set.non_registry().is_empty());
    }

    #[test]
    fn v2_prefers_packages_over_dependencies() {
        let text = r#"{"lockfileVersion": 2,
            "packages": {"node_modules/a": {"version": "2.0.0"}},
            "dependencies": {"a": {"version": "1.0.0"}}}"#;
        assert_eq!(packages(text), ["a@2.0.0"]);
    }

    #[test]
    fn bad_input_is_located() {
        let cases = [
            ("", 1, 1, "empty"),
            (
                "{\"packages\": {\n  \"node_modules/a\": {\"version\": 1}}}",
                2,
                0,
                "invalid type",
            ),
            (
                "{\"packages\": {\n  \"node_modules/a\": {\"version\": \"1\"",
                2,
                0,
                "ends too early",
            ),
            ("{\"packages\": []}", 1, 0, "invalid type"),
        ];
        for (text, line, column, message) in cases {
            let error = NpmLock::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
            if column > 0 {
                assert_eq!(error.column, column, "{text:?}: {error}");
            }
            assert!(error.message.contains(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn real_lockfile_of_2041_packages() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/lockfiles/npm-2041-packages/package-lock.json"
        );
        let text = std::fs::read_to_string(path).expect("../shared/data sits beside the checkout");
        let lock = NpmLock::parse(&text).unwrap();
        let set = lock.locked_set();
        assert_eq!(lock.lockfile_version, 3);
        assert!(set.non_registry().is_empty());
        let folders = lock
            .nodes
            .iter()
            .filter(|(location, node)| location.contains("node_modules/") && !node.link)
            .count();
        // 2,041 entries: the root and 2,040 folders, holding 1,794 distinct name@version pairs
        // (counted independently with Python's json module).
        assert_eq!(folders, 2040);
        assert_eq!(set.packages().len(), 1794);
    }

    /// The byte scan finds what a walk over the `/`-separated segments finds, for every path
    /// of up to four segments from pieces that look like, or almost like, `node_modules`.
    #[test]
    fn last_node_modules_is_the_last_whole_segment_with_a_package_after_it() {
        fn by_segments(location: &str) -> Option<usize> {
            let mut end = location.len();
            while let Some(slash) = location[..end].rfind('/') {
                let start = location[..slash].rfind('/').map_or(0, |before| before + 1);
                if &location[start..slash] == "node_modules" && slash + 1 < location.len() {
                    return Some(start);
                }
                end = slash;
            }
            None
        }
        let pieces = [
            "node_modules",
            "a",
            "@s",
            "",
            "xnode_modules",
            "node_modulesx",
            "é",
        ];
        let mut paths = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = paths
                .iter()
                .flat_map(|path| {
                    pieces.iter().map(move |piece| match path.is_empty() {
                        true => (*piece).to_string(),
                        false => format!("{path}/{piece}"),
                    })
                })
                .collect();
            paths.extend(longer);
        }
        for path in &paths {
            assert_eq!(last_node_modules(path), by_segments(path), "{path:?}");
        }
        assert_eq!(last_node_modules("a/node_modules/@s/b"), Some(2));
    }

    /// A folder written twice is the last one written, as `JSON.parse` (and so npm) reads it,
    /// wherever the two stand, and the folders come out sorted whatever the file's order.
    #[test]
    fn a_folder_written_twice_is_the_last_one() {
        let text = r#"{
  "lockfileVersion": 3,
  "packages": {
    "node_modules/b": {"version": "1.0.0"},
    "node_modules/a": {"version": "1.0.0"},
    "": {"dependencies": {"a": "*", "b": "*"}},
    "node_modules/a": {"version": "6.6.6"},
    "node_modules/c": {"version": "1.0.0"},
    "node_modules/a": {"version": "2.0.0"}
  }
}"#;
        for lock in [
            NpmLock::parse(text).unwrap(),
            NpmLock::parse_with_lines(text).unwrap(),
        ] {
            let locations: Vec<&str> = lock.nodes.keys().map(String::as_str).collect();
            assert_eq!(
                locations,
                ["", "node_modules/a", "node_modules/b", "node_modules/c"]
            );
            assert_eq!(
                lock.nodes["node_modules/a"].version.as_deref(),
                Some("2.0.0")
            );
        }
        let lock = NpmLock::parse_with_lines(text).unwrap();
        assert_eq!(lock.nodes["node_modules/a"].line, Some(9));
    }

    #[test]
    fn split_name_at_version_handles_scopes() {
        assert_eq!(split_name_at_version("a@1.0.0"), Some(("a", "1.0.0")));
        assert_eq!(split_name_at_version("@s/a@^1"), Some(("@s/a", "^1")));
        assert_eq!(split_name_at_version("@s/a"), None);
    }
}
