//! The report as SARIF 2.1.0, for code scanning: one rule per advisory (and per kind of
//! problem), one result per affected package and lockfile, located at the line of the package's
//! entry. Malware is level `error`; `security-severity` carries the CVSS score for GitHub.

use crate::report::{Finding, Report};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `security-severity` of a finding: its CVSS score, 10 for malware, a level's middle value
/// when the database gave only a label, nothing when unknown.
fn security_severity(finding: &Finding) -> Option<String> {
    use crate::severity::Level;
    if finding.malicious {
        return Some("10.0".into());
    }
    if let Some(score) = finding.severity.score {
        return Some(format!("{score:.1}"));
    }
    let score = match finding.severity.level? {
        Level::Critical => 9.5,
        Level::High => 8.0,
        Level::Medium => 5.5,
        Level::Low => 2.0,
        Level::None => 0.0,
    };
    Some(format!("{score:.1}"))
}

fn level(finding: &Finding) -> &'static str {
    if finding.ignored || finding.not_applicable {
        "note"
    } else if finding.malicious || finding.blocking {
        "error"
    } else {
        "warning"
    }
}

/// The SARIF document for `report`.
pub fn render(report: &Report) -> String {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for finding in &report.findings {
        rules.entry(finding.id.clone()).or_insert_with(|| {
            let mut properties = json!({
                "tags": ["security", if finding.malicious { "malware" } else { "vulnerability" }],
            });
            if let Some(severity) = security_severity(finding) {
                properties["security-severity"] = severity.into();
            }
            json!({
                "id": finding.id,
                "name": finding.id,
                "shortDescription": { "text": finding.summary },
                "helpUri": finding.url(),
                "help": { "text": format!("{}: {}", finding.id, finding.summary) },
                "properties": properties,
            })
        });
        let mut text = format!(
            "{} {} {}: {}",
            finding.package,
            if finding.malicious {
                "is malware"
            } else {
                "is affected by"
            },
            finding.id,
            finding.summary
        );
        if !finding.fixed.is_empty() {
            text.push_str(&format!(" (fixed in {})", finding.fixed.join(", ")));
        }
        if finding.not_applicable {
            text.push_str(" (not applicable: private registry)");
        }
        let mut result = json!({
            "ruleId": finding.id,
            "level": level(finding),
            "message": { "text": text },
            "locations": [location(&finding.lockfile, finding.line)],
            "properties": {
                "package": finding.package,
                "blocking": finding.blocking,
            },
        });
        if finding.ignored {
            result["suppressions"] = json!([{
                "kind": "external",
                "justification": finding.reason.clone().unwrap_or_default(),
            }]);
        }
        results.push(result);
    }
    for problem in &report.problems {
        let kind = serde_json::to_value(problem.kind).unwrap_or_default();
        let id = format!("lockgate/{}", kind.as_str().unwrap_or("problem"));
        rules.entry(id.clone()).or_insert_with(|| {
            json!({
                "id": id,
                "shortDescription": { "text": kind.as_str().unwrap_or("problem").replace('-', " ") },
            })
        });
        let mut result = json!({
            "ruleId": id,
            "level": if problem.blocking { "error" } else { "warning" },
            "message": { "text": problem.message },
        });
        // Only a file of the repository is a location; a service's URL, the cache folder or
        // the configuration are said in the message.
        if let Some(file) = problem.repository_file() {
            result["locations"] = json!([location(file, problem.line)]);
        }
        results.push(result);
    }
    let rules: Vec<Value> = rules.into_values().collect();
    let index: BTreeMap<String, usize> = rules
        .iter()
        .enumerate()
        .map(|(index, rule)| (rule["id"].as_str().unwrap_or_default().to_string(), index))
        .collect();
    for result in &mut results {
        let id = result["ruleId"].as_str().unwrap_or_default().to_string();
        result["ruleIndex"] = index.get(&id).copied().unwrap_or(0).into();
    }
    let mut driver = json!({
        "name": "lockgate",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    // lockgate's own documentation, where the package says where it is (Cargo.toml's
    // `homepage`); advisories link to their records in each rule's `helpUri`.
    if !env!("CARGO_PKG_HOMEPAGE").is_empty() {
        driver["informationUri"] = env!("CARGO_PKG_HOMEPAGE").into();
    }
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&document).expect("plain data")
}

fn location(path: &str, line: Option<usize>) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": path },
            "region": { "startLine": line.unwrap_or(1).max(1) },
        }
    })
}
