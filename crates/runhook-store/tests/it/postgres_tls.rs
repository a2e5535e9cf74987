//! `PostgresStore` and TLS: the URL's `sslmode` against the local PostgreSQL
//! (`RUNHOOK_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`, with TLS or
//! without), and the TLS handshake itself against a stand-in server that answers the protocol's
//! TLS request, shows a certificate from a throwaway CA, then refuses the login.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;
use std::time::Duration;

use runhook::store::StoreError;
use runhook_store::testing::run_store_conformance;
use runhook_store::{PostgresConfig, PostgresStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Longer than any connect should take: a hang fails the test instead of stalling it.
const PATIENCE: Duration = Duration::from_secs(20);

fn postgres_url() -> String {
    std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The test URL with `sslmode=MODE` added.
fn with_sslmode(mode: &str) -> String {
    let url = postgres_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode={mode}")
}

async fn connect(url: &str, config: PostgresConfig) -> Result<PostgresStore, StoreError> {
    tokio::time::timeout(PATIENCE, PostgresStore::connect_with(url, config))
        .await
        .expect("the connect hung")
}

async fn drop_schema(schema: &str) {
    let (client, connection) = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// Runs the conformance suite over `url` in a schema of its own; skipped loudly (outside CI) if
/// no PostgreSQL runs here.
async fn conforms_over(url: &str) {
    conforms_over_with(url, PostgresConfig::default()).await;
}

/// [`conforms_over`] with `config`.
async fn conforms_over_with(url: &str, config: PostgresConfig) {
    let schema = format!("runhook_test_{}", uuid::Uuid::new_v4().simple());
    let config = config.schema(&schema);
    let store = match connect(url, config).await {
        Ok(store) => store,
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL at {url} is needed in CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED: the PostgreSQL TLS test: no PostgreSQL at {url} ({error})");
            return;
        }
    };
    let problems = run_store_conformance(Arc::new(store), "").await;
    drop_schema(&schema).await;
    assert!(problems.is_empty(), "over {url}: {problems:#?}");
}

#[tokio::test]
async fn sslmode_disable_connects_over_plain_tcp() {
    conforms_over(&with_sslmode("disable")).await;
}

#[tokio::test]
async fn sslmode_prefer_connects_with_tls_or_without() {
    // Unverified TLS if the server has it (Debian's default: a self-signed certificate), plain
    // TCP otherwise. No sslmode at all is `prefer` too: the_postgres_store_conforms runs that.
    conforms_over(&with_sslmode("prefer")).await;
}

#[tokio::test]
async fn sslmode_require_fails_on_a_server_without_tls_or_with_an_untrusted_certificate() {
    // Without TLS: "server does not support TLS"; with a self-signed certificate: "invalid peer
    // certificate".
    let error = connect(&with_sslmode("require"), PostgresConfig::default())
        .await
        .unwrap_err();
    let message = error.to_string();
    eprintln!("sslmode=require to the local server: {message}");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        message.contains("PostgreSQL") && message.contains("TLS"),
        "{message}"
    );
}

#[tokio::test]
async fn an_sslmode_other_than_disable_prefer_require_is_refused_by_name() {
    let url = "postgres://postgres:s3cret-pw@127.0.0.1:5432/test?sslmode=verify-full";
    let error = connect(url, PostgresConfig::default()).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("sslmode"), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
}

#[tokio::test]
async fn a_root_certificate_file_that_cannot_be_used_fails_the_connect() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let config = PostgresConfig::default().root_certificates(&missing);
    let error = connect(&postgres_url(), config).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let config = PostgresConfig::default().root_certificates(&empty);
    let error = connect(&postgres_url(), config).await.unwrap_err();
    assert!(error.to_string().contains("no certificate"), "{error}");

    // With sslmode=disable the file is not used.
    let config = PostgresConfig::default().root_certificates(&missing);
    if let Err(error) = connect(&with_sslmode("disable"), config).await {
        assert!(!error.to_string().contains("missing.pem"), "{error}");
    }
}

/// A throwaway CA (its PEM) and a server configuration with a certificate it issued for
/// `localhost`.
fn throwaway_ca() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "runhook-store test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

/// What the stand-in server says once a client got through TLS and sent its startup message.
const REFUSAL: &str = "stand-in server reached over TLS";

/// A stand-in server on 127.0.0.1: accepts the protocol's TLS request (`S`), completes the TLS
/// handshake, reads the startup message and answers a FATAL error [`REFUSAL`]. Its port.
async fn stand_in_server(config: Arc<rustls::ServerConfig>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut request = [0; 8];
                socket.read_exact(&mut request).await?;
                assert_eq!(
                    request,
                    [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
                    "an SSLRequest"
                );
                socket.write_all(b"S").await?;
                let mut tls = acceptor.accept(socket).await?;
                let length = tls.read_u32().await?;
                let mut startup = vec![0; usize::try_from(length).unwrap() - 4];
                tls.read_exact(&mut startup).await?;
                let mut fields = Vec::new();
                for (code, value) in [(b'S', "FATAL"), (b'C', "28000"), (b'M', REFUSAL)] {
                    fields.push(code);
                    fields.extend_from_slice(value.as_bytes());
                    fields.push(0);
                }
                fields.push(0);
                let mut response = vec![b'E'];
                response
                    .extend_from_slice(&(u32::try_from(fields.len()).unwrap() + 4).to_be_bytes());
                response.extend_from_slice(&fields);
                tls.write_all(&response).await?;
                tls.shutdown().await
            });
        }
    });
    port
}

#[tokio::test]
async fn tls_verifies_the_server_against_the_system_roots_or_the_given_file() {
    let (ca_pem, server) = throwaway_ca();
    let port = stand_in_server(server).await;
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("ca.pem");
    std::fs::write(&roots, ca_pem).unwrap();

    // require: the system does not trust the throwaway CA, so the handshake fails.
    let url = format!("postgres://postgres@localhost:{port}/test?sslmode=require");
    let error = connect(&url, PostgresConfig::default()).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        message.contains("TLS") && message.contains("invalid peer certificate"),
        "{message}"
    );

    // prefer without a root file: TLS, unverified (as libpq), so the login reaches the server.
    let url = format!("postgres://postgres@localhost:{port}/test?sslmode=prefer");
    let error = connect(&url, PostgresConfig::default()).await.unwrap_err();
    assert!(error.to_string().contains(REFUSAL), "{error}");

    // Trusting the CA, the handshake succeeds (host name checked) and the login reaches the
    // server, under require and prefer alike.
    for mode in ["require", "prefer"] {
        let url = format!("postgres://postgres@localhost:{port}/test?sslmode={mode}");
        let config = PostgresConfig::default().root_certificates(&roots);
        let error = connect(&url, config).await.unwrap_err();
        assert!(error.to_string().contains(REFUSAL), "{mode}: {error}");
    }

    // The certificate is for `localhost`, not for 127.0.0.1: refused, with a root file under
    // prefer too.
    for mode in ["require", "prefer"] {
        let url = format!("postgres://postgres@127.0.0.1:{port}/test?sslmode={mode}");
        let config = PostgresConfig::default().root_certificates(&roots);
        let error = connect(&url, config).await.unwrap_err();
        assert!(
            error.to_string().contains("not valid for name"),
            "{mode}: {error}"
        );
    }
}

/// Debian's self-signed certificate of its PostgreSQL packages (for `localhost` here).
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

#[tokio::test]
async fn sslmode_require_with_the_servers_certificate_as_root_conforms() {
    // Only where the local server runs TLS with that certificate (not a given): else skipped.
    let url = with_sslmode("require").replace("@127.0.0.1:", "@localhost:");
    let config = PostgresConfig::default().root_certificates(SNAKEOIL);
    if let Err(error) = connect(&url, config.clone()).await {
        eprintln!("SKIPPED: verified TLS to the local PostgreSQL at {url}: {error}");
        return;
    }
    conforms_over_with(&url, config).await;
}
