//! Test support for Tidewater.
