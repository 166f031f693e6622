//! Reading what is being committed: the index (as git hands it to hooks) against `HEAD`.
//!
//! The repository is opened from git's environment (`GIT_DIR`, `GIT_INDEX_FILE`, …), because
//! `git commit -a` and `git commit <path>` commit from a temporary index that `.git/index` is not.

use crate::error::Error;
use git2::{Delta, FileMode, Oid, Repository};

/// Largest file lockgate reads from the object database.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// A repository opened the way a hook must open it.
pub struct Repo {
    inner: Repository,
}

/// One file whose staged content differs from `HEAD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// The blob in `HEAD`, when the file exists there.
    pub old: Option<Oid>,
    /// The staged blob, when the file is not being deleted.
    pub new: Option<Oid>,
}

impl Repo {
    /// Opens the repository git's environment points at, else the one around the working
    /// directory.
    pub fn open() -> Result<Self, Error> {
        // libgit2 re-hashes every object it reads (with collision detection, which costs more
        // than inflating it); git itself does not on ordinary reads. These are the user's own
        // objects, read to be parsed as hostile input anyway: skip the re-hash, as git does.
        git2::opts::strict_hash_verification(false);
        Repository::open_from_env()
            .map(|inner| Repo { inner })
            .map_err(Error::NotARepository)
    }

    /// Staged files (index against `HEAD`; everything when `HEAD` is unborn) whose path passes
    /// `wanted`. Symlinks and submodules are not file content and are left out.
    pub fn staged_changes(&self, wanted: impl Fn(&str) -> bool) -> Result<Vec<Change>, Error> {
        let index = self
            .inner
            .index()
            .map_err(|error| Error::git("read the index", error))?;
        let head_tree = match self.inner.head() {
            Ok(head) => Some(
                head.peel_to_tree()
                    .map_err(|error| Error::git("read HEAD's tree", error))?,
            ),
            Err(error)
                if matches!(
                    error.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                None
            }
            Err(error) => return Err(Error::git("resolve HEAD", error)),
        };
        let diff = self
            .inner
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), None)
            .map_err(|error| Error::git("compare the index with HEAD", error))?;
        let mut changes = Vec::new();
        for delta in diff.deltas() {
            let file = if delta.status() == Delta::Deleted {
                delta.old_file()
            } else {
                delta.new_file()
            };
            let Some(path) = file.path().and_then(|path| path.to_str()) else {
                continue;
            };
            if !wanted(path) {
                continue;
            }
            let blob_oid = |file: git2::DiffFile<'_>| {
                matches!(file.mode(), FileMode::Blob | FileMode::BlobExecutable).then(|| file.id())
            };
            let (old, new) = match delta.status() {
                Delta::Added => (None, blob_oid(delta.new_file())),
                Delta::Deleted => (blob_oid(delta.old_file()), None),
                _ => (blob_oid(delta.old_file()), blob_oid(delta.new_file())),
            };
            if old.is_none() && new.is_none() {
                continue;
            }
            changes.push(Change {
                path: path.to_string(),
                old,
                new,
            });
        }
        Ok(changes)
    }

    /// Every staged (index) file whose path passes `wanted`, with its blob.
    pub fn staged_files(&self, wanted: impl Fn(&str) -> bool) -> Result<Vec<(String, Oid)>, Error> {
        let index = self
            .inner
            .index()
            .map_err(|error| Error::git("read the index", error))?;
        let mut files = Vec::new();
        for entry in index.iter() {
            // Conflicted entries (stage 1–3) are not what would be committed.
            if !is_file_entry(&entry) {
                continue;
            }
            let Ok(path) = std::str::from_utf8(&entry.path) else {
                continue;
            };
            if wanted(path) {
                files.push((path.to_string(), entry.id));
            }
        }
        Ok(files)
    }

    /// The content of a blob, refused when larger than [`MAX_FILE_BYTES`].
    pub fn read_blob(&self, path: &str, oid: Oid) -> Result<Vec<u8>, Error> {
        let odb = self
            .inner
            .odb()
            .map_err(|error| Error::git("open the object database", error))?;
        let (size, _) = odb
            .read_header(oid)
            .map_err(|error| Error::git(format!("read {path}"), error))?;
        if size > MAX_FILE_BYTES {
            return Err(Error::TooLarge {
                path: path.to_string(),
                size,
                limit: MAX_FILE_BYTES,
            });
        }
        let blob = self
            .inner
            .find_blob(oid)
            .map_err(|error| Error::git(format!("read {path}"), error))?;
        Ok(blob.content().to_vec())
    }
}

/// The index as a read-only file tree: every staged file (stage 0 blobs), read on demand.
pub struct IndexTree<'r> {
    repo: &'r Repo,
    index: git2::Index,
    /// Every path, listed the first time someone asks (workspace globs, `--all`): a commit that
    /// touches one project looks up a few paths and never pays for listing the whole index.
    paths: std::cell::OnceCell<Vec<String>>,
}

impl<'r> IndexTree<'r> {
    /// Opens the index; nothing is listed or read until asked for.
    pub fn new(repo: &'r Repo) -> Result<Self, Error> {
        let index = repo
            .inner
            .index()
            .map_err(|error| Error::git("read the index", error))?;
        Ok(IndexTree {
            repo,
            index,
            paths: std::cell::OnceCell::new(),
        })
    }

    /// The staged blob at `path`, if it is a regular file.
    fn blob(&self, path: &str) -> Option<Oid> {
        let entry = self.index.get_path(std::path::Path::new(path), 0)?;
        is_file_entry(&entry).then_some(entry.id)
    }
}

/// A stage-0 (not conflicted) regular or executable file.
fn is_file_entry(entry: &git2::IndexEntry) -> bool {
    let mode = entry.mode;
    let file = mode == u32::from(FileMode::Blob) || mode == u32::from(FileMode::BlobExecutable);
    file && (entry.flags >> 12) & 0x3 == 0
}

impl crate::npm_sync::Tree for IndexTree<'_> {
    fn paths(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        let paths = self.paths.get_or_init(|| {
            self.index
                .iter()
                .filter(is_file_entry)
                .filter_map(|entry| String::from_utf8(entry.path).ok())
                .collect()
        });
        Box::new(paths.iter().map(String::as_str))
    }

    fn contains(&self, path: &str) -> bool {
        self.blob(path).is_some()
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.blob(path) {
            Some(oid) => self.repo.read_blob(path, oid).map(Some),
            None => Ok(None),
        }
    }
}
