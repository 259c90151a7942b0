//! The `swift` step: a real Swift 6 compiler in a Debian trixie root (see
//! /work/shared/swift/README.md), the uniffi-generated Swift compiled into a `Hopsafe`
//! module, and the Swift tests run against the test server on the host (the root shares the
//! host's network namespace).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kotlin::{build_cdylib, generate, readme_block, write};
use crate::util::{have, output, root, run, Result, TestServer};

/// The trixie root holding `swiftc` (`SWIFT_ROOT` overrides it).
fn swift_root() -> PathBuf {
    std::env::var_os("SWIFT_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/hopsafe/swiftroot"))
}

/// Where the build happens, inside the root (as seen from the host).
const BUILD_DIR: &str = "hopsafe-uniffi-build";

/// `proc` and `dev` mounted by this step, unmounted again when dropped (mounts that were
/// already there, maybe someone else's, are left alone).
struct Mounts(Vec<PathBuf>);

impl Mounts {
    fn ensure(r: &Path) -> Result<Mounts> {
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
fn chroot(r: &Path) -> Command {
    let mut c = Command::new("chroot");
    c.arg(r);
    c
}

/// Creates the root with debootstrap and installs swiftlang, unless `swiftc` is there.
fn ensure_toolchain(r: &Path) -> Result {
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

/// Copies every `.swift` file of `from` into `to`.
fn copy_swift(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "swift") {
            std::fs::copy(&p, to.join(e.file_name()))
                .map_err(|err| format!("cannot copy {}: {err}", p.display()))?;
        }
    }
    Ok(())
}

/// The compile-and-run script, run by `sh` in the root's build directory.
const SCRIPT: &str = r#"set -e
swiftc -swift-version 5 -emit-library -emit-module -module-name Hopsafe \
  -Xcc -fmodule-map-file=gen/hopsafe_ffiFFI.modulemap -I gen -L gen -lhopsafe_ffi \
  -Xlinker -rpath -Xlinker '$ORIGIN/gen' gen/*.swift Sources/*.swift -o libHopsafe.so
swiftc -swift-version 5 -emit-executable -I . -L . -lHopsafe \
  -Xcc -fmodule-map-file=gen/hopsafe_ffiFFI.modulemap -I gen \
  -Xlinker -rpath -Xlinker '$ORIGIN' -Xlinker -rpath -Xlinker '$ORIGIN/gen' \
  Tests/*.swift Examples/*.swift -o hopsafe-tests
./hopsafe-tests
swiftc -swift-version 5 -emit-executable -I . -L . -lHopsafe \
  -Xcc -fmodule-map-file=gen/hopsafe_ffiFFI.modulemap -I gen \
  -Xlinker -rpath -Xlinker '$ORIGIN' -Xlinker -rpath -Xlinker '$ORIGIN/gen' \
  Conformance/main.swift -o hopsafe-conformance
./hopsafe-conformance "$HOPSAFE_SERVER_READY" conformance-smoke.json observations.json
"#;

/// `cargo xtask test --only swift`.
pub fn test() -> Result {
    let r = swift_root();
    ensure_toolchain(&r)?;
    let lib = build_cdylib()?;
    let build = r.join(BUILD_DIR);
    let _ = std::fs::remove_dir_all(&build);
    let gen = build.join("gen");
    generate("swift", &lib, &gen)?;
    std::fs::copy(&lib, gen.join("libhopsafe_ffi.so"))
        .map_err(|e| format!("cannot copy the cdylib into the root: {e}"))?;
    let src = root().join("bindings/uniffi/swift");
    copy_swift(&src.join("Sources/Hopsafe"), &build.join("Sources"))?;
    copy_swift(&src.join("Tests/HopsafeSuite"), &build.join("Tests"))?;
    copy_swift(
        &src.join("Tests/HopsafeConformance"),
        &build.join("Conformance"),
    )?;
    let smoke = root().join("bindings/uniffi/conformance-smoke.json");
    std::fs::copy(&smoke, build.join("conformance-smoke.json"))
        .map_err(|e| format!("cannot copy {}: {e}", smoke.display()))?;
    copy_swift(&root().join("examples/swift"), &build.join("Examples"))?;
    write(
        &build.join("Examples/ReadmeQuickStart.swift"),
        &readme_block("swift")?,
    )?;
    let server = TestServer::start()?;
    let _mounts = Mounts::ensure(&r)?;
    run(chroot(&r).env("HOPSAFE_SERVER_READY", &server.ready).args([
        "sh",
        "-c",
        &format!("cd /{BUILD_DIR} && {SCRIPT}"),
    ]))?;
    check_smoke_observations(&build.join("observations.json"))
}

/// Checks what the Swift conformance runner observed for conformance-smoke.json (the same
/// expectations as the Kotlin runner's test).
fn check_smoke_observations(path: &Path) -> Result {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("the Swift runner wrote no {}: {e}", path.display()))?;
    let out: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("bad runner output: {e}"))?;
    let obs = out["observations"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = obs.iter().filter_map(|o| o["id"].as_str()).collect();
    let ok = out["runtime"] == "swift"
        && ids == ["307-post-cross-host", "too-many", "stream"]
        && obs[0]["error"].is_null()
        && obs[0]["status"] == 200
        && obs[0]["final_method"] == "POST"
        && obs[0]["history"][0]["status"] == 307
        && obs[1]["error"] == "TooManyRedirects"
        && obs[2]["status"] == 200
        && obs[2]["skipped"].is_null();
    if ok {
        eprintln!("  swift conformance runner: smoke observations as expected");
        Ok(())
    } else {
        Err(format!("unexpected Swift runner observations:\n{text}"))
    }
}

/// Whether the Swift conformance runner was compiled by the swift step.
pub fn conformance_built() -> bool {
    swift_root()
        .join(BUILD_DIR)
        .join("hopsafe-conformance")
        .exists()
}

/// Runs the compiled Swift conformance runner inside the root on copies of the inputs,
/// then copies its observations out to `out`.
pub fn conformance_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let r = swift_root();
    let build = r.join(BUILD_DIR);
    let _ = std::fs::copy(ready, build.join("ready.json"));
    let _ = std::fs::copy(scenarios, build.join("scenarios.json"));
    let script = format!(
        "p=0; d=0; \
         mountpoint -q {r}/proc || {{ mount -t proc proc {r}/proc && p=1; }}; \
         mountpoint -q {r}/dev || {{ mount --bind /dev {r}/dev && d=1; }}; \
         st=0; chroot {r} sh -c 'cd /{BUILD_DIR} && ./hopsafe-conformance ready.json scenarios.json swift-observations.json' || st=$?; \
         [ $p = 1 ] && umount {r}/proc; [ $d = 1 ] && umount {r}/dev; \
         [ $st = 0 ] && cp {b}/swift-observations.json {out}; exit $st",
        r = r.display(),
        b = build.display(),
        out = out.display()
    );
    let mut c = Command::new("sh");
    c.args(["-c", &script]);
    c
}
