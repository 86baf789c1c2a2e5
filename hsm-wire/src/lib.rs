//! The protocol between `ppin` clients and a Primus HSM as simulated by `hsm-sim`,
//! specified in `docs/hsm-protocol.md` (protocol version [`PROTOCOL_VERSION`]).
//!
//! The vendor's wire protocol is proprietary; this one is ours: TLS 1.3 (rustls with
//! the aws-lc-rs provider), one JSON message per line, a version handshake, then
//! one request answered by one response at a time. Passwords and secrets travel as
//! [`Password`] and [`Secret`] (primus-core's, re-exported here), so they never show up in
//! `Debug` output, and the buffers frames are built and parsed in are zeroized after use.
//!
//! Clients use a [`Connector`] (pinned CA, timeouts) to open a [`Connection`]:
//!
//! ```no_run
//! # async fn demo(setup: hsm_wire::Password, pin: hsm_wire::Password) -> Result<(), Box<dyn std::error::Error>> {
//! let connector = hsm_wire::Connector::from_ca_file("ca.pem".as_ref())?;
//! let mut conn = connector.connect("127.0.0.1", 2310, None).await?;
//! let secret = conn.fetch_secret("PARTITION", &setup, &pin).await?;
//! conn.login("PARTITION", &secret).await?;
//! # Ok(()) }
//! ```
//!
//! A [`ConnectionPool`] keeps handshaken connections between operations; with the
//! process-wide client configuration per CA file ([`client_config_from_ca_file`]),
//! new connections resume earlier TLS 1.3 sessions.
//!
//! Servers use [`server_config_from_pem`] and [`accept`], then loop on
//! [`ServerConnection::next_request`]. Every failure the server reports is a
//! [`WireError`] with an [`ErrorKind`], the vendor code where the vendor has one,
//! the attempts left and the lockout end. Clients never retry anything on their own.
//! Before connecting, clients check a setup password with [`check_setup_password`],
//! so a typo costs no trial at the HSM.
//!
//! [`VendorCode`] holds the vendor's error code table: every documented code
//! with a title and the vendor's description, and the classes the vendor
//! names for the rest, so an undocumented code is still reported by its number.
//! [`Connection::fetch_log`] fetches a partition's HSM log (`ppin --fetchlog`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod frame;
mod message;
mod pool;
mod server;
mod setup_password;
mod tls;
mod vendor_code;

pub use client::{
    ClientError, Connection, Connector, LogQuery, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT,
};
pub use frame::{FrameError, FramedStream};
pub use message::{
    hex_secret, ClientHello, ErrorKind, LogOrder, Request, Response, ServerHello, ServerVersion,
    WireError, LOG_PAGE_BYTES, MAX_FRAME_LEN, PROTOCOL_VERSION,
};
pub use pool::{ConnectionPool, DEFAULT_MAX_IDLE_PER_HSM};
pub use primus_core::{Password, Secret};
pub use server::{accept, ServerConnection, ServerError};
pub use setup_password::{check_setup_password, SetupPasswordProblem};
pub use tls::{
    certificates_from_pem, client_config_from_ca_file, client_config_from_ca_pem,
    server_config_from_pem, TlsConfigError,
};
pub use vendor_code::{CodeClass, DocumentedCode, VendorCode};

#[cfg(test)]
mod tests;
