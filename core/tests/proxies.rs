//! Through real proxies started by the test: tinyproxy (HTTP: forwarding and `CONNECT`; also
//! behind a TLS front, as an `https://` proxy), Dante (SOCKS5) and the test server's SOCKS5
//! server that requires a password. The redirect rules judge origins, never the proxy; proxy
//! credentials reach only the proxy.

mod common;
use common::*;
use hopsafe_testserver::proxies::Proxy;

fn via(r: &Record) -> bool {
    r.headers.contains_key("via")
}

fn has(r: &Record, name: &str) -> bool {
    r.headers.contains_key(name)
}

#[tokio::test]
async fn an_http_proxy_forwards_http_urls_with_its_own_credentials_only() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy(Some(("hop", "s3cret"))).unwrap();
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let resp = c
        .get(&url)
        .header("authorization", "Bearer origin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    assert_eq!(recs.len(), 1);
    assert!(
        via(&recs[0]),
        "the request went through the proxy: {:?}",
        recs[0].headers
    );
    assert!(
        !has(&recs[0], "proxy-authorization"),
        "{:?}",
        recs[0].headers
    );
    assert_eq!(recs[0].headers["authorization"], ["Bearer origin-token"]);
}

#[tokio::test]
async fn without_its_credentials_the_proxy_refuses_plainly() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy(Some(("hop", "s3cret"))).unwrap();
    let c = builder(&srv)
        .proxy(&proxy.url_without_credentials())
        .build()
        .unwrap();
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 407, "the proxy's own answer");
    assert!(srv.records(&id).is_empty());
    let (id, url) = script(&srv, "tls", vec![Step::ok()]);
    let err = c.get(&url).send().await.unwrap_err();
    assert_eq!(err.name(), "Connect", "{err}");
    assert!(
        err.to_string().contains("proxy authorization required"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("HTTP proxy {}", proxy.url_without_credentials())),
        "names the proxy: {err}"
    );
    assert!(srv.records(&id).is_empty());
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy(Some(("hop", "s3cret"))).unwrap();
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    let (id, url) = script(&srv, "tls", vec![Step::ok()]);
    let resp = c.post(&url).body("x").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    assert_eq!(recs[0].scheme, "https");
    assert!(!via(&recs[0]), "a tunnel does not touch the request");
    assert!(!has(&recs[0], "proxy-authorization"));
}

#[tokio::test]
async fn a_cross_origin_hop_through_the_proxy_strips_credentials_as_a_direct_one() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy(Some(("hop", "s3cret"))).unwrap();
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    for (from, to) in [("a", "{b}"), ("tls", "{tls_b}")] {
        let (id, url) = script(
            &srv,
            from,
            vec![
                Step::redirect(307, format!("{to}/s/{{id}}/1")),
                Step::ok().apply(),
            ],
        );
        let resp = c
            .post(&url)
            .header("authorization", "Bearer origin-token")
            .header("cookie", "session=1")
            .body("order=1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{from}");
        let recs = srv.records(&id);
        assert_eq!(recs.len(), 2, "{from}");
        assert_eq!(recs[1].method, "POST", "{from}");
        assert_eq!(recs[1].body_sha256, sha(b"order=1"), "{from}");
        assert!(
            has(&recs[0], "authorization"),
            "{from}: same origin keeps it"
        );
        for name in ["authorization", "cookie", "proxy-authorization"] {
            assert!(!has(&recs[1], name), "{from}: {name} crossed origins");
        }
        assert_eq!(srv.writes(&id).applications, 1, "{from}");
    }
}

#[tokio::test]
async fn socks5h_carries_http_and_https() {
    let srv = server().await;
    let proxy = Proxy::dante().unwrap();
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    for origin in ["a", "tls", "a_name", "b"] {
        let (id, url) = script(&srv, origin, vec![Step::ok()]);
        let resp = c.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{origin}");
        let recs = srv.records(&id);
        assert_eq!(recs[0].origin, origin);
        assert!(!via(&recs[0]));
    }
    // The proxy is really in the path: once it is gone, a new client cannot connect.
    let url = srv.url("a", "/echo");
    let proxy_url = proxy.url();
    drop(proxy);
    let fresh = builder(&srv).proxy(&proxy_url).build().unwrap();
    let err = fresh.get(&url).send().await.unwrap_err();
    assert_eq!(err.name(), "Connect", "{err}");
}

#[tokio::test]
async fn no_proxy_hosts_go_direct() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy(None).unwrap();
    let c = builder(&srv)
        .proxy(&proxy.url())
        .no_proxy("127.0.0.2")
        .build()
        .unwrap();
    let (id_a, url_a) = script(&srv, "a", vec![Step::ok()]);
    let (id_b, url_b) = script(&srv, "b", vec![Step::ok()]);
    c.get(&url_a).send().await.unwrap();
    c.get(&url_b).send().await.unwrap();
    assert!(via(&srv.records(&id_a)[0]));
    assert!(!via(&srv.records(&id_b)[0]));
}

#[test]
fn bad_proxy_settings_are_typed_errors_without_secrets() {
    for (url, says) in [
        ("socks4://u:hunter2@proxy:1080", "not supported"),
        ("http://u:hunter2@", "proxy"),
    ] {
        let err = hopsafe::Client::builder().proxy(url).build().unwrap_err();
        assert_eq!(err.name(), "InvalidConfig");
        let text = format!("{err} {err:?}");
        assert!(text.contains(says), "{url}: {text}");
        assert!(!text.contains("hunter2"), "{url}: {text}");
    }
}

/// Every header value an origin received, for credential checks.
fn all_values(recs: &[Record]) -> String {
    recs.iter()
        .flat_map(|r| r.headers.values().flatten())
        .cloned()
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn an_https_proxy_is_reached_over_tls_for_http_and_https_urls() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy_tls(Some(("hop", "s3cret")), srv.proxy_tls_config()).unwrap();
    assert!(
        proxy.url().starts_with("https://hop:s3cret@"),
        "{}",
        proxy.url()
    );
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    // An http URL: forwarded by the proxy, its credentials inside the TLS to the proxy.
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let resp = c
        .get(&url)
        .header("authorization", "Bearer origin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "tinyproxy accepted the credentials");
    let recs = srv.records(&id);
    assert!(
        via(&recs[0]),
        "forwarded by the proxy: {:?}",
        recs[0].headers
    );
    assert!(!has(&recs[0], "proxy-authorization"));
    assert_eq!(recs[0].headers["authorization"], ["Bearer origin-token"]);
    let after_http = proxy.tls_handshakes();
    assert!(after_http >= 1, "TLS to the proxy");
    // An https URL: a CONNECT tunnel inside the TLS to the proxy, the origin's TLS inside it.
    let (id, url) = script(&srv, "tls", vec![Step::ok()]);
    let resp = c.post(&url).body("x").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    assert_eq!(recs[0].scheme, "https");
    assert!(!via(&recs[0]), "a tunnel does not touch the request");
    assert!(
        proxy.tls_handshakes() > after_http,
        "a new TLS connection to the proxy"
    );
    assert!(!all_values(&recs).contains("s3cret"));
}

#[tokio::test]
async fn a_cross_origin_hop_through_an_https_proxy_strips_credentials() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy_tls(Some(("hop", "s3cret")), srv.proxy_tls_config()).unwrap();
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    for (from, to) in [("a", "{b}"), ("tls", "{tls_b}")] {
        let (id, url) = script(
            &srv,
            from,
            vec![
                Step::redirect(307, format!("{to}/s/{{id}}/1")),
                Step::ok().apply(),
            ],
        );
        let resp = c
            .post(&url)
            .header("authorization", "Bearer origin-token")
            .body("order=1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{from}");
        let recs = srv.records(&id);
        assert_eq!(recs[1].method, "POST", "{from}");
        assert!(has(&recs[0], "authorization"), "{from}");
        for name in ["authorization", "proxy-authorization"] {
            assert!(!has(&recs[1], name), "{from}: {name} crossed origins");
        }
        assert!(!all_values(&recs).contains("s3cret"), "{from}");
        assert_eq!(srv.writes(&id).applications, 1, "{from}");
    }
}

#[tokio::test]
async fn an_https_proxy_whose_certificate_does_not_verify_is_a_tls_error_naming_it() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy_tls(Some(("hop", "s3cret")), srv.proxy_tls_config()).unwrap();
    // The proxy's certificate is checked against the client's roots: without the test CA
    // it does not verify, for http and https URLs alike, and nothing reaches an origin.
    let c = hopsafe::Client::builder()
        .proxy(&proxy.url())
        .retry(fast_retry())
        .build()
        .unwrap();
    for origin in ["a", "tls"] {
        let (id, url) = script(&srv, origin, vec![Step::ok()]);
        let err = c.get(&url).send().await.unwrap_err();
        assert_eq!(err.name(), "Tls", "{origin}: {err}");
        let text = format!("{err} {err:?}");
        let named = format!("HTTPS proxy {}", proxy.url_without_credentials());
        assert!(text.contains(&named), "{origin}: {text}");
        assert!(!text.contains("s3cret"), "{origin}: {text}");
        assert!(srv.records(&id).is_empty(), "{origin}");
    }
    // Wrong credentials: the proxy refuses the tunnel (a typed error naming the proxy; it
    // answers with a status hyper-util reports only as "unsuccessful") or answers an http
    // URL itself, refusing it.
    let wrong = proxy.url().replace("s3cret", "wrong-pw");
    let c = builder(&srv).proxy(&wrong).build().unwrap();
    let (id, url) = script(&srv, "tls", vec![Step::ok()]);
    let err = c.get(&url).send().await.unwrap_err();
    assert_eq!(err.name(), "Connect", "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("tunnel error"), "{text}");
    assert!(text.contains("HTTPS proxy https://127.0.0.1:"), "{text}");
    assert!(!text.contains("wrong-pw"), "{text}");
    assert!(srv.records(&id).is_empty());
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let status = c.get(&url).send().await.unwrap().status();
    assert!(
        [401, 407].contains(&status.as_u16()),
        "the proxy's own refusal: {status}"
    );
    assert!(srv.records(&id).is_empty());
}

#[tokio::test]
async fn socks5_credentials_reach_the_proxy_and_never_an_origin() {
    let srv = server().await;
    let proxy = Proxy::socks5_with_password("sockuser", "s0cks-pw").unwrap();
    let c = builder(&srv).proxy(&proxy.url()).build().unwrap();
    for origin in ["a", "tls", "a_name"] {
        let (id, url) = script(&srv, origin, vec![Step::ok()]);
        let resp = c.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{origin}");
        let recs = srv.records(&id);
        assert_eq!(recs[0].origin, origin);
        let seen = all_values(&recs);
        assert!(
            !seen.contains("s0cks-pw") && !seen.contains("sockuser"),
            "{origin}: {seen}"
        );
        assert!(!has(&recs[0], "proxy-authorization"), "{origin}");
    }
    let log = proxy.socks_log();
    assert!(log.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(log.refused.load(std::sync::atomic::Ordering::SeqCst), 0);
    // socks5h: the name travels to the proxy, which resolves it.
    let dests = log.destinations.lock().unwrap().clone();
    assert!(
        dests.iter().any(|d| d.starts_with("localhost:")),
        "{dests:?}"
    );
}

#[tokio::test]
async fn wrong_socks5_credentials_are_a_connect_error_naming_the_proxy() {
    let srv = server().await;
    let proxy = Proxy::socks5_with_password("sockuser", "s0cks-pw").unwrap();
    let bare = proxy.url_without_credentials();
    let wrong = proxy.url().replace("s0cks-pw", "not-the-pw");
    for (url, says) in [
        (wrong.as_str(), "credentials not accepted"),
        (bare.as_str(), "SOCKS5 proxy"),
    ] {
        let c = builder(&srv).proxy(url).build().unwrap();
        for origin in ["a", "tls"] {
            let (id, target) = script(&srv, origin, vec![Step::ok()]);
            let err = c.post(&target).body("x").send().await.unwrap_err();
            assert_eq!(err.name(), "Connect", "{url} {origin}: {err}");
            let text = format!("{err} {err:?}");
            assert!(text.contains(says), "{text}");
            assert!(text.contains(&bare), "names the proxy: {text}");
            assert!(!text.contains("not-the-pw"), "{text}");
            assert!(srv.records(&id).is_empty(), "nothing reached {origin}");
        }
    }
    let log = proxy.socks_log();
    assert_eq!(log.accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(log.refused.load(std::sync::atomic::Ordering::SeqCst) >= 4);
    assert!(log.destinations.lock().unwrap().is_empty());
}
