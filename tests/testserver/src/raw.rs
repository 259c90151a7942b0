//! Raw-byte replies for faults hyper would never produce: a bad status line, a truncated
//! chunked body, oversized headers, a reset after the head or mid-body, a head sent a byte
//! at a time, and a `Location` that is not UTF-8.
//!
//! The request handler reads the request as usual, then hands the connection back to the
//! connection task with a [`RawPlan`]; the task drops hyper's side of the connection and
//! writes the plan's bytes on its duplicate of the socket (plaintext HTTP/1.1 only).

use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// A malformed reply, by fault name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawReply {
    /// `HTTP/1.1 2x0 ...`: not a status code.
    BadStatusLine,
    /// A chunked body cut inside its first chunk, then FIN.
    TruncatedChunked,
    /// One header line of 1 MiB.
    OversizedHeaders,
    /// A complete head announcing 1000 bytes, then RST.
    ResetAfterHeaders,
    /// A head announcing 1000 bytes and 100 of them, then RST.
    ResetMidBody,
    /// A valid head and body, sent one byte every 100 ms (slow-loris).
    SlowHead,
    /// A 307 whose `Location` carries the bytes `FF FE` (not UTF-8) in its query.
    BadLocationUtf8,
    /// A 307 whose `Location` value starts on an obs-fold continuation line (RFC 9112 §5.2).
    FoldedLocation,
    /// A 307 with two different `Location` lines: the next step, then another host.
    TwoLocations,
}

/// The names scripts use, one per [`RawReply`].
pub(crate) const NAMES: [(&str, RawReply); 9] = [
    ("bad_status_line", RawReply::BadStatusLine),
    ("truncated_chunked", RawReply::TruncatedChunked),
    ("oversized_headers", RawReply::OversizedHeaders),
    ("reset_after_headers", RawReply::ResetAfterHeaders),
    ("reset_mid_body", RawReply::ResetMidBody),
    ("slow_head", RawReply::SlowHead),
    ("bad_location_utf8", RawReply::BadLocationUtf8),
    ("folded_location", RawReply::FoldedLocation),
    ("two_locations", RawReply::TwoLocations),
];

/// Gap between bytes of a `slow_head` reply.
const DRIP: Duration = Duration::from_millis(100);

/// How the connection ends after the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// FIN.
    Close,
    /// RST (`SO_LINGER` 0).
    Reset,
}

/// What the connection task writes, and how it ends the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawPlan {
    bytes: Vec<u8>,
    drip: bool,
    end: End,
}

/// The raw reply a script names, if `name` is one.
pub(crate) fn parse(name: &str) -> Option<RawReply> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

impl RawReply {
    /// The fault's name as written in scripts.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("raw", |(n, _)| n)
    }

    /// The bytes to send; `next` is the path of the script's next step (for the redirect).
    pub fn plan(self, next: &str) -> RawPlan {
        let (bytes, drip, end) = match self {
            RawReply::BadStatusLine => (
                b"HTTP/1.1 2x0 Nope\r\ncontent-length: 0\r\n\r\n".to_vec(),
                false,
                End::Close,
            ),
            RawReply::TruncatedChunked => (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\nhalf".to_vec(),
                false,
                End::Close,
            ),
            RawReply::OversizedHeaders => {
                let mut b = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
                b.resize(b.len() + (1 << 20), b'a');
                b.extend_from_slice(b"\r\ncontent-length: 0\r\n\r\n");
                (b, false, End::Close)
            }
            RawReply::ResetAfterHeaders => (
                b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n".to_vec(),
                false,
                End::Reset,
            ),
            RawReply::ResetMidBody => {
                let mut b = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n".to_vec();
                b.resize(b.len() + 100, b'x');
                (b, false, End::Reset)
            }
            RawReply::SlowHead => (
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
                true,
                End::Close,
            ),
            RawReply::BadLocationUtf8 => {
                let mut b = b"HTTP/1.1 307 Temporary Redirect\r\nlocation: ".to_vec();
                b.extend_from_slice(next.as_bytes());
                b.extend_from_slice(b"?bad=\xff\xfe\r\ncontent-length: 0\r\n");
                b.extend_from_slice(b"connection: close\r\n\r\n");
                (b, false, End::Close)
            }
            RawReply::FoldedLocation => {
                let mut b = b"HTTP/1.1 307 Temporary Redirect\r\nlocation:\r\n ".to_vec();
                b.extend_from_slice(next.as_bytes());
                b.extend_from_slice(b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                (b, false, End::Close)
            }
            RawReply::TwoLocations => {
                let mut b = b"HTTP/1.1 307 Temporary Redirect\r\nlocation: ".to_vec();
                b.extend_from_slice(next.as_bytes());
                b.extend_from_slice(b"\r\nlocation: http://127.0.0.2:9/elsewhere\r\n");
                b.extend_from_slice(b"content-length: 0\r\nconnection: close\r\n\r\n");
                (b, false, End::Close)
            }
        };
        RawPlan { bytes, drip, end }
    }
}

impl RawPlan {
    /// Writes the bytes on `socket` and ends the connection as planned. Write errors (the
    /// client gave up) end it early.
    pub async fn play(self, socket: std::net::TcpStream) {
        let Ok(mut s) = tokio::net::TcpStream::from_std(socket) else {
            return;
        };
        if self.drip {
            for b in &self.bytes {
                if s.write_all(std::slice::from_ref(b)).await.is_err() {
                    return;
                }
                tokio::time::sleep(DRIP).await;
            }
        } else if s.write_all(&self.bytes).await.is_err() {
            return;
        }
        match self.end {
            End::Reset => {
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
            End::Close => {
                let _ = s.shutdown().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_location_is_not_utf8() {
        for (name, r) in NAMES {
            assert_eq!(r.name(), name);
        }
        let plan = RawReply::BadLocationUtf8.plan("/s/s1/1");
        assert!(std::str::from_utf8(&plan.bytes).is_err());
        assert!(plan.bytes.windows(7).any(|w| w == b"/s/s1/1"));
    }
}
