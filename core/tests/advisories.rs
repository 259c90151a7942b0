//! Every redirect advisory of a peer client that applies to hopsafe, as a test named after it
//! (see `/shared/security/peer-advisories.md` and the README's Security section). Each test
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

#[tokio::test]
async fn cve_2018_25091_urllib3_header_names_match_case_insensitively() {
    let srv = server().await;
    let c = builder(&srv).sensitive_header("X-Api-Key").build().unwrap();
    for (name, check) in [
        ("authorization", "authorization"),
        ("AUTHORIZATION", "authorization"),
        ("cOoKiE", "cookie"),
        ("x-API-key", "x-api-key"),
    ] {
        let recs = hop(
            &srv,
            &c,
            "GET",
            "a",
            302,
            "{b}/s/{id}/1",
            &[(name, "secret")],
        )
        .await;
        assert_eq!(recs[0].header(check), Some("secret"));
        none_of(&recs[1], &[check]);
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

#[tokio::test]
async fn ghsa_38jv_5279_wg99_urllib3_redirect_bodies_are_never_decompressed() {
    let srv = server().await;
    let c = client(&srv);
    let start = std::time::Instant::now();
    let resp = c
        .get(&srv.url("a", "/redirect/302?to=%2Fecho&gzip_bomb=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
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

#[tokio::test]
async fn cve_2023_45289_go_ip_literals_never_match_a_domain_rule() {
    let srv = server().await;
    let c = builder(&srv).trust_origin("https://*.0.0.1").build();
    assert!(c.is_err(), "a wildcard over an IP is refused");
    let c = builder(&srv)
        .trust_origin("https://*.localhost")
        .build()
        .unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(302, "http://[::1%25.localhost]/"),
            Step::ok(),
        ],
    );
    let err = c.get(&url).bearer_auth("X").send().await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidLocation { .. }),
        "zone literals are refused: {err}"
    );
    assert_eq!(srv.records(&id).len(), 1);
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
