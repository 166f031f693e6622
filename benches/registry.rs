//! Benchmark of what the release-age check costs in registry requests (issue 18): the compiled
//! binary run as git runs the hook, in real repositories, against a stand-in npm registry and an
//! OSV stand-in on 127.0.0.1 that each wait 50 ms before every answer (a round trip to a nearby
//! service, not loopback's).
//!
//! Scenarios: a commit that adds 1 package, and one that adds 500, each with the cache folder
//! emptied before every run (a first commit of these packages) and with it filled by an earlier
//! run (a retried commit); each also with the release-age check off (`LOCKGATE_RELEASE_AGE=0`),
//! so the table shows what the registry adds to OSV's round trip, which it runs beside. Every
//! version is of 2024-01-01 and the documents' `modified` too, so the abbreviated document
//! answers alone: one request per package, never the full document.
//! Run with `cargo bench --bench registry`; figures go in BENCHMARKS.md.

mod common;

use common::{git, ms, percentile, read_request, report, write_json, Request};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Timed runs per scenario.
const RUNS: usize = 15;
/// What each stand-in waits before answering.
const LATENCY: Duration = Duration::from_millis(50);
/// The clock of every run: 2024-01-01 is long past the 3-day minimum.
const NOW: &str = "2026-12-05T00:00:00Z";
/// When every version was published, and every document last modified.
const PUBLISHED: &str = "2024-01-01T00:00:00Z";
/// The version of every package locked.
const VERSION: &str = "1.0.0";

fn main() {
    let registry = Standin::start(LATENCY, registry_answer);
    let osv = Standin::start(LATENCY, osv_answer);
    let mut rows = Vec::new();
    for count in [1, 500] {
        let dir = repository(&registry.url, count);
        let repo = dir.path();
        let added = format!("{count} package{} added", if count == 1 { "" } else { "s" });
        for (age, check) in [("0", "release age off"), ("3d", "release age 3d")] {
            for warm in [false, true] {
                let cache = if warm { "cache warm" } else { "cache cold" };
                let name = format!("{added}, {check}, {cache}");
                let row = measure(&name, repo, &registry, &osv, age, warm);
                // What the check must ask: one abbreviated document per package, once.
                let expected = if age == "0" || warm { 0 } else { count };
                assert_eq!(
                    (row.registry, row.full),
                    (expected, 0),
                    "{name}: registry requests per run (abbreviated, full)"
                );
                assert_eq!(row.osv, usize::from(!warm), "{name}: OSV requests per run");
                rows.push(row);
            }
        }
    }
    println!();
    println!(
        "| scenario ({RUNS} runs each) | median | p90 | registry requests per run | registry \
         connections per run | OSV requests per run |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        println!(
            "| {} | {:.1} ms | {:.1} ms | {} | {} | {} |",
            row.name, row.median, row.p90, row.registry, row.connections, row.osv
        );
    }
}

/// One scenario's figures.
struct Row {
    name: String,
    median: f64,
    p90: f64,
    /// Abbreviated documents asked per run.
    registry: usize,
    /// Full documents asked per run.
    full: usize,
    /// Connections the registry stand-in accepted per run.
    connections: usize,
    osv: usize,
}

/// Runs the hook [`RUNS`] times with `LOCKGATE_RELEASE_AGE=age`, the cache folder removed
/// before each run (cold) or filled by one untimed run first (warm).
fn measure(
    name: &str,
    repo: &Path,
    registry: &Standin,
    osv: &Standin,
    age: &str,
    warm: bool,
) -> Row {
    let cache = repo.join(".git/lockgate-bench-cache");
    let _ = std::fs::remove_dir_all(&cache);
    if warm {
        run(repo, &osv.url, &cache, age);
    }
    let before = (
        registry.count("abbreviated"),
        registry.count("full"),
        osv.count("querybatch"),
        registry.connections(),
    );
    let timings: Vec<Duration> = (0..RUNS)
        .map(|_| {
            if !warm {
                let _ = std::fs::remove_dir_all(&cache);
            }
            run(repo, &osv.url, &cache, age)
        })
        .collect();
    let per_run = |now: usize, then: usize| (now - then) / RUNS;
    let row = Row {
        name: name.to_string(),
        median: ms(percentile(&timings, 50)),
        p90: ms(percentile(&timings, 90)),
        registry: per_run(registry.count("abbreviated"), before.0),
        full: per_run(registry.count("full"), before.1),
        connections: per_run(registry.connections(), before.3),
        osv: per_run(osv.count("querybatch"), before.2),
    };
    report(name, &timings);
    println!(
        "  per run: {} registry requests ({} full documents) on {} connections, {} OSV \
         querybatch",
        row.registry, row.full, row.connections, row.osv
    );
    row
}

/// One run of the hook, as git runs it; the report must be clean.
fn run(repo: &Path, osv_url: &str, cache: &Path, age: &str) -> Duration {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_lockgate"))
        .args(["--osv-url", osv_url, "--format", "json"])
        .env("LOCKGATE_CACHE_DIR", cache)
        .env("LOCKGATE_RELEASE_AGE", age)
        .env("LOCKGATE_NOW", NOW)
        .current_dir(repo)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run lockgate");
    let elapsed = start.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert!(
        output.status.success() && report["problems"].as_array().is_some_and(Vec::is_empty),
        "{output:?}"
    );
    elapsed
}

/// A repository with one commit (a README) and `count` packages staged: a package.json and its
/// package-lock.json v3, every package downloaded from `registry`. One in ten is scoped.
fn repository(registry: &str, count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "bench\n").unwrap();
    git(repo, &["add", "README.md"]);
    git(repo, &["commit", "-q", "-m", "readme"]);
    let names: Vec<String> = (0..count)
        .map(|index| match index % 10 {
            9 => format!("@bench/tool-{index:04}"),
            _ => format!("bench-package-{index:04}"),
        })
        .collect();
    let ranges: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|name| (name.clone(), format!("^{VERSION}").into()))
        .collect();
    let mut packages = serde_json::Map::new();
    packages.insert(
        String::new(),
        serde_json::json!({"name": "app", "version": "1.0.0", "dependencies": ranges}),
    );
    for name in &names {
        let file = name.rsplit('/').next().unwrap();
        packages.insert(
            format!("node_modules/{name}"),
            serde_json::json!({
                "version": VERSION,
                "resolved": format!("{registry}/{name}/-/{file}-{VERSION}.tgz"),
                "integrity": "sha512-AAAA",
            }),
        );
    }
    let manifest = serde_json::json!({"name": "app", "version": "1.0.0", "dependencies": ranges});
    let lock = serde_json::json!({
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": true,
        "packages": packages,
    });
    for (file, value) in [("package.json", manifest), ("package-lock.json", lock)] {
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        std::fs::write(repo.join(file), text).unwrap();
    }
    git(repo, &["add", "package.json", "package-lock.json"]);
    dir
}

/// What a stand-in answers to a request: what kind of request it was (counted) and the JSON.
type Answerer = fn(&Request) -> (&'static str, String);

/// The npm registry: for any package name, the abbreviated document when the Accept header asks
/// for it, else the full one with its `time` map; every version of [`PUBLISHED`].
fn registry_answer(request: &Request) -> (&'static str, String) {
    let name = request
        .target
        .trim_start_matches('/')
        .replacen("%2f", "/", 1)
        .replacen("%2F", "/", 1);
    let versions: serde_json::Map<String, serde_json::Value> = ["0.9.0", VERSION, "1.0.1"]
        .iter()
        .map(|version| {
            let manifest = serde_json::json!({"name": name, "version": version});
            (version.to_string(), manifest)
        })
        .collect();
    if request
        .accept
        .contains("application/vnd.npm.install-v1+json")
    {
        let document = serde_json::json!({
            "name": name,
            "modified": PUBLISHED,
            "dist-tags": {"latest": "1.0.1"},
            "versions": versions,
        });
        return ("abbreviated", document.to_string());
    }
    let mut time: serde_json::Map<String, serde_json::Value> = versions
        .keys()
        .map(|version| (version.clone(), PUBLISHED.into()))
        .collect();
    time.insert("created".into(), PUBLISHED.into());
    time.insert("modified".into(), PUBLISHED.into());
    let document = serde_json::json!({
        "name": name,
        "dist-tags": {"latest": "1.0.1"},
        "time": time,
        "versions": versions,
    });
    ("full", document.to_string())
}

/// OSV: every querybatch answered with no hits.
fn osv_answer(request: &Request) -> (&'static str, String) {
    let queries = serde_json::from_slice::<serde_json::Value>(&request.body)
        .ok()
        .and_then(|value| value["queries"].as_array().map(Vec::len))
        .unwrap_or(0);
    let answer = serde_json::json!({ "results": vec![serde_json::json!({}); queries] });
    let kind = if request.target.ends_with("/querybatch") {
        "querybatch"
    } else {
        "other"
    };
    (kind, answer.to_string())
}

/// A stand-in service on 127.0.0.1 that waits `latency` before each answer. Written on std's
/// TcpListener with TCP_NODELAY, one thread per connection, keep-alive, and one write per answer,
/// so the figures show lockgate and the latency, not Nagle's algorithm.
struct Standin {
    url: String,
    /// Requests by the kind the answerer named.
    counts: Arc<Mutex<BTreeMap<&'static str, usize>>>,
    connections: Arc<AtomicUsize>,
}

impl Standin {
    fn start(latency: Duration, answer: Answerer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (seen, opened) = (counts.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                opened.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, latency, answer, &seen));
            }
        });
        Standin {
            url,
            counts,
            connections,
        }
    }

    fn count(&self, kind: &str) -> usize {
        self.counts.lock().unwrap().get(kind).copied().unwrap_or(0)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve(
    stream: TcpStream,
    latency: Duration,
    answer: Answerer,
    seen: &Mutex<BTreeMap<&'static str, usize>>,
) {
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let (kind, json) = answer(&request);
        *seen.lock().unwrap().entry(kind).or_default() += 1;
        std::thread::sleep(latency);
        if !write_json(&mut writer, &json) {
            return;
        }
    }
}
