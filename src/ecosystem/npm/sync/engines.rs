//! `engines.node` against the Node.js a project declares it runs on.
//!
//! npm (with `engine-strict`), pnpm (with `engine-strict`) and yarn 1 (always) refuse to
//! install a package whose `engines.node` excludes the Node.js running the install. Which Node.js
//! that will be is not in the lockfile; a project states it in the files its developers' version
//! managers and its CI's `setup-node` read: `volta.node` in package.json, `.nvmrc`,
//! `.node-version` or `.tool-versions`, in the project's folder or a folder above it. lockgate
//! judges `engines.node` against that version. Where none is declared (or only a name a version
//! manager resolves, `lts/iron`), the tool's verdict is the machine's: lockgate judges against the
//! Node.js the install would run on here, the first `node` on `PATH`, as the tool would; with no
//! `node` to ask, it says it cannot judge.

use super::manifest::Manifest;
use crate::ecosystem::{folder_of, join_path, Files};
use crate::error::Error;
use nodejs_semver::Range;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The version files a project declares its Node.js in, in the order they are read per folder.
pub const NODE_VERSION_FILES: [&str; 3] = [".nvmrc", ".node-version", ".tool-versions"];

/// The most of a version file read: a version is one short line.
const MOST_READ: usize = 4096;

/// What a project says about the Node.js it runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclaredNode {
    /// A version (`20.11.1`) or a line of versions (`20`, `20.11`), and where it is stated.
    Version {
        /// The versions it allows.
        range: Range,
        /// As stated (`v20.11.1`).
        stated: String,
        /// The file that states it.
        file: String,
    },
    /// A name a version manager resolves when it runs (`lts/iron`, `node`): not known offline.
    Unresolved {
        /// As stated.
        stated: String,
        /// The file that states it.
        file: String,
    },
    /// Nothing declares it.
    None,
}

/// The Node.js the project in `folder` declares: its package.json's `volta.node`, else the first
/// version file found in `folder` or the folders above it.
pub fn declared_node<T: Files + ?Sized>(
    tree: &T,
    folder: &str,
    manifest: &Manifest,
) -> Result<DeclaredNode, Error> {
    if let Some(stated) = &manifest.volta_node {
        return Ok(declared(stated, join_path(folder, "package.json")));
    }
    let mut at = folder.to_string();
    loop {
        for name in NODE_VERSION_FILES {
            let path = join_path(&at, name);
            let Some(bytes) = tree.read(&path)? else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MOST_READ)]).into_owned();
            if let Some(stated) = version_in(name, &text) {
                return Ok(declared(&stated, path));
            }
        }
        if at.is_empty() {
            return Ok(DeclaredNode::None);
        }
        at = folder_of(&at).to_string();
    }
}

/// The version a version file states: `.tool-versions`' `nodejs` (or `node`) line, else the
/// first line that is not a comment.
fn version_in(name: &str, text: &str) -> Option<String> {
    let text = text.trim_start_matches('\u{feff}');
    let lines = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty());
    let mut lines = lines.filter_map(|line| {
        if name != ".tool-versions" {
            return Some(line);
        }
        let mut words = line.split_whitespace();
        let tool = words.next()?;
        // asdf and mise list fallbacks after the first version; the first is the one used.
        matches!(tool, "nodejs" | "node")
            .then(|| words.next())
            .flatten()
    });
    lines.next().map(str::to_string)
}

fn declared(stated: &str, file: String) -> DeclaredNode {
    let stated = stated.trim().to_string();
    let digits = stated.strip_prefix('v').unwrap_or(&stated);
    match numeric(digits, 1..=3) {
        Some(range) => DeclaredNode::Version {
            range,
            stated,
            file,
        },
        None => DeclaredNode::Unresolved { stated, file },
    }
}

/// A version of `parts` numbers (`20`, `20.11`, `20.11.1`) as the range of versions it allows.
fn numeric(digits: &str, parts: std::ops::RangeInclusive<usize>) -> Option<Range> {
    let numeric = parts.contains(&digits.split('.').count())
        && digits.split('.').all(|part| {
            !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit())
        });
    numeric.then(|| Range::parse(digits).ok()).flatten()
}

/// The Node.js an install would run on here: the first `node` on `PATH`, and its version.
#[derive(Clone, Debug)]
pub struct RunningNode {
    /// The version it reports.
    range: Range,
    /// As it reports it (`v20.20.2`).
    stated: String,
    /// Where it is.
    program: PathBuf,
}

/// How long `node --version` may take before lockgate gives up on it.
const NODE_DEADLINE: Duration = Duration::from_secs(5);

/// The most of `node --version`'s answer read.
const MOST_ANSWER: u64 = 256;

/// The Node.js on `PATH`, asked once per run. Only absolute `PATH` folders are searched, so a
/// repository cannot put its own `node` first; the answer must be one exact version.
pub fn running_node() -> Option<&'static RunningNode> {
    static RUNNING: OnceLock<Option<RunningNode>> = OnceLock::new();
    RUNNING
        .get_or_init(|| {
            let program = node_on_path(&std::env::var_os("PATH")?)?;
            let stated = version_of(&program)?;
            let range = numeric(stated.strip_prefix('v')?, 3..=3)?;
            Some(RunningNode {
                range,
                stated,
                program,
            })
        })
        .as_ref()
}

fn node_on_path(path: &std::ffi::OsStr) -> Option<PathBuf> {
    let name = if cfg!(windows) { "node.exe" } else { "node" };
    std::env::split_paths(path)
        .filter(|folder| folder.is_absolute())
        .map(|folder| folder.join(name))
        .find(|program| program.is_file())
}

/// `program --version`'s first line, within [`NODE_DEADLINE`]; a program that fails, hangs or
/// says something else gives nothing.
fn version_of(program: &Path) -> Option<String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir(program.parent()?)
        .spawn()
        .ok()?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < NODE_DEADLINE => {
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let mut answer = String::new();
    child
        .stdout
        .take()?
        .take(MOST_ANSWER)
        .read_to_string(&mut answer)
        .ok()?;
    let line = answer.lines().next()?.trim();
    status.success().then(|| line.to_string())
}

/// Whether `engines_node` (a package's `engines.node`) excludes every version `declared` allows.
/// A range lockgate cannot read is not judged.
pub fn excludes(engines_node: &str, declared: &Range) -> bool {
    match Range::parse(engines_node.trim()) {
        Ok(range) => !range.allows_any(declared),
        Err(_) => false,
    }
}

/// One package whose `engines.node` the install checks: who it is (`case@1.0.0`), its range,
/// and the file that states it.
pub struct Checked {
    /// As the tool names it.
    pub who: String,
    /// Its `engines.node`.
    pub range: String,
    /// The file that states the range.
    pub file: String,
}

/// The refusals of an install that checks `engines.node` of `checked`, in `tool`'s words, as
/// (file, message, blocking): one per package that excludes the declared Node.js, or where none
/// is declared, the Node.js `running` here; with neither, one non-blocking note when some
/// package states a range.
pub fn refusals(
    tool: &str,
    why: &str,
    declared: &DeclaredNode,
    running: Option<&RunningNode>,
    checked: &[Checked],
) -> Vec<(String, String, bool)> {
    let undeclared = match declared {
        DeclaredNode::Version { .. } => String::new(),
        DeclaredNode::Unresolved { stated, file } => {
            format!("{file} names {stated}, which only a version manager resolves")
        }
        DeclaredNode::None => "no Node.js version is declared".to_string(),
    };
    let (range, against, hint) = match (declared, running) {
        (
            DeclaredNode::Version {
                range,
                stated,
                file,
            },
            _,
        ) => (
            range,
            format!("the Node.js {stated} that {file} declares"),
            String::new(),
        ),
        (_, Some(running)) => (
            &running.range,
            format!(
                "Node.js {}, the `node` on PATH ({}) that the install runs on here \
                 ({undeclared})",
                running.stated,
                running.program.display()
            ),
            "; to judge against the project's own Node.js instead, state its version in \
             .nvmrc, .node-version or package.json's volta.node"
                .to_string(),
        ),
        (_, None) => {
            let Some(first) = checked.first() else {
                return Vec::new();
            };
            return vec![(
                first.file.clone(),
                format!(
                    "{} requires node {}{}, and {tool} refuses to install on a Node.js outside it \
                     ({why}); {undeclared} and there is no `node` on PATH, so lockgate cannot \
                     judge it: state the version in .nvmrc, .node-version or package.json's \
                     volta.node",
                    first.who,
                    first.range,
                    match checked.len() {
                        1 => String::new(),
                        n => format!(" (and {} more packages state engines.node)", n - 1),
                    },
                ),
                false,
            )];
        }
    };
    checked
        .iter()
        .filter(|package| excludes(&package.range, range))
        .map(|package| {
            (
                package.file.clone(),
                format!(
                    "{} requires node {}, which excludes {against}; {tool} refuses to install it \
                     ({why}){hint}",
                    package.who, package.range
                ),
                true,
            )
        })
        .collect()
}

/// The `engines.node` of a project's own package.json files: the root's (in `folder`) and its
/// members' (by folder relative to it).
pub fn of_projects(
    folder: &str,
    root: &Manifest,
    members: &std::collections::BTreeMap<String, Manifest>,
) -> Vec<Checked> {
    std::iter::once(("", root))
        .chain(
            members
                .iter()
                .map(|(member, manifest)| (member.as_str(), manifest)),
        )
        .filter_map(|(member, manifest)| {
            let path = join_path(&join_path(folder, member), "package.json");
            Some(Checked {
                who: match (&manifest.name, &manifest.version) {
                    (Some(name), Some(version)) => format!("{name}@{version}"),
                    (Some(name), None) => name.clone(),
                    _ => path.clone(),
                },
                range: manifest.engines_node.clone()?,
                file: path,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(stated: &str) -> Range {
        match declared(stated, "f".into()) {
            DeclaredNode::Version { range, .. } => range,
            other => panic!("{stated}: {other:?}"),
        }
    }

    #[test]
    fn version_files_are_read_as_version_managers_read_them() {
        assert_eq!(
            version_in(".nvmrc", "# pinned\nv20.11.1\n").as_deref(),
            Some("v20.11.1")
        );
        assert_eq!(
            version_in(".node-version", "\u{feff}22\r\n").as_deref(),
            Some("22")
        );
        assert_eq!(
            version_in(".tool-versions", "python 3.12.1\nnodejs 20.11.1 18.0.0\n").as_deref(),
            Some("20.11.1")
        );
        assert_eq!(version_in(".tool-versions", "python 3.12.1\n"), None);
        assert!(matches!(
            declared("lts/iron", "f".into()),
            DeclaredNode::Unresolved { .. }
        ));
        assert!(matches!(
            declared("node", "f".into()),
            DeclaredNode::Unresolved { .. }
        ));
        assert!(matches!(
            declared("20.x", "f".into()),
            DeclaredNode::Unresolved { .. }
        ));
    }

    #[test]
    fn a_range_excludes_a_declared_version_only_when_it_allows_none_of_it() {
        assert!(excludes(">=99", &version("v20.20.2")));
        assert!(!excludes(">=18", &version("20.20.2")));
        assert!(excludes(">=22", &version("20")));
        assert!(!excludes("^20.5.0 || >=99", &version("20")));
        assert!(!excludes(">=20.19", &version("20")));
        assert!(excludes("^18.19.0 || >=20.5.0 <20.6", &version("20.20")));
        assert!(!excludes("not a range", &version("20")));
    }

    #[test]
    fn undeclared_projects_are_judged_against_the_node_that_runs_here() {
        let checked = [Checked {
            who: "case@1.0.0".into(),
            range: ">=22".into(),
            file: "package.json".into(),
        }];
        let running = |stated: &str| RunningNode {
            range: numeric(stated.trim_start_matches('v'), 3..=3).unwrap(),
            stated: stated.into(),
            program: "/usr/bin/node".into(),
        };
        let old = running("v20.20.2");
        let said = refusals("npm ci", "why", &DeclaredNode::None, Some(&old), &checked);
        assert_eq!(said.len(), 1);
        assert!(said[0].2 && said[0].1.contains("v20.20.2"), "{said:?}");
        let new = running("v22.1.0");
        assert!(refusals("npm ci", "why", &DeclaredNode::None, Some(&new), &checked).is_empty());
        let declared = declared("v20.1.0", ".nvmrc".into());
        assert!(refusals("npm ci", "why", &declared, Some(&new), &checked)[0].2);
        let note = refusals("npm ci", "why", &DeclaredNode::None, None, &checked);
        assert!(!note[0].2 && note[0].1.contains("cannot judge"), "{note:?}");
        assert_eq!(numeric("20", 3..=3), None);
    }
}
