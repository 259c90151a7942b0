//! TLS session resumption: a client's second connection to a server resumes the first one's
//! session (a TLS 1.3 ticket), against a rustls server with the test server's certificate.

use std::io::{Read, Write};
use std::net::TcpListener;

use rustls::{HandshakeKind, ServerConnection, StreamOwned};

mod common;
use common::*;

/// Serves `n` connections, one request each, answering `full` or `resumed` by how the
/// handshake went, then closing.
fn serve(listener: TcpListener, config: std::sync::Arc<rustls::ServerConfig>, n: usize) {
    for stream in listener.incoming().take(n) {
        let conn = ServerConnection::new(config.clone()).unwrap();
        let mut tls = StreamOwned::new(conn, stream.unwrap());
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = tls.read(&mut buf).unwrap();
            assert!(read > 0, "request ended early");
            head.extend_from_slice(&buf[..read]);
        }
        let kind = match tls.conn.handshake_kind() {
            Some(HandshakeKind::Resumed) => "resumed",
            _ => "full",
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{kind}",
            kind.len()
        );
        tls.write_all(resp.as_bytes()).unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
    }
}

#[tokio::test]
async fn a_second_connection_resumes_the_first_ones_session() {
    let srv = server().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = srv.proxy_tls_config();
    let server = std::thread::spawn(move || serve(listener, config, 2));

    let c = builder(&srv).build().unwrap();
    let url = format!("https://127.0.0.1:{port}/");
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let resp = c.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        kinds.push(resp.text().await.unwrap());
    }
    assert_eq!(kinds, ["full", "resumed"]);
    server.join().unwrap();
}
