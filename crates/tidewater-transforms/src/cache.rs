//! A small, bounded cache of derived values keyed by the identity of an
//! input `Arc` (a schema, or a topic name).
//!
//! Records of one table share one `Arc<Schema>`, so a pointer comparison
//! finds the derived schema without hashing or comparing schemas. Each entry
//! keeps its input `Arc` alive, so a pointer cannot be reused by another
//! input while it is a key.
//!
//! ```text
//!  lookup ─► pinned slots (the first PINNED inputs; OnceLock: a load, no lock,
//!            │             no reference count; kept for the cache's life)
//!            └─ miss ─► map under a RwLock (the value cloned out; emptied when
//!                                          full: rebuilding is correct, only slower)
//! ```
//!
//! The pinned slots exist because on the record path every atomic
//! read-modify-write shows: a read lock and its release, plus the clone and
//! drop of an `Arc` value, were most of a lookup's time. A pipeline sees a
//! handful of schemas and topics per transform, so they fit the slots; more
//! (many tables, or schemas changing over a long run) fall through to the map.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::sync::{Arc, OnceLock, RwLock};

use tidewater_connect::Schema;

/// Default number of entries (Debezium's `ExtractNewRecordState` keeps 64).
pub(crate) const DEFAULT_CAPACITY: usize = 64;

/// Inputs whose values are kept in lock-free slots for the cache's life.
const PINNED: usize = 8;

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

/// One pinned value with its key.
struct Pinned<K: ?Sized, X, V> {
    key: usize,
    extra: X,
    _input: Arc<K>,
    value: V,
}

/// A value found in the cache: borrowed from a pinned slot, or a clone
/// from the map.
pub(crate) enum Cached<'a, V> {
    Pinned(&'a V),
    Owned(V),
}

impl<V: Clone> Cached<'_, V> {
    /// The value, cloned when borrowed.
    pub(crate) fn into_owned(self) -> V {
        match self {
            Cached::Pinned(v) => v.clone(),
            Cached::Owned(v) => v,
        }
    }
}

impl<V> Deref for Cached<'_, V> {
    type Target = V;
    fn deref(&self) -> &V {
        match self {
            Cached::Pinned(v) => v,
            Cached::Owned(v) => v,
        }
    }
}

/// Derived values per input `Arc<K>` and an optional extra key part `X`
/// (for example a target topic).
pub(crate) struct IdentityCache<K: ?Sized, V, X = ()> {
    /// Filled in order: the filled slots are always a prefix.
    pinned: [OnceLock<Pinned<K, X, V>>; PINNED],
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
        let pinned = self.pinned.iter().filter(|p| p.get().is_some()).count();
        f.debug_struct("SchemaCache")
            .field("pinned", &pinned)
            .field("entries", &len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<K: ?Sized, V: Clone, X: Clone + PartialEq> IdentityCache<K, V, X> {
    /// A cache holding up to `capacity` values besides the pinned ones.
    pub(crate) fn new(capacity: usize) -> Self {
        IdentityCache {
            pinned: [const { OnceLock::new() }; PINNED],
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
        self.get(input, extra, make).map(Cached::into_owned)
    }

    /// The value for `(input, extra)`, computed by `make` on a miss;
    /// borrowed (no clone, no lock) when it is pinned.
    pub(crate) fn get<E>(
        &self,
        input: &Arc<K>,
        extra: X,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Cached<'_, V>, E> {
        let key = Arc::as_ptr(input).cast::<u8>() as usize;
        let mut free = None;
        for slot in &self.pinned {
            match slot.get() {
                Some(p) if p.key == key && p.extra == extra => {
                    return Ok(Cached::Pinned(&p.value));
                }
                Some(_) => {}
                None => {
                    free = Some(slot);
                    break;
                }
            }
        }
        if free.is_none() {
            let map = self.map.read().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = map.get(&key)
                && let Some((_, v)) = entry.bucket.iter().find(|(x, _)| *x == extra)
            {
                return Ok(Cached::Owned(v.clone()));
            }
        }
        let value = make()?;
        if free.is_some() {
            // Into the first free slot. Another thread may fill slots
            // meanwhile: then the next free one is tried, and when none is
            // left the map keeps the value.
            for slot in &self.pinned {
                let p = slot.get_or_init(|| Pinned {
                    key,
                    extra: extra.clone(),
                    _input: input.clone(),
                    value: value.clone(),
                });
                if p.key == key && p.extra == extra {
                    return Ok(Cached::Pinned(&p.value));
                }
            }
        }
        Ok(Cached::Owned(self.insert(input, key, extra, value)))
    }

    /// Puts a value into the map (emptied first when full); returns it.
    fn insert(&self, input: &Arc<K>, key: usize, extra: X, value: V) -> V {
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
        value
    }

    /// Number of cached values in the map (pinned ones not counted).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.values().map(|e| e.bucket.len()).sum()
    }

    /// Number of pinned values.
    #[cfg(test)]
    pub(crate) fn pinned(&self) -> usize {
        self.pinned.iter().filter(|p| p.get().is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;
    use tidewater_connect::SchemaType;

    /// `n` distinct schemas (equal in value, distinct in identity).
    fn schemas(n: usize) -> Vec<Arc<Schema>> {
        (0..n)
            .map(|_| Arc::new(Schema::of(SchemaType::Int32)))
            .collect()
    }

    #[test]
    fn hits_by_identity_and_stays_bounded() {
        let cache: SchemaCache<usize> = SchemaCache::new(2);
        let inputs = schemas(PINNED + 3);
        let mut calls = 0;
        for _ in 0..3 {
            for (i, s) in inputs.iter().enumerate() {
                let v = cache.get_or_try_insert(s, (), || {
                    calls += 1;
                    Ok::<_, ()>(i)
                });
                assert_eq!(v, Ok(i));
                if i < PINNED {
                    // Pinned values are borrowed from their slot.
                    let found = cache.get(s, (), || Err(()));
                    assert!(matches!(found, Ok(Cached::Pinned(&v)) if v == i));
                }
            }
        }
        assert_eq!(cache.pinned(), PINNED);
        // The first PINNED inputs are computed once; the map holds 2 of the
        // other 3, so it starts over every time the third comes.
        assert_eq!(calls, PINNED + 3 * 3);
        assert_eq!(cache.len(), 1, "a full map starts over");
    }

    #[test]
    fn extra_key_parts_are_told_apart() {
        let cache: SchemaCache<&'static str, &'static str> = SchemaCache::new(4);
        let inputs = schemas(1);
        let s = &inputs[0];
        assert_eq!(
            cache.get_or_try_insert(s, "a", || Ok::<_, ()>("for a")),
            Ok("for a")
        );
        assert_eq!(
            cache.get_or_try_insert(s, "b", || Ok::<_, ()>("for b")),
            Ok("for b")
        );
        assert_eq!(cache.get_or_try_insert(s, "a", || Err(())), Ok("for a"));
        assert_eq!(cache.get_or_try_insert(s, "b", || Err(())), Ok("for b"));
        // An error from `make` is returned and nothing is kept.
        assert_eq!(
            cache.get_or_try_insert(s, "c", || Err::<&str, _>(())),
            Err(())
        );
        assert_eq!(cache.pinned(), 2);
    }

    #[test]
    fn threads_share_one_value_per_input() {
        let cache: Arc<SchemaCache<usize>> = Arc::new(SchemaCache::new(64));
        let inputs = Arc::new(schemas(PINNED * 2));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (cache, inputs) = (cache.clone(), inputs.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        for (i, s) in inputs.iter().enumerate() {
                            assert_eq!(cache.get_or_try_insert(s, (), || Ok::<_, ()>(i)), Ok(i));
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(cache.pinned(), PINNED);
    }
}
