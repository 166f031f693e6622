//! Benchmark of the offline database at the size of OSV's real npm export.
//!
//! Builds an export of 250,000 records (the shapes of the real npm records in
//! ../shared/data/osv, renamed onto made-up packages), loads it with `db update` from a
//! `file://` URL, then times lookups of 1, 100 and 10,000 packages (open the database, find the
//! records that affect each, read those records), half of them named in the database.
//! Run with `cargo bench --bench offline`; figures go in BENCHMARKS.md.

mod common;
#[path = "../tests/support/export_folder.rs"]
#[allow(dead_code)] // Only its folder_size here.
mod export_folder;

use lockgate::offline::{update, Database};
use lockgate::package::{Ecosystem, Package};
use std::io::Write as _;
use std::time::{Duration, Instant};

const RECORDS: usize = 250_000;

fn main() {
    let templates = common::npm_records();
    let work = tempfile::tempdir().expect("temp dir");
    let export = work.path().join("export/npm");
    std::fs::create_dir_all(&export).unwrap();

    let start = Instant::now();
    let zip_file = std::fs::File::create(export.join("all.zip")).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(zip_file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for index in 0..RECORDS {
        let mut record = templates[index % templates.len()].clone();
        record["id"] = format!("MAL-2026-{index}").into();
        for affected in record["affected"].as_array_mut().unwrap() {
            affected["package"]["name"] = package_name(index).into();
        }
        zip.start_file(format!("MAL-2026-{index}.json"), options)
            .unwrap();
        zip.write_all(record.to_string().as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    let zip_size = std::fs::metadata(export.join("all.zip")).unwrap().len();
    println!(
        "export: {RECORDS} records, all.zip {:.1} MiB, written in {:.1} s",
        zip_size as f64 / 1_048_576.0,
        start.elapsed().as_secs_f64()
    );

    let cache = work.path().join("cache");
    let settings = update::Settings {
        export_url: format!("file://{}", work.path().join("export").display()),
        timeout: Duration::from_secs(600),
        connect_timeout: Duration::from_secs(5),
        retries: 0,
    };
    let start = Instant::now();
    update::update(&cache, &settings, &[Ecosystem::Npm], &|_| {}).expect("db update");
    println!(
        "db update (whole zip): {:.1} s, database {:.1} MiB on disk",
        start.elapsed().as_secs_f64(),
        export_folder::folder_size(&cache.join("db")).0 as f64 / 1_048_576.0
    );

    for count in [1, 100, 10_000] {
        // Half the packages are in the database (at a version its record affects or not),
        // half are not.
        let packages: Vec<Package> = (0..count)
            .map(|i| {
                let name = if i % 2 == 0 {
                    package_name(i * 7919 % RECORDS)
                } else {
                    format!("not-in-the-database-{i}")
                };
                Package::new(Ecosystem::Npm, name, format!("1.{}.0", i % 3))
            })
            .collect();
        let runs = if count == 10_000 { 10 } else { 50 };
        let mut timings = Vec::with_capacity(runs);
        let mut found = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let database = Database::open(&cache, Ecosystem::Npm).unwrap().unwrap();
            let asked: Vec<&Package> = packages.iter().collect();
            let ids = database.lookup(&asked).unwrap();
            let mut unique: Vec<String> = ids.iter().flatten().cloned().collect();
            unique.sort();
            unique.dedup();
            found = database.records(&unique).unwrap().len();
            timings.push(start.elapsed());
        }
        timings.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "lookup of {count} packages: median {:.2} ms, p90 {:.2} ms ({runs} runs, {found} records affect them)",
            ms(timings[runs / 2]),
            ms(timings[runs * 9 / 10]),
        );
    }

    // The hook as git runs it, --offline, for a commit that adds five packages (one of them
    // named by a record of the database).
    let repo = work.path().join("repo");
    let added: Vec<(String, String)> = (0..5)
        .map(|i| (package_name(i * 50_000 + 1), "1.0.0".to_string()))
        .collect();
    staged_repository(&repo, &added);
    let mut timings = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_lockgate"))
            .args(["--offline", "--cache-dir"])
            .arg(&cache)
            .current_dir(&repo)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap();
        timings.push(start.elapsed());
        assert!(
            output.status.code().is_some_and(|code| code <= 1),
            "{output:?}"
        );
    }
    timings.sort();
    println!(
        "hook, --offline, commit adding 5 packages: median {:.1} ms, p90 {:.1} ms (30 runs)",
        timings[15].as_secs_f64() * 1000.0,
        timings[27].as_secs_f64() * 1000.0
    );
}

/// A repository in `folder` whose staged lockfile adds `packages` (name, version).
fn staged_repository(folder: &std::path::Path, packages: &[(String, String)]) {
    std::fs::create_dir_all(folder).unwrap();
    let mut lock = serde_json::json!({"name": "bench", "version": "1.0.0", "lockfileVersion": 3,
        "requires": true, "packages": {"": {"name": "bench", "version": "1.0.0"}}});
    let mut manifest = serde_json::json!({"name": "bench", "version": "1.0.0", "dependencies": {}});
    for (name, version) in packages {
        lock["packages"][""]["dependencies"][name] = format!("^{version}").into();
        lock["packages"][format!("node_modules/{name}")] = serde_json::json!({"version": version});
        manifest["dependencies"][name] = format!("^{version}").into();
    }
    std::fs::write(folder.join("package.json"), manifest.to_string()).unwrap();
    std::fs::write(folder.join("package-lock.json"), lock.to_string()).unwrap();
    for args in [&["init", "-q"][..], &["add", "."][..]] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(folder)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// A made-up package name for record `index` (scoped for one in five, as many real ones are).
fn package_name(index: usize) -> String {
    if index.is_multiple_of(5) {
        format!("@scope{}/package-{index}", index % 97)
    } else {
        format!("package-{index}")
    }
}
