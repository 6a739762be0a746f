//! Message framing of the frontend/backend protocol over any byte stream.
//!
//! CopyData, CopyDone and CopyBothResponse are split off here (CopyData stays a
//! zero-copy slice of the read buffer, and postgres-protocol's parser does not
//! know CopyBothResponse); every other backend message is parsed by
//! `postgres_protocol::message::backend::Message`.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::message::backend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A byte stream to the server: TCP, Unix socket or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Largest backend message accepted. PostgreSQL builds messages in buffers of at
/// most 1 GB; a longer length means a broken stream.
const MAX_MESSAGE_LEN: usize = 1 << 30;

/// How much to read at a time at least.
const READ_CHUNK: usize = 64 * 1024;

/// A backend message.
pub(crate) enum Backend {
    /// `d`: the payload of a CopyData message.
    CopyData(Bytes),
    /// `c`: CopyDone.
    CopyDone,
    /// `W`: CopyBothResponse (the body, formats, is not needed).
    CopyBothResponse,
    /// Anything else, parsed by postgres-protocol.
    Message(backend::Message),
}

/// A framed connection: a read buffer, a write buffer and the stream.
pub(crate) struct Wire {
    io: Box<dyn Io>,
    read: BytesMut,
    write: BytesMut,
}

impl Wire {
    pub(crate) fn new(io: Box<dyn Io>) -> Wire {
        Wire {
            io,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::with_capacity(1024),
        }
    }

    /// The write buffer, for postgres-protocol's frontend message writers.
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.write
    }

    /// Writes out the write buffer. Not cancel-safe: never race it in a `select!`.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if !self.write.is_empty() {
            self.io.write_all(&self.write).await?;
            self.write.clear();
        }
        self.io.flush().await
    }

    /// Reads the next backend message. Cancel-safe: bytes already read stay buffered.
    pub(crate) async fn read(&mut self) -> io::Result<Backend> {
        loop {
            if let Some(message) = self.parse()? {
                return Ok(message);
            }
            if self.read.capacity() - self.read.len() < READ_CHUNK {
                self.read.reserve(READ_CHUNK);
            }
            if self.io.read_buf(&mut self.read).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
        }
    }

    /// Splits one complete message off the read buffer.
    fn parse(&mut self) -> io::Result<Option<Backend>> {
        let Some(&[tag, l0, l1, l2, l3]) = self.read.get(..5) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
        if !(4..=MAX_MESSAGE_LEN).contains(&len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "backend message `{}` declares length {len}",
                    char::from(tag).escape_default()
                ),
            ));
        }
        let total = len + 1;
        if self.read.len() < total {
            self.read.reserve(total - self.read.len());
            return Ok(None);
        }
        match tag {
            b'd' => {
                let mut frame = self.read.split_to(total);
                frame.advance(5);
                Ok(Some(Backend::CopyData(frame.freeze())))
            }
            b'c' => {
                self.read.advance(total);
                Ok(Some(Backend::CopyDone))
            }
            b'W' => {
                self.read.advance(total);
                Ok(Some(Backend::CopyBothResponse))
            }
            _ => match backend::Message::parse(&mut self.read)? {
                Some(message) => Ok(Some(Backend::Message(message))),
                // The length was checked above; postgres-protocol agrees on framing.
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "incomplete backend message",
                )),
            },
        }
    }

    /// Shuts the stream down (best effort).
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.io.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    fn wire_with(input: Vec<u8>) -> Wire {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            server.write_all(&input).await.unwrap();
            server.shutdown().await.unwrap();
            // Keep the other half open until the test drops the runtime.
            std::future::pending::<()>().await;
        });
        Wire::new(Box::new(client))
    }

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[tokio::test]
    async fn splits_copy_messages_and_delegates_the_rest() {
        let mut input = message(b'W', &[0, 0, 0]);
        input.extend(message(b'd', b"wpayload"));
        input.extend(message(b'Z', b"I"));
        input.extend(message(b'c', b""));
        let mut wire = wire_with(input);
        assert!(matches!(
            wire.read().await.unwrap(),
            Backend::CopyBothResponse
        ));
        match wire.read().await.unwrap() {
            Backend::CopyData(b) => assert_eq!(&b[..], b"wpayload"),
            _ => panic!("expected CopyData"),
        }
        assert!(matches!(
            wire.read().await.unwrap(),
            Backend::Message(backend::Message::ReadyForQuery(_))
        ));
        assert!(matches!(wire.read().await.unwrap(), Backend::CopyDone));
        let eof = wire.read().await.err().expect("end of stream");
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn rejects_impossible_lengths() {
        let mut wire = wire_with(vec![b'd', 0, 0, 0, 2]);
        let err = wire.read().await.err().expect("bad length");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let mut wire = wire_with(vec![b'd', 0x7f, 0xff, 0xff, 0xff]);
        assert!(wire.read().await.is_err());
    }
}
