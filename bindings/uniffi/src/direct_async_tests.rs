//! The direct suspend call against real sockets: each started call gets exactly one callback,
//! with the serialised response, the serialised error, `Cancelled` once aborted, or a message
//! for bad input.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hopsafe_testserver::{Step, TestServer};
use uniffi::{Lift, Lower};

use super::{hopsafe_kt_abort, hopsafe_kt_async_init, hopsafe_kt_send, ERROR, INTERNAL, OK};
use crate::client::HopsafeClient;
use crate::direct::direct_tests::serialised;
use crate::error::HopsafeError;
use crate::types::HttpResponse;
use crate::UniFfiTag;

/// Where each token's answers go (code and a copy of the bytes).
type Waiting = Mutex<HashMap<i64, Sender<(i32, Vec<u8>)>>>;

fn waiting() -> &'static Waiting {
    static WAITING: OnceLock<Waiting> = OnceLock::new();
    WAITING.get_or_init(Waiting::default)
}

extern "C" fn completed(token: i64, code: i32, ptr: i64, len: i64) {
    // SAFETY: the answer is readable for `len` bytes until this returns.
    let answer = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) }.to_vec();
    if let Some(tx) = waiting().lock().unwrap().get(&token) {
        let _ = tx.send((code, answer));
    }
}

/// Starts a call with `bytes`; returns its address and where its answers arrive.
fn start(bytes: &[u8]) -> (i64, Receiver<(i32, Vec<u8>)>) {
    static TOKENS: AtomicI64 = AtomicI64::new(1);
    hopsafe_kt_async_init(completed);
    let token = TOKENS.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = channel();
    waiting().lock().unwrap().insert(token, tx);
    let client = <Arc<HopsafeClient> as Lower<UniFfiTag>>::lower(HopsafeClient::plain()).as_raw();
    let len = i32::try_from(bytes.len()).unwrap();
    // SAFETY: a fresh client handle, no cancel handle, `bytes` as documented, callback set.
    let started = unsafe { hopsafe_kt_send(client, 0, bytes.as_ptr(), len, token) };
    (started, rx)
}

/// The one answer on `rx`, checking that no second one follows.
fn only_answer(rx: &Receiver<(i32, Vec<u8>)>) -> (i32, Vec<u8>) {
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

#[test]
fn a_response_comes_back_whole() {
    let srv = server();
    let len = 3 << 20;
    let step = Step {
        body_bytes: Some(len),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (_, rx) = start(&serialised("GET", &url));
    let (code, answer) = only_answer(&rx);
    assert_eq!(code, OK, "{}", String::from_utf8_lossy(&answer));
    let mut rest = answer.as_slice();
    let resp = <HttpResponse as Lift<UniFfiTag>>::try_read(&mut rest).expect("a response");
    assert_eq!(
        (resp.status, resp.body.0.len(), rest.len()),
        (200, len as usize, 0)
    );
}

#[test]
fn a_failure_is_the_serialised_error() {
    let (_, rx) = start(&serialised("GET", "not a url"));
    let (code, answer) = only_answer(&rx);
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
    let (code, answer) = only_answer(&rx);
    assert_eq!(code, ERROR);
    let mut expected = Vec::new();
    <HopsafeError as Lower<UniFfiTag>>::write(HopsafeError::cancelled(), &mut expected);
    assert_eq!(answer, expected);
}

#[test]
fn bytes_that_are_no_request_are_an_internal_error() {
    let (_, rx) = start(&[0, 0, 0, 9, b'G']);
    let (code, answer) = only_answer(&rx);
    assert_eq!(code, INTERNAL);
    assert!(String::from_utf8(answer)
        .unwrap()
        .starts_with("cannot read the request"));
}
