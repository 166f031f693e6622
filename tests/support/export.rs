//! A stand-in for OSV's exports: a folder laid out as the public bucket is
//! (`<ECOSYSTEM>/all.zip`, `<ECOSYSTEM>/modified_id.csv` newest first, `<ECOSYSTEM>/<ID>.json`),
//! built from real records, and an HTTP server on 127.0.0.1 that serves it, logs every request
//! and can cut the zip download short.

use super::raw_http::{head, response, Answer, RawServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
        super::export_folder::write_export(self.path(), ecosystem, records);
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

/// An HTTP server for an [`Export`] folder, on [`RawServer`]: one request per connection
/// (`connection: close`), so a cut download really ends the connection.
pub struct ExportServer {
    server: RawServer,
    zip_mode: Arc<Mutex<ZipMode>>,
}

/// How `all.zip` downloads are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ZipMode {
    Whole,
    /// Announce the full length, send half, hang up.
    Cut,
    /// 64 KiB at a time, with this pause before each piece.
    Slow(Duration),
}

impl ExportServer {
    /// Serves `folder` on 127.0.0.1 until dropped.
    pub fn start(folder: &Path) -> ExportServer {
        let zip_mode = Arc::new(Mutex::new(ZipMode::Whole));
        let folder = folder.to_path_buf();
        let mode = zip_mode.clone();
        let server = RawServer::start(move |_, target| {
            let path = target.trim_start_matches('/');
            let safe = !path.split('/').any(|part| part == ".." || part.is_empty());
            let Some(bytes) = safe
                .then(|| std::fs::read(folder.join(path)).ok())
                .flatten()
            else {
                return Answer::Bytes(response("404 Not Found", &[], b""));
            };
            let mode = *mode.lock().unwrap();
            match mode {
                ZipMode::Cut if path.ends_with("all.zip") => {
                    let mut answer = head("200 OK", &[], Some(bytes.len() as u64));
                    answer.extend_from_slice(&bytes[..bytes.len() / 2]);
                    Answer::Bytes(answer)
                }
                ZipMode::Slow(pause) if path.ends_with("all.zip") => Answer::Paced {
                    bytes: response("200 OK", &[], &bytes),
                    piece: 64 * 1024,
                    pause,
                },
                _ => Answer::Bytes(response("200 OK", &[], &bytes)),
            }
        });
        ExportServer { server, zip_mode }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .map(|request| {
                let target = request.split_once(' ').map_or("", |(_, target)| target);
                target.trim_start_matches('/').to_string()
            })
            .collect()
    }

    /// From now on, an `all.zip` download announces its full length and stops half way.
    pub fn cut_zip_downloads(&self) {
        *self.zip_mode.lock().unwrap() = ZipMode::Cut;
    }

    /// From now on, an `all.zip` download comes 64 KiB at a time, `pause` before each piece.
    pub fn slow_zip_downloads(&self, pause: Duration) {
        *self.zip_mode.lock().unwrap() = ZipMode::Slow(pause);
    }

    /// From now on, `all.zip` downloads are served whole again.
    pub fn whole_zip_downloads(&self) {
        *self.zip_mode.lock().unwrap() = ZipMode::Whole;
    }
}
