//! The command line (see DESIGN.md for the contract), parsed with clap: the binary's own module.
//! The library never sees these types; [`Cli::into_flags`] hands it [`Flags`].

use clap::{Parser, Subcommand, ValueEnum};
use lockgate::config::{FailOn, OnUnreachable};
use lockgate::package::Ecosystem;
use lockgate::settings::{Command as Run, Flags, Target};
use std::path::PathBuf;
use std::time::Duration;

/// lockgate: stop malicious and vulnerable dependencies at commit time.
///
/// With no arguments, run as a git pre-commit hook: check the packages that the staged
/// lockfile changes add, against OSV. Exit 0 allowed, 1 blocked, 2 could not check.
#[derive(Debug, Parser)]
#[command(version, about, long_about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// `lockgate db update`, instead of a check.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Check every package of every lockfile tracked in the index, not only staged changes.
    #[arg(long, conflicts_with = "pre_push")]
    pub all: bool,

    /// Run as git's pre-push hook: read the pushed refs on stdin and check what the pushed
    /// commits add (git passes the remote's name and URL).
    #[arg(long, num_args = 2, value_names = ["REMOTE", "URL"])]
    pub pre_push: Option<Vec<String>>,

    /// Run as the pre-commit framework's pre-push hook: check what the push it describes in
    /// PRE_COMMIT_FROM_REF, PRE_COMMIT_TO_REF, PRE_COMMIT_REMOTE_NAME, … adds; when they name no
    /// push (run by hand), check everything, as --all.
    #[arg(long, conflicts_with_all = ["all", "pre_push"])]
    pub pre_push_env: bool,

    /// OSV API base URL.
    #[arg(
        long,
        env = "LOCKGATE_OSV_URL",
        default_value = "https://api.osv.dev",
        value_name = "URL"
    )]
    pub osv_url: String,

    /// Report format: text on stderr, or JSON or SARIF 2.1.0 on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub format: Format,

    /// When OSV cannot be asked, warn and allow instead of blocking.
    #[arg(long, env = "LOCKGATE_FAIL_OPEN", value_parser = clap::builder::BoolishValueParser::new())]
    pub fail_open: bool,

    /// What to do when OSV cannot be reached: block (the default), warn and allow, or answer
    /// from the offline database. `--fail-open` means warn.
    #[arg(
        long,
        env = "LOCKGATE_ON_UNREACHABLE",
        value_enum,
        value_name = "POLICY"
    )]
    pub on_unreachable: Option<OnUnreachable>,

    /// Do not read or write the result cache.
    #[arg(long)]
    pub no_cache: bool,

    /// How long, in minutes, a cached OSV answer for a package version is reused [default: 60].
    #[arg(long, env = "LOCKGATE_CACHE_TTL", value_name = "MINUTES")]
    pub cache_ttl: Option<u64>,

    /// Block on requirements that do not pin one version (`requests>=2`), not only warn.
    #[arg(
        long,
        env = "LOCKGATE_FAIL_ON_UNPINNED",
        num_args = 0..=1,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub fail_on_unpinned: Option<bool>,

    /// What blocks besides malware: malicious (only malware), low, medium, high, critical, any.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,

    /// Configuration file (else .lockgate.toml at the repository root, else the user's).
    #[arg(long, env = "LOCKGATE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Colour in the text report: auto (on a terminal, unless NO_COLOR is set), never, always.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    pub color: Color,

    /// Block on ordinary vulnerabilities too, not only on malware (the same as --fail-on=any).
    #[arg(long)]
    pub fail_on_vuln: bool,

    /// Answer from the offline database only (see `lockgate db update`); no network.
    #[arg(
        long,
        env = "LOCKGATE_OFFLINE",
        num_args = 0..=1,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub offline: Option<bool>,

    /// Block package versions published less than this long ago (`3d`, `72h`, `0` to turn the
    /// check off), in every ecosystem [default: 3d, or `release-age` in .lockgate.toml].
    #[arg(long, env = "LOCKGATE_RELEASE_AGE", value_name = "DURATION", value_parser = parse_age)]
    pub release_age: Option<u64>,

    /// Warn when the offline database is older than this many days [default: 7].
    #[arg(long, env = "LOCKGATE_MAX_DB_AGE", value_name = "DAYS")]
    pub max_db_age: Option<u64>,

    /// Where the offline database and the cache live (default: the user's cache folder,
    /// then `lockgate`).
    #[arg(long, env = "LOCKGATE_CACHE_DIR", value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,

    /// Longest time, in seconds, one OSV request may take.
    #[arg(long, global = true, env = "LOCKGATE_TIMEOUT", default_value = "20", value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Longest time, in seconds, to connect to OSV.
    #[arg(long, global = true, env = "LOCKGATE_CONNECT_TIMEOUT", default_value = "5", value_name = "SECONDS", value_parser = parse_seconds)]
    pub connect_timeout: Duration,

    /// Longest time, in seconds, for asking OSV in all (every request, page, record and retry
    /// of the run): then the run stops, as when OSV cannot be reached [default: 60].
    #[arg(long, global = true, env = "LOCKGATE_DEADLINE", value_name = "SECONDS", value_parser = parse_seconds)]
    pub deadline: Option<Duration>,

    /// Extra attempts after a connection error, HTTP 429 or 5xx.
    #[arg(
        long,
        global = true,
        env = "LOCKGATE_RETRIES",
        default_value_t = 2,
        value_name = "N"
    )]
    pub retries: u32,

    /// The time to judge release ages at (RFC 3339), instead of the clock: for tests.
    #[arg(long, hide = true, global = true, env = "LOCKGATE_NOW", value_parser = parse_now)]
    pub now: Option<u64>,

    /// Set by lockgate's pre-merge-commit hook: the commit being checked concludes a merge.
    #[arg(long, hide = true, env = "LOCKGATE_MERGING", value_parser = clap::builder::BoolishValueParser::new())]
    pub merging: bool,
}

impl Cli {
    /// What the command line and its environment variables say, for the library; the report
    /// format and colour stay with `main`.
    pub fn into_flags(self) -> Flags {
        let command = match self.command {
            Some(Command::Db {
                action:
                    DbAction::Update {
                        ecosystems,
                        export_url,
                    },
            }) => Run::UpdateDatabases {
                ecosystems: ecosystems
                    .iter()
                    .map(|name| ecosystem_named(name))
                    .collect(),
                export_url,
            },
            Some(Command::Watch(watch)) => Run::Watch(lockgate::settings::WatchCommand {
                repositories: watch.repositories,
                lists: watch.repos,
                state: watch.state,
                ecosystems: watch
                    .ecosystems
                    .iter()
                    .map(|name| ecosystem_named(name))
                    .collect(),
                export_url: watch.export_url,
                since: watch.since,
                interval: watch.interval,
                cycles: watch.cycles,
                all_advisories: watch.all_advisories,
                format: match self.format {
                    Format::Text => lockgate::watch::Format::Text,
                    Format::Json => lockgate::watch::Format::Json,
                    Format::Sarif => lockgate::watch::Format::Sarif,
                },
            }),
            None => Run::Check(match self.pre_push {
                // clap takes exactly two values (the remote's name and its URL).
                Some(arguments) => Target::PrePush {
                    remote: arguments.into_iter().next().unwrap_or_default(),
                },
                None if self.pre_push_env => Target::PrePushEnv,
                None if self.all => Target::All,
                None => Target::Staged,
            }),
        };
        Flags {
            command,
            osv_url: self.osv_url,
            fail_open: self.fail_open,
            on_unreachable: self.on_unreachable,
            no_cache: self.no_cache,
            cache_ttl: self.cache_ttl,
            fail_on_unpinned: self.fail_on_unpinned,
            fail_on: self.fail_on,
            fail_on_vuln: self.fail_on_vuln,
            config: self.config,
            offline: self.offline,
            max_db_age: self.max_db_age,
            cache_dir: self.cache_dir,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            deadline: self.deadline,
            retries: self.retries,
            merging: self.merging,
            now: self.now,
            release_age: self.release_age,
        }
    }
}

/// What lockgate does instead of a check.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch the malware feed: update the offline database, index what the branch tips of many
    /// repositories lock, and report which of them lock a package a new record lists.
    /// Exit 1 when something newly matches, 0 when not, 2 when it could not run.
    Watch(Watch),
    /// The offline advisory database (for --offline and when OSV cannot be reached).
    Db {
        /// What to do with it.
        #[command(subcommand)]
        action: DbAction,
    },
}

/// `lockgate watch`.
#[derive(Debug, clap::Args)]
pub struct Watch {
    /// Repositories to watch: working trees or bare mirrors (every local branch is read).
    #[arg(value_name = "REPOSITORY")]
    pub repositories: Vec<PathBuf>,

    /// A file listing repositories, one path per line (relative to the file; `#` comments).
    #[arg(long, value_name = "FILE")]
    pub repos: Vec<PathBuf>,

    /// The state folder: the index of what each branch tip locks, where the feed was read up
    /// to, and what was reported [default: `watch` in the cache folder].
    #[arg(long, env = "LOCKGATE_WATCH_STATE", value_name = "DIR")]
    pub state: Option<PathBuf>,

    /// An ecosystem to follow (repeat for several; default: those the watched lockfiles lock).
    #[arg(
        long = "ecosystem",
        value_name = "ECOSYSTEM",
        value_parser = ecosystem_names(),
        ignore_case = true
    )]
    pub ecosystems: Vec<String>,

    /// Base URL of OSV's exports, or of a mirror of them (`file:///folder` reads a local one).
    #[arg(
        long,
        env = "LOCKGATE_EXPORT_URL",
        default_value = "https://osv-vulnerabilities.storage.googleapis.com",
        value_name = "URL"
    )]
    pub export_url: String,

    /// Replay the records modified since then (`2026-12-01`, `2026-12-01T08:00:00Z`, or `36h`,
    /// `7d` ago), reporting again everything they match.
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<String>,

    /// Keep running: a cycle every this many seconds, one log line each.
    #[arg(long, value_name = "SECONDS", value_parser = parse_interval)]
    pub interval: Option<Duration>,

    /// With --interval: stop after this many cycles.
    #[arg(long, value_name = "N", requires = "interval")]
    pub cycles: Option<u64>,

    /// Report every advisory a new record brings, not only malware (`MAL-`).
    #[arg(long)]
    pub all_advisories: bool,
}

/// What to do with the offline database.
#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Download OSV's export of each ecosystem, or bring it up to date.
    Update {
        /// An ecosystem to update (repeat for several; default: all that lockgate reads).
        #[arg(
            long = "ecosystem",
            value_name = "ECOSYSTEM",
            value_parser = ecosystem_names(),
            ignore_case = true
        )]
        ecosystems: Vec<String>,

        /// Base URL of OSV's exports (`file:///folder` reads a local mirror).
        #[arg(
            long,
            env = "LOCKGATE_EXPORT_URL",
            default_value = "https://osv-vulnerabilities.storage.googleapis.com",
            value_name = "URL"
        )]
        export_url: String,
    },
}

/// The OSV names of the ecosystems lockgate reads (`npm`, `PyPI`, …), any case.
fn ecosystem_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        lockgate::ecosystem::ECOSYSTEMS
            .iter()
            .map(|ecosystem| ecosystem.id.as_osv()),
    )
}

/// The ecosystem an `--ecosystem` value names.
fn ecosystem_named(name: &str) -> Ecosystem {
    lockgate::ecosystem::ECOSYSTEMS
        .iter()
        .map(|ecosystem| ecosystem.id)
        .find(|id| id.as_osv().eq_ignore_ascii_case(name))
        .expect("clap accepted only the names of ECOSYSTEMS")
}

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, on stderr.
    Text,
    /// The JSON report, on stdout.
    Json,
    /// SARIF 2.1.0, on stdout (for code scanning tools).
    Sarif,
}

/// When the text report uses colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Never.
    Never,
    /// Always.
    Always,
}

/// `--release-age`: a duration as people write it, in seconds.
fn parse_age(text: &str) -> Result<u64, String> {
    lockgate::config::parse_duration(text)
}

/// `--now`: an RFC 3339 time, as Unix seconds.
fn parse_now(text: &str) -> Result<u64, String> {
    lockgate::report::parse_rfc3339(text)
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 time (2026-12-01T08:00:00Z)"))
}

/// `--interval`: whole seconds, at least one, at most a day.
fn parse_interval(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(seconds @ 1..=86_400) => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 1 to 86400"
        )),
    }
}

/// `--since`: a date, a UTC time, or an age (`36h`, `7d`, `90m`), as the second it names
/// (`YYYY-MM-DDTHH:MM:SS`, UTC).
fn parse_since(text: &str) -> Result<String, String> {
    let text = text.trim();
    let age = |unit: u64| {
        text[..text.len() - 1]
            .parse::<u64>()
            .ok()
            .filter(|count| *count <= 10 * 365 * 24 * 60)
            .map(|count| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_secs());
                lockgate::report::rfc3339(now.saturating_sub(count * unit))
            })
    };
    let found = match text.chars().last() {
        Some('m') => age(60),
        Some('h') => age(3600),
        Some('d') => age(86_400),
        _ => {
            let bytes = text.as_bytes();
            let digits = |range: std::ops::Range<usize>| {
                range
                    .into_iter()
                    .all(|at| bytes.get(at).is_some_and(u8::is_ascii_digit))
            };
            let date = digits(0..4)
                && bytes.get(4) == Some(&b'-')
                && digits(5..7)
                && bytes.get(7) == Some(&b'-')
                && digits(8..10);
            match text.get(10..) {
                Some("") if date => Some(format!("{text}T00:00:00Z")),
                Some(rest)
                    if date
                        && rest.len() >= 9
                        && rest.starts_with('T')
                        && digits(11..13)
                        && digits(14..16)
                        && digits(17..19)
                        && (rest.ends_with('Z') || rest.len() == 9) =>
                {
                    Some(text.to_string())
                }
                _ => None,
            }
        }
    };
    found
        .and_then(|time| time.get(..19).map(str::to_string))
        .ok_or_else(|| format!("{text:?} is not a date (2026-12-01), a UTC time (2026-12-01T08:00:00Z) or an age (36h, 7d)"))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!("{text} is not between 0 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-3").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn the_command_line_becomes_what_to_do() {
        let push = Target::PrePush {
            remote: "origin".into(),
        };
        let cases = [
            (&[][..], Run::Check(Target::Staged)),
            (&["--all"][..], Run::Check(Target::All)),
            (
                &["--pre-push", "origin", "git@host:x"][..],
                Run::Check(push),
            ),
            (&["--pre-push-env"][..], Run::Check(Target::PrePushEnv)),
            (
                &[
                    "db",
                    "update",
                    "--ecosystem",
                    "pypi",
                    "--export-url",
                    "file:///m",
                ][..],
                Run::UpdateDatabases {
                    ecosystems: vec![Ecosystem::PyPI],
                    export_url: "file:///m".into(),
                },
            ),
        ];
        for (arguments, command) in cases {
            let cli =
                Cli::try_parse_from(std::iter::once("lockgate").chain(arguments.iter().copied()))
                    .unwrap();
            assert_eq!(cli.into_flags().command, command, "{arguments:?}");
        }
    }

    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
