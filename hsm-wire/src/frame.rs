//! Newline-delimited JSON framing over any async byte stream.

use std::io;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use zeroize::Zeroizing;

use crate::message::MAX_FRAME_LEN;

/// Why a frame could not be sent or received.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Reading or writing the stream failed.
    #[error("connection failed: {0}")]
    Io(#[from] io::Error),
    /// No complete frame arrived within the read timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed in the middle of a message")]
    Truncated,
    /// A frame exceeded the limit (normally [`MAX_FRAME_LEN`]).
    #[error("message longer than {0} bytes")]
    TooLong(usize),
    /// A frame was not the JSON message expected here. The serde error text is kept
    /// out because it may quote the frame, and frames carry secrets.
    #[error("malformed message ({category} error at line {line} column {column})")]
    Malformed {
        /// serde_json's error category (`syntax`, `data`, `eof`).
        category: &'static str,
        /// Line of the error within the frame.
        line: usize,
        /// Column of the error within the frame.
        column: usize,
    },
}

impl FrameError {
    fn malformed(error: &serde_json::Error) -> Self {
        let category = match error.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        FrameError::Malformed {
            category,
            line: error.line(),
            column: error.column(),
        }
    }
}

/// A byte stream carrying one JSON message per line.
///
/// The buffers a frame is built and parsed in are zeroized after use, since
/// frames carry passwords (the reader's and TLS layer's internal buffers are not).
#[derive(Debug)]
pub struct FramedStream<S> {
    inner: BufReader<S>,
    max_len: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> FramedStream<S> {
    /// Wraps `stream`; frames are limited to [`MAX_FRAME_LEN`].
    pub fn new(stream: S) -> Self {
        FramedStream {
            inner: BufReader::new(stream),
            max_len: MAX_FRAME_LEN,
        }
    }

    /// Sets a different frame limit (the protocol uses [`MAX_FRAME_LEN`]; other
    /// uses of this framing, such as hsm-sim's admin listener, may need more).
    pub fn with_max_frame_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// The stream beneath the framing, for inspection only: reading or
    /// writing it directly would break the framing.
    pub fn get_ref(&self) -> &S {
        self.inner.get_ref()
    }

    /// Serialises `message` as one line and flushes it.
    pub async fn send<T: Serialize>(&mut self, message: &T) -> Result<(), FrameError> {
        let mut line =
            Zeroizing::new(serde_json::to_vec(message).map_err(|e| FrameError::malformed(&e))?);
        line.push(b'\n');
        if line.len() > self.max_len {
            return Err(FrameError::TooLong(self.max_len));
        }
        let stream = self.inner.get_mut();
        stream.write_all(&line).await?;
        stream.flush().await?;
        Ok(())
    }

    /// Receives one message, waiting at most `timeout` (`None`: wait forever).
    /// Returns `Ok(None)` when the peer closed the connection between frames.
    pub async fn recv<T: DeserializeOwned>(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<T>, FrameError> {
        let mut line = Zeroizing::new(Vec::with_capacity(512));
        let read = async {
            // One byte over the limit tells a frame that is too long from one that fits exactly.
            let limit = u64::try_from(self.max_len)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let mut limited = (&mut self.inner).take(limit);
            limited.read_until(b'\n', &mut line).await
        };
        let count = match timeout {
            Some(limit) => tokio::time::timeout(limit, read)
                .await
                .map_err(|_| FrameError::Timeout(limit))??,
            None => read.await?,
        };
        if count == 0 {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') {
            return Err(if line.len() > self.max_len {
                FrameError::TooLong(self.max_len)
            } else {
                FrameError::Truncated
            });
        }
        serde_json::from_slice(&line)
            .map(Some)
            .map_err(|e| FrameError::malformed(&e))
    }

    /// Shuts the write side down (TLS close_notify), ignoring a peer that already left.
    pub async fn shutdown(&mut self) {
        // The connection is finished either way; a failed close changes nothing for the caller.
        let _ = self.inner.get_mut().shutdown().await;
    }
}
