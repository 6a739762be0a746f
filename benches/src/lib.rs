//! Shared fixtures for the Tidewater benchmarks.
