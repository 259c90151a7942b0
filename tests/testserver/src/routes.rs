//! Request routing: records every non-control request, applies faults, then answers.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http::{Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::body::{self, Body};
use crate::conn::ConnInfo;
use crate::faults::{Abort, Fault};
use crate::generated::{self, Source};
use crate::origins::{expand, host_of, label};
use crate::record::{read_body, BodyInfo, Record};
use crate::script::Step;
use crate::State;

/// Largest `/bytes/{n}`.
const MAX_BYTES: u64 = 1 << 30;

/// Returned to hyper to reset an HTTP/2 stream: `RST_STREAM` with `INTERNAL_ERROR`, or with
/// the reason inside (hyper takes the reason from the error's source).
#[derive(Debug, Default)]
pub(crate) struct StreamReset(Option<h2::Error>);

impl std::fmt::Display for StreamReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault: stream reset")
    }
}

impl std::error::Error for StreamReset {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.as_ref().map(|e| e as _)
    }
}

/// The hyper service entry point.
pub(crate) async fn handle(
    state: Arc<State>,
    conn: ConnInfo,
    req: hyper::Request<Incoming>,
) -> Result<Response<Body>, StreamReset> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    if let Some(rest) = path.strip_prefix("/__") {
        return Ok(crate::control::handle(&state, &parts, body, rest).await);
    }
    let (tag, rest) = split_tag(&path);
    let route = Route::parse(rest);

    // Which step and fault apply to this delivery (decided on arrival, before the body).
    let mut script = None;
    let mut step = None;
    let mut fault = None;
    let mut bad_fault = None;
    match route {
        Route::Script(id, n) => {
            script = Some(id.to_owned());
            if let Some(n) = n {
                if let Some((s, f)) = state.scripts().deliver(id, n) {
                    step = Some(s);
                    fault = f;
                }
            }
        }
        Route::Fault(name) => match name.parse::<Fault>() {
            Ok(f) => fault = Some(f),
            Err(e) if name != "none" => bad_fault = Some(e),
            Err(_) => {}
        },
        _ => {}
    }

    if fault == Some(Fault::RefusedStream) && parts.version == Version::HTTP_2 {
        let record = make_record(
            &parts,
            &conn,
            tag,
            script,
            route,
            &BodyInfo::unread(),
            fault,
        );
        state.records().push(record);
        let refused = h2::Error::from(h2::Reason::REFUSED_STREAM);
        return Err(StreamReset(Some(refused)));
    }
    if fault == Some(Fault::AnswerEarly) {
        return Ok(answer_early(
            &state, &parts, &conn, tag, route, script, step, body,
        ));
    }
    let info = if matches!(fault, Some(Fault::ResetBeforeRead | Fault::RefusedStream)) {
        BodyInfo::unread()
    } else {
        read_body(body).await
    };
    let applies = step.as_ref().is_some_and(|s| s.apply);
    let refused = matches!(
        fault,
        Some(Fault::ResetBeforeRead | Fault::RefusedStream | Fault::Status(_))
    );
    let record = make_record(&parts, &conn, tag, script, route, &info, fault);
    let record = Record {
        applied: applies && info.complete && !refused,
        ..record
    };
    let echo = echo_json(&record, &info);
    state.records().push(record);

    let step_retry_after = step.as_ref().and_then(|s| s.retry_after.clone());
    match fault {
        Some(Fault::ResetBeforeRead | Fault::ResetAfterRead | Fault::RefusedStream) => {
            return abort(&conn, parts.version, Abort::Reset).await
        }
        Some(Fault::CloseBeforeResponse) => return abort(&conn, parts.version, Abort::Close).await,
        Some(Fault::Status(code)) => {
            let retry_after = step_retry_after.or_else(|| query_param(&parts, "retry_after"));
            let mut resp = text(status(code), format!("fault status_{code}\n"));
            if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                resp.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            return Ok(resp);
        }
        Some(Fault::DelayMs(ms)) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        Some(Fault::GzipBomb) => {
            let bomb = tokio::task::spawn_blocking(body::gzip_bomb)
                .await
                .unwrap_or_default();
            let mut resp = Response::new(body::full(bomb));
            resp.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            return Ok(resp);
        }
        Some(Fault::RedirectSelf) => {
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut resp = text(StatusCode::FOUND, "see this URL again\n");
            if let Ok(v) = HeaderValue::from_str(target) {
                resp.headers_mut().insert(http::header::LOCATION, v);
            }
            return Ok(resp);
        }
        Some(Fault::Raw(reply)) if !conn.tls && parts.version <= Version::HTTP_11 => {
            let prefix = tag.map(|t| format!("/t/{t}")).unwrap_or_default();
            let next = match route {
                Route::Script(id, Some(n)) => format!("{prefix}/s/{id}/{}", n + 1),
                _ => format!("{prefix}/echo"),
            };
            let plan = reply.plan(&next);
            return abort(&conn, parts.version, Abort::Raw(plan)).await;
        }
        Some(Fault::Raw(_)) => {
            let msg = "raw faults need plaintext HTTP/1.1\n";
            return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, msg));
        }
        _ => {}
    }

    let resp = match route {
        Route::Echo => json_resp(StatusCode::OK, &echo),
        Route::Redirect(code) => redirect(&parts, code).await,
        Route::Script(id, _) => match step {
            Some(s) => step_response(&state, id, &s, &echo),
            None => text(StatusCode::NOT_FOUND, "no such script step\n"),
        },
        Route::Fault(_) => match bad_fault {
            Some(e) => text(StatusCode::BAD_REQUEST, format!("{e}\n")),
            None => match query_param(&parts, "body") {
                Some(b) => text(StatusCode::OK, b),
                None => json_resp(StatusCode::OK, &echo),
            },
        },
        Route::Bytes(n) => match n.parse::<u64>() {
            Ok(n) if n <= MAX_BYTES => {
                let mut r = Response::new(body::repeat_x(n));
                r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(n));
                r
            }
            _ => text(StatusCode::BAD_REQUEST, "bad byte count\n"),
        },
        Route::Status(code) => match code.parse::<u16>() {
            Ok(c) if (200..=999).contains(&c) => {
                let mut r = Response::new(body::empty());
                *r.status_mut() = status(c);
                r
            }
            _ => text(StatusCode::BAD_REQUEST, "bad status\n"),
        },
        Route::NotFound => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    if fault == Some(Fault::SlowBody) {
        return Ok(slow(resp).await);
    }
    Ok(resp)
}

/// Answers a delivery before reading its body; a background task reads the body and records
/// the delivery once it ended, complete or cut (so a client that ends a cut upload cleanly
/// shows up as a complete but short body).
#[allow(clippy::too_many_arguments)]
fn answer_early(
    state: &Arc<State>,
    parts: &Parts,
    conn: &ConnInfo,
    tag: Option<&str>,
    route: Route<'_>,
    script: Option<String>,
    step: Option<Step>,
    body: Incoming,
) -> Response<Body> {
    let unread = BodyInfo::unread();
    let template = make_record(
        parts,
        conn,
        tag,
        script,
        route,
        &unread,
        Some(Fault::AnswerEarly),
    );
    let echo = echo_json(&template, &unread);
    let applies = step.as_ref().is_some_and(|s| s.apply);
    let log = state.clone();
    tokio::spawn(async move {
        let info = read_body(body).await;
        log.records().push(Record {
            body_len: info.len,
            body_sha256: info.sha256,
            body_complete: info.complete,
            applied: applies && info.complete,
            ..template
        });
    });
    match (route, step) {
        (Route::Script(id, _), Some(s)) => step_response(state, id, &s, &echo),
        _ => json_resp(StatusCode::OK, &echo),
    }
}

/// The non-control routes (after the optional `/t/{tag}` prefix is stripped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Echo,
    Redirect(&'a str),
    /// Script id and step index (`None` if the index did not parse).
    Script(&'a str, Option<usize>),
    Fault(&'a str),
    Bytes(&'a str),
    Status(&'a str),
    NotFound,
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Route<'a> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segs.as_slice() {
            ["echo", ..] => Route::Echo,
            ["redirect", code] => Route::Redirect(code),
            ["s", id, n, ..] => Route::Script(id, n.parse().ok()),
            ["fault", name] => Route::Fault(name),
            ["bytes", n] => Route::Bytes(n),
            ["status", code] => Route::Status(code),
            _ => Route::NotFound,
        }
    }
}

/// Splits `/t/{tag}/rest` into `(Some(tag), "/rest")`.
fn split_tag(path: &str) -> (Option<&str>, &str) {
    if let Some(after) = path.strip_prefix("/t/") {
        return match after.find('/') {
            Some(i) => (Some(&after[..i]), &after[i..]),
            None => (Some(after), "/"),
        };
    }
    (None, path)
}

fn make_record(
    parts: &Parts,
    conn: &ConnInfo,
    tag: Option<&str>,
    script: Option<String>,
    route: Route<'_>,
    info: &BodyInfo,
    fault: Option<Fault>,
) -> Record {
    let host = parts
        .uri
        .authority()
        .map(|a| host_of(a.as_str()).to_owned())
        .or_else(|| {
            let h = parts.headers.get(http::header::HOST)?;
            Some(host_of(&String::from_utf8_lossy(h.as_bytes())).to_owned())
        });
    let mut headers = crate::record::header_map(&parts.headers);
    if parts.version == Version::HTTP_2 {
        if let Some(a) = parts.uri.authority() {
            headers.insert(":authority".into(), vec![a.as_str().to_owned()]);
        }
    }
    let idempotency_key = parts
        .headers
        .get("idempotency-key")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Record {
        seq: 0,
        script,
        step: match route {
            Route::Script(_, n) => n,
            _ => None,
        },
        tag: tag.map(str::to_owned),
        origin: label(conn.role, conn.tls, host.as_deref()).to_owned(),
        scheme: if conn.tls { "https" } else { "http" }.to_owned(),
        version: version_name(parts.version).to_owned(),
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body_len: info.len,
        body_sha256: info.sha256.clone(),
        body_complete: info.complete,
        idempotency_key,
        applied: false,
        fault: fault.map(Fault::name),
    }
}

/// `HTTP/1.1`, `HTTP/2`, ...
fn version_name(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// The `/echo` JSON for a recorded request.
fn echo_json(r: &Record, info: &BodyInfo) -> Value {
    json!({
        "origin": r.origin,
        "scheme": r.scheme,
        "version": r.version,
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "tag": r.tag,
        "headers": r.headers,
        "body_len": r.body_len,
        "body_sha256": r.body_sha256,
        "body": info.small.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
    })
}

/// Hands the connection to the connection task for a reset/close (HTTP/1.x), or resets
/// the stream (HTTP/2).
async fn abort(
    conn: &ConnInfo,
    version: Version,
    how: Abort,
) -> Result<Response<Body>, StreamReset> {
    if version == Version::HTTP_2 {
        return Err(StreamReset::default());
    }
    conn.ctl.abort(how);
    // The connection task drops this future together with the connection.
    std::future::pending().await
}

/// `/redirect/{status}?to=<pct-encoded>[&body=N][&gzip_bomb=1]`.
async fn redirect(parts: &Parts, code: &str) -> Response<Body> {
    let code = match code.parse::<u16>() {
        Ok(c) if (200..=999).contains(&c) => c,
        _ => return text(StatusCode::BAD_REQUEST, "bad status\n"),
    };
    let mut resp = if query_param(parts, "gzip_bomb").as_deref() == Some("1") {
        let bomb = tokio::task::spawn_blocking(body::gzip_bomb)
            .await
            .unwrap_or_default();
        let mut r = Response::new(body::full(bomb));
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else if let Some(n) = query_param(parts, "body") {
        match n.parse::<u64>() {
            Ok(n) if n <= MAX_BYTES => {
                let mut r = Response::new(body::repeat_x(n));
                r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(n));
                r
            }
            _ => return text(StatusCode::BAD_REQUEST, "bad body size\n"),
        }
    } else {
        Response::new(body::empty())
    };
    *resp.status_mut() = status(code);
    if let Some(to) = raw_query_param(parts, "to") {
        let bytes = percent_decode(to.as_bytes());
        match HeaderValue::from_bytes(&bytes) {
            Ok(v) => {
                resp.headers_mut().insert(http::header::LOCATION, v);
            }
            Err(_) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "decoded `to` is not a valid header value (control bytes)\n",
                )
            }
        }
    }
    resp
}

/// Plays one script step.
fn step_response(state: &State, id: &str, step: &Step, echo: &Value) -> Response<Body> {
    let code = status(step.status);
    let mut resp =
        if step.body_bytes.is_some() || step.encoding.is_some() || step.hold_after.is_some() {
            match generated_body(state, id, step, echo) {
                Ok(r) => r,
                Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
            }
        } else {
            match &step.body {
                Some(b) => Response::new(body::full(b.clone())),
                None if step.location.is_none()
                    && code.is_success()
                    && code != StatusCode::NO_CONTENT =>
                {
                    json_resp(code, echo)
                }
                None => Response::new(body::empty()),
            }
        };
    *resp.status_mut() = code;
    let h = resp.headers_mut();
    for (name, value) in &step.headers {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("invalid step header {name:?}\n"),
            );
        };
        h.append(n, v);
    }
    if let Some(loc) = &step.location {
        let loc = expand(loc, &state.origins, id);
        match HeaderValue::from_str(&loc) {
            Ok(v) => {
                h.insert(http::header::LOCATION, v);
            }
            Err(_) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("invalid location {loc:?}\n"),
                )
            }
        }
    }
    if let Some(ra) = &step.retry_after {
        if let Ok(v) = HeaderValue::from_str(ra) {
            h.insert(http::header::RETRY_AFTER, v);
        }
    }
    resp
}

/// A step body that is generated, encoded or held (see [`Step`]), streamed without a
/// `Content-Length`.
fn generated_body(
    state: &State,
    id: &str,
    step: &Step,
    echo: &Value,
) -> Result<Response<Body>, String> {
    let plain = match (&step.body, step.body_bytes) {
        (_, Some(n)) => Source::Pattern(n),
        (Some(b), None) => Source::Memory(Bytes::from(b.clone())),
        (None, None) => Source::Memory(Bytes::from(echo.to_string())),
    };
    let mut resp = Response::new(body::empty());
    let source = match &step.encoding {
        None => plain,
        Some(enc) => {
            let raw = match plain {
                Source::Pattern(n) => generated::pattern(0, n),
                Source::Memory(b) => b.to_vec(),
            };
            let v = HeaderValue::from_str(enc).map_err(|e| e.to_string())?;
            resp.headers_mut().insert(http::header::CONTENT_ENCODING, v);
            Source::Memory(Bytes::from(generated::encode(enc, &raw)?))
        }
    };
    let hold = step
        .hold_after
        .map(|at| (at, id.to_owned(), state.releases.clone()));
    *resp.body_mut() = generated::streamed(source, hold);
    Ok(resp)
}

/// Re-sends a response's body one byte at a time (with its `Content-Length`).
async fn slow(resp: Response<Body>) -> Response<Body> {
    let (mut parts, b) = resp.into_parts();
    let data = match b.collect().await {
        Ok(c) => c.to_bytes(),
        Err(never) => match never {},
    };
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
    Response::from_parts(parts, body::trickle(data))
}

/// A status code from a number already range-checked to 200..=999.
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A `text/plain` response.
pub(crate) fn text(code: StatusCode, msg: impl Into<String>) -> Response<Body> {
    let mut r = Response::new(body::full(Bytes::from(msg.into())));
    *r.status_mut() = code;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A JSON response.
pub(crate) fn json_resp(code: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(body::full(Bytes::from(v.to_string())));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The still percent-encoded value of the first query parameter `name`.
fn raw_query_param<'p>(parts: &'p Parts, name: &str) -> Option<&'p str> {
    parts.uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

/// The percent-decoded (lossy UTF-8) value of query parameter `name`.
fn query_param(parts: &Parts, name: &str) -> Option<String> {
    raw_query_param(parts, name)
        .map(|v| String::from_utf8_lossy(&percent_decode(v.as_bytes())).into_owned())
}

/// Decodes `%XX` escapes; malformed escapes are kept as-is, `+` is not a space.
pub(crate) fn percent_decode(input: &[u8]) -> Vec<u8> {
    fn hexval(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hexval(input[i + 1]), hexval(input[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(percent_decode(b"a%20b%FF%fe+%2"), b"a b\xff\xfe+%2");
        assert_eq!(percent_decode(b"%41"), b"A");
    }

    #[test]
    fn tags_and_routes() {
        assert_eq!(split_tag("/t/x/echo/1"), (Some("x"), "/echo/1"));
        assert_eq!(split_tag("/t/x"), (Some("x"), "/"));
        assert_eq!(split_tag("/echo"), (None, "/echo"));
        assert_eq!(Route::parse("/echo"), Route::Echo);
        assert_eq!(Route::parse("/echo/a/b"), Route::Echo);
        assert_eq!(Route::parse("/s/s1/2"), Route::Script("s1", Some(2)));
        assert_eq!(Route::parse("/s/s1/x"), Route::Script("s1", None));
        assert_eq!(
            Route::parse("/fault/delay_ms:5"),
            Route::Fault("delay_ms:5")
        );
        assert_eq!(Route::parse("/echoes"), Route::NotFound);
    }
}
