//! Issue 20, point 6: what the stand-ins cost, and npm's own checks beside lockgate's.
//!
//! [`stand_in_delay`] times one querybatch round trip (lockgate's OSV client, 1,000 packages,
//! one keep-alive connection) against [`EmptyOsv`] as the benchmarks use it (TCP_NODELAY, one
//! write per answer) and against the same stand-in written the usual wrong way (Nagle's
//! algorithm on, headers and body in two writes: the body waits for the client's delayed ACK).
//!
//! [`npm_peers`] runs `npm audit` and `npm ci --dry-run` on the projects lockgate checks, in a
//! copy of the project's folder, with a throw-away cache and configuration, against a loopback
//! registry stand-in that answers npm audit's bulk advisory request with no advisories, and
//! prints each beside lockgate's `--all` and staged (+1 package) runs on the same project.

use super::common::{ms, percentile, read_request, report, write_json, EmptyOsv};
use super::{
    check_clean, peak_rss, plus_one_repository, read_peak_rss, thousands, time_lockgate,
    time_lockgate_kept, under_gnu_time, write, Kept, Project, Scratch,
};
use lockgate::osv::{Client, Settings};
use lockgate::package::{Ecosystem, Package};
use std::io::{BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Round trips timed on each stand-in.
const ROUND_TRIPS: usize = 20;
/// Project sizes (entries) the peers run on, and timed runs of each command.
const PEER_SIZES: [(usize, usize); 2] = [(5_000, 3), (10_000, 3)];
/// Longest a peer may take for one run before it is given up at that size.
const PEER_LIMIT: Duration = Duration::from_secs(300);
/// npm's bulk advisory endpoint, under the registry's base URL.
const BULK_ADVISORIES: &str = "/-/npm/v1/security/advisories/bulk";

/// One querybatch round trip against each way of writing a stand-in.
pub fn stand_in_delay() {
    let packages: Vec<Package> = (0..1000)
        .map(|index| Package::new(Ecosystem::Npm, format!("stand-in-bench-{index}"), "1.0.0"))
        .collect();
    println!("stand-in check: one querybatch of 1,000 packages, lockgate's OSV client, keep-alive");
    let mut medians = Vec::new();
    for (name, server) in [
        (
            "EmptyOsv as the benches use it (TCP_NODELAY, one write per answer)",
            EmptyOsv::start(),
        ),
        (
            "the same without TCP_NODELAY, headers and body in two writes",
            EmptyOsv::two_writes_without_nodelay(),
        ),
    ] {
        let client = Client::new(&Settings {
            base_url: server.url.clone(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 0,
            deadline: None,
        });
        // The first round trip opens the connection; the timed ones reuse it.
        client.query(&packages, &|_| {}).expect("querybatch");
        let timings: Vec<Duration> = (0..ROUND_TRIPS)
            .map(|_| {
                let start = Instant::now();
                client.query(&packages, &|_| {}).expect("querybatch");
                start.elapsed()
            })
            .collect();
        report(&format!("  {name}"), &timings);
        medians.push(percentile(&timings, 50));
    }
    println!(
        "  two writes without TCP_NODELAY add {:.1} ms per answer",
        ms(medians[1]) - ms(medians[0])
    );
}

/// `npm audit` and `npm ci --dry-run` beside lockgate at [`PEER_SIZES`].
pub fn npm_peers(server: &EmptyOsv, rss: bool) {
    let version = Command::new("npm").arg("--version").output();
    let Some(version) = version
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    else {
        println!("peers: npm is not on PATH, skipped");
        return;
    };
    let registry = Registry::start();
    println!(
        "\npeers: npm {version}, --registry {} (a loopback stand-in, TCP_NODELAY), throw-away \
         cache and configuration",
        registry.url
    );
    let mut rows = Vec::new();
    for (entries, runs) in PEER_SIZES {
        let project = Project::generate(entries, entries as u64);
        let (manifest, lock) = project.render(false);
        let (manifest_plus, lock_plus) = project.render(true);
        let size = format!("{} entries", thousands(project.locked()));
        let committed = plus_one_repository(&manifest, &lock, &manifest_plus, &lock_plus);
        let repo = committed.path();
        check_clean(repo, &server.url, &[]);
        let staged = percentile(&time_lockgate(repo, &server.url, &[], runs), 50);
        // As npm starts: nothing kept.
        let all = time_lockgate_kept(repo, &server.url, &["--all"], runs, 0, Kept::Nothing);
        let all = percentile(&all, 50);
        let lockgate_peak = rss.then(|| peak_rss(repo, &server.url, &["--all"], Kept::Nothing));
        println!(
            "{size}: lockgate +1 package staged {:.1} ms, --all {:.1} ms{}",
            ms(staged),
            ms(all),
            lockgate_peak.map_or(String::new(), |kib| format!(
                ", peak RSS (--all) {:.0} MiB",
                kib as f64 / 1024.0
            ))
        );

        // The peer's copy: the same package.json and package-lock.json, nothing else.
        let copy = Scratch::new();
        let folder = copy.path().join("project");
        std::fs::create_dir_all(&folder).unwrap();
        write(&folder, "package.json", &manifest_plus);
        write(&folder, "package-lock.json", &lock_plus);
        let home = copy.path().join("npm-home");
        std::fs::create_dir_all(&home).unwrap();
        for (peer, args, asks) in [
            ("npm audit", &["audit", "--json"][..], 1),
            (
                "npm ci --dry-run",
                &[
                    "ci",
                    "--dry-run",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                ][..],
                0,
            ),
        ] {
            let command = npm(&folder, &home, &registry.url, args);
            let mut timings = Vec::new();
            let mut peaks = Vec::new();
            let mut gave_up = false;
            for _ in 0..runs {
                let before = registry.requests().len();
                // Each timed run under GNU time when there is one (a few milliseconds against
                // npm's seconds), for its peak memory without a run more.
                let report = tempfile::NamedTempFile::new().unwrap();
                let run = if rss {
                    under_gnu_time(&command, report.path())
                } else {
                    npm(&folder, &home, &registry.url, args)
                };
                match run_within(run, PEER_LIMIT) {
                    Some(elapsed) => timings.push(elapsed),
                    None => {
                        gave_up = true;
                        break;
                    }
                }
                if rss {
                    peaks.push(read_peak_rss(report.path()));
                }
                let asked = registry.requests()[before..].to_vec();
                let expected = vec![BULK_ADVISORIES.to_string(); asks];
                assert_eq!(asked, expected, "{peer}'s requests to the registry");
            }
            if gave_up {
                println!(
                    "{size}: {peer} did not finish in {} s: given up at this size",
                    PEER_LIMIT.as_secs()
                );
                continue;
            }
            let peak = peaks.iter().max().copied();
            let median = percentile(&timings, 50);
            println!(
                "{size}: {peer} median {:.1} ms (min {:.1}, {} runs, {} registry request{} \
                 each), {:.1}× lockgate --all, {:.1}× lockgate +1 staged{}",
                ms(median),
                ms(percentile(&timings, 0)),
                timings.len(),
                asks,
                if asks == 1 { "" } else { "s" },
                median.as_secs_f64() / all.as_secs_f64(),
                median.as_secs_f64() / staged.as_secs_f64(),
                peak.map_or(String::new(), |kib| format!(
                    ", peak RSS {:.0} MiB",
                    kib as f64 / 1024.0
                ))
            );
            rows.push([
                peer.to_string(),
                size.clone(),
                format!("{}", timings.len()),
                format!("{:.0}", ms(median)),
                format!("{:.0}", ms(all)),
                format!("{:.0}", ms(staged)),
                format!("{:.1}×", median.as_secs_f64() / all.as_secs_f64()),
                format!("{:.1}×", median.as_secs_f64() / staged.as_secs_f64()),
                peak.map_or("-".into(), |kib| format!("{:.0}", kib as f64 / 1024.0)),
                lockgate_peak.map_or("-".into(), |kib| format!("{:.0}", kib as f64 / 1024.0)),
            ]);
        }
    }
    println!();
    println!(
        "| peer | size | runs | peer ms | lockgate --all ms | lockgate +1 staged ms | \
         peer/--all | peer/staged | peer peak RSS MiB | lockgate --all peak RSS MiB |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

/// npm in `folder` with nothing of the user's: its own cache and empty user and global
/// configuration under `home`, the loopback registry, no update check, no proxy.
fn npm(folder: &Path, home: &Path, registry: &str, args: &[&str]) -> Command {
    let mut command = Command::new("npm");
    command
        .args(args)
        .arg("--registry")
        .arg(format!("{registry}/"))
        .current_dir(folder);
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy().to_ascii_lowercase();
        if key_text.starts_with("npm_config_") || key_text.ends_with("_proxy") {
            command.env_remove(&key);
        }
    }
    std::fs::write(home.join("user-npmrc"), "").unwrap();
    std::fs::write(home.join("global-npmrc"), "").unwrap();
    command
        .env("npm_config_cache", home.join("cache"))
        .env("npm_config_userconfig", home.join("user-npmrc"))
        .env("npm_config_globalconfig", home.join("global-npmrc"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_loglevel", "error")
        .env("HOME", home);
    command
}

/// Runs `command` to the end and returns its time, or kills it (the process group it was
/// started in, by its id) after `limit` and returns `None`. It must succeed.
fn run_within(mut command: Command, limit: Duration) -> Option<Duration> {
    // Its own process group, so that giving up ends npm under GNU time too.
    command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = command.spawn().expect("run the peer");
    // Read stderr on the side, so a chatty peer never blocks on a full pipe.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    loop {
        if let Some(status) = child.try_wait().expect("wait for the peer") {
            let elapsed = start.elapsed();
            let stderr = reader.join().unwrap();
            assert!(status.success(), "{command:?}: {status:?}\n{stderr}");
            return Some(elapsed);
        }
        if start.elapsed() > limit {
            Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status()
                .ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A registry stand-in on 127.0.0.1: answers npm audit's bulk advisory request with no
/// advisories (`{}`) and anything else with 404, logs every request target. TCP_NODELAY and
/// one write per answer, a thread per connection.
struct Registry {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    fn start() -> Registry {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve_registry(stream, &shared));
            }
        });
        Registry { url, log }
    }

    /// Every request target so far, in order.
    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn serve_registry(stream: TcpStream, log: &Mutex<Vec<String>>) {
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        log.lock().unwrap().push(request.target.clone());
        let written = if request.target == BULK_ADVISORIES {
            write_json(&mut writer, "{}")
        } else {
            let body = "{\"error\":\"not found\"}";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            writer.write_all(answer.as_bytes()).is_ok()
        };
        if !written {
            return;
        }
    }
}
