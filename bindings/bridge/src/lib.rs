//! The document protocol between a dynamic language and the core: a client configuration,
//! a request, and the response or error, as JSON (bodies travel as bytes beside them). The
//! Python and Node bindings only move these documents across their FFI; this crate decides
//! nothing, it translates.

mod body;
pub mod meta;
mod sized;
mod stream;

use std::time::Duration;

use bytes::Bytes;
use hopsafe::{Client, ClientConfig, Error, KeyChoice};
use serde::Deserialize;
use serde_json::{json, Value};

pub use body::{BodyReader, Chunk};
pub use meta::Meta;
pub use sized::{run_sized, SizedBody, Whole, SIZED_MIN};
pub use stream::{body_channel, BodySender};

/// A request's settings beyond method, URL and headers (all optional). Bindings that pass
/// method, URL and headers as native values send only this part as JSON, and only when set.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Options {
    /// A string uses it, `false` turns keys off, `true` generates one, null = default.
    #[serde(default)]
    idempotency_key: Value,
    follow_redirects: Option<bool>,
    max_redirects: Option<u32>,
    timeout: Option<f64>,
    /// This request's retry policy (serde form of [`hopsafe::RetryPolicy`]).
    retry: Option<hopsafe::RetryPolicy>,
}

fn secs(v: f64, what: &str) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(v).map_err(|_| Error::InvalidConfig {
        reason: format!("{what} must be a non-negative number of seconds, not {v}"),
    })
}

fn bad_doc(e: serde_json::Error) -> Error {
    Error::InvalidConfig {
        reason: e.to_string(),
    }
}

/// Builds a client from a configuration document: the serde form of
/// [`hopsafe::ClientConfig`] plus `runtime` (the binding's runtime product for `User-Agent`);
/// `language` is the SDK language token.
pub fn build_client(config: &str, language: &str) -> Result<Client, Error> {
    build_client_with(config, language, |b| b)
}

/// [`build_client`], letting the binding add what is not data (a redirect hook) to the
/// builder.
pub fn build_client_with(
    config: &str,
    language: &str,
    extra: impl FnOnce(hopsafe::ClientBuilder) -> hopsafe::ClientBuilder,
) -> Result<Client, Error> {
    let mut doc: serde_json::Map<String, Value> = serde_json::from_str(config).map_err(bad_doc)?;
    let runtime = match doc.remove("runtime") {
        Some(Value::String(r)) => Some(r),
        _ => None,
    };
    let c: ClientConfig = serde_json::from_value(Value::Object(doc)).map_err(bad_doc)?;
    extra(c.into_builder()?)
        .sdk_language(language, runtime.as_deref())
        .build()
}

/// Parses a request document into a core request (input errors are typed core errors).
pub fn build_request(
    client: &Client,
    doc: &str,
    body: Option<Vec<u8>>,
) -> Result<hopsafe::Request, Error> {
    build_request_with(client, doc, body.map(hopsafe::Body::from))
}

/// [`build_request`] with any core body (bytes or a stream). The document is
/// `{"method", "url", "headers": [[name, value]...]}` plus the optional settings.
pub fn build_request_with(
    client: &Client,
    doc: &str,
    body: Option<hopsafe::Body>,
) -> Result<hopsafe::Request, Error> {
    let mut doc: serde_json::Map<String, Value> = serde_json::from_str(doc).map_err(bad_doc)?;
    let mut take = |name: &str| {
        doc.remove(name).ok_or_else(|| Error::InvalidConfig {
            reason: format!("missing field `{name}`"),
        })
    };
    let method: String = serde_json::from_value(take("method")?).map_err(bad_doc)?;
    let url: String = serde_json::from_value(take("url")?).map_err(bad_doc)?;
    let headers: Vec<(String, String)> = match take("headers") {
        Ok(h) => serde_json::from_value(h).map_err(bad_doc)?,
        Err(_) => Vec::new(),
    };
    let options: Options = serde_json::from_value(Value::Object(doc)).map_err(bad_doc)?;
    with_options(client, &method, &url, &headers, body, options)
}

/// Builds a request from native values, with the optional settings as a JSON document
/// (`{"timeout": 5, ...}`; `None` when none is set, so the common call parses no JSON).
pub fn build_request_parts(
    client: &Client,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    options: Option<&str>,
    body: Option<hopsafe::Body>,
) -> Result<hopsafe::Request, Error> {
    let options = match options {
        Some(doc) => serde_json::from_str(doc).map_err(bad_doc)?,
        None => Options::default(),
    };
    with_options(client, method, url, headers, body, options)
}

fn with_options(
    client: &Client,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<hopsafe::Body>,
    r: Options,
) -> Result<hopsafe::Request, Error> {
    let mut rb = client.request(method, url);
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    rb = match r.idempotency_key {
        Value::String(k) => rb.idempotency_key(KeyChoice::Use(k)),
        Value::Bool(false) => rb.idempotency_key(KeyChoice::Off),
        Value::Bool(true) => rb.idempotency_key(KeyChoice::Generate),
        _ => rb,
    };
    if let Some(v) = r.follow_redirects {
        rb = rb.follow_redirects(v);
    }
    if let Some(v) = r.max_redirects {
        rb = rb.max_redirects(v);
    }
    if let Some(t) = r.timeout {
        rb = rb.timeout(secs(t, "timeout")?);
    }
    if let Some(p) = r.retry {
        rb = rb.retry(p);
    }
    rb.build()
}

/// The result of one call, ready to cross into the host language.
pub enum Outcome {
    /// The response's metadata and the whole body (read with the client's `max_body_size`).
    Ok { meta: Meta, body: Bytes },
    /// The response's metadata and its body, still to be read (a streamed response).
    Open {
        meta: Meta,
        body: std::sync::Arc<BodyReader>,
    },
    /// The error document.
    Err(String),
}

/// How the final body is handed over.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Read whole before the call returns.
    Whole,
    /// Returned unread, as a [`BodyReader`], once the headers are in.
    Stream,
}

/// Sends a request document and reads the whole body.
pub async fn execute(client: Client, doc: &str, body: Option<Vec<u8>>) -> Outcome {
    execute_with(client, doc, body.map(hopsafe::Body::from), Read::Whole).await
}

/// [`execute`] with any core body (bytes or a stream), reading the response as `read` says.
pub async fn execute_with(
    client: Client,
    doc: &str,
    body: Option<hopsafe::Body>,
    read: Read,
) -> Outcome {
    let req = build_request_with(&client, doc, body);
    run(client, req, read).await
}

/// Sends a request built beforehand (or reports the error that building it gave), reading
/// the response as `read` says.
pub async fn run(client: Client, req: Result<hopsafe::Request, Error>, read: Read) -> Outcome {
    match send(client, req).await {
        Ok(resp) => finish(resp, read).await,
        Err(doc) => Outcome::Err(doc),
    }
}

/// The response (at its headers), or the error document.
async fn send(
    client: Client,
    req: Result<hopsafe::Request, Error>,
) -> Result<hopsafe::Response, String> {
    let req = req.map_err(|e| error_json(&e))?;
    client.execute(req).await.map_err(|e| error_json(&e))
}

/// The outcome of a response whose body is read as `read` says.
async fn finish(mut resp: hopsafe::Response, read: Read) -> Outcome {
    let meta = Meta::of(&resp);
    if read == Read::Stream {
        let body = std::sync::Arc::new(BodyReader::prefetched(resp).await);
        return Outcome::Open { meta, body };
    }
    match resp.read_all().await {
        Ok(body) => Outcome::Ok { meta, body },
        Err(e) => Outcome::Err(error_json(&e)),
    }
}

/// The client's counters as JSON, the serde form of [`hopsafe::MetricsSnapshot`] (snake_case).
pub fn metrics_json(client: &Client) -> String {
    serde_json::to_string(&client.metrics()).expect("a snapshot of numbers and strings serializes")
}

/// An error as `{"name", "message", "url", "history", "write_accepted", ...}`; `name` is the
/// core variant name.
pub fn error_json(e: &Error) -> String {
    let mut v = json!({
        "name": e.name(), "message": e.to_string(), "url": e.url(), "history": meta::hops_json(e.history()),
        "write_accepted": e.write_accepted(),
    });
    if let Error::UpgradeRequired {
        minimum_version,
        current_version,
        sdk,
        ..
    } = e
    {
        v["minimum_version"] = json!(minimum_version);
        v["current_version"] = json!(current_version);
        v["sdk"] = json!(sdk);
    }
    if let Error::Timeout { phase, .. } = e {
        v["phase"] = json!(phase.to_string());
    }
    v.to_string()
}

/// The error document of a cancelled request.
pub fn cancelled_json() -> String {
    error_json(&Error::Cancelled)
}

/// The error document of a task that failed unexpectedly (never a panic across the boundary).
pub fn internal_json() -> String {
    json!({"name": "HopsafeError", "message": "internal error in the hopsafe addon", "url": null, "history": [], "write_accepted": false}).to_string()
}

/// Starts a request built beforehand (or reports the error that building it gave) as its
/// own task on runtime `on` (the core's shared one, or a caller-driven one). Returns the
/// handle that aborts it and the future of its outcome: a panic becomes an error document
/// and an abort becomes `Cancelled`, so nothing ever unwinds into the host language.
pub fn spawn_request(
    on: &tokio::runtime::Handle,
    client: Client,
    req: Result<hopsafe::Request, Error>,
    read: Read,
) -> (
    tokio::task::AbortHandle,
    impl std::future::Future<Output = Outcome> + Send,
) {
    spawn_task(on, run(client, req, read), Outcome::Err)
}

/// Runs `work` as its own task on runtime `on`, as [`spawn_request`] does: the abort handle
/// and the future of its output, where an abort gives `failed(Cancelled document)` and a
/// panic `failed(internal error document)`.
pub fn spawn_task<T: Send + 'static>(
    on: &tokio::runtime::Handle,
    work: impl std::future::Future<Output = T> + Send + 'static,
    failed: impl FnOnce(String) -> T + Send + 'static,
) -> (
    tokio::task::AbortHandle,
    impl std::future::Future<Output = T> + Send,
) {
    let task = on.spawn(work);
    let abort = task.abort_handle();
    let outcome = async move {
        match task.await {
            Ok(o) => o,
            Err(e) if e.is_cancelled() => failed(cancelled_json()),
            Err(_) => failed(internal_json()),
        }
    };
    (abort, outcome)
}

/// Loads a pinning policy from JSON or TOML text (`format` is `json` or `toml`).
pub fn load_policy(text: &str, format: &str) -> Result<hopsafe_pinning::Policy, Error> {
    let parsed = match format {
        "json" => hopsafe_pinning::Policy::from_json_str(text),
        "toml" => hopsafe_pinning::Policy::from_toml_str(text),
        other => {
            return Err(Error::InvalidConfig {
                reason: format!("policy format must be json or toml, not {other:?}"),
            })
        }
    };
    parsed.map_err(|e| Error::InvalidConfig {
        reason: e.to_string(),
    })
}

/// Evaluates a request for a middleware: `None` lets it through, `Some((status, problem
/// JSON))` is the refusal to send with content type `application/problem+json`.
pub fn evaluate_policy(
    policy: &hopsafe_pinning::Policy,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Option<(u16, String)> {
    let method = hopsafe::Method::from_bytes(method.as_bytes()).unwrap_or(hopsafe::Method::GET);
    let mut map = hopsafe::HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(n), Ok(v)) = (
            hopsafe::http::HeaderName::from_bytes(k.as_bytes()),
            hopsafe::http::HeaderValue::from_str(v),
        ) {
            map.append(n, v);
        }
    }
    match policy.evaluate(&method, path, &map) {
        hopsafe_pinning::Decision::Allow => None,
        hopsafe_pinning::Decision::Deny(d) => Some((d.status, d.problem_json())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Value {
        serde_json::from_str(doc).unwrap()
    }

    #[test]
    fn invalid_documents_are_typed_errors() {
        let e = build_client(r#"{"trusted_origins": ["http://x"]}"#, "python").unwrap_err();
        assert_eq!(e.name(), "InvalidConfig");
        assert_eq!(
            build_client(r#"{"nope": 1}"#, "node").unwrap_err().name(),
            "InvalidConfig"
        );
        assert_eq!(
            build_client(r#"{"timeout": -1}"#, "node")
                .unwrap_err()
                .name(),
            "InvalidConfig"
        );
        let c = build_client("{}", "node").unwrap();
        let e = build_request(&c, r#"{"method": "GET", "url": "nope"}"#, None).unwrap_err();
        assert_eq!(parse(&error_json(&e))["name"], "InvalidUrl");
        let e = build_request(
            &c,
            r#"{"method": "GET", "url": "http://a/", "headers": [["x", "a\nb"]]}"#,
            None,
        )
        .unwrap_err();
        assert_eq!(e.name(), "InvalidHeader");
        assert_eq!(parse(&cancelled_json())["name"], "Cancelled");
    }

    #[test]
    fn spawned_requests_report_connect_errors_as_documents() {
        let c = build_client(r#"{"retry": {"max_attempts": 1}}"#, "node").unwrap();
        let req = build_request_with(
            &c,
            r#"{"method": "GET", "url": "http://127.0.0.1:9/"}"#,
            None,
        );
        let (_, fut) = spawn_request(hopsafe::runtime::shared().handle(), c, req, Read::Whole);
        match hopsafe::runtime::block_on(fut) {
            Outcome::Err(doc) => assert_eq!(parse(&doc)["name"], "Connect"),
            Outcome::Ok { .. } | Outcome::Open { .. } => panic!("port 9 answered"),
        }
    }
}
