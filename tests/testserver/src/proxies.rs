//! Real proxies for the tests, started and stopped by them: tinyproxy (an HTTP proxy that
//! forwards http requests and tunnels `CONNECT`) and Dante (`danted`, a SOCKS5 server), both
//! from Debian (`cargo xtask test` installs them). Each listens on a free loopback port with a
//! configuration written to a temporary directory, and is killed when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running proxy process.
pub struct Proxy {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    scheme: &'static str,
    auth: Option<(String, String)>,
}

/// How to start one kind of proxy.
struct Kind<'a> {
    program: &'static str,
    scheme: &'static str,
    file: &'static str,
    conf: &'a dyn Fn(u16) -> String,
    command: &'a dyn Fn(&Path) -> Command,
}

impl Proxy {
    /// tinyproxy on a free port; with `auth`, it demands Basic credentials
    /// (`407 Proxy Authentication Required` without them).
    pub fn tinyproxy(auth: Option<(&str, &str)>) -> Result<Proxy, String> {
        let conf = |port: u16| {
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Error\n\
                 MaxClients 64\n"
            );
            if let Some((user, pass)) = auth {
                conf.push_str(&format!("BasicAuth {user} {pass}\n"));
            }
            conf
        };
        let command = |conf: &Path| {
            let mut c = Command::new("tinyproxy");
            c.arg("-d").arg("-c").arg(conf);
            c
        };
        let kind = Kind {
            program: "tinyproxy",
            scheme: "http",
            file: "tinyproxy.conf",
            conf: &conf,
            command: &command,
        };
        Proxy::spawn(&kind, auth)
    }

    /// Dante's `danted` as a SOCKS5 server on a free port, without authentication.
    pub fn dante() -> Result<Proxy, String> {
        let conf = |port: u16| {
            format!(
                "logoutput: stderr\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n\
                 clientmethod: none\nsocksmethod: none\nuser.privileged: root\n\
                 user.unprivileged: nobody\n\
                 client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n\
                 socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n"
            )
        };
        let command = |conf: &Path| {
            let mut c = Command::new("danted");
            c.arg("-f")
                .arg(conf)
                .arg("-p")
                .arg(conf.with_extension("pid"));
            c
        };
        let kind = Kind {
            program: "danted",
            scheme: "socks5h",
            file: "danted.conf",
            conf: &conf,
            command: &command,
        };
        Proxy::spawn(&kind, None)
    }

    /// Starts the proxy on a free port and waits until that port answers in the proxy's own
    /// protocol; a port another process took meanwhile (or a start that failed) is retried on
    /// a new port, up to five times.
    fn spawn(kind: &Kind<'_>, auth: Option<(&str, &str)>) -> Result<Proxy, String> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let dir = std::env::temp_dir().join(format!(
                "hopsafe-{}-{}-{port}",
                kind.program,
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = dir.join(kind.file);
            std::fs::write(&path, (kind.conf)(port))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let child = (kind.command)(&path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!(
                        "cannot start {} ({e}); `cargo xtask test` installs it from Debian",
                        kind.program
                    )
                })?;
            let mut proxy = Proxy {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                dir,
                scheme: kind.scheme,
                auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            };
            match proxy.wait_ready() {
                Ok(()) => return Ok(proxy),
                Err(e) => last = e,
            }
        }
        Err(format!("{} did not start: {last}", kind.program))
    }

    /// Waits (10 s at most) until the port answers as this proxy, or its process exited.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            if self.answers_as_itself() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on {} within 10 s", self.addr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the port speaks this proxy's protocol (an HTTP answer naming tinyproxy, or a
    /// SOCKS5 method choice), so a port some other process took is never mistaken for it.
    fn answers_as_itself(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let (probe, want): (&[u8], &[u8]) = if self.scheme == "http" {
            (b"GET / HTTP/1.0\r\n\r\n", b"tinyproxy")
        } else {
            (&[5, 1, 0], &[5, 0])
        };
        if s.write_all(probe).is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(want.len()).any(|w| w == want) {
                return true;
            }
        }
        false
    }

    /// The proxy URL, with its credentials when it has some (`http://u:p@127.0.0.1:N`).
    pub fn url(&self) -> String {
        match &self.auth {
            Some((u, p)) => format!("{}://{u}:{p}@{}", self.scheme, self.addr),
            None => self.url_without_credentials(),
        }
    }

    /// The proxy URL without credentials.
    pub fn url_without_credentials(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a tinyproxy and a Dante SOCKS5 server and names them in a ready JSON's origins as
/// `proxy_http` and `proxy_socks` (the scenario templates `{proxy_http}`, `{proxy_socks}`).
/// They stop when the returned handles are dropped.
pub fn add_to_ready(ready: &mut serde_json::Value) -> Result<Vec<Proxy>, String> {
    let http = Proxy::tinyproxy(None)?;
    let socks = Proxy::dante()?;
    ready["origins"]["proxy_http"] = http.url().into();
    ready["origins"]["proxy_socks"] = socks.url().into();
    Ok(vec![http, socks])
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
