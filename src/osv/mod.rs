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
use std::time::Duration;

/// OSV refuses a querybatch of more than this many queries.
pub const MAX_BATCH: usize = 1000;
/// Records fetched at once.
const FETCH_THREADS: usize = 8;
/// Largest querybatch answer read (OSV's are a few KiB per thousand packages).
const MAX_BATCH_BODY: u64 = 32 * 1024 * 1024;
/// Largest single record read.
const MAX_RECORD_BODY: u64 = 4 * 1024 * 1024;
/// Pages followed per batch before the answer is judged broken.
const MAX_PAGES: usize = 100;

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
}

/// OSV's answer for a list of packages.
pub struct Answers {
    /// Ids of the records affecting each package, in the order of the packages asked about.
    pub ids: Vec<Vec<String>>,
    /// Each of those records, by id.
    pub advisories: BTreeMap<String, Advisory>,
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
}

impl Client {
    /// A client with its own agent; proxies come from `HTTPS_PROXY`/`ALL_PROXY`/`HTTP_PROXY`,
    /// minus the hosts in `NO_PROXY`.
    pub fn new(settings: &Settings) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(settings.timeout))
            .timeout_connect(Some(settings.connect_timeout))
            .proxy(ureq::Proxy::try_from_env())
            .user_agent(concat!("lockgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            agent,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            retries: settings.retries,
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
        let advisories = self.fetch(&unique, progress)?;
        Ok(Answers { ids, advisories })
    }

    /// The records that affect each package, in the order of `packages`.
    pub fn query(
        &self,
        packages: &[Package],
        progress: &(dyn Fn(Step) + Sync),
    ) -> Result<Vec<Vec<Hit>>, OsvError> {
        let mut ids = Vec::with_capacity(packages.len());
        for chunk in packages.chunks(MAX_BATCH) {
            ids.extend(self.query_chunk(chunk)?);
            progress(Step::Queried {
                done: ids.len(),
                total: packages.len(),
            });
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
            pending = next;
        }
        Err(OsvError::Malformed {
            url,
            message: format!("still paginating after {MAX_PAGES} pages"),
        })
    }

    /// Fetches the full records for `ids`, a few at a time.
    pub fn fetch(
        &self,
        ids: &[String],
        progress: &(dyn Fn(Step) + Sync),
    ) -> Result<BTreeMap<String, Advisory>, OsvError> {
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let records = Mutex::new(BTreeMap::new());
        let first_error = Mutex::new(None);
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
                            progress(Step::Fetched {
                                done: done.fetch_add(1, Ordering::Relaxed) + 1,
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
        match first_error.into_inner().expect("no panics while locked") {
            Some(error) => Err(error),
            None => Ok(records.into_inner().expect("no panics while locked")),
        }
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
        self.request(url, body)?
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
        let mut response = self.request(url, None)?;
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
    ) -> Result<ureq::http::Response<ureq::Body>, OsvError> {
        let mut attempt = 0;
        loop {
            let result = match body {
                Some(body) => self
                    .agent
                    .post(url)
                    .header("content-type", "application/json")
                    .send(body),
                None => self.agent.get(url).call(),
            };
            let retry_after = match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    if status == 200 {
                        return Ok(response);
                    }
                    let retryable = status == 429 || status >= 500;
                    if !retryable || attempt >= self.retries {
                        let text = response
                            .body_mut()
                            .with_config()
                            .limit(4096)
                            .read_to_string()
                            .unwrap_or_default();
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
                    if !is_transient(&source) || attempt >= self.retries {
                        return Err(OsvError::Transport {
                            url: url.to_string(),
                            source,
                        });
                    }
                    None
                }
            };
            std::thread::sleep(retry_after.unwrap_or_else(|| backoff(attempt)));
            attempt += 1;
        }
    }

    /// GETs `url` (retried like [`send`](Self::send)), at most `limit` bytes.
    pub fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, OsvError> {
        self.send(url, None, limit)
    }
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
