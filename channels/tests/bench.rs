//! The benchmark engine runs end to end (small sizes) and produces a complete JSON report.

mod common;

use channels::bench::{BenchOptions, bench};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_reports_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = common::start_aiosmtpd(&dir.path().join("Maildir"));
    let opts = BenchOptions {
        line_multicast_requests: 20,
        multicast_size: 500,
        line_push_requests: 300,
        webpush_messages: 200,
        webpush_subscriptions: 20,
        email_messages: 50,
        smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
        concurrency: 16,
    };
    let report = bench(&opts).await;
    let json = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{json}");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let names: Vec<_> = report.channels.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(names, ["line_multicast", "line_push", "webpush", "email"]);
    for c in &report.channels {
        assert_eq!(c.not_sent, 0, "{c:?}");
        assert_eq!(c.stand_in_rejected, 0, "{c:?}");
        assert!(c.messages_per_sec > 0.0, "{c:?}");
        if c.channel != "email" {
            assert!(c.ratio.is_some_and(|r| r > 0.0), "{c:?}");
        }
    }
    assert_eq!(report.channels[0].messages, 10_000);
}
