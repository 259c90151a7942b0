//! The `kotlin` step: build the uniffi cdylib, generate Kotlin with the pinned
//! `uniffi-bindgen`, and run the Maven project's JUnit tests against the test server.
//! Also the pieces the `swift` step shares (cdylib build, code generation, test server).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cargo, have, root, run, target_dir, Result, TestServer};

/// The Maven project.
fn project() -> PathBuf {
    root().join("bindings/uniffi/kotlin")
}

/// Builds `hopsafe-ffi` (debug) and the pinned bindgen; returns the cdylib's path.
pub fn build_cdylib() -> Result<PathBuf> {
    build_ffi(false)
}

/// Builds `hopsafe-ffi` (in release when `release`) and the pinned bindgen (always debug,
/// where `generate` runs it from); returns the cdylib's path.
pub fn build_ffi(release: bool) -> Result<PathBuf> {
    let profile = if release {
        run(cargo()
            .args(["build", "--quiet", "-p", "hopsafe-uniffi-bindgen"])
            .current_dir(root()))?;
        run(cargo()
            .args(["build", "--quiet", "--release", "-p", "hopsafe-ffi"])
            .current_dir(root()))?;
        "release"
    } else {
        run(cargo()
            .args([
                "build",
                "--quiet",
                "-p",
                "hopsafe-ffi",
                "-p",
                "hopsafe-uniffi-bindgen",
            ])
            .current_dir(root()))?;
        "debug"
    };
    let lib = target_dir()
        .join(profile)
        .join(if cfg!(target_os = "macos") {
            "libhopsafe_ffi.dylib"
        } else {
            "libhopsafe_ffi.so"
        });
    if lib.exists() {
        Ok(lib)
    } else {
        Err(format!(
            "cargo built hopsafe-ffi but {} is missing",
            lib.display()
        ))
    }
}

/// Generates `language` bindings for `lib` into `out` (emptied first).
pub fn generate(language: &str, lib: &Path, out: &Path) -> Result {
    let _ = std::fs::remove_dir_all(out);
    run(
        Command::new(target_dir().join("debug").join("uniffi-bindgen"))
            .args([
                "generate",
                "--no-format",
                "--language",
                language,
                "--out-dir",
            ])
            .arg(out)
            .arg(lib)
            .current_dir(root()),
    )
}

/// The first fenced code block in `language` of the top-level README.md (the quick start,
/// compiled by the test steps so it keeps compiling as written).
pub fn readme_block(language: &str) -> Result<String> {
    let path = root().join("README.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let start = format!("```{language}\n");
    let body = text
        .split_once(&start)
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(code, _)| format!("{code}\n"));
    body.ok_or_else(|| format!("{} has no ```{language} block", path.display()))
}

/// Writes a file with a clear error.
pub fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `cargo xtask test --only kotlin`.
pub fn test() -> Result {
    if !have("mvn") || !have("java") {
        return Err("the kotlin step needs `mvn` and a JDK 17+ on PATH".into());
    }
    let lib = build_cdylib()?;
    let generated = project().join("target/generated-sources/uniffi");
    generate("kotlin", &lib, &generated)?;
    let readme = project().join("target/generated-sources/readme");
    std::fs::create_dir_all(&readme)
        .map_err(|e| format!("cannot create {}: {e}", readme.display()))?;
    write(
        &readme.join("ReadmeQuickStart.kt"),
        &readme_block("kotlin")?,
    )?;
    let server = TestServer::start()?;
    let lib_dir = lib.parent().ok_or("cdylib has no directory")?;
    let result = run(Command::new("mvn")
        .args(["-q", "-B", "test"])
        .arg(format!("-Dhopsafe.lib.dir={}", lib_dir.display()))
        .env("HOPSAFE_SERVER_READY", &server.ready)
        .current_dir(project()));
    if let Some((tests, failed)) = surefire_counts(&project().join("target/surefire-reports")) {
        eprintln!("  kotlin: {} passed, {failed} failed", tests - failed);
    }
    result
}

/// Sums `tests` and `failures + errors` over Surefire's XML reports.
fn surefire_counts(dir: &Path) -> Option<(u64, u64)> {
    let attr = |xml: &str, name: &str| -> u64 {
        xml.split_once(&format!(" {name}=\""))
            .and_then(|(_, rest)| rest.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (mut tests, mut failed) = (0, 0);
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("TEST-") && name.ends_with(".xml") {
            let xml = std::fs::read_to_string(entry.path()).ok()?;
            let head = xml.split_once("<testsuite").map(|(_, h)| h).unwrap_or("");
            let head = head.split_once('>').map(|(h, _)| h).unwrap_or("");
            tests += attr(head, "tests");
            failed += attr(head, "failures") + attr(head, "errors");
        }
    }
    Some((tests, failed))
}
