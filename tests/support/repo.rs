//! Hermetic git repositories in temporary folders, and running the compiled `lockgate` and the
//! real `git` in them with an environment that no user or outer hook configuration leaks into.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use git2::{IndexAddOption, Oid, Repository, RepositoryInitOptions, Signature, Time};
use tempfile::TempDir;

/// The compiled `lockgate` binary under test.
pub const LOCKGATE_BIN: &str = env!("CARGO_BIN_EXE_lockgate");

/// `user.name` of every test repository and author of its commits.
pub const USER_NAME: &str = "Lockgate Test";
/// `user.email` of every test repository.
pub const USER_EMAIL: &str = "test@lockgate.invalid";

/// How long one `lockgate`/`git` run may take before it is killed and the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Address space a hostile-input run may use (`prlimit`): a bomb that expanded, or an answer
/// read whole, would need gigabytes.
pub const MEMORY_LIMIT: &str = "--as=1073741824";

/// Points libgit2's system, global and XDG config search paths at an empty folder, once per
/// process, so git2 in this process reads no configuration but a repository's own. Every
/// [`TestRepo`] constructor calls it; call it yourself before using git2 on anything else.
pub fn hermetic_git2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join("git2-empty-config-dir");
        std::fs::create_dir_all(&empty).expect("create an empty config folder for libgit2");
        for level in [
            git2::ConfigLevel::System,
            git2::ConfigLevel::XDG,
            git2::ConfigLevel::Global,
            git2::ConfigLevel::ProgramData,
        ] {
            // SAFETY: libgit2's search paths are process-global and unsynchronised. This runs
            // once, inside `Once`, before the support code makes any other git2 call; tests go
            // through `TestRepo` (or call this first) before touching git2 themselves.
            unsafe { git2::opts::set_search_path(level, &empty) }
                .expect("set libgit2's config search path");
        }
    });
}

/// A git repository in a fresh temporary folder (removed on drop), with its own `HOME` beside it.
///
/// Layout: `<tmp>/repo` is the worktree (`.git` inside), `<tmp>/home` the `HOME` of every
/// process started through it; `GIT_CEILING_DIRECTORIES` stops repository discovery at `<tmp>`.
pub struct TestRepo {
    root: TempDir,
    worktree: PathBuf,
    home: PathBuf,
}

impl TestRepo {
    /// `git init` (initial branch `main`, no templates) with repo-local `user.name`/`user.email`.
    pub fn new() -> TestRepo {
        hermetic_git2();
        let root = tempfile::Builder::new()
            .prefix("lockgate-test-")
            .tempdir()
            .expect("create a temporary folder");
        // Canonical paths: git prints resolved paths, and /tmp may be a symlink.
        let root_path = root
            .path()
            .canonicalize()
            .expect("canonicalize the temp folder");
        let worktree = root_path.join("repo");
        let home = root_path.join("home");
        for dir in [
            &worktree,
            &home,
            &home.join(".config"),
            &home.join(".cache"),
        ] {
            std::fs::create_dir_all(dir).expect("create test folders");
        }
        let mut options = RepositoryInitOptions::new();
        options
            .initial_head("main")
            .external_template(false)
            .no_reinit(true);
        let repo = Repository::init_opts(&worktree, &options).expect("git init");
        let mut config = repo.config().expect("open the repository's config");
        config
            .set_str("user.name", USER_NAME)
            .expect("set user.name");
        config
            .set_str("user.email", USER_EMAIL)
            .expect("set user.email");
        TestRepo {
            root,
            worktree,
            home,
        }
    }

    /// The worktree (the folder holding `.git`).
    pub fn path(&self) -> &Path {
        &self.worktree
    }

    /// The `HOME` given to processes run in this repository (empty unless a test writes to it).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The temporary folder holding the worktree and `home`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A fresh git2 handle on the repository (fresh so it sees what `git`/`lockgate` changed).
    pub fn git2(&self) -> Repository {
        Repository::open(&self.worktree).expect("open the test repository")
    }

    /// Writes a file in the worktree (`path` relative, `/`-separated), creating parent folders.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        let full = self.worktree.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        std::fs::write(&full, contents).unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
        self
    }

    /// Reads a worktree file as text.
    pub fn read(&self, path: &str) -> String {
        let full = self.worktree.join(path);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
    }

    /// Adds the worktree file to the index (like `git add <path>`).
    pub fn stage(&self, path: &str) -> &Self {
        let repo = self.git2();
        let mut index = repo.index().expect("open the index");
        index
            .add_path(Path::new(path))
            .unwrap_or_else(|e| panic!("stage {path}: {e}"));
        index.write().expect("write the index");
        self
    }

    /// [`write`](Self::write) then [`stage`](Self::stage).
    pub fn write_and_stage(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        self.write(path, contents).stage(path)
    }

    /// Deletes the file from the worktree (if there) and from the index (like `git rm <path>`).
    pub fn remove_and_stage(&self, path: &str) -> &Self {
        let full = self.worktree.join(path);
        if full.exists() {
            std::fs::remove_file(&full)
                .unwrap_or_else(|e| panic!("remove {}: {e}", full.display()));
        }
        let repo = self.git2();
        let mut index = repo.index().expect("open the index");
        index
            .remove_path(Path::new(path))
            .unwrap_or_else(|e| panic!("unstage {path}: {e}"));
        index.write().expect("write the index");
        self
    }

    /// Stages every change in the worktree, deletions included (like `git add -A`).
    pub fn stage_all(&self) -> &Self {
        let repo = self.git2();
        let mut index = repo.index().expect("open the index");
        index
            .add_all(["*"], IndexAddOption::DEFAULT, None)
            .expect("stage all files");
        index.update_all(["*"], None).expect("stage deletions");
        index.write().expect("write the index");
        self
    }

    /// Commits the index on the current branch (the first commit too) and returns its id.
    /// Commit times are fixed and increase by one second per commit, so ids are reproducible.
    pub fn commit(&self, message: &str) -> Oid {
        let repo = self.git2();
        let mut index = repo.index().expect("open the index");
        let tree = repo
            .find_tree(index.write_tree().expect("write the index as a tree"))
            .expect("find the new tree");
        let parent = match repo.head() {
            Ok(head) => Some(head.peel_to_commit().expect("HEAD points at a commit")),
            Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
            Err(e) => panic!("read HEAD: {e}"),
        };
        let seconds = parent
            .as_ref()
            .map_or(1_700_000_000, |parent| parent.time().seconds() + 1);
        let signature =
            Signature::new(USER_NAME, USER_EMAIL, &Time::new(seconds, 0)).expect("signature");
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )
        .expect("commit")
    }

    /// The commit `HEAD` points at, `None` before the first commit.
    pub fn head(&self) -> Option<Oid> {
        self.git2().head().ok().and_then(|head| head.target())
    }

    /// Sets a value in the repository's own config (`.git/config`).
    pub fn set_config(&self, key: &str, value: &str) -> &Self {
        self.git2()
            .config()
            .and_then(|mut config| config.set_str(key, value))
            .unwrap_or_else(|e| panic!("set {key}: {e}"));
        self
    }

    /// Writes and stages an npm project in `dir` ("" for the root): a package.json and a
    /// package-lock.json (version 3) in sync, locking `packages`.
    pub fn stage_npm_project(&self, dir: &str, packages: &[(&str, &str)]) -> &Self {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.write_and_stage(
            &format!("{prefix}package.json"),
            super::package_json_matching(packages),
        )
        .write_and_stage(
            &format!("{prefix}package-lock.json"),
            super::npm_lock_v3(packages),
        )
    }

    /// A repository whose `HEAD` commits the npm project of [`TestRepo::stage_npm_project`] at
    /// the root, locking `packages`.
    pub fn with_committed_npm_project(packages: &[(&str, &str)]) -> TestRepo {
        let repo = TestRepo::new();
        repo.stage_npm_project("", packages);
        repo.commit("project");
        repo
    }

    /// Runs the compiled `lockgate` with `args` in the worktree (see [`Invocation`] for the
    /// environment) and waits for it.
    pub fn lockgate(&self, args: &[&str]) -> Run {
        self.lockgate_command(args).run()
    }

    /// Runs the compiled binary with its address space limited to [`MEMORY_LIMIT`] by
    /// `prlimit`, and checks that it ended by itself within `seconds`.
    #[track_caller]
    pub fn lockgate_limited(&self, args: &[&str], seconds: u64) -> Run {
        let mut all = vec![MEMORY_LIMIT, LOCKGATE_BIN];
        all.extend_from_slice(args);
        let started = Instant::now();
        let run = self
            .program_command("prlimit", &all)
            .timeout(Duration::from_secs(seconds * 4))
            .run();
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "took {:?}\n{}",
            started.elapsed(),
            run.output()
        );
        run
    }

    /// Like [`lockgate`](Self::lockgate), for adding environment variables or stdin first.
    pub fn lockgate_command(&self, args: &[&str]) -> Invocation {
        self.invocation(Path::new(LOCKGATE_BIN), args)
    }

    /// Runs the real `git` (from `PATH`) with `args` in the worktree, hermetically.
    pub fn git(&self, args: &[&str]) -> Run {
        self.git_command(args).run()
    }

    /// Like [`git`](Self::git), for adding environment variables or stdin first.
    pub fn git_command(&self, args: &[&str]) -> Invocation {
        self.invocation(Path::new("git"), args)
            // Stable messages to assert on, and never an editor or a credential prompt.
            .env("LC_ALL", "C")
            .env("GIT_EDITOR", "true")
            .env("GIT_TERMINAL_PROMPT", "0")
    }

    /// Any program (a script of this repository, `pre-commit`), run in the worktree with the
    /// same hermetic environment as [`git`](Self::git).
    pub fn program_command(&self, program: impl AsRef<Path>, args: &[&str]) -> Invocation {
        self.invocation(program.as_ref(), args)
            .env("LC_ALL", "C")
            .env("GIT_EDITOR", "true")
            .env("GIT_TERMINAL_PROMPT", "0")
    }

    fn invocation(&self, program: &Path, args: &[&str]) -> Invocation {
        Invocation {
            program: program.to_owned(),
            args: args.iter().map(OsString::from).collect(),
            current_dir: self.worktree.clone(),
            home: self.home.clone(),
            ceiling: self.root().to_owned(),
            env: Vec::new(),
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Installs `.git/hooks/<hook>` as an executable shell script that exports `env` and runs
    /// the compiled `lockgate` with `args` followed by the hook's own arguments. Returns its path.
    pub fn install_hook(&self, hook: &str, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
        let mut script = String::from("#!/bin/sh\n# Installed by lockgate's integration tests.\n");
        for (key, value) in env {
            assert!(
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "not an environment variable name: {key:?}"
            );
            let _ = writeln!(script, "export {key}={}", shell_quote(value));
        }
        script.push_str("exec ");
        script.push_str(&shell_quote(LOCKGATE_BIN));
        for arg in args {
            script.push(' ');
            script.push_str(&shell_quote(arg));
        }
        script.push_str(" \"$@\"\n");
        let hooks = self.worktree.join(".git").join("hooks");
        std::fs::create_dir_all(&hooks).expect("create .git/hooks");
        let path = hooks.join(hook);
        std::fs::write(&path, script).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        make_executable(&path);
        path
    }

    /// [`install_hook`](Self::install_hook) for `pre-commit`, e.g.
    /// `repo.install_pre_commit_hook(&["--osv-url", &server.url()], &[])`.
    pub fn install_pre_commit_hook(&self, args: &[&str], env: &[(&str, &str)]) -> PathBuf {
        self.install_hook("pre-commit", args, env)
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        TestRepo::new()
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) {}

/// `'text'` for `sh`, with embedded single quotes closed, escaped and reopened.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Whether an inherited variable must not reach the child: git's and lockgate's own, hook
/// frameworks', proxies, colour forcing, and XDG folders (replaced by ones under the test `HOME`).
fn is_scrubbed(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let upper = name.to_ascii_uppercase();
    upper.starts_with("GIT_")
        || upper.starts_with("LOCKGATE_")
        || upper.starts_with("PRE_COMMIT")
        || upper.starts_with("XDG_")
        || upper.ends_with("_PROXY")
        || matches!(
            upper.as_str(),
            "HOME" | "NO_COLOR" | "CLICOLOR" | "CLICOLOR_FORCE" | "FORCE_COLOR" | "EMAIL"
        )
}

/// A process to run in a [`TestRepo`]; finish with [`run`](Self::run).
///
/// The child inherits this process's environment minus every `GIT_*`, `LOCKGATE_*`,
/// `PRE_COMMIT*`, `XDG_*`, `*_proxy`/`*_PROXY` and colour variable, then gets `HOME` = the repo's
/// test home (with `XDG_CONFIG_HOME`/`XDG_CACHE_HOME`/`XDG_DATA_HOME`/`XDG_STATE_HOME` under it),
/// `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`, `GIT_CEILING_DIRECTORIES` = the temp
/// folder, `NO_COLOR=1`, and finally the variables set with [`env`](Self::env). Stdin is empty
/// unless [`stdin`](Self::stdin) is given.
#[must_use = "an Invocation does nothing until .run()"]
pub struct Invocation {
    program: PathBuf,
    args: Vec<OsString>,
    current_dir: PathBuf,
    home: PathBuf,
    ceiling: PathBuf,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Invocation {
    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a variable for the child (after the scrubbing, so `GIT_*`/`LOCKGATE_*` may be set).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes a variable the defaults would set (e.g. `NO_COLOR`).
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Feeds these bytes on stdin, then closes it.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Runs in this folder, relative to the worktree (default: the worktree itself).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.current_dir = self.current_dir.join(dir);
        self
    }

    /// Kills the child and fails the test after this long (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The command line as a readable string, for failure messages.
    pub fn describe(&self) -> String {
        let mut text = self.program.display().to_string();
        for arg in &self.args {
            text.push(' ');
            text.push_str(&arg.to_string_lossy());
        }
        text
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).current_dir(&self.current_dir);
        for (name, _) in std::env::vars_os() {
            if is_scrubbed(&name) {
                command.env_remove(name);
            }
        }
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_STATE_HOME", self.home.join(".local/state"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CEILING_DIRECTORIES", &self.ceiling)
            .env("NO_COLOR", "1")
            // No registry is reachable from the tests: the release-age tests turn the check on
            // against a stand-in registry (`env_remove`); the others leave it off.
            .env("LOCKGATE_RELEASE_AGE", "0");
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
    }

    /// Starts the child and returns at once, its output discarded: for a test that ends it
    /// itself (with SIGKILL, say).
    pub fn spawn(self) -> std::process::Child {
        let description = self.describe();
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start `{description}`: {e}"))
    }

    /// Runs the child to completion and collects its exit code and output. Panics if it cannot
    /// start or outlives the timeout (after killing it), showing what it printed so far.
    pub fn run(self) -> Run {
        let description = self.describe();
        let mut child = self
            .command()
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start `{description}`: {e}"));
        let feeder = self.stdin.map(|input| {
            let mut pipe = child.stdin.take().expect("piped stdin");
            // A child that exits without reading stdin breaks the pipe; that is not our failure.
            std::thread::spawn(move || drop(pipe.write_all(&input)))
        });
        let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
        let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the child") {
                break Some(status);
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        if let Some(feeder) = feeder {
            let _ = feeder.join();
        }
        let run = Run {
            code: status.and_then(|s| s.code()),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
            command: description,
        };
        if status.is_none() {
            panic!(
                "`{}` did not finish within {:?}\n{}",
                run.command,
                self.timeout,
                run.output()
            );
        }
        run
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The outcome of a finished process.
#[derive(Clone, Debug)]
pub struct Run {
    /// Exit code; `None` when the process was ended by a signal.
    pub code: Option<i32>,
    /// Everything written to stdout (lossy UTF-8).
    pub stdout: String,
    /// Everything written to stderr (lossy UTF-8).
    pub stderr: String,
    /// The command line, for messages.
    pub command: String,
}

impl Run {
    /// Stdout and stderr, labelled, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.stdout, self.stderr
        )
    }

    /// Panics (showing the output) unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert!(
            self.code == Some(code),
            "`{}` exited with {:?}, expected {code}\n{}",
            self.command,
            self.code,
            self.output()
        );
        self
    }

    /// Panics (showing the output) unless the exit code is 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    /// Panics (showing the output) unless stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "`{}`: stdout lacks {needle:?}\n{}",
            self.command,
            self.output()
        );
        self
    }

    /// Panics (showing the output) unless stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "`{}`: stderr lacks {needle:?}\n{}",
            self.command,
            self.output()
        );
        self
    }

    /// The JSON report's findings, each as `"<id> <name>@<version>"`.
    #[track_caller]
    pub fn findings(&self) -> Vec<String> {
        self.stdout_json()["findings"]
            .as_array()
            .expect("a findings list")
            .iter()
            .map(|finding| {
                format!(
                    "{} {}@{}",
                    finding["id"].as_str().unwrap_or_default(),
                    finding["package"]["name"].as_str().unwrap_or_default(),
                    finding["package"]["version"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    /// The JSON report's problems, each as its `kind`.
    #[track_caller]
    pub fn problem_kinds(&self) -> Vec<String> {
        self.stdout_json()["problems"]
            .as_array()
            .expect("a problems list")
            .iter()
            .map(|problem| problem["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Stdout parsed as JSON; panics (showing the output) when it is not.
    #[track_caller]
    pub fn stdout_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}`: stdout is not JSON ({e})\n{}",
                self.command,
                self.output()
            )
        })
    }
}
