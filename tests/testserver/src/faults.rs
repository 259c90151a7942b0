//! Fault names and per-connection abort control.
//!
//! Faults that kill the connection (`reset_after_read`, `close_before_response`,
//! `reset_before_read`) work on HTTP/1.1 by signalling the connection task, which owns a
//! duplicate of the socket's file descriptor: for a reset it sets `SO_LINGER` to 0 and drops
//! the connection, so the kernel sends RST; for a close it just drops it (FIN). On HTTP/2 the
//! same three faults reset only the stream (`RST_STREAM` with `INTERNAL_ERROR`); the
//! connection stays up. Raw faults ([`RawReply`]) write malformed bytes instead of an
//! answer; they need plaintext HTTP/1.1.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use crate::raw::{self, RawPlan, RawReply};

/// A fault injected into one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Read the whole body (counts as delivered), then RST without answering.
    ResetAfterRead,
    /// Read the whole body (counts as delivered), then close gracefully without answering.
    CloseBeforeResponse,
    /// RST as soon as the head arrived; body unread, not applied.
    ResetBeforeRead,
    /// HTTP/2: `RST_STREAM` with `REFUSED_STREAM` before reading (the server promises the
    /// request was not processed, RFC 9113 §8.7); HTTP/1.1: as `reset_before_read`.
    RefusedStream,
    /// Answer this status (503, 429 or 409); not applied.
    Status(u16),
    /// Sleep before the normal answer.
    DelayMs(u64),
    /// Send the head, then the body one byte every 200 ms.
    SlowBody,
    /// Answer `200` with a gzip body (`Content-Encoding: gzip`) inflating to 64 MiB.
    GzipBomb,
    /// Answer `302` with the request's own path and query as `Location` (a post/redirect/get
    /// back to the same URL); recorded and applied like a normal answer.
    RedirectSelf,
    /// Answer at once, before reading the request body; the body is read (and the delivery
    /// recorded, complete or cut) in the background.
    AnswerEarly,
    /// Read the body, then answer with malformed bytes (plaintext HTTP/1.1 only).
    Raw(RawReply),
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Fault, String> {
        Ok(match s {
            "reset_after_read" => Fault::ResetAfterRead,
            "close_before_response" => Fault::CloseBeforeResponse,
            "reset_before_read" => Fault::ResetBeforeRead,
            "refused_stream" => Fault::RefusedStream,
            "status_503" => Fault::Status(503),
            "status_429" => Fault::Status(429),
            "status_409" => Fault::Status(409),
            "slow_body" => Fault::SlowBody,
            "answer_early" => Fault::AnswerEarly,
            "redirect_self" => Fault::RedirectSelf,
            "gzip_bomb" => Fault::GzipBomb,
            _ => match (raw::parse(s), s.strip_prefix("delay_ms:").map(str::parse)) {
                (Some(r), _) => Fault::Raw(r),
                (None, Some(Ok(ms))) => Fault::DelayMs(ms),
                _ => return Err(format!("unknown fault {s:?}")),
            },
        })
    }
}

impl Fault {
    /// The fault's name as written in scripts.
    pub fn name(self) -> String {
        match self {
            Fault::ResetAfterRead => "reset_after_read".into(),
            Fault::CloseBeforeResponse => "close_before_response".into(),
            Fault::ResetBeforeRead => "reset_before_read".into(),
            Fault::RefusedStream => "refused_stream".into(),
            Fault::Status(c) => format!("status_{c}"),
            Fault::DelayMs(ms) => format!("delay_ms:{ms}"),
            Fault::SlowBody => "slow_body".into(),
            Fault::AnswerEarly => "answer_early".into(),
            Fault::RedirectSelf => "redirect_self".into(),
            Fault::GzipBomb => "gzip_bomb".into(),
            Fault::Raw(r) => r.name().into(),
        }
    }
}

/// Interval between bytes of a `slow_body` answer.
pub(crate) const SLOW_BODY_INTERVAL: Duration = Duration::from_millis(200);

/// How the connection task should end a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Abort {
    /// `SO_LINGER` 0, then close: the peer sees RST.
    Reset,
    /// Plain close: the peer sees FIN.
    Close,
    /// Write these raw bytes on the socket, then end it as the plan says.
    Raw(RawPlan),
}

/// Shared between a connection task and the requests it serves.
#[derive(Default)]
pub(crate) struct ConnCtl {
    abort: Mutex<Option<Abort>>,
    notify: Notify,
}

impl ConnCtl {
    /// Asks the connection task to end the connection.
    pub fn abort(&self, how: Abort) {
        if let Ok(mut a) = self.abort.lock() {
            a.get_or_insert(how);
        }
        self.notify.notify_one();
    }

    /// Waits until [`ConnCtl::abort`] is called and returns how to end the connection.
    pub async fn aborted(&self) -> Abort {
        loop {
            self.notify.notified().await;
            if let Ok(a) = self.abort.lock() {
                if let Some(how) = a.clone() {
                    return how;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        for n in [
            "reset_after_read",
            "close_before_response",
            "reset_before_read",
            "refused_stream",
            "status_503",
            "status_429",
            "status_409",
            "delay_ms:250",
            "slow_body",
            "bad_status_line",
            "slow_head",
        ] {
            assert_eq!(n.parse::<Fault>().unwrap().name(), n);
        }
        assert!("delay_ms:x".parse::<Fault>().is_err());
        assert!("status_500".parse::<Fault>().is_err());
    }
}
