//! Parser for bun's text lockfile, `bun.lock`: JSON with trailing commas.
//!
//! `workspaces` records each workspace's dependency maps as its package.json had them (what
//! `bun install --frozen-lockfile` compares); `packages` maps each installed folder name to an
//! array whose first element is `name@version` (or `name@<protocol>:…` for workspaces, links,
//! files, git and URLs).

use crate::ecosystem::json_lines::value_lines;
use crate::ecosystem::ParseError;
use crate::package::{Dependency, Ecosystem, Entry, LockedSet, Package, SourceKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A parsed `bun.lock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BunLock {
    /// Each workspace, by folder (`""` the root).
    pub workspaces: BTreeMap<String, Workspace>,
    /// What the packages lock.
    pub locked: LockedSet,
    /// `overrides`: what the root's `overrides` and `resolutions` said when bun locked.
    pub overrides: Option<serde_json::Value>,
    /// Each `packages` key (`is-odd`, `is-odd/is-number`, `member/left-pad`) with the
    /// `name@reference` it resolves to.
    pub resolved: BTreeMap<String, String>,
}

/// One workspace as the lockfile recorded its package.json.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Workspace {
    /// `name`.
    pub name: Option<String>,
    /// `dependencies`.
    pub dependencies: BTreeMap<String, String>,
    /// `devDependencies`.
    pub dev_dependencies: BTreeMap<String, String>,
    /// `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
    /// `peerDependencies`.
    pub peer_dependencies: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct WireLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<serde_json::Value>,
    #[serde(default)]
    workspaces: BTreeMap<String, Workspace>,
    #[serde(default)]
    packages: BTreeMap<String, Vec<serde_json::Value>>,
    #[serde(default)]
    overrides: Option<serde_json::Value>,
}

impl BunLock {
    /// Parses `bun.lock` text.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let json = without_trailing_commas(text);
        let wire: WireLock =
            serde_json::from_str(&json).map_err(|error| ParseError::from_json(&error))?;
        if wire.lockfile_version.is_none() {
            return Err(ParseError::new(
                1,
                1,
                "no `lockfileVersion`: not a bun lockfile",
            ));
        }
        let lines = value_lines(text, 2, |path| path.len() == 2 && path[0] == "packages");
        let mut locked = LockedSet::default();
        let mut resolved = BTreeMap::new();
        // The entries from other sources, by `packages` key.
        let mut others: BTreeMap<&str, usize> = BTreeMap::new();
        for (folder, entry) in &wire.packages {
            let line = lines
                .get(&["packages".to_string(), folder.clone()][..])
                .copied();
            let Some(spec) = entry.first().and_then(serde_json::Value::as_str) else {
                return Err(ParseError::new(
                    line.unwrap_or(0),
                    1,
                    format!("package `{folder}` does not start with `name@version`"),
                ));
            };
            resolved.insert(folder.clone(), spec.to_string());
            let Some(mut added) = entry_of(folder, spec) else {
                continue;
            };
            // The second element names the registry when it is not the default one; the third
            // holds the package's own dependencies; the fourth its integrity.
            if let Some(url) = entry.get(1).and_then(serde_json::Value::as_str) {
                added = added.from_url(url);
            }
            let other = matches!(added.source, crate::package::Source::Other { .. });
            if other {
                others.insert(folder.as_str(), locked.entries.len());
            }
            let added = locked.push(added.at(line));
            // (An entry from another source has no registry: its object comes second.)
            if let Some(meta) = entry.iter().skip(1).take(2).find(|value| value.is_object()) {
                added.dependencies = ["dependencies", "optionalDependencies"]
                    .iter()
                    .filter_map(|section| meta.get(section)?.as_object())
                    .flat_map(|listed| listed.keys())
                    .map(|name| Dependency {
                        name: name.clone(),
                        version: None,
                    })
                    .collect();
            }
            added.checksum = entry
                .get(3)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
        }
        // The workspaces' own dependencies start the chains.
        for workspace in wire.workspaces.values() {
            locked
                .roots
                .extend(workspace.specs().map(|(name, _)| Dependency {
                    name: name.clone(),
                    version: None,
                }));
        }
        if !others.is_empty() {
            git_references(&wire, &others, &mut locked);
        }
        Ok(BunLock {
            workspaces: wire.workspaces,
            locked,
            overrides: wire.overrides,
            resolved,
        })
    }

    /// The `(name, reference)` the dependency `name` of the workspace called `workspace`
    /// resolves to: its own nested entry (`workspace/name`) first, else the hoisted one.
    pub fn resolution_of(&self, workspace: Option<&str>, name: &str) -> Option<(&str, &str)> {
        let nested =
            workspace.and_then(|workspace| self.resolved.get(&format!("{workspace}/{name}")));
        let spec = nested.or_else(|| self.resolved.get(name))?;
        let at = spec.get(1..)?.find('@')? + 1;
        Some((&spec[..at], &spec[at + 1..]))
    }
}

impl Workspace {
    /// Every dependency it asks for, with the spec it asks for.
    fn specs(&self) -> impl Iterator<Item = (&String, &String)> {
        self.dependencies
            .iter()
            .chain(&self.dev_dependencies)
            .chain(&self.optional_dependencies)
            .chain(&self.peer_dependencies)
    }
}

/// Sets what each git entry (by `packages` key in `others`) was asked to follow: the spec of
/// a workspace or a package whose dependency resolves to it (its own nested `parent/name`
/// entry first, else the hoisted `name`).
fn git_references(wire: &WireLock, others: &BTreeMap<&str, usize>, locked: &mut LockedSet) {
    let mut asked: Vec<(&str, &str, &str)> = Vec::new();
    for workspace in wire.workspaces.values() {
        let parent = workspace.name.as_deref().unwrap_or_default();
        for (name, spec) in workspace.specs() {
            asked.push((parent, name, spec));
        }
    }
    for (parent, entry) in &wire.packages {
        let meta = entry.iter().skip(1).take(2).find(|value| value.is_object());
        for section in ["dependencies", "optionalDependencies", "peerDependencies"] {
            let Some(listed) = meta.and_then(|meta| meta.get(section)?.as_object()) else {
                continue;
            };
            for (name, spec) in listed {
                if let Some(spec) = spec.as_str() {
                    asked.push((parent, name, spec));
                }
            }
        }
    }
    for (parent, name, spec) in asked {
        let nested = format!("{parent}/{name}");
        let key = match parent.is_empty() || !wire.packages.contains_key(&nested) {
            true => name,
            false => nested.as_str(),
        };
        let Some(&index) = others.get(key) else {
            continue;
        };
        let entry = &mut locked.entries[index];
        let crate::package::Source::Other { kind, .. } = entry.source else {
            continue;
        };
        if entry
            .git_reference
            .as_ref()
            .is_none_or(crate::package::GitReference::is_commit)
        {
            entry.git_reference =
                crate::package::GitReference::of_npm_dependency(spec, kind == SourceKind::Git)
                    .or(entry.git_reference.take());
        }
    }
}

/// The entry one `packages` element locks (`None` for the project's own folders).
fn entry_of(folder: &str, spec: &str) -> Option<Entry> {
    let at = spec.get(1..)?.find('@')? + 1;
    let (name, reference) = (&spec[..at], &spec[at + 1..]);
    let protocol = reference.split_once(':').map(|(protocol, _)| protocol);
    let kind = match protocol {
        None => {
            return Some(Entry::registry(Package::new(
                Ecosystem::Npm,
                name,
                reference,
            )))
        }
        Some("workspace" | "link" | "root") => return None,
        Some("file") => SourceKind::File,
        Some("http" | "https") if !reference.contains(".git") => SourceKind::Remote,
        Some(_) => SourceKind::Git,
    };
    // Nested folders are `parent/name`, where either may be scoped.
    let installed = match folder == name || folder.ends_with(&format!("/{name}")) {
        true => name,
        false => folder.rsplit('/').next().unwrap_or(folder),
    };
    Some(Entry::other(
        Ecosystem::Npm,
        installed,
        kind,
        reference.to_string(),
    ))
}

/// The text with each comma that closes a list or object (`,` then `]` or `}`) blanked out, so
/// serde_json reads it and its errors keep their lines and columns.
fn without_trailing_commas(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut in_string = false;
    let mut escaped = false;
    for (index, &byte) in bytes.iter().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b',' => {
                let next = bytes[index + 1..].iter().find(|b| !b.is_ascii_whitespace());
                if matches!(next, Some(b']' | b'}')) {
                    out[index] = b' ';
                }
            }
            _ => {}
        }
    }
    String::from_utf8(out).expect("only ASCII commas were replaced")
}

/// The line where `"key"` first appears (for messages; 0 when not found).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_aliases_workspaces_and_git() {
        // The shapes bun 1.2 writes (tests/fixtures/npm/bun).
        let text = r#"{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "case",
      "dependencies": {
        "num": "npm:is-number@^6.0.0",
        "gdep": "git+file:///tmp/lockgate-gitdeps/gdep.git#v1",
      },
    },
    "packages/b": {
      "name": "b",
      "dependencies": { "left-pad": "^1.3.0", },
    },
  },
  "packages": {
    "b": ["b@workspace:packages/b"],
    "gdep": ["gdep@git+file:///tmp/lockgate-gitdeps/gdep.git#4b5c2f4e", {}, "4b5c2f4e"],
    "left-pad": ["left-pad@1.3.0", "", {}, "sha512-a"],
    "num": ["is-number@6.0.0", "", {}, "sha512-b"],
    "@types/node": ["@types/node@20.11.0", "", { "dependencies": { "undici-types": "~5.26.4" } }, "sha512-c"],
  }
}
"#;
        let lock = BunLock::parse(text).unwrap();
        let packages: Vec<String> = lock
            .locked
            .packages()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            packages,
            ["@types/node@20.11.0", "is-number@6.0.0", "left-pad@1.3.0"]
        );
        assert_eq!(lock.locked.non_registry().len(), 1);
        assert_eq!(
            lock.workspaces[""].dependencies["num"],
            "npm:is-number@^6.0.0"
        );
        assert_eq!(lock.workspaces["packages/b"].name.as_deref(), Some("b"));
    }

    #[test]
    fn commas_inside_strings_stay() {
        let text = "{\"lockfileVersion\": 1, \"packages\": {\"a\": [\"a@1.0.0\", \",]\",],},}";
        let lock = BunLock::parse(text).unwrap();
        assert_eq!(lock.locked.packages().len(), 1);
    }

    #[test]
    fn bad_input_names_the_line() {
        let error =
            BunLock::parse("{\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"a\": [1,\n")
                .unwrap_err();
        assert_eq!(error.line, 5, "{error}");
        let error = BunLock::parse(
            "{\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"a\": [1],\n  }\n}",
        )
        .unwrap_err();
        assert_eq!(error.line, 4, "{error}");
    }
}
