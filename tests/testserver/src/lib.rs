//! Loopback test server for hopsafe.
//!
//! One server exposes several *origins* so redirect handling across scheme, host and port
//! boundaries can be tested against real sockets:
//!
//! | label      | base URL                  |
//! |------------|---------------------------|
//! | `a`        | `http://127.0.0.1:P1`     |
//! | `a2`       | `http://127.0.0.1:P2`     |
//! | `b`        | `http://127.0.0.2:P3`     |
//! | `a_name`   | `http://localhost:P1`     |
//! | `tls`      | `https://127.0.0.1:P1`    |
//! | `tls_b`    | `https://127.0.0.2:P3`    |
//! | `tls_name` | `https://localhost:P1`    |
//! | `tls_untrusted` | `https://127.0.0.1:P2` (certificate from a CA no client is given) |
//! | `v6`       | `http://[::1]:P4` (only if `::1` can be bound) |
//! | `mtls`     | `https://127.0.0.1:P5` (TLS only, h2 and HTTP/1.1; requires a client certificate signed by the CA: the ready JSON's `client_cert_pem`/`client_key_pem`) |
//!
//! Every listener sniffs the first byte of a connection: `0x16` starts a TLS handshake
//! (ALPN `h2`, `http/1.1`; certificate signed by a CA generated at start, see
//! [`TestServer::ca_pem`]), anything else is plaintext HTTP/1.1 or h2c with prior knowledge.
//! The origin label of a request is derived from the listener, TLS or not, and the host
//! name of `:authority`/`Host` (`localhost` selects the `*_name` labels).
//!
//! # Routes (any origin, any method)
//!
//! An optional `/t/{tag}` prefix is stripped before routing and stored in the record.
//! Every request outside `/__*` is recorded (body read, length and SHA-256 kept) before it
//! is answered.
//!
//! - `/echo[/*]`: 200 JSON `{"origin","scheme","version","method","path","query","tag",
//!   "headers":{lower:[values]},"body_len","body_sha256","body"}` (`body` is lossy UTF-8,
//!   `null` above 64 KiB; `path` is the path as sent, `/t/{tag}` included).
//! - `/redirect/{status}?to=<pct-encoded>[&body=N][&gzip_bomb=1]`: `{status}` with the
//!   percent-decoded bytes of `to` as a raw `Location` (non-UTF-8 allowed; 500 if the bytes
//!   are not a valid header value); `body=N` sends N bytes of `x`; `gzip_bomb=1` sends a
//!   gzip body (`Content-Encoding: gzip`) inflating to 64 MiB.
//! - `/s/{id}/{n}`: plays step `n` of a script (see [`Step`]), 404 if absent.
//! - `/fault/{name}`: applies fault `name` on every request, else answers like `/echo`
//!   (`/fault/none` never faults; `?retry_after=` for `status_*`; `?body=TEXT` answers
//!   TEXT instead of the echo JSON, handy with `slow_body`, which sends 5 bytes a second).
//! - `/bytes/{n}`: `n` bytes of `x`. `/status/{code}`: that status, empty body.
//! - Control (not recorded): `POST /__scripts` `{"steps":[...]}` -> 201 `{"id"}`;
//!   `GET /__scripts/{id}/records` -> `[Record]`; `GET /__scripts/{id}/writes` -> [`Writes`];
//!   `GET /__records/{tag}` -> `[Record]`; `GET /__origins` -> the ready JSON;
//!   `POST /__scripts/{id}/release` lets the script's held bodies (`hold_after`) go on.
//!
//! # Faults
//!
//! `reset_after_read`, `close_before_response`, `reset_before_read`, `refused_stream`,
//! `status_503`, `status_429`, `status_409`, `delay_ms:N`, `slow_body`, `gzip_bomb` (200 with a
//! gzip body inflating to 64 MiB), `redirect_self` (302
//! back to the request's own URL), `answer_early` (answer
//! before reading the body, which is read and recorded in the background), and the raw replies
//! (plaintext HTTP/1.1 only) `bad_status_line`, `truncated_chunked`, `oversized_headers`,
//! `reset_after_headers`, `reset_mid_body`, `slow_head`, `bad_location_utf8`,
//! `folded_location`, `two_locations`. A delivery
//! is *applied* (counted in [`Writes`]) when its step has `apply`, its body arrived
//! complete, and the fault is not `reset_before_read`, `refused_stream` or `status_*`. On
//! HTTP/1.1 the connection faults RST (linger 0) or FIN the TCP connection; on HTTP/2 they
//! reset only the stream (`RST_STREAM`, `INTERNAL_ERROR`; `REFUSED_STREAM` for
//! `refused_stream`).

mod body;
mod conn;
mod control;
mod faults;
pub mod generated;
mod origins;
pub mod proxies;
mod raw;
mod record;
mod routes;
mod script;
mod socks5;
mod tls;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use record::{Record, Writes};
pub use script::Step;

use origins::{Ports, Role};
use record::RecordLog;
use script::ScriptStore;

/// State shared by every connection of one server.
pub(crate) struct State {
    origins: BTreeMap<String, String>,
    ca_pem: String,
    ca_pem_path: PathBuf,
    client_cert_pem: String,
    client_key_pem: String,
    /// The trusted origins' TLS config, for proxies fronted by TLS.
    tls_config: Arc<rustls::ServerConfig>,
    scripts: Mutex<ScriptStore>,
    records: Mutex<RecordLog>,
    releases: Arc<generated::Releases>,
}

impl State {
    fn scripts(&self) -> MutexGuard<'_, ScriptStore> {
        self.scripts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn records(&self) -> MutexGuard<'_, RecordLog> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ready_json(&self) -> Value {
        json!({
            "origins": self.origins,
            "ca_pem": self.ca_pem,
            "ca_pem_path": self.ca_pem_path.to_string_lossy(),
            "client_cert_pem": self.client_cert_pem,
            "client_key_pem": self.client_key_pem,
            "pid": std::process::id(),
        })
    }
}

/// A running test server. Dropping it stops every listener and connection and removes the
/// CA PEM file.
pub struct TestServer {
    state: Arc<State>,
    tasks: Vec<JoinHandle<()>>,
}

impl TestServer {
    /// Binds every origin on an ephemeral port, generates certificates and starts serving
    /// on the current Tokio runtime.
    pub async fn start() -> io::Result<TestServer> {
        let tls = tls::generate()?;
        let acceptor = TlsAcceptor::from(tls.config.clone());
        let untrusted = TlsAcceptor::from(tls.untrusted);
        let mtls = TlsAcceptor::from(tls.mtls);

        let a = TcpListener::bind("127.0.0.1:0").await?;
        let p1 = a.local_addr()?.port();
        // Best effort: serve `localhost` on ::1 too, for clients that try it first.
        let a6 = TcpListener::bind(("::1", p1)).await.ok();
        let a2 = TcpListener::bind("127.0.0.1:0").await?;
        let b = TcpListener::bind("127.0.0.2:0").await?;
        let v6 = TcpListener::bind("[::1]:0").await.ok();
        let m = TcpListener::bind("127.0.0.1:0").await?;
        let ports = Ports {
            p1,
            p2: a2.local_addr()?.port(),
            p3: b.local_addr()?.port(),
            p4: v6
                .as_ref()
                .and_then(|l| l.local_addr().ok())
                .map(|a| a.port()),
            p5: m.local_addr()?.port(),
        };

        static N: AtomicU64 = AtomicU64::new(0);
        let ca_pem_path = std::env::temp_dir().join(format!(
            "hopsafe-testserver-ca-{}-{}.pem",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&ca_pem_path, &tls.ca_pem)?;

        let state = Arc::new(State {
            origins: origins::origin_map(ports),
            ca_pem: tls.ca_pem,
            ca_pem_path,
            client_cert_pem: tls.client_cert_pem,
            client_key_pem: tls.client_key_pem,
            tls_config: tls.config,
            scripts: Mutex::default(),
            records: Mutex::default(),
            releases: Arc::default(),
        });
        let mut listeners = vec![(a, Role::A), (a2, Role::A2), (b, Role::B), (m, Role::Mtls)];
        listeners.extend(a6.map(|l| (l, Role::A)));
        listeners.extend(v6.map(|l| (l, Role::V6)));
        let tasks = listeners
            .into_iter()
            .map(|(l, role)| {
                // TLS on `a2`'s port presents a certificate no client trusts.
                let tls = match role {
                    Role::A2 => untrusted.clone(),
                    Role::Mtls => mtls.clone(),
                    _ => acceptor.clone(),
                };
                tokio::spawn(conn::accept_loop(l, role, tls, state.clone()))
            })
            .collect();
        Ok(TestServer { state, tasks })
    }

    /// Base URL (no trailing slash) of origin `label`.
    ///
    /// # Panics
    /// If the label is unknown (or `v6` when `::1` was not available).
    pub fn origin(&self, label: &str) -> String {
        match self.state.origins.get(label) {
            Some(o) => o.clone(),
            None => panic!(
                "unknown origin label {label:?}; known: {:?} (all labels: {:?})",
                self.state.origins.keys().collect::<Vec<_>>(),
                origins::LABELS
            ),
        }
    }

    /// Whether origin `label` is served (useful for `v6`).
    pub fn has_origin(&self, label: &str) -> bool {
        self.state.origins.contains_key(label)
    }

    /// `origin(label) + path`.
    pub fn url(&self, label: &str, path: &str) -> String {
        format!("{}{}", self.origin(label), path)
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.state.ca_pem
    }

    /// A TLS server config with the certificate of the trusted origins (signed by
    /// [`ca_pem`](Self::ca_pem)), offering only HTTP/1.1: for a proxy fronted by TLS.
    pub fn proxy_tls_config(&self) -> Arc<rustls::ServerConfig> {
        let mut config = (*self.state.tls_config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A client certificate (PEM) and its key (PKCS#8 PEM) that the `mtls` origin accepts.
    pub fn client_identity_pem(&self) -> (&str, &str) {
        (&self.state.client_cert_pem, &self.state.client_key_pem)
    }

    /// `{"origins":{label:url},"ca_pem","ca_pem_path","pid"}`, as printed by the binary.
    pub fn ready_json(&self) -> Value {
        self.state.ready_json()
    }

    /// Registers a script and returns its id (play it at `/s/{id}/{n}`).
    ///
    /// # Panics
    /// If a step is invalid (status outside 200..=999 or an unknown fault name).
    pub fn script(&self, steps: Vec<Step>) -> String {
        match self.state.scripts().add(steps) {
            Ok(id) => id,
            Err(e) => panic!("invalid script: {e}"),
        }
    }

    /// Like [`TestServer::script`], from JSON: `{"steps":[...]}` or a bare array of steps.
    ///
    /// # Panics
    /// If the JSON does not describe valid steps.
    pub fn script_json(&self, steps: Value) -> String {
        let steps = match steps {
            Value::Object(mut o) => o.remove("steps").unwrap_or(Value::Null),
            v => v,
        };
        match serde_json::from_value::<Vec<Step>>(steps) {
            Ok(s) => self.script(s),
            Err(e) => panic!("invalid script json: {e}"),
        }
    }

    /// Records of requests to `/s/{script_id}/*`, in arrival order.
    pub fn records(&self, script_id: &str) -> Vec<Record> {
        self.state.records().for_script(script_id)
    }

    /// Records of requests with the `/t/{tag}` prefix, in arrival order.
    pub fn tag_records(&self, tag: &str) -> Vec<Record> {
        self.state.records().for_tag(tag)
    }

    /// Write accounting of a script.
    pub fn writes(&self, script_id: &str) -> Writes {
        Writes::from_records(&self.records(script_id))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = std::fs::remove_file(&self.state.ca_pem_path);
    }
}
