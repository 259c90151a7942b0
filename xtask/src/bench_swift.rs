//! The Swift part of `cargo xtask bench` (`--only swift-stream`): a streamed download through
//! `response.body` as an `AsyncSequence`, built in release in the Swift root (`bench/swift`
//! over the Hopsafe package with the release library) and run against the bench server.

use std::process::Command;

use serde_json::Value;

use crate::kotlin::{build_ffi, generate};
use crate::swift::{
    assemble_package, chroot, copy, copy_swift, ensure_toolchain, lock_root, swift_root, Mounts,
};
use crate::util::{output, root, run, Result};

/// The build directory inside the root (as seen from the host), apart from the test step's.
const DIR: &str = "hopsafe-bench-swift";

/// Builds and runs the Swift streamed download twice; returns the section of the results.
pub fn stream_section(base: &str, quick: bool) -> Result<String> {
    let size: u64 = if quick { 256 << 20 } else { 1 << 30 };
    let r = swift_root();
    let _lock = lock_root()?;
    ensure_toolchain(&r)?;
    let lib = build_ffi(true)?;
    let dir = r.join(DIR);
    let _ = std::fs::remove_dir_all(&dir);
    let gen = dir.join("gen");
    generate("swift", &lib, &gen)?;
    let stripped = gen.join("libhopsafe_ffi.so");
    run(Command::new("strip").arg("-o").arg(&stripped).arg(&lib))?;
    assemble_package(&dir.join("Hopsafe"), &gen, Some(&stripped), false)?;
    let src = root().join("bench/swift");
    copy(&src.join("Package.swift"), &dir.join("Package.swift"))?;
    copy_swift(
        &src.join("Sources/StreamBench"),
        &dir.join("Sources/StreamBench"),
    )?;
    let _mounts = Mounts::ensure(&r)?;
    run(chroot(&r).args([
        "sh",
        "-c",
        &format!("cd /{DIR} && swift build -c release 2>&1 | tail -1"),
    ]))?;
    let mut rows = String::new();
    for round in 1..=2 {
        eprintln!("  hopsafe-swift streamed download (round {round} of 2)...");
        let text = output(chroot(&r).args([
            &format!("/{DIR}/.build/release/StreamBench"),
            base,
            &size.to_string(),
        ]))?;
        let v: Value =
            serde_json::from_str(text.trim()).map_err(|e| format!("StreamBench: {e}: {text}"))?;
        rows.push_str(&format!(
            "| {round} | {:.0} | {:.1} |\n",
            v["mib_per_s"].as_f64().unwrap_or(f64::NAN),
            v["rss_growth_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "### Swift: {} MiB streamed download\n\n\
         `bench/swift` in release (Swift 6 in the trixie root, Linux): a 16 MiB warm-up, the peak \
         RSS reset (`/proc/self/clear_refs`), then `GET /stream/{size}` read with \
         `for try await chunk in response.body`. Growth = VmHWM after − VmRSS before; the \
         target is under 32 MiB. No Swift peer runs here (URLSession on Linux is not the one \
         apps use).\n\n| run | MiB/s | peak RSS growth (MiB) |\n|---|---:|---:|\n{rows}\n",
        size >> 20
    ))
}
