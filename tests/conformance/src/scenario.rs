//! The scenario file format (see PROTOCOL.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ScenarioFile {
    pub version: u32,
    pub scenarios: Vec<Scenario>,
}

/// One scenario: a client, a request, the chain the server plays, the expected outcome.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub client: ClientSpec,
    pub request: RequestSpec,
    pub steps: Vec<Value>,
    pub expect: Expect,
}

/// Client options (all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    #[serde(default)]
    pub trusted_origins: Vec<String>,
    #[serde(default)]
    pub sensitive_headers: Vec<String>,
    pub allow_https_downgrade: Option<bool>,
    pub follow_redirects: Option<bool>,
    pub max_redirects: Option<u32>,
    pub replay_limit: Option<usize>,
    pub idempotency: Option<IdempotencySpec>,
    pub retry: Option<RetrySpec>,
    pub timeout_ms: Option<u64>,
    pub read_timeout_ms: Option<u64>,
    /// Origins declared to deduplicate writes by `Idempotency-Key` (templates expanded).
    #[serde(default)]
    pub key_honoring_origins: Vec<String>,
    /// The SDK identity the client sends (both or neither).
    pub sdk_name: Option<String>,
    pub sdk_version: Option<String>,
    /// Present the test server's client certificate (`client_cert_pem`/`client_key_pem` of
    /// the ready JSON), for the `mtls` origin.
    #[serde(default)]
    pub client_identity: bool,
    /// Keep cookies (the client's RFC 6265 jar).
    pub cookies: Option<bool>,
    /// A proxy URL for every request (templates such as `{proxy_http}` replaced).
    pub proxy: Option<String>,
    /// Largest response body the client buffers (bytes).
    pub max_body_size: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySpec {
    pub generate: Option<bool>,
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    pub max_attempts: Option<u32>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub max_retry_after_ms: Option<u64>,
    pub retry_keyed_writes: Option<bool>,
    pub statuses: Option<Vec<u16>>,
}

/// The request to send.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    pub method: String,
    pub origin: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub body_size: Option<usize>,
    #[serde(default)]
    pub stream: bool,
    /// A string uses it, `false` turns keys off, absent is the client default.
    pub idempotency_key: Option<Value>,
    pub follow_redirects: Option<bool>,
    pub max_redirects: Option<u32>,
    pub timeout_ms: Option<u64>,
    /// How the runner reads the final body: `buffered` (default, the whole body at once) or
    /// `stream` (chunk by chunk through the binding's streaming API, releasing the script's
    /// held bodies after the first chunk).
    pub read: Option<String>,
}

impl RequestSpec {
    /// Whether the final body is read through the streaming API.
    pub fn streams_response(&self) -> bool {
        self.read.as_deref() == Some("stream")
    }

    /// The body bytes this request sends.
    pub fn body_bytes(&self) -> Vec<u8> {
        match (&self.body, self.body_size) {
            (Some(b), _) => b.as_bytes().to_vec(),
            (None, Some(n)) => vec![b'x'; n],
            (None, None) => Vec::new(),
        }
    }
}

/// What must happen.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub error: Option<String>,
    pub status: Option<u16>,
    pub final_method: Option<String>,
    pub history_len: Option<usize>,
    pub received: Option<Vec<Received>>,
    pub writes: Option<BTreeMap<String, u64>>,
    /// The error's `write_accepted` (a hop turned the write into a GET before it).
    pub write_accepted: Option<bool>,
    /// The `UpgradeRequired` details the runtime must report.
    pub upgrade: Option<UpgradeSeen>,
    /// The `Client-SDK` name and version every request must carry; the language token must
    /// be the runtime's own (`l=python` from Python...), and `User-Agent` its runtime product.
    pub client_sdk: Option<ClientSdkSpec>,
    /// The final response body the runtime must have read (decoded).
    pub body: Option<BodyExpect>,
}

/// An expected response body: `{"pattern": n}` (the first n bytes of the test server's
/// numbered lines) or `{"text": "..."}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BodyExpect {
    pub pattern: Option<u64>,
    pub text: Option<String>,
}

impl BodyExpect {
    /// The length and FNV-1a digest a runner must report.
    pub fn seen(&self) -> BodySeen {
        let bytes = match (&self.text, self.pattern) {
            (Some(t), _) => t.as_bytes().to_vec(),
            (None, Some(n)) => hopsafe_testserver::generated::pattern(0, n),
            (None, None) => Vec::new(),
        };
        BodySeen::of(&bytes)
    }
}

/// A response body as a runner reports it: its length and FNV-1a 64 digest (16 hex digits).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct BodySeen {
    pub len: u64,
    pub fnv1a64: String,
}

impl BodySeen {
    /// The report for `bytes`.
    pub fn of(bytes: &[u8]) -> BodySeen {
        BodySeen {
            len: bytes.len() as u64,
            fnv1a64: hopsafe_testserver::generated::fnv1a64(bytes),
        }
    }
}

/// The SDK identity a scenario expects on the wire.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSdkSpec {
    pub name: String,
    pub version: String,
}

/// The fields of an `UpgradeRequired` error, as a runner reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct UpgradeSeen {
    pub sdk: String,
    pub minimum_version: String,
    pub current_version: String,
}

/// One request the server must have received.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Received {
    pub step: Option<usize>,
    pub origin: Option<String>,
    pub method: Option<String>,
    /// `same` (the request body), `empty`, or `whole-or-aborted` (the request body, or an
    /// upload the client aborted; never a cut body that ended cleanly).
    pub body: Option<String>,
    #[serde(default)]
    pub present: Vec<String>,
    #[serde(default)]
    pub absent: Vec<String>,
    /// `same` (one key on every record marked so) or `absent`.
    pub key: Option<String>,
    /// The exact `Idempotency-Key` header value.
    pub key_value: Option<String>,
}

/// What a runner saw for one scenario.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Observation {
    pub id: String,
    pub script_id: Option<String>,
    pub error: Option<String>,
    pub status: Option<u16>,
    pub final_url: Option<String>,
    pub final_method: Option<String>,
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub history: Vec<HopSeen>,
    pub skipped: Option<String>,
    /// On error: whether the error says a write was already accepted.
    #[serde(default)]
    pub write_accepted: Option<bool>,
    /// On `UpgradeRequired`: its details.
    #[serde(default)]
    pub upgrade: Option<UpgradeSeen>,
    /// On success: the final body as read (decoded).
    #[serde(default)]
    pub body: Option<BodySeen>,
}

/// A hop as a runner reports it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct HopSeen {
    pub method: String,
    pub url: String,
    pub status: u16,
}

/// A runner's output file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Observations {
    pub runtime: String,
    pub observations: Vec<Observation>,
}

/// Loads the scenario file.
pub fn load(path: &std::path::Path) -> Result<ScenarioFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
