//! Accept loops and per-connection serving: first-byte sniffing (TLS vs plaintext),
//! hyper-util auto (HTTP/1.1 + h2 / h2c prior knowledge), and connection aborts for faults.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use socket2::SockRef;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::faults::{Abort, ConnCtl};
use crate::origins::Role;
use crate::State;

/// A TLS handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a request handler knows about its connection.
#[derive(Clone)]
pub(crate) struct ConnInfo {
    pub role: Role,
    pub tls: bool,
    pub ctl: Arc<ConnCtl>,
}

/// Accepts connections forever; dropping (aborting) this future aborts every connection.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    role: Role,
    tls: TlsAcceptor,
    state: Arc<State>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            res = listener.accept() => match res {
                Ok((tcp, _peer)) => {
                    conns.spawn(serve_conn(tcp, role, tls.clone(), state.clone()));
                }
                // E.g. EMFILE: back off a little instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Splits off a duplicate descriptor of the socket so the connection task can still set
/// `SO_LINGER` after handing the stream to TLS/hyper.
fn with_dup(tcp: TcpStream) -> io::Result<(TcpStream, std::net::TcpStream)> {
    let std = tcp.into_std()?;
    let dup = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, dup))
}

async fn serve_conn(tcp: TcpStream, role: Role, tls: TlsAcceptor, state: Arc<State>) {
    let _ = tcp.set_nodelay(true);
    let Ok((tcp, raw)) = with_dup(tcp) else {
        return;
    };
    let mut first = [0u8; 1];
    match tcp.peek(&mut first).await {
        Ok(n) if n > 0 => {}
        _ => return,
    }
    let is_tls = first[0] == 0x16;
    if role == Role::Mtls && !is_tls {
        return;
    }
    let ctl = Arc::new(ConnCtl::default());
    let info = ConnInfo {
        role,
        tls: is_tls,
        ctl: ctl.clone(),
    };
    let svc = service_fn(move |req| crate::routes::handle(state.clone(), info.clone(), req));
    let builder = auto::Builder::new(TokioExecutor::new());
    if is_tls {
        let accept = tls.accept(tcp).into_fallible();
        let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, accept).await {
            Ok(Ok(s)) => s,
            Ok(Err((_, tcp))) => return lingering_close(tcp).await,
            Err(_) => return,
        };
        drive(
            builder.serve_connection(TokioIo::new(stream), svc),
            &ctl,
            raw,
        )
        .await;
    } else {
        drive(builder.serve_connection(TokioIo::new(tcp), svc), &ctl, raw).await;
    }
}

/// Closes after a refused handshake the way a careful server does: the alert is already
/// written; half-close, then read what the client already sent (in TLS 1.3 its request
/// follows its Finished) until it closes or a second passes. Closing with that data unread
/// would send RST, and a client may then see a reset instead of the alert.
async fn lingering_close(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Runs the connection until it ends or a handler asks for an abort.
async fn drive(conn: impl Future, ctl: &ConnCtl, raw: std::net::TcpStream) {
    // When the abort branch wins, `conn` (the hyper connection and its stream) is dropped
    // with the other branch, so only `raw` holds the socket afterwards.
    let how = tokio::select! {
        _ = conn => None,
        how = ctl.aborted() => Some(how),
    };
    match how {
        // With linger 0 the last close of the socket sends RST.
        Some(Abort::Reset) => {
            let _ = SockRef::from(&raw).set_linger(Some(Duration::ZERO));
        }
        Some(Abort::Raw(plan)) => return plan.play(raw).await,
        Some(Abort::Close) | None => {}
    }
    // Dropping `raw` closes the last descriptor.
    drop(raw);
}
