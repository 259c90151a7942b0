//! The Rust section's deterministic figures: CPU instructions per request (callgrind),
//! allocations per request, and the memory of an idle client. Wall-clock rates on a shared
//! 2-core machine swing with scheduling; these do not.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

use crate::util::{have, target_dir};

const CLIENTS: [&str; 3] = ["hopsafe", "reqwest", "hyper-util"];
const WORKLOADS: [&str; 3] = ["GET", "POST", "POST+307"];

fn bench_bin() -> std::path::PathBuf {
    target_dir().join("release/hopsafe-bench")
}

/// Instructions the client process executes for `n` requests (plus start-up), by callgrind.
fn instructions(base: &str, client: &str, workload: &str, n: usize) -> Option<f64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(bench_bin())
        .args([base, "--instr", client, workload, &n.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(':').next()?.trim().parse().ok()
}

/// Markdown for instructions per request (difference of two run lengths, so start-up
/// cancels out), or a note when valgrind is missing.
pub fn instructions_section(base: &str, quick: bool) -> String {
    if !have("valgrind") {
        return "Instructions per request: not measured (valgrind is not installed).\n\n".into();
    }
    let (short, long) = if quick { (100, 400) } else { (200, 1200) };
    let mut md = String::from("CPU instructions per request in the client process (callgrind, current-thread runtime, sequential; deterministic, so comparable across runs). In brackets peer / hopsafe: above 1× hopsafe does less work.\n\n| workload | hopsafe | reqwest | hyper-util |\n|---|---:|---:|---:|\n");
    let mut ours = std::collections::HashMap::new();
    for w in WORKLOADS {
        let _ = write!(md, "| {w} |");
        for c in CLIENTS {
            if c == "hyper-util" && w == "POST+307" {
                md.push_str(" — |");
                continue;
            }
            eprintln!("  callgrind {c} {w}...");
            let per = match (
                instructions(base, c, w, short),
                instructions(base, c, w, long),
            ) {
                (Some(a), Some(b)) => (b - a) / (long - short) as f64,
                _ => f64::NAN,
            };
            if c == "hopsafe" {
                ours.insert(w, per);
                let _ = write!(md, " {:.1}k |", per / 1000.0);
            } else {
                let _ = write!(md, " {:.1}k ({:.2}×) |", per / 1000.0, per / ours[w]);
            }
        }
        md.push('\n');
    }
    // The engine's own cost for one hop: following (POST+307) minus returning the 307 to the
    // caller and sending the second POST by hand.
    let returned = match (
        instructions(base, "hopsafe-nofollow", "POST+307", short),
        instructions(base, "hopsafe-nofollow", "POST+307", long),
    ) {
        (Some(a), Some(b)) => (b - a) / (long - short) as f64,
        _ => f64::NAN,
    };
    let (followed, manual) = (ours["POST+307"], returned + ours["POST"]);
    let _ = writeln!(
        md,
        "\n- Redirect engine cost per hop: following a 307 costs {:.1}k instructions; stopping at the 307 and sending the next POST by hand costs {:.1}k ({:.1}k + {:.1}k). The engine's hop handling (Location, method rule, credential check, body replay) is cheaper than a second request started by the caller; the {:.1}k a hop adds to a POST is the second request itself.\n",
        followed / 1000.0,
        manual / 1000.0,
        returned / 1000.0,
        ours["POST"] / 1000.0,
        (followed - ours["POST"]) / 1000.0,
    );
    md
}

/// Markdown for allocations per request, from the bench run's counting allocator.
pub fn allocations_section(v: &Value) -> String {
    let mut md = String::from("Allocations per request (every thread of the client process, sequential, after a warm-up).\n\n| workload | hopsafe | reqwest | hyper-util |\n|---|---:|---:|---:|\n");
    for w in WORKLOADS {
        let _ = write!(md, "| {w} |");
        for c in CLIENTS {
            let a = v["allocations"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["workload"] == w && r["client"] == c);
            match a.and_then(|r| r["allocs"].as_f64()) {
                Some(x) => {
                    let _ = write!(md, " {x:.1} |");
                }
                None => md.push_str(" — |"),
            }
        }
        md.push('\n');
    }
    md.push('\n');
    md
}

/// Markdown for the anonymous memory an idle client holds, each client in its own process.
pub fn idle_section(base: &str) -> String {
    let mut md = String::from("Idle client memory: resident anonymous memory (heap and stacks) added by building the client and leaving 1 and 8 connections idle in its pool, each client in a fresh process.\n\n| | hopsafe | reqwest | hyper-util |\n|---|---:|---:|---:|\n");
    let rows: Vec<Option<Value>> = CLIENTS
        .iter()
        .map(|c| {
            let out = Command::new(bench_bin())
                .args([base, "--idle", c])
                .output()
                .ok()?;
            serde_json::from_slice(&out.stdout).ok()
        })
        .collect();
    for (label, key) in [
        ("1 idle connection", "idle_rss_kib"),
        ("8 idle connections", "idle8_rss_kib"),
    ] {
        let _ = write!(md, "| {label} |");
        for r in &rows {
            match r.as_ref().and_then(|r| r[key].as_u64()) {
                Some(k) => {
                    let _ = write!(md, " {k} KiB |");
                }
                None => md.push_str(" — |"),
            }
        }
        md.push('\n');
    }
    md.push('\n');
    md
}
