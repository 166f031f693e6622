//! What a lockfile's blob locks, kept on disk by blob id (issue 20). `HEAD`'s lockfile is the
//! same for every commit until it changes, and the lockfile staged for one commit is `HEAD`'s of
//! the next: kept, a commit parses only its own new side.
//!
//! One file per (blob, format) in `<git common dir>/lockgate/parsed/`, written to a temporary
//! name and renamed into place (two hooks at once never see half a file), the most recently
//! used [`KEEP`] kept. A file holds the binary that wrote it (its size and modification time),
//! so a rebuilt or upgraded lockgate parses afresh rather than trust an older parser's reading.
//! Anything that does not decode exactly, to the last byte and against its checksum, is a miss
//! and is parsed again. Only formats whose reading depends on the blob alone are kept (not
//! requirements files, which include others).

use crate::package::{
    Dependency, Ecosystem, Entry, GitReference, LockedSet, Package, Source, SourceKind, Unpinned,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Files kept; the least recently used go first.
pub const KEEP: usize = 16;
/// Bytes kept, all files together (a 50,000-entry npm lockfile's reading is about 16 MiB).
pub const KEEP_BYTES: u64 = 128 * 1024 * 1024;
/// Texts shorter than this are parsed again rather than kept: a parse costs less than a file.
pub const KEEP_FROM: usize = 128 * 1024;
/// Largest file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;
/// The start of every file, with the layout's version.
const MAGIC: &[u8] = b"lockgate-parsed 1\n";

/// The folder of kept readings of one repository.
pub struct Kept {
    folder: PathBuf,
    /// Which binary is reading and writing (see the module's documentation).
    writer: Vec<u8>,
    /// Files being written, each on its own thread (off the hook's path): joined by
    /// [`Kept::flush`], and when the `Kept` goes.
    writing: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Kept {
    /// The kept readings under `git_dir` (a repository's common git folder); `None` when the
    /// running binary cannot be identified, so no reading can be trusted to be its own.
    pub fn in_git_dir(git_dir: &Path) -> Option<Kept> {
        let exe = std::env::current_exe().ok()?;
        let metadata = std::fs::metadata(exe).ok()?;
        let modified = metadata
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let mut writer = Vec::new();
        put_str(&mut writer, env!("CARGO_PKG_VERSION"));
        put_len(&mut writer, usize::try_from(metadata.len()).ok()?);
        put_len(&mut writer, usize::try_from(modified.as_nanos()).ok()?);
        Some(Kept {
            folder: git_dir.join("lockgate").join("parsed"),
            writer,
            writing: std::sync::Mutex::default(),
        })
    }

    fn path(&self, format: &str, blob: git2::Oid) -> PathBuf {
        let format: String = format
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        self.folder.join(format!("{blob}.{format}"))
    }

    /// Whether a file for `blob` in `format` is there (it may still turn out not to decode).
    pub fn contains(&self, format: &str, blob: git2::Oid) -> bool {
        self.path(format, blob).is_file()
    }

    /// What `blob` in `format` locks, when this binary kept it.
    pub fn read(&self, format: &str, blob: git2::Oid) -> Option<LockedSet> {
        let path = self.path(format, blob);
        let file = std::fs::File::open(&path).ok()?;
        let length = file.metadata().ok()?.len();
        if length > MAX_FILE_BYTES {
            return None;
        }
        // Read into one buffer of the file's size (and a byte to see the end), not a doubling
        // one: every byte a run touches is a fresh page to fault in and zero.
        let mut bytes = Vec::with_capacity(usize::try_from(length).ok()? + 1);
        std::io::Read::read_to_end(&mut std::io::Read::take(&file, MAX_FILE_BYTES), &mut bytes)
            .ok()?;
        let set = self.decode(&bytes, format, blob);
        match set {
            // Used now: the last to go.
            Some(_) => {
                let _ = file.set_modified(std::time::SystemTime::now());
            }
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        set
    }

    /// Keeps what `blob` in `format` locks: encoded here, written and the folder trimmed on
    /// a thread of its own. Best effort: a folder that cannot be written to (a read-only
    /// checkout) costs nothing but the parse next time.
    pub fn write(&self, format: &str, blob: git2::Oid, set: &LockedSet) {
        let bytes = self.encode(format, blob, set);
        let folder = self.folder.clone();
        let path = self.path(format, blob);
        let writing = std::thread::spawn(move || {
            store(&folder, &path, &bytes);
            evict(&folder, KEEP, KEEP_BYTES);
        });
        self.writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(writing);
    }

    /// Waits for the files being written.
    pub fn flush(&self) {
        let writing = std::mem::take(
            &mut *self
                .writing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for thread in writing {
            let _ = thread.join();
        }
    }

    fn encode(&self, format: &str, blob: git2::Oid, set: &LockedSet) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 1024);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.writer);
        put_str(&mut out, format);
        out.extend_from_slice(blob.as_bytes());
        put_set(&mut out, set);
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    fn decode(&self, bytes: &[u8], format: &str, blob: git2::Oid) -> Option<LockedSet> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
        if checksum(body) != u64::from_le_bytes(sum.try_into().ok()?) {
            return None;
        }
        let mut reader = Reader { rest: body };
        if reader.bytes(MAGIC.len())? != MAGIC
            || reader.bytes(self.writer.len())? != self.writer
            || reader.str()? != format
            || reader.bytes(blob.as_bytes().len())? != blob.as_bytes()
        {
            return None;
        }
        let set = reader.set()?;
        reader.rest.is_empty().then_some(set)
    }
}

/// Writes `bytes` to `path` in `folder` through a temporary file renamed into place.
fn store(folder: &Path, path: &Path, bytes: &[u8]) {
    let _ = std::fs::create_dir_all(folder).and_then(|()| {
        let temporary = folder.join(format!(
            ".{}.{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let written = std::fs::File::create(&temporary)
            .and_then(|mut file| file.write_all(bytes))
            .and_then(|()| std::fs::rename(&temporary, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    });
}

/// Removes from `folder` all but the most recently used files: at most `keep`, of at most
/// `keep_bytes` together, the two newest always (a commit's two sides). Temporary files of
/// writers that stopped go the same way.
fn evict(folder: &Path, keep: usize, keep_bytes: u64) {
    let Ok(listing) = std::fs::read_dir(folder) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = listing
        .filter_map(Result::ok)
        .filter_map(|file| {
            let metadata = file.metadata().ok()?;
            Some((metadata.modified().ok()?, metadata.len(), file.path()))
        })
        .collect();
    // Newest first.
    files.sort_by_key(|file| std::cmp::Reverse(file.0));
    let mut total = 0u64;
    for (index, (_, size, path)) in files.into_iter().enumerate() {
        total = total.saturating_add(size);
        if index >= 2 && (index >= keep || total > keep_bytes) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A checksum against torn or damaged files (not against an adversary: whoever can write the
/// git folder can change the hooks): 64-bit words multiplied and rotated in, fast enough to
/// cost nothing beside the parse it saves.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hash = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        hash = (hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
    for &byte in words.remainder() {
        hash = (hash.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
    }
    hash
}

// The layout: lengths and counts as LEB128, strings as length and UTF-8, options and enums as
// a tag byte. Every struct is taken apart field by field, so a field added to one fails to
// compile here until it is kept too.

fn put_len(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn put_bool(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

fn put_option_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            put_str(out, text);
        }
    }
}

fn put_set(out: &mut Vec<u8>, set: &LockedSet) {
    let LockedSet {
        entries,
        unpinned,
        roots,
    } = set;
    put_len(out, entries.len());
    for entry in entries {
        put_entry(out, entry);
    }
    put_len(out, unpinned.len());
    for Unpinned {
        package,
        requirement,
    } in unpinned
    {
        put_package(out, package);
        put_str(out, requirement);
    }
    put_dependencies(out, roots);
}

fn put_package(out: &mut Vec<u8>, package: &Package) {
    let Package {
        ecosystem,
        name,
        version,
    } = package;
    out.push(match ecosystem {
        Ecosystem::Npm => 0,
        Ecosystem::PyPI => 1,
        Ecosystem::Packagist => 2,
    });
    put_str(out, name);
    put_str(out, version);
}

fn put_dependencies(out: &mut Vec<u8>, dependencies: &[Dependency]) {
    put_len(out, dependencies.len());
    for Dependency { name, version } in dependencies {
        put_str(out, name);
        put_option_str(out, version.as_deref());
    }
}

fn put_entry(out: &mut Vec<u8>, entry: &Entry) {
    let Entry {
        package,
        source,
        dev,
        optional,
        checksum,
        install_scripts,
        uploaded,
        dependencies,
        line,
        git_reference,
        unreadable,
        downloads,
        file_checksums,
        stated_version,
    } = entry;
    put_package(out, package);
    match source {
        Source::Registry { host, url } => {
            out.push(0);
            put_option_str(out, host.as_deref());
            put_option_str(out, url.as_deref());
        }
        Source::Other { kind, location } => {
            out.push(match kind {
                SourceKind::Git => 1,
                SourceKind::File => 2,
                SourceKind::Remote => 3,
            });
            put_str(out, location);
        }
    }
    put_bool(out, *dev);
    put_bool(out, *optional);
    put_option_str(out, checksum.as_deref());
    out.push(match install_scripts {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
    put_option_str(out, uploaded.as_deref());
    put_dependencies(out, dependencies);
    match line {
        None => out.push(0),
        Some(line) => {
            out.push(1);
            put_len(out, *line);
        }
    }
    match git_reference {
        None => out.push(0),
        Some(GitReference::DefaultBranch) => out.push(1),
        Some(GitReference::Commit(text)) => {
            out.push(2);
            put_str(out, text);
        }
        Some(GitReference::Branch(text)) => {
            out.push(3);
            put_str(out, text);
        }
        Some(GitReference::Tag(text)) => {
            out.push(4);
            put_str(out, text);
        }
        Some(GitReference::Named(text)) => {
            out.push(5);
            put_str(out, text);
        }
        Some(GitReference::TagRange(text)) => {
            out.push(6);
            put_str(out, text);
        }
    }
    put_bool(out, *unreadable);
    put_len(out, downloads.len());
    for download in downloads {
        put_str(out, download);
    }
    put_len(out, file_checksums.len());
    for (file, sum) in file_checksums {
        put_str(out, file);
        put_str(out, sum);
    }
    put_option_str(out, stated_version.as_deref());
}

/// A reader over a kept file; every method is `None` where the bytes are not what it reads.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, count: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(count)?;
        self.rest = rest;
        Some(taken)
    }

    fn byte(&mut self) -> Option<u8> {
        self.bytes(1).map(|bytes| bytes[0])
    }

    fn len(&mut self) -> Option<usize> {
        let mut value: usize = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A count of items each at least one byte long: never more than the bytes left, so a
    /// damaged count cannot ask for more memory than the file holds.
    fn count(&mut self) -> Option<usize> {
        self.len().filter(|count| *count <= self.rest.len())
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = self.len()?;
        std::str::from_utf8(self.bytes(len)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }

    fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn option_string(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => self.string().map(Some),
            _ => None,
        }
    }

    fn set(&mut self) -> Option<LockedSet> {
        let count = self.count()?;
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            entries.push(self.entry()?);
        }
        let mut unpinned = std::collections::BTreeSet::new();
        for _ in 0..self.count()? {
            unpinned.insert(Unpinned {
                package: self.package()?,
                requirement: self.string()?,
            });
        }
        Some(LockedSet {
            entries,
            unpinned,
            roots: self.dependencies()?,
        })
    }

    fn package(&mut self) -> Option<Package> {
        let ecosystem = match self.byte()? {
            0 => Ecosystem::Npm,
            1 => Ecosystem::PyPI,
            2 => Ecosystem::Packagist,
            _ => return None,
        };
        Some(Package {
            ecosystem,
            name: self.string()?,
            version: self.string()?,
        })
    }

    fn dependencies(&mut self) -> Option<Vec<Dependency>> {
        let count = self.count()?;
        let mut dependencies = Vec::with_capacity(count);
        for _ in 0..count {
            dependencies.push(Dependency {
                name: self.string()?,
                version: self.option_string()?,
            });
        }
        Some(dependencies)
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let count = self.count()?;
        let mut strings = Vec::with_capacity(count);
        for _ in 0..count {
            strings.push(self.string()?);
        }
        Some(strings)
    }

    fn entry(&mut self) -> Option<Entry> {
        let package = self.package()?;
        let source = match self.byte()? {
            0 => Source::Registry {
                host: self.option_string()?,
                url: self.option_string()?,
            },
            kind @ 1..=3 => Source::Other {
                kind: [SourceKind::Git, SourceKind::File, SourceKind::Remote]
                    [usize::from(kind) - 1],
                location: self.string()?,
            },
            _ => return None,
        };
        let dev = self.bool()?;
        let optional = self.bool()?;
        let checksum = self.option_string()?;
        let install_scripts = match self.byte()? {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return None,
        };
        let uploaded = self.option_string()?;
        let dependencies = self.dependencies()?;
        let line = match self.byte()? {
            0 => None,
            1 => Some(self.len()?),
            _ => return None,
        };
        let git_reference = match self.byte()? {
            0 => None,
            1 => Some(GitReference::DefaultBranch),
            2 => Some(GitReference::Commit(self.string()?)),
            3 => Some(GitReference::Branch(self.string()?)),
            4 => Some(GitReference::Tag(self.string()?)),
            5 => Some(GitReference::Named(self.string()?)),
            6 => Some(GitReference::TagRange(self.string()?)),
            _ => return None,
        };
        let unreadable = self.bool()?;
        let downloads = self.strings()?;
        let count = self.count()?;
        let mut file_checksums = Vec::with_capacity(count);
        for _ in 0..count {
            file_checksums.push((self.string()?, self.string()?));
        }
        Some(Entry {
            package,
            source,
            dev,
            optional,
            checksum,
            install_scripts,
            uploaded,
            dependencies,
            line,
            git_reference,
            unreadable,
            downloads,
            file_checksums,
            stated_version: self.option_string()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept_in(folder: &Path) -> Kept {
        Kept {
            folder: folder.join("parsed"),
            writer: b"test binary".to_vec(),
            writing: std::sync::Mutex::default(),
        }
    }

    /// Every fact of every entry comes back as it was written, for lockfiles of each format
    /// the test fixtures hold.
    #[test]
    fn a_kept_reading_is_the_parse() {
        let dir = tempfile::tempdir().unwrap();
        let kept = kept_in(dir.path());
        let blob = git2::Oid::from_bytes(&[7; 20]).unwrap();
        let mut compared = 0;
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for path in walk(&fixtures) {
            let name = path.to_string_lossy().into_owned();
            let Some(format) = crate::ecosystem::format_of(&name) else {
                continue;
            };
            if format.has_includes() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(set) = format.parse(&name, &text, &|_| Ok(None)) else {
                continue;
            };
            kept.write(format.name, blob, &set);
            kept.flush();
            assert_eq!(kept.read(format.name, blob).as_ref(), Some(&set), "{name}");
            compared += 1;
        }
        assert!(compared > 20, "only {compared} lockfiles compared");
    }

    fn walk(folder: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path);
            }
        }
        found
    }

    /// Another binary's file, another blob's, a damaged or cut one: each is a miss, not a set.
    #[test]
    fn anything_but_this_binarys_whole_file_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let kept = kept_in(dir.path());
        let blob = git2::Oid::from_bytes(&[1; 20]).unwrap();
        let mut set = LockedSet::default();
        set.push(Entry::registry(Package::new(Ecosystem::Npm, "a", "1.0.0")).at(Some(3)));
        set.roots.push(Dependency {
            name: "a".into(),
            version: Some("1.0.0".into()),
        });
        let bytes = kept.encode("package-lock.json", blob, &set);
        assert_eq!(
            kept.decode(&bytes, "package-lock.json", blob),
            Some(set.clone())
        );
        assert_eq!(kept.decode(&bytes, "yarn.lock", blob), None);
        let other = git2::Oid::from_bytes(&[2; 20]).unwrap();
        assert_eq!(kept.decode(&bytes, "package-lock.json", other), None);
        let mut newer = kept_in(dir.path());
        newer.writer = b"another binary".to_vec();
        assert_eq!(newer.decode(&bytes, "package-lock.json", blob), None);
        for cut in 0..bytes.len() {
            assert_eq!(kept.decode(&bytes[..cut], "package-lock.json", blob), None);
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert_eq!(kept.decode(&damaged, "package-lock.json", blob), None);
        }
        // A damaged file on disk is a miss, and is removed.
        std::fs::create_dir_all(&kept.folder).unwrap();
        let path = kept.path("package-lock.json", blob);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(kept.read("package-lock.json", blob), None);
        assert!(!path.exists());
    }

    /// The folder holds at most [`KEEP`] files: the least recently used go.
    #[test]
    fn the_least_recently_used_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let kept = kept_in(dir.path());
        let set = LockedSet::default();
        let blobs: Vec<git2::Oid> = (0..KEEP as u8 + 2)
            .map(|byte| git2::Oid::from_bytes(&[byte; 20]).unwrap())
            .collect();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for (index, blob) in blobs.iter().take(KEEP).enumerate() {
            kept.write("yarn.lock", *blob, &set);
            kept.flush();
            // Written in order, an hour apart and more.
            let age = std::time::Duration::from_secs(60 * (KEEP - index) as u64);
            std::fs::File::options()
                .write(true)
                .open(kept.path("yarn.lock", *blob))
                .unwrap()
                .set_modified(old - age)
                .unwrap();
        }
        // The first is read (used now); writing two more removes the two least recent others.
        assert!(kept.read("yarn.lock", blobs[0]).is_some());
        kept.write("yarn.lock", blobs[KEEP], &set);
        kept.flush();
        kept.write("pnpm-lock.yaml", blobs[KEEP + 1], &set);
        kept.flush();
        let left = std::fs::read_dir(&kept.folder).unwrap().count();
        assert_eq!(left, KEEP);
        assert!(kept.path("yarn.lock", blobs[0]).exists());
        assert!(!kept.path("yarn.lock", blobs[1]).exists());
        assert!(!kept.path("yarn.lock", blobs[2]).exists());
        // Bytes count too, and the two newest stay whatever their size. (File times can tie
        // within a few milliseconds: set apart.)
        let now = std::time::SystemTime::now();
        for (format, blob, seconds) in [
            ("pnpm-lock.yaml", blobs[KEEP + 1], 0),
            ("yarn.lock", blobs[KEEP], 1),
            ("yarn.lock", blobs[0], 2),
        ] {
            std::fs::File::options()
                .write(true)
                .open(kept.path(format, blob))
                .unwrap()
                .set_modified(now - std::time::Duration::from_secs(seconds))
                .unwrap();
        }
        let size = std::fs::metadata(kept.path("yarn.lock", blobs[0]))
            .unwrap()
            .len();
        evict(&kept.folder, KEEP, 3 * size + 64);
        assert_eq!(std::fs::read_dir(&kept.folder).unwrap().count(), 3);
        assert!(kept.path("pnpm-lock.yaml", blobs[KEEP + 1]).exists());
        evict(&kept.folder, KEEP, 1);
        assert_eq!(std::fs::read_dir(&kept.folder).unwrap().count(), 2);
        assert!(kept.path("yarn.lock", blobs[KEEP]).exists());
    }
}
