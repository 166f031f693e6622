//! The `lockgate` command: parse arguments, run, print errors once, map the outcome to an exit code.
#![forbid(unsafe_code)]

mod cli;

/// mimalloc instead of the system allocator: a run builds and drops tens of thousands of small
/// strings and maps per large lockfile, where glibc's malloc and free took about a tenth of
/// the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use cli::{Cli, Color, Format};
use lockgate::settings::Command;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

fn main() -> ExitCode {
    // An exported but empty LOCKGATE_* variable means "not set", not "invalid": a hook must not
    // block every commit over `export LOCKGATE_FAIL_OPEN=`.
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(name, value)| name.to_string_lossy().starts_with("LOCKGATE_") && value.is_empty())
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        std::env::remove_var(name);
    }
    let cli = Cli::parse();
    let (format, color) = (cli.format, cli.color);
    let flags = cli.into_flags();
    match lockgate::run(&flags) {
        Ok(lockgate::Outcome::Updated(lines)) => {
            for line in lines {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            ExitCode::SUCCESS
        }
        Ok(lockgate::Outcome::Watched(code)) => ExitCode::from(code),
        Ok(lockgate::Outcome::Report(report)) => {
            print(format, color, &report);
            ExitCode::from(report.exit_status().code())
        }
        Err(error) => {
            for (index, text) in lockgate::error::causes(&error).iter().enumerate() {
                let lead = if index == 0 {
                    "lockgate: error:"
                } else {
                    "  caused by:"
                };
                eprintln!("{lead} {}", clean_lines(text));
            }
            // A check's JSON or SARIF reader gets a whole report, the failure its problem.
            if let Command::Check(target) = &flags.command {
                if format != Format::Text {
                    print(format, color, &lockgate::failure_report(target, &error));
                }
            }
            ExitCode::from(2)
        }
    }
}

/// Prints the report as `--format` says. A reader that goes away early (`| head`) is not
/// lockgate's failure: the exit code still says what was decided.
fn print(format: Format, color: Color, report: &lockgate::Report) {
    let _ = match format {
        Format::Text => write!(std::io::stderr(), "{}", report.to_text_in(use_color(color))),
        Format::Json => writeln!(std::io::stdout(), "{}", report.to_json()),
        Format::Sarif => writeln!(std::io::stdout(), "{}", lockgate::sarif::render(report)),
    };
}

/// Cleans each line of an error message; the line breaks lockgate wrote itself stay.
fn clean_lines(text: &str) -> String {
    text.lines()
        .map(|line| lockgate::sanitize::clean(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Colour on a terminal unless `NO_COLOR` says otherwise, or as `--color` says.
fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}
