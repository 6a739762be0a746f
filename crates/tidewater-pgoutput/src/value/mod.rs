//! Typed decoding of column values (placeholder; being written).
