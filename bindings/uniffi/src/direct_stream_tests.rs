//! The direct body reader against the real test server: chunks in order to the end, a
//! cancel as the serialised error, the body released when the reader is freed.

use std::sync::Arc;

use hopsafe_testserver::generated::pattern;
use hopsafe_testserver::{Step, TestServer};
use uniffi::{Lift, Lower};

use super::{
    hopsafe_kt_body_free, hopsafe_kt_body_next, hopsafe_kt_body_reader, CHUNK, END, ERROR, PENDING,
};
use crate::error::HopsafeError;
use crate::stream::{ResponseBody, StreamedResponse};
use crate::UniFfiTag;

/// `GET` of `len` pattern bytes, opened as the uniffi `open` calls do.
fn open(srv: &TestServer, len: u64) -> StreamedResponse {
    let step = Step {
        body_bytes: Some(len),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    hopsafe::runtime::block_on(async move {
        let client = hopsafe::Client::builder().build().expect("client");
        let resp = client.get(&url).send().await.expect("head");
        StreamedResponse::new(resp, false, hopsafe::runtime::Driver::Shared).await
    })
}

/// A reader of a handle clone of `body`, as Kotlin makes it.
fn reader(body: &Arc<ResponseBody>) -> i64 {
    let handle = <Arc<ResponseBody> as Lower<UniFfiTag>>::lower(body.clone()).as_raw();
    // SAFETY: a handle clone of a live body, taken over.
    let reader = unsafe { hopsafe_kt_body_reader(handle) };
    assert_ne!(reader, 0);
    reader
}

/// One blocking read: the code and a copy of what was handed over.
fn next(reader: i64) -> (i32, Vec<u8>) {
    next_with(reader, 1)
}

fn next_with(reader: i64, wait: i8) -> (i32, Vec<u8>) {
    let mut out = [0i64; 2];
    // SAFETY: a live reader, in no other call; two writable slots.
    let code = unsafe { hopsafe_kt_body_next(reader, wait, out.as_mut_ptr()) };
    let bytes = if out[1] == 0 {
        Vec::new()
    } else {
        // SAFETY: what was handed over stays valid until the next call.
        unsafe { std::slice::from_raw_parts(out[0] as *const u8, out[1] as usize) }.to_vec()
    };
    (code, bytes)
}

#[test]
fn a_body_is_read_chunk_by_chunk_to_its_end_and_released() {
    let srv = hopsafe::runtime::block_on(TestServer::start()).expect("test server");
    let len = 3 << 20;
    let resp = open(&srv, len);
    let reader = reader(&resp.body);
    assert_eq!(
        Arc::strong_count(&resp.body),
        1,
        "the reader does not keep the body"
    );
    let mut seen = Vec::new();
    let mut chunks = 0;
    loop {
        match next(reader) {
            (CHUNK, bytes) => {
                assert!(!bytes.is_empty(), "a chunk is never empty");
                seen.extend(bytes);
                chunks += 1;
            }
            (END, bytes) => {
                assert!(bytes.is_empty());
                break;
            }
            (code, bytes) => panic!("{code}: {}", String::from_utf8_lossy(&bytes)),
        }
    }
    assert!(
        chunks > 1 && seen == pattern(0, len),
        "{} bytes",
        seen.len()
    );
    assert_eq!(next(reader).0, END, "and it stays ended");
    // SAFETY: freed once, in no call.
    unsafe { hopsafe_kt_body_free(reader) };
}

#[test]
fn a_read_after_a_cancel_is_the_serialised_cancel() {
    let srv = hopsafe::runtime::block_on(TestServer::start()).expect("test server");
    let resp = open(&srv, 4 << 20);
    let reader = reader(&resp.body);
    assert_eq!(next(reader).0, CHUNK);
    resp.body.cancel();
    let (code, bytes) = next(reader);
    assert_eq!(code, ERROR);
    let err = <HopsafeError as Lift<UniFfiTag>>::try_read(&mut bytes.as_slice()).expect("error");
    assert!(matches!(err, HopsafeError::Cancelled { .. }), "{err:?}");
    // SAFETY: freed once, in no call.
    unsafe { hopsafe_kt_body_free(reader) };
}

#[test]
fn without_waiting_a_held_body_is_pending_after_what_came() {
    // The server sends 16 bytes and holds the rest until released (20 s at most).
    let srv = hopsafe::runtime::block_on(TestServer::start()).expect("test server");
    let step = Step {
        body_bytes: Some(48),
        hold_after: Some(16),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let resp = hopsafe::runtime::block_on(async move {
        let client = hopsafe::Client::builder().build().expect("client");
        let resp = client.get(&url).send().await.expect("head");
        StreamedResponse::new(resp, false, hopsafe::runtime::Driver::Shared).await
    });
    let reader = reader(&resp.body);
    let mut seen = Vec::new();
    while seen.len() < 16 {
        let (code, bytes) = next(reader);
        assert_eq!(code, CHUNK);
        seen.extend(bytes);
    }
    assert_eq!(seen, pattern(0, 16));
    assert_eq!(next_with(reader, 0), (PENDING, Vec::new()));
    resp.body.cancel();
    assert_eq!(next(reader).0, ERROR, "cancelled");
    // SAFETY: freed once, in no call.
    unsafe { hopsafe_kt_body_free(reader) };
}

#[test]
fn a_read_after_the_body_is_gone_is_a_cancel() {
    let srv = hopsafe::runtime::block_on(TestServer::start()).expect("test server");
    let resp = open(&srv, 4 << 20);
    let reader = reader(&resp.body);
    assert_eq!(next(reader).0, CHUNK);
    drop(resp); // Kotlin closed the response: the body is destroyed, the transfer aborted
    let (code, bytes) = next(reader);
    assert_eq!(code, ERROR);
    let err = <HopsafeError as Lift<UniFfiTag>>::try_read(&mut bytes.as_slice()).expect("error");
    assert!(matches!(err, HopsafeError::Cancelled { .. }), "{err:?}");
    // SAFETY: freed once, in no call.
    unsafe { hopsafe_kt_body_free(reader) };
}
