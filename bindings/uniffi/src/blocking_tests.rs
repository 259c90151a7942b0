//! The blocking calls, driven by their caller on connections of their own, against real
//! sockets.

use std::io::{Read, Write};
use std::sync::mpsc;
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
        blocking: std::sync::OnceLock::new(),
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
