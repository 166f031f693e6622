//! What a check covers, collected from git: the lockfile changes of the staged commit (or of
//! the pushed commits, or every lockfile for `--all`), what each adds to the versions it
//! replaces, and the problems of the projects those changes touch (lockfile presence and sync,
//! read from the same snapshot, offline).

use crate::cilint;
use crate::ecosystem::{
    self, is_relevant, no_includes, project_problems, Files as _, Fixing, Format, ParseError,
};
use crate::error::Error;
use crate::package::{LockedSet, Package};
use crate::report::{Problem, ProblemKind};
use crate::{git, push, sanitize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

/// One lockfile and the dependencies to check in it.
pub(crate) struct LockfileToCheck {
    pub(crate) path: String,
    /// What to check: what the change adds, or everything for `--all`.
    /// (Shared with the parse cache: a lockfile that is new in whole is not copied.)
    pub(crate) locked: Rc<LockedSet>,
    /// Everything the new version locks, when `locked` is only part of it (for the chains of
    /// dependencies that bring a finding in); `None` when `locked` is all there is to go by.
    pub(crate) whole: Option<Rc<LockedSet>>,
    /// The settings files its package manager reads, as the snapshot has them: by path, from
    /// the lockfile's folder up to the repository root, nearest first.
    pub(crate) settings_files: Rc<Vec<(String, Vec<u8>)>>,
    /// Of each package the change upgrades (or downgrades), the versions it replaces.
    pub(crate) replaced: Rc<Replaced>,
    /// What it does to the entries it keeps or upgrades.
    pub(crate) changes: Rc<Changes>,
}

/// The files that say where a package manager downloads from and how old a release it takes,
/// and the manifests that say what the project asks for (composer.json and Pipfile where the
/// lockfile does not record it).
const SETTINGS_FILES: [&str; 9] = [
    "package.json",
    ".npmrc",
    ".yarnrc.yml",
    "pnpm-workspace.yaml",
    "bunfig.toml",
    "pyproject.toml",
    "uv.toml",
    "composer.json",
    "Pipfile",
];

/// The largest settings file read.
const MAX_SETTINGS_FILE: usize = 1024 * 1024;

/// The settings files around the lockfile at `path` in `tree`, nearest first.
fn settings_files<T: ecosystem::Files + ?Sized>(
    tree: &T,
    path: &str,
) -> Rc<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let mut folder = ecosystem::folder_of(path).to_string();
    loop {
        for name in SETTINGS_FILES {
            let file = ecosystem::join_path(&folder, name);
            if let Ok(Some(bytes)) = tree.read(&file) {
                if bytes.len() <= MAX_SETTINGS_FILE {
                    found.push((file, bytes.to_vec()));
                }
            }
        }
        if folder.is_empty() {
            break;
        }
        folder = ecosystem::folder_of(&folder).to_string();
    }
    Rc::new(found)
}

/// What one mode found to check: lockfiles with the packages to ask OSV about, and the
/// problems the local checks found.
#[derive(Default)]
pub(crate) struct Scope {
    pub(crate) lockfiles: Vec<LockfileToCheck>,
    pub(crate) problems: Vec<Problem>,
    /// Pre-push: what the pushed commits add one by one (merges against their first parent),
    /// where the updated refs do not keep it all. Only malware is reported from these: it stays
    /// in the history a push hands over, while a vulnerability a later commit removed does not
    /// reach the ref.
    pub(crate) history: Vec<LockfileToCheck>,
    /// Pre-push: the pushed commit that first added each (lockfile, package), as its short id and
    /// its subject.
    pub(crate) introduced_by: BTreeMap<(String, Package), (String, Option<String>)>,
    /// What was read, when it is not what the mode says (`--all` in a bare repository reads
    /// `HEAD`, having no index).
    pub(crate) read: Option<String>,
}

/// Stops with [`Error::Conflicted`] when the index holds an unresolved merge conflict in a file
/// lockgate reads. Conflicts elsewhere are not lockgate's to judge (git will not commit them
/// anyway), and a clean index costs one pass over its entries in memory.
fn refuse_conflicts(repo: &git::Repo) -> Result<(), Error> {
    let paths = repo.conflicted_paths(is_relevant)?;
    if paths.is_empty() {
        return Ok(());
    }
    Err(Error::Conflicted {
        paths: paths
            .iter()
            .map(|path| sanitize::clean(path).into_owned())
            .collect(),
    })
}

/// Takes the changes whose new side is a symlink or a submodule out of `changes` (there is no
/// file to read there), and returns a blocking problem for each that sits where a lockfile or a
/// manifest belongs. `commit` names the pushed commit that made the change.
fn take_not_files(changes: &mut Vec<git::Change>, commit: Option<&str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    changes.retain(|change| match change.not_a_file {
        None => true,
        Some((kind, _)) => {
            if is_relevant(&change.path) {
                problems.push(not_a_file_problem(&change.path, kind, commit));
            }
            false
        }
    });
    problems
}

/// A lockfile or manifest that is a symlink or a submodule: what lockgate would check is not
/// what the package manager reads, so it blocks.
fn not_a_file_problem(path: &str, kind: git::NotAFile, commit: Option<&str>) -> Problem {
    let role = if ecosystem::format_of(path).is_some() {
        "the lockfile"
    } else {
        "the manifest"
    };
    let consequence = match kind {
        git::NotAFile::Gitlink => format!(
            "there is no file here for lockgate to check: remove it (`git rm --cached {path}`) \
             and commit the file itself"
        ),
        git::NotAFile::Symlink => "what lockgate would check is not what your tools read \
                                   through it: commit the file itself in place of the link"
            .to_string(),
    };
    let commit = commit
        .map(|commit| format!("in commit {commit}: "))
        .unwrap_or_default();
    Problem::new(
        ProblemKind::LockfileNotAFile,
        path,
        &format!(
            "{commit}{role} is not a file but {}, so {consequence}",
            kind.describe()
        ),
        true,
    )
}

/// The pre-commit mode: what the staged lockfiles add to `HEAD`'s, and the projects whose
/// manifest or lockfile is staged. A commit that touches neither costs one index diff.
pub(crate) fn staged_scope(repo: &git::Repo) -> Result<Scope, Error> {
    if repo.is_bare() {
        return Err(Error::BareRepository);
    }
    refuse_conflicts(repo)?;
    // Files that lockfiles may include too (`-r common.txt`): they can change alone.
    let mut staged = repo.staged_changes(|path| {
        is_relevant(path) || ecosystem::may_be_included(path) || cilint::ci_file(path).is_some()
    })?;
    let mut problems = take_not_files(&mut staged, None);
    // CI and build files are linted as staged; they are no lockfile's business otherwise. The
    // index is opened only if a rule needs another file of it.
    let index = std::cell::OnceCell::new();
    let files = || {
        index
            .get_or_init(|| git::IndexTree::new(repo).ok())
            .as_ref()
    };
    let staged = lint_ci_changes(repo, staged, &files, &mut problems)?;
    let (changes, included): (Vec<git::Change>, Vec<git::Change>) = staged
        .into_iter()
        .partition(|change| is_relevant(&change.path));
    if changes.is_empty() && included.is_empty() {
        return Ok(Scope {
            problems,
            ..Scope::default()
        });
    }
    let triggers = trigger_paths(&changes);
    let index = git::IndexTree::new(repo)?;
    let head = repo
        .head_commit()?
        .map(|head| repo.commit_tree(head))
        .transpose()?;
    let parallel = crate::second_core();
    let (lockfiles, project) = std::thread::scope(|scope| {
        // With a second core, the project checks (the sync check) read the same staged files
        // on their own thread, with their own handle on the repository (libgit2's are not
        // shared), while the lockfiles' additions are worked out here; a lockfile's parse is
        // shared (ecosystem::memo), whichever side asks first.
        let reopen = repo.reopen();
        let project = (parallel && !triggers.is_empty()).then(|| {
            scope.spawn(|| {
                let repo = reopen.open()?;
                let index = git::IndexTree::new(&repo)?;
                project_problems(&index, Some(&triggers), Fixing::Staged)
            })
        });
        let lockfiles = additions(
            repo,
            &mut Parsed::default(),
            &index,
            head.as_ref(),
            changes,
            &included,
            &mut problems,
        );
        let project = project.map(|thread| {
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (lockfiles, project)
    });
    let lockfiles = lockfiles?;
    match project {
        Some(project) => problems.extend(project?),
        None if !triggers.is_empty() => {
            problems.extend(project_problems(&index, Some(&triggers), Fixing::Staged)?);
        }
        None => {}
    }
    Ok(Scope {
        lockfiles,
        problems,
        ..Scope::default()
    })
}

/// What the lockfiles among `changes` add in snapshot `new` (the index, or a pushed ref's tip)
/// to their versions in `old` (`HEAD`, or what the remote has). `included` are changed files
/// that requirements files may include: each requirements file of `new` that includes one is
/// read again.
fn additions<S: git::Source>(
    repo: &git::Repo,
    parsed: &mut Parsed,
    new: &git::Snapshot<'_, S>,
    old: Option<&git::CommitTree<'_>>,
    mut changes: Vec<git::Change>,
    included: &[git::Change],
    problems: &mut Vec<Problem>,
) -> Result<Vec<LockfileToCheck>, Error> {
    let new_includes = includes_of(new);
    let old_includes = old.map(includes_of);
    let old_includes: &Includes<'_> = match &old_includes {
        Some(reader) => reader,
        None => &no_includes,
    };
    including_requirements(new, old, included, &mut changes);
    let mut lockfiles = Vec::new();
    for change in &changes {
        match parsed.added_by(repo, change, &new_includes, old_includes) {
            Ok(Some((locked, whole, replaced, changes))) => lockfiles.push(LockfileToCheck {
                path: change.path.clone(),
                locked,
                whole,
                settings_files: settings_files(new, &change.path),
                replaced,
                changes,
            }),
            Ok(None) => {}
            Err(error) => problems.push(unreadable(error)?),
        }
    }
    Ok(lockfiles)
}

/// A change to a file that requirements files include (`included`) makes each requirements
/// file of the new snapshot (the index, or a pushed commit) that includes it, directly or not,
/// a change too; its old side is its version in `old` (`HEAD`, or the commit's parent).
fn including_requirements<S: git::Source>(
    index: &git::Snapshot<'_, S>,
    head: Option<&git::CommitTree<'_>>,
    included: &[git::Change],
    changes: &mut Vec<git::Change>,
) {
    if included.is_empty() {
        return;
    }
    let read = includes_of(index);
    let requirements: Vec<String> = index
        .paths()
        .filter(|path| ecosystem::format_of(path).is_some_and(|format| format.has_includes()))
        .filter(|path| !changes.iter().any(|change| change.path == *path))
        .map(str::to_string)
        .collect();
    for path in requirements {
        let Some(format) = ecosystem::format_of(&path) else {
            continue;
        };
        let closure = format.included_files(&path, &read);
        if closure
            .iter()
            .any(|file| included.iter().any(|change| change.path == *file))
        {
            changes.push(git::Change {
                old: head.and_then(|tree| tree.blob(&path)).into_iter().collect(),
                new: index.blob(&path),
                not_a_file: None,
                path,
            });
        }
    }
}

/// `--all`: every lockfile in the index, whole, and every npm project root. A bare repository
/// has no index worth reading: there it is `HEAD`'s tree.
pub(crate) fn all_scope(repo: &git::Repo) -> Result<Scope, Error> {
    if !repo.is_bare() {
        refuse_conflicts(repo)?;
        return whole_snapshot(repo, &git::IndexTree::new(repo)?);
    }
    let mut scope = match repo.head_commit()? {
        Some(head) => whole_snapshot(repo, &repo.commit_tree(head)?)?,
        None => Scope::default(),
    };
    scope.read = Some("HEAD".to_string());
    Ok(scope)
}

/// Every lockfile of `tree`, whole; every project's lockfile check; and every symlink or
/// submodule where a lockfile or manifest belongs.
fn whole_snapshot<S: git::Source>(
    repo: &git::Repo,
    tree: &git::Snapshot<'_, S>,
) -> Result<Scope, Error> {
    let includes = includes_of(tree);
    let mut lockfiles = Vec::new();
    let mut unread = Vec::new();
    let mut linted = Vec::new();
    for path in tree.paths() {
        if let (Some(kind), Some(oid)) = (cilint::ci_file(path), tree.blob(path)) {
            let read = |other: &str| tree.read(other).ok().flatten().map(|bytes| bytes.to_vec());
            linted.extend(lint_ci(repo, path, kind, oid, &read)?);
            continue;
        }
        let (Some(format), Some(oid)) = (ecosystem::format_of(path), tree.blob(path)) else {
            continue;
        };
        match parse(repo, format, path, oid, &includes) {
            Ok(locked) => lockfiles.push(LockfileToCheck {
                whole: None,
                locked: Rc::new(locked),
                path: path.to_string(),
                // What makes a package private is read here too: --all names none to OSV.
                settings_files: settings_files(tree, path),
                replaced: Rc::default(),
                changes: Rc::default(),
            }),
            Err(error) => unread.push(unreadable(error)?),
        }
    }
    let mut problems: Vec<Problem> = tree
        .not_files(is_relevant)
        .into_iter()
        .map(|(path, kind)| not_a_file_problem(&path, kind, None))
        .collect();
    problems.extend(unread);
    problems.extend(project_problems(tree, None, Fixing::Staged)?);
    problems.extend(linted);
    Ok(Scope {
        lockfiles,
        problems,
        ..Scope::default()
    })
}

/// One ref a push updates: the commit it is set to, and what the remote has there now (`None`
/// for a ref new there, or a commit this repository does not have).
struct PushedRef {
    tip: git2::Oid,
    old: Option<git2::Oid>,
}

/// The pre-push mode, from git's pre-push lines: see [`pushed_refs_scope`].
pub(crate) fn push_scope(repo: &git::Repo, remote: &str, input: &str) -> Result<Scope, Error> {
    let updates = push::parse(input).map_err(|error| Error::PushInput {
        message: error.to_string(),
    })?;
    let mut refs = Vec::new();
    for update in &updates {
        let Some(local) = &update.local_sha else {
            continue; // Deleting a remote ref adds nothing.
        };
        // Peeled: a pushed annotated tag names the commit it tags.
        refs.push(PushedRef {
            tip: repo.resolve(local)?,
            old: match &update.remote_sha {
                Some(old) => repo.resolve(old).ok(),
                None => None,
            },
        });
    }
    pushed_refs_scope(repo, remote, &refs)
}

/// The pre-push mode as the pre-commit framework runs it: the one ref it names in its
/// environment (see [`push::from_framework`]), read as [`pushed_refs_scope`] reads git's lines.
/// `None` when the environment names no push (the hook run by hand).
pub(crate) fn framework_push_scope(repo: &git::Repo) -> Result<Option<Scope>, Error> {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let Some(pushed) = push::from_framework(variable) else {
        return Ok(None);
    };
    let tip = repo.resolve(&pushed.to)?;
    let old = pushed
        .from
        .as_deref()
        .and_then(|from| repo.resolve(from).ok());
    pushed_refs_scope(repo, &pushed.remote, &[PushedRef { tip, old }]).map(Some)
}

/// What a push adds to each ref it updates. For each ref: the packages its new tip locks that
/// its base did not (the remote's old tip of that ref; for a ref new there, where the tip's
/// first-parent line meets what the remote has, see [`git::Repo::push_base`]); and what each
/// commit between the base and the tip adds to its first parent ([`Scope::history`]), so that
/// malware added and removed again within the push, or merged in from a branch the remote
/// already has, is still found. The projects whose files differ between base and tip are judged
/// as the tip has them.
fn pushed_refs_scope(repo: &git::Repo, remote: &str, refs: &[PushedRef]) -> Result<Scope, Error> {
    let wanted = |path: &str| is_relevant(path) || ecosystem::may_be_included(path);
    let mut parsed = Parsed::default();
    let mut gained: BTreeMap<String, LockfileToCheck> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut commits: Vec<git2::Oid> = Vec::new();
    let mut seen: std::collections::HashSet<git2::Oid> = std::collections::HashSet::new();
    let mut tips: Vec<(git2::Oid, Vec<String>)> = Vec::new();
    // Each package a ref gains, with the tip it is locked at: the commit to name when no pushed
    // commit adds it (a force push back to an older commit).
    let mut at_tip: BTreeMap<(String, Package), git2::Oid> = BTreeMap::new();
    for pushed in refs {
        let base = match pushed.old {
            Some(old) => Some(old),
            None => repo.push_base(pushed.tip, remote)?,
        };
        for commit in repo.commits_between(pushed.tip, base)? {
            if seen.insert(commit) {
                commits.push(commit);
            }
        }
        if tips.iter().any(|(tip, _)| *tip == pushed.tip) {
            continue;
        }
        let mut changed = repo.changes_between(base, pushed.tip, |path: &str| {
            wanted(path) || cilint::ci_file(path).is_some()
        })?;
        // Reported by the commit that put it there, below.
        changed.retain(|change| change.not_a_file.is_none());
        // CI and build files are linted as the tip has them.
        let tip_tree = std::cell::OnceCell::new();
        let files = || {
            tip_tree
                .get_or_init(|| repo.commit_tree(pushed.tip).ok())
                .as_ref()
        };
        let changed = lint_ci_changes(repo, changed, &files, &mut problems)?;
        let (changes, included): (Vec<git::Change>, Vec<git::Change>) = changed
            .into_iter()
            .partition(|change| is_relevant(&change.path));
        let touched = trigger_paths(&changes);
        if !changes.is_empty() || !included.is_empty() {
            let tree = repo.commit_tree(pushed.tip)?;
            let base_tree = base.map(|base| repo.commit_tree(base)).transpose()?;
            let lockfiles = additions(
                repo,
                &mut parsed,
                &tree,
                base_tree.as_ref(),
                changes,
                &included,
                &mut problems,
            )?;
            for lockfile in lockfiles {
                for package in lockfile.locked.packages() {
                    at_tip
                        .entry((lockfile.path.clone(), package))
                        .or_insert(pushed.tip);
                }
                let path = lockfile.path.clone();
                let to_check = gained.entry(lockfile.path).or_insert(LockfileToCheck {
                    path,
                    locked: Rc::default(),
                    whole: None,
                    settings_files: lockfile.settings_files.clone(),
                    replaced: Rc::default(),
                    changes: Rc::default(),
                });
                Rc::make_mut(&mut to_check.locked).extend(Rc::unwrap_or_clone(lockfile.locked));
                to_check.whole = lockfile.whole;
                Rc::make_mut(&mut to_check.replaced).extend(Rc::unwrap_or_clone(lockfile.replaced));
            }
        }
        tips.push((pushed.tip, touched));
    }

    let (mut history, mut introduced_by, mut history_settings) =
        pushed_history(repo, &mut parsed, &commits, &wanted, &mut problems)?;
    for (tip, touched) in &tips {
        if touched.is_empty() {
            continue;
        }
        let tree = repo.commit_tree(*tip)?;
        let name = repo.describe_commit(*tip);
        problems.extend(project_problems(
            &tree,
            Some(touched),
            Fixing::Pushed(&name),
        )?);
    }
    // What the refs keep is reported in full; the history, only where it adds to that.
    for (path, gained) in &gained {
        if let Some(passed) = history.get_mut(path) {
            let kept = gained.locked.packages();
            passed
                .entries
                .retain(|entry| !(entry.is_queryable() && kept.contains(&entry.package)));
            passed
                .unpinned
                .retain(|unpinned| !gained.locked.unpinned.contains(unpinned));
        }
    }
    for (key, tip) in at_tip {
        introduced_by
            .entry(key)
            .or_insert_with(|| (git::short_id(tip), repo.commit_subject(tip)));
    }
    Ok(Scope {
        lockfiles: gained.into_values().collect(),
        history: history
            .into_iter()
            .map(|(path, locked)| LockfileToCheck {
                settings_files: Rc::new(history_settings.remove(&path).unwrap_or_default()),
                path,
                locked: Rc::new(locked),
                whole: None,
                replaced: Rc::default(),
                changes: Rc::default(),
            })
            .collect(),
        problems,
        introduced_by,
        read: None,
    })
}

/// The pushed commits' own additions, each against its first parent (a merge brings in what
/// its first parent lacked), by lockfile; the commit that first added each package; and the
/// settings files around each lockfile in every commit that added to it (all of them: a package
/// private in any of those commits stays private). A version that cannot be read mid-history
/// is a problem, not the end of the check.
fn pushed_history(
    repo: &git::Repo,
    parsed: &mut Parsed,
    commits: &[git2::Oid],
    wanted: &dyn Fn(&str) -> bool,
    problems: &mut Vec<Problem>,
) -> Result<(BTreeMap<String, LockedSet>, IntroducedBy, HistorySettings), Error> {
    let mut history: BTreeMap<String, LockedSet> = BTreeMap::new();
    let mut introduced_by: IntroducedBy = BTreeMap::new();
    let mut settings: HistorySettings = BTreeMap::new();
    // Every commit's changes first, so that each lockfile version is dropped after the last
    // commit that reads it.
    let mut changes_of = Vec::with_capacity(commits.len());
    let mut reads: std::collections::HashMap<git2::Oid, usize> = std::collections::HashMap::new();
    for &commit in commits {
        let changed = repo.commit_changes(commit, wanted)?;
        for oid in changed.iter().flat_map(cached_reads) {
            *reads.entry(oid).or_default() += 1;
        }
        changes_of.push(changed);
    }
    parsed.plan(reads);
    for (&commit, mut changed) in commits.iter().zip(changes_of) {
        problems.extend(take_not_files(
            &mut changed,
            Some(&repo.describe_commit(commit)),
        ));
        let (mut changes, included): (Vec<git::Change>, Vec<git::Change>) = changed
            .into_iter()
            .partition(|change| is_relevant(&change.path));
        if changes.is_empty() && included.is_empty() {
            continue;
        }
        let tree = repo.commit_tree(commit)?;
        let parent = match repo.first_parent(commit)? {
            Some(parent) => Some(repo.commit_tree(parent)?),
            None => None,
        };
        including_requirements(&tree, parent.as_ref(), &included, &mut changes);
        let new_includes = includes_of(&tree);
        let old_includes = parent.as_ref().map(includes_of);
        let old_includes: &Includes<'_> = match &old_includes {
            Some(reader) => reader,
            None => &no_includes,
        };
        for change in &changes {
            match parsed.added_by(repo, change, &new_includes, old_includes) {
                Ok(Some((locked, ..))) => {
                    for package in locked.packages() {
                        introduced_by
                            .entry((change.path.clone(), package))
                            .or_insert_with(|| {
                                (git::short_id(commit), repo.commit_subject(commit))
                            });
                    }
                    history
                        .entry(change.path.clone())
                        .or_default()
                        .extend(Rc::unwrap_or_clone(locked));
                    let known = settings.entry(change.path.clone()).or_default();
                    for file in settings_files(&tree, &change.path).iter() {
                        if !known.contains(file) {
                            known.push(file.clone());
                        }
                    }
                }
                Ok(None) => {}
                // A version that cannot be read in the middle of the pushed history: what it
                // added is checked with the next version, which cannot lean on it. A tip's
                // version stopped the check above.
                Err(Error::Parse {
                    path,
                    line,
                    column,
                    message,
                }) => {
                    problems.push(Problem::new(
                        ProblemKind::LockfileUnreadable,
                        &path,
                        &format!(
                            "in commit {}: {line}:{column}: {message}",
                            repo.describe_commit(commit)
                        ),
                        false,
                    ));
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok((history, introduced_by, settings))
}

/// The blobs [`Parsed::added_by`] reads through the cache for `change`, once each read: its new
/// version and the versions it replaces, of a lockfile that includes no other file (those are
/// read afresh each time). None for a deleted file or one that is not a file.
fn cached_reads(change: &git::Change) -> Vec<git2::Oid> {
    let cached = change.not_a_file.is_none()
        && ecosystem::format_of(&change.path).is_some_and(|format| !format.has_includes());
    match change.new {
        Some(new) if cached => std::iter::once(new)
            .chain(change.old.iter().copied())
            .collect(),
        _ => Vec::new(),
    }
}

/// The pushed commit that first added each (lockfile, package): its short id and subject.
type IntroducedBy = BTreeMap<(String, Package), (String, Option<String>)>;

/// The settings files around each lockfile of the pushed history, by lockfile.
type HistorySettings = BTreeMap<String, Vec<(String, Vec<u8>)>>;

/// Reads git's pre-push lines from stdin, bounded.
pub(crate) fn read_push_input() -> Result<String, Error> {
    use std::io::Read as _;
    let mut input = String::new();
    std::io::stdin()
        .take(push::MAX_INPUT_BYTES)
        .read_to_string(&mut input)
        .map_err(|source| Error::Io {
            action: "read the pre-push input from",
            path: "stdin".into(),
            source,
        })?;
    Ok(input)
}

/// The changed paths the lockfile check starts from.
fn trigger_paths(changes: &[git::Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|change| ecosystem::is_trigger(&change.path))
        .map(|change| change.path.clone())
        .collect()
}

/// What a change to a lockfile adds, all its new version locks when that is more, and the
/// versions the old version locked of the packages it changes.
type Added = (
    Rc<LockedSet>,
    Option<Rc<LockedSet>>,
    Rc<Replaced>,
    Rc<Changes>,
);

/// What a change does to entries it keeps or upgrades.
#[derive(Clone, Debug, Default)]
pub(crate) struct Changes {
    /// Versions kept with another checksum.
    pub(crate) checksums: Vec<ChecksumChange>,
    /// Upgrades that gain an install script.
    pub(crate) scripts: Vec<ScriptGained>,
    /// Versions kept with another download URL.
    pub(crate) urls: Vec<UrlChange>,
    /// The hosts the old versions' URLs name (registries, files, remote tarballs); `None` when
    /// there is no old version to go by (a lockfile committed for the first time, `--all`).
    pub(crate) old_hosts: Option<std::collections::BTreeSet<String>>,
}

/// A registry entry whose version the change keeps but whose download URL it changes (for
/// Python, the index, or the URL of a file of the same name), or to which it adds a file or a
/// URL (where the old entry had none and downloaded from the configured registry): the line,
/// and both URLs (no old one for an added file or URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UrlChange {
    pub(crate) package: Package,
    pub(crate) line: Option<usize>,
    pub(crate) old: Option<String>,
    pub(crate) new: String,
}

/// Of each package a change gives another version: the registry versions it replaces.
pub(crate) type Replaced = BTreeMap<Package, Vec<String>>;

/// A package a change upgrades to a version that runs an install script, where the version it
/// replaces did not (as the lockfile records it): the line, and the version before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScriptGained {
    pub(crate) package: Package,
    pub(crate) line: Option<usize>,
    pub(crate) before: String,
}

/// An npm registry entry whose version the change keeps but whose checksum it changes: the
/// line it stands on, and the old and new checksums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChecksumChange {
    pub(crate) package: Package,
    pub(crate) line: Option<usize>,
    pub(crate) old: String,
    pub(crate) new: String,
}

/// Lockfile versions parsed so far, by blob: in a pushed history each version is the new side
/// of one commit and the old side of the next, and is read once. Once the reads to come are
/// planned ([`Parsed::plan`]), a version is kept only until its last planned read, so a long
/// push holds a lockfile's versions one commit at a time, not one per commit.
#[derive(Default)]
struct Parsed {
    sets: std::collections::HashMap<git2::Oid, Rc<LockedSet>>,
    /// The reads still to come of each blob, once planned; unplanned, every version is kept
    /// (a staged commit reads two).
    planned: Option<std::collections::HashMap<git2::Oid, usize>>,
    /// Versions decoded from what was kept on disk ([`crate::kept`]) ahead of their reading.
    decoded: std::collections::HashMap<git2::Oid, LockedSet>,
}

impl Parsed {
    /// The set `oid` locks. Requirements files are read afresh each time: what they lock also
    /// depends on the files they include, which the blob alone does not pin.
    fn get(
        &mut self,
        repo: &git::Repo,
        format: &Format,
        path: &str,
        oid: git2::Oid,
        includes: &Includes<'_>,
    ) -> Result<Rc<LockedSet>, Error> {
        if format.has_includes() {
            return parse(repo, format, path, oid, includes).map(Rc::new);
        }
        if !self.keep_after_read(oid) {
            return match self.sets.remove(&oid) {
                Some(set) => Ok(set),
                None => self.load(repo, format, path, oid).map(Rc::new),
            };
        }
        match self.sets.get(&oid) {
            Some(set) => Ok(set.clone()),
            None => {
                let set = Rc::new(self.load(repo, format, path, oid)?);
                self.sets.insert(oid, set.clone());
                Ok(set)
            }
        }
    }

    /// What `oid` locks: decoded ahead, else kept on disk, else parsed.
    fn load(
        &mut self,
        repo: &git::Repo,
        format: &Format,
        path: &str,
        oid: git2::Oid,
    ) -> Result<LockedSet, Error> {
        match self.decoded.remove(&oid) {
            Some(set) => Ok(set),
            None => parse_kept(repo, format, path, oid),
        }
    }

    /// From now on, keeps each version only while `reads` (how often each blob will still be
    /// read) has a read of it to come; a version with none is dropped now (what the caller
    /// holds of it stays alive: the `Rc`).
    fn plan(&mut self, reads: std::collections::HashMap<git2::Oid, usize>) {
        self.sets.retain(|oid, _| reads.contains_key(oid));
        self.planned = Some(reads);
    }

    /// Counts one read of `oid` against the plan: whether its set is to be kept for a later
    /// read.
    fn keep_after_read(&mut self, oid: git2::Oid) -> bool {
        let Some(planned) = &mut self.planned else {
            return true;
        };
        match planned.get_mut(&oid) {
            Some(left) if *left > 1 => {
                *left -= 1;
                true
            }
            _ => {
                planned.remove(&oid);
                false
            }
        }
    }

    /// What a change to a lockfile adds: its new version less every version it replaces.
    /// `None` for a file that is not a lockfile, or a deleted one.
    /// `new_includes` and `old_includes` read the snapshots the new and old versions belong to.
    fn added_by(
        &mut self,
        repo: &git::Repo,
        change: &git::Change,
        new_includes: &Includes<'_>,
        old_includes: &Includes<'_>,
    ) -> Result<Option<Added>, Error> {
        let (Some(new), Some(format)) = (change.new, ecosystem::format_of(&change.path)) else {
            return Ok(None);
        };
        // Old versions all kept on disk are decoded on a second thread while the new one is
        // read and parsed here. Otherwise the old versions are read first: the new one's text
        // and parse are what the project's checks read next (git::Repo and ecosystem::memo keep
        // the last).
        let kept = repo.kept().filter(|kept| {
            !format.has_includes()
                && !change.old.is_empty()
                && change
                    .old
                    .iter()
                    .all(|old| !self.sets.contains_key(old) && kept.contains(format.name, *old))
        });
        let (olds, whole) = match kept {
            Some(kept) => {
                let (decoded, whole) = std::thread::scope(|scope| {
                    let decoding = scope.spawn(|| {
                        change
                            .old
                            .iter()
                            .filter_map(|old| Some((*old, kept.read(format.name, *old)?)))
                            .collect::<Vec<_>>()
                    });
                    let whole = self.get(repo, format, &change.path, new, new_includes);
                    let decoded = decoding
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (decoded, whole)
                });
                self.decoded.extend(decoded);
                (self.olds(repo, format, change, old_includes), whole?)
            }
            None => {
                let olds = self.olds(repo, format, change, old_includes);
                (
                    olds,
                    self.get(repo, format, &change.path, new, new_includes)?,
                )
            }
        };
        Ok(Some(compare(whole, olds)))
    }

    /// What the old versions of `change` lock. An unreadable old version cannot vouch for
    /// anything: all of the new one is new.
    fn olds(
        &mut self,
        repo: &git::Repo,
        format: &Format,
        change: &git::Change,
        old_includes: &Includes<'_>,
    ) -> Vec<Rc<LockedSet>> {
        change
            .old
            .iter()
            .filter_map(|old| {
                self.get(repo, format, &change.path, *old, old_includes)
                    .ok()
            })
            .collect()
    }
}

/// What `whole`, the new version of a lockfile, adds to its `olds`, and what changed between
/// them.
fn compare(whole: Rc<LockedSet>, olds: Vec<Rc<LockedSet>>) -> Added {
    // What an entry states can only have changed where no old version states all of it: the
    // comparisons look at those packages alone (`touched`).
    let (added, touched) = match olds.as_slice() {
        // All of a new lockfile is new: it is checked as it is, not copied.
        [] => return (whole, None, Rc::default(), Rc::default()),
        [old] => added_and_touched(&whole, old),
        _ => {
            let mut added = whole.added_since(&olds[0]);
            for old in &olds[1..] {
                added = added.added_since(old);
            }
            (added, touched(&whole, &olds))
        }
    };
    let replaced = replaced_by(&added, &olds);
    let changes = Changes {
        checksums: checksums_changed(&whole, &olds, &touched),
        scripts: scripts_gained(&added, &olds),
        urls: urls_changed(&whole, &olds, &touched),
        old_hosts: Some(hosts_of(&olds)),
    };
    (
        Rc::new(added),
        Some(whole),
        Rc::new(replaced),
        Rc::new(changes),
    )
}

/// Beyond this many entries the walk of [`aligned`] did not meet, the hashed comparisons are
/// cheaper than looking each of them up in the old version one by one.
const FEW_UNALIGNED: usize = 16;

/// [`LockedSet::added_since`] and [`touched`] for one old version, from one walk of both in
/// order ([`aligned`]); the entries the walk did not meet are looked up in `old` one by one
/// when they are few, else everything is compared the hashed way. The same answer either way.
fn added_and_touched<'a>(
    whole: &'a LockedSet,
    old: &Rc<LockedSet>,
) -> (LockedSet, HashSet<Name<'a>>) {
    let aligned = aligned(whole, old);
    let unaligned: Vec<&crate::package::Entry> = whole
        .entries
        .iter()
        .zip(&aligned)
        .filter_map(|(entry, met)| (!met).then_some(entry))
        .collect();
    if unaligned.len() > FEW_UNALIGNED {
        return (
            whole.added_since(old),
            touched(whole, std::slice::from_ref(old)),
        );
    }
    // An entry the walk met is stated exactly by `old`: neither added nor touched.
    let key = |entry: &crate::package::Entry| {
        (
            entry.package.clone(),
            entry.non_registry(),
            entry.unreadable,
        )
    };
    let entries = unaligned
        .iter()
        .filter(|entry| {
            let wanted = key(entry);
            !old.entries
                .iter()
                .any(|before| before.package == entry.package && key(before) == wanted)
        })
        .map(|entry| (*entry).clone())
        .collect();
    let touched = unaligned
        .iter()
        .filter(|entry| {
            !old.entries
                .iter()
                .any(|before| before.package == entry.package && before.same_but_line(entry))
        })
        .map(|entry| name_of(entry))
        .collect();
    let added = LockedSet {
        entries,
        unpinned: whole.unpinned.difference(&old.unpinned).cloned().collect(),
        roots: whole.roots.clone(),
    };
    (added, touched)
}

/// For each of `whole`'s entries, whether the walk of both versions in order met an entry of
/// `old` that states it exactly (its line aside). A lockfile's next version is the same list
/// but for what changed, so nearly every entry meets its old self a few places ahead at most;
/// `false` only says the walk did not meet it.
fn aligned(whole: &LockedSet, old: &LockedSet) -> Vec<bool> {
    // Old entries looked at ahead of the walk: this many removed in a row are stepped over.
    const AHEAD: usize = 8;
    let mut next = 0;
    whole
        .entries
        .iter()
        .map(|entry| {
            let end = (next + AHEAD).min(old.entries.len());
            let ahead = old.entries.get(next..end).unwrap_or_default();
            match ahead.iter().position(|before| before.same_but_line(entry)) {
                Some(at) => {
                    next += at + 1;
                    true
                }
                None => false,
            }
        })
        .collect()
}

/// A package by name: (ecosystem, name).
type Name<'a> = (crate::package::Ecosystem, &'a str);

fn name_of(entry: &crate::package::Entry) -> Name<'_> {
    (entry.package.ecosystem, entry.package.name.as_str())
}

/// The names of the packages among `entries`.
fn names<'a>(entries: &'a [crate::package::Entry]) -> HashSet<Name<'a>> {
    entries.iter().map(name_of).collect()
}

/// The names of `whole`'s entries that no old version locks exactly as `whole` does (their
/// line aside): only there can a checksum, URL or script have changed.
fn touched<'a>(whole: &'a LockedSet, olds: &[Rc<LockedSet>]) -> HashSet<Name<'a>> {
    let mut before: HashMap<&Package, Vec<&crate::package::Entry>> = HashMap::new();
    for entry in olds.iter().flat_map(|old| &old.entries) {
        before.entry(&entry.package).or_default().push(entry);
    }
    whole
        .entries
        .iter()
        .filter(|entry| {
            !before
                .get(&entry.package)
                .is_some_and(|olds| olds.iter().any(|old| old.same_but_line(entry)))
        })
        .map(name_of)
        .collect()
}

/// The queryable entries of `olds` of a package named in `wanted`.
fn old_entries_of<'a>(
    olds: &'a [Rc<LockedSet>],
    wanted: &'a HashSet<Name<'_>>,
) -> impl Iterator<Item = &'a crate::package::Entry> {
    olds.iter()
        .flat_map(|old| &old.entries)
        .filter(|entry| entry.is_queryable() && wanted.contains(&name_of(entry)))
}

/// Of each registry package `added` locks at a version, the registry versions `olds` locked of
/// it (the upgrade's other side), keyed by the new version.
fn replaced_by(added: &LockedSet, olds: &[Rc<LockedSet>]) -> Replaced {
    let wanted = names(&added.entries);
    let mut by_name: BTreeMap<(&crate::package::Ecosystem, &str), Vec<&str>> = BTreeMap::new();
    for entry in old_entries_of(olds, &wanted) {
        by_name
            .entry((&entry.package.ecosystem, entry.package.name.as_str()))
            .or_default()
            .push(&entry.package.version);
    }
    let mut replaced = Replaced::new();
    for entry in added.entries.iter().filter(|entry| entry.is_queryable()) {
        let key = (&entry.package.ecosystem, entry.package.name.as_str());
        if let Some(versions) = by_name.get(&key) {
            let mut versions: Vec<String> = versions
                .iter()
                .filter(|version| **version != entry.package.version)
                .map(|version| version.to_string())
                .collect();
            versions.sort();
            versions.dedup();
            if !versions.is_empty() {
                replaced.insert(entry.package.clone(), versions);
            }
        }
    }
    replaced
}

/// The registry entries of `whole` whose version an old version of the lockfile locked too,
/// with a checksum of the same algorithm that none of the old ones had for the same file: a
/// version's files never change, so their checksums do not either. npm and Composer pin one
/// checksum a release; Python lockfiles one per file, compared by file name (a file added to a
/// release is not a change). An upgrade of the algorithm, `sha1-` to `sha512-`, is not a
/// change.
fn checksums_changed(
    whole: &LockedSet,
    olds: &[Rc<LockedSet>],
    touched: &HashSet<Name<'_>>,
) -> Vec<ChecksumChange> {
    // `sha512-…`, `sha256:…`, yarn berry's `10c0/…` (its cache key: the same key, the same
    // kind of checksum), or bare hex (berry before cache keys).
    let algorithm = |checksum: &str| -> String {
        checksum
            .find(['-', ':', '/'])
            .map_or("", |at| &checksum[..at])
            .to_ascii_lowercase()
    };
    // (package, file) → the checksums the old versions pinned: one a release (npm, Composer:
    // file ""), or one per file where the lockfile lists a release's files (Python).
    let mut known: BTreeMap<(&Package, &str), Vec<&str>> = BTreeMap::new();
    for entry in old_entries_of(olds, touched) {
        for (file, checksum) in pinned_checksums(entry) {
            known
                .entry((&entry.package, file))
                .or_default()
                .push(checksum);
        }
    }
    if known.is_empty() {
        return Vec::new();
    }
    let mut changed = Vec::new();
    let entries = whole.entries.iter();
    for entry in entries.filter(|entry| entry.is_queryable() && touched.contains(&name_of(entry))) {
        for (file, new) in pinned_checksums(entry) {
            let Some(old) = known.get(&(&entry.package, file)) else {
                continue;
            };
            let same_algorithm: Vec<&&str> = old
                .iter()
                .filter(|old| algorithm(old) == algorithm(new))
                .collect();
            if !same_algorithm.is_empty() && !same_algorithm.iter().any(|old| **old == new) {
                let change = ChecksumChange {
                    package: entry.package.clone(),
                    line: entry.line,
                    old: same_algorithm[0].to_string(),
                    new: new.to_string(),
                };
                if !changed.contains(&change) {
                    changed.push(change);
                }
            }
        }
    }
    changed
}

/// The checksums `entry` pins, by file: one a release (npm, Composer: file `""`), or one per
/// file where the lockfile lists a release's files (Python).
fn pinned_checksums(entry: &crate::package::Entry) -> Vec<(&str, &str)> {
    use crate::package::Ecosystem;
    if !entry.file_checksums.is_empty() {
        return entry
            .file_checksums
            .iter()
            .map(|(file, checksum)| (file.as_str(), checksum.as_str()))
            .collect();
    }
    match (&entry.checksum, entry.package.ecosystem) {
        (Some(checksum), Ecosystem::Npm | Ecosystem::Packagist) => vec![("", checksum.as_str())],
        _ => Vec::new(),
    }
}

/// Where a URL of an entry stands: its source (an npm tarball, a Python index), or one of its
/// files, by file name; and the URL as a server reads it (host, path, query), to compare.
fn url_slots(entry: &crate::package::Entry) -> Vec<(String, String, &str)> {
    use crate::package::{url_host, url_path, Source};
    let canonical = |url: &str| -> String {
        let query = url
            .split('#')
            .next()
            .and_then(|url| url.split_once('?'))
            .map_or("", |(_, query)| query);
        format!(
            "{}{}?{query}",
            url_host(url).unwrap_or_default(),
            url_path(url).unwrap_or_default()
        )
    };
    let source = match &entry.source {
        Source::Registry { url: Some(url), .. } if url.contains("://") => Some(url),
        _ => None,
    };
    let files = entry.downloads.iter().filter(|url| url.contains("://"));
    source
        .map(|url| (String::new(), canonical(url), url.as_str()))
        .into_iter()
        .chain(files.map(|url| {
            let path = url_path(url).unwrap_or_default();
            let file = path.rsplit('/').next().unwrap_or_default().to_string();
            (file, canonical(url), url.as_str())
        }))
        .collect()
}

/// The registry entries of `whole` whose version an old version of the lockfile locked too,
/// with a URL in the same place (the source, or a file of the same name) that none of the old
/// ones had: a version is downloaded from where it was, unless the lockfile was edited (or the
/// project moved to another registry; the check tells the two apart). A file the old entry did
/// not list (added to a release, or no longer left out by `requires-python`) is given without
/// an old URL, for the checks of new downloads. A URL where the old entry recorded none (a
/// lockfile that now records URLs) is not a change.
fn urls_changed(
    whole: &LockedSet,
    olds: &[Rc<LockedSet>],
    touched: &HashSet<Name<'_>>,
) -> Vec<UrlChange> {
    // (package, slot) → the old URLs there, canonical and as written.
    type Known<'a> = BTreeMap<(&'a Package, String), Vec<(String, &'a str)>>;
    let mut known: Known<'_> = BTreeMap::new();
    // The packages whose old entries listed files, and those that recorded no URL at all (they
    // downloaded from the registry the project configures).
    let mut with_files = std::collections::BTreeSet::new();
    let mut without_url = std::collections::BTreeSet::new();
    for entry in old_entries_of(olds, touched) {
        let slots = url_slots(entry);
        if slots.is_empty() {
            without_url.insert(&entry.package);
        }
        for (slot, canonical, url) in slots {
            if !slot.is_empty() {
                with_files.insert(&entry.package);
            }
            known
                .entry((&entry.package, slot))
                .or_default()
                .push((canonical, url));
        }
    }
    if known.is_empty() && without_url.is_empty() {
        return Vec::new();
    }
    let mut changed = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let entries = whole.entries.iter();
    for entry in entries.filter(|entry| entry.is_queryable() && touched.contains(&name_of(entry))) {
        for (slot, canonical, url) in url_slots(entry) {
            let old = match known.get(&(&entry.package, slot.clone())) {
                Some(old) if old.iter().any(|(known, _)| *known == canonical) => continue,
                Some(old) => Some(old[0].1.to_string()),
                None if !slot.is_empty() && with_files.contains(&entry.package) => None,
                None if slot.is_empty()
                    && without_url.contains(&entry.package)
                    && !known.contains_key(&(&entry.package, String::new())) =>
                {
                    None
                }
                None => continue,
            };
            if !seen.insert((&entry.package, canonical)) {
                continue;
            }
            changed.push(UrlChange {
                package: entry.package.clone(),
                line: entry.line,
                old,
                new: url.to_string(),
            });
        }
    }
    changed
}

/// The hosts every URL of the old versions names.
fn hosts_of(olds: &[Rc<LockedSet>]) -> std::collections::BTreeSet<String> {
    let mut hosts = std::collections::BTreeSet::new();
    for old in olds {
        let mut last: Option<&str> = None;
        for url in old.entries.iter().flat_map(crate::package::Entry::urls) {
            // Most URLs of a lockfile share a host: skip the work for a run of them.
            let authority = url.split_once("://").map_or("", |(_, rest)| {
                rest.split(['/', '?', '#']).next().unwrap_or_default()
            });
            if last == Some(authority) {
                continue;
            }
            last = Some(authority);
            hosts.extend(crate::package::url_host(url));
        }
    }
    hosts
}

/// The entries `added` locks at a version that runs an install script, of packages whose every
/// old version recorded none (formats that record it: npm's `hasInstallScript`, pnpm's
/// `requiresBuild`).
fn scripts_gained(added: &LockedSet, olds: &[Rc<LockedSet>]) -> Vec<ScriptGained> {
    // (ecosystem, name) → each old version and whether it ran install scripts.
    type Before<'a> =
        BTreeMap<(&'a crate::package::Ecosystem, &'a str), Vec<(&'a str, Option<bool>)>>;
    let mut before: Before<'_> = BTreeMap::new();
    let wanted = names(&added.entries);
    for entry in old_entries_of(olds, &wanted) {
        before
            .entry((&entry.package.ecosystem, entry.package.name.as_str()))
            .or_default()
            .push((&entry.package.version, entry.install_scripts));
    }
    let mut gained = Vec::new();
    for entry in added
        .entries
        .iter()
        .filter(|entry| entry.install_scripts == Some(true))
    {
        let key = (&entry.package.ecosystem, entry.package.name.as_str());
        let Some(old) = before.get(&key) else {
            continue;
        };
        if old.iter().all(|(_, scripts)| *scripts == Some(false)) {
            let change = ScriptGained {
                package: entry.package.clone(),
                line: entry.line,
                before: old[0].0.to_string(),
            };
            if !gained.contains(&change) {
                gained.push(change);
            }
        }
    }
    gained
}

/// Reads the files a lockfile includes from one snapshot of the repository.
type Includes<'a> = ecosystem::Includes<'a>;

/// A reader of `tree`'s files for [`Includes`].
fn includes_of<T: ecosystem::Files + ?Sized>(
    tree: &T,
) -> impl Fn(&str) -> Result<Option<String>, ParseError> + '_ {
    move |path: &str| match tree.read(path) {
        Ok(Some(bytes)) => ecosystem::decode(&bytes).map(|text| Some(text.to_string())),
        Ok(None) => Ok(None),
        Err(error) => Err(ParseError::new(0, 0, error.to_string())),
    }
}

/// A lockfile that cannot be parsed is a problem of the report (the run's exit code is then 2),
/// so that every other file is still checked and every unreadable one named; other failures
/// stop the run.
fn unreadable(error: Error) -> Result<Problem, Error> {
    match error {
        Error::Parse { .. } | Error::TooLarge { .. } => Ok(error.as_problem()),
        error => Err(error),
    }
}

/// Lints the CI and build files among `changes` (as their new side has them), adding what it
/// finds to `problems`; the other changes are returned.
fn lint_ci_changes<'t, T: ecosystem::Files + ?Sized + 't>(
    repo: &git::Repo,
    changes: Vec<git::Change>,
    files: &dyn Fn() -> Option<&'t T>,
    problems: &mut Vec<Problem>,
) -> Result<Vec<git::Change>, Error> {
    let mut rest = Vec::with_capacity(changes.len());
    let read = |path: &str| {
        files()?
            .read(path)
            .ok()
            .flatten()
            .map(|bytes| bytes.to_vec())
    };
    for change in changes {
        match (cilint::ci_file(&change.path), change.new) {
            (Some(kind), Some(oid)) => {
                problems.extend(lint_ci(repo, &change.path, kind, oid, &read)?)
            }
            (Some(_), None) => {} // deleted
            (None, _) => rest.push(change),
        }
    }
    Ok(rest)
}

/// The CI-lint problems of the CI file at `path` (blob `oid`), `read` reading the other files of
/// its commit; one too large to read is said so.
fn lint_ci(
    repo: &git::Repo,
    path: &str,
    kind: cilint::CiFile,
    oid: git2::Oid,
    read: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<Problem>, Error> {
    match repo.read_blob(path, oid) {
        Ok(bytes) => Ok(cilint::lint(path, kind, &bytes, read)),
        Err(Error::TooLarge { size, .. }) => Ok(vec![Problem::new(
            ProblemKind::CiFileUnreadable,
            path,
            &format!("{size} bytes: too large to lint"),
            false,
        )]),
        Err(error) => Err(error),
    }
}

fn parse(
    repo: &git::Repo,
    format: &Format,
    path: &str,
    oid: git2::Oid,
    includes: &Includes<'_>,
) -> Result<LockedSet, Error> {
    parse_bytes(format, path, &repo.read_blob(path, oid)?, includes)
}

/// What the blob `oid` of a lockfile whose format includes no other file locks, as kept by
/// blob id ([`crate::kept`]) when this binary read it before, else parsed (and then kept, when
/// large enough to be worth it).
fn parse_kept(
    repo: &git::Repo,
    format: &Format,
    path: &str,
    oid: git2::Oid,
) -> Result<LockedSet, Error> {
    let no_includes: &Includes<'_> = &|_| Ok(None);
    let Some(kept) = repo.kept() else {
        return parse(repo, format, path, oid, no_includes);
    };
    if let Some(set) = kept.read(format.name, oid) {
        return Ok(set);
    }
    let bytes = repo.read_blob(path, oid)?;
    let set = parse_bytes(format, path, &bytes, no_includes)?;
    if bytes.len() >= crate::kept::KEEP_FROM {
        kept.write(format.name, oid, &set);
    }
    Ok(set)
}

/// What a lockfile's `bytes` lock; an error names its path.
fn parse_bytes(
    format: &Format,
    path: &str,
    bytes: &[u8],
    includes: &Includes<'_>,
) -> Result<LockedSet, Error> {
    ecosystem::decode(bytes)
        .and_then(|text| format.parse(path, text, includes))
        .map_err(|error| Error::Parse {
            path: sanitize::clean(path).into_owned(),
            line: error.line,
            column: error.column,
            message: error.message,
        })
}

#[cfg(test)]
mod tests {
    use super::Parsed;
    use crate::package::LockedSet;
    use git2::Oid;
    use std::rc::Rc;

    /// Issue 20: the walk of both versions in order gives what the hashed comparison gives,
    /// for every kind of change: entries added, removed, moved, duplicated, upgraded, with
    /// another checksum or flag, and every line shifted. From the real 2,041-package lockfile.
    #[test]
    fn the_walk_in_order_finds_what_the_hashed_comparison_finds() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/lockfiles/npm-2041-packages/package-lock.json"
        );
        let text = std::fs::read_to_string(path).expect("../shared/data sits beside the checkout");
        let old = crate::ecosystem::format_of("package-lock.json")
            .unwrap()
            .parse("package-lock.json", &text, &|_| Ok(None))
            .unwrap();
        assert!(old.entries.len() > 2000);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut below = |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound.max(1) as u64) as usize
        };
        for case in 0..120 {
            let mut new = old.clone();
            // From one change to many (past the walk's few-unmet fallback).
            let changes = 1 + below(if case % 3 == 0 { 40 } else { 6 });
            for _ in 0..changes {
                let len = new.entries.len();
                let at = below(len);
                match below(8) {
                    0 => {
                        new.entries.remove(at);
                    }
                    1 => {
                        let mut entry = new.entries[below(len)].clone();
                        entry.package.version.push_str("-next");
                        new.entries.insert(at, entry);
                    }
                    2 => {
                        let entry = new.entries[below(len)].clone();
                        new.entries.insert(at, entry);
                    }
                    3 => new.entries.swap(at, below(len)),
                    4 => new.entries[at].checksum = Some(format!("sha512-{case}")),
                    5 => new.entries[at].dev = !new.entries[at].dev,
                    6 => {
                        for entry in &mut new.entries {
                            entry.line = entry.line.map(|line| line + 1);
                        }
                    }
                    _ => new.entries[at].package.version = "9.9.9".into(),
                }
            }
            let old = Rc::new(old.clone());
            let (added, touched) = super::added_and_touched(&new, &old);
            let olds = [old.clone()];
            assert_eq!(added, new.added_since(&old), "case {case}: added");
            assert_eq!(touched, super::touched(&new, &olds), "case {case}: touched");
        }
        // Nothing changed: nothing added, nothing touched.
        let same = Rc::new(old.clone());
        let (added, touched) = super::added_and_touched(&old, &same);
        assert!(added.entries.is_empty() && touched.is_empty());
        assert_eq!(
            added,
            LockedSet {
                roots: old.roots.clone(),
                ..LockedSet::default()
            }
        );
    }

    /// Issue 20: a long push keeps a parsed version only until its last planned read.
    #[test]
    fn a_planned_version_is_kept_until_its_last_read() {
        let [a, b, c] = [1u8, 2, 3].map(|byte| Oid::from_bytes(&[byte; 20]).unwrap());
        let mut parsed = Parsed::default();
        // Unplanned (a staged commit), every version is kept.
        assert!(parsed.keep_after_read(a));
        assert!(parsed.keep_after_read(a));
        // A: the new side of one commit and the old side of the next; B: read once; C: never,
        // so what was parsed of it before the plan is dropped.
        parsed.sets.insert(a, std::rc::Rc::default());
        parsed.sets.insert(c, std::rc::Rc::default());
        parsed.plan([(a, 2), (b, 1)].into_iter().collect());
        assert!(parsed.sets.contains_key(&a) && !parsed.sets.contains_key(&c));
        assert!(parsed.keep_after_read(a));
        assert!(!parsed.keep_after_read(a));
        assert!(!parsed.keep_after_read(b));
        assert!(!parsed.keep_after_read(c));
        // Read once more than planned: still not kept.
        assert!(!parsed.keep_after_read(a));
    }
}
