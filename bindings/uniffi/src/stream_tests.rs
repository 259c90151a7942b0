//! The body taken ahead at open time, against the real test server.

use std::time::{Duration, Instant};

use hopsafe_testserver::{generated::pattern, Step, TestServer};

use super::{State, StreamedResponse};
use crate::readahead::AHEAD_MAX;

fn server() -> TestServer {
    hopsafe::runtime::block_on(TestServer::start()).expect("test server")
}

/// `GET url` opened as the uniffi `open` calls do.
fn open(url: &str) -> StreamedResponse {
    open_with(url, false)
}

fn open_with(url: &str, hand_over: bool) -> StreamedResponse {
    let url = url.to_owned();
    hopsafe::runtime::block_on(async move {
        let client = hopsafe::Client::builder().build().expect("client");
        let resp = client.get(&url).send().await.expect("head");
        StreamedResponse::new(resp, hand_over, hopsafe::runtime::Driver::Shared).await
    })
}

/// `first`, then what `body` gives to its end.
fn read_all(resp: &StreamedResponse) -> Vec<u8> {
    let mut seen = resp.first.clone().map(|b| b.0).unwrap_or_default();
    while let Some(chunk) = resp.body.next_blocking().expect("read") {
        seen.extend(chunk.0);
    }
    seen
}

/// A script step streaming `len` bytes of the numbered-line pattern.
fn generated(srv: &TestServer, len: u64, hold_after: Option<u64>) -> String {
    let step = Step {
        body_bytes: Some(len),
        hold_after,
        ..Step::default()
    };
    format!("/s/{}/0", srv.script(vec![step]))
}

fn is_last(resp: &StreamedResponse) -> bool {
    matches!(*resp.body.state.try_lock().expect("idle"), State::Last(..))
}

#[test]
fn a_small_body_comes_with_its_head_and_is_read_without_the_runtime() {
    let srv = server();
    let resp = open(&srv.url("a", "/bytes/100"));
    assert!(is_last(&resp), "the body had arrived with its head");
    assert_eq!(
        (&resp.first, resp.ended),
        (&None, false),
        "handed over only when asked"
    );
    let body = resp.body.try_read().expect("no waiting").expect("bytes");
    assert_eq!(body.as_deref(), Some(&[b'x'; 100][..]));
    assert!(
        matches!(resp.body.try_read(), Some(Ok(None))),
        "then its end"
    );
    assert!(
        matches!(resp.body.next_blocking(), Ok(None)),
        "and it stays ended"
    );
}

#[test]
fn a_small_body_handed_over_with_its_head_needs_no_read() {
    let srv = server();
    let resp = open_with(&srv.url("a", "/bytes/100"), true);
    assert!(resp.ended, "the whole body had arrived with its head");
    assert_eq!(
        resp.first.as_ref().map(|b| &b.0[..]),
        Some(&[b'x'; 100][..])
    );
    assert!(matches!(
        *resp.body.state.try_lock().expect("idle"),
        State::Ended
    ));
    let empty = open_with(&srv.url("a", "/bytes/0"), true);
    assert_eq!((&empty.first, empty.ended), (&None, true));
}

#[test]
fn open_never_waits_for_more_than_has_arrived() {
    // The server sends 16 bytes and holds the rest until released (20 s at most).
    let srv = server();
    let path = generated(&srv, 48, Some(16));
    let started = Instant::now();
    let resp = open(&srv.url("a", &path));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "open waited for the held body"
    );
    assert!(!is_last(&resp));
    let mut first = Vec::new();
    while first.len() < 16 {
        first.extend(resp.body.next_blocking().expect("read").expect("bytes").0);
    }
    assert_eq!(first, pattern(0, 16));
    assert!(resp.body.try_read().is_none(), "nothing more has been sent");
    resp.body.cancel();
    assert!(resp.body.next_blocking().is_err(), "cancelled");
}

#[test]
fn a_held_body_hands_over_what_came_and_streams_the_rest() {
    let srv = server();
    let started = Instant::now();
    let resp = open_with(&srv.url("a", &generated(&srv, 48, Some(16))), true);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "open waited for the held body"
    );
    assert!(!resp.ended);
    let mut seen = resp.first.clone().map(|b| b.0).unwrap_or_default();
    while seen.len() < 16 {
        seen.extend(resp.body.next_blocking().expect("read").expect("bytes").0);
    }
    assert_eq!(seen, pattern(0, 16));
    assert!(resp.body.try_read().is_none(), "nothing more has been sent");
}

#[test]
fn a_big_body_is_left_to_the_reader_and_read_in_order() {
    let srv = server();
    let len = 4 << 20;
    for hand_over in [false, true] {
        let resp = open_with(&srv.url("a", &generated(&srv, len, None)), hand_over);
        assert!(
            !is_last(&resp) && !resp.ended,
            "more than AHEAD_MAX is never taken"
        );
        let first = resp.first.as_ref().map_or(0, |b| b.0.len());
        assert!(first < 2 * AHEAD_MAX, "{first} bytes handed over");
        let seen = read_all(&resp);
        assert!(
            seen == pattern(0, len),
            "{} bytes, not the pattern",
            seen.len()
        );
    }
}

#[test]
fn a_cancel_before_reading_a_body_taken_whole_is_a_cancel() {
    let srv = server();
    let resp = open(&srv.url("a", "/bytes/10"));
    assert!(is_last(&resp));
    resp.body.cancel();
    let err = resp.body.next_blocking().expect_err("cancelled");
    assert!(
        matches!(err, crate::HopsafeError::Cancelled { .. }),
        "{err:?}"
    );
}
