//! Shared code for the Tidewater examples: rendering decoded pgoutput messages as JSON.

pub mod dump;

/// The root README's Rust examples, compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
