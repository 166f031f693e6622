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
    bare: bool,
    /// The large blobs read last: a staged lockfile is read for its entries and again by its
    /// project's checks, and is inflated once.
    recent: std::cell::RefCell<Vec<(Oid, std::rc::Rc<[u8]>)>>,
}

/// Blobs this large or larger are kept in [`Repo`]'s `recent` (smaller ones cost less to
/// inflate again than to keep).
const RECENT_FROM: usize = 64 * 1024;
/// How many large blobs are kept: the new side of a change, read last.
const RECENT_KEPT: usize = 1;

/// One file whose staged content differs from `HEAD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// The blobs it replaces: `HEAD`'s (for a commit, each parent's), where the file exists.
    pub old: Vec<Oid>,
    /// The staged blob, when the file is not being deleted.
    pub new: Option<Oid>,
    /// What the new side holds, with its id, when it is there but is not a regular file.
    pub not_a_file: Option<(NotAFile, Oid)>,
}

/// What git records at a path in place of a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAFile {
    /// A symbolic link (mode 120000): its content is the path it points at.
    Symlink,
    /// A submodule (a gitlink, mode 160000): a commit of another repository.
    Gitlink,
}

impl NotAFile {
    /// The kind of a tree or index entry's mode; `None` for a file or a folder.
    fn of_mode(mode: u32) -> Option<Self> {
        if mode == u32::from(FileMode::Link) {
            Some(NotAFile::Symlink)
        } else if mode == u32::from(FileMode::Commit) {
            Some(NotAFile::Gitlink)
        } else {
            None
        }
    }

    /// How a report names it: "a symbolic link", "a submodule (gitlink)".
    pub fn describe(self) -> &'static str {
        match self {
            NotAFile::Symlink => "a symbolic link",
            NotAFile::Gitlink => "a submodule (gitlink)",
        }
    }
}

impl Repo {
    /// Opens the repository git's environment points at, else the one around the working
    /// directory.
    pub fn open() -> Result<Self, Error> {
        // libgit2 re-hashes every object it reads (with collision detection, which costs more
        // than inflating it); git itself does not on ordinary reads. These are the user's own
        // objects, read to be parsed as hostile input anyway: skip the re-hash, as git does.
        git2::opts::strict_hash_verification(false);
        let inner = Repository::open_from_env().map_err(Error::NotARepository)?;
        // As git decides it: a bare repository given a working tree (`GIT_WORK_TREE`, which
        // git exports to hooks for `git --git-dir=~/.dotfiles --work-tree=~ commit`) has an
        // index and is used as a normal one; libgit2 then still says bare.
        let bare = inner.is_bare()
            && inner.workdir().is_none()
            && std::env::var_os("GIT_WORK_TREE").is_none_or(|value| value.is_empty());
        Ok(Repo::of(inner, bare))
    }

    fn of(inner: Repository, bare: bool) -> Repo {
        Repo {
            inner,
            bare,
            recent: std::cell::RefCell::default(),
        }
    }

    /// Opens the repository at `path` (a working tree's folder, its `.git`, or a bare
    /// repository such as a mirror), ignoring git's environment: `lockgate watch` reads many.
    pub fn open_at(path: &std::path::Path) -> Result<Self, Error> {
        git2::opts::strict_hash_verification(false);
        let flags = git2::RepositoryOpenFlags::NO_SEARCH;
        let inner = Repository::open_ext(path, flags, std::iter::empty::<&std::ffi::OsStr>())
            .map_err(Error::NotARepository)?;
        let bare = inner.is_bare();
        Ok(Repo::of(inner, bare))
    }

    /// The text of `path` at `HEAD`, and for a 1-based `line` of it, when the commit that wrote
    /// that line was made (Unix seconds; blame at `HEAD`). `None` when `HEAD` has no such file.
    pub fn head_file_with_blame(&self, path: &str) -> Option<(String, Vec<u64>)> {
        let head = self.inner.head().ok()?.peel_to_commit().ok()?;
        let entry = head
            .tree()
            .ok()?
            .get_path(std::path::Path::new(path))
            .ok()?;
        let blob = self.inner.find_blob(entry.id()).ok()?;
        if blob.size() > 1024 * 1024 {
            return None;
        }
        let text = String::from_utf8_lossy(blob.content()).into_owned();
        let mut options = git2::BlameOptions::new();
        options.newest_commit(head.id());
        let blame = self
            .inner
            .blame_file(std::path::Path::new(path), Some(&mut options))
            .ok()?;
        let times = (1..=text.lines().count())
            .map(|line| {
                blame
                    .get_line(line)
                    .and_then(|hunk| self.inner.find_commit(hunk.final_commit_id()).ok())
                    .map_or(0, |commit| {
                        u64::try_from(commit.time().seconds()).unwrap_or(0)
                    })
            })
            .collect();
        Some((text, times))
    }

    /// Every local branch (`refs/heads/…`) and the commit at its tip, by name.
    pub fn branch_tips(&self) -> Result<Vec<(String, Oid)>, Error> {
        let references = self
            .inner
            .references_glob("refs/heads/*")
            .map_err(|error| Error::git("list the branches", error))?;
        let mut tips = Vec::new();
        for reference in references {
            let reference = reference.map_err(|error| Error::git("read a branch", error))?;
            let (Ok(name), Ok(commit)) = (reference.name(), reference.peel_to_commit()) else {
                continue;
            };
            tips.push((name.to_string(), commit.id()));
        }
        tips.sort();
        Ok(tips)
    }

    /// Staged files (index against `HEAD`; everything when `HEAD` is unborn) whose path passes
    /// `wanted`. A symlink or submodule staged there is a change with `not_a_file` set.
    pub fn staged_changes(&self, wanted: impl Fn(&str) -> bool) -> Result<Vec<Change>, Error> {
        let index = self.index()?;
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
        Ok(changes_in(&diff, &wanted))
    }

    /// Files a commit changes whose path passes `wanted`, each with what it replaces in the
    /// commit's first parent. A merge is read against its first parent: what it brings into the
    /// branch it was made on, as a pull request is read against its base. A root commit adds
    /// everything it holds.
    pub fn commit_changes(
        &self,
        commit: Oid,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<Change>, Error> {
        let parent = self.first_parent(commit)?;
        self.changes_between(parent, commit, wanted)
    }

    /// Files that differ between the trees of commit `old` (none: an empty tree) and commit
    /// `new`, whose path passes `wanted`.
    pub fn changes_between(
        &self,
        old: Option<Oid>,
        new: Oid,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<Change>, Error> {
        let tree_of = |commit: Oid| {
            self.inner
                .find_commit(commit)
                .and_then(|commit| commit.tree())
                .map_err(|error| Error::git(format!("read commit {commit}"), error))
        };
        let old_tree = old.map(tree_of).transpose()?;
        let new_tree = tree_of(new)?;
        let diff = self
            .inner
            .diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), None)
            .map_err(|error| Error::git(format!("compare commit {new} with its base"), error))?;
        Ok(changes_in(&diff, &wanted))
    }

    /// Commits reachable from `tip` and not from `base`, oldest first (parents before children):
    /// what updating a ref from `base` to `tip` brings into it.
    pub fn commits_between(&self, tip: Oid, base: Option<Oid>) -> Result<Vec<Oid>, Error> {
        let walk_error = |error| Error::git(format!("list the commits pushed from {tip}"), error);
        let mut walk = self.inner.revwalk().map_err(walk_error)?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(walk_error)?;
        walk.push(tip).map_err(walk_error)?;
        if let Some(base) = base {
            walk.hide(base).map_err(walk_error)?;
        }
        walk.collect::<Result<Vec<_>, _>>().map_err(walk_error)
    }

    /// Commits reachable from `tip` that the remote does not have: not reachable from `known`
    /// (what the remote ref points at, when this repository has it) nor from any of this
    /// repository's remote-tracking refs for `remote`. Oldest first.
    pub fn commits_to_push(
        &self,
        tip: Oid,
        known: Option<Oid>,
        remote: &str,
    ) -> Result<Vec<Oid>, Error> {
        let walk_error = |error| Error::git(format!("list the commits pushed from {tip}"), error);
        let mut walk = self.inner.revwalk().map_err(walk_error)?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(walk_error)?;
        walk.push(tip).map_err(walk_error)?;
        let mut hidden: Vec<Oid> = known
            .filter(|oid| self.inner.find_commit(*oid).is_ok())
            .into_iter()
            .collect();
        // A remote named on the command line can be a URL or path; only a remote's name has
        // remote-tracking refs, and glob characters would match other remotes' refs.
        if !remote.is_empty() && !remote.contains(['*', '?', '[', '\\', ':']) {
            let glob = format!("refs/remotes/{remote}/*");
            let references = self
                .inner
                .references_glob(&glob)
                .map_err(|error| Error::git(format!("list {glob}"), error))?;
            for reference in references.flatten() {
                if let Ok(commit) = reference.peel_to_commit() {
                    hidden.push(commit.id());
                }
            }
        }
        for oid in hidden {
            walk.hide(oid).map_err(walk_error)?;
        }
        walk.collect::<Result<Vec<_>, _>>().map_err(walk_error)
    }

    /// Where a ref the remote does not have leaves what it has: the first commit down `tip`'s
    /// first-parent line that is reachable from one of this repository's remote-tracking refs of
    /// `remote` (the branch it was cut from, or merged into). `None` when the line never meets
    /// one (a remote it knows nothing of, or a history of its own).
    pub fn push_base(&self, tip: Oid, remote: &str) -> Result<Option<Oid>, Error> {
        let unknown: std::collections::HashSet<Oid> = self
            .commits_to_push(tip, None, remote)?
            .into_iter()
            .collect();
        let mut commit = Some(tip);
        while let Some(current) = commit {
            if !unknown.contains(&current) {
                return Ok(Some(current));
            }
            commit = self.first_parent(current)?;
        }
        Ok(None)
    }

    /// The commit a revision (`main`, `HEAD`, `origin/main`, an object id) names.
    pub fn resolve(&self, revision: &str) -> Result<Oid, Error> {
        self.inner
            .revparse_single(revision)
            .and_then(|object| object.peel_to_commit())
            .map(|commit| commit.id())
            .map_err(|error| Error::git(format!("resolve {revision}"), error))
    }

    /// The first line of a commit's message (its subject); `None` when it has none.
    pub fn commit_subject(&self, oid: Oid) -> Option<String> {
        let commit = self.inner.find_commit(oid).ok()?;
        let subject = commit.summary().ok()??.trim();
        (!subject.is_empty()).then(|| subject.to_string())
    }

    /// How a report names a commit: its short id and, quoted, its subject.
    pub fn describe_commit(&self, oid: Oid) -> String {
        let short = short_id(oid);
        match self.commit_subject(oid) {
            Some(subject) => format!("{short} \"{subject}\""),
            None => short,
        }
    }

    /// The files of a commit, as a [`Files`](crate::ecosystem::Files).
    pub fn commit_tree(&self, commit: Oid) -> Result<CommitTree<'_>, Error> {
        let tree = self
            .inner
            .find_commit(commit)
            .and_then(|commit| commit.tree())
            .map_err(|error| Error::git(format!("read commit {commit}"), error))?;
        Ok(Snapshot::of(self, tree))
    }

    /// The working tree's folder; `None` in a bare repository.
    pub fn workdir(&self) -> Option<&std::path::Path> {
        self.inner.workdir()
    }

    /// The index git hands to hooks (`GIT_INDEX_FILE`, else the repository's own).
    fn index(&self) -> Result<git2::Index, Error> {
        self.inner.index().map_err(|error| {
            // git's sparse index (`index.sparse`) folds the folders outside the sparse checkout
            // into one entry each, behind a mandatory extension libgit2 cannot read.
            if error.message().contains("'sdir'") {
                Error::SparseIndex(error)
            } else {
                Error::git("read the index", error)
            }
        })
    }

    /// Whether this is a bare repository used as one: no working tree, so no index worth
    /// reading.
    pub fn is_bare(&self) -> bool {
        self.bare
    }

    /// Whether a merge is being concluded (`MERGE_HEAD` is there).
    pub fn is_merging(&self) -> bool {
        self.inner.state() == git2::RepositoryState::Merge
    }

    /// The paths passing `wanted` that have an unresolved merge conflict in the index (entries
    /// at stages 1 to 3), sorted. A clean index costs one pass over its entries in memory.
    pub fn conflicted_paths(&self, wanted: impl Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        let index = self.index()?;
        if !index.has_conflicts() {
            return Ok(Vec::new());
        }
        let read = |error| Error::git("list the conflicts in the index", error);
        let mut paths = std::collections::BTreeSet::new();
        for conflict in index.conflicts().map_err(read)? {
            let conflict = conflict.map_err(read)?;
            for entry in [conflict.ancestor, conflict.our, conflict.their]
                .into_iter()
                .flatten()
            {
                if let Ok(path) = std::str::from_utf8(&entry.path) {
                    if wanted(path) {
                        paths.insert(path.to_string());
                    }
                }
            }
        }
        Ok(paths.into_iter().collect())
    }

    /// The commit `HEAD` points at; `None` before the first commit.
    pub fn head_commit(&self) -> Result<Option<Oid>, Error> {
        match self.inner.head() {
            Ok(head) => head
                .peel_to_commit()
                .map(|commit| Some(commit.id()))
                .map_err(|error| Error::git("read HEAD's commit", error)),
            Err(error)
                if matches!(
                    error.code(),
                    git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(Error::git("resolve HEAD", error)),
        }
    }

    /// The first parent of `commit`; `None` for a root commit.
    pub fn first_parent(&self, commit: Oid) -> Result<Option<Oid>, Error> {
        let commit = self
            .inner
            .find_commit(commit)
            .map_err(|error| Error::git(format!("read commit {commit}"), error))?;
        Ok(commit.parent_ids().next())
    }

    /// Lets go of the blobs kept for a second reading.
    pub fn forget_recent(&self) {
        self.recent.borrow_mut().clear();
    }

    /// The content of a blob, refused when larger than [`MAX_FILE_BYTES`].
    pub fn read_blob(&self, path: &str, oid: Oid) -> Result<Vec<u8>, Error> {
        if let Some((_, bytes)) = self.recent.borrow().iter().find(|(id, _)| *id == oid) {
            return Ok(bytes.to_vec());
        }
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
        let content = blob.content();
        if content.len() >= RECENT_FROM {
            let mut recent = self.recent.borrow_mut();
            if recent.len() == RECENT_KEPT {
                recent.remove(0);
            }
            recent.push((oid, std::rc::Rc::from(content)));
        }
        Ok(content.to_vec())
    }
}

/// A commit's id as reports show it: its first 12 hexadecimal digits.
pub fn short_id(oid: Oid) -> String {
    oid.to_string()[..12].to_string()
}

/// The changed files of a diff whose path passes `wanted`, as [`Change`]s. A symlink or
/// submodule is no file content to read: on the old side it counts as no file, and on the new
/// side it is a change with `not_a_file` set (the caller decides whether it matters there).
fn changes_in(diff: &git2::Diff<'_>, wanted: &dyn Fn(&str) -> bool) -> Vec<Change> {
    let blob_oid = |file: git2::DiffFile<'_>| {
        matches!(file.mode(), FileMode::Blob | FileMode::BlobExecutable).then(|| file.id())
    };
    let not_a_file = |file: git2::DiffFile<'_>| {
        NotAFile::of_mode(u32::from(file.mode())).map(|kind| (kind, file.id()))
    };
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
        let (old, new, special) = match delta.status() {
            Delta::Added => (
                None,
                blob_oid(delta.new_file()),
                not_a_file(delta.new_file()),
            ),
            Delta::Deleted => (blob_oid(delta.old_file()), None, None),
            _ => (
                blob_oid(delta.old_file()),
                blob_oid(delta.new_file()),
                not_a_file(delta.new_file()),
            ),
        };
        if old.is_none() && new.is_none() && special.is_none() {
            continue;
        }
        changes.push(Change {
            path: path.to_string(),
            old: old.into_iter().collect(),
            new,
            not_a_file: special,
        });
    }
    changes
}

/// Files of one snapshot (the index, or a commit's tree) as a read-only
/// [`Files`](crate::ecosystem::Files): a path is looked up, and its blob read, only when asked for;
/// the list of every path is made the first time someone needs it (workspace globs, `--all`).
pub struct Snapshot<'r, S> {
    repo: &'r Repo,
    source: S,
    paths: std::cell::OnceCell<Vec<String>>,
}

/// What a [`Snapshot`] is taken from.
pub trait Source {
    /// The blob of the regular file at `path`, if there is one.
    fn blob(&self, path: &str) -> Option<Oid>;
    /// Every regular file's path.
    fn list(&self) -> Vec<String>;
    /// Every symlink's and submodule's path, with which it is.
    fn list_not_files(&self) -> Vec<(String, NotAFile)>;
}

/// The index as it would be committed: stage-0 entries only.
pub type IndexTree<'r> = Snapshot<'r, git2::Index>;
/// A commit's files.
pub type CommitTree<'r> = Snapshot<'r, git2::Tree<'r>>;

impl<'r> IndexTree<'r> {
    /// Opens the index; nothing is listed or read until asked for.
    pub fn new(repo: &'r Repo) -> Result<Self, Error> {
        let index = repo.index()?;
        Ok(Snapshot::of(repo, index))
    }
}

impl<'r, S: Source> Snapshot<'r, S> {
    /// The blob of the regular file at `path`, if there is one.
    pub fn blob(&self, path: &str) -> Option<Oid> {
        self.source.blob(path)
    }

    /// Every symlink and submodule whose path passes `wanted` (a walk over the whole snapshot).
    pub fn not_files(&self, wanted: impl Fn(&str) -> bool) -> Vec<(String, NotAFile)> {
        let mut found = self.source.list_not_files();
        found.retain(|(path, _)| wanted(path));
        found
    }

    fn of(repo: &'r Repo, source: S) -> Self {
        Snapshot {
            repo,
            source,
            paths: std::cell::OnceCell::new(),
        }
    }
}

/// A stage-0 (not conflicted) regular or executable file.
fn is_file_entry(entry: &git2::IndexEntry) -> bool {
    let mode = entry.mode;
    let file = mode == u32::from(FileMode::Blob) || mode == u32::from(FileMode::BlobExecutable);
    file && is_resolved(entry)
}

/// A stage-0 entry: not one side of an unresolved merge conflict.
fn is_resolved(entry: &git2::IndexEntry) -> bool {
    (entry.flags >> 12) & 0x3 == 0
}

/// A regular or executable file's mode in a tree.
fn is_file_mode(mode: i32) -> bool {
    mode == i32::from(FileMode::Blob) || mode == i32::from(FileMode::BlobExecutable)
}

impl Source for git2::Index {
    fn blob(&self, path: &str) -> Option<Oid> {
        let entry = self.get_path(std::path::Path::new(path), 0)?;
        is_file_entry(&entry).then_some(entry.id)
    }

    fn list(&self) -> Vec<String> {
        self.iter()
            .filter(is_file_entry)
            .filter_map(|entry| String::from_utf8(entry.path).ok())
            .collect()
    }

    fn list_not_files(&self) -> Vec<(String, NotAFile)> {
        self.iter()
            .filter(is_resolved)
            .filter_map(|entry| {
                let kind = NotAFile::of_mode(entry.mode)?;
                Some((String::from_utf8(entry.path).ok()?, kind))
            })
            .collect()
    }
}

impl Source for git2::Tree<'_> {
    fn blob(&self, path: &str) -> Option<Oid> {
        let entry = self.get_path(std::path::Path::new(path)).ok()?;
        is_file_mode(entry.filemode()).then(|| entry.id())
    }

    fn list(&self) -> Vec<String> {
        let mut paths = Vec::new();
        let _ = self.walk(git2::TreeWalkMode::PreOrder, |folder, entry| {
            if let (true, Ok(name)) = (is_file_mode(entry.filemode()), entry.name()) {
                paths.push(format!("{folder}{name}"));
            }
            git2::TreeWalkResult::Ok
        });
        paths
    }

    fn list_not_files(&self) -> Vec<(String, NotAFile)> {
        let mut found = Vec::new();
        let _ = self.walk(git2::TreeWalkMode::PreOrder, |folder, entry| {
            let mode = u32::try_from(entry.filemode()).unwrap_or_default();
            if let (Some(kind), Ok(name)) = (NotAFile::of_mode(mode), entry.name()) {
                found.push((format!("{folder}{name}"), kind));
            }
            git2::TreeWalkResult::Ok
        });
        found
    }
}

impl<S: Source> crate::ecosystem::Files for Snapshot<'_, S> {
    fn paths(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        let paths = self.paths.get_or_init(|| self.source.list());
        Box::new(paths.iter().map(String::as_str))
    }

    fn contains(&self, path: &str) -> bool {
        self.source.blob(path).is_some()
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.source.blob(path) {
            Some(oid) => self.repo.read_blob(path, oid).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NotAFile;

    #[test]
    fn entry_modes_that_are_not_files() {
        // The modes git writes in trees and the index (git's `cache.h`: S_IFGITLINK 0160000).
        let cases = [
            (0o100_644, None),
            (0o100_755, None),
            (0o040_000, None),
            (0o120_000, Some(NotAFile::Symlink)),
            (0o160_000, Some(NotAFile::Gitlink)),
        ];
        for (mode, expected) in cases {
            assert_eq!(NotAFile::of_mode(mode), expected, "mode {mode:o}");
        }
    }
}
