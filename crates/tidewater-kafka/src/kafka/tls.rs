//! rustls client configuration from the `ssl.*` settings.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::{KeyStore, TlsConfig, TrustStore};
use crate::error::ConfigError;

/// Reads PEM text from a file or from the configuration itself.
fn pem_source(key: &str, file: Option<&Path>, text: Option<&str>) -> Result<Vec<u8>, ConfigError> {
    match (file, text) {
        (Some(path), _) => std::fs::read(path).map_err(|e| ConfigError::File {
            key: key.to_owned(),
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        (None, Some(text)) => Ok(text.as_bytes().to_vec()),
        (None, None) => Ok(Vec::new()),
    }
}

fn file_error(key: &str, file: Option<&Path>, reason: String) -> ConfigError {
    match file {
        Some(path) => ConfigError::File {
            key: key.to_owned(),
            path: path.to_path_buf(),
            reason,
        },
        None => ConfigError::invalid(key, "<PEM>", reason),
    }
}

fn certificates(
    key: &str,
    file: Option<&Path>,
    text: Option<&str>,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = pem_source(key, file, text)?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(pem.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(key, file, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(key, file, "no PEM certificate found".to_owned()));
    }
    Ok(certs)
}

/// Builds the client configuration for `SSL` / `SASL_SSL`.
pub(crate) fn client_config(tls: &TlsConfig) -> Result<Arc<ClientConfig>, ConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    let (trust_key, trust_file, trust_text) = match &tls.trust_store {
        Some(TrustStore::PemFile(path)) => ("ssl.truststore.location", Some(path.as_path()), None),
        Some(TrustStore::Pem(text)) => ("ssl.truststore.certificates", None, Some(text.as_str())),
        None => {
            return Err(ConfigError::Missing {
                key: "ssl.truststore.location".to_owned(),
                reason: "TLS needs trusted CA certificates in PEM".to_owned(),
            });
        }
    };
    let mut roots = RootCertStore::empty();
    for cert in certificates(trust_key, trust_file, trust_text)? {
        roots.add(cert).map_err(|e| {
            file_error(
                trust_key,
                trust_file,
                format!("unusable CA certificate: {e}"),
            )
        })?;
    }
    let roots = Arc::new(roots);

    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::invalid("ssl.protocol", "TLS", e.to_string()))?;
    let builder = if tls.verify_hostname {
        builder.with_root_certificates(Arc::clone(&roots))
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .build()
            .map_err(|e| file_error(trust_key, trust_file, e.to_string()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyHostName { inner }))
    };

    let config = match &tls.key_store {
        None => builder.with_no_client_auth(),
        Some(store) => {
            let (key, file, chain_text, key_text) = match store {
                KeyStore::PemFile(path) => {
                    ("ssl.keystore.location", Some(path.as_path()), None, None)
                }
                KeyStore::Pem {
                    certificate_chain,
                    key,
                } => (
                    "ssl.keystore.certificate.chain",
                    None,
                    Some(certificate_chain.as_str()),
                    Some(key.as_str()),
                ),
            };
            let chain = certificates(key, file, chain_text)?;
            let (key_name, key_pem) = match key_text {
                Some(text) => ("ssl.keystore.key", text.as_bytes().to_vec()),
                None => (key, pem_source(key, file, None)?),
            };
            let private_key: PrivateKeyDer<'static> =
                rustls_pemfile::private_key(&mut BufReader::new(key_pem.as_slice()))
                    .map_err(|e| file_error(key_name, file, format!("bad PEM key: {e}")))?
                    .ok_or_else(|| {
                        file_error(
                            key_name,
                            file,
                            "no unencrypted PEM private key found".to_owned(),
                        )
                    })?;
            builder
                .with_client_auth_cert(chain, private_key)
                .map_err(|e| file_error(key_name, file, e.to_string()))?
        }
    };
    Ok(Arc::new(config))
}

/// Checks the chain like the default verifier but accepts any host name
/// (`ssl.endpoint.identification.algorithm=` empty).
#[derive(Debug)]
struct AnyHostName {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain and validity are checked before the name, so a name mismatch means that
        // everything else held.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
