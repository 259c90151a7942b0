//! The Node step: npm dev dependencies, the addon built by the napi CLI, type checks,
//! the failover example, then the main and host platform npm packages (`npm pack`) installed
//! into a fresh directory, where `node --test` and the README quick starts run against them.

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
        // native.js is our own loader (it also finds the per-platform packages).
        .args(["build", "--platform", "--no-js", "--dts", "native.d.ts"])
        .current_dir(dir()))
}

/// Packs the main package and the host platform package (holding the addon just built), as
/// `cargo xtask dist` does, installs both into an empty directory, and runs the test suite and
/// the README quick starts there against the installed package.
fn pack_check(server: &std::path::Path) -> Result {
    use crate::dist_node::{install, pack_main, pack_platform, HOST};
    let out = crate::util::fresh_dir(&state_dir().join("npm-pack"))?;
    let main = pack_main(&out)?;
    let addon = dir().join(format!("hopsafe.{}.node", HOST.name));
    let platform = pack_platform(&HOST, &addon, &out)?;
    let app = install(&main, &platform, &out.join("app"))?;
    run(Command::new("node")
        .args(["-e", "const h = require('hopsafe'); if (!h.coreVersion()) process.exit(1); console.log('  packed hopsafe', h.coreVersion(), 'loads from', require.resolve('hopsafe'))"])
        .current_dir(&app))?;
    // The suite imports `../index.mjs` / `../index.js`: here those re-export the package.
    crate::util::copy_dir(&dir().join("test"), &app.join("test"))?;
    std::fs::write(
        app.join("index.js"),
        "module.exports = require('hopsafe')\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        app.join("index.mjs"),
        "export * from 'hopsafe'\nexport { default } from 'hopsafe'\n",
    )
    .map_err(|e| e.to_string())?;
    run(Command::new("node")
        .args(["--test", "test/"])
        .env("HOPSAFE_TESTSERVER", server)
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
    pack_check(&server)
}
