//! The relation cache: what the stream has said about tables and types.

use std::collections::HashMap;
use std::sync::Arc;

use crate::message::{Message, Relation, TypeMessage};
use crate::types::{TypeInfo, TypeKind, TypeLookup};

/// Tables (from `Relation` messages) and user types (from `Type` messages and
/// the caller's registrations), keyed by OID.
///
/// A new `Relation` for a known OID replaces the old one (the table was
/// altered); events decoded before keep the `Arc` of the version they saw.
///
/// ```
/// use tidewater_pgoutput::{Message, Relation, RelationCache, ReplicaIdentity};
/// let mut cache = RelationCache::new();
/// let rel = Relation { xid: None, oid: 16384, namespace: "public".into(), name: "t".into(),
///                      replica_identity: ReplicaIdentity::Default, columns: vec![] };
/// cache.apply(&Message::Relation(rel));
/// assert_eq!(cache.relation(16384).map(|r| r.name.as_str()), Some("t"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct RelationCache {
    relations: HashMap<u32, Arc<Relation>>,
    types: HashMap<u32, TypeInfo>,
}

impl RelationCache {
    /// An empty cache.
    pub fn new() -> Self {
        RelationCache::default()
    }

    /// Records a `Relation` or `Type` message; other messages are ignored.
    /// Returns the cached relation when `message` was a `Relation`.
    pub fn apply(&mut self, message: &Message) -> Option<Arc<Relation>> {
        match message {
            Message::Relation(rel) => Some(self.insert_relation(rel.clone())),
            Message::Type(ty) => {
                self.apply_type(ty);
                None
            }
            _ => None,
        }
    }

    /// Stores a relation, replacing any earlier version with the same OID.
    pub fn insert_relation(&mut self, relation: Relation) -> Arc<Relation> {
        let rel = Arc::new(relation);
        self.relations.insert(rel.oid, Arc::clone(&rel));
        rel
    }

    /// Records a `Type` message. What was registered about the type before
    /// (for example that it is an enum) is kept; its name is updated.
    pub fn apply_type(&mut self, ty: &TypeMessage) {
        match self.types.get_mut(&ty.oid) {
            Some(info) => {
                info.namespace.clone_from(&ty.namespace);
                info.name.clone_from(&ty.name);
            }
            None => {
                self.types.insert(
                    ty.oid,
                    TypeInfo::named(ty.oid, ty.namespace.clone(), ty.name.clone()),
                );
            }
        }
    }

    /// Registers what is known of a type (for example enum labels from `pg_enum`),
    /// replacing an earlier registration.
    pub fn register_type(&mut self, info: TypeInfo) {
        self.types.insert(info.oid, info);
    }

    /// The current version of a relation.
    pub fn relation(&self, oid: u32) -> Option<&Arc<Relation>> {
        self.relations.get(&oid)
    }

    /// A known type.
    pub fn type_info(&self, oid: u32) -> Option<&TypeInfo> {
        self.types.get(&oid)
    }

    /// Whether a type is known to be an enum.
    pub fn is_enum(&self, oid: u32) -> bool {
        matches!(
            self.types.get(&oid),
            Some(TypeInfo {
                kind: TypeKind::Enum { .. },
                ..
            })
        )
    }

    /// Number of cached relations.
    pub fn relation_count(&self) -> usize {
        self.relations.len()
    }

    /// Forgets every relation (the server resends them after a reconnect);
    /// registered types are kept.
    pub fn clear_relations(&mut self) {
        self.relations.clear();
    }
}

impl TypeLookup for RelationCache {
    fn lookup_type(&self, oid: u32) -> Option<&TypeInfo> {
        self.types.get(&oid)
    }
}
