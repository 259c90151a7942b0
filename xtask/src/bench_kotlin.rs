//! The Kotlin part of `cargo xtask bench`: hopsafe's uniffi binding (release cdylib) against
//! OkHttp, in the Maven project `bench/kotlin`, all clients in one JVM, interleaved round by
//! round.

use std::process::Command;

use serde_json::Value;

use crate::kotlin::{build_ffi, generate};
use crate::util::{have, output, root, run, Result};

/// Builds the release cdylib and the bench, runs it against `base` and returns one result
/// per client (`client`, `rps`, `peak_rss_kib`, `error`), as the other languages' benches do.
pub fn run_bench(base: &str, quick: bool) -> Result<Vec<Value>> {
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
    let mut cmd = Command::new("java");
    cmd.arg(format!("-Djna.library.path={}", lib_dir.display()))
        .arg("-cp")
        .arg(format!(
            "{}:{}",
            project.join("target/classes").display(),
            deps.trim()
        ))
        .args(["dev.hopsafe.bench.BenchKt", base]);
    if quick {
        cmd.arg("--quick");
    }
    eprintln!("  hopsafe, okhttp, hopsafe-async, okhttp-async (one JVM)...");
    let text = output(&mut cmd)?;
    match serde_json::from_str(text.trim()) {
        Ok(Value::Array(results)) => Ok(results),
        _ => Err(format!("the kotlin bench printed {text:?}")),
    }
}

/// The Kotlin section of `bench/results.md`, rendered with `table`.
pub fn section(
    base: &str,
    quick: bool,
    table: impl Fn(&str, &[Value], &str) -> String,
) -> Result<String> {
    let results = run_bench(base, quick)?;
    let mut md = table(
        "Kotlin/JVM: hopsafe (blocking, suspend) vs OkHttp 5 (execute, enqueue)",
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
    md.insert_str(
        md.trim_end().len(),
        "\n\nAll four clients share one JVM (JDK from PATH, default flags) and are interleaved round by round after a warm-up (so no peak RSS per client). 64 concurrent: `hopsafe` (`requestBlocking`) and `okhttp` (`execute`) on 64 platform threads; `hopsafe-async` (suspend `send`) and `okhttp-async` (`enqueue` bridged to a coroutine) as 64 coroutines on `Dispatchers.Default`. OkHttp keeps up to 64 idle connections and follows the 307 with method and body (checked against the server's echo before timing).",
    );
    Ok(md)
}
