//! Parser for bun's text lockfile, `bun.lock`: JSON with trailing commas.
//!
//! `workspaces` records each workspace's dependency maps as its package.json had them (what
//! `bun install --frozen-lockfile` compares); `packages` maps each installed folder name to an
//! array whose first element is `name@version` (or `name@<protocol>:…` for workspaces, links,
//! files, git and URLs).

use crate::ecosystem::ParseError;
use crate::package::{Ecosystem, LockedSet, NonRegistry, Package, SourceKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A parsed `bun.lock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BunLock {
    /// Each workspace, by folder (`""` the root).
    pub workspaces: BTreeMap<String, Workspace>,
    /// What the packages lock.
    pub locked: LockedSet,
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
        let mut locked = LockedSet::default();
        for (folder, entry) in &wire.packages {
            let Some(spec) = entry.first().and_then(serde_json::Value::as_str) else {
                return Err(ParseError::new(
                    line_of(text, folder),
                    1,
                    format!("package `{folder}` does not start with `name@version`"),
                ));
            };
            add(&mut locked, folder, spec);
            // The second element names the registry when it is not the default one.
            if let Some(host) = entry
                .get(1)
                .and_then(serde_json::Value::as_str)
                .and_then(crate::package::url_host)
            {
                if let Some(package) = locked
                    .packages
                    .iter()
                    .find(|p| spec == format!("{}@{}", p.name, p.version))
                {
                    locked.hosts.insert(package.clone(), host);
                }
            }
        }
        Ok(BunLock {
            workspaces: wire.workspaces,
            locked,
        })
    }
}

/// Adds what one `packages` entry locks.
fn add(locked: &mut LockedSet, folder: &str, spec: &str) {
    let Some(at) = spec
        .get(1..)
        .and_then(|rest| rest.find('@'))
        .map(|at| at + 1)
    else {
        return;
    };
    let (name, reference) = (&spec[..at], &spec[at + 1..]);
    let protocol = reference.split_once(':').map(|(protocol, _)| protocol);
    let kind = match protocol {
        None => {
            locked
                .packages
                .insert(Package::new(Ecosystem::Npm, name, reference));
            return;
        }
        Some("workspace" | "link" | "root") => return,
        Some("file") => SourceKind::File,
        Some("http" | "https") if !reference.contains(".git") => SourceKind::Remote,
        Some(_) => SourceKind::Git,
    };
    locked.non_registry.insert(NonRegistry {
        name: folder.rsplit('/').next().unwrap_or(folder).to_string(),
        kind,
        source: reference.to_string(),
    });
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
fn line_of(text: &str, key: &str) -> usize {
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|line| line.contains(&quoted))
        .map_or(0, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_aliases_workspaces_and_git() {
        // The shapes bun 1.2 writes (tests/fixtures/js/bun).
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
            .packages
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            packages,
            ["@types/node@20.11.0", "is-number@6.0.0", "left-pad@1.3.0"]
        );
        assert_eq!(lock.locked.non_registry.len(), 1);
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
        assert_eq!(lock.locked.packages.len(), 1);
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
