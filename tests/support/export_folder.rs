//! An OSV export folder as the public bucket lays it out (`<ECOSYSTEM>/all.zip`,
//! `<ECOSYSTEM>/modified_id.csv` newest first, `<ECOSYSTEM>/<ID>.json`): written by the tests'
//! export stand-in and by the benchmarks.

use serde_json::Value;
use std::io::Write as _;
use std::path::Path;

/// Writes `ecosystem`'s export under `folder`: the zip of every record, each record alone, and
/// the list of (modified, id) newest first. Replaces what was there.
pub fn write_export(folder: &Path, ecosystem: &str, records: &[Value]) {
    let folder = folder.join(ecosystem);
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let zip_file = std::fs::File::create(folder.join("all.zip")).unwrap();
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(zip_file));
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
}

/// The bytes and files under `folder`.
pub fn folder_size(folder: &Path) -> (u64, usize) {
    let (mut bytes, mut files) = (0, 0);
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                bytes += metadata.len();
                files += 1;
            }
        }
    }
    (bytes, files)
}
