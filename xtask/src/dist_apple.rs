//! The Swift/Apple part of `cargo xtask dist`, into `target/dist/swift/`:
//! - `Hopsafe/`: the SwiftPM package users depend on (generated Swift and header, the host's
//!   release `libhopsafe_ffi` in `lib/`), the layout the swift test step builds and uses.
//! - with `--all`: `hopsafe_ffiFFI.xcframework` (static `libhopsafe_ffi.a` per platform, the
//!   header and a module map, an `Info.plist` written and checked here), its zip with the
//!   SwiftPM checksum, and `Hopsafe-apple/`, the package with that XCFramework as its
//!   `binaryTarget`. On macOS (the release workflow) the slices are built with Xcode's
//!   toolchain, simulator slices included, and the package is built with `swift build`; on
//!   Linux the iOS device and macOS slices are a compile check through `zig cc` (no Apple SDK),
//!   never a release build.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dist_jvm::{build_native, strip_copy};
use crate::kotlin::{generate, host_target, write};
use crate::swift::{assemble_package, copy};
use crate::util::{
    cargo, cross_tools, output, root, run, rust_targets, state_dir, target_dir, Result, Tools,
};

/// One XCFramework library: identifier, platform, variant, and (Rust target, arch) per slice.
struct Slice {
    id: &'static str,
    platform: &'static str,
    variant: Option<&'static str>,
    archs: &'static [(&'static str, &'static str)],
}

/// With Xcode (macOS): device, simulator and universal macOS libraries.
const SLICES_XCODE: &[Slice] = &[
    Slice {
        id: "ios-arm64",
        platform: "ios",
        variant: None,
        archs: &[("aarch64-apple-ios", "arm64")],
    },
    Slice {
        id: "ios-arm64_x86_64-simulator",
        platform: "ios",
        variant: Some("simulator"),
        archs: &[
            ("aarch64-apple-ios-sim", "arm64"),
            ("x86_64-apple-ios", "x86_64"),
        ],
    },
    Slice {
        id: "macos-arm64_x86_64",
        platform: "macos",
        variant: None,
        archs: &[
            ("aarch64-apple-darwin", "arm64"),
            ("x86_64-apple-darwin", "x86_64"),
        ],
    },
];

/// Elsewhere (zig, a compile check): the device and macOS arm64 libraries, one architecture
/// each (off macOS no lipo reads rustc's archives).
const SLICES_ZIG: &[Slice] = &[
    Slice {
        id: "ios-arm64",
        platform: "ios",
        variant: None,
        archs: &[("aarch64-apple-ios", "arm64")],
    },
    Slice {
        id: "macos-arm64",
        platform: "macos",
        variant: None,
        archs: &[("aarch64-apple-darwin", "arm64")],
    },
];

/// The module map inside the XCFramework (the binary target links the archive itself).
const MODULEMAP: &str =
    "module hopsafe_ffiFFI {\n    header \"hopsafe_ffiFFI.h\"\n    export *\n}\n";

fn swift_dist() -> PathBuf {
    target_dir().join("dist/swift")
}

fn size_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0
}

/// `cargo xtask dist` (Swift and Apple parts); `all` adds the XCFramework.
pub fn dist(all: bool) -> Result {
    // The bindgen `generate` runs (built with the debug library, as the test steps build it).
    crate::kotlin::build_cdylib()?;
    let path = std::env::var("PATH").unwrap_or_default();
    let lib = build_native(host_target(), &path)?;
    let gen = target_dir().join("swift-gen");
    generate("swift", &lib, &gen)?;
    let stripped = gen.join(lib.file_name().ok_or("library has no name")?);
    strip_copy(&lib, &stripped)?;
    let package = swift_dist().join("Hopsafe");
    assemble_package(&package, &gen, Some(&stripped), false)?;
    eprintln!(
        "  {}: SwiftPM package, library {:.1} MiB",
        package.display(),
        size_mib(&stripped)
    );
    if all {
        xcframework(&gen)?;
    }
    Ok(())
}

/// The zig C compiler for an Apple `target`, as a wrapper that drops the `--target=` and
/// `-isysroot` flags cc-rs adds for Apple targets (zig brings its own darwin headers).
fn zig_cc(target: &str, python: &Path) -> Result<PathBuf> {
    let zig_target = match target {
        "aarch64-apple-ios" => "aarch64-ios",
        "aarch64-apple-darwin" => "aarch64-macos",
        "x86_64-apple-darwin" => "x86_64-macos",
        _ => return Err(format!("no zig recipe for {target}")),
    };
    let wrapper = state_dir()
        .join("cross")
        .join(format!("zigcc-{zig_target}"));
    let script = format!(
        "#!/bin/sh\n# zig cc for {target}, without the flags cc-rs adds for an Apple SDK.\n\
         n=$#; skip=0\n\
         for a in \"$@\"; do\n\
         \x20 if [ $skip = 1 ]; then skip=0\n\
         \x20 elif [ \"$a\" = -isysroot ]; then skip=1\n\
         \x20 else case \"$a\" in --target=*|-isysroot*) ;; *) set -- \"$@\" \"$a\" ;; esac\n\
         \x20 fi\n\
         done\n\
         shift $n\n\
         exec '{}' -m ziglang cc -target {zig_target} \"$@\"\n",
        python.display()
    );
    write(&wrapper, &script)?;
    run(Command::new("chmod").arg("+x").arg(&wrapper))?;
    Ok(wrapper)
}

/// Builds `libhopsafe_ffi.a` for an Apple `target`; returns its path.
fn build_static(target: &str, path: &str) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args([
        "rustc",
        "--release",
        "-p",
        "hopsafe-ffi",
        "--lib",
        "--target",
        target,
    ])
    .args([
        "--crate-type",
        "staticlib",
        "--",
        "--print",
        "native-static-libs",
    ])
    .env("PATH", path)
    .current_dir(root());
    if !cfg!(target_os = "macos") {
        let python = Tools::ensure()?.python();
        let zig_lib = output(Command::new(&python).args([
            "-c",
            "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'lib'))",
        ]))?;
        let sdk = state_dir().join("cross/empty-sdk");
        std::fs::create_dir_all(&sdk)
            .map_err(|e| format!("cannot create {}: {e}", sdk.display()))?;
        let t = target.replace('-', "_");
        cmd.env("SDKROOT", &sdk)
            .env(format!("CC_{t}"), zig_cc(target, &python)?)
            .env(format!("AR_{t}"), "llvm-ar")
            .env(
                format!("CFLAGS_{t}"),
                format!("-isystem {}/libc/include/any-darwin-any", zig_lib.trim()),
            );
    }
    run(&mut cmd)?;
    Ok(target_dir().join(target).join("release/libhopsafe_ffi.a"))
}

/// The LLVM tools matching rustc (`rustup component add llvm-tools`): Debian's LLVM is too old
/// to read rustc's archives. Xcode's tools on macOS.
fn llvm_tool(name: &str) -> Result<PathBuf> {
    if cfg!(target_os = "macos") {
        return Ok(PathBuf::from(name));
    }
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let bin = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host_target())
        .join("bin");
    if !bin.join(format!("llvm-{name}")).exists() {
        run(Command::new("rustup").args(["component", "add", "llvm-tools"]))?;
    }
    Ok(bin.join(format!("llvm-{name}")))
}

/// The architectures of the objects in a (thin or universal) static library.
fn archs_of(lib: &Path) -> Result<Vec<String>> {
    let mut archs: Vec<String> = if cfg!(target_os = "macos") {
        let info = output(Command::new("lipo").arg("-info").arg(lib))?;
        let list = info.rsplit(':').next().unwrap_or("");
        list.split_whitespace().map(str::to_owned).collect()
    } else {
        let headers = output(
            Command::new(llvm_tool("readobj")?)
                .arg("--file-headers")
                .arg(lib),
        )?;
        headers
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Format: Mach-O "))
            .map(str::to_owned)
            .collect()
    };
    archs.sort();
    archs.dedup();
    Ok(archs)
}

/// Builds every slice this machine can, lays out, writes and checks the XCFramework, zips it
/// and writes the package that uses it.
fn xcframework(gen: &Path) -> Result {
    let slices: Vec<&Slice> = if cfg!(target_os = "macos") {
        SLICES_XCODE.iter().collect()
    } else {
        SLICES_ZIG.iter().collect()
    };
    let targets: Vec<&str> = slices
        .iter()
        .flat_map(|s| s.archs.iter().map(|a| a.0))
        .collect();
    // Xcode's toolchain on macOS; zig (from the cross-build venv) elsewhere.
    let path = if cfg!(target_os = "macos") {
        rust_targets(&targets)?;
        std::env::var("PATH").unwrap_or_default()
    } else {
        cross_tools(&targets)?.path()
    };
    let xcf = swift_dist().join("hopsafe_ffiFFI.xcframework");
    let _ = std::fs::remove_dir_all(&xcf);
    for s in &slices {
        let dir = xcf.join(s.id);
        let headers = dir.join("Headers");
        copy(
            &gen.join("hopsafe_ffiFFI.h"),
            &headers.join("hopsafe_ffiFFI.h"),
        )?;
        write(&headers.join("module.modulemap"), MODULEMAP)?;
        let libs = s
            .archs
            .iter()
            .map(|(t, _)| build_static(t, &path))
            .collect::<Result<Vec<_>>>()?;
        let out = dir.join("libhopsafe_ffi.a");
        if let [one] = libs.as_slice() {
            copy(one, &out)?;
        } else {
            run(Command::new("lipo")
                .arg("-create")
                .args(&libs)
                .arg("-output")
                .arg(&out))?;
        }
    }
    write(&xcf.join("Info.plist"), &info_plist(&slices))?;
    check_xcframework(&xcf, &slices)?;
    let zip = swift_dist().join("hopsafe_ffiFFI.xcframework.zip");
    let _ = std::fs::remove_file(&zip);
    run(Command::new("python3")
        .args(["-m", "zipfile", "-c"])
        .arg(&zip)
        .arg("hopsafe_ffiFFI.xcframework")
        .current_dir(swift_dist()))?;
    let sum = output(Command::new("python3").arg("-c").arg(
        "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
    ).arg(&zip))?;
    write(
        &swift_dist().join("hopsafe_ffiFFI.xcframework.zip.sha256"),
        &sum,
    )?;
    eprintln!(
        "  {}: {:.1} MiB, SwiftPM checksum {}",
        zip.display(),
        size_mib(&zip),
        sum.trim()
    );
    let package = swift_dist().join("Hopsafe-apple");
    assemble_package(&package, gen, None, false)?;
    run(Command::new("cp")
        .arg("-R")
        .arg(&xcf)
        .arg(package.join("hopsafe_ffiFFI.xcframework")))?;
    if cfg!(target_os = "macos") {
        run(Command::new("swift")
            .args(["build", "--package-path"])
            .arg(&package))?;
    }
    Ok(())
}

/// The XCFramework's Info.plist (the format `xcodebuild -create-xcframework` writes).
fn info_plist(slices: &[&Slice]) -> String {
    let mut libs = String::new();
    for s in slices {
        let archs: String = s
            .archs
            .iter()
            .map(|(_, a)| format!("\t\t\t\t<string>{a}</string>\n"))
            .collect();
        let variant = s
            .variant
            .map(|v| {
                format!("\t\t\t<key>SupportedPlatformVariant</key>\n\t\t\t<string>{v}</string>\n")
            })
            .unwrap_or_default();
        libs.push_str(&format!(
            "\t\t<dict>\n\
             \t\t\t<key>HeadersPath</key>\n\t\t\t<string>Headers</string>\n\
             \t\t\t<key>LibraryIdentifier</key>\n\t\t\t<string>{}</string>\n\
             \t\t\t<key>LibraryPath</key>\n\t\t\t<string>libhopsafe_ffi.a</string>\n\
             \t\t\t<key>SupportedArchitectures</key>\n\t\t\t<array>\n{archs}\t\t\t</array>\n\
             \t\t\t<key>SupportedPlatform</key>\n\t\t\t<string>{}</string>\n{variant}\
             \t\t</dict>\n",
            s.id, s.platform
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\">\n<dict>\n\
         \t<key>AvailableLibraries</key>\n\t<array>\n{libs}\t</array>\n\
         \t<key>CFBundlePackageType</key>\n\t<string>XFWK</string>\n\
         \t<key>XCFrameworkFormatVersion</key>\n\t<string>1.0</string>\n\
         </dict>\n</plist>\n"
    )
}

/// The texts of `<tag>...</tag>` elements in `xml`, in order.
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(v, _)| v))
        .collect()
}

/// Checks the written XCFramework: the plist is well formed (every tag closed, keys paired with
/// values) and names exactly the libraries on disk; each library is an archive of the listed
/// architectures exporting the uniffi entry points; each has the header and module map.
fn check_xcframework(xcf: &Path, slices: &[&Slice]) -> Result {
    let plist = std::fs::read_to_string(xcf.join("Info.plist")).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let mut stack = Vec::new();
    for tag in plist
        .split('<')
        .skip(1)
        .filter_map(|t| t.split_once('>').map(|(t, _)| t))
    {
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        match tag.strip_prefix('/') {
            Some(name) if stack.pop() != Some(name) => {
                problems.push(format!("</{name}> unbalanced"))
            }
            Some(_) => {}
            None => stack.push(tag.split(' ').next().unwrap_or(tag)),
        }
    }
    if !stack.is_empty() {
        problems.push(format!("unclosed tags {stack:?}"));
    }
    let ids: Vec<&str> = elements(&plist, "string")
        .into_iter()
        .filter(|s| slices.iter().any(|sl| sl.id == *s))
        .collect();
    if ids.len() != slices.len() || elements(&plist, "dict").is_empty() {
        problems.push(format!("the plist names {ids:?}"));
    }
    for entry in std::fs::read_dir(xcf).map_err(|e| e.to_string())?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "Info.plist" && !ids.contains(&name.as_str()) {
            problems.push(format!("{name} is not in the plist"));
        }
    }
    let nm = llvm_tool("nm")?;
    for s in slices {
        let dir = xcf.join(s.id);
        for f in ["Headers/hopsafe_ffiFFI.h", "Headers/module.modulemap"] {
            if !dir.join(f).exists() {
                problems.push(format!("{}/{f} missing", s.id));
            }
        }
        let lib = dir.join("libhopsafe_ffi.a");
        let found = archs_of(&lib)?;
        let mut want: Vec<&str> = s.archs.iter().map(|a| a.1).collect();
        want.sort();
        if found != want {
            problems.push(format!(
                "{}: architectures {found:?}, expected {want:?}",
                s.id
            ));
        }
        let syms = output(
            Command::new(&nm)
                .args(["-g", "--defined-only", "--quiet"])
                .arg(&lib),
        )?;
        let exported = syms
            .lines()
            .filter(|l| l.contains(" T _uniffi_hopsafe_ffi_fn_"))
            .count();
        if exported == 0 {
            problems.push(format!("{}: no uniffi entry points", s.id));
        }
        eprintln!(
            "  {}: {} ({:.1} MiB), {exported} uniffi symbols",
            s.id,
            want.join("+"),
            size_mib(&lib)
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", xcf.display(), problems.join("; ")))
    }
}
