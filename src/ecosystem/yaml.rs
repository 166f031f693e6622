//! Reading YAML lockfiles (pnpm-lock.yaml, berry's yarn.lock) within bounds.
//!
//! A YAML alias repeats the node its anchor names, so a few hundred bytes of nested aliases
//! ("billion laughs") expand to gigabytes in a loader that copies them, and yaml-rust2's loader
//! copies them and descends nested nodes by recursion. No tool writes anchors into a lockfile,
//! so this reader refuses aliases outright, limits nesting, and builds the document from the
//! parser's events with a stack of its own: time and memory stay linear in the text.

use super::ParseError;
use yaml_rust2::parser::Parser;
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Event, Yaml};

/// Deepest nesting of mappings and sequences read (pnpm's lockfiles nest five deep).
pub const MAX_DEPTH: usize = 64;

/// A mapping or sequence being built, with the key waiting for its value.
enum Open {
    Sequence(Vec<Yaml>),
    Mapping(Hash, Option<(Yaml, Marker)>),
}

/// Parses a YAML document; an error names its line and column.
pub(crate) fn document(text: &str) -> Result<Yaml, ParseError> {
    document_with_lines(text).map(|(document, _)| document)
}

/// The lines on which the keys of the top two levels of mappings stand, by their path
/// (`["packages", "/a@1.0.0"]`; a top-level key alone).
pub(crate) type KeyLines = std::collections::HashMap<Vec<String>, usize>;

/// [`document`], and where its top two levels of keys stand.
pub(crate) fn document_with_lines(text: &str) -> Result<(Yaml, KeyLines), ParseError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut documents: Vec<Yaml> = Vec::new();
    // The key each open collection stands under (`""` for none), beside `stack`.
    let mut names: Vec<String> = Vec::new();
    let mut lines = KeyLines::new();
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|error| at(*error.marker(), format!("not valid YAML: {}", error.info())))?;
        let node = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue
            }
            Event::Alias(_) => {
                return Err(at(
                    mark,
                    "YAML aliases (`*name`) are not read: no package manager writes them into \
                     a lockfile, and each one can multiply the document's size",
                ))
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(
                        mark,
                        format!("nested more than {MAX_DEPTH} levels deep, which no lockfile is"),
                    ));
                }
                let name = match stack.last() {
                    Some(Open::Mapping(_, Some((key, _)))) => text_of(key),
                    _ => String::new(),
                };
                names.push(name);
                stack.push(match event {
                    Event::SequenceStart(..) => Open::Sequence(Vec::new()),
                    _ => Open::Mapping(Hash::new(), None),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match (stack.pop(), names.pop()).0 {
                Some(Open::Sequence(items)) => Yaml::Array(items),
                Some(Open::Mapping(entries, _)) => Yaml::Hash(entries),
                None => return Err(at(mark, "not valid YAML: a collection ends twice")),
            },
            Event::Scalar(value, style, _, tag) => scalar(value, style, tag.is_some()),
        };
        match stack.last_mut() {
            None => {
                if !documents.is_empty() {
                    return Err(at(mark, "more than one YAML document"));
                }
                documents.push(node);
            }
            Some(Open::Sequence(items)) => items.push(node),
            Some(Open::Mapping(entries, pending)) => match pending.take() {
                None => {
                    if names.len() <= 2 {
                        let mut path: Vec<String> = names[1..].to_vec();
                        path.push(text_of(&node));
                        lines.insert(path, mark.line());
                    }
                    *pending = Some((node, mark));
                }
                Some((key, key_mark)) => {
                    if entries.contains_key(&key) {
                        return Err(at(key_mark, "a key appears twice in one mapping"));
                    }
                    entries.insert(key, node);
                }
            },
        }
    }
    let document = documents
        .pop()
        .unwrap_or_else(|| Yaml::Hash(Hash::default()));
    Ok((document, lines))
}

fn text_of(key: &Yaml) -> String {
    text(key).unwrap_or_default()
}

/// A scalar as yaml-rust2's loader reads it: quoted text stays text; a plain one may be a
/// number, boolean or null. Tagged scalars (which lockfiles do not use) stay text.
fn scalar(value: String, style: TScalarStyle, tagged: bool) -> Yaml {
    if style == TScalarStyle::Plain && !tagged {
        Yaml::from_str(&value)
    } else {
        Yaml::String(value)
    }
}

fn at(mark: Marker, message: impl Into<String>) -> ParseError {
    ParseError::new(mark.line(), mark.col() + 1, message)
}

/// A scalar as text (YAML reads `1.0` as a number, `true` as a boolean).
pub(crate) fn text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A YAML mapping's entries whose key is text and whose value `read` takes.
pub(crate) fn text_map(
    value: &Yaml,
    read: impl Fn(&Yaml) -> Option<String>,
) -> std::collections::BTreeMap<String, String> {
    let Yaml::Hash(entries) = value else {
        return std::collections::BTreeMap::new();
    };
    entries
        .iter()
        .filter_map(|(key, value)| Some((text(key)?, read(value)?)))
        .collect()
}

/// The line a top-level `key:` of a YAML document starts on (for messages; 0 when not found).
pub(crate) fn line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            let line = line.trim_start_matches(['"', '\'']);
            line.starts_with(key)
        })
        .map_or(0, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_tools_write() {
        let document = document(
            "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      debug:\n        \
             specifier: ^4.4.2\n        version: 4.4.2\nlist: [a, 'b', 1.0, true, ~]\n",
        )
        .unwrap();
        assert_eq!(text(&document["lockfileVersion"]).as_deref(), Some("9.0"));
        assert_eq!(
            text(&document["importers"]["."]["dependencies"]["debug"]["version"]).as_deref(),
            Some("4.4.2")
        );
        let list = document["list"].as_vec().unwrap();
        assert_eq!(list.len(), 5);
        assert_eq!(list[2], Yaml::Real("1.0".into()));
        assert_eq!(list[3], Yaml::Boolean(true));
        assert_eq!(list[4], Yaml::Null);
        assert_eq!(
            super::document("").unwrap(),
            Yaml::Hash(Hash::default()),
            "an empty file is an empty mapping"
        );
    }

    #[test]
    fn refuses_aliases_where_they_stand() {
        // The "billion laughs" shape: each level names the one before nine times.
        let mut text = String::from("a: &a [\"lol\",\"lol\",\"lol\"]\n");
        for level in 1..10 {
            let previous = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            text.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{previous}"); 9].join(",")
            ));
        }
        let error = document(&text).unwrap_err();
        assert_eq!(error.line, 2, "{error:?}");
        assert!(error.message.contains("aliases"), "{error:?}");
        // An anchor alone repeats nothing and is read.
        assert!(document("a: &x 1\nb: 2\n").is_ok());
    }

    #[test]
    fn bounds_nesting_without_recursion() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let error = document(&deep).unwrap_err();
        assert!(error.message.contains("nested more than"), "{error:?}");
        let block: String = (0..10_000).map(|_| "- ").collect::<String>() + "x\n";
        assert!(document(&block).unwrap_err().message.contains("nested"));
        let fine = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(document(&fine).is_ok());
    }

    #[test]
    fn duplicate_keys_and_documents_are_errors() {
        let error = document("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((error.line, error.column), (3, 1), "{error:?}");
        assert!(document("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .message
            .contains("more than one"));
    }
}
