//! The Python step: a venv under `.hopsafe/venv`, the package built into it by maturin (for
//! the examples and the conformance step), lint, and pytest against the shared test server,
//! run on the built wheel installed into a fresh venv without Rust on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{output, root, run, state_dir, testserver_bin, Result, TestServer};

/// Pinned tools, installed into the venv only when missing.
const TOOLS: &[(&str, &str)] = &[
    ("maturin", "1.16.0"),
    ("pytest", PYTEST_VERSION),
    ("ruff", "0.17.6"),
    // The peers the adapters (hopsafe.httpx, hopsafe.requests) are tested under.
    ("httpx", HTTPX_VERSION),
    ("requests", REQUESTS_VERSION),
];

const HTTPX_VERSION: &str = "0.28.1";
const REQUESTS_VERSION: &str = "2.32.5";

const PYTEST_VERSION: &str = "9.2.0";

/// The venv's python (created on first use).
pub fn venv_python() -> Result<PathBuf> {
    ensure_venv(&state_dir().join("venv"), TOOLS)
}

/// A venv at `venv` (created on first use) with `pins` installed; only the missing ones are
/// installed, so a changed pin is picked up and a warm venv costs nothing. Returns its python.
pub fn ensure_venv(venv: &Path, pins: &[(&str, &str)]) -> Result<PathBuf> {
    let python = venv_program(venv, "python");
    if !python.exists() {
        run(Command::new(system_python()).args(["-m", "venv"]).arg(venv))?;
    }
    let missing: Vec<String> = pins
        .iter()
        .filter(|(name, version)| !has_dist(venv, name, version))
        .map(|(name, version)| format!("{name}=={version}"))
        .collect();
    if !missing.is_empty() {
        run(pip_install(&python).args(&missing))?;
    }
    Ok(python)
}

/// The Python that makes venvs: `python3` (`python` on Windows, where python.org's installer
/// and actions/setup-python provide no `python3`).
pub fn system_python() -> &'static str {
    if cfg!(windows) {
        "python"
    } else {
        "python3"
    }
}

/// A program in a venv: `bin/NAME` (`Scripts\NAME.exe` on Windows).
pub fn venv_program(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// `python -m pip install`, quietly; the caller adds what to install.
pub fn pip_install(python: &Path) -> Command {
    let mut c = Command::new(python);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]);
    c
}

fn has_dist(venv: &Path, name: &str, version: &str) -> bool {
    // pip names the directory after the normalized name (`cargo-zigbuild` -> `cargo_zigbuild`).
    let wants = [
        format!("{name}-{version}.dist-info"),
        format!("{}-{version}.dist-info", name.replace('-', "_")),
    ];
    // `lib/python3.X/site-packages` (`Lib/site-packages` on Windows).
    std::fs::read_dir(venv.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|py| py.path())
        .chain(std::iter::once(venv.join("Lib")))
        .any(|py| {
            wants
                .iter()
                .any(|w| py.join("site-packages").join(w).exists())
        })
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
            "adapter_runner.py",
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
    installed_suite(&python, &dir, &server)
}

/// Packs the built extension as a wheel (`maturin build`, debug like the rest of the step),
/// installs it into a fresh venv whose PATH has no Rust toolchain, and runs the test suite
/// from a copy outside the source tree against the installed package.
fn installed_suite(python: &Path, dir: &Path, server: &Path) -> Result {
    let venv_bin = python.parent().ok_or("bad venv")?;
    let wheels = crate::util::fresh_dir(&state_dir().join("test-wheel"))?;
    run(Command::new(venv_bin.join("maturin"))
        .args(["build", "--quiet", "-i"])
        .arg(python)
        .arg("-m")
        .arg(dir.join("Cargo.toml"))
        .arg("-o")
        .arg(&wheels))?;
    let wheel = crate::util::files_ending(&wheels, ".whl")
        .pop()
        .ok_or("maturin build made no wheel")?;
    let work = state_dir().join("test-installed");
    let fresh = crate::dist_python::fresh_venv(
        &work.join("venv"),
        &wheel,
        &[
            &format!("pytest=={PYTEST_VERSION}"),
            &format!("httpx=={HTTPX_VERSION}"),
            &format!("requests=={REQUESTS_VERSION}"),
        ],
    )?;
    let path = crate::dist_python::path_without_rust();
    let origin = crate::dist_python::imported_from(&fresh, &path)?;
    if !origin.starts_with(&*work.to_string_lossy()) {
        return Err(format!(
            "the fresh venv imports hopsafe from {origin}, not its own site-packages"
        ));
    }
    eprintln!("  testing {} installed at {origin}", wheel.display());
    let tests = crate::util::fresh_dir(&work.join("suite"))?.join("tests");
    crate::util::copy_dir(&dir.join("tests"), &tests)?;
    run(Command::new(&fresh)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .env("HOPSAFE_TESTSERVER", server)
        .env("PATH", &path)
        .current_dir(tests.parent().ok_or("bad dir")?))?;
    adapter_quick_starts(&fresh, &work, &path)
}

/// The adapter quick starts: every ```python block of the top-level and the package README
/// whose first line is `# quickstart_NAME.py`, run with the installed package, its example
/// URLs pointed at the lab server (a 307 to another origin's `/echo`), its output checked.
fn adapter_quick_starts(python: &Path, work: &Path, path: &str) -> Result {
    let server = TestServer::start()?;
    let url = crate::kotlin::quick_start_url(&server.ready)?;
    let mut ran = Vec::new();
    for readme in [
        root().join("README.md"),
        root().join("bindings/python/README.md"),
    ] {
        let text = std::fs::read_to_string(&readme)
            .map_err(|e| format!("cannot read {}: {e}", readme.display()))?;
        for block in text.split("```python\n").skip(1) {
            let code = block.split("\n```").next().unwrap_or_default();
            let Some(name) = code
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# "))
                .filter(|n| n.starts_with("quickstart_"))
            else {
                continue;
            };
            let file = work.join(name);
            let code = code
                .replace("https://api.example.com/v1/orders", &url)
                .replace("https://api.example.com/v1/export", &url);
            crate::kotlin::write(&file, &format!("{code}\n"))?;
            let out = output(Command::new(python).arg(&file).env("PATH", path))?;
            check_adapter_quick_start(name, &out)?;
            ran.push(name.to_owned());
        }
    }
    for name in ["quickstart_httpx.py", "quickstart_requests.py"] {
        if ran.iter().filter(|r| *r == name).count() != 2 {
            return Err(format!(
                "expected {name} in README.md and bindings/python/README.md, ran {ran:?}"
            ));
        }
    }
    eprintln!("  README adapter quick starts ran from the installed package: {ran:?}");
    Ok(())
}

/// An adapter quick start's output: `hop 307 ...` (the credential dropped), `final 200
/// key=...`, the `/echo` JSON of the POST that crossed (body kept, no credential), and
/// `streamed N bytes` from the streamed GET.
fn check_adapter_quick_start(name: &str, out: &str) -> Result {
    let lines: Vec<&str> = out.lines().collect();
    let echo: serde_json::Value = lines
        .iter()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let body: serde_json::Value = echo["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    let streamed = lines
        .last()
        .and_then(|l| l.strip_prefix("streamed "))
        .and_then(|l| l.strip_suffix(" bytes"))
        .and_then(|n| n.parse::<u64>().ok());
    let ok = lines
        .first()
        .is_some_and(|l| l.starts_with("hop 307 ") && l.contains("authorization"))
        && lines.iter().any(|l| l.starts_with("final 200 key="))
        && echo["method"] == "POST"
        && body == serde_json::json!({"sku": "A-1"})
        && echo["headers"].get("authorization").is_none()
        && streamed.is_some_and(|n| n > 0);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "unexpected output from the README's {name}:\n{out}"
        ))
    }
}
