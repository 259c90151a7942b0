//! `runtime::CallerDriven`: a blocking caller drives its client's requests, connections,
//! bodies and timers on its own thread, and several threads may block on it at once.

mod common;
use common::*;

use std::time::Duration;

use hopsafe::runtime::CallerDriven;

/// The test server, run by the shared runtime (so it serves whether or not a caller drives).
fn lab() -> TestServer {
    hopsafe::runtime::shared().block_on(server())
}

#[test]
fn a_blocking_caller_drives_requests_redirects_and_bodies_read_later() {
    let srv = lab();
    let c = client(&srv);
    let rt = CallerDriven::new().unwrap();
    let mut big = Step::ok();
    big.body_bytes = Some(1 << 20);
    for _ in 0..3 {
        let (_, url) = script(&srv, "a", vec![big.clone()]);
        // The head in one call; the body, still on the connection, in the next.
        let resp = rt.block_on(c.get(&url).send()).unwrap();
        assert_eq!(resp.status(), 200);
        let body = rt.block_on(resp.bytes()).unwrap();
        assert_eq!(body, hopsafe_testserver::generated::pattern(0, 1 << 20));
    }
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{a}/s/{id}/1"), Step::ok()],
    );
    let resp = rt.block_on(c.post(&url).body("payload").send()).unwrap();
    assert_eq!((resp.status().as_u16(), resp.history().len()), (200, 1));
    let records = srv.records(&id);
    assert_eq!(records[1].method, "POST");
    assert_eq!(records[1].body_len, 7);
}

#[test]
fn threads_blocking_on_one_runtime_at_once_all_finish() {
    let srv = lab();
    let c = client(&srv);
    let rt = CallerDriven::new().unwrap();
    let url = srv.url("a", "/echo");
    let done = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..20)
                        .filter(|_| {
                            let resp = rt.block_on(c.get(&url).send()).unwrap();
                            rt.block_on(resp.bytes()).unwrap().starts_with(b"{")
                        })
                        .count()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .sum::<usize>()
    });
    assert_eq!(done, 160);
}

#[test]
fn timers_fire_while_the_caller_drives() {
    let srv = lab();
    let c = builder(&srv)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let rt = CallerDriven::new().unwrap();
    let mut held = Step::ok().with_body("never all of it");
    held.hold_after = Some(0);
    let (_, url) = script(&srv, "a", vec![held]);
    let resp = rt.block_on(c.get(&url).send()).unwrap();
    let err = rt.block_on(resp.bytes()).unwrap_err();
    assert_eq!(err.name(), "Timeout", "{err}");
}

#[test]
fn a_client_with_its_own_connections_shares_settings_cookies_and_counters() {
    let srv = lab();
    let c = builder(&srv).cookie_store(true).build().unwrap();
    let blocking = c.with_own_connections().unwrap();
    let rt = CallerDriven::new().unwrap();
    let (_, url) = script(
        &srv,
        "a",
        vec![
            Step::redirect(302, "/s/{id}/1").with_header("set-cookie", "s=1; Path=/"),
            Step::ok(),
        ],
    );
    rt.block_on(blocking.get(&url).send()).unwrap();
    // The counters are the same ones, and so is the jar the redirect filled.
    assert_eq!(c.metrics().redirects.len(), 1);
    let (id, url) = script(&srv, "a", vec![Step::ok()]);
    let shared = hopsafe::runtime::shared();
    shared.block_on(c.get(&url).send()).unwrap();
    let sent = srv.records(&id)[0].headers.get("cookie").cloned();
    assert_eq!(sent, Some(vec!["s=1".to_owned()]));
}
