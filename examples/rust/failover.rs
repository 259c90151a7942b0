//! A POST through a regional failover against the local multi-origin lab server:
//! the primary answers 307 to the standby, whose load balancer answers 308 to the final path.
//!
//!     cargo run -p hopsafe --example failover

use hopsafe_testserver::{Step, TestServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lab = TestServer::start().await?;
    let script = lab.script(vec![
        Step::redirect(307, "{b}/s/{id}/1"),
        Step::redirect(308, "{b}/s/{id}/2"),
        Step::status(201).apply(),
    ]);
    let client = hopsafe::Client::new()?;
    let resp = client
        .post(&lab.url("a", &format!("/s/{script}/0")))
        .bearer_auth("demo-token")
        .header("content-type", "application/json")
        .body(r#"{"order":"A-1","qty":2}"#)
        .send()
        .await?;
    for hop in resp.history() {
        let dropped: Vec<_> = hop
            .dropped
            .iter()
            .map(|d| format!("{} ({})", d.name, d.reason.as_str()))
            .collect();
        println!(
            "{} {} {} -> {}  dropped: {dropped:?}",
            hop.status,
            hop.method,
            hop.url,
            hop.location.as_deref().unwrap_or("-")
        );
    }
    println!(
        "final {} {} {}  idempotency-key {:?}",
        resp.status(),
        resp.method(),
        resp.url(),
        resp.idempotency_key()
    );
    let writes = lab.writes(&script);
    println!(
        "the standby applied the write {} time(s), from {} delivery(ies)",
        writes.applications, writes.deliveries
    );
    assert_eq!((resp.status().as_u16(), writes.applications), (201, 1));
    Ok(())
}
