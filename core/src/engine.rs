//! The redirect chain: sends each hop (with retries) and applies the policy modules
//! ([`redirect`](crate::redirect), [`location`](crate::location),
//! [`credentials`](crate::credentials), [`idempotency`](crate::idempotency),
//! [`retry`](crate::retry)) between hops. Decisions live in those modules; this file only
//! sequences them.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, LOCATION};
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use url::Url;

use crate::body::{Replayable, SettleError};
use crate::client::{Inner, REDIRECT_BODY_DRAIN_LIMIT};
use crate::error::{Error, Result, TimeoutPhase};
use crate::idempotency::{assign_key, IDEMPOTENCY_KEY};
use crate::identity;
use crate::location::{resolve_location, LocationError};
use crate::origin::Origin;
use crate::redirect::{self, RedirectAction, RedirectAttempt, BODY_HEADERS};
use crate::request::Request;
use crate::response::{DropReason, DroppedHeader, Hop, Response, ResponseBody};
use crate::retry::{self, Backoff, Failure, RetryPolicy};
use crate::transport::{self, SendError};

type Deadline = Option<(Instant, Duration)>;

pub(crate) async fn execute(inner: &Inner, req: Request) -> Result<Response> {
    let Some(total) = req.options.timeout.or(inner.config.timeout) else {
        return run(inner, req, None).await;
    };
    let url = req.url.as_str().to_owned();
    let deadline = Some((Instant::now() + total, total));
    match tokio::time::timeout(total, run(inner, req, deadline)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout {
            url,
            phase: TimeoutPhase::Total,
            after: total,
            history: Vec::new(),
        }),
    }
}

/// The state carried from hop to hop.
struct Chain {
    method: Method,
    url: Url,
    origin: Origin,
    headers: HeaderMap,
    body: Replayable,
    key: Option<String>,
    history: Vec<Hop>,
    /// Requests already made in this chain (method, URL without fragment), for loops.
    visited: Vec<(Method, String)>,
}

async fn run(inner: &Inner, req: Request, deadline: Deadline) -> Result<Response> {
    let cfg = &inner.config;
    let follow = req.options.follow_redirects.unwrap_or(cfg.follow_redirects);
    let max = req.options.max_redirects.unwrap_or(cfg.max_redirects);
    let policy = req.options.retry.as_ref().unwrap_or(&cfg.retry);
    let mut chain = start(
        inner,
        &req.options.idempotency_key,
        req.method,
        req.url,
        req.headers,
    )?;
    chain.body = Replayable::new(req.body);
    loop {
        let sent_headers = chain.headers.keys().cloned().collect();
        let body_len = chain.body.known_len();
        let started = Instant::now();
        let (resp, attempts) = send_with_retries(inner, &mut chain, policy, deadline).await?;
        let elapsed = started.elapsed();
        let (parts, incoming) = resp.into_parts();
        let location = parts.headers.get(LOCATION).cloned();
        let raw_location = match location {
            Some(loc) if follow && max > 0 && redirect::is_followed_status(parts.status) => loc,
            _ => return finish(inner, chain, parts, incoming, attempts, deadline).await,
        };
        let body_len = body_len.or(chain.body.known_len());
        let mut hop = Hop {
            method: chain.method.clone(),
            url: chain.url.clone(),
            status: parts.status,
            location: Some(String::from_utf8_lossy(raw_location.as_bytes()).into_owned()),
            sent_headers,
            body_len,
            idempotency_key: chain.key.clone(),
            dropped: Vec::new(),
            attempts,
            elapsed,
        };
        // Only chains that redirect need the loop check, so the request is recorded here.
        chain
            .visited
            .push((chain.method.clone(), without_fragment(&chain.url)));
        let next = match next_hop(inner, &chain, &hop, &raw_location, max) {
            Ok(Some(next)) => next,
            Ok(None) => return finish(inner, chain, parts, incoming, attempts, deadline).await,
            Err(mut e) => {
                chain.history.push(hop);
                e.set_history(chain.history);
                return Err(e);
            }
        };
        drain_redirect_body(incoming).await;
        let (next_url, next_method) = next;
        if redirect::drops_body(&chain.method, &next_method) {
            hop.dropped.extend(drop_body(&mut chain));
        } else if let Err(e) = chain.body.settle().await {
            chain.history.push(hop);
            return Err(match e {
                SettleError::TooLarge(limit) => Error::BodyNotReplayable {
                    status: parts.status.as_u16(),
                    location: next_url.to_string(),
                    limit,
                    history: chain.history,
                },
                SettleError::Stream(reason) => Error::BodyStream {
                    reason,
                    history: Vec::new(),
                },
            });
        }
        let next_origin = Origin::of(&next_url).expect("resolve_location checked the host");
        hop.dropped.extend(cfg.credentials.strip_for_hop(
            &mut chain.headers,
            &chain.origin,
            &next_origin,
        ));
        chain.history.push(hop);
        chain.url = next_url;
        chain.method = next_method;
        chain.origin = next_origin;
    }
}

/// Builds the first hop: default headers, credentials from the URL, the idempotency key.
fn start(
    inner: &Inner,
    choice: &crate::idempotency::KeyChoice,
    method: Method,
    mut url: Url,
    user_headers: HeaderMap,
) -> Result<Chain> {
    let origin = match Origin::of(&url) {
        Some(o) if matches!(url.scheme(), "http" | "https") => o,
        _ => {
            return Err(Error::UnsupportedScheme {
                scheme: url.scheme().to_owned(),
                url: url.to_string(),
                history: Vec::new(),
            })
        }
    };
    let mut headers = inner.config.default_headers.clone();
    for name in user_headers.keys() {
        headers.remove(name);
    }
    for (name, value) in &user_headers {
        headers.append(name, value.clone());
    }
    if !url.username().is_empty() || url.password().is_some() {
        if !headers.contains_key(AUTHORIZATION) {
            let user = decode_userinfo(url.username());
            let password = decode_userinfo(url.password().unwrap_or_default());
            headers.insert(AUTHORIZATION, basic_auth_value(&user, &password));
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    inner.config.identity_headers.apply(&mut headers);
    let key = assign_key(&inner.config.idempotency, choice, &method, &mut headers)?;
    Ok(Chain {
        method,
        url,
        origin,
        headers,
        body: Replayable::Bytes(Bytes::new()),
        key,
        history: Vec::new(),
        visited: Vec::new(),
    })
}

/// Decides whether and where to go next. `Ok(None)` returns the 3xx to the caller.
fn next_hop(
    inner: &Inner,
    chain: &Chain,
    hop: &Hop,
    raw_location: &HeaderValue,
    max: u32,
) -> Result<Option<(Url, Method)>> {
    let cfg = &inner.config;
    let location = hop.location.clone().unwrap_or_default();
    let next = resolve_location(&chain.url, raw_location.as_bytes()).map_err(|e| match e {
        LocationError::UnsupportedScheme(scheme) => Error::UnsupportedScheme {
            scheme,
            url: location.clone(),
            history: Vec::new(),
        },
        other => Error::InvalidLocation {
            location: truncate(&location, 512),
            url: chain.url.to_string(),
            reason: other.to_string(),
            history: Vec::new(),
        },
    })?;
    if chain.history.len() as u32 >= max {
        return Err(Error::TooManyRedirects {
            max,
            url: next.to_string(),
            history: Vec::new(),
        });
    }
    if chain.url.scheme() == "https" && next.scheme() == "http" && !cfg.allow_https_downgrade {
        return Err(Error::InsecureRedirect {
            from: chain.url.to_string(),
            to: next.to_string(),
            history: Vec::new(),
        });
    }
    let next_method = redirect::method_after_redirect(hop.status, &chain.method);
    if let Some(hook) = &cfg.hook {
        let attempt = RedirectAttempt {
            status: hop.status,
            from: &chain.url,
            to: &next,
            method: &chain.method,
            next_method: &next_method,
            hops: chain.history.len(),
        };
        match hook(&attempt) {
            RedirectAction::Follow => {}
            RedirectAction::Stop => return Ok(None),
            RedirectAction::Fail(reason) => {
                return Err(Error::RedirectRejected {
                    url: next.to_string(),
                    reason,
                    history: Vec::new(),
                })
            }
        }
    }
    if chain
        .visited
        .contains(&(next_method.clone(), without_fragment(&next)))
    {
        return Err(Error::RedirectLoop {
            method: next_method.to_string(),
            url: next.to_string(),
            history: Vec::new(),
        });
    }
    Ok(Some((next, next_method)))
}

/// The method became GET: the body, its headers and the idempotency key go.
fn drop_body(chain: &mut Chain) -> Vec<DroppedHeader> {
    chain.body = Replayable::Bytes(Bytes::new());
    chain.key = None;
    BODY_HEADERS
        .iter()
        .chain(std::iter::once(&IDEMPOTENCY_KEY))
        .filter(|name| chain.headers.remove(*name).is_some())
        .map(|name| DroppedHeader {
            name: name.to_string(),
            reason: DropReason::MethodChanged,
        })
        .collect()
}

/// The final response. A `426` problem from a version-pinning server becomes
/// [`Error::UpgradeRequired`].
async fn finish(
    inner: &Inner,
    chain: Chain,
    parts: http::response::Parts,
    incoming: Incoming,
    attempts: u32,
    deadline: Deadline,
) -> Result<Response> {
    let mut body = ResponseBody::new(incoming, inner.config.read_timeout, deadline);
    if parts.status == http::StatusCode::UPGRADE_REQUIRED && is_problem_json(&parts.headers) {
        let bytes = read_capped(&mut body, &chain.url, PROBLEM_BODY_LIMIT).await?;
        let url = chain.url.as_str();
        if let Some(e) = identity::upgrade_required(&bytes, &inner.config.identity, url) {
            return Err(e);
        }
        body = ResponseBody::buffered(bytes);
    }
    let sent_headers = chain.headers.keys().cloned().collect();
    Ok(Response {
        sent_headers,
        status: parts.status,
        version: parts.version,
        url: chain.url,
        method: chain.method,
        headers: parts.headers,
        history: chain.history,
        idempotency_key: chain.key,
        attempts,
        body,
    })
}

/// Problem documents larger than this are not inspected.
const PROBLEM_BODY_LIMIT: usize = 64 * 1024;

fn is_problem_json(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/problem+json")
        })
}

async fn read_capped(body: &mut ResponseBody, url: &Url, limit: usize) -> Result<Bytes> {
    let mut out = Vec::new();
    while let Some(chunk) = body.chunk(url).await? {
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            break;
        }
    }
    Ok(out.into())
}

/// Sends one hop, retrying when [`retry::is_retry_safe`] allows it.
async fn send_with_retries(
    inner: &Inner,
    chain: &mut Chain,
    policy: &RetryPolicy,
    deadline: Deadline,
) -> Result<(http::Response<Incoming>, u32)> {
    let uri = transport::to_uri(&chain.url)?;
    let mut backoff = Backoff::new(policy);
    let keyed = chain.key.is_some();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = send_once(inner, chain, uri.clone()).await;
        let failure = match &outcome {
            Ok(resp) if is_retry_status(policy, resp.status()) => Failure::Status(resp.status()),
            Ok(_) => return outcome.map(|r| (r, attempt)).map_err(|e| e.error),
            Err(e) => e.failure,
        };
        let give_up = |outcome: std::result::Result<_, SendError>| {
            outcome.map(|r| (r, attempt)).map_err(|e| e.error)
        };
        if attempt >= policy.max_attempts
            || !retry::is_retry_safe(policy, &chain.method, keyed, failure)
        {
            return give_up(outcome);
        }
        let mut wait = backoff.delay(policy, attempt - 1);
        if let Ok(resp) = &outcome {
            if let Some(asked) = retry::retry_after(resp.headers(), SystemTime::now()) {
                if asked > policy.max_retry_after {
                    return give_up(outcome);
                }
                wait = asked;
            }
        }
        if deadline.is_some_and(|(at, _)| Instant::now() + wait >= at) {
            return give_up(outcome);
        }
        if chain.body.settle().await.is_err() {
            return give_up(outcome);
        }
        if let Ok(resp) = outcome {
            drain_redirect_body(resp.into_body()).await;
        }
        tokio::time::sleep(wait).await;
    }
}

fn is_retry_status(policy: &RetryPolicy, status: http::StatusCode) -> bool {
    status == http::StatusCode::CONFLICT || policy.statuses.contains(&status.as_u16())
}

async fn send_once(
    inner: &Inner,
    chain: &mut Chain,
    uri: http::Uri,
) -> std::result::Result<http::Response<Incoming>, SendError> {
    let body = chain.body.next_send(inner.config.replay_limit);
    let mut req = http::Request::new(body);
    *req.method_mut() = chain.method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = chain.headers.clone();
    let sent = inner.wire.request(req);
    let result = match inner.config.read_timeout {
        None => sent.await,
        Some(d) => match tokio::time::timeout(d, sent).await {
            Ok(r) => r,
            Err(_) => {
                return Err(SendError {
                    error: Error::Timeout {
                        url: chain.url.to_string(),
                        phase: TimeoutPhase::Read,
                        after: d,
                        history: Vec::new(),
                    },
                    failure: Failure::AfterSend,
                })
            }
        },
    };
    result.map_err(|e| {
        let mut failed = transport::classify(e, &chain.url, inner.config.transport.connect_timeout);
        // The caller's own stream broke the upload: say so, not "connection failed".
        if let Some(reason) = chain.body.stream_failure() {
            failed.error = Error::BodyStream {
                reason,
                history: Vec::new(),
            };
        }
        failed
    })
}

/// Reads a small 3xx body so the connection can be reused; never decodes it. A large or
/// slow body is dropped instead, which closes the connection.
async fn drain_redirect_body(mut body: Incoming) {
    use http_body::Body as _;
    if body.is_end_stream() {
        return;
    }
    if body
        .size_hint()
        .upper()
        .is_some_and(|n| n > REDIRECT_BODY_DRAIN_LIMIT as u64)
    {
        return;
    }
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen > REDIRECT_BODY_DRAIN_LIMIT {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// At most `max` bytes of `s` (on a char boundary), marked when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let cut = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}... ({} bytes)", &s[..cut], s.len())
}

fn without_fragment(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.into()
}

fn decode_userinfo(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `Basic base64(user:password)`, marked sensitive so it is never logged by hyper.
pub(crate) fn basic_auth_value(user: &str, password: &str) -> HeaderValue {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut v = HeaderValue::from_str(&format!("Basic {token}"))
        .expect("base64 output is a valid header value");
    v.set_sensitive(true);
    v
}
