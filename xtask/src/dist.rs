//! `cargo xtask dist [--all]`: the installable packages, in `target/dist/`.
//!
//! Without `--all`: what this machine's users install (the x86_64 manylinux_2_17 abi3 wheel,
//! the sdist, the npm main package and its linux-x64-gnu package; on Windows, where the release
//! workflow runs `--only python,node`, the win_amd64 wheel and the win32-x64-msvc package). With `--all`: every other
//! platform too, cross-built with zig (and mingw for Windows); the aarch64 Linux ones run under
//! qemu, the rest are checked by inspection (`dist_check`). Idempotent: every run replaces the
//! artefacts it builds and reuses the tools it installed (`.hopsafe/dist-venv`, apt, rustup).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util::{have, root, run, state_dir, target_dir, Result};

/// Build tools from PyPI, installed into `.hopsafe/dist-venv` (pinned; checked on Debian 12).
const TOOLS: &[(&str, &str)] = &[
    ("maturin", "1.16.0"),
    ("ziglang", "0.17.1"),
    ("cargo-zigbuild", "0.24.1"),
];

/// The Cargo profile of every native library `dist` ships (Cargo.toml says why it differs
/// from `release`).
pub const PROFILE: &str = "dist-release";

/// Where the artefacts go.
pub fn out_dir() -> PathBuf {
    target_dir().join("dist")
}

/// The build tools: a venv whose `bin/` goes first on PATH (maturin, cargo-zigbuild, and the
/// `python3 -m ziglang` that cargo-zigbuild falls back to for `zig`).
pub struct Tools {
    /// The venv's `bin/`.
    pub bin: PathBuf,
}

impl Tools {
    /// Installs the tools when missing.
    pub fn ensure() -> Result<Tools> {
        let python = crate::python::ensure_venv(&state_dir().join("dist-venv"), TOOLS)?;
        let bin = python.parent().ok_or("bad venv")?.to_path_buf();
        Ok(Tools { bin })
    }

    /// A command from the venv (or PATH) with the venv first on PATH.
    pub fn cmd(&self, program: &str) -> Command {
        let local = self
            .bin
            .join(format!("{program}{}", std::env::consts::EXE_SUFFIX));
        let mut c = Command::new(if local.exists() {
            local
        } else {
            PathBuf::from(program)
        });
        c.env("PATH", self.path()).current_dir(root());
        c
    }

    /// PATH with the venv first.
    pub fn path(&self) -> String {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(self.bin.clone()).chain(std::env::split_paths(&path));
        std::env::join_paths(dirs)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// `rustup target add` for targets not installed yet.
pub fn rust_targets(targets: &[&str]) -> Result {
    let installed =
        crate::util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("rustup")
        .args(["target", "add"])
        .args(&missing))
}

/// Debian packages, installed when one of `programs` (names on PATH, or absolute paths) is
/// missing (`apt-get update` first).
pub fn apt(programs: &[&str], packages: &[&str]) -> Result {
    let present = |p: &&str| {
        if p.starts_with('/') {
            Path::new(p).exists()
        } else {
            have(p)
        }
    };
    if programs.iter().all(present) {
        return Ok(());
    }
    if !have("apt-get") {
        return Err(format!(
            "need {} (Debian packages {}); install them",
            programs.join(", "),
            packages.join(" ")
        ));
    }
    let lock = ["-o", "DPkg::Lock::Timeout=600", "-q"];
    run(Command::new("apt-get").args(lock).arg("update"))?;
    run(Command::new("apt-get")
        .args(lock)
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages))
}

/// A fresh (emptied) directory.
pub fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Files in `dir` whose name ends with `suffix`, sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
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
