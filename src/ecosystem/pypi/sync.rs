//! The lockfile check of Python projects: a `pyproject.toml` whose project uses a lock tool
//! (poetry, uv, pdm) must come with that tool's lockfile, made from the pyproject.toml being
//! committed. Each tool records what it locked from:
//!
//! - poetry: `content-hash`, sha256 of the dependency-related tables as Python's
//!   `json.dumps(…, sort_keys=True)` writes them (poetry's `Locker._get_content_hash`; lockfiles
//!   of poetry before 2.3 hashed without `[dependency-groups]`).
//! - pdm: `content_hash`, `sha256:` of the same kind of dump of pdm's own selection
//!   (`PyProject.content_hash`).
//! - uv: the project's `requires-dist` and `requires-dev`, compared requirement by requirement
//!   (PEP 508, so spelling does not matter).
//!
//! A mismatch is a problem in the tool's terms with the command that fixes it. Everything is
//! read from the commit being made ([`Files`]), offline.

use crate::ecosystem::pypi::lockfiles::{normalize, Pdm, Poetry, Uv, UvRequirement};
use crate::ecosystem::{join_path as join, Files};
use crate::ecosystem::{ParseError, SyncProblem};
use crate::error::Error;
use crate::report::ProblemKind;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::str::FromStr;

pub(crate) const PYPROJECT: &str = "pyproject.toml";

/// A lock tool of `pyproject.toml` projects: its name, the `[tool.*]` table that declares it,
/// its lockfile, the command that writes it, and its judgement of that lockfile against the
/// pyproject.toml (what is out of date, in its terms), or why the lockfile cannot be read.
struct LockTool {
    name: &'static str,
    lockfile: &'static str,
    command: &'static str,
    judge: fn(&toml::Table, &str) -> Result<Vec<String>, ParseError>,
}

/// The lock tools, in the order a pyproject.toml's `[tool.*]` tables name the one it uses.
const TOOLS: [LockTool; 3] = [
    LockTool {
        name: "poetry",
        lockfile: "poetry.lock",
        command: "poetry lock",
        judge: |pyproject, text| Poetry::parse(text).map(|lock| poetry(pyproject, text, &lock)),
    },
    LockTool {
        name: "pdm",
        lockfile: "pdm.lock",
        command: "pdm lock",
        judge: |pyproject, text| Pdm::parse(text).map(|lock| pdm(pyproject, &lock)),
    },
    LockTool {
        name: "uv",
        lockfile: "uv.lock",
        command: "uv lock",
        judge: |pyproject, text| Uv::parse(text).map(|lock| uv(pyproject, &lock)),
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

/// Checks the Python project in `folder`.
pub fn check_project<T: Files + ?Sized>(tree: &T, folder: &str) -> Result<Vec<SyncProblem>, Error> {
    let pyproject_path = join(folder, PYPROJECT);
    let Some(bytes) = tree.read(&pyproject_path)? else {
        return Ok(Vec::new());
    };
    let pyproject: toml::Table = match std::str::from_utf8(&bytes)
        .map_err(|_| "not UTF-8 text".to_string())
        .and_then(|text| toml::from_str(text).map_err(|error| describe_toml(text, &error)))
    {
        Ok(table) => table,
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
        let judged =
            crate::ecosystem::parse::decode(&bytes).and_then(|text| (tool.judge)(&pyproject, text));
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
    if !locked_by_some_tool && has_dependencies(&pyproject) {
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

fn describe_toml(text: &str, error: &toml::de::Error) -> String {
    crate::ecosystem::ParseError::from_toml(text, error).to_string()
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

fn pdm(pyproject: &toml::Table, lock: &Pdm) -> Vec<String> {
    match &lock.content_hash {
        Some(recorded) if *recorded == pdm_content_hash(pyproject) => Vec::new(),
        Some(_) => vec![
            "pyproject.toml's dependencies are not the ones pdm.lock was made from (its \
             content_hash no longer matches)"
                .to_string(),
        ],
        None => vec!["pdm.lock has no content_hash".to_string()],
    }
}

// --- uv ------------------------------------------------------------------------------------

/// A requirement in a form that compares equal however it was spelled.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Normal {
    name: String,
    specifier: String,
    extras: Vec<String>,
    marker: String,
}

fn normal_from_pep508(text: &str) -> Option<Normal> {
    let requirement = crate::ecosystem::pypi::requirements::parse_pep508(text).ok()?;
    let specifier = match &requirement.version_or_url {
        Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) => {
            let mut parts: Vec<String> = specifiers.iter().map(ToString::to_string).collect();
            parts.sort();
            parts.join(",")
        }
        Some(pep508_rs::VersionOrUrl::Url(url)) => url.to_string(),
        None => String::new(),
    };
    let mut extras: Vec<String> = requirement.extras.iter().map(ToString::to_string).collect();
    extras.sort();
    Some(Normal {
        name: requirement.name.to_string(),
        specifier,
        extras,
        marker: requirement.marker.try_to_string().unwrap_or_default(),
    })
}

/// uv's `{ name, specifier, extras, marker }` read back as PEP 508 for the same normal form.
fn normal_from_uv(requirement: &UvRequirement) -> Normal {
    let mut text = requirement.name.clone();
    if !requirement.extras.is_empty() {
        text.push_str(&format!("[{}]", requirement.extras.join(",")));
    }
    text.push_str(requirement.specifier.as_deref().unwrap_or_default());
    if let Some(marker) = &requirement.marker {
        text.push_str(&format!(" ; {marker}"));
    }
    normal_from_pep508(&text).unwrap_or(Normal {
        name: normalize(&requirement.name),
        specifier: requirement.specifier.clone().unwrap_or_default(),
        extras: requirement.extras.clone(),
        marker: requirement.marker.clone().unwrap_or_default(),
    })
}

fn uv(pyproject: &toml::Table, lock: &Uv) -> Vec<String> {
    let Some(project) = table(pyproject.get("project")) else {
        return Vec::new();
    };
    let Some(name) = project.get("name").and_then(toml::Value::as_str) else {
        return Vec::new();
    };
    let Some(recorded) = lock.projects.get(&normalize(name)) else {
        return vec![format!("uv.lock has no entry for the project {name}")];
    };
    let mut found = Vec::new();
    // uv records the project's own version and relocks when it changes.
    let version = project.get("version").and_then(toml::Value::as_str);
    if let (Some(version), Some(locked)) = (version, &recorded.version) {
        if !same_version(version, locked) {
            found.push(format!(
                "[project] version is {version}, but uv.lock was made for {locked}"
            ));
        }
    }
    // `requires-dist` holds [project] dependencies; optional ones carry an `extra` marker.
    let main: Vec<UvRequirement> = recorded
        .requires_dist
        .iter()
        .filter(|r| !r.marker.as_deref().unwrap_or_default().contains("extra =="))
        .cloned()
        .collect();
    found.extend(uv_differences(
        "[project] dependencies",
        &strings(project.get("dependencies")),
        &main,
    ));
    let groups = table(pyproject.get("dependency-groups"));
    let mut names: Vec<String> = groups
        .into_iter()
        .flatten()
        .map(|(g, _)| normalize(g))
        .collect();
    names.extend(recorded.requires_dev.keys().map(|group| normalize(group)));
    names.sort();
    names.dedup();
    for group in names {
        let declared = groups
            .into_iter()
            .flatten()
            .find(|(name, _)| normalize(name) == group)
            .map(|(_, value)| strings(Some(value)))
            .unwrap_or_default();
        let recorded_group = recorded
            .requires_dev
            .iter()
            .find(|(name, _)| normalize(name) == group)
            .map(|(_, requirements)| requirements.as_slice())
            .unwrap_or_default();
        found.extend(uv_differences(
            &format!("[dependency-groups] {group}"),
            &declared,
            recorded_group,
        ));
    }
    found
}

/// The strings of a TOML array (none for anything else).
fn strings(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_str().map(str::to_string))
        .collect()
}

/// Whether two PEP 440 versions are the same release (`1.0` and `1.0.0` are).
fn same_version(a: &str, b: &str) -> bool {
    match (
        pep440_rs::Version::from_str(a),
        pep440_rs::Version::from_str(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// How the requirements `declared` in one section of pyproject.toml differ from those uv.lock
/// `recorded` for it, each difference a sentence naming `what` section.
fn uv_differences(what: &str, declared: &[String], recorded: &[UvRequirement]) -> Vec<String> {
    let declared: Vec<Normal> = declared
        .iter()
        .filter_map(|text| normal_from_pep508(text))
        .collect();
    let recorded: Vec<Normal> = recorded.iter().map(normal_from_uv).collect();
    let added = declared.iter().filter(|r| !recorded.contains(r)).map(|r| {
        format!(
            "{what}: {} {} is not what uv.lock recorded",
            r.name, r.specifier
        )
    });
    let removed = recorded.iter().filter(|r| !declared.contains(r)).map(|r| {
        format!(
            "{what}: uv.lock recorded {} {}, which pyproject.toml no longer asks for",
            r.name, r.specifier
        )
    });
    added.chain(removed).collect()
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
