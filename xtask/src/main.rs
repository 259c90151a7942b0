//! `cargo xtask <command>`: everything a developer or CI runs, with set-up included.
//!
//! - `demo`: starts the local lab servers and shows a POST surviving a 307 failover.
//! - `test [--only STEP,...]`: every test in every language (installs what it needs).
//! - `dist [--all] [--only python,node,jvm,apple]`: the installable packages in target/dist/
//!   (`--all`: every platform).
//! - `mutants [--modules ...]`: mutation testing of the core's policy modules (slow, not in `test`).

mod bench;
mod bench_kotlin;
mod bench_nginx;
mod bench_rust;
mod bench_stream;
mod bench_swift;
mod conformance;
mod demo;
mod dist;
mod dist_android;
mod dist_apple;
mod dist_check;
mod dist_jvm;
mod dist_node;
mod dist_python;
mod dist_qemu;
mod kotlin;
mod mutants;
mod node;
mod python;
mod rust;
mod swift;
mod util;
mod versions;

use util::Result;

/// Crates whose tests cannot run under plain `cargo test` (they are tested from their own
/// runtime by their own step).
pub const RUST_TEST_EXCLUDES: &[&str] = &[];

/// One step of `cargo xtask test`: its name and what it runs.
type TestStep = (&'static str, fn() -> Result);

/// The steps of `cargo xtask test`, in order.
const TEST_STEPS: &[TestStep] = &[
    ("versions", versions::check),
    ("lint", rust::lint),
    ("rust", rust::test),
    ("python", python::test),
    ("node", node::test),
    ("kotlin", kotlin::test),
    ("swift", swift::test),
    ("conformance", conformance::test),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => exit_code(demo::demo()),
        Some("dist") => exit_code(dist::dist(&args[1..])),
        Some("conformance") => conformance_cmd(&args[1..]),
        Some("check-versions") => exit_code(versions::check()),
        Some("bench") => exit_code(bench::bench(&args[1..])),
        Some("fuzz") => fuzz(&args[1..]),
        Some("mutants") => exit_code(mutants::mutants(&args[1..])),
        // The Apple part alone, for the macOS runner of the release workflow.
        Some("dist-apple") => exit_code(dist_apple::dist(args[1..].iter().any(|a| a == "--all"))),
        Some("help") | Some("--help") | None => {
            println!("{}", USAGE);
            0
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

const USAGE: &str = "usage: cargo xtask <command>
  demo                 run a POST through a 307 regional failover on local lab servers
  conformance [--runtimes a,b] [--peer python-httpx|python-requests|node-fetch|kotlin-okhttp|swift-urlsession]  every scenario in every built runtime (and peers, for comparison)
  test [--only a,b]    run every test in every language (steps: lint, rust, ...)
  bench [--quick] [--only rust,python,node,kotlin,stream,kotlin-stream,swift-stream,nginx]  hopsafe vs its peers; writes bench/results.md
  dist [--all] [--only python,node,jvm,apple]  build the packages into target/dist/ (host; --all: every platform, cross-built)
  check-versions       fail if any package's version differs from the workspace's
  fuzz [--minutes N]   run the fuzz targets for N minutes (default 5) and report executions
  mutants [--modules location,origin,...] [--re REGEX]  mutation-test the policy modules (slow); updates docs/mutants.md
  dist-apple [--all]   only the SwiftPM package and (--all) the XCFramework slices (macOS release runner)";

fn fuzz(args: &[String]) -> i32 {
    let minutes = match args {
        [] => 5,
        [flag, n] if flag == "--minutes" => match n.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("--minutes takes a whole number");
                return 2;
            }
        },
        _ => {
            eprintln!("usage: cargo xtask fuzz [--minutes N]");
            return 2;
        }
    };
    match rust::fuzz(minutes) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("fuzz: {e}");
            1
        }
    }
}

fn test(args: &[String]) -> i32 {
    let only: Option<Vec<&str>> = match args {
        [flag, list] if flag == "--only" => Some(list.split(',').collect()),
        [] => None,
        _ => {
            eprintln!("usage: cargo xtask test [--only step,step]");
            return 2;
        }
    };
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, f) in TEST_STEPS {
        if only.as_ref().is_some_and(|o| !o.contains(name)) {
            continue;
        }
        match util::step(name, f) {
            Ok(()) => passed += 1,
            Err(_) => failed.push(*name),
        }
    }
    eprintln!();
    if !failed.is_empty() {
        eprintln!("failed steps: {}", failed.join(", "));
    }
    println!("xtask: {passed} passed, {} failed", failed.len());
    i32::from(!failed.is_empty())
}

fn conformance_cmd(args: &[String]) -> i32 {
    let (mut only, mut peers) = (None, Vec::new());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--runtimes", Some(list)) => only = Some(list.split(',').collect::<Vec<_>>()),
            ("--peer", Some(p)) => peers.push(p.as_str()),
            _ => {
                eprintln!("usage: cargo xtask conformance [--runtimes rust,python,...] [--peer python-httpx|node-fetch]...");
                return 2;
            }
        }
    }
    exit_code(conformance::conformance(only.as_deref(), &peers))
}

fn exit_code(r: Result) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("xtask: {e}");
            1
        }
    }
}
