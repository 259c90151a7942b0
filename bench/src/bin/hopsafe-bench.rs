//! Rust benchmark: hopsafe vs reqwest vs a bare hyper-util client (the floor), on the same
//! loopback server, interleaved in one run; prints one JSON document.
//!
//! `hopsafe-bench BASE_URL [--quick]`: the interleaved run (requests per second, allocations
//! per request, RSS).
//! `hopsafe-bench BASE_URL --instr CLIENT WORKLOAD N`: N requests on a current-thread
//! runtime and nothing else, for `valgrind --tool=callgrind` (xtask takes the difference of
//! two N to get instructions per request).
//! `hopsafe-bench BASE_URL --idle CLIENT`: RSS growth from building one client and leaving
//! 8 connections idle in its pool.
//! `hopsafe-bench BASE_URL --stream CLIENT BYTES`: one streamed download of BYTES from
//! `/stream/BYTES`, chunk by chunk; throughput and the growth of peak RSS over the download.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

/// Counts allocations (every thread), to report allocations per request.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Floor = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

#[derive(Clone)]
enum Peer {
    Hopsafe(hopsafe::Client),
    Reqwest(reqwest::Client),
    Floor(Box<Floor>),
}

impl Peer {
    fn name(&self) -> &'static str {
        match self {
            Peer::Hopsafe(_) => "hopsafe",
            Peer::Reqwest(_) => "reqwest",
            Peer::Floor(_) => "hyper-util",
        }
    }

    async fn call(&self, method: &str, url: &str, body: Bytes) -> usize {
        match self {
            Peer::Hopsafe(c) => {
                let r = c
                    .request(method, url)
                    .body(body)
                    .send()
                    .await
                    .expect("hopsafe");
                r.bytes().await.expect("body").len()
            }
            Peer::Reqwest(c) => {
                let m = http::Method::from_bytes(method.as_bytes()).unwrap();
                let r = c.request(m, url).body(body).send().await.expect("reqwest");
                r.bytes().await.expect("body").len()
            }
            Peer::Floor(c) => {
                let req = http::Request::builder()
                    .method(method)
                    .uri(url)
                    .body(Full::new(body))
                    .unwrap();
                let r = c.request(req).await.expect("hyper-util");
                r.into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes()
                    .len()
            }
        }
    }
}

async fn run(
    peer: &Peer,
    method: &str,
    url: &str,
    body: Bytes,
    total: usize,
    concurrency: usize,
) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (peer, url, body) = (peer.clone(), url.to_owned(), body.clone());
        let method = method.to_owned();
        let n = total / concurrency + usize::from(w < total % concurrency);
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                peer.call(&method, &url, body.clone()).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Resident anonymous memory (heap and stacks; not the binary's code pages as they fault in).
fn anon_kib() -> u64 {
    status_kib("RssAnon:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn policy_path_ns(iterations: u32) -> f64 {
    use hopsafe::credentials::CredentialPolicy;
    let policy = CredentialPolicy::default();
    let from_url = hopsafe::Url::parse("https://eu.api.example.com/v1/orders").unwrap();
    let started = Instant::now();
    for _ in 0..iterations {
        let next = hopsafe::location::resolve_location(
            &from_url,
            b"https://us.api.example.com/v1/orders?x=1",
        )
        .unwrap();
        let m = hopsafe::redirect::method_after_redirect(
            http::StatusCode::TEMPORARY_REDIRECT,
            &http::Method::POST,
        );
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer x"),
        );
        let (a, b) = (
            hopsafe::origin::Origin::of(&from_url).unwrap(),
            hopsafe::origin::Origin::of(&next).unwrap(),
        );
        std::hint::black_box((policy.strip_for_hop(&mut h, &a, &b), m));
    }
    started.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn peer(name: &str) -> Peer {
    match name {
        "hopsafe" => Peer::Hopsafe(hopsafe::Client::builder().build().unwrap()),
        // Returns the 3xx instead of following it: the baseline for the engine's per-hop cost.
        "hopsafe-nofollow" => Peer::Hopsafe(
            hopsafe::Client::builder()
                .follow_redirects(false)
                .build()
                .unwrap(),
        ),
        "reqwest" => Peer::Reqwest(reqwest::Client::new()),
        _ => {
            let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
            connector.set_nodelay(true);
            Peer::Floor(Box::new(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(connector),
            ))
        }
    }
}

/// (method, path, body size) of a workload, by name.
fn workload(name: &str) -> (&'static str, &'static str, usize) {
    match name {
        "GET" => ("GET", "/echo", 0),
        "POST" => ("POST", "/echo", 1024),
        _ => ("POST", "/r/307", 1024),
    }
}

/// `--instr CLIENT WORKLOAD N`: one warm-up request, then N, sequentially.
fn instr(base: &str, client: &str, name: &str, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (method, path, size) = workload(name);
    let url = format!("{base}{path}");
    let body = Bytes::from(vec![b'x'; size]);
    rt.block_on(async {
        let p = peer(client);
        p.call(method, &url, body.clone()).await;
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..n {
            p.call(method, &url, body.clone()).await;
        }
        let per = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n.max(1) as f64;
        // On stderr, beside callgrind's own summary; a quick single-threaded allocation count.
        eprintln!("allocations per request: {per:.1}");
    });
}

/// `--idle CLIENT`: RSS growth from building the client and leaving 1, then 8, idle
/// connections in its pool, over a baseline taken after the runtime's threads have run.
fn idle(base: &str, client: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("{base}/echo");
    let settle = || std::thread::sleep(Duration::from_millis(200));
    rt.block_on(async {
        let warm: Vec<_> = (0..16)
            .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_millis(5))))
            .collect();
        for w in warm {
            w.await.unwrap();
        }
    });
    settle();
    let before = anon_kib();
    let p = peer(client);
    let mut grown = Vec::new();
    for n in [1usize, 8] {
        rt.block_on(async {
            let calls: Vec<_> = (0..n)
                .map(|_| {
                    let (p, url) = (p.clone(), url.clone());
                    tokio::spawn(async move { p.call("GET", &url, Bytes::new()).await })
                })
                .collect();
            for c in calls {
                c.await.unwrap();
            }
        });
        settle();
        grown.push(anon_kib().saturating_sub(before));
    }
    println!(
        "{}",
        json!({ "client": client, "idle_rss_kib": grown[0], "idle8_rss_kib": grown[1] })
    );
}

/// Allocations per request for each client and workload, sequentially, after a warm-up.
fn allocations(rt: &tokio::runtime::Runtime, base: &str, peers: &[Peer]) -> Vec<Value> {
    let mut out = Vec::new();
    for name in ["GET", "POST", "POST+307"] {
        let (method, path, size) = workload(name);
        let url = format!("{base}{path}");
        let body = Bytes::from(vec![b'x'; size]);
        for p in peers {
            if matches!(p, Peer::Floor(_)) && name == "POST+307" {
                continue;
            }
            let per = rt.block_on(async {
                p.call(method, &url, body.clone()).await;
                let n = 1000;
                let start = ALLOCATIONS.load(Ordering::Relaxed);
                for _ in 0..n {
                    p.call(method, &url, body.clone()).await;
                }
                (ALLOCATIONS.load(Ordering::Relaxed) - start) as f64 / n as f64
            });
            out.push(json!({ "workload": name, "client": p.name(), "allocs": per }));
        }
    }
    out
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux `clear_refs`, value 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `--stream CLIENT BYTES`: a warm connection, then one streamed download; prints
/// `{"client", "bytes", "seconds", "rss_kib", "peak_growth_kib"}`.
fn stream(base: &str, client: &str, bytes: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("{base}/stream/{bytes}");
    let warm = format!("{base}/stream/{}", 1 << 20);
    let (read, seconds, rss, growth) = rt.block_on(async {
        let p = peer(client);
        download(&p, &warm).await;
        let rss = rss_kib();
        reset_peak_rss();
        let started = Instant::now();
        let read = download(&p, &url).await;
        let seconds = started.elapsed().as_secs_f64();
        (read, seconds, rss, status_kib("VmHWM:").saturating_sub(rss))
    });
    assert_eq!(read, bytes, "{client} read {read} of {bytes} bytes");
    let out = json!({ "client": client, "bytes": bytes, "seconds": seconds, "rss_kib": rss,
                      "peak_growth_kib": growth });
    println!("{out}");
}

/// Reads a body chunk by chunk (hopsafe: its `bytes_stream`); returns the bytes read.
async fn download(p: &Peer, url: &str) -> u64 {
    use futures_util::StreamExt;
    let mut n = 0u64;
    match p {
        Peer::Hopsafe(c) => {
            let mut body = c.get(url).send().await.expect("hopsafe").bytes_stream();
            while let Some(chunk) = body.next().await {
                n += chunk.expect("hopsafe body").len() as u64;
            }
        }
        Peer::Reqwest(c) => {
            let mut r = c.get(url).send().await.expect("reqwest");
            while let Some(chunk) = r.chunk().await.expect("reqwest body") {
                n += chunk.len() as u64;
            }
        }
        Peer::Floor(_) => unimplemented!("--stream takes hopsafe or reqwest"),
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args
        .first()
        .expect(
            "usage: hopsafe-bench BASE_URL [--quick | --instr CLIENT WORKLOAD N | --idle CLIENT]",
        )
        .clone();
    match args.get(1).map(String::as_str) {
        Some("--instr") => {
            let n = args[4].parse().expect("N");
            return instr(&base, &args[2], &args[3], n);
        }
        Some("--idle") => return idle(&base, &args[2]),
        Some("--stream") => return stream(&base, &args[2], args[3].parse().expect("BYTES")),
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (n, rounds) = if quick { (1000, 5) } else { (5000, 7) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rss_start = rss_kib();
    let peers: Vec<Peer> = ["hopsafe", "reqwest", "hyper-util"]
        .into_iter()
        .map(peer)
        .collect();
    let kib = Bytes::from(vec![b'x'; 1024]);
    let echo = format!("{base}/echo");
    let r307 = format!("{base}/r/307");
    let big = format!("{base}/bytes/{}", 10 << 20);
    let workloads: Vec<(&str, &str, &str, Bytes, usize, usize)> = vec![
        ("sequential GET", "GET", &echo, Bytes::new(), n, 1),
        ("64 concurrent GET", "GET", &echo, Bytes::new(), n * 2, 64),
        ("POST 1 KiB", "POST", &echo, kib.clone(), n, 1),
        ("POST 1 KiB + 307", "POST", &r307, kib.clone(), n, 1),
        (
            "10 MiB download",
            "GET",
            &big,
            Bytes::new(),
            if quick { 10 } else { 30 },
            1,
        ),
    ];
    let mut results = Vec::new();
    rt.block_on(async {
        for peer in &peers {
            peer.call("GET", &echo, Bytes::new()).await; // warm the pool
        }
        for (name, method, url, body, total, conc) in &workloads {
            let mut per_peer: Vec<(&str, Vec<f64>)> =
                peers.iter().map(|p| (p.name(), Vec::new())).collect();
            for _ in 0..rounds {
                for (i, peer) in peers.iter().enumerate() {
                    if matches!(peer, Peer::Floor(_)) && url.ends_with("/r/307") {
                        continue; // the floor does not follow redirects
                    }
                    per_peer[i]
                        .1
                        .push(run(peer, method, url, body.clone(), *total, *conc).await);
                }
            }
            for (peer, v) in per_peer.into_iter().filter(|(_, v)| !v.is_empty()) {
                results.push(json!({ "workload": name, "client": peer, "rps": median(v) }));
            }
        }
    });
    // Memory: one client, many requests; RSS growth after the first batch.
    let growth = rt.block_on(async {
        let c = hopsafe::Client::builder().build().unwrap();
        let p = Peer::Hopsafe(c);
        run(&p, "GET", &echo, Bytes::new(), 2000, 8).await;
        let before = rss_kib();
        run(&p, "GET", &echo, Bytes::new(), 100_000, 8).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        (before, rss_kib())
    });
    let allocs = allocations(&rt, &base, &peers);
    let out: Value = json!({
        "results": results,
        "allocations": allocs,
        "policy_path_ns": policy_path_ns(200_000),
        "rss_kib": { "process_start": rss_start, "after_warm_client": growth.0, "after_many_requests": growth.1,
                     "requests": 100_000 },
    });
    println!("{out}");
}
