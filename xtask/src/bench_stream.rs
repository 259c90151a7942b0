//! `cargo xtask bench --only stream`: a 1 GiB streamed download per binding (Rust, Python,
//! Node) beside a peer, each client in its own process: throughput and the growth of peak
//! resident memory over the download (the aim: under 32 MiB whatever the body size).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{output, root, target_dir, Result};

/// Bytes downloaded per client.
const SIZE: u64 = 1 << 30;
/// The growth of peak RSS a streamed download should stay under.
const AIM_KIB: u64 = 32 * 1024;

/// (runtime, clients; the first is hopsafe, the rest its peers).
const CLIENTS: &[(&str, &[&str])] = &[
    ("Rust", &["hopsafe", "reqwest"]),
    ("Python", &["hopsafe", "httpx", "urllib3"]),
    ("Node", &["hopsafe", "fetch", "undici-request"]),
    ("Node (BYOB reader)", &["hopsafe-byob", "fetch-byob"]),
];

/// What runs a runtime's clients: the bench binary, the bench venv's python (with a release
/// build of hopsafe), or node (with a release addon); built once per section.
fn program(runtime: &str) -> Result<PathBuf> {
    Ok(match runtime {
        "Rust" => target_dir().join("release/hopsafe-bench"),
        "Python" => crate::bench::python_venv()?,
        // Node and "Node (BYOB reader)"
        _ => {
            crate::bench::node_setup()?;
            PathBuf::from("node")
        }
    })
}

fn command(runtime: &str, program: &Path, client: &str, base: &str) -> Command {
    let size = SIZE.to_string();
    let mut c = Command::new(program);
    match runtime {
        "Rust" => c.args([base, "--stream", client, &size]),
        "Python" => c
            .arg(root().join("bench/python/stream.py"))
            .args([base, client, &size]),
        _ => c
            .arg(root().join("bench/node/stream.mjs"))
            .args([base, client, &size]),
    };
    c
}

/// Runs every client `rounds` times (interleaved); median throughput, largest growth.
/// Three rounds even when quick: one round's throughput swung by a third between runs (Python
/// hopsafe against urllib3 went 1.28x, then 0.77x), while CPU per MiB did not.
pub fn section(base: &str, quick: bool) -> Result<String> {
    let rounds = if quick { 3 } else { 5 };
    let mut md = format!(
        "### Streamed download: 1 GiB, chunk by chunk\n\n\
         One `GET /stream/{SIZE}` per client after a warm-up request, in its own process, {rounds} round(s), \
         median throughput; peak RSS growth = peak resident memory during the download (VmHWM, reset \
         just before) minus resident memory before it, the largest over the rounds. Aim: under 32 MiB.\n\n\
         | runtime | client | MiB/s | hopsafe / peer | peak RSS growth (MiB) | RSS before (MiB) |\n\
         |---|---|---:|---:|---:|---:|\n"
    );
    for (runtime, clients) in CLIENTS {
        let program = program(runtime)?;
        let mut runs: Vec<Vec<Value>> = vec![Vec::new(); clients.len()];
        for round in 1..=rounds {
            for (i, client) in clients.iter().enumerate() {
                eprintln!("  {runtime} {client} 1 GiB stream (round {round} of {rounds})...");
                let text = output(&mut command(runtime, &program, client, base))?;
                let v: Value = serde_json::from_str(text.trim())
                    .map_err(|e| format!("{runtime} {client}: {e}: {text}"))?;
                runs[i].push(v);
            }
        }
        let rate = |runs: &[Value]| {
            let mut v: Vec<f64> = runs
                .iter()
                .filter_map(|r| Some(r["bytes"].as_f64()? / r["seconds"].as_f64()? / 1048576.0))
                .collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let hopsafe_rate = rate(&runs[0]);
        for (client, runs) in clients.iter().zip(&runs) {
            let growth = runs
                .iter()
                .filter_map(|r| r["peak_growth_kib"].as_u64())
                .max()
                .unwrap_or(0);
            let before = runs
                .iter()
                .filter_map(|r| r["rss_kib"].as_u64())
                .max()
                .unwrap_or(0);
            let ours = client.starts_with("hopsafe");
            let mark = if ours && growth >= AIM_KIB {
                " (over the aim)"
            } else {
                ""
            };
            let ratio = if ours {
                "—".to_owned()
            } else {
                format!("{:.2}×", hopsafe_rate / rate(runs))
            };
            let _ = writeln!(
                md,
                "| {runtime} | {client} | {:.0} | {ratio} | {:.1}{mark} | {:.0} |",
                rate(runs),
                growth as f64 / 1024.0,
                before as f64 / 1024.0
            );
        }
    }
    md.push('\n');
    Ok(md)
}
