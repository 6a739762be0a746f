//! Errors of the value decoder and encoder.

use std::borrow::Cow;
use std::fmt;

use super::oid;

/// Wire format of a column value.
///
/// pgoutput sends values in text form unless the subscriber asked for
/// `binary 'true'`, in which case each type's `send` function is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The type's text output (`typoutput`).
    Text,
    /// The type's binary send format (`typsend`).
    Binary,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Text => "text",
            Format::Binary => "binary",
        })
    }
}

/// A column value could not be decoded (or encoded).
///
/// Every variant names the type (its OID and, for built-in types, its name;
/// `"user-defined type"` otherwise), the wire format and what was wrong, so
/// the message alone is enough to locate the problem, for example
/// `numeric (oid 1700) binary: ndigits 5 needs 10 bytes, 4 remain`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The bytes are not a valid value of the type.
    #[error("{type_name} (oid {type_oid}) {format}: {reason}")]
    Invalid {
        /// Name of the type.
        type_name: &'static str,
        /// OID of the type.
        type_oid: u32,
        /// Format being decoded.
        format: Format,
        /// What was wrong.
        reason: Cow<'static, str>,
    },
    /// A fixed-size binary value had the wrong number of bytes.
    #[error("{type_name} (oid {type_oid}) {format}: expected {expected} bytes, got {actual}")]
    Length {
        /// Name of the type.
        type_name: &'static str,
        /// OID of the type.
        type_oid: u32,
        /// Format being decoded.
        format: Format,
        /// Number of bytes the type needs.
        expected: usize,
        /// Number of bytes received.
        actual: usize,
    },
    /// A textual value was not valid UTF-8.
    #[error("{type_name} (oid {type_oid}) {format}: not valid UTF-8: {source}")]
    Utf8 {
        /// Name of the type.
        type_name: &'static str,
        /// OID of the type.
        type_oid: u32,
        /// Format being decoded.
        format: Format,
        /// The UTF-8 error.
        source: std::str::Utf8Error,
    },
    /// An element of an array could not be decoded.
    #[error("{type_name} (oid {type_oid}) {format}: element {index}: {source}")]
    Element {
        /// Name of the array type.
        type_name: &'static str,
        /// OID of the array type.
        type_oid: u32,
        /// Format being decoded.
        format: Format,
        /// Zero-based position of the element in row-major order.
        index: usize,
        /// The element's error.
        source: Box<ValueError>,
    },
    /// A value cannot be encoded as the requested type.
    #[error("cannot encode {value_kind} value as {type_name} (oid {type_oid}) {format}: {reason}")]
    Encode {
        /// Name of the target type.
        type_name: &'static str,
        /// OID of the target type.
        type_oid: u32,
        /// Target format.
        format: Format,
        /// The [`PgValue`](super::PgValue) variant that was given.
        value_kind: &'static str,
        /// Why it cannot be encoded.
        reason: Cow<'static, str>,
    },
}

impl ValueError {
    /// OID of the type the error is about.
    pub fn type_oid(&self) -> u32 {
        match self {
            ValueError::Invalid { type_oid, .. }
            | ValueError::Length { type_oid, .. }
            | ValueError::Utf8 { type_oid, .. }
            | ValueError::Element { type_oid, .. }
            | ValueError::Encode { type_oid, .. } => *type_oid,
        }
    }

    /// Format the error is about.
    pub fn format(&self) -> Format {
        match self {
            ValueError::Invalid { format, .. }
            | ValueError::Length { format, .. }
            | ValueError::Utf8 { format, .. }
            | ValueError::Element { format, .. }
            | ValueError::Encode { format, .. } => *format,
        }
    }
}

/// Name used in messages for a type OID.
pub(crate) fn display_name(type_oid: u32) -> &'static str {
    oid::type_name(type_oid).unwrap_or("user-defined type")
}

/// Why a decoder failed, before the type and format are attached.
///
/// Decoders return this cheap value; strings are only built on failure.
#[derive(Debug)]
pub(crate) enum Fail {
    /// A fixed reason.
    Msg(&'static str),
    /// A reason built at the point of failure.
    Text(String),
    /// Wrong byte count for a fixed-size value.
    Length { expected: usize, actual: usize },
    /// Invalid UTF-8.
    Utf8(std::str::Utf8Error),
    /// An array element failed.
    Element {
        index: usize,
        source: Box<ValueError>,
    },
}

impl Fail {
    /// Attaches the type and format.
    pub(crate) fn at(self, type_oid: u32, format: Format) -> ValueError {
        let type_name = display_name(type_oid);
        match self {
            Fail::Msg(reason) => ValueError::Invalid {
                type_name,
                type_oid,
                format,
                reason: Cow::Borrowed(reason),
            },
            Fail::Text(reason) => ValueError::Invalid {
                type_name,
                type_oid,
                format,
                reason: Cow::Owned(reason),
            },
            Fail::Length { expected, actual } => ValueError::Length {
                type_name,
                type_oid,
                format,
                expected,
                actual,
            },
            Fail::Utf8(source) => ValueError::Utf8 {
                type_name,
                type_oid,
                format,
                source,
            },
            Fail::Element { index, source } => ValueError::Element {
                type_name,
                type_oid,
                format,
                index,
                source,
            },
        }
    }
}

impl From<std::str::Utf8Error> for Fail {
    fn from(e: std::str::Utf8Error) -> Self {
        Fail::Utf8(e)
    }
}

/// Checks that `raw` is exactly `N` bytes and returns them as an array.
pub(crate) fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], Fail> {
    <[u8; N]>::try_from(raw).map_err(|_| Fail::Length {
        expected: N,
        actual: raw.len(),
    })
}

/// Interprets `raw` as UTF-8.
pub(crate) fn utf8(raw: &[u8]) -> Result<&str, Fail> {
    std::str::from_utf8(raw).map_err(Fail::Utf8)
}

/// A cursor over untrusted binary input; every read is bounds-checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The unread bytes.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Takes `n` bytes, or `None` (consuming nothing) if fewer remain.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.buf.split_at_checked(n)?;
        self.buf = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.buf.split_first_chunk::<N>()?;
        self.buf = tail;
        Some(*head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }

    pub(crate) fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_type_format_and_reason() {
        let e = Fail::Text("ndigits 5 needs 10 bytes, 4 remain".into()).at(1700, Format::Binary);
        assert_eq!(
            e.to_string(),
            "numeric (oid 1700) binary: ndigits 5 needs 10 bytes, 4 remain"
        );
        let e = Fail::Length {
            expected: 4,
            actual: 3,
        }
        .at(23, Format::Binary);
        assert_eq!(
            e.to_string(),
            "int4 (oid 23) binary: expected 4 bytes, got 3"
        );
        assert_eq!(e.type_oid(), 23);
        assert_eq!(e.format(), Format::Binary);
        let e = Fail::Msg("bad").at(99999, Format::Text);
        assert_eq!(e.to_string(), "user-defined type (oid 99999) text: bad");
    }

    #[test]
    fn reader_is_bounds_checked() {
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.u16(), Some(1));
        assert_eq!(r.i32(), None);
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.take(2), None);
        assert_eq!(r.u8(), Some(2));
        assert_eq!(r.u8(), None);
    }
}
