//! Which certificates a client trusts and which it presents: the bundled Mozilla roots
//! (webpki-roots), the operating system's (rustls-native-certs: the platform store, or
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`), the caller's CA PEM, and a client certificate for mutual
//! TLS. rustls with the ring provider.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12ClientSessionValue,
    Tls13ClientSessionValue, WebPkiServerVerifier,
};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, NamedGroup, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, TrustAnchor, UnixTime};

use crate::error::{Error, Result};

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

/// The rustls client configuration: the caller's CA PEMs (`extra_roots_pem`), the bundled
/// and system roots when asked for, and the client certificate. The caller's CA PEM is
/// checked here; the bundled and system roots are read when the first TLS handshake needs
/// them ([`LazyRoots`]), so a client that never speaks TLS never loads them.
pub(crate) fn client_config(
    extra_roots_pem: &[Vec<u8>],
    builtin_roots: bool,
    system_roots: bool,
    identity: Option<&ClientIdentityPem>,
) -> Result<rustls::ClientConfig> {
    let mut extra = RootCertStore::empty();
    for pem in extra_roots_pem {
        add_pem(&mut extra, pem)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = LazyRoots {
        builtin: builtin_roots,
        system: system_roots,
        extra: extra.roots,
        provider: provider.clone(),
        verifier: OnceLock::new(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid_config(format!("TLS: {e}")))?
        // rustls' own WebPKI verifier does every check; only building it waits for first use.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        None => tls.with_no_client_auth(),
        Some(id) => {
            let (chain, key) = client_identity(&id.chain, &id.key)?;
            tls.with_client_auth_cert(chain, key)
                .map_err(|e| Error::invalid_config(format!("client certificate: {e}")))?
        }
    };
    config.resumption = Resumption::store(Arc::new(LazySessions::default()));
    Ok(config)
}

/// Servers whose sessions are remembered: rustls' default.
const SESSION_SERVERS: usize = 256;

/// rustls' in-memory session cache, made when the first handshake stores something: its
/// table (~14 KB) is allocated up front, and a client that only speaks plain HTTP never
/// needs it. Reads before then find nothing.
#[derive(Debug, Default)]
struct LazySessions(OnceLock<ClientSessionMemoryCache>);

impl LazySessions {
    fn cache(&self) -> &ClientSessionMemoryCache {
        self.0
            .get_or_init(|| ClientSessionMemoryCache::new(SESSION_SERVERS))
    }
}

impl ClientSessionStore for LazySessions {
    fn set_kx_hint(&self, server: ServerName<'static>, group: NamedGroup) {
        self.cache().set_kx_hint(server, group);
    }

    fn kx_hint(&self, server: &ServerName<'_>) -> Option<NamedGroup> {
        self.0.get()?.kx_hint(server)
    }

    fn set_tls12_session(&self, server: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.cache().set_tls12_session(server, value);
    }

    fn tls12_session(&self, server: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.0.get()?.tls12_session(server)
    }

    fn remove_tls12_session(&self, server: &ServerName<'static>) {
        if let Some(cache) = self.0.get() {
            cache.remove_tls12_session(server);
        }
    }

    fn insert_tls13_ticket(&self, server: ServerName<'static>, value: Tls13ClientSessionValue) {
        self.cache().insert_tls13_ticket(server, value);
    }

    fn take_tls13_ticket(&self, server: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.0.get()?.take_tls13_ticket(server)
    }
}

/// The caller's CA certificates (PEM) added to `roots`.
fn add_pem(roots: &mut RootCertStore, pem: &[u8]) -> Result<()> {
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
    Ok(())
}

/// rustls' WebPKI server verifier over the bundled, system and caller roots, built on the
/// first handshake (the system store is read once per process and shared).
#[derive(Debug)]
struct LazyRoots {
    builtin: bool,
    system: bool,
    extra: Vec<TrustAnchor<'static>>,
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, String>>,
}

impl LazyRoots {
    fn get(&self) -> std::result::Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                let shared = shared_roots(self.builtin, self.system);
                let roots = if self.extra.is_empty() {
                    shared
                } else {
                    let mut own = RootCertStore::clone(&shared);
                    own.extend(self.extra.iter().cloned());
                    Arc::new(own)
                };
                WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                    .build()
                    .map_err(|e| format!("no trusted roots: {e}"))
            })
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The bundled and/or system roots, built once per process and shared by every client.
fn shared_roots(builtin: bool, system: bool) -> Arc<RootCertStore> {
    static STORES: [OnceLock<Arc<RootCertStore>>; 4] = [const { OnceLock::new() }; 4];
    let slot = usize::from(builtin) * 2 + usize::from(system);
    STORES[slot]
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            if builtin {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            if system {
                // A system root already bundled is not kept twice (Debian's and most
                // distributions' stores are Mozilla's list too).
                let bundled = |a: &TrustAnchor<'_>| {
                    builtin
                        && webpki_roots::TLS_SERVER_ROOTS.iter().any(|b| {
                            b.subject == a.subject
                                && b.subject_public_key_info == a.subject_public_key_info
                        })
                };
                roots.extend(system_anchors().filter(|a| !bundled(a)));
            }
            Arc::new(roots)
        })
        .clone()
}

/// The operating system's trusted roots: the platform store, or `SSL_CERT_FILE` /
/// `SSL_CERT_DIR` when set; certificates the platform cannot parse are skipped, as curl and
/// browsers do. None on Apple targets (bundled roots only).
fn system_anchors() -> impl Iterator<Item = TrustAnchor<'static>> {
    let mut parsed = RootCertStore::empty();
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    {
        let _ = parsed.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    }
    parsed.roots.into_iter()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cache_is_made_by_the_first_write_not_by_reads() {
        let store = LazySessions::default();
        let name = ServerName::try_from("example.com").unwrap();
        assert_eq!(store.kx_hint(&name), None);
        assert!(store.tls12_session(&name).is_none());
        assert!(store.take_tls13_ticket(&name).is_none());
        store.remove_tls12_session(&name);
        assert!(store.0.get().is_none(), "reads made the cache");
        store.set_kx_hint(name.clone(), NamedGroup::X25519);
        assert_eq!(store.kx_hint(&name), Some(NamedGroup::X25519));
    }
}
