//! TupleData: the column values of a row, kept as one zero-copy slice of the frame.

use bytes::{BufMut, Bytes};

use crate::error::DecodeError;
use crate::reader::Reader;

/// One column of a [`TupleData`], borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Column<'a> {
    /// `n`: SQL NULL.
    Null,
    /// `u`: an unchanged TOASTed value that the server did not send.
    UnchangedToast,
    /// `t`: the value in the type's text output format.
    Text(&'a [u8]),
    /// `b`: the value in the type's binary send format.
    Binary(&'a [u8]),
}

impl<'a> Column<'a> {
    /// The wire tag of this column kind (`n`, `u`, `t` or `b`).
    pub fn tag(&self) -> u8 {
        match self {
            Column::Null => b'n',
            Column::UnchangedToast => b'u',
            Column::Text(_) => b't',
            Column::Binary(_) => b'b',
        }
    }

    /// The raw value bytes for `t` and `b` columns.
    pub fn data(&self) -> Option<&'a [u8]> {
        match self {
            Column::Text(d) | Column::Binary(d) => Some(d),
            Column::Null | Column::UnchangedToast => None,
        }
    }

    /// The number of bytes this column occupies on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            Column::Null | Column::UnchangedToast => 1,
            Column::Text(d) | Column::Binary(d) => 5 + d.len(),
        }
    }
}

/// The columns of one row as sent by pgoutput (`TupleData`).
///
/// The tuple keeps the frame's bytes (a reference-counted slice, never a copy)
/// and was validated when decoded, so iterating its columns allocates nothing
/// and cannot fail.
///
/// ```
/// use tidewater_pgoutput::{Column, TupleData};
/// let tuple = TupleData::from_columns(&[Column::Text(b"42"), Column::Null, Column::UnchangedToast]);
/// let cols: Vec<_> = tuple.iter().collect();
/// assert_eq!(cols, [Column::Text(b"42"), Column::Null, Column::UnchangedToast]);
/// assert_eq!(tuple.get(0), Some(Column::Text(b"42")));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TupleData {
    /// The wire bytes: Int16 count followed by the columns.
    bytes: Bytes,
    count: u16,
}

impl TupleData {
    /// Reads a TupleData starting at the reader's position in `frame`; the reader
    /// must be positioned on the Int16 column count. Returns a slice of `frame`.
    #[inline]
    pub(crate) fn read(
        reader: &mut Reader<'_>,
        frame: &Bytes,
        tuple: &'static str,
    ) -> Result<TupleData, DecodeError> {
        let start = reader.position();
        match Self::measure(reader.rest()) {
            Some((count, len)) => {
                reader.advance(len);
                Ok(TupleData {
                    bytes: frame.slice(start..start + len),
                    count,
                })
            }
            None => Err(Self::explain(reader, tuple)),
        }
    }

    /// Validates a TupleData at the start of `buf`: its column count and length
    /// in bytes, or `None` when it is malformed.
    #[inline]
    fn measure(buf: &[u8]) -> Option<(u16, usize)> {
        let (count, mut rest) = buf.split_first_chunk::<2>()?;
        let count = u16::try_from(i16::from_be_bytes(*count)).ok()?;
        for _ in 0..count {
            let (&tag, after) = rest.split_first()?;
            rest = match tag {
                b'n' | b'u' => after,
                b't' | b'b' => {
                    let (len, after) = after.split_first_chunk::<4>()?;
                    let len = usize::try_from(i32::from_be_bytes(*len)).ok()?;
                    after.get(len..)?
                }
                _ => return None,
            };
        }
        Some((count, buf.len() - rest.len()))
    }

    /// Walks a malformed TupleData again to say what is wrong with it.
    #[cold]
    #[inline(never)]
    fn explain(reader: &mut Reader<'_>, tuple: &'static str) -> DecodeError {
        let count_pos = reader.position();
        let count = match reader.i16("column count") {
            Ok(c) => c,
            Err(e) => return e,
        };
        let Ok(count) = u16::try_from(count) else {
            return reader.invalid("column count", count_pos, format!("{count} is negative"));
        };
        let message = reader.message();
        for column in 0..usize::from(count) {
            let offset = reader.offset();
            let bad = |reason: String| DecodeError::InvalidColumn {
                message,
                tuple,
                column,
                offset,
                reason,
            };
            let tag = match reader.u8("column kind") {
                Ok(t) => t,
                Err(e) => return bad(e.to_string()),
            };
            match tag {
                b'n' | b'u' => {}
                b't' | b'b' => {
                    let len = match reader.i32("column length") {
                        Ok(l) => l,
                        Err(e) => return bad(e.to_string()),
                    };
                    let Ok(len) = usize::try_from(len) else {
                        return bad(format!("length {len} is negative"));
                    };
                    if let Err(e) = reader.bytes(len, "column value") {
                        return bad(e.to_string());
                    }
                }
                other => {
                    return DecodeError::UnknownTag {
                        context: "TupleData column kind",
                        tag: other,
                        offset,
                    };
                }
            }
        }
        // Unreachable when `measure` rejected the tuple; kept as a safe answer.
        reader.invalid("column count", count_pos, "malformed tuple")
    }

    /// Builds a tuple from columns (for encoders, fixtures and test doubles).
    ///
    /// # Panics
    /// Never for tuples of at most `i16::MAX` columns whose values are at most
    /// `i32::MAX` bytes each; larger inputs cannot be represented on the wire and
    /// are truncated to those limits.
    pub fn from_columns(columns: &[Column<'_>]) -> TupleData {
        let count = columns.len().min(i16::MAX as usize);
        let shown = columns.get(..count).unwrap_or_default();
        let len = 2 + shown.iter().map(Column::encoded_len).sum::<usize>();
        let mut buf = Vec::with_capacity(len);
        buf.put_i16(count as i16);
        for column in shown {
            buf.put_u8(column.tag());
            if let Some(data) = column.data() {
                let data = data
                    .get(..data.len().min(i32::MAX as usize))
                    .unwrap_or_default();
                buf.put_i32(data.len() as i32);
                buf.put_slice(data);
            }
        }
        TupleData {
            bytes: Bytes::from(buf),
            count: count as u16,
        }
    }

    /// Number of columns.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the tuple has no columns.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The columns in order.
    #[inline]
    pub fn iter(&self) -> TupleIter<'_> {
        TupleIter {
            buf: self.bytes.get(2..).unwrap_or_default(),
            left: self.count,
        }
    }

    /// The column at `index`, walking the tuple from the start.
    pub fn get(&self, index: usize) -> Option<Column<'_>> {
        self.iter().nth(index)
    }

    /// The wire bytes of the whole TupleData (count and columns).
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// A zero-copy [`Bytes`] of a column's value (for `t` and `b` columns).
    pub fn value_bytes(&self, column: &Column<'_>) -> Option<Bytes> {
        column.data().map(|d| self.bytes.slice_ref(d))
    }

    pub(crate) fn encode(&self, out: &mut impl BufMut) {
        out.put_slice(&self.bytes);
    }

    /// Encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }
}

impl std::fmt::Debug for TupleData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|c| match c {
                Column::Null => ColumnDebug::Null,
                Column::UnchangedToast => ColumnDebug::Toast,
                Column::Text(t) => ColumnDebug::Text(String::from_utf8_lossy(t)),
                Column::Binary(b) => ColumnDebug::Binary(b),
            }))
            .finish()
    }
}

#[derive(Debug)]
#[allow(dead_code, reason = "fields are read by Debug")]
enum ColumnDebug<'a> {
    Null,
    Toast,
    Text(std::borrow::Cow<'a, str>),
    Binary(&'a [u8]),
}

impl<'a> IntoIterator for &'a TupleData {
    type Item = Column<'a>;
    type IntoIter = TupleIter<'a>;
    fn into_iter(self) -> TupleIter<'a> {
        self.iter()
    }
}

/// Iterator over the columns of a [`TupleData`].
#[derive(Debug, Clone)]
pub struct TupleIter<'a> {
    buf: &'a [u8],
    left: u16,
}

impl<'a> Iterator for TupleIter<'a> {
    type Item = Column<'a>;

    #[inline]
    fn next(&mut self) -> Option<Column<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The tuple was validated on construction; the checked accessors below
        // only guard against a bug, ending the iteration instead of panicking.
        let (&tag, rest) = self.buf.split_first()?;
        match tag {
            b'n' => {
                self.buf = rest;
                Some(Column::Null)
            }
            b'u' => {
                self.buf = rest;
                Some(Column::UnchangedToast)
            }
            _ => {
                let (len, rest) = rest.split_first_chunk::<4>()?;
                let len = usize::try_from(i32::from_be_bytes(*len)).ok()?;
                let (data, rest) = rest.split_at_checked(len)?;
                self.buf = rest;
                Some(if tag == b't' {
                    Column::Text(data)
                } else {
                    Column::Binary(data)
                })
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}
