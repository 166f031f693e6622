//! `--offline` and the online path must agree: for every record in ../shared/data/osv and probe
//! versions around each of its boundaries, the offline database and OSV (the stand-in on
//! 127.0.0.1, which implements OSV's matching on its own) name the same records.

use crate::support::export::{shared_records, Export};
use crate::support::OsvServer;
use lockgate::offline::{update, Database};
use lockgate::osv;
use lockgate::package::{Ecosystem, Package};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Versions around `version`: itself, its neighbours, and a prerelease / dev release of it.
fn probes(ecosystem: Ecosystem, version: &str, out: &mut BTreeSet<String>) {
    out.insert(version.to_string());
    match ecosystem {
        Ecosystem::Npm => {
            let core = version.split(['-', '+']).next().unwrap_or(version);
            let parts: Vec<u64> = core.split('.').filter_map(|p| p.parse().ok()).collect();
            if let [major, minor, patch] = parts[..] {
                out.insert(format!("{major}.{minor}.{}", patch + 1));
                if patch > 0 {
                    out.insert(format!("{major}.{minor}.{}", patch - 1));
                }
                out.insert(format!("{major}.{}.0", minor + 1));
                out.insert(format!("{major}.{minor}.{patch}-0"));
                out.insert(format!("{}.0.0", major + 1));
            }
        }
        Ecosystem::PyPI => {
            for suffix in [".post1", ".dev0", "rc1", ".1"] {
                out.insert(format!("{version}{suffix}"));
            }
        }
        // Not compared here: the stand-in orders Packagist versions by semver, not as OSV does.
        Ecosystem::Packagist => {}
    }
}

#[test]
fn offline_and_online_name_the_same_records_for_every_boundary() {
    let families = [
        ("npm", Ecosystem::Npm, ["malicious/npm", "advisories/npm"]),
        (
            "PyPI",
            Ecosystem::PyPI,
            ["malicious/pypi", "advisories/pypi"],
        ),
    ];
    let export = Export::new();
    let cache = tempfile::tempdir().unwrap();
    let mut packages: BTreeSet<Package> = BTreeSet::new();
    for (name, ecosystem, folders) in &families {
        let records = shared_records(folders);
        export.publish(name, &records);
        for record in &records {
            for affected in record["affected"].as_array().into_iter().flatten() {
                let package = &affected["package"];
                if package["ecosystem"] != *name {
                    continue;
                }
                let package_name = package["name"].as_str().unwrap();
                let mut versions = BTreeSet::from(["0.0.1".to_string(), "999.0.0".to_string()]);
                let listed = affected["versions"].as_array().into_iter().flatten();
                let events = affected["ranges"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|range| range["events"].as_array().into_iter().flatten())
                    .flat_map(|event| event.as_object().into_iter().flatten().map(|(_, v)| v));
                for version in listed.chain(events).filter_map(Value::as_str) {
                    if version != "0" && version != "*" {
                        probes(*ecosystem, version, &mut versions);
                    }
                }
                for version in versions {
                    packages.insert(Package::new(*ecosystem, package_name, version));
                }
            }
        }
    }
    let settings = update::Settings {
        export_url: export.file_url(),
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        retries: 0,
    };
    update::update(
        cache.path(),
        &settings,
        &[Ecosystem::Npm, Ecosystem::PyPI],
        &|_| {},
    )
    .expect("build the offline databases");

    let packages: Vec<Package> = packages.into_iter().collect();
    let server = OsvServer::start();
    let client = osv::Client::new(&osv::Settings {
        base_url: server.url(),
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        retries: 0,
        deadline: None,
    });
    let online = client
        .query(&packages, &|_| {})
        .expect("ask the OSV stand-in");

    let mut offline: BTreeMap<&Package, BTreeSet<String>> = BTreeMap::new();
    for (_, ecosystem, _) in &families {
        let database = Database::open(cache.path(), *ecosystem).unwrap().unwrap();
        let asked: Vec<&Package> = packages
            .iter()
            .filter(|p| p.ecosystem == *ecosystem)
            .collect();
        for (package, ids) in asked.iter().zip(database.lookup(&asked).unwrap()) {
            offline.insert(package, ids.into_iter().collect());
        }
    }
    let mut disagreements = Vec::new();
    let mut hits = 0;
    for (package, hits_online) in packages.iter().zip(&online) {
        let online: BTreeSet<String> = hits_online.iter().map(|hit| hit.id.clone()).collect();
        hits += online.len();
        if offline[package] != online {
            disagreements.push(format!(
                "{} {}@{}: offline {:?}, online {online:?}",
                package.ecosystem, package.name, package.version, offline[package]
            ));
        }
    }
    eprintln!(
        "offline/online agreement: {} of {} probes agree ({hits} hits online)",
        packages.len() - disagreements.len(),
        packages.len()
    );
    assert!(packages.len() > 2000, "only {} probes", packages.len());
    assert!(hits > 500, "only {hits} hits: the probes miss the records");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
