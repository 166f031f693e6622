//! A synthetic npm project of any size, shaped as real ones are: a package.json and a
//! package-lock.json v3 as npm writes it (the scale and push benchmarks generate theirs here).
//! The including bench declares the `lockfiles` and `random` modules of tests/support.

use crate::lockfiles::{npm_integrity, npm_resolved_url};
use crate::random::Random;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::fmt::Write as _;

/// The package the staged change adds.
pub const ADDED: (&str, &str) = ("scale-bench-added", "1.4.2");

/// A synthetic npm project: top-level packages, each with its dependencies, and nested ones.
pub struct Project {
    /// Top-level packages: name, version, dependencies by index.
    pub top: Vec<Package>,
    /// Nested packages: the top-level index they sit under, name, version.
    pub nested: Vec<(usize, String, String)>,
    /// The root's direct dependencies: `top[..direct]`, the first `production` of them under
    /// `dependencies`, the rest under `devDependencies`.
    pub direct: usize,
    /// How many of the direct dependencies are production ones.
    pub production: usize,
}

/// One top-level package.
pub struct Package {
    pub name: String,
    pub version: String,
    pub license: &'static str,
    /// Top-level packages it needs (by index), and nested ones under it (by nested index).
    pub needs: BTreeSet<usize>,
    pub needs_nested: Vec<usize>,
    /// Tree parent: the package that first needed it (`None` for a direct dependency).
    pub parent: Option<usize>,
}

const WORDS: [&str; 48] = [
    "ansi",
    "array",
    "async",
    "babel",
    "buffer",
    "cache",
    "chalk",
    "color",
    "config",
    "core",
    "css",
    "debug",
    "deep",
    "define",
    "emit",
    "escape",
    "event",
    "fast",
    "flat",
    "fs",
    "glob",
    "graceful",
    "has",
    "http",
    "is",
    "json",
    "lodash",
    "loader",
    "merge",
    "mime",
    "minimist",
    "object",
    "parse",
    "path",
    "picomatch",
    "plugin",
    "postcss",
    "proxy",
    "readable",
    "regex",
    "semver",
    "source",
    "stream",
    "string",
    "strip",
    "through",
    "type",
    "util",
];
const SUFFIXES: [&str; 16] = [
    "", "js", "utils", "map", "width", "equal", "keys", "props", "stack", "compat", "types", "cli",
    "lite", "plus", "core", "parser",
];
const SCOPES: [&str; 8] = [
    "@babel", "@types", "@jest", "@eslint", "@aws-sdk", "@smithy", "@rollup", "@vitest",
];
const LICENSES: [&str; 5] = ["MIT", "MIT", "ISC", "Apache-2.0", "BSD-3-Clause"];

impl Project {
    /// A project locking `entries` packages (one in eight nested), the same for the same seed.
    pub fn generate(entries: usize, seed: u64) -> Project {
        let mut rng = Random(seed);
        let nested_count = entries / 8;
        let top_count = entries - nested_count;
        let direct = (top_count / 25).clamp(20, 120);
        let production = direct * 2 / 3;
        let mut names = HashSet::new();
        let mut top: Vec<Package> = Vec::with_capacity(top_count);
        for index in 0..top_count {
            let name = unique_name(&mut rng, &mut names);
            let parent = (index >= direct).then(|| rng.below(index));
            let mut needs = BTreeSet::new();
            // A few more edges across the tree, always to later packages: no cycles.
            if index + 1 < top_count {
                for _ in 0..rng.below(4) {
                    needs.insert(index + 1 + rng.below(top_count - index - 1));
                }
            }
            top.push(Package {
                name,
                version: version(&mut rng),
                license: LICENSES[rng.below(LICENSES.len())],
                needs,
                needs_nested: Vec::new(),
                parent,
            });
            if let Some(parent) = parent {
                top[parent].needs.insert(index);
            }
        }
        // Another major of a top-level package, nested under one that needs it: never under
        // that package's tree parent, so the top-level copy stays reachable.
        let mut nested = Vec::with_capacity(nested_count);
        let mut taken = HashSet::new();
        while nested.len() < nested_count {
            let under = rng.below(top_count);
            let of = rng.below(top_count);
            if of == under || top[of].parent == Some(under) || !taken.insert((under, of)) {
                continue;
            }
            let major = top[of].version.split('.').next().unwrap();
            let major: u64 = major.parse().unwrap();
            let version = format!("{}.{}.{}", major + 1, rng.below(12), rng.below(20));
            top[under].needs.remove(&of);
            top[under].needs_nested.push(nested.len());
            nested.push((under, top[of].name.clone(), version));
        }
        Project {
            top,
            nested,
            direct,
            production,
        }
    }

    /// Entries locked (not counting the root's).
    pub fn locked(&self) -> usize {
        self.top.len() + self.nested.len()
    }

    /// Which top-level packages only development dependencies need.
    fn dev_only(&self) -> Vec<bool> {
        let mut dev = vec![true; self.top.len()];
        let mut queue: VecDeque<usize> = (0..self.production).collect();
        for &index in &queue {
            dev[index] = false;
        }
        while let Some(index) = queue.pop_front() {
            for &next in &self.top[index].needs {
                if dev[next] {
                    dev[next] = false;
                    queue.push_back(next);
                }
            }
        }
        dev
    }

    /// package.json and package-lock.json, with [`ADDED`] as one more dependency when `plus_one`.
    pub fn render(&self, plus_one: bool) -> (String, String) {
        let dev = self.dev_only();
        let range = |index: usize| format!("^{}", self.top[index].version);
        let mut dependencies: Vec<(String, String)> = (0..self.production)
            .map(|index| (self.top[index].name.clone(), range(index)))
            .collect();
        if plus_one {
            dependencies.push((ADDED.0.to_string(), format!("^{}", ADDED.1)));
        }
        dependencies.sort();
        let mut dev_dependencies: Vec<(String, String)> = (self.production..self.direct)
            .map(|index| (self.top[index].name.clone(), range(index)))
            .collect();
        dev_dependencies.sort();

        let mut manifest = String::from(
            "{\n  \"name\": \"scale-bench\",\n  \"version\": \"1.0.0\",\n  \"private\": true,\n",
        );
        manifest.push_str("  \"dependencies\": ");
        write_map(&mut manifest, 2, &dependencies);
        manifest.push_str(",\n  \"devDependencies\": ");
        write_map(&mut manifest, 2, &dev_dependencies);
        manifest.push_str("\n}\n");

        // Every entry's text by location, sorted as npm sorts them.
        let mut entries: BTreeMap<String, String> = BTreeMap::new();
        for (index, package) in self.top.iter().enumerate() {
            let mut needs: Vec<(String, String)> = package
                .needs
                .iter()
                .map(|&next| (self.top[next].name.clone(), range(next)))
                .chain(package.needs_nested.iter().map(|&nested| {
                    let (_, name, version) = &self.nested[nested];
                    (name.clone(), format!("^{version}"))
                }))
                .collect();
            needs.sort();
            entries.insert(
                format!("node_modules/{}", package.name),
                entry(
                    &package.name,
                    &package.version,
                    dev[index],
                    package.license,
                    &needs,
                ),
            );
        }
        for (under, name, version) in &self.nested {
            let location = format!("node_modules/{}/node_modules/{name}", self.top[*under].name);
            entries.insert(location, entry(name, version, dev[*under], "MIT", &[]));
        }
        if plus_one {
            entries.insert(
                format!("node_modules/{}", ADDED.0),
                entry(ADDED.0, ADDED.1, false, "MIT", &[]),
            );
        }

        let mut lock =
            String::with_capacity(entries.values().map(String::len).sum::<usize>() * 11 / 10);
        lock.push_str("{\n  \"name\": \"scale-bench\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n");
        lock.push_str("    \"\": {\n      \"name\": \"scale-bench\",\n      \"version\": \"1.0.0\",\n      \"dependencies\": ");
        write_map(&mut lock, 6, &dependencies);
        lock.push_str(",\n      \"devDependencies\": ");
        write_map(&mut lock, 6, &dev_dependencies);
        lock.push_str("\n    }");
        for (location, text) in &entries {
            write!(lock, ",\n    \"{location}\": {text}").unwrap();
        }
        lock.push_str("\n  }\n}\n");
        (manifest, lock)
    }
}

/// One lockfile entry's object, indented as npm writes it under `packages`.
fn entry(
    name: &str,
    version: &str,
    dev: bool,
    license: &str,
    needs: &[(String, String)],
) -> String {
    let mut out = format!(
        "{{\n      \"version\": \"{version}\",\n      \"resolved\": \"{}\",\n      \"integrity\": \"{}\",\n",
        npm_resolved_url(name, version),
        npm_integrity(name, version)
    );
    if dev {
        out.push_str("      \"dev\": true,\n");
    }
    write!(out, "      \"license\": \"{license}\"").unwrap();
    if !needs.is_empty() {
        out.push_str(",\n      \"dependencies\": ");
        write_map(&mut out, 6, needs);
    }
    out.push_str("\n    }");
    out
}

/// A JSON object of strings at `indent`, npm's layout.
fn write_map(out: &mut String, indent: usize, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    let pad = " ".repeat(indent + 2);
    for (at, (key, value)) in pairs.iter().enumerate() {
        let comma = if at + 1 < pairs.len() { "," } else { "" };
        writeln!(out, "{pad}\"{key}\": \"{value}\"{comma}").unwrap();
    }
    write!(out, "{}}}", " ".repeat(indent)).unwrap();
}

/// A plausible package name not drawn before: `word-word`, a suffix, sometimes scoped.
fn unique_name(rng: &mut Random, names: &mut HashSet<String>) -> String {
    loop {
        let mut name = String::new();
        if rng.below(5) == 0 {
            write!(name, "{}/", SCOPES[rng.below(SCOPES.len())]).unwrap();
        }
        name.push_str(WORDS[rng.below(WORDS.len())]);
        for _ in 0..1 + rng.below(2) {
            write!(name, "-{}", WORDS[rng.below(WORDS.len())]).unwrap();
        }
        let suffix = SUFFIXES[rng.below(SUFFIXES.len())];
        if !suffix.is_empty() {
            write!(name, "-{suffix}").unwrap();
        }
        if names.insert(name.clone()) {
            return name;
        }
    }
}

/// A version as most packages have them: a small major, more minors and patches.
fn version(rng: &mut Random) -> String {
    format!("{}.{}.{}", rng.below(8), rng.below(25), rng.below(30))
}
