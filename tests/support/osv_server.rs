//! A local stand-in for the OSV API on 127.0.0.1: real records from `shared/data/osv`, OSV's wire
//! format for `querybatch`, `query` and `vulns/{id}`, pagination, failure injection and a request log.
//!
//! What it does not do: purl or commit queries (they are rejected as invalid), local version labels
//! (`+local` is ignored), ecosystems other than npm/PyPI get semver ordering, and PyPI ordering is
//! a PEP 440 subset (epoch, release, pre/post/dev; no legacy versions).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// Folder holding the real OSV records shared by every test (`malicious/`, `advisories/`).
pub const OSV_DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/osv");

/// OSV's limit on queries in one `querybatch` request; more is answered with HTTP 400.
pub const MAX_QUERIES_PER_BATCH: usize = 1000;

/// Largest request body the server reads; a larger one is answered with HTTP 413.
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// A way for the server to misbehave instead of answering normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and an OSV-style JSON error body (`{"code":..,"message":..}`);
    /// 429 and 503 also carry `Retry-After: 0` so retrying clients stay fast.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    NotJson,
    /// Answer `querybatch` with 200 and `{"results":[]}` whatever was asked (fewer results than
    /// queries); other endpoints answer normally.
    MissingResults,
    /// Answer `GET /v1/vulns/{id}` with this HTTP status; `querybatch` answers normally.
    RecordStatus(u16),
}

/// One HTTP request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent, e.g. `/v1/querybatch` (query string included).
    pub path: String,
    /// The body, decoded lossily as UTF-8 (empty when there was none or it was too large).
    pub body: String,
}

/// One query of an accepted `querybatch` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedQuery {
    /// `package.ecosystem` as sent.
    pub ecosystem: String,
    /// `package.name` as sent.
    pub name: String,
    /// `version` as sent.
    pub version: String,
    /// `page_token` when the query continues an earlier page.
    pub page_token: Option<String>,
}

/// Options for an [`OsvServer`]; start it with [`OsvServerBuilder::start`].
#[derive(Debug, Default)]
pub struct OsvServerBuilder {
    without_shared_data: bool,
    extra_records: Vec<Value>,
    page_size: Option<usize>,
    empty_first_page: bool,
    endless_pages: bool,
    return_withdrawn: bool,
    fault: Option<(Fault, Option<usize>)>,
    delay: Option<Duration>,
    workers: usize,
}

impl OsvServerBuilder {
    /// Answer with `workers` threads, so that requests sent together are answered together
    /// (one thread by default).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Serve only records added with [`record`](Self::record), not the shared data set.
    pub fn without_shared_data(mut self) -> Self {
        self.without_shared_data = true;
        self
    }

    /// Adds an OSV record (it needs at least an `id`); it replaces a shared record with the same id.
    pub fn record(mut self, record: Value) -> Self {
        self.extra_records.push(record);
        self
    }

    /// Answers at most `size` vulns per query result, with a `next_page_token` for the rest.
    pub fn page_size(mut self, size: usize) -> Self {
        assert!(size > 0, "page size must be at least 1");
        self.page_size = Some(size);
        self
    }

    /// For a query that has hits, the first page is `{"next_page_token": ..}` with no vulns (OSV
    /// does this when it runs out of time); the hits follow on the next pages.
    pub fn empty_first_page(mut self) -> Self {
        self.empty_first_page = true;
        self
    }

    /// Answers every query with no vulns and a `next_page_token`, forever: a server that keeps
    /// a client paginating.
    pub fn endless_pages(mut self) -> Self {
        self.endless_pages = true;
        self
    }

    /// Also returns withdrawn records from `querybatch`/`query` (OSV does not), to prove a client
    /// filters them itself.
    pub fn return_withdrawn(mut self) -> Self {
        self.return_withdrawn = true;
        self
    }

    /// Answers every request with `fault`.
    pub fn fail_always(mut self, fault: Fault) -> Self {
        self.fault = Some((fault, None));
        self
    }

    /// Answers the first `requests` requests with `fault`, then normally.
    pub fn fail_first(mut self, requests: usize, fault: Fault) -> Self {
        self.fault = Some((fault, Some(requests)));
        self
    }

    /// Waits this long before answering each request (for client timeout tests).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Binds `127.0.0.1:0` and serves from a background thread until the server is dropped.
    pub fn start(self) -> OsvServer {
        let mut records: Vec<Arc<Record>> = if self.without_shared_data {
            Vec::new()
        } else {
            shared_records().to_vec()
        };
        for raw in self.extra_records {
            let record = Arc::new(Record::from_value(raw));
            match records.iter().position(|r| r.id == record.id) {
                Some(index) => records[index] = record,
                None => records.push(record),
            }
        }
        let shared = Arc::new(Shared {
            database: Database::new(records),
            page_size: self.page_size,
            empty_first_page: self.empty_first_page,
            endless_pages: self.endless_pages,
            return_withdrawn: self.return_withdrawn,
            delay: self.delay,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            fault: self.fault.as_ref().map(|(fault, _)| fault.clone()),
            log: Mutex::new(Log {
                faults_left: self.fault.and_then(|(_, times)| times),
                ..Log::default()
            }),
        });
        let server = Arc::new(
            tiny_http::Server::from_listener(nodelay_listener(), None)
                .expect("serve the test OSV server on 127.0.0.1"),
        );
        let port = server
            .server_addr()
            .to_ip()
            .expect("the test OSV server listens on an IP address")
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..self.workers.max(1))
            .map(|worker| {
                let (server, stop, shared) =
                    (Arc::clone(&server), Arc::clone(&stop), Arc::clone(&shared));
                std::thread::Builder::new()
                    .name(format!("osv-test-server-{port}-{worker}"))
                    .spawn(move || loop {
                        match server.recv() {
                            Ok(request) => shared.serve(request),
                            // `recv` fails when unblocked and on accept errors; only the former
                            // stops.
                            Err(_) if stop.load(AtomicOrdering::SeqCst) => break,
                            Err(_) => {}
                        }
                    })
                    .expect("spawn the test OSV server thread")
            })
            .collect();
        OsvServer {
            url: format!("http://127.0.0.1:{port}"),
            server,
            shared,
            stop,
            threads,
        }
    }
}

/// A running OSV stand-in; it stops (and its thread is joined) when dropped.
pub struct OsvServer {
    url: String,
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl OsvServer {
    /// Starts a server with the shared data set and default behaviour.
    pub fn start() -> OsvServer {
        OsvServer::builder().start()
    }

    /// Options for a server: extra records, pagination, withdrawn records, faults.
    pub fn builder() -> OsvServerBuilder {
        OsvServerBuilder::default()
    }

    /// Base URL to hand to the client, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every request received so far, in arrival order (faulted ones included).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log().requests.clone()
    }

    /// Number of requests received so far, on any path.
    pub fn request_count(&self) -> usize {
        self.shared.log().requests.len()
    }

    /// Number of `POST /v1/querybatch` requests received so far (faulted and rejected ones too).
    pub fn querybatch_request_count(&self) -> usize {
        self.shared
            .log()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && route_path(&r.path) == "/v1/querybatch")
            .count()
    }

    /// `(ecosystem, name, version)` of every query the server answered in `querybatch` requests,
    /// in order, without page-token re-sends. Queries of rejected batches (HTTP 400) or of
    /// requests answered with a [`Fault`] are not included: they were never answered.
    pub fn querybatch_queries(&self) -> Vec<(String, String, String)> {
        self.shared
            .log()
            .queries
            .iter()
            .filter(|q| q.page_token.is_none())
            .map(|q| (q.ecosystem.clone(), q.name.clone(), q.version.clone()))
            .collect()
    }

    /// [`querybatch_queries`](Self::querybatch_queries) as `ecosystem:name@version`, sorted.
    pub fn queried(&self) -> Vec<String> {
        let mut queries: Vec<String> = self
            .querybatch_queries()
            .into_iter()
            .map(|(ecosystem, name, version)| format!("{ecosystem}:{name}@{version}"))
            .collect();
        queries.sort();
        queries
    }

    /// Like [`querybatch_queries`](Self::querybatch_queries) but with page-token re-sends too.
    pub fn querybatch_queries_with_page_tokens(&self) -> Vec<RecordedQuery> {
        self.shared.log().queries.clone()
    }

    /// Ids asked for with `GET /v1/vulns/{id}`, in order, whatever the answer was.
    pub fn fetched_vuln_ids(&self) -> Vec<String> {
        self.shared
            .log()
            .requests
            .iter()
            .filter(|r| r.method == "GET")
            .filter_map(|r| {
                route_path(&r.path)
                    .strip_prefix("/v1/vulns/")
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The most querybatch requests that were being answered at once.
    pub fn most_querybatches_at_once(&self) -> usize {
        self.shared.most_in_flight.load(AtomicOrdering::SeqCst)
    }

    /// How many requests made the handler panic (each was answered with HTTP 500).
    pub fn handler_panics(&self) -> usize {
        self.shared.log().handler_panics
    }
}

impl Drop for OsvServer {
    fn drop(&mut self) {
        self.stop.store(true, AtomicOrdering::SeqCst);
        // Each unblock wakes one thread waiting in `recv`.
        for _ in &self.threads {
            self.server.unblock();
        }
        for thread in self.threads.drain(..) {
            // A panic in the thread was already reported on stderr; don't panic while dropping.
            let _ = thread.join();
        }
    }
}

/// A base URL on which nothing listens (connection refused): a port bound then released.
pub fn unreachable_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An HTTP answer read by [`http_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code from the status line.
    pub status: u16,
    /// Header names (lowercased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, decoded lossily as UTF-8.
    pub body: String,
}

impl HttpReply {
    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }
}

/// Sends one HTTP/1.1 request over a plain `TcpStream` (`Connection: close`) and reads the whole
/// answer. `base_url` is `http://127.0.0.1:PORT` as from [`OsvServer::url`]; only plain http and
/// `Content-Length`/close-delimited bodies are supported (the test server never chunks).
pub fn http_request(base_url: &str, method: &str, path: &str, body: Option<&str>) -> HttpReply {
    let authority = base_url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs are supported, got {base_url:?}"))
        .trim_end_matches('/');
    let mut stream =
        TcpStream::connect(authority).unwrap_or_else(|e| panic!("connect to {authority}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set read timeout");
    let body = body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if !body.is_empty() || method == "POST" {
        let _ = write!(
            request,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("send {method} {path}: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read the answer to {method} {path}: {e}"));
    parse_http_reply(&raw).unwrap_or_else(|| {
        panic!(
            "malformed HTTP answer to {method} {path}: {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse_http_reply(raw: &[u8]) -> Option<HttpReply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = &raw[split + 4..];
    if let Some((_, length)) = headers.iter().find(|(name, _)| name == "content-length") {
        body = &body[..length.parse::<usize>().ok()?.min(body.len())];
    }
    Some(HttpReply {
        status,
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
    })
}

// ---------------------------------------------------------------------------------------------
// Serving

#[derive(Debug, Default)]
struct Log {
    requests: Vec<RecordedRequest>,
    queries: Vec<RecordedQuery>,
    faults_left: Option<usize>,
    handler_panics: usize,
}

struct Shared {
    database: Database,
    page_size: Option<usize>,
    empty_first_page: bool,
    endless_pages: bool,
    return_withdrawn: bool,
    delay: Option<Duration>,
    /// Querybatch requests being answered now, and the most at once.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    fault: Option<Fault>,
    log: Mutex<Log>,
}

/// An answer before it becomes a `tiny_http::Response`.
struct Reply {
    status: u16,
    body: String,
    content_type: &'static str,
    retry_after: bool,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            content_type: "application/json",
            retry_after: false,
        }
    }

    /// OSV's error shape: a gRPC status code and a message.
    fn error(status: u16, code: u8, message: &str) -> Reply {
        Reply::json(status, &json!({ "code": code, "message": message }))
    }
}

fn route_path(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or(target)
}

impl Shared {
    /// A poisoned lock only means an earlier handler panicked; the log itself is still usable.
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn serve(&self, mut request: tiny_http::Request) {
        let method = request.method().as_str().to_owned();
        let path = request.url().to_owned();
        let mut body = Vec::new();
        let read = request
            .as_reader()
            .take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut body);
        let too_large = body.len() as u64 > MAX_BODY_BYTES;
        let text = if too_large {
            String::new()
        } else {
            String::from_utf8_lossy(&body).into_owned()
        };
        self.log().requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            body: text.clone(),
        });
        let reply = if too_large {
            Reply::error(413, 3, "request body too large")
        } else if let Err(error) = read {
            Reply::error(400, 3, &format!("could not read the request body: {error}"))
        } else {
            let batch = route_path(&path) == "/v1/querybatch";
            if batch {
                let now = self.in_flight.fetch_add(1, AtomicOrdering::SeqCst) + 1;
                self.most_in_flight.fetch_max(now, AtomicOrdering::SeqCst);
            }
            let reply = catch_unwind(AssertUnwindSafe(|| self.answer(&method, &path, &text)))
                .unwrap_or_else(|_| {
                    self.log().handler_panics += 1;
                    Reply::error(500, 13, "the test OSV server's handler panicked")
                });
            if batch {
                self.in_flight.fetch_sub(1, AtomicOrdering::SeqCst);
            }
            reply
        };
        let mut response = tiny_http::Response::from_string(reply.body)
            .with_status_code(reply.status)
            .with_chunked_threshold(usize::MAX)
            .with_header(header("Content-Type", reply.content_type));
        if reply.retry_after {
            response = response.with_header(header("Retry-After", "0"));
        }
        // The client may have hung up; that is its business.
        let _ = request.respond(response);
    }

    fn answer(&self, method: &str, target: &str, body: &str) -> Reply {
        if let Some(delay) = self.delay {
            std::thread::sleep(delay);
        }
        let path = route_path(target);
        if let Some(fault) = self.take_fault() {
            match fault {
                Fault::Status(status) => {
                    let mut reply = Reply::error(status, grpc_code(status), "injected failure");
                    reply.retry_after = matches!(status, 429 | 503);
                    return reply;
                }
                Fault::NotJson => {
                    return Reply {
                        status: 200,
                        body: "<html><body>Service temporarily unavailable</body></html>".into(),
                        content_type: "text/html",
                        retry_after: false,
                    }
                }
                Fault::MissingResults if path == "/v1/querybatch" => {
                    return Reply::json(200, &json!({ "results": [] }))
                }
                Fault::MissingResults => {}
                Fault::RecordStatus(status) if path.starts_with("/v1/vulns/") => {
                    return Reply::error(status, grpc_code(status), "injected failure")
                }
                Fault::RecordStatus(_) => {}
            }
        }
        if let ("GET", Some(id)) = (method, path.strip_prefix("/v1/vulns/")) {
            return match self.database.by_id(id) {
                Some(record) => Reply::json(200, &record.raw),
                None => Reply::error(404, 5, "Bug not found."),
            };
        }
        match (method, path) {
            ("POST", "/v1/querybatch") => self.querybatch(body),
            ("POST", "/v1/query") => self.query(body),
            (_, "/v1/querybatch" | "/v1/query") => Reply::error(405, 12, "Method Not Allowed"),
            _ => Reply::error(404, 5, "Not Found"),
        }
    }

    fn take_fault(&self) -> Option<Fault> {
        let fault = self.fault.clone()?;
        let mut log = self.log();
        match &mut log.faults_left {
            None => Some(fault),
            Some(0) => None,
            Some(left) => {
                *left -= 1;
                Some(fault)
            }
        }
    }

    fn querybatch(&self, body: &str) -> Reply {
        let request: Value = match serde_json::from_str(body) {
            Ok(value) => value,
            Err(error) => return Reply::error(400, 3, &format!("Invalid JSON payload: {error}")),
        };
        let queries = match request.get("queries") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(queries)) => queries.as_slice(),
            Some(_) => return Reply::error(400, 3, "`queries` must be an array"),
        };
        if queries.len() > MAX_QUERIES_PER_BATCH {
            return Reply::error(400, 3, "Too many queries.");
        }
        let mut parsed = Vec::with_capacity(queries.len());
        for (index, query) in queries.iter().enumerate() {
            match parse_query(query) {
                Ok(query) => parsed.push(query),
                Err(why) => return Reply::error(400, 3, &format!("Invalid query {index}: {why}")),
            }
        }
        let mut results = Vec::with_capacity(parsed.len());
        for query in &parsed {
            match self.paged_result(query) {
                Ok(result) => results.push(result),
                Err(reply) => return reply,
            }
        }
        self.log().queries.extend(parsed);
        Reply::json(200, &json!({ "results": results }))
    }

    /// One entry of `results`: ids and `modified` of this page's hits and the next page's token.
    fn paged_result(&self, query: &RecordedQuery) -> Result<Value, Reply> {
        let hits = self.hits(&query.ecosystem, &query.name, &query.version);
        if self.endless_pages {
            let page = query.page_token.as_deref().and_then(parse_page_token);
            return Ok(json!({ "next_page_token": page_token(page.map_or(1, |page| page + 1)) }));
        }
        let offset = match &query.page_token {
            None if self.empty_first_page && !hits.is_empty() => {
                return Ok(json!({ "next_page_token": page_token(0) }));
            }
            None => 0,
            Some(token) => match parse_page_token(token) {
                Some(offset) if offset <= hits.len() => offset,
                _ => return Err(Reply::error(400, 3, "Invalid page token.")),
            },
        };
        let end = self
            .page_size
            .map_or(hits.len(), |size| hits.len().min(offset + size));
        let mut result = serde_json::Map::new();
        if end > offset {
            let vulns: Vec<Value> = hits[offset..end]
                .iter()
                .map(|r| json!({ "id": r.id, "modified": r.modified }))
                .collect();
            result.insert("vulns".into(), Value::Array(vulns));
        }
        if end < hits.len() {
            result.insert("next_page_token".into(), Value::String(page_token(end)));
        }
        Ok(Value::Object(result))
    }

    fn query(&self, body: &str) -> Reply {
        let request: Value = match serde_json::from_str(body) {
            Ok(value) => value,
            Err(error) => return Reply::error(400, 3, &format!("Invalid JSON payload: {error}")),
        };
        let query = match parse_query(&request) {
            Ok(query) => query,
            Err(why) => return Reply::error(400, 3, &format!("Invalid query: {why}")),
        };
        let hits = self.hits(&query.ecosystem, &query.name, &query.version);
        if hits.is_empty() {
            return Reply::json(200, &json!({}));
        }
        let vulns: Vec<&Value> = hits.iter().map(|r| &r.raw).collect();
        Reply::json(200, &json!({ "vulns": vulns }))
    }

    /// Records affecting the package version, sorted by id; withdrawn ones only if asked to.
    fn hits(&self, ecosystem: &str, name: &str, version: &str) -> Vec<&Record> {
        let mut hits: Vec<&Record> = self
            .database
            .candidates(ecosystem, name)
            .filter(|r| self.return_withdrawn || !r.withdrawn)
            .filter(|r| version.is_empty() || r.affects(ecosystem, name, version))
            .collect();
        hits.sort_by(|a, b| a.id.cmp(&b.id));
        hits.dedup_by(|a, b| a.id == b.id);
        hits
    }
}

/// A listener on a free loopback port whose connections have TCP_NODELAY (Linux's accepted
/// sockets inherit it): tiny_http writes an answer through a small buffer, in parts, and
/// Nagle's algorithm would hold each later part until the client's delayed ACK.
fn nodelay_listener() -> std::net::TcpListener {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a socket");
    socket.set_tcp_nodelay(true).expect("TCP_NODELAY");
    let address: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&address.into()).expect("bind 127.0.0.1");
    socket.listen(128).expect("listen");
    socket.into()
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

/// The gRPC status code OSV puts in an error body for an HTTP status.
fn grpc_code(status: u16) -> u8 {
    match status {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        429 => 8,
        501 => 12,
        503 => 14,
        504 => 4,
        _ => 13,
    }
}

fn page_token(offset: usize) -> String {
    format!("lockgate-test-page.{offset:x}")
}

fn parse_page_token(token: &str) -> Option<usize> {
    usize::from_str_radix(token.strip_prefix("lockgate-test-page.")?, 16).ok()
}

fn parse_query(query: &Value) -> Result<RecordedQuery, String> {
    let text = |value: Option<&Value>, what: &str| match value {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!("`{what}` must be a non-empty string")),
    };
    let package = query.get("package").ok_or("`package` is missing")?;
    let page_token = match query.get("page_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) if token.is_empty() => None,
        Some(Value::String(token)) => Some(token.clone()),
        Some(_) => return Err("`page_token` must be a string".into()),
    };
    Ok(RecordedQuery {
        ecosystem: text(package.get("ecosystem"), "package.ecosystem")?,
        name: text(package.get("name"), "package.name")?,
        // OSV answers a query without a version with every record of the package.
        version: match query.get("version") {
            None | Some(Value::Null) => String::new(),
            version => text(version, "version")?,
        },
        page_token,
    })
}

// ---------------------------------------------------------------------------------------------
// Records and matching

/// The shared data set, read and parsed once per test process.
fn shared_records() -> &'static [Arc<Record>] {
    static RECORDS: OnceLock<Vec<Arc<Record>>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut records = Vec::new();
        for folder in [
            "malicious/npm",
            "malicious/pypi",
            "advisories/npm",
            "advisories/pypi",
        ] {
            let dir = Path::new(OSV_DATA_DIR).join(folder);
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("read the OSV test data in {}: {e}", dir.display()));
            let mut paths: Vec<_> = entries
                .map(|entry| entry.expect("list the OSV test data").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                let value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
                records.push(Arc::new(Record::from_value(value)));
            }
        }
        assert!(!records.is_empty(), "no OSV records in {OSV_DATA_DIR}");
        records
    })
}

struct Database {
    records: Vec<Arc<Record>>,
    by_id: HashMap<String, usize>,
    by_package: HashMap<(String, String), Vec<usize>>,
}

impl Database {
    fn new(records: Vec<Arc<Record>>) -> Database {
        let mut by_id = HashMap::new();
        let mut by_package: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (index, record) in records.iter().enumerate() {
            by_id.insert(record.id.clone(), index);
            for affected in &record.affected {
                let key = package_key(&affected.ecosystem, &affected.name);
                let list = by_package.entry(key).or_default();
                if list.last() != Some(&index) {
                    list.push(index);
                }
            }
        }
        Database {
            records,
            by_id,
            by_package,
        }
    }

    fn by_id(&self, id: &str) -> Option<&Record> {
        self.by_id.get(id).map(|&index| &*self.records[index])
    }

    fn candidates(&self, ecosystem: &str, name: &str) -> impl Iterator<Item = &Record> {
        self.by_package
            .get(&package_key(ecosystem, name))
            .into_iter()
            .flatten()
            .map(|&index| &*self.records[index])
    }
}

fn package_key(ecosystem: &str, name: &str) -> (String, String) {
    (ecosystem.to_owned(), normalize_name(ecosystem, name))
}

/// Names as OSV compares them: PEP 503 for PyPI, exact for everything else.
fn normalize_name(ecosystem: &str, name: &str) -> String {
    if ecosystem != "PyPI" {
        return name.to_owned();
    }
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                normalized.push('-');
            }
            in_separator_run = true;
        } else {
            normalized.push(c.to_ascii_lowercase());
            in_separator_run = false;
        }
    }
    normalized
}

/// The parts of an OSV record that matching reads, plus the record itself.
struct Record {
    id: String,
    modified: String,
    withdrawn: bool,
    affected: Vec<Affected>,
    raw: Value,
}

struct Affected {
    ecosystem: String,
    name: String,
    versions: Vec<String>,
    ranges: Vec<Range>,
}

struct Range {
    /// `None` for `GIT` and unknown range types, which never match a package version.
    scheme: Option<RangeType>,
    events: Vec<Event>,
}

#[derive(Clone, Copy)]
enum RangeType {
    Semver,
    Ecosystem,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

struct Event {
    kind: EventKind,
    version: String,
}

fn string_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

impl Record {
    /// Reads leniently: missing or odd fields become empty (such a record simply never matches).
    fn from_value(raw: Value) -> Record {
        let id = string_at(&raw, "id").to_owned();
        assert!(!id.is_empty(), "an OSV record needs an `id`: {raw}");
        let affected = raw
            .get("affected")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(Affected::from_value).collect())
            .unwrap_or_default();
        Record {
            modified: match string_at(&raw, "modified") {
                "" => "1970-01-01T00:00:00Z".to_owned(),
                modified => modified.to_owned(),
            },
            withdrawn: raw.get("withdrawn").is_some_and(|w| !w.is_null()),
            affected,
            id,
            raw,
        }
    }

    fn affects(&self, ecosystem: &str, name: &str, version: &str) -> bool {
        let key = normalize_name(ecosystem, name);
        self.affected.iter().any(|affected| {
            affected.ecosystem == ecosystem
                && normalize_name(ecosystem, &affected.name) == key
                && affected.affects(version)
        })
    }
}

impl Affected {
    fn from_value(value: &Value) -> Affected {
        let package = value.get("package").unwrap_or(&Value::Null);
        let strings = |list: Option<&Value>| -> Vec<String> {
            list.and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let ranges = value
            .get("ranges")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(Range::from_value).collect())
            .unwrap_or_default();
        Affected {
            ecosystem: string_at(package, "ecosystem").to_owned(),
            name: string_at(package, "name").to_owned(),
            versions: strings(value.get("versions")),
            ranges,
        }
    }

    fn affects(&self, version: &str) -> bool {
        let scheme = VersionScheme::for_ecosystem(&self.ecosystem);
        let exact = self.versions.iter().any(|listed| {
            listed == version
                || (scheme == VersionScheme::Pep440
                    && matches!(
                        compare_versions(scheme, listed, version),
                        Some(Ordering::Equal)
                    ))
        });
        exact
            || self.ranges.iter().any(|range| {
                let scheme = match range.scheme {
                    Some(RangeType::Semver) => VersionScheme::Semver,
                    Some(RangeType::Ecosystem) => scheme,
                    None => return false,
                };
                range_affects(scheme, &range.events, version)
            })
    }
}

impl Range {
    fn from_value(value: &Value) -> Range {
        let scheme = match string_at(value, "type") {
            "SEMVER" => Some(RangeType::Semver),
            "ECOSYSTEM" => Some(RangeType::Ecosystem),
            _ => None,
        };
        let mut events = Vec::new();
        for event in value
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for (key, kind) in [
                ("introduced", EventKind::Introduced),
                ("fixed", EventKind::Fixed),
                ("last_affected", EventKind::LastAffected),
                ("limit", EventKind::Limit),
            ] {
                if let Some(version) = event.get(key).and_then(Value::as_str) {
                    events.push(Event {
                        kind,
                        version: version.to_owned(),
                    });
                }
            }
        }
        Range { scheme, events }
    }
}

/// OSV's evaluation: sort the events by version, walk them, and track whether the version is
/// inside an introduced..fixed/last_affected span; at or past a `limit` nothing is affected.
/// A range with a version this comparator cannot read is skipped (treated as not affecting).
fn range_affects(scheme: VersionScheme, events: &[Event], version: &str) -> bool {
    let Some(version) = ParsedVersion::parse(scheme, version) else {
        return false;
    };
    let mut bounds = Vec::with_capacity(events.len());
    for event in events {
        let bound = match (event.kind, event.version.as_str()) {
            (EventKind::Introduced, "0") => Bound::Start,
            (EventKind::Limit, "*") => Bound::End,
            (_, text) => match ParsedVersion::parse(scheme, text) {
                Some(parsed) => Bound::At(parsed),
                None => return false,
            },
        };
        bounds.push((bound, event.kind));
    }
    bounds.sort_by(|a, b| a.0.cmp(&b.0));
    let mut affected = false;
    for (bound, kind) in &bounds {
        let ordering = bound.cmp_version(&version);
        match kind {
            EventKind::Introduced if ordering != Ordering::Greater => affected = true,
            EventKind::Fixed if ordering != Ordering::Greater => affected = false,
            EventKind::LastAffected if ordering == Ordering::Less => affected = false,
            EventKind::Limit if ordering != Ordering::Greater => return false,
            _ => {}
        }
    }
    affected
}

/// An event's position: `introduced: "0"` is before every version, `limit: "*"` after all.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Start,
    At(ParsedVersion),
    End,
}

impl Bound {
    /// How this bound compares with `version`.
    fn cmp_version(&self, version: &ParsedVersion) -> Ordering {
        match self {
            Bound::Start => Ordering::Less,
            Bound::At(bound) => bound.cmp(version),
            Bound::End => Ordering::Greater,
        }
    }
}

/// How versions of an ecosystem are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionScheme {
    /// Semver 2.0 precedence (npm; `SEMVER` ranges of any ecosystem). `1.0` means `1.0.0`, a
    /// leading `v`/`=` is ignored, build metadata is ignored.
    Semver,
    /// A PEP 440 subset (PyPI): epoch, release (trailing zeros ignored), `a`/`b`/`rc` with the
    /// usual spellings, `.post`/`-N`, `.dev`; local labels are ignored; legacy versions fail.
    Pep440,
}

impl VersionScheme {
    /// The ordering OSV's `ECOSYSTEM` ranges use for `ecosystem` (semver for all but PyPI).
    pub fn for_ecosystem(ecosystem: &str) -> VersionScheme {
        if ecosystem == "PyPI" {
            VersionScheme::Pep440
        } else {
            VersionScheme::Semver
        }
    }
}

/// Compares two versions under `scheme`; `None` when either cannot be read.
pub fn compare_versions(scheme: VersionScheme, a: &str, b: &str) -> Option<Ordering> {
    Some(ParsedVersion::parse(scheme, a)?.cmp(&ParsedVersion::parse(scheme, b)?))
}

/// A version read under one scheme; two versions are only compared under the same scheme.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum ParsedVersion {
    Semver(SemverVersion),
    Pep440(Pep440Version),
}

impl ParsedVersion {
    fn parse(scheme: VersionScheme, text: &str) -> Option<ParsedVersion> {
        match scheme {
            VersionScheme::Semver => SemverVersion::parse(text).map(ParsedVersion::Semver),
            VersionScheme::Pep440 => Pep440Version::parse(text).map(ParsedVersion::Pep440),
        }
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum PrereleaseIdentifier {
    // Numeric identifiers sort before alphanumeric ones (semver 2.0 §11.4.3).
    Numeric(u64),
    Alphanumeric(String),
}

#[derive(PartialEq, Eq)]
struct SemverVersion {
    release: [u64; 3],
    prerelease: Vec<PrereleaseIdentifier>,
}

impl SemverVersion {
    fn parse(text: &str) -> Option<SemverVersion> {
        let text = text.trim();
        let text = text.strip_prefix(['v', '=']).unwrap_or(text);
        let text = text.split('+').next()?;
        let (core, prerelease) = match text.split_once('-') {
            Some((core, prerelease)) => (core, Some(prerelease)),
            None => (text, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return None;
        }
        let mut release = [0; 3];
        for (slot, part) in release.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        let prerelease = match prerelease {
            None => Vec::new(),
            Some(text) => text
                .split('.')
                .map(|identifier| {
                    if identifier.is_empty() {
                        None
                    } else if identifier.bytes().all(|b| b.is_ascii_digit()) {
                        identifier.parse().ok().map(PrereleaseIdentifier::Numeric)
                    } else {
                        Some(PrereleaseIdentifier::Alphanumeric(identifier.to_owned()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(SemverVersion {
            release,
            prerelease,
        })
    }
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release.cmp(&other.release).then_with(|| {
            // A version without prerelease identifiers ranks above any prerelease of it.
            match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.prerelease.cmp(&other.prerelease),
            }
        })
    }
}

impl PartialOrd for SemverVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where a PEP 440 version sits around its release: field order gives the ordering.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Pep440Phase {
    /// `1.0.dev1` (no pre/post): before every prerelease of 1.0.
    DevOnly,
    /// `a` = 0, `b` = 1, `rc` = 2, then the number.
    Pre(u8, u64),
    Final,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Pep440Dev {
    Dev(u64),
    None,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pep440Version {
    epoch: u64,
    release: Vec<u64>,
    phase: Pep440Phase,
    post: Option<u64>,
    dev: Pep440Dev,
}

impl Pep440Version {
    fn parse(text: &str) -> Option<Pep440Version> {
        let lower = text.trim().to_ascii_lowercase();
        let text = lower.strip_prefix('v').unwrap_or(&lower);
        let text = text.split('+').next()?;
        let (epoch, text) = match text.split_once('!') {
            Some((epoch, rest)) => (epoch.parse().ok()?, rest),
            None => (0, text),
        };
        let mut cursor = Cursor { rest: text };
        let mut release = vec![cursor.number()?];
        while let Some(after_dot) = cursor
            .rest
            .strip_prefix('.')
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        {
            cursor.rest = after_dot;
            release.push(cursor.number()?);
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let mut pre = None;
        for (spellings, rank) in [
            (&["alpha", "a"][..], 0),
            (&["beta", "b"][..], 1),
            (&["rc", "c", "preview", "pre"][..], 2),
        ] {
            if let Some(number) = cursor.labelled(spellings) {
                pre = Some((rank, number));
                break;
            }
        }
        let mut post = cursor.labelled(&["post", "rev", "r"]);
        // `1.0-1` is an implicit post-release.
        if let (None, Some(after_dash)) = (post, cursor.rest.strip_prefix('-')) {
            let mut implicit = Cursor { rest: after_dash };
            if let Some(number) = implicit.number() {
                post = Some(number);
                cursor = implicit;
            }
        }
        let dev = cursor.labelled(&["dev"]);
        if !cursor.rest.is_empty() {
            return None;
        }
        let phase = match (pre, post, dev) {
            (Some((rank, number)), _, _) => Pep440Phase::Pre(rank, number),
            (None, None, Some(_)) => Pep440Phase::DevOnly,
            (None, _, _) => Pep440Phase::Final,
        };
        Some(Pep440Version {
            epoch,
            release,
            phase,
            post,
            dev: dev.map_or(Pep440Dev::None, Pep440Dev::Dev),
        })
    }
}

/// A tiny scanner over the rest of a PEP 440 version string.
struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn number(&mut self) -> Option<u64> {
        let digits = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number = self.rest[..digits].parse().ok()?;
        self.rest = &self.rest[digits..];
        Some(number)
    }

    /// `[-_.]?label[-_.]?N?` for the first of `labels` that matches (so list `preview` before
    /// `pre`); the number defaults to 0.
    fn labelled(&mut self, labels: &[&str]) -> Option<u64> {
        let after_separator = self.rest.strip_prefix(['-', '_', '.']).unwrap_or(self.rest);
        for label in labels {
            if let Some(after_label) = after_separator.strip_prefix(label) {
                let mut cursor = Cursor {
                    rest: after_label
                        .strip_prefix(['-', '_', '.'])
                        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
                        .unwrap_or(after_label),
                };
                let number = cursor.number().unwrap_or(0);
                self.rest = cursor.rest;
                return Some(number);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_precedence() {
        use Ordering::*;
        // Cases from semver 2.0 §11, plus OSV records' `1.0` (node-fetch GHSA-r683-j2x4-v87g).
        let cases = [
            ("1.0.0", "2.0.0", Less),
            ("2.0.0", "2.1.0", Less),
            ("2.1.0", "2.1.1", Less),
            ("1.0.0-alpha", "1.0.0", Less),
            ("1.0.0-alpha", "1.0.0-alpha.1", Less),
            ("1.0.0-alpha.1", "1.0.0-alpha.beta", Less),
            ("1.0.0-alpha.beta", "1.0.0-beta", Less),
            ("1.0.0-beta.2", "1.0.0-beta.11", Less),
            ("1.0.0-beta.11", "1.0.0-rc.1", Less),
            ("1.0.0-rc.1", "1.0.0", Less),
            ("1.0", "1.0.0", Equal),
            ("v1.2.3", "1.2.3+build.5", Equal),
            ("10.0.0", "9.99.99", Greater),
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                compare_versions(VersionScheme::Semver, a, b),
                Some(expected),
                "{a} vs {b}"
            );
        }
        assert_eq!(
            compare_versions(VersionScheme::Semver, "1.2.3.4", "1.0.0"),
            None
        );
        assert_eq!(
            compare_versions(VersionScheme::Semver, "latest", "1.0.0"),
            None
        );
    }

    #[test]
    fn pep440_ordering() {
        use Ordering::*;
        // Orderings from PEP 440's "Summary of permitted suffixes and relative ordering", plus
        // the shared data's odd versions (certifi `2021.05.30`, `0.1.0rc1`, `0.0.0.1`, `1`).
        let cases = [
            ("1.0.dev1", "1.0a1", Less),
            ("1.0a1", "1.0a2.dev1", Less),
            ("1.0a2.dev1", "1.0a2", Less),
            ("1.0a2", "1.0b1", Less),
            ("1.0b1", "1.0rc1", Less),
            ("1.0rc1", "1.0", Less),
            ("1.0", "1.0.post1.dev1", Less),
            ("1.0.post1.dev1", "1.0.post1", Less),
            ("1.0.post1", "1.1.dev1", Less),
            ("1.0-1", "1.0.post1", Equal),
            ("1.0.0", "1", Equal),
            ("1.0alpha1", "1.0a1", Equal),
            ("1.0-RC1", "1.0rc1", Equal),
            ("2021.05.30", "2021.5.30", Equal),
            ("2021.05.30", "2024.07.04", Less),
            ("0.1.0rc1", "0.1.0", Less),
            ("0.0.0.1", "0.0.1", Less),
            ("1!0.1", "999", Greater),
            ("1.0+local.7", "1.0", Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                compare_versions(VersionScheme::Pep440, a, b),
                Some(expected),
                "{a} vs {b}"
            );
        }
        assert_eq!(
            compare_versions(VersionScheme::Pep440, "1.0.foo", "1.0"),
            None
        );
    }

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_name("PyPI", "Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("PyPI", "FRIENDLY._-BARD"), "friendly-bard");
        assert_eq!(normalize_name("PyPI", "Nasrtox"), "nasrtox");
        // npm names are compared exactly, as OSV does.
        assert_eq!(normalize_name("npm", "Axios"), "Axios");
    }

    fn affects(events: Value, version: &str) -> bool {
        let record = Record::from_value(json!({
            "id": "TEST-1",
            "affected": [{ "package": { "ecosystem": "npm", "name": "p" },
                           "ranges": [{ "type": "SEMVER", "events": events }] }]
        }));
        record.affects("npm", "p", version)
    }

    #[test]
    fn range_events() {
        let cases = [
            // Event lists shaped like the shared data's (see the data README for the records).
            (json!([{"introduced": "0"}]), "0.0.1-alpha", true),
            (
                json!([{"introduced": "1.95.6"}, {"fixed": "1.95.8"}]),
                "1.95.5",
                false,
            ),
            (
                json!([{"introduced": "1.95.6"}, {"fixed": "1.95.8"}]),
                "1.95.6",
                true,
            ),
            (
                json!([{"introduced": "1.95.6"}, {"fixed": "1.95.8"}]),
                "1.95.7",
                true,
            ),
            (
                json!([{"introduced": "1.95.6"}, {"fixed": "1.95.8"}]),
                "1.95.8",
                false,
            ),
            (
                json!([{"introduced": "4.1.1"}, {"last_affected": "4.1.2"}]),
                "4.1.2",
                true,
            ),
            (
                json!([{"introduced": "4.1.1"}, {"last_affected": "4.1.2"}]),
                "4.1.3",
                false,
            ),
            (
                json!([{"introduced": "0"}, {"limit": "2.0.0"}]),
                "2.0.0",
                false,
            ),
            (
                json!([{"introduced": "0"}, {"limit": "2.0.0"}]),
                "1.9.9",
                true,
            ),
            (json!([{"introduced": "0"}, {"limit": "*"}]), "99.0.0", true),
            // Unsorted events and two spans in one range (OSV sorts before walking).
            (
                json!([{"introduced": "3.0.0"}, {"fixed": "2.0.0"}, {"introduced": "1.0.0"}]),
                "2.5.0",
                false,
            ),
            (
                json!([{"introduced": "3.0.0"}, {"fixed": "2.0.0"}, {"introduced": "1.0.0"}]),
                "3.1.0",
                true,
            ),
            (
                json!([{"introduced": "1.0"}, {"fixed": "3.1.1"}]),
                "1.0.0",
                true,
            ),
            (json!([{"introduced": "not-a-version"}]), "1.0.0", false),
        ];
        for (events, version, expected) in cases {
            assert_eq!(
                affects(events.clone(), version),
                expected,
                "{version} in {events}"
            );
        }
    }
}
