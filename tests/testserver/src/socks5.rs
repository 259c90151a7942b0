//! A minimal SOCKS5 server that requires a username and password (RFC 1928 with RFC 1929
//! authentication), for the tests of SOCKS5 credentials. Dante can demand them too, but only
//! checks them against system accounts, which tests must not create; Debian ships no other
//! SOCKS5 server with a password file. This one is a real socket server: it reads the
//! client's handshake from TCP, connects to the destination (names resolved here, as for
//! `socks5h://`) and relays bytes both ways. Only `CONNECT` is served.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server saw, for tests to check.
#[derive(Default, Debug)]
pub struct SocksLog {
    /// Handshakes whose credentials matched.
    pub accepted: AtomicUsize,
    /// Handshakes refused: wrong credentials, or none offered.
    pub refused: AtomicUsize,
    /// Destinations asked for, as the client sent them (`host:port`).
    pub destinations: Mutex<Vec<String>>,
}

/// Serves `listener` forever, accepting only `user`/`pass`.
pub(crate) async fn serve(listener: TcpListener, user: String, pass: String, log: Arc<SocksLog>) {
    let creds = Arc::new((user, pass));
    while let Ok((tcp, _)) = listener.accept().await {
        let (creds, log) = (creds.clone(), log.clone());
        tokio::spawn(async move {
            let _ = session(tcp, &creds, &log).await;
        });
    }
}

async fn session(
    mut tcp: TcpStream,
    (user, pass): &(String, String),
    log: &SocksLog,
) -> std::io::Result<()> {
    // Greeting: VER, NMETHODS, METHODS. Only username/password (2) is acceptable.
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    tcp.read_exact(&mut methods).await?;
    if head[0] != 5 || !methods.contains(&2) {
        log.refused.fetch_add(1, Ordering::SeqCst);
        return tcp.write_all(&[5, 0xff]).await;
    }
    tcp.write_all(&[5, 2]).await?;
    // RFC 1929: VER 1, ULEN, UNAME, PLEN, PASSWD; answer VER 1, STATUS (0 = success).
    let ver = tcp.read_u8().await?;
    let given_user = read_short(&mut tcp).await?;
    let given_pass = read_short(&mut tcp).await?;
    if ver != 1 || given_user != user.as_bytes() || given_pass != pass.as_bytes() {
        log.refused.fetch_add(1, Ordering::SeqCst);
        return tcp.write_all(&[1, 1]).await;
    }
    log.accepted.fetch_add(1, Ordering::SeqCst);
    tcp.write_all(&[1, 0]).await?;
    // Request: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
    let mut req = [0u8; 4];
    tcp.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            tcp.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => String::from_utf8_lossy(&read_short(&mut tcp).await?).into_owned(),
        4 => {
            let mut ip = [0u8; 16];
            tcp.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
        _ => return reply(&mut tcp, 8).await,
    };
    let port = tcp.read_u16().await?;
    if req[0] != 5 || req[1] != 1 {
        return reply(&mut tcp, 7).await;
    }
    let dst = format!("{host}:{port}");
    log.destinations.lock().unwrap().push(dst.clone());
    let lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let Ok(mut upstream) = TcpStream::connect((lookup.as_str(), port)).await else {
        return reply(&mut tcp, 5).await;
    };
    reply(&mut tcp, 0).await?;
    tokio::io::copy_bidirectional(&mut tcp, &mut upstream).await?;
    Ok(())
}

/// A length-prefixed field (one length byte).
async fn read_short(tcp: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = tcp.read_u8().await?;
    let mut buf = vec![0u8; len as usize];
    tcp.read_exact(&mut buf).await?;
    Ok(buf)
}

/// A reply with status `rep` and an unspecified bound address (0.0.0.0:0).
async fn reply(tcp: &mut TcpStream, rep: u8) -> std::io::Result<()> {
    tcp.write_all(&[5, rep, 0, 1, 0, 0, 0, 0, 0, 0]).await
}
