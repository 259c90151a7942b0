//! The native layer of the `hopsafe` npm package: a thin translation between JS and the core.
//!
//! Requests and responses cross as a JSON document plus the body bytes; `index.js` builds the
//! documents and throws the error classes. Every request runs as a task on the core's
//! one-worker tokio runtime (`hopsafe::runtime::single_worker()`: JS calls come from one
//! thread, and one worker halves the thread switches per request against the shared
//! two-worker runtime); napi's own tokio runtime is not enabled. The
//! task settles the call's promise through the JS thread's one shared threadsafe function
//! (`wake.rs`: calls that end before the JS thread runs share one wake-up), so the event loop
//! never blocks and stays alive only while a call is pending. Every entry point catches
//! panics (`catch_unwind`).

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{Buffer, Object};
use napi::{Env, Result};
use napi_derive::napi;

use hopsafe_bridge as bridge;

mod body;
mod hook;
mod metrics;
mod trace;
mod wake;
pub use body::{NativeChunk, NativeRead, ResponseBody};
pub use hook::redirect_hook_reply;
pub use metrics::NativeMetrics;
pub use trace::{trace_enabled, trace_to};

/// The outcome of one call: `ok` and the response or error document (the body is in the
/// call's `ResponseBody`).
#[napi(object)]
pub struct NativeResult {
    pub ok: bool,
    pub meta: String,
}

/// A configured client with its connection pool.
#[napi]
pub struct NativeClient {
    client: hopsafe::Client,
}

#[napi]
impl NativeClient {
    /// Builds a client from a JSON configuration and an optional redirect hook (see
    /// `hook.rs`); throws an Error whose message is the error document when the
    /// configuration is invalid.
    #[napi(constructor, catch_unwind)]
    pub fn new(config: String, redirect_hook: Option<hook::HookFn>) -> Result<Self> {
        bridge::build_client_with(&config, "node", |b| match redirect_hook {
            Some(h) => b.redirect_hook(hook::to_core(h)),
            None => b,
        })
        .map(|client| NativeClient { client })
        .map_err(|e| napi::Error::from_reason(bridge::error_json(&e)))
    }

    /// The client's counters (see `metrics.rs`).
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> NativeMetrics {
        self.client.metrics().into()
    }

    /// Sends a request; the promise resolves (never rejects) with the outcome, at headers:
    /// the body is left in `sink` to be read. `body` is copied before this returns (the one
    /// copy of it: `index.js` passes the caller's bytes as a view), so JS may reuse it at once.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeResult>")]
    pub fn send<'env>(
        &self,
        env: &'env Env,
        request: String,
        body: Option<Buffer>,
        sink: &ResponseBody,
    ) -> Result<Object<'env>> {
        self.start(env, request, body.map(|b| b.to_vec().into()), sink)
    }

    /// Sends a request whose body `writer` feeds while it runs (`index.js` pumps the caller's
    /// stream into it); resolves (never rejects) with the outcome.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeResult>")]
    pub fn send_stream<'env>(
        &self,
        env: &'env Env,
        request: String,
        writer: &BodyWriter,
        sink: &ResponseBody,
    ) -> Result<Object<'env>> {
        let body = lock(&writer.body)
            .take()
            .ok_or_else(|| napi::Error::from_reason("a BodyWriter feeds a single request"))?;
        self.start(env, request, Some(body), sink)
    }
}

impl NativeClient {
    /// Spawns the request on the core runtime, wires `sink`'s cancel to it and returns the
    /// promise its outcome settles; the unread body goes into `sink` before the promise
    /// resolves.
    /// One task runs the call and settles the promise: no second task waits on the first
    /// (a wake-up, often on another thread, per request).
    fn start<'env>(
        &self,
        env: &'env Env,
        request: String,
        body: Option<hopsafe::Body>,
        sink: &ResponseBody,
    ) -> Result<Object<'env>> {
        let (call, promise) = wake::Call::new(env)?;
        let settle = Settle {
            call: Some(call),
            cancelled: sink.cancel.clone(),
        };
        let client = self.client.clone();
        let req = bridge::build_request_with(&client, &request, body);
        let slot = sink.reader.clone();
        let task = hopsafe::runtime::single_worker().spawn(async move {
            let outcome = match bridge::run(client, req, bridge::Read::Stream).await {
                bridge::Outcome::Open { meta, body } => {
                    *lock(&slot) = Some(body);
                    bridge::Outcome::Ok {
                        meta,
                        body: Default::default(),
                    }
                }
                other => other,
            };
            // The sink holds the body from here: the promise resolves at headers.
            settle.resolve(outcome)
        });
        sink.arm(task.abort_handle());
        Ok(promise)
    }
}

/// The writable side of a streamed request body.
#[napi]
pub struct BodyWriter {
    tx: Mutex<Option<bridge::BodySender>>,
    body: Mutex<Option<hopsafe::Body>>,
}

impl Default for BodyWriter {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl BodyWriter {
    /// A writer whose body is not sent yet (pass it to `sendStream`).
    #[napi(constructor)]
    pub fn new() -> Self {
        let (tx, body) = bridge::body_channel(4);
        BodyWriter {
            tx: Mutex::new(Some(tx)),
            body: Mutex::new(Some(body)),
        }
    }

    /// Hands `chunk` to the core: resolves `true` once taken, `false` when the core no longer
    /// reads the body (the request ended or dropped it): stop writing then. Await each write
    /// before the next.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn write<'env>(&self, env: &'env Env, chunk: Buffer) -> Result<Object<'env>> {
        let (call, promise) = wake::Call::new(env)?;
        let tx = lock(&self.tx).clone();
        let data = chunk.to_vec();
        hopsafe::runtime::single_worker().spawn(async move {
            let taken = match tx {
                Some(tx) => tx.send(data).await,
                None => false,
            };
            call.finish(move |_env| Ok(taken));
        });
        Ok(promise)
    }

    /// Ends the body (the last chunk was written).
    #[napi(catch_unwind)]
    pub fn end(&self) {
        lock(&self.tx).take();
    }

    /// Ends the body with an error: the core aborts the upload (the server never sees it
    /// complete) and the request fails with `BodyStream`.
    #[napi(catch_unwind)]
    pub fn fail(&self, reason: String) {
        if let Some(tx) = lock(&self.tx).take() {
            tx.fail_in_background(hopsafe::runtime::single_worker().handle(), reason);
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Owns a request's promise: resolves it with the outcome, or, if it is dropped
/// unresolved (the task was aborted or failed), with a `Cancelled` document when the request
/// was cancelled and an internal-error document otherwise (so no promise, and no threadsafe
/// keeping the event loop alive, is ever left pending).
struct Settle {
    call: Option<wake::Call>,
    cancelled: Arc<Mutex<body::CancelState>>,
}

impl Settle {
    fn resolve(mut self, outcome: bridge::Outcome) {
        if let Some(c) = self.call.take() {
            c.finish(move |_env| Ok(to_result(outcome)));
        }
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        if let Some(c) = self.call.take() {
            let cancelled = lock(&self.cancelled).0;
            let meta = if cancelled {
                bridge::cancelled_json()
            } else {
                bridge::internal_json()
            };
            c.finish(move |_env| Ok(to_result(bridge::Outcome::Err(meta))));
        }
    }
}

fn to_result(outcome: bridge::Outcome) -> NativeResult {
    match outcome {
        bridge::Outcome::Ok { meta, .. } | bridge::Outcome::Open { meta, .. } => NativeResult {
            ok: true,
            meta: meta.json(),
        },
        bridge::Outcome::Err(meta) => NativeResult { ok: false, meta },
    }
}

/// A minimum-version pinning policy for servers (`hopsafe.pinning()`).
#[napi]
pub struct NativePolicy {
    policy: hopsafe_pinning::Policy,
}

/// A refusal: the status and the problem+json body.
#[napi(object)]
pub struct NativeDenial {
    pub status: u16,
    pub body: String,
}

#[napi]
impl NativePolicy {
    /// Loads a policy from JSON or TOML text; throws an Error whose message is the error
    /// document when it is invalid.
    #[napi(constructor, catch_unwind)]
    pub fn new(text: String, format: String) -> Result<Self> {
        bridge::load_policy(&text, &format)
            .map(|policy| NativePolicy { policy })
            .map_err(|e| napi::Error::from_reason(bridge::error_json(&e)))
    }

    /// `null` to let the request through, or the refusal to send.
    #[napi(catch_unwind)]
    pub fn evaluate(
        &self,
        method: String,
        path: String,
        headers: Vec<Vec<String>>,
    ) -> Option<NativeDenial> {
        let pairs: Vec<(String, String)> = headers
            .into_iter()
            .filter_map(|mut kv| (kv.len() == 2).then(|| (kv.remove(0), kv.remove(0))))
            .collect();
        bridge::evaluate_policy(&self.policy, &method, &path, &pairs)
            .map(|(status, body)| NativeDenial { status, body })
    }
}

/// The hopsafe core version compiled into this addon.
#[napi]
pub fn core_version() -> String {
    hopsafe::VERSION.to_owned()
}

/// The core's default replay buffer limit in bytes (`replayLimit` when not configured).
#[napi]
pub fn default_replay_limit() -> u32 {
    u32::try_from(hopsafe::client::DEFAULT_REPLAY_LIMIT).unwrap_or(u32::MAX)
}
