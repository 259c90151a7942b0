//! Kotlin and Swift bindings of the hopsafe core, exported with uniffi proc-macros.
//!
//! A thin translation layer: records in, records out, every decision stays in `hopsafe`.
//! Generate the foreign code in library mode with the pinned `uniffi-bindgen`
//! (`cargo xtask test --only kotlin,swift` does it for you).

// `HopsafeError` is large (the UpgradeRequired details), but uniffi lowers errors by value
// across the FFI and cannot box them; the size only matters on the failure path.
#![allow(clippy::result_large_err)]

mod blob;
mod body;
mod client;
mod config;
mod direct;
mod direct_async;
mod direct_clone;
mod direct_stream;
mod error;
mod hook;
mod listener;
mod metrics;
mod pieces;
mod readahead;
mod runner;
mod stream;
mod types;

pub use blob::Blob;
pub use body::BodySource;
pub use client::{CancelHandle, HopsafeClient};
pub use config::{BindingPlatform, ClientConfig, IdempotencyKeyFormat, RetryConfig};
pub use error::{HopsafeError, TimeoutPhase};
pub use listener::{HopsafeEvent, HopsafeListener};
pub use metrics::{Metrics, RedirectCount, RetryCount, StrippedCount};
pub use stream::{ResponseBody, StreamedResponse};
pub use types::{
    DropReason, DroppedHeader, Header, Hop, HttpRequest, HttpResponse, IdempotencyKey,
};

uniffi::setup_scaffolding!();

/// The version of the hopsafe core inside this library.
#[uniffi::export]
pub fn hopsafe_version() -> String {
    hopsafe::VERSION.to_owned()
}
