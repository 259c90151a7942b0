//! The checker: judges one runtime's observation of one scenario against the expectation,
//! using the server's own records of what it received.

use serde_json::Value;

use crate::control::Server;
use crate::scenario::{Observation, Scenario};
use crate::sha256_hex;

/// The verdict on one observation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    /// Everything expected happened.
    Pass,
    /// The runtime could not express the scenario (reason).
    Skipped(String),
    /// What differed.
    Fail(Vec<String>),
}

/// Judges the Rust runner's `obs` against `scenario.expect`.
pub async fn judge(server: &Server, scenario: &Scenario, obs: &Observation) -> Verdict {
    judge_as(server, scenario, obs, "rust").await
}

/// Judges `obs`, observed by `runtime` (`rust`, `python`, `node`, `kotlin`, `swift`, an
/// adapter column `LANGUAGE-PEER` such as `python-httpx`, or a `peer:` column), against
/// `scenario.expect`.
pub async fn judge_as(
    server: &Server,
    scenario: &Scenario,
    obs: &Observation,
    runtime: &str,
) -> Verdict {
    if let Some(reason) = &obs.skipped {
        return Verdict::Skipped(reason.clone());
    }
    let mut problems = Vec::new();
    let e = &scenario.expect;
    if obs.error != e.error {
        problems.push(format!(
            "error: expected {:?}, got {:?}",
            e.error, obs.error
        ));
    }
    if let Some(want) = e.write_accepted {
        if obs.write_accepted != Some(want) {
            problems.push(format!(
                "write_accepted: expected {want}, got {:?}",
                obs.write_accepted
            ));
        }
    }
    if let Some(want) = &e.upgrade {
        if obs.upgrade.as_ref() != Some(want) {
            problems.push(format!(
                "UpgradeRequired details: expected {want:?}, got {:?}",
                obs.upgrade
            ));
        }
    }
    if e.error.is_none() {
        if let Some(status) = e.status {
            if obs.status != Some(status) {
                problems.push(format!("status: expected {status}, got {:?}", obs.status));
            }
        }
        if let Some(want) = &e.body {
            let want = want.seen();
            if obs.body.as_ref() != Some(&want) {
                problems.push(format!(
                    "body: expected {} bytes (fnv1a64 {}), got {:?}",
                    want.len, want.fnv1a64, obs.body
                ));
            }
        }
        if let Some(m) = &e.final_method {
            if obs.final_method.as_ref() != Some(m) {
                problems.push(format!(
                    "final method: expected {m}, got {:?}",
                    obs.final_method
                ));
            }
        }
    }
    if let Some(n) = e.history_len {
        if obs.history.len() != n {
            problems.push(format!(
                "history: expected {n} hops, got {}",
                obs.history.len()
            ));
        }
    }
    let Some(id) = &obs.script_id else {
        problems.push("no script id".into());
        return Verdict::Fail(problems);
    };
    if let Some(want) = &e.received {
        match server.records(id).await {
            Ok(records) => check_records(scenario, want, &records, obs, &mut problems),
            Err(err) => problems.push(err),
        }
    }
    if let Some(want) = &e.client_sdk {
        match server.records(id).await {
            Ok(records) => check_identity(want, runtime, &records, &mut problems),
            Err(err) => problems.push(err),
        }
    }
    if let Some(want) = &e.writes {
        match server.writes(id).await {
            Ok(w) => {
                for (k, v) in want {
                    if w[k].as_u64() != Some(*v) {
                        problems.push(format!("writes.{k}: expected {v}, got {}", w[k]));
                    }
                }
            }
            Err(err) => problems.push(err),
        }
    }
    if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems)
    }
}

fn check_records(
    scenario: &Scenario,
    want: &[crate::scenario::Received],
    records: &[Value],
    obs: &Observation,
    problems: &mut Vec<String>,
) {
    if records.len() != want.len() {
        problems.push(format!(
            "server received {} requests, expected {}",
            records.len(),
            want.len()
        ));
        return;
    }
    let body_sha = sha256_hex(&scenario.request.body_bytes());
    let empty_sha = sha256_hex(b"");
    let mut same_key: Option<String> = None;
    for (i, (w, r)) in want.iter().zip(records).enumerate() {
        let at = |what: &str| format!("request {i}: {what}");
        let field = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
        if let Some(step) = w.step {
            if r["step"].as_u64() != Some(step as u64) {
                problems.push(at(&format!("step {} expected {step}", r["step"])));
            }
        }
        if let Some(o) = &w.origin {
            if field("origin") != *o {
                problems.push(at(&format!("origin {} expected {o}", field("origin"))));
            }
        }
        if let Some(m) = &w.method {
            if field("method") != *m {
                problems.push(at(&format!("method {} expected {m}", field("method"))));
            }
        }
        match w.body.as_deref() {
            Some("same") if field("body_sha256") != body_sha => problems.push(at(&format!(
                "body of {} bytes is not the request body",
                r["body_len"]
            ))),
            Some("empty") if field("body_sha256") != empty_sha => problems.push(at(&format!(
                "body of {} bytes, expected none",
                r["body_len"]
            ))),
            // Either the whole request body or an upload the client aborted: never a cut
            // body that ended cleanly.
            Some("whole-or-aborted")
                if r["body_complete"].as_bool() != Some(false)
                    && field("body_sha256") != body_sha =>
            {
                problems.push(at(&format!(
                    "a cut body of {} bytes ended as complete",
                    r["body_len"]
                )))
            }
            _ => {}
        }
        let has = |name: &str| r["headers"].get(name.to_ascii_lowercase()).is_some();
        for p in &w.present {
            if !has(p) {
                problems.push(at(&format!("{p} missing")));
            }
        }
        for a in &w.absent {
            if has(a) {
                problems.push(at(&format!("{a} must not be sent here")));
            }
        }
        let key = r["idempotency_key"].as_str().map(str::to_owned);
        match w.key.as_deref() {
            Some("absent") if key.is_some() => problems.push(at("an idempotency key was sent")),
            Some("same") => match (&key, &same_key) {
                (None, _) => problems.push(at("idempotency key missing")),
                (Some(k), Some(first)) if k != first => {
                    problems.push(at(&format!("key {k} differs from {first}")))
                }
                (Some(k), None) => same_key = Some(k.clone()),
                _ => {}
            },
            _ => {}
        }
        if let Some(v) = &w.key_value {
            if key.as_ref() != Some(v) {
                problems.push(at(&format!("key {key:?} expected {v:?}")));
            }
        }
    }
    if let (Some(wire), Some(reported)) = (&same_key, &obs.idempotency_key) {
        if !wire.contains(reported.as_str()) {
            problems.push(format!(
                "response reports key {reported}, wire carried {wire}"
            ));
        }
    }
}

/// The binding a column runs on: `python` for `python`, `python-httpx` and `peer:python-x`.
pub fn language_of(runtime: &str) -> &str {
    let column = runtime.strip_prefix("peer:").unwrap_or(runtime);
    column.split('-').next().unwrap_or(column)
}

/// The `User-Agent` runtime product each binding adds (the Rust core adds none).
fn runtime_product(runtime: &str) -> Option<&'static str> {
    match runtime {
        "python" => Some("cpython/"),
        "node" => Some("node/"),
        "kotlin" => Some("jvm/"),
        "swift" => Some("swift/"),
        _ => None,
    }
}

/// Every request carries `Client-SDK` with the scenario's name and version and the runtime's
/// own language token, and a `User-Agent` naming the SDK, the core and the runtime.
fn check_identity(
    want: &crate::scenario::ClientSdkSpec,
    runtime: &str,
    records: &[Value],
    problems: &mut Vec<String>,
) {
    if records.is_empty() {
        problems.push("server received no request to read Client-SDK from".into());
    }
    let language = language_of(runtime);
    for (i, r) in records.iter().enumerate() {
        let header = |name: &str| {
            r["headers"][name][0]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let at = |what: String| format!("request {i}: {what}");
        let sdk = header("client-sdk");
        match hopsafe_sdk_header::parse_client_sdk(&sdk) {
            Ok(id) => {
                if (id.name.as_str(), id.version.as_str()) != (&want.name, &want.version) {
                    problems.push(at(format!(
                        "Client-SDK names {} {}, expected {} {}",
                        id.name, id.version, want.name, want.version
                    )));
                }
                if id.core_version.as_deref() != Some(hopsafe::VERSION) {
                    problems.push(at(format!("Client-SDK core version in {sdk:?}")));
                }
                if id.language.as_deref() != Some(language) {
                    problems.push(at(format!(
                        "Client-SDK language {:?}, expected {language}",
                        id.language
                    )));
                }
            }
            Err(err) => problems.push(at(format!("Client-SDK {sdk:?}: {err}"))),
        }
        let ua = header("user-agent");
        let products: Vec<&str> = ua.split(' ').collect();
        let mut need = vec![
            format!("{}/{}", want.name, want.version),
            format!("hopsafe/{}", hopsafe::VERSION),
        ];
        if let Some(p) = runtime_product(language) {
            need.push(p.to_owned());
        }
        for n in need {
            if !products.iter().any(|p| p.starts_with(&n)) {
                problems.push(at(format!("User-Agent {ua:?} lacks {n}")));
            }
        }
    }
}
