//! Prints the channel benchmark report as JSON (what `hub bench channels` prints).
//!
//! `cargo run -p channels --release --features bench --example bench_channels [SMTP_URL]`

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let opts = channels::bench::BenchOptions {
        smtp_url: std::env::args().nth(1),
        ..Default::default()
    };
    let report = channels::bench::bench(&opts).await;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("report serializes")
    );
}
