//! Misbehaving servers end in the right typed error within the timeouts; load through
//! redirect chains gives no wrong outcome and no double write; cancellation never makes a
//! half-sent body look complete.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hopsafe::{Error, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod common;
use common::*;

/// A one-connection-at-a-time raw server answering every request with `reply` bytes.
async fn raw_server(reply: &'static [u8], then_hang: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(reply).await;
                if then_hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    format!("http://{addr}/")
}

fn quick(srv: &TestServer) -> hopsafe::Client {
    builder(srv)
        .read_timeout(Some(Duration::from_millis(500)))
        .retry(RetryPolicy::never())
        .build()
        .unwrap()
}

#[tokio::test]
async fn malformed_responses_are_typed_errors() {
    let srv = server().await;
    let c = quick(&srv);
    let cases: [(&[u8], bool, &str); 4] = [
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
            false,
            "Transport",
        ),
        (b"HTTP/9.9 abc nonsense\r\n\r\n", false, "Transport"),
        (b"NOT HTTP AT ALL\r\n\r\n", false, "Transport"),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort",
            true,
            "Timeout",
        ),
    ];
    for (reply, hang, want) in cases {
        let url = raw_server(reply, hang).await;
        let started = Instant::now();
        let result = match c.get(&url).send().await {
            Ok(resp) => resp.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        };
        let err = result.expect_err("malformed response must fail");
        assert_eq!(
            err.name(),
            want,
            "{:?}: {err}",
            String::from_utf8_lossy(reply)
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn oversized_headers_and_bad_locations_are_typed() {
    let srv = server().await;
    let c = quick(&srv);
    let huge: &'static [u8] = Box::leak(
        format!("HTTP/1.1 200 OK\r\nx-big: {}\r\n\r\n", "a".repeat(1 << 20))
            .into_bytes()
            .into_boxed_slice(),
    );
    let err = c
        .get(&raw_server(huge, false).await)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Transport", "{err:.200}");
    // Invalid UTF-8 in Location is percent-encoded, not a crash.
    let resp = c
        .get(&srv.url("a", "/redirect/302?to=%2Fecho%2F%FF%FE"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.url().path().ends_with("/echo/%FF%FE"),
        "{}",
        resp.url()
    );
}

#[tokio::test]
async fn server_faults_end_within_the_timeouts() {
    let srv = server().await;
    let c = quick(&srv);
    for (fault, want) in [
        ("reset_before_read", "Transport"),
        ("reset_after_read", "Transport"),
        ("close_before_response", "Transport"),
        ("delay_ms:5000", "Timeout"),
    ] {
        let (_, url) = script(&srv, "a", vec![Step::ok().with_fault(fault)]);
        let started = Instant::now();
        let err = c.post(&url).body("x").send().await.unwrap_err();
        assert_eq!(err.name(), want, "{fault}: {err}");
        assert!(started.elapsed() < Duration::from_secs(3), "{fault}");
    }
    // A slow-loris body (a byte every 200 ms) never trips a per-read timeout; the total
    // deadline, which also covers reading the body, ends it.
    let (_, url) = script(&srv, "a", vec![Step::ok().with_fault("slow_body")]);
    let bounded = builder(&srv)
        .timeout(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let started = Instant::now();
    let resp = bounded.get(&url).send().await.unwrap();
    let err = resp.bytes().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                phase: hopsafe::TimeoutPhase::Total,
                ..
            }
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn load_through_redirect_chains_is_exact() {
    let srv = server().await;
    let total: usize = std::env::var("HOPSAFE_LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let c = client(&srv);
    let (id, url) = script(
        &srv,
        "a",
        vec![Step::redirect(307, "{b}/s/{id}/1"), Step::ok().apply()],
    );
    let url = Arc::new(url);
    let rss_before = rss_kib();
    let sem = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::with_capacity(total);
    let started = Instant::now();
    for i in 0..total {
        let (c, url, sem) = (c.clone(), url.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let body = Bytes::from(format!("order-{i}"));
            let resp = c.post(&url).body(body).send().await?;
            let ok = resp.status() == 200 && resp.history().len() == 1 && resp.method() == "POST";
            let echoed = resp.text().await?;
            Ok::<_, Error>(ok && echoed.contains(&format!("order-{i}")))
        }));
    }
    let mut wrong = 0;
    for t in tasks {
        if !t.await.unwrap().unwrap() {
            wrong += 1;
        }
    }
    let elapsed = started.elapsed();
    let w = srv.writes(&id);
    eprintln!(
        "load: {total} requests ({} hops) in {elapsed:?}, RSS {} -> {} KiB",
        total * 2,
        rss_before,
        rss_kib()
    );
    assert_eq!(wrong, 0);
    assert_eq!(w.deliveries, total as u64);
    assert_eq!(w.applications, total as u64);
    assert!(
        w.keys.values().all(|&n| n == 1),
        "no keyed write delivered twice"
    );
}

#[tokio::test]
async fn a_cancellation_storm_never_completes_a_half_sent_body() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(&srv, "a", vec![Step::ok().apply()]);
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let (c, url) = (c.clone(), url.clone());
        let task = tokio::spawn(async move {
            let chunks = futures_util::stream::unfold(0u32, |n| async move {
                if n == 8 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(vec![b'z'; 1024])),
                    n + 1,
                ))
            });
            c.post(&url)
                .body(hopsafe::Body::from_stream(chunks))
                .send()
                .await
        });
        let abort = task.abort_handle();
        if i % 2 == 0 {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(fastrand::u64(1..40))).await;
                abort.abort();
            });
        }
        tasks.push(task);
    }
    let mut completed = 0;
    for t in tasks {
        if let Ok(Ok(resp)) = t.await {
            assert_eq!(resp.status(), 200);
            completed += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let recs = srv.records(&id);
    for r in &recs {
        if r.body_complete {
            assert_eq!(r.body_len, 8 * 1024, "a cut body was taken as complete");
        }
    }
    assert!(
        completed >= 100,
        "the un-cancelled half completes ({completed})"
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
