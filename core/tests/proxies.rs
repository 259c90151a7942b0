//! Through real proxies started by the test: tinyproxy (HTTP: forwarding and `CONNECT`) and
//! Dante (SOCKS5). The redirect rules judge origins, never the proxy; proxy credentials reach
//! only the proxy.

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
        ("https://proxy:443", "not supported"),
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
