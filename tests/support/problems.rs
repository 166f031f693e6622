//! The problems of a JSON report (`--format json`), by kind: the block every check's tests
//! repeat (find the problem of the kind, check where it points and what it says).

use super::Run;

impl Run {
    /// The problems of `kind` in the JSON report on stdout, in the report's order.
    #[track_caller]
    pub fn problems_of(&self, kind: &str) -> Vec<serde_json::Value> {
        self.stdout_json()["problems"]
            .as_array()
            .expect("a problems list")
            .iter()
            .filter(|problem| problem["kind"] == kind)
            .cloned()
            .collect()
    }

    /// The one problem of `kind` in the JSON report, checked to point at `line` of `path` and
    /// to have a message that starts with `prefix`; returned for the checks left. Panics
    /// (showing the output) when there is not exactly one, or it says otherwise.
    #[track_caller]
    pub fn single_problem(
        &self,
        kind: &str,
        path: &str,
        line: usize,
        prefix: &str,
    ) -> serde_json::Value {
        let mut problems = self.problems_of(kind);
        assert_eq!(problems.len(), 1, "one {kind} problem\n{}", self.output());
        let problem = problems.remove(0);
        assert_eq!(problem["path"], path, "{kind}: {problem}");
        assert_eq!(problem["line"], line, "{kind}: {problem}");
        let message = problem["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(prefix),
            "{kind}: {message:?} does not start with {prefix:?}"
        );
        problem
    }
}
