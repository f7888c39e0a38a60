//! The generated client's integration tests, in one test binary so the
//! crate links once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod decoding;
mod operations;
mod standalone;
