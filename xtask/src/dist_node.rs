//! npm packages in the napi-rs layout: the main `hopsafe` package (JS API + the loader,
//! `native.js`) with `optionalDependencies` on one `hopsafe-<platform>` package per platform,
//! each holding one addon and the `os`/`cpu`/`libc` fields npm uses to pick it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dist::{out_dir, Built};
use crate::dist_check::{self, Expect};
use crate::util::{files_ending, fresh_dir, root, run, rust_targets, target_dir, Result, Tools};

/// One platform package.
pub struct Addon {
    /// napi-rs platform name (the package is `hopsafe-<name>`).
    pub name: &'static str,
    /// Rust target (zig's glibc-version suffix added when building).
    target: &'static str,
    /// npm's `os`, `cpu` and (Linux) `libc`.
    os: &'static str,
    cpu: &'static str,
    libc: Option<&'static str>,
    expect: Expect,
}

/// This machine's platform: built in `cargo xtask test` and `cargo xtask dist`, and run by
/// `dist`. On Windows (the release workflow's Windows job) it is the MSVC addon.
pub const HOST: Addon = if cfg!(windows) {
    WIN32_MSVC
} else {
    LINUX_X64_GNU
};

const LINUX_X64_GNU: Addon = Addon {
    name: "linux-x64-gnu",
    target: "x86_64-unknown-linux-gnu",
    os: "linux",
    cpu: "x64",
    libc: Some("glibc"),
    expect: Expect {
        format: "elf64-x86-64",
        allowed: dist_check::GLIBC,
        max_glibc: Some((2, 17)),
    },
};

/// The published Windows package, built (and run) by `cargo xtask dist` on Windows: the
/// release workflow's Windows job.
const WIN32_MSVC: Addon = Addon {
    name: "win32-x64-msvc",
    target: "x86_64-pc-windows-msvc",
    os: "win32",
    cpu: "x64",
    libc: None,
    expect: Expect {
        format: "COFF-x86-64",
        allowed: dist_check::WINDOWS_NODE,
        max_glibc: None,
    },
};

/// The same addon cross-built with MinGW by `dist --all` on Linux and checked by inspection.
/// Not among the main package's optionalDependencies (npm would install it beside the MSVC
/// one); the loader takes it when it is installed explicitly.
const WIN32_GNU: Addon = Addon {
    name: "win32-x64-gnu",
    target: "x86_64-pc-windows-gnu",
    os: "win32",
    cpu: "x64",
    libc: None,
    expect: Expect {
        format: "COFF-x86-64",
        allowed: dist_check::WINDOWS_NODE,
        max_glibc: None,
    },
};

/// The platform packages the main package names in its optionalDependencies.
fn published() -> impl Iterator<Item = &'static str> {
    [LINUX_X64_GNU.name, WIN32_MSVC.name]
        .into_iter()
        .chain(CROSS.iter().map(|a| a.name))
        .filter(|n| *n != WIN32_GNU.name)
}

/// The cross-built platforms (`cargo xtask dist --all`).
const CROSS: &[Addon] = &[
    Addon {
        name: "linux-arm64-gnu",
        target: "aarch64-unknown-linux-gnu",
        os: "linux",
        cpu: "arm64",
        libc: Some("glibc"),
        expect: Expect {
            format: "elf64-littleaarch64",
            allowed: dist_check::GLIBC,
            max_glibc: Some((2, 17)),
        },
    },
    Addon {
        name: "linux-x64-musl",
        target: "x86_64-unknown-linux-musl",
        os: "linux",
        cpu: "x64",
        libc: Some("musl"),
        expect: Expect {
            format: "elf64-x86-64",
            allowed: dist_check::MUSL,
            max_glibc: None,
        },
    },
    Addon {
        name: "linux-arm64-musl",
        target: "aarch64-unknown-linux-musl",
        os: "linux",
        cpu: "arm64",
        libc: Some("musl"),
        expect: Expect {
            format: "elf64-littleaarch64",
            allowed: dist_check::MUSL,
            max_glibc: None,
        },
    },
    Addon {
        name: "darwin-x64",
        target: "x86_64-apple-darwin",
        os: "darwin",
        cpu: "x64",
        libc: None,
        expect: Expect {
            format: "Mach-O 64-bit x86-64",
            allowed: dist_check::MACOS,
            max_glibc: None,
        },
    },
    Addon {
        name: "darwin-arm64",
        target: "aarch64-apple-darwin",
        os: "darwin",
        cpu: "arm64",
        libc: None,
        expect: Expect {
            format: "Mach-O arm64",
            allowed: dist_check::MACOS,
            max_glibc: None,
        },
    },
    WIN32_GNU,
];

fn node_dir() -> PathBuf {
    root().join("bindings/node")
}

fn npm_out() -> PathBuf {
    out_dir().join("npm")
}

/// The package version (the workspace's, checked by `check-versions`).
fn version() -> Result<String> {
    let text =
        std::fs::read_to_string(node_dir().join("package.json")).map_err(|e| e.to_string())?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    doc["version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "bindings/node/package.json has no version".into())
}

/// Builds, packs and checks the main package and the platform packages.
pub fn dist(tools: &Tools, all: bool) -> Result<Vec<Built>> {
    if all && cfg!(windows) {
        return Err(
            "`dist --all` cross-builds from Linux; on Windows run `dist --only python,node`".into(),
        );
    }
    std::fs::create_dir_all(npm_out()).map_err(|e| e.to_string())?;
    let addons: Vec<&Addon> = std::iter::once(&HOST)
        .chain(CROSS.iter().filter(|_| all))
        .collect();
    rust_targets(&addons.iter().map(|a| a.target).collect::<Vec<_>>())?;
    if addons.iter().any(|a| a.target.ends_with("windows-gnu")) {
        crate::util::apt(&["x86_64-w64-mingw32-gcc"], &["gcc-mingw-w64-x86-64"])?;
    }
    let main = pack_main(&npm_out())?;
    let mut built = vec![Built {
        file: main.clone(),
        check: "packed: JS API, loader and optionalDependencies".into(),
    }];
    for a in addons {
        let lib = build(tools, a)?;
        let account = dist_check::check(&lib, &a.expect, "napi_register_module_v1")?;
        let size = std::fs::metadata(&lib).map(|m| m.len()).unwrap_or(0);
        let account = format!("{account}, addon {:.2} MiB", size as f64 / 1048576.0);
        let file = pack_platform(a, &lib, &npm_out())?;
        let check = if a.name == HOST.name {
            let app = install(
                &main,
                &file,
                &crate::util::state_dir().join("dist-try-node"),
            )?;
            run(Command::new("node")
                .args(["-e", QUICK_START])
                .current_dir(&app))?;
            format!("ran: quick start from a fresh install; {account}")
        } else if a.name == "linux-arm64-gnu" {
            crate::dist_qemu::run_node(&main, &file)?;
            format!("ran under qemu (arm64 Debian): quick start; {account}")
        } else {
            format!("inspected: {account}")
        };
        built.push(Built { file, check });
    }
    Ok(built)
}

/// A self-contained quick start: a local HTTP server and one GET through hopsafe.
pub const QUICK_START: &str = r#"
const http = require('node:http')
const hopsafe = require('hopsafe')
const server = http.createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', async () => {
  const r = await new hopsafe.Client().get(`http://127.0.0.1:${server.address().port}/`)
  const text = await r.text()
  server.close()
  if (r.status !== 200 || text !== 'ok') throw new Error(`unexpected ${r.status} ${text}`)
  console.log('  hopsafe', hopsafe.coreVersion(), 'from', require.resolve('hopsafe'), 'GET', r.status)
})
"#;

/// Release build (stripped) of the addon for `a`; returns the library.
fn build(tools: &Tools, a: &Addon) -> Result<PathBuf> {
    let var = |kind: &str| {
        format!(
            "CARGO_TARGET_{}_{kind}",
            a.target.to_uppercase().replace('-', "_")
        )
    };
    // zig for Linux (glibc 2.17 symbols) and macOS (no Apple SDK); cargo itself for Windows
    // (MinGW's gcc as the linker here, MSVC's on a Windows machine). `rustc ... -C
    // strip=symbols` strips the addon only (as maturin does for the wheel), so the
    // dependencies compiled for the wheel of the same target are reused.
    let mut cmd = if a.os == "win32" {
        tools.cmd("cargo")
    } else {
        tools.cmd("cargo-zigbuild")
    };
    cmd.args(["rustc", "--profile", crate::dist::PROFILE, "--target"]);
    // For glibc, zig links against glibc 2.17's symbols (the manylinux2014 baseline).
    cmd.arg(match a.libc {
        Some("glibc") => format!("{}.2.17", a.target),
        _ => a.target.to_owned(),
    });
    if a.libc == Some("musl") {
        // A cdylib on musl must link libc dynamically (Node is the process that loads it).
        cmd.env(var("RUSTFLAGS"), "-C target-feature=-crt-static");
    }
    if a.target.ends_with("windows-msvc") {
        // The MSVC runtime linked in, so the addon needs no vcruntime140.dll (napi-rs's advice).
        cmd.env(var("RUSTFLAGS"), "-C target-feature=+crt-static");
    }
    if a.target.ends_with("windows-gnu") {
        cmd.env("LIBNODE_PATH", libnode_stub()?);
    }
    run(cmd.args([
        "--quiet",
        "-p",
        "hopsafe-node",
        "--lib",
        "--",
        "-C",
        "strip=symbols",
    ]))?;
    let file = match a.os {
        "darwin" => "libhopsafe_node.dylib",
        "win32" => "hopsafe_node.dll",
        _ => "libhopsafe_node.so",
    };
    Ok(target_dir()
        .join(a.target)
        .join(crate::dist::PROFILE)
        .join(file))
}

/// A directory for napi-build's MinGW set-up, which links `-lnode` and insists on finding a
/// `libnode.dll` (no package registry has one). The addon needs neither: with napi's
/// `dyn-symbols` feature (bindings/node/Cargo.toml) it looks Node-API up in the host process
/// when Node loads it. So: an empty import archive `libnode.a` (which the linker reads, and
/// which adds no import) and an empty `libnode.dll` (which only napi-build's check reads).
/// `dist_check` proves the result imports nothing from Node.
fn libnode_stub() -> Result<PathBuf> {
    let dir = crate::util::state_dir().join("libnode-stub");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // An archive with no members is its 8-byte magic.
    std::fs::write(dir.join("libnode.a"), b"!<arch>\n").map_err(|e| e.to_string())?;
    std::fs::write(dir.join("libnode.dll"), b"").map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Stages and packs `hopsafe-<name>` holding `lib`; returns the tarball.
pub fn pack_platform(a: &Addon, lib: &Path, out: &Path) -> Result<PathBuf> {
    let version = version()?;
    let stage = fresh_dir(&target_dir().join("npm-stage").join(a.name))?;
    let binary = format!("hopsafe.{}.node", a.name);
    std::fs::copy(lib, stage.join(&binary)).map_err(|e| format!("{}: {e}", lib.display()))?;
    let mut doc = serde_json::json!({
        "name": format!("hopsafe-{}", a.name),
        "version": version,
        "description": format!("hopsafe's native addon for {} (installed by the hopsafe package)", a.name),
        "license": "MIT OR Apache-2.0",
        "repository": { "type": "git", "url": "git+https://example.invalid/hopsafe.git" },
        "main": binary,
        "files": [binary],
        "os": [a.os],
        "cpu": [a.cpu],
        "engines": { "node": ">=20" },
    });
    if let Some(libc) = a.libc {
        doc["libc"] = serde_json::json!([libc]);
    }
    write_json(&stage.join("package.json"), &doc)?;
    std::fs::write(
        stage.join("README.md"),
        format!(
            "# hopsafe-{}\n\nThe native addon of [hopsafe](https://www.npmjs.com/package/hopsafe) for {}. \
             Install `hopsafe`, which depends on this package on that platform.\n",
            a.name, a.name
        ),
    )
    .map_err(|e| e.to_string())?;
    licenses(&stage)?;
    pack(&stage, out, &format!("hopsafe-{}-", a.name))
}

/// Stages and packs the main package with `optionalDependencies` on every platform package.
pub fn pack_main(out: &Path) -> Result<PathBuf> {
    let stage = fresh_dir(&target_dir().join("npm-stage").join("hopsafe"))?;
    let text =
        std::fs::read_to_string(node_dir().join("package.json")).map_err(|e| e.to_string())?;
    let mut doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let version = version()?;
    for f in doc["files"].as_array().cloned().unwrap_or_default() {
        let f = f.as_str().unwrap_or_default();
        let src = node_dir().join(f);
        if src.exists() {
            std::fs::copy(&src, stage.join(f)).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    let deps: serde_json::Map<String, serde_json::Value> = published()
        .map(|name| (format!("hopsafe-{name}"), version.clone().into()))
        .collect();
    let obj = doc.as_object_mut().ok_or("package.json is not an object")?;
    obj.insert("optionalDependencies".into(), deps.into());
    for dev_only in ["devDependencies", "scripts", "napi"] {
        obj.remove(dev_only);
    }
    write_json(&stage.join("package.json"), &doc)?;
    licenses(&stage)?;
    pack(&stage, out, "hopsafe-")
}

fn licenses(stage: &Path) -> Result {
    for f in ["LICENSE-MIT", "LICENSE-APACHE"] {
        std::fs::copy(root().join(f), stage.join(f)).map_err(|e| format!("{f}: {e}"))?;
    }
    Ok(())
}

fn write_json(path: &Path, doc: &serde_json::Value) -> Result {
    let text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

/// `npm pack` of `stage` into `out`; returns the tarball (named `<prefix>...tgz`).
fn pack(stage: &Path, out: &Path, prefix: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    for old in files_ending(out, ".tgz") {
        let name = old
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let rest = name.strip_prefix(prefix).unwrap_or("-");
        // Only this package's tarballs (hopsafe-0.1.0.tgz is not hopsafe-linux-...).
        if name.starts_with(prefix) && rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            let _ = std::fs::remove_file(old);
        }
    }
    let name = crate::util::output(
        npm()
            .args(["pack", "--silent", "--pack-destination"])
            .arg(out)
            .current_dir(stage),
    )?;
    let file = out.join(name.trim().lines().last().unwrap_or_default());
    if !file.exists() {
        return Err(format!("npm pack made no {}", file.display()));
    }
    Ok(file)
}

/// `npm` (a `.cmd` script on Windows, which `Command` does not find by its bare name).
fn npm() -> Command {
    Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

/// Installs the main and the platform tarball into a new app at `dir` (offline: npm skips
/// the other platforms' optional packages); returns the app directory.
pub fn install(main: &Path, platform: &Path, dir: &Path) -> Result<PathBuf> {
    let app = fresh_dir(dir)?;
    install_into(&app, main, platform, &[])?;
    Ok(app)
}

/// Makes `app` a private package and installs the two tarballs into it offline, with `npm`
/// flags `extra` (another platform's `--cpu`/`--os`/`--libc`, say).
pub fn install_into(app: &Path, main: &Path, platform: &Path, extra: &[&str]) -> Result {
    std::fs::write(app.join("package.json"), r#"{"name":"app","private":true}"#)
        .map_err(|e| e.to_string())?;
    run(npm()
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--offline",
        ])
        .args(extra)
        .arg(main)
        .arg(platform)
        .current_dir(app))
}
