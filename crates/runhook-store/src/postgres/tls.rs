//! TLS for [`PostgresStore`](crate::PostgresStore) connections: rustls, verifying the server's
//! certificate and host name against a PEM file's roots or the system's, or (`prefer` without a
//! root file) encrypting without verifying, as libpq does.

use std::path::Path;
use std::sync::Arc;

use runhook::store::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::unavailable_message;

/// The connector for `sslmode` `prefer` or `require`: rustls (its aws-lc-rs provider, TLS 1.2
/// and 1.3). With the PEM file `roots`, the server's certificate must chain to one of its
/// certificates and be valid for the host name; without one, `require` checks the same against
/// the system's roots (`SSL_CERT_FILE` / `SSL_CERT_DIR` if set, else the platform's store), and
/// `prefer` does not check it.
pub(super) fn connector(
    mode: SslMode,
    roots: Option<&Path>,
) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| unavailable_message(format!("PostgreSQL TLS: {error}")))?;
    let config = match roots {
        Some(path) => builder.with_root_certificates(pem_roots(path)?),
        None if mode == SslMode::Require => builder.with_root_certificates(system_roots()),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider))),
    };
    Ok(MakeRustlsConnect::new(config.with_no_client_auth()))
}

/// Every certificate of the PEM file at `path`; at least one, all valid.
fn pem_roots(path: &Path) -> Result<RootCertStore, StoreError> {
    let failed = |error: &dyn std::fmt::Display| {
        unavailable_message(format!(
            "PostgreSQL TLS: the root certificates {}: {error}",
            path.display()
        ))
    };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(path).map_err(|error| failed(&error))? {
        let certificate = certificate.map_err(|error| failed(&error))?;
        roots.add(certificate).map_err(|error| failed(&error))?;
    }
    if roots.is_empty() {
        return Err(failed(
            &"no certificate (`-----BEGIN CERTIFICATE-----`) in the file",
        ));
    }
    Ok(roots)
}

/// The system's roots, skipping those it cannot parse. None found is no error here: a server
/// without TLS needs none, and one with TLS is then refused at the handshake (unknown issuer).
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (_added, _skipped) = roots.add_parsable_certificates(found.certs);
    roots
}

/// `prefer` without a root file, as libpq's `prefer`: the server's certificate is taken as it
/// comes (no chain, no host name), so the connection is encrypted but not authenticated; the
/// handshake's signatures are still checked against that certificate (the server holds its key,
/// which SCRAM channel binding relies on).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
