//! How a watch cycle is reported: one log line on stderr per cycle, and its new matches as
//! text (stderr), JSON (one object per cycle on stdout) or SARIF 2.1.0 (one log per cycle).

use super::{Cycle, Match, Settings};
use crate::report::rfc3339;
use crate::sanitize::clean;
use serde_json::{json, Value};
use std::io::Write as _;

/// The report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text on stderr.
    Text,
    /// JSON on stdout.
    Json,
    /// SARIF on stdout.
    Sarif,
}

/// Reports `cycle`. A reader that went away is not lockgate's failure.
pub fn print(settings: &Settings, cycle: &Cycle) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", log_line(cycle));
    match settings.format {
        Format::Text => {
            let _ = write!(err, "{}", text(cycle));
        }
        Format::Json => {
            let _ = writeln!(std::io::stdout(), "{}", to_json(cycle));
        }
        Format::Sarif => {
            let _ = writeln!(std::io::stdout(), "{}", sarif(cycle));
        }
    }
}

/// `lockgate watch: 2026-12-05T06:00:00Z: npm 3 changed records; 1 of 40 branch tips moved …`.
pub fn log_line(cycle: &Cycle) -> String {
    let feeds: Vec<String> = cycle
        .changed
        .iter()
        .map(|(ecosystem, changed)| match changed {
            Some(count) => format!("{ecosystem} {count} changed records"),
            None => format!("{ecosystem} every record"),
        })
        .collect();
    format!(
        "lockgate watch: {}: {}; {} of {} branch tips moved, {} lockfiles indexed; {} new \
         matches, {} withdrawn{}",
        rfc3339(cycle.started),
        if feeds.is_empty() {
            "no database".to_string()
        } else {
            feeds.join(", ")
        },
        cycle.tips.1,
        cycle.tips.0,
        cycle.blobs_indexed,
        cycle.matches.len(),
        cycle.withdrawn.len(),
        match cycle.problems.len() {
            0 => String::new(),
            n => format!(", {n} unreadable"),
        }
    )
}

fn what(found: &Match) -> &'static str {
    if found.malicious {
        "MALWARE"
    } else {
        "vulnerability"
    }
}

fn text(cycle: &Cycle) -> String {
    let mut out = String::new();
    for found in &cycle.matches {
        out.push_str(&format!(
            "lockgate: {} {}: {} {}@{} is locked by {} {} ({}) in {}{}\n  {}\n",
            what(found),
            clean(&found.id),
            found.package.ecosystem,
            clean(&found.package.name),
            clean(&found.package.version),
            clean(&found.repository),
            clean(&found.branch),
            &found.commit.get(..12).unwrap_or(&found.commit),
            clean(&found.lockfile),
            match found.dependency_path.as_slice() {
                [] | [_] => String::new(),
                path => format!(": {}", clean(&path.join(" > "))),
            },
            clean(&found.summary).lines().next().unwrap_or_default(),
        ));
    }
    for id in &cycle.withdrawn {
        out.push_str(&format!(
            "lockgate: {} is withdrawn: it no longer matches\n",
            clean(id)
        ));
    }
    for problem in &cycle.problems {
        out.push_str(&format!("lockgate: warning: {}\n", clean(problem)));
    }
    out
}

fn match_json(found: &Match) -> Value {
    json!({
        "id": clean(&found.id),
        "malicious": found.malicious,
        "summary": clean(&found.summary),
        "package": {
            "ecosystem": found.package.ecosystem.as_osv(),
            "name": clean(&found.package.name),
            "version": clean(&found.package.version),
        },
        "repository": clean(&found.repository),
        "branch": clean(&found.branch),
        "commit": found.commit,
        "lockfile": clean(&found.lockfile),
        "dependency_path": found.dependency_path.iter().map(|step| clean(step)).collect::<Vec<_>>(),
    })
}

/// The JSON of one cycle.
pub fn to_json(cycle: &Cycle) -> Value {
    json!({
        "lockgate": env!("CARGO_PKG_VERSION"),
        "checked_at": rfc3339(cycle.started),
        "matches": cycle.matches.iter().map(match_json).collect::<Vec<_>>(),
        "withdrawn": cycle.withdrawn.iter().map(|id| clean(id)).collect::<Vec<_>>(),
        "changed_records": cycle.changed,
        "branch_tips": cycle.tips.0,
        "branch_tips_moved": cycle.tips.1,
        "lockfiles_indexed": cycle.blobs_indexed,
        "problems": cycle.problems.iter().map(|problem| clean(problem)).collect::<Vec<_>>(),
    })
}

/// One SARIF 2.1.0 log of a cycle's new matches: a result per match, at its lockfile, with the
/// repository and branch as properties.
pub fn sarif(cycle: &Cycle) -> Value {
    let mut rules = std::collections::BTreeMap::new();
    let results: Vec<Value> = cycle
        .matches
        .iter()
        .map(|found| {
            rules.entry(found.id.clone()).or_insert_with(|| {
                json!({
                    "id": clean(&found.id),
                    "shortDescription": {"text": clean(&found.summary)},
                    "helpUri": format!("https://osv.dev/vulnerability/{}", clean(&found.id)),
                    "properties": {"tags": ["security", if found.malicious { "malware" } else { "vulnerability" }]},
                })
            });
            json!({
                "ruleId": clean(&found.id),
                "level": if found.malicious { "error" } else { "warning" },
                "message": {"text": format!(
                    "{}@{} ({}) is locked by {} {}: {}",
                    clean(&found.package.name),
                    clean(&found.package.version),
                    found.package.ecosystem,
                    clean(&found.repository),
                    clean(&found.branch),
                    clean(&found.id),
                )},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": clean(&found.lockfile)}}}],
                "partialFingerprints": {"lockgateWatch/v1": format!(
                    "{}|{}|{}|{}|{}@{}",
                    clean(&found.id), clean(&found.repository), clean(&found.branch),
                    clean(&found.lockfile), clean(&found.package.name), clean(&found.package.version)
                )},
                "properties": {
                    "repository": clean(&found.repository),
                    "branch": clean(&found.branch),
                    "commit": found.commit,
                    "dependencyPath": found.dependency_path.iter().map(|step| clean(step)).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "lockgate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}
