//! The benchmark server: hyper on loopback, keep-alive HTTP/1.1 (and h2c prior knowledge),
//! serving `/echo` (small JSON), `/bytes/N` and `/r/307` (a 307 to `/echo`).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

async fn handle(req: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let len = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().len())
        .unwrap_or(0);
    let resp = if let Some(n) = path.strip_prefix("/bytes/") {
        let n: usize = n.parse().unwrap_or(0).min(64 << 20);
        http::Response::new(Full::new(Bytes::from(vec![b'x'; n])))
    } else if path == "/r/307" {
        let mut r = http::Response::new(Full::new(Bytes::new()));
        *r.status_mut() = http::StatusCode::TEMPORARY_REDIRECT;
        r.headers_mut().insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("/echo"),
        );
        r
    } else {
        let body = format!(r#"{{"ok":true,"method":"{method}","received":{len}}}"#);
        let mut r = http::Response::new(Full::new(Bytes::from(body)));
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        r
    };
    Ok(resp)
}

/// Serves on `127.0.0.1:0` until the runtime ends; returns the base URL.
pub async fn serve() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
                    .await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}
