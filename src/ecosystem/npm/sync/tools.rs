//! The lockfile checks of the other JavaScript package managers, as each one's frozen install
//! judges package.json against its lockfile:
//!
//! - pnpm (`--frozen-lockfile`): every project of the workspace has an importer, and each
//!   importer's dependencies and their specifiers are exactly package.json's, per type.
//! - yarn classic (`--frozen-lockfile`): every `name@range` package.json asks for is a key of
//!   the lockfile (dependencies on the workspace's own packages are not in it).
//! - yarn berry (`--immutable`): every descriptor (`name@npm:range`, or with the protocol
//!   written) is a key, and no entry is left that nothing needs any more.
//! - bun (`--frozen-lockfile`): each workspace's dependency maps are the ones the lockfile
//!   recorded, and there are no more and no fewer workspaces.
//!
//! Each mismatch is a message in that tool's terms; the caller makes them problems.

use super::manifest::Manifest;
use crate::ecosystem::npm::bun::BunLock;
use crate::ecosystem::npm::pnpm::{Importer, PnpmLock};
use crate::ecosystem::npm::yarn::YarnLock;
use crate::ecosystem::ParseError;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A package manager other than npm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    /// yarn, classic or berry (the lockfile says which).
    Yarn,
    /// pnpm.
    Pnpm,
    /// bun.
    Bun,
}

impl Tool {
    /// Every tool, in the order their lockfiles are looked for.
    pub const ALL: [Tool; 3] = [Tool::Pnpm, Tool::Yarn, Tool::Bun];

    /// Its lockfile's name.
    pub fn lockfile(self) -> &'static str {
        match self {
            Tool::Yarn => "yarn.lock",
            Tool::Pnpm => "pnpm-lock.yaml",
            Tool::Bun => "bun.lock",
        }
    }

    /// Its command (`pnpm`).
    pub fn command(self) -> &'static str {
        match self {
            Tool::Yarn => "yarn",
            Tool::Pnpm => "pnpm",
            Tool::Bun => "bun",
        }
    }

    /// The tool `packageManager` names (`pnpm@9.1.0`), if it is one of these.
    pub fn named_by(manifest: &Manifest) -> Option<Tool> {
        let manager = manifest.package_manager.as_deref()?.trim();
        let name = manager.split('@').next().unwrap_or(manager);
        Tool::ALL.into_iter().find(|tool| tool.command() == name)
    }
}

/// The projects one lockfile locks: the root's package.json and each workspace's, by folder
/// relative to the root.
pub struct Projects<'a> {
    /// The root package.json.
    pub root: &'a Manifest,
    /// Workspace members.
    pub members: &'a BTreeMap<String, Manifest>,
}

impl Projects<'_> {
    /// (folder, manifest) for the root (`""`) and every member.
    fn all(&self) -> impl Iterator<Item = (&str, &Manifest)> {
        std::iter::once(("", self.root)).chain(
            self.members
                .iter()
                .map(|(folder, manifest)| (folder.as_str(), manifest)),
        )
    }

    fn member_names(&self) -> BTreeSet<&str> {
        self.members
            .values()
            .filter_map(|manifest| manifest.name.as_deref())
            .collect()
    }
}

/// The dependency types a frozen install compares, with their package.json names.
fn installed(manifest: &Manifest) -> [(&'static str, &BTreeMap<String, String>); 3] {
    [
        ("dependencies", &manifest.dependencies),
        ("devDependencies", &manifest.dev_dependencies),
        ("optionalDependencies", &manifest.optional_dependencies),
    ]
}

/// Checks `text` (the tool's lockfile) against the projects; the mismatches in the tool's
/// terms, or why the lockfile cannot be read.
pub fn check(tool: Tool, text: &str, projects: &Projects<'_>) -> Result<Vec<String>, ParseError> {
    crate::ecosystem::parse::check_conflict_markers(text)?;
    Ok(match tool {
        Tool::Pnpm => pnpm(&PnpmLock::parse(text)?, projects),
        Tool::Yarn => {
            let lock = YarnLock::parse(text)?;
            if lock.berry {
                berry(&lock, projects)
            } else {
                classic(&lock, projects)
            }
        }
        Tool::Bun => bun(&BunLock::parse(text)?, projects),
    })
}

fn where_(folder: &str) -> String {
    if folder.is_empty() {
        "package.json".to_string()
    } else {
        format!("{folder}/package.json")
    }
}

fn pnpm(lock: &PnpmLock, projects: &Projects<'_>) -> Vec<String> {
    let mut found = Vec::new();
    for (folder, manifest) in projects.all() {
        let key = if folder.is_empty() { "." } else { folder };
        let Some(importer) = lock.importers.get(key) else {
            found.push(format!(
                "{} is a project of the workspace, but pnpm-lock.yaml has no importer for it",
                where_(folder)
            ));
            continue;
        };
        let locked = |kind: &str| -> &BTreeMap<String, String> {
            let Importer {
                dependencies,
                dev_dependencies,
                optional_dependencies,
            } = importer;
            match kind {
                "dependencies" => dependencies,
                "devDependencies" => dev_dependencies,
                _ => optional_dependencies,
            }
        };
        for (kind, wanted) in installed(manifest) {
            let have = locked(kind);
            for (name, spec) in wanted {
                match have.get(name) {
                    None => found.push(format!(
                        "{}: {kind}.{name} ({spec}) is not in pnpm-lock.yaml",
                        where_(folder)
                    )),
                    Some(specifier) if specifier != spec => found.push(format!(
                        "{}: {kind}.{name} is {spec}, but pnpm-lock.yaml was locked for {specifier}",
                        where_(folder)
                    )),
                    Some(_) => {}
                }
            }
            for (name, specifier) in have {
                if !wanted.contains_key(name) {
                    found.push(format!(
                        "{}: {kind}.{name} ({specifier}) is in pnpm-lock.yaml but no longer in \
                         package.json",
                        where_(folder)
                    ));
                }
            }
        }
    }
    found
}

/// yarn classic: `name@range` keys for every range package.json asks for.
fn classic(lock: &YarnLock, projects: &Projects<'_>) -> Vec<String> {
    let members = projects.member_names();
    let mut found = Vec::new();
    for (folder, manifest) in projects.all() {
        for (kind, dependencies) in installed(manifest) {
            for (name, range) in dependencies {
                if members.contains(name.as_str()) {
                    continue; // Linked from the workspace, not locked.
                }
                let descriptor = format!("{name}@{range}");
                if !lock.descriptors.contains(&descriptor) {
                    found.push(format!(
                        "{}: {kind}.{name} ({range}): yarn.lock has no entry for {descriptor}",
                        where_(folder)
                    ));
                }
            }
        }
    }
    found
}

/// A package.json range as a berry descriptor: `npm:` is the default protocol.
fn berry_descriptor(name: &str, range: &str) -> String {
    let has_protocol = range
        .split_once(':')
        .is_some_and(|(protocol, _)| !protocol.is_empty() && !protocol.contains(['/', '@', ' ']));
    if has_protocol {
        format!("{name}@{range}")
    } else {
        format!("{name}@npm:{range}")
    }
}

/// yarn berry: every descriptor is a key, and every entry is still needed.
fn berry(lock: &YarnLock, projects: &Projects<'_>) -> Vec<String> {
    let mut found = Vec::new();
    let mut wanted: VecDeque<String> = VecDeque::new();
    for (folder, manifest) in projects.all() {
        for (kind, dependencies) in installed(manifest) {
            for (name, range) in dependencies {
                let descriptor = berry_descriptor(name, range);
                if !lock.descriptors.contains(&descriptor) {
                    found.push(format!(
                        "{}: {kind}.{name} ({range}): yarn.lock has no entry for {descriptor}",
                        where_(folder)
                    ));
                }
                wanted.push_back(descriptor);
            }
        }
    }
    // Walk from what package.json asks for; the workspaces themselves are needed as long as
    // their folders are workspaces, and each must record its package.json's dependencies.
    let by_folder: BTreeMap<&str, &Manifest> = projects
        .all()
        .map(|(folder, manifest)| (if folder.is_empty() { "." } else { folder }, manifest))
        .collect();
    let by_descriptor: BTreeMap<&str, usize> = lock
        .entries
        .iter()
        .enumerate()
        .flat_map(|(index, entry)| entry.descriptors.iter().map(move |d| (d.as_str(), index)))
        .collect();
    let mut needed = vec![false; lock.entries.len()];
    for (index, entry) in lock.entries.iter().enumerate() {
        let workspace = entry
            .resolution
            .split_once("@workspace:")
            .map(|(_, folder)| folder);
        let Some(manifest) = workspace.and_then(|folder| by_folder.get(folder)) else {
            continue;
        };
        needed[index] = true;
        let declared: BTreeSet<String> = installed(manifest)
            .into_iter()
            .flat_map(|(_, dependencies)| dependencies)
            .map(|(name, range)| berry_descriptor(name, range))
            .collect();
        let recorded: BTreeSet<String> = entry.dependencies.iter().cloned().collect();
        for gone in recorded.difference(&declared) {
            found.push(format!(
                "yarn.lock records {} as depending on {gone}, which its package.json no longer \
                 asks for",
                entry.resolution
            ));
        }
    }
    while let Some(descriptor) = wanted.pop_front() {
        let Some(&index) = by_descriptor.get(descriptor.as_str()) else {
            continue;
        };
        if !needed[index] {
            needed[index] = true;
            wanted.extend(lock.entries[index].dependencies.iter().cloned());
        }
    }
    for (entry, needed) in lock.entries.iter().zip(needed) {
        if !needed {
            found.push(format!(
                "yarn.lock still has {}, which nothing asks for any more",
                entry.descriptors.join(", ")
            ));
        }
    }
    found
}

fn bun(lock: &BunLock, projects: &Projects<'_>) -> Vec<String> {
    let mut found = Vec::new();
    let folders: BTreeSet<&str> = projects.all().map(|(folder, _)| folder).collect();
    for (folder, manifest) in projects.all() {
        let Some(workspace) = lock.workspaces.get(folder) else {
            found.push(format!(
                "{} is a workspace, but bun.lock has no entry for it",
                where_(folder)
            ));
            continue;
        };
        let pairs = [
            (
                "dependencies",
                &manifest.dependencies,
                &workspace.dependencies,
            ),
            (
                "devDependencies",
                &manifest.dev_dependencies,
                &workspace.dev_dependencies,
            ),
            (
                "optionalDependencies",
                &manifest.optional_dependencies,
                &workspace.optional_dependencies,
            ),
            (
                "peerDependencies",
                &manifest.peer_dependencies,
                &workspace.peer_dependencies,
            ),
        ];
        for (kind, wanted, have) in pairs {
            for (name, spec) in wanted {
                match have.get(name) {
                    None => found.push(format!(
                        "{}: {kind}.{name} ({spec}) is not in bun.lock",
                        where_(folder)
                    )),
                    Some(locked) if locked != spec => found.push(format!(
                        "{}: {kind}.{name} is {spec}, but bun.lock recorded {locked}",
                        where_(folder)
                    )),
                    Some(_) => {}
                }
            }
            for (name, locked) in have {
                if !wanted.contains_key(name) {
                    found.push(format!(
                        "{}: {kind}.{name} ({locked}) is in bun.lock but no longer in package.json",
                        where_(folder)
                    ));
                }
            }
        }
    }
    for folder in lock.workspaces.keys() {
        if !folders.contains(folder.as_str()) {
            found.push(format!(
                "bun.lock records a workspace at {folder:?} that is not one any more"
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berry_descriptors_default_to_npm() {
        let cases = [
            ("is-odd", "^3.0.1", "is-odd@npm:^3.0.1"),
            ("num", "npm:is-number@^6.0.0", "num@npm:is-number@^6.0.0"),
            ("b", "workspace:*", "b@workspace:*"),
            ("x", "latest", "x@npm:latest"),
            (
                "g",
                "git+file:///srv/g.git#v1",
                "g@git+file:///srv/g.git#v1",
            ),
        ];
        for (name, range, expected) in cases {
            assert_eq!(berry_descriptor(name, range), expected);
        }
    }
}
