//! npm lockfile and `package.json` fixtures written the way npm writes them (key order, two-space
//! indent, trailing newline), with download URLs on a placeholder host.

use std::fmt::Write as _;

/// Host of every `resolved` URL in fixtures: a reserved `.test` name, never a real registry.
pub const PLACEHOLDER_REGISTRY: &str = "https://registry.example.test";

/// npm packages no record in ../shared/data/osv names.
pub const CLEAN_NPM: [(&str, &str); 2] = [("left-pad", "1.3.0"), ("is-number", "7.0.0")];

/// [`CLEAN_NPM`] and is-odd 3.0.1, which no record names either: a package for a change to add.
pub const CLEAN_NPM_AND_IS_ODD: [(&str, &str); 3] = [
    ("left-pad", "1.3.0"),
    ("is-number", "7.0.0"),
    ("is-odd", "3.0.1"),
];

/// Name and version of the project at the root of every fixture.
const ROOT_NAME: &str = "fixture";
const ROOT_VERSION: &str = "1.0.0";

/// The tarball URL npm would record, on the placeholder host:
/// `https://registry.example.test/@scope/name/-/name-1.0.0.tgz` for scoped names.
pub fn npm_resolved_url(name: &str, version: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    format!("{PLACEHOLDER_REGISTRY}/{name}/-/{base}-{version}.tgz")
}

/// A made-up but well-formed `sha512-...` integrity string, stable for a name and version.
pub fn npm_integrity(name: &str, version: &str) -> String {
    // FNV-1a seeds a splitmix64 stream: deterministic bytes, no crypto needed for a fixture.
    let mut state = format!("{name}@{version}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let mut bytes = Vec::with_capacity(64);
    while bytes.len() < 64 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_be_bytes());
    }
    format!("sha512-{}", base64(&bytes))
}

/// The `package.json` of the fixture project with these `dependencies` (name, range).
pub fn package_json(dependencies: &[(&str, &str)]) -> String {
    let mut out = String::new();
    writeln!(out, "{{").unwrap();
    writeln!(out, "  \"name\": {},", quote(ROOT_NAME)).unwrap();
    write!(out, "  \"version\": {}", quote(ROOT_VERSION)).unwrap();
    if !dependencies.is_empty() {
        write!(out, ",\n  \"dependencies\": ").unwrap();
        write_string_map(&mut out, 2, &sorted(dependencies));
    }
    out.push_str("\n}\n");
    out
}

/// A `package.json` in sync with [`npm_lock_v3`] and friends for the same packages: each
/// dependency's range is `^version`, as `npm install` saves it.
pub fn package_json_matching(packages: &[(&str, &str)]) -> String {
    let ranges: Vec<(String, String)> = packages
        .iter()
        .map(|(name, version)| ((*name).to_owned(), format!("^{version}")))
        .collect();
    let borrowed: Vec<(&str, &str)> = ranges
        .iter()
        .map(|(n, r)| (n.as_str(), r.as_str()))
        .collect();
    package_json(&borrowed)
}

/// A `package-lock.json` with `lockfileVersion: 3` (npm 9+): `packages[""]` lists every package
/// as a root dependency with range `^version`, and each one has a `node_modules/<name>` entry with
/// `version`, `resolved`, `integrity` and `license`. Names may be scoped (`@scope/name`).
pub fn npm_lock_v3(packages: &[(&str, &str)]) -> String {
    npm_lock(3, packages)
}

/// A `package-lock.json` with `lockfileVersion: 2` (npm 7/8): the v3 `packages` map plus the v1
/// `dependencies` map, describing the same packages.
pub fn npm_lock_v2(packages: &[(&str, &str)]) -> String {
    npm_lock(2, packages)
}

/// A `package-lock.json` with `lockfileVersion: 1` (npm 5/6): a nested `dependencies` map of
/// `{version, resolved, integrity}` entries keyed by package name.
pub fn npm_lock_v1(packages: &[(&str, &str)]) -> String {
    npm_lock(1, packages)
}

fn npm_lock(lockfile_version: u8, packages: &[(&str, &str)]) -> String {
    let packages = sorted(packages);
    for pair in packages.windows(2) {
        assert_ne!(
            pair[0].0, pair[1].0,
            "a lockfile fixture lists {} twice",
            pair[0].0
        );
    }
    let mut out = String::new();
    writeln!(out, "{{").unwrap();
    writeln!(out, "  \"name\": {},", quote(ROOT_NAME)).unwrap();
    writeln!(out, "  \"version\": {},", quote(ROOT_VERSION)).unwrap();
    writeln!(out, "  \"lockfileVersion\": {lockfile_version},").unwrap();
    write!(out, "  \"requires\": true").unwrap();
    if lockfile_version >= 2 {
        out.push_str(",\n  \"packages\": {\n");
        writeln!(out, "    \"\": {{").unwrap();
        writeln!(out, "      \"name\": {},", quote(ROOT_NAME)).unwrap();
        write!(out, "      \"version\": {}", quote(ROOT_VERSION)).unwrap();
        if !packages.is_empty() {
            let ranges: Vec<(&str, String)> = packages
                .iter()
                .map(|(name, version)| (*name, format!("^{version}")))
                .collect();
            let ranges: Vec<(&str, &str)> = ranges.iter().map(|(n, r)| (*n, r.as_str())).collect();
            out.push_str(",\n      \"dependencies\": ");
            write_string_map(&mut out, 6, &ranges);
        }
        out.push_str("\n    }");
        for (name, version) in &packages {
            write!(
                out,
                ",\n    {}: {{\n",
                quote(&format!("node_modules/{name}"))
            )
            .unwrap();
            write_package_fields(&mut out, 6, name, version, true);
            out.push_str("    }");
        }
        out.push_str("\n  }");
    }
    if lockfile_version <= 2 {
        out.push_str(",\n  \"dependencies\": {");
        for (index, (name, version)) in packages.iter().enumerate() {
            let separator = if index == 0 { "" } else { "," };
            write!(out, "{separator}\n    {}: {{\n", quote(name)).unwrap();
            write_package_fields(&mut out, 6, name, version, false);
            out.push_str("    }");
        }
        out.push_str(if packages.is_empty() { "}" } else { "\n  }" });
    }
    out.push_str("\n}\n");
    out
}

fn write_package_fields(out: &mut String, indent: usize, name: &str, version: &str, license: bool) {
    let pad = " ".repeat(indent);
    writeln!(out, "{pad}\"version\": {},", quote(version)).unwrap();
    writeln!(
        out,
        "{pad}\"resolved\": {},",
        quote(&npm_resolved_url(name, version))
    )
    .unwrap();
    write!(
        out,
        "{pad}\"integrity\": {}",
        quote(&npm_integrity(name, version))
    )
    .unwrap();
    if license {
        write!(out, ",\n{pad}\"license\": \"MIT\"").unwrap();
    }
    out.push('\n');
}

/// Writes `{ "k": "v", ... }` with npm's layout; the opening brace continues the current line.
fn write_string_map(out: &mut String, indent: usize, entries: &[(&str, &str)]) {
    let pad = " ".repeat(indent + 2);
    out.push('{');
    for (index, (key, value)) in entries.iter().enumerate() {
        let separator = if index == 0 { "" } else { "," };
        write!(out, "{separator}\n{pad}{}: {}", quote(key), quote(value)).unwrap();
    }
    write!(out, "\n{}}}", " ".repeat(indent)).unwrap();
}

fn sorted<'a>(entries: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut entries = entries.to_vec();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
