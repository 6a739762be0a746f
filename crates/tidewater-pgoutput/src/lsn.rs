//! Log sequence numbers.

use std::fmt;
use std::str::FromStr;

/// A PostgreSQL log sequence number: a byte position in the write-ahead log.
///
/// Displayed and parsed as `X/Y` (the high and low 32 bits in upper-case hex),
/// the form PostgreSQL prints. Ordering is the numeric order of positions.
///
/// ```
/// use tidewater_pgoutput::Lsn;
/// let lsn: Lsn = "16/B374D848".parse()?;
/// assert_eq!(u64::from(lsn), 0x16_B374_D848);
/// assert_eq!(lsn.to_string(), "16/B374D848");
/// assert_eq!((lsn + 8).to_string(), "16/B374D850");
/// assert_eq!(lsn - Lsn::new(0x16_B374_D800), 0x48);
/// # Ok::<(), tidewater_pgoutput::ParseLsnError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// The invalid position `0/0`, which PostgreSQL uses for "none".
    pub const INVALID: Lsn = Lsn(0);
    /// The largest position.
    pub const MAX: Lsn = Lsn(u64::MAX);

    /// Wraps a raw position.
    pub const fn new(value: u64) -> Self {
        Lsn(value)
    }

    /// The raw position.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// Whether this is `0/0`.
    pub const fn is_invalid(self) -> bool {
        self.0 == 0
    }

    /// Adds `bytes`, or `None` on overflow.
    pub const fn checked_add(self, bytes: u64) -> Option<Lsn> {
        match self.0.checked_add(bytes) {
            Some(v) => Some(Lsn(v)),
            None => None,
        }
    }

    /// Bytes from `earlier` to `self`, or `None` when `earlier` is ahead.
    pub const fn checked_distance(self, earlier: Lsn) -> Option<u64> {
        self.0.checked_sub(earlier.0)
    }

    /// Bytes from `earlier` to `self`, zero when `earlier` is ahead.
    pub const fn saturating_distance(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl From<u64> for Lsn {
    fn from(value: u64) -> Self {
        Lsn(value)
    }
}

impl From<Lsn> for u64 {
    fn from(lsn: Lsn) -> Self {
        lsn.0
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Adds a byte count; saturates at [`Lsn::MAX`] instead of wrapping.
impl std::ops::Add<u64> for Lsn {
    type Output = Lsn;
    fn add(self, bytes: u64) -> Lsn {
        Lsn(self.0.saturating_add(bytes))
    }
}

/// Distance in bytes; saturates at zero when the right side is ahead.
impl std::ops::Sub<Lsn> for Lsn {
    type Output = u64;
    fn sub(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Why a string is not an LSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LSN {input:?}: expected `X/Y` with 1 to 8 hex digits on each side")]
pub struct ParseLsnError {
    /// The rejected input (at most 64 characters of it).
    pub input: String,
}

impl FromStr for Lsn {
    type Err = ParseLsnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError {
            input: s.chars().take(64).collect(),
        };
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let part = |p: &str| {
            if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                None
            } else {
                u32::from_str_radix(p, 16).ok()
            }
        };
        let hi = part(hi).ok_or_else(err)?;
        let lo = part(lo).ok_or_else(err)?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!("0/0".parse::<Lsn>().unwrap(), Lsn::INVALID);
        assert_eq!("0/16B3748".parse::<Lsn>().unwrap(), Lsn(0x16B3748));
        assert_eq!("ffffffff/ffffffff".parse::<Lsn>().unwrap(), Lsn::MAX);
        assert_eq!(Lsn::MAX.to_string(), "FFFFFFFF/FFFFFFFF");
        assert_eq!(Lsn(0x1_0000_0000).to_string(), "1/0");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "/",
            "0/",
            "/0",
            "1/2/3",
            "g/0",
            "0/123456789",
            "-1/0",
            " 0/0",
            "0/0 ",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn arithmetic() {
        assert_eq!(Lsn(10) + 5, Lsn(15));
        assert_eq!(Lsn::MAX + 1, Lsn::MAX);
        assert_eq!(Lsn(10) - Lsn(4), 6);
        assert_eq!(Lsn(4) - Lsn(10), 0);
        assert_eq!(Lsn(4).checked_distance(Lsn(10)), None);
        assert_eq!(Lsn(u64::MAX).checked_add(1), None);
        assert!(Lsn(1) < Lsn(2));
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(v: u64) {
            let lsn = Lsn(v);
            prop_assert_eq!(lsn.to_string().parse::<Lsn>().unwrap(), lsn);
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Lsn>();
        }
    }
}
