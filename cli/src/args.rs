//! Command-line arguments.

use hopsafe::ClientConfig;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Follow HTTP redirects the way hopsafe SDKs do and show what happens at every hop.
#[derive(Parser, Debug)]
#[command(name = "hopsafe", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  hopsafe trace -X POST -H 'Authorization: Bearer t' -d '{\"qty\":1}' https://api.example.com/v1/orders
  hopsafe trace --json -X PUT --data-file order.json https://api.example.com/v1/orders/7
  hopsafe check -X POST -d @- --expect-method-preserved --expect-body-preserved \\
      --no-credential-leak --max-hops 3 --expect-final-status 2xx https://api.example.com/v1/orders";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send the request, follow the chain, print every hop.
    Trace(RequestArgs),
    /// Like trace, then assert the redirect contract (non-zero exit and a reason on breach).
    Check(CheckArgs),
}

/// The request to send.
#[derive(Args, Debug, Clone)]
pub struct RequestArgs {
    /// The URL (http or https).
    pub url: String,
    /// Method.
    #[arg(short = 'X', long = "request", default_value = "GET")]
    pub method: String,
    /// A header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Body text (`@file` reads a file, `@-` standard input).
    #[arg(short = 'd', long = "data", conflicts_with = "data_file")]
    pub data: Option<String>,
    /// Body from a file.
    #[arg(long = "data-file")]
    pub data_file: Option<PathBuf>,
    /// Extra CA certificates (PEM).
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Maximum redirects (0 = do not follow; default 20).
    #[arg(long)]
    pub max_redirects: Option<u32>,
    /// Trust an https origin with credentials across redirects (repeatable).
    #[arg(long)]
    pub trust: Vec<String>,
    /// Treat another header as a credential (repeatable).
    #[arg(long)]
    pub sensitive: Vec<String>,
    /// Allow https to http redirects.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Use this idempotency key.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Total timeout in seconds.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Client options from a JSON file: the core's `ClientConfig` (snake_case names, seconds);
    /// the flags above override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl RequestArgs {
    /// The client options: the `--config` file (or the defaults) with the flags applied. The
    /// CLI never retries unless the file asks to: it shows one chain as it happened.
    pub fn client_config(&self) -> Result<ClientConfig, hopsafe::Error> {
        let invalid = |what: String| hopsafe::Error::InvalidConfig { reason: what };
        let mut c = match &self.config {
            Some(path) => {
                let text = std::fs::read(path)
                    .map_err(|e| invalid(format!("--config {}: {e}", path.display())))?;
                serde_json::from_slice(&text)
                    .map_err(|e| invalid(format!("--config {}: {e}", path.display())))?
            }
            None => ClientConfig {
                retry: hopsafe::RetryPolicy::never(),
                ..ClientConfig::default()
            },
        };
        if let Some(path) = &self.cacert {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| invalid(format!("--cacert {}: {e}", path.display())))?;
            c.ca_pem = Some(c.ca_pem.unwrap_or_default() + &pem);
        }
        if let Some(n) = self.max_redirects {
            c.max_redirects = n;
        }
        c.allow_https_downgrade |= self.allow_downgrade;
        c.trusted_origins.extend(self.trust.iter().cloned());
        c.sensitive_headers.extend(self.sensitive.iter().cloned());
        if let Some(secs) = self.timeout {
            c.timeout = Some(
                std::time::Duration::try_from_secs_f64(secs)
                    .map_err(|_| invalid(format!("--timeout {secs}: not a number of seconds")))?,
            );
        }
        if c.sdk_name.is_none() {
            c.sdk_name = Some("hopsafe-cli".into());
            c.sdk_version = Some(hopsafe::VERSION.into());
        }
        Ok(c)
    }
}

impl RequestArgs {
    /// The body bytes.
    pub fn body(&self) -> Result<Vec<u8>, String> {
        let read =
            |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        match (&self.data, &self.data_file) {
            (Some(d), _) if d == "@-" => {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                    .map_err(|e| e.to_string())?;
                Ok(v)
            }
            (Some(d), _) if d.starts_with('@') => read(std::path::Path::new(&d[1..])),
            (Some(d), _) => Ok(d.clone().into_bytes()),
            (None, Some(f)) => read(f),
            (None, None) => Ok(Vec::new()),
        }
    }
}

/// Assertions for `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub checks: Checks,
}

#[derive(Args, Debug, Clone)]
pub struct Checks {
    /// Every hop used the original method.
    #[arg(long)]
    pub expect_method_preserved: bool,
    /// Every hop carried the original body.
    #[arg(long)]
    pub expect_body_preserved: bool,
    /// At most N redirects.
    #[arg(long)]
    pub max_hops: Option<usize>,
    /// Final status: a code (`201`) or a class (`2xx`).
    #[arg(long)]
    pub expect_final_status: Option<String>,
    /// No credential header was sent to an origin other than the first.
    #[arg(long)]
    pub no_credential_leak: bool,
}

/// `Name: value` into its parts.
pub fn split_header(h: &str) -> Result<(&str, &str), String> {
    let (k, v) = h
        .split_once(':')
        .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
    Ok((k.trim(), v.trim()))
}
