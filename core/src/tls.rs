//! Which certificates a client trusts and which it presents: the bundled Mozilla roots
//! (webpki-roots), the operating system's (rustls-native-certs: the platform store, or
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`), the caller's CA PEM, and a client certificate for mutual
//! TLS. rustls with the ring provider.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};
use crate::transport::TransportConfig;

/// A client certificate chain and its private key, as PEM; `Debug` never shows the key.
#[derive(Clone)]
pub(crate) struct ClientIdentityPem {
    pub chain: Vec<u8>,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentityPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientIdentityPem { chain, key: <redacted> }")
    }
}

/// The rustls client configuration for `cfg`'s roots and client certificate.
pub(crate) fn client_config(cfg: &TransportConfig) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    if cfg.builtin_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if cfg.system_roots {
        // Certificates the platform cannot parse are skipped, as curl and browsers do.
        let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
    }
    for pem in &cfg.extra_roots_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::invalid_config(format!("CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::invalid_config(format!("CA certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::invalid_config("CA PEM holds no certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid_config(format!("TLS: {e}")))?
        .with_root_certificates(roots);
    Ok(match &cfg.client_identity_pem {
        None => tls.with_no_client_auth(),
        Some(id) => {
            let (chain, key) = client_identity(&id.chain, &id.key)?;
            tls.with_client_auth_cert(chain, key)
                .map_err(|e| Error::invalid_config(format!("client certificate: {e}")))?
        }
    })
}

/// The operating system's trusted roots, read once per process: the platform store, or
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` when set. Empty on Apple targets (bundled roots only).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        #[cfg(not(any(target_os = "macos", target_os = "ios")))]
        {
            rustls_native_certs::load_native_certs().certs
        }
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        {
            Vec::new()
        }
    })
}

/// A client certificate chain and key from PEM (the key: PKCS#8, PKCS#1 or SEC1).
fn client_identity(
    chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid_config(format!("client certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(Error::invalid_config(
            "client certificate PEM holds no certificate",
        ));
    }
    // The key's own error text could quote key material: say only what was wrong.
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| {
        Error::invalid_config("client key PEM holds no PKCS#8, PKCS#1 or SEC1 private key")
    })?;
    Ok((chain, key))
}
