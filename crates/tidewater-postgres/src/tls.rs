//! TLS with rustls (ring provider) for both connections, following libpq's sslmodes.
//!
//! | sslmode | TLS | certificate check |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` | when the server offers it | none |
//! | `require` | always | none, or as `verify-ca` when a root certificate file is set |
//! | `verify-ca` | always | chains to the root certificates |
//! | `verify-full` | always | chains to the root certificates and names the host |
//!
//! Handshake signatures are always verified. Client certificates are not supported.

use std::fs::File;
use std::future::Future;
use std::io::{self, BufReader};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_rustls::TlsConnector;

use crate::config::{SourceConfig, SslMode};
use crate::error::{Result, SourceError};

/// TLS settings resolved from the configuration: what to do and with which rustls config.
#[derive(Clone)]
pub(crate) struct TlsSetup {
    /// Whether TLS is attempted, and whether it is required.
    pub(crate) mode: TlsPolicy,
    config: Option<Arc<ClientConfig>>,
    server_name: Option<ServerName<'static>>,
    target: String,
}

/// Whether TLS is attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsPolicy {
    /// Plain connection.
    Off,
    /// TLS if the server offers it.
    Prefer,
    /// TLS or nothing.
    Require,
}

impl TlsSetup {
    /// Resolves the configuration; reads the root certificate file.
    pub(crate) fn from_config(config: &SourceConfig) -> Result<TlsSetup> {
        let target = config.target();
        // libpq never uses TLS over Unix sockets.
        if config.sslmode == SslMode::Disable || config.uses_unix_socket() {
            return Ok(TlsSetup {
                mode: TlsPolicy::Off,
                config: None,
                server_name: None,
                target,
            });
        }
        let tls_err = |reason: String| SourceError::Tls {
            target: target.clone(),
            reason,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let roots = match &config.sslrootcert {
            Some(path) => Some(Arc::new(load_roots(path).map_err(|reason| {
                tls_err(format!("database.sslrootcert {}: {reason}", path.display()))
            })?)),
            None => None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match (config.sslmode, roots) {
            (SslMode::VerifyFull, Some(roots)) => {
                WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                    .build()
                    .map_err(|e| tls_err(format!("building the certificate verifier: {e}")))?
            }
            (SslMode::VerifyCa | SslMode::Require, Some(roots)) => Arc::new(PartialVerifier {
                roots: Some(roots),
                algorithms,
            }),
            (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
                return Err(tls_err(format!(
                    "sslmode {} needs database.sslrootcert",
                    config.sslmode.as_str()
                )));
            }
            _ => Arc::new(PartialVerifier {
                roots: None,
                algorithms,
            }),
        };
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(format!("protocol versions: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let server_name = ServerName::try_from(config.hostname.clone()).map_err(|e| {
            tls_err(format!(
                "`{}` is not a valid server name: {e}",
                config.hostname
            ))
        })?;
        Ok(TlsSetup {
            mode: if config.sslmode == SslMode::Prefer {
                TlsPolicy::Prefer
            } else {
                TlsPolicy::Require
            },
            config: Some(Arc::new(client)),
            server_name: Some(server_name),
            target,
        })
    }

    /// Runs the TLS handshake over an established stream (after the server
    /// accepted the SSLRequest).
    pub(crate) async fn handshake<S>(&self, stream: S) -> Result<tokio_rustls::client::TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (Some(config), Some(name)) = (&self.config, &self.server_name) else {
            return Err(SourceError::Tls {
                target: self.target.clone(),
                reason: "TLS is disabled".to_owned(),
            });
        };
        TlsConnector::from(Arc::clone(config))
            .connect(name.clone(), stream)
            .await
            .map_err(|e| SourceError::Tls {
                target: self.target.clone(),
                reason: e.to_string(),
            })
    }

    /// The tokio-postgres connector and sslmode for the control connection.
    pub(crate) fn for_tokio_postgres(&self) -> (MakeRustls, tokio_postgres::config::SslMode) {
        use tokio_postgres::config::SslMode as PgSsl;
        let mode = match self.mode {
            TlsPolicy::Off => PgSsl::Disable,
            TlsPolicy::Prefer => PgSsl::Prefer,
            TlsPolicy::Require => PgSsl::Require,
        };
        (
            MakeRustls {
                config: self.config.clone(),
                server_name: self.server_name.clone(),
            },
            mode,
        )
    }
}

fn load_roots(path: &std::path::Path) -> std::result::Result<RootCertStore, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut BufReader::new(file)) {
        let cert = cert.map_err(|e| format!("reading PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("holds no PEM certificate".to_owned());
    }
    Ok(roots)
}

/// `verify-ca` (with roots): the chain must lead to a trusted root; the name is
/// not checked. `prefer` / `require` without a root certificate (no roots):
/// encryption without authentication of the server, as libpq does. Handshake
/// signatures are verified either way.
#[derive(Debug)]
struct PartialVerifier {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PartialVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// tokio-postgres connector backed by rustls.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Option<Arc<ClientConfig>>,
    server_name: Option<ServerName<'static>>,
}

impl MakeTlsConnect<tokio_postgres::Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, _domain: &str) -> io::Result<RustlsConnect> {
        match (&self.config, &self.server_name) {
            (Some(config), Some(name)) => Ok(RustlsConnect {
                connector: TlsConnector::from(Arc::clone(config)),
                name: name.clone(),
            }),
            _ => Err(io::Error::other("TLS is disabled for this connection")),
        }
    }
}

/// One TLS connection attempt of the control connection.
pub(crate) struct RustlsConnect {
    connector: TlsConnector,
    name: ServerName<'static>,
}

type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

impl TlsConnect<tokio_postgres::Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = ConnectFuture;

    fn connect(self, stream: tokio_postgres::Socket) -> ConnectFuture {
        Box::pin(async move {
            let stream = self.connector.connect(self.name, stream).await?;
            Ok(RustlsStream(Box::new(stream)))
        })
    }
}

/// The control connection's TLS stream.
pub(crate) struct RustlsStream(Box<tokio_rustls::client::TlsStream<tokio_postgres::Socket>>);

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl tokio_postgres::tls::TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
