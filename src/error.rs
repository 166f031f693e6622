//! The one error type at the library boundary: things that stopped lockgate from checking.
//!
//! Findings (malware, out-of-sync lockfiles) are not errors; they live in the report.

use std::path::PathBuf;

/// Why lockgate could not check a change. Each variant maps to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No git repository where git's environment or the working directory points.
    #[error("not inside a git repository (run lockgate from a repository, or as its git hook)")]
    NotARepository(#[source] git2::Error),

    /// Staged mode in a bare repository: there is no index of changes to be committed.
    #[error("a bare repository has no staged changes; use --all or --pre-push")]
    BareRepository,

    /// The index holds an unresolved merge conflict in files lockgate reads: what would be
    /// committed there is not decided yet.
    #[error(
        "resolve the merge {} in {} first",
        if paths.len() == 1 { "conflict" } else { "conflicts" },
        paths.join(", ")
    )]
    Conflicted {
        /// The conflicted files, relative to the repository root, cleaned for printing.
        paths: Vec<String>,
    },

    /// The index is a sparse index, which libgit2 cannot read.
    #[error(
        "the index is a sparse index (index.sparse), which lockgate cannot read: run \
         `git sparse-checkout reapply --no-sparse-index` (the sparse checkout stays as it is)"
    )]
    SparseIndex(#[source] git2::Error),

    /// A git operation failed.
    #[error("git: could not {action}")]
    Git {
        /// What lockgate was doing.
        action: String,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },

    /// A lockfile (or manifest) is larger than lockgate will read.
    #[error("{path}: {size} bytes is more than the {limit} bytes lockgate reads from one file")]
    TooLarge {
        /// The file, relative to the repository root.
        path: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// A lockfile could not be parsed.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file, relative to the repository root.
        path: String,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },

    /// The pre-push input on stdin is not what git writes.
    #[error("the pre-push input (stdin) is not what git writes: {message}")]
    PushInput {
        /// What is wrong, with the line.
        message: String,
    },

    /// The configuration file could not be used (the message names file, line and key).
    #[error("configuration: {0}")]
    Config(crate::config::ConfigError),

    /// There is no folder for the offline database and the cache.
    #[error("no cache folder for the offline database: set LOCKGATE_CACHE_DIR or --cache-dir")]
    NoCacheFolder,

    /// The offline database could not be updated.
    #[error("could not update the offline database in {}", folder.display())]
    Database {
        /// Its folder.
        folder: PathBuf,
        /// What failed.
        #[source]
        source: crate::offline::DbError,
    },

    /// A file lockgate writes or reads outside the repository failed.
    #[error("could not {action} {}", path.display())]
    Io {
        /// What lockgate was doing.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The problem this failure is in a report: its kind, and the file it concerns (the
    /// repository root, `.`, when it concerns none in particular).
    pub fn as_problem(&self) -> crate::report::Problem {
        use crate::report::{Problem, ProblemKind};
        let (kind, path) = match self {
            Error::Parse {
                path,
                line,
                column,
                message,
            } => {
                return Problem::new(ProblemKind::LockfileUnreadable, path, message, true)
                    .at(*line, *column)
            }
            Error::TooLarge { path, .. } => (ProblemKind::LockfileUnreadable, path.clone()),
            Error::Conflicted { paths } => (
                ProblemKind::CouldNotCheck,
                paths.first().cloned().unwrap_or_else(|| ".".into()),
            ),
            Error::Config(config) => (ProblemKind::CouldNotCheck, config.path.clone()),
            _ => (ProblemKind::CouldNotCheck, ".".into()),
        };
        Problem::new(kind, &path, &chain(self), true)
    }

    /// Wraps a libgit2 error with what lockgate was trying to do.
    pub fn git(action: impl Into<String>, source: git2::Error) -> Self {
        Error::Git {
            action: action.into(),
            source,
        }
    }
}

/// An error and each of its causes, on one line.
pub fn chain(error: &dyn std::error::Error) -> String {
    causes(error).join(": ")
}

/// An error's message and each of its causes' that says something new (some messages end with
/// their cause's already).
pub fn causes(error: &dyn std::error::Error) -> Vec<String> {
    let mut said = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !said.last().is_some_and(|last| last.ends_with(&text)) {
            said.push(text);
        }
        source = cause.source();
    }
    said
}
