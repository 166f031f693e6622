//! Benchmark of the lockfile sync check alone, in process: parse package.json and a real
//! lockfile (2,041 and 5,055 entries, ../shared/data/lockfiles) and judge them as `npm ci`
//! would. No git, no network, no process start. Run with `cargo bench --bench sync`.

use lockgate::ecosystem::npm::sync;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const RUNS: usize = 50;

fn main() {
    for name in ["npm-2041-packages", "npm-5055-packages"] {
        let folder = format!(
            "{}/../shared/data/lockfiles/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut tree: BTreeMap<String, String> = BTreeMap::new();
        for file in ["package.json", "package-lock.json", ".npmrc"] {
            if let Ok(text) = std::fs::read_to_string(format!("{folder}/{file}")) {
                tree.insert(file.to_string(), text);
            }
        }
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
