//! Certificates generated at start (an rcgen CA and a leaf it signs) and the rustls config.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
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
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("tls setup: {e}"))
}

/// Generates a fresh CA and leaf (and an untrusted pair) and builds the rustls server
/// configs (ring provider).
pub(crate) fn generate() -> io::Result<TlsMaterial> {
    let (ca_pem, config) = ca_and_config("hopsafe-testserver CA")?;
    let (_, untrusted) = ca_and_config("hopsafe-testserver untrusted CA")?;
    Ok(TlsMaterial {
        ca_pem,
        config,
        untrusted,
    })
}

fn ca_and_config(ca_name: &str) -> io::Result<(String, Arc<ServerConfig>)> {
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

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((ca_cert.pem(), Arc::new(config)))
}
