//! The Python step: a venv under `.hopsafe/venv`, the package built into it by maturin, and
//! pytest against the shared test server.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{root, run, state_dir, testserver_bin, Result};

/// Pinned tools, installed into the venv only when missing.
const TOOLS: &[(&str, &str)] = &[
    ("maturin", "1.16.0"),
    ("pytest", "9.2.0"),
    ("ruff", "0.17.6"),
];

/// The venv's python (created on first use).
pub fn venv_python() -> Result<PathBuf> {
    ensure_venv(&state_dir().join("venv"), TOOLS)
}

/// A venv at `venv` (created on first use) with `pins` installed; only the missing ones are
/// installed, so a changed pin is picked up and a warm venv costs nothing. Returns its python.
pub fn ensure_venv(venv: &Path, pins: &[(&str, &str)]) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    let missing: Vec<String> = pins
        .iter()
        .filter(|(name, version)| !has_dist(venv, name, version))
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    if !missing.is_empty() {
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&missing))?;
    }
    Ok(python)
}

fn has_dist(venv: &Path, name: &str, version: &str) -> bool {
    let want = format!("{name}-{version}.dist-info");
    std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|py| py.path().join("site-packages").join(&want).exists())
}

/// Builds the extension into the venv (debug build: fast to compile, what the tests need).
pub fn develop(python: &std::path::Path) -> Result {
    let venv = python.parent().and_then(|p| p.parent()).ok_or("bad venv")?;
    run(Command::new(venv.join("bin/maturin"))
        .args(["develop", "--quiet", "-m"])
        .arg(root().join("bindings/python/Cargo.toml"))
        .env("VIRTUAL_ENV", venv)
        .env(
            "PATH",
            format!(
                "{}:{}",
                venv.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        ))
}

/// `cargo xtask test --only python`.
pub fn test() -> Result {
    let python = venv_python()?;
    develop(&python)?;
    let dir = root().join("bindings/python");
    let venv_bin = python.parent().ok_or("bad venv")?;
    run(Command::new(venv_bin.join("ruff"))
        .args([
            "check",
            "--quiet",
            "python",
            "tests",
            "conformance_runner.py",
            "peer_runner.py",
            "../../examples/python",
        ])
        .current_dir(&dir))?;
    let server = testserver_bin()?;
    let quick_start = crate::kotlin::readme_block("python")?;
    run(Command::new(&python).args([
        "-c",
        "import sys; compile(sys.argv[1], 'README quick start', 'exec')",
        &quick_start,
    ]))?;
    run(Command::new(&python)
        .arg(root().join("examples/python/failover.py"))
        .env("HOPSAFE_TESTSERVER", &server))?;
    run(Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .env("HOPSAFE_TESTSERVER", server)
        .current_dir(&dir))
}
