//! `hopsafe-testserver [--ready-file PATH] [--no-stdin] [--exit-after SECS]`
//!
//! Starts the test server, prints one JSON line
//! `{"origins":{label:url},"ca_pem":"...","ca_pem_path":"...","pid":n}` to stdout (and to
//! `--ready-file` if given), then serves until stdin reaches EOF (unless `--no-stdin`),
//! SIGTERM/SIGINT, or `--exit-after` seconds pass (default 600; 0 disables).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use hopsafe_testserver::TestServer;

const USAGE: &str =
    "usage: hopsafe-testserver [--ready-file PATH] [--no-stdin] [--exit-after SECS] [--proxies]";

struct Args {
    ready_file: Option<PathBuf>,
    watch_stdin: bool,
    exit_after: u64,
    proxies: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        ready_file: None,
        watch_stdin: true,
        exit_after: 600,
        proxies: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ready-file" => {
                args.ready_file = Some(it.next().ok_or("--ready-file needs a path")?.into())
            }
            "--no-stdin" => args.watch_stdin = false,
            "--proxies" => args.proxies = true,
            "--exit-after" => {
                let v = it.next().ok_or("--exit-after needs seconds")?;
                args.exit_after = v.parse().map_err(|_| format!("bad --exit-after {v:?}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// Resolves when stdin reaches EOF (or fails). Uses a plain thread: a blocking stdin read
/// cannot be cancelled, and must not hold up runtime shutdown.
fn stdin_eof() -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        while let Ok(n) = std::io::Read::read(&mut stdin, &mut buf) {
            if n == 0 {
                break;
            }
        }
        let _ = tx.send(());
    });
    rx
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn write_ready_file(path: &PathBuf, line: &str) -> std::io::Result<()> {
    // Write then rename, so a watcher never sees a partial file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{line}\n"))?;
    std::fs::rename(&tmp, path)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("hopsafe-testserver: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match TestServer::start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hopsafe-testserver: start failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ready = server.ready_json();
    // With --proxies: tinyproxy (also behind TLS), Dante and a SOCKS5 server requiring a
    // password beside the origins, named in the ready JSON as scenario templates
    // (`{proxy_http}`, `{proxy_socks}`, `{proxy_https}`, ...); stopped on exit.
    let mut proxies = Vec::new();
    if args.proxies {
        match hopsafe_testserver::proxies::add_to_ready(&mut ready, &server) {
            Ok(p) => proxies = p,
            Err(e) => {
                eprintln!("hopsafe-testserver: --proxies: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let line = ready.to_string();
    if let Some(path) = &args.ready_file {
        if let Err(e) = write_ready_file(path, &line) {
            eprintln!("hopsafe-testserver: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    let stdin = async {
        if args.watch_stdin {
            let _ = stdin_eof().await;
        } else {
            std::future::pending::<()>().await
        }
    };
    let deadline = async {
        if args.exit_after > 0 {
            tokio::time::sleep(Duration::from_secs(args.exit_after)).await
        } else {
            std::future::pending::<()>().await
        }
    };
    tokio::select! {
        _ = stdin => {}
        _ = terminated() => {}
        _ = deadline => eprintln!("hopsafe-testserver: --exit-after reached"),
    }
    drop(server);
    drop(proxies);
    ExitCode::SUCCESS
}
