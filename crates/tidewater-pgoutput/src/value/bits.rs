//! `bit(n)` and `bit varying(n)`.

use std::borrow::Cow;
use std::fmt;

use super::error::{Fail, Reader};

/// A bit string: a length in bits and the bits packed most significant
/// first, with the unused low bits of the last byte zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitString<'a> {
    len: usize,
    bytes: Cow<'a, [u8]>,
}

impl<'a> BitString<'a> {
    /// Bits packed most significant bit first. `bytes` must be exactly
    /// `len.div_ceil(8)` long; padding bits are cleared (copying only if one
    /// was set).
    pub fn from_bytes(len: usize, bytes: impl Into<Cow<'a, [u8]>>) -> Option<Self> {
        let mut bytes = bytes.into();
        if bytes.len() != len.div_ceil(8) {
            return None;
        }
        let used = len % 8;
        if used != 0 {
            let mask = 0xFFu8 << (8 - used);
            if bytes.last().is_some_and(|&b| b & !mask != 0)
                && let Some(last) = bytes.to_mut().last_mut()
            {
                *last &= mask;
            }
        }
        Some(BitString { len, bytes })
    }

    /// Parses a string of `0` and `1` characters.
    pub fn parse(text: &str) -> Option<BitString<'static>> {
        let len = text.len();
        let mut bytes = vec![0u8; len.div_ceil(8)];
        for (i, c) in text.bytes().enumerate() {
            let bit = match c {
                b'0' => false,
                b'1' => true,
                _ => return None,
            };
            if bit && let Some(b) = bytes.get_mut(i / 8) {
                *b |= 0x80 >> (i % 8);
            }
        }
        Some(BitString {
            len,
            bytes: Cow::Owned(bytes),
        })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bit `i` (0 is the leftmost).
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        self.bytes.get(i / 8).map(|b| b & (0x80 >> (i % 8)) != 0)
    }

    /// The bits from left to right.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i).unwrap_or(false))
    }

    /// The text form, e.g. `"10110"`.
    pub fn to_bit_string(&self) -> String {
        self.iter().map(|b| if b { '1' } else { '0' }).collect()
    }

    /// Copies borrowed bytes so the value no longer borrows the input.
    pub fn into_owned(self) -> BitString<'static> {
        BitString {
            len: self.len,
            bytes: Cow::Owned(self.bytes.into_owned()),
        }
    }
}

impl fmt::Display for BitString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.iter() {
            f.write_str(if b { "1" } else { "0" })?;
        }
        Ok(())
    }
}

/// Text form.
pub(crate) fn decode_text(text: &str) -> Result<BitString<'static>, Fail> {
    BitString::parse(text).ok_or(Fail::Msg("bit string has a character other than 0 or 1"))
}

/// Binary form: i32 bit length then the packed bytes.
pub(crate) fn decode_binary(raw: &[u8]) -> Result<BitString<'_>, Fail> {
    let mut r = Reader::new(raw);
    let len = r
        .i32()
        .ok_or_else(|| Fail::Text(format!("bit length needs 4 bytes, {} available", raw.len())))?;
    let len = usize::try_from(len).map_err(|_| Fail::Text(format!("negative bit length {len}")))?;
    let need = len.div_ceil(8);
    if r.remaining() != need {
        return Err(Fail::Text(format!(
            "{len} bits need {need} bytes, {} remain",
            r.remaining()
        )));
    }
    BitString::from_bytes(len, r.rest()).ok_or(Fail::Msg("bit length does not match the data"))
}

/// Appends the binary form.
pub(crate) fn encode_binary(bits: &BitString<'_>, out: &mut Vec<u8>) -> Result<(), Fail> {
    let len = i32::try_from(bits.len()).map_err(|_| Fail::Msg("bit string too long"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bits.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn text_and_binary() {
        let b = decode_text("101100001").unwrap();
        assert_eq!(b.len(), 9);
        assert_eq!(b.as_bytes(), &[0b1011_0000, 0b1000_0000]);
        assert_eq!(b.get(0), Some(true));
        assert_eq!(b.get(1), Some(false));
        assert_eq!(b.get(9), None);
        assert_eq!(b.to_bit_string(), "101100001");
        let mut raw = Vec::new();
        encode_binary(&b, &mut raw).unwrap();
        assert_eq!(raw, [0, 0, 0, 9, 0b1011_0000, 0b1000_0000]);
        assert_eq!(decode_binary(&raw).unwrap(), b);
        let empty = decode_text("").unwrap();
        assert!(empty.is_empty());
        assert_eq!(decode_binary(&[0, 0, 0, 0]).unwrap(), empty);
    }

    #[test]
    fn padding_is_cleared_and_bad_input_rejected() {
        let b = decode_binary(&[0, 0, 0, 3, 0xFF]).unwrap();
        assert_eq!(b.as_bytes(), &[0xE0]);
        assert_eq!(b.to_string(), "111");
        assert!(decode_text("10a").is_err());
        assert!(decode_text("1 0").is_err());
        assert!(decode_binary(&[0, 0, 0, 9, 0xFF]).is_err());
        assert!(decode_binary(&[0, 0, 0, 1, 0xFF, 0]).is_err());
        assert!(decode_binary(&[0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(decode_binary(&[0x7F, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(decode_binary(&[0, 0]).is_err());
        assert!(BitString::from_bytes(9, &[0u8][..]).is_none());
    }
}
