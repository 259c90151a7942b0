//! The `hopsafe` binary end to end, against the multi-origin test server.

use std::process::Command;

use hopsafe_testserver::{Step, TestServer};

struct Lab {
    server: TestServer,
    ca: tempfile_path::Path,
}

mod tempfile_path {
    pub struct Path(pub std::path::PathBuf);
    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn lab() -> Lab {
    let server = hopsafe::runtime::block_on(async { TestServer::start().await.unwrap() });
    let path = std::env::temp_dir().join(format!(
        "hopsafe-cli-ca-{}.pem",
        std::process::id() ^ fastrand_seed()
    ));
    std::fs::write(&path, server.ca_pem()).unwrap();
    Lab {
        server,
        ca: tempfile_path::Path(path),
    }
}

fn fastrand_seed() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn hopsafe(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hopsafe"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn failover(l: &Lab) -> String {
    let id = l.server.script(vec![
        Step::redirect(307, "{b}/s/{id}/1"),
        Step::redirect(308, "{b}/s/{id}/2"),
        Step::ok().apply(),
    ]);
    l.server.url("a", &format!("/s/{id}/0"))
}

#[test]
fn trace_shows_every_hop_plainly_when_piped() {
    let l = lab();
    let url = failover(&l);
    let ca = l.ca.0.to_str().unwrap();
    let (code, out, _) = hopsafe(&[
        "trace",
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer t",
        "-d",
        "{\"q\":1}",
        "--cacert",
        ca,
        &url,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains('\x1b'), "no colour when piped");
    assert!(out.contains("hop 1 POST"), "{out}");
    assert!(out.contains("307"), "{out}");
    assert!(
        out.contains("dropped authorization (cross-origin)"),
        "{out}"
    );
    assert!(out.contains("final POST"), "{out}");
    assert!(out.contains("body kept (7 bytes)"), "{out}");
    assert!(out.contains("idempotency-key"), "{out}");
}

#[test]
fn trace_json_is_machine_readable() {
    let l = lab();
    let url = failover(&l);
    let (code, out, _) = hopsafe(&["trace", "--json", "-X", "POST", "-d", "abc", &url]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hops"].as_array().unwrap().len(), 2);
    assert_eq!(v["hops"][0]["status"], 307);
    assert_eq!(v["final"]["status"], 200);
    assert_eq!(v["final"]["body_bytes"], 3);
    assert_eq!(
        v["hops"][0]["idempotency_key"],
        v["final"]["idempotency_key"]
    );
}

#[test]
fn check_passes_a_good_chain_and_fails_a_broken_one() {
    let l = lab();
    let url = failover(&l);
    let all = [
        "--expect-method-preserved",
        "--expect-body-preserved",
        "--no-credential-leak",
        "--max-hops",
        "3",
        "--expect-final-status",
        "2xx",
    ];
    let mut args = vec![
        "check",
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer t",
        "-d",
        "x",
        &url,
    ];
    args.extend(all);
    let (code, _, err) = hopsafe(&args);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("contract holds"));

    let id = l
        .server
        .script(vec![Step::redirect(303, "/s/{id}/1"), Step::ok()]);
    let broken = l.server.url("a", &format!("/s/{id}/0"));
    let (code, _, err) = hopsafe(&[
        "check",
        "-X",
        "POST",
        "-d",
        "x",
        "--expect-method-preserved",
        &broken,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("FAILED: the final request was GET instead of POST"),
        "{err}"
    );
    let (code, _, err) = hopsafe(&["check", "-X", "POST", "-d", "x", "--max-hops", "0", &broken]);
    assert_eq!(code, 1);
    assert!(err.contains("more than --max-hops 0"), "{err}");
    let (code, _, err) = hopsafe(&["check", "--expect-final-status", "201", &broken]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn errors_and_bad_flags_have_clear_exits() {
    let l = lab();
    let id = l
        .server
        .script(vec![Step::redirect(302, "javascript:alert(1)")]);
    let (code, out, _) = hopsafe(&["trace", &l.server.url("a", &format!("/s/{id}/0"))]);
    assert_eq!(code, 1);
    assert!(out.contains("error UnsupportedScheme"), "{out}");
    let (code, _, err) = hopsafe(&["trace", "--no-such-flag", "http://x/"]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage"), "{err}");
    let (code, _, err) = hopsafe(&["--help"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn config_file_is_the_cores_client_config_and_flags_override_it() {
    let l = lab();
    let dir = std::env::temp_dir();
    let cfg = tempfile_path::Path(dir.join(format!("hopsafe-cli-cfg-{}.json", fastrand_seed())));
    std::fs::write(
        &cfg.0,
        r#"{"max_redirects": 0, "sdk_name": "acme-cli", "sdk_version": "1.2.3"}"#,
    )
    .unwrap();
    let ca = l.ca.0.to_str().unwrap();
    let cfg_path = cfg.0.to_str().unwrap();
    let url = failover(&l);
    let (code, out, err) = hopsafe(&[
        "trace", "--json", "--cacert", ca, "--config", cfg_path, &url,
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["final"]["status"], 307,
        "max_redirects 0 from the file: {out}"
    );
    let (code, out, err) = hopsafe(&[
        "trace",
        "--json",
        "--cacert",
        ca,
        "--config",
        cfg_path,
        "--max-redirects",
        "5",
        &url,
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["final"]["status"], 200,
        "the flag overrides the file: {out}"
    );

    std::fs::write(&cfg.0, r#"{"max_redirect": 0}"#).unwrap();
    let (code, out, err) = hopsafe(&["trace", "--config", cfg_path, &url]);
    assert_eq!(code, 1, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(all.contains("unknown field `max_redirect`"), "{all}");
}
