//! The Node step: npm dev dependencies, the addon built by the napi CLI, type checks,
//! `node --test`, the failover example, and `npm pack` installed into a fresh directory,
//! where the README quick starts run against the installed package.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{have, root, run, state_dir, testserver_bin, Result};

fn dir() -> PathBuf {
    root().join("bindings/node")
}

/// `npm ci` when node_modules is missing or older than the lock file.
fn install() -> Result {
    let modules = dir().join("node_modules/.package-lock.json");
    let lock = dir().join("package-lock.json");
    let stale = match (std::fs::metadata(&modules), std::fs::metadata(&lock)) {
        (Ok(m), Ok(l)) => m.modified().ok() < l.modified().ok(),
        _ => true,
    };
    if stale {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir()))?;
    }
    Ok(())
}

/// Builds the addon (debug) next to the package files.
pub fn build() -> Result {
    if !have("node") || !have("npm") {
        return Err("the node step needs `node` (20+) and `npm` on PATH".into());
    }
    install()?;
    run(Command::new(dir().join("node_modules/.bin/napi"))
        .args([
            "build",
            "--platform",
            "--js",
            "native.js",
            "--dts",
            "native.d.ts",
        ])
        .current_dir(dir()))
}

/// `npm pack`, then install the tarball into an empty directory and load it from there.
fn pack_check() -> Result {
    let out = state_dir().join("npm-pack");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(&out)
        .current_dir(dir()))?;
    let tarball = std::fs::read_dir(&out)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack made no tarball")?;
    let app = out.join("app");
    std::fs::create_dir_all(&app).map_err(|e| e.to_string())?;
    std::fs::write(app.join("package.json"), r#"{"name":"app","private":true}"#)
        .map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--offline",
        ])
        .arg(&tarball)
        .current_dir(&app))?;
    run(Command::new("node")
        .args(["-e", "const h = require('hopsafe'); if (!h.coreVersion()) process.exit(1); console.log('  packed hopsafe', h.coreVersion(), 'loads from a fresh install')"])
        .current_dir(&app))?;
    readme_quick_starts(&app)
}

/// Runs every README block that starts with `// quickstart.cjs` or `// quickstart.mjs`
/// (self-contained: they start their own loopback servers) from `app`.
fn readme_quick_starts(app: &std::path::Path) -> Result {
    let readme = std::fs::read_to_string(dir().join("README.md")).map_err(|e| e.to_string())?;
    let mut ran = 0;
    for block in readme.split("```js\n").skip(1) {
        let code = block.split("```").next().unwrap_or_default();
        let Some(name) = code
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// "))
            .filter(|n| n.starts_with("quickstart."))
        else {
            continue;
        };
        std::fs::write(app.join(name), code).map_err(|e| e.to_string())?;
        run(Command::new("node").arg(name).current_dir(app))?;
        ran += 1;
    }
    if ran < 2 {
        return Err(format!(
            "expected the CJS and ESM quick starts in the README, found {ran}"
        ));
    }
    Ok(())
}

/// `cargo xtask test --only node`.
pub fn test() -> Result {
    build()?;
    run(Command::new(dir().join("node_modules/.bin/tsc"))
        .args(["-p", "tsconfig.json"])
        .current_dir(dir()))?;
    let server = testserver_bin()?;
    run(Command::new("node")
        .arg(root().join("examples/node/failover.mjs"))
        .env("HOPSAFE_TESTSERVER", &server))?;
    run(Command::new("node")
        .args(["--test", "test/"])
        .env("HOPSAFE_TESTSERVER", &server)
        .current_dir(dir()))?;
    pack_check()
}
