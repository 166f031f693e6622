//! A stand-in for OSV's exports: a folder laid out as the public bucket is
//! (`<ECOSYSTEM>/all.zip`, `<ECOSYSTEM>/modified_id.csv` newest first, `<ECOSYSTEM>/<ID>.json`),
//! built from real records, and an HTTP server on 127.0.0.1 that serves it, logs every request
//! and can cut the zip download short.

use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// The real records of `../shared/data/osv/<family>/` (e.g. `malicious/npm`), parsed.
pub fn shared_records(families: &[&str]) -> Vec<Value> {
    let root = Path::new(super::osv_server::OSV_DATA_DIR);
    let mut records = Vec::new();
    for family in families {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(family))
            .unwrap_or_else(|e| panic!("read {family}: {e}"))
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read(&path).unwrap();
            records.push(serde_json::from_slice(&text).unwrap());
        }
    }
    records
}

/// An export folder.
pub struct Export {
    folder: TempDir,
}

impl Export {
    /// An empty export.
    pub fn new() -> Export {
        Export {
            folder: tempfile::tempdir().expect("create the export folder"),
        }
    }

    /// The folder (for a `file://` export URL).
    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    /// `file://<folder>`.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// Writes `ecosystem`'s export: the zip of every record, each record alone, and the list
    /// of (modified, id) newest first. Replaces what was there.
    pub fn publish(&self, ecosystem: &str, records: &[Value]) -> &Self {
        let folder = self.path().join(ecosystem);
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        let zip_file = std::fs::File::create(folder.join("all.zip")).unwrap();
        let mut zip = zip::ZipWriter::new(zip_file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut listed = Vec::new();
        for record in records {
            let id = record["id"].as_str().expect("a record has an id");
            let text = serde_json::to_vec_pretty(record).unwrap();
            zip.start_file(format!("{id}.json"), options).unwrap();
            zip.write_all(&text).unwrap();
            std::fs::write(folder.join(format!("{id}.json")), &text).unwrap();
            let modified = record["modified"]
                .as_str()
                .unwrap_or("1970-01-01T00:00:00Z");
            listed.push((modified.to_string(), id.to_string()));
        }
        zip.finish().unwrap();
        listed.sort_by(|a, b| b.cmp(a));
        let csv: String = listed
            .iter()
            .map(|(modified, id)| format!("{modified},{id}\n"))
            .collect();
        std::fs::write(folder.join("modified_id.csv"), csv).unwrap();
        self
    }

    /// Removes `<ecosystem>/modified_id.csv` (an export without the list).
    pub fn remove_list(&self, ecosystem: &str) -> &Self {
        std::fs::remove_file(self.path().join(ecosystem).join("modified_id.csv")).unwrap();
        self
    }
}

impl Default for Export {
    fn default() -> Self {
        Export::new()
    }
}

/// An HTTP server for an [`Export`] folder: HTTP/1.1 on std's TcpListener, one request per
/// connection (`connection: close`), so a cut download really ends the connection.
pub struct ExportServer {
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    cut_zip: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    address: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ExportServer {
    /// Serves `folder` on 127.0.0.1 until dropped.
    pub fn start(folder: &Path) -> ExportServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let cut_zip = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, cut_zip, stop) = (log.clone(), cut_zip.clone(), stop.clone());
            let folder = folder.to_path_buf();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (folder, log, cut_zip) = (folder.clone(), log.clone(), cut_zip.clone());
                    std::thread::spawn(move || serve(&folder, stream, &log, &cut_zip));
                }
            })
        };
        ExportServer {
            url: format!("http://{address}"),
            log,
            cut_zip,
            stop,
            address,
            thread: Some(thread),
        }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// From now on, an `all.zip` download announces its full length and stops half way.
    pub fn cut_zip_downloads(&self) {
        self.cut_zip.store(true, Ordering::SeqCst);
    }
}

impl Drop for ExportServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(folder: &Path, stream: std::net::TcpStream, log: &Mutex<Vec<String>>, cut: &AtomicBool) {
    use std::io::BufRead as _;
    let mut reader = std::io::BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("/");
    let path = target.trim_start_matches('/').to_string();
    log.lock().unwrap().push(path.clone());
    let mut stream = stream;
    let safe = !path.split('/').any(|part| part == ".." || part.is_empty());
    let Some(bytes) = safe
        .then(|| std::fs::read(folder.join(&path)).ok())
        .flatten()
    else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return;
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        bytes.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if path.ends_with("all.zip") && cut.load(Ordering::SeqCst) {
        // Announce everything, send half, hang up: the client sees a short read.
        let _ = stream.write_all(&bytes[..bytes.len() / 2]);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = stream.write_all(&bytes);
}
