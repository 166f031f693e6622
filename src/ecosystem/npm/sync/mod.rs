//! The lockfile check: every npm project a commit touches must have a lockfile that `npm ci`
//! would accept, judged offline from the files being committed ([`Files`]), never the working
//! tree. The rules are npm's (`../shared/npm-sync-cases/README.md`); the findings are report
//! [`Problem`]s.

pub mod engines;
pub mod manifest;
pub mod overrides;
pub mod rules;
pub mod spec;
pub mod tools;

use crate::ecosystem::glob;
use crate::ecosystem::npm::package_lock::{self, NpmLock};
use crate::ecosystem::SyncProblem;
use crate::ecosystem::{folder_of, join_path, Files};
use crate::error::Error;
use crate::report::ProblemKind;
use manifest::Manifest;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tools::Tool;

const PACKAGE_JSON: &str = "package.json";
const SHRINKWRAP: &str = "npm-shrinkwrap.json";
const PACKAGE_LOCK: &str = "package-lock.json";
const NPMRC: &str = ".npmrc";
const PNPM_WORKSPACE: &str = "pnpm-workspace.yaml";
/// Lockfiles of other package managers: their presence is enough here (another check reads them).
const FOREIGN_LOCKFILES: [&str; 4] = ["yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.lockb"];

/// Whether a staged change to `path` calls for checking its folder's project: a `package.json`,
/// a lockfile of any JavaScript package manager, `pnpm-workspace.yaml`, the project's `.npmrc`
/// (`legacy-peer-deps` changes npm's verdict), a Node.js version file (`engines.node` is judged
/// against it), or a `.patch` file (yarn and pnpm record a hash
/// of each patch they apply), outside `node_modules`.
pub fn is_trigger(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lockfile = FOREIGN_LOCKFILES.contains(&name);
    (lockfile
        || name.ends_with(".patch")
        || engines::NODE_VERSION_FILES.contains(&name)
        || matches!(
            name,
            PACKAGE_JSON | SHRINKWRAP | PACKAGE_LOCK | NPMRC | PNPM_WORKSPACE
        ))
        && !in_node_modules(path)
}

fn in_node_modules(path: &str) -> bool {
    path.split('/').any(|segment| segment == "node_modules")
}

/// Reads and caches `package.json` files, so a folder's ancestors are read once per run.
struct Manifests<'t, T: Files + ?Sized> {
    tree: &'t T,
    cache: HashMap<String, Option<Manifest>>,
    globs: HashMap<String, Vec<String>>,
}

impl<'t, T: Files + ?Sized> Manifests<'t, T> {
    fn new(tree: &'t T) -> Self {
        Manifests {
            tree,
            cache: HashMap::new(),
            globs: HashMap::new(),
        }
    }

    /// The readable `package.json` of `folder`, if any.
    fn get(&mut self, folder: &str) -> Result<Option<&Manifest>, Error> {
        if !self.cache.contains_key(folder) {
            let path = join_path(folder, PACKAGE_JSON);
            let manifest = match self.tree.read(&path)? {
                Some(bytes) => read_manifest(&bytes).ok(),
                None => None,
            };
            self.cache.insert(folder.to_string(), manifest);
        }
        Ok(self.cache.get(folder).and_then(Option::as_ref))
    }

    /// The workspace globs of the project at `folder`: package.json's `workspaces`, and
    /// `packages` of a `pnpm-workspace.yaml` beside it.
    fn workspace_globs(&mut self, folder: &str) -> Result<&[String], Error> {
        if !self.globs.contains_key(folder) {
            let mut globs = self
                .get(folder)?
                .map(|manifest| manifest.workspaces.clone())
                .unwrap_or_default();
            globs.extend(pnpm_workspace_globs(self.tree, folder)?);
            self.globs.insert(folder.to_string(), globs);
        }
        Ok(&self.globs[folder])
    }

    /// The nearest ancestor of `folder` whose `workspaces` claim it.
    fn workspace_root(&mut self, folder: &str) -> Result<Option<String>, Error> {
        let mut ancestor = folder;
        while !ancestor.is_empty() {
            ancestor = folder_of(ancestor);
            let relative = match folder.strip_prefix(ancestor) {
                Some(rest) if ancestor.is_empty() => rest,
                Some(rest) => rest.trim_start_matches('/'),
                None => continue,
            };
            if glob::is_member(self.workspace_globs(ancestor)?, relative) {
                return Ok(Some(ancestor.to_string()));
            }
        }
        Ok(None)
    }
}

/// The projects to check for a commit that changes `changed` (paths passing [`is_trigger`],
/// deleted ones included): each file's folder, or the workspace root that claims it.
pub fn staged_projects<T: Files + ?Sized>(
    tree: &T,
    changed: &[String],
) -> Result<BTreeSet<String>, Error> {
    let mut manifests = Manifests::new(tree);
    let mut projects = BTreeSet::new();
    for path in changed.iter().filter(|path| is_trigger(path)) {
        let folder = folder_of(path);
        match manifests.workspace_root(folder)? {
            Some(root) => {
                projects.insert(root);
            }
            None => {
                // A folder without a lockfile of its own may be a `file:` dependency of the
                // project around it, whose lockfile must then answer its dependencies.
                if !has_lockfile(tree, folder) {
                    if let Some(outer) = enclosing_locked_project(tree, folder) {
                        projects.insert(outer);
                    }
                }
                projects.insert(folder.to_string());
            }
        }
    }
    Ok(projects)
}

/// Every project root in the tree: each folder with a `package.json` (outside `node_modules`)
/// that no ancestor's `workspaces` claims.
pub fn all_projects<T: Files + ?Sized>(tree: &T) -> Result<BTreeSet<String>, Error> {
    let folders: Vec<String> = tree
        .paths()
        .filter(|path| is_trigger(path))
        .map(|path| folder_of(path).to_string())
        .collect();
    let mut manifests = Manifests::new(tree);
    let mut projects = BTreeSet::new();
    for folder in folders {
        if !tree.contains(&join_path(&folder, PACKAGE_JSON)) {
            // A lockfile alone is judged from its folder too: npm ci would refuse it.
            projects.insert(folder);
            continue;
        }
        if manifests.workspace_root(&folder)?.is_none() {
            projects.insert(folder);
        }
    }
    Ok(projects)
}

/// Checks one project folder: that it has a lockfile if it needs one, that `package.json` and
/// the lockfile can be read, and that they are in sync as `npm ci` judges it (or, for a project
/// locked by yarn, pnpm or bun, as that tool's frozen install judges it).
pub fn check_project<T: Files + ?Sized>(tree: &T, folder: &str) -> Result<Vec<SyncProblem>, Error> {
    let lockfile = npm_lockfile(tree, folder)?;
    let manifest_path = join_path(folder, PACKAGE_JSON);
    let Some(manifest_bytes) = tree.read(&manifest_path)? else {
        return Ok(match &lockfile {
            NpmLockfile::Found(lock_path, _) => vec![SyncProblem {
                fix: Some(super::super::Fix {
                    alternative: Some("remove the lockfile too".into()),
                    command: None,
                    folder: folder.to_string(),
                    files: vec![manifest_path.clone()],
                    by_hand: false,
                }),
                ..SyncProblem::new(
                    ProblemKind::PackageJsonMissing,
                    &manifest_path,
                    format!(
                        "{lock_path} has no package.json beside it, and npm ci refuses to \
                         install without one"
                    ),
                )
            }],
            _ => Vec::new(), // No project here (any more).
        });
    };
    let manifest = match read_manifest(&manifest_bytes) {
        Ok(manifest) => manifest,
        Err(message) => {
            return Ok(vec![SyncProblem::new(
                ProblemKind::PackageJsonUnreadable,
                &manifest_path,
                format!("{message}; npm ci refuses a package.json it cannot parse"),
            )])
        }
    };
    let members = match workspace_members(tree, folder, &manifest)? {
        Ok(members) => members,
        Err(problems) => return Ok(problems),
    };
    match lockfile {
        NpmLockfile::Found(lock_path, bytes) => {
            in_sync(tree, folder, &manifest, members, &lock_path, &bytes)
        }
        NpmLockfile::Empty(path) => {
            without_npm_lockfile(tree, folder, &manifest, &members, Some(path))
        }
        NpmLockfile::None => without_npm_lockfile(tree, folder, &manifest, &members, None),
    }
}

/// The npm lockfile of a folder, as npm chooses it: a non-empty shrinkwrap, else a non-empty
/// package-lock.json.
enum NpmLockfile {
    Found(String, std::sync::Arc<[u8]>),
    /// Only empty ones, the first named.
    Empty(String),
    None,
}

fn npm_lockfile<T: Files + ?Sized>(tree: &T, folder: &str) -> Result<NpmLockfile, Error> {
    let mut empty = None;
    for name in [SHRINKWRAP, PACKAGE_LOCK] {
        let path = join_path(folder, name);
        match tree.read(&path)? {
            Some(bytes) if bytes.is_empty() => {
                empty.get_or_insert(path);
            }
            Some(bytes) => return Ok(NpmLockfile::Found(path, bytes)),
            None => {}
        }
    }
    Ok(empty.map_or(NpmLockfile::None, NpmLockfile::Empty))
}

/// The project's workspace members (from `workspaces` and pnpm-workspace.yaml, expanded over the
/// tree) as folder → (manifest, name); or the problems of those that cannot be read.
type Members = (BTreeMap<String, Manifest>, BTreeMap<String, String>);

fn workspace_members<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    manifest: &Manifest,
) -> Result<Result<Members, Vec<SyncProblem>>, Error> {
    let mut problems = Vec::new();
    let mut folders: BTreeMap<String, Manifest> = BTreeMap::new();
    let mut workspaces: BTreeMap<String, String> = BTreeMap::new();
    let mut globs = manifest.workspaces.clone();
    globs.extend(pnpm_workspace_globs(tree, folder)?);
    if globs.is_empty() {
        return Ok(Ok((folders, workspaces)));
    }
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let members: Vec<(String, String)> = tree
        .paths()
        .filter(|path| path.ends_with("/package.json") && !in_node_modules(path))
        .filter_map(|path| {
            let relative = path.strip_prefix(&prefix)?;
            let member = folder_of(relative);
            glob::is_member(&globs, member).then(|| (path.to_string(), member.to_string()))
        })
        .collect();
    for (path, member) in members {
        let Some(bytes) = tree.read(&path)? else {
            continue;
        };
        match read_manifest(&bytes) {
            Ok(member_manifest) => {
                let name = member_manifest
                    .name
                    .clone()
                    .unwrap_or_else(|| member.rsplit('/').next().unwrap_or(&member).to_string());
                workspaces.insert(member.clone(), name);
                folders.insert(member, member_manifest);
            }
            Err(message) => problems.push(SyncProblem::new(
                ProblemKind::PackageJsonUnreadable,
                &path,
                format!("{message}; npm ci refuses a workspace it cannot read"),
            )),
        }
    }
    Ok(if problems.is_empty() {
        Ok((folders, workspaces))
    } else {
        Err(problems)
    })
}

/// A project with no (non-empty) npm lockfile: judged by another package manager's lockfile,
/// or a missing lockfile when its dependencies need one.
fn without_npm_lockfile<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    manifest: &Manifest,
    (folders, _): &Members,
    empty_lockfile: Option<String>,
) -> Result<Vec<SyncProblem>, Error> {
    let at = |name: &str| join_path(folder, name);
    // Another package manager's lockfile is judged as that tool's frozen install judges it
    // (only the one `packageManager` names, when it names one).
    let named = Tool::named_by(manifest);
    if !manifest.names_npm() {
        let mut present = Vec::new();
        for tool in Tool::ALL {
            if named.is_none_or(|named| named == tool)
                && tree
                    .read(&at(tool.lockfile()))?
                    .is_some_and(|b| !b.is_empty())
            {
                present.push(tool);
            }
        }
        // bun and yarn berry do not read `packageManager`: their lockfile is judged even
        // when it names another tool (pnpm and yarn classic refuse to install instead).
        if present.is_empty() && named.is_some() {
            for tool in [Tool::Bun, Tool::Yarn] {
                let Some(bytes) = tree.read(&at(tool.lockfile()))? else {
                    continue;
                };
                let berry = String::from_utf8_lossy(&bytes).contains("\n__metadata:");
                if tool == Tool::Bun || berry {
                    present.push(tool);
                }
            }
        }
        if !present.is_empty() {
            return foreign_problems(tree, folder, manifest, folders, &present);
        }
        // bun's binary lockfile cannot be read; it still locks the project.
        if named.is_none_or(|named| named == Tool::Bun) && tree.contains(&at("bun.lockb")) {
            return Ok(Vec::new());
        }
    }
    let needs_lockfile =
        manifest.has_dependencies() || folders.values().any(Manifest::has_dependencies);
    if !needs_lockfile {
        return Ok(Vec::new());
    }
    let foreign = FOREIGN_LOCKFILES
        .into_iter()
        .find(|name| tree.contains(&at(name)));
    // A package nested in a locked project that is not one of its workspaces (a fixture, an
    // example, a workspace just removed from the list) is not what `npm ci` installs there:
    // say so, but it is not the missing lockfile of a project.
    let outer = match enclosing_locked_project(tree, folder) {
        // A `file:` dependency of that project is installed, and checked, through it.
        Some(outer) if installs_folder(tree, &outer, folder)? => return Ok(Vec::new()),
        outer => outer,
    };
    Ok(vec![missing_lockfile(
        folder,
        manifest,
        outer,
        foreign,
        empty_lockfile,
    )])
}

/// The missing lockfile of a project whose dependencies need one, in the terms of the tool
/// `packageManager` names (npm by default): `outer` is the locked project it sits inside
/// without being one of its workspaces, `foreign` another tool's lockfile beside it, and
/// `empty_lockfile` an npm lockfile with nothing in it.
fn missing_lockfile(
    folder: &str,
    manifest: &Manifest,
    outer: Option<String>,
    foreign: Option<&str>,
    empty_lockfile: Option<String>,
) -> SyncProblem {
    let at = |name: &str| join_path(folder, name);
    let named = Tool::named_by(manifest);
    let (command, lockfile_name) = match named {
        Some(tool) => (tool.command(), tool.lockfile()),
        None => ("npm", PACKAGE_LOCK),
    };
    let path = empty_lockfile.clone().unwrap_or_else(|| at(lockfile_name));
    if let Some(outer) = outer {
        let outer = if outer.is_empty() {
            "the repository root".to_string()
        } else {
            outer
        };
        let reason = format!(
            "{} declares dependencies that nothing locks: it is inside the project at {outer}, \
             which neither lists it in `workspaces` nor depends on it with `file:`",
            at(PACKAGE_JSON)
        );
        let mut problem = SyncProblem::new(ProblemKind::LockfileMissing, &path, reason)
            .run("npm install", folder, &[&path])
            .or("list it in that project's `workspaces`");
        problem.blocking = false;
        return problem;
    }
    let (reason, command, lockfile) = match (named, foreign, manifest.names_npm(), &empty_lockfile)
    {
        (None, Some(name), true, _) => (
            format!("packageManager names npm, and {name} is not an npm lockfile"),
            "npm install".to_string(),
            at(PACKAGE_LOCK),
        ),
        (Some(tool), _, _, _) => (
            format!(
                "packageManager names {}, and there is no {}",
                tool.command(),
                tool.lockfile()
            ),
            format!("{} install", tool.command()),
            at(tool.lockfile()),
        ),
        (None, _, _, Some(empty)) => (
            format!("{empty} is empty, so the dependencies are not locked"),
            "npm install".to_string(),
            empty.clone(),
        ),
        (None, _, _, None) => (
            "package.json declares dependencies but nothing locks them".to_string(),
            format!("{command} install"),
            at(lockfile_name),
        ),
    };
    let problem = SyncProblem::new(ProblemKind::LockfileMissing, &path, reason).run(
        &command,
        folder,
        &[&lockfile],
    );
    if named.is_none() && foreign.is_none() && empty_lockfile.is_none() {
        problem.or("use your package manager's install, if it is not npm")
    } else {
        problem
    }
}

/// A project with an npm lockfile: can it be read, and would `npm ci` accept it.
fn in_sync<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    manifest: &Manifest,
    (mut folders, workspaces): Members,
    lock_path: &str,
    lock_bytes: &[u8],
) -> Result<Vec<SyncProblem>, Error> {
    let lock = match read_lock(lock_bytes) {
        Ok(lock) => lock,
        Err(message) => {
            return Ok(vec![SyncProblem::new(
                ProblemKind::LockfileUnreadable,
                lock_path,
                format!("{message}; npm ci cannot use it"),
            )
            .run("npm install", folder, &[lock_path])
            .or("fix it by hand")])
        }
    };
    // Folders npm reads package.json from itself: `file:` directory targets inside the project.
    for node in lock.nodes.values().filter(|node| node.link) {
        let target = spec::join("", node.resolved.as_deref().unwrap_or_default());
        if target.starts_with("..") || target.starts_with('/') || folders.contains_key(&target) {
            continue;
        }
        if let Some(bytes) = tree.read(&join_path(&join_path(folder, &target), PACKAGE_JSON))? {
            // npm falls back to the lockfile entry when it cannot read the folder's package.json.
            if let Ok(target_manifest) = read_manifest(&bytes) {
                folders.insert(target, target_manifest);
            }
        }
    }
    let npmrc = tools::Settings::read(
        tree.read(&join_path(folder, NPMRC))?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .as_deref(),
        None,
    );
    let legacy_peer_deps = npmrc.npmrc("legacy-peer-deps") == Some("true");
    let engines = if npmrc.npmrc("engine-strict") == Some("true") {
        // npm checks every package of the tree but the optional ones: the project's own from
        // their package.json, the installed ones from the lockfile.
        let mut checked = engines::of_projects(folder, manifest, &folders);
        let installed = lock
            .nodes
            .iter()
            .filter(|(location, _)| package_lock::last_node_modules(location).is_some());
        checked.extend(installed.filter_map(|(location, node)| {
            Some(engines::Checked {
                who: format!(
                    "{}@{}",
                    node.package_name(location),
                    node.version.as_deref().unwrap_or_default()
                ),
                range: node
                    .engines_node
                    .clone()
                    .filter(|_| !node.optional && !node.link)?,
                file: lock_path.to_string(),
            })
        }));
        let why = "engine-strict=true in .npmrc, EBADENGINE";
        engine_problems(tree, folder, manifest, &checked, "npm ci", why)?
    } else {
        Vec::new()
    };
    let project = rules::Project {
        manifest,
        lock: &lock,
        folders: &folders,
        workspaces: &workspaces,
        legacy_peer_deps,
    };
    let manifest_path = join_path(folder, PACKAGE_JSON);
    let refused = manifest.dev_engines_refuse_npm().map(|tool| {
        SyncProblem::new(
            ProblemKind::PackageJsonInvalid,
            &manifest_path,
            format!(
                "devEngines.packageManager names {tool}, not npm, with onFail \"error\": npm \
                 refuses to install (EBADDEVENGINES)"
            ),
        )
        .edit(&[&manifest_path])
    });
    Ok(refused
        .into_iter()
        .chain(engines)
        .chain(rules::check(&project).into_iter().map(|mismatch| {
            // npm's own words, as `npm ci` says them.
            if mismatch.is_package_json_error() {
                SyncProblem::new(
                    ProblemKind::PackageJsonInvalid,
                    &manifest_path,
                    mismatch.to_string(),
                )
            } else {
                SyncProblem::new(
                    ProblemKind::LockfileOutOfSync,
                    lock_path,
                    mismatch.to_string(),
                )
            }
        }))
        .collect())
}

/// The problems of a project locked by other package managers' lockfiles.
fn foreign_problems<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    manifest: &Manifest,
    members: &BTreeMap<String, Manifest>,
    tools: &[Tool],
) -> Result<Vec<SyncProblem>, Error> {
    let read_text = |name: &str| -> Result<Option<String>, Error> {
        Ok(tree
            .read(&join_path(folder, name))?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    };
    let mut settings = tools::Settings::read(
        read_text(NPMRC)?.as_deref(),
        read_text(PNPM_WORKSPACE)?.as_deref(),
    );
    if tools.contains(&Tool::Yarn) {
        // The project's own patch files behind yarn berry's `patch:` entries.
        if let Some(text) = read_text(Tool::Yarn.lockfile())? {
            let resolutions = text
                .lines()
                .filter_map(|line| line.trim().strip_prefix("resolution: \""))
                .filter_map(|value| value.strip_suffix('"'));
            for patch in resolutions.filter_map(crate::ecosystem::npm::berry_patch::locked_patch) {
                for file in patch.files {
                    let contents = tree.read(&join_path(folder, &file))?;
                    settings.add_patch_file(&file, contents.map(|bytes| bytes.to_vec()));
                }
            }
        }
    }
    if tools.contains(&Tool::Pnpm) {
        for path in settings.pnpm_patches(manifest).into_values() {
            // A path that leaves the project is not read (pnpm reads it; lockgate will not).
            let contents = match spec::join(folder, &path) {
                joined if joined.starts_with("..") => None,
                joined => tree.read(&joined)?.map(|bytes| bytes.to_vec()),
            };
            settings.add_patch_file(&path, contents);
        }
    }
    let projects = tools::Projects {
        root: manifest,
        members,
        settings: &settings,
    };
    let mut problems = Vec::new();
    for &tool in tools {
        let path = join_path(folder, tool.lockfile());
        let Some(bytes) = tree.read(&path)? else {
            continue;
        };
        let text = crate::ecosystem::parse::decode(&bytes);
        let checked = text
            .clone()
            .and_then(|text| tools::check(tool, text, &projects));
        match checked {
            Ok(mismatches) => {
                problems.extend(mismatches.into_iter().map(|message| {
                    SyncProblem::new(ProblemKind::LockfileOutOfSync, &path, message)
                }));
                if let Ok(text) = text {
                    problems.extend(foreign_engines(tree, folder, &projects, tool, text, &path)?);
                }
            }
            Err(error) => problems.push(
                SyncProblem::new(
                    ProblemKind::LockfileUnreadable,
                    &path,
                    format!("{error}; {} cannot use it", tool.command()),
                )
                .run(&format!("{} install", tool.command()), folder, &[&path])
                .or("fix it by hand"),
            ),
        }
    }
    Ok(problems)
}

/// What `tool`'s frozen install refuses for `engines.node`: pnpm with `engine-strict` checks the
/// projects and every locked package but the optional ones; yarn 1 checks the projects always,
/// unless told to ignore engines (yarn.lock does not record the packages' engines); yarn 2+ and
/// bun do not check.
fn foreign_engines<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    projects: &tools::Projects<'_>,
    tool: Tool,
    text: &str,
    path: &str,
) -> Result<Vec<SyncProblem>, Error> {
    let mut checked = engines::of_projects(folder, projects.root, projects.members);
    let why = match tool {
        Tool::Pnpm if projects.settings.pnpm_engine_strict() => {
            let parse = crate::ecosystem::npm::pnpm::PnpmLock::parse;
            let Ok(lock) = crate::ecosystem::memo::parsed(text, parse) else {
                return Ok(Vec::new());
            };
            checked.extend(lock.engines.iter().map(|(key, range)| engines::Checked {
                who: key.trim_start_matches('/').to_string(),
                range: range.clone(),
                file: path.to_string(),
            }));
            "engine-strict=true, ERR_PNPM_UNSUPPORTED_ENGINE"
        }
        Tool::Yarn if !is_berry(text) && !yarn_ignores_engines(tree, folder, projects)? => {
            "yarn 1 checks engines unless told to ignore them"
        }
        _ => return Ok(Vec::new()),
    };
    let command = format!("{} install", tool.command());
    engine_problems(tree, folder, projects.root, &checked, &command, why)
}

/// Whether yarn.lock text is yarn 2+'s (it starts its entries with `__metadata`).
fn is_berry(text: &str) -> bool {
    text.starts_with("__metadata:") || text.contains("\n__metadata:")
}

/// Whether yarn 1 is told to ignore engines: `ignore-engines true` in `.yarnrc`, or
/// `ignore-engines=true` in `.npmrc` (which yarn 1 reads too).
fn yarn_ignores_engines<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    projects: &tools::Projects<'_>,
) -> Result<bool, Error> {
    if projects.settings.npmrc("ignore-engines") == Some("true") {
        return Ok(true);
    }
    let yarnrc = tree
        .read(&join_path(folder, ".yarnrc"))?
        .unwrap_or_default();
    Ok(String::from_utf8_lossy(&yarnrc).lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("ignore-engines")
            && words.next().map(|value| value.trim_matches('"')) == Some("true")
    }))
}

/// `packages` of the `pnpm-workspace.yaml` in `folder` (none when there is no such file; an
/// unreadable one declares nothing, and pnpm's own check of the lockfile reports it).
fn pnpm_workspace_globs<T: Files + ?Sized>(tree: &T, folder: &str) -> Result<Vec<String>, Error> {
    let Some(bytes) = tree.read(&join_path(folder, PNPM_WORKSPACE))? else {
        return Ok(Vec::new());
    };
    let Some(document) = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| crate::ecosystem::yaml_document(text).ok())
    else {
        return Ok(Vec::new());
    };
    Ok(document["packages"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(crate::ecosystem::yaml_text)
        .collect())
}

/// Whether `folder` holds a lockfile of any package manager.
fn has_lockfile<T: Files + ?Sized>(tree: &T, folder: &str) -> bool {
    [SHRINKWRAP, PACKAGE_LOCK]
        .into_iter()
        .chain(FOREIGN_LOCKFILES)
        .any(|name| tree.contains(&join_path(folder, name)))
}

/// The nearest ancestor of `folder` that is a project with a lockfile of its own.
fn enclosing_locked_project<T: Files + ?Sized>(tree: &T, folder: &str) -> Option<String> {
    let mut ancestor = folder;
    while !ancestor.is_empty() {
        ancestor = folder_of(ancestor);
        if tree.contains(&join_path(ancestor, PACKAGE_JSON)) && has_lockfile(tree, ancestor) {
            return Some(ancestor.to_string());
        }
    }
    None
}

/// Whether the npm lockfile of the project at `outer` installs `folder` from the folder itself
/// (a `file:` link, or a packed copy with `install-links`).
fn installs_folder<T: Files + ?Sized>(tree: &T, outer: &str, folder: &str) -> Result<bool, Error> {
    let relative = match folder.strip_prefix(outer) {
        Some(rest) if outer.is_empty() => rest,
        Some(rest) => rest.trim_start_matches('/'),
        None => return Ok(false),
    };
    for name in [SHRINKWRAP, PACKAGE_LOCK] {
        let Some(bytes) = tree.read(&join_path(outer, name))? else {
            continue;
        };
        let Ok(lock) = read_lock(&bytes) else {
            return Ok(false); // The outer project's own check reports it.
        };
        return Ok(lock.nodes.values().any(|node| {
            node.resolved.as_deref().is_some_and(|resolved| {
                let resolved = if node.link {
                    resolved
                } else {
                    match resolved.strip_prefix("file:") {
                        Some(path) => path,
                        None => return false,
                    }
                };
                spec::join("", resolved) == relative
            })
        }));
    }
    Ok(false)
}

fn read_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    // npm strips a byte-order mark before parsing.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Manifest::parse(text).map_err(|error| format!("not valid package.json ({error})"))
}

fn read_lock(bytes: &[u8]) -> Result<std::sync::Arc<NpmLock>, String> {
    let text = crate::ecosystem::parse::decode(bytes).map_err(|error| error.to_string())?;
    crate::ecosystem::parse::check_conflict_markers(text).map_err(|error| {
        format!(
            "line {}: merge-conflict marker: resolve the conflict",
            error.line
        )
    })?;
    // The parse the lockfile's entries were read from, when they were.
    crate::ecosystem::memo::parsed(text, NpmLock::parse_with_lines)
        .map_err(|error| format!("not a valid lockfile ({error})"))
}

/// What an install that checks `checked`'s `engines.node` against the Node.js the project in
/// `folder` declares (else the one on `PATH`) refuses (blocking), or that it cannot be judged
/// (not blocking).
fn engine_problems<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    manifest: &Manifest,
    checked: &[engines::Checked],
    tool: &str,
    why: &str,
) -> Result<Vec<SyncProblem>, Error> {
    if checked.is_empty() {
        return Ok(Vec::new());
    }
    let declared = engines::declared_node(tree, folder, manifest)?;
    let running = match declared {
        engines::DeclaredNode::Version { .. } => None,
        _ => engines::running_node(),
    };
    Ok(engines::refusals(tool, why, &declared, running, checked)
        .into_iter()
        .map(|(file, message, blocking)| {
            let problem = SyncProblem::new(ProblemKind::EngineUnsupported, &file, message);
            if blocking {
                problem.edit(&[&file])
            } else {
                SyncProblem {
                    blocking,
                    ..problem
                }
            }
        })
        .collect())
}
