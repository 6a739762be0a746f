//! Shared code for the Tidewater examples.
