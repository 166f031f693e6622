//! What git tells a pre-push hook on stdin: one line per ref being pushed,
//! `<local ref> <local sha> <remote ref> <remote sha>` (githooks(5)).

use std::fmt;

/// Longest pre-push input lockgate reads: thousands of refs fit in far less.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// One ref being pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    /// The local ref (`refs/heads/main`, or `(delete)` for a deletion).
    pub local_ref: String,
    /// The commit being pushed; `None` when the remote ref is being deleted.
    pub local_sha: Option<String>,
    /// The ref on the remote.
    pub remote_ref: String,
    /// What the remote has now; `None` when the ref is new there.
    pub remote_sha: Option<String>,
}

/// A line git would not write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses git's pre-push input. Blank lines are skipped; anything else must be four fields with
/// hexadecimal object ids (SHA-1 or SHA-256), all zeros meaning "none".
pub fn parse(input: &str) -> Result<Vec<RefUpdate>, InputError> {
    let mut updates = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let error = |message: &str| InputError {
            line: index + 1,
            message: message.to_string(),
        };
        let fields: Vec<&str> = line.split(' ').collect();
        let [local_ref, local_sha, remote_ref, remote_sha] = fields[..] else {
            return Err(error(
                "expected `<local ref> <local sha> <remote ref> <remote sha>`",
            ));
        };
        updates.push(RefUpdate {
            local_ref: local_ref.to_string(),
            local_sha: object_id(local_sha)
                .ok_or_else(|| error("the local sha is not an object id"))?,
            remote_ref: remote_ref.to_string(),
            remote_sha: object_id(remote_sha)
                .ok_or_else(|| error("the remote sha is not an object id"))?,
        });
    }
    Ok(updates)
}

/// The push the pre-commit framework describes to its pre-push hooks. It gives them no stdin:
/// only variables, and only for the first pushed ref that has commits to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameworkPush {
    /// The remote's name (`PRE_COMMIT_REMOTE_NAME`); empty when it is not given.
    pub remote: String,
    /// What the pushed commits are read against (`PRE_COMMIT_FROM_REF`): the remote's tip of
    /// the ref, or for a ref new there the parent of the first commit the remote lacks. `None`
    /// when the push includes a root commit (the framework then sets no `FROM`/`TO` refs).
    pub from: Option<String>,
    /// The commit pushed (`PRE_COMMIT_TO_REF`), else the local ref pushed
    /// (`PRE_COMMIT_LOCAL_BRANCH`).
    pub to: String,
}

/// Reads the pre-commit framework's pre-push variables through `variable`; `None` when they
/// name no push (the hook run by hand, without `--from-ref`/`--to-ref`).
pub fn from_framework(variable: impl Fn(&str) -> Option<String>) -> Option<FrameworkPush> {
    let remote = variable("PRE_COMMIT_REMOTE_NAME").unwrap_or_default();
    match variable("PRE_COMMIT_TO_REF") {
        Some(to) => Some(FrameworkPush {
            remote,
            from: variable("PRE_COMMIT_FROM_REF"),
            to,
        }),
        None => Some(FrameworkPush {
            remote,
            from: None,
            to: variable("PRE_COMMIT_LOCAL_BRANCH")?,
        }),
    }
}

/// `Some(Some(id))` for an object id, `Some(None)` for git's all-zero "no object", `None` when
/// it is not an object id at all.
#[allow(clippy::option_option)]
fn object_id(text: &str) -> Option<Option<String>> {
    let valid = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return None;
    }
    Some((!text.bytes().all(|b| b == b'0')).then(|| text.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn reads_updates_new_branches_and_deletions() {
        // The three shapes githooks(5) describes for pre-push.
        let input = format!(
            "refs/heads/main {A} refs/heads/main {B}\n\
             refs/heads/topic {A} refs/heads/topic {ZERO}\n\
             (delete) {ZERO} refs/heads/old {B}\n\n"
        );
        let updates = parse(&input).unwrap();
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[0].local_sha.as_deref(), Some(A));
        assert_eq!(updates[0].remote_sha.as_deref(), Some(B));
        assert_eq!(updates[1].remote_sha, None);
        assert_eq!(updates[2].local_sha, None);
        assert_eq!(updates[2].remote_ref, "refs/heads/old");
    }

    #[test]
    fn reads_the_pre_commit_frameworks_variables() {
        // The three shapes of pre-commit 4.x's `hook_impl._pre_push_ns`: an update (FROM is the
        // remote's tip), a push with a root commit (no FROM/TO, the branches and remote only),
        // and a hand run with nothing set.
        let read = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                .collect();
            from_framework(move |name| {
                pairs
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
            })
        };
        assert_eq!(
            read(&[
                ("PRE_COMMIT_FROM_REF", B),
                ("PRE_COMMIT_TO_REF", A),
                ("PRE_COMMIT_REMOTE_NAME", "origin"),
                ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
            ]),
            Some(FrameworkPush {
                remote: "origin".into(),
                from: Some(B.into()),
                to: A.into()
            })
        );
        assert_eq!(
            read(&[
                ("PRE_COMMIT_REMOTE_NAME", "origin"),
                ("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main"),
                ("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main"),
            ]),
            Some(FrameworkPush {
                remote: "origin".into(),
                from: None,
                to: "refs/heads/main".into()
            })
        );
        assert_eq!(read(&[("PRE_COMMIT_REMOTE_NAME", "origin")]), None);
    }

    #[test]
    fn refuses_what_git_would_not_write() {
        let cases = [
            ("refs/heads/main", 1),
            (&format!("refs/heads/main {A} refs/heads/main xyz")[..], 1),
            (
                &format!("\nrefs/heads/main {A} refs/heads/main {B} extra")[..],
                2,
            ),
        ];
        for (input, line) in cases {
            assert_eq!(parse(input).unwrap_err().line, line, "{input:?}");
        }
        assert_eq!(parse("").unwrap(), []);
    }
}
