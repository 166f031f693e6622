//! uv's check of `uv.lock` against the workspace (`uv lock --check`): the lock must still be the
//! one uv would write. uv compares what the lockfile recorded of its inputs with the workspace as
//! it is now (uv-resolver `Lock::satisfies`, `ValidatedLock::validate`); where they differ it
//! resolves again and the check fails unless the new lockfile is byte for byte the old one, which
//! it is not, since the new inputs are recorded in it. So a difference in a recorded input is a
//! stale lock:
//!
//! - the workspace: its members (`[manifest] members`), and whether each is a package
//!   (`editable`) or not (`virtual`);
//! - per source tree (members, local folders it depends on): the static `version`,
//!   `requires-dist` (`[project] dependencies` and `optional-dependencies`, with
//!   `[tool.uv.sources]` applied), `provides-extras`, and for members `requires-dev`
//!   (`[dependency-groups]`, `include-group` expanded, and `[tool.uv] dev-dependencies`);
//! - `requires-python` (as a range: `>=3.10` and `>=3.10.0` are one), the resolver options
//!   (`resolution`, `prerelease`, `fork-strategy`, `exclude-newer`), `constraint-`, `override-`
//!   and `build-constraint-dependencies`, `required-environments` and `environments`.
//!
//! Requirements compare as uv normalises them: names and extras normalised, specifiers as a set,
//! markers as a boolean function with what `requires-python` already implies dropped (a
//! `python_version >= "3.10"` under `>=3.10` is no marker at all).

use super::lockfiles::{normalize, Uv, UvRequirement};
use super::requirements::parse_pep508;
use super::sync::{is_member, Globs, Local};
use crate::ecosystem::join_relative;
use pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, VersionOrUrl};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::str::FromStr;

fn table<'a>(value: Option<&'a toml::Value>, key: &str) -> Option<&'a toml::Table> {
    value?.get(key)?.as_table()
}

fn tool_uv(pyproject: &toml::Table) -> Option<&toml::Table> {
    table(pyproject.get("tool"), "uv")
}

fn strings(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_str().map(str::to_string))
        .collect()
}

/// `[tool.uv.workspace]` members and exclude globs.
pub fn workspace_globs(pyproject: &toml::Table) -> Option<Globs> {
    let workspace = table(pyproject.get("tool").and_then(|t| t.get("uv")), "workspace")?;
    Some(Globs {
        members: strings(workspace.get("members")),
        exclude: strings(workspace.get("exclude")),
    })
}

/// The folders (relative to the workspace root) that `[tool.uv.sources]` of the project in
/// `declared_in` names by `path`.
pub fn path_sources(declared_in: &str, pyproject: &toml::Table) -> Vec<String> {
    let Some(sources) = tool_uv(pyproject).and_then(|uv| uv.get("sources")?.as_table()) else {
        return Vec::new();
    };
    let mut folders = Vec::new();
    for source in sources.values() {
        let entries: Vec<&toml::Value> = match source {
            toml::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for entry in entries {
            if let Some(path) = entry.get("path").and_then(toml::Value::as_str) {
                folders.push(join_relative(declared_in, path));
            }
        }
    }
    folders
}

// --- requirements as uv normalises them ----------------------------------------------------

/// A requirement in the form uv compares: name and extras normalised, specifiers sorted, the
/// marker simplified under `requires-python`, and where it comes from when not an index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Normal {
    name: String,
    specifier: String,
    extras: Vec<String>,
    marker: String,
    source: Option<(String, String)>,
}

impl Normal {
    fn describe(&self) -> String {
        let mut text = self.name.clone();
        if !self.extras.is_empty() {
            text.push_str(&format!("[{}]", self.extras.join(",")));
        }
        if !self.specifier.is_empty() {
            text.push_str(&format!(" {}", self.specifier));
        }
        if let Some((kind, location)) = &self.source {
            text.push_str(&format!(" ({kind} {location})"));
        }
        if !self.marker.is_empty() {
            text.push_str(&format!(" ; {}", self.marker));
        }
        text
    }
}

/// The Python range of a `requires-python`: its lower and upper bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PythonRange {
    lower: Bound<Version>,
    upper: Bound<Version>,
}

impl PythonRange {
    const ANY: PythonRange = PythonRange {
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
    };

    /// The range of specifiers (`>=3.10,<4`); `!=` does not move a bound.
    fn of(text: &str) -> Option<PythonRange> {
        let specifiers = VersionSpecifiers::from_str(text).ok()?;
        let mut range = PythonRange::ANY;
        for specifier in specifiers.iter() {
            let version = specifier.version().clone();
            let next = || {
                // `==3.10.*` and `~=3.10` end before the next release of their prefix.
                let mut release = version.release().to_vec();
                let keep = match specifier.operator() {
                    Operator::TildeEqual => release.len().saturating_sub(1).max(1),
                    _ => release.len(),
                };
                release.truncate(keep);
                if let Some(last) = release.last_mut() {
                    *last += 1;
                }
                Version::new(release)
            };
            let (lower, upper) = match specifier.operator() {
                Operator::GreaterThanEqual => (Bound::Included(version.clone()), Bound::Unbounded),
                Operator::GreaterThan => (Bound::Excluded(version.clone()), Bound::Unbounded),
                Operator::LessThan => (Bound::Unbounded, Bound::Excluded(version.clone())),
                Operator::LessThanEqual => (Bound::Unbounded, Bound::Included(version.clone())),
                Operator::Equal | Operator::ExactEqual => (
                    Bound::Included(version.clone()),
                    Bound::Included(version.clone()),
                ),
                Operator::EqualStar | Operator::TildeEqual => {
                    (Bound::Included(version.clone()), Bound::Excluded(next()))
                }
                _ => (Bound::Unbounded, Bound::Unbounded),
            };
            range.narrow(lower, upper);
        }
        Some(range)
    }

    fn narrow(&mut self, lower: Bound<Version>, upper: Bound<Version>) {
        let key = |bound: &Bound<Version>| match bound {
            Bound::Included(version) => Some((version.clone(), 0)),
            Bound::Excluded(version) => Some((version.clone(), 1)),
            Bound::Unbounded => None,
        };
        if key(&lower) > key(&self.lower) {
            self.lower = lower;
        }
        let upper_key = |bound: &Bound<Version>| match bound {
            Bound::Included(version) => Some((version.clone(), 1)),
            Bound::Excluded(version) => Some((version.clone(), 0)),
            Bound::Unbounded => None,
        };
        let tighter = match (upper_key(&upper), upper_key(&self.upper)) {
            (Some(new), Some(old)) => new < old,
            (Some(_), None) => true,
            _ => false,
        };
        if tighter {
            self.upper = upper;
        }
    }

    fn simplify(&self, marker: MarkerTree) -> MarkerTree {
        marker.simplify_python_versions(self.lower.as_ref(), self.upper.as_ref())
    }
}

fn marker_text(marker: &MarkerTree) -> String {
    marker.try_to_string().unwrap_or_default()
}

fn sorted_specifier(specifiers: &VersionSpecifiers) -> String {
    let mut parts: Vec<String> = specifiers.iter().map(ToString::to_string).collect();
    parts.sort();
    parts.join(",")
}

/// Where a dependency of the project in `declared_in` comes from by its `[tool.uv.sources]`
/// entry, as uv.lock records it; `None` for the default index.
struct Lowering<'a> {
    /// Merged sources: the workspace root's, then the project's own over them; each with the
    /// folder its paths are relative to.
    sources: BTreeMap<String, (&'a toml::Value, String)>,
    /// `[[tool.uv.index]]` names to URLs.
    indexes: BTreeMap<String, String>,
    /// Members by name: folder, whether a package.
    members: &'a BTreeMap<String, (String, bool)>,
    /// Folders with a pyproject.toml.
    trees: BTreeSet<&'a str>,
}

impl Lowering<'_> {
    /// The source recorded for `name`: `Some(None)` keeps the version specifier (an index),
    /// `Some(Some(..))` replaces it, `None` when no source applies.
    fn source(&self, name: &str) -> Option<(String, String, bool)> {
        let (value, declared_in) = self.sources.get(name)?;
        let value = match value {
            toml::Value::Array(_) => return None, // per-marker sources: not compared
            other => other,
        };
        let text = |key: &str| value.get(key).and_then(toml::Value::as_str);
        let flag = |key: &str| value.get(key).and_then(toml::Value::as_bool);
        if let Some(path) = text("path") {
            let folder = join_relative(declared_in, path);
            let kind = if !self.trees.contains(folder.as_str()) {
                "path"
            } else if flag("package") == Some(false) {
                "virtual"
            } else if flag("editable") == Some(true) {
                "editable"
            } else {
                "directory"
            };
            return Some((kind.to_string(), dot_for_root(&folder), false));
        }
        if flag("workspace") == Some(true) {
            let (folder, package) = self.members.get(name)?;
            let kind = if !package {
                "virtual"
            } else if flag("editable") == Some(false) {
                "directory"
            } else {
                "editable"
            };
            return Some((kind.to_string(), dot_for_root(folder), false));
        }
        if let Some(git) = text("git") {
            let mut url = git.to_string();
            let mut query = Vec::new();
            for key in ["tag", "branch", "rev"] {
                if let Some(reference) = text(key) {
                    query.push(format!("{key}={reference}"));
                }
            }
            if let Some(subdirectory) = text("subdirectory") {
                query.push(format!("subdirectory={subdirectory}"));
            }
            if !query.is_empty() {
                url.push('?');
                url.push_str(&query.join("&"));
            }
            return Some(("git".to_string(), url, false));
        }
        if let Some(url) = text("url") {
            return Some(("url".to_string(), url.to_string(), false));
        }
        if let Some(index) = text("index") {
            let url = self
                .indexes
                .get(index)
                .cloned()
                .unwrap_or_else(|| index.to_string());
            return Some(("index".to_string(), url, true));
        }
        None
    }

    /// A PEP 508 string of the project as uv records it, the `extra` marker added for an
    /// optional dependency.
    fn lower(&self, text: &str, extra: Option<&str>, python: &PythonRange) -> Option<Normal> {
        let requirement = parse_pep508(text).ok()?;
        let name = requirement.name.to_string();
        let mut marker = requirement.marker.clone();
        if let Some(extra) = extra {
            let condition =
                MarkerTree::from_str(&format!("extra == '{}'", normalize(extra))).ok()?;
            marker.and(condition);
        }
        let mut extras: Vec<String> = requirement.extras.iter().map(ToString::to_string).collect();
        extras.sort();
        let (mut specifier, mut source) = match &requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                (sorted_specifier(specifiers), None)
            }
            Some(VersionOrUrl::Url(url)) => {
                let url = url.to_string();
                let source = match url.strip_prefix("git+") {
                    Some(git) => ("git".to_string(), git.to_string()),
                    None => ("url".to_string(), url),
                };
                (String::new(), Some(source))
            }
            None => (String::new(), None),
        };
        if let Some((kind, location, keeps_specifier)) = self.source(&name) {
            if !keeps_specifier {
                specifier.clear();
            }
            source = Some((kind, location));
        }
        Some(Normal {
            name,
            specifier,
            extras,
            marker: marker_text(&python.simplify(marker)),
            source,
        })
    }
}

/// uv.lock's record of a requirement, in the same form.
fn recorded(requirement: &UvRequirement, python: &PythonRange) -> Normal {
    let marker = requirement
        .marker
        .as_deref()
        .and_then(|marker| MarkerTree::from_str(marker).ok())
        .unwrap_or_default();
    let mut extras: Vec<String> = requirement.extras.iter().map(|e| normalize(e)).collect();
    extras.sort();
    let specifier = requirement
        .specifier
        .as_deref()
        .map(|text| {
            VersionSpecifiers::from_str(text)
                .map(|specifiers| sorted_specifier(&specifiers))
                .unwrap_or_else(|_| text.to_string())
        })
        .unwrap_or_default();
    let source = [
        "editable",
        "directory",
        "path",
        "virtual",
        "git",
        "url",
        "index",
    ]
    .into_iter()
    .find_map(|kind| {
        let location = requirement.source.get(kind)?.as_str()?;
        // A git location records the commit after `#`; the requirement never has one.
        let location = match kind {
            "git" => location.split('#').next().unwrap_or(location),
            _ => location,
        };
        Some((kind.to_string(), location.to_string()))
    });
    Normal {
        name: normalize(&requirement.name),
        specifier,
        extras,
        marker: marker_text(&python.simplify(marker)),
        source,
    }
}

fn differences(
    what: &str,
    declared: &BTreeSet<Normal>,
    recorded: &BTreeSet<Normal>,
) -> Vec<String> {
    let added = declared.difference(recorded).map(|requirement| {
        format!(
            "{what}: {} is not what uv.lock recorded",
            requirement.describe()
        )
    });
    let removed = recorded.difference(declared).map(|requirement| {
        format!(
            "{what}: uv.lock recorded {}, which pyproject.toml no longer asks for",
            requirement.describe()
        )
    });
    added.chain(removed).collect()
}

// --- the judgement -------------------------------------------------------------------------

/// A project of the workspace, as the check sees it.
struct Project<'a> {
    /// Folder relative to the workspace root (`""` for the root).
    folder: String,
    pyproject: &'a toml::Table,
    name: String,
}

fn project_table(pyproject: &toml::Table) -> Option<&toml::Table> {
    pyproject.get("project")?.as_table()
}

/// Whether uv builds and installs the project (`editable`) rather than only its dependencies
/// (`virtual`): `[tool.uv] package`, else whether it has a build system or another member
/// needs it.
fn is_package(pyproject: &toml::Table, required: bool) -> bool {
    match tool_uv(pyproject).and_then(|uv| uv.get("package")?.as_bool()) {
        Some(package) => package,
        None => pyproject.contains_key("build-system") || required,
    }
}

/// How `uv.lock` differs from the workspace at the checked folder: each a sentence, none when
/// `uv lock --check` would pass.
pub fn judge(root: &toml::Table, local: &Local, lock: &Uv) -> Vec<String> {
    let mut found = Vec::new();
    for (folder, parsed) in local {
        if let Err(error) = parsed {
            found.push(format!(
                "{folder}/pyproject.toml is not valid TOML ({error})"
            ));
        }
    }
    // The members: the root when it is a project, and the folders its globs name.
    let globs = workspace_globs(root);
    let mut projects: Vec<Project> = Vec::new();
    if let Some(name) = project_table(root).and_then(|p| p.get("name")?.as_str()) {
        projects.push(Project {
            folder: String::new(),
            pyproject: root,
            name: normalize(name),
        });
    }
    for (folder, parsed) in local {
        let (Some(globs), Ok(pyproject)) = (&globs, parsed) else {
            continue;
        };
        if !is_member(globs, folder) {
            continue;
        }
        if let Some(name) = project_table(pyproject).and_then(|p| p.get("name")?.as_str()) {
            projects.push(Project {
                folder: folder.clone(),
                pyproject,
                name: normalize(name),
            });
        }
    }
    if projects.is_empty() {
        return found;
    }

    // Members named in [manifest], when the workspace has more than one project.
    let mut names: Vec<String> = projects.iter().map(|p| p.name.clone()).collect();
    names.sort();
    let non_project = project_table(root).is_none();
    let expected_members = if names.len() > 1 || non_project {
        names.clone()
    } else {
        Vec::new()
    };
    let mut recorded_members: Vec<String> =
        lock.manifest.members.iter().map(|n| normalize(n)).collect();
    recorded_members.sort();
    if expected_members != recorded_members {
        found.push(format!(
            "the workspace's members are {}, but uv.lock was made for {}",
            list(&expected_members),
            list(&recorded_members)
        ));
    }

    // requires-python: the range all members allow.
    let mut python = PythonRange::ANY;
    let mut declared_python = false;
    for project in &projects {
        if let Some(text) =
            project_table(project.pyproject).and_then(|p| p.get("requires-python")?.as_str())
        {
            declared_python = true;
            if let Some(range) = PythonRange::of(text) {
                python.narrow(range.lower, range.upper);
            }
        }
    }
    let locked_python = lock
        .requires_python
        .as_deref()
        .and_then(PythonRange::of)
        .unwrap_or(PythonRange::ANY);
    if declared_python && python != locked_python {
        found.push(format!(
            "requires-python allows another Python range than uv.lock was made for ({})",
            lock.requires_python.as_deref().unwrap_or("none")
        ));
    }
    // Markers are compared as uv.lock wrote them: simplified under its own requires-python.
    let python = locked_python;

    found.extend(settings(root, lock, &python));

    // Members that another member requires with `workspace = true` are packages.
    let required: BTreeSet<String> = projects
        .iter()
        .filter_map(|project| tool_uv(project.pyproject)?.get("sources")?.as_table())
        .chain(tool_uv(root).and_then(|uv| uv.get("sources")?.as_table()))
        .flat_map(|sources| {
            sources
                .iter()
                .filter(|(_, source)| {
                    source.get("workspace").and_then(toml::Value::as_bool) == Some(true)
                })
                .map(|(name, _)| normalize(name))
        })
        .collect();
    let members: BTreeMap<String, (String, bool)> = projects
        .iter()
        .map(|project| {
            let package = is_package(project.pyproject, required.contains(&project.name));
            (project.name.clone(), (project.folder.clone(), package))
        })
        .collect();
    let trees: BTreeSet<&str> = std::iter::once("")
        .chain(
            local
                .iter()
                .filter(|(_, parsed)| parsed.is_ok())
                .map(|(folder, _)| folder.as_str()),
        )
        .collect();
    let indexes = index_urls(root);

    // Each member, then each local folder the lock installs from its pyproject.toml.
    let mut checked = BTreeSet::new();
    for project in &projects {
        let Some(recorded) = lock.projects.get(&project.name) else {
            found.push(format!(
                "uv.lock has no entry for the project {}",
                project.name
            ));
            continue;
        };
        checked.insert(project.name.clone());
        let package = members[&project.name].1;
        let kind = if package { "editable" } else { "virtual" };
        if recorded.source.0 != kind && !(recorded.source.0 == "directory" && package) {
            found.push(format!(
                "{} is {} now, but uv.lock installs it as {}",
                project.name,
                if package {
                    "a package"
                } else {
                    "not a package (virtual)"
                },
                recorded.source.0
            ));
        }
        let lowering = lowering(root, project, &members, &trees, &indexes);
        found.extend(source_tree(
            project,
            recorded,
            &lowering,
            &python,
            true,
            lock.revision,
        ));
    }
    for (name, recorded) in &lock.projects {
        if checked.contains(name) || recorded.source.0 == "virtual" {
            continue;
        }
        let folder = join_relative("", &recorded.source.1);
        let Some(Ok(pyproject)) = local.get(&folder) else {
            continue;
        };
        let project = Project {
            folder,
            pyproject,
            name: name.clone(),
        };
        let lowering = lowering(root, &project, &members, &trees, &indexes);
        found.extend(source_tree(
            &project,
            recorded,
            &lowering,
            &python,
            false,
            lock.revision,
        ));
    }
    found
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none listed".to_string()
    } else {
        names.join(", ")
    }
}

/// `[[tool.uv.index]]` names to URLs.
fn index_urls(root: &toml::Table) -> BTreeMap<String, String> {
    tool_uv(root)
        .and_then(|uv| uv.get("index")?.as_array())
        .into_iter()
        .flatten()
        .filter_map(|index| {
            Some((
                index.get("name")?.as_str()?.to_string(),
                index.get("url")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A folder relative to the workspace root as uv.lock writes it: the root itself is `.`.
fn dot_for_root(folder: &str) -> String {
    if folder.is_empty() {
        ".".to_string()
    } else {
        folder.to_string()
    }
}

fn lowering<'a>(
    root: &'a toml::Table,
    project: &Project<'a>,
    members: &'a BTreeMap<String, (String, bool)>,
    trees: &BTreeSet<&'a str>,
    indexes: &BTreeMap<String, String>,
) -> Lowering<'a> {
    let mut sources = BTreeMap::new();
    for (pyproject, folder) in [(root, ""), (project.pyproject, project.folder.as_str())] {
        if let Some(declared) = tool_uv(pyproject).and_then(|uv| uv.get("sources")?.as_table()) {
            for (name, value) in declared {
                sources.insert(normalize(name), (value, folder.to_string()));
            }
        }
    }
    let mut indexes = indexes.clone();
    indexes.extend(index_urls(project.pyproject));
    Lowering {
        sources,
        indexes,
        members,
        trees: trees.clone(),
    }
}

/// One source tree against what uv.lock recorded of it: version, requires-dist,
/// provides-extras and, for a member, requires-dev.
fn source_tree(
    project: &Project,
    recorded: &super::lockfiles::UvProject,
    lowering: &Lowering,
    python: &PythonRange,
    member: bool,
    revision: u64,
) -> Vec<String> {
    let mut found = Vec::new();
    let name = &project.name;
    let Some(metadata) = project_table(project.pyproject) else {
        return found;
    };
    let dynamic = strings(metadata.get("dynamic"));
    let version = metadata.get("version").and_then(toml::Value::as_str);
    match (version, &recorded.version) {
        (Some(version), Some(locked)) if !super::sync::same_version(version, locked) => {
            found.push(format!(
                "{name}: version is {version}, but uv.lock was made for {locked}"
            ));
        }
        (None, Some(locked)) if dynamic.iter().any(|field| field == "version") => {
            found.push(format!(
                "{name}: the version is dynamic now, uv.lock recorded {locked}"
            ));
        }
        (Some(version), None) => {
            found.push(format!(
                "{name}: version {version} is static now, uv.lock recorded none"
            ));
        }
        _ => {}
    }
    if dynamic
        .iter()
        .any(|field| field == "dependencies" || field == "optional-dependencies")
    {
        return found; // uv builds the project to learn them; not judged offline
    }
    let what = if project.folder.is_empty() {
        "[project] dependencies".to_string()
    } else {
        format!("{}/pyproject.toml [project] dependencies", project.folder)
    };
    let mut declared: BTreeSet<Normal> = strings(metadata.get("dependencies"))
        .iter()
        .filter_map(|text| lowering.lower(text, None, python))
        .collect();
    let optional = metadata
        .get("optional-dependencies")
        .and_then(toml::Value::as_table);
    let mut extras: Vec<String> = Vec::new();
    for (extra, items) in optional.into_iter().flatten() {
        extras.push(normalize(extra));
        declared.extend(
            strings(Some(items))
                .iter()
                .filter_map(|text| lowering.lower(text, Some(extra), python)),
        );
    }
    let recorded_dist: BTreeSet<Normal> = recorded
        .requires_dist
        .iter()
        .map(|r| self::recorded(r, python))
        .collect();
    found.extend(differences(&what, &declared, &recorded_dist));
    extras.sort();
    extras.dedup();
    // A lock made before uv recorded `provides-extras` has none to compare (uv skips it too).
    let mut provided: Vec<String> = recorded
        .provides_extras
        .iter()
        .flatten()
        .map(|e| normalize(e))
        .collect();
    provided.sort();
    if recorded.provides_extras.is_some() && extras != provided {
        found.push(format!(
            "{name}: the extras are {}, but uv.lock recorded {}",
            list(&extras),
            list(&provided)
        ));
    }
    if member {
        let declared = groups(project.pyproject, lowering, python, revision);
        let recorded: BTreeMap<String, BTreeSet<Normal>> = recorded
            .requires_dev
            .iter()
            .filter(|(_, items)| revision >= 1 || !items.is_empty())
            .map(|(group, items)| {
                (
                    normalize(group),
                    items.iter().map(|r| self::recorded(r, python)).collect(),
                )
            })
            .collect();
        for group in declared
            .keys()
            .chain(recorded.keys())
            .collect::<BTreeSet<_>>()
        {
            let empty = BTreeSet::new();
            found.extend(differences(
                &format!("[dependency-groups] {group}"),
                declared.get(group).unwrap_or(&empty),
                recorded.get(group).unwrap_or(&empty),
            ));
        }
    }
    found
}

/// `[dependency-groups]` with `include-group` expanded, and `[tool.uv] dev-dependencies` in
/// `dev`; empty groups count from lockfile revision 1 on, as uv records them.
fn groups(
    pyproject: &toml::Table,
    lowering: &Lowering,
    python: &PythonRange,
    revision: u64,
) -> BTreeMap<String, BTreeSet<Normal>> {
    let declared = pyproject
        .get("dependency-groups")
        .and_then(toml::Value::as_table);
    let by_name: BTreeMap<String, &toml::Value> = declared
        .into_iter()
        .flatten()
        .map(|(group, items)| (normalize(group), items))
        .collect();
    let mut out: BTreeMap<String, BTreeSet<Normal>> = BTreeMap::new();
    for group in by_name.keys() {
        let mut requirements = Vec::new();
        expand(group, &by_name, &mut Vec::new(), &mut requirements);
        out.insert(
            group.clone(),
            requirements
                .iter()
                .filter_map(|text| lowering.lower(text, None, python))
                .collect(),
        );
    }
    let legacy = strings(tool_uv(pyproject).and_then(|uv| uv.get("dev-dependencies")));
    if !legacy.is_empty() {
        out.entry("dev".to_string()).or_default().extend(
            legacy
                .iter()
                .filter_map(|text| lowering.lower(text, None, python)),
        );
    }
    if revision >= 1 {
        out
    } else {
        out.into_iter()
            .filter(|(_, items)| !items.is_empty())
            .collect()
    }
}

/// The requirement strings of `group`, its `{ include-group = … }` entries replaced by theirs.
fn expand(
    group: &str,
    groups: &BTreeMap<String, &toml::Value>,
    visiting: &mut Vec<String>,
    out: &mut Vec<String>,
) {
    if visiting.iter().any(|seen| seen == group) || visiting.len() > 64 {
        return; // uv refuses a cycle; nothing more to compare
    }
    visiting.push(group.to_string());
    for item in groups
        .get(group)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        match item {
            toml::Value::String(text) => out.push(text.clone()),
            toml::Value::Table(include) => {
                if let Some(other) = include.get("include-group").and_then(toml::Value::as_str) {
                    expand(&normalize(other), groups, visiting, out);
                }
            }
            _ => {}
        }
    }
    visiting.pop();
}

/// The workspace root's `[tool.uv]` settings that uv.lock records: resolver options,
/// constraints, overrides, build constraints and environments.
fn settings(root: &toml::Table, lock: &Uv, python: &PythonRange) -> Vec<String> {
    let mut found = Vec::new();
    let uv = tool_uv(root);
    let setting = |key: &str| uv.and_then(|uv| uv.get(key));
    // [options]: a key is written only when not uv's default.
    for (key, option, default) in [
        ("resolution", "resolution-mode", "highest"),
        ("prerelease", "prerelease-mode", "if-necessary-or-explicit"),
        ("fork-strategy", "fork-strategy", "requires-python"),
    ] {
        let declared = setting(key)
            .and_then(toml::Value::as_str)
            .unwrap_or(default);
        let locked = lock
            .options
            .get(option)
            .and_then(toml::Value::as_str)
            .unwrap_or(default);
        if declared != locked {
            found.push(format!(
                "[tool.uv] {key} is {declared}, but uv.lock was made with {locked}"
            ));
        }
    }
    let declared = setting("exclude-newer").and_then(toml::Value::as_str);
    let locked = lock
        .options
        .get("exclude-newer")
        .and_then(toml::Value::as_str);
    if declared.map(|text| text.trim_end_matches('Z'))
        != locked.map(|text| text.trim_end_matches('Z'))
    {
        found.push(format!(
            "[tool.uv] exclude-newer is {}, but uv.lock was made with {}",
            declared.unwrap_or("not set"),
            locked.unwrap_or("none")
        ));
    }
    let no_sources = Lowering {
        sources: BTreeMap::new(),
        indexes: BTreeMap::new(),
        members: &BTreeMap::new(),
        trees: BTreeSet::new(),
    };
    for (key, what, recorded) in [
        (
            "constraint-dependencies",
            "constraints",
            &lock.manifest.constraints,
        ),
        (
            "override-dependencies",
            "overrides",
            &lock.manifest.overrides,
        ),
        (
            "build-constraint-dependencies",
            "build constraints",
            &lock.manifest.build_constraints,
        ),
    ] {
        let declared: BTreeSet<Normal> = strings(setting(key))
            .iter()
            .filter_map(|text| no_sources.lower(text, None, python))
            .collect();
        let recorded: BTreeSet<Normal> =
            recorded.iter().map(|r| self::recorded(r, python)).collect();
        found.extend(differences(
            &format!("[tool.uv] {key} ({what})"),
            &declared,
            &recorded,
        ));
    }
    for (key, recorded) in [
        ("required-environments", &lock.required_markers),
        ("environments", &lock.supported_markers),
    ] {
        let canonical = |texts: &[String]| -> BTreeSet<String> {
            texts
                .iter()
                .map(|text| {
                    MarkerTree::from_str(text)
                        .map(|marker| marker_text(&marker))
                        .unwrap_or_else(|_| text.clone())
                })
                .collect()
        };
        if canonical(&strings(setting(key))) != canonical(recorded) {
            found.push(format!("[tool.uv] {key} is not what uv.lock was made for"));
        }
    }
    let conflicts = setting("conflicts")
        .and_then(toml::Value::as_array)
        .is_some_and(|c| !c.is_empty());
    if conflicts != lock.conflicts.is_some() {
        found.push("[tool.uv] conflicts is not what uv.lock was made for".to_string());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_ranges_compare_as_ranges() {
        // uv's `RequiresPython` compares ranges: `>=3.10` and `>=3.10.0` are one.
        assert_eq!(PythonRange::of(">=3.10"), PythonRange::of(">=3.10.0"));
        assert_ne!(PythonRange::of(">=3.10"), PythonRange::of(">=3.11"));
        assert_ne!(PythonRange::of(">=3.10"), PythonRange::of(">=3.10,<4"));
        assert_eq!(PythonRange::of(">=3.10,<4"), PythonRange::of("<4,>=3.10"));
        assert_eq!(PythonRange::of("~=3.10"), PythonRange::of(">=3.10,<4"));
        assert_eq!(PythonRange::of("==3.11.*"), PythonRange::of(">=3.11,<3.12"));
    }

    #[test]
    fn markers_implied_by_requires_python_drop_out() {
        // uv.lock of tests/fixtures/pypi/uv/marker-implied records six without a marker.
        let python = PythonRange::of(">=3.10").unwrap();
        let none = BTreeMap::new();
        let lowering = Lowering {
            sources: BTreeMap::new(),
            indexes: BTreeMap::new(),
            members: &none,
            trees: BTreeSet::new(),
        };
        let implied = lowering
            .lower("six>=1.15 ; python_version >= '3.10'", None, &python)
            .unwrap();
        let plain = UvRequirement {
            name: "six".into(),
            specifier: Some(">=1.15".into()),
            ..UvRequirement::default()
        };
        assert_eq!(implied, recorded(&plain, &python));
        let platform = lowering
            .lower("six>=1.15 ; sys_platform != 'win32'", None, &python)
            .unwrap();
        assert_ne!(platform, recorded(&plain, &python));
    }
}
