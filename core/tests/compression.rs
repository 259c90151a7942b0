//! Compressed responses on real sockets: `Accept-Encoding` by default, streaming decode, and a
//! gzip bomb stopped while it inflates.

mod common;
use common::*;

#[tokio::test]
async fn accept_encoding_is_sent_unless_the_caller_chose_one() {
    let srv = server().await;
    let c = client(&srv);
    let (id, url) = script(&srv, "a", vec![Step::ok(), Step::ok()]);
    c.get(&url).send().await.unwrap();
    let url1 = url.replace("/0", "/1");
    c.get(&url1)
        .header("Accept-Encoding", "identity")
        .send()
        .await
        .unwrap();
    let recs = srv.records(&id);
    assert_eq!(recs[0].header("accept-encoding"), Some("gzip, br, zstd"));
    assert_eq!(recs[1].header("accept-encoding"), Some("identity"));
}

#[tokio::test]
async fn a_gzip_bomb_in_a_final_response_stops_while_it_inflates() {
    let srv = server().await;
    let c = client(&srv);
    let mut resp = c
        .get(&srv.url("a", "/redirect/200?gzip_bomb=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut decoded = 0usize;
    let err = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => decoded += chunk.len(),
            Ok(None) => panic!("the whole 64 MiB bomb was decoded"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, hopsafe::Error::ResponseTooLarge { .. }),
        "{err}"
    );
    // The bomb is about 64 KiB on the wire: decoding stops near 250 times that.
    assert!(
        decoded < 20 << 20,
        "{decoded} bytes decoded before the guard"
    );
    let whole = c
        .get(&srv.url("a", "/redirect/200?gzip_bomb=1"))
        .send()
        .await;
    let err = whole.unwrap().bytes().await.unwrap_err();
    assert!(
        matches!(err, hopsafe::Error::ResponseTooLarge { .. }),
        "{err}"
    );
}
