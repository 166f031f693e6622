//! Issue 20, point 3: findings cost nothing extra. A new 50,000-entry lockfile staged, checked
//! with 200 findings and with none (the same lockfile; only the answers differ), online and
//! offline, and the ratio of the two.
//!
//! The records are real ones (the single-package npm records of ../shared/data/osv, malicious
//! and advisories), each renamed onto one package of the lockfile at its locked version, with
//! an id of its own and no aliases (so no two merge into one finding). Online, an OSV stand-in
//! answers querybatch with the ids only, as OSV does, and `GET /v1/vulns/{id}` with the record,
//! so lockgate fetches each record as it does for real. Offline, `lockgate db update` loads an
//! export of them (`file://`, as the tests serve one) and the hook runs with `--offline`. The
//! runs without findings ask the same kind of stand-in, and a database of as many records, named
//! onto packages the lockfile does not lock.

use super::common::{ms, percentile, read_request, write_json};
use super::{
    check_clean, lockgate, new_lockfile_repository, thousands, time_lockgate_exit, Project, Scratch,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "../../tests/support/export_folder.rs"]
#[allow(dead_code)]
mod export_folder;

/// Entries of the new lockfile.
const ENTRIES: usize = 50_000;
/// Findings in it.
const FINDINGS: usize = 200;
/// Timed runs of each case.
const RUNS: usize = 7;

/// The four cases and the two ratios.
pub fn findings() {
    let project = Project::generate(ENTRIES, ENTRIES as u64);
    let (manifest, lock) = project.render(false);
    let dir = new_lockfile_repository(&manifest, &lock);
    let repo = dir.path();
    // Packages spread over the whole lockfile, top-level ones (each locked once).
    let hit: Vec<(String, String)> = (0..FINDINGS)
        .map(|index| &project.top[index * project.top.len() / FINDINGS])
        .map(|package| (package.name.clone(), package.version.clone()))
        .collect();
    let missed: Vec<(String, String)> = (0..FINDINGS)
        .map(|index| (format!("not-locked-findings-bench-{index}"), "1.0.0".into()))
        .collect();
    let with = records(&hit);
    let without = records(&missed);
    println!(
        "\nfindings: lockfile new in whole, {} entries, {FINDINGS} findings against none",
        thousands(project.locked())
    );

    // Online.
    let none = FindingsOsv::start(&without);
    let some = FindingsOsv::start(&with);
    check_clean(repo, &none.url, &[]);
    assert_eq!(findings_reported(repo, &some.url, &[], 1), FINDINGS);
    let fetched = some.records_served();
    assert_eq!(fetched, FINDINGS, "each record fetched once");
    let online = alternating(repo, [(&none.url, &[][..], 0), (&some.url, &[][..], 1)]);
    print_pair("online (querybatch, then GET /v1/vulns/{id} each)", &online);

    // Offline: a database of each set of records.
    let work = Scratch::new();
    let mut caches = Vec::new();
    for (name, records) in [("none", &without), ("some", &with)] {
        let export = work.path().join(format!("export-{name}"));
        export_folder::write_export(&export, "npm", records);
        let cache = work.path().join(format!("cache-{name}"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
            .args(["db", "update", "--ecosystem", "npm", "--export-url"])
            .arg(format!("file://{}", export.display()))
            .arg("--cache-dir")
            .arg(&cache)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run db update");
        assert!(status.success(), "db update: {status:?}");
        caches.push(cache.display().to_string());
    }
    let offline_none = ["--offline", "--cache-dir", &caches[0]];
    let offline_some = ["--offline", "--cache-dir", &caches[1]];
    check_clean(repo, &none.url, &offline_none);
    assert_eq!(
        findings_reported(repo, &none.url, &offline_some, 1),
        FINDINGS
    );
    let offline = alternating(
        repo,
        [
            (&none.url, &offline_none[..], 0),
            (&none.url, &offline_some[..], 1),
        ],
    );
    print_pair("offline (--offline, database from db update)", &offline);
}

/// [`RUNS`] timed runs of each of two cases (OSV URL, arguments, exit code), taken in turn so
/// that a change in the machine's load falls on both alike.
fn alternating(repo: &Path, cases: [(&str, &[&str], i32); 2]) -> [Vec<Duration>; 2] {
    let mut timings = [Vec::new(), Vec::new()];
    for _ in 0..RUNS {
        for (case, (url, extra, code)) in cases.iter().enumerate() {
            timings[case].extend(time_lockgate_exit(repo, url, extra, 1, *code));
        }
    }
    timings
}

fn print_pair(name: &str, timings: &[Vec<Duration>; 2]) {
    let [none, some] = [percentile(&timings[0], 50), percentile(&timings[1], 50)];
    println!(
        "  {name}: no findings {:.0} ms, {FINDINGS} findings {:.0} ms (medians of {RUNS}, runs taken in turn), \
         ratio {:.2}×",
        ms(none),
        ms(some),
        some.as_secs_f64() / none.as_secs_f64()
    );
}

/// How many findings one run reports (it must end with exit code `code`), each with its line.
fn findings_reported(repo: &Path, osv_url: &str, extra: &[&str], code: i32) -> usize {
    let output = lockgate(repo, osv_url, extra)
        .output()
        .expect("run lockgate");
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .all(|finding| finding["line"].as_u64() > Some(0)),
        "each finding has its line"
    );
    findings.len()
}

/// One record for each (name, version): a real npm record renamed onto it, its own id.
fn records(packages: &[(String, String)]) -> Vec<Value> {
    let templates = templates();
    packages
        .iter()
        .enumerate()
        .map(|(index, (name, version))| {
            let mut record = templates[index % templates.len()].clone();
            let id = record["id"].as_str().unwrap();
            record["id"] = if id.starts_with("MAL-") {
                format!("MAL-2099-{index}")
            } else {
                format!("GHSA-bnch-{index:04}-fndg")
            }
            .into();
            record["aliases"] = json!([]);
            if let Some(object) = record.as_object_mut() {
                object.remove("related");
            }
            let affected = &mut record["affected"][0];
            affected["package"]["name"] = name.clone().into();
            // That version only: a range from "0" would also hit the nested copies of the
            // same name at other majors, in the offline matching.
            affected["versions"] = json!([version]);
            if let Some(object) = affected.as_object_mut() {
                object.remove("ranges");
            }
            record
        })
        .collect()
}

/// The real npm records of ../shared/data/osv that name one package and are not withdrawn,
/// malicious packages and advisories in turn.
fn templates() -> Vec<Value> {
    let templates = crate::common::npm_records();
    // Alternate malicious packages and advisories, as a mix of both.
    let (malicious, advisories): (Vec<Value>, Vec<Value>) = templates
        .into_iter()
        .partition(|record| record["id"].as_str().unwrap().starts_with("MAL-"));
    malicious
        .into_iter()
        .zip(advisories.into_iter().cycle())
        .flat_map(|(a, b)| [a, b])
        .collect()
}

/// An OSV stand-in that knows `records`: querybatch answers each query with the ids (and
/// `modified`) of the records naming that package and version, `GET /v1/vulns/{id}` with the
/// record. TCP_NODELAY, one write per answer, a thread per connection.
struct FindingsOsv {
    url: String,
    served: Arc<AtomicUsize>,
}

/// What the stand-in knows: ids by (name, version), records by id.
struct Known {
    hits: HashMap<(String, String), Vec<Value>>,
    records: HashMap<String, String>,
}

impl FindingsOsv {
    fn start(records: &[Value]) -> FindingsOsv {
        let mut known = Known {
            hits: HashMap::new(),
            records: HashMap::new(),
        };
        for record in records {
            let id = record["id"].as_str().unwrap().to_string();
            let affected = &record["affected"][0];
            let name = affected["package"]["name"].as_str().unwrap().to_string();
            for version in affected["versions"].as_array().unwrap() {
                known
                    .hits
                    .entry((name.clone(), version.as_str().unwrap().to_string()))
                    .or_default()
                    .push(json!({"id": id, "modified": record["modified"]}));
            }
            known.records.insert(id, record.to_string());
        }
        let known = Arc::new(known);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let counter = served.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (known, counter) = (known.clone(), counter.clone());
                std::thread::spawn(move || serve_findings(stream, &known, &counter));
            }
        });
        FindingsOsv { url, served }
    }

    /// Records answered so far.
    fn records_served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

fn serve_findings(stream: TcpStream, known: &Known, served: &AtomicUsize) {
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let answer = if request.target == "/v1/querybatch" {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let results: Vec<Value> = body["queries"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|query| {
                    let key = (
                        query["package"]["name"].as_str().unwrap_or("").to_string(),
                        query["version"].as_str().unwrap_or("").to_string(),
                    );
                    match known.hits.get(&key) {
                        Some(vulns) => json!({"vulns": vulns}),
                        None => json!({}),
                    }
                })
                .collect();
            Some(json!({"results": results}).to_string())
        } else {
            request
                .target
                .strip_prefix("/v1/vulns/")
                .and_then(|id| known.records.get(id))
                .inspect(|_| {
                    served.fetch_add(1, Ordering::SeqCst);
                })
                .cloned()
        };
        let written = match answer {
            Some(json) => write_json(&mut writer, &json),
            None => {
                let body = "{\"code\":5,\"message\":\"Bug not found.\"}";
                let head = format!(
                    "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                writer.write_all(head.as_bytes()).is_ok()
            }
        };
        if !written {
            return;
        }
    }
}
