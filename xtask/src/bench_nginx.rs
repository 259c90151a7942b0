//! nginx from Debian as a second bench server, so no ratio depends on hopsafe's own hyper
//! server: the same paths as the hyper bench server (`/echo` a small JSON body for any
//! method, `/r/307` a 307 to `/echo`, `/bytes/10485760` a 10 MiB static file), HTTP/1.1
//! keep-alive on loopback. Started in the foreground in its own directory as one process
//! (`master_process off`: killing it on drop leaves no orphaned worker), stopped on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{apt, target_dir, Result};

/// The 10 MiB file the download workload asks for.
const BIG: usize = 10 << 20;

/// A running nginx; `base` is its URL.
pub struct Nginx {
    child: Child,
    pub base: String,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(dir: &std::path::Path, port: u16) -> String {
    format!(
        r#"master_process off;
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 64m;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = /echo {{
            default_type application/json;
            return 200 '{{"ok":true}}';
        }}
        location = /r/307 {{
            return 307 /echo;
        }}
        location /bytes/ {{
            default_type application/octet-stream;
        }}
    }}
}}
"#,
        dir = dir.display()
    )
}

/// Installs nginx if needed (Debian package `nginx`), then starts it on a free port.
pub fn start() -> Result<Nginx> {
    apt(&["/usr/sbin/nginx"], &["nginx"])?;
    let dir = target_dir().join("bench-nginx");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("www/bytes")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(format!("www/bytes/{BIG}")), vec![b'x'; BIG])
        .map_err(|e| e.to_string())?;
    // A port the kernel just handed out; nginx binds it right after (a race another process
    // could win, reported by the readiness check below).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(&dir, port)).map_err(|e| e.to_string())?;
    let child = Command::new("/usr/sbin/nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("nginx: {e}"))?;
    let nginx = Nginx {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
            return Err(format!("nginx did not listen on {port}: {log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(nginx)
}

/// `nginx/1.22.1`, as `nginx -v` says it (on stderr).
pub fn version() -> String {
    Command::new("/usr/sbin/nginx")
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default()
        .trim()
        .trim_start_matches("nginx version: ")
        .to_owned()
}
