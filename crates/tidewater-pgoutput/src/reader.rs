//! A bounds-checked big-endian reader whose every read names the field it reads.

use crate::error::DecodeError;

/// Reads fields from one message; errors carry the message kind, field and offset.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where the message starts in `buf`; offsets in errors are relative to it.
    base: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], message: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
            message,
        }
    }

    /// Reads a message that starts at `base` in `buf`, from `pos` on (after the
    /// tag byte the caller read). Offsets in errors are relative to `base`.
    pub(crate) fn at(buf: &'a [u8], base: usize, pos: usize, message: &'static str) -> Self {
        Reader {
            buf,
            pos,
            base,
            message,
        }
    }

    pub(crate) fn message(&self) -> &'static str {
        self.message
    }

    /// Absolute position in the buffer.
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Position relative to the start of the message, for errors.
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.pos.saturating_sub(self.base)
    }

    /// Offset relative to the start of the message of an absolute position.
    #[inline]
    pub(crate) fn offset_of(&self, pos: usize) -> usize {
        pos.saturating_sub(self.base)
    }

    /// The unread bytes.
    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Moves past `len` bytes that the caller has already checked are present.
    #[inline]
    pub(crate) fn advance(&mut self, len: usize) {
        self.pos = self.pos.saturating_add(len).min(self.buf.len());
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline]
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        field: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(len);
        match end.and_then(|end| self.buf.get(self.pos..end)) {
            Some(slice) => {
                self.pos += len;
                Ok(slice)
            }
            None => Err(DecodeError::UnexpectedEnd {
                message: self.message,
                field,
                offset: self.offset(),
                needed: len,
                available: self.remaining(),
            }),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let slice = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    #[inline]
    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A NUL-terminated UTF-8 string (the NUL is consumed, not returned).
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let rest = self.buf.get(start..).unwrap_or_default();
        let Some(nul) = memchr::memchr(0, rest) else {
            return Err(DecodeError::UnterminatedString {
                message: self.message,
                field,
                offset: self.offset_of(start),
            });
        };
        let raw = rest.get(..nul).unwrap_or_default();
        let s = std::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8 {
            message: self.message,
            field,
            offset: self.offset_of(start),
        })?;
        self.pos = start + nul + 1;
        Ok(s)
    }

    /// An InvalidField error for a field that started at absolute position `pos`
    /// (reported relative to the start of the message).
    pub(crate) fn invalid(
        &self,
        field: &'static str,
        pos: usize,
        reason: impl Into<String>,
    ) -> DecodeError {
        DecodeError::InvalidField {
            message: self.message,
            field,
            offset: self.offset_of(pos),
            reason: reason.into(),
        }
    }

    /// Fails when bytes remain after the last field.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            remaining => Err(DecodeError::TrailingBytes {
                message: self.message,
                offset: self.offset(),
                remaining,
            }),
        }
    }
}
