//! The direct suspend call against real sockets: each started call gets exactly one callback,
//! with the serialised response (its body in pieces), the serialised error, `Cancelled` once
//! aborted, or a message for bad input.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hopsafe_testserver::generated::pattern;
use hopsafe_testserver::{Step, TestServer};
use uniffi::{Lift, Lower};

use super::{hopsafe_kt_abort, hopsafe_kt_async_init, hopsafe_kt_send, ERROR, INTERNAL, OK};
use crate::client::HopsafeClient;
use crate::direct::direct_tests::serialised;
use crate::error::HopsafeError;
use crate::types::HttpResponse;
use crate::UniFfiTag;

/// One answer: its code, a copy of its bytes, and the body's pieces copied into one, with
/// their count.
type Answer = (i32, Vec<u8>, Vec<u8>, i64);

/// Where each token's answers go.
type Waiting = Mutex<HashMap<i64, Sender<Answer>>>;

fn waiting() -> &'static Waiting {
    static WAITING: OnceLock<Waiting> = OnceLock::new();
    WAITING.get_or_init(Waiting::default)
}

extern "C" fn completed(token: i64, code: i32, ptr: i64, len: i64, pieces: i64, count: i64) {
    // SAFETY: the answer is readable for `len` bytes, the pieces' pairs and each piece for
    // their lengths, until this returns.
    let (answer, body) = unsafe {
        let answer = std::slice::from_raw_parts(ptr as *const u8, len as usize).to_vec();
        let pairs = std::slice::from_raw_parts(pieces as *const i64, 2 * count as usize);
        let body = pairs
            .chunks(2)
            .flat_map(|p| std::slice::from_raw_parts(p[0] as *const u8, p[1] as usize))
            .copied()
            .collect();
        (answer, body)
    };
    if let Some(tx) = waiting().lock().unwrap().get(&token) {
        let _ = tx.send((code, answer, body, count));
    }
}

/// Starts a call with `bytes` on a plain client; returns its address and where its answers
/// arrive.
fn start(bytes: &[u8]) -> (i64, Receiver<Answer>) {
    start_on(HopsafeClient::plain(), bytes)
}

/// Starts a call with `bytes` on `client`.
fn start_on(client: Arc<HopsafeClient>, bytes: &[u8]) -> (i64, Receiver<Answer>) {
    static TOKENS: AtomicI64 = AtomicI64::new(1);
    hopsafe_kt_async_init(completed);
    let token = TOKENS.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = channel();
    waiting().lock().unwrap().insert(token, tx);
    let client = <Arc<HopsafeClient> as Lower<UniFfiTag>>::lower(client).as_raw();
    let len = i32::try_from(bytes.len()).unwrap();
    // SAFETY: a fresh client handle, no cancel handle, `bytes` as documented, callback set.
    let started = unsafe { hopsafe_kt_send(client, 0, bytes.as_ptr(), len, token) };
    (started, rx)
}

/// The one answer on `rx`, checking that no second one follows.
fn only_answer(rx: &Receiver<Answer>) -> Answer {
    let answer = rx.recv_timeout(Duration::from_secs(10)).expect("an answer");
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "a second answer"
    );
    answer
}

fn server() -> TestServer {
    hopsafe::runtime::block_on(TestServer::start()).expect("test server")
}

/// The response of the call to `url`, and its body from the pieces, with their count.
fn fetched(url: &str) -> (HttpResponse, Vec<u8>, i64) {
    let (_, rx) = start(&serialised("GET", url));
    let (code, answer, body, count) = only_answer(&rx);
    assert_eq!(code, OK, "{}", String::from_utf8_lossy(&answer));
    let mut rest = answer.as_slice();
    let resp = <HttpResponse as Lift<UniFfiTag>>::try_read(&mut rest).expect("a response");
    assert_eq!(rest.len(), 0);
    (resp, body, count)
}

#[test]
fn a_small_body_comes_inside_the_response() {
    let srv = server();
    let step = Step {
        body: Some("hello".into()),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (resp, body, count) = fetched(&url);
    assert_eq!(
        (resp.body.0.as_slice(), body.len(), count),
        (&b"hello"[..], 0, 0)
    );
}

#[test]
fn a_body_of_unknown_length_comes_back_whole_in_one_piece() {
    let srv = server();
    let len = 3 << 20;
    let step = Step {
        body_bytes: Some(len),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (resp, body, count) = fetched(&url);
    assert_eq!((resp.status, resp.body.0.len(), count), (200, 0, 1));
    assert!(body == pattern(0, len), "the body differs");
}

#[test]
fn a_body_of_known_length_comes_back_whole_in_its_chunks() {
    let srv = server();
    let text: String = (0..(2 << 20))
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let step = Step {
        body: Some(text.clone()),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (resp, body, count) = fetched(&url);
    let length = resp.headers.iter().find(|h| h.name == "content-length");
    assert_eq!(length.map(|h| h.value.as_str()), Some("2097152"));
    assert!(count > 1 && resp.body.0.is_empty(), "{count} pieces");
    assert!(body == text.as_bytes(), "the body differs");
}

#[test]
fn a_known_length_over_max_body_size_is_response_too_large() {
    let srv = server();
    let step = Step {
        body: Some("x".repeat(2000)),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let core = hopsafe::Client::builder().max_body_size(Some(1000)).build();
    let client = HopsafeClient::of(core.expect("client"));
    let (_, rx) = start_on(client, &serialised("GET", &url));
    let (code, answer, body, count) = only_answer(&rx);
    assert_eq!((code, body.len(), count), (ERROR, 0, 0));
    let mut rest = answer.as_slice();
    let err = <HopsafeError as Lift<UniFfiTag>>::try_read(&mut rest).expect("an error");
    assert!(
        matches!(err, HopsafeError::ResponseTooLarge { .. }),
        "{err:?}"
    );
}

#[test]
fn a_failure_is_the_serialised_error() {
    let (_, rx) = start(&serialised("GET", "not a url"));
    let (code, answer, _, _) = only_answer(&rx);
    assert_eq!(code, ERROR);
    // uniffi writes an error as its variant's index (from 1, InvalidUrl first), then fields.
    assert_eq!(answer[..4], 1i32.to_be_bytes());
}

#[test]
fn an_aborted_call_answers_cancelled_once() {
    let srv = server();
    let step = Step {
        faults: vec!["delay_ms:5000".into()],
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (started, rx) = start(&serialised("GET", &url));
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: no answer has come yet, so the call is alive.
    unsafe { hopsafe_kt_abort(started) };
    let (code, answer, _, _) = only_answer(&rx);
    assert_eq!(code, ERROR);
    let mut expected = Vec::new();
    <HopsafeError as Lower<UniFfiTag>>::write(HopsafeError::cancelled(), &mut expected);
    assert_eq!(answer, expected);
}

#[test]
fn bytes_that_are_no_request_are_an_internal_error() {
    let (_, rx) = start(&[0, 0, 0, 9, b'G']);
    let (code, answer, _, _) = only_answer(&rx);
    assert_eq!(code, INTERNAL);
    assert!(String::from_utf8(answer)
        .unwrap()
        .starts_with("cannot read the request"));
}
