//! Debezium-compatible change event envelopes for PostgreSQL changes.
