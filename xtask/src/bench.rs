//! `cargo xtask bench [--quick]`: hopsafe against its peers in Rust, Python, Node and Kotlin,
//! on one loopback server, in one run; writes `bench/results.md`. Never part of `cargo xtask test`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::util::{cargo, output, root, run, state_dir, target_dir, Result};

pub(crate) const PY_PEERS: &[(&str, &str)] = &[
    ("httpx", "0.28.1"),
    ("requests", "2.34.2"),
    ("urllib3", "2.8.0"),
    ("aiohttp", "3.14.5"),
    ("pyreqwest", "0.15.1"),
    ("maturin", "1.16.0"),
];
const PY_CLIENTS: &[&str] = &[
    "hopsafe",
    "pyreqwest",
    "httpx",
    "requests",
    "urllib3",
    "hopsafe-async",
    "httpx-async",
    "aiohttp",
    // hopsafe under a peer's API: the ratio is the adapter's cost over native hopsafe.
    "httpx+hopsafe",
    "requests+hopsafe",
    "httpx-async+hopsafe",
];
const NODE_CLIENTS: &[&str] = &[
    "hopsafe",
    "hopsafe-fetch",
    "undici-request",
    "fetch",
    "axios",
];

struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn server() -> Result<Server> {
    let mut child = Command::new(target_dir().join("release/hopsafe-bench-server"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("bench server: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let v: Value =
        serde_json::from_str(&line).map_err(|e| format!("bench server said {line:?}: {e}"))?;
    Ok(Server {
        child,
        base: v["base"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Process rounds per Python/Node client.
fn rounds(quick: bool) -> usize {
    if quick {
        3
    } else {
        5
    }
}

/// The bench venv with the peers and a release build of hopsafe; returns its python.
pub(crate) fn python_venv() -> Result<std::path::PathBuf> {
    let venv = state_dir().join("bench-venv");
    let py = crate::python::ensure_venv(&venv, PY_PEERS)?;
    run(Command::new(venv.join("bin/maturin"))
        .args(["develop", "--release", "--quiet", "-m"])
        .arg(root().join("bindings/python/Cargo.toml"))
        .env("VIRTUAL_ENV", &venv))?;
    Ok(py)
}

fn python(base: &str, quick: bool) -> Result<Vec<Value>> {
    let py = python_venv()?;
    clients(PY_CLIENTS, rounds(quick), |c, _| {
        let mut cmd = Command::new(&py);
        cmd.arg(root().join("bench/python/bench.py"))
            .args([base, c]);
        if quick {
            cmd.arg("--quick");
        }
        cmd
    })
}

/// A release build of the addon and the Node peers installed; returns `bench/node`.
pub(crate) fn node_setup() -> Result<std::path::PathBuf> {
    let dir = root().join("bindings/node");
    crate::node::build()?;
    run(Command::new(dir.join("node_modules/.bin/napi"))
        .args([
            "build",
            "--platform",
            "--release",
            // The checked-in loader (native.js) finds the addon; napi must not replace it.
            "--no-js",
            "--dts",
            "native.d.ts",
        ])
        .current_dir(&dir))?;
    let bench = root().join("bench/node");
    if !bench.join("node_modules").exists() {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&bench))?;
    }
    Ok(bench)
}

fn node(base: &str, quick: bool) -> Result<Vec<Value>> {
    let bench = node_setup()?;
    clients(NODE_CLIENTS, rounds(quick), |c, round| {
        let mut cmd = Command::new("node");
        cmd.arg(bench.join("bench.mjs"))
            .args([base, c, "--round", &round.to_string()]);
        if quick {
            cmd.arg("--quick");
        }
        cmd
    })
}

/// Runs every client's process `rounds` times, interleaved (round 1 of every client, then
/// round 2, ...), so a slow spell of the shared machine hits every client alike; reports the
/// median rate per workload, the largest peak RSS and the first error. `cmd` gets the client's
/// name and the round (from 1).
fn clients(
    names: &[&str],
    rounds: usize,
    cmd: impl Fn(&str, usize) -> Command,
) -> Result<Vec<Value>> {
    let mut runs: Vec<Vec<Value>> = vec![Vec::new(); names.len()];
    for round in 1..=rounds {
        for (i, name) in names.iter().enumerate() {
            eprintln!("  {name} (round {round} of {rounds})...");
            let text = output(&mut cmd(name, round))?;
            let v: Value =
                serde_json::from_str(text.trim()).map_err(|e| format!("{name}: {e}: {text}"))?;
            runs[i].push(v);
        }
    }
    Ok(names
        .iter()
        .zip(runs)
        .map(|(name, runs)| merge(name, &runs))
        .collect())
}

fn merge(name: &str, runs: &[Value]) -> Value {
    let peak = runs.iter().filter_map(|r| r["peak_rss_kib"].as_u64()).max();
    let error = runs.iter().find_map(|r| r["error"].as_str());
    serde_json::json!({ "client": name, "rps": median_by_workload(runs, "rps"), "cpu_us": median_by_workload(runs, "cpu_us"), "peak_rss_kib": peak, "error": error })
}

/// The median over `runs` of each workload's number under `key` (`rps`, `cpu_us`).
fn median_by_workload(runs: &[Value], key: &str) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    let workloads: Vec<String> = runs
        .iter()
        .filter_map(|r| r[key].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    for w in workloads {
        if out.contains_key(&w) {
            continue;
        }
        let mut v: Vec<f64> = runs.iter().filter_map(|r| r[key][&w].as_f64()).collect();
        v.sort_by(f64::total_cmp);
        out.insert(w, serde_json::json!(v[v.len() / 2]));
    }
    out
}

/// The request-rate workloads of every language's bench, in table order.
pub(crate) const WORKLOADS: [&str; 5] = [
    "sequential GET",
    "64 concurrent GET",
    "POST 1 KiB",
    "POST 1 KiB + 307",
    "10 MiB download",
];

fn table(title: &str, results: &[Value], baseline: &str) -> String {
    // Ktor (alone or over hopsafe) suspends: against hopsafe's async client.
    let is_async = |c: &str| c.contains("async") || c == "aiohttp" || c.starts_with("ktor");
    let base_of = |client: &str| {
        let name = if is_async(client) && baseline == "hopsafe" {
            "hopsafe-async"
        } else {
            baseline
        };
        results.iter().find(|r| r["client"] == name)
    };
    let mut md = format!("### {title}\n\nRequests per second (median); in brackets hopsafe / peer (async peers against hopsafe's async client; higher is better for hopsafe); — = not measured for that client.\n\n| workload |");
    for r in results {
        let _ = write!(md, " {} |", r["client"].as_str().unwrap_or("?"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(results.len()));
    md.push('\n');
    metric_rows(&mut md, results, &base_of, &RATE);
    if results.iter().any(|r| !r["peak_rss_kib"].is_null()) {
        md.push_str("| peak RSS (MiB) |");
        for r in results {
            let _ = write!(
                md,
                " {:.0} |",
                r["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0
            );
        }
        md.push('\n');
    }
    if metric_rows(&mut md, results, &base_of, &CPU) {
        md.push_str("\n`CPU µs per request`: the client process's CPU time (every thread, user and system) per request, median; in brackets peer / hopsafe (higher is better for hopsafe). It leaves out the server and the wake-ups a rate on loopback includes, and holds still when the machine is busy.\n");
    }
    for r in results.iter().filter(|r| r["error"].is_string()) {
        let _ = writeln!(
            md,
            "\n{}: {}",
            r["client"].as_str().unwrap_or("?"),
            r["error"].as_str().unwrap_or("")
        );
    }
    md.push('\n');
    md
}

/// A per-workload number the client runs report: under which key, how a row is labelled and
/// printed, and which way is better for hopsafe.
struct Metric {
    key: &'static str,
    label: &'static str,
    decimals: usize,
    lower_is_better: bool,
}

/// Requests per second.
const RATE: Metric = Metric {
    key: "rps",
    label: "",
    decimals: 0,
    lower_is_better: false,
};

/// The client process's CPU time per request.
const CPU: Metric = Metric {
    key: "cpu_us",
    label: "CPU µs per request, ",
    decimals: 1,
    lower_is_better: true,
};

/// One row per workload any client measured `m` for: hopsafe's clients bare, each peer with
/// the ratio in brackets oriented so that above 1× is better for hopsafe; whether any row
/// was written.
fn metric_rows<'a>(
    md: &mut String,
    results: &'a [Value],
    base_of: &dyn Fn(&str) -> Option<&'a Value>,
    m: &Metric,
) -> bool {
    let (key, d) = (m.key, m.decimals);
    let mut any = false;
    for w in WORKLOADS {
        if results.iter().all(|r| r[key][w].is_null()) {
            continue;
        }
        any = true;
        let _ = write!(md, "| {}{w} |", m.label);
        for r in results {
            let client = r["client"].as_str().unwrap_or("");
            let ours = base_of(client).and_then(|h| h[key][w].as_f64());
            match (r[key][w].as_f64(), ours) {
                (Some(v), Some(o)) if !client.starts_with("hopsafe") => {
                    let ratio = if m.lower_is_better { v / o } else { o / v };
                    let _ = write!(md, " {v:.d$} ({ratio:.2}×) |");
                }
                (Some(v), _) => {
                    let _ = write!(md, " {v:.d$} |");
                }
                (None, _) if r["error"].is_string() => md.push_str(" fails |"),
                (None, _) => md.push_str(" — |"),
            }
        }
        md.push('\n');
    }
    any
}

/// The bare hyper-util client's sequential GET rate in a Rust table: what the server and the
/// wake-ups between client and server allow, whatever a client spends.
fn floor_of(by_client: &[Value]) -> Option<f64> {
    by_client
        .iter()
        .find(|r| r["client"] == "hyper-util")
        .and_then(|r| r["rps"]["sequential GET"].as_f64())
}

/// Under a Python table: the floor its sequential rates are capped near.
fn floor_note(md: &mut String, floor: Option<f64>) {
    if let Some(floor) = floor {
        let _ = writeln!(
            md,
            "The bare hyper-util client (Rust, the floor above) made {floor:.0} sequential GETs per second on this server in this run: a sequential rate here cannot go much above it, whatever the client spends (the CPU rows show what each spends).\n"
        );
    }
}

/// The Rust bench's whole document and its request rates by client.
fn rust(base: &str, quick: bool) -> Result<(Value, Vec<Value>)> {
    let mut cmd = Command::new(target_dir().join("release/hopsafe-bench"));
    cmd.arg(base);
    if quick {
        cmd.arg("--quick");
    }
    let v: Value = serde_json::from_str(output(&mut cmd)?.trim()).map_err(|e| e.to_string())?;
    let mut by_client: Vec<Value> = Vec::new();
    for r in v["results"].as_array().into_iter().flatten() {
        let c = r["client"].clone();
        if !by_client.iter().any(|x| x["client"] == c) {
            by_client.push(serde_json::json!({"client": c, "rps": {}}));
        }
        if let Some(entry) = by_client.iter_mut().find(|x| x["client"] == c) {
            entry["rps"][r["workload"].as_str().unwrap_or("?")] = r["rps"].clone();
        }
    }
    Ok((v, by_client))
}

/// The sections `--only` may name, in run order.
const SECTIONS: &[&str] = &[
    "rust",
    "python",
    "node",
    "kotlin",
    "stream",
    "kotlin-stream",
    "swift-stream",
    "nginx",
];

/// `--quick` and `--only a,b` from `args`; anything else (`--help` included) is an error
/// that names the accepted arguments, before anything is built or run.
fn parse_args(args: &[String]) -> Result<(bool, Option<Vec<&str>>)> {
    let usage = || {
        format!(
            "usage: cargo xtask bench [--quick] [--only {}]",
            SECTIONS.join(",")
        )
    };
    let (mut quick, mut only) = (false, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" => {
                let list: Vec<&str> = it.next().ok_or_else(usage)?.split(',').collect();
                if let Some(bad) = list.iter().find(|s| !SECTIONS.contains(s)) {
                    return Err(format!("unknown bench section {bad:?}\n{}", usage()));
                }
                only = Some(list);
            }
            _ => return Err(usage()),
        }
    }
    Ok((quick, only))
}

pub fn bench(args: &[String]) -> Result {
    let (quick, only) = parse_args(args)?;
    let want = |x: &str| only.as_ref().is_none_or(|o| o.contains(&x));
    run(cargo()
        .args(["build", "--quiet", "--release", "-p", "hopsafe-bench"])
        .current_dir(root()))?;
    let srv = server()?;
    let mut md = String::from("# Benchmarks\n\n");
    let _ = writeln!(
        md,
        "Made by `cargo xtask bench{}` on {} ({} cores, shared and noisy: compare ratios from one run, not absolute numbers across runs). One loopback hyper server, HTTP/1.1 keep-alive, no TLS; each Python/Node client runs in its own process, {} rounds interleaved across clients, median per workload.\n",
        if quick { " --quick" } else { "" },
        output(Command::new("date").arg("-u").arg("+%Y-%m-%d"))?.trim(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        rounds(quick),
    );
    let mut floor = None;
    if want("rust") {
        let (v, by_client) = rust(&srv.base, quick)?;
        floor = floor_of(&by_client);
        md.push_str(&table(
            "Rust: hopsafe vs reqwest vs bare hyper-util (the floor)",
            &by_client,
            "hopsafe",
        ));
        let rss = &v["rss_kib"];
        let _ = writeln!(
            md,
            "- The policy path of one hop alone (resolve `Location`, method rule, credential check): {:.0} ns.\n- RSS of the whole bench process: {} KiB at start, {} KiB after every workload above, {} KiB after {} more requests on one client (growth over those requests: the number to watch).\n",
            v["policy_path_ns"].as_f64().unwrap_or(f64::NAN),
            rss["process_start"], rss["after_warm_client"], rss["after_many_requests"], rss["requests"],
        );
        md.push_str(&crate::bench_rust::instructions_section(&srv.base, quick));
        md.push_str(&crate::bench_rust::allocations_section(&v));
        md.push_str(&crate::bench_rust::idle_section(&srv.base));
    }
    if want("python") {
        md.push_str(&table(
            "Python: hopsafe (sync, async) vs pyreqwest, httpx, requests, urllib3, aiohttp; hopsafe under httpx and requests (`+hopsafe`: the ratio is native hopsafe over the adapter, its overhead)",
            &python(&srv.base, quick)?,
            "hopsafe",
        ));
        floor_note(&mut md, floor);
    }
    if want("node") {
        md.push_str(&table(
            "Node: hopsafe vs undici request, built-in fetch, axios",
            &node(&srv.base, quick)?,
            "hopsafe",
        ));
    }
    if want("kotlin") {
        md.push_str(&crate::bench_kotlin::section(
            &srv.base,
            srv.child.id(),
            quick,
            table,
        )?);
    }
    if want("stream") {
        md.push_str(&crate::bench_stream::section(&srv.base, quick)?);
    }
    if want("kotlin-stream") {
        md.push_str(&crate::bench_kotlin::stream_section(&srv.base, quick)?);
    }
    if want("swift-stream") {
        md.push_str(&crate::bench_swift::stream_section(&srv.base, quick)?);
    }
    if want("nginx") {
        let nginx = crate::bench_nginx::start()?;
        let _ = writeln!(
            md,
            "### Against nginx\n\nThe same workloads against nginx {} from Debian (`return 200` for `/echo`, `return 307` for `/r/307`, a static 10 MiB file), so no ratio depends on hopsafe's own server.\n",
            crate::bench_nginx::version(),
        );
        let by_client = rust(&nginx.base, quick)?.1;
        md.push_str(&table("Rust (nginx)", &by_client, "hopsafe"));
        md.push_str(&table(
            "Python (nginx)",
            &python(&nginx.base, quick)?,
            "hopsafe",
        ));
        floor_note(&mut md, floor_of(&by_client));
        md.push_str(&table(
            "Node (nginx)",
            &node(&nginx.base, quick)?,
            "hopsafe",
        ));
    }
    // A partial (`--only`) run must not overwrite the checked-in full results.
    let path = match only {
        Some(_) => state_dir().join("bench-results.md"),
        None => root().join("bench/results.md"),
    };
    std::fs::create_dir_all(path.parent().unwrap_or(&root())).map_err(|e| e.to_string())?;
    std::fs::write(&path, &md).map_err(|e| e.to_string())?;
    println!("{md}");
    eprintln!("written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{floor_note, floor_of, merge, parse_args, table};
    use serde_json::json;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_quick_and_only_and_refuses_the_rest() {
        let a = args(&["--quick", "--only", "node,rust"]);
        assert_eq!(parse_args(&a), Ok((true, Some(vec!["node", "rust"]))));
        assert_eq!(parse_args(&[]), Ok((false, None)));
        for bad in [
            &["--help"][..],
            &["--only"],
            &["--only", "nodes"],
            &["quick"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn medians_cpu_per_request_and_shows_it_beside_the_rates() {
        let run = |client: &str, rps: f64, cpu: f64| json!({"client": client, "rps": {"sequential GET": rps}, "cpu_us": {"sequential GET": cpu}, "peak_rss_kib": 1024, "error": null});
        let ours = merge(
            "hopsafe",
            &[
                run("hopsafe", 3.0, 20.0),
                run("hopsafe", 1.0, 30.0),
                run("hopsafe", 2.0, 10.0),
            ],
        );
        assert_eq!(ours["rps"]["sequential GET"], json!(2.0));
        assert_eq!(ours["cpu_us"]["sequential GET"], json!(20.0));
        let peer = merge("peer", &[run("peer", 1.0, 50.0)]);
        let md = table("t", &[ours, peer], "hopsafe");
        assert!(md.contains("| sequential GET | 2 | 1 (2.00×) |"), "{md}");
        assert!(
            md.contains("| CPU µs per request, sequential GET | 20.0 | 50.0 (2.50×) |"),
            "{md}"
        );
        // A bench without CPU numbers (Node, Kotlin) gets no CPU rows.
        let bare = json!({"client": "hopsafe", "rps": {"sequential GET": 1.0}, "peak_rss_kib": null, "error": null});
        assert!(!table("t", &[merge("hopsafe", &[bare])], "hopsafe").contains("CPU"));
    }

    #[test]
    fn notes_the_floor_under_a_python_table_only_when_the_rust_bench_ran() {
        let rust = [
            json!({"client": "hopsafe", "rps": {"sequential GET": 9.0}}),
            json!({"client": "hyper-util", "rps": {"sequential GET": 8035.4}}),
        ];
        assert_eq!(floor_of(&rust), Some(8035.4));
        let mut md = String::new();
        floor_note(&mut md, floor_of(&rust));
        assert!(md.contains("made 8035 sequential GETs per second"), "{md}");
        let mut none = String::new();
        floor_note(&mut none, floor_of(&rust[..1]));
        assert!(none.is_empty());
    }
}
