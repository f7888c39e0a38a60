//! Behaviour knobs: faults, rate limits, simulated DNS propagation.
//!
//! All of these are plain serde types so the admin endpoints under
//! `/__mock/` accept and return the same shapes as the Rust API.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One kind of injected failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// `500 internal_error` (retryable) before the handler runs.
    InternalError,
    /// `503 service_unavailable` before the handler runs, with
    /// `Retry-After: retry_after_secs` when set.
    ServiceUnavailable {
        /// Seconds sent in `Retry-After`; `None` sends no header.
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// `429 rate_limit_exceeded` with `Retry-After: retry_after_secs`.
    RateLimited {
        /// Seconds sent in `Retry-After` (default 1).
        #[serde(default = "one")]
        retry_after_secs: u64,
    },
    /// Extra latency before the handler runs (after the idempotency key is
    /// reserved, so a slow request is observably "in flight"). Combines
    /// with the other kinds.
    Latency {
        /// Added delay in milliseconds.
        ms: u64,
    },
    /// The TCP connection is closed before the handler runs: nothing is
    /// changed and no response is written. With
    /// [`FaultRule::after_commit`] it is [`CloseAfterCommit`](Self::CloseAfterCommit).
    CloseBeforeHandler,
    /// The handler runs and its change is committed (and recorded for
    /// idempotency), then the connection is closed without a response:
    /// a rule of this kind always fires after the commit.
    CloseAfterCommit,
}

/// When a fault rule fires: before the handler runs (the default; nothing
/// is changed), or after the handler committed its change and its answer
/// was stored for idempotent replay, in place of writing that answer.
///
/// After the commit, a status fault (`500`, `503`, `429`) replaces the
/// answer, latency delays it, and a connection fault drops it; a retry
/// with the same `Idempotency-Key` then gets the stored answer, the way
/// a client recovers from a lost response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultPhase {
    /// Before the handler: the request changes nothing.
    #[default]
    BeforeHandler,
    /// After the handler committed, before the answer is written. Fires
    /// only for requests whose handler ran (not for replays, nor for
    /// requests refused earlier).
    AfterCommit,
}

fn one() -> u64 {
    1
}

impl FaultKind {
    /// Short snake_case name, as used in the request log and on the command
    /// line.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable { .. } => "service_unavailable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Latency { .. } => "latency",
            Self::CloseBeforeHandler => "close_before_handler",
            Self::CloseAfterCommit => "close_after_commit",
        }
    }
}

/// A fault that fires with probability `rate`, optionally only on one
/// operation and only a limited number of times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What happens when the rule fires.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Probability in `0.0..=1.0` per matching request (`1.0` = always).
    pub rate: f64,
    /// Restrict to one `operationId` (e.g. `managementCreateDomain`);
    /// `None` matches every API route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Stop after firing this many times; `None` = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Before the handler (default) or after the commit; see
    /// [`FaultPhase`]. `close_after_commit` rules fire after the commit
    /// whatever this says.
    #[serde(default, skip_serializing_if = "is_before_handler")]
    pub when: FaultPhase,
}

fn is_before_handler(phase: &FaultPhase) -> bool {
    *phase == FaultPhase::BeforeHandler
}

impl FaultRule {
    /// A rule firing with probability `rate` on every route, unlimited,
    /// before the handler.
    pub fn new(kind: FaultKind, rate: f64) -> Self {
        Self {
            kind,
            rate,
            operation: None,
            times: None,
            when: FaultPhase::BeforeHandler,
        }
    }

    /// Fires after the handler committed, in place of writing its answer
    /// ([`FaultPhase::AfterCommit`]): e.g. a `503` the client sees for a
    /// send that was stored, or a connection dropped after it.
    ///
    /// ```
    /// use sendmux_mock::{FaultKind, FaultRule};
    ///
    /// let lost_answer = FaultRule::new(FaultKind::ServiceUnavailable { retry_after_secs: Some(1) }, 1.0)
    ///     .after_commit()
    ///     .times(1);
    /// assert_eq!(FaultRule::parse_cli("503@1,retry_after=1,when=after_commit,times=1"), Ok(lost_answer));
    /// ```
    pub fn after_commit(mut self) -> Self {
        self.when = FaultPhase::AfterCommit;
        self
    }

    /// When the rule fires, its kind taken into account.
    pub(crate) fn phase(&self) -> FaultPhase {
        if self.kind == FaultKind::CloseAfterCommit {
            FaultPhase::AfterCommit
        } else {
            self.when
        }
    }

    /// Restricts the rule to one operation id.
    pub fn on_operation(mut self, operation_id: impl Into<String>) -> Self {
        self.operation = Some(operation_id.into());
        self
    }

    /// Limits how many times the rule fires.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Parses the command-line form
    /// `KIND@RATE[,op=ID][,times=N][,ms=N][,retry_after=S][,when=before_handler|after_commit]`,
    /// e.g. `internal_error@0.05`, `latency@1,ms=200,op=managementGetDomain`
    /// or `503@1,when=after_commit,op=sendingSendEmail`.
    pub fn parse_cli(spec: &str) -> Result<Self, String> {
        let mut parts = spec.split(',');
        let head = parts.next().unwrap_or_default();
        let (kind, rate) = head
            .split_once('@')
            .ok_or_else(|| format!("fault `{spec}`: expected KIND@RATE"))?;
        let rate: f64 = rate
            .parse()
            .map_err(|_| format!("fault `{spec}`: rate `{rate}` is not a number"))?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("fault `{spec}`: rate must be within 0..=1"));
        }
        let (mut op, mut times, mut ms, mut retry_after) = (None, None, None, None);
        let mut when = FaultPhase::BeforeHandler;
        for kv in parts {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("fault `{spec}`: expected key=value, got `{kv}`"))?;
            let num = || {
                v.parse::<u64>()
                    .map_err(|_| format!("fault `{spec}`: `{k}` needs a whole number"))
            };
            match k {
                "op" => op = Some(v.to_owned()),
                "times" => times = Some(num()?),
                "ms" => ms = Some(num()?),
                "retry_after" => retry_after = Some(num()?),
                "when" => {
                    when = match v {
                        "before_handler" => FaultPhase::BeforeHandler,
                        "after_commit" => FaultPhase::AfterCommit,
                        _ => {
                            return Err(format!(
                                "fault `{spec}`: when is before_handler or after_commit"
                            ));
                        }
                    }
                }
                _ => return Err(format!("fault `{spec}`: unknown option `{k}`")),
            }
        }
        let kind = match kind {
            "internal_error" | "500" => FaultKind::InternalError,
            "service_unavailable" | "503" => FaultKind::ServiceUnavailable {
                retry_after_secs: retry_after,
            },
            "rate_limited" | "429" => FaultKind::RateLimited {
                retry_after_secs: retry_after.unwrap_or(1),
            },
            "latency" => FaultKind::Latency {
                ms: ms.ok_or_else(|| format!("fault `{spec}`: latency needs ms=N"))?,
            },
            "close_before_handler" => FaultKind::CloseBeforeHandler,
            "close_after_commit" => FaultKind::CloseAfterCommit,
            other => return Err(format!("fault `{spec}`: unknown kind `{other}`")),
        };
        Ok(Self {
            kind,
            rate,
            operation: op,
            times,
            when,
        })
    }
}

/// The set of active fault rules, evaluated in order for every API request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Rules in evaluation order. Latency rules add up; the first other
    /// rule that fires decides the outcome.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// Per-key fixed-window rate limit. Each key counts in a window of its
/// own; root keys and mailbox keys (with agent tokens) have one limit
/// each ([`RateLimit::ROOT`], [`RateLimit::MAILBOX`] by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests allowed per window and key.
    pub limit: u32,
    /// Window length in seconds.
    pub window_secs: u64,
}

impl RateLimit {
    /// The published limit of root keys (`smx_root_`): 600 requests per
    /// 60 s.
    pub const ROOT: Self = Self {
        limit: 600,
        window_secs: 60,
    };

    /// The published limit of mailbox keys and agent tokens (`smx_mbx_`,
    /// `smx_agent_`), on the Mailbox and Sending APIs alike: 1,800
    /// requests per 60 s. A batch send is one request.
    pub const MAILBOX: Self = Self {
        limit: 1800,
        window_secs: 60,
    };
}

impl Default for RateLimit {
    /// [`RateLimit::ROOT`], the published management-key limit.
    fn default() -> Self {
        Self::ROOT
    }
}

/// How `GET /mailbox/events` streams behave, faults for testing a
/// client's resilience included. Changes apply to streams opened
/// afterwards (see `PUT /__mock/event_stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventStreamConfig {
    /// Interval of `ping` events when the request names none
    /// (`ping=SECONDS`), in milliseconds (default 15 000).
    pub ping_interval_ms: u64,
    /// Send `ping` events (default `true`). Off, a client's liveness
    /// timeout can be tested.
    pub pings: bool,
    /// Cut every stream (the connection drops mid-body) right after this
    /// many events (`ping`s not counted); `None` (default) never.
    pub cut_after: Option<u64>,
}

impl Default for EventStreamConfig {
    fn default() -> Self {
        Self {
            ping_interval_ms: 15_000,
            pings: true,
            cut_after: None,
        }
    }
}

/// How `POST /domains/{id}/verify` moves a pending domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Propagation {
    /// DNS is "visible" from the `calls`-th verify call of the domain on
    /// (counted since creation or the last upgrade); `calls: 1` verifies
    /// at once.
    AfterVerifyCalls {
        /// Verify calls needed.
        calls: u32,
    },
    /// DNS is visible once `secs` seconds (on the server clock) have
    /// passed since creation or the last upgrade.
    AfterDuration {
        /// Seconds of simulated propagation.
        secs: u64,
    },
    /// Every verify call fails the checks: the domain becomes `failed`.
    Fail,
}

impl Default for Propagation {
    /// The second verify call succeeds, so callers see `pending` first.
    fn default() -> Self {
        Self::AfterVerifyCalls { calls: 2 }
    }
}

impl Propagation {
    pub(crate) fn duration(self) -> Option<Duration> {
        match self {
            Self::AfterDuration { secs } => Some(Duration::from_secs(secs)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cli_faults() {
        let r = FaultRule::parse_cli("latency@0.5,ms=200,op=managementGetDomain,times=3")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.kind, FaultKind::Latency { ms: 200 });
        assert_eq!(r.operation.as_deref(), Some("managementGetDomain"));
        assert_eq!(r.times, Some(3));
        let r = FaultRule::parse_cli("503@1,retry_after=0").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.kind,
            FaultKind::ServiceUnavailable {
                retry_after_secs: Some(0)
            }
        );
        assert!(FaultRule::parse_cli("latency@1").is_err());
        assert!(FaultRule::parse_cli("internal_error@2").is_err());
        assert!(FaultRule::parse_cli("nope@0.1").is_err());
        assert!(FaultRule::parse_cli("internal_error").is_err());
    }

    #[test]
    fn fault_rules_round_trip_as_json() {
        let rule = FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
            .on_operation("managementCreateDomain")
            .times(1);
        let json = serde_json::to_value(&rule).unwrap_or_default();
        assert_eq!(json["kind"], "close_after_commit");
        assert!(json.get("when").is_none(), "the default phase is left out");
        let back: FaultRule = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, rule);
        assert_eq!(back.phase(), FaultPhase::AfterCommit);
        let late = FaultRule::new(
            FaultKind::RateLimited {
                retry_after_secs: 2,
            },
            0.5,
        )
        .after_commit();
        let json = serde_json::to_value(&late).unwrap_or_default();
        assert_eq!(json["when"], "after_commit");
        let back: FaultRule = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, late);
    }

    #[test]
    fn parses_the_phase_of_a_fault() {
        let r =
            FaultRule::parse_cli("close_before_handler@1,when=after_commit,op=sendingSendEmail")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.when, FaultPhase::AfterCommit);
        assert_eq!(r.phase(), FaultPhase::AfterCommit);
        let r = FaultRule::parse_cli("latency@1,ms=5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.phase(), FaultPhase::BeforeHandler);
        let r = FaultRule::parse_cli("close_after_commit@1,when=before_handler")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.phase(),
            FaultPhase::AfterCommit,
            "the kind names its phase"
        );
        assert!(FaultRule::parse_cli("500@1,when=later").is_err());
    }
}
