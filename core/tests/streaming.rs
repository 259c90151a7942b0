//! Streamed response bodies on real sockets: `bytes_stream` with backpressure, an SSE-style
//! body delivered event by event, the `max_body_size` cap on buffered reads only, and what
//! dropping a body mid-way does to the connection (hyper-util returns an HTTP/1.1 connection
//! to its pool only once the body was read to the end; hyper closes it when the body is
//! dropped before).

mod common;
use common::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[tokio::test]
async fn max_body_size_caps_buffered_reads_but_not_streamed_ones() {
    let srv = server().await;
    let c = builder(&srv).max_body_size(Some(100_000)).build().unwrap();
    let url = srv.url("a", "/bytes/200000");
    let err = c.get(&url).send().await.unwrap().bytes().await.unwrap_err();
    assert!(
        matches!(err, hopsafe::Error::ResponseTooLarge { limit: 100_000, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("100000") && message.contains("stream"),
        "{message}"
    );
    let err = c.get(&url).send().await.unwrap().text().await.unwrap_err();
    assert_eq!(err.name(), "ResponseTooLarge");
    // The same body, streamed, is read whole: one chunk at a time is never capped.
    let mut resp = c.get(&url).send().await.unwrap();
    let mut len = 0;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        len += chunk.len();
    }
    assert_eq!(len, 200_000);
    let mut stream = c.get(&url).send().await.unwrap().bytes_stream();
    let mut len = 0;
    while let Some(chunk) = stream.next().await {
        len += chunk.unwrap().len();
    }
    assert_eq!(len, 200_000);
    // At the limit is within it.
    let at = c.get(&srv.url("a", "/bytes/100000")).send().await.unwrap();
    assert_eq!(at.bytes().await.unwrap().len(), 100_000);
}

#[tokio::test]
async fn unread_bytes_come_back_first_and_count_against_max_body_size() {
    let srv = server().await;
    let c = builder(&srv).max_body_size(Some(1000)).build().unwrap();
    let url = srv.url("a", "/bytes/1000");
    // Taken and given back (twice, in order): read_all returns every byte once.
    let mut resp = c.get(&url).send().await.unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    let n = first.len();
    resp.unread(first.slice(1..));
    resp.unread(first.slice(..1));
    let all = resp.read_all().await.unwrap();
    assert_eq!(all.len(), 1000);
    assert_eq!(all.slice(..n), first);
    // One byte more than was sent is past the limit.
    let mut resp = c.get(&url).send().await.unwrap();
    resp.unread(bytes::Bytes::from_static(b"x"));
    let err = resp.read_all().await.unwrap_err();
    assert_eq!(err.name(), "ResponseTooLarge");
}

#[tokio::test]
async fn max_body_size_counts_decoded_bytes_and_refuses_a_long_content_length_up_front() {
    let srv = server().await;
    let c = builder(&srv).max_body_size(Some(10_000)).build().unwrap();
    let mut gz = Step::ok();
    gz.body_bytes = Some(200_000);
    gz.encoding = Some("gzip".into());
    let (_, url) = script(&srv, "a", vec![gz]);
    let err = c.get(&url).send().await.unwrap().bytes().await.unwrap_err();
    assert_eq!(err.name(), "ResponseTooLarge", "{err}");
    let (_, url) = script(&srv, "a", vec![Step::ok().with_body("x".repeat(20_000))]);
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.headers()["content-length"], "20000");
    assert_eq!(resp.bytes().await.unwrap_err().name(), "ResponseTooLarge");
    // No limit by default.
    let whole = client(&srv).get(&url).send().await.unwrap();
    assert_eq!(whole.bytes().await.unwrap().len(), 20_000);
}

#[tokio::test]
async fn a_held_body_streams_what_was_sent_before_the_rest_is_released() {
    let srv = server().await;
    let c = client(&srv);
    let mut held = Step::ok();
    held.body_bytes = Some(1 << 20);
    held.hold_after = Some(65_536);
    let (id, url) = script(&srv, "a", vec![held]);
    let mut stream = c.get(&url).send().await.unwrap().bytes_stream();
    let mut got = Vec::new();
    // Everything before the hold arrives while the server waits for the release.
    while got.len() < 65_536 {
        got.extend_from_slice(&stream.next().await.unwrap().unwrap());
    }
    assert_eq!(got.len(), 65_536);
    let release = srv.url("a", &format!("/__scripts/{id}/release"));
    assert_eq!(c.post(&release).send().await.unwrap().status(), 200);
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, hopsafe_testserver::generated::pattern(0, 1 << 20));
}

#[tokio::test]
async fn an_sse_event_arrives_before_the_server_sends_the_next() {
    let srv = server().await;
    let c = client(&srv);
    let first = "event: tick\ndata: 1\n\n";
    // The server holds everything after the first event until the client, having received
    // that event, releases it: a client that buffered the body would never see the event
    // (the bounded wait fails it; the server would end the body short after its 20 s hold).
    let mut sse = Step::ok()
        .with_body(format!("{first}event: tick\ndata: 2\n\n"))
        .with_header("content-type", "text/event-stream");
    sse.hold_after = Some(first.len() as u64);
    let (id, url) = script(&srv, "a", vec![sse]);
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    let mut events: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        let next = if events.is_empty() {
            tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("the first event did not arrive while the server held the next")
        } else {
            stream.next().await
        };
        let Some(chunk) = next else { break };
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        while let Some(end) = text.find("\n\n") {
            events.push(text[..end].to_owned());
            text.drain(..end + 2);
            if events.len() == 1 {
                let release = srv.url("a", &format!("/__scripts/{id}/release"));
                assert_eq!(c.post(&release).send().await.unwrap().status(), 200);
            }
        }
    }
    assert_eq!(events, ["event: tick\ndata: 1", "event: tick\ndata: 2"]);
    assert_eq!(text, "");
}

#[tokio::test]
async fn arrived_chunk_takes_a_body_sent_with_its_head_and_never_waits_for_one_held_back() {
    let srv = server().await;
    let c = client(&srv);
    let (_, url) = script(&srv, "a", vec![Step::ok().with_body("small")]);
    let mut resp = c.get(&url).send().await.unwrap();
    let first = resp
        .arrived_chunk()
        .await
        .expect("the body came with the head");
    assert_eq!(first.unwrap().unwrap(), "small");

    let mut held = Step::ok().with_body("later");
    held.hold_after = Some(0);
    let (id, url) = script(&srv, "a", vec![held]);
    let mut resp = c.get(&url).send().await.unwrap();
    assert!(resp.arrived_chunk().await.is_none(), "nothing was sent yet");
    let release = srv.url("a", &format!("/__scripts/{id}/release"));
    assert_eq!(c.post(&release).send().await.unwrap().status(), 200);
    assert_eq!(resp.bytes().await.unwrap(), "later", "a miss loses nothing");
}

/// A plain HTTP/1.1 keep-alive server: every answer carries a `len`-byte body and an
/// `x-conn` header numbering its connection; each connection's number is sent on `closed`
/// when the server sees it end (EOF or a failed write).
async fn raw_server(len: usize) -> (String, mpsc::UnboundedReceiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (closed_tx, closed) = mpsc::unbounded_channel();
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let closed_tx = closed_tx.clone();
            tokio::spawn(async move {
                let mut pending = Vec::new();
                let body = vec![b'x'; 64 * 1024];
                'conn: loop {
                    while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut buf = [0u8; 4096];
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => break 'conn,
                            Ok(k) => pending.extend_from_slice(&buf[..k]),
                        }
                    }
                    pending.clear();
                    let head =
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\nx-conn: {n}\r\n\r\n");
                    if sock.write_all(head.as_bytes()).await.is_err() {
                        break;
                    }
                    let mut left = len;
                    while left > 0 {
                        let k = left.min(body.len());
                        if sock.write_all(&body[..k]).await.is_err() {
                            break 'conn;
                        }
                        left -= k;
                    }
                }
                let _ = closed_tx.send(n);
            });
        }
    });
    (url, closed)
}

fn conn_of(resp: &hopsafe::Response) -> String {
    resp.headers()["x-conn"].to_str().unwrap().to_owned()
}

/// Fails the test instead of hanging when the server never sees the connection end.
async fn closed_connection(closed: &mut mpsc::UnboundedReceiver<usize>) -> usize {
    tokio::time::timeout(Duration::from_secs(30), closed.recv())
        .await
        .expect("the server never saw the aborted connection close")
        .unwrap()
}

#[tokio::test]
async fn dropping_a_body_mid_way_closes_the_connection_and_the_next_request_opens_another() {
    let (url, mut closed) = raw_server(256 << 20).await;
    let c = hopsafe::Client::new().unwrap();
    let mut resp = c.get(&url).send().await.unwrap();
    assert_eq!(conn_of(&resp), "0");
    assert!(!resp.chunk().await.unwrap().unwrap().is_empty());
    drop(resp);
    assert_eq!(closed_connection(&mut closed).await, 0);
    // The same through the stream API, on a fresh connection.
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(conn_of(&resp), "1");
    let mut stream = resp.bytes_stream();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    assert_eq!(closed_connection(&mut closed).await, 1);
}

#[tokio::test]
async fn a_body_read_to_the_end_returns_its_connection_to_the_pool() {
    let (url, mut closed) = raw_server(300_000).await;
    let c = hopsafe::Client::new().unwrap();
    let resp = c.get(&url).send().await.unwrap();
    assert_eq!(conn_of(&resp), "0");
    assert_eq!(resp.bytes().await.unwrap().len(), 300_000);
    // hyper-util puts the connection back from a task once hyper is idle again, so the next
    // request may race it and open a second connection; connection 0 must serve one soon.
    let mut reused = false;
    for _ in 0..50 {
        let resp = c.get(&url).send().await.unwrap();
        reused = conn_of(&resp) == "0";
        assert_eq!(resp.bytes().await.unwrap().len(), 300_000);
        if reused {
            break;
        }
    }
    assert!(reused, "the connection read to the end was never reused");
    assert!(closed.try_recv().is_err(), "a connection was closed");
}

#[tokio::test]
async fn remaining_length_is_what_is_left_of_a_content_length_body_read_as_sent() {
    let srv = server().await;
    let c = client(&srv);
    let mut resp = c.get(&srv.url("a", "/bytes/300000")).send().await.unwrap();
    assert_eq!(resp.remaining_length(), Some(300_000));
    let first = resp.chunk().await.unwrap().unwrap();
    assert_eq!(resp.remaining_length(), Some(300_000 - first.len() as u64));
    resp.unread(first);
    assert_eq!(resp.remaining_length(), Some(300_000));
    while resp.chunk().await.unwrap().is_some() {}
    assert_eq!(resp.remaining_length(), Some(0));
    // Unknown for a body without Content-Length, and for one being decoded.
    let mut chunked = Step::ok();
    chunked.body_bytes = Some(1000);
    let mut gz = chunked.clone();
    gz.encoding = Some("gzip".into());
    for step in [chunked, gz] {
        let (_, url) = script(&srv, "a", vec![step]);
        let resp = c.get(&url).send().await.unwrap();
        assert_eq!(resp.remaining_length(), None);
        assert_eq!(resp.max_body_size(), None);
    }
    let capped = builder(&srv).max_body_size(Some(7)).build().unwrap();
    let resp = capped.get(&srv.url("a", "/bytes/5")).send().await.unwrap();
    assert_eq!(resp.max_body_size(), Some(7));
}
