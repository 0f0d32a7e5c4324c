//! The live segment snapshot (issue 16): after any sequence of writes it evaluates every rule as a fresh read of
//! the database does, a change answered 2xx is in the next preview, and other processes on one PostgreSQL see it
//! within a second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use hub::audience_index::{self, LiveSnapshot, build_from_database};
use hub::residents::{self, ChannelKind, ChannelsInput, ResidentInput};
use proptest::prelude::*;
use serde_json::json;

use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, spawn_app};

const RULES: &[&str] = &[
    "",
    "age >= 65",
    "age < 18 or age > 80",
    "district = \"今元\"",
    "district != \"仲津\"",
    "not district = \"今元\"",
    "language != \"ja\"",
    "interests has \"防災\" and channels has \"email\"",
    "channels has \"line\" or birth_month in [1, 2, 3]",
    "not (age >= 18 and age < 65) or interests has \"子育て\"",
];

#[derive(Debug, Clone)]
enum Write {
    /// Create or edit resident `n` through `POST /api/residents`.
    Upsert(u8, Person),
    /// Several residents in one transaction, as an import writes them.
    Import(Vec<(u8, Person)>),
    Forget(u8),
    Pause(u8, bool),
    /// Back to signing up (left out of segments) or registered again.
    Pending(u8, bool),
    /// The e-mail address unsubscribed (inactive).
    Unsubscribe(u8),
}

#[derive(Debug, Clone)]
struct Person {
    birth: Option<u32>,
    district: Option<usize>,
    language: usize,
    interests: Vec<usize>,
    line: bool,
    email: bool,
}

fn person() -> impl Strategy<Value = Person> {
    (
        proptest::option::weighted(0.8, 0u32..36_000),
        proptest::option::weighted(0.8, 0usize..4),
        0usize..6,
        proptest::collection::vec(0usize..3, 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(birth, district, language, interests, line, email)| Person {
                birth,
                district,
                language,
                interests,
                line,
                email,
            },
        )
}

fn write() -> impl Strategy<Value = Write> {
    let who = 0u8..12;
    prop_oneof![
        4 => (who.clone(), person()).prop_map(|(n, p)| Write::Upsert(n, p)),
        2 => proptest::collection::vec((who.clone(), person()), 1..8).prop_map(Write::Import),
        1 => who.clone().prop_map(Write::Forget),
        1 => (who.clone(), any::<bool>()).prop_map(|(n, on)| Write::Pause(n, on)),
        1 => (who.clone(), any::<bool>()).prop_map(|(n, on)| Write::Pending(n, on)),
        1 => who.prop_map(Write::Unsubscribe),
    ]
}

fn input(app: &TestApp, n: u8, person: &Person) -> ResidentInput {
    let config = &app.hub.state.config;
    let languages = ["ja", "en", "zh", "ko", "vi", "ja-easy"];
    let interests = ["防災", "子育て", "介護"];
    ResidentInput {
        external_id: format!("L{n:03}"),
        birth_date: person.birth.map(|days| {
            (NaiveDate::from_ymd_opt(1925, 2, 28).expect("date") + Days::new(u64::from(days)))
                .to_string()
        }),
        district: person
            .district
            .map(|d| config.districts[d % config.districts.len()].clone()),
        language: Some(languages[person.language].to_owned()),
        interests: person
            .interests
            .iter()
            .map(|i| interests[*i].to_owned())
            .collect(),
        channels: ChannelsInput {
            line: person.line.then(|| format!("U{:032x}", u32::from(n) + 1)),
            email: person.email.then(|| format!("l{n:03}@example.org")),
            push: None,
        },
        preferred: vec![],
    }
}

async fn apply(app: &TestApp, write: &Write) {
    let db = &app.hub.state.db;
    match write {
        Write::Upsert(n, person) => {
            let body =
                serde_json::to_value(SerializableInput(&input(app, *n, person))).expect("json");
            let (status, answer) = app
                .post_json("/api/residents", Some(ADMIN_TOKEN), &body)
                .await;
            assert_eq!(status, 200, "{answer}");
        }
        Write::Import(people) => {
            // The last row for an id wins, as in a CSV file that repeats one.
            let mut rows: BTreeMap<u8, &Person> = BTreeMap::new();
            for (n, person) in people {
                rows.insert(*n, person);
            }
            let checked: Vec<_> = rows
                .iter()
                .map(|(n, person)| {
                    input(app, *n, person)
                        .validate(&app.hub.state.config.districts, residents::today_in_japan())
                        .expect("valid resident")
                })
                .collect();
            residents::upsert_many(db, &checked, &[ChannelKind::Line, ChannelKind::Email])
                .await
                .expect("import");
        }
        Write::Forget(n) => {
            residents::forget(db, &format!("L{n:03}"))
                .await
                .expect("forget");
        }
        Write::Pause(n, on) => {
            sqlx::query("UPDATE residents SET notices_paused = $1 WHERE external_id = $2")
                .bind(i64::from(*on))
                .bind(format!("L{n:03}"))
                .execute(&db.pool)
                .await
                .expect("pause");
        }
        Write::Pending(n, on) => {
            sqlx::query("UPDATE residents SET pending = $1 WHERE external_id = $2")
                .bind(i64::from(*on))
                .bind(format!("L{n:03}"))
                .execute(&db.pool)
                .await
                .expect("pending");
        }
        Write::Unsubscribe(n) => {
            sqlx::query(
                "UPDATE resident_addresses SET active = 0 WHERE channel = 'email' AND resident_id IN \
                 (SELECT id FROM residents WHERE external_id = $1)",
            )
            .bind(format!("L{n:03}"))
            .execute(&db.pool)
            .await
            .expect("unsubscribe");
        }
    }
}

/// `ResidentInput` only deserialises; the API's JSON for it.
struct SerializableInput<'a>(&'a ResidentInput);

impl serde::Serialize for SerializableInput<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let input = self.0;
        json!({
            "external_id": input.external_id,
            "birth_date": input.birth_date,
            "district": input.district,
            "language": input.language,
            "interests": input.interests,
            "channels": input.channels,
        })
        .serialize(serializer)
    }
}

/// The live snapshot and a fresh read of the database give the same residents for every rule, today and on a
/// date decades later (ages are worked out for the date, not stored).
async fn check_same(app: &TestApp, after: &str) -> Result<(), TestCaseError> {
    let live = &app.hub.state.audience;
    let (fresh, _) = build_from_database(&app.hub.state.db)
        .await
        .expect("fresh build");
    let today = segments::tokyo_date(chrono::Utc::now());
    for date in [today, today + Days::new(365 * 30 + 7)] {
        for text in RULES {
            let rule = segments::Rule::parse(text).expect("rule");
            let want = fresh.evaluate(&rule, date);
            let got = live.evaluate(&rule, date).await.expect("live evaluation");
            prop_assert_eq!(
                &got,
                &want,
                "{:?} rule {:?} after {}",
                app.backend,
                text,
                after
            );
            let summary = live.preview(&rule, date).await.expect("live preview");
            prop_assert_eq!(summary, fresh.summarize(&want, date));
        }
    }
    Ok(())
}

/// The property: random sequences of creates, edits, imports, pauses, sign-up states, unsubscriptions and
/// forgettings, each checked as soon as it is answered (read your writes), on both backends.
#[test]
fn live_snapshot_evaluates_as_a_fresh_build_after_random_writes() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for backend in BACKENDS {
        let app = runtime.block_on(spawn_app(backend));
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 12,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let result = runner.run(&proptest::collection::vec(write(), 1..12), |writes| {
            runtime.block_on(async {
                for (step, write) in writes.iter().enumerate() {
                    apply(&app, write).await;
                    check_same(&app, &format!("step {step}: {write:?}")).await?;
                }
                Ok(())
            })
        });
        runtime.block_on(app.hub.stop());
        if let Err(error) = result {
            panic!("{backend:?}: {error}");
        }
    }
}

async fn count(app: &TestApp, rule: &str) -> u64 {
    let (status, preview) = app
        .post_json(
            "/api/segments/preview",
            Some(ADMIN_TOKEN),
            &json!({"rule": rule}),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    preview["count"].as_u64().expect("count")
}

/// Two hubs on one PostgreSQL database: a resident created on one is in the other's snapshot within a second,
/// without a preview asking for it (the feed's NOTIFY and polling), and in its next preview at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hubs_on_one_postgres_see_each_others_changes_within_a_second() {
    let first = spawn_app(Backend::Postgres).await;
    let mut env = BTreeMap::new();
    env.insert("HUB_LISTEN".to_owned(), "127.0.0.1:0".to_owned());
    env.insert("HUB_DATABASE_URL".to_owned(), first.database_url.clone());
    env.insert("HUB_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned());
    let config = hub::Config::from_parts(None, &env).expect("configuration");
    let second = TestApp::adopt(
        hub::spawn(config).await.expect("second hub"),
        Backend::Postgres,
        first.database_url.clone(),
    );
    assert_eq!(count(&second, "").await, 0);
    for round in 0..3u8 {
        let person = Person {
            birth: Some(20_000 + u32::from(round)),
            district: Some(0),
            language: 1,
            interests: vec![0],
            line: true,
            email: false,
        };
        apply(&first, &Write::Upsert(round, person)).await;
        let written = first.hub.state.audience.refresh().await.expect("refresh");
        let started = Instant::now();
        loop {
            let seen = second.hub.state.audience.status().map_or(0, |s| s.seq);
            if seen >= written {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "round {round}: the second hub is at {seen}, the change is {written}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(count(&second, "").await, u64::from(round) + 1);
        assert_eq!(
            count(&second, "language = \"en\"").await,
            u64::from(round) + 1
        );
    }
    // Forgotten on the second hub: gone from the first one's next preview.
    apply(&second, &Write::Forget(0)).await;
    assert_eq!(count(&first, "").await, 2);
    second.hub.stop().await;
    first.hub.stop().await;
}

/// An import is one transaction, and one step of the feed: evaluations while it is open see none of it, the
/// first after its commit all of it. On PostgreSQL a second writer of residents waits for the first to commit,
/// so the feed's numbers are in commit order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_open_import_is_seen_whole_or_not_at_all() {
    let app = spawn_app(Backend::Postgres).await;
    let db = app.hub.state.db.clone();
    let live = app.hub.state.audience.clone();
    let mut tx = db.begin_write().await.expect("begin");
    for i in 0..200 {
        sqlx::query(
            "INSERT INTO residents (external_id, district, language, created_at_ms, updated_at_ms) \
             VALUES ($1, '今元', 'ja', 0, 0)",
        )
        .bind(format!("I{i:04}"))
        .execute(&mut *tx)
        .await
        .expect("insert");
    }
    assert_eq!(count(&app, "").await, 0, "an open import is not seen");
    let other = tokio::spawn({
        let db = db.clone();
        async move {
            sqlx::query(
                "INSERT INTO residents (external_id, language, created_at_ms, updated_at_ms) \
                 VALUES ('later', 'en', 0, 0)",
            )
            .execute(&db.pool)
            .await
            .expect("second writer");
        }
    });
    // Not a fixed pause: PostgreSQL shows the second writer waiting for the first one's lock.
    crate::support::eventually(
        "the second writer waiting on a lock",
        Duration::from_secs(10),
        async || {
            crate::support::db::count(
                &app,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
            )
            .await
        },
        |waiting| *waiting >= 1,
    )
    .await;
    assert!(
        !other.is_finished(),
        "the second writer waits for the first"
    );
    assert_eq!(count(&app, "").await, 0);
    tx.commit().await.expect("commit");
    other.await.expect("second writer ends");
    assert_eq!(count(&app, "district = \"今元\"").await, 200);
    assert_eq!(count(&app, "").await, 201);
    let rule = segments::Rule::parse("").expect("rule");
    let today = segments::tokyo_date(chrono::Utc::now());
    assert_eq!(
        live.evaluate(&rule, today).await.expect("evaluate").len(),
        201
    );
    app.hub.stop().await;
}

/// `live` evaluates every rule as a fresh read of the database does, today.
async fn assert_same_as_fresh(app: &TestApp, live: &LiveSnapshot, after: &str) {
    let (fresh, _) = build_from_database(&app.hub.state.db)
        .await
        .expect("fresh build");
    let today = segments::tokyo_date(chrono::Utc::now());
    for text in RULES {
        let rule = segments::Rule::parse(text).expect("rule");
        let got = live.evaluate(&rule, today).await.expect("live evaluation");
        assert_eq!(
            got,
            fresh.evaluate(&rule, today),
            "{:?} rule {text:?} after {after}",
            app.backend
        );
    }
}

/// The feed is pruned: every row up to the number given goes except the highest (the latest number stays), a
/// snapshot behind the pruned number reads everything again rather than missing a change, and one current to it
/// goes on applying changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pruning_the_feed_keeps_the_latest_number_and_never_loses_a_change() {
    let person = |n: u8| Person {
        birth: Some(20_000 + u32::from(n) * 400),
        district: Some(usize::from(n) % 4),
        language: usize::from(n) % 6,
        interests: vec![usize::from(n) % 3],
        line: true,
        email: n.is_multiple_of(2),
    };
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let db = app.hub.state.db.clone();
        for n in 0..6 {
            apply(&app, &Write::Upsert(n, person(n))).await;
        }
        // A snapshot of another process that stops following the feed here.
        let behind = LiveSnapshot::new(db.clone());
        let at = behind.refresh().await.expect("first build");
        for write in [
            Write::Upsert(1, person(9)),
            Write::Forget(2),
            Write::Unsubscribe(4),
            Write::Upsert(6, person(6)),
        ] {
            apply(&app, &write).await;
        }
        let through = audience_index::latest(&db).await.expect("latest");
        assert!(through > at, "{backend:?}: {through} > {at}");
        let removed = audience_index::prune(&db, through).await.expect("prune");
        assert!(removed >= 6, "{backend:?}: {removed} rows removed");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT seq FROM segment_changes")
            .fetch_all(&db.pool)
            .await
            .expect("rows");
        assert_eq!(
            rows,
            vec![through],
            "{backend:?}: only the highest row stays"
        );
        assert_eq!(audience_index::latest(&db).await.expect("latest"), through);
        assert_eq!(
            audience_index::prune(&db, through).await.expect("again"),
            0,
            "{backend:?}: pruning twice removes nothing more"
        );

        // Behind the pruned number: read again whole, never a catch-up that would miss the pruned changes.
        assert_eq!(behind.refresh().await.expect("refresh"), through);
        let status = behind.status().expect("built");
        assert_eq!(
            (status.builds, status.catch_ups),
            (2, 0),
            "{backend:?}: {status:?}"
        );
        assert_same_as_fresh(&app, &behind, "pruning").await;
        assert_same_as_fresh(&app, &app.hub.state.audience, "pruning (the hub's own)").await;

        // Current to it: later changes are applied as changes.
        apply(&app, &Write::Upsert(7, person(7))).await;
        apply(&app, &Write::Pending(3, true)).await;
        behind.refresh().await.expect("catch up");
        let status = behind.status().expect("built");
        assert_eq!(
            (status.builds, status.catch_ups),
            (2, 1),
            "{backend:?}: {status:?}"
        );
        assert_same_as_fresh(&app, &behind, "changes after pruning").await;
        app.hub.stop().await;
    }
}
