//! Scripts: sequences of canned responses played at `/s/{id}/{n}`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::faults::Fault;

/// One scripted response. Deserializes from JSON with every field optional
/// (`{"status":307,"location":"{b}/s/{id}/1"}`); unknown fields are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Step {
    /// Response status (default 200).
    pub status: u16,
    /// Raw `Location` value; `{a}`, `{a2}`, `{b}`, `{a_name}`, `{tls}`, `{tls_b}`,
    /// `{tls_name}`, `{v6}` and `{id}` are substituted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Extra response headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Response body. When absent on a 2xx (other than 204) without `location`, the
    /// response is the `/echo` JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether a complete request body delivered to this step counts as a write.
    pub apply: bool,
    /// Fault names for the 1st, 2nd, ... delivery of this step (see the crate docs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    /// `Retry-After` header value, sent on every answer of this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// A generated body of this many bytes of numbered lines (see
    /// [`pattern`](crate::generated::pattern)), streamed in 64 KiB chunks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
    /// `Content-Encoding` applied to the body (`gzip`, `br`, `zstd`); encoded whole, so a
    /// generated body may be at most 64 MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Stop the body after this many bytes (as sent, so encoded) until
    /// `POST /__scripts/{id}/release`; with no release within 20 s the body ends there, short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_after: Option<u64>,
}

impl Default for Step {
    fn default() -> Self {
        Step {
            status: 200,
            location: None,
            headers: BTreeMap::new(),
            body: None,
            apply: false,
            faults: Vec::new(),
            retry_after: None,
            body_bytes: None,
            encoding: None,
            hold_after: None,
        }
    }
}

impl Step {
    /// A 200 step answering the `/echo` JSON.
    pub fn ok() -> Step {
        Step::default()
    }

    /// A step answering `status` with an empty body.
    pub fn status(status: u16) -> Step {
        Step {
            status,
            body: Some(String::new()),
            ..Step::default()
        }
    }

    /// A redirect step; `location` may use templates such as `{b}/s/{id}/1`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Step {
        Step {
            status,
            location: Some(location.into()),
            ..Step::default()
        }
    }

    /// Marks the step as applying the write.
    pub fn apply(mut self) -> Step {
        self.apply = true;
        self
    }

    /// Appends a fault for the next delivery of this step (first call: 1st delivery, ...).
    pub fn with_fault(mut self, fault: impl Into<String>) -> Step {
        self.faults.push(fault.into());
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Step {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets the response body.
    pub fn with_body(mut self, body: impl Into<String>) -> Step {
        self.body = Some(body.into());
        self
    }

    /// Sets the `Retry-After` header.
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Step {
        self.retry_after = Some(value.into());
        self
    }

    /// Checks status and fault names.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(200..=999).contains(&self.status) {
            return Err(format!(
                "step status {} out of range 200..=999",
                self.status
            ));
        }
        for f in &self.faults {
            f.parse::<Fault>()?;
        }
        if self.body.is_some() && self.body_bytes.is_some() {
            return Err("step has both body and body_bytes".into());
        }
        if let Some(enc) = &self.encoding {
            crate::generated::encode(enc, b"")?;
            if self.body_bytes > Some(crate::generated::MAX_ENCODED_SOURCE) {
                return Err("an encoded body_bytes may be at most 64 MiB".into());
            }
        }
        Ok(())
    }
}

/// Request body of `POST /__scripts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScriptSpec {
    pub steps: Vec<Step>,
}

/// Registered scripts and per-step delivery counters.
#[derive(Default)]
pub(crate) struct ScriptStore {
    next: u64,
    scripts: HashMap<String, Vec<Step>>,
    deliveries: HashMap<(String, usize), usize>,
}

impl ScriptStore {
    /// Registers validated steps and returns the new script id.
    pub fn add(&mut self, steps: Vec<Step>) -> Result<String, String> {
        for (i, s) in steps.iter().enumerate() {
            s.validate().map_err(|e| format!("step {i}: {e}"))?;
        }
        self.next += 1;
        let id = format!("s{}", self.next);
        self.scripts.insert(id.clone(), steps);
        Ok(id)
    }

    /// Looks up step `n` of script `id` and counts this delivery; returns the step and the
    /// fault for this delivery (1-based delivery `k` uses `faults[k-1]`).
    pub fn deliver(&mut self, id: &str, n: usize) -> Option<(Step, Option<Fault>)> {
        let step = self.scripts.get(id)?.get(n)?.clone();
        let k = self.deliveries.entry((id.to_owned(), n)).or_default();
        *k += 1;
        let fault = step.faults.get(*k - 1).and_then(|f| f.parse().ok());
        Some((step, fault))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_defaults() {
        let s: Step = serde_json::from_str(r#"{"location":"{b}/x"}"#).unwrap();
        assert_eq!(s.status, 200);
        assert!(!s.apply);
        assert!(serde_json::from_str::<Step>(r#"{"stauts":1}"#).is_err());
    }

    #[test]
    fn deliveries_pick_faults() {
        let mut st = ScriptStore::default();
        let id = st
            .add(vec![Step::ok()
                .with_fault("status_503")
                .with_fault("delay_ms:5")])
            .unwrap();
        assert_eq!(st.deliver(&id, 0).unwrap().1, Some(Fault::Status(503)));
        assert_eq!(st.deliver(&id, 0).unwrap().1, Some(Fault::DelayMs(5)));
        assert_eq!(st.deliver(&id, 0).unwrap().1, None);
        assert!(st.deliver(&id, 1).is_none());
        assert!(st.add(vec![Step::ok().with_fault("nope")]).is_err());
    }
}
