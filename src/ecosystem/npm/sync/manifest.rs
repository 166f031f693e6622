//! `package.json` as the sync check needs it: dependency ranges, workspaces, overrides and
//! `packageManager`. A private wire type mirrors the JSON; [`Manifest`] is what the rules read.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The parts of a `package.json` that decide what `npm ci` installs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `name`.
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `dependencies`.
    pub dependencies: BTreeMap<String, String>,
    /// `devDependencies`.
    pub dev_dependencies: BTreeMap<String, String>,
    /// `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
    /// `peerDependencies`.
    pub peer_dependencies: BTreeMap<String, String>,
    /// Peer dependencies that `peerDependenciesMeta` marks optional.
    pub optional_peers: BTreeSet<String>,
    /// `workspaces` globs (the array form, or the `packages` of the object form).
    pub workspaces: Vec<String>,
    /// `overrides`, as written (strings and nested objects).
    pub overrides: Option<serde_json::Value>,
    /// `resolutions` (yarn's and bun's), as written.
    pub resolutions: Option<serde_json::Value>,
    /// `pnpm.overrides`, as written.
    pub pnpm_overrides: Option<serde_json::Value>,
    /// `pnpm.patchedDependencies`: `name@version` → patch file.
    pub pnpm_patches: BTreeMap<String, String>,
    /// `packageManager`, e.g. `pnpm@9.1.0`.
    pub package_manager: Option<String>,
    /// `devEngines.packageManager` (one object or a list): each tool's name and its `onFail`.
    pub dev_engines_package_managers: Vec<(String, String)>,
    /// `engines.node`, when it is a string.
    pub engines_node: Option<String>,
    /// `volta.node`: the Node.js version volta runs the project with.
    pub volta_node: Option<String>,
}

/// Why a `package.json` could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireManifest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, String>>,
    #[serde(default)]
    dev_dependencies: Option<BTreeMap<String, String>>,
    #[serde(default)]
    optional_dependencies: Option<BTreeMap<String, String>>,
    #[serde(default)]
    peer_dependencies: Option<BTreeMap<String, String>>,
    #[serde(default)]
    peer_dependencies_meta: Option<BTreeMap<String, WirePeerMeta>>,
    #[serde(default)]
    workspaces: Option<WireWorkspaces>,
    #[serde(default)]
    overrides: Option<serde_json::Value>,
    #[serde(default)]
    resolutions: Option<serde_json::Value>,
    #[serde(default)]
    pnpm: Option<serde_json::Value>,
    #[serde(default)]
    dev_engines: Option<serde_json::Value>,
    #[serde(default)]
    package_manager: Option<String>,
    #[serde(default)]
    engines: Option<serde_json::Value>,
    #[serde(default)]
    volta: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WirePeerMeta {
    #[serde(default)]
    optional: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireWorkspaces {
    List(Vec<String>),
    Object {
        #[serde(default)]
        packages: Vec<String>,
    },
}

/// The `node` string of an object such as `engines` or `volta` (anything else says nothing, as
/// the tools read it).
fn node_of(value: Option<&serde_json::Value>) -> Option<String> {
    Some(value?.get("node")?.as_str()?.to_string())
}

/// The `(name, onFail)` of each tool `devEngines.packageManager` names (`onFail` defaults to
/// `error`, as in npm).
fn dev_engines_package_managers(dev_engines: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let Some(listed) = dev_engines.and_then(|engines| engines.get("packageManager")) else {
        return Vec::new();
    };
    let entries = match listed {
        serde_json::Value::Array(entries) => entries.iter().collect(),
        other => vec![other],
    };
    entries
        .into_iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?.to_string();
            let on_fail = entry
                .get("onFail")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("error");
            Some((name, on_fail.to_string()))
        })
        .collect()
}

impl Manifest {
    /// The tool `devEngines.packageManager` requires instead of npm, when npm would refuse to
    /// install because of it (it names no npm entry, and the last entry says `onFail: error`).
    pub fn dev_engines_refuse_npm(&self) -> Option<&str> {
        let listed = &self.dev_engines_package_managers;
        if listed.iter().any(|(name, _)| name == "npm") {
            return None;
        }
        let (name, on_fail) = listed.last()?;
        (on_fail == "error").then_some(name.as_str())
    }

    /// Parses `package.json` text. Unknown fields are ignored; a known field of the wrong type
    /// (say, `dependencies` as an array) is an error, because npm would refuse it too.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        // serde would read a struct from a JSON array too; npm wants an object.
        let start = text.trim_start();
        if !start.is_empty() && !start.starts_with('{') {
            let before = &text[..text.len() - start.len()];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            return Err(ManifestError {
                line,
                column,
                message: "package.json must be a JSON object".to_string(),
            });
        }
        let wire: WireManifest = serde_json::from_str(text).map_err(|error| {
            let message = error.to_string();
            let message = match message.rfind(" at line ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            ManifestError {
                line: error.line(),
                column: error.column(),
                message,
            }
        })?;
        Ok(Manifest {
            name: wire.name,
            version: wire.version,
            dependencies: wire.dependencies.unwrap_or_default(),
            dev_dependencies: wire.dev_dependencies.unwrap_or_default(),
            optional_dependencies: wire.optional_dependencies.unwrap_or_default(),
            peer_dependencies: wire.peer_dependencies.unwrap_or_default(),
            optional_peers: wire
                .peer_dependencies_meta
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, meta)| meta.optional)
                .map(|(name, _)| name)
                .collect(),
            workspaces: match wire.workspaces {
                Some(WireWorkspaces::List(globs)) => globs,
                Some(WireWorkspaces::Object { packages }) => packages,
                None => Vec::new(),
            },
            overrides: wire.overrides,
            resolutions: wire.resolutions,
            dev_engines_package_managers: dev_engines_package_managers(wire.dev_engines.as_ref()),
            pnpm_overrides: wire
                .pnpm
                .as_ref()
                .and_then(|pnpm| pnpm.get("overrides").cloned()),
            pnpm_patches: wire
                .pnpm
                .as_ref()
                .and_then(|pnpm| pnpm.get("patchedDependencies")?.as_object())
                .into_iter()
                .flatten()
                .filter_map(|(key, path)| Some((key.clone(), path.as_str()?.to_string())))
                .collect(),
            package_manager: wire.package_manager,
            engines_node: node_of(wire.engines.as_ref()),
            volta_node: node_of(wire.volta.as_ref()),
        })
    }

    /// Whether it declares anything to install from elsewhere.
    pub fn has_dependencies(&self) -> bool {
        !(self.dependencies.is_empty()
            && self.dev_dependencies.is_empty()
            && self.optional_dependencies.is_empty()
            && self.peer_dependencies.is_empty())
    }

    /// Whether `packageManager` names npm (`npm@10.8.0`), so only an npm lockfile counts.
    pub fn names_npm(&self) -> bool {
        self.package_manager
            .as_deref()
            .is_some_and(|manager| manager.trim() == "npm" || manager.trim().starts_with("npm@"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_npm_reads() {
        // Shapes from ../shared/npm-sync-cases/43-peer-optional-added-not-in-lock and
        // 48-workspace-in-sync, and npm's documented `packageManager` (corepack) field.
        let manifest = Manifest::parse(
            r#"{"name": "case", "version": "1.0.0",
                "dependencies": {"is-odd": "^3.0.1"},
                "peerDependencies": {"is-even": "^1.0.0"},
                "peerDependenciesMeta": {"is-even": {"optional": true}},
                "workspaces": {"packages": ["packages/*"]},
                "packageManager": "npm@11.1.0",
                "scripts": {"test": "x"}}"#,
        )
        .unwrap();
        assert_eq!(manifest.dependencies["is-odd"], "^3.0.1");
        assert!(manifest.optional_peers.contains("is-even"));
        assert_eq!(manifest.workspaces, ["packages/*"]);
        assert!(manifest.names_npm());
        assert!(manifest.has_dependencies());
    }

    #[test]
    fn package_manager_names() {
        let cases = [
            (r#"{"packageManager": "npm@10.8.0"}"#, true),
            (r#"{"packageManager": "pnpm@9.1.0"}"#, false),
            (r#"{"packageManager": "yarn@4.1.0"}"#, false),
            (r#"{}"#, false),
        ];
        for (text, npm) in cases {
            assert_eq!(Manifest::parse(text).unwrap().names_npm(), npm, "{text}");
        }
    }

    #[test]
    fn bad_input_is_an_error_with_a_position() {
        // ../shared/npm-sync-cases/83-package-json-invalid-json is truncated like the first.
        let cases = [
            ("{ \"name\": \"case\", ", 1),
            ("{\n\"dependencies\": [\"a\"]}", 2),
            ("{\"dependencies\": {\"a\": 1}}", 1),
            ("[]", 1),
        ];
        for (text, line) in cases {
            let error = Manifest::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
        }
        assert!(Manifest::parse("{\"dependencies\": null}").is_ok());
    }
}
