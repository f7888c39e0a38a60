//! The conformance crate's integration tests, one module per concern, in
//! one test binary so the crate links once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod check;
mod drift;
mod embedded;
mod published_examples;
mod validation;
