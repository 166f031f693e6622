//! git's index file read directly (gitformat-index(5)): its entries and its cache tree (the
//! `TREE` extension), so that the commit hook can compare the index with `HEAD` by looking only
//! at the folders the cache tree does not vouch for, as git's own `diff --cached` does.
//!
//! A pure parser over the file's bytes. It reads index versions 2, 3 and 4 of a SHA-1
//! repository and is stricter than git and libgit2: whatever it does not fully understand (a
//! split or sparse index, an unknown mandatory extension, intent-to-add entries, unusual modes
//! or paths, entries out of order, a truncated file) is [`Unsupported`], and the caller reads
//! the index through libgit2 as before. Like git on ordinary reads, it does not verify the
//! trailing checksum.

use std::cmp::Ordering;

/// Bytes of an object id (SHA-1).
pub(crate) const OID_BYTES: usize = 20;
/// The largest index file read here; a larger one is left to libgit2.
pub(crate) const MAX_INDEX_BYTES: u64 = 1 << 30;
/// The longest path accepted (libgit2 refuses longer ones in version 4).
pub(crate) const MAX_PATH: usize = 4096;
/// Bytes of an entry before its flags' extension and path (stat data, mode, id, flags).
const FIXED_ENTRY: usize = 62;

/// Flags of an entry (16 bits, high to low): assume-valid, extended, stage (2), name length (12).
const FLAG_ASSUME_VALID: u16 = 0x8000;
const FLAG_EXTENDED: u16 = 0x4000;
const NAME_MASK: u16 = 0x0fff;
/// Extended flags (version 3 and later): skip-worktree is ordinary for a comparison with
/// `HEAD`; anything else (intent-to-add, reserved bits) is unsupported.
const EXTENDED_SKIP_WORKTREE: u16 = 0x4000;

/// The modes git writes in the index: regular file, executable, symlink, gitlink.
const INDEX_MODES: [u32; 4] = [0o100_644, 0o100_755, 0o120_000, 0o160_000];

/// Why the file is left to libgit2. Not an error: the slower reader takes over.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unsupported(pub(crate) &'static str);

/// A parsed index file.
pub(crate) struct IndexFile {
    data: Vec<u8>,
    /// Version 4's paths, rebuilt from their prefix compression.
    names: Vec<u8>,
    version: u32,
    entries: Vec<Entry>,
    /// The cache tree, root first; empty when the index has none.
    tree: Vec<TreeNode>,
    conflicted: bool,
}

/// One index entry, as offsets into the file (or into `names` in version 4).
#[derive(Clone, Copy)]
struct Entry {
    path_at: u32,
    path_len: u32,
    oid_at: u32,
    mode: u32,
    flags: u16,
}

/// One node of the cache tree: a folder, the tree git would write for it (when still valid),
/// and its sub-folders sorted by name.
pub(crate) struct TreeNode {
    name: (u32, u32),
    /// Negative: invalidated (a path under it changed since the tree was written).
    entry_count: i32,
    oid_at: u32,
    children: Vec<u32>,
}

/// A view of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryView<'a> {
    /// Path relative to the repository root, `/`-separated.
    pub(crate) path: &'a [u8],
    /// The object id.
    pub(crate) oid: &'a [u8],
    /// Mode (one of git's four index modes).
    pub(crate) mode: u32,
    /// Merge stage: 0, or 1 to 3 for the sides of an unresolved conflict.
    pub(crate) stage: u8,
    /// "Assume unchanged" (`git update-index --assume-unchanged`).
    pub(crate) assume_valid: bool,
}

impl IndexFile {
    /// Parses an index file's bytes.
    pub(crate) fn parse(data: Vec<u8>) -> Result<IndexFile, Unsupported> {
        if data.len() < 12 + OID_BYTES || &data[..4] != b"DIRC" {
            return Err(Unsupported("not an index file"));
        }
        let version = be32(&data, 4).ok_or(Unsupported("truncated header"))?;
        if !(2..=4).contains(&version) {
            return Err(Unsupported("unknown index version"));
        }
        let count = be32(&data, 8).ok_or(Unsupported("truncated header"))? as usize;
        // Where the extensions and entries must end: before the trailing checksum.
        let end = data.len() - OID_BYTES;
        if u32::try_from(data.len()).is_err() {
            return Err(Unsupported("index too large"));
        }
        // Each entry takes at least FIXED_ENTRY + 1 bytes: no allocation past what the file holds.
        let mut entries = Vec::with_capacity(count.min(end / (FIXED_ENTRY + 1)));
        let mut names = Vec::new();
        let mut at = 12;
        let mut conflicted = false;
        let mut previous: Option<(u32, u32, u8)> = None;
        for _ in 0..count {
            let (entry, next) = read_entry(&data, &mut names, version, at, end, previous)?;
            let path = entry_path(&data, &names, version, &entry);
            let stage = stage_of(entry.flags);
            // Sorted by path, then stage; and each path one libgit2 would read. A component
            // shared with the previous path was checked with it: only the rest is looked at.
            let checked_up_to = match previous {
                None => 0,
                Some((previous_at, previous_len, previous_stage)) => {
                    let range = previous_at as usize..(previous_at + previous_len) as usize;
                    let before = if version == 4 {
                        &names[range]
                    } else {
                        &data[range]
                    };
                    let common = common_prefix(before, path);
                    let order = match (before.get(common), path.get(common)) {
                        (Some(a), Some(b)) => a.cmp(b),
                        (a, b) => a.is_some().cmp(&b.is_some()),
                    };
                    if order.then(previous_stage.cmp(&stage)) != Ordering::Less {
                        return Err(Unsupported("entries out of order"));
                    }
                    path[..common]
                        .iter()
                        .rposition(|byte| *byte == b'/')
                        .map_or(0, |slash| slash + 1)
                }
            };
            if suspicious_path(&path[checked_up_to..]) {
                return Err(Unsupported("a path git or libgit2 may refuse"));
            }
            conflicted |= stage != 0;
            previous = Some((entry.path_at, entry.path_len, stage));
            entries.push(entry);
            at = next;
        }
        let mut tree = Vec::new();
        while at < end {
            let header = data
                .get(at..at + 8)
                .filter(|_| at + 8 <= end)
                .ok_or(Unsupported("truncated extension"))?;
            let size = be32(header, 4).ok_or(Unsupported("truncated extension"))? as usize;
            let body_end = at
                .checked_add(8 + size)
                .filter(|body_end| *body_end <= end)
                .ok_or(Unsupported("truncated extension"))?;
            let signature = &header[..4];
            if !signature[0].is_ascii_uppercase() {
                // Mandatory: a split index (`link`), a sparse index (`sdir`), or one unknown.
                return Err(Unsupported("a mandatory extension"));
            }
            if signature == b"TREE" {
                if !tree.is_empty() {
                    return Err(Unsupported("two cache trees"));
                }
                tree = read_cache_tree(&data, at + 8, body_end)?;
            }
            at = body_end;
        }
        Ok(IndexFile {
            data,
            names,
            version,
            entries,
            tree,
            conflicted,
        })
    }

    /// Number of entries (every stage).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether any entry is one side of an unresolved merge conflict.
    pub(crate) fn has_conflicts(&self) -> bool {
        self.conflicted
    }

    /// The entry at `position` (entries are sorted by path, then stage).
    pub(crate) fn entry(&self, position: usize) -> EntryView<'_> {
        let entry = &self.entries[position];
        let oid_at = entry.oid_at as usize;
        EntryView {
            path: entry_path(&self.data, &self.names, self.version, entry),
            oid: &self.data[oid_at..oid_at + OID_BYTES],
            mode: entry.mode,
            stage: stage_of(entry.flags),
            assume_valid: entry.flags & FLAG_ASSUME_VALID != 0,
        }
    }

    /// Every entry, in order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = EntryView<'_>> + '_ {
        (0..self.entries.len()).map(|position| self.entry(position))
    }

    /// The first position at or after `from` (and before `to`) whose path does not start with
    /// `prefix`, given that those from `from` on that do are contiguous (the index is sorted).
    pub(crate) fn end_of_prefix(&self, from: usize, to: usize, prefix: &[u8]) -> usize {
        let slice = &self.entries[from..to];
        from + slice.partition_point(|entry| {
            entry_path(&self.data, &self.names, self.version, entry).starts_with(prefix)
        })
    }

    /// The cache tree's root, when the index has one.
    pub(crate) fn cache_root(&self) -> Option<&TreeNode> {
        self.tree.first()
    }

    /// The sub-folder `name` of a cache-tree node.
    pub(crate) fn cache_child(&self, node: &TreeNode, name: &[u8]) -> Option<&TreeNode> {
        let found = node
            .children
            .binary_search_by(|child| self.node_name(&self.tree[*child as usize]).cmp(name))
            .ok()?;
        Some(&self.tree[node.children[found] as usize])
    }

    /// The tree id a cache-tree node vouches for; `None` when it is invalidated.
    pub(crate) fn cached_tree(&self, node: &TreeNode) -> Option<&[u8]> {
        (node.entry_count >= 0)
            .then(|| &self.data[node.oid_at as usize..node.oid_at as usize + OID_BYTES])
    }

    fn node_name(&self, node: &TreeNode) -> &[u8] {
        &self.data[node.name.0 as usize..(node.name.0 + node.name.1) as usize]
    }
}

/// How many leading bytes `a` and `b` share (eight at a time: paths share long prefixes).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut common = 0;
    while let (Some(a_word), Some(b_word)) = (a.get(common..common + 8), b.get(common..common + 8))
    {
        let (Ok(a_word), Ok(b_word)) = (<[u8; 8]>::try_from(a_word), <[u8; 8]>::try_from(b_word))
        else {
            break;
        };
        let difference = u64::from_le_bytes(a_word) ^ u64::from_le_bytes(b_word);
        if difference != 0 {
            return common + (difference.trailing_zeros() / 8) as usize;
        }
        common += 8;
    }
    common
        + a[common..]
            .iter()
            .zip(&b[common..])
            .take_while(|(a, b)| a == b)
            .count()
}

fn stage_of(flags: u16) -> u8 {
    ((flags >> 12) & 0x3) as u8
}

fn entry_path<'a>(data: &'a [u8], names: &'a [u8], version: u32, entry: &Entry) -> &'a [u8] {
    let range = entry.path_at as usize..(entry.path_at + entry.path_len) as usize;
    if version == 4 {
        &names[range]
    } else {
        &data[range]
    }
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

/// Reads the entry at `at` (which must end by `end`); returns it and where the next begins.
/// `previous` is the previous entry's path (version 4 compresses against it).
fn read_entry(
    data: &[u8],
    names: &mut Vec<u8>,
    version: u32,
    at: usize,
    end: usize,
    previous: Option<(u32, u32, u8)>,
) -> Result<(Entry, usize), Unsupported> {
    const TRUNCATED: Unsupported = Unsupported("truncated entry");
    if at + FIXED_ENTRY > end {
        return Err(TRUNCATED);
    }
    let mode = be32(data, at + 24).ok_or(TRUNCATED)?;
    if !INDEX_MODES.contains(&mode) {
        return Err(Unsupported("an unusual mode"));
    }
    let flags = be16(data, at + 60).ok_or(TRUNCATED)?;
    let mut path_start = at + FIXED_ENTRY;
    if flags & FLAG_EXTENDED != 0 {
        let extended = be16(data, path_start).ok_or(TRUNCATED)?;
        if extended & !EXTENDED_SKIP_WORKTREE != 0 {
            return Err(Unsupported("intent-to-add or unknown extended flags"));
        }
        path_start += 2;
    }
    let name_length = usize::from(flags & NAME_MASK);
    let (path_at, path_len, next) = if version == 4 {
        let (strip, varint_len) =
            decode_varint(data.get(path_start..end).ok_or(TRUNCATED)?).ok_or(TRUNCATED)?;
        let suffix_start = path_start + varint_len;
        let suffix_len = data
            .get(suffix_start..end)
            .and_then(|rest| rest.iter().position(|byte| *byte == 0))
            .ok_or(TRUNCATED)?;
        let (previous_at, previous_len) = previous.map_or((0, 0), |(at, len, _)| (at, len));
        let kept = u64::from(previous_len)
            .checked_sub(strip)
            .ok_or(Unsupported("bad prefix length"))? as usize;
        let path_len = kept + suffix_len;
        if path_len > MAX_PATH {
            return Err(Unsupported("path too long"));
        }
        // A path kept from the previous one costs nothing on disk: bound what they add up to.
        if names.len() + path_len > data.len().saturating_mul(8) {
            return Err(Unsupported("paths far longer than the file"));
        }
        let path_at = names.len();
        names.extend_from_within(previous_at as usize..previous_at as usize + kept);
        names.extend_from_slice(&data[suffix_start..suffix_start + suffix_len]);
        (path_at, path_len, suffix_start + suffix_len + 1)
    } else {
        let path_len = if name_length < usize::from(NAME_MASK) {
            let path = data
                .get(path_start..path_start + name_length + 1)
                .filter(|_| path_start + name_length < end)
                .ok_or(TRUNCATED)?;
            if path[name_length] != 0 || path[..name_length].contains(&0) {
                return Err(Unsupported("path length disagrees with its end"));
            }
            name_length
        } else {
            data.get(path_start..end)
                .and_then(|rest| rest.iter().position(|byte| *byte == 0))
                .ok_or(TRUNCATED)?
        };
        if path_len > MAX_PATH {
            return Err(Unsupported("path too long"));
        }
        // Padded with 1 to 8 NULs to a multiple of eight bytes.
        let size = (path_start - at + path_len + 8) & !7;
        (path_start, path_len, at + size)
    };
    // The name length field holds the path's length, or 0xFFF from that length on.
    let stated = if path_len < usize::from(NAME_MASK) {
        path_len
    } else {
        usize::from(NAME_MASK)
    };
    if name_length != stated || path_len == 0 {
        return Err(Unsupported("path length disagrees with its end"));
    }
    if next > end {
        return Err(TRUNCATED);
    }
    let entry = Entry {
        path_at: u32::try_from(path_at).map_err(|_| TRUNCATED)?,
        path_len: u32::try_from(path_len).map_err(|_| TRUNCATED)?,
        oid_at: u32::try_from(at + 40).map_err(|_| TRUNCATED)?,
        mode,
        flags,
    };
    Ok((entry, next))
}

/// git's variable-width integer (the offset encoding of OFS_DELTA): the value and its length.
fn decode_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut iter = bytes.iter();
    let mut byte = *iter.next()?;
    let mut value = u64::from(byte & 0x7f);
    let mut used = 1;
    while byte & 0x80 != 0 {
        value = value.checked_add(1)?;
        if value >> 57 != 0 {
            return None;
        }
        byte = *iter.next()?;
        used += 1;
        value = (value << 7) + u64::from(byte & 0x7f);
    }
    Some((value, used))
}

/// The `TREE` extension between `at` and `end`: nodes written depth first, each a
/// NUL-terminated name, `entry_count SP subtree_count LF`, and the tree id when the count is not
/// negative. Returned flat, root first, each node's children sorted by name.
fn read_cache_tree(data: &[u8], mut at: usize, end: usize) -> Result<Vec<TreeNode>, Unsupported> {
    const CORRUPT: Unsupported = Unsupported("corrupt cache tree");
    let mut nodes: Vec<TreeNode> = Vec::new();
    // Nodes whose children are still being read, with how many remain.
    let mut open: Vec<(u32, u32)> = Vec::new();
    loop {
        let body = data.get(at..end).ok_or(CORRUPT)?;
        let name_len = body.iter().position(|byte| *byte == 0).ok_or(CORRUPT)?;
        let mut cursor = name_len + 1;
        let entry_count = read_decimal(body, &mut cursor, b' ').ok_or(CORRUPT)?;
        let subtrees = read_decimal(body, &mut cursor, b'\n').ok_or(CORRUPT)?;
        let subtrees = u32::try_from(subtrees).map_err(|_| CORRUPT)?;
        let oid_at = at + cursor;
        if entry_count >= 0 {
            cursor += OID_BYTES;
            if cursor > body.len() {
                return Err(CORRUPT);
            }
        }
        let index = u32::try_from(nodes.len()).map_err(|_| CORRUPT)?;
        let name = (
            u32::try_from(at).map_err(|_| CORRUPT)?,
            u32::try_from(name_len).map_err(|_| CORRUPT)?,
        );
        if let Some((parent, remaining)) = open.last_mut() {
            nodes[*parent as usize].children.push(index);
            *remaining -= 1;
        } else if !nodes.is_empty() {
            return Err(CORRUPT);
        }
        nodes.push(TreeNode {
            name,
            entry_count: i32::try_from(entry_count).map_err(|_| CORRUPT)?,
            oid_at: u32::try_from(oid_at).map_err(|_| CORRUPT)?,
            children: Vec::new(),
        });
        at += cursor;
        if subtrees > 0 {
            open.push((index, subtrees));
        }
        while open.last().is_some_and(|(_, remaining)| *remaining == 0) {
            open.pop();
        }
        if open.is_empty() {
            break;
        }
    }
    if at != end {
        return Err(CORRUPT);
    }
    let name_of =
        |node: &TreeNode| &data[node.name.0 as usize..(node.name.0 + node.name.1) as usize];
    for position in 0..nodes.len() {
        let mut children = std::mem::take(&mut nodes[position].children);
        children.sort_by(|a, b| name_of(&nodes[*a as usize]).cmp(name_of(&nodes[*b as usize])));
        if children
            .windows(2)
            .any(|pair| name_of(&nodes[pair[0] as usize]) == name_of(&nodes[pair[1] as usize]))
        {
            return Err(CORRUPT);
        }
        nodes[position].children = children;
    }
    Ok(nodes)
}

/// An ASCII decimal (an optional `-`, at most ten digits) ending with `terminator`.
fn read_decimal(body: &[u8], cursor: &mut usize, terminator: u8) -> Option<i64> {
    let mut at = *cursor;
    let negative = body.get(at) == Some(&b'-');
    if negative {
        at += 1;
    }
    let digits_start = at;
    let mut value: i64 = 0;
    while let Some(digit) = body.get(at).filter(|byte| byte.is_ascii_digit()) {
        if at - digits_start == 10 {
            return None;
        }
        value = value * 10 + i64::from(digit - b'0');
        at += 1;
    }
    if at == digits_start || body.get(at) != Some(&terminator) {
        return None;
    }
    *cursor = at + 1;
    Some(if negative { -value } else { value })
}

/// Whether libgit2 might refuse this path when it reads the index (it refuses `.` and `..`
/// components and `.git` in its NTFS and HFS disguises), or git would never write it (an empty
/// component). A superset: such an index is left to libgit2, which decides as before.
fn suspicious_path(path: &[u8]) -> bool {
    path.split(|byte| *byte == b'/').any(|component| {
        let Some(&first) = component.first() else {
            return true;
        };
        if first != b'.' && first != b'g' && first != b'G' && first < 0x80 {
            // Fast path: neither `.`, `..`, `.git…` nor `git~…`, unless a non-ASCII
            // character (an HFS "ignorable") hides one further in.
            return component.iter().any(|byte| *byte >= 0x80) && hides_dot_git(component);
        }
        if component == b"." || component == b".." {
            return true;
        }
        let disguised = |rest: &[u8]| {
            rest.is_empty()
                || rest[0] == b'\\'
                || rest[0] == b':'
                || rest.iter().all(|byte| *byte == b' ' || *byte == b'.')
        };
        let lower_starts = |prefix: &[u8]| {
            component.len() >= prefix.len()
                && component[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        (lower_starts(b".git") && disguised(&component[4..]))
            || (lower_starts(b"git~1") && disguised(&component[5..]))
            || hides_dot_git(component)
    })
}

/// `.git` once non-ASCII bytes are dropped (HFS ignores some code points in names).
fn hides_dot_git(component: &[u8]) -> bool {
    component.iter().any(|byte| *byte >= 0x80) && {
        let ascii: Vec<u8> = component
            .iter()
            .filter(|byte| **byte < 0x80)
            .map(u8::to_ascii_lowercase)
            .collect();
        ascii == b".git"
            || ascii.starts_with(b".git") && ascii[4..].iter().all(|b| *b == b' ' || *b == b'.')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes() {
        let cases: [(&[u8], &[u8], usize); 6] = [
            (b"", b"abc", 0),
            (b"src/module0001/file01.js", b"src/module0001/file02.js", 20),
            (b"src/module0001/", b"src/module0001/x", 15),
            (b"abcdefgh", b"abcdefgh", 8),
            (b"abcdefghij", b"abcdefghiJ", 9),
            (b"x", b"y", 0),
        ];
        for (a, b, common) in cases {
            assert_eq!(common_prefix(a, b), common, "{a:?} {b:?}");
            assert_eq!(common_prefix(b, a), common, "{b:?} {a:?}");
        }
    }

    /// One version 2 entry for `path` with `mode`, `oid` byte `fill` and `flags` extra bits.
    fn entry_v2(path: &str, mode: u32, fill: u8, stage: u16) -> Vec<u8> {
        let mut out = vec![0u8; 24];
        out.extend_from_slice(&mode.to_be_bytes());
        out.extend_from_slice(&[0u8; 12]);
        out.extend_from_slice(&[fill; OID_BYTES]);
        let flags = (stage << 12) | (path.len().min(0xfff) as u16);
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        let size = (FIXED_ENTRY + path.len() + 8) & !7;
        out.resize(size, 0);
        out
    }

    fn index(version: u32, entries: &[Vec<u8>], extensions: &[u8]) -> Vec<u8> {
        let mut out = b"DIRC".to_vec();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for entry in entries {
            out.extend_from_slice(entry);
        }
        out.extend_from_slice(extensions);
        out.extend_from_slice(&[0u8; OID_BYTES]);
        out
    }

    fn tree_extension(body: &[u8]) -> Vec<u8> {
        let mut out = b"TREE".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn reads_entries_and_the_cache_tree() {
        let mut body = b"\x001 1\n".to_vec();
        body.extend_from_slice(&[7; OID_BYTES]);
        body.extend_from_slice(b"src\x00-1 0\n");
        let bytes = index(
            2,
            &[
                entry_v2("README.md", 0o100_644, 1, 0),
                entry_v2("src/a.js", 0o100_755, 2, 0),
            ],
            &tree_extension(&body),
        );
        let file = IndexFile::parse(bytes).unwrap();
        assert_eq!(file.len(), 2);
        assert_eq!(file.entry(1).path, b"src/a.js");
        assert_eq!(file.entry(1).mode, 0o100_755);
        assert_eq!(file.entry(1).oid, &[2; OID_BYTES]);
        assert!(!file.has_conflicts());
        let root = file.cache_root().unwrap();
        assert_eq!(file.cached_tree(root), Some(&[7u8; OID_BYTES][..]));
        let src = file.cache_child(root, b"src").unwrap();
        assert_eq!(file.cached_tree(src), None);
        assert!(file.cache_child(root, b"docs").is_none());
    }

    #[test]
    fn conflict_stages_are_seen() {
        let bytes = index(
            2,
            &[
                entry_v2("a", 0o100_644, 1, 1),
                entry_v2("a", 0o100_644, 2, 2),
                entry_v2("a", 0o100_644, 3, 3),
            ],
            &[],
        );
        let file = IndexFile::parse(bytes).unwrap();
        assert!(file.has_conflicts());
        assert_eq!(
            file.entries().map(|entry| entry.stage).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn version_4_paths_are_rebuilt_from_their_prefixes() {
        // "src/a.js", then "src/b.js" (strip 4 bytes, add "b.js").
        let mut entries = Vec::new();
        for (strip, suffix, full) in [(0u8, "src/a.js", 8u16), (4, "b.js", 8)] {
            let mut out = vec![0u8; 24];
            out.extend_from_slice(&0o100_644u32.to_be_bytes());
            out.extend_from_slice(&[0u8; 12]);
            out.extend_from_slice(&[9; OID_BYTES]);
            out.extend_from_slice(&full.to_be_bytes());
            out.push(strip);
            out.extend_from_slice(suffix.as_bytes());
            out.push(0);
            entries.push(out);
        }
        let file = IndexFile::parse(index(4, &entries, &[])).unwrap();
        let paths: Vec<&[u8]> = file.entries().map(|entry| entry.path).collect();
        assert_eq!(paths, [&b"src/a.js"[..], b"src/b.js"]);
    }

    #[test]
    fn what_it_does_not_understand_is_left_to_libgit2() {
        let good = index(2, &[entry_v2("a", 0o100_644, 1, 0)], &[]);
        let mut link = b"link".to_vec();
        link.extend_from_slice(&20u32.to_be_bytes());
        link.extend_from_slice(&[0; 20]);
        let mut sdir = b"sdir".to_vec();
        sdir.extend_from_slice(&0u32.to_be_bytes());
        let mut ita = entry_v2("a", 0o100_644, 1, 0);
        ita[60] |= 0x40;
        ita.splice(62..62, [0x20, 0x00]);
        ita.truncate((FIXED_ENTRY + 2 + 1 + 8) & !7);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "split index",
                index(2, &[entry_v2("a", 0o100_644, 1, 0)], &link),
            ),
            (
                "sparse index",
                index(2, &[entry_v2("a", 0o100_644, 1, 0)], &sdir),
            ),
            ("version 5", {
                let mut bytes = good.clone();
                bytes[7] = 5;
                bytes
            }),
            ("bad signature", {
                let mut bytes = good.clone();
                bytes[0] = b'X';
                bytes
            }),
            (
                "out of order",
                index(
                    2,
                    &[
                        entry_v2("b", 0o100_644, 1, 0),
                        entry_v2("a", 0o100_644, 1, 0),
                    ],
                    &[],
                ),
            ),
            (
                "duplicate",
                index(
                    2,
                    &[
                        entry_v2("a", 0o100_644, 1, 0),
                        entry_v2("a", 0o100_644, 1, 0),
                    ],
                    &[],
                ),
            ),
            (
                "a folder entry",
                index(2, &[entry_v2("a", 0o040_000, 1, 0)], &[]),
            ),
            (
                "a .git path",
                index(2, &[entry_v2(".git/config", 0o100_644, 1, 0)], &[]),
            ),
            (
                "a .GIT. path",
                index(2, &[entry_v2("x/.GIT./y", 0o100_644, 1, 0)], &[]),
            ),
            (
                "a dot-dot path",
                index(2, &[entry_v2("../a", 0o100_644, 1, 0)], &[]),
            ),
            (
                "an empty component",
                index(2, &[entry_v2("a//b", 0o100_644, 1, 0)], &[]),
            ),
            ("intent to add", index(3, &[ita], &[])),
            ("more entries than the file holds", {
                let mut bytes = good.clone();
                bytes[11] = 2;
                bytes
            }),
            (
                "corrupt cache tree",
                index(
                    2,
                    &[entry_v2("a", 0o100_644, 1, 0)],
                    &tree_extension(b"\x001 x\n"),
                ),
            ),
        ];
        for (case, bytes) in cases {
            assert!(IndexFile::parse(bytes).is_err(), "{case}");
        }
        // Optional extensions it does not know are skipped.
        let mut unknown = b"ZZZZ".to_vec();
        unknown.extend_from_slice(&3u32.to_be_bytes());
        unknown.extend_from_slice(b"abc");
        assert!(IndexFile::parse(index(2, &[entry_v2("a", 0o100_644, 1, 0)], &unknown)).is_ok());
        // Ordinary dot files are fine.
        let dots = index(
            2,
            &[
                entry_v2(".github/workflows/ci.yml", 0o100_644, 1, 0),
                entry_v2(".gitignore", 0o100_644, 1, 0),
                entry_v2("git~x", 0o100_644, 1, 0),
            ],
            &[],
        );
        assert!(IndexFile::parse(dots).is_ok());
    }

    /// Every truncation and every single-byte corruption of a real-shaped index is a clean
    /// `Unsupported` or a parse, never a panic; what parses stays within the file.
    #[test]
    fn truncated_and_corrupted_bytes_never_panic() {
        let mut body = b"\x002 1\n".to_vec();
        body.extend_from_slice(&[7; OID_BYTES]);
        body.extend_from_slice(b"src\x001 0\n");
        body.extend_from_slice(&[8; OID_BYTES]);
        for version in [2, 3] {
            let bytes = index(
                version,
                &[
                    entry_v2("README.md", 0o100_644, 1, 0),
                    entry_v2("src/a.js", 0o100_755, 2, 0),
                ],
                &tree_extension(&body),
            );
            assert!(IndexFile::parse(bytes.clone()).is_ok());
            for cut in 0..bytes.len() - OID_BYTES {
                let mut truncated = bytes[..cut].to_vec();
                truncated.extend_from_slice(&[0; OID_BYTES]);
                if let Ok(file) = IndexFile::parse(truncated) {
                    let _ = file.entries().count();
                }
            }
            for at in 0..bytes.len() {
                for value in [0u8, 0x2f, 0x7f, 0x80, 0xff] {
                    let mut corrupted = bytes.clone();
                    corrupted[at] = value;
                    if let Ok(file) = IndexFile::parse(corrupted) {
                        for entry in file.entries() {
                            assert!(!entry.path.is_empty());
                        }
                        if let Some(root) = file.cache_root() {
                            let _ = file.cached_tree(root);
                            let _ = file.cache_child(root, b"src");
                        }
                    }
                }
            }
        }
    }
}
