//! Rust benchmark: hopsafe vs reqwest vs a bare hyper-util client (the floor), on the same
//! loopback server, interleaved in one run; prints one JSON document.
//!
//! `hopsafe-bench BASE_URL [--quick]`

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

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
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args
        .first()
        .expect("usage: hopsafe-bench BASE_URL [--quick]")
        .clone();
    let quick = args.iter().any(|a| a == "--quick");
    let (n, rounds) = if quick { (2000, 3) } else { (10000, 5) };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rss_start = rss_kib();
    let peers = vec![
        Peer::Hopsafe(hopsafe::Client::builder().build().unwrap()),
        Peer::Reqwest(reqwest::Client::new()),
        Peer::Floor(Box::new(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(hyper_util::client::legacy::connect::HttpConnector::new()),
        )),
    ];
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
    let rps = |w: &str, c: &str| {
        results
            .iter()
            .find(|r| r["workload"] == w && r["client"] == c)
            .and_then(|r| r["rps"].as_f64())
            .unwrap_or(f64::NAN)
    };
    let per_hop_us =
        (1e6 / rps("POST 1 KiB + 307", "hopsafe")) - 2.0 * (1e6 / rps("POST 1 KiB", "hopsafe"));
    // Memory: one client, many requests; RSS growth after the first batch.
    let growth = rt.block_on(async {
        let c = hopsafe::Client::builder().build().unwrap();
        let p = Peer::Hopsafe(c);
        run(&p, "GET", &echo, Bytes::new(), 2000, 8).await;
        let before = rss_kib();
        run(
            &p,
            "GET",
            &echo,
            Bytes::new(),
            if quick { 20_000 } else { 100_000 },
            8,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        (before, rss_kib())
    });
    let out: Value = json!({
        "results": results,
        "redirect_hop_overhead_us": per_hop_us,
        "policy_path_ns": policy_path_ns(200_000),
        "rss_kib": { "process_start": rss_start, "after_warm_client": growth.0, "after_many_requests": growth.1,
                     "requests": if quick { 20_000 } else { 100_000 } },
    });
    println!("{out}");
}
