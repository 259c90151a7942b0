//! Small helpers shared by the xtask steps: running commands, paths, timing, directories,
//! and the tools cross builds need (Rust targets, Debian packages, zig and cargo-zigbuild).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Error type of xtask steps: a message for the person running the command.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Where xtask keeps what it installs (venv, generated code, toolchain roots): `.hopsafe/`
/// in the workspace, ignored by git.
pub fn state_dir() -> PathBuf {
    let d = root().join(".hopsafe");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// The cargo that runs us.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Runs a command, echoing it, and fails with a clear message on non-zero exit.
pub fn run(cmd: &mut Command) -> Result {
    let shown = show(cmd);
    eprintln!("  $ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command and returns its stdout (stderr passes through).
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{shown}` failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    if cfg!(windows) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let file = format!("{program}{}", std::env::consts::EXE_SUFFIX);
        return std::env::split_paths(&path).any(|d| d.join(&file).is_file());
    }
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Times a step and prints its outcome.
pub fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    eprintln!("\n==> {name}");
    let t = Instant::now();
    let r = f();
    let secs = t.elapsed().as_secs_f32();
    match &r {
        Ok(()) => eprintln!("<== {name}: ok ({secs:.0}s)"),
        Err(e) => eprintln!("<== {name}: FAILED ({secs:.0}s): {e}"),
    }
    r
}

/// Builds the test server binary and returns its path.
pub fn testserver_bin() -> Result<PathBuf> {
    run(cargo()
        .args(["build", "--quiet", "-p", "hopsafe-testserver"])
        .current_dir(root()))?;
    Ok(target_dir().join("debug").join("hopsafe-testserver"))
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// A running `hopsafe-testserver`; it exits when this is dropped (its stdin closes).
pub struct TestServer {
    child: Child,
    /// The server's JSON ready line.
    pub ready: String,
}

impl TestServer {
    /// Builds and starts the test server and waits for its ready line.
    pub fn start() -> Result<TestServer> {
        TestServer::start_with(&[])
    }

    /// [`TestServer::start`] with the real proxies beside it (`--proxies`: tinyproxy and
    /// Dante, installed from Debian when missing), as the conformance scenarios need.
    pub fn start_with_proxies() -> Result<TestServer> {
        crate::util::apt(&["tinyproxy", "danted"], &["tinyproxy", "dante-server"])?;
        TestServer::start_with(&["--proxies"])
    }

    fn start_with(args: &[&str]) -> Result<TestServer> {
        let bin = testserver_bin()?;
        let mut child = Command::new(&bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut ready = String::new();
        let stdout = child.stdout.take().ok_or("test server has no stdout")?;
        let read = BufReader::new(stdout).read_line(&mut ready);
        if read.is_err() || !ready.trim_start().starts_with('{') {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the test server did not print its ready line: {ready:?}"
            ));
        }
        Ok(TestServer {
            child,
            ready: ready.trim().to_owned(),
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if !matches!(self.child.try_wait(), Ok(Some(_))) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// Copies the directory `from` to `to` (files and subdirectories; `__pycache__` skipped).
pub fn copy_dir(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "__pycache__" || entry.file_name() == "node_modules" {
            continue;
        }
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// A fresh (emptied) directory.
pub fn fresh_dir(dir: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Creates `dir` and its parents.
pub fn mkdir(dir: &Path) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
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

/// Debian packages, installed when one of `programs` is missing (`apt-get update` first).
pub fn apt(programs: &[&str], packages: &[&str]) -> Result {
    // A program is a name on PATH or an absolute path.
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

/// `rustup target add` for the targets not installed yet (a zig glibc suffix such as
/// `.2.17` is ignored).
pub fn rust_targets(targets: &[&str]) -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = targets
        .iter()
        .map(|t| t.trim_end_matches(".2.17"))
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(Command::new("rustup")
        .args(["target", "add"])
        .args(&missing))
}

/// Cross-build tools from PyPI, installed into `.hopsafe/dist-venv` (pinned; checked on
/// Debian 12): maturin, zig and cargo-zigbuild.
const CROSS_TOOLS: &[(&str, &str)] = &[
    ("maturin", "1.16.0"),
    ("ziglang", "0.17.1"),
    ("cargo-zigbuild", "0.24.1"),
];

/// The cross-build tools: a venv whose `bin/` goes first on PATH (maturin, cargo-zigbuild,
/// and the `python3 -m ziglang` that cargo-zigbuild falls back to for `zig`).
pub struct Tools {
    /// The venv's `bin/`.
    pub bin: PathBuf,
}

impl Tools {
    /// Installs the tools when missing.
    pub fn ensure() -> Result<Tools> {
        let python = crate::python::ensure_venv(&state_dir().join("dist-venv"), CROSS_TOOLS)?;
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

    /// The venv's Python (it imports `ziglang`).
    pub fn python(&self) -> PathBuf {
        self.bin.join("python")
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

/// Everything a cross build for `targets` needs, installed once: the Rust targets, mingw-w64
/// when one is Windows GNU, zig and cargo-zigbuild.
pub fn cross_tools(targets: &[&str]) -> Result<Tools> {
    rust_targets(targets)?;
    if targets.iter().any(|t| t.ends_with("windows-gnu")) {
        apt(&["x86_64-w64-mingw32-gcc"], &["gcc-mingw-w64-x86-64"])?;
    }
    Tools::ensure()
}
