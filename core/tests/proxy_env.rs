//! Proxies from the environment (its own test binary: it sets process-wide variables).
//! `hopsafe.invalid` never resolves, so a request to it succeeds only through the proxy
//! (which answers 500 for a host it cannot resolve); loopback never goes through it.

mod common;
use common::*;
use hopsafe_testserver::proxies::Proxy;

#[tokio::test]
async fn proxy_variables_are_honoured_unless_turned_off() {
    let srv = server().await;
    let proxy = Proxy::tinyproxy(Some(("hop", "s3cret"))).unwrap();
    // The only test in this binary: no other thread reads the environment meanwhile.
    std::env::set_var("HTTP_PROXY", proxy.url());
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    let outside = "http://hopsafe.invalid/x";

    let resp = client(&srv).get(outside).send().await.unwrap();
    assert_eq!(
        resp.status(),
        500,
        "tinyproxy answers for the unresolvable host"
    );
    assert!(resp
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("tinyproxy"));

    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    client(&srv).get(&url).send().await.unwrap();
    assert!(
        !srv.records(&id)[0].headers.contains_key("via"),
        "loopback goes direct"
    );

    let direct = builder(&srv).trust_env(false).build().unwrap();
    let err = direct.get(outside).send().await.unwrap_err();
    assert_eq!(err.name(), "Connect", "{err}");

    std::env::set_var("NO_PROXY", "hopsafe.invalid");
    let err = client(&srv).get(outside).send().await.unwrap_err();
    assert_eq!(err.name(), "Connect", "{err}");
}
