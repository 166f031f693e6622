//! What every lockfile parser shares: decoding, positions, parse errors and the refusal of
//! merge-conflict markers.

use std::fmt;

/// The lines of a text, for finding the line of many byte offsets in it: one pass to build, a
/// binary search per offset.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let starts = line_starts(text.as_bytes()).collect();
        LineIndex { starts }
    }

    /// The 1-based line byte `offset` stands on.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// Where each line of `bytes` starts, in order, found with memchr's vectorised search (a
/// byte-by-byte filter cost ~3 ms on a 4 MiB lockfile).
fn line_starts(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|at| at + 1))
}

/// 1-based line and column of byte `offset` of `text`.
pub fn position_of(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
    (line, column)
}

/// Turns raw blob bytes into text, or says where they stop being UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        ParseError::new(line, column, "the file is not UTF-8 text")
    })
}

/// Where and why a lockfile could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong, in the user's terms.
    pub message: String,
}

impl ParseError {
    /// An error at `line`:`column`.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
        }
    }

    /// Converts a TOML error of `text`, at the line and column its span starts.
    pub fn from_toml(text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = error
            .span()
            .map(|span| position_of(text, span.start))
            .unwrap_or((0, 0));
        ParseError::new(line, column, error.message().trim().to_string())
    }

    /// Converts a serde_json error, keeping its position but not repeating it in the message.
    pub fn from_json(error: &serde_json::Error) -> Self {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        let message = match error.classify() {
            serde_json::error::Category::Eof => format!("the file ends too early ({message})"),
            _ => message,
        };
        ParseError::new(error.line(), error.column(), message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Writes `text` as a JSON string of ASCII only, as Python's `json.dumps` and PHP's
/// `json_encode` write one for the lock tools' content hashes: `\uXXXX` (lower-case hex, UTF-16)
/// for control and non-ASCII characters, and `\/` for `/` when `escape_slash` (PHP does).
pub fn ascii_json_string(text: &str, escape_slash: bool, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if escape_slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Git leaves `<<<<<<<`, `=======` and `>>>>>>>` lines in a file whose merge conflicted. Such a
/// file records two sides at once, so it is refused rather than read as either.
pub fn check_conflict_markers(text: &str) -> Result<(), ParseError> {
    // One pass over the ends of line (memchr's vectorised search), looking only at lines that
    // start with a marker's character: this runs over every lockfile read, at every size.
    const MARKERS: [&str; 4] = ["<<<<<<<", "=======", ">>>>>>>", "|||||||"];
    let bytes = text.as_bytes();
    for (index, start) in line_starts(bytes).enumerate() {
        if !matches!(bytes.get(start), Some(b'<' | b'=' | b'>' | b'|')) {
            continue;
        }
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |at| start + at);
        // As `str::lines` reads a line: without the `\r` of a `\r\n`. (The line starts and
        // ends at ASCII bytes: `text[start..end]` is on character boundaries.)
        let line = &text[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let marker = MARKERS.into_iter().find(|marker| {
            line.strip_prefix(marker)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        });
        if marker.is_some() {
            return Err(ParseError::new(
                index + 1,
                1,
                "merge-conflict marker: resolve the conflict and regenerate the lockfile",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The line index gives each byte the line that counting newlines before it gives.
    #[test]
    fn the_line_of_every_byte_is_the_newlines_before_it_plus_one() {
        for text in [
            "",
            "\n",
            "a",
            "a\nb",
            "\n\n{\r\n  \"a\": 1\r\n}\n",
            &"x\ny".repeat(100),
        ] {
            let lines = super::LineIndex::new(text);
            for offset in 0..=text.len() {
                let expected = text.as_bytes()[..offset]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                assert_eq!(lines.line(offset), expected, "{text:?} at {offset}");
            }
        }
    }

    /// Where a conflict marker stands, as the line-by-line reading it replaced finds it.
    #[test]
    fn conflict_markers_are_found_at_the_start_of_a_line_only() {
        let cases: [(&str, Option<usize>); 10] = [
            ("{}\n", None),
            ("<<<<<<< HEAD\n{}\n", Some(1)),
            ("a\r\n=======\r\nb\n", Some(2)),
            ("a\n>>>>>>> branch\n", Some(2)),
            ("a\n|||||||", Some(2)),
            ("a\n=======x\n", None),
            ("a\n ======= \n", None),
            ("\"k\": \"<<<<<<< not a line start\"\n", None),
            ("a\n======\n", None),
            ("a\n\n\n<<<<<<<\n", Some(4)),
        ];
        for (text, line) in cases {
            let found = check_conflict_markers(text).err().map(|error| error.line);
            assert_eq!(found, line, "{text:?}");
        }
    }

    use super::*;

    #[test]
    fn invalid_utf8_is_located() {
        let error = decode(b"{\n  \"a\": \"\xff\"\n}").unwrap_err();
        assert_eq!((error.line, error.column), (2, 9));
    }
}
