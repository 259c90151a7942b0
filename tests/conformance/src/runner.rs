//! The Rust runner: plays each scenario through the hopsafe core and records what it saw.

use std::time::Duration;

use bytes::Bytes;
use hopsafe::{Body, Client, KeyChoice, KeyFormat, RetryPolicy};
use serde_json::Value;

use crate::control::Server;
use crate::scenario::{
    BodySeen, ClientSpec, HopSeen, Observation, RequestSpec, Scenario, UpgradeSeen,
};

/// Replaces `{label}` templates with origin base URLs.
pub fn expand(server: &Server, text: &str) -> String {
    let mut out = text.to_owned();
    if let Some(origins) = server.ready["origins"].as_object() {
        for (label, base) in origins {
            out = out.replace(&format!("{{{label}}}"), base.as_str().unwrap_or_default());
        }
    }
    out
}

/// Builds the client a scenario asks for.
pub fn build_client(server: &Server, spec: &ClientSpec) -> hopsafe::Result<Client> {
    let mut b = Client::builder().add_root_certificates_pem(server.ca_pem().as_bytes());
    for t in &spec.trusted_origins {
        b = b.trust_origin(&expand(server, t));
    }
    for h in &spec.sensitive_headers {
        b = b.sensitive_header(h);
    }
    for o in &spec.key_honoring_origins {
        b = b.key_honoring_origin(&expand(server, o));
    }
    if let (Some(n), Some(v)) = (&spec.sdk_name, &spec.sdk_version) {
        b = b.sdk(n, v);
    }
    if spec.client_identity {
        let pem = |k: &str| server.ready[k].as_str().unwrap_or_default().to_owned();
        b = b.client_certificate_pem(
            pem("client_cert_pem").as_bytes(),
            pem("client_key_pem").as_bytes(),
        );
    }
    if let Some(on) = spec.cookies {
        b = b.cookie_store(on);
    }
    if let Some(p) = &spec.proxy {
        b = b.proxy(&expand(server, p));
    }
    if let Some(v) = spec.allow_https_downgrade {
        b = b.allow_https_downgrade(v);
    }
    if let Some(v) = spec.follow_redirects {
        b = b.follow_redirects(v);
    }
    if let Some(v) = spec.max_redirects {
        b = b.max_redirects(v);
    }
    if let Some(v) = spec.replay_limit {
        b = b.replay_buffer_limit(v);
    }
    if let Some(v) = spec.max_body_size {
        b = b.max_body_size(Some(v));
    }
    if let Some(i) = &spec.idempotency {
        if let Some(g) = i.generate {
            b = b.idempotency_keys(g);
        }
        if i.format.as_deref() == Some("bare") {
            b = b.idempotency_key_format(KeyFormat::Bare);
        }
    }
    if let Some(r) = &spec.retry {
        let d = RetryPolicy::default();
        let ms = Duration::from_millis;
        b = b.retry(RetryPolicy {
            max_attempts: r.max_attempts.unwrap_or(d.max_attempts),
            base_delay: r.base_delay_ms.map(ms).unwrap_or(d.base_delay),
            max_delay: r.max_delay_ms.map(ms).unwrap_or(d.max_delay),
            max_retry_after: r.max_retry_after_ms.map(ms).unwrap_or(d.max_retry_after),
            statuses: r.statuses.clone().unwrap_or(d.statuses),
            retry_keyed_writes: r.retry_keyed_writes.unwrap_or(d.retry_keyed_writes),
            jitter_seed: None,
        });
    }
    if let Some(ms) = spec.timeout_ms {
        b = b.timeout(Some(Duration::from_millis(ms)));
    }
    if let Some(ms) = spec.read_timeout_ms {
        b = b.read_timeout(Some(Duration::from_millis(ms)));
    }
    b.build()
}

fn build_request(client: &Client, url: &str, spec: &RequestSpec) -> hopsafe::RequestBuilder {
    let mut rb = client.request(&spec.method, url);
    for (k, v) in &spec.headers {
        rb = rb.header(k, v);
    }
    let bytes = spec.body_bytes();
    if spec.stream {
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(16 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        rb = rb.body(Body::from_stream(futures_util::stream::iter(chunks)));
    } else if !bytes.is_empty() {
        rb = rb.body(bytes);
    }
    match &spec.idempotency_key {
        Some(Value::String(k)) => rb = rb.idempotency_key(KeyChoice::Use(k.clone())),
        Some(Value::Bool(false)) => rb = rb.idempotency_key(KeyChoice::Off),
        _ => {}
    }
    if let Some(v) = spec.follow_redirects {
        rb = rb.follow_redirects(v);
    }
    if let Some(v) = spec.max_redirects {
        rb = rb.max_redirects(v);
    }
    if let Some(ms) = spec.timeout_ms {
        rb = rb.timeout(Duration::from_millis(ms));
    }
    rb
}

/// Plays one scenario.
pub async fn play(server: &Server, scenario: &Scenario) -> Result<Observation, String> {
    let id = server.script(&scenario.steps).await?;
    let url = format!("{}/s/{id}/0", server.origin(&scenario.request.origin)?);
    let mut obs = Observation {
        id: scenario.id.clone(),
        script_id: Some(id),
        ..Default::default()
    };
    let hops = |h: &[hopsafe::Hop]| -> Vec<HopSeen> {
        h.iter()
            .map(|h| HopSeen {
                method: h.method.to_string(),
                url: h.url.to_string(),
                status: h.status.as_u16(),
            })
            .collect()
    };
    let result = match build_client(server, &scenario.client) {
        Ok(client) => build_request(&client, &url, &scenario.request).send().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(resp) => {
            obs.status = Some(resp.status().as_u16());
            obs.final_url = Some(resp.url().to_string());
            obs.final_method = Some(resp.method().to_string());
            obs.idempotency_key = resp.idempotency_key().map(str::to_owned);
            obs.history = hops(resp.history());
            let read = if scenario.request.streams_response() {
                read_streamed(server, &id_of(&obs), resp).await
            } else {
                resp.bytes().await.map(|b| b.to_vec())
            };
            match read {
                Ok(body) => obs.body = Some(BodySeen::of(&body)),
                Err(e) => {
                    obs.error = Some(e.name().to_owned());
                    obs.write_accepted = Some(e.write_accepted());
                }
            }
        }
        Err(e) => {
            obs.error = Some(e.name().to_owned());
            obs.history = hops(e.history());
            obs.write_accepted = Some(e.write_accepted());
            obs.upgrade = upgrade(&e);
        }
    }
    Ok(obs)
}

fn id_of(obs: &Observation) -> String {
    obs.script_id.clone().unwrap_or_default()
}

/// Reads the body chunk by chunk, releasing the script's held bodies after the first one.
async fn read_streamed(
    server: &Server,
    id: &str,
    mut resp: hopsafe::Response,
) -> hopsafe::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut released = false;
    while let Some(chunk) = resp.chunk().await? {
        body.extend_from_slice(&chunk);
        if !released {
            released = true;
            // A failed release shows up as a short body, which the checker reports.
            let _ = server.release(id).await;
        }
    }
    Ok(body)
}

fn upgrade(e: &hopsafe::Error) -> Option<UpgradeSeen> {
    match e {
        hopsafe::Error::UpgradeRequired {
            sdk,
            minimum_version,
            current_version,
            ..
        } => Some(UpgradeSeen {
            sdk: sdk.clone(),
            minimum_version: minimum_version.clone(),
            current_version: current_version.clone(),
        }),
        _ => None,
    }
}

/// Plays every scenario in order.
pub async fn play_all(server: &Server, scenarios: &[Scenario]) -> Result<Vec<Observation>, String> {
    let mut out = Vec::with_capacity(scenarios.len());
    for s in scenarios {
        out.push(play(server, s).await?);
    }
    Ok(out)
}
