//! The server side: TLS accept, version handshake, and the request loop framing.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::frame::{FrameError, FramedStream};
use crate::message::{
    ClientHello, ErrorKind, HelloFrame, HelloReplyFrame, Request, Response, ServerHello, WireError,
    PROTOCOL_VERSION,
};

/// Why a client connection ended with an error on the server side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The TLS handshake failed (e.g. the client does not trust our certificate).
    #[error("tls handshake failed: {0}")]
    Tls(io::Error),
    /// TLS handshake plus hello took longer than allowed.
    #[error("no handshake within {0:?}")]
    HandshakeTimeout(Duration),
    /// The client's first frame was not a valid hello.
    #[error("client did not start with a hello")]
    NoHello,
    /// Client and server share no protocol version; the client was told so.
    #[error("client offered protocol versions {offered:?}, this server speaks {PROTOCOL_VERSION}")]
    UnsupportedVersion {
        /// What the client offered.
        offered: Vec<u32>,
    },
    /// Reading or writing a frame failed.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// One client connection after a successful handshake.
#[derive(Debug)]
pub struct ServerConnection<S> {
    stream: FramedStream<S>,
    client: ClientHello,
}

/// Performs the TLS handshake and the version handshake on an accepted TCP
/// connection, both within `timeout`. `server` is the name sent in the server hello.
pub async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    server: &str,
    timeout: Duration,
) -> Result<ServerConnection<TlsStream<TcpStream>>, ServerError> {
    let handshake = async {
        // Answers are small and sent one by one; Nagle would only add latency.
        tcp.set_nodelay(true).map_err(ServerError::Tls)?;
        let tls = acceptor.accept(tcp).await.map_err(ServerError::Tls)?;
        hello(FramedStream::new(tls), server).await
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| ServerError::HandshakeTimeout(timeout))?
}

pub(crate) async fn hello<S>(
    mut stream: FramedStream<S>,
    server: &str,
) -> Result<ServerConnection<S>, ServerError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let first: HelloFrame = match stream.recv(None).await {
        Ok(Some(frame)) => frame,
        Ok(None) => return Err(ServerError::NoHello),
        Err(FrameError::Malformed { .. }) => {
            let error = WireError::new(ErrorKind::BadRequest, "the first message must be a hello");
            stream.send(&HelloReplyFrame::Error(error)).await?;
            return Err(ServerError::NoHello);
        }
        Err(other) => return Err(other.into()),
    };
    let HelloFrame::Hello(client) = first;
    if !client.versions.contains(&PROTOCOL_VERSION) {
        let error = WireError::new(
            ErrorKind::UnsupportedVersion,
            format!("this server speaks protocol version {PROTOCOL_VERSION} only"),
        );
        stream.send(&HelloReplyFrame::Error(error)).await?;
        return Err(ServerError::UnsupportedVersion {
            offered: client.versions,
        });
    }
    let reply = ServerHello {
        version: PROTOCOL_VERSION,
        server: server.to_owned(),
    };
    stream.send(&HelloReplyFrame::Hello(reply)).await?;
    Ok(ServerConnection { stream, client })
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> ServerConnection<S> {
    /// The client's hello.
    pub fn client_hello(&self) -> &ClientHello {
        &self.client
    }

    /// Waits for the next request, at most `idle_timeout`. Returns `Ok(None)` when
    /// the client closed the connection. A malformed frame is answered with a
    /// `bad_request` error and skipped: frames are lines, so the stream stays in step.
    pub async fn next_request(
        &mut self,
        idle_timeout: Duration,
    ) -> Result<Option<Request>, ServerError> {
        loop {
            match self.stream.recv(Some(idle_timeout)).await {
                Ok(request) => return Ok(request),
                Err(error @ FrameError::Malformed { .. }) => {
                    let answer = WireError::new(ErrorKind::BadRequest, error.to_string());
                    self.respond(&Response::Error(answer)).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    /// Sends the answer to the current request.
    pub async fn respond(&mut self, response: &Response) -> Result<(), ServerError> {
        Ok(self.stream.send(response).await?)
    }

    /// Closes the connection cleanly.
    pub async fn close(mut self) {
        self.stream.shutdown().await;
    }
}
