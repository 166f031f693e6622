//! npm's sync rules over one parsed lockfile and the project's `package.json` files: every edge
//! `npm ci` would check, resolved by walking up `node_modules` folders, and judged by the spec it
//! asks for. See `../shared/npm-sync-cases/README.md` for the rules and npm's own verdicts.

use super::manifest::Manifest;
use super::overrides::{Overrides, RuleId, ROOT};
use super::spec::{self, Spec};
use crate::ecosystem::npm::package_lock::{folder_package_name, Node, NpmLock};
use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// One npm project, read: its root `package.json`, its lockfile, and the `package.json` of every
/// folder of the project npm reads for itself (workspace members and `file:` directory targets).
#[derive(Clone, Copy, Debug)]
pub struct Project<'a> {
    /// The root `package.json`.
    pub manifest: &'a Manifest,
    /// The lockfile npm would use.
    pub lock: &'a NpmLock,
    /// `package.json` of folders inside the project, by project-relative folder.
    pub folders: &'a BTreeMap<String, Manifest>,
    /// Workspace members: project-relative folder → package name.
    pub workspaces: &'a BTreeMap<String, String>,
    /// `legacy-peer-deps=true` in the project's `.npmrc`: peer dependencies are not edges.
    pub legacy_peer_deps: bool,
}

/// One way the lockfile and `package.json` disagree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mismatch {
    /// Nothing in the lockfile answers an edge (npm: `Missing: x@spec from lock file`).
    Missing {
        /// The dependency's name.
        name: String,
        /// What is asked for.
        spec: String,
    },
    /// The locked version does not satisfy the edge (npm: `Invalid: lock file's …`).
    Invalid {
        /// The dependency's name.
        name: String,
        /// The locked version.
        locked: String,
        /// What is asked for.
        spec: String,
        /// Why, when the spec itself is the problem.
        reason: Option<&'static str>,
    },
    /// npm accepts it, but the lockfile installs something else than what is asked for.
    Stale {
        /// Who asks (`package.json`, `packages/a/package.json`, `node_modules/x`).
        requester: String,
        /// The dependency's name.
        name: String,
        /// What is asked for.
        spec: String,
        /// What the lockfile holds instead.
        holds: String,
    },
    /// An override rewrites a dependency of the root package.json (npm's EOVERRIDE).
    OverrideConflict {
        /// The dependency's name.
        name: String,
        /// Its spec in package.json.
        spec: String,
    },
    /// An override refers with `$name` to a dependency the root does not have.
    UnresolvedReference {
        /// The reference as written.
        reference: String,
    },
}

impl Mismatch {
    /// Whether the problem is in `package.json` itself rather than between it and the lockfile.
    pub fn is_package_json_error(&self) -> bool {
        matches!(
            self,
            Mismatch::OverrideConflict { .. } | Mismatch::UnresolvedReference { .. }
        )
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Missing { name, spec } => write!(f, "Missing: {name}@{spec} from lock file"),
            Mismatch::Invalid {
                name,
                locked,
                spec,
                reason,
            } => {
                write!(
                    f,
                    "Invalid: lock file's {name}@{locked} does not satisfy {name}@{spec}"
                )?;
                match reason {
                    Some(reason) => write!(f, " ({reason})"),
                    None => Ok(()),
                }
            }
            Mismatch::Stale {
                requester,
                name,
                spec,
                holds,
            } => write!(
                f,
                "Stale: {requester} asks for {name}@{spec}, but the lock file holds {holds}; \
                 npm ci would not notice and install the locked one"
            ),
            Mismatch::OverrideConflict { name, spec } => {
                write!(
                    f,
                    "Override for {name}@{spec} conflicts with direct dependency"
                )
            }
            Mismatch::UnresolvedReference { reference } => {
                write!(f, "Unable to resolve reference {reference} in overrides")
            }
        }
    }
}

/// What kind of dependency an edge is, in arborist's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    Prod,
    Dev,
    Optional,
    Peer,
    PeerOptional,
    Workspace,
}

/// The dependency maps of one package, from its package.json or its lockfile entry.
struct Declared<'m> {
    dependencies: &'m BTreeMap<String, String>,
    optional: &'m BTreeMap<String, String>,
    peers: &'m BTreeMap<String, String>,
    optional_peers: Vec<&'m str>,
    dev: &'m BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
struct Edge<'a> {
    kind: EdgeKind,
    spec: &'a str,
}

/// Checks every edge npm would check and returns the mismatches, each once, in the order found
/// (breadth first from the root, names in order).
pub fn check(project: &Project<'_>) -> Vec<Mismatch> {
    Checker::new(project).run()
}

struct Checker<'p, 'a> {
    project: &'p Project<'a>,
    overrides: Overrides,
    workspace_specs: BTreeMap<String, String>,
    /// Locations locked from git or a local file, worked out once per entry rather than once
    /// per edge that reaches it.
    git_or_file: HashSet<&'a str>,
    /// The lockfile's entries by location, hashed: resolution looks locations up for every
    /// edge, and the keys share long `node_modules/` prefixes that make ordered lookups slow.
    nodes: HashMap<&'a str, &'a Node>,
    /// Registry specs judged against versions, by spec then version: many edges ask the same
    /// range of the same version (a range parse and a version parse each, otherwise).
    judged: std::cell::RefCell<HashMap<String, HashMap<String, bool>>>,
    /// Whether any package ships its own shrinkwrap (else no folder is inside one).
    any_shrinkwrap: bool,
}

/// Mismatches in the order found, each once.
#[derive(Default)]
struct Found {
    list: Vec<Mismatch>,
    seen: BTreeSet<Mismatch>,
}

impl Found {
    fn push(&mut self, mismatch: Mismatch) {
        if self.seen.insert(mismatch.clone()) {
            self.list.push(mismatch);
        }
    }
}

/// The node an edge resolved to.
struct Target<'a> {
    location: &'a str,
    node: &'a Node,
    /// For a link: the folder it points at.
    link_folder: Option<String>,
    version: Option<&'a str>,
    real_name: &'a str,
    /// Locked from git or a local file rather than a registry.
    git_or_file: bool,
}

impl<'p, 'a> Checker<'p, 'a> {
    fn new(project: &'p Project<'a>) -> Self {
        let workspace_specs = project
            .workspaces
            .iter()
            .map(|(folder, name)| (name.clone(), format!("file:{folder}")))
            .collect();
        let git_or_file = project
            .lock
            .nodes
            .iter()
            .filter(|(_, node)| {
                node.resolved.as_deref().is_some_and(|resolved| {
                    resolved.starts_with("file:") || spec::git(resolved).is_some()
                })
            })
            .map(|(location, _)| location.as_str())
            .collect();
        Checker {
            project,
            overrides: Overrides::parse(project.manifest.overrides.as_ref()),
            workspace_specs,
            git_or_file,
            nodes: project
                .lock
                .nodes
                .iter()
                .map(|(location, node)| (location.as_str(), node))
                .collect(),
            judged: std::cell::RefCell::default(),
            any_shrinkwrap: project.lock.nodes.values().any(|node| node.has_shrinkwrap),
        }
    }

    fn run(&self) -> Vec<Mismatch> {
        let mut found = Found::default();
        // npm refuses the project before comparing anything when an override rewrites one of the
        // root's own dependencies (arborist's assertRootOverrides).
        let root_edges = self.edges_of("");
        for (name, edge) in &root_edges {
            if edge.kind == EdgeKind::Workspace {
                continue;
            }
            let rule = self.overrides.edge_rule(ROOT, name, edge.spec);
            match self
                .overrides
                .effective_spec(rule, ROOT, name, edge.spec, self.project.manifest)
            {
                Ok(spec) if spec != edge.spec => found.push(Mismatch::OverrideConflict {
                    name: name.to_string(),
                    spec: edge.spec.to_string(),
                }),
                Ok(_) => {}
                Err(reference) => found.push(Mismatch::UnresolvedReference { reference }),
            }
        }
        if !found.list.is_empty() {
            return found.list;
        }

        // A package reached along several paths carries the most specific override set among
        // them (arborist's findSpecificOverrideSet); settle those first when there are any.
        let settled = if self.overrides.is_empty() {
            HashMap::new()
        } else {
            self.settle_override_sets()
        };

        // npm walks the tree from the root along resolved edges; nodes nothing reaches are
        // extraneous, pruned, and never judged.
        // Locations are the lockfile's own keys where they can be (a link's target folder is
        // worked out): no copy per edge walked.
        let mut queue: VecDeque<(Cow<'a, str>, RuleId)> = VecDeque::from([(Cow::from(""), ROOT)]);
        let mut visited: HashSet<Cow<'a, str>> = HashSet::new();
        while let Some((location, reached_with)) = queue.pop_front() {
            if !visited.insert(location.clone()) {
                continue;
            }
            let set = settled
                .get(location.as_ref())
                .copied()
                .unwrap_or(reached_with);
            for (name, edge) in self.followed_edges(&location) {
                let rule = self.overrides.edge_rule(set, name, edge.spec);
                let spec = match self.overrides.effective_spec(
                    rule,
                    set,
                    name,
                    edge.spec,
                    self.project.manifest,
                ) {
                    Ok(spec) => spec,
                    Err(reference) => {
                        found.push(Mismatch::UnresolvedReference { reference });
                        continue;
                    }
                };
                let Some(target) = self.resolve(&location, name) else {
                    if edge.kind != EdgeKind::PeerOptional {
                        let spec = match edge.kind {
                            // npm names a missing workspace by its version.
                            EdgeKind::Workspace => self.workspace_version(name),
                            _ => spec.to_string(),
                        };
                        found.push(Mismatch::Missing {
                            name: name.to_string(),
                            spec,
                        });
                    }
                    continue;
                };
                if edge.kind == EdgeKind::Workspace {
                    let folder = target.link_folder.as_deref().unwrap_or_default();
                    if target.link_folder.is_some() && !self.nodes.contains_key(folder) {
                        // The link is there, the workspace folder's own entry is not.
                        found.push(Mismatch::Missing {
                            name: name.to_string(),
                            spec: self.workspace_version(name),
                        });
                    }
                }
                if edge.kind != EdgeKind::PeerOptional {
                    if let Some(mismatch) =
                        self.judge(&location, name, edge.spec, spec, rule, &target)
                    {
                        found.push(mismatch);
                    }
                }
                if let Some(next) = next_location(target) {
                    if !visited.contains(&next) {
                        queue.push_back((next, rule));
                    }
                }
            }
        }
        found.list
    }

    /// The override set each reachable location ends up with: of the sets its incoming edges
    /// carry, the most specific (a descendant wins over its ancestors; of two unrelated sets the
    /// first stays). A location whose set becomes more specific is walked again; sets only get
    /// deeper, so this ends.
    fn settle_override_sets(&self) -> HashMap<String, RuleId> {
        let mut sets: HashMap<String, RuleId> = HashMap::new();
        let mut queue: VecDeque<(String, RuleId)> = VecDeque::from([(String::new(), ROOT)]);
        let improves = |sets: &HashMap<String, RuleId>, location: &str, set: RuleId| match sets
            .get(location)
        {
            Some(&known) => self.overrides.is_descendant(set, known),
            None => true,
        };
        while let Some((location, set)) = queue.pop_front() {
            if !improves(&sets, &location, set) {
                continue;
            }
            sets.insert(location.clone(), set);
            for (name, edge) in self.followed_edges(&location) {
                let rule = self.overrides.edge_rule(set, name, edge.spec);
                let Some(next) = self.resolve(&location, name).and_then(next_location) else {
                    continue;
                };
                if improves(&sets, &next, rule) {
                    queue.push_back((next.into_owned(), rule));
                }
            }
        }
        sets
    }

    /// The edges npm resolves out of the node at `location`: none for a package that brings
    /// its dependencies inside its tarball (bundled, or with its own shrinkwrap), and not those
    /// a package bundles.
    fn followed_edges(&self, location: &str) -> Vec<(&str, Edge<'_>)> {
        let from_lock = self.nodes.get(location).copied();
        let top = is_top(location);
        if !top
            && (from_lock.is_some_and(|node| node.in_bundle || node.has_shrinkwrap)
                || self.inside_shrinkwrap(location))
        {
            return Vec::new();
        }
        // A package's entry that states plain dependencies alone (the usual case): its edges
        // are those, already in name order, with nothing to merge or leave out.
        if let Some(node) = from_lock.filter(|_| !top) {
            if node.optional_dependencies.is_empty()
                && (node.peer_dependencies.is_empty() || self.project.legacy_peer_deps)
                && node.bundle_dependencies.is_empty()
            {
                return node
                    .dependencies
                    .iter()
                    .map(|(name, spec)| {
                        let kind = EdgeKind::Prod;
                        (name.as_str(), Edge { kind, spec })
                    })
                    .collect();
            }
        }
        let bundled: &[String] = match from_lock {
            Some(node) if !top => &node.bundle_dependencies,
            _ => &[],
        };
        self.edges_of(location)
            .into_iter()
            .filter(|(name, _)| !bundled.iter().any(|bundled| bundled == name))
            .collect()
    }

    /// The edges out of the node at `location`, by name, in arborist's order of precedence
    /// (peer, optional peer, prod, optional, dev; a workspace edge beats them all).
    fn edges_of(&self, location: &str) -> BTreeMap<&str, Edge<'_>> {
        let project = self.project;
        let mut edges: BTreeMap<&str, Edge<'_>> = BTreeMap::new();
        let top = is_top(location);
        let manifest = if location.is_empty() {
            Some(project.manifest)
        } else if top {
            project.folders.get(location)
        } else {
            None
        };
        let declared = match (manifest, self.nodes.get(location).copied()) {
            (Some(manifest), _) => Declared {
                dependencies: &manifest.dependencies,
                optional: &manifest.optional_dependencies,
                peers: &manifest.peer_dependencies,
                optional_peers: manifest.optional_peers.iter().map(String::as_str).collect(),
                dev: &manifest.dev_dependencies,
            },
            (None, Some(node)) => Declared {
                dependencies: &node.dependencies,
                optional: &node.optional_dependencies,
                peers: &node.peer_dependencies,
                optional_peers: node.optional_peers.iter().map(String::as_str).collect(),
                dev: &node.dev_dependencies,
            },
            (None, None) => return edges,
        };
        let Declared {
            dependencies,
            optional,
            peers,
            optional_peers,
            dev,
        } = declared;
        if !project.legacy_peer_deps {
            for (name, spec) in peers {
                let kind = if optional_peers.contains(&name.as_str()) {
                    EdgeKind::PeerOptional
                } else {
                    EdgeKind::Peer
                };
                edges.insert(name, Edge { kind, spec });
            }
        }
        for (name, spec) in dependencies {
            edges.insert(
                name,
                Edge {
                    kind: EdgeKind::Prod,
                    spec,
                },
            );
        }
        for (name, spec) in optional {
            edges.insert(
                name,
                Edge {
                    kind: EdgeKind::Optional,
                    spec,
                },
            );
        }
        if top {
            for (name, spec) in dev {
                edges.insert(
                    name,
                    Edge {
                        kind: EdgeKind::Dev,
                        spec,
                    },
                );
            }
        }
        if location.is_empty() {
            for (name, spec) in &self.workspace_specs {
                edges.insert(
                    name,
                    Edge {
                        kind: EdgeKind::Workspace,
                        spec,
                    },
                );
            }
        }
        edges
    }

    fn workspace_version(&self, name: &str) -> String {
        self.project
            .workspaces
            .iter()
            .find(|(_, member)| member.as_str() == name)
            .and_then(|(folder, _)| self.project.folders.get(folder))
            .and_then(|manifest| manifest.version.clone())
            .unwrap_or_default()
    }

    /// Whether `location` sits inside a package that ships its own shrinkwrap.
    fn inside_shrinkwrap(&self, location: &str) -> bool {
        if !self.any_shrinkwrap {
            return false;
        }
        let mut at = location;
        while let Some(parent) = node_modules_parent(at) {
            if self
                .project
                .lock
                .nodes
                .get(parent)
                .is_some_and(|node| node.has_shrinkwrap)
            {
                return true;
            }
            at = parent;
        }
        false
    }

    /// The package name a lockfile folder stands for, borrowed from the lockfile's own key.
    fn folder_name(&self, location: &str) -> &'a str {
        self.nodes
            .get_key_value(location)
            .map(|(key, _)| folder_package_name(key))
            .unwrap_or_default()
    }

    /// Arborist's `node.resolve(name)`: the dependent's own `node_modules/<name>`, then its
    /// parent's, up to the root.
    fn resolve(&self, from: &str, name: &str) -> Option<Target<'a>> {
        // One buffer for every folder tried: this runs for every edge of the lockfile.
        let mut candidate = String::with_capacity(from.len() + name.len() + 14);
        let mut at = from;
        loop {
            candidate.clear();
            if !at.is_empty() {
                candidate.push_str(at);
                candidate.push('/');
            }
            candidate.push_str("node_modules/");
            candidate.push_str(name);
            if let Some((&location, &node)) = self.nodes.get_key_value(candidate.as_str()) {
                return Some(self.target(location, node));
            }
            if at.is_empty() {
                return None;
            }
            at = self.parent_of(at);
        }
    }

    fn target(&self, location: &'a str, node: &'a Node) -> Target<'a> {
        let project = self.project;
        if !node.link {
            let real_name = match &node.name {
                Some(name) => name.as_str(),
                None => self.folder_name(location),
            };
            return Target {
                version: node.version.as_deref(),
                real_name,
                git_or_file: self.git_or_file.contains(location),
                location,
                node,
                link_folder: None,
            };
        }
        let folder = spec::join("", node.resolved.as_deref().unwrap_or_default());
        let manifest = project.folders.get(&folder);
        let entry = self.nodes.get(folder.as_str()).copied();
        let version = manifest
            .and_then(|manifest| manifest.version.as_deref())
            .or_else(|| entry.and_then(|entry| entry.version.as_deref()));
        let real_name = manifest
            .and_then(|manifest| manifest.name.as_deref())
            .or_else(|| entry.and_then(|entry| entry.name.as_deref()))
            .unwrap_or_else(|| self.folder_name(location));
        Target {
            version,
            real_name,
            git_or_file: false,
            location,
            node,
            link_folder: Some(folder),
        }
    }

    /// The folder whose `node_modules` is searched next: the parent package, or for a folder
    /// outside `node_modules` (a link target) the nearest enclosing folder that is a node.
    fn parent_of<'f>(&self, at: &'f str) -> &'f str {
        if let Some(parent) = node_modules_parent(at) {
            return parent;
        }
        let mut folder = at;
        while let Some((parent, _)) = folder.rsplit_once('/') {
            if self.nodes.contains_key(parent) || self.project.folders.contains_key(parent) {
                return parent;
            }
            folder = parent;
        }
        ""
    }

    /// Judges an edge that resolved to `target`.
    fn judge(
        &self,
        from: &str,
        name: &str,
        raw_spec: &str,
        spec: &str,
        rule: RuleId,
        target: &Target<'_>,
    ) -> Option<Mismatch> {
        // `file:` paths are relative to the dependent's folder; an override's to the root.
        let from_folder = if spec == raw_spec { from } else { "" };
        let judged = self.judge_spec(from, from_folder, name, spec, target);
        let judged = match judged {
            Judged::Invalid(reason) => {
                // Arborist: a target that misses the override still passes when it meets the
                // original spec and not the override's key.
                let fallback = self.overrides.key_spec(rule).filter(|_| spec != raw_spec);
                match fallback {
                    Some(key_spec)
                        if matches!(
                            self.judge_spec(from, from_folder, name, raw_spec, target),
                            Judged::Valid
                        ) && !matches!(
                            self.judge_spec(from, from_folder, name, key_spec, target),
                            Judged::Valid
                        ) =>
                    {
                        Judged::Valid
                    }
                    _ => Judged::Invalid(reason),
                }
            }
            other => other,
        };
        match judged {
            Judged::Valid => None,
            Judged::Invalid(reason) => Some(Mismatch::Invalid {
                name: name.to_string(),
                locked: target.version.unwrap_or_default().to_string(),
                spec: spec.to_string(),
                reason,
            }),
            Judged::Stale(holds) => Some(Mismatch::Stale {
                requester: requester(from),
                name: name.to_string(),
                spec: spec.to_string(),
                holds,
            }),
        }
    }

    fn judge_spec(
        &self,
        from: &str,
        from_folder: &str,
        name: &str,
        spec: &str,
        target: &Target<'_>,
    ) -> Judged {
        let resolved = target.node.resolved.as_deref();
        // A registry spec (any, range, tag) answered by a registry package of the name asked
        // for is judged on the version alone: once per spec and version.
        let plain = target.link_folder.is_none() && !target.git_or_file && target.real_name == name;
        let version = target.version.unwrap_or_default();
        if plain {
            let known = self
                .judged
                .borrow()
                .get(spec)
                .and_then(|versions| versions.get(version).copied());
            if let Some(valid) = known {
                return if valid {
                    Judged::Valid
                } else {
                    Judged::Invalid(None)
                };
            }
        }
        let parsed = spec::parse(spec);
        if plain && matches!(parsed, Spec::Any | Spec::Range(_) | Spec::Tag) {
            let judged = registry_version(&parsed, target);
            self.judged
                .borrow_mut()
                .entry(spec.to_string())
                .or_default()
                .insert(version.to_string(), matches!(judged, Judged::Valid));
            return judged;
        }
        match parsed {
            Spec::Any => Judged::Valid,
            parsed @ (Spec::Range(_) | Spec::Tag) => {
                if target.link_folder.is_none() {
                    if target.real_name != name {
                        return Judged::Stale(format!(
                            "{name} as {}@{}",
                            target.real_name,
                            target.version.unwrap_or_default()
                        ));
                    }
                    if target.git_or_file {
                        // A registry spec answered by git or a local file installs that.
                        return Judged::Stale(holding(name, target));
                    }
                }
                registry_version(&parsed, target)
            }
            Spec::Alias { name: real, spec } => {
                if target.link_folder.is_none() && target.real_name != real {
                    return Judged::Stale(format!(
                        "{name} as {}@{}",
                        target.real_name,
                        target.version.unwrap_or_default()
                    ));
                }
                registry_version(&spec, target)
            }
            Spec::Tarball(path) => {
                let wanted = spec::join(from_folder, path);
                let locked = resolved
                    .and_then(|resolved| resolved.strip_prefix("file:"))
                    .map(|path| spec::join("", path));
                if target.link_folder.is_none() && locked.as_deref() == Some(wanted.as_str()) {
                    Judged::Valid
                } else {
                    Judged::Stale(holding(name, target))
                }
            }
            Spec::Directory(path) => {
                let wanted = spec::join(from_folder, path);
                // With `install-links=true` npm packs the folder and installs a copy: the entry
                // is not a link, and records the folder as `file:<folder>`.
                let packed = target.link_folder.is_none()
                    && resolved
                        .and_then(|resolved| resolved.strip_prefix("file:"))
                        .is_some_and(|folder| spec::join("", folder) == wanted);
                if target.link_folder.as_deref() == Some(wanted.as_str()) || packed {
                    Judged::Valid
                } else {
                    Judged::Stale(holding(name, target))
                }
            }
            Spec::Remote(url) => {
                if target.link_folder.is_none() && resolved == Some(url) {
                    Judged::Valid
                } else {
                    Judged::Stale(holding(name, target))
                }
            }
            Spec::Git(wanted) => {
                let locked = resolved
                    .filter(|_| target.link_folder.is_none())
                    .and_then(spec::git);
                let Some(locked) = locked else {
                    return Judged::Stale(holding(name, target));
                };
                if locked.repository != wanted.repository {
                    return Judged::Stale(holding(name, target));
                }
                if let Some(range) = &wanted.semver {
                    return registry_version(&Spec::Range(range.clone()), target);
                }
                if wanted.is_commit() {
                    let same = locked.committish.as_deref().is_some_and(|commit| {
                        commit.eq_ignore_ascii_case(wanted.committish.as_deref().unwrap_or(""))
                    });
                    return if same {
                        Judged::Valid
                    } else {
                        Judged::Stale(holding(name, target))
                    };
                }
                // A branch or tag cannot be turned into a commit offline; the lockfile records
                // the spec it was locked for beside the dependent, as npm itself compares.
                match self.locked_spec(from, name).and_then(spec::git) {
                    Some(locked_for) if locked_for.committish != wanted.committish => {
                        Judged::Stale(format!(
                            "{} (locked for #{})",
                            holding(name, target),
                            locked_for.committish.unwrap_or_default()
                        ))
                    }
                    _ => Judged::Valid,
                }
            }
            Spec::Invalid(reason) => Judged::Invalid(Some(reason)),
        }
    }

    /// The spec the lockfile recorded for `name` in the dependent's own entry.
    fn locked_spec(&self, from: &str, name: &str) -> Option<&'a str> {
        let node = *self.nodes.get(from)?;
        [
            &node.dependencies,
            &node.optional_dependencies,
            &node.dev_dependencies,
            &node.peer_dependencies,
        ]
        .into_iter()
        .find_map(|deps| deps.get(name))
        .map(String::as_str)
    }
}

enum Judged {
    Valid,
    Invalid(Option<&'static str>),
    Stale(String),
}

/// A registry spec (any, range, tag) against the target's version.
fn registry_version(spec: &Spec<'_>, target: &Target<'_>) -> Judged {
    match spec {
        Spec::Any => Judged::Valid,
        Spec::Range(range) => {
            let satisfied = target
                .version
                .and_then(|version| nodejs_semver::Version::parse(version).ok())
                .is_some_and(|version| version.satisfies(range));
            if satisfied {
                Judged::Valid
            } else {
                Judged::Invalid(None)
            }
        }
        // npm only asks that a tagged dependency came from a registry, not from a folder, a
        // local file or git.
        Spec::Tag => {
            if target.link_folder.is_some() || target.git_or_file {
                Judged::Invalid(None)
            } else {
                Judged::Valid
            }
        }
        _ => Judged::Invalid(None),
    }
}

/// What the lockfile holds for an edge, for a message: `tdep@1.0.0 from file:vendor/x.tgz`.
fn holding(name: &str, target: &Target<'_>) -> String {
    let version = target.version.unwrap_or_default();
    match (&target.link_folder, target.node.resolved.as_deref()) {
        (Some(folder), _) => format!("{name} linked to {folder}"),
        (None, Some(resolved)) => format!("{name}@{version} from {resolved}"),
        (None, None) => format!("{name}@{version} from the registry"),
    }
}

fn requester(from: &str) -> String {
    if from.is_empty() {
        "package.json".to_string()
    } else if is_top(from) {
        format!("{from}/package.json")
    } else {
        from.to_string()
    }
}

/// A node with no parent package: the root, or a folder of the project outside `node_modules`
/// (workspaces, `file:` directories). npm reads their devDependencies too.
fn is_top(location: &str) -> bool {
    node_modules_parent(location).is_none()
}

/// Where the walk goes on from an edge's target: the target itself, or the folder a link
/// points at. A link to a folder outside the project is not followed: npm neither installs nor
/// checks the dependencies of a folder outside the project root.
fn next_location(target: Target<'_>) -> Option<Cow<'_, str>> {
    match target.link_folder {
        Some(folder) if folder.starts_with("..") || folder.starts_with('/') => None,
        Some(folder) => Some(Cow::Owned(folder)),
        None => Some(Cow::Borrowed(target.location)),
    }
}

/// `a/node_modules/b` → `a`; `node_modules/@s/b` → `""`; a folder outside `node_modules` → `None`.
fn node_modules_parent(location: &str) -> Option<&str> {
    crate::ecosystem::npm::package_lock::last_node_modules(location)
        .map(|start| location[..start].strip_suffix('/').unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The project of ../shared/npm-sync-cases/01-in-sync: is-odd@3.0.1 → is-number@6.0.0, and
    /// left-pad@1.3.0 as a devDependency.
    fn base_lock() -> Value {
        json!({
            "": {"name": "case", "version": "1.0.0",
                 "dependencies": {"is-odd": "^3.0.1"}, "devDependencies": {"left-pad": "^1.3.0"}},
            "node_modules/is-odd": {"version": "3.0.1",
                "resolved": "https://registry.example.test/is-odd/-/is-odd-3.0.1.tgz",
                "dependencies": {"is-number": "^6.0.0"}},
            "node_modules/is-number": {"version": "6.0.0",
                "resolved": "https://registry.example.test/is-number/-/is-number-6.0.0.tgz"},
            "node_modules/left-pad": {"version": "1.3.0", "dev": true,
                "resolved": "https://registry.example.test/left-pad/-/left-pad-1.3.0.tgz"}
        })
    }

    fn base_manifest() -> Value {
        json!({"name": "case", "version": "1.0.0",
               "dependencies": {"is-odd": "^3.0.1"}, "devDependencies": {"left-pad": "^1.3.0"}})
    }

    /// Overlays `changes` on `base`: an object is merged key by key, `null` removes the key.
    fn patch(base: &Value, changes: &Value) -> Value {
        match (base, changes) {
            (Value::Object(base), Value::Object(changes)) => {
                let mut out = base.clone();
                for (key, change) in changes {
                    if change.is_null() {
                        out.remove(key);
                    } else {
                        let merged = match out.get(key) {
                            Some(old) => patch(old, change),
                            None => change.clone(),
                        };
                        out.insert(key.clone(), merged);
                    }
                }
                Value::Object(out)
            }
            (_, change) => change.clone(),
        }
    }

    struct Case {
        source: &'static str,
        manifest: Value,
        packages: Value,
        folders: Vec<(&'static str, Value)>,
        workspaces: Vec<(&'static str, &'static str)>,
        legacy_peer_deps: bool,
        expected: Vec<&'static str>,
    }

    fn case(
        source: &'static str,
        manifest: Value,
        packages: Value,
        expected: &[&'static str],
    ) -> Case {
        Case {
            source,
            manifest: patch(&base_manifest(), &manifest),
            packages: patch(&base_lock(), &packages),
            folders: Vec::new(),
            workspaces: Vec::new(),
            legacy_peer_deps: false,
            expected: expected.to_vec(),
        }
    }

    fn run(case: &Case) -> Vec<String> {
        let manifest = Manifest::parse(&case.manifest.to_string()).unwrap();
        let lock_text = json!({"lockfileVersion": 3, "requires": true, "packages": case.packages});
        let lock = NpmLock::parse(&lock_text.to_string()).unwrap();
        let folders: BTreeMap<String, Manifest> = case
            .folders
            .iter()
            .map(|(folder, value)| {
                (
                    folder.to_string(),
                    Manifest::parse(&value.to_string()).unwrap(),
                )
            })
            .collect();
        let workspaces: BTreeMap<String, String> = case
            .workspaces
            .iter()
            .map(|(folder, name)| (folder.to_string(), name.to_string()))
            .collect();
        let project = Project {
            manifest: &manifest,
            lock: &lock,
            folders: &folders,
            workspaces: &workspaces,
            legacy_peer_deps: case.legacy_peer_deps,
        };
        check(&project).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn npm_rules_table() {
        let gdep_lock = json!({
            "": {"dependencies": {"gdep": "git+file:///srv/git/gdep#v1"}},
            "node_modules/gdep": {"version": "1.0.0",
                "resolved": "git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac"}});
        let mut cases = vec![
            case("01-in-sync", json!({}), json!({}), &[]),
            case("02-dep-added-not-in-lock", json!({"dependencies": {"is-even": "^1.0.0"}}), json!({}),
                 &["Missing: is-even@^1.0.0 from lock file"]),
            case("03-range-changed-unsatisfied", json!({"dependencies": {"is-odd": "^2.0.0"}}), json!({}),
                 &["Invalid: lock file's is-odd@3.0.1 does not satisfy is-odd@^2.0.0"]),
            case("05-dep-removed-still-in-lock", json!({"devDependencies": null}), json!({}), &[]),
            case("06-devdep-moved-to-deps",
                 json!({"dependencies": {"left-pad": "^1.3.0"}, "devDependencies": null}), json!({}), &[]),
            case("08-star-and-tag-specs", json!({"dependencies": {"is-odd": "*"},
                 "devDependencies": {"left-pad": "latest"}}), json!({}), &[]),
            case("09-lock-root-no-deps", json!({}), json!({"": {"dependencies": null, "devDependencies": null}}), &[]),
            case("11-lock-transitive-missing", json!({}), json!({"node_modules/is-number": null}),
                 &["Missing: is-number@^6.0.0 from lock file"]),
            case("14-lock-extraneous-entry, unreachable entries are never judged", json!({}),
                 json!({"node_modules/ms": {"version": "2.1.3", "dependencies": {"gone": "^1.0.0"}}}), &[]),
            case("README rule 4: the dependent's own node_modules comes first",
                 json!({"dependencies": {"a": "^1.0.0"}}),
                 json!({"node_modules/a": {"version": "1.0.0", "dependencies": {"is-number": "^7.0.0"}},
                        "node_modules/a/node_modules/is-number": {"version": "7.0.0"}}), &[]),
            case("README rule 4: a nested copy is not seen from outside",
                 json!({"dependencies": {"b": "^1.0.0"}}),
                 json!({"node_modules/b": {"version": "1.0.0", "dependencies": {"c": "^1.0.0"}},
                        "node_modules/a/node_modules/c": {"version": "1.0.0"}}),
                 &["Missing: c@^1.0.0 from lock file"]),
            case("40-peer-in-sync", json!({"peerDependencies": {"is-number": "^6.0.0"}}), json!({}), &[]),
            case("41-peer-added-not-in-lock", json!({"peerDependencies": {"is-even": "^1.0.0"}}), json!({}),
                 &["Missing: is-even@^1.0.0 from lock file"]),
            case("43-peer-optional-added-not-in-lock", json!({"peerDependencies": {"is-even": "^1.0.0"},
                 "peerDependenciesMeta": {"is-even": {"optional": true}}}), json!({}), &[]),
            case("README rule 7: an invalid optional peer is ignored too",
                 json!({"peerDependencies": {"is-number": "^9.0.0"},
                        "peerDependenciesMeta": {"is-number": {"optional": true}}}), json!({}), &[]),
            case("45-optional-added-not-in-lock", json!({"optionalDependencies": {"is-even": "^1.0.0"}}),
                 json!({}), &["Missing: is-even@^1.0.0 from lock file"]),
            case("75-omit-dev-still-validates-dev", json!({"devDependencies": {"left-pad": "~1.1.0"}}),
                 json!({}), &["Invalid: lock file's left-pad@1.3.0 does not satisfy left-pad@~1.1.0"]),
            case("30-alias-in-sync", json!({"dependencies": {"num": "npm:is-number@^6.0.0"}}),
                 json!({"node_modules/num": {"name": "is-number", "version": "6.0.0"}}), &[]),
            case("32-alias-retargeted-version-still-satisfies",
                 json!({"dependencies": {"num": "npm:left-pad@^6.0.0"}}),
                 json!({"node_modules/num": {"name": "is-number", "version": "6.0.0"}}),
                 &["Stale: package.json asks for num@npm:left-pad@^6.0.0, but the lock file holds num as \
                    is-number@6.0.0; npm ci would not notice and install the locked one"]),
            case("33-alias-to-plain", json!({"dependencies": {"is-even": "^1.0.0"}}),
                 json!({"node_modules/num": {"name": "is-even", "version": "1.0.0"}}),
                 &["Missing: is-even@^1.0.0 from lock file"]),
            case("34-override-in-sync", json!({"overrides": {"is-number": "6.0.0"}}), json!({}), &[]),
            case("36-override-removed", json!({}), json!({}), &[]),
            case("37-override-added-unsatisfied", json!({"overrides": {"is-number": "7.0.0"}}), json!({}),
                 &["Invalid: lock file's is-number@6.0.0 does not satisfy is-number@7.0.0"]),
            case("39-override-conflicts-direct-dep", json!({"overrides": {"is-odd": "2.0.0"}}), json!({}),
                 &["Override for is-odd@^3.0.1 conflicts with direct dependency"]),
            case("npm overrides docs: a `$name` reference takes the root's own spec",
                 json!({"overrides": {"is-odd": "$is-odd"}}), json!({}), &[]),
            case("npm overrides docs: a ranged key leaves other ranges alone",
                 json!({"overrides": {"is-number@^5": "5.0.0"}}), json!({}), &[]),
            case("npm overrides docs: a nested override applies under its parent only",
                 json!({"overrides": {"left-pad": {"is-number": "7.0.0"}}}), json!({}), &[]),
            case("54-file-tarball-in-sync", json!({"dependencies": {"tdep": "file:vendor/tdep-1.0.0.tgz"}}),
                 json!({"node_modules/tdep": {"version": "1.0.0", "resolved": "file:vendor/tdep-1.0.0.tgz"}}), &[]),
            case("55-file-tarball-path-changed-same-version",
                 json!({"dependencies": {"tdep": "file:vendor2/tdep-1.0.0.tgz"}}),
                 json!({"node_modules/tdep": {"version": "1.0.0", "resolved": "file:vendor/tdep-1.0.0.tgz"}}),
                 &["Stale: package.json asks for tdep@file:vendor2/tdep-1.0.0.tgz, but the lock file holds \
                    tdep@1.0.0 from file:vendor/tdep-1.0.0.tgz; npm ci would not notice and install the locked one"]),
            case("61-git-in-sync", json!({"dependencies": {"gdep": "git+file:///srv/git/gdep#v1"}}),
                 gdep_lock.clone(), &[]),
            case("62-git-ref-changed-same-version", json!({"dependencies": {"gdep": "git+file:///srv/git/gdep#v1b"}}),
                 gdep_lock.clone(),
                 &["Stale: package.json asks for gdep@git+file:///srv/git/gdep#v1b, but the lock file holds \
                    gdep@1.0.0 from git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac (locked \
                    for #v1); npm ci would not notice and install the locked one"]),
            case("dep-valid.js: a pinned commit must be the locked one",
                 json!({"dependencies": {"gdep": "git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac"}}),
                 gdep_lock.clone(), &[]),
            case("dep-valid.js: another repository is another package",
                 json!({"dependencies": {"gdep": "git+file:///srv/git/other#v1"}}), gdep_lock,
                 &["Stale: package.json asks for gdep@git+file:///srv/git/other#v1, but the lock file holds \
                    gdep@1.0.0 from git+file:///srv/git/gdep#df8644ee06362d06c17e5e258af740b2b8f67bac; npm ci \
                    would not notice and install the locked one"]),
            case("72-remote-url-in-sync",
                 json!({"dependencies": {"rdep": "https://cdn.example.test/rdep.tgz"}}),
                 json!({"node_modules/rdep": {"version": "2.0.0", "resolved": "https://cdn.example.test/rdep.tgz"}}), &[]),
            case("73-remote-url-changed-same-version",
                 json!({"dependencies": {"rdep": "https://cdn.example.test/rdep.tgz?v=2"}}),
                 json!({"node_modules/rdep": {"version": "2.0.0", "resolved": "https://cdn.example.test/rdep.tgz"}}),
                 &["Stale: package.json asks for rdep@https://cdn.example.test/rdep.tgz?v=2, but the lock file \
                    holds rdep@2.0.0 from https://cdn.example.test/rdep.tgz; npm ci would not notice and install \
                    the locked one"]),
            case("a registry range answered by a git checkout installs the checkout",
                 json!({"dependencies": {"gdep": "^1.0.0"}}),
                 json!({"node_modules/gdep": {"version": "1.0.0", "resolved": "git+file:///srv/git/gdep#abc"}}),
                 &["Stale: package.json asks for gdep@^1.0.0, but the lock file holds gdep@1.0.0 from \
                    git+file:///srv/git/gdep#abc; npm ci would not notice and install the locked one"]),
            case("67-bundled-entry-removed-from-lock",
                 json!({"dependencies": {"bdep": "file:vendor/bdep-1.0.0.tgz"}}),
                 json!({"node_modules/bdep": {"version": "1.0.0", "resolved": "file:vendor/bdep-1.0.0.tgz",
                        "bundleDependencies": ["ms"], "dependencies": {"ms": "^2.0.0"}}}), &[]),
            case("npm-package-arg: not a range and not a tag", json!({"dependencies": {"is-odd": "^^3"}}), json!({}),
                 &["Invalid: lock file's is-odd@3.0.1 does not satisfy is-odd@^^3 (not a valid version range or tag)"]),
            case("node-semver: a range does not match prereleases of other versions",
                 json!({"dependencies": {"pre": "^1.0.0", "any": "*"}}),
                 json!({"node_modules/pre": {"version": "1.1.0-beta.1"}, "node_modules/any": {"version": "2.0.0-rc.1"}}),
                 &["Invalid: lock file's pre@1.1.0-beta.1 does not satisfy pre@^1.0.0"]),
        ];

        let mut legacy = case(
            "76-legacy-peer-deps-npmrc",
            json!({"peerDependencies": {"is-even": "^1.0.0"}}),
            json!({}),
            &[],
        );
        legacy.legacy_peer_deps = true;
        cases.push(legacy);

        let workspace_lock = json!({
            "": {"workspaces": ["packages/*"]},
            "node_modules/a": {"resolved": "packages/a", "link": true},
            "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"left-pad": "^1.3.0"}}});
        for (source, version, extra, expected) in [
            ("48-workspace-in-sync", "1.0.0", None, vec![]),
            ("51-workspace-version-bumped", "2.0.0", None, vec![]),
            (
                "49-workspace-added",
                "1.0.0",
                Some(("packages/b", "b")),
                vec!["Missing: b@1.0.0 from lock file"],
            ),
        ] {
            let mut workspace = case(
                source,
                json!({"workspaces": ["packages/*"]}),
                workspace_lock.clone(),
                &[],
            );
            workspace.folders = vec![(
                "packages/a",
                json!({"name": "a", "version": version, "dependencies": {"left-pad": "^1.3.0"}}),
            )];
            workspace.workspaces = vec![("packages/a", "a")];
            if let Some((folder, name)) = extra {
                workspace
                    .folders
                    .push((folder, json!({"name": name, "version": "1.0.0"})));
                workspace.workspaces.push((folder, name));
            }
            workspace.expected = expected;
            cases.push(workspace);
        }
        let mut member_dep = case(
            "README rule 3: a workspace's own package.json, devDependencies included",
            json!({"workspaces": ["packages/*"]}),
            workspace_lock,
            &["Missing: is-even@^1.0.0 from lock file"],
        );
        member_dep.folders = vec![(
            "packages/a",
            json!({"name": "a", "version": "1.0.0",
            "dependencies": {"left-pad": "^1.3.0"}, "devDependencies": {"is-even": "^1.0.0"}}),
        )];
        member_dep.workspaces = vec![("packages/a", "a")];
        cases.push(member_dep);

        let link_lock = json!({
            "": {"dependencies": {"ldep": "file:local/ldep"}},
            "node_modules/ldep": {"resolved": "local/ldep", "link": true},
            "local/ldep": {"version": "1.0.0"}});
        for (source, folder_version, spec, expected) in [
            ("57-link-dir-in-sync", "1.0.0", "file:local/ldep", vec![]),
            ("59-link-dir-version-bumped", "1.5.0", "file:local/ldep", vec![]),
            ("dep-valid.js linkValid: another folder", "1.0.0", "file:local/other",
             vec!["Stale: package.json asks for ldep@file:local/other, but the lock file holds ldep linked to \
                   local/ldep; npm ci would not notice and install the locked one"]),
        ] {
            let mut link = case(source, json!({"dependencies": {"ldep": spec}}), link_lock.clone(), &[]);
            link.folders = vec![("local/ldep", json!({"name": "ldep", "version": folder_version}))];
            link.expected = expected;
            cases.push(link);
        }

        for case in &cases {
            assert_eq!(run(case), case.expected, "{}", case.source);
        }
    }

    #[test]
    fn lockfile_v1_requires_are_the_edges() {
        // ../shared/npm-sync-cases/25-lockfile-v1-in-sync and 26-lockfile-v1-dep-added.
        let lock = NpmLock::parse(
            r#"{"lockfileVersion": 1, "requires": true, "dependencies": {
                "is-odd": {"version": "3.0.1", "requires": {"is-number": "^6.0.0"}},
                "is-number": {"version": "6.0.0"}}}"#,
        )
        .unwrap();
        let folders = BTreeMap::new();
        let workspaces = BTreeMap::new();
        for (dependencies, expected) in [
            (json!({"is-odd": "^3.0.1"}), vec![]),
            (
                json!({"is-odd": "^3.0.1", "is-number": "^7.0.0"}),
                vec!["Invalid: lock file's is-number@6.0.0 does not satisfy is-number@^7.0.0"],
            ),
        ] {
            let manifest =
                Manifest::parse(&json!({"dependencies": dependencies}).to_string()).unwrap();
            let project = Project {
                manifest: &manifest,
                lock: &lock,
                folders: &folders,
                workspaces: &workspaces,
                legacy_peer_deps: false,
            };
            let found: Vec<String> = check(&project).iter().map(ToString::to_string).collect();
            assert_eq!(found, expected);
        }
    }

    #[test]
    fn node_modules_parents() {
        let cases = [
            ("node_modules/a", Some("")),
            ("node_modules/@s/a", Some("")),
            ("node_modules/a/node_modules/b", Some("node_modules/a")),
            ("packages/a/node_modules/x", Some("packages/a")),
            ("packages/a", None),
            ("not_node_modules/a", None),
            ("a/node_modules", None),
            ("", None),
        ];
        for (location, parent) in cases {
            assert_eq!(node_modules_parent(location), parent, "{location}");
        }
    }
}
