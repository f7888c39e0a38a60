//! Expected calls: "this operation is called exactly twice", checked by
//! `MockServer::verify` and when the server is dropped.
//!
//! Every finished call of an operation is counted for the expectations
//! about it (whatever its answer, a `401` included), and matched against
//! their conditions; the first calls are kept in short form, so a failure
//! can say what did arrive.

use std::fmt;
use std::sync::Arc;

use sendmux_operations::Operation;
use serde_json::Value;

use super::{Call, Matchers};
use crate::app::{App, lock};

/// Calls kept per expectation for its failure message.
const CALLS_KEPT: usize = 20;

/// A finished call in short form, for failure messages.
#[derive(Debug, Clone)]
pub(crate) struct CallSummary {
    pub(crate) method: String,
    /// Path and query as sent.
    pub(crate) path: String,
    pub(crate) status: Option<u16>,
    /// The kept body (secrets redacted), trimmed; empty without one.
    pub(crate) body: String,
    /// The stub that answered, if one did.
    pub(crate) stub: Option<u64>,
}

impl fmt::Display for CallSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> ", self.method, self.path)?;
        match self.status {
            Some(status) => write!(f, "{status}")?,
            None => f.write_str("connection closed")?,
        }
        if let Some(stub) = self.stub {
            write!(f, " (stub #{stub})")?;
        }
        if !self.body.is_empty() {
            write!(f, ", body {}", self.body)?;
        }
        Ok(())
    }
}

/// One expectation.
#[derive(Debug)]
struct ExpectationState {
    id: u64,
    name: Option<String>,
    op: &'static Operation,
    min: u64,
    max: Option<u64>,
    /// Whether the test set the lower bound (else `at_most` alone starts
    /// from 0).
    min_set: bool,
    matchers: Matchers,
    matched: u64,
    arrived: u64,
    /// The first calls of the operation, with why each did not match.
    calls: Vec<(CallSummary, Option<String>)>,
    verified: bool,
}

impl ExpectationState {
    fn met(&self) -> bool {
        self.matched >= self.min && self.max.is_none_or(|max| self.matched <= max)
    }

    /// "exactly 2 calls", "at least 1 call", ...
    fn bounds(&self) -> String {
        let calls = |n: u64| format!("{n} call{}", if n == 1 { "" } else { "s" });
        match (self.min, self.max) {
            (0, Some(0)) => "no call".to_owned(),
            (min, Some(max)) if min == max => format!("exactly {}", calls(min)),
            (0, Some(max)) => format!("at most {}", calls(max)),
            (min, Some(max)) => format!("between {min} and {}", calls(max)),
            (min, None) => format!("at least {}", calls(min)),
        }
    }

    fn failure(&self) -> String {
        let who = match &self.name {
            Some(name) => format!("{name:?}: "),
            None => String::new(),
        };
        let mut out = format!(
            "{who}expected {} of {} ({} {}){}, got {} matching",
            self.bounds(),
            self.op.id,
            self.op.method,
            self.op.path,
            self.matchers.describe(),
            self.matched
        );
        if self.arrived == 0 {
            out.push_str(&format!("\n    no call of {} arrived", self.op.id));
            return out;
        }
        out.push_str(&format!(
            "\n    {} call{} of {} arrived:",
            self.arrived,
            if self.arrived == 1 { "" } else { "s" },
            self.op.id
        ));
        for (i, (call, mismatch)) in self.calls.iter().enumerate() {
            out.push_str(&format!("\n    {}. {call}", i + 1));
            if let Some(why) = mismatch {
                out.push_str(&format!("\n       not matched: {why}"));
            }
        }
        let shown = self.calls.len() as u64;
        if self.arrived > shown {
            out.push_str(&format!("\n    ... and {} more", self.arrived - shown));
        }
        out
    }
}

/// Every expectation of a server.
#[derive(Debug, Default)]
pub(crate) struct Expectations {
    list: Vec<ExpectationState>,
}

impl Expectations {
    pub(crate) fn observes(&self, op: &'static Operation) -> bool {
        self.list.iter().any(|e| std::ptr::eq(e.op, op))
    }

    pub(crate) fn observe(
        &mut self,
        op: &'static Operation,
        call: &Call<'_>,
        summary: &CallSummary,
    ) {
        for e in self.list.iter_mut().filter(|e| std::ptr::eq(e.op, op)) {
            e.arrived += 1;
            let mismatch = e.matchers.check(call).err();
            if mismatch.is_none() {
                e.matched += 1;
            }
            if e.calls.len() < CALLS_KEPT {
                e.calls.push((summary.clone(), mismatch));
            }
        }
    }

    /// The failures among the expectations checked: `only` one, or all of
    /// them (`all`) or those not verified yet. Each counts as verified
    /// now.
    pub(crate) fn check(&mut self, only: Option<u64>, all: bool) -> Vec<String> {
        let mut out = Vec::new();
        for e in &mut self.list {
            if only.is_some_and(|id| id != e.id) || (!all && e.verified) {
                continue;
            }
            e.verified = true;
            if !e.met() {
                out.push(e.failure());
            }
        }
        out
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut ExpectationState> {
        self.list.iter_mut().find(|e| e.id == id)
    }
}

/// Checks what the test arranged: the setup problems, the expectations
/// and the stubs' answers; every one of them (`all`), or those no
/// verification reported yet.
pub(crate) fn verify(app: &App, all: bool) -> Result<(), ExpectationError> {
    let mut problems = app.mocking.take_setup_problems(all);
    problems.extend(lock(&app.mocking.expectations).check(None, all));
    problems.extend(lock(&app.mocking.stubs).violations(all));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ExpectationError { problems })
    }
}

/// Arms an expectation (at least one call, until narrowed) for `op`, or
/// records why it cannot be.
pub(crate) fn expect(app: &Arc<App>, op: Result<&'static Operation, String>) -> Expectation {
    let op = match op {
        Ok(op) => op,
        Err(problem) => {
            app.mocking.problem(problem);
            return Expectation {
                app: Arc::clone(app),
                id: 0,
            };
        }
    };
    let id = app.mocking.next_id();
    lock(&app.mocking.expectations).list.push(ExpectationState {
        id,
        name: None,
        op,
        min: 1,
        max: None,
        min_set: false,
        matchers: Matchers::default(),
        matched: 0,
        arrived: 0,
        calls: Vec::new(),
        verified: false,
    });
    app.mocking.mark_expectations();
    Expectation {
        app: Arc::clone(app),
        id,
    }
}

/// An expected call, arranged with [`MockServer::expect`]: how often the
/// operation must be called (at least once until narrowed) and what the
/// calls must carry to count.
///
/// Calls are counted from the moment it is arranged, whatever their answer
/// (a `401` or a stubbed one included); only calls that meet every
/// condition count towards the bounds. The builder methods change the
/// expectation in place, so dropping the handle changes nothing: it is
/// checked by [`MockServer::verify`], by [`Expectation::verify`], or when
/// the server is dropped.
///
/// [`MockServer::expect`]: crate::MockServer::expect
/// [`MockServer::verify`]: crate::MockServer::verify
#[derive(Clone)]
pub struct Expectation {
    app: Arc<App>,
    id: u64,
}

impl fmt::Debug for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expectation").field("id", &self.id).finish()
    }
}

impl Expectation {
    fn edit(&self, f: impl FnOnce(&mut ExpectationState) -> Result<(), String>) {
        let result = match lock(&self.app.mocking.expectations).get_mut(self.id) {
            Some(e) => f(e).map_err(|problem| format!("expectation of {}: {problem}", e.op.id)),
            // A handle of an expectation that could not be arranged: its
            // reason is reported already.
            None => Ok(()),
        };
        if let Err(problem) = result {
            self.app.mocking.problem(problem);
        }
    }

    /// Exactly `n` matching calls.
    pub fn times(self, n: u64) -> Self {
        self.edit(|e| {
            (e.min, e.max, e.min_set) = (n, Some(n), true);
            Ok(())
        });
        self
    }

    /// At least `n` matching calls.
    pub fn at_least(self, n: u64) -> Self {
        self.edit(|e| {
            (e.min, e.min_set) = (n, true);
            if e.max.is_some_and(|max| max < n) {
                e.max = None;
            }
            Ok(())
        });
        self
    }

    /// At most `n` matching calls (and, unless a lower bound was set, none
    /// at all is fine).
    pub fn at_most(self, n: u64) -> Self {
        self.edit(|e| {
            e.max = Some(n);
            if !e.min_set || e.min > n {
                e.min = 0;
            }
            Ok(())
        });
        self
    }

    /// No matching call at all.
    pub fn never(self) -> Self {
        self.times(0)
    }

    /// Counts only calls that send header `name` with exactly `value`.
    pub fn with_header(self, name: &str, value: &str) -> Self {
        self.edit(|e| e.matchers.header(name, value));
        self
    }

    /// Counts only calls whose JSON body holds `value` at `pointer` (a JSON
    /// pointer: `/domain`, `/rules/0/type`).
    pub fn with_body_field(self, pointer: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        self.edit(|e| e.matchers.body_field(pointer, value));
        self
    }

    /// A name for failure messages ("creates the domain once").
    pub fn named(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|e| {
            e.name = Some(name);
            Ok(())
        });
        self
    }

    /// Matching calls so far.
    pub fn calls(&self) -> u64 {
        lock(&self.app.mocking.expectations)
            .get_mut(self.id)
            .map_or(0, |e| e.matched)
    }

    /// Checks this expectation alone (it then counts as verified, so
    /// dropping the server does not report it again).
    pub fn verify(&self) -> Result<(), ExpectationError> {
        let problems = lock(&self.app.mocking.expectations).check(Some(self.id), true);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ExpectationError { problems })
        }
    }
}

/// What [`MockServer::verify`](crate::MockServer::verify) found wrong:
/// expectations not met (each with the calls that did arrive for its
/// operation), stubs whose answers broke the spec, and mistakes in the
/// test's setup (an unknown operation id, a bad header name). Its
/// `Display` is the readable report; secrets never appear in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationError {
    problems: Vec<String>,
}

impl ExpectationError {
    /// Each problem as its own paragraph.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ExpectationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "sendmux-mock: {n} problem{} with what the test arranged:",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, problem) in self.problems.iter().enumerate() {
            write!(f, "\n\n{}) {problem}", i + 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for ExpectationError {}

#[cfg(test)]
mod tests {
    use sendmux_operations::ops;

    use super::*;

    fn state(min: u64, max: Option<u64>) -> ExpectationState {
        ExpectationState {
            id: 1,
            name: None,
            op: ops::MANAGEMENT_CREATE_DOMAIN,
            min,
            max,
            min_set: true,
            matchers: Matchers::default(),
            matched: 0,
            arrived: 0,
            calls: Vec::new(),
            verified: false,
        }
    }

    #[test]
    fn bounds_read_as_sentences() {
        assert_eq!(state(2, Some(2)).bounds(), "exactly 2 calls");
        assert_eq!(state(1, None).bounds(), "at least 1 call");
        assert_eq!(state(0, Some(3)).bounds(), "at most 3 calls");
        assert_eq!(state(1, Some(3)).bounds(), "between 1 and 3 calls");
        assert_eq!(state(0, Some(0)).bounds(), "no call");
    }

    #[test]
    fn met_follows_the_bounds() {
        let mut e = state(1, Some(2));
        assert!(!e.met());
        e.matched = 2;
        assert!(e.met());
        e.matched = 3;
        assert!(!e.met());
    }

    #[test]
    fn a_failure_lists_the_calls_and_how_many_more() {
        let mut e = state(2, Some(2));
        e.arrived = 22;
        e.matched = 1;
        for i in 0..CALLS_KEPT {
            e.calls.push((
                CallSummary {
                    method: "POST".to_owned(),
                    path: "/api/v1/domains".to_owned(),
                    status: Some(201),
                    body: format!("{{\"domain\":\"d{i}.example.com\"}}"),
                    stub: None,
                },
                (i > 0).then(|| "header `x` is absent".to_owned()),
            ));
        }
        let text = e.failure();
        assert!(
            text.starts_with(
                "expected exactly 2 calls of managementCreateDomain (POST /domains), got 1 matching"
            ),
            "{text}"
        );
        assert!(
            text.contains("22 calls of managementCreateDomain arrived:"),
            "{text}"
        );
        assert!(
            text.contains("1. POST /api/v1/domains -> 201, body {\"domain\":\"d0.example.com\"}"),
            "{text}"
        );
        assert!(text.contains("not matched: header `x` is absent"), "{text}");
        assert!(text.ends_with("... and 2 more"), "{text}");
    }
}
