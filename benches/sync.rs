//! Benchmark of the lockfile sync check alone, in process: parse the manifests and a real
//! lockfile and judge them as the tool's frozen install would. npm: the lockfiles of
//! ../shared/data/lockfiles (2,041 and 5,055 entries); the other tools: the largest real
//! projects of tests/fixtures (yarn berry, yarn classic, pnpm, bun). No git, no network, no
//! process start. Run with `cargo bench --bench sync`.

use lockgate::ecosystem::npm::sync;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 50;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every file below `folder` but the recorded verdict, by path relative to it.
fn project(folder: &Path, prefix: &str, tree: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(folder).expect("read the case folder") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if path.is_dir() {
            project(&path, &relative, tree);
        } else if name != "verdict.txt" {
            if let Ok(text) = std::fs::read_to_string(&path) {
                tree.insert(relative, text);
            }
        }
    }
}

fn main() {
    let cases = [
        (
            "npm-2041-packages",
            "../shared/data/lockfiles/npm-2041-packages",
        ),
        (
            "npm-5055-packages",
            "../shared/data/lockfiles/npm-5055-packages",
        ),
        (
            "yarn-berry (redux-toolkit, 1.2 MB)",
            "tests/fixtures/npm/yarn-berry/real-redux-toolkit",
        ),
        (
            "yarn-classic (vue-cli, 0.9 MB)",
            "tests/fixtures/npm/yarn-classic/real-vue-cli",
        ),
        ("pnpm (zod, 0.4 MB)", "tests/fixtures/npm/pnpm/real-zod"),
        ("bun (hono, 0.3 MB)", "tests/fixtures/npm/bun/real-hono"),
    ];
    for (name, folder) in cases {
        let mut tree: BTreeMap<String, String> = BTreeMap::new();
        project(&Path::new(ROOT).join(folder), "", &mut tree);
        let mut timings: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut problems = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            problems = sync::check_project(&tree, "").expect("check").len();
            timings.push(start.elapsed());
        }
        timings.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name}: median {:.2} ms, p90 {:.2} ms, min {:.2} ms ({RUNS} runs, {problems} problems)",
            ms(timings[RUNS / 2]),
            ms(timings[RUNS * 9 / 10]),
            ms(timings[0]),
        );
    }
}
