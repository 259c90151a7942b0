//! Certificates generated at start (an rcgen CA and a leaf it signs) and the rustls config.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

/// Names the leaf certificate is valid for.
const LEAF_SANS: [&str; 4] = ["localhost", "127.0.0.1", "127.0.0.2", "::1"];

/// Material produced at start.
pub(crate) struct TlsMaterial {
    /// PEM of the CA that signed the leaf; clients trust this.
    pub ca_pem: String,
    /// Server config offering ALPN `h2` and `http/1.1`.
    pub config: Arc<ServerConfig>,
    /// The same, with a leaf signed by a second CA that no client is given (the
    /// `tls_untrusted` origin: a failover target whose certificate does not verify).
    pub untrusted: Arc<ServerConfig>,
    /// The `mtls` origin's config: the trusted leaf, and a client certificate signed by the
    /// same CA is required.
    pub mtls: Arc<ServerConfig>,
    /// A client certificate (PEM) the `mtls` origin accepts.
    pub client_cert_pem: String,
    /// Its private key (PKCS#8 PEM).
    pub client_key_pem: String,
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("tls setup: {e}"))
}

/// A CA, a leaf it signed for [`LEAF_SANS`], and the issuer to sign more.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    leaf_key: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

/// Generates a fresh CA and leaf (and an untrusted pair, and a client certificate) and
/// builds the rustls server configs (ring provider).
pub(crate) fn generate() -> io::Result<TlsMaterial> {
    let pki = ca_and_leaf("hopsafe-testserver CA")?;
    let other = ca_and_leaf("hopsafe-testserver untrusted CA")?;

    let client_key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "hopsafe test client");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = params.signed_by(&client_key, &pki.issuer).map_err(err)?;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.chain[1].clone()).map_err(err)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(err)?;
    // The mtls origin offers h2 and HTTP/1.1 like the others; after a refused client
    // certificate it half-closes and drains (conn.rs), so a client reads the alert.
    Ok(TlsMaterial {
        config: server_config(&pki, None)?,
        mtls: server_config(&pki, Some(verifier))?,
        untrusted: server_config(&other, None)?,
        ca_pem: pki.ca_pem,
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn ca_and_leaf(ca_name: &str) -> io::Result<Pki> {
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, ca_name);
    ca_params.distinguished_name = dn;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(err)?;
    let sans: Vec<String> = LEAF_SANS.iter().map(|s| s.to_string()).collect();
    let mut leaf_params = CertificateParams::new(sans).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    leaf_params.distinguished_name = dn;
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(err)?;
    Ok(Pki {
        ca_pem: ca_cert.pem(),
        chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        leaf_key: leaf_key.serialize_der(),
        issuer,
    })
}

/// The server config for `pki`'s leaf (ALPN `h2`, `http/1.1`); with `clients`, a client
/// certificate that verifies is required.
fn server_config(
    pki: &Pki,
    clients: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
) -> io::Result<Arc<ServerConfig>> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.leaf_key.clone()));
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(err)?;
    let builder = match clients {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(pki.chain.clone(), key)
        .map_err(err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
