//! The conformance suite: scenarios as data (`tests/conformance/scenarios.json`), a runner
//! that plays them through the Rust core, and the checker that judges every runtime's
//! observations against the expectations and the server's own records.
//! See `tests/conformance/PROTOCOL.md`.

pub mod check;
pub mod control;
pub mod matrix;
pub mod runner;
pub mod scenario;

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
