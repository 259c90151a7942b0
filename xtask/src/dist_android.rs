//! The Android part of `cargo xtask dist`: the AAR (`AndroidManifest.xml`, `classes.jar`,
//! consumer R8/ProGuard rules in `proguard.txt`, `jni/<abi>/libhopsafe_ffi.so` for four ABIs)
//! and its POM (JNA as `@aar`), into `target/dist/android/` and, when complete, the Maven
//! repository `target/dist/maven/`. The libraries come from `cargo ndk` when an Android NDK is
//! set (`ANDROID_NDK_HOME`, as in the release workflow); without one the `jni/<abi>/` slots stay
//! empty and the AAR is written as `hopsafe-android-<v>-nolibs.aar`: a layout check only, never
//! published.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dist_jvm::{dist_dir, machine, size_mib, strip_copy, VERSION};
use crate::util::{cargo, cross_tools, have, mkdir, output, root, run, target_dir, Result};

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
    cross_tools(&targets)?;
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
pub fn aar(classes: &Path, repo: &Path, path: &str) -> Result {
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
