//! The `swift` step: a real Swift 6 compiler in a Debian trixie root (debootstrap, then
//! Debian's `swiftlang`), the `Hopsafe` SwiftPM package (bindings/uniffi/swift plus the
//! uniffi-generated Swift and header) built and tested with `swift build` / `swift test`
//! against the test server on the host (the root shares the host's network namespace), and a
//! user's package (examples/swift-consumer) that depends on it running the quick start.
//! Everything that uses the root holds `/tmp/hopsafe-swift.lock`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kotlin::{
    build_cdylib, check_quick_start, generate, quick_start_url, readme_block, write,
};
use crate::util::{have, output, root, run, Result, TestServer};

/// The trixie root holding `swiftc` (`SWIFT_ROOT` overrides it).
pub(crate) fn swift_root() -> PathBuf {
    std::env::var_os("SWIFT_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/hopsafe/swiftroot"))
}

/// Where the build happens, inside the root (as seen from the host).
const BUILD_DIR: &str = "hopsafe-uniffi-build";

/// `proc` and `dev` mounted by this step, unmounted again when dropped (mounts that were
/// already there, maybe someone else's, are left alone).
pub(crate) struct Mounts(Vec<PathBuf>);

impl Mounts {
    pub(crate) fn ensure(r: &Path) -> Result<Mounts> {
        let mut mine = Vec::new();
        for (dir, args) in [
            ("proc", &["-t", "proc", "proc"][..]),
            ("dev", &["--bind", "/dev"][..]),
        ] {
            let target = r.join(dir);
            let mounted = Command::new("mountpoint")
                .arg("-q")
                .arg(&target)
                .status()
                .is_ok_and(|s| s.success());
            if !mounted {
                run(Command::new("mount").args(args).arg(&target))?;
                mine.push(target);
            }
        }
        Ok(Mounts(mine))
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for m in self.0.iter().rev() {
            let _ = Command::new("umount").arg(m).status();
        }
    }
}

/// Runs `args` inside the root.
pub(crate) fn chroot(r: &Path) -> Command {
    let mut c = Command::new("chroot");
    c.arg(r);
    c
}

/// Creates the root with debootstrap and installs swiftlang, unless `swiftc` is there.
pub(crate) fn ensure_toolchain(r: &Path) -> Result {
    if r.join("usr/bin/swiftc").exists() {
        return Ok(());
    }
    let uid = output(Command::new("id").arg("-u"))?;
    if uid.trim() != "0" {
        return Err(format!(
            "Swift is not installed in {} and setting it up needs root (debootstrap, chroot, mount)",
            r.display()
        ));
    }
    if !have("debootstrap") {
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get").args(["install", "-y", "debootstrap"]))?;
    }
    if !r.join("usr/bin/apt-get").exists() {
        let sources =
            std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
        let mirror = sources
            .lines()
            .find_map(|l| l.strip_prefix("URIs:"))
            .map(|m| m.trim().to_owned())
            .unwrap_or_else(|| "http://deb.debian.org/debian".into());
        std::fs::create_dir_all(r).map_err(|e| format!("cannot create {}: {e}", r.display()))?;
        run(Command::new("debootstrap")
            .args(["--variant=minbase", "trixie"])
            .arg(r)
            .arg(mirror))?;
    }
    let _mounts = Mounts::ensure(r)?;
    run(chroot(r).args(["apt-get", "update"]))?;
    run(chroot(r).env("DEBIAN_FRONTEND", "noninteractive").args([
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "swiftlang",
        "libc6-dev",
    ]))?;
    run(chroot(r).args(["apt-get", "clean"]))?;
    if r.join("usr/bin/swiftc").exists() {
        Ok(())
    } else {
        Err("swiftlang was installed but usr/bin/swiftc is missing in the root".into())
    }
}

/// Holds the lock every user of the shared root takes (`flock /tmp/hopsafe-swift.lock`).
pub(crate) fn lock_root() -> Result<std::fs::File> {
    let path = "/tmp/hopsafe-swift.lock";
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    f.lock().map_err(|e| format!("cannot lock {path}: {e}"))?;
    Ok(f)
}

/// Copies every `.swift` file of `from` into `to`.
pub(crate) fn copy_swift(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "swift") {
            copy(&p, &to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Copies one file with a clear error.
pub fn copy(from: &Path, to: &Path) -> Result {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// Lays out a complete `Hopsafe` package in `dir` (emptied first): Package.swift and the
/// sources of bindings/uniffi/swift, the generated `Hopsafe.swift` and header from `gen`, the
/// library `lib` (if any) in `lib/`, and, when `tests`, the suite, the conformance runner and
/// their XCTest driver.
pub fn assemble_package(dir: &Path, gen: &Path, lib: Option<&Path>, tests: bool) -> Result {
    let _ = std::fs::remove_dir_all(dir);
    let src = root().join("bindings/uniffi/swift");
    copy(&src.join("Package.swift"), &dir.join("Package.swift"))?;
    copy_swift(&src.join("Sources/Hopsafe"), &dir.join("Sources/Hopsafe"))?;
    copy(
        &gen.join("Hopsafe.swift"),
        &dir.join("Sources/Hopsafe/Hopsafe.swift"),
    )?;
    let ffi = dir.join("Sources/hopsafe_ffiFFI");
    copy(
        &src.join("Sources/hopsafe_ffiFFI/module.modulemap"),
        &ffi.join("module.modulemap"),
    )?;
    copy(&gen.join("hopsafe_ffiFFI.h"), &ffi.join("hopsafe_ffiFFI.h"))?;
    if let Some(lib) = lib {
        let name = lib.file_name().ok_or("library has no file name")?;
        copy(lib, &dir.join("lib").join(name))?;
    }
    if tests {
        for t in ["HopsafeSuite", "HopsafeConformance", "HopsafeTests"] {
            copy_swift(&src.join("Tests").join(t), &dir.join("Tests").join(t))?;
        }
    }
    Ok(())
}

/// Run in the root's build directory: the package's build and tests, the conformance smoke
/// run, then the user's package and its quick start.
const SCRIPT: &str = r#"set -e
cd Hopsafe
swift build
swift test
cd ..
ln -sf Hopsafe/.build/debug/HopsafeConformance hopsafe-conformance
./hopsafe-conformance "$HOPSAFE_SERVER_READY" conformance-smoke.json observations.json
./hopsafe-conformance swift-urlrequest "$HOPSAFE_SERVER_READY" conformance-smoke.json urlrequest-observations.json
cd examples/swift-consumer
swift build
.build/debug/QuickStart "$HOPSAFE_QUICK_START_URL" > ../../quick-start.txt
"#;

/// `cargo xtask test --only swift`.
pub fn test() -> Result {
    let r = swift_root();
    let _lock = lock_root()?;
    ensure_toolchain(&r)?;
    let lib = build_cdylib()?;
    let build = r.join(BUILD_DIR);
    let _ = std::fs::remove_dir_all(&build);
    let gen = build.join("gen");
    generate("swift", &lib, &gen)?;
    // The library without its debug info (~1/6 of the size), as a package would carry it.
    let stripped = gen.join("libhopsafe_ffi.so");
    run(Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&stripped)
        .arg(&lib))?;
    // The repository's package with its tests, and the user's copy (as `dist` writes it).
    let package = build.join("Hopsafe");
    assemble_package(&package, &gen, Some(&stripped), true)?;
    let suite = package.join("Tests/HopsafeSuite");
    copy_swift(&root().join("examples/swift"), &suite)?;
    write(
        &suite.join("ReadmeQuickStart.swift"),
        &readme_block("swift")?,
    )?;
    write(
        &suite.join("ReadmeURLRequest.swift"),
        &readme_block("swift urlrequest")?,
    )?;
    assemble_package(
        &build.join("target/dist/swift/Hopsafe"),
        &gen,
        Some(&stripped),
        false,
    )?;
    let consumer = root().join("examples/swift-consumer");
    let user = build.join("examples/swift-consumer");
    copy(&consumer.join("Package.swift"), &user.join("Package.swift"))?;
    copy_swift(
        &consumer.join("Sources/QuickStart"),
        &user.join("Sources/QuickStart"),
    )?;
    let smoke = root().join("bindings/uniffi/conformance-smoke.json");
    copy(&smoke, &build.join("conformance-smoke.json"))?;
    let server = TestServer::start()?;
    let _mounts = Mounts::ensure(&r)?;
    run(chroot(&r)
        .env("HOPSAFE_SERVER_READY", &server.ready)
        .env("HOPSAFE_QUICK_START_URL", quick_start_url(&server.ready)?)
        .args(["sh", "-c", &format!("cd /{BUILD_DIR} && {SCRIPT}")]))?;
    check_smoke_observations(&build.join("observations.json"), "swift")?;
    check_smoke_observations(
        &build.join("urlrequest-observations.json"),
        "swift-urlrequest",
    )?;
    let out = std::fs::read_to_string(build.join("quick-start.txt"))
        .map_err(|e| format!("the quick start wrote nothing: {e}"))?;
    check_quick_start("swift", &out)
}

/// Checks what a Swift conformance column (`swift`, `swift-urlrequest`) observed for
/// conformance-smoke.json (the same expectations as the Kotlin runner's test).
fn check_smoke_observations(path: &Path, runtime: &str) -> Result {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("the Swift runner wrote no {}: {e}", path.display()))?;
    let out: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("bad runner output: {e}"))?;
    let obs = out["observations"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = obs.iter().filter_map(|o| o["id"].as_str()).collect();
    let ok = out["runtime"] == runtime
        && ids == ["307-post-cross-host", "too-many", "stream", "read-stream"]
        && obs[0]["error"].is_null()
        && obs[0]["status"] == 200
        && obs[0]["final_method"] == "POST"
        && obs[0]["history"][0]["status"] == 307
        && obs[1]["error"] == "TooManyRedirects"
        && obs[2]["status"] == 200
        && obs[2]["skipped"].is_null()
        && obs[2]["body"]["fnv1a64"].as_str().is_some_and(|h| h.len() == 16)
        // A streamed read of a held body, released after its first chunk, arrives whole.
        && obs[3]["body"]["len"] == 100000;
    if ok {
        eprintln!("  {runtime} conformance runner: smoke observations as expected");
        Ok(())
    } else {
        Err(format!("unexpected {runtime} runner observations:\n{text}"))
    }
}

/// Whether the Swift conformance runner was compiled by the swift step.
pub fn conformance_built() -> bool {
    swift_root()
        .join(BUILD_DIR)
        .join("hopsafe-conformance")
        .exists()
}

/// The `swift` column: hopsafe's own Swift API.
pub fn conformance_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    column_runner("swift", ready, scenarios, out)
}

/// The `swift-urlrequest` column: URLRequest through `data(for:)` / `bytes(for:)`.
pub fn urlrequest_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    column_runner("swift-urlrequest", ready, scenarios, out)
}

/// The peer `swift-urlsession`: Foundation's URLSession alone (built by the swift step).
pub fn urlsession_peer(ready: &Path, scenarios: &Path, out: &Path) -> Result<Command> {
    if !conformance_built() {
        return Err(
            "the Swift runner is not built (run `cargo xtask test --only swift` first)".into(),
        );
    }
    Ok(column_runner(
        "peer:swift-urlsession",
        ready,
        scenarios,
        out,
    ))
}

/// Runs the compiled Swift conformance runner for `column` inside the root on copies of the
/// inputs, then copies its observations out to `out`.
fn column_runner(column: &str, ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let r = swift_root();
    let build = r.join(BUILD_DIR);
    let _ = std::fs::copy(ready, build.join("ready.json"));
    let _ = std::fs::copy(scenarios, build.join("scenarios.json"));
    let file = format!("{}-observations.json", column.replace(':', "-"));
    let script = format!(
        "p=0; d=0; \
         mountpoint -q {r}/proc || {{ mount -t proc proc {r}/proc && p=1; }}; \
         mountpoint -q {r}/dev || {{ mount --bind /dev {r}/dev && d=1; }}; \
         st=0; chroot {r} sh -c 'cd /{BUILD_DIR} && ./hopsafe-conformance {column} ready.json scenarios.json {file}' || st=$?; \
         [ $p = 1 ] && umount {r}/proc; [ $d = 1 ] && umount {r}/dev; \
         [ $st = 0 ] && cp {b}/{file} {out}; exit $st",
        r = r.display(),
        b = build.display(),
        out = out.display()
    );
    let mut c = Command::new("flock");
    c.args(["/tmp/hopsafe-swift.lock", "sh", "-c", &script]);
    c
}
