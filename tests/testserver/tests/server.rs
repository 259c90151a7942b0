//! End-to-end checks of the test server with raw clients (TcpStream, tokio-rustls, hyper
//! client conn); the hopsafe client itself is not used here.

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hopsafe_testserver::{Step, TestServer};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of a base URL such as `http://127.0.0.1:1234`.
fn authority(base: &str) -> &str {
    base.split("://").nth(1).expect("base url")
}

/// A parsed HTTP/1.1 response (read until EOF; requests send `Connection: close`).
struct Resp {
    status: u16,
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Resp {
    fn parse(raw: &[u8]) -> Resp {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("complete head");
        let head = raw[..end].to_vec();
        let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
        Resp {
            status,
            head,
            body: raw[end + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        let head = String::from_utf8_lossy(&self.head);
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

fn request(method: &str, host: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
) -> std::io::Result<Vec<u8>> {
    s.write_all(req).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(out)
}

/// Plaintext request to `base` (`http://host:port`); the Host header uses the base's name.
async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Vec<u8>> {
    let auth = authority(base);
    let tcp = TcpStream::connect(auth).await?;
    exchange(tcp, &request(method, auth, path, headers, body)).await
}

async fn get(base: &str, path: &str) -> Resp {
    Resp::parse(&send(base, "GET", path, &[], b"").await.expect("request"))
}

fn tls_connector(ca_pem: &str, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("pem")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

/// HTTPS request over HTTP/1.1 to `base` (`https://host:port`).
async fn tls_get(srv: &TestServer, base: &str, path: &str) -> Resp {
    let auth = authority(base);
    let host = auth.rsplit_once(':').unwrap().0;
    let name = ServerName::try_from(host.to_owned()).unwrap();
    let tcp = TcpStream::connect(auth).await.unwrap();
    let tls = tls_connector(srv.ca_pem(), &[b"http/1.1"])
        .connect(name, tcp)
        .await
        .expect("tls handshake");
    Resp::parse(
        &exchange(tls, &request("GET", auth, path, &[], b""))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn every_origin_answers_with_its_label() {
    let srv = TestServer::start().await.unwrap();
    let mut labels = vec!["a", "a2", "b", "a_name"];
    if srv.has_origin("v6") {
        labels.push("v6");
    }
    for label in labels {
        let r = get(&srv.origin(label), "/echo").await;
        assert_eq!(r.status, 200, "{label}");
        let j = r.json();
        assert_eq!(j["origin"], label);
        assert_eq!(j["scheme"], "http");
        assert_eq!(j["path"], "/echo");
    }
    let ready = srv.ready_json();
    assert_eq!(ready["origins"]["b"], srv.origin("b"));
    assert!(ready["ca_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let pem_path = ready["ca_pem_path"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(pem_path).unwrap(), srv.ca_pem());
}

#[tokio::test]
async fn one_port_serves_tls_and_plaintext() {
    let srv = TestServer::start().await.unwrap();
    assert_eq!(
        srv.url("a", "/x").replace("http://", "https://"),
        srv.url("tls", "/x")
    );

    let plain = get(&srv.origin("a"), "/echo").await.json();
    assert_eq!(
        (plain["origin"].as_str(), plain["scheme"].as_str()),
        (Some("a"), Some("http"))
    );

    for label in ["tls", "tls_name", "tls_b"] {
        let j = tls_get(&srv, &srv.origin(label), "/echo/x?y=1")
            .await
            .json();
        assert_eq!(j["origin"], label);
        assert_eq!(j["scheme"], "https");
        assert_eq!(j["query"], "y=1");
    }

    // h2 via ALPN on the same port.
    let tcp = TcpStream::connect(authority(&srv.origin("tls")))
        .await
        .unwrap();
    let tls = tls_connector(srv.ca_pem(), &[b"h2", b"http/1.1"])
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(srv.url("tls_name", "/echo"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let j: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["version"], "HTTP/2");
    assert_eq!(j["origin"], "tls_name");
}

#[tokio::test]
async fn scripts_play_and_record() {
    let srv = TestServer::start().await.unwrap();
    let id = srv.script(vec![
        Step::redirect(307, "{b}/s/{id}/1"),
        Step::ok().apply(),
    ]);
    let key = [("idempotency-key", "k1")];
    let r = Resp::parse(
        &send(
            &srv.origin("a"),
            "POST",
            &format!("/s/{id}/0"),
            &key,
            b"payload",
        )
        .await
        .unwrap(),
    );
    assert_eq!(r.status, 307);
    let loc = r.header("location").unwrap();
    assert_eq!(loc, srv.url("b", &format!("/s/{id}/1")));

    let (base, path) = loc.split_at(loc.find("/s/").unwrap());
    let r = Resp::parse(&send(base, "POST", path, &key, b"payload").await.unwrap());
    assert_eq!(r.status, 200);
    let echo = r.json();
    assert_eq!(echo["origin"], "b");
    assert_eq!(echo["body"], "payload");

    let recs = srv.records(&id);
    assert_eq!(recs.len(), 2);
    assert_eq!(
        (recs[0].step, recs[0].origin.as_str(), recs[0].applied),
        (Some(0), "a", false)
    );
    assert_eq!(
        (recs[1].step, recs[1].origin.as_str(), recs[1].applied),
        (Some(1), "b", true)
    );
    assert_eq!(recs[1].header("Idempotency-Key"), Some("k1"));
    assert_eq!(recs[1].body_len, 7);
    assert!(recs[1].body_complete);
    let w = srv.writes(&id);
    assert_eq!(
        (w.deliveries, w.distinct_keys, w.unkeyed, w.applications),
        (1, 1, 0, 1)
    );

    // The same through the HTTP control API.
    let script = br#"{"steps":[{"status":302,"location":"{a2}/t/tg/echo"},{"status":201,"body":"made","apply":true}]}"#;
    let r = Resp::parse(
        &send(&srv.origin("b"), "POST", "/__scripts", &[], script)
            .await
            .unwrap(),
    );
    assert_eq!(r.status, 201);
    let id2 = r.json()["id"].as_str().unwrap().to_owned();
    let r = get(&srv.origin("a_name"), &format!("/s/{id2}/0")).await;
    assert_eq!(r.header("location").unwrap(), srv.url("a2", "/t/tg/echo"));
    let r = Resp::parse(
        &send(
            &srv.origin("a"),
            "PUT",
            &format!("/t/tg/s/{id2}/1"),
            &[],
            b"x",
        )
        .await
        .unwrap(),
    );
    assert_eq!((r.status, r.body.as_slice()), (201, &b"made"[..]));
    let recs = get(&srv.origin("a"), &format!("/__scripts/{id2}/records"))
        .await
        .json();
    assert_eq!(recs.as_array().unwrap().len(), 2);
    assert_eq!(recs[0]["origin"], "a_name");
    assert_eq!(recs[1]["method"], "PUT");
    let w = get(&srv.origin("a"), &format!("/__scripts/{id2}/writes"))
        .await
        .json();
    assert_eq!(w["deliveries"], 1);
    assert_eq!(w["unkeyed"], 1);
    assert_eq!(w["applications"], 1);
    assert_eq!(srv.tag_records("tg").len(), 1);
    let tagged = get(&srv.origin("a"), "/__records/tg").await.json();
    assert_eq!(tagged[0]["path"], format!("/t/tg/s/{id2}/1"));

    let bad = Resp::parse(
        &send(
            &srv.origin("a"),
            "POST",
            "/__scripts",
            &[],
            br#"{"steps":[{"faults":["nope"]}]}"#,
        )
        .await
        .unwrap(),
    );
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn redirect_sends_raw_non_utf8_location() {
    let srv = TestServer::start().await.unwrap();
    let raw = send(
        &srv.origin("a"),
        "GET",
        "/redirect/302?to=%FF%FE/caf%C3%A9%20x&body=5",
        &[],
        b"",
    )
    .await
    .unwrap();
    assert!(
        contains(&raw, b"location: \xff\xfe/caf\xc3\xa9 x\r\n"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let r = Resp::parse(&raw);
    assert_eq!((r.status, r.body.as_slice()), (302, &b"xxxxx"[..]));

    let r = get(&srv.origin("a"), "/redirect/301").await;
    assert_eq!((r.status, r.header("location")), (301, None));
    let r = get(&srv.origin("a"), "/redirect/307?to=a%0Db").await;
    assert_eq!(r.status, 500);

    let r = get(&srv.origin("a"), "/redirect/303?to=%2Fecho&gzip_bomb=1").await;
    assert_eq!(r.header("content-encoding").as_deref(), Some("gzip"));
    assert!(r.body.len() < 256 * 1024, "{}", r.body.len());
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The client sees a reset (or at least EOF) and no response.
fn assert_no_response(res: std::io::Result<Vec<u8>>) {
    match res {
        Ok(bytes) => assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes)),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

#[tokio::test]
async fn reset_after_read_counts_the_write() {
    let srv = TestServer::start().await.unwrap();
    let id = srv.script(vec![Step::ok().apply().with_fault("reset_after_read")]);
    let key = [("idempotency-key", "k9")];
    let path = format!("/s/{id}/0");
    let res = send(&srv.origin("a"), "POST", &path, &key, b"payload").await;
    assert!(
        matches!(&res, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{res:?}"
    );
    let w = srv.writes(&id);
    assert_eq!((w.deliveries, w.applications), (1, 1));

    // 2nd delivery: no fault left, answers normally; same key, still one application.
    let r = Resp::parse(
        &send(&srv.origin("a"), "POST", &path, &key, b"payload")
            .await
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    let w = srv.writes(&id);
    assert_eq!((w.deliveries, w.distinct_keys, w.applications), (2, 1, 1));
    assert_eq!(w.keys["k9"], 2);
    let recs = srv.records(&id);
    assert_eq!(recs[0].fault.as_deref(), Some("reset_after_read"));
    assert_eq!(recs[1].fault, None);
}

#[tokio::test]
async fn other_faults() {
    let srv = TestServer::start().await.unwrap();
    let id = srv.script(vec![Step::ok()
        .apply()
        .with_fault("reset_before_read")
        .with_fault("close_before_response")
        .with_fault("status_503")
        .with_retry_after("2")]);
    let path = format!("/s/{id}/0");
    let a = srv.origin("a");
    assert_no_response(send(&a, "POST", &path, &[], &[b'z'; 100_000]).await);
    assert_eq!(send(&a, "POST", &path, &[], b"x").await.unwrap(), b"");
    let r = Resp::parse(&send(&a, "POST", &path, &[], b"x").await.unwrap());
    assert_eq!(
        (r.status, r.header("retry-after").as_deref()),
        (503, Some("2"))
    );
    let recs = srv.records(&id);
    assert!(!recs[0].body_complete);
    assert_eq!(
        recs.iter().map(|r| r.applied).collect::<Vec<_>>(),
        [false, true, false]
    );

    let t = Instant::now();
    let r = get(&a, "/fault/delay_ms:300").await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.json()["path"], "/fault/delay_ms:300");
    let t = Instant::now();
    let r = Resp::parse(
        &send(&a, "GET", "/fault/slow_body?body=abcd", &[], b"")
            .await
            .unwrap(),
    );
    assert!(t.elapsed() >= Duration::from_millis(600));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"abcd"[..]));
    let r = Resp::parse(
        &send(&a, "GET", "/fault/status_429?retry_after=7", &[], b"")
            .await
            .unwrap(),
    );
    assert_eq!(
        (r.status, r.header("retry-after").as_deref()),
        (429, Some("7"))
    );
    assert_eq!(get(&a, "/fault/bogus").await.status, 400);
    assert_eq!(get(&a, "/bytes/3").await.body, b"xxx");
    assert_eq!(get(&a, "/status/418").await.status, 418);
}

#[test]
fn binary_prints_ready_line_and_exits_on_stdin_eof() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hopsafe-testserver"))
        .args(["--exit-after", "60"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready["pid"], child.id());
    let pem_path = ready["ca_pem_path"].as_str().unwrap().to_owned();
    assert!(std::fs::read_to_string(&pem_path)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let a = ready["origins"]["a"].as_str().unwrap().to_owned();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(get(&a, "/echo"));
    assert_eq!(r.json()["origin"], "a");

    drop(child.stdin.take());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "server did not exit on stdin EOF"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert!(!std::path::Path::new(&pem_path).exists());
}
