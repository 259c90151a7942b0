//! # hopsafe
//!
//! An HTTP client core for writes that survive redirects:
//!
//! - spec-correct following: 307/308 keep method, body and headers; 301/302 turn only POST
//!   into GET; 303 turns all but HEAD into GET ([`redirect`]);
//! - credentials stay home: `Authorization`, `Proxy-Authorization`, `Cookie` and named
//!   headers are stripped on cross-origin hops, for the rest of the chain ([`credentials`]);
//! - no duplicate writes: `Idempotency-Key` on POST/PATCH, stable across hops and retries
//!   ([`idempotency`]), and retries only where they are safe ([`retry`]).
//!
//! ```no_run
//! # async fn demo() -> hopsafe::Result<()> {
//! let client = hopsafe::Client::builder()
//!     .trust_origin("https://*.api.example.com")
//!     .build()?;
//! let resp = client
//!     .post("https://api.example.com/v1/orders")
//!     .bearer_auth("secret")
//!     .body(r#"{"sku":"A-1"}"#)
//!     .send()
//!     .await?;
//! println!("{} after {} redirects, key {:?}", resp.status(), resp.history().len(), resp.idempotency_key());
//! # Ok(()) }
//! ```

/// hyper's `Write` for an IO wrapper, forwarding every call to its `io` field (the
/// connection wrappers in `proxy` and `alert` only change how they read).
macro_rules! forward_write {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> hyper::rt::Write for $ty {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
            }

            fn is_write_vectored(&self) -> bool {
                self.io.is_write_vectored()
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
            }
        }
    };
}
pub(crate) use forward_write;

mod alert;
pub mod body;
pub mod client;
mod config;
mod cookies;
pub mod credentials;
mod decode;
mod engine;
pub mod error;
mod header_copy;
pub mod history;
mod host_header;
pub mod idempotency;
pub mod location;
pub mod metrics;
mod options;
pub mod origin;
#[cfg(feature = "otel")]
pub mod otel;
mod proxy;
mod raw_body;
pub mod redirect;
pub mod request;
pub mod response;
pub mod retry;
#[doc(hidden)]
pub mod runtime;
pub mod sdk_identity;
mod tls;
mod transport;
mod units;

// The public surface, deliberately: the client and its request and response types, the error,
// the history, and the policy modules above (each decides one thing and documents its rule).
// `runtime` and the `parse_*` helpers exist for the language bindings and are hidden from the
// documentation; they may change without notice.

pub use body::Body;
pub use client::{Client, ClientBuilder, RequestBuilder};
pub use error::{Error, ErrorGroup, Result, TimeoutPhase};
pub use history::{DropReason, DroppedHeader, Hop};
pub use idempotency::{KeyChoice, KeyFormat};
pub use metrics::{MetricsSnapshot, RedirectCount, RetryCount, StrippedCount};
pub use options::ClientConfig;
pub use redirect::{Policy as RedirectPolicy, RedirectAction, RedirectAttempt};
#[doc(hidden)]
pub use request::{parse_header, parse_method, parse_url};
pub use request::{Request, RequestOptions};
pub use response::{BytesStream, Response};
pub use retry::RetryPolicy;

/// The version of this core, compiled in.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use http::{self, HeaderMap, Method, StatusCode};
pub use url::Url;

/// Compiles the README's Rust examples as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
