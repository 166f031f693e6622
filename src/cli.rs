//! The command line (see DESIGN.md for the contract), parsed with clap.

use clap::{Parser, ValueEnum};
use std::time::Duration;

/// lockgate: stop malicious and vulnerable dependencies at commit time.
///
/// With no arguments, run as a git pre-commit hook: check the packages that the staged
/// lockfile changes add, against OSV. Exit 0 allowed, 1 blocked, 2 could not check.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
pub struct Cli {
    /// Check every package of every lockfile tracked in the index, not only staged changes.
    #[arg(long, conflicts_with = "pre_push")]
    pub all: bool,

    /// Run as git's pre-push hook: read the pushed refs on stdin and check what the pushed
    /// commits add (git passes the remote's name and URL).
    #[arg(long, num_args = 2, value_names = ["REMOTE", "URL"])]
    pub pre_push: Option<Vec<String>>,

    /// OSV API base URL.
    #[arg(
        long,
        env = "LOCKGATE_OSV_URL",
        default_value = "https://api.osv.dev",
        value_name = "URL"
    )]
    pub osv_url: String,

    /// Report format: text on stderr, or JSON on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// When OSV cannot be asked, warn and allow instead of blocking.
    #[arg(long, env = "LOCKGATE_FAIL_OPEN", value_parser = clap::builder::BoolishValueParser::new())]
    pub fail_open: bool,

    /// Block on ordinary vulnerabilities too, not only on malware.
    #[arg(long)]
    pub fail_on_vuln: bool,

    /// Longest time, in seconds, one OSV request may take.
    #[arg(long, env = "LOCKGATE_TIMEOUT", default_value = "20", value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Longest time, in seconds, to connect to OSV.
    #[arg(long, env = "LOCKGATE_CONNECT_TIMEOUT", default_value = "5", value_name = "SECONDS", value_parser = parse_seconds)]
    pub connect_timeout: Duration,

    /// Extra attempts after a connection error, HTTP 429 or 5xx.
    #[arg(long, env = "LOCKGATE_RETRIES", default_value_t = 2, value_name = "N")]
    pub retries: u32,
}

impl Cli {
    /// What the command line asks to check.
    pub fn mode(&self) -> crate::report::Mode {
        use crate::report::Mode;
        match (&self.pre_push, self.all) {
            (Some(_), _) => Mode::PrePush,
            (None, true) => Mode::All,
            (None, false) => Mode::Staged,
        }
    }
}

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, on stderr.
    Text,
    /// The JSON report, on stdout.
    Json,
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
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
