//! Control endpoints under `/__` (never recorded).

use http::request::Parts;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::json;

use crate::body::Body;
use crate::record::Writes;
use crate::routes::{json_resp, text};
use crate::script::ScriptSpec;
use crate::State;

/// Largest accepted `POST /__scripts` body.
const MAX_SCRIPT_JSON: usize = 1 << 20;

/// Serves `/__{rest}`.
pub(crate) async fn handle(
    state: &State,
    parts: &Parts,
    body: Incoming,
    rest: &str,
) -> Response<Body> {
    let segs: Vec<&str> = rest.split('/').collect();
    match (&parts.method, segs.as_slice()) {
        (&Method::POST, ["scripts"]) => {
            let bytes = match Limited::new(body, MAX_SCRIPT_JSON).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return text(StatusCode::BAD_REQUEST, format!("body: {e}\n")),
            };
            let spec: ScriptSpec = match serde_json::from_slice(&bytes) {
                Ok(s) => s,
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("script json: {e}")),
            };
            match state.scripts().add(spec.steps) {
                Ok(id) => json_resp(StatusCode::CREATED, &json!({ "id": id })),
                Err(e) => error(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::POST, ["scripts", id, "release"]) => {
            state.releases.release(id);
            json_resp(StatusCode::OK, &json!({ "released": id }))
        }
        (_, ["scripts", id, "records"]) => {
            json_resp(StatusCode::OK, &json!(state.records().for_script(id)))
        }
        (_, ["scripts", id, "writes"]) => {
            let w = Writes::from_records(&state.records().for_script(id));
            json_resp(StatusCode::OK, &json!(w))
        }
        (_, ["records", tag]) => json_resp(StatusCode::OK, &json!(state.records().for_tag(tag))),
        (_, ["origins"]) => json_resp(StatusCode::OK, &state.ready_json()),
        _ => text(StatusCode::NOT_FOUND, "unknown control endpoint\n"),
    }
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response<Body> {
    json_resp(code, &json!({ "error": msg.into() }))
}
