//! Listener roles, origin labels and base URLs.

use std::collections::BTreeMap;

/// Which listening socket a connection arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// `127.0.0.1:P1` (and `[::1]:P1` when that port is free, so `localhost` works either way).
    A,
    /// `127.0.0.1:P2` (its TLS certificate is signed by a CA no client trusts).
    A2,
    /// `127.0.0.2:P3`.
    B,
    /// `[::1]:P4`.
    V6,
    /// The `mtls` origin: TLS only, a client certificate required.
    Mtls,
}

/// Every label the server may advertise, in a stable order.
pub(crate) const LABELS: [&str; 10] = [
    "a",
    "a2",
    "b",
    "a_name",
    "tls",
    "tls_b",
    "tls_name",
    "tls_untrusted",
    "v6",
    "mtls",
];

/// Ports the server ended up listening on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ports {
    pub p1: u16,
    pub p2: u16,
    pub p3: u16,
    pub p4: Option<u16>,
    pub p5: u16,
}

/// Base URLs (no trailing slash) of every advertised origin, keyed by label.
pub(crate) fn origin_map(ports: Ports) -> BTreeMap<String, String> {
    let Ports { p1, p2, p3, p4, p5 } = ports;
    let mut m = BTreeMap::new();
    m.insert("a".into(), format!("http://127.0.0.1:{p1}"));
    m.insert("a2".into(), format!("http://127.0.0.1:{p2}"));
    m.insert("b".into(), format!("http://127.0.0.2:{p3}"));
    m.insert("a_name".into(), format!("http://localhost:{p1}"));
    m.insert("tls".into(), format!("https://127.0.0.1:{p1}"));
    m.insert("tls_b".into(), format!("https://127.0.0.2:{p3}"));
    m.insert("tls_name".into(), format!("https://localhost:{p1}"));
    m.insert("tls_untrusted".into(), format!("https://127.0.0.1:{p2}"));
    m.insert("mtls".into(), format!("https://127.0.0.1:{p5}"));
    if let Some(p4) = p4 {
        m.insert("v6".into(), format!("http://[::1]:{p4}"));
    }
    m
}

/// Derives the origin label of a request from the listener it arrived on, whether the
/// connection is TLS, and the host name the client used (`:authority` or `Host`).
///
/// Combinations that are not advertised still get a descriptive label (`tls_v6`).
pub(crate) fn label(role: Role, tls: bool, host: Option<&str>) -> &'static str {
    let by_name = host.is_some_and(|h| {
        let h = h.trim_end_matches('.');
        h.eq_ignore_ascii_case("localhost")
    });
    match (role, tls, by_name) {
        (Role::A, false, false) => "a",
        (Role::A, false, true) => "a_name",
        (Role::A, true, false) => "tls",
        (Role::A, true, true) => "tls_name",
        (Role::A2, false, _) => "a2",
        (Role::A2, true, _) => "tls_untrusted",
        (Role::B, false, _) => "b",
        (Role::B, true, _) => "tls_b",
        (Role::V6, false, _) => "v6",
        (Role::V6, true, _) => "tls_v6",
        (Role::Mtls, _, _) => "mtls",
    }
}

/// Extracts the host name (without port or IPv6 brackets) from an authority string.
pub(crate) fn host_of(authority: &str) -> &str {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Replaces `{label}` templates (every advertised origin) and `{id}` in `s`.
pub(crate) fn expand(s: &str, origins: &BTreeMap<String, String>, id: &str) -> String {
    let mut out = s.replace("{id}", id);
    for (label, base) in origins {
        out = out.replace(&format!("{{{label}}}"), base);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(label(Role::A, false, Some("127.0.0.1")), "a");
        assert_eq!(label(Role::A, false, Some("LocalHost")), "a_name");
        assert_eq!(label(Role::A, true, Some("localhost")), "tls_name");
        assert_eq!(label(Role::B, true, None), "tls_b");
        assert_eq!(host_of("[::1]:80"), "::1");
        assert_eq!(host_of("localhost:8080"), "localhost");
        assert_eq!(host_of("u@h:1"), "h");
    }

    #[test]
    fn expands_templates() {
        let m = origin_map(Ports {
            p1: 1,
            p2: 2,
            p3: 3,
            p4: None,
            p5: 5,
        });
        assert_eq!(
            expand("{b}/s/{id}/1 {tls_name}", &m, "s7"),
            "http://127.0.0.2:3/s/s7/1 https://localhost:1"
        );
        assert_eq!(expand("{v6}", &m, "x"), "{v6}");
    }
}
