//! The lockfile check of Python projects: a `pyproject.toml` whose project uses a lock tool
//! (poetry, uv, pdm) must come with that tool's lockfile, made from the pyproject.toml being
//! committed. Each tool records what it locked from:
//!
//! - poetry: `content-hash`, sha256 of the dependency-related tables as Python's
//!   `json.dumps(…, sort_keys=True)` writes them (poetry's `Locker._get_content_hash`; lockfiles
//!   of poetry before 2.3 hashed without `[dependency-groups]`).
//! - pdm: `content_hash`, `sha256:` of the same kind of dump of pdm's own selection
//!   (`PyProject.content_hash`); for a workspace (`[tool.pdm.workspace]`), a sha256 over the
//!   root's hash and each member's (`WorkspaceManager.content_hash`).
//! - uv: the inputs `uv.lock` records of the whole workspace, compared as uv does (`uv.rs`).
//!
//! poetry and pdm read pyproject.toml with Python's `tomllib`, which refuses a byte-order mark
//! (`Invalid statement`, line 1 column 1), so for them such a file is unreadable; uv skips it.
//! A mismatch is a problem in the tool's terms with the command that fixes it. Everything is
//! read from the commit being made ([`Files`]), offline.

use crate::ecosystem::pypi::lockfiles::{normalize, Pdm, Poetry, Uv};
use crate::ecosystem::{file_name, folder_of, glob, join_path as join, Files};
use crate::ecosystem::{ParseError, SyncProblem};
use crate::error::Error;
use crate::report::ProblemKind;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::str::FromStr;

pub(crate) const PYPROJECT: &str = "pyproject.toml";

/// The pyproject.toml files beside the checked one that its lockfile covers (workspace members,
/// local folders it depends on), by folder relative to the checked project's: the table, or
/// why it cannot be read.
pub type Local = BTreeMap<String, Result<toml::Table, String>>;

/// Most local projects read for one lockfile; a hostile repository could name many.
const MAX_LOCAL: usize = 1000;

/// What a lock tool judges its lockfile against: the project's pyproject.toml and the local
/// projects the lockfile covers.
struct Checked<'a> {
    pyproject: &'a toml::Table,
    local: &'a Local,
}

/// A lock tool of `pyproject.toml` projects: its name, the `[tool.*]` table that declares it,
/// its lockfile, the command that writes it, whether it reads a pyproject.toml that starts with
/// a byte-order mark, the local projects its lockfile covers (`members` globs, and the folders
/// a project names by path, when the tool follows them), and its judgement of that lockfile
/// (what is out of date, in its terms), or why the lockfile cannot be read.
struct LockTool {
    name: &'static str,
    lockfile: &'static str,
    command: &'static str,
    reads_bom: bool,
    members: fn(&toml::Table) -> Option<Globs>,
    path_sources: fn(&str, &toml::Table) -> Vec<String>,
    judge: fn(&Checked, &str) -> Result<Vec<String>, ParseError>,
}

/// The lock tools, in the order a pyproject.toml's `[tool.*]` tables name the one it uses.
const TOOLS: [LockTool; 3] = [
    LockTool {
        name: "poetry",
        lockfile: "poetry.lock",
        command: "poetry lock",
        reads_bom: false,
        members: |_| None,
        path_sources: |_, _| Vec::new(),
        judge: |checked, text| {
            crate::ecosystem::memo::parsed(text, Poetry::parse)
                .map(|lock| poetry(checked.pyproject, text, &lock))
        },
    },
    LockTool {
        name: "pdm",
        lockfile: "pdm.lock",
        command: "pdm lock",
        reads_bom: false,
        members: pdm_members,
        path_sources: |_, _| Vec::new(),
        judge: |checked, text| {
            crate::ecosystem::memo::parsed(text, Pdm::parse).map(|lock| pdm(checked, &lock))
        },
    },
    LockTool {
        name: "uv",
        lockfile: "uv.lock",
        command: "uv lock",
        reads_bom: true,
        members: super::uv::workspace_globs,
        path_sources: super::uv::path_sources,
        judge: |checked, text| {
            crate::ecosystem::memo::parsed(text, Uv::parse)
                .map(|lock| super::uv::judge(checked.pyproject, checked.local, &lock))
        },
    },
];

/// Whether a staged change to `path` calls for checking its folder's Python project.
pub fn is_trigger(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == PYPROJECT
        || TOOLS.iter().any(|tool| tool.lockfile == name)
        || name == super::pipenv::PIPFILE
        || name == super::pipenv::PIPFILE_LOCK
}

/// The folders to check for the `changed` paths: each one's own, and every folder above it with
/// a uv or pdm lockfile, whose workspace it may be a member of (or a local dependency).
pub fn projects(
    files: &dyn Files,
    changed: Option<&[String]>,
) -> std::collections::BTreeSet<String> {
    let mut folders =
        super::super::manifest_folders(files, changed, &[PYPROJECT, super::pipenv::PIPFILE]);
    if changed.is_some() {
        let roots: Vec<String> = folders
            .iter()
            .flat_map(|folder| {
                let mut above = Vec::new();
                let mut current = folder.as_str();
                while !current.is_empty() {
                    current = folder_of(current);
                    let locked = ["uv.lock", "pdm.lock"]
                        .iter()
                        .any(|lockfile| files.contains(&join(current, lockfile)));
                    if locked && files.contains(&join(current, PYPROJECT)) {
                        above.push(current.to_string());
                    }
                }
                above
            })
            .collect();
        folders.extend(roots);
    }
    folders
}

/// Reads a pyproject.toml's bytes: its table (a byte-order mark skipped), and whether it began
/// with one; or why it is not TOML.
pub fn parse_pyproject(bytes: &[u8]) -> Result<(toml::Table, bool), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let (text, bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    toml::from_str(text)
        .map(|table| (table, bom))
        .map_err(|error| ParseError::from_toml(text, &error).to_string())
}

/// A workspace's member folders, as globs relative to its root.
pub struct Globs {
    /// Folders that are members.
    pub members: Vec<String>,
    /// Folders that are not, though `members` names them.
    pub exclude: Vec<String>,
}

/// Whether `relative` (a folder below a workspace root) is a member by its globs.
pub(super) fn is_member(globs: &Globs, relative: &str) -> bool {
    glob::is_member(&globs.members, relative) && !glob::is_member(&globs.exclude, relative)
}

/// Reads the pyproject.toml of the members of the workspace at `folder` and of the local
/// folders they name by path ([`LockTool::path_sources`]), transitively.
fn read_local(
    files: &dyn Files,
    folder: &str,
    root: &toml::Table,
    tool: &LockTool,
) -> Result<Local, Error> {
    let mut pending: Vec<String> = (tool.path_sources)("", root);
    if let Some(globs) = (tool.members)(root) {
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        pending.extend(
            files
                .paths()
                .filter(|path| file_name(path) == PYPROJECT)
                .filter_map(|path| folder_of(path).strip_prefix(prefix.as_str()))
                .filter(|relative| !relative.is_empty() && is_member(&globs, relative))
                .map(str::to_string)
                .take(MAX_LOCAL),
        );
    }
    let mut local = Local::new();
    while let Some(relative) = pending.pop() {
        if relative.is_empty()
            || relative.starts_with("..")
            || local.contains_key(&relative)
            || local.len() >= MAX_LOCAL
        {
            continue;
        }
        let Some(bytes) = files.read(&join(folder, &join(&relative, PYPROJECT)))? else {
            continue;
        };
        let parsed = parse_pyproject(&bytes).and_then(|(table, bom)| {
            if bom && !tool.reads_bom {
                Err(bom_message(tool.name))
            } else {
                Ok(table)
            }
        });
        if let Ok(table) = &parsed {
            pending.extend((tool.path_sources)(&relative, table));
        }
        local.insert(relative, parsed);
    }
    Ok(local)
}

/// Whether a folder above `folder` is a uv or pdm workspace root, with its lockfile, that has
/// `folder` as a member: the member's dependencies are locked there.
fn is_workspace_member(tree: &dyn Files, folder: &str) -> Result<bool, Error> {
    let mut root = folder;
    while !root.is_empty() {
        root = folder_of(root);
        let relative = folder
            .strip_prefix(root)
            .unwrap_or(folder)
            .trim_start_matches('/');
        for tool in TOOLS
            .iter()
            .filter(|tool| tree.contains(&join(root, tool.lockfile)))
        {
            let Some(bytes) = tree.read(&join(root, PYPROJECT))? else {
                continue;
            };
            let Ok((pyproject, _)) = parse_pyproject(&bytes) else {
                continue;
            };
            if (tool.members)(&pyproject).is_some_and(|globs| is_member(&globs, relative)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn bom_message(tool: &str) -> String {
    format!(
        "it starts with a byte-order mark, which {tool} cannot read (Python's tomllib refuses it)"
    )
}

/// Checks the Python project in `folder`.
pub fn check_project(tree: &dyn Files, folder: &str) -> Result<Vec<SyncProblem>, Error> {
    let pyproject_path = join(folder, PYPROJECT);
    let Some(bytes) = tree.read(&pyproject_path)? else {
        return Ok(Vec::new());
    };
    let (pyproject, bom) = match parse_pyproject(&bytes) {
        Ok(read) => read,
        Err(message) => {
            return Ok(vec![SyncProblem::new(
                ProblemKind::PyprojectUnreadable,
                &pyproject_path,
                format!("not valid TOML ({message})"),
            )])
        }
    };
    let mut problems = Vec::new();
    let mut locked_by_some_tool = false;
    for tool in &TOOLS {
        let path = join(folder, tool.lockfile);
        let Some(bytes) = tree.read(&path)? else {
            continue;
        };
        locked_by_some_tool = true;
        if bom && !tool.reads_bom {
            problems.push(
                SyncProblem::new(
                    ProblemKind::PyprojectUnreadable,
                    &pyproject_path,
                    bom_message(tool.name),
                )
                .edit(&[&pyproject_path]),
            );
            continue;
        }
        let local = read_local(tree, folder, &pyproject, tool)?;
        let checked = Checked {
            pyproject: &pyproject,
            local: &local,
        };
        let judged =
            crate::ecosystem::parse::decode(&bytes).and_then(|text| (tool.judge)(&checked, text));
        match judged {
            Ok(mismatches) => problems.extend(mismatches.into_iter().map(|mismatch| {
                SyncProblem::new(ProblemKind::LockfileOutOfSync, &path, mismatch).run(
                    tool.command,
                    folder,
                    &[&path],
                )
            })),
            Err(error) => problems.push(
                SyncProblem::new(ProblemKind::LockfileUnreadable, &path, error.to_string())
                    .run(tool.command, folder, &[&path])
                    .or("fix it by hand"),
            ),
        }
    }
    if !locked_by_some_tool && has_dependencies(&pyproject) && !is_workspace_member(tree, folder)? {
        if let Some(tool) = declared_tool(&pyproject) {
            let path = join(folder, tool.lockfile);
            problems.push(
                SyncProblem::new(
                    ProblemKind::LockfileMissing,
                    &path,
                    format!(
                        "pyproject.toml is a {} project with dependencies but has no {}",
                        tool.name, tool.lockfile
                    ),
                )
                .run(tool.command, folder, &[&path]),
            );
        }
    }
    Ok(problems)
}

/// The lock tool a pyproject.toml declares by its `[tool.*]` table.
fn declared_tool(pyproject: &toml::Table) -> Option<&'static LockTool> {
    let declared = pyproject.get("tool").and_then(toml::Value::as_table)?;
    TOOLS.iter().find(|tool| declared.contains_key(tool.name))
}

fn has_dependencies(pyproject: &toml::Table) -> bool {
    let non_empty = |value: Option<&toml::Value>| match value {
        Some(toml::Value::Array(items)) => !items.is_empty(),
        Some(toml::Value::Table(table)) => !table.is_empty(),
        _ => false,
    };
    let project = pyproject.get("project");
    let poetry = pyproject
        .get("tool")
        .and_then(|tool| tool.get("poetry"))
        .and_then(|poetry| poetry.get("dependencies"));
    non_empty(project.and_then(|project| project.get("dependencies")))
        || non_empty(project.and_then(|project| project.get("optional-dependencies")))
        || non_empty(pyproject.get("dependency-groups"))
        || poetry
            .and_then(toml::Value::as_table)
            .is_some_and(|dependencies| dependencies.keys().any(|name| name != "python"))
}

fn table(value: Option<&toml::Value>) -> Option<&toml::Table> {
    value.and_then(toml::Value::as_table)
}

// --- poetry --------------------------------------------------------------------------------

/// poetry's `_get_content_hash`, with or without `[dependency-groups]`.
pub fn poetry_content_hash(pyproject: &toml::Table, with_groups: bool) -> String {
    const LEGACY: [&str; 4] = ["dependencies", "source", "extras", "dev-dependencies"];
    let project = table(pyproject.get("project"));
    let groups = table(pyproject.get("dependency-groups"))
        .filter(|groups| with_groups && !groups.is_empty());
    let poetry = table(pyproject.get("tool")).and_then(|tool| table(tool.get("poetry")));

    let mut relevant_project = toml::Table::new();
    for key in ["requires-python", "dependencies", "optional-dependencies"] {
        if let Some(value) = project.and_then(|project| project.get(key)) {
            relevant_project.insert(key.to_string(), value.clone());
        }
    }
    let mut relevant_poetry: BTreeMap<String, Option<toml::Value>> = BTreeMap::new();
    for key in LEGACY.into_iter().chain(["group"]) {
        match poetry.and_then(|poetry| poetry.get(key)) {
            Some(value) => {
                relevant_poetry.insert(key.to_string(), Some(value.clone()));
            }
            // Legacy keys count as `null` when nothing else is relevant (poetry 1.x projects).
            None if LEGACY.contains(&key) && relevant_project.is_empty() && groups.is_none() => {
                relevant_poetry.insert(key.to_string(), None);
            }
            None => {}
        }
    }
    let mut out = String::new();
    if relevant_project.is_empty() && groups.is_none() {
        python_json_optional_map(&relevant_poetry, &mut out);
    } else {
        // {"dependency-groups": …, "project": …, "tool": {"poetry": …}}, keys sorted.
        out.push('{');
        let mut first = true;
        let mut entry = |out: &mut String, key: &str| {
            if !first {
                out.push_str(", ");
            }
            first = false;
            python_json_string(key, out);
            out.push_str(": ");
        };
        if let Some(groups) = groups {
            entry(&mut out, "dependency-groups");
            python_json(&toml::Value::Table(groups.clone()), &mut out);
        }
        if !relevant_project.is_empty() {
            entry(&mut out, "project");
            python_json(&toml::Value::Table(relevant_project), &mut out);
        }
        entry(&mut out, "tool");
        out.push_str("{\"poetry\": ");
        python_json_optional_map(&relevant_poetry, &mut out);
        out.push_str("}}");
    }
    hex(&Sha256::digest(out.as_bytes()))
}

fn poetry(pyproject: &toml::Table, text: &str, lock: &Poetry) -> Vec<String> {
    let Some(recorded) = &lock.content_hash else {
        return vec!["poetry.lock has no content-hash".to_string()];
    };
    if *recorded == poetry_content_hash(pyproject, true) {
        return Vec::new();
    }
    // Lockfiles of poetry before 2.3 hashed without [dependency-groups].
    let generator = text
        .lines()
        .next()
        .and_then(|line| line.split("Poetry ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|version| pep440_rs::Version::from_str(version).ok());
    let before_2_3 = generator.is_some_and(|version| {
        version < pep440_rs::Version::from_str("2.3.0").expect("a valid version")
    });
    if before_2_3 && *recorded == poetry_content_hash(pyproject, false) {
        return Vec::new();
    }
    vec![
        "pyproject.toml's dependencies are not the ones poetry.lock was made from (its \
         content-hash no longer matches)"
            .to_string(),
    ]
}

// --- pdm -----------------------------------------------------------------------------------

/// pdm's `PyProject.content_hash`.
pub fn pdm_content_hash(pyproject: &toml::Table) -> String {
    let project = table(pyproject.get("project"));
    let settings = table(pyproject.get("tool")).and_then(|tool| table(tool.get("pdm")));
    let mut dev: BTreeMap<String, Vec<toml::Value>> = BTreeMap::new();
    let groups = table(pyproject.get("dependency-groups"))
        .into_iter()
        .flatten()
        .chain(
            settings
                .and_then(|s| table(s.get("dev-dependencies")))
                .into_iter()
                .flatten(),
        );
    for (group, dependencies) in groups {
        dev.entry(normalize(group))
            .or_default()
            .extend(dependencies.as_array().cloned().unwrap_or_default());
    }
    let mut dump = toml::Table::new();
    let get = |table: Option<&toml::Table>, key: &str, default: toml::Value| {
        table
            .and_then(|table| table.get(key))
            .cloned()
            .unwrap_or(default)
    };
    dump.insert(
        "sources".into(),
        get(settings, "source", toml::Value::Array(Vec::new())),
    );
    dump.insert(
        "dependencies".into(),
        get(project, "dependencies", toml::Value::Array(Vec::new())),
    );
    dump.insert(
        "dev-dependencies".into(),
        toml::Value::Table(
            dev.into_iter()
                .map(|(group, items)| (group, toml::Value::Array(items)))
                .collect(),
        ),
    );
    dump.insert(
        "optional-dependencies".into(),
        get(
            project,
            "optional-dependencies",
            toml::Value::Table(toml::Table::new()),
        ),
    );
    dump.insert(
        "requires-python".into(),
        get(
            project,
            "requires-python",
            toml::Value::String(String::new()),
        ),
    );
    dump.insert(
        "resolution".into(),
        get(
            settings,
            "resolution",
            toml::Value::Table(toml::Table::new()),
        ),
    );
    let mut out = String::new();
    python_json(&toml::Value::Table(dump), &mut out);
    format!("sha256:{}", hex(&Sha256::digest(out.as_bytes())))
}

/// `[tool.pdm.workspace] members`: globs or folders (pdm's `WorkspaceManager.iter_members`).
fn pdm_members(pyproject: &toml::Table) -> Option<Globs> {
    let workspace = pyproject.get("tool")?.get("pdm")?.get("workspace")?;
    let members = workspace
        .get("members")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.as_str().map(str::to_string))
        .collect();
    Some(Globs {
        members,
        exclude: Vec::new(),
    })
}

/// pdm's `WorkspaceManager.content_hash`: the root's own hash, or for a workspace root (a
/// non-empty `[tool.pdm.workspace]`), sha256 of the root's hash and then, per member in order
/// of its path, `\0`, the path, `\0` and the member's own hash.
fn pdm_workspace_hash(checked: &Checked) -> Result<String, String> {
    let root = pdm_content_hash(checked.pyproject);
    let is_root = checked
        .pyproject
        .get("tool")
        .and_then(|tool| tool.get("pdm")?.get("workspace")?.as_table())
        .is_some_and(|workspace| !workspace.is_empty());
    if !is_root {
        return Ok(root);
    }
    let mut hasher = Sha256::new();
    hasher.update(root.trim_start_matches("sha256:").as_bytes());
    for (folder, member) in checked.local {
        let member = member
            .as_ref()
            .map_err(|error| format!("{folder}/pyproject.toml: {error}"))?;
        hasher.update(b"\0");
        hasher.update(folder.as_bytes());
        hasher.update(b"\0");
        hasher.update(
            pdm_content_hash(member)
                .trim_start_matches("sha256:")
                .as_bytes(),
        );
    }
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

fn pdm(checked: &Checked, lock: &Pdm) -> Vec<String> {
    let expected = match pdm_workspace_hash(checked) {
        Ok(expected) => expected,
        Err(error) => return vec![format!("a workspace member cannot be read ({error})")],
    };
    match &lock.content_hash {
        Some(recorded) if *recorded == expected => Vec::new(),
        Some(_) => vec![
            "pyproject.toml's dependencies (or its workspace members') are not the ones pdm.lock \
             was made from (its content_hash no longer matches)"
                .to_string(),
        ],
        None => vec!["pdm.lock has no content_hash".to_string()],
    }
}

/// Whether two PEP 440 versions are the same release (`1.0` and `1.0.0` are).
pub(super) fn same_version(a: &str, b: &str) -> bool {
    match (
        pep440_rs::Version::from_str(a),
        pep440_rs::Version::from_str(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

// --- Python's json.dumps(sort_keys=True) ---------------------------------------------------

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A map whose `None` values are JSON `null`, keys sorted.
fn python_json_optional_map(map: &BTreeMap<String, Option<toml::Value>>, out: &mut String) {
    out.push('{');
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        python_json_string(key, out);
        out.push_str(": ");
        match value {
            Some(value) => python_json(value, out),
            None => out.push_str("null"),
        }
    }
    out.push('}');
}

/// `value` as Python's `json.dumps(value, sort_keys=True)` writes it: `", "` and `": "`
/// separators, keys sorted, non-ASCII escaped.
pub fn python_json(value: &toml::Value, out: &mut String) {
    python_json_with(value, (", ", ": "), out);
}

/// `value` as `json.dumps(value, sort_keys=True, separators=(",", ":"))` writes it (pipenv).
pub(super) fn python_json_compact(value: &toml::Value, out: &mut String) {
    python_json_with(value, (",", ":"), out);
}

/// `json.dumps(value, sort_keys=True, separators=separators)`.
fn python_json_with(value: &toml::Value, separators: (&str, &str), out: &mut String) {
    let (item, key) = separators;
    match value {
        toml::Value::String(text) => python_json_string(text, out),
        toml::Value::Integer(number) => out.push_str(&number.to_string()),
        toml::Value::Float(number) => {
            if number.is_finite() && number.fract() == 0.0 && number.abs() < 1e16 {
                out.push_str(&format!("{number:.1}"));
            } else {
                out.push_str(&number.to_string());
            }
        }
        toml::Value::Boolean(flag) => out.push_str(if *flag { "true" } else { "false" }),
        toml::Value::Datetime(datetime) => python_json_string(&datetime.to_string(), out),
        toml::Value::Array(items) => {
            out.push('[');
            for (index, element) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(item);
                }
                python_json_with(element, separators, out);
            }
            out.push(']');
        }
        toml::Value::Table(table) => {
            let mut keys: Vec<&String> = table.keys().collect();
            keys.sort();
            out.push('{');
            for (index, name) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push_str(item);
                }
                python_json_string(name, out);
                out.push_str(key);
                python_json_with(&table[name], separators, out);
            }
            out.push('}');
        }
    }
}

fn python_json_string(text: &str, out: &mut String) {
    crate::ecosystem::parse::ascii_json_string(text, false, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_as_python_writes_it() {
        // Expected strings from CPython 3.11's json.dumps(value, sort_keys=True).
        let value: toml::Value =
            toml::from_str("b = [1, 2.0, true]\na = { \"y\" = \"é\\n\", x = \"🐍\" }\n").unwrap();
        let mut out = String::new();
        python_json(&value, &mut out);
        assert_eq!(
            out,
            r#"{"a": {"x": "\ud83d\udc0d", "y": "\u00e9\n"}, "b": [1, 2.0, true]}"#
        );
    }
}
