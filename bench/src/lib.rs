//! The benchmark server: hyper on loopback, keep-alive HTTP/1.1 (and h2c prior knowledge),
//! serving `/echo` (small JSON), `/bytes/N`, `/stream/N` (N bytes sent 64 KiB at a time, never
//! held whole: for streamed downloads of any size) and `/r/307` (a 307 to `/echo`).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Body = BoxBody<Bytes, Infallible>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// `n` bytes of `x`, one shared 64 KiB chunk at a time.
fn streamed(n: u64) -> Body {
    const CHUNK: u64 = 64 * 1024;
    let chunk = Bytes::from(vec![b'x'; CHUNK as usize]);
    let frames = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < n).then(|| {
                let len = CHUNK.min(n - sent);
                let frame = hyper::body::Frame::data(chunk.slice(..len as usize));
                (Ok::<_, Infallible>(frame), sent + len)
            })
        }
    });
    StreamBody::new(frames).boxed()
}

async fn handle(req: http::Request<Incoming>) -> Result<http::Response<Body>, Infallible> {
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
        http::Response::new(full(vec![b'x'; n]))
    } else if let Some(n) = path.strip_prefix("/stream/") {
        let n: u64 = n.parse().unwrap_or(0);
        let mut r = http::Response::new(streamed(n));
        r.headers_mut()
            .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(n));
        r
    } else if path == "/r/307" {
        let mut r = http::Response::new(full(Bytes::new()));
        *r.status_mut() = http::StatusCode::TEMPORARY_REDIRECT;
        r.headers_mut().insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("/echo"),
        );
        r
    } else {
        let body = format!(r#"{{"ok":true,"method":"{method}","received":{len}}}"#);
        let mut r = http::Response::new(full(body));
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
