//! Checks of built native libraries by inspection (LLVM's binary tools read ELF, Mach-O and
//! PE alike): file format and architecture, the exported entry point, and every dynamic
//! dependency inside the platform's allowed set.

use std::path::Path;
use std::process::Command;

use crate::util::{output, Result};

/// What a platform's binary must look like.
pub struct Expect {
    /// `llvm-readobj`'s `Format:` line, e.g. `elf64-x86-64`, `Mach-O arm64`, `COFF-x86-64`.
    pub format: &'static str,
    /// Libraries it may load (matched case-insensitively as file-name prefixes; an entry
    /// ending in `/` allows a directory, as macOS names system libraries by path).
    pub allowed: &'static [&'static str],
    /// The highest glibc symbol version it may need (manylinux policy), if glibc.
    pub max_glibc: Option<(u32, u32)>,
}

/// glibc libraries of the manylinux policy (PEP 599/600; the ones a Rust library can use).
pub const GLIBC: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libgcc_s.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "ld-linux",
];
/// musl: libc (and libgcc_s, which musllinux allows).
pub const MUSL: &[&str] = &["libc.so", "libc.musl-", "ld-musl-", "libgcc_s.so.1"];
/// macOS: system libraries and frameworks only.
pub const MACOS: &[&str] = &["/usr/lib/", "/System/Library/Frameworks/"];
/// Windows system DLLs, plus `extra`.
macro_rules! windows_system {
    ($($extra:literal),*) => {
        &[
            "kernel32.dll",
            "ntdll.dll",
            "ws2_32.dll",
            "advapi32.dll",
            "bcrypt.dll",
            "bcryptprimitives.dll",
            "userenv.dll",
            "msvcrt.dll",
            "crypt32.dll",
            "secur32.dll",
            "user32.dll",
            "shell32.dll",
            "ole32.dll",
            "api-ms-win-",
            $($extra),*
        ]
    };
}
/// Windows, for the wheel: system DLLs, the stable-ABI `python3.dll` and the MSVC runtime
/// that every python.org CPython ships beside itself (an MSVC-built wheel links it).
pub const WINDOWS: &[&str] = windows_system!("python3.dll", "vcruntime140");
/// Windows, for the Node addon: system DLLs and `node.exe` (napi-rs resolves Node-API in the
/// host process at load time, so a build normally imports nothing from Node at all). No MSVC
/// runtime: the MSVC build links it statically (`+crt-static`), as napi-rs recommends.
pub const WINDOWS_NODE: &[&str] = windows_system!("node.exe");

fn tool(name: &str) -> Result<Command> {
    crate::util::apt(&[name], &["llvm"])?;
    Ok(Command::new(name))
}

/// Checks `lib` and returns a one-line account (`format, exports SYMBOL, N deps ok`).
pub fn check(lib: &Path, expect: &Expect, symbol: &str) -> Result<String> {
    let name = lib.display();
    let headers = output(tool("llvm-readobj")?.arg("--file-headers").arg(lib))?;
    let format = headers
        .lines()
        .find_map(|l| l.trim().strip_prefix("Format: "))
        .unwrap_or("?");
    if format != expect.format {
        return Err(format!(
            "{name}: format {format}, expected {}",
            expect.format
        ));
    }
    let coff = format.starts_with("COFF");
    let exports = if coff {
        output(tool("llvm-readobj")?.arg("--coff-exports").arg(lib))?
    } else {
        // ELF exports live in the dynamic symbol table; Mach-O has none (nm reads the symtab).
        let table = if format.starts_with("elf") {
            "-D"
        } else {
            "-g"
        };
        output(
            tool("llvm-nm")?
                .args(["--extern-only", "--defined-only", table])
                .arg(lib),
        )?
    };
    let exported = exports.split_whitespace().any(|w| {
        w == symbol || w.strip_prefix('_') == Some(symbol) || w == format!("Name:{symbol}")
    }) || exports.contains(&format!("Name: {symbol}"));
    if !exported {
        return Err(format!("{name}: does not export {symbol}"));
    }
    let deps = needed(lib, format)?;
    for d in &deps {
        let ok = expect.allowed.iter().any(|a| {
            let (d, a) = (d.to_ascii_lowercase(), a.to_ascii_lowercase());
            if a.ends_with('/') {
                d.starts_with(&a)
            } else {
                Path::new(&d)
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(&a))
            }
        });
        if !ok {
            return Err(format!(
                "{name}: depends on {d}, outside the platform's allowed set"
            ));
        }
    }
    let mut glibc = String::new();
    if let Some((maj, min)) = expect.max_glibc {
        let top = max_glibc(lib)?;
        if top > (maj, min) {
            return Err(format!(
                "{name}: needs GLIBC_{}.{}, above {maj}.{min}",
                top.0, top.1
            ));
        }
        glibc = format!(", max GLIBC_{}.{}", top.0, top.1);
    }
    Ok(format!(
        "{format}, exports {symbol}, {} deps allowed ({}){glibc}",
        deps.len(),
        deps.join(" ")
    ))
}

/// The libraries `lib` loads.
fn needed(lib: &Path, format: &str) -> Result<Vec<String>> {
    if format.starts_with("COFF") {
        let text = output(tool("llvm-readobj")?.arg("--coff-imports").arg(lib))?;
        return Ok(text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Name: "))
            .map(str::to_owned)
            .collect());
    }
    let text = output(tool("llvm-readobj")?.arg("--needed-libs").arg(lib))?;
    let mut in_list = false;
    let mut libs = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("NeededLibraries") {
            in_list = true;
        } else if in_list && l == "]" {
            in_list = false;
        } else if in_list && !l.is_empty() {
            libs.push(l.to_owned());
        }
    }
    if format.starts_with("Mach-O") {
        // A dylib lists its own install name (LC_ID_DYLIB) among the libraries: not a dependency.
        let id = output(
            tool("llvm-objdump")?
                .args(["--macho", "--dylib-id"])
                .arg(lib),
        )?;
        let id = id.lines().nth(1).unwrap_or_default().trim().to_owned();
        libs.retain(|l| *l != id);
    }
    if libs.is_empty() && format.starts_with("Mach-O") {
        // Mach-O: the load commands name the dylibs.
        let text = output(tool("llvm-objdump")?.arg("--macho").arg("-L").arg(lib))?;
        libs = text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect();
    }
    Ok(libs)
}

/// The highest `GLIBC_x.y` version `lib` references.
fn max_glibc(lib: &Path) -> Result<(u32, u32)> {
    let text = output(tool("llvm-objdump")?.arg("-T").arg(lib))?;
    let mut top = (0, 0);
    for word in text.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        if let Some(v) = word.strip_prefix("GLIBC_") {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            let ver = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
            top = top.max(ver);
        }
    }
    Ok(top)
}
