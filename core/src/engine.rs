//! The redirect chain: sends each hop (with retries) and applies the policy modules
//! ([`redirect`](crate::redirect), [`location`](crate::location),
//! [`credentials`](crate::credentials), [`idempotency`](crate::idempotency),
//! [`retry`](crate::retry), [`sdk_identity`](crate::sdk_identity)) between hops. Decisions live in
//! those modules; this file only sequences them.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::future::{BoxFuture, Either};
use futures_util::FutureExt;
use http::header::LOCATION;
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::BodyExt;
use tracing::Instrument;
use url::Url;

use crate::body::{ReplayCopyError, Replayable};
use crate::config::{Inner, REDIRECT_BODY_DRAIN_LIMIT};
use crate::credentials::{redact_userinfo, take_userinfo};
use crate::error::{Error, Result, TimeoutPhase};
use crate::header_copy::{copy_with_room, to_mut_with_room};
use crate::history::{DropReason, DroppedHeader, Hop};
use crate::idempotency::{self, assign_key_in, AssignedKey, KeyChoice, IDEMPOTENCY_KEY};
use crate::location::{resolve_location, single_location, LocationError};
use crate::origin::Origin;
use crate::redirect::{self, Policy, RedirectAction, RedirectAttempt, Visits, BODY_HEADERS};
use crate::request::{Request, RequestOptions};
use crate::response::{Response, ResponseBody, SentHeaders};
use crate::retry::{self, Backoff, Failure, RetryPolicy};
use crate::sdk_identity;
use crate::transport::{self, RespBody, SendError};

/// The total deadline of a call: when it passes, and the duration it was set from.
type Deadline = Option<(Instant, Duration)>;

/// The final answer of a chain, before its body is read.
type Answer = (http::response::Parts, RespBody, u32);

/// The call as a future. The request is taken apart before the future is made, so the
/// future holds the chain once instead of the request and the chain. It is boxed once here:
/// its state is large (every hop, retry and read), and each layer above (`send`, the
/// caller's own future) would otherwise copy all of it as it moves the call around. The span
/// wraps the box rather than the box the span, so the state is copied once, into the box.
pub(crate) fn execute(
    inner: &Inner,
    mut req: Request,
) -> tracing::instrument::Instrumented<BoxFuture<'_, Result<Response>>> {
    // Credentials leave the URL first, so no error, hop or log can show them.
    take_userinfo(&mut req.url, &mut req.headers);
    let total = req.options.timeout.or(inner.config.timeout);
    let options = std::mem::take(&mut req.options);
    match start(inner, &options.idempotency_key, req) {
        Ok(chain) => {
            // The origin only: a path or query can carry a token.
            let span = tracing::debug_span!(
                "hopsafe.request",
                method = %chain.method,
                origin = %chain.origin
            );
            let overrides = Overrides::of(options);
            let call: BoxFuture<'_, _> = Box::pin(execute_chain(inner, chain, overrides, total));
            call.instrument(span)
        }
        Err(e) => {
            let failed: BoxFuture<'_, _> = Box::pin(std::future::ready(Err(e)));
            failed.instrument(tracing::Span::none())
        }
    }
}

/// What a request's options change in the chain, kept small since the call's state holds it
/// (a request's own retry policy, which is rare, is boxed).
struct Overrides {
    follow_redirects: Option<bool>,
    max_redirects: Option<u32>,
    retry: Option<Box<RetryPolicy>>,
}

impl Overrides {
    fn of(options: RequestOptions) -> Self {
        Overrides {
            follow_redirects: options.follow_redirects,
            max_redirects: options.max_redirects,
            retry: options.retry.map(Box::new),
        }
    }
}

/// Runs the chain under the total deadline (counted from the first poll), then reads the
/// final response. An `async` block rather than an `async fn`: an `async fn` keeps its
/// arguments twice in its state (as arguments, then as the locals they are moved to), and
/// the chain is the largest of them.
// Not an `async fn`: see the doc comment.
#[allow(clippy::manual_async_fn)]
fn execute_chain<'a>(
    inner: &'a Inner,
    mut chain: Chain<'a>,
    options: Overrides,
    total: Option<Duration>,
) -> impl Future<Output = Result<Response>> + Send + 'a {
    async move {
        // A total too long to represent is no deadline at all (never a panic).
        let deadline: Deadline = total.and_then(|t| Some((Instant::now().checked_add(t)?, t)));
        // The chain's run is boxed on its own: the call's box and this one each stay under
        // the size glibc serves from its per-thread cache (1032 bytes); one box of both
        // (1664 bytes) took malloc's slow path on every request, which cost more (callgrind:
        // about 500 instructions per GET) than the second allocation does.
        let answer = match deadline {
            None => Box::pin(run(inner, &mut chain, &options, None)).await,
            Some((_, total)) => {
                let run = Box::pin(run(inner, &mut chain, &options, deadline));
                match tokio::time::timeout(total, run).await {
                    Ok(answer) => answer,
                    Err(_) => Err(Error::Timeout {
                        url: chain.url.to_string(),
                        phase: TimeoutPhase::Total,
                        after: total,
                        history: Vec::new(),
                    }),
                }
            }
        };
        match answer {
            Ok((mut parts, incoming, attempts)) => {
                let cfg = &inner.config;
                let mut body = ResponseBody::new(incoming, cfg.read_timeout, deadline);
                body.decode(&mut parts.headers, &chain.url);
                if sdk_identity::may_be_refusal(parts.status, &parts.headers) {
                    // Rare, so boxed: the call's state does not carry the problem read.
                    if let Err(e) = Box::pin(check_refusal(inner, &chain.url, &mut body)).await {
                        return Err(e.with_history(|| chain.history));
                    }
                }
                Ok(finish(inner, chain, parts, body, attempts))
            }
            Err(e) => Err(e.with_history(|| chain.history)),
        }
    }
}

/// The state carried from hop to hop.
struct Chain<'c> {
    method: Method,
    url: Url,
    origin: Origin,
    /// The client's base headers until a request header or a hop changes them.
    headers: Cow<'c, HeaderMap>,
    /// The key's header while `headers` are still the client's base headers: added to each
    /// attempt's copy instead of copying the base headers once more to hold it. Written into
    /// `headers` before a hop's rules look at them ([`Chain::write_key`]).
    unsent_key: Option<HeaderValue>,
    body: Replayable,
    /// The key the current hop sends, if any (cleared when a hop removes the header).
    key: Option<AssignedKey>,
    history: Vec<Hop>,
    visits: Visits,
}

/// Builds the first hop: default headers, identity, credential marking, the idempotency key.
fn start<'c>(inner: &'c Inner, choice: &KeyChoice, req: Request) -> Result<Chain<'c>> {
    let cfg = &inner.config;
    let origin = match Origin::of(&req.url) {
        Some(o) if matches!(req.url.scheme(), "http" | "https") => o,
        _ => {
            return Err(Error::UnsupportedScheme {
                scheme: req.url.scheme().to_owned(),
                url: req.url.to_string(),
                history: Vec::new(),
            })
        }
    };
    let mut headers = Cow::Borrowed(&cfg.base_headers);
    if !req.headers.is_empty() {
        // Room for the request's own names, a key and hyper's `Host`.
        let headers = to_mut_with_room(&mut headers, req.headers.keys_len() + 2);
        for name in req.headers.keys() {
            headers.remove(name);
        }
        for (name, value) in &req.headers {
            headers.append(name, value.clone());
        }
        // The request may have brought its own User-Agent (kept and extended) or credentials.
        cfg.identity_headers.apply(headers);
        cfg.credentials.mark_sensitive(headers);
    }
    let mut unsent_key = None;
    let key = assign_key_in(
        &cfg.idempotency,
        choice,
        &req.method,
        &mut headers,
        &mut unsent_key,
        cfg.base_has_key,
    )?;
    Ok(Chain {
        method: req.method,
        url: req.url,
        origin,
        headers,
        unsent_key,
        body: Replayable::new(req.body),
        key,
        history: Vec::new(),
        visits: Visits::default(),
    })
}

impl Chain<'_> {
    /// Writes an unsent key into the chain's own headers (copying the base headers, with room
    /// for hyper's `Host`), so the hop's rules and history see every header sent.
    fn write_key(&mut self) {
        if let Some(value) = self.unsent_key.take() {
            to_mut_with_room(&mut self.headers, 2).insert(IDEMPOTENCY_KEY, value);
        }
    }
}

/// Follows the chain to its final answer. Errors get the chain's history in [`execute`].
async fn run(
    inner: &Inner,
    chain: &mut Chain<'_>,
    options: &Overrides,
    deadline: Deadline,
) -> Result<Answer> {
    let cfg = &inner.config;
    let redirect = overridden(&cfg.redirect, options);
    let policy = options.retry.as_deref().unwrap_or(&cfg.retry);
    loop {
        // A block, so the answer's locals are not kept in the state while a hop is followed.
        let hop = {
            let body_len = chain.body.known_len();
            let started = Instant::now();
            let (resp, attempts) = send_with_retries(inner, chain, policy, deadline).await?;
            let (parts, incoming) = resp.into_parts();
            // The status first: a final answer costs no header lookup and no clock read.
            if !(redirect.follows(parts.status) && parts.headers.contains_key(LOCATION)) {
                return Ok((parts, incoming, attempts));
            }
            Redirected {
                parts,
                incoming,
                attempts,
                body_len,
                elapsed: started.elapsed(),
            }
        };
        if let Some(answer) = follow(inner, &redirect, chain, hop).await? {
            return Ok(answer);
        }
    }
}

/// A redirect answer with what [`follow`] records of its hop.
struct Redirected {
    parts: http::response::Parts,
    incoming: RespBody,
    attempts: u32,
    /// The length of the body the hop sent, when it was known before sending.
    body_len: Option<u64>,
    /// The time the hop took.
    elapsed: Duration,
}

/// Follows one redirect: records the hop, asks the policy, drains the 3xx body and prepares
/// the chain for the next hop. `Some` returns the 3xx to the caller. A future of its own, so
/// the call's state holds what a hop needs only while a hop is followed; an `async` block
/// (see [`execute_chain`]), and the hop goes into the history before the first wait, so the
/// state holds neither twice.
// Not an `async fn`: see the doc comment.
#[allow(clippy::manual_async_fn)]
fn follow<'a, 'c: 'a>(
    inner: &'a Inner,
    redirect: &'a Policy,
    chain: &'a mut Chain<'c>,
    r: Redirected,
) -> impl Future<Output = Result<Option<Answer>>> + Send + use<'a, 'c> {
    async move {
        let cfg = &inner.config;
        // A block, so what records the hop is not kept in the state across the waits below.
        let (next_url, next_method) = {
            let Some(first_location) = r.parts.headers.get(LOCATION) else {
                return Ok(Some((r.parts, r.incoming, r.attempts)));
            };
            chain.write_key();
            let shown =
                redact_userinfo(&String::from_utf8_lossy(first_location.as_bytes())).into_owned();
            let hop = Hop {
                method: chain.method.clone(),
                url: chain.url.clone(),
                status: r.parts.status,
                location: Some(shown),
                // What this hop sent: the chain's headers are only changed for the next hop.
                sent_headers: chain.headers.keys().cloned().collect(),
                body_len: r.body_len.or(chain.body.known_len()),
                idempotency_key: chain.key.as_ref().map(|k| k.value.clone()),
                dropped: Vec::new(),
                attempts: r.attempts,
                elapsed: r.elapsed,
            };
            // Only chains that redirect need the loop check, so the request is recorded here.
            chain.visits.record(&chain.method, &chain.url);
            let next = next_hop(redirect, chain, &hop, &r.parts.headers);
            // From here on the hop is in the history, whatever happens next.
            chain.history.push(hop);
            match next {
                Ok(Some(next)) => next,
                Ok(None) => {
                    chain.history.pop();
                    return Ok(Some((r.parts, r.incoming, r.attempts)));
                }
                Err(e) => return Err(e),
            }
        };
        drain_redirect_body(r.incoming).await;
        if redirect::drops_body(&chain.method, &next_method) {
            let dropped = drop_body(chain);
            last_hop(chain).dropped.extend(dropped);
        } else if let Err(e) = chain.body.finish_replay_copy().await {
            return Err(match e {
                ReplayCopyError::TooLarge(limit) => Error::BodyNotReplayable {
                    status: r.parts.status.as_u16(),
                    location: next_url.to_string(),
                    limit,
                    history: Vec::new(),
                },
                ReplayCopyError::Stream(reason) => Error::BodyStream {
                    reason,
                    history: Vec::new(),
                },
            });
        }
        let next_origin = Origin::of(&next_url).expect("resolve_location checked the host");
        let stripped =
            cfg.credentials
                .strip_for_hop(chain.headers.to_mut(), &chain.origin, &next_origin);
        let hop = last_hop(chain);
        hop.dropped.extend(stripped);
        let hop = &chain.history[chain.history.len() - 1];
        inner
            .metrics
            .record_hop(hop.status, &chain.origin, &next_origin, &hop.dropped);
        tracing::debug!(
            target: "hopsafe::hop",
            status = hop.status.as_u16(),
            from = %chain.origin,
            to = %next_origin,
            method = %chain.method,
            next_method = %next_method,
            dropped = ?hop.dropped.iter().map(|d| (d.name.as_str(), d.reason.as_str())).collect::<Vec<_>>(),
            "redirect followed"
        );
        // The key state follows what is actually sent: a key declared sensitive and
        // stripped on another origin no longer makes the write keyed.
        if !chain.headers.contains_key(IDEMPOTENCY_KEY) {
            chain.key = None;
        }
        chain.url = next_url;
        chain.method = next_method;
        chain.origin = next_origin;
        Ok(None)
    }
}

/// The hop [`follow`] is recording (pushed before its first wait).
fn last_hop<'h>(chain: &'h mut Chain<'_>) -> &'h mut Hop {
    chain
        .history
        .last_mut()
        .expect("follow pushed the hop first")
}

/// The client's redirect policy with this request's overrides (borrowed when there are none).
fn overridden<'p>(policy: &'p Policy, options: &Overrides) -> Cow<'p, Policy> {
    if options.follow_redirects.is_none() && options.max_redirects.is_none() {
        return Cow::Borrowed(policy);
    }
    let mut p = policy.clone();
    if let Some(on) = options.follow_redirects {
        p = p.follow(on);
    }
    if let Some(max) = options.max_redirects {
        p = p.max_redirects(max);
    }
    Cow::Owned(p)
}

/// Resolves the next hop and asks the policy. `Ok(None)` returns the 3xx to the caller.
fn next_hop(
    policy: &Policy,
    chain: &Chain<'_>,
    hop: &Hop,
    headers: &HeaderMap,
) -> Result<Option<(Url, Method)>> {
    let shown = hop.location.as_deref().unwrap_or_default();
    let invalid = |reason: String| Error::InvalidLocation {
        location: truncate(shown, 512),
        url: chain.url.to_string(),
        reason,
        history: Vec::new(),
    };
    let raw = single_location(headers)
        .map_err(|e| invalid(e.to_string()))?
        .ok_or_else(|| invalid("no Location".into()))?;
    let next = resolve_location(&chain.url, raw.as_bytes()).map_err(|e| match e {
        LocationError::UnsupportedScheme(scheme) => Error::UnsupportedScheme {
            scheme,
            url: truncate(shown, 512),
            history: Vec::new(),
        },
        other => invalid(other.to_string()),
    })?;
    let next_method = redirect::method_after_redirect(hop.status, &chain.method);
    let attempt = RedirectAttempt {
        status: hop.status,
        from: &chain.url,
        to: &next,
        method: &chain.method,
        next_method: &next_method,
        hops: chain.history.len(),
    };
    match policy.judge(&attempt, &chain.visits)? {
        RedirectAction::Stop => Ok(None),
        _ => Ok(Some((next, next_method))),
    }
}

/// The method became GET: the body, its headers and the idempotency key go.
fn drop_body(chain: &mut Chain<'_>) -> Vec<DroppedHeader> {
    chain.body = Replayable::Bytes(Bytes::new());
    chain.key = None;
    BODY_HEADERS
        .iter()
        .chain(std::iter::once(&IDEMPOTENCY_KEY))
        .filter(|name| {
            chain.headers.contains_key(*name) && chain.headers.to_mut().remove(*name).is_some()
        })
        .map(|name| DroppedHeader {
            name: name.to_string(),
            reason: DropReason::MethodChanged,
        })
        .collect()
}

/// A `426` problem from a version-pinning server becomes [`Error::UpgradeRequired`]; any
/// other answer, whatever its size, is returned whole (what was read is put back).
async fn check_refusal(inner: &Inner, url: &Url, body: &mut ResponseBody) -> Result<()> {
    let (prefix, complete) = read_up_to(body, url, sdk_identity::PROBLEM_BODY_LIMIT).await?;
    if complete {
        if let Some(e) =
            sdk_identity::upgrade_required(&prefix, &inner.config.identity, url.as_str())
        {
            return Err(e);
        }
    }
    body.unread(prefix);
    Ok(())
}

/// The final response, its body not yet read.
fn finish(
    inner: &Inner,
    mut chain: Chain<'_>,
    parts: http::response::Parts,
    body: ResponseBody,
    attempts: u32,
) -> Response {
    let cfg = &inner.config;
    let sent_headers = match &chain.headers {
        Cow::Borrowed(_) if chain.unsent_key.is_some() => {
            SentHeaders::Base(cfg.base_header_names_keyed.clone())
        }
        Cow::Borrowed(_) => SentHeaders::Base(cfg.base_header_names.clone()),
        Cow::Owned(own) => SentHeaders::Own(own.keys().cloned().collect()),
    };
    Response {
        sent_headers,
        status: parts.status,
        version: parts.version,
        url: chain.url,
        method: chain.method,
        headers: parts.headers,
        history: std::mem::take(&mut chain.history),
        idempotency_key: chain.key.map(|k| k.value),
        attempts,
        max_body_size: cfg.max_body_size,
        body,
    }
}

/// Reads at most about `limit` bytes; `true` when that was the whole body.
async fn read_up_to(body: &mut ResponseBody, url: &Url, limit: usize) -> Result<(Bytes, bool)> {
    let mut out = BytesMut::new();
    while let Some(chunk) = body.chunk(url).await? {
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            return Ok((out.freeze(), false));
        }
    }
    Ok((out.freeze(), true))
}

/// Sends one hop, retrying when [`retry::is_retry_safe`] allows it.
async fn send_with_retries(
    inner: &Inner,
    chain: &mut Chain<'_>,
    policy: &RetryPolicy,
    deadline: Deadline,
) -> Result<(http::Response<RespBody>, u32)> {
    // The first attempt takes the URI; a retry (rare) makes it again rather than every
    // request keeping a copy.
    let mut uri = Some(transport::to_uri(&chain.url)?);
    let mut backoff = Backoff::new(policy);
    let key_honored = chain
        .key
        .as_ref()
        .is_some_and(|k| idempotency::is_honored(&inner.config.idempotency, k, &chain.origin));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let this_uri = match uri.take() {
            Some(first) => first,
            None => transport::to_uri(&chain.url)?,
        };
        let outcome = send_once(inner, chain, this_uri).await;
        let failure = match &outcome {
            Ok(resp) if retry::is_retry_status(policy, resp.status()) => {
                Failure::Status(resp.status())
            }
            Ok(_) => return outcome.map(|r| (r, attempt)).map_err(|e| e.error),
            Err(e) => e.failure,
        };
        let give_up = |outcome: std::result::Result<_, SendError>| {
            outcome.map(|r| (r, attempt)).map_err(|e| e.error)
        };
        if attempt >= policy.max_attempts
            || !retry::is_retry_safe(policy, &chain.method, key_honored, failure)
        {
            return give_up(outcome);
        }
        let answered = outcome.as_ref().ok().map(|r| r.headers());
        let now = SystemTime::now();
        let Some(wait) = retry::next_wait(policy, &mut backoff, attempt - 1, answered, now) else {
            return give_up(outcome);
        };
        if !retry::fits_before(Instant::now(), wait, deadline.map(|(at, _)| at)) {
            return give_up(outcome);
        }
        if chain.body.finish_replay_copy().await.is_err() {
            return give_up(outcome);
        }
        tracing::debug!(
            target: "hopsafe::retry",
            attempt,
            failure = ?failure,
            wait_ms = wait.as_millis() as u64,
            origin = %chain.origin,
            "retrying"
        );
        if let Ok(resp) = outcome {
            drain_redirect_body(resp.into_body()).await;
        }
        tokio::time::sleep(wait).await;
        // Counted once the re-send is certain (a total deadline may end the wait first).
        inner
            .metrics
            .record_retry(&chain.method, failure, key_honored);
    }
}

/// One attempt. The request is built and handed to the transport when this is called, and
/// the rest is a combinator over the transport's future rather than an `async fn`: an
/// `async fn` would keep its arguments and locals (the URI, the request) in its state, and
/// every future above it, each moved as it is made, would carry them.
// The closure returns `transport::Sent`, as every transport does (and as this function did
// as an `async fn`, where the lint does not look); its size is the crate's `Error`.
#[allow(clippy::result_large_err)]
fn send_once<'a, 'c: 'a>(
    inner: &'a Inner,
    chain: &'a mut Chain<'c>,
    uri: http::Uri,
) -> impl Future<Output = transport::Sent> + Send + 'a {
    let body = chain.body.next_send(inner.config.replay_limit);
    let mut req = http::Request::new(body);
    *req.method_mut() = chain.method.clone();
    *req.uri_mut() = uri;
    // Room for the `Host` hyper adds (and a cookie or proxy credential), and an unsent key.
    let key = chain.unsent_key.as_ref();
    let headers = req.headers_mut();
    *headers = copy_with_room(&chain.headers, 1 + usize::from(key.is_some()));
    if let Some(key) = key {
        headers.insert(IDEMPOTENCY_KEY, key.clone());
    }
    if let Some(jar) = &inner.config.cookies {
        jar.add_to(&chain.url, req.headers_mut());
    }
    let chain: &'a Chain<'c> = chain;
    let connect_timeout = inner.config.transport.connect_timeout;
    let sent = inner.transport.send(req, &chain.url, connect_timeout);
    // `Err(d)`: the head did not come within the read timeout `d`.
    let sent = match inner.config.read_timeout {
        None => Either::Left(sent.map(Ok::<_, Duration>)),
        Some(d) => Either::Right(tokio::time::timeout(d, sent).map(move |r| r.map_err(|_| d))),
    };
    sent.map(move |timed| {
        let result = match timed {
            Ok(result) => result,
            Err(after) => {
                return Err(SendError {
                    error: Error::Timeout {
                        url: chain.url.to_string(),
                        phase: TimeoutPhase::Read,
                        after,
                        history: Vec::new(),
                    },
                    failure: Failure::AfterSend,
                })
            }
        };
        if let (Some(jar), Ok(resp)) = (&inner.config.cookies, &result) {
            jar.remember(&chain.url, resp.headers());
        }
        result.map_err(|mut failed| {
            // The caller's own stream broke the upload: say so, not "connection failed".
            if let Some(reason) = chain.body.stream_failure() {
                failed.error = Error::BodyStream {
                    reason,
                    history: Vec::new(),
                };
            }
            failed
        })
    })
}

/// Reads a small 3xx body so the connection can be reused; never decodes it. A large or
/// slow body is dropped instead, which closes the connection.
async fn drain_redirect_body(mut body: RespBody) {
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

/// The engine without sockets: an in-memory transport answers from a script and records what
/// it was sent. The real-socket suites in `core/tests` prove the same rules on the wire.
#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http::StatusCode;

    use super::*;
    use crate::transport::MemoryFn;
    use crate::Client;

    /// One scripted answer.
    #[derive(Clone)]
    enum Reply {
        Status(u16),
        /// 200 with this `Content-Encoding` and body.
        #[cfg_attr(not(feature = "decompress"), allow(dead_code))]
        Encoded(&'static str, Vec<u8>),
        Redirect(u16, &'static str),
        Fail(Failure),
    }

    /// A request as the in-memory server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: Method,
        url: String,
        headers: HeaderMap,
        body: Bytes,
    }

    type Log = Arc<Mutex<Vec<Seen>>>;

    /// A transport answering the n-th request with `script[n]` (the last one repeats).
    fn memory(script: Vec<Reply>) -> (MemoryFn, Log) {
        let log: Log = Arc::default();
        let seen = log.clone();
        let answer: MemoryFn = Arc::new(move |req: transport::WireRequest| {
            let seen = seen.clone();
            let script = script.clone();
            Box::pin(async move {
                let (parts, body) = req.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let n = {
                    let mut log = seen.lock().unwrap();
                    log.push(Seen {
                        method: parts.method,
                        url: parts.uri.to_string(),
                        headers: parts.headers,
                        body,
                    });
                    log.len() - 1
                };
                let reply = script[n.min(script.len() - 1)].clone();
                let mut resp = http::Response::new(RespBody::Memory(None));
                match reply {
                    Reply::Status(s) => *resp.status_mut() = StatusCode::from_u16(s).unwrap(),
                    Reply::Encoded(coding, body) => {
                        let h = resp.headers_mut();
                        h.insert(http::header::CONTENT_ENCODING, coding.parse().unwrap());
                        h.insert(http::header::CONTENT_LENGTH, body.len().into());
                        *resp.body_mut() = RespBody::Memory(Some(body.into()));
                    }
                    Reply::Redirect(s, to) => {
                        *resp.status_mut() = StatusCode::from_u16(s).unwrap();
                        resp.headers_mut().insert(LOCATION, to.parse().unwrap());
                    }
                    Reply::Fail(failure) => {
                        let error = Error::Transport {
                            url: "memory".into(),
                            reason: format!("{failure:?}"),
                            source: None,
                            history: Vec::new(),
                        };
                        return Err(SendError { error, failure });
                    }
                }
                Ok(resp)
            })
        });
        (answer, log)
    }

    fn client(builder: crate::ClientBuilder, script: Vec<Reply>) -> (Client, Log) {
        let fast = RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            ..RetryPolicy::default()
        };
        let (answer, log) = memory(script);
        (builder.retry(fast).build_in_memory(answer).unwrap(), log)
    }

    fn seen(log: &Log) -> Vec<Seen> {
        log.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_307_replays_method_body_and_key_and_a_303_drops_them() {
        let script = vec![
            Reply::Redirect(307, "http://b.test/next"),
            Reply::Status(200),
        ];
        let (c, log) = client(Client::builder(), script);
        let resp = c
            .post("http://a.test/o")
            .body("order")
            .send()
            .await
            .unwrap();
        let s = seen(&log);
        assert_eq!(
            (s[1].method.as_str(), &s[1].body[..]),
            ("POST", &b"order"[..])
        );
        assert_eq!(s[0].headers[IDEMPOTENCY_KEY], s[1].headers[IDEMPOTENCY_KEY]);
        assert_eq!(resp.history().len(), 1);

        let script = vec![Reply::Redirect(303, "/done"), Reply::Status(200)];
        let (c, log) = client(Client::builder(), script);
        let req = c
            .post("http://a.test/o")
            .header("content-type", "text/plain");
        let resp = req.body("order").send().await.unwrap();
        let s = seen(&log);
        assert_eq!((s[1].method.as_str(), s[1].body.len()), ("GET", 0));
        assert!(!s[1].headers.contains_key(IDEMPOTENCY_KEY));
        assert!(!s[1].headers.contains_key(http::header::CONTENT_TYPE));
        assert_eq!(resp.idempotency_key(), None);
    }

    #[tokio::test]
    async fn a_key_added_to_the_base_headers_goes_with_every_attempt_hop_and_name_list() {
        let script = vec![
            Reply::Fail(Failure::Connect),
            Reply::Redirect(307, "/next"),
            Reply::Status(200),
        ];
        let (c, log) = client(Client::builder(), script);
        let resp = c.post("http://a.test/o").body("w").send().await.unwrap();
        let s = seen(&log);
        assert_eq!(s.len(), 3);
        let sent = &s[0].headers[IDEMPOTENCY_KEY];
        assert_eq!(
            sent.to_str().unwrap(),
            format!("\"{}\"", resp.idempotency_key().unwrap())
        );
        assert!(s[1..].iter().all(|r| r.headers[IDEMPOTENCY_KEY] == sent));
        for names in [resp.sent_headers(), &resp.history()[0].sent_headers[..]] {
            assert_eq!(names.last(), Some(&IDEMPOTENCY_KEY), "{names:?}");
            assert_eq!(names.iter().filter(|n| **n == IDEMPOTENCY_KEY).count(), 1);
        }
        let (c, _) = client(Client::builder(), vec![Reply::Status(200)]);
        let resp = c.get("http://a.test/").send().await.unwrap();
        assert!(!resp.sent_headers().contains(&IDEMPOTENCY_KEY));
    }

    #[tokio::test]
    async fn credentials_stay_home_and_never_come_back() {
        let script = vec![
            Reply::Redirect(307, "http://b.test/1"),
            Reply::Redirect(307, "http://a.test/2"),
            Reply::Status(200),
        ];
        let (c, log) = client(Client::builder(), script);
        let req = c
            .get("http://a.test/0")
            .bearer_auth("t")
            .header("cookie", "s=1");
        req.send().await.unwrap();
        let s = seen(&log);
        assert!(s[0].headers.contains_key("authorization"));
        for later in &s[1..] {
            assert!(
                !later.headers.contains_key("authorization"),
                "{}",
                later.url
            );
            assert!(!later.headers.contains_key("cookie"), "{}", later.url);
        }
    }

    #[tokio::test]
    async fn writes_are_resent_only_when_nothing_was_processed_or_the_key_is_honoured() {
        let after_send = vec![Reply::Fail(Failure::AfterSend), Reply::Status(200)];
        let (c, log) = client(Client::builder(), after_send.clone());
        assert!(c.post("http://a.test/").body("w").send().await.is_err());
        assert_eq!(seen(&log).len(), 1, "generated key: delivered once");

        let (c, log) = client(Client::builder(), after_send.clone());
        let supplied = KeyChoice::Use("k-1".into());
        let resp = c.post("http://a.test/").idempotency_key(supplied).body("w");
        assert_eq!(resp.send().await.unwrap().attempts(), 2);
        assert_eq!(seen(&log).len(), 2);

        let declared = Client::builder().key_honoring_origin("http://a.test");
        let (c, log) = client(declared, after_send);
        c.post("http://a.test/").body("w").send().await.unwrap();
        assert_eq!(seen(&log).len(), 2);

        for unprocessed in [Failure::Connect, Failure::Refused] {
            let script = vec![Reply::Fail(unprocessed), Reply::Status(200)];
            let (c, log) = client(Client::builder(), script);
            let req = c.post("http://a.test/").idempotency_key(KeyChoice::Off);
            req.body("w").send().await.unwrap();
            assert_eq!(seen(&log).len(), 2, "{unprocessed:?}");
        }

        let script = vec![Reply::Fail(Failure::Malformed), Reply::Status(200)];
        let (c, log) = client(Client::builder(), script);
        assert!(c.get("http://a.test/").send().await.is_err());
        assert_eq!(seen(&log).len(), 1, "a malformed answer is never retried");
    }

    #[tokio::test]
    async fn errors_after_an_accepted_write_keep_the_history() {
        let script = vec![
            Reply::Redirect(303, "http://b.test/receipt"),
            Reply::Fail(Failure::Connect),
        ];
        let (c, _) = client(Client::builder().retry(RetryPolicy::never()), script);
        let err = c
            .post("http://a.test/o")
            .body("w")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.history().len(), 1);
        assert!(err.write_accepted());
    }

    #[tokio::test]
    async fn a_revisit_is_followed_once_then_it_is_a_loop() {
        let script = vec![Reply::Redirect(302, "/same")];
        let (c, log) = client(Client::builder(), script);
        let err = c.get("http://a.test/same").send().await.unwrap_err();
        assert!(matches!(err, Error::RedirectLoop { .. }), "{err}");
        assert_eq!(seen(&log).len(), 2);
    }

    #[cfg(feature = "decompress")]
    async fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
        use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZstdEncoder};
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        match coding {
            "gzip" => GzipEncoder::new(data).read_to_end(&mut out).await,
            "br" => BrotliEncoder::new(data).read_to_end(&mut out).await,
            _ => ZstdEncoder::new(data).read_to_end(&mut out).await,
        }
        .unwrap();
        out
    }

    #[cfg(feature = "decompress")]
    #[tokio::test]
    async fn gzip_brotli_and_zstd_bodies_are_decoded_and_accept_encoding_is_sent() {
        let text = "hopsafe ".repeat(10_000).into_bytes();
        for coding in ["gzip", "br", "zstd"] {
            let script = vec![Reply::Encoded(coding, encode(coding, &text).await)];
            let (c, log) = client(Client::builder(), script);
            let resp = c.get("http://a.test/").send().await.unwrap();
            // The response describes the decoded body: no layer above decodes it again.
            assert!(!resp.headers().contains_key(http::header::CONTENT_ENCODING));
            assert!(!resp.headers().contains_key(http::header::CONTENT_LENGTH));
            assert_eq!(resp.bytes().await.unwrap(), text, "{coding}");
            let sent = &seen(&log)[0].headers[http::header::ACCEPT_ENCODING];
            assert_eq!(sent, "gzip, br, zstd");
        }
        let script = vec![Reply::Encoded("gzip", b"not gzip".to_vec())];
        let (c, log) = client(Client::builder(), script);
        let req = c.get("http://a.test/").header("accept-encoding", "gzip");
        let err = req.send().await.unwrap().bytes().await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err}");
        assert_eq!(seen(&log)[0].headers[http::header::ACCEPT_ENCODING], "gzip");
    }

    #[cfg(feature = "decompress")]
    #[tokio::test]
    async fn a_bomb_stops_while_it_inflates() {
        let zeros = vec![0u8; 16 << 20];
        for coding in ["gzip", "br", "zstd"] {
            let bomb = encode(coding, &zeros).await;
            // Decoding stops once the output outgrows the input received by the ratio.
            let bound = crate::decode::MAX_RATIO as usize * bomb.len() + crate::decode::READ_SIZE;
            let (c, _) = client(Client::builder(), vec![Reply::Encoded(coding, bomb)]);
            let mut resp = c.get("http://a.test/").send().await.unwrap();
            let mut decoded = 0;
            let err = loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => decoded += chunk.len(),
                    Ok(None) => panic!("{coding}: the whole bomb was decoded"),
                    Err(e) => break e,
                }
            };
            assert!(
                matches!(err, Error::ResponseTooLarge { .. }),
                "{coding}: {err}"
            );
            let stop = bound.max(crate::decode::RATIO_FLOOR as usize) + crate::decode::READ_SIZE;
            assert!(decoded <= stop, "{coding}: {decoded} bytes decoded first");
            assert!(
                decoded < zeros.len() / 2,
                "{coding}: {decoded} bytes decoded first"
            );
        }
    }
}
