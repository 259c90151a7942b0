//! The JVM and Android parts of `cargo xtask dist`, into `target/dist/`:
//! - `maven/`: a Maven repository (publishable as is) holding `dev.hopsafe:hopsafe-kotlin`: the
//!   jar with `libhopsafe_ffi` at JNA's resource path for the host (with `--all`: also Linux
//!   aarch64, macOS arm64/x86_64 via cargo-zigbuild, Windows x86_64 via mingw-w64), sources and
//!   javadoc jars, POM; and `dev.hopsafe:hopsafe-android` when an Android NDK is available.
//! - `android/`: the AAR assembled and checked. Without an NDK (`ANDROID_NDK_HOME`) its
//!   `jni/<abi>/` slots stay empty and it is written as `hopsafe-android-<v>-nolibs.aar`, a
//!   layout check only, never published.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kotlin::{check_artefact, deploy, generate, host_target, jna_resource};
use crate::util::{cargo, have, output, root, run, state_dir, target_dir, Result};

const VERSION: &str = "0.1.0";

/// Desktop/server targets beyond the host that `--all` puts in the jar.
const CROSS_TARGETS: &[&str] = &[
    "aarch64-unknown-linux-gnu",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-gnu",
];

/// Android ABIs: (AAR folder, Rust target, ELF machine).
const ABIS: &[(&str, &str, u16)] = &[
    ("arm64-v8a", "aarch64-linux-android", 183),
    ("armeabi-v7a", "armv7-linux-androideabi", 40),
    ("x86_64", "x86_64-linux-android", 62),
    ("x86", "i686-linux-android", 3),
];

/// Consumer R8/ProGuard rules shipped in the AAR (`proguard.txt`).
const CONSUMER_RULES: &str =
    "# hopsafe: JNA calls into libhopsafe_ffi by reflection; keep JNA and the generated bindings.
-keep class com.sun.jna.** { *; }
-keepclassmembers class * extends com.sun.jna.** { public *; }
-keep class dev.hopsafe.** { *; }
-dontwarn java.awt.**
";

const MANIFEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="dev.hopsafe">
    <uses-sdk android:minSdkVersion="24" />
    <uses-permission android:name="android.permission.INTERNET" />
</manifest>
"#;

fn dist_dir() -> PathBuf {
    target_dir().join("dist")
}

fn mkdir(dir: &Path) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Installs what cross builds need, once: the Rust targets, zig and cargo-zigbuild (PyPI, in
/// `.hopsafe/cross`), mingw-w64 for Windows. Returns a PATH with the venv's tools first.
pub fn cross_path(targets: &[&str]) -> Result<String> {
    ensure_targets(targets)?;
    if targets.iter().any(|t| t.ends_with("windows-gnu")) && !have("x86_64-w64-mingw32-gcc") {
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get").args(["install", "-y", "gcc-mingw-w64-x86-64"]))?;
    }
    let python = crate::python::ensure_venv(
        &state_dir().join("cross"),
        &[("ziglang", "0.17.1"), ("cargo_zigbuild", "0.24.1")],
    )?;
    let bin = python.parent().ok_or("venv has no bin")?;
    Ok(format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    ))
}

/// `rustup target add` for the targets not installed yet.
pub fn ensure_targets(targets: &[&str]) -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = targets
        .iter()
        .map(|t| t.trim_end_matches(".2.17"))
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        run(Command::new("rustup")
            .args(["target", "add"])
            .args(&missing))?;
    }
    Ok(())
}

/// Builds the release `hopsafe_ffi` library for `target` and returns its path.
pub fn build_native(target: &str, path: &str) -> Result<PathBuf> {
    let (_, file) = jna_resource(target).ok_or(format!("no JNA resource path for {target}"))?;
    let mut cmd = cargo();
    if target == host_target() {
        cmd.args(["build", "--release", "-p", "hopsafe-ffi"]);
        return run(cmd.current_dir(root())).map(|()| target_dir().join("release").join(file));
    }
    if target.ends_with("linux-gnu") || target.contains("apple") {
        // zig links Linux against glibc 2.17 and macOS without an Apple SDK.
        let suffix = if target.ends_with("linux-gnu") {
            ".2.17"
        } else {
            ""
        };
        cmd.args(["zigbuild", "--release", "-p", "hopsafe-ffi", "--target"])
            .arg(format!("{target}{suffix}"));
    } else {
        cmd.args([
            "build",
            "--release",
            "-p",
            "hopsafe-ffi",
            "--target",
            target,
        ]);
    }
    run(cmd.env("PATH", path).current_dir(root()))?;
    Ok(target_dir().join(target).join("release").join(file))
}

/// Copies `lib` to `to` without symbols it does not export.
pub fn strip_copy(lib: &Path, to: &Path) -> Result {
    if let Some(dir) = to.parent() {
        mkdir(dir)?;
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

fn size_mib(path: &Path) -> f64 {
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
        cross_path(&targets)?
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
    android(&project.join("target/classes"), &repo, &path)
}

/// Builds the Android libraries with cargo-ndk when an NDK is available; returns their folder
/// (`<abi>/libhopsafe_ffi.so`) or `None`.
fn android_libs(path: &str) -> Result<Option<PathBuf>> {
    let ndk = [
        "ANDROID_NDK_HOME",
        "ANDROID_NDK_ROOT",
        "ANDROID_NDK_LATEST_HOME",
    ]
    .iter()
    .find_map(|v| std::env::var_os(v).filter(|p| Path::new(p).is_dir()));
    let Some(ndk) = ndk else {
        eprintln!("  no Android NDK (ANDROID_NDK_HOME): the AAR's jni/<abi>/ slots stay empty");
        return Ok(None);
    };
    let targets: Vec<&str> = ABIS.iter().map(|a| a.1).collect();
    cross_path(&targets)?;
    if !have("cargo-ndk") {
        run(cargo().args(["install", "--locked", "cargo-ndk", "--version", "3.5.4"]))?;
    }
    let out = target_dir().join("android-jni");
    let mut cmd = cargo();
    cmd.args(["ndk", "--platform", "24", "-o"]).arg(&out);
    for (abi, _, _) in ABIS {
        cmd.args(["-t", abi]);
    }
    cmd.args(["build", "--release", "-p", "hopsafe-ffi"])
        .env("ANDROID_NDK_HOME", ndk)
        .env("PATH", path)
        .current_dir(root());
    run(&mut cmd)?;
    Ok(Some(out))
}

/// Assembles the AAR from the compiled classes (without the desktop libraries) and, when
/// built, the Android libraries; checks it; publishes it into `repo` only when complete.
fn android(classes: &Path, repo: &Path, path: &str) -> Result {
    let libs = android_libs(path)?;
    let stage = dist_dir().join("android/aar");
    let _ = std::fs::remove_dir_all(&stage);
    mkdir(&stage)?;
    crate::kotlin::write(&stage.join("AndroidManifest.xml"), MANIFEST)?;
    crate::kotlin::write(&stage.join("proguard.txt"), CONSUMER_RULES)?;
    crate::kotlin::write(&stage.join("R.txt"), "")?;
    run(Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(stage.join("classes.jar"))
        .arg("-C")
        .arg(classes)
        .arg("dev")
        .arg("-C")
        .arg(classes)
        .arg("META-INF/hopsafe-kotlin.kotlin_module"))?;
    for (abi, _, _) in ABIS {
        let slot = stage.join("jni").join(abi);
        mkdir(&slot)?;
        if let Some(libs) = &libs {
            strip_copy(
                &libs.join(abi).join("libhopsafe_ffi.so"),
                &slot.join("libhopsafe_ffi.so"),
            )?;
        }
    }
    let name = if libs.is_some() {
        format!("hopsafe-android-{VERSION}")
    } else {
        format!("hopsafe-android-{VERSION}-nolibs")
    };
    let aar = dist_dir().join("android").join(format!("{name}.aar"));
    let _ = std::fs::remove_file(&aar);
    run(Command::new("jar")
        .args(["--create", "--no-manifest", "--file"])
        .arg(&aar)
        .arg("-C")
        .arg(&stage)
        .arg("."))?;
    check_aar(&aar, &stage, libs.is_some())?;
    let pom = dist_dir().join("android").join(format!("{name}.pom"));
    crate::kotlin::write(&pom, &aar_pom())?;
    if libs.is_some() {
        let dir = repo.join(format!("dev/hopsafe/hopsafe-android/{VERSION}"));
        mkdir(&dir)?;
        let base = format!("hopsafe-android-{VERSION}");
        crate::swift::copy(&aar, &dir.join(format!("{base}.aar")))?;
        crate::swift::copy(&pom, &dir.join(format!("{base}.pom")))?;
        let kotlin = repo.join(format!("dev/hopsafe/hopsafe-kotlin/{VERSION}"));
        for c in ["sources", "javadoc"] {
            crate::swift::copy(
                &kotlin.join(format!("hopsafe-kotlin-{VERSION}-{c}.jar")),
                &dir.join(format!("{base}-{c}.jar")),
            )?;
        }
    }
    Ok(())
}

/// The AAR holds the manifest, classes.jar (the API, no desktop library, no runner), the
/// consumer rules and one `jni/<abi>/` slot per ABI, each with an ELF library of the right
/// machine when `with_libs`.
fn check_aar(aar: &Path, stage: &Path, with_libs: bool) -> Result {
    let list = output(Command::new("jar").arg("tf").arg(aar))?;
    let entries: Vec<&str> = list.lines().map(|l| l.trim_end_matches('/')).collect();
    let mut problems = Vec::new();
    for want in [
        "AndroidManifest.xml",
        "classes.jar",
        "proguard.txt",
        "R.txt",
    ] {
        if !entries.contains(&want) {
            problems.push(format!("no {want}"));
        }
    }
    for (abi, _, elf) in ABIS {
        let slot = format!("jni/{abi}");
        if !entries.contains(&slot.as_str()) {
            problems.push(format!("no {slot}/"));
        }
        if with_libs {
            let lib = stage.join(&slot).join("libhopsafe_ffi.so");
            let want = match elf {
                183 => "elf-aarch64",
                40 => "elf-arm",
                62 => "elf-x86_64",
                _ => "elf-x86",
            };
            match machine(&lib) {
                Ok(m) if m == want => {}
                Ok(m) => problems.push(format!("{slot}/libhopsafe_ffi.so is {m}, expected {want}")),
                Err(e) => problems.push(e),
            }
        }
    }
    let classes = output(Command::new("jar").arg("tf").arg(stage.join("classes.jar")))?;
    if !classes
        .lines()
        .any(|l| l == "dev/hopsafe/HopsafeClient.class")
    {
        problems.push("classes.jar has no dev/hopsafe/HopsafeClient.class".into());
    }
    if let Some(bad) = classes
        .lines()
        .find(|l| l.ends_with(".so") || l.contains("conformance/") || l.contains("gson"))
    {
        problems.push(format!("classes.jar holds {bad}"));
    }
    if problems.is_empty() {
        eprintln!(
            "  {}: {:.1} MiB, layout ok ({})",
            aar.file_name().unwrap_or_default().to_string_lossy(),
            size_mib(aar),
            if with_libs {
                "4 ABIs"
            } else {
                "empty jni slots: no NDK here"
            }
        );
        Ok(())
    } else {
        Err(format!("{}: {}", aar.display(), problems.join("; ")))
    }
}

/// The AAR's POM: JNA as an AAR (its Android build carries libjnidispatch for every ABI).
fn aar_pom() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.hopsafe</groupId>
  <artifactId>hopsafe-android</artifactId>
  <version>{VERSION}</version>
  <packaging>aar</packaging>
  <name>hopsafe for Android</name>
  <description>HTTP writes that survive redirects: the hopsafe Kotlin binding with its native library for Android.</description>
  <url>https://example.invalid/hopsafe</url>
  <licenses>
    <license><name>MIT</name><url>https://opensource.org/licenses/MIT</url></license>
    <license><name>Apache-2.0</name><url>https://www.apache.org/licenses/LICENSE-2.0.txt</url></license>
  </licenses>
  <developers>
    <developer><id>hopsafe</id><name>The hopsafe developers</name></developer>
  </developers>
  <scm>
    <url>https://example.invalid/hopsafe</url>
    <connection>scm:git:https://example.invalid/hopsafe.git</connection>
  </scm>
  <dependencies>
    <dependency>
      <groupId>net.java.dev.jna</groupId>
      <artifactId>jna</artifactId>
      <version>5.18.1</version>
      <type>aar</type>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlinx</groupId>
      <artifactId>kotlinx-coroutines-android</artifactId>
      <version>1.11.0</version>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId>
      <artifactId>kotlin-stdlib</artifactId>
      <version>2.3.0</version>
    </dependency>
  </dependencies>
</project>
"#
    )
}
