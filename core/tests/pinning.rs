//! A real hyper server behind the tower `PinningLayer`, called by the real hopsafe client.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hopsafe::Error;
use hopsafe_pinning::{PinningLayer, Policy};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tower_layer::Layer;
use tower_service::Service;

/// The protected handler: counts the requests that reached it.
#[derive(Clone)]
struct Handler(Arc<AtomicUsize>);

impl<B> Service<http::Request<B>> for Handler {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<B>) -> Self::Future {
        self.0.fetch_add(1, Ordering::SeqCst);
        ready(Ok(http::Response::new(Full::from("applied"))))
    }
}

async fn serve(policy: Policy) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let svc = PinningLayer::new(policy).layer(Handler(hits.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = svc.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let mut svc = svc.clone();
                    async move { svc.call(req).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

fn policy() -> Policy {
    Policy::from_json_str(
        r#"{"unknown": "deny_writes", "rules": [{"sdk": "acme-rust", "minimum": "2.5.0", "methods": "writes", "path_prefix": "/v1/"}]}"#,
    )
    .unwrap()
}

fn client(version: &str) -> hopsafe::Client {
    hopsafe::Client::builder()
        .sdk("acme-rust", version)
        .build()
        .unwrap()
}

#[tokio::test]
async fn old_sdks_cannot_write_new_ones_can() {
    let (base, hits) = serve(policy()).await;
    let url = format!("{base}/v1/orders");
    let err = client("2.4.0")
        .post(&url)
        .body("x")
        .send()
        .await
        .unwrap_err();
    match err {
        Error::UpgradeRequired {
            minimum_version,
            current_version,
            ..
        } => {
            assert_eq!(
                (minimum_version.as_str(), current_version.as_str()),
                ("2.5.0", "2.4.0")
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the handler never ran");
    assert_eq!(
        client("2.4.0").get(&url).send().await.unwrap().status(),
        200
    );
    let rc = client("2.5.0-rc.1").put(&url).send().await.unwrap_err();
    assert!(
        matches!(&rc, Error::UpgradeRequired { current_version, .. } if current_version == "2.5.0-rc.1"),
        "{rc}"
    );
    assert_eq!(rc.name(), "UpgradeRequired");
    for ok in ["2.5.0", "2.10.0"] {
        assert_eq!(
            client(ok)
                .post(&url)
                .body("x")
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{ok}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn missing_and_malformed_identities_get_clear_problems() {
    let (base, _) = serve(policy()).await;
    let plain = hopsafe::Client::builder().build().unwrap();
    let url = format!("{base}/v1/orders");
    let resp = plain
        .post(&url)
        .header("client-sdk", "garbage(")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let problem: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(problem["type"], hopsafe_pinning::IDENTITY_MALFORMED_TYPE);
    assert!(problem["detail"].as_str().unwrap().contains("malformed"));
    // A default hopsafe client identifies as "hopsafe": not pinned, so allowed.
    assert_eq!(
        plain.post(&url).body("x").send().await.unwrap().status(),
        200
    );
}

/// Sends one raw HTTP/1.1 request (no identity unless given) and returns status, content type
/// and body.
async fn raw(base: &str, method: &str, path: &str, extra: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{extra}content-length: 1\r\nconnection: close\r\n\r\nx"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default();
    (status, ctype.to_owned(), body.to_owned())
}

#[tokio::test]
async fn each_unknown_identity_mode_over_the_wire() {
    use hopsafe_pinning::{UnknownIdentity, IDENTITY_REQUIRED_TYPE};
    for (mode, post, get) in [
        (UnknownIdentity::Allow, 200, 200),
        (UnknownIdentity::DenyWrites, 426, 200),
        (UnknownIdentity::DenyAll, 426, 426),
    ] {
        let (base, hits) = serve(Policy {
            unknown: mode,
            ..policy()
        })
        .await;
        let (p, ptype, pbody) = raw(&base, "POST", "/v1/orders", "").await;
        let (g, _, _) = raw(&base, "GET", "/v1/orders", "").await;
        assert_eq!((p, g), (post, get), "{mode:?}");
        let reached = [post, get].iter().filter(|s| **s == 200).count();
        assert_eq!(hits.load(Ordering::SeqCst), reached, "{mode:?}");
        if post == 426 {
            assert_eq!(ptype, "application/problem+json");
            let problem: serde_json::Value = serde_json::from_str(&pbody).unwrap();
            assert_eq!(problem["type"], IDENTITY_REQUIRED_TYPE);
            assert_eq!(problem["status"], 426);
            assert!(problem["detail"]
                .as_str()
                .unwrap()
                .contains("no Client-SDK"));
        }
        // A malformed Client-SDK is a 400 where the mode refuses unknown callers.
        let (m, mtype, mbody) = raw(
            &base,
            "POST",
            "/v1/orders",
            "client-sdk: n=\"acme-rust\", v=2.4.0\r\n",
        )
        .await;
        let want = if mode == UnknownIdentity::Allow {
            200
        } else {
            400
        };
        assert_eq!(m, want, "{mode:?}");
        if want == 400 {
            assert_eq!(mtype, "application/problem+json");
            let problem: serde_json::Value = serde_json::from_str(&mbody).unwrap();
            assert_eq!(problem["type"], hopsafe_pinning::IDENTITY_MALFORMED_TYPE);
            assert_eq!(problem["status"], 400);
        }
    }
}

#[tokio::test]
async fn the_user_agent_is_the_fallback_identity() {
    let (base, hits) = serve(policy()).await;
    let old = raw(
        &base,
        "POST",
        "/v1/orders",
        "user-agent: acme-rust/2.4.0 hopsafe/0.1.0\r\n",
    )
    .await;
    assert_eq!(old.0, 426);
    let problem: serde_json::Value = serde_json::from_str(&old.2).unwrap();
    assert_eq!(
        problem["type"],
        hopsafe::sdk_identity::UPGRADE_REQUIRED_TYPE
    );
    assert_eq!(
        (
            &problem["sdk"],
            &problem["minimum_version"],
            &problem["current_version"]
        ),
        (&"acme-rust".into(), &"2.5.0".into(), &"2.4.0".into())
    );
    let new = raw(
        &base,
        "POST",
        "/v1/orders",
        "user-agent: hopsafe/0.1.0 acme-rust/2.6.0\r\n",
    )
    .await;
    assert_eq!(new.0, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn policies_load_from_json_and_toml_files() {
    let dir = std::env::temp_dir().join(format!("hopsafe-pinning-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("policy.json");
    std::fs::write(
        &json,
        r#"{"unknown": "deny_writes", "rules": [{"sdk": "acme-rust", "minimum": "2.5.0", "methods": "writes", "path_prefix": "/v1/"}]}"#,
    )
    .unwrap();
    let toml = dir.join("policy.toml");
    std::fs::write(
        &toml,
        "unknown = \"deny_writes\"\n[[rules]]\nsdk = \"acme-rust\"\nminimum = \"2.5.0\"\nmethods = \"writes\"\npath_prefix = \"/v1/\"\n",
    )
    .unwrap();
    assert_eq!(Policy::from_file(&json).unwrap(), policy());
    assert_eq!(Policy::from_file(&toml).unwrap(), policy());
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[rules]]\nsdk = \"a\"\nminimum = \"2.x\"\n").unwrap();
    let err = Policy::from_file(&bad).unwrap_err().to_string();
    assert!(err.contains("not a SemVer version"), "{err}");
    let yaml = dir.join("policy.yaml");
    std::fs::write(&yaml, "rules: []").unwrap();
    assert!(Policy::from_file(&yaml).is_err());
    assert!(Policy::from_file(&dir.join("missing.json")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
