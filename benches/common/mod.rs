//! What the end-to-end benchmarks share: timing summaries, git run hermetically, and the
//! request reading of their keep-alive stand-ins (each bench uses a part of it).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The `percent`th percentile of `timings` (0: the fastest).
pub fn percentile(timings: &[Duration], percent: usize) -> Duration {
    let mut sorted = timings.to_vec();
    sorted.sort();
    sorted[sorted.len() * percent / 100]
}

/// Milliseconds.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One line: median, p90 and fastest of `timings`.
pub fn report(name: &str, timings: &[Duration]) {
    println!(
        "{name}: median {:.1} ms, p90 {:.1} ms, min {:.1} ms ({} runs)",
        ms(percentile(timings, 50)),
        ms(percentile(timings, 90)),
        ms(percentile(timings, 0)),
        timings.len()
    );
}

/// Runs git in `repo` with no system or user configuration, as a bench user.
pub fn git(repo: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@lockgate.invalid",
        ])
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?}");
}

/// One request a stand-in read: its target, `Accept` header and body.
pub struct Request {
    /// The path asked for.
    pub target: String,
    /// The `Accept` header (empty when none).
    pub accept: String,
    /// The body.
    pub body: Vec<u8>,
}

/// The next request on a keep-alive connection; `None` when the client closed it.
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let (mut length, mut accept) = (0, String::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("accept") {
                accept = value.trim().to_string();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        target,
        accept,
        body,
    })
}

/// Answers `json` with 200; false when the client is gone.
pub fn write_json(writer: &mut impl Write, json: &str) -> bool {
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
        json.len()
    );
    writer.write_all(response.as_bytes()).is_ok()
}

/// An OSV stand-in that answers every querybatch with no hits. Written on std's TcpListener with
/// TCP_NODELAY and one write per answer, so the figures show lockgate, not Nagle's algorithm.
/// Connections are served concurrently (a thread each), so batches sent together are answered
/// together; it counts the requests it answers and the most it held at once.
pub struct EmptyOsv {
    /// Its address, for `--osv-url`.
    pub url: String,
    counters: Arc<Counters>,
}

/// What an [`EmptyOsv`] counts.
#[derive(Default)]
struct Counters {
    answered: AtomicUsize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// How an [`EmptyOsv`] answers.
#[derive(Clone, Copy)]
struct Answering {
    /// Held before each answer (an injected round trip).
    delay: Duration,
    /// The way a stand-in must not be written: Nagle's algorithm left on and the headers and
    /// the body in two writes, so the body waits for the client's delayed ACK of the headers.
    two_writes: bool,
}

impl EmptyOsv {
    /// Listens on a free loopback port and answers at once.
    pub fn start() -> Self {
        Self::serve(Answering {
            delay: Duration::ZERO,
            two_writes: false,
        })
    }

    /// Holds each answer `delay` (OSV's round trip, injected), connections in parallel.
    pub fn with_delay(delay: Duration) -> Self {
        Self::serve(Answering {
            delay,
            two_writes: false,
        })
    }

    /// Without TCP_NODELAY, headers and body in two writes: what this stand-in avoids, kept
    /// to measure what it would cost.
    pub fn two_writes_without_nodelay() -> Self {
        Self::serve(Answering {
            delay: Duration::ZERO,
            two_writes: true,
        })
    }

    fn serve(answering: Answering) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve_empty(stream, &shared, answering));
            }
        });
        EmptyOsv { url, counters }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.counters.answered.load(Ordering::SeqCst)
    }

    /// The most requests held at once since the last [`reset_peak`](Self::reset_peak).
    pub fn peak_in_flight(&self) -> usize {
        self.counters.peak.load(Ordering::SeqCst)
    }

    /// Starts counting [`peak_in_flight`](Self::peak_in_flight) again.
    pub fn reset_peak(&self) {
        self.counters.peak.store(0, Ordering::SeqCst);
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve_empty(stream: TcpStream, counters: &Counters, answering: Answering) {
    if !answering.two_writes {
        stream.set_nodelay(true).unwrap();
    }
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        let held = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(held, Ordering::SeqCst);
        let queries = serde_json::from_slice::<serde_json::Value>(&request.body)
            .ok()
            .and_then(|value| value["queries"].as_array().map(Vec::len))
            .unwrap_or(0);
        let answer =
            serde_json::json!({ "results": vec![serde_json::json!({}); queries] }).to_string();
        std::thread::sleep(answering.delay);
        counters.in_flight.fetch_sub(1, Ordering::SeqCst);
        counters.answered.fetch_add(1, Ordering::SeqCst);
        let written = if answering.two_writes {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            writer.write_all(head.as_bytes()).is_ok() && writer.write_all(answer.as_bytes()).is_ok()
        } else {
            write_json(&mut writer, &answer)
        };
        if !written {
            return;
        }
    }
}

/// Writes `folders` × 50 small source files under `repo/src/` (a tree for git to compare).
pub fn write_tree(repo: &Path, folders: usize) {
    for folder in 0..folders {
        let folder_path = repo.join(format!("src/module{folder:04}"));
        std::fs::create_dir_all(&folder_path).unwrap();
        for file in 0..50 {
            std::fs::write(
                folder_path.join(format!("file{file:02}.js")),
                format!("// {folder} {file}\n"),
            )
            .unwrap();
        }
    }
}

/// GNU time, for peak memory.
pub const GNU_TIME: &str = "/usr/bin/time";

/// `template` run under GNU time, which writes its peak resident set (KiB) to `report`.
pub fn under_gnu_time(template: &Command, report: &Path) -> Command {
    let mut run = Command::new(GNU_TIME);
    run.args(["-f", "%M", "-o"])
        .arg(report)
        .arg(template.get_program())
        .args(template.get_args());
    if let Some(folder) = template.get_current_dir() {
        run.current_dir(folder);
    }
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => run.env(key, value),
            None => run.env_remove(key),
        };
    }
    run
}

/// The peak resident set GNU time wrote to `report`, KiB.
pub fn read_peak_rss(report: &Path) -> u64 {
    std::fs::read_to_string(report)
        .unwrap()
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .expect("GNU time's %M")
}

/// The real npm records of ../shared/data/osv that name one package and are not withdrawn, as
/// shapes for made-up records to copy.
pub fn npm_records() -> Vec<serde_json::Value> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/osv");
    let mut records = Vec::new();
    for family in ["malicious/npm", "advisories/npm"] {
        let mut paths: Vec<_> = std::fs::read_dir(format!("{root}/{family}"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let record: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let single = record["affected"].as_array().is_some_and(|a| a.len() == 1);
            let npm = record["affected"][0]["package"]["ecosystem"] == "npm";
            if single && npm && record.get("withdrawn").is_none() {
                records.push(record);
            }
        }
    }
    records
}

/// Asserts that a run of lockgate on `what` passed, showing its report when it did not.
pub fn assert_passed(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} must pass: {}\n{}",
        String::from_utf8_lossy(&output.stdout)
            .chars()
            .take(4000)
            .collect::<String>(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The hook's command line: the release binary with its own cache folder (never the user's),
/// no result cache, release age off (benches/registry.rs measures it), as git runs it.
pub fn lockgate(repo: &Path, osv_url: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockgate"));
    command
        .args(["--osv-url", osv_url, "--format", "json", "--no-cache"])
        .args(extra)
        .env("LOCKGATE_CACHE_DIR", repo.join(".git/lockgate-bench-cache"))
        .env("LOCKGATE_RELEASE_AGE", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .current_dir(repo);
    command
}
