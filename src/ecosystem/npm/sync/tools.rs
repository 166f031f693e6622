//! The lockfile checks of the other JavaScript package managers, as each one's frozen install
//! judges package.json against its lockfile (the rules the corpus in tests/fixtures/npm/ shows,
//! recorded by the tools themselves):
//!
//! - pnpm (`--frozen-lockfile`): the lockfile's settings, overrides and catalogs are the
//!   project's, and every project with dependencies has an importer whose specifiers are
//!   package.json's (`satisfiesPackageManifest`, peers included when auto-installed).
//! - yarn classic (`--frozen-lockfile`): every `name@range` package.json asks for is a key of
//!   the lockfile (dependencies on the workspace's own packages are not in it).
//! - yarn berry (`--immutable`): every descriptor (after `resolutions`) is a key, every
//!   workspace's entry records its dependencies, and no entry is left that nothing needs.
//! - bun (`--frozen-lockfile`): no dependency or workspace added or removed, a changed range
//!   still met by what is locked, and the same overrides.
//!
//! Each mismatch is a message in that tool's terms; the caller makes them problems.

use super::manifest::Manifest;
use crate::ecosystem::npm::berry_patch;
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
    /// The settings files beside the root package.json.
    pub settings: &'a Settings,
}

/// What the settings files beside the root package.json say: `.npmrc` (key → value, the last
/// wins) and `pnpm-workspace.yaml` (which pnpm 10 also reads settings, overrides and catalogs
/// from).
#[derive(Debug)]
pub struct Settings {
    npmrc: BTreeMap<String, String>,
    pnpm_workspace: yaml_rust2::Yaml,
    /// The patch files pnpm's `patchedDependencies` name, by path (None: not there).
    patch_files: BTreeMap<String, Option<Vec<u8>>>,
}

impl Settings {
    /// The settings in `.npmrc` and `pnpm-workspace.yaml` text (an unreadable file says
    /// nothing; the tool's own check reports it).
    pub fn read(npmrc: Option<&str>, pnpm_workspace: Option<&str>) -> Settings {
        let mut values = BTreeMap::new();
        for line in npmrc.unwrap_or_default().lines() {
            let line = line.trim();
            if line.starts_with([';', '#']) {
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                let value = value.trim().trim_matches('"').trim_matches('\'');
                values.insert(key.trim().to_string(), value.to_string());
            }
        }
        Settings {
            npmrc: values,
            pnpm_workspace: pnpm_workspace
                .and_then(|text| crate::ecosystem::yaml_document(text).ok())
                .unwrap_or(yaml_rust2::Yaml::Null),
            patch_files: BTreeMap::new(),
        }
    }

    /// pnpm's `patchedDependencies` (`name@version` → patch file): package.json's `pnpm` field,
    /// then `pnpm-workspace.yaml`'s (pnpm 10).
    pub fn pnpm_patches(&self, root: &Manifest) -> BTreeMap<String, String> {
        let mut patches = root.pnpm_patches.clone();
        patches.extend(crate::ecosystem::yaml::text_map(
            &self.pnpm_workspace["patchedDependencies"],
            crate::ecosystem::yaml_text,
        ));
        patches
    }

    /// Keeps the contents of the patch file at `path` (None when it is not there).
    pub fn add_patch_file(&mut self, path: &str, contents: Option<Vec<u8>>) {
        self.patch_files.insert(path.to_string(), contents);
    }

    /// An `.npmrc` setting, as written (the last one wins).
    pub fn npmrc(&self, key: &str) -> Option<&str> {
        self.npmrc.get(key).map(String::as_str)
    }

    /// Whether pnpm checks `engines` strictly (`engineStrict`, `engine-strict`).
    pub fn pnpm_engine_strict(&self) -> bool {
        self.pnpm("engineStrict", "engine-strict").as_deref() == Some("true")
    }

    /// A pnpm setting: `pnpm-workspace.yaml`'s `camelCase` key, else `.npmrc`'s `kebab-case`.
    fn pnpm(&self, camel: &str, kebab: &str) -> Option<String> {
        crate::ecosystem::yaml_text(&self.pnpm_workspace[camel])
            .or_else(|| self.npmrc.get(kebab).cloned())
    }
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
    let pinned = pinned_major(tool, projects.root);
    Ok(match tool {
        Tool::Pnpm => {
            let lock = crate::ecosystem::memo::parsed(text, PnpmLock::parse)?;
            let lock_major: u64 = lock
                .version
                .split('.')
                .next()
                .and_then(|major| major.parse().ok())
                .unwrap_or(0);
            // The newest lockfile major each pnpm major reads.
            let reads = |major: u64| match major {
                0..=7 => 5,
                8 => 6,
                _ => 9,
            };
            match pinned {
                Some((spec, major)) if lock_major > reads(major) => vec![format!(
                    "packageManager pins {spec}, which cannot read pnpm-lock.yaml's \
                     lockfileVersion {} (it reads up to {}.x)",
                    lock.version,
                    reads(major)
                )],
                _ => pnpm(&lock, projects),
            }
        }
        Tool::Yarn => {
            let lock = crate::ecosystem::memo::parsed(text, YarnLock::parse)?;
            match pinned {
                Some((spec, 1)) if lock.berry => vec![format!(
                    "packageManager pins {spec}, which cannot read the yarn 2+ yarn.lock"
                )],
                Some((spec, 2..)) if !lock.berry => vec![format!(
                    "packageManager pins {spec}, which rewrites a yarn 1 yarn.lock, so its \
                     immutable install refuses"
                )],
                _ if lock.berry => berry(&lock, projects),
                _ => classic(&lock, projects),
            }
        }
        Tool::Bun => bun(
            &*crate::ecosystem::memo::parsed(text, BunLock::parse)?,
            projects,
        ),
    })
}

/// `packageManager` when it pins a version of `tool`: the spec (`pnpm@8.15.9`) and its major.
fn pinned_major(tool: Tool, root: &Manifest) -> Option<(&str, u64)> {
    let spec = root.package_manager.as_deref()?.trim();
    let (name, version) = spec.split_once('@')?;
    if name != tool.command() {
        return None;
    }
    let major = version.split('.').next()?.parse().ok()?;
    Some((spec, major))
}

fn where_(folder: &str) -> String {
    if folder.is_empty() {
        "package.json".to_string()
    } else {
        format!("{folder}/package.json")
    }
}

/// pnpm (`--frozen-lockfile`): the lockfile's settings, overrides and catalogs are the
/// project's, and every project's dependencies are its importer's (`satisfiesPackageManifest`).
fn pnpm(lock: &PnpmLock, projects: &Projects<'_>) -> Vec<String> {
    let mut found = pnpm_configuration(lock, projects);
    let auto_install_peers = lock
        .settings
        .get("autoInstallPeers")
        .is_none_or(|value| value == "true");
    for (folder, manifest) in projects.all() {
        let key = if folder.is_empty() { "." } else { folder };
        match lock.importers.get(key) {
            Some(importer) => {
                found.extend(
                    pnpm_importer(importer, manifest, auto_install_peers)
                        .map(|reason| format!("{}: {reason}", where_(folder))),
                );
            }
            // A project with no dependencies needs no importer.
            None if installed(manifest).iter().all(|(_, map)| map.is_empty())
                && manifest.peer_dependencies.is_empty() => {}
            None => found.push(format!(
                "{} is a project of the workspace, but pnpm-lock.yaml has no importer for it",
                where_(folder)
            )),
        }
    }
    found
}

/// What pnpm compares before it installs: the settings recorded in the lockfile, the overrides
/// (`pnpm.overrides` and, for pnpm 10, `pnpm-workspace.yaml`'s) and the catalog entries it used.
fn pnpm_configuration(lock: &PnpmLock, projects: &Projects<'_>) -> Vec<String> {
    let mut found = Vec::new();
    let settings = projects.settings;
    for (key, kebab, default) in [
        ("autoInstallPeers", "auto-install-peers", "true"),
        (
            "excludeLinksFromLockfile",
            "exclude-links-from-lockfile",
            "false",
        ),
    ] {
        let Some(locked) = lock.settings.get(key) else {
            continue;
        };
        let configured = settings
            .pnpm(key, kebab)
            .unwrap_or_else(|| default.to_string());
        if *locked != configured {
            found.push(format!(
                "pnpm-lock.yaml was made with {key}: {locked}, but the project sets {configured} \
                 (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH)"
            ));
        }
    }
    let mut overrides = BTreeMap::new();
    let from_manifest = projects.root.pnpm_overrides.as_ref();
    for (name, spec) in from_manifest
        .and_then(|value| value.as_object())
        .into_iter()
        .flatten()
    {
        if let Some(spec) = spec.as_str() {
            overrides.insert(name.clone(), spec.to_string());
        }
    }
    overrides.extend(crate::ecosystem::yaml::text_map(
        &settings.pnpm_workspace["overrides"],
        crate::ecosystem::yaml_text,
    ));
    if overrides != lock.overrides {
        found.push(format!(
            "the overrides are {overrides:?}, but pnpm-lock.yaml was made with {:?}",
            lock.overrides
        ));
    }
    let patches = settings.pnpm_patches(projects.root);
    let keys: BTreeSet<&String> = patches.keys().chain(lock.patched.keys()).collect();
    for key in keys {
        let recorded = lock.patched.get(key);
        let now = patches.get(key).map(|path| {
            let contents = settings.patch_files.get(path).cloned().flatten();
            (
                path,
                contents.map(|bytes| pnpm_patch_hash(&bytes, recorded)),
            )
        });
        let same = match (&now, recorded) {
            (Some((_, Some(hash))), Some(recorded)) => hash == recorded,
            _ => false,
        };
        if !same {
            found.push(match now {
                None => format!("the patch of {key} is gone, but pnpm-lock.yaml records it"),
                Some((path, None)) => format!("{key} is patched with {path}, which is not there"),
                Some((path, Some(_))) if recorded.is_some() => format!(
                    "{path} changed since pnpm-lock.yaml was made (its patchedDependencies hash \
                     for {key} is another)"
                ),
                Some((path, Some(_))) => {
                    format!("{key} is patched with {path}, which pnpm-lock.yaml does not record")
                }
            });
        }
    }
    for (catalog, entries) in &lock.catalogs {
        let configured = if catalog == "default" {
            let default = &settings.pnpm_workspace["catalog"];
            if default.is_badvalue() {
                &settings.pnpm_workspace["catalogs"]["default"]
            } else {
                default
            }
        } else {
            &settings.pnpm_workspace["catalogs"][catalog.as_str()]
        };
        let configured = crate::ecosystem::yaml::text_map(configured, crate::ecosystem::yaml_text);
        for (name, specifier) in entries {
            let now = configured.get(name);
            if now != Some(specifier) {
                found.push(format!(
                    "catalog {catalog}: {name} is {}, but pnpm-lock.yaml was locked for \
                     {specifier}",
                    now.map_or("not in pnpm-workspace.yaml", String::as_str)
                ));
            }
        }
    }
    found
}

/// The hash pnpm records for a patch file, in the form the lockfile uses: pnpm 10 writes the
/// sha256 in hex, pnpm 9 and 8 the md5 in base32 (lower case, unpadded). Line ends are LF first.
fn pnpm_patch_hash(contents: &[u8], recorded: Option<&String>) -> String {
    use md5::Digest as _;
    let text = String::from_utf8_lossy(contents).replace("\r\n", "\n");
    if recorded.is_some_and(|hash| hash.len() == 64) {
        return sha2::Sha256::digest(text.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
    }
    base32_lower(&md5::Md5::digest(text.as_bytes()))
}

/// RFC 4648 base32, lower case, without padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// pnpm's `satisfiesPackageManifest`: why `importer` does not record `manifest`'s dependencies
/// (with `autoInstallPeers`, peer dependencies count as dependencies unless listed otherwise).
fn pnpm_importer(
    importer: &Importer,
    manifest: &Manifest,
    auto_install_peers: bool,
) -> Option<String> {
    let Importer {
        dependencies: locked_dependencies,
        dev_dependencies: locked_dev,
        optional_dependencies: locked_optional,
    } = importer;
    let mut dependencies = manifest.dependencies.clone();
    if auto_install_peers {
        for (name, spec) in &manifest.peer_dependencies {
            let listed = manifest.dependencies.contains_key(name)
                || manifest.dev_dependencies.contains_key(name)
                || manifest.optional_dependencies.contains_key(name);
            if !listed {
                dependencies.insert(name.clone(), spec.clone());
            }
        }
    }
    // The specifier of every dependency, as pnpm merges them: dev, then prod, then optional.
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for map in [
        &manifest.dev_dependencies,
        &dependencies,
        &manifest.optional_dependencies,
    ] {
        wanted.extend(
            map.iter()
                .map(|(name, spec)| (name.as_str(), spec.as_str())),
        );
    }
    let mut recorded: BTreeMap<&str, &str> = BTreeMap::new();
    for map in [locked_dev, locked_dependencies, locked_optional] {
        recorded.extend(
            map.iter()
                .map(|(name, spec)| (name.as_str(), spec.as_str())),
        );
    }
    if wanted != recorded {
        let differences: Vec<String> = wanted
            .iter()
            .filter(|(name, spec)| recorded.get(*name) != Some(*spec))
            .map(|(name, spec)| match recorded.get(name) {
                Some(locked) => format!("{name} (lockfile: {locked}, manifest: {spec})"),
                None => format!("{name} ({spec}) is not in the lockfile"),
            })
            .chain(
                recorded
                    .iter()
                    .filter(|(name, _)| !wanted.contains_key(*name))
                    .map(|(name, locked)| {
                        format!("{name} ({locked}) is no longer in package.json")
                    }),
            )
            .collect();
        return Some(format!(
            "specifiers in the lockfile don't match specifiers in package.json: {}",
            differences.join("; ")
        ));
    }
    // Each dependency is in the map pnpm files it under.
    let fields = [
        ("dependencies", &dependencies, locked_dependencies),
        ("devDependencies", &manifest.dev_dependencies, locked_dev),
        (
            "optionalDependencies",
            &manifest.optional_dependencies,
            locked_optional,
        ),
    ];
    for (kind, declared, locked) in fields {
        let names: BTreeSet<&str> = declared
            .keys()
            .map(String::as_str)
            .filter(|name| match kind {
                "optionalDependencies" => true,
                "devDependencies" => {
                    !manifest.optional_dependencies.contains_key(*name)
                        && !dependencies.contains_key(*name)
                }
                _ => !manifest.optional_dependencies.contains_key(*name),
            })
            .collect();
        let locked_names: BTreeSet<&str> = locked.keys().map(String::as_str).collect();
        if names != locked_names {
            return Some(format!(
                "{kind} are {names:?} in package.json, but {locked_names:?} in the lockfile"
            ));
        }
    }
    None
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

/// yarn berry (`--immutable`): the lockfile yarn would write is the one committed. Every
/// descriptor package.json asks for (after the root's `resolutions`) is a key; every workspace
/// has its entry, recording exactly its package.json's dependencies and which are optional; and
/// every entry is still needed by something, counting the built-in compatibility patches yarn
/// adds on its own (`fsevents@patch:…#optional!builtin<compat/fsevents>`).
fn berry(lock: &YarnLock, projects: &Projects<'_>) -> Vec<String> {
    let mut found = Vec::new();
    let resolutions = projects
        .all()
        .find(|(folder, _)| folder.is_empty())
        .map(|(_, root)| BerryResolutions::of(root))
        .unwrap_or_default();
    // Each descriptor with the entries that answer it: a patch of the project's is keyed with
    // the workspace it is relative to (`…patch::locator=…`), and a built-in compatibility patch
    // answers for the descriptor it wraps too.
    let mut by_descriptor: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, entry) in lock.entries.iter().enumerate() {
        for descriptor in &entry.descriptors {
            let unbound = descriptor
                .split_once("::locator=")
                .map_or(descriptor.as_str(), |(unbound, _)| unbound);
            by_descriptor
                .entry(unbound.to_string())
                .or_default()
                .push(index);
            if let Some((inner, true)) = patch_of(descriptor) {
                by_descriptor.entry(inner).or_default().push(index);
            }
        }
    }
    let mut wanted: VecDeque<String> = VecDeque::new();
    for (folder, manifest) in projects.all() {
        for (kind, dependencies) in installed(manifest) {
            for (name, range) in dependencies {
                let descriptors = resolutions.apply(name, berry_descriptor(name, range));
                if !descriptors.iter().any(|d| by_descriptor.contains_key(d)) {
                    found.push(format!(
                        "{}: {kind}.{name} ({range}): yarn.lock has no entry for {}",
                        where_(folder),
                        descriptors.join(" or ")
                    ));
                }
                wanted.extend(descriptors);
            }
        }
    }
    let mut needed = vec![false; lock.entries.len()];
    found.extend(berry_workspaces(lock, projects, &mut needed));
    // Walk from the workspaces: each dependency an entry records must have an entry of its own
    // (else yarn resolves it anew and the lockfile changes).
    let mut queue: VecDeque<usize> = (0..lock.entries.len()).filter(|&i| needed[i]).collect();
    let mut missing = BTreeSet::new();
    let mut reach = |descriptors: Vec<String>,
                     from: Option<&str>,
                     needed: &mut Vec<bool>,
                     queue: &mut VecDeque<usize>| {
        let mut found_one = false;
        for descriptor in &descriptors {
            for &index in by_descriptor.get(descriptor).into_iter().flatten() {
                found_one = true;
                if !needed[index] {
                    needed[index] = true;
                    queue.push_back(index);
                }
            }
        }
        if let (false, Some(from)) = (found_one, from) {
            missing.insert(format!(
                "yarn.lock has no entry for {}, which {from} depends on",
                descriptors.join(" or ")
            ));
        }
    };
    for descriptors in wanted.drain(..) {
        reach(vec![descriptors], None, &mut needed, &mut queue);
    }
    while let Some(index) = queue.pop_front() {
        let entry = &lock.entries[index];
        for dependency in &entry.dependencies {
            let descriptors = resolutions.apply(scoped_name(dependency), dependency.clone());
            reach(
                descriptors,
                Some(&entry.resolution),
                &mut needed,
                &mut queue,
            );
        }
        // A patch needs the package it patches.
        for inner in entry
            .descriptors
            .iter()
            .filter_map(|d| Some(patch_of(d)?.0))
        {
            reach(
                vec![inner],
                Some(&entry.resolution),
                &mut needed,
                &mut queue,
            );
        }
    }
    found.extend(missing);
    // yarn writes one entry per resolution, with every descriptor that resolves to it.
    let mut by_resolution: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for entry in &lock.entries {
        let (entries, descriptors) = by_resolution.entry(entry.resolution.as_str()).or_default();
        *entries += 1;
        descriptors.extend(entry.descriptors.iter().map(String::as_str));
    }
    for (resolution, (entries, descriptors)) in by_resolution {
        if entries > 1 {
            found.push(format!(
                "yarn.lock locks {resolution} in {entries} entries ({}); yarn writes one",
                descriptors.join(", ")
            ));
        }
    }
    // An entry nothing reaches is one yarn would drop, when another version of the same package
    // is still used (a leftover). One whose package nothing reaches at all may be a dependency
    // yarn adds on its own (its built-in package extensions, which it does not write into the
    // entries that get them): that is not judged.
    let reached: BTreeSet<&str> = lock
        .entries
        .iter()
        .zip(&needed)
        .filter(|(_, needed)| **needed)
        .flat_map(|(entry, _)| entry.descriptors.iter().map(|d| scoped_name(d)))
        .collect();
    for (entry, needed) in lock.entries.iter().zip(&needed) {
        let name = entry.descriptors.first().map_or("", |d| scoped_name(d));
        if !needed && reached.contains(name) {
            found.push(format!(
                "yarn.lock still has {}, which nothing asks for any more",
                entry.descriptors.join(", ")
            ));
        }
    }
    found.extend(
        lock.entries
            .iter()
            .filter_map(|entry| berry_patch::locked_patch(&entry.resolution))
            .filter_map(|patch| berry_patch_problem(&patch, projects.settings)),
    );
    found
}

/// Whether the project's patch files still give the hash yarn.lock recorded for them.
fn berry_patch_problem(patch: &berry_patch::LockedPatch, settings: &Settings) -> Option<String> {
    let mut sources = Vec::new();
    for file in &patch.files {
        match settings.patch_files.get(file) {
            Some(Some(bytes)) if bytes.len() > berry_patch::MAX_SIZE => {
                return Some(format!(
                    "{file} is larger than {} MiB: lockgate does not read it",
                    berry_patch::MAX_SIZE >> 20
                ))
            }
            Some(Some(bytes)) => sources.push(String::from_utf8_lossy(bytes).into_owned()),
            Some(None) => {
                return Some(format!("yarn.lock patches with {file}, which is not there"))
            }
            None => return None, // Not read: nothing to say.
        }
    }
    let files = patch.files.join(", ");
    match berry_patch::patch_hash(&sources, patch.version.as_deref()) {
        Ok(hash) if hash == patch.hash => None,
        Ok(hash) => Some(format!(
            "{files} changed since yarn.lock was made (yarn recorded hash={}, the file now gives \
             hash={hash})",
            patch.hash
        )),
        Err(error) => Some(format!("yarn cannot read the patch {files}: {error}")),
    }
}

/// The name of a berry descriptor (`@scope/name@npm:^1` → `@scope/name`).
fn scoped_name(descriptor: &str) -> &str {
    let at = descriptor
        .get(1..)
        .and_then(|rest| rest.find('@'))
        .map_or(descriptor.len(), |at| at + 1);
    &descriptor[..at]
}

/// The descriptor a `patch:` descriptor patches, and whether the patch is one of yarn's built-in
/// compatibility patches: `fsevents@patch:fsevents@npm%3A~2.3.2#optional!builtin<compat/fsevents>`
/// → (`fsevents@npm:~2.3.2`, true).
fn patch_of(descriptor: &str) -> Option<(String, bool)> {
    let name = scoped_name(descriptor);
    let rest = descriptor[name.len()..].strip_prefix("@patch:")?;
    let (inner, patch) = rest.split_once('#')?;
    Some((
        crate::package::percent_decode(inner),
        patch.contains("builtin<compat/"),
    ))
}

/// The root's `resolutions`, as yarn berry applies them: a pattern that names only the package
/// (`is-number`, `**/is-number`) replaces every descriptor of it; one scoped to a dependent
/// (`is-odd/is-number`) may or may not apply, so both descriptors are accepted.
#[derive(Debug, Default)]
struct BerryResolutions {
    /// Package name → (the descriptor it resolves to, whether the pattern names only it).
    by_name: BTreeMap<String, Vec<(String, bool)>>,
}

impl BerryResolutions {
    fn of(root: &Manifest) -> BerryResolutions {
        let mut by_name: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
        let Some(serde_json::Value::Object(map)) = &root.resolutions else {
            return BerryResolutions::default();
        };
        for (pattern, spec) in map {
            let Some(spec) = spec.as_str() else { continue };
            let pattern = pattern.strip_prefix("**/").unwrap_or(pattern);
            // The last segment names the package (`parent/@scope/name@range`).
            let segments: Vec<&str> = pattern.split('/').collect();
            let (target, scoped) = match segments.as_slice() {
                [.., scope, name] if scope.starts_with('@') => {
                    (format!("{scope}/{name}"), segments.len() > 2)
                }
                [.., name] => ((*name).to_string(), segments.len() > 1),
                [] => continue,
            };
            let name = scoped_name(&target).to_string();
            let global = !scoped && name == target;
            by_name
                .entry(name.clone())
                .or_default()
                .push((berry_descriptor(&name, spec), global));
        }
        BerryResolutions { by_name }
    }

    /// The descriptors `descriptor` (of the package `name`) may be locked as.
    fn apply(&self, name: &str, descriptor: String) -> Vec<String> {
        let Some(rules) = self.by_name.get(name) else {
            return vec![descriptor];
        };
        if let Some((global, _)) = rules.iter().find(|(_, global)| *global) {
            return vec![global.clone()];
        }
        std::iter::once(descriptor)
            .chain(rules.iter().map(|(resolved, _)| resolved.clone()))
            .collect()
    }
}

/// Each workspace's entry: present, needed, and recording exactly its package.json's
/// dependencies and which of them are optional.
fn berry_workspaces(lock: &YarnLock, projects: &Projects<'_>, needed: &mut [bool]) -> Vec<String> {
    let mut found = Vec::new();
    let by_folder: BTreeMap<&str, &Manifest> = projects
        .all()
        .map(|(folder, manifest)| (if folder.is_empty() { "." } else { folder }, manifest))
        .collect();
    let mut recorded_folders = BTreeSet::new();
    for (index, entry) in lock.entries.iter().enumerate() {
        let workspace = entry
            .resolution
            .split_once("@workspace:")
            .map(|(_, folder)| folder);
        let Some((folder, manifest)) =
            workspace.and_then(|folder| Some((folder, by_folder.get(folder)?)))
        else {
            continue;
        };
        recorded_folders.insert(folder);
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
        for added in declared.difference(&recorded) {
            found.push(format!(
                "{} asks for {added}, which yarn.lock does not record for it",
                where_(if folder == "." { "" } else { folder })
            ));
        }
        let optional: BTreeSet<String> = manifest.optional_dependencies.keys().cloned().collect();
        if optional != entry.optional {
            found.push(format!(
                "{}: the optional dependencies are {optional:?}, but yarn.lock records {:?}",
                where_(if folder == "." { "" } else { folder }),
                entry.optional
            ));
        }
    }
    for folder in by_folder.keys() {
        if !recorded_folders.contains(folder) {
            found.push(format!(
                "{} is a workspace, but yarn.lock has no entry for it",
                where_(if *folder == "." { "" } else { folder })
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
        // bun compares names across the dependency maps: a dependency moved from one map to
        // another is the same dependency to it.
        let wanted = all_dependencies([
            ("dependencies", &manifest.dependencies),
            ("devDependencies", &manifest.dev_dependencies),
            ("optionalDependencies", &manifest.optional_dependencies),
            ("peerDependencies", &manifest.peer_dependencies),
        ]);
        let have = all_dependencies([
            ("dependencies", &workspace.dependencies),
            ("devDependencies", &workspace.dev_dependencies),
            ("optionalDependencies", &workspace.optional_dependencies),
            ("peerDependencies", &workspace.peer_dependencies),
        ]);
        for (name, (kind, spec)) in &wanted {
            let recorded = have.get(name).map(|(_, locked)| *locked);
            if recorded == Some(*spec) {
                continue;
            }
            // A spec bun did not record is still fine when what bun.lock resolves that name
            // to for this workspace satisfies it (a range loosened, a dependency the tree
            // already has added): bun installs what is locked.
            let resolved = lock.resolution_of(workspace.name.as_deref(), name);
            if bun_keeps(name, spec, resolved) {
                continue;
            }
            found.push(match recorded {
                None => format!(
                    "{}: {kind}.{name} ({spec}) is not in bun.lock",
                    where_(folder)
                ),
                Some(locked) => format!(
                    "{}: {kind}.{name} is {spec}, but bun.lock recorded {locked}",
                    where_(folder)
                ),
            });
        }
        for (name, (kind, locked)) in &have {
            // A workspace that is not on disk is skipped (a pruned checkout), and so are the
            // references to it.
            let pruned = locked.starts_with("workspace:") && !on_disk(lock, &folders, name);
            if !wanted.contains_key(name) && !pruned {
                found.push(format!(
                    "{}: {kind}.{name} ({locked}) is in bun.lock but no longer in package.json",
                    where_(folder)
                ));
            }
        }
    }
    // Workspaces that bun.lock lists but that are not on disk are skipped, as bun does.
    if let Some((_, root)) = projects.all().find(|(folder, _)| folder.is_empty()) {
        if !same_overrides(bun_overrides(root).as_ref(), lock.overrides.as_ref()) {
            found.push(
                "overrides in package.json changed since bun.lock was saved (bun reads both \
                 `overrides` and `resolutions`)"
                    .to_string(),
            );
        }
    }
    found
}

/// The overrides bun applies: the root's `resolutions`, then its `overrides` over them.
fn bun_overrides(root: &Manifest) -> Option<serde_json::Value> {
    let mut merged = serde_json::Map::new();
    for field in [&root.resolutions, &root.overrides] {
        if let Some(serde_json::Value::Object(map)) = field {
            merged.extend(map.clone());
        }
    }
    (!merged.is_empty()).then_some(serde_json::Value::Object(merged))
}

/// Whether two override maps say the same (no map and an empty one are the same).
fn same_overrides(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> bool {
    let empty = |value: Option<&serde_json::Value>| {
        value.is_none_or(|value| value.as_object().is_some_and(serde_json::Map::is_empty))
    };
    match (empty(a), empty(b)) {
        (true, true) => true,
        (false, false) => a == b,
        _ => false,
    }
}

/// Whether the workspace called `name` in bun.lock is one of the project's folders.
fn on_disk(lock: &BunLock, folders: &BTreeSet<&str>, name: &str) -> bool {
    lock.workspaces
        .iter()
        .filter(|(_, workspace)| workspace.name.as_deref() == Some(name))
        .any(|(folder, _)| folders.contains(folder.as_str()))
}

/// Each dependency of the maps, by name, with the map it is in and its spec (the first map
/// that names it wins, as in bun).
fn all_dependencies<'a>(
    maps: [(&'static str, &'a BTreeMap<String, String>); 4],
) -> BTreeMap<&'a str, (&'static str, &'a str)> {
    let mut all = BTreeMap::new();
    for (kind, map) in maps {
        for (name, spec) in map {
            all.entry(name.as_str()).or_insert((kind, spec.as_str()));
        }
    }
    all
}

/// Whether bun keeps what it locked for the dependency `name` whose spec changed to `spec`: when
/// the locked package (`resolved`, as its name and reference) is that package, a registry version that satisfies
/// the new range, or the new spec is any version or a dist-tag. Any other change (a git, file
/// or workspace spec, an alias to another package) is a change.
fn bun_keeps(name: &str, spec: &str, resolved: Option<(&str, &str)>) -> bool {
    use super::spec::{parse, Spec};
    let Some((locked_name, reference)) = resolved else {
        return false;
    };
    let Ok(version) = nodejs_semver::Version::parse(reference) else {
        return false;
    };
    let satisfied = |spec: &Spec<'_>| match spec {
        Spec::Any | Spec::Tag => true,
        Spec::Range(range) => range.satisfies(&version),
        _ => false,
    };
    match parse(spec) {
        Spec::Alias { name: real, spec } => real == locked_name && satisfied(&spec),
        other => name == locked_name && satisfied(&other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_patches_answer_for_the_descriptor_they_wrap() {
        let cases = [
            (
                "fsevents@patch:fsevents@npm%3A~2.3.2#optional!builtin<compat/fsevents>",
                Some("fsevents@npm:~2.3.2"),
            ),
            (
                "resolve@patch:resolve@npm%3A%5E1.20.0#optional!builtin<compat/resolve>",
                Some("resolve@npm:^1.20.0"),
            ),
            // A project's own patch is not one yarn adds on its own.
            (
                "left-pad@patch:left-pad@npm%3A1.3.0#./patches/left-pad.patch",
                None,
            ),
            ("left-pad@npm:1.3.0", None),
        ];
        for (descriptor, inner) in cases {
            let compat = patch_of(descriptor).filter(|(_, builtin)| *builtin);
            assert_eq!(
                compat.map(|(inner, _)| inner).as_deref(),
                inner,
                "{descriptor}"
            );
        }
    }

    #[test]
    fn berry_resolutions_replace_what_they_name() {
        let root = Manifest::parse(
            r#"{"resolutions": {"is-number": "6.0.0", "**/@s/a": "npm:1.0.0",
                "is-odd/kind-of": "6.0.3", "debug@^4": "4.3.4"}}"#,
        )
        .unwrap();
        let rules = BerryResolutions::of(&root);
        let apply = |name: &str, descriptor: &str| rules.apply(name, descriptor.to_string());
        assert_eq!(
            apply("is-number", "is-number@npm:^7.0.0"),
            ["is-number@npm:6.0.0"]
        );
        assert_eq!(apply("@s/a", "@s/a@npm:^2"), ["@s/a@npm:1.0.0"]);
        // Scoped to one dependent, or to one range: either descriptor may be the locked one.
        assert_eq!(
            apply("kind-of", "kind-of@npm:^3.0.0"),
            ["kind-of@npm:^3.0.0", "kind-of@npm:6.0.3"]
        );
        assert_eq!(
            apply("debug", "debug@npm:^4.1.0"),
            ["debug@npm:^4.1.0", "debug@npm:4.3.4"]
        );
        assert_eq!(apply("left-pad", "left-pad@npm:^1"), ["left-pad@npm:^1"]);
    }

    #[test]
    fn bun_keeps_a_locked_version_the_new_spec_still_accepts() {
        let locked = Some(("is-odd", "3.0.1"));
        assert!(bun_keeps("is-odd", ">=3.0.0", locked));
        assert!(bun_keeps("is-odd", "latest", locked));
        assert!(bun_keeps("is-odd", "*", locked));
        assert!(!bun_keeps("is-odd", "^2.0.0", locked));
        assert!(!bun_keeps("is-odd", "github:u/is-odd", locked));
        assert!(!bun_keeps("other", "^3.0.0", locked));
        assert!(bun_keeps("odd", "npm:is-odd@^3", locked));
        assert!(!bun_keeps("is-odd", "^3.0.0", None));
    }

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
