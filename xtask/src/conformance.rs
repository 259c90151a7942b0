//! `cargo xtask conformance`: one test server, every runtime's runner, one checker, one matrix.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cargo, root, run, state_dir, target_dir, Result, TestServer};

/// A runtime's runner: its name (a binding, or `LANGUAGE-PEER` for an adapter that puts
/// hopsafe under a peer's API), whether it is built, and the command that plays
/// `READY SCENARIOS OUT`. `cargo xtask test` plays every one and fails on any failure.
struct Runtime {
    name: &'static str,
    built: fn() -> bool,
    command: fn(&Path, &Path, &Path) -> Command,
}

const RUNTIMES: &[Runtime] = &[
    Runtime {
        name: "rust",
        built: || true,
        command: rust_runner,
    },
    Runtime {
        name: "python",
        built: python_built,
        command: python_runner,
    },
    Runtime {
        name: "python-httpx",
        built: python_adapter_built,
        command: |ready, scenarios, out| {
            python_adapter_runner("python-httpx", ready, scenarios, out)
        },
    },
    Runtime {
        name: "python-requests",
        built: python_adapter_built,
        command: |ready, scenarios, out| {
            python_adapter_runner("python-requests", ready, scenarios, out)
        },
    },
    Runtime {
        name: "node",
        built: node_built,
        command: node_runner,
    },
    Runtime {
        name: "node-fetch",
        built: node_built,
        command: node_fetch_runner,
    },
    Runtime {
        name: "kotlin",
        built: kotlin_built,
        command: kotlin_runner,
    },
    Runtime {
        name: "kotlin-okhttp",
        built: okhttp_built,
        command: okhttp_runner,
    },
    Runtime {
        name: "kotlin-ktor",
        built: ktor_built,
        command: ktor_runner,
    },
    Runtime {
        name: "swift",
        built: crate::swift::conformance_built,
        command: crate::swift::conformance_runner,
    },
    Runtime {
        name: "swift-urlrequest",
        built: crate::swift::conformance_built,
        command: crate::swift::urlrequest_runner,
    },
];

fn out_dir() -> PathBuf {
    target_dir().join("conformance")
}

fn rust_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let mut c = Command::new(target_dir().join("debug/hopsafe-conformance"));
    c.arg("run").args([ready, scenarios, out]);
    c
}

fn venv_python() -> PathBuf {
    state_dir().join("venv/bin/python")
}

fn python_built() -> bool {
    venv_python().exists()
        && root()
            .join("bindings/python/conformance_runner.py")
            .exists()
}

fn python_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let mut c = Command::new(venv_python());
    c.arg(root().join("bindings/python/conformance_runner.py"))
        .args([ready, scenarios, out]);
    c
}

/// The Python adapter columns: the test venv (its pinned httpx and requests) and the runner.
fn python_adapter_built() -> bool {
    python_built() && root().join("bindings/python/adapter_runner.py").exists()
}

/// hopsafe under a Python peer's API (`python-httpx`, `python-requests`).
fn python_adapter_runner(adapter: &str, ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let mut c = Command::new(venv_python());
    c.arg(root().join("bindings/python/adapter_runner.py"))
        .arg(adapter)
        .args([ready, scenarios, out]);
    c
}

fn node_built() -> bool {
    let dir = root().join("bindings/node");
    dir.join("conformance-runner.mjs").exists()
        && std::fs::read_dir(&dir).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".node"))
        })
}

fn node_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let mut c = Command::new("node");
    c.arg(root().join("bindings/node/conformance-runner.mjs"))
        .args([ready, scenarios, out]);
    c
}

/// The `node-fetch` column: every scenario through `hopsafe.fetch`.
fn node_fetch_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let mut c = Command::new("node");
    c.arg(root().join("bindings/node/conformance-fetch.mjs"))
        .args([ready, scenarios, out]);
    c
}

/// Node's own global fetch (undici) alone: nothing to install (Node 20 has it), but the
/// runner loads the addon's shared runner code, so the Node step must have run.
fn node_peer(ready: &Path, scenarios: &Path, out: &Path) -> Result<Command> {
    if !node_built() {
        return Err("the node-fetch peer needs `cargo xtask test --only node` first".into());
    }
    let mut c = Command::new("node");
    c.arg(root().join("bindings/node/peer-fetch.mjs"))
        .args([ready, scenarios, out]);
    Ok(c)
}

fn kotlin_project() -> PathBuf {
    root().join("bindings/uniffi/kotlin")
}

fn kotlin_built() -> bool {
    kotlin_project()
        .join("target/generated-sources/uniffi")
        .exists()
        && target_dir().join("debug/libhopsafe_ffi.so").exists()
}

fn kotlin_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let mut c = Command::new("mvn");
    c.args(["-q", "-B", "test-compile", "exec:java"])
        .arg(format!(
            "-Dhopsafe.lib.dir={}",
            target_dir().join("debug").display()
        ))
        .arg(format!(
            "-Dexec.args={} {} {}",
            ready.display(),
            scenarios.display(),
            out.display()
        ))
        .current_dir(kotlin_project());
    c
}

/// The throwaway repository the kotlin step deploys hopsafe-kotlin into.
fn kotlin_repo() -> PathBuf {
    target_dir().join("kotlin-repo")
}

/// Whether an adapter project (`kotlin-okhttp`, `kotlin-ktor`) was built by the kotlin step.
fn kotlin_adapter_built(dir: &str) -> bool {
    kotlin_repo().join("dev/hopsafe/hopsafe-kotlin").exists()
        && crate::kotlin::adapter_project(dir)
            .join("target/test-classes")
            .exists()
}

/// A runner `main` (a class in the test sources) of an adapter project, one Maven exec
/// (ktlint skipped: the kotlin step ran it).
fn adapter_main(dir: &str, main: &str, ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let args = format!(
        "test-compile exec:java -Dktlint.skip=true -Dexec.mainClass={main} -Dexec.args='{} {} {}'",
        ready.display(),
        scenarios.display(),
        out.display()
    );
    crate::kotlin::m2_locked(
        &crate::kotlin::adapter_mvn(&kotlin_repo(), &args),
        &crate::kotlin::adapter_project(dir),
    )
}

fn okhttp_built() -> bool {
    kotlin_adapter_built("kotlin-okhttp")
}

fn okhttp_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let main = "dev.hopsafe.okhttp.conformance.AdapterRunnerKt";
    adapter_main("kotlin-okhttp", main, ready, scenarios, out)
}

fn ktor_built() -> bool {
    kotlin_adapter_built("kotlin-ktor")
}

fn ktor_runner(ready: &Path, scenarios: &Path, out: &Path) -> Command {
    let main = "dev.hopsafe.ktor.conformance.KtorRunnerKt";
    adapter_main("kotlin-ktor", main, ready, scenarios, out)
}

/// Plain OkHttp (the JVM project of the `kotlin-okhttp` column, built by the kotlin step).
fn okhttp_peer(ready: &Path, scenarios: &Path, out: &Path) -> Result<Command> {
    if !okhttp_built() {
        return Err(
            "kotlin-okhttp is not built (run `cargo xtask test --only kotlin` first)".into(),
        );
    }
    let main = "dev.hopsafe.okhttp.conformance.PeerRunnerKt";
    Ok(adapter_main("kotlin-okhttp", main, ready, scenarios, out))
}

/// Runs the runtimes named in `only` (all built ones when `None`) and checks them; `peers`
/// are other clients played for comparison (installed on demand, never failing the run).
pub fn conformance(only: Option<&[&str]>, peers: &[&str]) -> Result {
    run(cargo()
        .args([
            "build",
            "--quiet",
            "-p",
            "hopsafe-testserver",
            "-p",
            "hopsafe-conformance",
        ])
        .current_dir(root()))?;
    let dir = out_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let server = TestServer::start_with_proxies()?;
    let ready = dir.join("server.json");
    std::fs::write(&ready, &server.ready).map_err(|e| e.to_string())?;
    let scenarios = root().join("tests/conformance/scenarios.json");
    let mut observed = Vec::new();
    let mut problems = Vec::new();
    for rt in RUNTIMES {
        if only.is_some_and(|o| !o.contains(&rt.name)) {
            continue;
        }
        if !(rt.built)() {
            if only.is_some() {
                problems.push(format!(
                    "{} is not built (run `cargo xtask test --only {}` first)",
                    rt.name, rt.name
                ));
            } else {
                eprintln!("  {}: not built, not in the matrix", rt.name);
            }
            continue;
        }
        let out = dir.join(format!("{}.json", rt.name));
        let _ = std::fs::remove_file(&out);
        let started = std::time::Instant::now();
        let result = run(&mut (rt.command)(&ready, &scenarios, &out));
        eprintln!("  {}: {:.0}s", rt.name, started.elapsed().as_secs_f64());
        match result {
            Ok(()) if out.exists() => observed.push(out),
            Ok(()) => problems.push(format!("the {} runner wrote no observations", rt.name)),
            Err(e) => problems.push(format!("the {} runner failed: {e}", rt.name)),
        }
    }
    for name in peers {
        let Some(peer) = PEERS.iter().find(|p| p.name == *name) else {
            let known: Vec<_> = PEERS.iter().map(|p| p.name).collect();
            problems.push(format!(
                "unknown peer {name:?} (known: {})",
                known.join(", ")
            ));
            continue;
        };
        let out = dir.join(format!("peer-{}.json", peer.name));
        let _ = std::fs::remove_file(&out);
        let started = std::time::Instant::now();
        let result = (peer.command)(&ready, &scenarios, &out).and_then(|mut c| run(&mut c));
        eprintln!(
            "  peer {}: {:.0}s",
            peer.name,
            started.elapsed().as_secs_f64()
        );
        match result {
            Ok(()) if out.exists() => observed.push(out),
            Ok(()) => problems.push(format!("the {} peer wrote no observations", peer.name)),
            Err(e) => problems.push(format!("the {} peer failed: {e}", peer.name)),
        }
    }
    let mut check = Command::new(target_dir().join("debug/hopsafe-conformance"));
    check
        .arg("check")
        .args([&ready, &scenarios, &dir])
        .args(&observed);
    let checked = run(&mut check);
    drop(server);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    checked
}

/// The `conformance` step of `cargo xtask test`: every runtime must have been built by its own
/// step (a runtime that failed to build fails this step too, never silently leaves the matrix).
pub fn test() -> Result {
    let all: Vec<&str> = RUNTIMES.iter().map(|r| r.name).collect();
    conformance(Some(&all), &[])
}

/// Another client played on the same scenarios for comparison (`--peer NAME`): its column
/// is `peer:NAME` and never fails the run. `command` installs what the peer needs first.
struct Peer {
    name: &'static str,
    command: fn(&Path, &Path, &Path) -> Result<Command>,
}

/// Names are `LANGUAGE-CLIENT`, matching the adapter column that puts hopsafe under it.
const PEERS: &[Peer] = &[
    Peer {
        name: "python-httpx",
        command: |ready, scenarios, out| python_peer("python-httpx", ready, scenarios, out),
    },
    Peer {
        name: "python-requests",
        command: |ready, scenarios, out| python_peer("python-requests", ready, scenarios, out),
    },
    Peer {
        name: "node-fetch",
        command: node_peer,
    },
    Peer {
        name: "kotlin-okhttp",
        command: okhttp_peer,
    },
    Peer {
        name: "swift-urlsession",
        command: crate::swift::urlsession_peer,
    },
];

/// A Python peer: the test venv, whose pinned tools include httpx and requests.
fn python_peer(peer: &str, ready: &Path, scenarios: &Path, out: &Path) -> Result<Command> {
    let python = crate::python::venv_python()?;
    let mut c = Command::new(python);
    c.arg(root().join("bindings/python/peer_runner.py"))
        .arg(peer)
        .args([ready, scenarios, out]);
    Ok(c)
}
