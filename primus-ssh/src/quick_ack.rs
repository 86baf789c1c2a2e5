//! A TCP stream that acknowledges each read at once.
//!
//! sshd writes its small messages (the key exchange replies, and after
//! authentication the host keys and debug lines) with Nagle's algorithm on
//! until a session starts, so it holds each one until the one before is
//! acknowledged, and Linux delays an acknowledgement by up to 40 ms when it
//! has nothing to send. Every new connection so stalled about 45 ms before
//! its first command could start. `TCP_QUICKACK` after each read sends the
//! acknowledgement at once; the kernel does not keep the setting, hence
//! after each read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// `stream`, acknowledging at once whatever it reads.
pub(crate) struct QuickAck {
    stream: TcpStream,
}

impl QuickAck {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self { stream }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            // Latency only: a socket that refuses it works the same.
            let _ = socket2::SockRef::from(&self.stream).set_tcp_quickack(true);
        }
        polled
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
