//! Every redirect advisory of a peer client that applies to hopsafe, as a test named after it
//! (the README's Security section lists each public advisory and its test). Each test
//! plays the advisory's chain against the real multi-origin server and asserts on what the
//! server received.

use hopsafe::Error;

mod common;
use common::*;

/// Plays `start --status--> location --> 200` with `headers` and returns the two records.
async fn hop(
    srv: &TestServer,
    c: &hopsafe::Client,
    method: &str,
    start: &str,
    status: u16,
    location: &str,
    headers: &[(&str, &str)],
) -> Vec<Record> {
    let (id, url) = script(
        srv,
        start,
        vec![Step::redirect(status, location), Step::ok()],
    );
    let mut rb = c
        .request(method, &url)
        .body(if method == "GET" { "" } else { "payload" });
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.expect("chain completes");
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    assert_eq!(recs.len(), 2);
    recs
}

fn none_of(r: &Record, names: &[&str]) {
    for n in names {
        assert_eq!(r.header(n), None, "{n} reached {} ({})", r.origin, r.scheme);
    }
}

#[tokio::test]
async fn cve_2018_1000007_curl_authorization_to_other_host() {
    let srv = server().await;
    let recs = hop(
        &srv,
        &client(&srv),
        "GET",
        "a",
        302,
        "{b}/s/{id}/1",
        &[("Authorization", "Bearer X")],
    )
    .await;
    assert_eq!(recs[0].header("authorization"), Some("Bearer X"));
    none_of(&recs[1], &["authorization"]);
}

#[tokio::test]
async fn cve_2022_27776_curl_port_and_scheme_changes_are_cross_origin() {
    let srv = server().await;
    let c = client(&srv);
    let h = [("Authorization", "Bearer X"), ("Cookie", "s=1")];
    for target in ["{a2}/s/{id}/1", "{tls}/s/{id}/1"] {
        let recs = hop(&srv, &c, "GET", "a", 302, target, &h).await;
        none_of(&recs[1], &["authorization", "cookie"]);
    }
}

#[tokio::test]
async fn cve_2022_27774_curl_builtin_auth_is_origin_scoped() {
    let srv = server().await;
    let c = client(&srv);
    for target in ["{a2}/s/{id}/1", "{tls}/s/{id}/1", "{b}/s/{id}/1"] {
        let (id, url) = script(&srv, "a", vec![Step::redirect(302, target), Step::ok()]);
        c.get(&url).basic_auth("user", "pw").send().await.unwrap();
        let recs = srv.records(&id);
        assert!(recs[0].header("authorization").is_some());
        none_of(&recs[1], &["authorization"]);
        let (id, url) = script(&srv, "a", vec![Step::redirect(302, target), Step::ok()]);
        c.get(&url.replacen("http://", "http://user:pw@", 1))
            .send()
            .await
            .unwrap();
        none_of(&srv.records(&id)[1], &["authorization"]);
    }
}

#[tokio::test]
async fn cve_2021_22876_curl_no_referer_with_userinfo_is_ever_sent() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(302, "{b}/s/{id}/1"), Step::ok()],
    );
    c.get(&format!(
        "{}#frag",
        url.replacen("http://", "http://user:pw@", 1)
    ))
    .send()
    .await
    .unwrap();
    for r in srv.records(&id) {
        none_of(&r, &["referer"]);
    }
}

#[tokio::test]
async fn cve_2009_0037_curl_only_http_and_https_locations_are_followed() {
    let srv = server().await;
    let c = client(&srv);
    for target in [
        "file:///etc/passwd",
        "scp://host/x",
        "ftp://127.0.0.1/",
        "javascript:alert(1)",
        "data:text/plain,x",
    ] {
        let (id, url) = script(&srv, "a", vec![Step::redirect(302, target), Step::ok()]);
        let err = c.get(&url).send().await.unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedScheme { .. }),
            "{target}: {err}"
        );
        assert_eq!(srv.records(&id).len(), 1);
    }
}

#[tokio::test]
async fn cve_2018_18074_requests_https_to_http_same_host_strips_authorization() {
    let srv = server().await;
    let h = [("Authorization", "Bearer X")];
    let (_, url) = script(
        &srv,
        "tls",
        vec![Step::redirect(302, "{a}/s/{id}/1"), Step::ok()],
    );
    let err = client(&srv)
        .get(&url)
        .header("authorization", "Bearer X")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InsecureRedirect { .. }),
        "refused by default: {err}"
    );
    let allow = builder(&srv).allow_https_downgrade(true).build().unwrap();
    let recs = hop(&srv, &allow, "GET", "tls", 302, "{a}/s/{id}/1", &h).await;
    assert_eq!(recs[1].scheme, "http");
    none_of(&recs[1], &["authorization"]);
}

/// Proxy-Authorization set as a header never follows a cross-origin hop (hopsafe has no
/// proxy support, so there is no CONNECT tunnel to leak it into).
#[tokio::test]
async fn proxy_authorization_advisories_never_cross_origins() {
    // CVE-2023-32681, CVE-2014-1830 (requests), CVE-2024-37891 (urllib3), CVE-2024-28849
    // (follow-redirects), GHSA-j5f8-grm9-p9fc (axios), CVE-2024-24758 and CVE-2024-30260
    // (undici), CVE-2025-4673 (Go).
    let srv = server().await;
    let c = client(&srv);
    for (start, target) in [
        ("a", "{b}/s/{id}/1"),
        ("a", "{tls_b}/s/{id}/1"),
        ("tls", "{tls_b}/s/{id}/1"),
    ] {
        for status in [301, 302, 303, 307, 308] {
            let recs = hop(
                &srv,
                &c,
                "POST",
                start,
                status,
                target,
                &[("Proxy-Authorization", "Basic cDpw")],
            )
            .await;
            assert!(recs[0].header("proxy-authorization").is_some());
            none_of(&recs[1], &["proxy-authorization"]);
        }
    }
}

#[tokio::test]
async fn cve_2018_20060_urllib3_authorization_on_cross_host_redirect() {
    let srv = server().await;
    let recs = hop(
        &srv,
        &client(&srv),
        "GET",
        "a",
        301,
        "{b}/s/{id}/1",
        &[("Authorization", "Basic eDp5")],
    )
    .await;
    none_of(&recs[1], &["authorization"]);
}

/// Header names reach hopsafe in any case, from two places: the name registered as sensitive
/// and the names set on the request. Every pairing of cases must strip the header, every line
/// of it (two lines whose names differ only in case are one field), and report it once.
#[tokio::test]
async fn cve_2018_25091_urllib3_header_names_match_case_insensitively() {
    let srv = server().await;
    for registered in ["X-Api-Key", "x-api-key", "X-API-KEY"] {
        let c = builder(&srv).sensitive_header(registered).build().unwrap();
        for (first, second) in [
            ("x-api-key", "X-API-KEY"),
            ("X-Api-Key", "x-API-key"),
            ("AUTHORIZATION", "authorization"),
            ("cOoKiE", "Cookie"),
        ] {
            let (id, url) = script(
                &srv,
                "a",
                vec![Step::redirect(302, "{b}/s/{id}/1"), Step::ok()],
            );
            let resp = c
                .get(&url)
                .header(first, "one")
                .header(second, "two")
                .header("X-Api-Keys", "not sensitive")
                .send()
                .await
                .unwrap();
            let recs = srv.records(&id);
            let lower = first.to_ascii_lowercase();
            assert_eq!(
                recs[0].headers.get(&lower),
                Some(&vec!["one".to_string(), "two".to_string()]),
                "{registered}: both lines of {first}/{second} are sent to the first origin"
            );
            assert_eq!(
                recs[1].headers.get(&lower),
                None,
                "{registered}: {first} crossed"
            );
            assert_eq!(recs[1].header("x-api-keys"), Some("not sensitive"));
            let dropped: Vec<&str> = resp.history()[0]
                .dropped
                .iter()
                .map(|d| d.name.as_str())
                .collect();
            assert_eq!(dropped, [lower.as_str()], "{registered}: {first}");
        }
    }
}

#[tokio::test]
async fn cookie_advisories_never_cross_origins() {
    // CVE-2023-43804 (urllib3), CVE-2022-0155 (follow-redirects), CVE-2022-31151 and
    // CVE-2023-45143 (undici).
    let srv = server().await;
    let c = client(&srv);
    for target in ["{b}/s/{id}/1", "{a_name}/s/{id}/1", "{a2}/s/{id}/1"] {
        let recs = hop(
            &srv,
            &c,
            "GET",
            "a",
            302,
            target,
            &[("Cookie", "session=abc")],
        )
        .await;
        none_of(&recs[1], &["cookie"]);
    }
}

#[tokio::test]
async fn cve_2023_45803_urllib3_303_drops_the_body_and_body_headers() {
    let srv = server().await;
    let recs = hop(
        &srv,
        &client(&srv),
        "POST",
        "a",
        303,
        "{b}/s/{id}/1",
        &[("Content-Type", "text/plain")],
    )
    .await;
    assert_eq!(recs[1].method, "GET");
    assert_eq!(recs[1].body_len, 0);
    none_of(
        &recs[1],
        &["content-type", "content-length", "transfer-encoding"],
    );
}

#[tokio::test]
async fn cve_2025_50181_urllib3_client_level_no_redirects_is_honoured() {
    let srv = server().await;
    for c in [
        builder(&srv).follow_redirects(false).build().unwrap(),
        builder(&srv).max_redirects(0).build().unwrap(),
    ] {
        for status in [301, 302, 303, 307, 308] {
            let (id, url) = script(
                &srv,
                "a",
                vec![Step::redirect(status, "{b}/s/{id}/1"), Step::ok()],
            );
            let resp = c.post(&url).body("x").send().await.unwrap();
            assert_eq!(resp.status().as_u16(), status);
            assert_eq!(
                srv.records(&id).len(),
                1,
                "the redirect target was never contacted"
            );
        }
    }
}

/// A raw HTTP/1.1 server on a real socket: `GET /bomb` answers `302 Location: /done` with a
/// gzip body inflating to `inflated_mib` MiB (concatenated 1 MiB members of zeros, about 1 KiB
/// each on the wire); anything else answers `200` with `done`. Returns its base URL.
#[cfg(feature = "decompress")]
async fn bomb_server(inflated_mib: usize) -> String {
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = member.finish().unwrap();
    let bomb = member.repeat(inflated_mib);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let bomb = bomb.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = if head.starts_with(b"GET /bomb ") {
                    let mut r = format!(
                        "HTTP/1.1 302 Found\r\nLocation: /done\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bomb.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&bomb);
                    r
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone"
                        .to_vec()
                };
                // The client may close before reading everything (it never needs the 3xx body).
                let _ = sock.write_all(&reply).await;
            });
        }
    });
    format!("http://{addr}")
}

/// The 3xx body inflates past the decoder's limit (256 MiB), so a client that
/// decoded it would fail with `ResponseTooLarge` (or spend the memory); the chain instead
/// completes, and a final response carrying the same bomb shows the decoder is really on.
#[cfg(feature = "decompress")]
#[tokio::test]
async fn ghsa_38jv_5279_wg99_urllib3_redirect_bodies_are_never_decompressed() {
    // The decoder refuses output over 256 MiB (the control below fails if that limit grows).
    let mib = 256 + 16;
    let base = bomb_server(mib).await;
    let c = hopsafe::Client::builder().build().unwrap();
    let resp = c.get(&format!("{base}/bomb")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.history().len(), 1);
    assert_eq!(resp.history()[0].status, 302);
    assert_eq!(resp.text().await.unwrap(), "done");
    // Control: the same body on a response the caller reads is decoded, and refused.
    let stop = hopsafe::Client::builder()
        .follow_redirects(false)
        .build()
        .unwrap();
    let resp = stop.get(&format!("{base}/bomb")).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let err = resp.bytes().await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { .. }),
        "the decoder is on: {err}"
    );
}

#[tokio::test]
async fn cve_2022_0536_follow_redirects_scheme_change_same_host() {
    let srv = server().await;
    let h = [("Authorization", "Bearer X"), ("Cookie", "s=1")];
    let recs = hop(&srv, &client(&srv), "GET", "a", 302, "{tls}/s/{id}/1", &h).await;
    assert_eq!(recs[1].scheme, "https");
    none_of(&recs[1], &["authorization", "cookie"]);
}

#[tokio::test]
async fn cve_2023_26159_follow_redirects_host_confusion_decides_on_the_connected_host() {
    let srv = server().await;
    let c = client(&srv);
    let a = srv.origin("a").trim_start_matches("http://").to_owned();
    let b = srv.origin("b").trim_start_matches("http://").to_owned();
    // Userinfo that looks like the first host: the request goes to b, without credentials.
    let target = format!("http://{a}@{b}/s/{{id}}/1");
    let (id, url) = script(&srv, "a", vec![Step::redirect(302, target), Step::ok()]);
    c.get(&url).bearer_auth("X").send().await.unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[1].origin, "b");
    none_of(&recs[1], &["authorization"]);
    // A backslash is a path separator for http (WHATWG): the host is b, and the decision to
    // strip is made on that same parsed URL.
    let target = format!("http://{b}\\@{a}/echo");
    let (_, url) = script(&srv, "a", vec![Step::redirect(302, target), Step::ok()]);
    let resp = c.get(&url).bearer_auth("X").send().await.unwrap();
    assert_eq!(resp.url().host_str(), Some("127.0.0.2"));
    assert_eq!(resp.history()[0].dropped[0].name, "authorization");
}

#[tokio::test]
async fn cve_2022_31150_undici_crlf_in_header_values_is_refused() {
    let srv = server().await;
    let c = client(&srv);
    for (name, value) in [
        ("x-a", "v\r\nInjected: 1"),
        ("x-a", "v\nInjected: 1"),
        ("x-a", "v\0"),
        ("bad name", "v"),
    ] {
        let err = c
            .get(&srv.url("a", "/echo"))
            .header(name, value)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidHeader { .. }), "{err}");
    }
}

/// A wildcard trust rule never covers an IP literal: rules naming an IP are refused when the
/// client is built, zone literals (`[::1%25.localhost]`, whose text ends in a trusted domain)
/// are refused as Locations, and credentials to an IP-literal origin are stripped.
#[tokio::test]
async fn cve_2023_45289_go_ip_literals_never_match_a_domain_rule() {
    let srv = server().await;
    for pattern in [
        "https://*.0.0.1",
        "https://*.127.0.0.1",
        "https://*.1",
        "https://*.0x7f.1",
        "https://*.[::1]",
        "https://*.[::ffff:127.0.0.1]",
    ] {
        let err = builder(&srv).trust_origin(pattern).build().unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { .. })
                && err.to_string().contains("cannot cover an IP address"),
            "{pattern}: {err}"
        );
    }
    let c = builder(&srv)
        .trust_origin("https://*.localhost")
        .build()
        .unwrap();
    for zoned in [
        "http://[::1%25.localhost]/",
        "https://[fe80::1%25eth0.localhost]/",
        "https://[::1%.localhost]/",
    ] {
        let (id, url) = script(&srv, "a", vec![Step::redirect(302, zoned), Step::ok()]);
        let err = c.get(&url).bearer_auth("X").send().await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidLocation { .. }),
            "{zoned}: zone literals are refused: {err}"
        );
        assert_eq!(srv.records(&id).len(), 1);
    }
    // tls_name is a localhost name, tls the same server as 127.0.0.1: not covered.
    let recs = hop(
        &srv,
        &c,
        "GET",
        "tls_name",
        302,
        "{tls}/s/{id}/1",
        &[("authorization", "X")],
    )
    .await;
    none_of(&recs[1], &["authorization"]);
}

#[tokio::test]
async fn cve_2024_45336_go_stripping_is_sticky_for_the_rest_of_the_chain() {
    // Also the "observed without an advisory" A->B->B pattern of a current Rust client.
    let srv = server().await;
    let c = client(&srv);
    for back in ["{b}/s/{id}/2", "{a}/s/{id}/2"] {
        let (id, url) = script(
            &srv,
            "a",
            vec![
                Step::redirect(302, "{b}/s/{id}/1"),
                Step::redirect(302, back),
                Step::ok(),
            ],
        );
        c.get(&url)
            .bearer_auth("X")
            .header("cookie", "s=1")
            .send()
            .await
            .unwrap();
        let recs = srv.records(&id);
        assert_eq!(recs.len(), 3);
        none_of(&recs[1], &["authorization", "cookie"]);
        none_of(&recs[2], &["authorization", "cookie"]);
    }
}
