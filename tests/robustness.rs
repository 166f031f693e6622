//! Every parser of hostile input (`lockgate::fuzz::Target`, the same entry points the cargo-fuzz
//! targets of `tests/fuzz/` call) fed its real seeds, byte mutations and splices of them, and
//! hand-made nasty inputs (deep nesting, huge numbers, YAML aliases, long lines, NULs, invalid
//! UTF-8, enormous keys): none may panic, and none may spend more than [`TIME_BOUND`] on one
//! input. Deterministic (a fixed seed) and a few seconds in all; the long runs are
//! `tests/fuzz/run.sh`.

use crate::support::random::Random;
use lockgate::fuzz::{Target, FILE_MARKER};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Longest one input may take (a debug build on a busy machine; real inputs take milliseconds).
const TIME_BOUND: Duration = Duration::from_secs(3);
/// Mutated inputs per target.
const MUTATIONS: usize = 400;
/// Seeds larger than this are mutated from their first this-many bytes (mutating a 3 MiB
/// lockfile in a debug build would cost the whole budget).
const MUTATE_PREFIX: usize = 16 * 1024;
/// The fixed seed of the mutator.
const RANDOM_SEED: u64 = 0x6c6f_636b_6761_7465;

/// Inputs that once broke a parser, kept so they never do again: (target, why, input).
const REGRESSIONS: &[(Target, &str, &[u8])] = &[
    (
        Target::Requirements,
        "pep508_rs panicked on a name ending in `.` followed by more text",
        b"# comment\nonly. pip's own parser finds the same\n",
    ),
    (
        Target::Requirements,
        "pep508_rs panicked on an extra name ending in `.` (cargo-fuzz, requirements)",
        b"Jinja2 == 3.1.6\nurllib3[socks.]==2.8.0\n",
    ),
];

#[test]
fn parsers_survive_seeds_mutations_and_hostile_inputs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let roots = [
        root.join("tests/fixtures"),
        root.join("lockgate.example.toml"),
        root.join("../shared/data"),
    ];
    // The defaults keep CI deterministic; other values explore (RELIABILITY.md, "Fuzzing").
    let number = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
    };
    let mut random = Random(number("LOCKGATE_ROBUSTNESS_SEED").unwrap_or(RANDOM_SEED));
    let mutations: usize =
        number("LOCKGATE_ROBUSTNESS_MUTATIONS").map_or(MUTATIONS, |n| n as usize);
    let mut failures = Vec::new();
    let started = Instant::now();
    for target in Target::ALL {
        let seeds = target.seeds(&roots);
        assert!(!seeds.is_empty(), "{}: no seeds", target.name());
        let mut inputs: Vec<(String, Vec<u8>)> = seeds.clone();
        inputs.extend(hostile_inputs(target, &seeds));
        let small: Vec<&[u8]> = seeds
            .iter()
            .map(|(_, bytes)| &bytes[..bytes.len().min(MUTATE_PREFIX)])
            .collect();
        for number in 0..mutations {
            let base = small[random.below(small.len())];
            let other = small[random.below(small.len())];
            inputs.push((
                format!("mutation {number}"),
                mutate(&mut random, base, other, dictionary(target)),
            ));
        }
        for (why, input) in REGRESSIONS
            .iter()
            .filter(|(of, _, _)| *of == target)
            .map(|(_, why, input)| (why.to_string(), input.to_vec()))
        {
            inputs.push((format!("regression: {why}"), input));
        }
        for (name, input) in &inputs {
            if std::env::var_os("LOCKGATE_ROBUSTNESS_TRACE").is_some() {
                eprintln!("{}: {name}", target.name());
            }
            let start = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| target.run(input)));
            let took = start.elapsed();
            if outcome.is_err() {
                failures.push(format!("{}: {name}: panicked", target.name()));
                keep(target, name, input);
            } else if took > TIME_BOUND {
                failures.push(format!("{}: {name}: took {took:?}", target.name()));
                keep(target, name, input);
            }
        }
    }
    eprintln!("robustness: all targets in {:?}", started.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Writes a failing input to `target/robustness/` so it can be replayed and kept.
fn keep(target: Target, name: &str, input: &[u8]) {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/robustness");
    let _ = std::fs::create_dir_all(&folder);
    let file: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let _ = std::fs::write(folder.join(format!("{}-{file}", target.name())), input);
}

/// The syntax each family of formats is made of, for mutations that stay near valid input.
fn dictionary(target: Target) -> &'static [&'static str] {
    match target {
        Target::Yarn | Target::Pnpm => &[
            ":",
            "- ",
            "&a ",
            "*a",
            "<<: *a",
            "!!binary ",
            "? ",
            "|\n",
            ">\n",
            "\"",
            "'",
            "{",
            "}",
            "[",
            "]",
            "\n  ",
            "@npm:",
            "__metadata:\n  version: 6\n",
            "# yarn lockfile v1\n",
            "lockfileVersion: '9.0'\n",
            "version ",
            "resolved ",
            "dependencies:\n",
        ],
        Target::Poetry | Target::Uv | Target::Pdm | Target::Pylock | Target::Config => &[
            "[[package]]\n",
            "[",
            "]",
            "{",
            "}",
            "=",
            "\"\"\"",
            "'''",
            ".",
            "name = \"a\"\n",
            "version = \"1.0\"\n",
            "[metadata]\n",
            "1979-05-27T07:32:00Z",
            "inf",
            "nan",
            "0x",
            "[[ignore]]\n",
            "until = ",
            "\\u0000",
        ],
        Target::Requirements | Target::ExportCsv => &[
            "\\\n",
            "-r ",
            "-c ",
            "--hash=sha256:",
            "==",
            "===",
            " @ ",
            "; python_version<'3'",
            "-e ",
            "git+https://",
            "#",
            "\n",
            FILE_MARKER,
            "[extra]",
            ",",
            "T00:00:00Z,MAL-1\n",
        ],
        Target::ExportZip => &[
            "PK\x03\x04",
            "PK\x01\x02",
            "PK\x05\x06",
            "PK\x06\x06",
            ".json",
        ],
        _ => &[
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"",
            "\\u0000",
            "\\ud800",
            "1e999",
            "-0",
            "null",
            "\"packages\":",
            "\"dependencies\":",
            "\"lockfileVersion\":",
            "\"version\":",
            "\"affected\":",
            "\"ranges\":",
            "\"events\":",
            "\"results\":",
            "\"vulns\":",
            "\"node_modules/",
        ],
    }
}

/// Inputs built to hit known weak spots of parsers.
fn hostile_inputs(target: Target, seeds: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| inputs.push((name.to_string(), bytes));
    let first = seeds
        .first()
        .map(|(_, bytes)| bytes.clone())
        .unwrap_or_default();
    add("empty", Vec::new());
    add("NULs", vec![0; 4096]);
    add(
        "invalid UTF-8",
        b"\xff\xfe\xc3\x28 \xe2\x82 \xf0\x28\x8c\xbc".to_vec(),
    );
    add("one 1 MiB line", vec![b'a'; 1 << 20]);
    add("a million newlines", vec![b'\n'; 1 << 20]);
    let mut with_nul = first.clone();
    with_nul.insert(with_nul.len() / 2, 0);
    add("a seed with a NUL inside", with_nul);
    let mut with_bad_byte = first.clone();
    with_bad_byte.insert(with_bad_byte.len() / 2, 0xff);
    add("a seed with invalid UTF-8 inside", with_bad_byte);
    add("a seed cut in half", first[..first.len() / 2].to_vec());
    let huge_key = "k".repeat(1 << 20);
    let huge_number = "9".repeat(100_000);
    match target {
        Target::Yarn | Target::Pnpm => {
            add("deep block sequence", "- ".repeat(20_000).into_bytes());
            add("deep flow sequence", "[".repeat(100_000).into_bytes());
            add("deep flow mapping", "{a: ".repeat(50_000).into_bytes());
            add("billion laughs", billion_laughs().into_bytes());
            add(
                "alias to an undefined anchor",
                b"packages:\n  a@1.0.0: *nowhere\n".to_vec(),
            );
            add(
                "merge keys",
                b"base: &b {resolution: {integrity: x}}\npackages:\n  a@1.0.0:\n    <<: *b\n"
                    .to_vec(),
            );
            add(
                "enormous key",
                format!("{huge_key}:\n  version: 1\n").into_bytes(),
            );
            add(
                "huge number",
                format!("lockfileVersion: {huge_number}\n").into_bytes(),
            );
            add(
                "many anchors",
                (0..20_000)
                    .map(|n: usize| format!("k{n}: &a{n} [*a{}]\n", n.saturating_sub(1)))
                    .collect::<String>()
                    .into_bytes(),
            );
        }
        Target::Poetry | Target::Uv | Target::Pdm | Target::Pylock | Target::Config => {
            add(
                "deep arrays",
                format!("a = {}", "[".repeat(100_000)).into_bytes(),
            );
            add(
                "deep inline tables",
                format!("a = {}", "{b = ".repeat(50_000)).into_bytes(),
            );
            add(
                "deep dotted key",
                format!("{}a = 1\n", "a.".repeat(50_000)).into_bytes(),
            );
            add(
                "deep table header",
                format!("[{}a]\n", "a.".repeat(50_000)).into_bytes(),
            );
            add(
                "huge integer",
                format!("version = {huge_number}\n").into_bytes(),
            );
            add("enormous key", format!("\"{huge_key}\" = 1\n").into_bytes());
            add(
                "many packages",
                "[[package]]\nname = \"a\"\nversion = \"1\"\n"
                    .repeat(20_000)
                    .into_bytes(),
            );
        }
        Target::Requirements => {
            add(
                "a million continuations",
                "\\\n".repeat(500_000).into_bytes(),
            );
            add("self include", b"-r requirements.txt\n".to_vec());
            let chain: String = (0..200)
                .map(|n| {
                    format!(
                        "\n{FILE_MARKER}r{n}.txt\n-r r{}.txt\n-c r{}.txt",
                        n + 1,
                        n + 2
                    )
                })
                .collect();
            add(
                "a long include chain",
                format!("-r r0.txt{chain}").into_bytes(),
            );
            let fan: String = (0..64)
                .map(|n| {
                    format!(
                        "\n{FILE_MARKER}f{n}.txt\n-r f{}.txt\n-r f{}.txt",
                        n + 1,
                        n + 1
                    )
                })
                .collect();
            add("doubling includes", format!("-r f0.txt{fan}").into_bytes());
            add("enormous name", format!("{huge_key}==1.0\n").into_bytes());
            add("huge version", format!("a=={huge_number}\n").into_bytes());
            add(
                "deep extras and markers",
                format!(
                    "a[{}]==1 ; {}python_version > '3'{}\n",
                    "b,".repeat(50_000),
                    "(".repeat(10_000),
                    ")".repeat(10_000)
                )
                .into_bytes(),
            );
        }
        Target::ExportCsv => {
            add(
                "no newline",
                format!("2030-01-01T00:00:00Z,{huge_key}").into_bytes(),
            );
            add(
                "many ids",
                (0..100_000)
                    .map(|n| format!("2030-01-01T00:00:00Z,MAL-{n}\n"))
                    .collect::<String>()
                    .into_bytes(),
            );
            add(
                "multi-byte time",
                "2030-01-01T00:00:0é,MAL-1\n".as_bytes().to_vec(),
            );
        }
        Target::ExportZip => {
            add(
                "end record only",
                b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\0\0\0\0\0\0\0\0\0\0".to_vec(),
            );
            add(
                "zip64 end locator only",
                [
                    b"PK\x06\x07".as_slice(),
                    &[0xff; 16],
                    b"PK\x05\x06",
                    &[0xff; 18],
                ]
                .concat(),
            );
        }
        _ => {
            add("deep arrays", "[".repeat(100_000).into_bytes());
            add("deep objects", "{\"a\":".repeat(100_000).into_bytes());
            add(
                "huge number",
                format!("{{\"lockfileVersion\": {huge_number}}}").into_bytes(),
            );
            add(
                "huge exponent",
                b"{\"lockfileVersion\": 1e999999999}".to_vec(),
            );
            add(
                "enormous key",
                format!("{{\"{huge_key}\": 1}}").into_bytes(),
            );
            add(
                "enormous package key",
                format!("{{\"lockfileVersion\": 3, \"packages\": {{\"node_modules/{huge_key}\": {{\"version\": \"1.0.0\"}}}}}}").into_bytes(),
            );
            add(
                "many escapes",
                format!("{{\"id\": \"{}\"}}", "\\u0000".repeat(200_000)).into_bytes(),
            );
        }
    }
    inputs
}

/// Nine levels of nine aliases each: 387 million nodes if expanded.
fn billion_laughs() -> String {
    let mut text = String::from("a0: &a0 [\"lol\"]\n");
    for level in 1..10 {
        let previous = format!("*a{}", level - 1);
        let list = [previous.as_str(); 9].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{list}]\n"));
    }
    text.push_str("packages:\n  x@1.0.0: *a9\n");
    text
}

/// One to four edits of `input`: bit flips, interesting bytes, insertions and deletions,
/// duplicated runs, splices with `other`, and `tokens` of the format.
fn mutate(random: &mut Random, input: &[u8], other: &[u8], tokens: &[&str]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..=random.below(4) {
        let at = random.below(bytes.len() + 1);
        match random.below(8) {
            0 if !bytes.is_empty() => {
                let at = at.min(bytes.len() - 1);
                bytes[at] ^= 1 << random.below(8);
            }
            1 if !bytes.is_empty() => {
                let at = at.min(bytes.len() - 1);
                bytes[at] = [0, 0xff, 0x80, b'"', b'\n', b'\\', b'{', b':'][random.below(8)];
            }
            2 => {
                let end = (at + random.below(64)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => {
                let end = (at + random.below(256)).min(bytes.len());
                let run = bytes[at..end].to_vec();
                for _ in 0..random.below(8) {
                    bytes.splice(at..at, run.iter().copied());
                }
            }
            4 if !other.is_empty() => {
                let from = random.below(other.len());
                let end = (from + random.below(1024)).min(other.len());
                bytes.splice(at..at, other[from..end].iter().copied());
            }
            5 => {
                let start = random.below(other.len() + 1);
                bytes.truncate(at);
                bytes.extend_from_slice(&other[start..]);
            }
            _ => {
                let token = tokens[random.below(tokens.len())];
                bytes.splice(at..at, token.bytes());
            }
        }
    }
    bytes
}
