//! Where the entries of a JSON lockfile stand: serde_json reads the values but keeps no
//! positions, so the parsers of JSON formats (package-lock.json, bun.lock, Pipfile.lock,
//! composer.lock) take the line of each entry from one pass over the same text.
//!
//! The pass knows only strings, brackets, `:` and `,`, so it also walks bun's JSON with
//! trailing commas. It records the line of the values whose path `wanted` accepts; a path is
//! the keys (an array element's key is its index) from the document's root.

use std::collections::HashMap;

/// Deepest nesting walked; deeper values are not located (the parser has bounded them).
const MAX_DEPTH: usize = 128;

/// The 1-based line on which each wanted value starts, by its path.
pub fn value_lines(text: &str, wanted: impl Fn(&[String]) -> bool) -> HashMap<Vec<String>, usize> {
    let bytes = text.as_bytes();
    let mut walk = Walk {
        path: Vec::new(),
        frames: Vec::new(),
        pending_key: None,
        line: 1,
        lines: HashMap::new(),
        wanted,
    };
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'\n' => walk.line += 1,
            b'"' => {
                let (string, end) = read_string(bytes, index);
                index = end;
                match walk.frames.last() {
                    Some(Frame::Object {
                        expecting_key: true,
                    }) => walk.pending_key = Some(string),
                    _ => {
                        walk.value();
                    }
                }
                continue;
            }
            b':' => {
                if let Some(Frame::Object { expecting_key }) = walk.frames.last_mut() {
                    *expecting_key = false;
                }
            }
            b',' => match walk.frames.last_mut() {
                Some(Frame::Object { expecting_key }) => *expecting_key = true,
                Some(Frame::Array { next }) => *next += 1,
                None => {}
            },
            b'{' | b'[' => {
                let key = walk.value();
                if walk.frames.len() >= MAX_DEPTH {
                    return walk.lines;
                }
                walk.path.push(key.unwrap_or_default());
                walk.frames.push(if byte == b'{' {
                    Frame::Object {
                        expecting_key: true,
                    }
                } else {
                    Frame::Array { next: 0 }
                });
            }
            b'}' | b']' => {
                walk.frames.pop();
                walk.path.pop();
            }
            b' ' | b'\t' | b'\r' => {}
            _ => {
                // A number, `true`, `false` or `null`: one value, up to its end.
                walk.value();
                while index < bytes.len() && !b",}]\n \t\r".contains(&bytes[index]) {
                    index += 1;
                }
                continue;
            }
        }
        index += 1;
    }
    walk.lines
}

enum Frame {
    Object { expecting_key: bool },
    Array { next: usize },
}

/// Where the pass stands: the keys from the root to the open collection, one frame per open
/// collection, the key read for the next value, the line, and what was found.
struct Walk<F> {
    path: Vec<String>,
    frames: Vec<Frame>,
    pending_key: Option<String>,
    line: usize,
    lines: HashMap<Vec<String>, usize>,
    wanted: F,
}

impl<F: Fn(&[String]) -> bool> Walk<F> {
    /// A value starts here: records it if wanted, and returns its key within its parent.
    fn value(&mut self) -> Option<String> {
        let key = match self.frames.last() {
            Some(Frame::Object { .. }) => self.pending_key.take()?,
            Some(Frame::Array { next }) => next.to_string(),
            None => return None,
        };
        // The document's root frame has an empty key of its own: paths start below it.
        self.path.push(key);
        if (self.wanted)(&self.path[1..]) {
            self.lines.insert(self.path[1..].to_vec(), self.line);
        }
        self.path.pop()
    }
}

/// The JSON string starting at `start` (its opening quote), unescaped for the common escapes,
/// and the index just past its closing quote.
fn read_string(bytes: &[u8], start: usize) -> (String, usize) {
    let mut out = Vec::new();
    let mut index = start + 1;
    while index < bytes.len() {
        match bytes[index] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), index + 1),
            b'\\' if index + 1 < bytes.len() => {
                let escaped = bytes[index + 1];
                out.push(match escaped {
                    b'n' => b'\n',
                    b't' => b'\t',
                    other => other,
                });
                index += 2;
            }
            b'\n' => return (String::from_utf8_lossy(&out).into_owned(), index),
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|part| part.to_string()).collect()
    }

    #[test]
    fn lines_of_object_members_and_array_elements() {
        let text = "{\n  \"packages\": {\n    \"\": {},\n    \"node_modules/a\": {\n      \"version\": \"1.0.0\"\n    },\n    \"node_modules/b\": {}\n  },\n  \"list\": [\n    {\"x\": 1},\n    {\"y\": [1, 2]}\n  ],\n}\n";
        let lines = value_lines(text, |path| path.len() == 2);
        assert_eq!(lines[&key(&["packages", "node_modules/a"])], 4);
        assert_eq!(lines[&key(&["packages", "node_modules/b"])], 7);
        assert_eq!(lines[&key(&["packages", ""])], 3);
        assert_eq!(lines[&key(&["list", "0"])], 10);
        assert_eq!(lines[&key(&["list", "1"])], 11);
        assert!(!lines.contains_key(&key(&["packages"])));
    }

    #[test]
    fn escaped_quotes_and_braces_in_strings_do_not_confuse_it() {
        let text = "{\"a\\\"{\": {\"b\": \"}]\"},\n\"c\": {}}";
        let lines = value_lines(text, |path| path.len() == 1);
        assert_eq!(lines[&key(&["a\"{"])], 1);
        assert_eq!(lines[&key(&["c"])], 2);
    }

    #[test]
    fn deep_nesting_stops_without_overflow() {
        let text = "[".repeat(100_000);
        assert!(value_lines(&text, |_| true).len() <= MAX_DEPTH);
    }
}
