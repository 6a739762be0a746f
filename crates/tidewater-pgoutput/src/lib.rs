//! Decoder for PostgreSQL's pgoutput logical replication protocol.
#![deny(unsafe_code)]

mod types;
pub mod value;

pub use types::{NoTypes, TypeInfo, TypeKind, TypeLookup};
