//! Faults end to end (issue 13): a misbehaving network and OSV stand-in, hostile records, a
//! hostile or interrupted export for `lockgate db update`, and runs at once. Whatever happens,
//! lockgate ends in time, within its memory, and never allows silently: it blocks, or says it
//! could not check. Each test is a case of the fault matrix in RELIABILITY.md.

use crate::support::export::{shared_records, Export, ExportServer};
use crate::support::raw_http::{head, response, Answer, RawServer};
use crate::support::{OsvServer, Run, TestRepo};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// debug@4.4.2 is MAL-2025-46974 in ../shared/data/osv.
const MALWARE: (&str, &str) = ("debug", "4.4.2");
const MALWARE_ID: &str = "MAL-2025-46974";
/// No record names it.
const CLEAN: (&str, &str) = ("left-pad", "1.3.0");
/// Past OSV's largest batch answer (32 MiB) and largest record (4 MiB).
const OVER_BATCH_LIMIT: usize = 40 * 1024 * 1024;
const OVER_RECORD_LIMIT: usize = 5 * 1024 * 1024;

/// A new repository staging an npm project (package.json and package-lock.json) of `packages`.
fn project(packages: &[(&str, &str)]) -> TestRepo {
    let repo = TestRepo::new();
    repo.stage_npm_project("", packages);
    repo
}

/// A JSON answer of 200.
fn json_answer(value: &Value) -> Answer {
    Answer::Bytes(response(
        "200 OK",
        &[("content-type", "application/json")],
        value.to_string().as_bytes(),
    ))
}

/// The querybatch answer for one package: the records `ids`.
fn naming(ids: &[&str]) -> Value {
    let vulns: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    json!({ "results": [{ "vulns": vulns }] })
}

/// An OSV stand-in: `batch` answers each querybatch, `record` each `GET /v1/vulns/{id}`.
fn stand_in(
    batch: impl Fn() -> Answer + Send + Sync + 'static,
    record: impl Fn() -> Answer + Send + Sync + 'static,
) -> RawServer {
    RawServer::start(move |_, target| {
        if target.starts_with("/v1/querybatch") {
            batch()
        } else {
            record()
        }
    })
}

/// A check of the staged changes against `url`, with the JSON report, no cache and no retries
/// (unless `extra` says how many), in a run limited to 1 GiB of address space that must end
/// within `seconds`.
fn check(repo: &TestRepo, url: &str, extra: &[&str], seconds: u64) -> Run {
    let mut args = vec!["--osv-url", url, "--format", "json", "--no-cache"];
    if !extra.contains(&"--retries") {
        args.extend(["--retries", "0"]);
    }
    args.extend_from_slice(extra);
    repo.lockgate_limited(&args, seconds)
}

/// The outcome of an OSV that could not be asked: exit 2 with the problem said, and allowed
/// with a warning when failing open.
#[track_caller]
fn assert_could_not_check(repo: &TestRepo, url: &str, extra: &[&str], seconds: u64, case: &str) {
    let run = check(repo, url, extra, seconds);
    run.assert_code(2);
    assert_eq!(run.stdout_json()["blocked"], true, "{case}");
    assert!(
        run.problem_kinds()
            .contains(&"advisory-source-unavailable".to_string()),
        "{case}: {}",
        run.output()
    );
    let mut open = vec!["--fail-open"];
    open.extend_from_slice(extra);
    let run = check(repo, url, &open, seconds);
    run.assert_code(0);
    let problem = &run.stdout_json()["problems"][0];
    assert_eq!(problem["kind"], "advisory-source-unavailable", "{case}");
    assert_eq!(problem["blocking"], false, "{case}");
}

/// The outcome of a record that could not be read after the batch answer named malware: the
/// package blocks as malware, failing open or not, and the report says the record was unread.
#[track_caller]
fn assert_blocks_unread(repo: &TestRepo, url: &str, extra: &[&str], seconds: u64, case: &str) {
    for policy in [&[][..], &["--fail-open"][..]] {
        let mut args = policy.to_vec();
        args.extend_from_slice(extra);
        let run = check(repo, url, &args, seconds);
        run.assert_code(1);
        assert_eq!(
            run.findings(),
            [format!("{MALWARE_ID} debug@4.4.2")],
            "{case}"
        );
        let finding = &run.stdout_json()["findings"][0];
        assert_eq!(finding["blocking"], true, "{case}");
        assert_eq!(
            finding["record_unavailable"],
            true,
            "{case}: {}",
            run.output()
        );
    }
}

/// Gzip of `data` as one gzip member (RFC 1952), from the zip crate's deflate.
fn gzip_member(data: &[u8]) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("member", options).unwrap();
    zip.write_all(data).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut entry = archive.by_index_raw(0).unwrap();
    let (crc, size) = (entry.crc32(), entry.size() as u32);
    let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    entry.read_to_end(&mut member).unwrap();
    member.extend_from_slice(&crc.to_le_bytes());
    member.extend_from_slice(&size.to_le_bytes());
    member
}

/// A gzip answer of a few MB that inflates to 4 GiB: `json`, then 4,096 members of 1 MiB of
/// spaces each (a gzip body may hold many members, and trailing spaces are valid JSON, so
/// only a size limit on the inflated body stops it).
fn gzip_bomb(json: &Value) -> Answer {
    let mut head = head(
        "200 OK",
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        None,
    );
    head.extend_from_slice(&gzip_member(json.to_string().as_bytes()));
    Answer::Repeat {
        head,
        body: gzip_member(&vec![b' '; 1024 * 1024]),
        times: 4096,
    }
}

/// `json` then `padding` spaces, made on the fly; with a `content-length` or, when `announced`
/// is false, delimited by the end of the connection.
fn padded(json: &Value, padding: usize, announced: bool) -> Answer {
    let text = json.to_string();
    let piece = vec![b' '; 64 * 1024];
    let times = padding / piece.len();
    let length = announced.then_some((text.len() + times * piece.len()) as u64);
    let mut head = head("200 OK", &[("content-type", "application/json")], length);
    head.extend_from_slice(text.as_bytes());
    Answer::Repeat {
        head,
        body: piece,
        times,
    }
}

/// A record for debug@4.4.2 with `id`.
fn record_of(id: &str) -> Value {
    json!({
        "id": id, "modified": "2025-09-08T00:00:00Z",
        "summary": "Malicious code in debug (npm)",
        "affected": [{"package": {"ecosystem": "npm", "name": "debug"}, "versions": ["4.4.2"]}]
    })
}

/// What a misbehaving server can do to one answer; `Fn` so each request gets a fresh one.
type Fault = (&'static str, Box<dyn Fn() -> Answer + Send + Sync>);

/// Transport faults, the same for both endpoints.
fn transport_faults(valid: Value) -> Vec<Fault> {
    let text = valid.to_string();
    let short = text.clone();
    vec![
        ("closed without an answer", Box::new(|| Answer::Close)),
        (
            "headers cut short",
            Box::new(|| Answer::Bytes(b"HTTP/1.1 200 OK\r\ncontent-le".to_vec())),
        ),
        (
            "body shorter than its content-length",
            Box::new(move || {
                let mut bytes = head("200 OK", &[], Some(short.len() as u64 + 1000));
                bytes.extend_from_slice(short.as_bytes());
                Answer::Bytes(bytes)
            }),
        ),
        (
            "200 with HTML",
            Box::new(|| {
                Answer::Bytes(response(
                    "200 OK",
                    &[("content-type", "text/html")],
                    b"<html>captive portal</html>",
                ))
            }),
        ),
        (
            "not HTTP at all",
            Box::new(|| Answer::Bytes(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec())),
        ),
        ("oversized, announced", {
            let valid = valid.clone();
            Box::new(move || padded(&valid, OVER_BATCH_LIMIT, true))
        }),
        ("oversized, until the connection ends", {
            let valid = valid.clone();
            Box::new(move || padded(&valid, OVER_BATCH_LIMIT, false))
        }),
        ("gzip bomb", Box::new(move || gzip_bomb(&valid))),
    ]
}

#[test]
fn batch_answers_that_break_off_or_overflow_cannot_allow() {
    let repo = project(&[CLEAN]);
    for (case, fault) in transport_faults(json!({ "results": [{}] })) {
        let server = stand_in(fault, || Answer::Close);
        assert_could_not_check(&repo, &server.url(), &[], 4, case);
    }
}

#[test]
fn batch_answers_of_the_wrong_shape_cannot_allow() {
    let repo = project(&[CLEAN]);
    for (case, body) in [
        ("no results", json!({})),
        ("null results", json!({ "results": null })),
        ("more results than queries", json!({ "results": [{}, {}] })),
        (
            "vulns not a list",
            json!({ "results": [{ "vulns": { "id": MALWARE_ID } }] }),
        ),
        (
            "an id that is not a string",
            json!({ "results": [{ "vulns": [{ "id": 7 }] }] }),
        ),
        ("a list", json!([{ "vulns": [] }])),
    ] {
        let server = stand_in(move || json_answer(&body), || Answer::Close);
        assert_could_not_check(&repo, &server.url(), &[], 2, case);
    }
}

#[test]
fn record_answers_that_break_off_overflow_or_lie_block_named_malware() {
    let repo = project(&[MALWARE]);
    let mut faults = transport_faults(record_of(MALWARE_ID));
    faults.extend::<Vec<Fault>>(vec![
        (
            "oversized record",
            Box::new(|| padded(&record_of(MALWARE_ID), OVER_RECORD_LIMIT, true)),
        ),
        (
            "another record than asked for",
            Box::new(|| json_answer(&record_of("MAL-2025-1"))),
        ),
        (
            "a record of the wrong shape",
            Box::new(|| json_answer(&json!({ "id": MALWARE_ID, "affected": {"x": 1} }))),
        ),
        (
            "404 for a record the batch named",
            Box::new(|| Answer::Bytes(response("404 Not Found", &[], b"{}"))),
        ),
    ]);
    for (case, fault) in faults {
        let server = stand_in(move || json_answer(&naming(&[MALWARE_ID])), fault);
        assert_blocks_unread(&repo, &server.url(), &[], 4, case);
    }
}

#[test]
fn a_server_that_never_answers_is_given_up_on_in_time() {
    let repo = project(&[CLEAN]);
    let silent = stand_in(|| Answer::Silence, || Answer::Silence);
    // The request's own timeout.
    assert_could_not_check(&repo, &silent.url(), &["--timeout", "0.5"], 2, "timeout");
    // The run's deadline, with retries and the default 20 s timeout.
    let url = silent.url();
    let run = repo.lockgate_limited(
        &[
            "--osv-url",
            &url,
            "--no-cache",
            "--retries",
            "5",
            "--deadline",
            "1",
        ],
        3,
    );
    run.assert_code(2).assert_stderr_contains("deadline of 1 s");

    // A record that never comes: named malware still blocks.
    let repo = project(&[MALWARE]);
    let server = stand_in(|| json_answer(&naming(&[MALWARE_ID])), || Answer::Silence);
    assert_blocks_unread(
        &repo,
        &server.url(),
        &["--timeout", "0.5"],
        3,
        "record timeout",
    );
}

#[test]
fn too_many_requests_with_a_huge_retry_after_is_capped() {
    let repo = project(&[CLEAN]);
    let server = stand_in(
        || {
            Answer::Bytes(response(
                "429 Too Many Requests",
                &[("retry-after", "999999999")],
                b"{}",
            ))
        },
        || Answer::Close,
    );
    let url = server.url();
    // One retry, after the capped pause (5 s), not after 31 years.
    let started = Instant::now();
    let run = repo.lockgate_limited(&["--osv-url", &url, "--no-cache", "--retries", "1"], 8);
    run.assert_code(2).assert_stderr_contains("HTTP 429");
    assert!(started.elapsed() >= Duration::from_secs(4));
    assert_eq!(server.requests().len(), 2);
    // A deadline shorter than the pause ends the run at once.
    let started = Instant::now();
    repo.lockgate_limited(
        &[
            "--osv-url",
            &url,
            "--no-cache",
            "--retries",
            "1",
            "--deadline",
            "2",
        ],
        2,
    )
    .assert_code(2)
    .assert_stderr_contains("deadline of 2 s");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    // A real OSV stand-in that would answer, and a server that sends every request there.
    let elsewhere = OsvServer::start();
    let target = elsewhere.url();
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
    ] {
        let (batch_target, record_target) = (target.clone(), target.clone());
        let clean = project(&[CLEAN]);
        let server = stand_in(
            move || {
                let location = format!("{batch_target}/v1/querybatch");
                Answer::Bytes(response(status, &[("location", &location)], b""))
            },
            || Answer::Close,
        );
        assert_could_not_check(&clean, &server.url(), &[], 2, status);
        clean
            .lockgate(&["--osv-url", &server.url(), "--no-cache"])
            .assert_code(2)
            .assert_stderr_contains("/v1/querybatch, not followed");
        let repo = project(&[MALWARE]);
        let server = stand_in(
            || json_answer(&naming(&[MALWARE_ID])),
            move || {
                let location = format!("{record_target}/v1/vulns/{MALWARE_ID}");
                Answer::Bytes(response(status, &[("location", &location)], b""))
            },
        );
        assert_blocks_unread(&repo, &server.url(), &[], 2, status);
    }
    // Neither the packages nor the record ids reached the other host.
    assert_eq!(elsewhere.request_count(), 0);
}

/// An OSV stand-in that names `ids` for every package asked about and serves `records` by id.
fn serving(ids: &'static [&'static str], records: Vec<(String, Vec<u8>)>) -> RawServer {
    RawServer::start(move |_, target| {
        if target.starts_with("/v1/querybatch") {
            return json_answer(&naming(ids));
        }
        let asked = target.strip_prefix("/v1/vulns/").unwrap_or_default();
        match records.iter().find(|(id, _)| id == asked) {
            Some((_, body)) => Answer::Bytes(response(
                "200 OK",
                &[("content-type", "application/json")],
                body,
            )),
            None => Answer::Bytes(response("404 Not Found", &[], b"{}")),
        }
    })
}

/// `value` with `"nested": [[[…1…]]]` `depth` levels deep, as text (serde_json's `Value`
/// would itself recurse that deep).
fn deeply_nested(value: &Value, depth: usize) -> Vec<u8> {
    let text = value.to_string();
    let open = text.strip_suffix('}').expect("an object");
    format!(
        "{open},\"nested\":{}1{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

#[test]
fn deeply_nested_answers_are_refused_or_skipped_never_overflowed() {
    // 100,000 levels: in a field lockgate does not read, skipped without recursion; in one it
    // keeps (`database_specific`), refused at serde_json's 128 levels. Either way no overflow.
    let repo = project(&[MALWARE]);
    let skipped = deeply_nested(&record_of(MALWARE_ID), 100_000);
    let server = serving(&[MALWARE_ID], vec![(MALWARE_ID.to_string(), skipped)]);
    let run = check(&repo, &server.url(), &[], 3);
    run.assert_code(1);
    assert_eq!(run.findings(), [format!("{MALWARE_ID} debug@4.4.2")]);
    assert_eq!(
        run.stdout_json()["findings"][0]["record_unavailable"],
        false
    );

    let mut record = record_of(MALWARE_ID);
    record["database_specific"] = json!({});
    let text = record.to_string().replace(
        "\"database_specific\":{}",
        &format!(
            "\"database_specific\":{}1{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    );
    let server = serving(
        &[MALWARE_ID],
        vec![(MALWARE_ID.to_string(), text.into_bytes())],
    );
    assert_blocks_unread(&repo, &server.url(), &[], 3, "nested database_specific");

    let repo = project(&[CLEAN]);
    let batch = deeply_nested(&json!({ "results": [{}] }), 100_000);
    let server = stand_in(
        move || {
            Answer::Bytes(response(
                "200 OK",
                &[("content-type", "application/json")],
                &batch,
            ))
        },
        || Answer::Close,
    );
    check(&repo, &server.url(), &[], 3).assert_code(0);
    let batch = format!(
        "{{\"results\": {}{{}}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let server = stand_in(
        move || Answer::Bytes(response("200 OK", &[], batch.as_bytes())),
        || Answer::Close,
    );
    assert_could_not_check(&repo, &server.url(), &[], 3, "nested results");
}

#[test]
fn ids_that_could_escape_the_url_are_never_asked_for() {
    for id in [
        "../../../../etc/passwd",
        "MAL-1/../../v1/querybatch",
        "..",
        "MAL-1?x=1",
        "MAL-1#x",
        "%2e%2e%2fMAL-1",
        "MAL-1\r\nHost: elsewhere.example.test",
        "MAL-\u{1b}[2J1",
        "",
    ] {
        let repo = project(&[MALWARE]);
        let server = stand_in(move || json_answer(&naming(&[id])), || Answer::Close);
        let run = check(&repo, &server.url(), &["--fail-open"], 2);
        // The id is refused before it reaches a URL; the package blocks as unread.
        run.assert_code(1);
        let finding = &run.stdout_json()["findings"][0];
        assert_eq!(finding["record_unavailable"], true, "{id:?}");
        assert_eq!(finding["blocking"], true, "{id:?}");
        assert_eq!(server.requests(), ["POST /v1/querybatch"], "{id:?}");
        let text = repo.lockgate(&["--osv-url", &server.url(), "--no-cache", "--retries", "0"]);
        text.assert_code(1)
            .assert_stderr_contains("is not an OSV id");
        assert_clean(&text.stderr);
    }
}

/// Panics unless `text` is free of terminal controls: ESC, BEL, C1 controls, bidi overrides.
#[track_caller]
fn assert_clean(text: &str) {
    let bad = text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    assert!(bad.is_none(), "{bad:?} in {text:?}");
    for escaped in ["\\u001b", "\\u0007", "\\u009b", "\\u202e", "\\u2066"] {
        assert!(
            !text.to_lowercase().contains(escaped),
            "{escaped} in {text}"
        );
    }
}

/// Escapes, controls and bidi overrides, the way an attacker would mix them into a field.
const TRAP: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{202e}\r\n\tx\u{1b}[0m";

#[test]
fn escape_sequences_in_every_printed_field_are_stripped() {
    // The package name comes from the lockfile; id, aliases, summary, details and fixed
    // versions from OSV.
    let name = format!("trap{TRAP}");
    let repo = project(&[(&name, "1.0.0")]);
    let malware = json!({
        "id": "MAL-2099-0001", "modified": "2025-09-09T00:00:00Z",
        "aliases": [format!("GHSA-{TRAP}"), format!("MAL-2099-0001{TRAP}")],
        "summary": format!("Malicious {TRAP} code"),
        "affected": [{"package": {"ecosystem": "npm", "name": name}, "versions": ["1.0.0"]}]
    });
    let vulnerability = json!({
        "id": "GHSA-2099-0002", "modified": "2025-09-09T00:00:00Z",
        "details": format!("Details {TRAP} here"),
        "affected": [{"package": {"ecosystem": "npm", "name": name},
                      "ranges": [{"type": "SEMVER", "events": [
                          {"introduced": "0"}, {"fixed": format!("1.0.1{TRAP}")}]}]}]
    });
    let server = serving(
        &["MAL-2099-0001", "GHSA-2099-0002"],
        vec![
            ("MAL-2099-0001".into(), malware.to_string().into_bytes()),
            (
                "GHSA-2099-0002".into(),
                vulnerability.to_string().into_bytes(),
            ),
        ],
    );
    let url = server.url();
    let text = repo.lockgate(&["--osv-url", &url, "--no-cache"]);
    text.assert_code(1)
        .assert_stderr_contains("Malicious")
        .assert_stderr_contains("Details")
        .assert_stderr_contains("fixed in 1.0.1");
    assert_clean(&text.stderr);
    for format in ["json", "sarif"] {
        let run = repo.lockgate(&["--osv-url", &url, "--no-cache", "--format", format]);
        run.assert_code(1);
        assert_clean(&run.stdout);
        assert_clean(&run.stderr);
    }
}

#[test]
fn giant_strings_in_a_record_are_cut_before_they_are_printed() {
    // A record just under the 4 MiB limit, made of three 1 MiB strings.
    let giant = "A".repeat(1024 * 1024);
    let record = json!({
        "id": MALWARE_ID, "modified": "2025-09-09T00:00:00Z",
        "aliases": [format!("GHSA-{giant}")],
        "summary": giant,
        "affected": [{"package": {"ecosystem": "npm", "name": "debug"}, "versions": ["4.4.2"],
                      "ranges": [{"type": "SEMVER", "events": [
                          {"introduced": "0"}, {"fixed": format!("9.{giant}")}]}]}]
    });
    let repo = project(&[MALWARE]);
    let server = serving(
        &[MALWARE_ID],
        vec![(MALWARE_ID.to_string(), record.to_string().into_bytes())],
    );
    let url = server.url();
    for format in ["text", "json", "sarif"] {
        let run = repo.lockgate_limited(&["--osv-url", &url, "--no-cache", "--format", format], 3);
        run.assert_code(1);
        let printed = run.stdout.len() + run.stderr.len();
        assert!(printed < 64 * 1024, "{format}: {printed} bytes printed");
    }
}

#[test]
fn records_with_nonsense_ranges_or_other_ecosystems_still_block_what_osv_named() {
    // OSV named these records for debug@4.4.2; whatever their ranges say, lockgate does not
    // second-guess the answer into a silent allow, and nothing it cannot read crashes it.
    let affected = json!([
        {"package": {"ecosystem": "npm", "name": "debug"},
         "ranges": [
             {"type": "SEMVER", "events": [{"introduced": "not a version"}, {"fixed": "∞"}]},
             {"type": "QUANTUM", "events": [{"entangled": "4.4.2"}]},
             {"type": "ECOSYSTEM", "events": []},
             {"type": "GIT", "repo": "https://git.example.test/x", "events": [{"introduced": "0"}]}
         ],
         "versions": ["", "4.4.2 ", "*"]},
        {"package": {"ecosystem": "PyPI", "name": "debug"}, "versions": ["4.4.2"]},
        {"package": {"ecosystem": "Kernel", "name": "debug"}},
        {"ranges": [{"type": "SEMVER", "events": [{"limit": "*"}]}]},
        {}
    ]);
    let malware = json!({"id": MALWARE_ID, "modified": "2025-09-09T00:00:00Z",
                         "affected": affected.clone()});
    let repo = project(&[MALWARE]);
    let server = serving(
        &[MALWARE_ID],
        vec![(MALWARE_ID.to_string(), malware.to_string().into_bytes())],
    );
    let run = check(&repo, &server.url(), &[], 3);
    run.assert_code(1);
    assert_eq!(run.findings(), [format!("{MALWARE_ID} debug@4.4.2")]);
    assert_eq!(
        run.stdout_json()["findings"][0]["record_unavailable"],
        false
    );

    // An ordinary advisory of that shape is reported, and blocks with --fail-on-vuln.
    let advisory = json!({"id": "GHSA-2099-0003", "modified": "2025-09-09T00:00:00Z",
                          "affected": affected,
                          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/garbage"},
                                       {"type": "CVSS_V9", "score": 7}]});
    let server = serving(
        &["GHSA-2099-0003"],
        vec![("GHSA-2099-0003".into(), advisory.to_string().into_bytes())],
    );
    let run = check(&repo, &server.url(), &[], 3);
    assert_eq!(
        run.findings(),
        ["GHSA-2099-0003 debug@4.4.2"],
        "{}",
        run.output()
    );
    check(&repo, &server.url(), &["--fail-on-vuln"], 3).assert_code(1);
}

// ---------------------------------------------------------------------------------------------
// The offline database: a hostile or broken export, and updates that are killed or run at once.

/// The real npm malware records: debug@4.4.2 among them.
fn npm_malware() -> Vec<Value> {
    shared_records(&["malicious/npm"])
}

/// `lockgate db update --ecosystem npm` from `url`, no retries: the arguments.
fn update_args(url: &str) -> [&str; 8] {
    [
        "db",
        "update",
        "--ecosystem",
        "npm",
        "--retries",
        "0",
        "--export-url",
        url,
    ]
}

/// `lockgate db update` of npm from `url`, within `seconds` and 1 GiB.
fn db_update(repo: &TestRepo, url: &str, seconds: u64) -> Run {
    repo.lockgate_limited(&update_args(url), seconds)
}

/// The npm database folder of `repo`'s cache.
fn db_folder(repo: &TestRepo) -> std::path::PathBuf {
    repo.home().join(".cache/lockgate/db/npm")
}

/// Panics unless an offline check of debug@4.4.2 blocks it: the database is whole and in use.
#[track_caller]
fn assert_database_blocks_malware(repo: &TestRepo) {
    let run = repo.lockgate(&["--offline", "--format", "json"]);
    run.assert_code(1);
    assert_eq!(run.findings(), [format!("{MALWARE_ID} debug@4.4.2")]);
}

/// An export of the real npm malware records.
fn npm_export() -> Export {
    let export = Export::new();
    export.publish("npm", &npm_malware());
    export
}

/// Panics unless the database blocks debug@4.4.2 and no update left anything behind.
#[track_caller]
fn assert_database_whole(repo: &TestRepo) {
    assert_database_blocks_malware(repo);
    assert_eq!(leftovers(repo), Vec::<String>::new());
}

/// The names in the database folder that an update leaves only when interrupted.
fn leftovers(repo: &TestRepo) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(db_folder(repo))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("tmp-") || name.starts_with("download-") || name.contains(".tmp-")
        })
        .collect();
    names.sort();
    names
}

/// The npm export, and a repository staging debug@4.4.2 whose npm database was built from it;
/// the export then loses its list of changes, so that the next update reads the zip.
fn with_database() -> (Export, TestRepo) {
    let export = npm_export();
    let repo = project(&[MALWARE]);
    db_update(&repo, &export.file_url(), 10).assert_success();
    assert_database_blocks_malware(&repo);
    export.remove_list("npm");
    (export, repo)
}

/// Every file and folder under `root`, recursively (bounded: test folders are small).
fn all_paths(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && !path.is_symlink() {
                folders.push(path.clone());
            }
            found.push(path);
            assert!(
                found.len() < 100_000,
                "too many files under {}",
                root.display()
            );
        }
    }
    found
}

/// Writes a zip of `entries` (name, text) to `path` with the zip crate (empty ones stored, the
/// rest deflated).
fn write_zip(path: &std::path::Path, entries: &[(String, Vec<u8>)]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, text) in entries {
        let method = if text.is_empty() {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(text).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn zip_entry_names_never_become_paths() {
    let export = npm_export();
    let repo = project(&[MALWARE]);
    let absolute = repo.root().join("absolute-evil.json");
    let debug = npm_malware()
        .into_iter()
        .find(|record| record["id"] == MALWARE_ID)
        .unwrap();
    let text = debug.to_string().into_bytes();
    let outside = format!("/tmp/lockgate-faults-{}-evil.json", std::process::id());
    let names = [
        "../../evil.json".to_string(),
        format!("../../../../../../../..{outside}"),
        absolute.display().to_string(),
        "..\\..\\evil.json".to_string(),
        "npm/../../../evil.json".to_string(),
        "./../evil.json".to_string(),
    ];
    let entries: Vec<(String, Vec<u8>)> = names.iter().map(|n| (n.clone(), text.clone())).collect();
    write_zip(&export.path().join("npm/all.zip"), &entries);
    for url in [export.file_url(), ExportServer::start(export.path()).url()] {
        db_update(&repo, &url, 5).assert_success();
        // The records were read for what they say, and nothing was written where they point.
        assert_database_blocks_malware(&repo);
        for path in all_paths(repo.root())
            .iter()
            .chain(&all_paths(export.path()))
        {
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(!name.contains("evil"), "{} was written", path.display());
        }
        assert!(!std::path::Path::new(&outside).exists());
    }
}

/// Bits in deflate's order (RFC 1951 §3.1.1): values from the least significant bit, Huffman
/// codes from the most significant.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    pending: u64,
    count: u32,
}

impl Bits {
    fn value(&mut self, value: u64, count: u32) {
        self.pending |= value << self.count;
        self.count += count;
        while self.count >= 8 {
            self.bytes.push(self.pending as u8);
            self.pending >>= 8;
            self.count -= 8;
        }
    }

    fn code(&mut self, code: u64, count: u32) {
        let reversed = code.reverse_bits() >> (64 - count);
        self.value(reversed, count);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.bytes.push(self.pending as u8);
        }
        self.bytes
    }
}

/// Deflate of `prefix` (ASCII) then `spaces` spaces, in one fixed-Huffman block: 13 bits per
/// 258 spaces, so a gigabyte costs 6 MB and no time to make (zlib's deflate of that would take
/// seconds).
fn deflate_spaces(prefix: &[u8], spaces: usize) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.value(1, 1); // the last block
    bits.value(1, 2); // fixed Huffman codes
    let literal = |bits: &mut Bits, byte: u8| {
        assert!(byte < 144, "ASCII only");
        bits.code(0x30 + u64::from(byte), 8);
    };
    for &byte in prefix {
        literal(&mut bits, byte);
    }
    if spaces > 0 {
        literal(&mut bits, b' ');
        let rest = spaces - 1;
        for _ in 0..rest / 258 {
            bits.code(0b1100_0101, 8); // length 258 (symbol 285)
            bits.code(0, 5); // distance 1
        }
        for _ in 0..rest % 258 {
            literal(&mut bits, b' ');
        }
    }
    bits.code(0, 7); // end of block
    bits.finish()
}

/// CRC-32 (IEEE), as zip checks it.
fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|mut crc| {
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    0xEDB8_8320 ^ (crc >> 1)
                } else {
                    crc >> 1
                };
            }
            crc
        })
        .collect();
    !data.iter().fold(!0u32, |crc, &byte| {
        table[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// A zip written by hand: one deflated entry (`data`, inflating to `size` bytes with `crc`),
/// listed in the central directory once per name of `names`, every listing pointing at that
/// one entry (more than one name: overlapping entries, a "better zip bomb").
fn zip_by_hand(data: &[u8], size: u32, crc: u32, names: &[String]) -> Vec<u8> {
    fn fields(out: &mut Vec<u8>, values: &[(u32, usize)]) {
        for &(value, width) in values {
            out.extend_from_slice(&value.to_le_bytes()[..width]);
        }
    }
    let compressed = u32::try_from(data.len()).unwrap();
    // What the local header and the central directory both say: flags, deflate, time, date
    // (1980-01-01), crc, compressed and inflated size.
    let shared = [
        (0, 2),
        (8, 2),
        (0, 2),
        (0x21, 2),
        (crc, 4),
        (compressed, 4),
        (size, 4),
    ];
    let mut zip = Vec::new();
    let first = names[0].as_bytes();
    // Local header: signature, version needed, the shared fields, name and extra lengths.
    fields(&mut zip, &[(0x0403_4b50, 4), (20, 2)]);
    fields(&mut zip, &shared);
    fields(&mut zip, &[(first.len() as u32, 2), (0, 2)]);
    zip.extend_from_slice(first);
    zip.extend_from_slice(data);
    let directory = zip.len() as u32;
    for name in names {
        // Signature, versions, the shared fields, name, extra and comment lengths, disk,
        // attributes, and the local header's offset: 0, the one entry.
        fields(&mut zip, &[(0x0201_4b50, 4), (20, 2), (20, 2)]);
        fields(&mut zip, &shared);
        let lengths = [(name.len() as u32, 2), (0, 2), (0, 2), (0, 2), (0, 2)];
        fields(&mut zip, &lengths);
        fields(&mut zip, &[(0, 4), (0, 4)]);
        zip.extend_from_slice(name.as_bytes());
    }
    let directory_size = zip.len() as u32 - directory;
    let count = names.len() as u32;
    fields(
        &mut zip,
        &[
            (0x0605_4b50, 4),
            (0, 2),
            (0, 2),
            (count, 2),
            (count, 2),
            (directory_size, 4),
            (directory, 4),
            (0, 2),
        ],
    );
    zip
}

#[test]
fn the_hand_made_zip_reads_back() {
    // The bombs below are only meaningful if their zip is right: a small one, read by the zip
    // crate, inflates to what it says.
    use std::io::Read as _;
    let prefix = br#"{"id": "MAL-0"}"#;
    let mut expected = prefix.to_vec();
    expected.extend(std::iter::repeat_n(b' ', 1000));
    let data = deflate_spaces(prefix, 1000);
    let zip = zip_by_hand(
        &data,
        1015,
        crc32(&expected),
        &["a.json".into(), "b.json".into()],
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), 2);
    for index in 0..2 {
        let mut text = Vec::new();
        archive
            .by_index(index)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        assert_eq!(text, expected);
    }
}

#[test]
fn a_zip_entry_that_inflates_to_a_gigabyte_is_refused_in_time_and_memory() {
    let (export, repo) = with_database();
    let before = current_version(&repo);
    // 1 GiB of spaces after the start of a record: valid JSON, were it read whole.
    let gigabyte = 1 << 30;
    let data = deflate_spaces(br#"{"id": "MAL-2099-1""#, gigabyte);
    assert!(data.len() < 8 << 20, "the bomb is {} bytes", data.len());
    let zip = zip_by_hand(&data, gigabyte as u32 + 19, 0, &["MAL-2099-1.json".into()]);
    std::fs::write(export.path().join("npm/all.zip"), zip).unwrap();
    db_update(&repo, &export.file_url(), 3)
        .assert_code(2)
        .assert_stderr_contains("MAL-2099-1.json: larger than 4194304 bytes");
    // The old database is still the one in use, and nothing of the attempt is left.
    assert_eq!(current_version(&repo), before);
    assert_database_whole(&repo);
}

#[test]
fn overlapping_zip_entries_are_refused_not_inflated_again_and_again() {
    // 10,000 names for one entry of a record padded to just under 4 MiB: 40 GB to inflate and
    // parse, from a 60 KB file.
    let (export, repo) = with_database();
    let record = json!({"id": "MAL-2099-2", "modified": "2025-01-01T00:00:00Z"}).to_string();
    let padding = 4 * 1024 * 1024 - 4096;
    let mut whole = record.clone().into_bytes();
    whole.extend(std::iter::repeat_n(b' ', padding));
    let data = deflate_spaces(record.as_bytes(), padding);
    let names: Vec<String> = (0..10_000).map(|i| format!("MAL-2099-{i}.json")).collect();
    let zip = zip_by_hand(&data, whole.len() as u32, crc32(&whole), &names);
    std::fs::write(export.path().join("npm/all.zip"), zip).unwrap();
    db_update(&repo, &export.file_url(), 3)
        .assert_code(2)
        .assert_stderr_contains("overlap");
    assert_database_whole(&repo);
}

#[test]
fn a_zip_of_many_entries_is_read_in_bounded_memory() {
    // 20,000 entries that are not records (skipped) beside the real ones.
    let export = npm_export();
    let mut entries: Vec<(String, Vec<u8>)> = (0..20_000)
        .map(|i| (format!("notes/{i}.txt"), Vec::new()))
        .collect();
    entries.extend(npm_malware().iter().map(|record| {
        (
            format!("{}.json", record["id"].as_str().unwrap()),
            record.to_string().into_bytes(),
        )
    }));
    write_zip(&export.path().join("npm/all.zip"), &entries);
    let repo = project(&[MALWARE]);
    db_update(&repo, &export.file_url(), 5).assert_success();
    assert_database_blocks_malware(&repo);
}

#[test]
fn a_truncated_or_corrupt_zip_leaves_the_old_database_in_use() {
    let (export, repo) = with_database();
    let before = current_version(&repo);
    let zip_path = export.path().join("npm/all.zip");
    let good = std::fs::read(&zip_path).unwrap();
    let mut flipped = good.clone();
    for byte in &mut flipped[good.len() / 4..good.len() / 2] {
        *byte ^= 0x5a;
    }
    for (case, bytes) in [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("corrupt data", flipped),
        ("empty file", Vec::new()),
        (
            "not a zip",
            b"<html>503 Service Unavailable</html>".to_vec(),
        ),
    ] {
        std::fs::write(&zip_path, bytes).unwrap();
        let run = db_update(&repo, &export.file_url(), 5);
        run.assert_code(2)
            .assert_stderr_contains("could not update the offline database");
        assert!(!run.stderr.contains("panicked"), "{case}: {}", run.output());
        assert_eq!(current_version(&repo), before, "{case}");
        assert_database_blocks_malware(&repo);
        assert_eq!(leftovers(&repo), Vec::<String>::new(), "{case}");
    }
}

#[test]
fn a_hostile_modified_list_never_spoils_the_database() {
    let export = npm_export();
    let server = ExportServer::start(export.path());
    let repo = project(&[MALWARE]);
    db_update(&repo, &server.url(), 5).assert_success();
    let list_path = export.path().join("npm/modified_id.csv");
    let list = std::fs::read_to_string(&list_path).unwrap();
    let future_ids: String = (0..5000)
        .map(|i| format!("2999-01-01T00:00:00Z,MAL-2999-{i}\n"))
        .collect();
    let cases: [(&str, Vec<u8>, &str); 7] = [
        (
            "garbage lines",
            b"garbage\n\0\x1b[2J,,,\n".to_vec(),
            "whole export",
        ),
        (
            "a 20 MB line",
            [vec![b'A'; 20 << 20], b"\n".to_vec()].concat(),
            "whole export",
        ),
        (
            "a record from the future",
            format!("2999-01-01T00:00:00Z,{MALWARE_ID}\n").into_bytes(),
            "1 changed records fetched",
        ),
        (
            "a future id the export does not have",
            b"2999-01-01T00:00:00Z,MAL-2999-0404\n".to_vec(),
            "whole export",
        ),
        (
            "an id that is a path",
            b"2999-01-01T00:00:00Z,../../../etc/passwd\n".to_vec(),
            "whole export",
        ),
        (
            "more changes than are worth fetching",
            future_ids.into_bytes(),
            "whole export",
        ),
        ("not UTF-8", vec![0xff, 0xfe, b'\n'], "whole export"),
    ];
    for (case, mut bytes, expected) in cases {
        bytes.extend_from_slice(list.as_bytes());
        std::fs::write(&list_path, bytes).unwrap();
        let before = server.requests().len();
        db_update(&repo, &server.url(), 5)
            .assert_success()
            .assert_stderr_contains(expected);
        let asked = &server.requests()[before..];
        assert!(asked.len() <= 3, "{case}: {asked:?}");
        assert!(
            asked.iter().all(|path| !path.contains("..")),
            "{case}: {asked:?}"
        );
        assert_database_blocks_malware(&repo);
    }
}

/// The version folder `current` names.
fn current_version(repo: &TestRepo) -> String {
    std::fs::read_to_string(db_folder(repo).join("current")).unwrap()
}

/// `db update` of npm from `url`, started and left running.
fn spawn_update(repo: &TestRepo, url: &str) -> std::process::Child {
    repo.lockgate_command(&update_args(url)).spawn()
}

#[test]
fn an_update_killed_mid_download_leaves_the_old_database_and_the_next_one_succeeds() {
    let export = npm_export();
    let server = ExportServer::start(export.path());
    let repo = project(&[MALWARE]);
    db_update(&repo, &server.url(), 5).assert_success();
    let before = current_version(&repo);
    // Without the list the update needs the zip, which now comes 64 KiB every 100 ms.
    export.remove_list("npm");
    server.slow_zip_downloads(Duration::from_millis(100));
    let mut child = spawn_update(&repo, &server.url());
    let started = Instant::now();
    while !std::fs::read_dir(db_folder(&repo))
        .unwrap()
        .flatten()
        .any(|entry| {
            entry.file_name().to_string_lossy().starts_with("download-")
                && entry.metadata().is_ok_and(|meta| meta.len() > 0)
        })
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    assert!(child.wait().unwrap().code().is_none(), "killed by a signal");
    assert_eq!(current_version(&repo), before);
    assert_database_blocks_malware(&repo);
    assert_eq!(leftovers(&repo).len(), 1, "the partial download");

    server.whole_zip_downloads();
    db_update(&repo, &server.url(), 5)
        .assert_success()
        .assert_stderr_contains("whole export");
    assert_ne!(current_version(&repo), before);
    assert_database_whole(&repo);
}

#[test]
fn an_update_killed_at_any_moment_leaves_a_working_database() {
    // Kills at 0, 25, 50, … ms fall in the download, the indexing, the switch or after.
    let (export, repo) = with_database();
    for step in 0..8 {
        let mut child = spawn_update(&repo, &export.file_url());
        std::thread::sleep(Duration::from_millis(25 * step));
        let _ = child.kill();
        child.wait().unwrap();
        assert_database_blocks_malware(&repo);
    }
    db_update(&repo, &export.file_url(), 5).assert_success();
    assert_database_whole(&repo);
}

#[test]
fn two_updates_at_once_both_end_and_the_database_is_whole() {
    let export = npm_export();
    let server = ExportServer::start(export.path());
    server.slow_zip_downloads(Duration::from_millis(20));
    let repo = project(&[MALWARE]);
    let url = server.url();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| db_update(&repo, &url, 10));
        let second = scope.spawn(|| db_update(&repo, &url, 10));
        (first.join().unwrap(), second.join().unwrap())
    });
    first.assert_success();
    second.assert_success();
    // One built it, the other (waiting for the lock) found it up to date.
    let both = format!("{}{}", first.stderr, second.stderr);
    assert!(
        both.contains("whole export") && both.contains("up to date"),
        "{both}"
    );
    assert_database_whole(&repo);
}

#[test]
fn checks_during_updates_read_a_whole_database() {
    // Full rebuilds one after another, and offline checks meanwhile: each check sees the old
    // database or the new one, never half of one.
    let (export, repo) = with_database();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..3 {
                db_update(&repo, &export.file_url(), 5).assert_success();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut checks = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) && checks < 50 {
            assert_database_blocks_malware(&repo);
            checks += 1;
        }
        assert!(checks > 0);
    });
}

#[test]
fn an_export_without_records_does_not_replace_a_database() {
    // An empty all.zip (a broken mirror) would make every package look clean offline.
    let (export, repo) = with_database();
    let before = current_version(&repo);
    export.publish("npm", &[]).remove_list("npm");
    db_update(&repo, &export.file_url(), 5)
        .assert_code(2)
        .assert_stderr_contains("no npm records");
    assert_eq!(current_version(&repo), before);
    assert_database_whole(&repo);
    // Nor is one built from it.
    let fresh = project(&[MALWARE]);
    db_update(&fresh, &export.file_url(), 5).assert_code(2);
    fresh
        .lockgate(&["--offline", "--format", "json"])
        .assert_code(2);
}

#[test]
fn record_server_errors_are_retried_then_block_as_unread() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let repo = project(&[MALWARE]);
    // Always 503: three attempts with --retries 2, then the package blocks as unread.
    let server = stand_in(
        || json_answer(&naming(&[MALWARE_ID])),
        || {
            Answer::Bytes(response(
                "503 Service Unavailable",
                &[("retry-after", "0")],
                b"{}",
            ))
        },
    );
    assert_blocks_unread(&repo, &server.url(), &["--retries", "2"], 3, "503");
    let records = |server: &RawServer| {
        server
            .requests()
            .iter()
            .filter(|request| request.contains("/v1/vulns/"))
            .count()
    };
    assert_eq!(records(&server), 6, "three attempts in each of two runs");
    // 503 once, then the record: read on the second attempt.
    let attempts = AtomicUsize::new(0);
    let server = stand_in(
        || json_answer(&naming(&[MALWARE_ID])),
        move || match attempts.fetch_add(1, Ordering::SeqCst) {
            0 => Answer::Bytes(response("503 Service Unavailable", &[], b"{}")),
            _ => json_answer(&record_of(MALWARE_ID)),
        },
    );
    let run = check(&repo, &server.url(), &["--retries", "1"], 3);
    run.assert_code(1);
    assert_eq!(
        run.stdout_json()["findings"][0]["record_unavailable"],
        false
    );
}

#[test]
fn a_connection_that_is_never_accepted_ends_at_the_connect_timeout() {
    // A listener whose backlog is full: the kernel drops further connection attempts, as a
    // firewall that swallows packets does.
    let listener = socket_with_full_backlog();
    let url = format!("http://{}", listener.0.local_addr().unwrap());
    let repo = project(&[CLEAN]);
    let run = check(&repo, &url, &["--connect-timeout", "0.5"], 2);
    run.assert_code(2);
    let message = run.stdout_json()["problems"][0]["message"].clone();
    assert!(
        message.as_str().unwrap().contains("timeout: connect"),
        "{message}"
    );
    check(&repo, &url, &["--connect-timeout", "0.5", "--fail-open"], 2).assert_code(0);
}

/// A listener that accepts nothing, and enough connections to fill its queue.
fn socket_with_full_backlog() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let mut streams = Vec::new();
    // The queue holds at most a few hundred (somaxconn); stop at the first attempt that hangs.
    for _ in 0..5000 {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(100)) {
            Ok(stream) => streams.push(stream),
            Err(_) => break,
        }
    }
    (listener, streams)
}

#[test]
fn hostile_records_in_the_export_are_indexed_cleanly_or_refuse_the_update() {
    // Escapes in a name (no tab or line break: those cannot be a shard line, nor an npm name),
    // in the summary, aliases and fixed versions; nonsense ranges; other ecosystems; 1 MiB.
    let name = "trap\u{1b}[31m\u{202e}\u{9b}2J\u{7}x";
    let hostile = json!({
        "id": "MAL-2099-0001", "modified": "2025-09-09T00:00:00Z",
        "aliases": [format!("GHSA-{TRAP}")],
        "summary": format!("Malicious {TRAP} code {}", "A".repeat(1 << 20)),
        "affected": [
            {"package": {"ecosystem": "npm", "name": name}, "versions": ["1.0.0"],
             "ranges": [{"type": "SEMVER", "events": [{"introduced": "not a version"},
                                                      {"fixed": format!("2.0.0{TRAP}")}]},
                        {"type": "QUANTUM", "events": [{"entangled": "1.0.0"}]}]},
            {"package": {"ecosystem": "PyPI", "name": name}, "versions": ["1.0.0"]},
            {}
        ]
    });
    let mut records = npm_malware();
    records.push(hostile);
    let export = Export::new();
    export.publish("npm", &records);
    let repo = project(&[(name, "1.0.0"), MALWARE]);
    db_update(&repo, &export.file_url(), 5).assert_success();
    let text = repo.lockgate(&["--offline"]);
    text.assert_code(1)
        .assert_stderr_contains("MAL-2099-0001")
        .assert_stderr_contains(MALWARE_ID);
    assert_clean(&text.stderr);
    assert!(text.stderr.len() < 64 * 1024, "{} bytes", text.stderr.len());
    let json = repo.lockgate(&["--offline", "--format", "json"]);
    assert_eq!(json.findings().len(), 2, "{}", json.output());
    assert_clean(&json.stdout);

    // A record nested past serde_json's limit (anywhere: the index keeps each record's JSON
    // whole, so reads all of it), or whose id is a path, fails the whole update: skipping it
    // could skip malware. The database in use stays as it was.
    let before = current_version(&repo);
    let nested = deeply_nested(&record_of("MAL-2099-0002"), 100_000);
    let mut database_specific = record_of("MAL-2099-0003");
    database_specific["database_specific"] = json!("here");
    let database_specific = database_specific.to_string().replace(
        "\"here\"",
        &format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let escaping = record_of("../../escaped").to_string();
    export.remove_list("npm");
    for (case, text) in [
        ("nested in a field not read", nested),
        (
            "nested in database_specific",
            database_specific.into_bytes(),
        ),
        ("an id that is a path", escaping.into_bytes()),
    ] {
        let mut entries: Vec<(String, Vec<u8>)> = npm_malware()
            .iter()
            .map(|record| {
                let id = record["id"].as_str().unwrap();
                (format!("{id}.json"), record.to_string().into_bytes())
            })
            .collect();
        entries.push(("hostile.json".into(), text));
        write_zip(&export.path().join("npm/all.zip"), &entries);
        db_update(&repo, &export.file_url(), 5)
            .assert_code(2)
            .assert_stderr_contains("hostile.json");
        assert_eq!(current_version(&repo), before, "{case}");
        assert_database_blocks_malware_among(&repo, 2);
        assert!(all_paths(repo.root())
            .iter()
            .all(|path| !path.to_string_lossy().contains("escaped")));
    }
}

/// Panics unless an offline check blocks debug@4.4.2 among `findings` findings.
#[track_caller]
fn assert_database_blocks_malware_among(repo: &TestRepo, findings: usize) {
    let run = repo.lockgate(&["--offline", "--format", "json"]);
    run.assert_code(1);
    let found = run.findings();
    assert_eq!(found.len(), findings, "{found:?}");
    assert!(
        found.contains(&format!("{MALWARE_ID} debug@4.4.2")),
        "{found:?}"
    );
}
