//! Interpreting `atttypmod` (the column's type modifier; -1 when absent).

/// `VARHDRSZ`, added to length-style modifiers.
const VARHDRSZ: i32 = 4;

/// Precision and scale of `numeric(p, s)`; `None` for plain `numeric`.
///
/// The scale is signed: PostgreSQL 15+ accepts scales from -1000 to 1000
/// (`numeric(3, -2)` rounds to hundreds), stored as an 11-bit signed field.
pub fn numeric_precision_scale(typmod: i32) -> Option<(u16, i16)> {
    if typmod < VARHDRSZ {
        return None;
    }
    let t = typmod - VARHDRSZ;
    let precision = ((t >> 16) & 0xFFFF) as u16;
    // Sign-extend the low 11 bits.
    let scale = (((t & 0x7FF) ^ 1024) - 1024) as i16;
    Some((precision, scale))
}

/// Declared length of `varchar(n)` / `char(n)`; `None` when unlimited.
pub fn varchar_length(typmod: i32) -> Option<u32> {
    (typmod >= VARHDRSZ).then(|| (typmod - VARHDRSZ) as u32)
}

/// Fractional-second precision of `time(p)`, `timetz(p)`, `timestamp(p)`,
/// `timestamptz(p)`; `None` when unspecified (6).
pub fn time_precision(typmod: i32) -> Option<u8> {
    u8::try_from(typmod).ok()
}

/// Declared length of `bit(n)` / `varbit(n)`; `None` when unlimited.
pub fn bit_length(typmod: i32) -> Option<u32> {
    u32::try_from(typmod).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers() {
        // numeric(10,2): ((10 << 16) | 2) + 4
        assert_eq!(numeric_precision_scale((10 << 16 | 2) + 4), Some((10, 2)));
        assert_eq!(
            numeric_precision_scale((1000 << 16 | 1000) + 4),
            Some((1000, 1000))
        );
        // numeric(3,-2): scale stored as 11-bit two's complement.
        assert_eq!(
            numeric_precision_scale((3 << 16 | (0x800 - 2)) + 4),
            Some((3, -2))
        );
        assert_eq!(numeric_precision_scale(-1), None);
        assert_eq!(varchar_length(36), Some(32));
        assert_eq!(varchar_length(-1), None);
        assert_eq!(time_precision(3), Some(3));
        assert_eq!(time_precision(-1), None);
        assert_eq!(bit_length(8), Some(8));
        assert_eq!(bit_length(-1), None);
    }
}
