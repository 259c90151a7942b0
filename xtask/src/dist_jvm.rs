//! The JVM and Android parts of `cargo xtask dist`, into `target/dist/`:
//! - `maven/`: a Maven repository (publishable as is) holding `dev.hopsafe:hopsafe-kotlin`: the
//!   jar with `libhopsafe_ffi` at JNA's resource path for the host (with `--all`: also Linux
//!   aarch64, macOS arm64/x86_64 via cargo-zigbuild, Windows x86_64 via mingw-w64), sources and
//!   javadoc jars, POM; and `dev.hopsafe:hopsafe-android` when an Android NDK is available.
//! - `android/`: the AAR (xtask/src/dist_android.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kotlin::{check_artefact, deploy, generate, host_target, jna_resource};
use crate::util::{cargo, cross_tools, have, mkdir, output, root, run, target_dir, Result};

pub const VERSION: &str = "0.1.0";

/// Desktop/server targets beyond the host that `--all` puts in the jar.
const CROSS_TARGETS: &[&str] = &[
    "aarch64-unknown-linux-gnu",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-gnu",
];

pub fn dist_dir() -> PathBuf {
    target_dir().join("dist")
}

/// Builds the shipped `hopsafe_ffi` library (profile `dist-release`) for `target` and returns
/// its path.
pub fn build_native(target: &str, path: &str) -> Result<PathBuf> {
    let (_, file) = jna_resource(target).ok_or(format!("no JNA resource path for {target}"))?;
    let profile = crate::dist::PROFILE;
    let host = target == host_target();
    // zig links Linux against glibc 2.17 and macOS without an Apple SDK.
    let zig = !host && (target.ends_with("linux-gnu") || target.contains("apple"));
    let mut cmd = if zig {
        Command::new("cargo-zigbuild")
    } else {
        cargo()
    };
    // The cdylib alone: built together with the rlib (Cargo.toml's crate-type), the macOS and
    // Windows libraries export every Rust symbol (15,000 on macOS arm64, 9.2 MiB instead of
    // 2.7 MiB), which also keeps all their code alive.
    cmd.args([
        "rustc",
        "--profile",
        profile,
        "-p",
        "hopsafe-ffi",
        "--lib",
        "--crate-type",
        "cdylib",
    ]);
    if !host {
        let suffix = if zig && target.ends_with("linux-gnu") {
            ".2.17"
        } else {
            ""
        };
        cmd.arg("--target").arg(format!("{target}{suffix}"));
        // Stripped when linked, exported symbols kept (as the wheel and the addon are). Not
        // the host library: uniffi-bindgen reads its metadata symbols (strip_copy strips the
        // copy that ships).
        cmd.args(["--", "-C", "strip=symbols"]);
    }
    run(cmd.env("PATH", path).current_dir(root()))?;
    let dir = if host {
        target_dir()
    } else {
        target_dir().join(target)
    };
    Ok(dir.join(profile).join(file))
}

/// Copies `lib` to `to` without symbols it does not export.
pub fn strip_copy(lib: &Path, to: &Path) -> Result {
    if let Some(dir) = to.parent() {
        mkdir(dir)?;
    }
    if lib.extension().is_some_and(|e| e == "dylib") && !cfg!(target_os = "macos") {
        // A cross-built dylib comes stripped from build_native (rustc's `strip=symbols`), and
        // LLVM 14's llvm-strip crashes on a dylib stripped that way.
        return std::fs::copy(lib, to)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", lib.display()));
    }
    let tool = if cfg!(target_os = "macos") {
        "strip"
    } else if have("llvm-strip") {
        "llvm-strip"
    } else {
        "strip"
    };
    let mut cmd = Command::new(tool);
    // Mach-O: drop local symbols (llvm-strip has no --strip-unneeded for it); ELF/PE: unneeded.
    if lib.extension().is_some_and(|e| e == "dylib" || e == "a") {
        cmd.arg("-x");
    } else {
        cmd.arg("--strip-unneeded");
    }
    run(cmd.arg("-o").arg(to).arg(lib))
}

/// The machine a binary is for, read from its header: ELF, Mach-O (thin) or PE.
pub fn machine(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let u16le = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32le = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let kind = if bytes.starts_with(b"\x7fELF") {
        match u16le(18) {
            Some(62) => "elf-x86_64",
            Some(183) => "elf-aarch64",
            Some(40) => "elf-arm",
            Some(3) => "elf-x86",
            _ => "elf-other",
        }
    } else if u32le(0) == Some(0xfeed_facf) {
        match u32le(4) {
            Some(0x0100_000c) => "macho-arm64",
            Some(0x0100_0007) => "macho-x86_64",
            _ => "macho-other",
        }
    } else if bytes.starts_with(b"MZ") {
        let pe = u32le(0x3c).unwrap_or(0) as usize;
        match (bytes.get(pe..pe + 4), u16le(pe + 4)) {
            (Some(b"PE\0\0"), Some(0x8664)) => "pe-x86_64",
            _ => "pe-other",
        }
    } else {
        "unknown"
    };
    Ok(kind.to_owned())
}

/// How many uniffi entry points (`uniffi_hopsafe_ffi_fn_*`) a library exports: the dynamic
/// symbols of an ELF or Mach-O library, the export table of a DLL.
pub fn uniffi_exports(lib: &Path) -> Result<usize> {
    let nm = if cfg!(target_os = "macos") {
        "nm"
    } else {
        "llvm-nm"
    };
    let text = if lib.extension().is_some_and(|e| e == "dll") {
        let objdump = if have("llvm-objdump") {
            "llvm-objdump"
        } else {
            "x86_64-w64-mingw32-objdump"
        };
        output(Command::new(objdump).arg("-p").arg(lib))?
    } else if lib.extension().is_some_and(|e| e == "so") {
        output(Command::new(nm).args(["-D", "--defined-only"]).arg(lib))?
    } else {
        output(Command::new(nm).args(["-g", "--defined-only"]).arg(lib))?
    };
    Ok(text
        .lines()
        .filter(|l| l.contains("uniffi_hopsafe_ffi_fn_"))
        .count())
}

/// The header each JVM target's library must have.
fn expected_machine(target: &str) -> &'static str {
    match target {
        "x86_64-unknown-linux-gnu" => "elf-x86_64",
        "aarch64-unknown-linux-gnu" => "elf-aarch64",
        "aarch64-apple-darwin" => "macho-arm64",
        "x86_64-apple-darwin" => "macho-x86_64",
        _ => "pe-x86_64",
    }
}

pub fn size_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0
}

/// `cargo xtask dist` (JVM and Android parts); `all` adds the cross-built platforms.
pub fn dist(all: bool) -> Result {
    let host = host_target();
    let mut targets = vec![host];
    if all {
        targets.extend(CROSS_TARGETS.iter().filter(|t| **t != host));
    }
    let path = if all {
        cross_tools(&targets)?.path()
    } else {
        std::env::var("PATH").unwrap_or_default()
    };
    // The bindgen `generate` runs (built with the debug library, as the test steps build it).
    crate::kotlin::build_cdylib()?;
    let native = dist_dir().join("jvm-native");
    let _ = std::fs::remove_dir_all(&native);
    let mut host_lib = None;
    for t in &targets {
        let lib = build_native(t, &path)?;
        let (dir, file) = jna_resource(t).ok_or("no JNA resource path")?;
        let staged = native.join(dir).join(file);
        strip_copy(&lib, &staged)?;
        let kind = machine(&staged)?;
        if kind != expected_machine(t) {
            return Err(format!(
                "{}: {kind}, expected {}",
                staged.display(),
                expected_machine(t)
            ));
        }
        let exports = uniffi_exports(&staged)?;
        if exports == 0 {
            return Err(format!(
                "{}: no uniffi entry points exported",
                staged.display()
            ));
        }
        eprintln!(
            "  {dir}/{file}: {kind}, {:.1} MiB, {exports} uniffi functions exported",
            size_mib(&staged)
        );
        if *t == host {
            host_lib = Some(lib);
        }
    }
    let project = root().join("bindings/uniffi/kotlin");
    generate(
        "kotlin",
        &host_lib.ok_or("the host library was not built")?,
        &project.join("target/generated-sources/uniffi"),
    )?;
    let repo = dist_dir().join("maven");
    deploy(&native, &repo, true, None)?;
    check_artefact(&repo, &targets)?;
    crate::kotlin::deploy_adapters(&repo)?;
    if all && host == "x86_64-unknown-linux-gnu" {
        // The jar's linux-aarch64 library, run by an arm64 JVM under qemu.
        crate::dist_qemu::run_jvm(&repo)?;
    }
    crate::dist_android::aar(&project.join("target/classes"), &repo, &path)
}
