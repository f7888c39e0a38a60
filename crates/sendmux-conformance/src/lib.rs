//! Checks that HTTP traffic matches the Sendmux OpenAPI description, probes a
//! live server, and finds drift between our description and the published one.
//!
//! # Validating messages
//!
//! [`Spec`] loads an OpenAPI 3.0 document (with [`openapiv3`]), resolves its
//! references and rewrites every schema as JSON Schema Draft 4 (OpenAPI 3.0's
//! `nullable: true` becomes a `null` type, enum value or `anyOf` branch).
//! Each distinct schema is compiled once with [`jsonschema`], the first time
//! a message needs it, inside a root document that carries `components` so
//! `$ref: '#/components/schemas/X'` resolves; equal schemas share one
//! validator. Validating a message then costs a route lookup and one schema
//! evaluation; nothing is parsed again. [`Spec::compile_all`] compiles
//! everything up front.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method};
//! use sendmux_conformance::{Spec, ViolationKind};
//!
//! let spec = Spec::embedded();
//! let mut headers = HeaderMap::new();
//! headers.insert("content-type", HeaderValue::from_static("application/json"));
//!
//! // The base path and a query string are optional.
//! let report = spec.validate_request(
//!     &Method::POST,
//!     "/api/v1/domains",
//!     &headers,
//!     br#"{"domain": "mail.acme.com", "mode": "both"}"#,
//! );
//! assert_eq!(report.operation_id.as_deref(), Some("managementCreateDomain"));
//! let violation = &report.violations[0];
//! assert_eq!(violation.kind, ViolationKind::SchemaViolation);
//! assert_eq!(violation.pointer, "/mode");
//! assert_eq!(violation.field_path(), "mode"); // the API's `errors[].field`
//! assert!(report.to_string().contains("/mode"));
//! ```
//!
//! [`Spec::validate_response`] checks a response the same way: the status is
//! declared (exactly, by a `4XX`-style range, or by `default`), required
//! headers such as `X-Request-Id`, `ETag` on GETs and `Location` on a 201 are
//! present and well-formed, the `Content-Type` is declared, the JSON body
//! matches, and a `304` has no body. Each problem is a [`Violation`] with a
//! [`ViolationKind`], a [`Location`], a JSON pointer, the broken constraint
//! and a message; a [`Report`] collects them and prints them for people.
//!
//! # The embedded documents
//!
//! The SDK has one document per base URL, both embedded at compile time:
//! [`Spec::embedded`] is `openapi.yaml` (the Management and Mailbox APIs on
//! `https://app.sendmux.ai/api/v1`) and [`Spec::embedded_sending`] is
//! `openapi-sending.yaml` (the Sending API on
//! `https://smtp.sendmux.ai/api/v1`). They are embedded as JSON
//! (`openapi.json`, `openapi-sending.json` beside `Cargo.toml`, written by
//! `cargo xtask codegen` from the root YAML files), so loading them needs no
//! YAML parser and is fast. `cargo xtask codegen --check` and the test
//! `packaged_specs_match_workspace_specs` fail whenever a copy differs from
//! its root file.
//!
//! # Features
//!
//! - `yaml` (default): [`Spec::from_path`], [`Spec::from_text`] and drift
//!   also read YAML documents; without it they read JSON only.
//! - `check`: the read-only probe suite against a live base URL.
//! - `cli` (default): the `sendmux-conformance` binary.
//!
//! # Drift against the published API
//!
//! [`drift::compare`] compares our documents with the published OpenAPI 3.1
//! documents by meaning (resolved schemas, not component names), each
//! operation within its own documents, skipping the deliberate differences
//! listed in [`drift::ALLOWED_DIFFERENCES`]:
//!
//! ```text
//! sendmux-conformance drift --published ../shared/reference/openapi-app.json \
//!     ../shared/reference/openapi-sending.json
//! ```
//!
//! Ours are both embedded documents unless `--ours FILE...` names others. It
//! prints every difference in the operations we cover, then the published
//! operations we do not cover, then `covered N/M`, and exits non-zero when a
//! covered operation differs.
//!
//! # Probing a live server
//!
//! With the `check` feature (on by default), [`check::run`] performs read-only
//! calls (list domains, get a few of them, their zone files and filters) and
//! validates every response:
//!
//! ```text
//! sendmux-conformance check --base-url https://app.sendmux.ai/api/v1 --api-key "$SENDMUX_API_KEY"
//! ```
//!
//! It prints one row per call and exits non-zero on any violation.
//!
//! # Features
//!
//! - `check`: the probe suite ([`check`]); pulls in `reqwest`.
//! - `cli` (default, implies `check`): the `sendmux-conformance` binary.
//!
//! # Model types and `schemars`
//!
//! This crate defines no hand-written model types of the API (it validates
//! raw JSON against the document), so it has nothing to derive `JsonSchema`
//! for.

#[cfg(feature = "check")]
pub mod check;
mod document;
pub mod drift;
mod report;
mod schema;
mod spec;
#[cfg(feature = "check")]
mod tls;
mod validate;

pub use report::{Location, Report, Violation, ViolationKind};
pub use spec::{EMBEDDED_SENDING_SPEC, EMBEDDED_SPEC, LoadError, RouteMatch, Spec};
