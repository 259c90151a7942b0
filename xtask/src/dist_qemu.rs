//! Runs aarch64 Linux artefacts on this x86_64 machine: an arm64 Debian root (debootstrap,
//! made once under /var/cache/hopsafe/) entered with chroot, its binaries run by
//! qemu-user-static through binfmt_misc. The root is shared, so setup and runs hold a lock.
//! The wheel, the npm package and the JVM jar each run their quick start there.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{run, Result};

const ROOT: &str = "/var/cache/hopsafe/arm64root";
const LOCK: &str = "/tmp/hopsafe-arm64root.lock";

/// Builds the root once (about 5 minutes): debootstrap in two stages, then python3, venv
/// support and nodejs from Debian. A half-made root (no `.stage2-done`) is made again.
const SETUP: &str = r#"
root="$1"; mirror="$2"
[ -f "$root/.hopsafe-ready" ] && exit 0
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
if [ ! -f "$root/.stage2-done" ]; then
  umount "$root/proc" 2>/dev/null || true
  if grep -q " $root/" /proc/mounts; then echo "something is mounted under $root" >&2; exit 1; fi
  rm -rf "$root"; mkdir -p "$root"
  debootstrap --arch=arm64 --foreign --variant=minbase bookworm "$root" "$mirror"
  cp /usr/bin/qemu-aarch64-static "$root/usr/bin/"
  chroot "$root" /debootstrap/debootstrap --second-stage
  touch "$root/.stage2-done"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
chroot "$root" apt-get -q update
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends python3 python3-venv nodejs
umount "$root/proc"
touch "$root/.hopsafe-ready"
"#;

/// Installs Debian packages (arm64, the root's own apt) into a made root; the caller checks
/// first that they are missing, so a warm root costs nothing.
const INSTALL: &str = r#"
root="$1"; shift
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
cp /etc/resolv.conf "$root/etc/resolv.conf"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
chroot "$root" apt-get -q update
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "$@"
"#;

/// Runs `script` (sh) inside the root, with /proc mounted while it runs.
const ENTER: &str = r#"
root="$1"; script="$2"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
chroot "$root" sh -euc "$script"
"#;

/// The Debian mirror this machine's apt uses.
fn mirror() -> String {
    let mut text = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    for e in std::fs::read_dir("/etc/apt/sources.list.d")
        .into_iter()
        .flatten()
        .flatten()
    {
        text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.trim_end_matches('/').ends_with("/debian"))
        .unwrap_or("http://deb.debian.org/debian")
        .to_owned()
}

/// The root, made when missing.
fn ensure_root() -> Result<PathBuf> {
    crate::util::apt(
        &["qemu-aarch64-static", "debootstrap", "update-binfmts"],
        &["qemu-user-static", "binfmt-support", "debootstrap"],
    )?;
    run(Command::new("flock")
        .args([LOCK, "sh", "-euc", SETUP, "setup"])
        .arg(ROOT)
        .arg(mirror()))?;
    Ok(PathBuf::from(ROOT))
}

/// A fresh work directory inside the root; returns (host path, path inside the root).
fn work_dir(root: &Path, name: &str) -> Result<(PathBuf, String)> {
    let inside = format!("/tmp/hopsafe-dist/{name}");
    let host = root.join(inside.trim_start_matches('/'));
    crate::util::fresh_dir(&host)?;
    Ok((host, inside))
}

fn enter_cmd(root: &Path, script: &str) -> Command {
    let mut c = Command::new("flock");
    c.args([LOCK, "sh", "-euc", ENTER, "enter"])
        .arg(root)
        .arg(script);
    c
}

fn enter(root: &Path, script: &str) -> Result {
    run(&mut enter_cmd(root, script))
}

/// The Java runtime inside the root (Debian's OpenJDK 17, about 250 MB with its dependencies,
/// installed on first use); returns its `java` as seen inside the root.
fn ensure_java(root: &Path) -> Result<&'static str> {
    const JAVA: &str = "/usr/lib/jvm/java-17-openjdk-arm64/bin/java";
    if !root.join(JAVA.trim_start_matches('/')).is_file() {
        run(Command::new("flock")
            .args([LOCK, "sh", "-euc", INSTALL, "install"])
            .arg(root)
            .arg("openjdk-17-jre-headless"))?;
    }
    Ok(JAVA)
}

/// Runs the Kotlin quick start (`examples/kotlin-consumer`, built on this machine against the
/// jar in the Maven repository `repo`) with the root's arm64 JVM, so JNA loads the jar's
/// `linux-aarch64` library: a POST through a 307 served by the (host) test server.
pub fn run_jvm(repo: &Path) -> Result {
    let root = ensure_root()?;
    let java = ensure_java(&root)?;
    let (consumer, classpath) = crate::kotlin::build_consumer(repo)?;
    let (host, inside) = work_dir(&root, "jvm")?;
    crate::util::copy_dir(&consumer.join("target/classes"), &host.join("classes"))?;
    let lib = host.join("lib");
    std::fs::create_dir_all(&lib).map_err(|e| e.to_string())?;
    for jar in std::env::split_paths(classpath.trim()) {
        let name = jar.file_name().ok_or("bad classpath entry")?;
        std::fs::copy(&jar, lib.join(name)).map_err(|e| format!("{}: {e}", jar.display()))?;
    }
    let server = crate::util::TestServer::start()?;
    let url = crate::kotlin::quick_start_url(&server.ready)?;
    // Only the quick start's own lines on stdout (check_quick_start reads them).
    let out = crate::util::output(&mut enter_cmd(
        &root,
        &format!(
            "uname -m >&2; {java} -version; cd {inside} && \
             {java} -Xmx256m -cp 'classes:lib/*' example.QuickStartKt '{url}'"
        ),
    ))?;
    crate::kotlin::check_quick_start("kotlin (arm64 JVM under qemu)", &out)
}

/// Installs `wheel` into a new venv inside the root and runs the quick start.
pub fn run_python(wheel: &Path) -> Result {
    let root = ensure_root()?;
    let (host, inside) = work_dir(&root, "python")?;
    let name = wheel.file_name().ok_or("bad wheel path")?.to_string_lossy();
    std::fs::copy(wheel, host.join(&*name)).map_err(|e| e.to_string())?;
    std::fs::write(host.join("quick.py"), crate::dist_python::QUICK_START)
        .map_err(|e| e.to_string())?;
    enter(
        &root,
        &format!(
            "uname -m; python3 -m venv {inside}/venv && {inside}/venv/bin/pip install --quiet --no-index \
             --disable-pip-version-check {inside}/{name} && cd / && {inside}/venv/bin/python {inside}/quick.py"
        ),
    )
}

/// Installs the npm tarballs (npm on the host, forced past the cpu check) into an app inside
/// the root and runs the quick start with the root's Node.
pub fn run_node(main: &Path, platform: &Path) -> Result {
    let root = ensure_root()?;
    let (host, inside) = work_dir(&root, "node")?;
    let arm64 = ["--force", "--cpu=arm64", "--os=linux", "--libc=glibc"];
    crate::dist_node::install_into(&host, main, platform, &arm64)?;
    std::fs::write(host.join("quick.cjs"), crate::dist_node::QUICK_START)
        .map_err(|e| e.to_string())?;
    enter(
        &root,
        &format!("uname -m; node --version; cd {inside} && node quick.cjs"),
    )
}
