//! `hopsafe-conformance`: the Rust runner and the checker.
//!
//! ```text
//! hopsafe-conformance run    SERVER_READY_JSON SCENARIOS_JSON OUT_JSON
//! hopsafe-conformance check  SERVER_READY_JSON SCENARIOS_JSON OUT_DIR OBSERVATIONS_JSON...
//! hopsafe-conformance script SERVER_READY_JSON STEPS_JSON      (prints the script id)
//! ```

use std::path::Path;
use std::process::ExitCode;

use hopsafe_conformance::check::{judge_as, Verdict};
use hopsafe_conformance::control::Server;
use hopsafe_conformance::matrix::Matrix;
use hopsafe_conformance::runner;
use hopsafe_conformance::scenario::{load, Observations};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = hopsafe::runtime::shared();
    let result = match args.first().map(String::as_str) {
        Some("run") if args.len() == 4 => rt.block_on(run(&args[1], &args[2], &args[3])),
        Some("check") if args.len() >= 5 => rt.block_on(check(&args[1], &args[2], &args[3], &args[4..])),
        Some("script") if args.len() == 3 => rt.block_on(script(&args[1], &args[2])),
        _ => Err("usage: hopsafe-conformance run READY SCENARIOS OUT | check READY SCENARIOS OUT_DIR OBS... | script READY STEPS".into()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hopsafe-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

fn server(ready: &str) -> Result<Server, String> {
    let text = std::fs::read_to_string(ready).map_err(|e| format!("{ready}: {e}"))?;
    Server::new(serde_json::from_str(&text).map_err(|e| format!("{ready}: {e}"))?)
}

async fn run(ready: &str, scenarios: &str, out: &str) -> Result<bool, String> {
    let server = server(ready)?;
    let file = load(Path::new(scenarios))?;
    let observations = runner::play_all(&server, &file.scenarios).await?;
    let doc = Observations {
        runtime: "rust".into(),
        observations,
    };
    std::fs::write(
        out,
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{out}: {e}"))?;
    Ok(true)
}

async fn check(
    ready: &str,
    scenarios: &str,
    out_dir: &str,
    files: &[String],
) -> Result<bool, String> {
    let server = server(ready)?;
    let file = load(Path::new(scenarios))?;
    let mut matrix = Matrix::default();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
        let doc: Observations = serde_json::from_str(&text).map_err(|e| format!("{f}: {e}"))?;
        for s in &file.scenarios {
            let verdict = match doc.observations.iter().find(|o| o.id == s.id) {
                Some(obs) => judge_as(&server, s, obs, &doc.runtime).await,
                None => Verdict::Fail(vec!["no observation".into()]),
            };
            matrix.set(&s.id, &doc.runtime, verdict);
        }
    }
    print!("{}", matrix.render());
    matrix
        .write(Path::new(out_dir))
        .map_err(|e| format!("{out_dir}: {e}"))?;
    let failures = matrix.failures();
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    for peer in matrix
        .runtimes
        .iter()
        .filter(|r| hopsafe_conformance::matrix::is_peer(r))
    {
        let agree = matrix
            .scenarios
            .iter()
            .filter(|s| matrix.cells[*s].get(peer) == Some(&Verdict::Pass))
            .count();
        println!(
            "conformance: {peer} (for comparison) meets {agree} of {} expectations",
            matrix.scenarios.len()
        );
    }
    let (pass, fail, skip) = matrix.counts();
    println!(
        "conformance: {} scenarios x {} runtimes; matrix in {out_dir}/matrix.md",
        matrix.scenarios.len(),
        matrix.runtimes.len()
    );
    println!("conformance: {pass} passed, {fail} failed, {skip} skipped");
    Ok(failures.is_empty())
}

async fn script(ready: &str, steps: &str) -> Result<bool, String> {
    let server = server(ready)?;
    let steps: Vec<serde_json::Value> = serde_json::from_str(steps).map_err(|e| e.to_string())?;
    println!("{}", server.script(&steps).await?);
    Ok(true)
}
