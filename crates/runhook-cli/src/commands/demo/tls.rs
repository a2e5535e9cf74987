//! The demo receiver's HTTPS: a self-signed certificate for `127.0.0.1` and `localhost` made
//! at start (rcgen), and the receiver's router served over TLS (tokio-rustls on
//! `runhook_axum::serve`: HTTP/1.1 and HTTP/2), so the webhooks travel over HTTPS as in
//! production.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::PrivateKeyDer;

/// A certificate for the receiver and what a client needs to trust it.
pub(super) struct Tls {
    /// The certificate, PEM: the root the emulator's sender and the forging client trust.
    pub(super) pem: String,
    /// The server side: the certificate and its key, ALPN `h2` and `http/1.1`.
    pub(super) config: Arc<ServerConfig>,
}

/// A fresh self-signed certificate for `127.0.0.1` and `localhost`.
pub(super) fn self_signed() -> anyhow::Result<Tls> {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified =
        rcgen::generate_simple_self_signed(names).context("cannot make a certificate")?;
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .context("cannot use the certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        pem: certified.cert.pem(),
        config: Arc::new(config),
    })
}

/// Serves `app` over TLS on `listener` until the task is aborted (its connections with it). A
/// client must finish the TLS handshake within the server's header timeout.
pub(super) async fn serve(listener: TcpListener, config: Arc<ServerConfig>, app: axum::Router) {
    let acceptor = TlsAcceptor::from(config);
    let _ = runhook_axum::serve(listener, app)
        .with_connection_setup(move |stream| acceptor.accept(stream))
        .await;
}
