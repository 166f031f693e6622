//! Workspace globs (`packages/*`, `apps/**`, `!packages/old`, `{a,b}/*`) matched against folders,
//! the subset of minimatch that @npmcli/map-workspaces relies on; uv's and pdm's workspace
//! `members` and `exclude` are globs of the same kind.

/// Whether `folder` (relative to the workspace root, `/`-separated) is a workspace member under
/// `patterns`: it matches a pattern, and no later `!pattern` excludes it. Folders inside
/// `node_modules` never are.
pub fn is_member(patterns: &[String], folder: &str) -> bool {
    if folder.is_empty() || folder.split('/').any(|segment| segment == "node_modules") {
        return false;
    }
    let path: Vec<&str> = folder.split('/').collect();
    let mut member = false;
    for pattern in patterns {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        if negated != member {
            continue; // Only a negation can undo a match, only a pattern can make one.
        }
        if expand_braces(normalise(pattern))
            .iter()
            .any(|pattern| matches(&segments(pattern), &path))
        {
            member = !negated;
        }
    }
    member
}

/// Whether a package `name` (`@acme/tool`) matches `pattern`, `*` standing for any part of one
/// `/`-separated segment (`@acme/*`, `eslint-plugin-*`).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let name: Vec<&str> = name.split('/').collect();
    pattern.len() == name.len()
        && pattern
            .iter()
            .zip(&name)
            .all(|(pattern, name)| segment_matches(pattern, name))
}

fn normalise(pattern: &str) -> &str {
    let pattern = pattern.trim();
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    pattern.trim_end_matches('/')
}

fn segments(pattern: &str) -> Vec<&str> {
    pattern
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect()
}

/// Most patterns one workspace glob may expand into; package.json is hostile input, and
/// `{a,b}{a,b}…` doubles with every group.
const MAX_EXPANSIONS: usize = 256;

/// `{a,b}` alternatives (not nested), expanded into separate patterns. A glob that would
/// expand into more than [`MAX_EXPANSIONS`] patterns expands into none: it matches nothing.
fn expand_braces(pattern: &str) -> Vec<String> {
    let mut done = Vec::new();
    let mut pending = vec![pattern.to_string()];
    while let Some(pattern) = pending.pop() {
        let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}')) else {
            done.push(pattern);
            continue;
        };
        if close < open {
            done.push(pattern);
            continue;
        }
        let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
        for choice in pattern[open + 1..close].split(',') {
            pending.push(format!("{head}{choice}{tail}"));
        }
        if done.len() + pending.len() > MAX_EXPANSIONS {
            return Vec::new();
        }
    }
    done.reverse();
    done
}

/// Whether the path segments match the pattern segments, `**` standing for any number of
/// folders (not hidden ones). Dynamic programming over (pattern, path) positions, so repeated
/// `**` cost a product of lengths, not an exponential.
fn matches(pattern: &[&str], path: &[&str]) -> bool {
    // tail[j]: pattern[i..] matches path[j..], for the current i, filled from the end.
    let mut tail: Vec<bool> = (0..=path.len()).map(|j| j == path.len()).collect();
    for segment in pattern.iter().rev() {
        let mut here = vec![false; path.len() + 1];
        for j in (0..=path.len()).rev() {
            here[j] = if *segment == "**" {
                tail[j] || (j < path.len() && !path[j].starts_with('.') && here[j + 1])
            } else {
                j < path.len() && segment_matches(segment, path[j]) && tail[j + 1]
            };
        }
        tail = here;
    }
    tail[0]
}

/// `*` and `?` within one path segment; like minimatch, a wildcard does not match a leading dot.
fn segment_matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, n));
                p += 1;
            }
            Some('?') => {
                p += 1;
                n += 1;
            }
            Some(c) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    p = star + 1;
                    n = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_globs() {
        // Patterns from npm's workspaces documentation and @npmcli/map-workspaces' tests.
        let cases: &[(&[&str], &str, bool)] = &[
            (&["packages/*"], "packages/a", true),
            (&["packages/*"], "packages/a/b", false),
            (&["packages/*"], "other/a", false),
            (&["./packages/*/"], "packages/a", true),
            (&["packages/**"], "packages/a/b", true),
            (&["apps/**/web"], "apps/web", true),
            (&["apps/**/web"], "apps/x/y/web", true),
            (&["packages/a"], "packages/a", true),
            (&["packages/*", "!packages/old"], "packages/old", false),
            (&["packages/*", "!packages/old"], "packages/new", true),
            (&["{apps,libs}/*"], "libs/x", true),
            (&["packages/lib-?"], "packages/lib-1", true),
            (&["packages/*"], "packages/.hidden", false),
            (&["**"], "node_modules/x", false),
            (&["*"], "", false),
            (&["**/**/**/packages/*"], "a/b/packages/x", true),
            (&["{a,b}/{c,d}/*"], "b/d/x", true),
        ];
        for (patterns, folder, expected) in cases {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            assert_eq!(
                is_member(&patterns, folder),
                *expected,
                "{patterns:?} {folder}"
            );
        }
    }

    #[test]
    fn hostile_globs_stay_cheap() {
        // A review's inputs: 22 brace groups (4 million expansions) and ten `**` against a deep
        // path took seconds each before the expansion cap and the dynamic programming.
        let braces = vec!["{a,b}".repeat(22) + "/*"];
        assert!(!is_member(&braces, "ab/x"));
        assert_eq!(expand_braces(&braces[0]), Vec::<String>::new());
        let stars = vec!["**/".repeat(10) + "z"];
        let deep = vec!["d"; 25].join("/");
        let start = std::time::Instant::now();
        assert!(!is_member(&stars, &deep));
        assert!(is_member(&stars, &(deep + "/z")));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
