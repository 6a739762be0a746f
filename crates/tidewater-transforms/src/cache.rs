//! A small, bounded cache of derived values keyed by the identity of an
//! input `Arc` (a schema, or a topic name).
//!
//! Records of one table share one `Arc<Schema>`, so a pointer comparison
//! finds the derived schema without hashing or comparing schemas. Each entry
//! keeps its input `Arc` alive, so a pointer cannot be reused by another
//! schema while it is a key. Lookups take a read lock; when the cache is
//! full it is emptied (schemas change rarely; a full cache means many
//! tables or a schema churn, and rebuilding is correct, only slower).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};

use tidewater_connect::Schema;

/// Default number of entries (Debezium's `ExtractNewRecordState` keeps 64).
pub(crate) const DEFAULT_CAPACITY: usize = 64;

/// Hashes a pointer: the address is already unique, so mixing the bits is
/// enough.
#[derive(Default)]
pub(crate) struct PtrHasher(u64);

impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 ^ (n as u64 >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Bucket<X, V> = Vec<(X, V)>;
type Map<K, X, V> = HashMap<usize, Entry<K, X, V>, BuildHasherDefault<PtrHasher>>;

struct Entry<K: ?Sized, X, V> {
    _input: Arc<K>,
    bucket: Bucket<X, V>,
}

/// Derived values per input `Arc<K>` and an optional extra key part `X`
/// (for example a target topic).
pub(crate) struct IdentityCache<K: ?Sized, V, X = ()> {
    map: RwLock<Map<K, X, V>>,
    capacity: usize,
}

/// Derived values per input schema.
pub(crate) type SchemaCache<V, X = ()> = IdentityCache<Schema, V, X>;

/// Derived values per topic name.
pub(crate) type TopicCache<V> = IdentityCache<str, V>;

impl<K: ?Sized, V, X> std::fmt::Debug for IdentityCache<K, V, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.map.read().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("SchemaCache")
            .field("entries", &len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<K: ?Sized, V: Clone, X: PartialEq> IdentityCache<K, V, X> {
    pub(crate) fn new(capacity: usize) -> Self {
        IdentityCache {
            map: RwLock::new(HashMap::default()),
            capacity: capacity.max(1),
        }
    }

    /// The value for `(input, extra)`, computed by `make` on a miss.
    pub(crate) fn get_or_try_insert<E>(
        &self,
        input: &Arc<K>,
        extra: X,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let key = Arc::as_ptr(input).cast::<u8>() as usize;
        {
            let map = self.map.read().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = map.get(&key)
                && let Some((_, v)) = entry.bucket.iter().find(|(x, _)| *x == extra)
            {
                return Ok(v.clone());
            }
        }
        let value = make()?;
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let entries: usize = map.values().map(|e| e.bucket.len()).sum();
        if entries >= self.capacity {
            map.clear();
        }
        let entry = map.entry(key).or_insert_with(|| Entry {
            _input: input.clone(),
            bucket: Vec::new(),
        });
        if !entry.bucket.iter().any(|(x, _)| *x == extra) {
            entry.bucket.push((extra, value.clone()));
        }
        Ok(value)
    }

    /// Number of cached values.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.values().map(|e| e.bucket.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidewater_connect::SchemaType;

    #[test]
    fn hits_by_identity_and_stays_bounded() {
        let cache: SchemaCache<u32> = SchemaCache::new(2);
        let a = Arc::new(Schema::of(SchemaType::Int32));
        let b = Arc::new(Schema::of(SchemaType::Int32));
        let mut calls = 0;
        for _ in 0..3 {
            let v = cache.get_or_try_insert(&a, (), || {
                calls += 1;
                Ok::<_, ()>(7)
            });
            assert_eq!(v, Ok(7));
        }
        assert_eq!(calls, 1);
        let _ = cache.get_or_try_insert(&b, (), || Ok::<_, ()>(8));
        assert_eq!(cache.len(), 2);
        let c = Arc::new(Schema::of(SchemaType::Int8));
        let _ = cache.get_or_try_insert(&c, (), || Ok::<_, ()>(9));
        assert_eq!(cache.len(), 1, "a full cache starts over");
    }
}
