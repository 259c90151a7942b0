//! Python packages: abi3 wheels (maturin; zig for Linux and macOS, mingw for Windows), the
//! sdist, and their checks: wheel tags and metadata, the extension by inspection, and the
//! quick start run from an installed wheel (here, or under qemu for aarch64).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dist::{out_dir, Built};
use crate::dist_check::{self, Expect};
use crate::util::{
    cross_tools, files_ending, fresh_dir, output, root, run, state_dir, target_dir, Result, Tools,
};

/// One wheel: its label, Rust target, maturin flags and the expected platform tag.
struct Wheel {
    target: &'static str,
    flags: &'static [&'static str],
    tag: &'static str,
    expect: Expect,
}

/// This machine's wheel; on Windows (the release workflow's Windows job) the MSVC one.
const HOST: Wheel = if cfg!(windows) {
    Wheel {
        target: "x86_64-pc-windows-msvc",
        flags: &[],
        tag: "win_amd64",
        expect: Expect {
            format: "COFF-x86-64",
            allowed: dist_check::WINDOWS,
            max_glibc: None,
        },
    }
} else {
    Wheel {
        target: "x86_64-unknown-linux-gnu",
        flags: &["--zig", "--compatibility", "manylinux2014"],
        tag: "manylinux_2_17_x86_64",
        expect: Expect {
            format: "elf64-x86-64",
            allowed: dist_check::GLIBC,
            max_glibc: Some((2, 17)),
        },
    }
};

const CROSS: &[Wheel] = &[
    Wheel {
        target: "aarch64-unknown-linux-gnu",
        flags: &["--zig", "--compatibility", "manylinux2014"],
        tag: "manylinux_2_17_aarch64",
        expect: Expect {
            format: "elf64-littleaarch64",
            allowed: dist_check::GLIBC,
            max_glibc: Some((2, 17)),
        },
    },
    Wheel {
        target: "x86_64-unknown-linux-musl",
        flags: &["--zig", "--compatibility", "musllinux_1_2"],
        tag: "musllinux_1_2_x86_64",
        expect: Expect {
            format: "elf64-x86-64",
            allowed: dist_check::MUSL,
            max_glibc: None,
        },
    },
    Wheel {
        target: "aarch64-unknown-linux-musl",
        flags: &["--zig", "--compatibility", "musllinux_1_2"],
        tag: "musllinux_1_2_aarch64",
        expect: Expect {
            format: "elf64-littleaarch64",
            allowed: dist_check::MUSL,
            max_glibc: None,
        },
    },
    Wheel {
        target: "aarch64-apple-darwin",
        flags: &["--zig"],
        tag: "macosx_11_0_arm64",
        expect: Expect {
            format: "Mach-O arm64",
            allowed: dist_check::MACOS,
            max_glibc: None,
        },
    },
    Wheel {
        target: "x86_64-apple-darwin",
        flags: &["--zig"],
        tag: "macosx_10_12_x86_64",
        expect: Expect {
            format: "Mach-O 64-bit x86-64",
            allowed: dist_check::MACOS,
            max_glibc: None,
        },
    },
    Wheel {
        target: "x86_64-pc-windows-gnu",
        flags: &[],
        tag: "win_amd64",
        expect: Expect {
            format: "COFF-x86-64",
            allowed: dist_check::WINDOWS,
            max_glibc: None,
        },
    },
];

fn py_out() -> PathBuf {
    out_dir().join("python")
}

/// Builds (release, stripped) and checks the wheels: the host one, and with `all` the rest.
pub fn dist(tools: &Tools, all: bool) -> Result<Vec<Built>> {
    std::fs::create_dir_all(py_out()).map_err(|e| e.to_string())?;
    let mut built = Vec::new();
    let wheels: Vec<&Wheel> = std::iter::once(&HOST)
        .chain(CROSS.iter().filter(|_| all))
        .collect();
    if all && cfg!(windows) {
        return Err(
            "`dist --all` cross-builds from Linux; on Windows run `dist --only python,node`".into(),
        );
    }
    cross_tools(&wheels.iter().map(|w| w.target).collect::<Vec<_>>())?;
    for w in wheels {
        let file = build(tools, w)?;
        let mut check = inspect(tools, &file, w)?;
        if w.target == HOST.target {
            let venv = fresh_venv(&state_dir().join("dist-try-python"), &file, &[])?;
            run(Command::new(&venv).arg("-c").arg(QUICK_START))?;
            check = format!("ran: quick start from a fresh venv; {check}");
        } else if w.target == "aarch64-unknown-linux-gnu" {
            crate::dist_qemu::run_python(&file)?;
            check = format!("ran under qemu (arm64 Debian): quick start; {check}");
        } else {
            check = format!("inspected: {check}");
        }
        built.push(Built { file, check });
    }
    built.push(sdist(tools)?);
    Ok(built)
}

/// A self-contained quick start: a local HTTP server and one GET through hopsafe.
pub const QUICK_START: &str = r#"
import http.server, threading, hopsafe
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=s.serve_forever, daemon=True).start()
with hopsafe.Client() as c:
    r = c.get(f"http://127.0.0.1:{s.server_port}/")
assert r.status_code == 200 and r.content == b"ok", r
print("  hopsafe", hopsafe.__version__, "from", hopsafe.__file__, "GET", r.status_code)
"#;

fn build(tools: &Tools, w: &Wheel) -> Result<PathBuf> {
    for old in files_ending(&py_out(), &format!("{}.whl", w.tag)) {
        let _ = std::fs::remove_file(old);
    }
    run(tools
        .cmd("maturin")
        .args([
            "build",
            "--profile",
            crate::dist::PROFILE,
            "--strip",
            "--quiet",
            "--target",
            w.target,
        ])
        .args(w.flags)
        .arg("-m")
        .arg(root().join("bindings/python/Cargo.toml"))
        .arg("-o")
        .arg(py_out()))?;
    files_ending(&py_out(), ".whl")
        .into_iter()
        .find(|f| f.to_string_lossy().contains(w.tag))
        .ok_or_else(|| format!("maturin made no {} wheel in {}", w.tag, py_out().display()))
}

/// Unpacks `wheel` and checks its tags, metadata and extension module.
fn inspect(tools: &Tools, wheel: &Path, w: &Wheel) -> Result<String> {
    let dir = fresh_dir(&state_dir().join("dist-inspect").join(w.target))?;
    run(tools
        .cmd("python")
        .args(["-m", "zipfile", "-e"])
        .arg(wheel)
        .arg(&dir))?;
    let info = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".dist-info"))
        .ok_or("the wheel has no .dist-info")?;
    let read = |f: &str| std::fs::read_to_string(info.join(f)).unwrap_or_default();
    let tag = format!("Tag: cp311-abi3-{}", w.tag);
    if !read("WHEEL").lines().any(|l| l == tag) {
        return Err(format!("{}: WHEEL lacks `{tag}`", wheel.display()));
    }
    let meta = read("METADATA");
    for field in [
        "License-Expression: MIT OR Apache-2.0",
        "Project-URL: ",
        "Classifier: ",
        "Requires-Python: >=3.11",
        "License-File: LICENSE-MIT",
        "License-File: LICENSE-APACHE",
    ] {
        if !meta.contains(field) {
            return Err(format!("{}: METADATA lacks `{field}`", wheel.display()));
        }
    }
    for lic in ["LICENSE-MIT", "LICENSE-APACHE"] {
        if !info.join("licenses").join(lic).exists() {
            return Err(format!("{}: no licenses/{lic}", wheel.display()));
        }
    }
    let native = std::fs::read_dir(dir.join("hopsafe"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("_native") && (n.ends_with(".so") || n.ends_with(".pyd"))
        })
        .ok_or("the wheel has no hopsafe/_native extension")?;
    let account = dist_check::check(&native, &w.expect, "PyInit__native")?;
    let size = std::fs::metadata(&native).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "tag {}, {account}, extension {:.2} MiB",
        w.tag,
        size as f64 / 1048576.0
    ))
}

/// The sdist, checked by building a wheel from it (pip with maturin as the build backend).
fn sdist(tools: &Tools) -> Result<Built> {
    for old in files_ending(&py_out(), ".tar.gz") {
        let _ = std::fs::remove_file(old);
    }
    run(tools
        .cmd("maturin")
        .args(["sdist", "-m"])
        .arg(root().join("bindings/python/Cargo.toml"))
        .arg("-o")
        .arg(py_out()))?;
    let file = files_ending(&py_out(), ".tar.gz")
        .pop()
        .ok_or("maturin made no sdist")?;
    let check = fresh_dir(&state_dir().join("dist-sdist-check"))?;
    run(tools
        .cmd("python")
        .args([
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
        ])
        .arg(&check)
        .arg(&file)
        // A debug build proves the sdist builds, reusing the test steps' compiled dependencies.
        .env("MATURIN_PEP517_ARGS", "--profile dev")
        .env("CARGO_TARGET_DIR", target_dir()))?;
    let wheel = files_ending(&check, ".whl")
        .pop()
        .ok_or("building the sdist made no wheel")?;
    let name = wheel.file_name().unwrap_or_default().to_string_lossy();
    Ok(Built {
        file,
        check: format!("built: a wheel from the sdist ({name})"),
    })
}

/// A new venv at `dir` with `wheel` (and `extra` packages) installed; returns its python.
pub fn fresh_venv(dir: &Path, wheel: &Path, extra: &[&str]) -> Result<PathBuf> {
    fresh_dir(dir)?;
    run(Command::new(crate::python::system_python())
        .args(["-m", "venv"])
        .arg(dir))?;
    let python = crate::python::venv_program(dir, "python");
    run(crate::python::pip_install(&python).arg(wheel).args(extra))?;
    Ok(python)
}

/// PATH without any directory holding `cargo` or `rustc` (what a user without Rust has).
pub fn path_without_rust() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.join("cargo").exists() && !d.join("rustc").exists())
        .collect();
    std::env::join_paths(dirs)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where `python` imports hopsafe from.
pub fn imported_from(python: &Path, path: &str) -> Result<String> {
    Ok(output(
        Command::new(python)
            .args([
                "-c",
                "import shutil, hopsafe; assert not shutil.which('cargo') and not shutil.which('rustc'), 'Rust on PATH'; print(hopsafe.__file__)",
            ])
            .env("PATH", path)
            .current_dir(std::env::temp_dir()),
    )?
    .trim()
    .to_owned())
}
