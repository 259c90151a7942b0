//! Real proxies for the tests, started and stopped by them: tinyproxy (an HTTP proxy that
//! forwards http requests and tunnels `CONNECT`) and Dante (`danted`, a SOCKS5 server), both
//! from Debian (`cargo xtask test` installs them). Each listens on a free loopback port with a
//! configuration written to a temporary directory, and is killed when dropped.
//!
//! Two more run in-process, on their own runtime: a TLS front for tinyproxy (an `https://`
//! proxy: TLS to the proxy, then tinyproxy's HTTP inside; tinyproxy has no TLS of its own),
//! and a SOCKS5 server that requires a username and password (`crate::socks5`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::socks5::SocksLog;

/// A running proxy: a process, optionally fronted by TLS, or an in-process server.
pub struct Proxy {
    child: Option<Child>,
    addr: SocketAddr,
    dir: Option<PathBuf>,
    scheme: &'static str,
    auth: Option<(String, String)>,
    /// The runtime of an in-process server or TLS front; shut down on drop.
    background: Option<tokio::runtime::Runtime>,
    /// TLS handshakes the front completed.
    tls_handshakes: Arc<AtomicUsize>,
    socks_log: Arc<SocksLog>,
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

    /// tinyproxy behind a TLS front that presents `tls` (e.g. the test server's
    /// [`proxy_tls_config`](crate::TestServer::proxy_tls_config)): an `https://` proxy.
    pub fn tinyproxy_tls(
        auth: Option<(&str, &str)>,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<Proxy, String> {
        let mut proxy = Proxy::tinyproxy(auth)?;
        let rt = background()?;
        let listener = bind(&rt)?;
        let inner = proxy.addr;
        proxy.addr = listener.local_addr().map_err(|e| e.to_string())?;
        proxy.scheme = "https";
        let count = proxy.tls_handshakes.clone();
        rt.spawn(tls_front(listener, inner, tls, count));
        proxy.background = Some(rt);
        Ok(proxy)
    }

    /// The in-process SOCKS5 server (`crate::socks5`) that accepts only `user`/`pass`; its
    /// URL is `socks5h://user:pass@127.0.0.1:N`.
    pub fn socks5_with_password(user: &str, pass: &str) -> Result<Proxy, String> {
        let rt = background()?;
        let listener = bind(&rt)?;
        let log = Arc::new(SocksLog::default());
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        rt.spawn(crate::socks5::serve(
            listener,
            user.to_owned(),
            pass.to_owned(),
            log.clone(),
        ));
        Ok(Proxy {
            child: None,
            addr,
            dir: None,
            scheme: "socks5h",
            auth: Some((user.to_owned(), pass.to_owned())),
            background: Some(rt),
            tls_handshakes: Arc::default(),
            socks_log: log,
        })
    }

    /// TLS handshakes completed by the TLS front (0 without one).
    pub fn tls_handshakes(&self) -> usize {
        self.tls_handshakes.load(Ordering::SeqCst)
    }

    /// What the in-process SOCKS5 server saw (empty for other proxies).
    pub fn socks_log(&self) -> &SocksLog {
        &self.socks_log
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
                child: Some(child),
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                dir: Some(dir),
                scheme: kind.scheme,
                auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
                background: None,
                tls_handshakes: Arc::default(),
                socks_log: Arc::default(),
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
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
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
        if let Some(rt) = self.background.take() {
            // Allowed inside an async test, unlike dropping the runtime.
            rt.shutdown_background();
        }
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A one-thread runtime for an in-process server.
fn background() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// A listener on a free loopback port, registered with `rt`.
fn bind(rt: &tokio::runtime::Runtime) -> Result<tokio::net::TcpListener, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let _guard = rt.enter();
    tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())
}

/// Terminates TLS on `listener` and relays each connection's plaintext to `inner`.
async fn tls_front(
    listener: tokio::net::TcpListener,
    inner: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    handshakes: Arc<AtomicUsize>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, handshakes) = (acceptor.clone(), handshakes.clone());
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            handshakes.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut plain) = tokio::net::TcpStream::connect(inner).await {
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }
        });
    }
}

/// Credentials of the `proxy_https` and `proxy_socks_auth` proxies of the ready JSON.
pub const READY_PROXY_USER: &str = "hop";
/// See [`READY_PROXY_USER`].
pub const READY_PROXY_PASS: &str = "s3cret";

/// Starts the proxies of a ready JSON and names them in its origins (the scenario templates):
/// `proxy_http` (tinyproxy), `proxy_socks` (Dante, `socks5h://`), `proxy_https` (tinyproxy
/// behind TLS with `server`'s certificate, credentials required and given in the URL),
/// `proxy_socks_auth` (the password SOCKS5 server, credentials in the URL) and
/// `proxy_socks_auth_wrong` (the same server with a wrong password in the URL). They stop when
/// the returned handles are dropped.
pub fn add_to_ready(
    ready: &mut serde_json::Value,
    server: &crate::TestServer,
) -> Result<Vec<Proxy>, String> {
    let auth = Some((READY_PROXY_USER, READY_PROXY_PASS));
    let http = Proxy::tinyproxy(None)?;
    let socks = Proxy::dante()?;
    let https = Proxy::tinyproxy_tls(auth, server.proxy_tls_config())?;
    let socks_auth = Proxy::socks5_with_password(READY_PROXY_USER, READY_PROXY_PASS)?;
    ready["origins"]["proxy_http"] = http.url().into();
    ready["origins"]["proxy_socks"] = socks.url().into();
    ready["origins"]["proxy_https"] = https.url().into();
    ready["origins"]["proxy_socks_auth"] = socks_auth.url().into();
    ready["origins"]["proxy_socks_auth_wrong"] = socks_auth
        .url()
        .replace(READY_PROXY_PASS, "wrong-password")
        .into();
    Ok(vec![http, socks, https, socks_auth])
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
