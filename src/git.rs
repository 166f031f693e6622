//! Reading what is being committed: the index (as git hands it to hooks) against `HEAD`.
//!
//! The repository is opened from git's environment (`GIT_DIR`, `GIT_INDEX_FILE`, …), because
//! `git commit -a` and `git commit <path>` commit from a temporary index that `.git/index` is not.

use crate::error::Error;
use crate::index_file::{IndexFile, TreeNode, MAX_INDEX_BYTES, MAX_PATH};
use git2::{Delta, FileMode, Oid, Repository};
use std::cmp::Ordering;
use std::sync::Arc;

/// Largest file lockgate reads from the object database.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// A repository opened the way a hook must open it.
pub struct Repo {
    inner: Repository,
    bare: bool,
    /// Whether the index is the one git's environment names (`GIT_INDEX_FILE`), as libgit2
    /// decides it for a repository opened from the environment.
    from_env: bool,
    /// The index file as read directly, once; `None` when libgit2 must read it.
    index_file: std::cell::OnceCell<Option<IndexFile>>,
    /// Lockfile readings kept by blob id, once looked for.
    kept: std::cell::OnceCell<Option<crate::kept::Kept>>,
}

/// What [`Repo::reopen`] opens.
pub struct Reopen {
    from_env: bool,
    path: std::path::PathBuf,
}

impl Reopen {
    /// The repository, opened again.
    pub fn open(self) -> Result<Repo, Error> {
        if self.from_env {
            Repo::open()
        } else {
            Repo::open_at(&self.path)
        }
    }
}

/// Blobs this large or larger are kept by [`recent`] (smaller ones cost less to read again
/// than to keep).
const RECENT_FROM: usize = 64 * 1024;

/// The large blobs read last, shared by every thread and repository handle of the process (an
/// object id names its content, whichever repository it is read from): a staged lockfile is
/// read for its entries and by its project's checks on another thread, and is read once, the
/// second asker waiting for the first's read.
mod recent {
    use git2::Oid;
    use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

    /// A read, done or under way; `None` when it failed (each asker then reads for its own
    /// error).
    pub(super) struct Read {
        oid: Oid,
        pub(super) content: OnceLock<Option<Arc<[u8]>>>,
    }

    /// At most this many reads are kept, the newest last: a change's new side and one more.
    const KEPT: usize = 2;

    static READS: Mutex<Vec<Arc<Read>>> = Mutex::new(Vec::new());

    fn reads() -> MutexGuard<'static, Vec<Arc<Read>>> {
        READS.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The read of `oid`: the one under way or done, else a new one for the caller to do.
    pub(super) fn of(oid: Oid) -> Arc<Read> {
        let mut reads = reads();
        if let Some(read) = reads.iter().find(|read| read.oid == oid) {
            return read.clone();
        }
        let read = Arc::new(Read {
            oid,
            content: OnceLock::new(),
        });
        reads.push(read.clone());
        if reads.len() > KEPT {
            reads.remove(0);
        }
        read
    }

    /// Keeps no read of `oid` (small, or failed); whoever holds it still has it.
    pub(super) fn drop(oid: Oid) {
        reads().retain(|read| read.oid != oid);
    }

    /// Lets go of every read.
    pub(super) fn forget() {
        let gone = std::mem::take(&mut *reads());
        std::mem::drop(gone);
    }

    /// The blob read whose content is `bytes` itself (the same memory, not a copy), if one is
    /// kept: while it is held, no other content can stand at that address.
    pub fn shared_blob(bytes: &[u8]) -> Option<Arc<[u8]>> {
        reads()
            .iter()
            .filter_map(|read| read.content.get()?.clone())
            .find(|content| content.as_ptr() == bytes.as_ptr() && content.len() == bytes.len())
    }
}

pub use recent::shared_blob;

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
        Ok(Repo::of(inner, bare, true))
    }

    fn of(inner: Repository, bare: bool, from_env: bool) -> Repo {
        Repo {
            inner,
            bare,
            from_env,
            index_file: std::cell::OnceCell::new(),
            kept: std::cell::OnceCell::new(),
        }
    }

    /// How to open this repository again, as it was opened, on another thread (libgit2's
    /// handles are not shared between threads).
    pub fn reopen(&self) -> Reopen {
        Reopen {
            from_env: self.from_env,
            path: self.inner.path().to_path_buf(),
        }
    }

    /// The lockfile readings this repository keeps by blob id: for a hook or a run by hand
    /// (opened from git's environment), not for `lockgate watch`'s many repositories.
    pub fn kept(&self) -> Option<&crate::kept::Kept> {
        self.kept
            .get_or_init(|| {
                self.from_env
                    .then(|| crate::kept::Kept::in_git_dir(self.inner.commondir()))
                    .flatten()
            })
            .as_ref()
    }

    /// Opens the repository at `path` (a working tree's folder, its `.git`, or a bare
    /// repository such as a mirror), ignoring git's environment: `lockgate watch` reads many.
    pub fn open_at(path: &std::path::Path) -> Result<Self, Error> {
        git2::opts::strict_hash_verification(false);
        let flags = git2::RepositoryOpenFlags::NO_SEARCH;
        let inner = Repository::open_ext(path, flags, std::iter::empty::<&std::ffi::OsStr>())
            .map_err(Error::NotARepository)?;
        let bare = inner.is_bare();
        Ok(Repo::of(inner, bare, false))
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
    ///
    /// The index file is read directly and compared with `HEAD` folder by folder, skipping each
    /// folder whose cache-tree entry still names `HEAD`'s tree there, as git does; an index this
    /// cannot read, or one with conflicts, is compared through libgit2 as a whole.
    pub fn staged_changes(&self, wanted: impl Fn(&str) -> bool) -> Result<Vec<Change>, Error> {
        if let Some(index) = self.index_file().filter(|index| !index.has_conflicts()) {
            let head_tree = self.head_tree()?;
            if let Ok(changes) = self.staged_changes_from(index, head_tree.as_ref(), &wanted) {
                return Ok(changes);
            }
        }
        self.staged_changes_through_libgit2(&wanted)
    }

    /// [`staged_changes`](Self::staged_changes) by libgit2's diff of `HEAD` and the whole index.
    fn staged_changes_through_libgit2(
        &self,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<Change>, Error> {
        let index = self.index()?;
        let head_tree = self.head_tree()?;
        let diff = self
            .inner
            .diff_tree_to_index(head_tree.as_ref(), Some(&index), None)
            .map_err(|error| Error::git("compare the index with HEAD", error))?;
        Ok(changes_in(&diff, wanted))
    }

    /// `HEAD`'s tree; `None` when `HEAD` is unborn.
    fn head_tree(&self) -> Result<Option<git2::Tree<'_>>, Error> {
        match self.inner.head() {
            Ok(head) => Ok(Some(
                head.peel_to_tree()
                    .map_err(|error| Error::git("read HEAD's tree", error))?,
            )),
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

    /// The index file git hands to hooks, read and parsed directly (once); `None` when it must
    /// be left to libgit2 (see [`IndexFile`]), or cannot be read here.
    fn index_file(&self) -> Option<&IndexFile> {
        self.index_file
            .get_or_init(|| {
                // Where libgit2 looks: `GIT_INDEX_FILE` as given (relative to the current
                // folder), else the repository's (a linked worktree's own) `index`.
                let path = match std::env::var_os("GIT_INDEX_FILE").filter(|_| self.from_env) {
                    Some(path) if path.is_empty() => return None,
                    Some(path) => std::path::PathBuf::from(path),
                    None => self.inner.path().join("index"),
                };
                let file = std::fs::File::open(path).ok()?;
                let size = file.metadata().ok()?.len();
                if size > MAX_INDEX_BYTES {
                    return None;
                }
                // Sized once (a growing buffer would be copied and faulted in again and again);
                // a file that grows meanwhile is still read no further than the limit.
                let mut data = Vec::with_capacity(usize::try_from(size).ok()? + 1);
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(file, MAX_INDEX_BYTES),
                    &mut data,
                )
                .ok()?;
                IndexFile::parse(data).ok()
            })
            .as_ref()
    }

    /// [`staged_changes`](Self::staged_changes) from the parsed index, in the order and shape
    /// libgit2's `diff_tree_to_index` gives them. An error means "ask libgit2 instead".
    fn staged_changes_from(
        &self,
        index: &IndexFile,
        head_tree: Option<&git2::Tree<'_>>,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<Change>, git2::Error> {
        let mut walk = IndexWalk {
            repo: &self.inner,
            index,
            wanted,
            deltas: Vec::new(),
        };
        match head_tree {
            None => walk.added(0, index.len()),
            Some(tree) => {
                let root = index.cache_root();
                let vouched = root.and_then(|root| index.cached_tree(root));
                if vouched != Some(tree.id().as_bytes()) {
                    walk.folder(b"", tree, 0, index.len(), root)?;
                }
            }
        }
        let mut deltas = walk.deltas;
        // libgit2 lists them by path (a type change: the deletion first); with
        // `core.ignorecase` it sorts them again, case-insensitively, additions before deletions
        // before modifications of the same path.
        deltas.sort_by(|a, b| a.path.cmp(&b.path));
        if deltas.len() > 1 && self.ignore_case() {
            fn lower(path: &str) -> impl Iterator<Item = u8> + '_ {
                path.bytes().map(|byte| byte.to_ascii_lowercase())
            }
            deltas.sort_by(|a, b| {
                lower(&a.path)
                    .cmp(lower(&b.path))
                    .then(a.status.cmp(&b.status))
            });
        }
        Ok(deltas.into_iter().filter_map(StagedDelta::change).collect())
    }

    /// `core.ignorecase`, as libgit2 reads it for the index (false when unset or unreadable).
    fn ignore_case(&self) -> bool {
        self.inner
            .config()
            .and_then(|config| config.get_bool("core.ignorecase"))
            .unwrap_or(false)
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
        if let Some(index) = self.index_file() {
            let mut paths = std::collections::BTreeSet::new();
            if index.has_conflicts() {
                for entry in index.entries().filter(|entry| entry.stage != 0) {
                    if let Ok(path) = std::str::from_utf8(entry.path) {
                        if wanted(path) {
                            paths.insert(path.to_string());
                        }
                    }
                }
            }
            return Ok(paths.into_iter().collect());
        }
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
        recent::forget();
    }

    /// The content of a blob, refused when larger than [`MAX_FILE_BYTES`]. A large one is read
    /// once for the whole process ([`recent`]).
    pub fn read_blob(&self, path: &str, oid: Oid) -> Result<Arc<[u8]>, Error> {
        let read = recent::of(oid);
        let mut failed = None;
        let content = read
            .content
            .get_or_init(|| match self.read_blob_now(path, oid) {
                Ok(content) => Some(content),
                Err(error) => {
                    failed = Some(error);
                    None
                }
            });
        if let Some(error) = failed {
            recent::drop(oid);
            return Err(error);
        }
        match content {
            Some(content) => {
                if content.len() < RECENT_FROM {
                    recent::drop(oid);
                }
                Ok(content.clone())
            }
            // It failed for another asker: read for this one's own error.
            None => self.read_blob_now(path, oid),
        }
    }

    /// [`Repo::read_blob`] without [`recent`].
    fn read_blob_now(&self, path: &str, oid: Oid) -> Result<Arc<[u8]>, Error> {
        if let Some(content) = self.read_loose(path, oid) {
            return Ok(content);
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
        Ok(Arc::from(blob.content()))
    }
}

impl Repo {
    /// The blob `oid` from its loose object file, when it is one (what `git add` just wrote is
    /// loose until git packs it), inflated straight into its buffer: libgit2's read costs about
    /// four times as much for a large lockfile. `None` sends the read to libgit2: a packed
    /// object, another object directory (`GIT_OBJECT_DIRECTORY`, a push's quarantine), or any
    /// file that is not exactly one blob of at most [`MAX_FILE_BYTES`].
    fn read_loose(&self, path: &str, oid: Oid) -> Option<Arc<[u8]>> {
        use std::io::Read as _;
        if std::env::var_os("GIT_OBJECT_DIRECTORY").is_some() {
            return None;
        }
        let hex = oid.to_string();
        let object = self
            .inner
            .commondir()
            .join("objects")
            .join(&hex[..2])
            .join(&hex[2..]);
        let file = std::fs::File::open(object).ok()?;
        let mut inflated = flate2::read::ZlibDecoder::new(std::io::BufReader::new(file));
        // The header: `blob <size>` and a NUL.
        let mut header = Vec::with_capacity(32);
        loop {
            let mut byte = [0u8];
            inflated.read_exact(&mut byte).ok()?;
            if byte[0] == 0 {
                break;
            }
            if header.len() == 32 {
                return None;
            }
            header.push(byte[0]);
        }
        let size: usize = std::str::from_utf8(header.strip_prefix(b"blob ")?)
            .ok()?
            .parse()
            .ok()?;
        if size > MAX_FILE_BYTES {
            return None;
        }
        if let Some(content) = self.read_worktree(path, oid, size) {
            return Some(content);
        }
        // One allocation of the final size (a `TrustedLen` iterator), filled in place.
        let mut content: Arc<[u8]> = std::iter::repeat_n(0u8, size).collect();
        inflated.read_exact(Arc::get_mut(&mut content)?).ok()?;
        // Nothing after the content.
        (inflated.read(&mut [0u8]).ok()? == 0).then_some(content)
    }
}

impl Repo {
    /// The blob `oid` of `size` bytes read from the work tree's `path`, when that is a regular
    /// file of that size whose git object id is `oid`: what was just staged is usually what the
    /// work tree still holds, and reading and hashing it costs a fraction of inflating it (git's
    /// own diff reuses a work tree file the same way). The id proves the bytes; anything else
    /// (another size, another content, a symlink, a bare repository, small blobs) is `None`.
    fn read_worktree(&self, path: &str, oid: Oid, size: usize) -> Option<Arc<[u8]>> {
        use sha1::Digest as _;
        use std::io::Read as _;
        if size < WORKTREE_FROM || self.inner.is_bare() {
            return None;
        }
        let file = self.inner.workdir()?.join(path);
        // Not followed: a symlink's target is not the staged file, and a FIFO would never end.
        let metadata = std::fs::symlink_metadata(&file).ok()?;
        if !metadata.is_file() || metadata.len() != size as u64 {
            return None;
        }
        let mut content: Arc<[u8]> = std::iter::repeat_n(0u8, size).collect();
        let mut opened = std::fs::File::open(&file).ok()?;
        opened.read_exact(Arc::get_mut(&mut content)?).ok()?;
        // The file may have grown since: then it is not the blob.
        if opened.read(&mut [0u8]).ok()? != 0 {
            return None;
        }
        let mut hasher = sha1::Sha1::new();
        hasher.update(format!("blob {size}\0").as_bytes());
        hasher.update(&content);
        (hasher.finalize().as_slice() == oid.as_bytes()).then_some(content)
    }
}

/// Blobs this large or larger are read from the work tree when it holds them
/// ([`Repo::read_worktree`]); smaller ones cost little to inflate.
const WORKTREE_FROM: usize = 256 * 1024;

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

/// A regular or executable file's mode, as libgit2's diff reads it.
const BLOB_MODES: [u32; 2] = [0o100_644, 0o100_755];
/// A folder's mode in a tree.
const TREE_MODE: u32 = 0o040_000;
/// The modes a tree entry may have here; another leaves the comparison to libgit2.
const TREE_ENTRY_MODES: [u32; 5] = [0o100_644, 0o100_755, 0o120_000, 0o160_000, TREE_MODE];

/// A delta's status, ordered as libgit2 numbers them (it breaks ties by that number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Added,
    Deleted,
    Modified,
}

/// One difference between `HEAD` and the index, as libgit2's diff would give it.
struct StagedDelta {
    path: String,
    status: Status,
    /// `HEAD`'s side: mode and id.
    old: Option<(u32, Oid)>,
    /// The index's side: mode and id.
    new: Option<(u32, Oid)>,
}

impl StagedDelta {
    /// The [`Change`] [`changes_in`] makes of the same delta.
    fn change(self) -> Option<Change> {
        let blob = |side: Option<(u32, Oid)>| {
            side.and_then(|(mode, oid)| BLOB_MODES.contains(&mode).then_some(oid))
        };
        let not_a_file = |side: Option<(u32, Oid)>| {
            side.and_then(|(mode, oid)| Some((NotAFile::of_mode(mode)?, oid)))
        };
        let (old, new, special) = match self.status {
            Status::Added => (None, blob(self.new), not_a_file(self.new)),
            Status::Deleted => (blob(self.old), None, None),
            Status::Modified => (blob(self.old), blob(self.new), not_a_file(self.new)),
        };
        if old.is_none() && new.is_none() && special.is_none() {
            return None;
        }
        Some(Change {
            path: self.path,
            old: old.into_iter().collect(),
            new,
            not_a_file: special,
        })
    }
}

/// The comparison of the parsed index with `HEAD`'s tree, folder by folder.
struct IndexWalk<'a> {
    repo: &'a Repository,
    index: &'a IndexFile,
    wanted: &'a dyn Fn(&str) -> bool,
    deltas: Vec<StagedDelta>,
}

/// A name in a folder, as trees sort them: a folder's name as if it ended with `/`.
fn tree_order(a: &[u8], a_folder: bool, b: &[u8], b_folder: bool) -> Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then_with(|| {
        let next = |name: &[u8], folder: bool| {
            name.get(common)
                .copied()
                .unwrap_or(if folder { b'/' } else { 0 })
        };
        next(a, a_folder).cmp(&next(b, b_folder))
    })
}

impl IndexWalk<'_> {
    /// Records a delta whose path passes `wanted` (libgit2 drops the addition of an entry
    /// marked "assume unchanged").
    fn record(
        &mut self,
        path: &[u8],
        status: Status,
        old: Option<(u32, Oid)>,
        new: Option<(u32, Oid)>,
    ) {
        let Ok(path) = std::str::from_utf8(path) else {
            return;
        };
        if (self.wanted)(path) {
            self.deltas.push(StagedDelta {
                path: path.to_string(),
                status,
                old,
                new,
            });
        }
    }

    /// Index entries `from..to` are new.
    fn added(&mut self, from: usize, to: usize) {
        for position in from..to {
            let entry = self.index.entry(position);
            if entry.assume_valid {
                continue;
            }
            let Ok(oid) = Oid::from_bytes(entry.oid) else {
                continue;
            };
            self.record(entry.path, Status::Added, None, Some((entry.mode, oid)));
        }
    }

    /// Everything under `tree` (at `prefix`, ending with `/`) is gone from the index.
    fn deleted(&mut self, prefix: &[u8], tree: &git2::Tree<'_>) -> Result<(), git2::Error> {
        too_deep(prefix)?;
        for entry in tree.iter() {
            let mode = tree_entry_mode(&entry)?;
            let mut path = prefix.to_vec();
            path.extend_from_slice(entry.name_bytes());
            if mode == TREE_MODE {
                path.push(b'/');
                let subtree = self.repo.find_tree(entry.id())?;
                self.deleted(&path, &subtree)?;
            } else {
                self.record(&path, Status::Deleted, Some((mode, entry.id())), None);
            }
        }
        Ok(())
    }

    /// Compares folder `prefix` (empty, or ending with `/`) of `HEAD`, `tree`, with index
    /// entries `from..to` (those under `prefix`); `cache` is the folder's cache-tree node.
    fn folder(
        &mut self,
        prefix: &[u8],
        tree: &git2::Tree<'_>,
        from: usize,
        to: usize,
        cache: Option<&TreeNode>,
    ) -> Result<(), git2::Error> {
        too_deep(prefix)?;
        let unusual = || git2::Error::from_str("an unusual tree");
        let mut items = Vec::with_capacity(tree.len());
        for entry in tree.iter() {
            let mode = tree_entry_mode(&entry)?;
            items.push((entry, mode));
        }
        items.sort_by(|(a, a_mode), (b, b_mode)| {
            tree_order(
                a.name_bytes(),
                *a_mode == TREE_MODE,
                b.name_bytes(),
                *b_mode == TREE_MODE,
            )
        });
        if items.windows(2).any(|pair| {
            tree_order(
                pair[0].0.name_bytes(),
                pair[0].1 == TREE_MODE,
                pair[1].0.name_bytes(),
                pair[1].1 == TREE_MODE,
            ) == Ordering::Equal
        }) {
            return Err(unusual());
        }
        let mut items = items.into_iter().peekable();
        let mut position = from;
        loop {
            // The next name on the index's side: one entry, or a folder of them.
            let next = (position < to).then(|| {
                let entry = self.index.entry(position);
                let rest = &entry.path[prefix.len()..];
                match rest.iter().position(|byte| *byte == b'/') {
                    Some(slash) => {
                        let folder = &entry.path[..prefix.len() + slash + 1];
                        let end = self.index.end_of_prefix(position, to, folder);
                        (&rest[..slash], true, end)
                    }
                    None => (rest, false, position + 1),
                }
            });
            let order = match (&next, items.peek()) {
                (None, None) => return Ok(()),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (Some((name, folder, _)), Some((entry, mode))) => {
                    tree_order(entry.name_bytes(), *mode == TREE_MODE, name, *folder)
                }
            };
            let mut path = prefix.to_vec();
            match order {
                Ordering::Less => {
                    let (entry, mode) = items.next().ok_or_else(unusual)?;
                    path.extend_from_slice(entry.name_bytes());
                    if mode == TREE_MODE {
                        path.push(b'/');
                        self.deleted(&path, &self.repo.find_tree(entry.id())?)?;
                    } else {
                        self.record(&path, Status::Deleted, Some((mode, entry.id())), None);
                    }
                }
                Ordering::Greater => {
                    let (_, _, end) = next.ok_or_else(unusual)?;
                    self.added(position, end);
                    position = end;
                }
                Ordering::Equal => {
                    let (name, folder, end) = next.ok_or_else(unusual)?;
                    let (entry, mode) = items.next().ok_or_else(unusual)?;
                    if folder {
                        let child = cache.and_then(|node| self.index.cache_child(node, name));
                        let vouched = child.and_then(|node| self.index.cached_tree(node));
                        if vouched != Some(entry.id().as_bytes()) {
                            path.extend_from_slice(name);
                            path.push(b'/');
                            let subtree = self.repo.find_tree(entry.id())?;
                            self.folder(&path, &subtree, position, end, child)?;
                        }
                    } else {
                        let staged = self.index.entry(position);
                        let new_oid = Oid::from_bytes(staged.oid)?;
                        let old = Some((mode, entry.id()));
                        let new = Some((staged.mode, new_oid));
                        if mode & 0o170_000 != staged.mode & 0o170_000 {
                            // A type change: libgit2 splits it into a deletion and an addition.
                            self.record(staged.path, Status::Deleted, old, None);
                            if !staged.assume_valid {
                                self.record(staged.path, Status::Added, None, new);
                            }
                        } else if entry.id() != new_oid
                            || mode != staged.mode
                            || entry.id().is_zero()
                        {
                            self.record(staged.path, Status::Modified, old, new);
                        }
                    }
                    position = end;
                }
            }
        }
    }
}

/// Folders nested deeper than any index path can be (each level costs a stack frame here) are
/// left to libgit2, which walks them without recursing.
fn too_deep(prefix: &[u8]) -> Result<(), git2::Error> {
    if prefix.len() > MAX_PATH {
        return Err(git2::Error::from_str("folders nested too deep"));
    }
    Ok(())
}

/// A tree entry's mode as written, when it is one git writes.
fn tree_entry_mode(entry: &git2::TreeEntry<'_>) -> Result<u32, git2::Error> {
    u32::try_from(entry.filemode_raw())
        .ok()
        .filter(|mode| TREE_ENTRY_MODES.contains(mode))
        .ok_or_else(|| git2::Error::from_str("an unusual tree entry mode"))
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

    fn read(&self, path: &str) -> Result<Option<Arc<[u8]>>, Error> {
        match self.source.blob(path) {
            Some(oid) => self.repo.read_blob(path, oid).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Change, NotAFile, Repo};
    use std::path::Path;
    use std::process::Command;

    /// Runs git hermetically in `dir` (no system or global configuration).
    fn git(dir: &Path, args: &[&str]) {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=Lockgate Test",
                "-c",
                "user.email=test@lockgate.invalid",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// A blob `git add` wrote is read from its loose file as libgit2 reads it; what is not a
    /// whole loose blob (packed, a tree, a damaged file) is libgit2's to read.
    #[test]
    fn loose_blobs_are_read_as_libgit2_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        git(dir, &["init", "-q"]);
        let text = "{\n  \"lockfileVersion\": 3\n}\n".repeat(5000);
        write(dir, "package-lock.json", &text);
        write(dir, "empty", "");
        git(dir, &["add", "."]);
        let repo = Repo::open_at(dir).unwrap();
        let index = repo.inner.index().unwrap();
        let oid = |path: &str| index.get_path(Path::new(path), 0).unwrap().id;
        let (lock, empty) = (oid("package-lock.json"), oid("empty"));
        assert_eq!(
            &*repo.read_loose("package-lock.json", lock).unwrap(),
            text.as_bytes()
        );
        assert_eq!(&*repo.read_loose("empty", empty).unwrap(), b"");
        git(dir, &["commit", "-q", "-m", "one"]);
        let tree = repo.inner.head().unwrap().peel_to_tree().unwrap().id();
        assert!(repo.read_loose("", tree).is_none(), "a tree is no blob");
        // Damaged: cut short.
        let hex = lock.to_string();
        let path = dir.join(".git/objects").join(&hex[..2]).join(&hex[2..]);
        let whole = std::fs::read(&path).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&path, permissions).unwrap();
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        assert!(repo.read_loose("package-lock.json", lock).is_none());
        std::fs::write(&path, &whole).unwrap();
        // Packed: no loose file, and libgit2 reads it.
        git(dir, &["gc", "-q", "--prune=now"]);
        let repo = Repo::open_at(dir).unwrap();
        assert!(repo.read_loose("package-lock.json", lock).is_none());
        assert_eq!(
            &*repo.read_blob("package-lock.json", lock).unwrap(),
            text.as_bytes()
        );
    }

    /// A repository in `dir` with a package-lock.json of `copies` times a small object and a
    /// small.json staged: the repository, the lockfile's text, and both blobs' ids.
    fn staged_lock_and_small(dir: &Path, copies: usize) -> (Repo, String, git2::Oid, git2::Oid) {
        git(dir, &["init", "-q"]);
        let text = "{\n  \"lockfileVersion\": 3\n}\n".repeat(copies);
        write(dir, "package-lock.json", &text);
        write(dir, "small.json", "{}\n");
        git(dir, &["add", "."]);
        let repo = Repo::open_at(dir).unwrap();
        let index = repo.inner.index().unwrap();
        let oid = |path: &str| index.get_path(Path::new(path), 0).unwrap().id;
        let (lock, small) = (oid("package-lock.json"), oid("small.json"));
        drop(index);
        (repo, text, lock, small)
    }

    /// A large staged blob is read from the work tree only when the file there is that blob, as
    /// its object id proves: not after an edit of the same size, not through a symlink, not a
    /// file that grew. Whichever way it is read, it is the staged content.
    #[test]
    fn a_staged_blob_is_read_from_the_work_tree_only_when_its_id_proves_it() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let (repo, text, lock, small) = staged_lock_and_small(dir, 20_000);
        assert!(text.len() >= super::WORKTREE_FROM);
        let size = text.len();
        let read = |path: &str| repo.read_worktree(path, lock, size);
        assert_eq!(&*read("package-lock.json").unwrap(), text.as_bytes());
        assert!(
            repo.read_worktree("small.json", small, 3).is_none(),
            "small"
        );
        assert!(read("missing.json").is_none());
        // The same size, another byte: not the blob.
        let edited = text.replacen('3', "4", 1);
        write(dir, "package-lock.json", &edited);
        assert!(read("package-lock.json").is_none());
        assert_eq!(
            &*repo.read_blob("package-lock.json", lock).unwrap(),
            text.as_bytes()
        );
        // A symlink to a file holding the blob is not followed.
        write(dir, "elsewhere.json", &text);
        std::fs::remove_file(dir.join("package-lock.json")).unwrap();
        std::os::unix::fs::symlink("elsewhere.json", dir.join("package-lock.json")).unwrap();
        assert!(read("package-lock.json").is_none());
        assert!(read("elsewhere.json").is_some(), "the file itself is");
        // Longer than the blob.
        write(dir, "longer.json", &format!("{text} "));
        assert!(read("longer.json").is_none());
    }

    /// A large blob is read once for every handle and thread of the process, small ones each
    /// time; the parse memo knows the shared read by its memory until it is let go.
    #[test]
    fn a_large_blob_is_read_once_for_every_handle_and_thread() {
        use std::sync::Arc;
        let folder = tempfile::tempdir().unwrap();
        let (repo, text, lock, small) = staged_lock_and_small(folder.path(), 4_000);
        assert!(text.len() >= super::RECENT_FROM);
        let reads: Vec<Arc<[u8]>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let reopen = repo.reopen();
                    scope.spawn(move || {
                        let repo = reopen.open().unwrap();
                        repo.read_blob("package-lock.json", lock).unwrap()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap())
                .collect()
        });
        assert_eq!(&*reads[0], text.as_bytes());
        assert!(reads.iter().all(|read| Arc::ptr_eq(read, &reads[0])));
        assert!(super::shared_blob(&reads[0]).is_some());
        assert!(super::shared_blob(&reads[0][1..]).is_none(), "part of it");
        let copy = reads[0].to_vec();
        assert!(super::shared_blob(&copy).is_none(), "a copy");
        let (a, b) = (
            repo.read_blob("small.json", small).unwrap(),
            repo.read_blob("small.json", small).unwrap(),
        );
        assert_eq!(&*a, b"{}\n");
        assert!(!Arc::ptr_eq(&a, &b), "small blobs are not kept");
        repo.forget_recent();
        assert!(super::shared_blob(&reads[0]).is_none());
        let again = repo.read_blob("package-lock.json", lock).unwrap();
        assert!(!Arc::ptr_eq(&again, &reads[0]));
    }

    /// The staged changes of the repository at `dir` both ways: read directly (which must not
    /// fall back) and through libgit2's diff of the whole index.
    fn both_ways(dir: &Path) -> (Vec<Change>, Vec<Change>) {
        let repo = Repo::open_at(dir).unwrap();
        let everything = |_: &str| true;
        let index = repo.index_file().expect("the index is read directly");
        assert!(!index.has_conflicts());
        let head = repo.head_tree().unwrap();
        let direct = repo
            .staged_changes_from(index, head.as_ref(), &everything)
            .expect("compared without libgit2's index");
        let libgit2 = repo.staged_changes_through_libgit2(&everything).unwrap();
        (direct, libgit2)
    }

    #[track_caller]
    fn assert_same(dir: &Path, case: &str) {
        let (direct, libgit2) = both_ways(dir);
        assert_eq!(direct, libgit2, "{case}");
    }

    /// The direct comparison of the index with `HEAD` gives what libgit2's diff gives, change
    /// for change and in the same order, through the ways git leaves an index: cache tree valid,
    /// invalidated by `git add`, rewritten by `git write-tree`, dropped by `git read-tree`,
    /// index version 4; type changes, folder/file swaps, symlinks, gitlinks, modes, deletions of
    /// whole folders, names that sort around `/`, an unborn `HEAD`, `core.ignorecase`.
    #[test]
    fn the_direct_comparison_agrees_with_libgit2() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        git(dir, &["init", "-q", "-b", "main"]);
        for path in [
            "README.md",
            "a.b",
            "a/x.js",
            "a-b/y.js",
            "a0",
            "web/package-lock.json",
            "web/package.json",
            "web/deep/er/requirements.txt",
            "gone/one.txt",
            "gone/two/three.txt",
            "swap/inner.txt",
            "file-then-folder",
            "link-me",
            "Case.txt",
        ] {
            write(dir, path, &format!("{path}\n"));
        }
        git(dir, &["add", "."]);
        // Unborn HEAD: everything is added.
        assert_same(dir, "unborn HEAD");
        git(dir, &["commit", "-q", "-m", "start"]);
        assert_same(dir, "nothing staged");
        assert!(both_ways(dir).0.is_empty());

        write(dir, "web/package-lock.json", "changed\n");
        write(dir, "README.md", "changed\n");
        write(dir, "new/folder/package-lock.json", "{}\n");
        git(dir, &["add", "web/package-lock.json", "README.md", "new"]);
        git(dir, &["rm", "-q", "-r", "gone"]);
        git(dir, &["rm", "-q", "-r", "swap"]);
        write(dir, "swap", "now a file\n");
        git(dir, &["rm", "-q", "file-then-folder"]);
        write(dir, "file-then-folder/inside.txt", "now a folder\n");
        git(dir, &["rm", "-q", "link-me"]);
        std::os::unix::fs::symlink("README.md", dir.join("link-me")).unwrap();
        git(dir, &["add", "swap", "file-then-folder", "link-me"]);
        git(dir, &["update-index", "--chmod=+x", "a0"]);
        let head = String::from_utf8(
            Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(dir)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let gitlink = format!("160000,{},vendor/sub", head.trim());
        git(dir, &["update-index", "--add", "--cacheinfo", &gitlink]);
        let (direct, libgit2) = both_ways(dir);
        assert_eq!(direct, libgit2, "after git add");
        let paths: Vec<&str> = direct.iter().map(|change| change.path.as_str()).collect();
        for expected in [
            "README.md",
            "a0",
            "file-then-folder",
            "file-then-folder/inside.txt",
            "gone/one.txt",
            "gone/two/three.txt",
            "link-me",
            "new/folder/package-lock.json",
            "swap",
            "swap/inner.txt",
            "vendor/sub",
            "web/package-lock.json",
        ] {
            assert!(paths.contains(&expected), "{expected} in {paths:?}");
        }

        // The cache tree valid everywhere, naming trees HEAD does not have.
        git(dir, &["write-tree"]);
        assert_same(dir, "after git write-tree");
        // Index version 4 (prefix-compressed paths).
        git(dir, &["update-index", "--index-version", "4"]);
        assert_same(dir, "index version 4");
        git(dir, &["update-index", "--index-version", "2"]);
        // No cache tree at all.
        git(dir, &["read-tree", "--empty"]);
        git(dir, &["read-tree", "HEAD"]);
        write(dir, "web/package.json", "{\"changed\": true}\n");
        git(dir, &["add", "web/package.json"]);
        assert_same(dir, "after git read-tree");
        // A new file marked "assume unchanged", which libgit2's diff leaves out.
        write(dir, "assumed.txt", "assumed\n");
        git(dir, &["add", "assumed.txt"]);
        git(
            dir,
            &[
                "update-index",
                "--assume-unchanged",
                "assumed.txt",
                "README.md",
            ],
        );
        assert_same(dir, "assume unchanged");
        git(dir, &["commit", "-q", "-m", "second"]);
        assert_same(dir, "after git commit");

        // Case-insensitive order: additions before deletions of the same path.
        git(dir, &["config", "core.ignorecase", "true"]);
        git(dir, &["rm", "-q", "--cached", "Case.txt"]);
        write(dir, "case.TXT", "other\n");
        write(dir, "B.txt", "b\n");
        git(dir, &["add", "case.TXT", "B.txt"]);
        git(dir, &["rm", "-q", "--cached", "link-me"]);
        write(dir, "link-me-not", "plain\n");
        git(dir, &["add", "link-me-not"]);
        assert_same(dir, "core.ignorecase");
    }

    #[test]
    fn a_split_index_and_a_corrupt_index_fall_back_to_libgit2() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        git(dir, &["init", "-q", "-b", "main"]);
        write(dir, "README.md", "start\n");
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", "start"]);
        write(dir, "package-lock.json", "{}\n");
        git(dir, &["add", "package-lock.json"]);
        git(dir, &["update-index", "--split-index"]);
        let repo = Repo::open_at(dir).unwrap();
        assert!(repo.index_file().is_none(), "a split index is libgit2's");

        // Truncated: not read here; libgit2 decides (it refuses it).
        git(dir, &["update-index", "--no-split-index"]);
        let bytes = std::fs::read(dir.join(".git/index")).unwrap();
        std::fs::write(dir.join(".git/index"), &bytes[..bytes.len() / 2]).unwrap();
        let repo = Repo::open_at(dir).unwrap();
        assert!(repo.index_file().is_none());
        assert!(repo.staged_changes(|_| true).is_err());
    }

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
