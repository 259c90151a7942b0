//! The Kotlin part of `cargo xtask bench`: hopsafe's uniffi binding (release cdylib) against
//! OkHttp and Ktor, and hopsafe under them (hopsafe-okhttp, hopsafe-ktor), in the Maven
//! project `bench/kotlin`, all clients in one JVM, interleaved round by round.

use std::process::Command;

use serde_json::Value;

use crate::kotlin::{build_ffi, generate};
use crate::util::{have, output, root, run, Result};

/// The clients of `Bench.kt`, in its order.
const CLIENTS: &[&str] = &[
    "hopsafe",
    "okhttp",
    "hopsafe-async",
    "okhttp-async",
    "ktor",
    "okhttp+hopsafe",
    "ktor+hopsafe",
];

/// Each adapter with the native hopsafe call it wraps and the peer it stands under.
const ADAPTERS: &[(&str, &str, &str)] = &[
    ("okhttp+hopsafe", "hopsafe", "okhttp"),
    ("ktor+hopsafe", "hopsafe-async", "ktor"),
];

/// Builds the release cdylib, the binding's Kotlin and the bench project; returns the `java`
/// arguments that put them on the classpath.
fn build() -> Result<Vec<String>> {
    if !have("mvn") || !have("java") {
        return Err("the kotlin bench needs `mvn` and a JDK 17+ on PATH".into());
    }
    let project = root().join("bench/kotlin");
    let lib = build_ffi(true)?;
    let generated = project.join("target/generated-sources/uniffi");
    generate("kotlin", &lib, &generated)?;
    // The binding ships its hand-written files (the `HopsafeClient(config)` factory, `send`,
    // the error accessors) with the generated code.
    let hand_written = root().join("bindings/uniffi/kotlin/src/main/kotlin/dev/hopsafe");
    for entry in std::fs::read_dir(&hand_written)
        .map_err(|e| format!("cannot list {}: {e}", hand_written.display()))?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "kt"))
    {
        let to = generated.join("dev/hopsafe").join(entry.file_name());
        std::fs::copy(entry.path(), &to)
            .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
    }
    let classpath = project.join("target/classpath.txt");
    run(Command::new("mvn")
        .args(["-q", "-B", "compile", "dependency:build-classpath"])
        .arg(format!("-Dmdep.outputFile={}", classpath.display()))
        .current_dir(&project))?;
    let deps = std::fs::read_to_string(&classpath)
        .map_err(|e| format!("cannot read {}: {e}", classpath.display()))?;
    let lib_dir = lib.parent().ok_or("cdylib has no directory")?;
    Ok(vec![
        format!("-Djna.library.path={}", lib_dir.display()),
        "-cp".into(),
        format!(
            "{}:{}",
            project.join("target/classes").display(),
            deps.trim()
        ),
    ])
}

/// One run of `Bench.kt`: a result per client (`client`, `rps`, `spread`, `peak_rss_kib`,
/// `error`, as the other languages' benches give), and what the rest of the machine did.
pub struct Run {
    pub results: Vec<Value>,
    /// CPU the machine spent outside the bench JVM and the server meanwhile, in cores.
    pub others_cores: f64,
    /// `/proc/loadavg` (1, 5, 15 min) at the start and at the end.
    pub load: String,
}

/// Builds the release cdylib and the bench, runs it against `base` (served by process
/// `server_pid`).
pub fn run_bench(base: &str, server_pid: u32, quick: bool) -> Result<Run> {
    let java = build()?;
    let mut cmd = Command::new("java");
    cmd.args(&java).args(["dev.hopsafe.bench.BenchKt", base]);
    cmd.args(["--server-pid", &server_pid.to_string()]);
    if quick {
        cmd.arg("--quick");
    }
    eprintln!("  {} (one JVM)...", CLIENTS.join(", "));
    let text = output(&mut cmd)?;
    let v: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("the kotlin bench printed {text:?}: {e}"))?;
    match (&v["results"], v["others_cores"].as_f64()) {
        (Value::Array(results), Some(others_cores)) => Ok(Run {
            results: results.clone(),
            others_cores,
            load: v["load"].as_str().unwrap_or("?").to_owned(),
        }),
        _ => Err(format!("the kotlin bench printed {text:?}")),
    }
}

/// The Kotlin section of `bench/results.md`, rendered with `table`.
pub fn section(
    base: &str,
    server_pid: u32,
    quick: bool,
    table: impl Fn(&str, &[Value], &str) -> String,
) -> Result<String> {
    let Run {
        results,
        others_cores,
        load,
    } = run_bench(base, server_pid, quick)?;
    let mut md = table(
        "Kotlin/JVM: hopsafe (blocking, suspend) vs OkHttp 5 (execute, enqueue) and Ktor 3 (CIO); hopsafe under OkHttp and Ktor (`+hopsafe`: the ratio is native hopsafe over the adapter, its overhead)",
        &results,
        "hopsafe",
    );
    // The table's last row ends at the first blank line.
    if let Some(end) = md
        .find("|\n\n")
        .filter(|_| results.iter().all(|r| r["peak_rss_kib"].is_null()))
    {
        let row = format!("| peak RSS |{}\n", " not measured |".repeat(results.len()));
        md.insert_str(end + 2, &row);
    }
    let rounds = if quick { 9 } else { 15 };
    md.insert_str(
        md.trim_end().len(),
        &format!("\n\nAll clients share one JVM (JDK from PATH, default flags) and are interleaved round by round after a warm-up (so no peak RSS per client): per workload one unmeasured round, then {rounds} short rounds, one per client in turn, the order rotated each round; the median round is shown, and below how far the rounds spread. While it ran, the rest of the machine used {others_cores:.2} of its cores (load average, the bench's own threads included: {load}). 64 concurrent: `hopsafe` (`requestBlocking`), `okhttp` (`execute`) and `okhttp+hopsafe` (`execute` on hopsafe-okhttp's `Call.Factory`) on 64 platform threads; `hopsafe-async` (suspend `send`), `okhttp-async` (`enqueue` bridged to a coroutine), `ktor` (Ktor `HttpClient` on its CIO engine) and `ktor+hopsafe` (Ktor `HttpClient` on the hopsafe-ktor engine) as 64 coroutines on `Dispatchers.Default`. The adapters and `hopsafe`/`hopsafe-async` share one hopsafe client. OkHttp keeps up to 64 idle connections; OkHttp and Ktor (told to follow a 307 for every method) follow the 307 with method and body (checked against the server's echo before timing)."),
    );
    md.push_str(&spread_table(&results));
    md.push_str(&adapter_table(&results));
    Ok(md)
}

/// Per workload and client, the interquartile range of the rounds over their median: how far
/// apart the rounds were (a ratio between two clients is not trustworthy to better than that).
fn spread_table(results: &[Value]) -> String {
    let mut md = String::from(
        "Round-to-round spread (interquartile range over median; a ratio is no better than the spreads of its two clients):\n\n| workload |",
    );
    for r in results {
        md.push_str(&format!(" {} |", r["client"].as_str().unwrap_or("?")));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(results.len()));
    md.push('\n');
    for w in crate::bench::WORKLOADS {
        md.push_str(&format!("| {w} |"));
        for r in results {
            match r["spread"][w].as_f64() {
                Some(s) => md.push_str(&format!(" {:.0}% |", s * 100.0)),
                None => md.push_str(" — |"),
            }
        }
        md.push('\n');
    }
    md.push('\n');
    md
}

/// The adapters' overhead: per workload, the rate of native hopsafe and of the peer alone
/// over the rate through the adapter.
fn adapter_table(results: &[Value]) -> String {
    let rate = |client: &str, w: &str| {
        results
            .iter()
            .find(|r| r["client"] == client)
            .and_then(|r| r["rps"][w].as_f64())
    };
    let mut md = String::from(
        "Adapter overhead: requests per second of the reference over the adapter's (the adapter's time per request relative to the reference; against native hopsafe, the issue's target is at most 1.10×, within 10%).\n\n| workload |",
    );
    for (adapter, native, peer) in ADAPTERS {
        md.push_str(&format!(" {native} ÷ {adapter} | {peer} ÷ {adapter} |"));
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(2 * ADAPTERS.len()));
    md.push('\n');
    for w in crate::bench::WORKLOADS {
        md.push_str(&format!("| {w} |"));
        for (adapter, native, peer) in ADAPTERS {
            for reference in [native, peer] {
                match (rate(reference, w), rate(adapter, w)) {
                    (Some(r), Some(a)) => md.push_str(&format!(" {:.2}× |", r / a)),
                    _ => md.push_str(" — |"),
                }
            }
        }
        md.push('\n');
    }
    md.push('\n');
    md
}

/// Bytes of the streamed download (1 GiB; 256 MiB with `--quick`).
fn stream_size(quick: bool) -> u64 {
    if quick {
        256 << 20
    } else {
        1 << 30
    }
}

/// The streamed-download section: each client in its own JVM, with default heap settings and
/// with `-Xmx64m`, reading `/stream/N` as it arrives; rate and peak RSS growth.
pub fn stream_section(base: &str, quick: bool) -> Result<String> {
    let java = build()?;
    let size = stream_size(quick);
    let clients = ["hopsafe", "hopsafe-flow", "okhttp"];
    let heaps: [(&str, &[&str]); 3] = [
        ("default (G1)", &[]),
        ("-Xmx64m (G1)", &["-Xmx64m"]),
        ("-Xmx64m, Serial GC", &["-Xmx64m", "-XX:+UseSerialGC"]),
    ];
    let mut md = format!(
        "### Kotlin/JVM: {} MiB streamed download, hopsafe vs OkHttp 5\n\n\
         Each client in a fresh JVM: a 16 MiB warm-up download, the peak RSS reset \
         (`/proc/self/clear_refs`), then `GET /stream/{size}` read as it arrives. `hopsafe`: \
         `openBlocking` + `body.inputStream()`; `hopsafe-flow`: `stream` + `body.asFlow()`; \
         `okhttp`: `execute` + `body.byteStream()` (both streams read into one 64 KiB buffer). \
         Growth = VmHWM after − VmRSS before; the target for hopsafe is under 32 MiB. \
         `hopsafe`'s stream copies each chunk from native memory straight into the caller's \
         buffer, as OkHttp reads into it; `hopsafe-flow` emits a new `ByteArray` per chunk (a \
         `Flow<ByteArray>` must), so the whole download is short-lived garbage: what G1 grows \
         its young generation to for it shows up as RSS; with the serial collector, whose heap \
         stays put, the growth left is the native side's.\n\n\
         | JVM | measure |{}\n|---|---|{}\n",
        size >> 20,
        clients.map(|c| format!(" {c} |")).concat(),
        "---:|".repeat(clients.len()),
    );
    for (label, flags) in heaps {
        let mut rate = format!("| {label} | MiB/s |");
        let mut growth = format!("| {label} | peak RSS growth (MiB) |");
        for c in clients {
            eprintln!("  {c} streamed download ({label})...");
            let text = output(
                Command::new("java")
                    .args(flags)
                    .args(&java)
                    .args(["dev.hopsafe.bench.StreamBenchKt", base, c])
                    .arg(size.to_string()),
            )?;
            let v: Value =
                serde_json::from_str(text.trim()).map_err(|e| format!("{c}: {e}: {text}"))?;
            match (v["mib_per_s"].as_f64(), v["rss_growth_kib"].as_f64()) {
                (Some(r), Some(g)) => {
                    rate.push_str(&format!(" {r:.0} |"));
                    growth.push_str(&format!(" {:.1} |", g / 1024.0));
                }
                _ => {
                    let e = v["error"].as_str().unwrap_or("no result").to_owned();
                    rate.push_str(&format!(" fails: {e} |"));
                    growth.push_str(" — |");
                }
            }
        }
        md.push_str(&format!("{rate}\n{growth}\n"));
    }
    md.push('\n');
    Ok(md)
}
