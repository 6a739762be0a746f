//! Iteration order of a `java.util.HashMap<String, _>`.
//!
//! Debezium builds some maps in a Java `HashMap` (hstore values, per-table
//! counts of a transaction) and serializes them in its iteration order. To be
//! byte-compatible we reproduce that order: bucket index
//! `(h ^ (h >>> 16)) & (capacity - 1)` of `String.hashCode()`, buckets in
//! ascending order, insertion order within a bucket; capacity starts at 16
//! and doubles whenever the size exceeds three quarters of it.

/// Java's `String.hashCode()` (over UTF-16 code units).
pub(crate) fn java_string_hash(s: &str) -> i32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    h
}

fn spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// Puts `entries` into a simulated `HashMap` in order (a repeated key
/// replaces the value and keeps its place) and returns them in the map's
/// iteration order.
pub(crate) fn hashmap_order<V>(entries: Vec<(String, V)>) -> Vec<(String, V)> {
    let mut unique: Vec<(String, V)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        match unique.iter_mut().find(|(existing, _)| *existing == k) {
            Some(slot) => slot.1 = v,
            None => unique.push((k, v)),
        }
    }
    let mut capacity: usize = 16;
    while unique.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    let mut keyed: Vec<(u32, usize, (String, V))> = unique
        .into_iter()
        .enumerate()
        .map(|(i, (k, v))| (spread(java_string_hash(&k)) & mask, i, (k, v)))
        .collect();
    keyed.sort_by_key(|(bucket, i, _)| (*bucket, *i));
    keyed.into_iter().map(|(_, _, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        // Values of "".hashCode(), "a".hashCode(), "hello".hashCode() in Java.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("public.orders"), {
            let mut h: i32 = 0;
            for c in "public.orders".chars() {
                h = h.wrapping_mul(31).wrapping_add(c as i32);
            }
            h
        });
    }

    #[test]
    fn order_is_by_bucket() {
        // "b" (98) lands in bucket 2, "a" (97) in bucket 1, "q" (113) in bucket 1.
        let out = hashmap_order(vec![("b".into(), 1), ("q".into(), 2), ("a".into(), 3)]);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["q", "a", "b"]);
        let out = hashmap_order(vec![("a".into(), 1), ("a".into(), 2)]);
        assert_eq!(out, vec![("a".to_string(), 2)]);
    }
}
