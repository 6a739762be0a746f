//! Information about data types announced by the server (`Type` messages) or
//! registered by the caller (for example enum labels read from `pg_enum`).

/// What kind of user-defined type a type OID is, as far as the decoder knows.
///
/// pgoutput's `Type` message only carries the namespace and name of a
/// non-built-in type. A source that reads the catalog can say more (that the
/// type is an enum, a domain over a built-in type, ...) through
/// [`RelationCache::register_type`](crate::RelationCache::register_type).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeKind {
    /// Only the name is known: values are kept as their text.
    Unknown,
    /// An enum type; values are labels. `labels` may be empty when unknown.
    Enum {
        /// The labels in sort order, when known.
        labels: Vec<String>,
    },
    /// A domain over another type: values decode as the base type.
    Domain {
        /// OID of the base type.
        base_oid: u32,
    },
    /// An array whose elements have the given type OID.
    Array {
        /// OID of the element type.
        element_oid: u32,
    },
}

/// A user-defined type known to the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// The type's OID.
    pub oid: u32,
    /// Namespace (schema) of the type; empty for `pg_catalog`.
    pub namespace: String,
    /// Name of the type.
    pub name: String,
    /// What the decoder knows of the type.
    pub kind: TypeKind,
}

impl TypeInfo {
    /// A type known only by name (as announced by a pgoutput `Type` message).
    pub fn named(oid: u32, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        TypeInfo {
            oid,
            namespace: namespace.into(),
            name: name.into(),
            kind: TypeKind::Unknown,
        }
    }
}

/// Looks up user-defined types by OID; implemented by [`RelationCache`](crate::RelationCache)
/// and by `HashMap<u32, TypeInfo>`.
pub trait TypeLookup {
    /// The type with this OID, if known.
    fn lookup_type(&self, oid: u32) -> Option<&TypeInfo>;
}

impl TypeLookup for std::collections::HashMap<u32, TypeInfo> {
    fn lookup_type(&self, oid: u32) -> Option<&TypeInfo> {
        self.get(&oid)
    }
}

/// A lookup that knows no user-defined types.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTypes;

impl TypeLookup for NoTypes {
    fn lookup_type(&self, _oid: u32) -> Option<&TypeInfo> {
        None
    }
}
