//! Prints `{"base": URL}` and serves until stdin closes.

use std::io::Read;

fn main() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let base = rt.block_on(hopsafe_bench::serve())?;
    println!("{}", serde_json::json!({ "base": base }));
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}
