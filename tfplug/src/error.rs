//! Error types of the crate.

/// A value or type could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The msgpack bytes are malformed.
    #[error("malformed msgpack: {0}")]
    Msgpack(String),
    /// The input ended in the middle of a value.
    #[error("value is truncated")]
    Truncated,
    /// Nesting deeper than the codec accepts.
    #[error("value is nested too deeply")]
    TooDeep,
    /// The value does not have the type the schema says.
    #[error("expected a value of type {expected}, found {found}")]
    TypeMismatch {
        /// The type the schema expects.
        expected: String,
        /// What was found instead.
        found: String,
    },
    /// An object carries an attribute its type does not have.
    #[error("unsupported attribute {0:?}")]
    UnexpectedAttribute(String),
    /// A type in JSON notation could not be parsed.
    #[error("invalid type constraint {0}")]
    BadType(String),
    /// Text that should be a number is not one.
    #[error("invalid number {0:?}")]
    BadNumber(String),
    /// A typed state or config struct did not match the value.
    #[error("{0}")]
    Serde(String),
}

/// The plugin could not start serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The process was not started by Terraform (no magic cookie).
    #[error(
        "this program is a Terraform provider plugin; Terraform starts it itself. \
         To debug it, run it with --debug and follow the instructions it prints"
    )]
    NotStartedByTerraform,
    /// Terraform offered no plugin protocol version we speak.
    #[error("terraform offers plugin protocol versions {offered:?}, but this provider speaks only protocol 6; use Terraform 1.0 or later")]
    UnsupportedProtocol {
        /// The value of PLUGIN_PROTOCOL_VERSIONS.
        offered: String,
    },
    /// PLUGIN_CLIENT_CERT is missing outside debug mode.
    #[error("PLUGIN_CLIENT_CERT is not set; refusing to serve without TLS (use --debug for a plaintext debug session)")]
    NoClientCertificate,
    /// PLUGIN_CLIENT_CERT does not hold a PEM certificate.
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    BadClientCertificate(String),
    /// TLS setup failed.
    #[error("tls setup failed: {0}")]
    Tls(String),
    /// Socket or other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("grpc server failed: {0}")]
    Grpc(String),
}
