//! `cargo xtask dist [--all]`: the installable packages, in `target/dist/`.
//!
//! Without `--all`: what this machine's users install (the x86_64 manylinux_2_17 abi3 wheel,
//! the sdist, the npm main package and its linux-x64-gnu package; on Windows, where the release
//! workflow runs `--only python,node`, the win_amd64 wheel and the win32-x64-msvc package). With `--all`: every other
//! platform too, cross-built with zig (and mingw for Windows); the aarch64 Linux ones run under
//! qemu, the rest are checked by inspection (`dist_check`). Idempotent: every run replaces the
//! artefacts it builds and reuses the tools it installed (`.hopsafe/dist-venv`, apt, rustup).

use std::path::PathBuf;
use std::time::Instant;

use crate::util::{target_dir, Result, Tools};

/// The Cargo profile of every native library `dist` ships (Cargo.toml says why it differs
/// from `release`).
pub const PROFILE: &str = "dist-release";

/// Where the artefacts go.
pub fn out_dir() -> PathBuf {
    target_dir().join("dist")
}

/// One line of the closing summary: what was built and how it was checked.
pub struct Built {
    /// The artefact's file.
    pub file: PathBuf,
    /// How it was checked ("ran: ...", "inspected: ...").
    pub check: String,
}

/// The parts of `cargo xtask dist`, in order.
const PARTS: &[&str] = &["python", "node", "jvm", "apple"];

const USAGE: &str = "usage: cargo xtask dist [--all] [--only python,node,jvm,apple]";

/// `cargo xtask dist [--all] [--only PART,...]`.
pub fn dist(args: &[String]) -> Result {
    let mut all = false;
    let mut only: Vec<String> = PARTS.iter().map(|p| p.to_string()).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--all" => all = true,
            "--only" => {
                only = it
                    .next()
                    .ok_or(USAGE)?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = only.iter().find(|p| !PARTS.contains(&p.as_str())) {
                    return Err(format!("unknown part {bad:?}; {USAGE}"));
                }
            }
            _ => return Err(USAGE.into()),
        }
    }
    let wants = |part: &str| only.iter().any(|p| p == part);
    let t = Instant::now();
    std::fs::create_dir_all(out_dir()).map_err(|e| e.to_string())?;
    let tools = Tools::ensure()?;
    let mut built = Vec::new();
    if wants("python") {
        built.extend(crate::dist_python::dist(&tools, all)?);
    }
    if wants("node") {
        built.extend(crate::dist_node::dist(&tools, all)?);
    }
    // The JVM jar (and the Android AAR) and the Swift/Apple packages report their own checks.
    if wants("jvm") {
        crate::dist_jvm::dist(all)?;
    }
    if wants("apple") {
        crate::dist_apple::dist(all)?;
    }
    eprintln!("\ntarget/dist ({:.0} s):", t.elapsed().as_secs_f32());
    for b in &built {
        let size = std::fs::metadata(&b.file).map(|m| m.len()).unwrap_or(0);
        let name = b.file.strip_prefix(out_dir()).unwrap_or(&b.file);
        eprintln!(
            "  {:<64} {:>6.2} MiB  {}",
            name.display(),
            size as f64 / 1048576.0,
            b.check
        );
    }
    Ok(())
}
