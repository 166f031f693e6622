//! Lockfile families lockgate understands, recognised by file name, and the dispatch to their
//! parsers. Parsers are pure functions from text to a [`LockedSet`]; they never see a path.

pub mod bun;
pub mod npm;
pub mod pnpm;
pub mod python;
pub mod requirements;
mod yaml;
pub mod yarn;

pub(crate) use yaml::{document as yaml_document, line as yaml_line, text as yaml_text};

use crate::package::LockedSet;
use std::fmt;

/// A lockfile format, recognised from its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockfileKind {
    /// npm's `package-lock.json`.
    NpmPackageLock,
    /// npm's `npm-shrinkwrap.json` (same format; wins over package-lock.json).
    NpmShrinkwrap,
    /// yarn's `yarn.lock`, classic (v1) or berry (2+).
    Yarn,
    /// pnpm's `pnpm-lock.yaml` (lockfile versions 5.4, 6 and 9).
    Pnpm,
    /// bun's text `bun.lock`.
    Bun,
    /// pip's `requirements*.txt` (and `requirements/*.txt`).
    Requirements,
    /// `poetry.lock`.
    Poetry,
    /// `uv.lock`.
    Uv,
    /// `pdm.lock`.
    Pdm,
    /// PEP 751's `pylock.toml` (or `pylock.<name>.toml`).
    Pylock,
    /// pipenv's `Pipfile.lock`.
    Pipfile,
}

impl LockfileKind {
    /// The kind of the lockfile at `path` (a repository path with `/` separators), if any.
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path);
        Some(match name {
            "package-lock.json" => LockfileKind::NpmPackageLock,
            "npm-shrinkwrap.json" => LockfileKind::NpmShrinkwrap,
            "yarn.lock" => LockfileKind::Yarn,
            "pnpm-lock.yaml" => LockfileKind::Pnpm,
            "bun.lock" => LockfileKind::Bun,
            "poetry.lock" => LockfileKind::Poetry,
            "uv.lock" => LockfileKind::Uv,
            "pdm.lock" => LockfileKind::Pdm,
            "Pipfile.lock" => LockfileKind::Pipfile,
            _ if name.starts_with("pylock.") && name.ends_with(".toml") => LockfileKind::Pylock,
            _ if requirements::is_requirements_file(path) => LockfileKind::Requirements,
            _ => return None,
        })
    }

    /// Parses the lockfile text. An empty file locks nothing: npm treats it as no lockfile
    /// (the lockfile check reports that), so there is nothing in it to ask OSV about.
    pub fn parse(self, text: &str) -> Result<LockedSet, ParseError> {
        if text.trim().is_empty() {
            return Ok(LockedSet::default());
        }
        check_conflict_markers(text)?;
        let set = match self {
            LockfileKind::NpmPackageLock | LockfileKind::NpmShrinkwrap => {
                npm::NpmLock::parse(text).map(|lock| lock.locked_set())
            }
            LockfileKind::Yarn => yarn::YarnLock::parse(text).map(|lock| lock.locked),
            LockfileKind::Pnpm => pnpm::PnpmLock::parse(text).map(|lock| lock.locked),
            LockfileKind::Bun => bun::BunLock::parse(text).map(|lock| lock.locked),
            LockfileKind::Poetry => python::Poetry::parse(text).map(|lock| lock.locked),
            LockfileKind::Uv => python::Uv::parse(text).map(|lock| lock.locked),
            LockfileKind::Pdm => python::Pdm::parse(text).map(|lock| lock.locked),
            LockfileKind::Pylock => python::parse_pylock(text),
            LockfileKind::Pipfile => python::parse_pipfile_lock(text),
            // Without its includes: `parse_with_includes` is the way to read one.
            LockfileKind::Requirements => {
                requirements::parse("requirements.txt", text, &|_| Ok(None))
            }
        };
        set.map(LockedSet::normalised)
    }
}

impl LockfileKind {
    /// Parses the lockfile at `path` with its text; requirements files read their `-r`/`-c`
    /// includes through `read`.
    pub fn parse_with_includes(
        self,
        path: &str,
        text: &str,
        read: &requirements::Reader<'_>,
    ) -> Result<LockedSet, ParseError> {
        match self {
            LockfileKind::Requirements => {
                if text.trim().is_empty() {
                    return Ok(LockedSet::default());
                }
                check_conflict_markers(text)?;
                requirements::parse(path, text, read).map(LockedSet::normalised)
            }
            _ => self.parse(text),
        }
    }
}

/// The line of the entry for `name` at `version` in a lockfile's text, for reports: first a
/// line that starts an entry in one of the formats (`"node_modules/name"`, `name@version`,
/// `name = "name"`, `name==version`, …) with the version on it or just below, else the first
/// line naming the package.
pub fn entry_line(text: &str, name: &str, version: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let lower_name = name.to_ascii_lowercase();
    let starts_entry = |line: &str| {
        let trimmed = line
            .trim_start()
            .trim_start_matches(['"', '\'', '/', '-', ' ']);
        let lower = trimmed.to_ascii_lowercase();
        line.contains(&format!("node_modules/{name}\""))
            || line.contains(&format!("\"{name}\": {{"))
            || lower.starts_with(&format!("{lower_name}@"))
            || lower.starts_with(&format!("{lower_name}/"))
            || lower.starts_with(&format!("{lower_name}=="))
            || line.contains(&format!("name = \"{name}\""))
            || (!version.is_empty() && line.contains(&format!("{name}@{version}")))
    };
    let has_version = |index: usize, span: usize| {
        version.is_empty()
            || lines[index..lines.len().min(index + span)]
                .iter()
                .any(|line| line.contains(version))
    };
    for (index, line) in lines.iter().enumerate() {
        if starts_entry(line) && has_version(index, 8) {
            return Some(index + 1);
        }
    }
    lines
        .iter()
        .position(|line| line.contains(name))
        .map(|index| index + 1)
}

/// 1-based line and column of byte `offset` of `text`.
pub fn position_of(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    (line, column)
}

/// Turns raw blob bytes into text, or says where they stop being UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        ParseError::new(line, column, "the file is not UTF-8 text")
    })
}

/// Where and why a lockfile could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong, in the user's terms.
    pub message: String,
}

impl ParseError {
    /// An error at `line`:`column`.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    /// Converts a TOML error of `text`, at the line and column its span starts.
    pub fn from_toml(text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = error
            .span()
            .map(|span| position_of(text, span.start))
            .unwrap_or((0, 0));
        ParseError::new(line, column, error.message().trim().to_string())
    }

    /// Converts a serde_json error, keeping its position but not repeating it in the message.
    pub fn from_json(error: &serde_json::Error) -> Self {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        let message = match error.classify() {
            serde_json::error::Category::Eof => format!("the file ends too early ({message})"),
            _ => message,
        };
        ParseError::new(error.line(), error.column(), message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Git leaves `<<<<<<<`, `=======` and `>>>>>>>` lines in a file whose merge conflicted. Such a
/// file records two sides at once, so it is refused rather than read as either.
pub fn check_conflict_markers(text: &str) -> Result<(), ParseError> {
    // Each marker is seven repeats of one character: a file with no such run (nearly every
    // file) is passed over in one substring search per marker, not line by line.
    const MARKERS: [&str; 4] = ["<<<<<<<", "=======", ">>>>>>>", "|||||||"];
    if !MARKERS.iter().any(|marker| text.contains(marker)) {
        return Ok(());
    }
    for (index, line) in text.lines().enumerate() {
        let marker = MARKERS.into_iter().find(|marker| {
            line.strip_prefix(marker)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        });
        if marker.is_some() {
            return Err(ParseError::new(
                index + 1,
                1,
                "merge-conflict marker: resolve the conflict and regenerate the lockfile",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_lockfiles_by_exact_file_name() {
        let cases = [
            ("package-lock.json", Some(LockfileKind::NpmPackageLock)),
            (
                "web/app/package-lock.json",
                Some(LockfileKind::NpmPackageLock),
            ),
            ("npm-shrinkwrap.json", Some(LockfileKind::NpmShrinkwrap)),
            ("old-package-lock.json", None),
            ("api/poetry.lock", Some(LockfileKind::Poetry)),
            ("pylock.dev.toml", Some(LockfileKind::Pylock)),
            ("requirements-dev.txt", Some(LockfileKind::Requirements)),
            ("notes.txt", None),
            ("package-lock.json.bak", None),
            ("package.json", None),
        ];
        for (path, expected) in cases {
            assert_eq!(LockfileKind::from_path(path), expected, "{path}");
        }
    }

    #[test]
    fn conflict_markers_are_refused_with_their_line() {
        let text = "{\n<<<<<<< HEAD\n  \"a\": 1\n=======\n  \"a\": 2\n>>>>>>> branch\n}\n";
        let error = LockfileKind::NpmPackageLock.parse(text).unwrap_err();
        assert_eq!((error.line, error.column), (2, 1));
        assert!(error.message.contains("merge-conflict"));
    }

    #[test]
    fn entry_lines_in_each_format() {
        let cases = [
            ("{\n  \"\": {\"dependencies\": {\"debug\": \"^4.4.2\"}},\n  \"node_modules/debug\": {\n    \"version\": \"4.4.2\"\n  }\n}", 3),
            ("# yarn lockfile v1\n\ndebug@^4.4.2:\n  version \"4.4.2\"\n", 3),
            ("packages:\n\n  debug@4.4.2:\n    resolution: {integrity: x}\n", 3),
            ("[[package]]\nname = \"debug\"\nversion = \"4.4.2\"\n", 2),
            ("six==1.16.0\ndebug==4.4.2 \\\n    --hash=sha256:x\n", 2),
        ];
        for (text, line) in cases {
            assert_eq!(entry_line(text, "debug", "4.4.2"), Some(line), "{text}");
        }
    }

    #[test]
    fn invalid_utf8_is_located() {
        let error = decode(b"{\n  \"a\": \"\xff\"\n}").unwrap_err();
        assert_eq!((error.line, error.column), (2, 9));
    }
}
