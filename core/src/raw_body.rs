//! A response body as it arrives from the connection, read under the read timeout and the
//! total deadline (the layer under decoding and buffering in [`crate::response`]).

use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Body as _;
use http_body_util::BodyExt;
use url::Url;

use crate::error::{Error, Result, TimeoutPhase};
use crate::transport::RespBody;

/// The body as it arrives, read with the read timeout and the total deadline.
#[derive(Debug)]
pub(crate) struct RawBody {
    incoming: RespBody,
    read_timeout: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
}

impl RawBody {
    pub(crate) fn new(
        incoming: RespBody,
        read_timeout: Option<Duration>,
        deadline: Option<(Instant, Duration)>,
    ) -> Self {
        RawBody {
            incoming,
            read_timeout,
            deadline,
        }
    }

    /// Bytes left to arrive, when the connection knows (a `Content-Length` body).
    pub(crate) fn remaining_length(&self) -> Option<u64> {
        self.incoming.size_hint().exact()
    }

    /// The next chunk as it arrived; `None` at the end.
    pub(crate) async fn next(&mut self, url: &Url) -> Result<Option<Bytes>> {
        loop {
            if self.incoming.is_end_stream() {
                return Ok(None);
            }
            // A frame already buffered needs no timer (the common case for small bodies).
            let incoming = &mut self.incoming;
            let ready =
                std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *incoming).poll_frame(cx)))
                    .await;
            let frame = match ready {
                Poll::Ready(frame) => frame,
                Poll::Pending => self.wait_frame(url).await?,
            };
            match frame {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(Error::Transport {
                        url: url.to_string(),
                        reason: crate::error::describe(&e),
                        source: Some(Box::new(e)),
                        history: Vec::new(),
                    })
                }
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    /// Waits for the next frame under the read timeout and the total deadline.
    async fn wait_frame(&mut self, url: &Url) -> Result<Option<FrameResult>> {
        let incoming = &mut self.incoming;
        {
            let mut wait = self.read_timeout.map(|d| (d, TimeoutPhase::Read));
            if let Some((at, total)) = self.deadline {
                let left = at.saturating_duration_since(Instant::now());
                if wait.is_none_or(|(d, _)| left < d) {
                    wait = Some((left, TimeoutPhase::Total));
                    if left.is_zero() {
                        return Err(timeout(url, TimeoutPhase::Total, total));
                    }
                }
            }
            match wait {
                None => Ok(incoming.frame().await),
                Some((d, phase)) => match tokio::time::timeout(d, incoming.frame()).await {
                    Ok(f) => Ok(f),
                    Err(_) => {
                        let after = match (phase, self.deadline) {
                            (TimeoutPhase::Total, Some((_, total))) => total,
                            _ => d,
                        };
                        Err(timeout(url, phase, after))
                    }
                },
            }
        }
    }
}

/// One frame of a response body, or the connection's error.
type FrameResult = std::result::Result<http_body::Frame<Bytes>, hyper::Error>;

fn timeout(url: &Url, phase: TimeoutPhase, after: Duration) -> Error {
    Error::Timeout {
        url: url.to_string(),
        phase,
        after,
        history: Vec::new(),
    }
}
