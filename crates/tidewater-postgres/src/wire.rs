//! Message framing of the frontend/backend protocol over any byte stream.
//!
//! CopyData, CopyDone and CopyBothResponse are split off here (CopyData stays a
//! zero-copy slice of the read buffer, and postgres-protocol's parser does not
//! know CopyBothResponse); every other backend message is parsed by
//! `postgres_protocol::message::backend::Message`.

use std::future::Future as _;
use std::io;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::message::backend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

/// A byte stream to the server: TCP, Unix socket or TLS over TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Largest backend message accepted. PostgreSQL builds messages in buffers of at
/// most 1 GB; a longer length means a broken stream.
const MAX_MESSAGE_LEN: usize = 1 << 30;

/// Size of the blocks the read buffer is allocated in. CopyData payloads stay
/// zero-copy slices of a block, so a block is freed only once every frame cut
/// from it is dropped; a new block is allocated when the current one is used up,
/// not for every read.
const READ_BLOCK: usize = 128 * 1024;

/// Spare room below which the read buffer moves to a new block before reading.
const MIN_READ_SPACE: usize = 8 * 1024;

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

/// A framed connection: a read side and a write side, which a running
/// replication stream hands to different owners (see [`WireReader`]).
pub(crate) struct Wire {
    reader: Option<WireReader>,
    writer: WireWriter,
}

/// The read side of a [`Wire`]: the stream's read half and the read buffer.
pub(crate) struct WireReader {
    io: ReadHalf<Box<dyn Io>>,
    buf: BytesMut,
}

/// The write side of a [`Wire`].
pub(crate) struct WireWriter {
    io: WriteHalf<Box<dyn Io>>,
    buf: BytesMut,
}

impl Wire {
    pub(crate) fn new(io: Box<dyn Io>) -> Wire {
        let (read, write) = tokio::io::split(io);
        Wire {
            reader: Some(WireReader {
                io: read,
                buf: BytesMut::with_capacity(READ_BLOCK),
            }),
            writer: WireWriter {
                io: write,
                buf: BytesMut::with_capacity(1024),
            },
        }
    }

    /// The write buffer, for postgres-protocol's frontend message writers.
    pub(crate) fn out(&mut self) -> &mut BytesMut {
        &mut self.writer.buf
    }

    /// Writes out the write buffer. Not cancel-safe: never race it in a `select!`.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        self.writer.flush().await
    }

    /// Reads the next backend message. Cancel-safe: bytes already read stay buffered.
    pub(crate) async fn read(&mut self) -> io::Result<Backend> {
        match self.reader.as_mut() {
            Some(reader) => reader.read().await,
            None => Err(io::Error::other(
                "the read side of the connection is in use elsewhere",
            )),
        }
    }

    /// Lends the read side out (to whoever reads a running replication stream).
    pub(crate) fn take_reader(&mut self) -> Option<WireReader> {
        self.reader.take()
    }

    /// Takes the read side back.
    pub(crate) fn put_reader(&mut self, reader: WireReader) {
        self.reader = Some(reader);
    }

    /// Shuts the stream down (best effort).
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.writer.io.shutdown().await;
    }
}

impl WireWriter {
    async fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.io.write_all(&self.buf).await?;
            self.buf.clear();
        }
        self.io.flush().await
    }
}

impl WireReader {
    /// Reads the next backend message. Cancel-safe: bytes already read stay buffered.
    pub(crate) async fn read(&mut self) -> io::Result<Backend> {
        loop {
            if let Some(message) = self.parse()? {
                return Ok(message);
            }
            self.fill().await?;
        }
    }

    /// The next backend message when it is already complete in the buffer,
    /// without reading the socket.
    pub(crate) fn buffered(&mut self) -> io::Result<Option<Backend>> {
        self.parse()
    }

    /// Reads what the socket holds right now, without waiting: `Ok(false)`
    /// when it holds nothing.
    pub(crate) fn fill_now(&mut self) -> io::Result<bool> {
        let mut cx = Context::from_waker(Waker::noop());
        match std::pin::pin!(self.fill()).poll(&mut cx) {
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Ok(false),
        }
    }

    /// One read from the socket into the buffer (whatever the socket holds, up
    /// to the buffer's spare room).
    async fn fill(&mut self) -> io::Result<()> {
        let spare = self.buf.capacity() - self.buf.len();
        if spare < MIN_READ_SPACE {
            // Frames cut from the current block may still be alive: reserving
            // moves the partial message at the front to a fresh block (or reuses
            // the block when nothing else holds it).
            self.buf.reserve(READ_BLOCK.max(self.buf.len()));
        }
        if self.io.read_buf(&mut self.buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }

    /// Splits one complete message off the read buffer.
    fn parse(&mut self) -> io::Result<Option<Backend>> {
        let Some(&[tag, l0, l1, l2, l3]) = self.buf.get(..5) else {
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
        if self.buf.len() < total {
            if self.buf.capacity() < total {
                self.buf.reserve(total - self.buf.len());
            }
            return Ok(None);
        }
        match tag {
            b'd' => {
                let mut frame = self.buf.split_to(total);
                frame.advance(5);
                Ok(Some(Backend::CopyData(frame.freeze())))
            }
            b'c' => {
                self.buf.advance(total);
                Ok(Some(Backend::CopyDone))
            }
            b'W' => {
                self.buf.advance(total);
                Ok(Some(Backend::CopyBothResponse))
            }
            _ => match backend::Message::parse(&mut self.buf)? {
                Some(message) => Ok(Some(Backend::Message(message))),
                // The length was checked above; postgres-protocol agrees on framing.
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "incomplete backend message",
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "tests"
    )]

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

    /// A byte stream that hands out `data` in reads of the sizes in `cuts`
    /// (cycled), so messages arrive split at chosen points; writes are dropped.
    struct Chunked {
        data: Vec<u8>,
        at: usize,
        cuts: Vec<usize>,
        turn: usize,
    }

    impl AsyncRead for Chunked {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            let cut = self.cuts[self.turn % self.cuts.len()].max(1);
            self.turn += 1;
            let n = cut.min(buf.remaining()).min(self.data.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.data[at..at + n]);
            self.at += n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Chunked {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::task::Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn chunked(data: Vec<u8>, cuts: Vec<usize>) -> WireReader {
        let mut wire = Wire::new(Box::new(Chunked {
            data,
            at: 0,
            cuts,
            turn: 0,
        }));
        wire.take_reader().unwrap()
    }

    /// What a parsed message is, for comparing with the input.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Data(Vec<u8>),
        Done,
        Ready,
    }

    fn seen(message: Backend) -> Seen {
        match message {
            Backend::CopyData(b) => Seen::Data(b.to_vec()),
            Backend::CopyDone => Seen::Done,
            Backend::Message(backend::Message::ReadyForQuery(_)) => Seen::Ready,
            _ => panic!("unexpected message"),
        }
    }

    #[tokio::test]
    async fn buffered_hands_out_only_complete_messages() {
        let mut input = message(b'd', b"first");
        input.extend(message(b'd', b"second"));
        // Reads of 7 bytes: the first message (10 bytes) needs two reads.
        let mut reader = chunked(input, vec![7]);
        assert!(reader.buffered().unwrap().is_none(), "nothing read yet");
        assert_eq!(
            seen(reader.read().await.unwrap()),
            Seen::Data(b"first".to_vec())
        );
        // 4 bytes of the second message are buffered: not complete.
        assert!(reader.buffered().unwrap().is_none());
        assert_eq!(
            seen(reader.read().await.unwrap()),
            Seen::Data(b"second".to_vec())
        );
        assert!(reader.buffered().unwrap().is_none());
        let eof = reader.read().await.err().expect("end of stream");
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn fill_now_takes_what_is_there_without_waiting() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let mut reader = Wire::new(Box::new(client)).take_reader().unwrap();
        assert!(!reader.fill_now().unwrap(), "nothing sent yet");
        let mut input = message(b'd', b"one");
        input.extend(message(b'd', b"two"));
        server.write_all(&input[..input.len() - 2]).await.unwrap();
        assert!(reader.fill_now().unwrap());
        assert_eq!(
            seen(reader.buffered().unwrap().unwrap()),
            Seen::Data(b"one".to_vec())
        );
        assert!(reader.buffered().unwrap().is_none(), "two is incomplete");
        assert!(!reader.fill_now().unwrap(), "nothing more sent");
        server.write_all(&input[input.len() - 2..]).await.unwrap();
        assert!(reader.fill_now().unwrap());
        assert_eq!(
            seen(reader.buffered().unwrap().unwrap()),
            Seen::Data(b"two".to_vec())
        );
        drop(server);
        let end = reader.fill_now().expect_err("end of stream");
        assert_eq!(end.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_message_larger_than_a_block_arrives_whole_while_earlier_frames_live() {
        let big: Vec<u8> = (0..READ_BLOCK * 3 + 17).map(|i| (i % 251) as u8).collect();
        let mut input = Vec::new();
        for i in 0..2000u32 {
            input.extend(message(b'd', &i.to_be_bytes()));
        }
        input.extend(message(b'd', &big));
        input.extend(message(b'd', b"after"));
        let mut reader = chunked(input, vec![60_000, 3, 1 << 20]);
        // Every frame is kept: the blocks they were cut from stay shared.
        let mut frames = Vec::new();
        for _ in 0..2002 {
            match reader.read().await.unwrap() {
                Backend::CopyData(frame) => frames.push(frame),
                _ => panic!("expected CopyData"),
            }
        }
        for (i, frame) in frames.iter().take(2000).enumerate() {
            assert_eq!(&frame[..], &(i as u32).to_be_bytes());
        }
        assert_eq!(&frames[2000][..], &big[..]);
        assert_eq!(&frames[2001][..], b"after");
        assert!(reader.read().await.is_err());
    }

    use proptest::prelude::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any split of the byte stream into reads, frames kept alive or
        /// dropped at once, `read` and `buffered` mixed: the messages come
        /// out whole, in order, and nothing is left over.
        #[test]
        fn framing_survives_any_read_boundaries(
            bodies in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
                    1 => (READ_BLOCK - 64..READ_BLOCK + 4096).prop_map(|n| vec![0xa5; n]),
                ],
                1..80,
            ),
            kinds in proptest::collection::vec(0u8..10, 80),
            cuts in proptest::collection::vec(1usize..70_000, 1..20),
            ops in proptest::collection::vec(proptest::prelude::any::<bool>(), 1..40),
            keep in proptest::prelude::any::<bool>(),
        ) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            for (i, body) in bodies.iter().enumerate() {
                match kinds[i % kinds.len()] {
                    0 => {
                        input.extend(message(b'c', b""));
                        expected.push(Seen::Done);
                    }
                    1 => {
                        input.extend(message(b'Z', b"I"));
                        expected.push(Seen::Ready);
                    }
                    _ => {
                        input.extend(message(b'd', body));
                        expected.push(Seen::Data(body.to_vec()));
                    }
                }
            }
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let got = runtime.block_on(async {
                let mut reader = chunked(input, cuts);
                let mut got = Vec::new();
                let mut kept = Vec::new();
                let mut turn = 0;
                while got.len() < expected.len() {
                    let use_buffered = ops[turn % ops.len()];
                    turn += 1;
                    let buffered = if use_buffered { reader.buffered().unwrap() } else { None };
                    let message = match buffered {
                        Some(m) => m,
                        None => reader.read().await.unwrap(),
                    };
                    if keep && let Backend::CopyData(frame) = &message {
                        kept.push(frame.clone());
                    }
                    got.push(seen(message));
                }
                assert!(reader.buffered().unwrap().is_none());
                let end = reader.read().await.err().expect("end of stream");
                assert_eq!(end.kind(), io::ErrorKind::UnexpectedEof);
                got
            });
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
