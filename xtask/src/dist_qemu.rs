//! Runs aarch64 Linux artefacts on this x86_64 machine: an arm64 Debian root (debootstrap,
//! made once under /var/cache/hopsafe/) entered with chroot, its binaries run by
//! qemu-user-static through binfmt_misc. The root is shared, so setup and runs hold a lock.

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

fn enter(root: &Path, script: &str) -> Result {
    run(Command::new("flock")
        .args([LOCK, "sh", "-euc", ENTER, "enter"])
        .arg(root)
        .arg(script))
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
