//! The OSV API client: `POST /v1/querybatch` for which records affect which packages, then
//! `GET /v1/vulns/{id}` for each record, over one ureq agent with timeouts and retries.
//!
//! Everything OSV answers is untrusted: bodies are size-bounded, ids are validated before they
//! go into a URL, and pagination is bounded so a misbehaving server cannot keep lockgate busy.

mod wire;

pub(crate) use wire::batch_results;
pub use wire::{is_plausible_id, Hit};

use crate::advisory::Advisory;
use crate::package::Package;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// OSV refuses a querybatch of more than this many queries.
pub const MAX_BATCH: usize = 1000;
/// Records fetched at once.
const FETCH_THREADS: usize = 8;
/// Querybatch requests in flight at once: against OSV's half-second round trips a large new
/// lockfile's batches overlap instead of queueing.
const BATCHES_IN_FLIGHT: usize = 4;
/// Largest querybatch answer read (OSV's are a few KiB per thousand packages).
const MAX_BATCH_BODY: u64 = 32 * 1024 * 1024;
/// Largest single record read.
const MAX_RECORD_BODY: u64 = 4 * 1024 * 1024;
/// Pages followed per batch before the answer is judged broken.
const MAX_PAGES: usize = 100;

/// The most requests a client runs at once (the registry lookups of the release-age check).
pub const MAX_PARALLEL_REQUESTS: usize = 8;

/// How to reach OSV.
#[derive(Clone, Debug)]
pub struct Settings {
    /// API base, e.g. `https://api.osv.dev`.
    pub base_url: String,
    /// Longest time one request (connect, send, receive) may take.
    pub timeout: Duration,
    /// Longest time to establish a connection.
    pub connect_timeout: Duration,
    /// Extra attempts after a connection error, 429 or 5xx.
    pub retries: u32,
    /// Longest time all of a client's requests together may take, counted from the client's
    /// creation; `None` for no limit beyond each request's.
    pub deadline: Option<Duration>,
}

/// Why OSV could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    /// No connection, a timeout, or a transport failure.
    #[error("no answer from {url}")]
    Transport {
        /// The request URL.
        url: String,
        /// ureq's error.
        #[source]
        source: ureq::Error,
    },
    /// An HTTP status other than 200.
    #[error("{url}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the answer, cleaned of control characters.
        body: String,
    },
    /// An answer that is not what OSV's API returns.
    #[error("{url}: unreadable answer: {message}")]
    Malformed {
        /// The request URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The run's time for asking OSV ran out.
    #[error("the deadline of {} s for asking OSV passed; by then {done}", limit.as_secs_f64())]
    Deadline {
        /// The deadline.
        limit: Duration,
        /// How far the lookup had got.
        done: String,
    },
}

/// OSV's answer for a list of packages.
pub struct Answers {
    /// Ids of the records affecting each package, in the order of the packages asked about.
    pub ids: Vec<Vec<String>>,
    /// Each of those records, by id. An id named in `ids` without its record here could not be
    /// read: it is decided as malware, since it cannot be told apart from malware.
    pub advisories: BTreeMap<String, Advisory>,
    /// Why records named in `ids` are missing from `advisories`, when some are.
    pub unfetched: Option<OsvError>,
}

/// How far a lookup has got, for a progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Packages asked about so far, of all.
    Queried {
        /// Packages whose answers are in.
        done: usize,
        /// Packages to ask about.
        total: usize,
    },
    /// Records fetched so far, of all.
    Fetched {
        /// Records read.
        done: usize,
        /// Records to read.
        total: usize,
    },
}

/// A connection to one OSV API.
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    retries: u32,
    /// Longest time one request may take.
    timeout: Duration,
    /// The time for all requests, and how far they got.
    budget: Box<Budget>,
}

/// The time all of a client's requests may take together, and how far they got.
struct Budget {
    /// When the time runs out, and how long it was.
    deadline: Option<(Instant, Duration)>,
    /// How far the lookup has got, for the message when the deadline passes.
    reached: Mutex<Reached>,
}

/// How far a lookup got: packages answered, pages followed, records read.
#[derive(Default)]
struct Reached {
    queried: (usize, usize),
    pages: usize,
    fetched: (usize, usize),
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} packages were answered",
            self.queried.0, self.queried.1
        )?;
        if self.pages > 0 {
            write!(f, " ({} more pages followed)", self.pages)?;
        }
        if self.fetched.1 > 0 {
            write!(
                f,
                " and {} of {} records were read",
                self.fetched.0, self.fetched.1
            )?;
        }
        Ok(())
    }
}

impl Client {
    /// A client with its own agent; proxies come from `HTTPS_PROXY`/`ALL_PROXY`/`HTTP_PROXY`,
    /// minus the hosts in `NO_PROXY`.
    pub fn new(settings: &Settings) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // OSV does not redirect. Following one would send the list of packages (or ask for
            // records) to whatever host a server names: a redirect is answered as its status.
            .max_redirects(0)
            .timeout_global(Some(settings.timeout))
            .timeout_connect(Some(settings.connect_timeout))
            .proxy(ureq::Proxy::try_from_env())
            .user_agent(concat!("lockgate/", env!("CARGO_PKG_VERSION")))
            // Registry lookups run eight at a time: keep a connection for each (ureq keeps 3),
            // or every round opens new ones (a TLS handshake each, against a real registry).
            .max_idle_connections_per_host(MAX_PARALLEL_REQUESTS)
            .max_idle_connections(4 * MAX_PARALLEL_REQUESTS)
            .build()
            .new_agent();
        Client {
            agent,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            retries: settings.retries,
            timeout: settings.timeout,
            budget: Box::new(Budget {
                deadline: settings
                    .deadline
                    .map(|limit| (Instant::now() + limit, limit)),
                reached: Mutex::new(Reached::default()),
            }),
        }
    }

    /// Asks which records affect `packages` (one batched round trip per 1,000), then fetches
    /// each record once, telling `progress` after each batch and each record.
    pub fn lookup_with_progress(
        &self,
        packages: &[Package],
        progress: &(dyn Fn(Step) + Sync),
    ) -> Result<Answers, OsvError> {
        let ids: Vec<Vec<String>> = self
            .query(packages, progress)?
            .into_iter()
            .map(|hits| hits.into_iter().map(|hit| hit.id).collect())
            .collect();
        let mut unique: Vec<String> = ids.iter().flatten().cloned().collect();
        unique.sort();
        unique.dedup();
        let (advisories, unfetched) = self.fetch(&unique, progress);
        Ok(Answers {
            ids,
            advisories,
            unfetched,
        })
    }

    /// The records that affect each package, in the order of `packages`: batches of
    /// [`MAX_BATCH`], [`BATCHES_IN_FLIGHT`] at a time (each retried as [`send`](Self::send)
    /// says); the first that fails stops the rest.
    pub fn query(
        &self,
        packages: &[Package],
        progress: &(dyn Fn(Step) + Sync),
    ) -> Result<Vec<Vec<Hit>>, OsvError> {
        self.reach(|reached| reached.queried = (0, packages.len()));
        let chunks: Vec<&[Package]> = packages.chunks(MAX_BATCH).collect();
        let answers: Mutex<Vec<Option<Vec<Vec<Hit>>>>> = Mutex::new(vec![None; chunks.len()]);
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..BATCHES_IN_FLIGHT.min(chunks.len()) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= chunks.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    match self.query_chunk(chunks[index]) {
                        Ok(hits) => {
                            let done = done.fetch_add(chunks[index].len(), Ordering::Relaxed)
                                + chunks[index].len();
                            if let Ok(mut answers) = answers.lock() {
                                answers[index] = Some(hits);
                            }
                            self.reach(|reached| reached.queried.0 = done);
                            progress(Step::Queried {
                                done,
                                total: packages.len(),
                            });
                        }
                        Err(error) => {
                            failed.store(true, Ordering::Relaxed);
                            if let Ok(mut first) = first_error.lock() {
                                first.get_or_insert(error);
                            }
                        }
                    }
                });
            }
        });
        if let Some(error) = first_error.into_inner().ok().flatten() {
            return Err(error);
        }
        let mut ids = Vec::with_capacity(packages.len());
        for answer in answers.into_inner().unwrap_or_default() {
            // Every batch answered (no error was kept): none is missing.
            ids.extend(answer.unwrap_or_default());
        }
        Ok(ids)
    }

    /// One batch of at most [`MAX_BATCH`] packages, following each query's pages.
    fn query_chunk(&self, packages: &[Package]) -> Result<Vec<Vec<Hit>>, OsvError> {
        let url = format!("{}/v1/querybatch", self.base_url);
        let mut ids = vec![Vec::new(); packages.len()];
        let mut pending: Vec<(usize, Option<String>)> =
            (0..packages.len()).map(|i| (i, None)).collect();
        for _ in 0..MAX_PAGES {
            let body = wire::batch_request(packages, &pending);
            let answer = self.send(&url, Some(&body), MAX_BATCH_BODY)?;
            let results = wire::batch_results(&answer, pending.len()).map_err(|message| {
                OsvError::Malformed {
                    url: url.clone(),
                    message,
                }
            })?;
            let mut next = Vec::new();
            for ((index, _), result) in pending.iter().zip(results) {
                for hit in result.hits {
                    if !ids[*index].iter().any(|known: &Hit| known.id == hit.id) {
                        ids[*index].push(hit);
                    }
                }
                if let Some(token) = result.next_page_token {
                    next.push((*index, Some(token)));
                }
            }
            if next.is_empty() {
                return Ok(ids);
            }
            self.reach(|reached| reached.pages += 1);
            pending = next;
        }
        Err(OsvError::Malformed {
            url,
            message: format!("still paginating after {MAX_PAGES} pages"),
        })
    }

    /// Fetches the full records for `ids`, a few at a time, until one cannot be read: the
    /// records read, and the first error (the records not read are missing).
    pub fn fetch(
        &self,
        ids: &[String],
        progress: &(dyn Fn(Step) + Sync),
    ) -> (BTreeMap<String, Advisory>, Option<OsvError>) {
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let records = Mutex::new(BTreeMap::new());
        let first_error = Mutex::new(None);
        self.reach(|reached| reached.fetched = (0, ids.len()));
        std::thread::scope(|scope| {
            for _ in 0..FETCH_THREADS.min(ids.len()) {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= ids.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    match self.fetch_one(&ids[index]) {
                        Ok(record) => {
                            records
                                .lock()
                                .expect("no panics while locked")
                                .insert(ids[index].clone(), record);
                            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                            self.reach(|reached| reached.fetched.0 = done);
                            progress(Step::Fetched {
                                done,
                                total: ids.len(),
                            });
                        }
                        Err(error) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .expect("no panics while locked")
                                .get_or_insert(error);
                        }
                    }
                });
            }
        });
        (
            records.into_inner().expect("no panics while locked"),
            first_error.into_inner().expect("no panics while locked"),
        )
    }

    fn fetch_one(&self, id: &str) -> Result<Advisory, OsvError> {
        let url = format!("{}/v1/vulns/{id}", self.base_url);
        if !wire::is_plausible_id(id) {
            return Err(OsvError::Malformed {
                url: self.base_url.clone(),
                message: format!("{:?} is not an OSV id", crate::sanitize::clean(id)),
            });
        }
        let body = self.send(&url, None, MAX_RECORD_BODY)?;
        let record = Advisory::from_json(&body).map_err(|error| OsvError::Malformed {
            url: url.clone(),
            message: error.to_string(),
        })?;
        if record.id != id {
            return Err(OsvError::Malformed {
                url,
                message: format!("asked for {id}, got {}", crate::sanitize::clean(&record.id)),
            });
        }
        Ok(record)
    }

    /// Sends a POST (with `body`) or GET, retrying connection errors, 429 and 5xx with backoff,
    /// and reads an answer of at most `limit` bytes.
    fn send(&self, url: &str, body: Option<&[u8]>, limit: u64) -> Result<Vec<u8>, OsvError> {
        self.read(self.request(url, body, Get::default())?, url, limit)
    }

    /// The body of `response`, at most `limit` bytes.
    fn read(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
        url: &str,
        limit: u64,
    ) -> Result<Vec<u8>, OsvError> {
        response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|source| OsvError::Transport {
                url: url.to_string(),
                source,
            })
    }

    /// GETs `url` into `file`, streaming, at most `limit` bytes; retried like [`send`](Self::send).
    /// `progress` hears the bytes written so far and the length the server announced.
    pub fn download(
        &self,
        url: &str,
        file: &mut std::fs::File,
        limit: u64,
        progress: &dyn Fn(u64, Option<u64>),
    ) -> Result<u64, OsvError> {
        use std::io::{Read as _, Write as _};
        let mut response = self.request(url, None, Get::default())?;
        let length = response
            .headers()
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let mut reader = response.body_mut().with_config().limit(limit).reader();
        let mut buffer = vec![0; 256 * 1024];
        let mut written = 0u64;
        loop {
            let read = reader
                .read(&mut buffer)
                .map_err(|error| OsvError::Malformed {
                    url: url.to_string(),
                    message: format!("download stopped after {written} bytes: {error}"),
                })?;
            if read == 0 {
                return Ok(written);
            }
            file.write_all(&buffer[..read])
                .map_err(|error| OsvError::Malformed {
                    url: url.to_string(),
                    message: format!("could not save the download: {error}"),
                })?;
            written += read as u64;
            progress(written, length);
        }
    }

    /// A 200 answer to a POST (with `body`) or GET, after retrying connection errors, 429 and
    /// 5xx with backoff; any other status is an error.
    fn request(
        &self,
        url: &str,
        body: Option<&[u8]>,
        get: Get<'_>,
    ) -> Result<ureq::http::Response<ureq::Body>, OsvError> {
        let mut attempt = 0;
        loop {
            // Each request may take its own timeout, or what is left of the run's, if less.
            let left = Some(
                self.time_left()?
                    .map_or(self.timeout, |left| left.min(self.timeout)),
            );
            let result = match body {
                Some(body) => self
                    .agent
                    .post(url)
                    .header("content-type", "application/json")
                    .config()
                    .timeout_global(left)
                    .build()
                    .send(body),
                None => {
                    let mut request = self
                        .agent
                        .get(url)
                        .header("accept", get.accept.unwrap_or("application/json"));
                    if let Some(authorization) = get.authorization {
                        request = request.header("authorization", authorization);
                    }
                    request.config().timeout_global(left).build().call()
                }
            };
            let retry_after = match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if status == 200 {
                        return Ok(response);
                    }
                    let retryable = status == 429 || status >= 500;
                    if !retryable || attempt >= self.retries {
                        let location = response
                            .headers()
                            .get("location")
                            .and_then(|value| value.to_str().ok())
                            .filter(|_| (300..400).contains(&status))
                            .map(|location| format!("redirect to {location}, not followed"));
                        let text = response
                            .body_mut()
                            .with_config()
                            .limit(4096)
                            .read_to_string()
                            .unwrap_or_default();
                        let text = location.unwrap_or(text);
                        let text: String = crate::sanitize::clean(text.trim())
                            .chars()
                            .take(200)
                            .collect();
                        return Err(OsvError::Status {
                            url: url.to_string(),
                            status,
                            body: text,
                        });
                    }
                    response
                        .headers()
                        .get("retry-after")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.trim().parse::<u64>().ok())
                        .map(|seconds| Duration::from_secs(seconds.min(5)))
                }
                Err(source) => {
                    if matches!(source, ureq::Error::Timeout(_)) {
                        self.time_left()?;
                    }
                    if !is_transient(&source) || attempt >= self.retries {
                        return Err(OsvError::Transport {
                            url: url.to_string(),
                            source,
                        });
                    }
                    None
                }
            };
            let pause = retry_after.unwrap_or_else(|| backoff(attempt));
            if self.time_left()?.is_some_and(|left| left <= pause) {
                return Err(self.deadline_passed());
            }
            std::thread::sleep(pause);
            attempt += 1;
        }
    }

    /// The time left before the deadline (`None` without one), or the error that it passed.
    fn time_left(&self) -> Result<Option<Duration>, OsvError> {
        let Some((deadline, _)) = self.budget.deadline else {
            return Ok(None);
        };
        match deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(self.deadline_passed()),
        }
    }

    fn deadline_passed(&self) -> OsvError {
        OsvError::Deadline {
            limit: self
                .budget
                .deadline
                .map(|(_, limit)| limit)
                .unwrap_or_default(),
            done: self
                .budget
                .reached
                .lock()
                .map(|reached| reached.to_string())
                .unwrap_or_default(),
        }
    }

    fn reach(&self, update: impl FnOnce(&mut Reached)) {
        if let Ok(mut reached) = self.budget.reached.lock() {
            update(&mut reached);
        }
    }

    /// GETs `url` (retried like [`send`](Self::send)), at most `limit` bytes.
    pub fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, OsvError> {
        self.send(url, None, limit)
    }

    /// GETs `url` asking for the `accept` media type (a registry's abbreviated document); `None`
    /// for a 404 (the registry has no such package).
    pub fn get_document(
        &self,
        url: &str,
        accept: &str,
        authorization: Option<&str>,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, OsvError> {
        let get = Get {
            accept: Some(accept),
            authorization,
        };
        match self.request(url, None, get) {
            Ok(response) => self.read(response, url, limit).map(Some),
            Err(OsvError::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// The headers of a GET: the media type asked for (JSON unless said), and the credentials the
/// project's own configuration gives for that registry.
#[derive(Clone, Copy, Default)]
struct Get<'a> {
    accept: Option<&'a str>,
    authorization: Option<&'a str>,
}

/// 250 ms, 500 ms, 1 s, … capped at 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(4))
}

/// Errors worth another attempt: the network, not the request.
fn is_transient(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Timeout(_)
            | ureq::Error::Protocol(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let delays: Vec<_> = (0..7).map(|attempt| backoff(attempt).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 4000, 4000]);
    }
}
