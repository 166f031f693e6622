//! Parser for `yarn.lock`: yarn classic's own format (v1) and yarn berry's YAML (2+, with
//! `__metadata`).
//!
//! Classic writes entries as `"name@range", "name@other-range":` followed by indented
//! `version "1.0.0"` / `resolved "…"` lines; berry writes YAML whose keys are descriptors
//! (`"name@npm:^1.0.0"`) and whose `resolution` (`name@npm:1.0.0`) says what was locked. Both
//! are read into a [`YarnLock`]: every descriptor the lockfile answers (what a frozen install
//! checks package.json against) and every locked package.

use super::package_lock::{classify, Source};
use crate::ecosystem::ParseError;
use crate::package::{
    percent_decode, Dependency, Ecosystem, Entry, LockedSet, Package, SourceKind,
};
use std::collections::BTreeSet;

/// A parsed `yarn.lock`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YarnLock {
    /// Written by yarn berry (2+) rather than yarn classic.
    pub berry: bool,
    /// Every descriptor an entry answers (`is-odd@^3.0.1`; berry: `is-odd@npm:^3.0.1`).
    pub descriptors: BTreeSet<String>,
    /// What the entries lock.
    pub locked: LockedSet,
    /// Berry only: each entry's descriptors, resolution and dependency descriptors (what an
    /// immutable install walks to find entries nothing needs any more).
    pub entries: Vec<BerryEntry>,
}

/// One entry of a berry lockfile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BerryEntry {
    /// The descriptors it answers (`is-odd@npm:^3.0.1`).
    pub descriptors: Vec<String>,
    /// What it resolved to (`is-odd@npm:3.0.1`, `a@workspace:packages/a`).
    pub resolution: String,
    /// Its dependencies as descriptors (`is-number@npm:^6.0.0`).
    pub dependencies: Vec<String>,
    /// The dependencies its `dependenciesMeta` marks optional, by name.
    pub optional: BTreeSet<String>,
}

impl YarnLock {
    /// Parses either flavour of `yarn.lock`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if is_berry(text) {
            parse_berry(text)
        } else {
            parse_classic(text)
        }
    }
}

/// Berry lockfiles are YAML with a `__metadata` entry; classic ones never have it.
fn is_berry(text: &str) -> bool {
    text.lines()
        .any(|line| line.starts_with("__metadata:") || line.starts_with("\"__metadata\":"))
}

/// `name@range` → (name, range); the `@` of a scope is not the separator.
fn split_descriptor(descriptor: &str) -> Option<(&str, &str)> {
    let at = descriptor.get(1..)?.find('@')? + 1;
    Some((&descriptor[..at], &descriptor[at + 1..]))
}

// --- classic -----------------------------------------------------------------------------

/// One classic entry: its descriptors and fields, with the line it starts on.
#[derive(Default)]
struct ClassicEntry {
    line: usize,
    descriptors: Vec<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    /// The `dependencies:` and `optionalDependencies:` blocks, as (name, range).
    dependencies: Vec<(String, String)>,
    /// Whether the lines indented 4 belong to a dependencies block.
    in_dependencies: bool,
}

fn parse_classic(text: &str) -> Result<YarnLock, ParseError> {
    let mut lock = YarnLock::default();
    let mut entries: Vec<ClassicEntry> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if indent == 0 {
            let Some(header) = content.strip_suffix(':') else {
                return Err(ParseError::new(
                    number,
                    1,
                    "expected an entry such as `name@range:`",
                ));
            };
            let descriptors = split_header(header).map_err(|message| {
                ParseError::new(number, 1, format!("{message} in `{header}`"))
            })?;
            entries.push(ClassicEntry {
                line: number,
                descriptors,
                ..ClassicEntry::default()
            });
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            return Err(ParseError::new(
                number,
                indent + 1,
                "indented line before any entry",
            ));
        };
        let (key, value) = match content.split_once(' ') {
            Some((key, value)) => (key, value.trim()),
            None => (content.trim_end_matches(':'), ""),
        };
        let value = unquote(value)
            .map_err(|message| ParseError::new(number, indent + key.len() + 2, message))?;
        let key = unquote(key).unwrap_or_else(|_| key.to_string());
        if indent != 2 {
            // The names and ranges of `dependencies:` blocks.
            if indent == 4 && entry.in_dependencies {
                entry.dependencies.push((key, value));
            }
            continue;
        }
        entry.in_dependencies = matches!(key.as_str(), "dependencies" | "optionalDependencies");
        match key.as_str() {
            "version" => entry.version = Some(value),
            "resolved" => entry.resolved = Some(value),
            "integrity" => entry.integrity = Some(value),
            _ => {}
        }
    }
    let added: Vec<Option<Entry>> = entries
        .iter()
        .map(classic_entry)
        .collect::<Result<_, _>>()?;
    // What each descriptor resolved to, for the edges; an entry from another source is known
    // by its name alone (its `version` is not a registry's).
    let resolved: std::collections::HashMap<&str, Option<&str>> = entries
        .iter()
        .zip(&added)
        .filter_map(|(entry, added)| {
            let version = entry.version.as_deref()?;
            let other = added
                .as_ref()
                .is_some_and(|added| matches!(added.source, crate::package::Source::Other { .. }));
            Some((entry, (!other).then_some(version)))
        })
        .flat_map(|(entry, version)| {
            entry
                .descriptors
                .iter()
                .map(move |descriptor| (descriptor.as_str(), version))
        })
        .collect();
    for (entry, added) in entries.iter().zip(added) {
        lock.descriptors.extend(entry.descriptors.iter().cloned());
        let Some(added) = added else {
            continue;
        };
        let added = lock.locked.push(added.at(Some(entry.line)));
        added.checksum = entry.integrity.clone();
        added.git_reference = git_reference(added, &entry.descriptors);
        added.dependencies = entry
            .dependencies
            .iter()
            .map(|(name, range)| Dependency {
                name: name.clone(),
                version: resolved
                    .get(format!("{name}@{range}").as_str())
                    .copied()
                    .flatten()
                    .map(str::to_string),
            })
            .collect();
    }
    Ok(lock)
}

/// Splits `"a@^1", a@^1.2, "@s/b@~2"` into descriptors.
fn split_header(header: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        let (descriptor, after) = if rest.starts_with('"') {
            let end = closing_quote(rest).ok_or("unterminated quote")?;
            (unquote(&rest[..=end])?, &rest[end + 1..])
        } else {
            match rest.find(',') {
                Some(comma) => (rest[..comma].trim().to_string(), &rest[comma..]),
                None => (rest.trim().to_string(), ""),
            }
        };
        if descriptor.is_empty() {
            return Err("an empty descriptor".into());
        }
        out.push(descriptor);
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

/// The index of the quote that closes the string `text` starts with.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(index),
            _ => escaped = false,
        }
    }
    None
}

/// A classic value: `"quoted"` (JSON escapes) or bare.
fn unquote(value: &str) -> Result<String, String> {
    if value.starts_with('"') {
        serde_json::from_str::<String>(value).map_err(|_| format!("bad quoted string {value}"))
    } else {
        Ok(value.to_string())
    }
}

fn classic_entry(entry: &ClassicEntry) -> Result<Option<Entry>, ParseError> {
    let Some(first) = entry.descriptors.first() else {
        return Ok(None);
    };
    let Some((name, range)) = split_descriptor(first) else {
        return Err(ParseError::new(
            entry.line,
            1,
            format!("`{first}` is not `name@range`"),
        ));
    };
    // An alias locks the package it points at: `num@npm:is-number@^6.0.0`.
    let real = range
        .strip_prefix("npm:")
        .and_then(|target| split_descriptor(target).map(|(real, _)| real))
        .unwrap_or(name);
    let version = entry.version.as_deref();
    Ok(match classify(real, version, entry.resolved.as_deref()) {
        Some(Source::Registry(installed)) => Some(super::package_lock::registry_entry(
            real,
            installed,
            version,
            entry.resolved.as_deref(),
        )),
        Some(Source::Other(kind, source)) => {
            Some(Entry::other(Ecosystem::Npm, name, kind, source.to_string()))
        }
        // No version and no `resolved`: a `file:`/`link:` folder of the project.
        None => None,
    })
}

// --- berry -------------------------------------------------------------------------------

fn parse_berry(text: &str) -> Result<YarnLock, ParseError> {
    let (document, lines) = crate::ecosystem::yaml_document_with_lines(text)?;
    // (index in `locked.entries`, index in `entries`) of each entry, for its edges.
    let mut berry_edges: Vec<(usize, usize)> = Vec::new();
    let yaml_rust2::Yaml::Hash(entries) = &document else {
        return Err(ParseError::new(1, 1, "expected a mapping of entries"));
    };
    let mut lock = YarnLock {
        berry: true,
        ..YarnLock::default()
    };
    for (key, entry) in entries {
        let Some(key) = crate::ecosystem::yaml_text(key) else {
            continue;
        };
        if key == "__metadata" {
            continue;
        }
        let descriptors: Vec<String> = key
            .split(", ")
            .map(|part| part.trim().to_string())
            .collect();
        lock.descriptors.extend(descriptors.iter().cloned());
        let Some(resolution) = crate::ecosystem::yaml_text(&entry["resolution"]) else {
            return Err(ParseError::new(
                crate::ecosystem::yaml_line(text, &key),
                1,
                format!("entry `{key}` has no `resolution`"),
            ));
        };
        if let Some(added) = berry_entry(&resolution) {
            let added = lock
                .locked
                .push(added.at(lines.get(&[key.clone()][..]).copied()));
            added.checksum = crate::ecosystem::yaml_text(&entry["checksum"]);
            // Installed only where its `conditions` (os, cpu, libc) hold: yarn fetches it, and
            // records its checksum, only there.
            added.optional = !matches!(entry["conditions"], yaml_rust2::Yaml::BadValue);
            added.git_reference = git_reference(added, &descriptors);
            berry_edges.push((lock.locked.entries.len() - 1, lock.entries.len()));
        }
        let dependencies = match &entry["dependencies"] {
            yaml_rust2::Yaml::Hash(dependencies) => dependencies
                .iter()
                .filter_map(|(name, range)| {
                    Some(format!(
                        "{}@{}",
                        crate::ecosystem::yaml_text(name)?,
                        crate::ecosystem::yaml_text(range)?
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let optional = match &entry["dependenciesMeta"] {
            yaml_rust2::Yaml::Hash(meta) => meta
                .iter()
                .filter(|(_, meta)| meta["optional"].as_bool() == Some(true))
                .filter_map(|(name, _)| crate::ecosystem::yaml_text(name))
                .collect(),
            _ => BTreeSet::new(),
        };
        lock.entries.push(BerryEntry {
            descriptors,
            resolution,
            dependencies,
            optional,
        });
    }
    let resolved: std::collections::HashMap<&str, &str> = lock
        .entries
        .iter()
        .filter_map(|entry| {
            let (_, reference) = split_descriptor(&entry.resolution)?;
            let version = reference.strip_prefix("npm:")?;
            Some(entry.descriptors.iter().map(move |d| (d.as_str(), version)))
        })
        .flatten()
        .collect();
    // The workspaces' own dependencies start the chains.
    for entry in &lock.entries {
        let workspace = split_descriptor(&entry.resolution)
            .is_some_and(|(_, reference)| reference.starts_with("workspace:"));
        if !workspace {
            continue;
        }
        lock.locked
            .roots
            .extend(entry.dependencies.iter().filter_map(|descriptor| {
                let (name, _) = split_descriptor(descriptor)?;
                Some(Dependency {
                    name: name.to_string(),
                    version: resolved.get(descriptor.as_str()).map(|v| v.to_string()),
                })
            }));
    }
    for (at, source) in berry_edges {
        lock.locked.entries[at].dependencies = lock.entries[source]
            .dependencies
            .iter()
            .filter_map(|descriptor| {
                let (name, _) = split_descriptor(descriptor)?;
                Some(Dependency {
                    name: name.to_string(),
                    version: resolved.get(descriptor.as_str()).map(|v| v.to_string()),
                })
            })
            .collect();
    }
    Ok(lock)
}

/// What an entry from another source was asked to follow, when git: the reference of the
/// descriptors it answers (`gdep@git+https://host/x.git#main`), the first that names no
/// commit. `None` for registry entries, tarballs and folders.
fn git_reference(entry: &Entry, descriptors: &[String]) -> Option<crate::package::GitReference> {
    let crate::package::Source::Other { kind, .. } = &entry.source else {
        return None;
    };
    let mut references = descriptors.iter().filter_map(|descriptor| {
        let (_, range) = split_descriptor(descriptor)?;
        crate::package::GitReference::of_npm_dependency(range, *kind == SourceKind::Git)
    });
    let first = references.next()?;
    Some(match first.is_commit() {
        true => references
            .find(|reference| !reference.is_commit())
            .unwrap_or(first),
        false => first,
    })
}

/// Adds what a berry `resolution` locks: `name@npm:1.0.0` is a registry package; a patch locks
/// the package it patches; workspaces and links are the project's own folders; git, files and
/// URLs are other sources.
fn berry_entry(resolution: &str) -> Option<Entry> {
    let (name, reference) = split_descriptor(resolution)?;
    if let Some(version) = reference.strip_prefix("npm:") {
        return Some(Entry::registry(Package::new(Ecosystem::Npm, name, version)));
    }
    if let Some(patched) = reference.strip_prefix("patch:") {
        // `patch:resolve@npm%3A1.22.8#~builtin<compat/resolve>::…`: the patched package.
        let source = patched.split('#').next().unwrap_or(patched);
        return berry_entry(&percent_decode(source));
    }
    let kind = match reference.split(':').next().unwrap_or_default() {
        "workspace" | "link" | "portal" => return None,
        "file" | "exec" => SourceKind::File,
        "http" | "https" => {
            if reference.contains(".git#") || reference.contains("#commit=") {
                SourceKind::Git
            } else {
                SourceKind::Remote
            }
        }
        _ => SourceKind::Git,
    };
    Some(Entry::other(
        Ecosystem::Npm,
        name,
        kind,
        reference.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_entries_aliases_and_git() {
        // The shapes yarn 1.22 writes (tests/fixtures/npm/yarn-classic).
        let text = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/helper-string-parser@^7.23.4":
  version "7.25.9"
  resolved "https://registry.example.test/@babel/helper-string-parser/-/helper-string-parser-7.25.9.tgz#1aabb72ee72ed35789b4bbcad3ca2862ce614e8c"
  integrity sha512-4A/SCr/2KLd5jrtOMFzaKjVtAei3+2r/NChoBNoZ3EyP/+GlhoaEGoWOZUmFmoITP7zOJyHIMm+DYRd8o3PvHA==

gdep@git+file:///tmp/lockgate-gitdeps/gdep.git#v1:
  version "1.0.0"
  resolved "git+file:///tmp/lockgate-gitdeps/gdep.git#4b5c2f4e9ab0a0a1f1d3c2d5b6a7e8f9a0b1c2d3"

is-number@^6.0.0, "num@npm:is-number@^6.0.0":
  version "6.0.0"
  resolved "https://registry.example.test/is-number/-/is-number-6.0.0.tgz"
  dependencies:
    kind-of "^3.0.2"
"#;
        let lock = YarnLock::parse(text).unwrap();
        assert!(!lock.berry);
        assert_eq!(
            lock.locked.package_list(),
            ["@babel/helper-string-parser@7.25.9", "is-number@6.0.0"]
        );
        assert!(lock.descriptors.contains("num@npm:is-number@^6.0.0"));
        assert!(lock.descriptors.contains("is-number@^6.0.0"));
        let git: Vec<_> = lock.locked.non_registry().into_iter().collect();
        assert_eq!(git[0].kind, SourceKind::Git);
        assert_eq!(git[0].name, "gdep");
    }

    #[test]
    fn berry_resolutions_patches_and_workspaces() {
        // The shapes yarn 4 writes (tests/fixtures/npm/yarn-berry).
        let text = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 8
  cacheKey: 10c0

"a@workspace:packages/a":
  version: 0.0.0-use.local
  resolution: "a@workspace:packages/a"
  languageName: unknown
  linkType: soft

"is-odd@npm:^3.0.1":
  version: 3.0.1
  resolution: "is-odd@npm:3.0.1"
  dependencies:
    is-number: "npm:^6.0.0"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"num@npm:is-number@^6.0.0":
  version: 6.0.0
  resolution: "is-number@npm:6.0.0"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.22.8#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"gdep@git+file:///tmp/lockgate-gitdeps/gdep.git#v1":
  version: 1.0.0
  resolution: "gdep@git+file:///tmp/lockgate-gitdeps/gdep.git#commit=4b5c2f4e"
  languageName: node
  linkType: hard
"#;
        let lock = YarnLock::parse(text).unwrap();
        assert!(lock.berry);
        assert_eq!(
            lock.locked.package_list(),
            ["is-number@6.0.0", "is-odd@3.0.1", "resolve@1.22.8"]
        );
        assert!(lock.descriptors.contains("is-odd@npm:^3.0.1"));
        assert_eq!(lock.locked.non_registry().len(), 1);
    }

    #[test]
    fn bad_input_names_the_line() {
        let cases = [
            (
                "# yarn lockfile v1\n\nis-odd@^3.0.1\n  version \"3.0.1\"\n",
                3,
            ),
            ("# yarn lockfile v1\n\n\"is-odd@^3.0.1:\n", 3),
            // The YAML reader stops at the end, where the list should have been closed.
            (
                "__metadata:\n  version: 8\n\"a@npm:1\":\n  version: [1\n",
                5,
            ),
        ];
        for (text, line) in cases {
            let error = YarnLock::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
        }
    }
}
