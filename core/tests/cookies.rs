//! The opt-in cookie jar against the test server: cookies set on redirects, RFC 6265 domain
//! and `Secure` rules, and the caller's own `Cookie` still stripped across origins.

mod common;
use common::*;

fn cookie(r: &Record) -> Option<String> {
    r.headers.get("cookie").map(|v| v.join(", "))
}

#[tokio::test]
async fn without_the_jar_a_set_cookie_is_never_sent_back() {
    let srv = server().await;
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(302, "/s/{id}/1").with_header("set-cookie", "s=1; Path=/"),
            Step::ok(),
        ],
    );
    client(&srv).get(&url).send().await.unwrap();
    assert_eq!(cookie(&srv.records(&id)[1]), None);
}

#[tokio::test]
async fn cookies_set_on_redirects_follow_their_domain_rules_not_the_callers() {
    let srv = server().await;
    let c = builder(&srv).cookie_store(true).build().unwrap();
    let (id, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(302, "/s/{id}/1").with_header("set-cookie", "s=1; Path=/"),
            Step::redirect(307, "{a2}/s/{id}/2"),
            Step::redirect(307, "{b}/s/{id}/3"),
            Step::ok(),
        ],
    );
    let resp = c.get(&url).header("cookie", "own=0").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let recs = srv.records(&id);
    assert_eq!(cookie(&recs[0]).as_deref(), Some("own=0"));
    assert_eq!(
        cookie(&recs[1]).as_deref(),
        Some("own=0; s=1"),
        "same origin: both"
    );
    // 127.0.0.1 on another port: another origin, so the caller's cookie goes; the jar's
    // host-only cookie for 127.0.0.1 is sent (RFC 6265 cookies ignore the port).
    assert_eq!(cookie(&recs[2]).as_deref(), Some("s=1"));
    // Another host: neither.
    assert_eq!(cookie(&recs[3]), None);
    // The jar remembers for the next call.
    let (id2, url2) = script(&srv, "a", vec![Step::ok()]);
    c.get(&url2).send().await.unwrap();
    assert_eq!(cookie(&srv.records(&id2)[0]).as_deref(), Some("s=1"));
}
