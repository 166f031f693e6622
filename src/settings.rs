//! What a run goes by: the command line and its environment variables ([`Flags`], which `main`
//! fills from its clap types) over `.lockgate.toml` ([`config::Loaded`]) over the defaults,
//! resolved once into [`Settings`]. Nothing below `main` sees the raw command line.

use crate::config::{self, DevPolicy, FailOn, Ignore, OnUnreachable};
use crate::package::Ecosystem;
use crate::report::Mode;
use std::path::PathBuf;
use std::time::Duration;

/// What the command line and the environment say, as given: `None` where they say nothing, so
/// that the configuration file or the default decides.
#[derive(Clone, Debug)]
pub struct Flags {
    /// What to do.
    pub command: Command,
    /// OSV API base URL (`--osv-url`, `LOCKGATE_OSV_URL`).
    pub osv_url: String,
    /// `--fail-open`, `LOCKGATE_FAIL_OPEN`: the same as `--on-unreachable=warn`.
    pub fail_open: bool,
    /// `--on-unreachable`, `LOCKGATE_ON_UNREACHABLE`.
    pub on_unreachable: Option<OnUnreachable>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--cache-ttl`, `LOCKGATE_CACHE_TTL` (minutes).
    pub cache_ttl: Option<u64>,
    /// `--fail-on-unpinned`, `LOCKGATE_FAIL_ON_UNPINNED`.
    pub fail_on_unpinned: Option<bool>,
    /// `--fail-on`.
    pub fail_on: Option<FailOn>,
    /// `--fail-on-vuln`: the same as `--fail-on=any`.
    pub fail_on_vuln: bool,
    /// `--config`, `LOCKGATE_CONFIG`.
    pub config: Option<PathBuf>,
    /// `--offline`, `LOCKGATE_OFFLINE`.
    pub offline: Option<bool>,
    /// `--max-db-age`, `LOCKGATE_MAX_DB_AGE` (days).
    pub max_db_age: Option<u64>,
    /// `--cache-dir`, `LOCKGATE_CACHE_DIR`.
    pub cache_dir: Option<PathBuf>,
    /// `--timeout`, `LOCKGATE_TIMEOUT`.
    pub timeout: Duration,
    /// `--connect-timeout`, `LOCKGATE_CONNECT_TIMEOUT`.
    pub connect_timeout: Duration,
    /// `--deadline`, `LOCKGATE_DEADLINE`.
    pub deadline: Option<Duration>,
    /// `--retries`, `LOCKGATE_RETRIES`.
    pub retries: u32,
    /// `LOCKGATE_MERGING`: git's pre-merge-commit hook runs lockgate (git writes `MERGE_HEAD`
    /// only after that hook).
    pub merging: bool,
    /// `LOCKGATE_NOW`: the time to judge release ages at (Unix seconds), for tests.
    pub now: Option<u64>,
    /// `--release-age`, `LOCKGATE_RELEASE_AGE`: seconds, for every ecosystem.
    pub release_age: Option<u64>,
}

/// What a run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Check lockfile changes (or every lockfile) against the advisories.
    Check(Target),
    /// `lockgate db update`: bring offline databases up to date.
    UpdateDatabases {
        /// The ecosystems to update (empty: all that lockgate reads).
        ecosystems: Vec<Ecosystem>,
        /// Base URL of OSV's exports.
        export_url: String,
    },
    /// `lockgate watch`: match the feed's new records against many repositories.
    Watch(WatchCommand),
}

/// What `lockgate watch` was given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchCommand {
    /// Repositories named on the command line.
    pub repositories: Vec<PathBuf>,
    /// Files listing more, one per line.
    pub lists: Vec<PathBuf>,
    /// The state folder (default: `watch` in the cache folder).
    pub state: Option<PathBuf>,
    /// The ecosystems (empty: all that lockgate reads).
    pub ecosystems: Vec<Ecosystem>,
    /// Base URL of OSV's exports.
    pub export_url: String,
    /// Replay from this time (RFC 3339 or a date).
    pub since: Option<String>,
    /// Seconds between cycles, for a long-running service.
    pub interval: Option<Duration>,
    /// Stop after this many cycles.
    pub cycles: Option<u64>,
    /// Every advisory, not only malware.
    pub all_advisories: bool,
    /// `text`, `json` or `sarif`.
    pub format: crate::watch::Format,
}

/// What a check looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The lockfile changes staged for commit (the pre-commit hook).
    Staged,
    /// Every lockfile tracked in the index (`--all`).
    All,
    /// What the pushed commits add, the pushed refs read from stdin (`--pre-push`, as git's
    /// pre-push hook).
    PrePush {
        /// The remote's name, as git passes it.
        remote: String,
    },
    /// What the push that the pre-commit framework's `PRE_COMMIT_*` variables describe adds,
    /// or everything when they name no push (`--pre-push-env`).
    PrePushEnv,
}

impl Target {
    /// What the report says was checked (before `--pre-push-env` finds no push to check).
    pub fn mode(&self) -> Mode {
        match self {
            Target::Staged => Mode::Staged,
            Target::All => Mode::All,
            Target::PrePush { .. } | Target::PrePushEnv => Mode::PrePush,
        }
    }
}

/// Everything a run goes by: the command line and environment over the configuration file over
/// the defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// What to do.
    pub command: Command,
    /// OSV API base URL.
    pub osv_url: String,
    /// Longest time one OSV request may take.
    pub timeout: Duration,
    /// Longest time to connect to OSV.
    pub connect_timeout: Duration,
    /// Extra attempts after a connection error, HTTP 429 or 5xx.
    pub retries: u32,
    /// Run from git's pre-merge-commit hook.
    pub merging: bool,
    /// Longest time for all of a run's OSV requests together.
    pub deadline: Duration,
    /// Where the offline database and the result cache live (`None`: the user has no cache
    /// folder and named none).
    pub cache_folder: Option<PathBuf>,
    /// Whether the result cache is left alone (`--no-cache`).
    pub no_cache: bool,
    /// The configuration file read, if any.
    pub config_path: Option<PathBuf>,
    /// What blocks besides malware.
    pub fail_on: FailOn,
    /// Whether vulnerabilities of development-only packages block.
    pub dev: DevPolicy,
    /// What to do when OSV cannot be reached.
    pub on_unreachable: OnUnreachable,
    /// Minutes a cached OSV answer is reused.
    pub cache_ttl: u64,
    /// Days after which the offline database is old.
    pub max_db_age: u64,
    /// Answer from the offline database only.
    pub offline: bool,
    /// Whether unpinned requirements block.
    pub fail_on_unpinned: bool,
    /// Private registry hosts.
    pub private_registries: Vec<String>,
    /// Accepted advisories.
    pub ignores: Vec<Ignore>,
    /// What each CI-lint rule does, as `[ci-lint]` says.
    pub ci_lint: crate::config::CiLint,
    /// The minimum release age by ecosystem, in seconds (absent or 0: not checked).
    pub release_age: std::collections::BTreeMap<Ecosystem, u64>,
    /// The registry base URL by ecosystem, where a lockfile records none.
    pub registries: std::collections::BTreeMap<Ecosystem, String>,
    /// Exemptions from the checks that need no advisory.
    pub exemptions: Vec<crate::config::Exemption>,
    /// Now, in Unix seconds (the clock, or `LOCKGATE_NOW`).
    pub now: u64,
    /// What an upgrade that loses provenance or its trusted publisher does.
    pub trust_downgrade: crate::config::CiRule,
    /// The level of each lockfile check, as `[checks]` sets it, and what it allows.
    pub checks: crate::config::Checks,
    /// Names private by configuration (`private-packages`): never sent to a public service.
    pub private_packages: Vec<String>,
}

/// The ecosystem OSV calls `name`.
fn ecosystem_named(name: &str) -> Option<Ecosystem> {
    crate::ecosystem::ECOSYSTEMS
        .iter()
        .map(|ecosystem| ecosystem.id)
        .find(|id| id.as_osv() == name)
}

/// The minimum release age unless told otherwise: the publish-to-advisory times of 2025–2026's
/// incidents ran from an hour to 8 days; 1 day would have missed 2 of 9, 3 days 1, borderline.
pub const DEFAULT_RELEASE_AGE: u64 = 3 * 86_400;

/// The minimum release age by ecosystem, in seconds: `--release-age` for all, else
/// `release-age` (the configuration was checked when read), else [`DEFAULT_RELEASE_AGE`].
fn release_ages(
    flag: Option<u64>,
    configured: Option<&config::ReleaseAge>,
) -> std::collections::BTreeMap<Ecosystem, u64> {
    let seconds = |text: &str| config::parse_duration(text).unwrap_or(0);
    crate::ecosystem::ECOSYSTEMS
        .iter()
        .map(|ecosystem| {
            let id = ecosystem.id;
            let age = match (flag, configured) {
                (Some(flag), _) => flag,
                (None, None) => DEFAULT_RELEASE_AGE,
                (None, Some(config::ReleaseAge::Every(duration))) => seconds(duration),
                (None, Some(config::ReleaseAge::ByEcosystem(table))) => table
                    .get(id.as_osv())
                    .or_else(|| table.get("default"))
                    .map_or(DEFAULT_RELEASE_AGE, |duration| seconds(duration)),
            };
            (id, age)
        })
        .collect()
}

/// How long a run may spend asking OSV, unless told otherwise: a hook that hangs gets skipped.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

impl Settings {
    /// Resolves the settings of a run: each value from the flags (or their environment
    /// variables), else from the configuration file `loaded`, else the default.
    pub fn new(flags: &Flags, loaded: config::Loaded) -> Settings {
        let config = loaded.config;
        let fail_on = match (flags.fail_on, flags.fail_on_vuln) {
            (Some(level), _) => level,
            (None, true) => FailOn::Any,
            (None, false) => config.fail_on.unwrap_or(FailOn::Malicious),
        };
        let on_unreachable = match (flags.on_unreachable, flags.fail_open) {
            (Some(policy), _) => policy,
            (None, true) => OnUnreachable::Warn,
            (None, false) => config.on_unreachable.unwrap_or(OnUnreachable::Block),
        };
        Settings {
            command: flags.command.clone(),
            osv_url: flags.osv_url.clone(),
            timeout: flags.timeout,
            connect_timeout: flags.connect_timeout,
            retries: flags.retries,
            merging: flags.merging,
            deadline: flags
                .deadline
                .or(config.deadline.map(Duration::from_secs))
                .unwrap_or(DEFAULT_DEADLINE),
            cache_folder: flags
                .cache_dir
                .clone()
                .or_else(|| dirs::cache_dir().map(|folder| folder.join("lockgate"))),
            no_cache: flags.no_cache,
            config_path: loaded.path,
            fail_on,
            dev: config.dev.unwrap_or(DevPolicy::Block),
            on_unreachable,
            cache_ttl: flags.cache_ttl.or(config.cache_ttl).unwrap_or(60),
            max_db_age: flags.max_db_age.or(config.max_db_age).unwrap_or(7),
            offline: flags.offline.or(config.offline).unwrap_or(false),
            fail_on_unpinned: flags
                .fail_on_unpinned
                .or(config.fail_on_unpinned)
                .unwrap_or(false),
            private_registries: config.private_registries,
            ignores: config.ignores,
            ci_lint: config.ci_lint,
            release_age: release_ages(flags.release_age, config.release_age.as_ref()),
            registries: config
                .registries
                .iter()
                .filter_map(|(name, url)| Some((ecosystem_named(name)?, url.clone())))
                .collect(),
            exemptions: config.exemptions,
            now: flags.now.unwrap_or_else(crate::offline::now),
            trust_downgrade: config
                .trust_downgrade
                .unwrap_or(crate::config::CiRule::Warn),
            checks: config.checks,
            private_packages: config.private_packages,
        }
    }

    /// The level of the lockfile check `check` (a [`crate::config::CHECK_DEFAULTS`] name).
    pub fn level(&self, check: &str) -> crate::config::CiRule {
        self.checks.set(check).unwrap_or_else(|| {
            crate::config::CHECK_DEFAULTS
                .iter()
                .find(|(name, _)| *name == check)
                .map_or(crate::config::CiRule::Block, |(_, level)| *level)
        })
    }

    /// Whether the run is git's pre-push hook (`--pre-push`): advice names `git push`.
    pub fn is_pre_push_hook(&self) -> bool {
        matches!(self.command, Command::Check(Target::PrePush { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn flags() -> Flags {
        Flags {
            command: Command::Check(Target::Staged),
            osv_url: "https://api.osv.dev".into(),
            fail_open: false,
            on_unreachable: None,
            no_cache: false,
            cache_ttl: None,
            fail_on_unpinned: None,
            fail_on: None,
            fail_on_vuln: false,
            config: None,
            offline: None,
            max_db_age: None,
            cache_dir: Some(PathBuf::from("/cache")),
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            deadline: None,
            retries: 2,
            merging: false,
            now: None,
            release_age: None,
        }
    }

    fn loaded(text: &str) -> config::Loaded {
        config::Loaded {
            path: Some(PathBuf::from(".lockgate.toml")),
            config: Config::parse(".lockgate.toml", text).unwrap(),
        }
    }

    #[test]
    fn defaults_apply_when_neither_flags_nor_file_say() {
        let settings = Settings::new(&flags(), config::Loaded::default());
        assert_eq!(settings.fail_on, FailOn::Malicious);
        assert_eq!(settings.dev, DevPolicy::Block);
        assert_eq!(settings.on_unreachable, OnUnreachable::Block);
        assert_eq!(settings.cache_ttl, 60);
        assert_eq!(settings.max_db_age, 7);
        assert_eq!(settings.deadline, DEFAULT_DEADLINE);
        assert!(!settings.offline && !settings.fail_on_unpinned);
        assert_eq!(settings.config_path, None);
        assert_eq!(settings.cache_folder, Some(PathBuf::from("/cache")));
    }

    #[test]
    fn the_file_wins_over_defaults_and_flags_win_over_the_file() {
        let file = "fail-on = \"high\"\ndev = \"warn\"\non-unreachable = \"offline\"\n\
                    cache-ttl = 5\nmax-db-age = 3\ndeadline = 9\noffline = true\n\
                    fail-on-unpinned = true\n";
        let settings = Settings::new(&flags(), loaded(file));
        assert_eq!(settings.fail_on, FailOn::High);
        assert_eq!(settings.dev, DevPolicy::Warn);
        assert_eq!(settings.on_unreachable, OnUnreachable::Offline);
        assert_eq!(
            (settings.cache_ttl, settings.max_db_age, settings.deadline),
            (5, 3, Duration::from_secs(9))
        );
        assert!(settings.offline && settings.fail_on_unpinned);
        assert_eq!(settings.config_path, Some(PathBuf::from(".lockgate.toml")));

        let given = Flags {
            fail_on: Some(FailOn::Low),
            on_unreachable: Some(OnUnreachable::Block),
            cache_ttl: Some(1),
            max_db_age: Some(2),
            deadline: Some(Duration::from_secs(4)),
            offline: Some(false),
            fail_on_unpinned: Some(false),
            ..flags()
        };
        let settings = Settings::new(&given, loaded(file));
        assert_eq!(settings.fail_on, FailOn::Low);
        assert_eq!(settings.on_unreachable, OnUnreachable::Block);
        assert_eq!(
            (settings.cache_ttl, settings.max_db_age, settings.deadline),
            (1, 2, Duration::from_secs(4))
        );
        assert!(!settings.offline && !settings.fail_on_unpinned);
    }

    #[test]
    fn shorthand_flags_win_over_the_file_and_lose_to_their_long_forms() {
        let file = "fail-on = \"high\"\non-unreachable = \"offline\"\n";
        let short = Flags {
            fail_on_vuln: true,
            fail_open: true,
            ..flags()
        };
        let settings = Settings::new(&short, loaded(file));
        assert_eq!(settings.fail_on, FailOn::Any);
        assert_eq!(settings.on_unreachable, OnUnreachable::Warn);

        let both = Flags {
            fail_on: Some(FailOn::Critical),
            on_unreachable: Some(OnUnreachable::Offline),
            ..short
        };
        let settings = Settings::new(&both, loaded(file));
        assert_eq!(settings.fail_on, FailOn::Critical);
        assert_eq!(settings.on_unreachable, OnUnreachable::Offline);
    }

    #[test]
    fn the_report_mode_follows_the_target() {
        let cases = [
            (Target::Staged, Mode::Staged),
            (Target::All, Mode::All),
            (
                Target::PrePush {
                    remote: "origin".into(),
                },
                Mode::PrePush,
            ),
            (Target::PrePushEnv, Mode::PrePush),
        ];
        for (target, mode) in cases {
            assert_eq!(target.mode(), mode, "{target:?}");
        }
    }
}
