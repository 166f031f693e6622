//! A bare HTTP/1.1 server on 127.0.0.1 (std's TcpListener, one thread per connection, one
//! request per connection) whose answers are written byte by byte as a test decides: hanging
//! up, never answering, a body shorter than announced, a body of gigabytes made on the fly.
//! Transport faults that a well-behaved HTTP library (tiny_http) cannot be made to commit.

use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a [`Answer::Silence`] connection is held open when the server is not dropped.
const LONGEST_SILENCE: Duration = Duration::from_secs(60);

/// What the server does with one request.
pub enum Answer {
    /// Hang up without answering.
    Close,
    /// Keep the connection open and say nothing, until the server is dropped.
    Silence,
    /// Write these bytes (status line, headers, body), then hang up.
    Bytes(Vec<u8>),
    /// Write `head`, then `body` `times` times, then hang up: a large answer made on the fly.
    Repeat {
        /// Status line and headers, blank line included.
        head: Vec<u8>,
        /// The piece repeated.
        body: Vec<u8>,
        /// How many times.
        times: usize,
    },
    /// Write `bytes` in pieces of `piece` bytes, pausing `pause` before each: a slow server.
    Paced {
        /// Everything the answer is.
        bytes: Vec<u8>,
        /// Bytes per write.
        piece: usize,
        /// Pause before each write.
        pause: Duration,
    },
}

/// `HTTP/1.1 <status>` with `headers`, `content-length` of `body` and `connection: close`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut bytes = head(status, headers, Some(body.len() as u64));
    bytes.extend_from_slice(body);
    bytes
}

/// The status line and headers of an answer (`content-length` when `length` is given).
pub fn head(status: &str, headers: &[(&str, &str)], length: Option<u64>) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    if let Some(length) = length {
        text.push_str(&format!("content-length: {length}\r\n"));
    }
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// A request's method, target (`/v1/querybatch`) and headers (names lowercased).
type Handler = dyn Fn(&str, &str, &[(String, String)]) -> Answer + Send + Sync;

/// A running server; it stops accepting, and silent connections end, when it is dropped.
pub struct RawServer {
    url: String,
    address: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RawServer {
    /// Serves on 127.0.0.1; `handler` gets each request's method and target (`/v1/querybatch`).
    pub fn start(handler: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> RawServer {
        RawServer::start_with_headers(move |method, target, _| handler(method, target))
    }

    /// Serves on 127.0.0.1; `handler` also gets each request's headers (names lowercased).
    pub fn start_with_headers(
        handler: impl Fn(&str, &str, &[(String, String)]) -> Answer + Send + Sync + 'static,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (log, stop, handler) = (log.clone(), stop.clone(), handler.clone());
                    std::thread::spawn(move || serve(stream, &log, &stop, &*handler));
                }
            })
        };
        RawServer {
            url: format!("http://{address}"),
            address,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The requests received so far, as `METHOD target`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<String>>, stop: &AtomicBool, handler: &Handler) {
    let _ = stream.set_nodelay(true);
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = std::io::BufReader::new(clone);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut length = 0u64;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    // Read the request body whole: closing with unread input would reset the connection and
    // could destroy the answer before the client reads it.
    let _ = std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink());
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/").to_string();
    log.lock().unwrap().push(format!("{method} {target}"));
    let mut stream = stream;
    match handler(&method, &target, &headers) {
        Answer::Close => {}
        Answer::Silence => {
            let started = Instant::now();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < LONGEST_SILENCE {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Answer::Bytes(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Answer::Repeat { head, body, times } => {
            let _ = stream.write_all(&head);
            for _ in 0..times {
                if stream.write_all(&body).is_err() {
                    break;
                }
            }
        }
        Answer::Paced {
            bytes,
            piece,
            pause,
        } => {
            for chunk in bytes.chunks(piece.max(1)) {
                std::thread::sleep(pause);
                if stop.load(Ordering::SeqCst) || stream.write_all(chunk).is_err() {
                    break;
                }
            }
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
