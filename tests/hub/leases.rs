//! The dispatcher's leases: short, renewed by the working process every second (a heartbeat). A killed process's
//! emergency rows are taken over within seconds and its notice rows within the dispatch lease; a process that is
//! slow but alive keeps the rows it is sending (nobody else sends them again, nor does it claim them twice).

use std::time::{Duration, Instant};

use channels::testing::line_mock::{Faults, LineMock};
use serde_json::{Value, json};

use crate::support::people::simple_csv;
use crate::support::process::HubProcess;
use crate::support::{
    ADMIN_TOKEN, Api, BACKENDS, Backend, eventually, fresh_database, install_crypto, spawn_hub,
};

const RESIDENTS: usize = 1200;

/// LINE accepts every request and holds the answer far past the kill.
fn hanging() -> Faults {
    Faults {
        p_timeout: 1.0,
        timeout_sleep: Duration::from_secs(60),
        ..Faults::default()
    }
}

async fn import(api: &Api, csv: String) {
    let response = api
        .client
        .post(api.url("/api/residents/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("import");
    assert_eq!(response.status().as_u16(), 200);
}

async fn emergency(api: &Api, title: &str) -> i64 {
    let (status, created) = api
        .post_json(
            "/api/emergencies",
            Some(ADMIN_TOKEN),
            &json!({"title": title, "body": {"ja": "直ちに避難してください。"}, "districts": ["今元"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("emergency id")
}

async fn line_notice(api: &Api, title: &str) -> i64 {
    api.create_notice(&json!({
        "title": title,
        "body": {"ja": "土曜日に防災訓練があります。"},
        "segment": "",
        "channels": ["line"],
        "send_at": null,
        "cron": null,
        "ignore_quiet_hours": true,
        "templates": {"line": {"text": "{{title}}\n{{body}}"}}
    }))
    .await
}

/// Waits until LINE holds an accepted request of this run, then a moment more so several are in flight.
async fn requests_hanging(line: &LineMock, before: u64) {
    eventually(
        "a LINE request accepted and held",
        Duration::from_secs(60),
        async || line.stats().accepted,
        |accepted| *accepted > before,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Every resident once at LINE, and the resends after the kill answered 409 (the stored retry keys).
fn assert_each_once(line: &LineMock, backend: Backend, what: &str) {
    let per_user = line.deliveries_per_user();
    assert_eq!(
        per_user.len(),
        RESIDENTS,
        "{backend:?} {what}: users reached"
    );
    let twice: Vec<_> = per_user.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{backend:?} {what}: reached more than once: {twice:?}"
    );
    line.assert_no_violations();
}

/// kill -9 while LINE holds the hub's emergency batches: the restarted hub sends them (same retry keys) within
/// 5 s of the kill or of its own start, whichever is later. Then the same with a notice: within 30 s. Both on the
/// default `HUB_DISPATCH_LEASE_SECS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_hubs_emergency_rows_are_taken_over_within_5_s_and_notice_rows_within_30_s_sqlite()
{
    taken_over_after_kill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_hubs_emergency_rows_are_taken_over_within_5_s_and_notice_rows_within_30_s_postgres()
 {
    taken_over_after_kill(Backend::Postgres).await;
}

/// Starts a hub process, and returns it with the time it took to answer.
async fn start(env: &[(String, String)], log: &std::path::Path) -> (HubProcess, Duration) {
    let started = Instant::now();
    let hub = HubProcess::start(env, log).await;
    (hub, started.elapsed())
}

async fn taken_over_after_kill(backend: Backend) {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await;
    let line = LineMock::start().await.expect("LINE mock");
    let env: Vec<(String, String)> = [
        ("HUB_DATABASE_URL", database_url),
        ("HUB_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HUB_LINE_CHANNEL_TOKEN", line.token()),
        ("HUB_LINE_API_BASE", line.base_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let log = dir.path().join("hub.log");

    // The emergency.
    let (first, _) = start(&env, &log).await;
    import(&first, simple_csv("lease", RESIDENTS, true, false)).await;
    line.set_faults(hanging());
    let id = emergency(&first, "避難指示L1").await;
    requests_hanging(&line, 0).await;
    drop(first); // kill -9
    let killed = Instant::now();
    line.set_faults(Faults::none());
    let (second, startup) = start(&env, &log).await;
    second.emergency_done(id, Duration::from_secs(60)).await;
    let took = killed.elapsed();
    eprintln!(
        "{backend:?}: emergency rows taken over and sent {took:?} after the kill (restart took {startup:?})"
    );
    assert!(
        took <= startup.max(Duration::from_secs(3)) + Duration::from_secs(2),
        "{backend:?}: the emergency finished {took:?} after the kill (restart {startup:?})"
    );
    assert_each_once(&line, backend, "emergency");
    assert!(
        line.stats().conflicts > 0,
        "the held batches were resent with their keys: {:?}",
        line.stats()
    );

    // A notice.
    let before = line.stats().accepted;
    line.set_faults(hanging());
    let users_before = line.deliveries_per_user();
    let notice = line_notice(&second, "訓練のお知らせL2").await;
    requests_hanging(&line, before).await;
    drop(second); // kill -9
    let killed = Instant::now();
    line.set_faults(Faults::none());
    let (third, startup) = start(&env, &log).await;
    third.notice_done(notice, Duration::from_secs(90)).await;
    let took = killed.elapsed();
    eprintln!(
        "{backend:?}: notice rows taken over and sent {took:?} after the kill (restart took {startup:?})"
    );
    assert!(
        took <= startup.max(Duration::from_secs(20)) + Duration::from_secs(10),
        "{backend:?}: the notice finished {took:?} after the kill (restart {startup:?})"
    );
    let per_user = line.deliveries_per_user();
    let twice: Vec<_> = per_user
        .iter()
        .filter(|(user, n)| **n != users_before.get(*user).copied().unwrap_or(0) + 1)
        .collect();
    assert!(
        twice.is_empty(),
        "{backend:?}: the notice reached these not exactly once: {twice:?}"
    );
}

/// LINE answers every request after 5 s: longer than the emergency lease (3 s), within the provider timeout. A
/// hub that is slow but alive renews its leases: on PostgreSQL a second hub on the same database never takes
/// the batches the first is still sending, and on either database no hub claims its own rows twice — no batch is
/// sent a second time (no 409 at LINE), everyone once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_living_hub_keeps_the_rows_it_is_sending() {
    for backend in BACKENDS {
        install_crypto();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, dir.path()).await;
        let line = LineMock::start().await.expect("LINE mock");
        let (token, base) = (line.token(), line.base_url());
        let settings = [
            ("HUB_LINE_CHANNEL_TOKEN", token.as_str()),
            ("HUB_LINE_API_BASE", base.as_str()),
        ];
        let first = spawn_hub(&database_url, &settings).await;
        let second = match backend {
            Backend::Postgres => Some(spawn_hub(&database_url, &settings).await),
            Backend::Sqlite => None,
        };
        let api = Api::of(&first);
        import(&api, simple_csv("slow", RESIDENTS, true, false)).await;
        line.set_faults(Faults {
            p_timeout: 1.0,
            timeout_sleep: Duration::from_secs(5),
            ..Faults::default()
        });
        let id = emergency(&api, "避難指示S1").await;
        let progress: Value = api.emergency_done(id, Duration::from_secs(90)).await;
        assert_eq!(progress["totals"]["failed"], 0, "{progress}");
        let stats = line.stats();
        assert_eq!(
            stats.conflicts, 0,
            "{backend:?}: a batch was sent again while its first request was still under way: {stats:?}"
        );
        assert_each_once(&line, backend, "slow emergency");
        if let Some(second) = second {
            second.stop().await;
        }
        first.stop().await;
    }
}
