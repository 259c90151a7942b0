//! `hopsafe`: follow a redirect chain exactly like the SDKs do, show every hop (method, body
//! kept or dropped, credentials stripped, idempotency key), and check the contract in CI.

mod args;
mod contract;
mod report;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use args::{Cli, Command, RequestArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (req, checks) = match &cli.command {
        Command::Trace(r) => (r, None),
        Command::Check(c) => (&c.request, Some(&c.checks)),
    };
    let body = match req.body() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("hopsafe: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let outcome = hopsafe::runtime::block_on(send(req.clone(), body.clone()));
    let trace = report::Trace::new(req, &body, outcome, started.elapsed());
    let colour =
        !req.json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if req.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&trace.to_json()).unwrap_or_default()
        );
    } else {
        print!("{}", trace.render(colour));
    }
    if trace.error.is_some() {
        return ExitCode::from(1);
    }
    if let Some(checks) = checks {
        if let Err(reason) = contract::verify(checks, &trace, &req.trust) {
            eprintln!("hopsafe check: FAILED: {reason}");
            return ExitCode::from(1);
        }
        eprintln!("hopsafe check: contract holds");
    }
    ExitCode::SUCCESS
}

async fn send(req: RequestArgs, body: Vec<u8>) -> Result<report::Final, hopsafe::Error> {
    let client = req.client_config()?.build()?;
    let mut rb = client.request(&req.method, &req.url);
    for h in &req.headers {
        let (k, v) = args::split_header(h).map_err(|reason| hopsafe::Error::InvalidHeader {
            name: h.clone(),
            reason,
        })?;
        rb = rb.header(k, v);
    }
    if !body.is_empty() {
        rb = rb.body(body);
    }
    if let Some(k) = &req.idempotency_key {
        rb = rb.idempotency_key(hopsafe::KeyChoice::Use(k.clone()));
    }
    let resp = rb.send().await?;
    let fin = report::Final::from_response(&resp);
    resp.bytes().await?;
    Ok(fin)
}
