//! Rust steps: formatting, lints, and the workspace's own tests.

use crate::util::{cargo, root, run, Result};

/// `cargo fmt --check` and `cargo clippy -D warnings` over the workspace.
pub fn lint() -> Result {
    run(cargo().args(["fmt", "--all", "--", "--check"]).current_dir(root()))?;
    run(cargo()
        .args(["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"])
        .current_dir(root()))
}

/// Unit, integration and property tests of the core, the test server and the CLI.
pub fn test() -> Result {
    run(cargo()
        .args(["test", "--workspace"])
        .args(crate::RUST_TEST_EXCLUDES.iter().flat_map(|c| ["--exclude", c]))
        .current_dir(root()))
}
