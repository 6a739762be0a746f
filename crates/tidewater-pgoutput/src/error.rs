//! Decoding errors.

/// Why bytes could not be decoded as a replication frame or pgoutput message.
///
/// Every variant names the message kind being decoded (`"Insert"`, `"XLogData"`,
/// ...), the field, and the byte offset within the message where decoding
/// stopped, so a bad message in a stream of millions can be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error(
        "{message}: {field} at offset {offset} needs {needed} bytes but only {available} remain"
    )]
    UnexpectedEnd {
        /// Message kind being decoded.
        message: &'static str,
        /// Field being read.
        field: &'static str,
        /// Offset of the field within the message.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A tag byte that is not defined by the protocol.
    #[error("{context}: unknown tag {} (0x{tag:02x}) at offset {offset}", printable(*.tag))]
    UnknownTag {
        /// What the tag selects (`"pgoutput message"`, `"Update old tuple"`, ...).
        context: &'static str,
        /// The tag byte.
        tag: u8,
        /// Offset of the tag.
        offset: usize,
    },
    /// A field whose value is out of range or inconsistent.
    #[error("{message}: {field} at offset {offset}: {reason}")]
    InvalidField {
        /// Message kind being decoded.
        message: &'static str,
        /// Field being read.
        field: &'static str,
        /// Offset of the field within the message.
        offset: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A column of a TupleData is malformed.
    #[error("{message}: {tuple} column {column} at offset {offset}: {reason}")]
    InvalidColumn {
        /// Message kind being decoded.
        message: &'static str,
        /// Which tuple of the message (`"new tuple"`, `"old key"`, ...).
        tuple: &'static str,
        /// Zero-based column index.
        column: usize,
        /// Offset of the column within the message.
        offset: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A string field has no terminating NUL byte.
    #[error("{message}: {field} at offset {offset} is not NUL-terminated")]
    UnterminatedString {
        /// Message kind being decoded.
        message: &'static str,
        /// Field being read.
        field: &'static str,
        /// Offset of the string.
        offset: usize,
    },
    /// A string field is not valid UTF-8.
    #[error("{message}: {field} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Message kind being decoded.
        message: &'static str,
        /// Field being read.
        field: &'static str,
        /// Offset of the string.
        offset: usize,
    },
    /// Bytes are left over after the last field of a message.
    #[error("{message}: {remaining} unexpected bytes after the last field at offset {offset}")]
    TrailingBytes {
        /// Message kind being decoded.
        message: &'static str,
        /// Offset of the first unexpected byte.
        offset: usize,
        /// How many bytes are left.
        remaining: usize,
    },
    /// The input is empty where a message was expected.
    #[error("{context}: empty input")]
    Empty {
        /// What was expected.
        context: &'static str,
    },
}

fn printable(tag: u8) -> String {
    if tag.is_ascii_graphic() {
        format!("'{}'", char::from(tag))
    } else {
        format!("byte {tag}")
    }
}

impl DecodeError {
    /// The byte offset within the message where decoding stopped, when known.
    pub fn offset(&self) -> Option<usize> {
        match self {
            DecodeError::UnexpectedEnd { offset, .. }
            | DecodeError::UnknownTag { offset, .. }
            | DecodeError::InvalidField { offset, .. }
            | DecodeError::InvalidColumn { offset, .. }
            | DecodeError::UnterminatedString { offset, .. }
            | DecodeError::InvalidUtf8 { offset, .. }
            | DecodeError::TrailingBytes { offset, .. } => Some(*offset),
            DecodeError::Empty { .. } => None,
        }
    }
}
