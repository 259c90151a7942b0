//! Rust steps: formatting, lints, and the workspace's own tests.

use crate::util::{cargo, root, run, Result};

/// Optional core features that the tests and lints cover too.
const CORE_FEATURES: &str = "hopsafe/decompress,hopsafe/otel,hopsafe-pinning/tower";

/// `cargo fmt --check` and `cargo clippy -D warnings` over the workspace.
pub fn lint() -> Result {
    run(cargo()
        .args(["fmt", "--all", "--", "--check"])
        .current_dir(root()))?;
    run(cargo()
        .args(["clippy", "--workspace", "--all-targets", "--quiet"])
        .args(["--features", CORE_FEATURES, "--", "-D", "warnings"])
        .current_dir(root()))
}

/// Unit, integration and property tests of the core, the test server and the CLI, then the
/// failover example.
pub fn test() -> Result {
    // The proxy tests (core/tests/proxies.rs, the conformance suite) start these real proxies.
    crate::util::apt(&["tinyproxy", "danted"], &["tinyproxy", "dante-server"])?;
    run(cargo()
        .args(["test", "--workspace", "--features", CORE_FEATURES])
        .args(
            crate::RUST_TEST_EXCLUDES
                .iter()
                .flat_map(|c| ["--exclude", c]),
        )
        .current_dir(root()))?;
    run(cargo()
        .args(["run", "--quiet", "-p", "hopsafe", "--example", "failover"])
        .current_dir(root()))
}

/// Runs the fuzz targets (core/tests/fuzz.rs) in a loop for `minutes`, in release mode, and
/// reports the executions per target.
pub fn fuzz(minutes: u64) -> Result {
    use std::collections::BTreeMap;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(minutes * 60);
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    let mut rounds = 0;
    while rounds == 0 || std::time::Instant::now() < deadline {
        rounds += 1;
        let out = cargo()
            .args([
                "test",
                "--release",
                "-q",
                "-p",
                "hopsafe",
                "--test",
                "fuzz",
                "--",
                "--nocapture",
            ])
            .env("HOPSAFE_FUZZ_CASES", "100000")
            .current_dir(root())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr.lines().filter_map(|l| l.strip_prefix("fuzz ")) {
            if let Some((name, rest)) = line.split_once(": ") {
                let n = rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                *totals.entry(name.to_owned()).or_default() += n;
            }
        }
        if !out.status.success() {
            eprintln!("{stderr}");
            return Err(format!(
                "fuzzing found a failure in round {rounds} (see above)"
            ));
        }
    }
    for (name, n) in &totals {
        println!("fuzz {name}: {n} executions, no failure");
    }
    Ok(())
}
