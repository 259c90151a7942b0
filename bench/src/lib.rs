//! The benchmark server: hyper on loopback, keep-alive HTTP/1.1 (and h2c prior knowledge),
//! serving `/echo` (small JSON), `/bytes/N` (up to 64 MiB, in memory), `/stream/N` (any size,
//! sent in 64 KiB chunks as the client reads them) and `/r/307` (a 307 to `/echo`).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// `left` bytes of `x`, one shared 64 KiB chunk at a time (nothing allocated per chunk).
struct Repeat {
    chunk: Bytes,
    left: u64,
}

impl http_body::Body for Repeat {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(self.chunk.len() as u64);
        self.left -= n;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n as usize)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

async fn handle(
    req: http::Request<Incoming>,
) -> Result<http::Response<BoxBody<Bytes, Infallible>>, Infallible> {
    if let Some(n) = req.uri().path().strip_prefix("/stream/") {
        let left = n.parse().unwrap_or(0);
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        return Ok(http::Response::new(Repeat { chunk, left }.boxed()));
    }
    Ok(buffered(req).await.map(BodyExt::boxed))
}

async fn buffered(req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
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
    resp
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
