//! Small helpers shared by the xtask steps: running commands, paths, timing.

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
        let bin = testserver_bin()?;
        let mut child = Command::new(&bin)
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
