//! Shared code for the Tidewater examples: rendering decoded pgoutput messages as JSON.

pub mod dump;
