//! Kotlin and Swift bindings of the hopsafe core, exported with uniffi proc-macros.
//!
//! A thin translation layer: records in, records out, every decision stays in `hopsafe`.
//! Generate the foreign code in library mode with the pinned `uniffi-bindgen`
//! (`cargo xtask test --only kotlin,swift` does it for you).

mod body;
mod client;
mod config;
mod error;
mod types;

pub use body::BodySource;
pub use client::{CancelHandle, HopsafeClient};
pub use config::{ClientConfig, IdempotencyKeyFormat, RetryConfig};
pub use error::HopsafeError;
pub use types::{
    DropReason, DroppedHeader, Header, Hop, HttpRequest, HttpResponse, IdempotencyKey,
};

uniffi::setup_scaffolding!();

/// The version of the hopsafe core inside this library.
#[uniffi::export]
pub fn hopsafe_version() -> String {
    hopsafe::VERSION.to_owned()
}
