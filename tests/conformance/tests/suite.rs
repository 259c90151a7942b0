//! The whole scenario file through the Rust core, and proof that the checker catches
//! observations that break the expectation.

use std::path::Path;

use hopsafe_conformance::check::{judge, Verdict};
use hopsafe_conformance::control::Server;
use hopsafe_conformance::runner::play;
use hopsafe_conformance::scenario::load;
use hopsafe_testserver::TestServer;

fn scenarios() -> Vec<hopsafe_conformance::scenario::Scenario> {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios.json"))
        .unwrap()
        .scenarios
}

#[test]
fn every_scenario_passes_on_the_rust_core() {
    hopsafe::runtime::block_on(async {
        let ts = TestServer::start().await.unwrap();
        let mut ready = ts.ready_json();
        let _proxies = hopsafe_testserver::proxies::add_to_ready(&mut ready, &ts).unwrap();
        let server = Server::new(ready).unwrap();
        let all = scenarios();
        assert!(all.len() >= 60);
        let mut failures = Vec::new();
        for s in &all {
            let obs = play(&server, s).await.unwrap();
            if let Verdict::Fail(why) = judge(&server, s, &obs).await {
                failures.push(format!("{}: {}", s.id, why.join("; ")));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    });
}

#[test]
fn the_checker_catches_wrong_observations() {
    hopsafe::runtime::block_on(async {
        let ts = TestServer::start().await.unwrap();
        let mut ready = ts.ready_json();
        let _proxies = hopsafe_testserver::proxies::add_to_ready(&mut ready, &ts).unwrap();
        let server = Server::new(ready).unwrap();
        let all = scenarios();
        let find = |id: &str| all.iter().find(|s| s.id == id).unwrap().clone();

        let s = find("status-307-post");
        let good = play(&server, &s).await.unwrap();
        assert_eq!(judge(&server, &s, &good).await, Verdict::Pass);
        let mut bad = good.clone();
        bad.final_method = Some("GET".into());
        assert!(matches!(judge(&server, &s, &bad).await, Verdict::Fail(_)));
        let mut bad = good.clone();
        bad.error = Some("Transport".into());
        assert!(matches!(judge(&server, &s, &bad).await, Verdict::Fail(_)));

        // A scenario whose expectation the server's records contradict: expecting the
        // credentials to survive a cross-host hop must fail on the records alone.
        let mut leak = find("cross-host");
        let received = leak.expect.received.as_mut().unwrap();
        received[1].present.push("authorization".into());
        let obs = play(&server, &leak).await.unwrap();
        assert!(matches!(
            judge(&server, &leak, &obs).await,
            Verdict::Fail(_)
        ));

        let mut twice = find("retry-keyed-reset");
        twice
            .expect
            .writes
            .as_mut()
            .unwrap()
            .insert("applications".into(), 2);
        let obs = play(&server, &twice).await.unwrap();
        assert!(matches!(
            judge(&server, &twice, &obs).await,
            Verdict::Fail(_)
        ));
    });
}
