//! The blocking calls, driven by their caller on connections of their own, against real
//! sockets.

use std::io::{Read, Write};
use std::sync::{mpsc, Barrier};
use std::time::Duration;

use hopsafe_testserver::{generated::pattern, Step, TestServer};

use super::HopsafeClient;
use crate::types::HttpRequest;

fn server() -> TestServer {
    hopsafe::runtime::block_on(TestServer::start()).expect("test server")
}

fn client() -> HopsafeClient {
    HopsafeClient {
        inner: hopsafe::Client::builder().build().expect("client"),
        blocking: Default::default(),
        listener: None,
    }
}

fn request(method: &str, url: &str, body: Option<&[u8]>) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url: url.into(),
        headers: Vec::new(),
        body: body.map(|b| crate::blob::Blob(b.to_vec())),
        idempotency_key: None,
        follow_redirects: None,
        max_redirects: None,
        timeout_ms: None,
        retry: None,
    }
}

fn big(srv: &TestServer, len: u64) -> String {
    let step = Step {
        body_bytes: Some(len),
        ..Step::default()
    };
    srv.url("a", &format!("/s/{}/0", srv.script(vec![step])))
}

#[test]
fn blocking_requests_follow_a_307_with_the_body_and_count_in_the_clients_metrics() {
    let srv = server();
    let c = client();
    for _ in 0..3 {
        let resp = c.request_blocking(request("GET", &big(&srv, 1000), None), None);
        assert_eq!(resp.unwrap().body.0, pattern(0, 1000));
    }
    let id = srv.script(vec![Step::redirect(307, "{a}/s/{id}/1"), Step::ok()]);
    let url = srv.url("a", &format!("/s/{id}/0"));
    let resp = c.request_blocking(request("POST", &url, Some(b"payload")), None);
    assert_eq!(resp.unwrap().status, 200);
    assert_eq!(srv.records(&id)[1].body_len, 7);
    // The blocking side shares the client's counters.
    assert_eq!(c.metrics().redirects.len(), 1);
}

#[test]
fn a_blocking_open_is_read_whole_blocking_or_from_an_async_caller() {
    let srv = server();
    let c = client();
    let len = 1 << 20;
    let resp = c.open_blocking(request("GET", &big(&srv, len), None), None, false);
    let body = resp.unwrap().body;
    let mut got = Vec::new();
    while let Some(chunk) = body.next_blocking().unwrap() {
        got.extend(chunk.0);
    }
    assert_eq!(got, pattern(0, len));
    // An async read of a blocking open (a coroutine reading it) drives it from a thread of
    // the shared runtime's blocking pool.
    let resp = c.open_blocking(request("GET", &big(&srv, len), None), None, false);
    let body = resp.unwrap().body;
    let got = hopsafe::runtime::block_on(async move {
        let mut got = Vec::new();
        while let Some(chunk) = body.next().await.unwrap() {
            got.extend(chunk.0);
        }
        got
    });
    assert_eq!(got, pattern(0, len));
}

#[test]
fn dropping_a_blocking_body_before_its_end_closes_the_connection_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (closed, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.read(&mut [0u8; 4096]);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n");
        // Writes until the client's side is gone (a full socket buffer blocks meanwhile).
        while s.write_all(&[b'x'; 65536]).is_ok() {}
        let _ = closed.send(());
    });
    let c = client();
    let resp = c
        .open_blocking(request("GET", &url, None), None, false)
        .unwrap();
    assert!(resp.body.next_blocking().unwrap().is_some());
    drop(resp);
    // No other blocking call follows to drive the runtime: the drop itself closed it.
    let within = seen.recv_timeout(Duration::from_secs(20));
    assert!(within.is_ok(), "the server never saw the connection close");
}

/// The client's established connections to `port` (Linux: the kernel's socket table of this
/// process's network namespace; the server's own ends have `port` as the local port).
#[cfg(target_os = "linux")]
fn connections_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/self/net/tcp").expect("socket table");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote = f[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            remote == Some(port) && f[3] == "01"
        })
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn many_threads_on_one_client_each_get_their_own_answers_over_few_connections() {
    const THREADS: usize = 8;
    let srv = server();
    let c = client();
    let port: u16 = srv.origin("a").rsplit(':').next().unwrap().parse().unwrap();
    let (done, counted) = (Barrier::new(THREADS + 1), Barrier::new(THREADS + 1));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (c, srv, done, counted) = (&c, &srv, &done, &counted);
            s.spawn(move || {
                for i in 0..10 {
                    let len = (1000 + 37 * t + i) as u64;
                    let resp = c.request_blocking(request("GET", &big(srv, len), None), None);
                    assert_eq!(resp.unwrap().body.0, pattern(0, len));
                    let id = srv.script(vec![Step::redirect(307, "{a}/s/{id}/1"), Step::ok()]);
                    let url = srv.url("a", &format!("/s/{id}/0"));
                    let body = format!("thread {t} call {i}");
                    let resp =
                        c.request_blocking(request("POST", &url, Some(body.as_bytes())), None);
                    assert_eq!(resp.unwrap().status, 200);
                    assert_eq!(srv.records(&id)[1].body_len, body.len() as u64);
                }
                done.wait();
                counted.wait();
            });
        }
        done.wait();
        // One kept-alive connection per calling thread, not one per call.
        let open = connections_to(port);
        assert!(open <= THREADS, "{open} connections for {THREADS} threads");
        counted.wait();
    });
    // A thread's connections end with the thread.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while connections_to(port) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "connections outlived their threads"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        c.metrics().redirects.iter().map(|r| r.count).sum::<u64>(),
        80
    );
}

#[test]
fn a_thread_holding_a_body_open_without_reading_stalls_no_other_thread() {
    let srv = server();
    let c = client();
    let (opened, go_on) = (mpsc::channel(), mpsc::channel::<()>());
    let (opened_tx, opened_rx) = opened;
    let (release, released) = go_on;
    std::thread::scope(|s| {
        let (c, srv) = (&c, &srv);
        s.spawn(move || {
            // Idle connections first, then a body left unread: none of this thread's
            // connections makes progress until it calls again.
            for _ in 0..3 {
                c.request_blocking(request("GET", &big(srv, 10), None), None)
                    .unwrap();
            }
            let resp = c
                .open_blocking(request("GET", &big(srv, 8 << 20), None), None, false)
                .unwrap();
            opened_tx.send(()).unwrap();
            released.recv().unwrap();
            let mut n = 0;
            while let Some(chunk) = resp.body.next_blocking().unwrap() {
                n += chunk.0.len();
            }
            assert_eq!(n, 8 << 20);
        });
        opened_rx.recv().unwrap();
        let (done_tx, done) = mpsc::channel();
        for _ in 0..4 {
            let done_tx = done_tx.clone();
            s.spawn(move || {
                for i in 0..5 {
                    let mut req = request("GET", &big(srv, 100 + i), None);
                    req.timeout_ms = Some(10_000);
                    let resp = c.request_blocking(req, None);
                    assert_eq!(resp.unwrap().body.0, pattern(0, 100 + i));
                }
                done_tx.send(()).unwrap();
            });
        }
        for _ in 0..4 {
            let ok = done.recv_timeout(Duration::from_secs(30));
            assert!(ok.is_ok(), "a thread stalled behind the held body");
        }
        release.send(()).unwrap();
    });
}
