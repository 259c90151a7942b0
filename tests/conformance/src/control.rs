//! Talking to a running `hopsafe-testserver` through its control endpoints.

use serde_json::Value;

/// The server's ready JSON (`{"origins": {...}, "ca_pem": ...}`).
#[derive(Debug, Clone)]
pub struct Server {
    pub ready: Value,
    client: hopsafe::Client,
}

impl Server {
    /// From the ready JSON the server printed.
    pub fn new(ready: Value) -> Result<Server, String> {
        let client = hopsafe::Client::builder()
            .retry(hopsafe::RetryPolicy::never())
            .idempotency_keys(false)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Server { ready, client })
    }

    /// The base URL of an origin label.
    pub fn origin(&self, label: &str) -> Result<String, String> {
        self.ready["origins"][label]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the test server has no origin {label:?}"))
    }

    /// The CA certificate in PEM.
    pub fn ca_pem(&self) -> &str {
        self.ready["ca_pem"].as_str().unwrap_or_default()
    }

    /// Registers a script; returns its id.
    pub async fn script(&self, steps: &[Value]) -> Result<String, String> {
        let body = serde_json::json!({ "steps": steps }).to_string();
        let v = self.call("POST", "/__scripts", Some(body)).await?;
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no id in {v}"))
    }

    /// The records of a script.
    pub async fn records(&self, id: &str) -> Result<Vec<Value>, String> {
        let v = self
            .call("GET", &format!("/__scripts/{id}/records"), None)
            .await?;
        v.as_array().cloned().ok_or_else(|| format!("records: {v}"))
    }

    /// Lets the script's held response bodies go on.
    pub async fn release(&self, id: &str) -> Result<(), String> {
        self.call(
            "POST",
            &format!("/__scripts/{id}/release"),
            Some(String::new()),
        )
        .await
        .map(drop)
    }

    /// The write accounting of a script.
    pub async fn writes(&self, id: &str) -> Result<Value, String> {
        self.call("GET", &format!("/__scripts/{id}/writes"), None)
            .await
    }

    async fn call(&self, method: &str, path: &str, body: Option<String>) -> Result<Value, String> {
        let url = format!("{}{path}", self.origin("a")?);
        let mut rb = self.client.request(method, &url);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{method} {url}: {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
    }
}
