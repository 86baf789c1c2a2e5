//! Certificate pinning for AutoMTLS. Both sides of a go-plugin connection
//! know the other's exact certificate in advance (the client's from
//! `PLUGIN_CLIENT_CERT`, the server's from the handshake line), so each
//! accepts exactly that certificate and nothing else. The certificates are
//! self-signed CA certificates, which WebPKI path building refuses as end
//! entities; pinning the bytes is both simpler and stricter. Handshake
//! signatures are still verified with the pinned key (ECDSA P-521 for
//! Terraform's client, which needs the aws-lc-rs provider).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Accepts one exact peer certificate.
#[derive(Debug)]
pub(crate) struct PinnedCert {
    expected: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl PinnedCert {
    pub(crate) fn new(
        expected: CertificateDer<'static>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> PinnedCert {
        PinnedCert { expected, provider }
    }

    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if presented.as_ref() == self.expected.as_ref() {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
}

/// The handshake-signature methods, the same for both verifier traits:
/// the pinned certificate's key verifies them with the provider's
/// algorithms.
macro_rules! pinned_signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algorithms = &self.provider.signature_verification_algorithms;
            rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let algorithms = &self.provider.signature_verification_algorithms;
            rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

impl ClientCertVerifier for PinnedCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    pinned_signature_checks!();
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    pinned_signature_checks!();
}

/// The crypto provider of the plugin's TLS server: aws-lc-rs (which can
/// verify Terraform's P-521 client signature) for signatures and record
/// protection, but randomness from the OS and X25519 from ring. aws-lc's
/// own RNG seeds itself with tens of milliseconds of CPU-jitter sampling
/// on first use; Terraform would wait for that at every provider start.
/// Nothing on the server path draws from aws-lc's RNG: the server key is
/// Ed25519 (deterministic signatures) made from an OS-random seed.
pub(crate) fn server_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::CryptoProvider {
        kx_groups: vec![&RingX25519],
        secure_random: &OsRandom,
        ..rustls::crypto::aws_lc_rs::default_provider()
    }
}

/// A fresh Ed25519 private key as PKCS#8 v1 DER (RFC 8410): a fixed
/// prefix followed by a 32-byte seed from the OS.
pub(crate) fn ed25519_pkcs8() -> Result<Vec<u8>, getrandom::Error> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = PREFIX.to_vec();
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    der.extend_from_slice(&seed);
    Ok(der)
}

#[derive(Debug)]
struct OsRandom;

impl rustls::crypto::SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

#[derive(Debug)]
struct RingX25519;

struct RingX25519Exchange {
    key: ring::agreement::EphemeralPrivateKey,
    public: Vec<u8>,
}

impl rustls::crypto::SupportedKxGroup for RingX25519 {
    fn start(&self) -> Result<Box<dyn rustls::crypto::ActiveKeyExchange>, rustls::Error> {
        let rng = ring::rand::SystemRandom::new();
        let key = ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::X25519, &rng)
            .map_err(|_| rustls::Error::FailedToGetRandomBytes)?;
        let public = key
            .compute_public_key()
            .map_err(|_| rustls::Error::General("x25519 public key".to_owned()))?
            .as_ref()
            .to_vec();
        Ok(Box::new(RingX25519Exchange { key, public }))
    }

    fn name(&self) -> rustls::NamedGroup {
        rustls::NamedGroup::X25519
    }
}

impl rustls::crypto::ActiveKeyExchange for RingX25519Exchange {
    fn complete(
        self: Box<Self>,
        peer_pub_key: &[u8],
    ) -> Result<rustls::crypto::SharedSecret, rustls::Error> {
        let peer = ring::agreement::UnparsedPublicKey::new(&ring::agreement::X25519, peer_pub_key);
        ring::agreement::agree_ephemeral(self.key, &peer, |secret| {
            rustls::crypto::SharedSecret::from(secret)
        })
        .map_err(|_| rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::InvalidKeyShare))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> rustls::NamedGroup {
        rustls::NamedGroup::X25519
    }
}
