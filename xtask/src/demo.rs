//! `cargo xtask demo`: a POST survives a regional failover on local lab servers, hop by hop,
//! then the conformance matrix of every runtime built so far.

use std::process::Command;

use crate::util::{cargo, output, root, run, target_dir, Result, TestServer};

const BODY: &str = r#"{"order":"A-1","qty":2}"#;

/// The primary answers 307 to the standby region, whose load balancer 308s to the final
/// path, where the write is applied.
const FAILOVER: &str = r#"[
  {"status": 307, "location": "{b}/s/{id}/1", "headers": {"x-region": "primary: in maintenance"}},
  {"status": 308, "location": "{b}/s/{id}/2"},
  {"status": 201, "apply": true}
]"#;

pub fn demo() -> Result {
    eprintln!("building the lab (test server, hopsafe CLI, conformance runner)...");
    run(cargo()
        .args([
            "build",
            "--quiet",
            "-p",
            "hopsafe-testserver",
            "-p",
            "hopsafe-cli",
            "-p",
            "hopsafe-conformance",
        ])
        .current_dir(root()))?;
    let bin = target_dir().join("debug");
    let server = TestServer::start()?;
    let ready: serde_json::Value =
        serde_json::from_str(&server.ready).map_err(|e| e.to_string())?;
    let dir = target_dir().join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let ready_path = dir.join("server.json");
    std::fs::write(&ready_path, &server.ready).map_err(|e| e.to_string())?;
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ready["ca_pem"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
    let script = |steps: &str| -> Result<String> {
        let id = output(
            Command::new(bin.join("hopsafe-conformance"))
                .arg("script")
                .arg(&ready_path)
                .arg(steps),
        )?;
        Ok(id.trim().to_owned())
    };
    let id = script(FAILOVER)?;
    let primary = ready["origins"]["a"].as_str().unwrap_or_default();
    let standby = ready["origins"]["b"].as_str().unwrap_or_default();
    let url = format!("{primary}/s/{id}/0");
    println!(
        "\nLab: primary region {primary}, standby region {standby} (loopback).\n\
         The primary is in maintenance: it answers 307 to the standby, whose load balancer\n\
         answers 308 to the final path. A correct client keeps the POST and its body on both\n\
         hops, keeps one Idempotency-Key, and does not hand the primary's Authorization to\n\
         the standby.\n\n$ hopsafe trace -X POST -H 'Authorization: Bearer demo-token' \\\n    \
         -H 'Content-Type: application/json' -d '{BODY}' {url}\n"
    );
    let request = |cmd: &str| {
        let mut c = Command::new(bin.join("hopsafe"));
        c.args([cmd, "-X", "POST", "-H", "Authorization: Bearer demo-token"])
            .args([
                "-H",
                "Content-Type: application/json",
                "-d",
                BODY,
                "--cacert",
            ])
            .arg(&ca);
        c
    };
    run(request("trace").arg(&url))?;
    let id = script(FAILOVER)?;
    println!("\n$ hopsafe check ... --expect-method-preserved --expect-body-preserved --no-credential-leak --expect-final-status 2xx");
    run(request("check")
        .args([
            "--expect-method-preserved",
            "--expect-body-preserved",
            "--no-credential-leak",
        ])
        .args(["--max-hops", "3", "--expect-final-status", "2xx"])
        .arg(format!("{primary}/s/{id}/0")))?;
    let id = script(r#"[{"status": 303, "location": "{b}/s/{id}/1"}, {"status": 200}]"#)?;
    println!(
        "\nA 303 (\"see other\") is different: the write becomes a GET, so the same check fails:"
    );
    println!("$ hopsafe check ... --expect-method-preserved");
    let status = request("check")
        .arg("--expect-method-preserved")
        .arg(format!("{primary}/s/{id}/0"))
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    println!("(exit code {})", status.code().unwrap_or(-1));
    drop(server);
    println!("\nConformance: the same scenarios in every runtime built so far (`cargo xtask test` builds them all):\n");
    crate::conformance::conformance(None, &[])
}
