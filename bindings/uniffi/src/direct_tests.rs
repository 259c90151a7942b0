//! The direct entry point against real sockets: a response comes back as uniffi writes it
//! (a large body apart, in pieces), a failure as the serialised `HopsafeError`, bad input as
//! a message.

use std::sync::Arc;

use hopsafe_testserver::generated::pattern;
use hopsafe_testserver::{Step, TestServer};
use uniffi::{Lift, Lower};

use super::{hopsafe_kt_free, hopsafe_kt_request_blocking, ERROR, INTERNAL, OK};
use crate::client::HopsafeClient;
use crate::types::{HttpRequest, HttpResponse};
use crate::UniFfiTag;

/// Calls the entry point with `bytes` and a handle clone it takes over; returns the code, a
/// copy of the answer and of the body pieces left out of it (in one), after checking the call
/// released that clone (no leak, no extra release).
fn call(bytes: &[u8]) -> (i32, Vec<u8>, Vec<u8>) {
    let client = HopsafeClient::plain();
    let handle = <Arc<HopsafeClient> as Lower<UniFfiTag>>::lower(client.clone()).as_raw();
    let mut out = [0i64; 5];
    let len = i32::try_from(bytes.len()).unwrap();
    // SAFETY: a client handle clone to take over, no cancel handle, `bytes` and `out` as
    // documented.
    let code =
        unsafe { hopsafe_kt_request_blocking(handle, 0, bytes.as_ptr(), len, out.as_mut_ptr()) };
    // SAFETY: the answer and its pieces just returned, read and freed once.
    let (answer, body) = unsafe {
        let answer = std::slice::from_raw_parts(out[0] as *const u8, out[1] as usize).to_vec();
        let pairs = std::slice::from_raw_parts(out[2] as *const i64, 2 * out[3] as usize);
        let body = pairs
            .chunks(2)
            .flat_map(|p| std::slice::from_raw_parts(p[0] as *const u8, p[1] as usize))
            .copied()
            .collect();
        hopsafe_kt_free(out[4]);
        (answer, body)
    };
    assert_eq!(Arc::strong_count(&client), 1);
    (code, answer, body)
}

/// A plain `method` request to `url`, serialised as uniffi's Kotlin side would send it.
pub(crate) fn serialised(method: &str, url: &str) -> Vec<u8> {
    let request = HttpRequest {
        method: method.into(),
        url: url.into(),
        headers: Vec::new(),
        body: None,
        idempotency_key: None,
        follow_redirects: None,
        max_redirects: None,
        timeout_ms: None,
        retry: None,
    };
    let mut buf = Vec::new();
    <HttpRequest as Lower<UniFfiTag>>::write(request, &mut buf);
    buf
}

#[test]
fn a_large_body_comes_back_whole_apart() {
    let srv = hopsafe::runtime::block_on(TestServer::start()).expect("test server");
    let len = 3 << 20;
    let step = Step {
        body_bytes: Some(len),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (code, answer, body) = call(&serialised("GET", &url));
    assert_eq!(code, OK, "{}", String::from_utf8_lossy(&answer));
    let mut rest = answer.as_slice();
    let resp = <HttpResponse as Lift<UniFfiTag>>::try_read(&mut rest).expect("a response");
    assert_eq!((resp.status, resp.body.0.len(), rest.len()), (200, 0, 0));
    assert!(body == pattern(0, len), "the body differs");
}

#[test]
fn a_small_body_comes_inside_the_response() {
    let srv = hopsafe::runtime::block_on(TestServer::start()).expect("test server");
    let step = Step {
        body: Some("hello".into()),
        ..Step::default()
    };
    let url = srv.url("a", &format!("/s/{}/0", srv.script(vec![step])));
    let (code, answer, body) = call(&serialised("GET", &url));
    assert_eq!(code, OK, "{}", String::from_utf8_lossy(&answer));
    let resp = <HttpResponse as Lift<UniFfiTag>>::try_read(&mut answer.as_slice()).unwrap();
    assert_eq!((resp.body.0.as_slice(), body.len()), (&b"hello"[..], 0));
}

#[test]
fn a_failure_is_the_serialised_error() {
    let (code, answer, _) = call(&serialised("GET", "not a url"));
    assert_eq!(code, ERROR);
    // uniffi writes an error as its variant's index (from 1, InvalidUrl first), then fields.
    assert_eq!(answer[..4], 1i32.to_be_bytes());
}

#[test]
fn bytes_that_are_no_request_are_an_internal_error() {
    let (code, answer, _) = call(&[0, 0, 0, 9, b'G']);
    assert_eq!(code, INTERNAL);
    assert!(String::from_utf8(answer)
        .unwrap()
        .starts_with("cannot read the request"));
}
