//! `cargo xtask mutants [--modules a,b] [--re REGEX]`: mutation testing of the core's policy
//! modules with cargo-mutants (installed into `.hopsafe/tools`), one module at a time, at the
//! lowest CPU priority with one job, in a scratch copy of the workspace (`.hopsafe/mutants/tree`,
//! about the size of `target/`), so the working tree is never mutated. Each module's results replace its block in
//! `docs/mutants.md`; every missed mutant must have an entry in that file's survivors section
//! (the test that now kills it, or why it is equivalent), or the command fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util::{cargo, output, root, run, state_dir, Result};

/// The cargo-mutants release this command installs.
const CARGO_MUTANTS_VERSION: &str = "27.1.0";

/// The policy modules, in the order they run by default (core/src/<name>.rs).
pub const MODULES: &[&str] = &[
    "location",
    "origin",
    "credentials",
    "idempotency",
    "retry",
    "redirect",
];

/// Integration tests that run per mutant besides the core's unit tests: the fast ones that
/// exercise the policy modules (the load, fault-timing and fuzz suites are left out).
const TESTS: &[&str] = &[
    "policy_edges",
    "redirect_rules",
    "locations_and_limits",
    "credentials",
    "advisories",
    "idempotency_and_retries",
    "properties",
];

const REPORT: &str = "docs/mutants.md";
const SURVIVORS_HEADING: &str = "## Survivors";

/// Entry point: parses the arguments, installs cargo-mutants, runs each module.
pub fn mutants(args: &[String]) -> Result {
    let mut modules: Vec<String> = MODULES.iter().map(|m| m.to_string()).collect();
    let mut re = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--modules", Some(list)) => {
                modules = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = modules.iter().find(|m| !MODULES.contains(&m.as_str())) {
                    return Err(format!(
                        "unknown module {bad:?}; one of {}",
                        MODULES.join(",")
                    ));
                }
            }
            ("--re", Some(r)) => re = Some(r.clone()),
            _ => return Err(USAGE.into()),
        }
    }
    let bin = install()?;
    let tree = scratch_tree()?;
    let mut unexplained = Vec::new();
    for m in &modules {
        let started = Instant::now();
        let out = state_dir().join("mutants").join(m);
        run_module(&bin, &tree, m, &out, re.as_deref())?;
        let results = read_results(&out.join("mutants.out"))?;
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        let report = std::fs::read_to_string(root().join(REPORT)).unwrap_or_default();
        let explained = survivors_section(&report);
        unexplained.extend(
            results
                .missed
                .iter()
                .filter(|d| !explained.contains(&key(d)))
                .cloned(),
        );
        let block = render_block(m, &results, minutes, re.as_deref());
        std::fs::write(root().join(REPORT), replace_block(&report, m, &block))
            .map_err(|e| format!("cannot write {REPORT}: {e}"))?;
        eprintln!(
            "mutants: {m}: {} caught, {} missed, {} unviable, {} timeouts in {minutes:.1} min",
            results.caught.len(),
            results.missed.len(),
            results.unviable.len(),
            results.timeout.len()
        );
    }
    if unexplained.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "missed mutants without an entry under {SURVIVORS_HEADING:?} in {REPORT} (add the test that kills each, or why it is equivalent):\n  {}",
            unexplained.join("\n  ")
        ))
    }
}

pub const USAGE: &str = "usage: cargo xtask mutants [--modules location,origin,...] [--re REGEX]";

/// Installs cargo-mutants into `.hopsafe/tools` unless that version is already there.
fn install() -> Result<PathBuf> {
    let tools = state_dir().join("tools");
    let bin = tools.join("bin").join("cargo-mutants");
    let installed = Command::new(&bin)
        .args(["mutants", "--version"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if installed.is_some_and(|v| v.contains(CARGO_MUTANTS_VERSION)) {
        return Ok(bin);
    }
    run(cargo()
        .args(["install", "--locked", "cargo-mutants", "--version"])
        .arg(CARGO_MUTANTS_VERSION)
        .arg("--root")
        .arg(&tools))?;
    Ok(bin)
}

/// Runs cargo-mutants on `core/src/<module>.rs` in the scratch tree with the selected tests
/// (given as cargo arguments, so the build skips the other test targets too).
fn run_module(bin: &Path, tree: &Path, module: &str, out: &Path, re: Option<&str>) -> Result {
    let _ = std::fs::remove_dir_all(out.join("mutants.out"));
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "19"])
        .arg(bin)
        .args(["mutants", "--in-place", "--dir"])
        .arg(tree)
        // --in-place implies one job at a time (cargo-mutants refuses --jobs with it).
        .args(["--package", "hopsafe", "--no-shuffle"])
        .args(["--features", "decompress", "--file"])
        .arg(format!("core/src/{module}.rs"))
        .arg("--output")
        .arg(out)
        .arg("--cargo-arg=--lib");
    for t in TESTS {
        cmd.arg("--cargo-arg=--test")
            .arg(format!("--cargo-arg={t}"));
    }
    if let Some(re) = re {
        cmd.args(["--re", re]);
    }
    cmd.current_dir(tree);
    eprintln!("  $ {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start cargo-mutants: {e}"))?;
    match status.code() {
        // 0: all caught; 2: some missed; 3: some timed out (cargo-mutants' exit codes).
        Some(0 | 2 | 3) => Ok(()),
        _ => Err(format!("cargo-mutants failed on {module} ({status})")),
    }
}

/// The copy of the workspace that cargo-mutants mutates in place: `.hopsafe/mutants/tree`.
/// `target/` is copied once with `cp -a` (timestamps kept, so cargo sees a warm build; a plain
/// copy, which cargo-mutants makes otherwise, rebuilds every dependency each run), and the
/// source files git knows (tracked or untracked, not ignored) are synced before every run.
fn scratch_tree() -> Result<PathBuf> {
    let src = root();
    let dest = state_dir().join("mutants").join("tree");
    std::fs::create_dir_all(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    if !dest.join("target").exists() && src.join("target").exists() {
        run(Command::new("cp")
            .arg("-a")
            .arg(src.join("target"))
            .arg(&dest))?;
    }
    let listed = output(
        Command::new("git")
            .args([
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ])
            .current_dir(&src),
    )?;
    let files: BTreeSet<PathBuf> = listed
        .split('\0')
        .filter(|f| !f.is_empty() && src.join(f).is_file())
        .map(PathBuf::from)
        .collect();
    for f in &files {
        let (from, to) = (src.join(f), dest.join(f));
        if std::fs::read(&from).ok() != std::fs::read(&to).ok() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::copy(&from, &to).map_err(|e| format!("cannot copy {}: {e}", f.display()))?;
        }
    }
    remove_stale(&dest, Path::new(""), &files)?;
    Ok(dest)
}

/// Deletes files of the scratch tree (outside `target/`) that the workspace no longer has.
fn remove_stale(dest: &Path, rel: &Path, keep: &BTreeSet<PathBuf>) -> Result {
    let dir = dest.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = rel.join(entry.file_name());
        if rel.as_os_str().is_empty() && (entry.file_name() == "target") {
            continue;
        }
        if entry.path().is_dir() {
            remove_stale(dest, &path, keep)?;
        } else if !keep.contains(&path) {
            std::fs::remove_file(entry.path()).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The mutants of one run, by outcome (cargo-mutants' one-line descriptions).
#[derive(Default)]
struct Results {
    caught: Vec<String>,
    missed: Vec<String>,
    unviable: Vec<String>,
    timeout: Vec<String>,
}

fn read_results(dir: &Path) -> Result<Results> {
    let read = |name: &str| -> Result<Vec<String>> {
        let p = dir.join(name);
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        Ok(text.lines().map(str::to_owned).collect())
    };
    Ok(Results {
        caught: read("caught.txt")?,
        missed: read("missed.txt")?,
        unviable: read("unviable.txt")?,
        timeout: read("timeout.txt")?,
    })
}

/// A mutant's description without its line and column, which move as the code changes:
/// `core/src/a.rs:12:5: replace f -> bool with true` becomes `core/src/a.rs: replace f -> bool with true`.
fn key(description: &str) -> String {
    let mut parts = description.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(file), Some(_line), Some(_col), Some(rest)) => format!("{file}:{rest}"),
        _ => description.to_owned(),
    }
}

/// The text of the survivors section (up to the next `## ` heading).
fn survivors_section(report: &str) -> String {
    report
        .split_once(SURVIVORS_HEADING)
        .map(|(_, rest)| match rest.find("\n## ") {
            Some(end) => rest[..end].to_owned(),
            None => rest.to_owned(),
        })
        .unwrap_or_default()
}

fn render_block(module: &str, r: &Results, minutes: f64, re: Option<&str>) -> String {
    let total = r.caught.len() + r.missed.len() + r.unviable.len() + r.timeout.len();
    let mut s = format!(
        "### `{module}.rs`\n\n{total} mutants{}: {} caught, {} missed, {} unviable, {} timeouts; {minutes:.0} min.\n",
        re.map(|re| format!(" (only those matching `{re}`)"))
            .unwrap_or_default(),
        r.caught.len(),
        r.missed.len(),
        r.unviable.len(),
        r.timeout.len(),
    );
    for (outcome, list) in [("missed", &r.missed), ("timed out", &r.timeout)] {
        if !list.is_empty() {
            s.push_str(&format!("\n{outcome}:\n\n"));
            for d in list {
                s.push_str(&format!("- `{}`\n", key(d)));
            }
        }
    }
    s.push('\n');
    s
}

/// Replaces the block between `<!-- mutants:{module} -->` and `<!-- /mutants:{module} -->`
/// (appended to the results table when absent).
fn replace_block(report: &str, module: &str, block: &str) -> String {
    let open = format!("<!-- mutants:{module} -->\n");
    let close = format!("<!-- /mutants:{module} -->\n");
    let fresh = format!("{open}{block}{close}");
    if let (Some(a), Some(b)) = (report.find(&open), report.find(&close)) {
        if a < b {
            return format!("{}{fresh}{}", &report[..a], &report[b + close.len()..]);
        }
    }
    let anchor = "<!-- mutants:end -->\n";
    match report.find(anchor) {
        Some(i) => format!("{}{fresh}{}", &report[..i], &report[i..]),
        None => format!("{report}\n{fresh}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_drop_line_and_column() {
        assert_eq!(
            key("core/src/origin.rs:12:5: replace f -> bool with true"),
            "core/src/origin.rs: replace f -> bool with true"
        );
    }

    #[test]
    fn blocks_are_replaced_in_place() {
        let r = "a\n<!-- mutants:origin -->\nold\n<!-- /mutants:origin -->\nb\n";
        assert_eq!(
            replace_block(r, "origin", "new\n"),
            "a\n<!-- mutants:origin -->\nnew\n<!-- /mutants:origin -->\nb\n"
        );
        let r = "t\n<!-- mutants:end -->\n";
        assert_eq!(
            replace_block(r, "retry", "x\n"),
            "t\n<!-- mutants:retry -->\nx\n<!-- /mutants:retry -->\n<!-- mutants:end -->\n"
        );
    }
}
