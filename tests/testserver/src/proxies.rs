//! Real proxies for the tests, started and stopped by them: tinyproxy (an HTTP proxy that
//! forwards http requests and tunnels `CONNECT`) and Dante (`danted`, a SOCKS5 server), both
//! from Debian (`cargo xtask test` installs them). Each listens on a free loopback port with a
//! configuration written to a temporary directory, and is killed when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
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

impl Proxy {
    /// tinyproxy on a free port; with `auth`, it demands Basic credentials
    /// (`407 Proxy Authentication Required` without them).
    pub fn tinyproxy(auth: Option<(&str, &str)>) -> Result<Proxy, String> {
        let port = free_port()?;
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Error\n\
             MaxClients 64\n"
        );
        if let Some((user, pass)) = auth {
            conf.push_str(&format!("BasicAuth {user} {pass}\n"));
        }
        Proxy::spawn(
            "tinyproxy",
            "http",
            port,
            "tinyproxy.conf",
            &conf,
            auth,
            |conf| {
                let mut c = Command::new("tinyproxy");
                c.arg("-d").arg("-c").arg(conf);
                c
            },
        )
    }

    /// Dante's `danted` as a SOCKS5 server on a free port, without authentication.
    pub fn dante() -> Result<Proxy, String> {
        let port = free_port()?;
        let conf = format!(
            "logoutput: stderr\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n\
             clientmethod: none\nsocksmethod: none\nuser.privileged: root\n\
             user.unprivileged: nobody\n\
             client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n\
             socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n"
        );
        Proxy::spawn(
            "danted",
            "socks5h",
            port,
            "danted.conf",
            &conf,
            None,
            |conf| {
                let mut c = Command::new("danted");
                c.arg("-f")
                    .arg(conf)
                    .arg("-p")
                    .arg(conf.with_extension("pid"));
                c
            },
        )
    }

    fn spawn(
        program: &str,
        scheme: &'static str,
        port: u16,
        file: &str,
        conf: &str,
        auth: Option<(&str, &str)>,
        command: impl FnOnce(&std::path::Path) -> Command,
    ) -> Result<Proxy, String> {
        let dir =
            std::env::temp_dir().join(format!("hopsafe-{program}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(file);
        std::fs::write(&path, conf).map_err(|e| format!("{}: {e}", path.display()))?;
        let child = command(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start {program} ({e}); `cargo xtask test` installs it from Debian")
            })?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let proxy = Proxy {
            child,
            addr,
            dir,
            scheme,
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{program} did not listen on {addr} within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(proxy)
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
