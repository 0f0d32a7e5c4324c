//! The JMA watch end to end (issue 26): a hub reading the JMA stand-in's feed on loopback every 2 s (the option
//! for tests; 60 s in production), against the spec-validating LINE stand-in. A 大雨特別警報 for 行橋市 is
//! broadcast within 70 s of appearing in the feed (the time is printed), its 解除 sends the update, a 訂正
//! replaces, a 大雨警報 becomes a draft a disaster account sends, documents for another city only, drills and
//! malformed documents reach no resident and the poller goes on, a restart does not replay, and two hubs on one
//! PostgreSQL make one emergency.

use std::time::Duration;

use serde_json::Value;

use crate::support::browser;
use crate::support::console::{PASSWORD, add_staff};
use crate::support::db::{count, count_with};
use crate::support::jma::{
    BUZEN, JmaStandIn, KANDA, LANDSLIDE, Published, WARNINGS, YUKUHASHI, landslide, warnings,
};
use crate::support::line::{self, line_text};
use crate::support::world::World;
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, eventually, spawn_hub};

async fn world_with(jma: &JmaStandIn, backend: Backend) -> World {
    let mut builder = World::builder(backend).residents(12, 26);
    for (key, value) in jma.settings(2) {
        builder = builder.setting(&key, &value);
    }
    builder.start().await
}

async fn emergencies(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get("/api/emergencies", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

async fn progress(app: &TestApp, id: i64) -> Value {
    let (status, progress) = app
        .get(&format!("/api/emergencies/{id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(status, 200, "{progress}");
    progress
}

/// Waits until the hub has dealt with `entry` (any outcome); the outcome.
async fn outcome_of(app: &TestApp, entry: &Published) -> String {
    let (_, overview) = eventually(
        format!("the hub acts on {}", entry.id),
        Duration::from_secs(60),
        async || app.get("/api/jma", Some(ADMIN_TOKEN)).await,
        |(status, overview)| {
            *status == 200
                && overview["documents"].as_array().is_some_and(|docs| {
                    docs.iter()
                        .any(|d| d["document"] == entry.id && !d["outcome"].is_null())
                })
        },
    )
    .await;
    overview["documents"]
        .as_array()
        .and_then(|docs| docs.iter().find(|d| d["document"] == entry.id))
        .and_then(|d| d["outcome"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn special(status: &str, info_type: &str) -> String {
    warnings(
        status,
        info_type,
        "京築では、土砂災害、浸水害に最大級の警戒をしてください。",
        &[
            (
                YUKUHASHI.0,
                YUKUHASHI.1,
                &[("大雨特別警報", "発表"), ("洪水警報", "発表")],
            ),
            (BUZEN.0, BUZEN.1, &[("大雨警報", "発表")]),
            (KANDA.0, KANDA.1, &[("大雨注意報", "継続")]),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn special_warning_is_broadcast_within_70_seconds_lifted_by_its_release_and_not_replayed() {
    for backend in BACKENDS {
        let jma = JmaStandIn::start().await;
        let world = world_with(&jma, backend).await;
        // On PostgreSQL a second hub watches the same feed: one emergency all the same.
        let second = match backend {
            Backend::Postgres => Some(world.another_hub().await),
            Backend::Sqlite => None,
        };
        let published = jma.publish(WARNINGS, special("通常", "発表"));
        let accepted = eventually(
            format!("{backend:?}: a LINE request for the 大雨特別警報"),
            Duration::from_secs(70),
            async || world.line.accepted(),
            |accepted| {
                accepted
                    .iter()
                    .any(|r| line_text(&r.messages).contains("大雨特別警報"))
            },
        )
        .await;
        let first = accepted
            .iter()
            .find(|r| line_text(&r.messages).contains("大雨特別警報"))
            .expect("the request");
        let latency = first.at - published.at;
        println!(
            "{backend:?}: JMA feed entry → first LINE request: {} ms (poll every 2 s)",
            latency.num_milliseconds()
        );
        assert!(latency < chrono::Duration::seconds(70), "{latency}");
        assert_eq!(
            first.path, "/v2/bot/message/broadcast",
            "a whole-city alert is one broadcast"
        );
        let text = line_text(&first.messages);
        assert!(text.contains("【緊急】大雨特別警報（行橋市）"), "{text}");
        assert!(text.contains("最大級の警戒"), "{text}");

        assert_eq!(outcome_of(&world.app, &published).await, "sent");
        let list = emergencies(&world.app).await;
        assert_eq!(list.len(), 1, "{list:?}");
        let id = list[0]["id"].as_i64().unwrap();
        let alert = progress(&world.app, id).await;
        assert_eq!(alert["cap_identifier"], published.id.as_str(), "{alert}");
        assert_eq!(alert["triggered_by"], "気象庁（自動）");
        assert_eq!(alert["whole_city"], true);
        assert_eq!(alert["severity"], "extreme");
        assert!(
            alert["text"]["ja-easy"]["body"]
                .as_str()
                .unwrap()
                .contains("にげて"),
            "{alert}"
        );
        assert!(
            alert["text"]["en"]["title"]
                .as_str()
                .unwrap()
                .contains("Emergency warning"),
            "{alert}"
        );
        assert_eq!(
            count_with(
                &world.app,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'emergency.trigger' AND target = $1 AND detail LIKE $2",
                &[id.to_string().as_str().into(), format!("%{}%", published.id).as_str().into()],
            )
            .await,
            1,
            "the audit names the source and the document"
        );
        // 洪水警報 is a 警報: a draft for a person, nothing sent.
        let (_, overview) = world.app.get("/api/jma", Some(ADMIN_TOKEN)).await;
        let drafts = overview["drafts"].as_array().unwrap();
        assert_eq!(drafts.len(), 1, "{overview}");
        assert_eq!(drafts[0]["kinds"], serde_json::json!(["洪水警報"]));
        assert_eq!(drafts[0]["status"], "pending");
        assert_eq!(overview["policy"]["特別警報"], "send");

        // 解除: the people who got the alert are told it is lifted; the 洪水警報 continues, nothing new.
        let released = jma.publish(
            WARNINGS,
            warnings(
                "通常",
                "発表",
                "大雨特別警報を解除しました。",
                &[(
                    YUKUHASHI.0,
                    YUKUHASHI.1,
                    &[("大雨特別警報", "解除"), ("洪水警報", "継続")],
                )],
            ),
        );
        eventually(
            format!("{backend:?}: the update saying it is lifted"),
            Duration::from_secs(70),
            async || world.line.accepted(),
            |accepted| {
                accepted
                    .iter()
                    .any(|r| line_text(&r.messages).contains("【更新】大雨特別警報の解除"))
            },
        )
        .await;
        assert_eq!(outcome_of(&world.app, &released).await, "lifted");
        let list = emergencies(&world.app).await;
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(list[0]["kind"], "update");
        assert_eq!(list[0]["incident_id"], id);

        // A restart: the documents already acted on are neither fetched nor acted on again.
        let fetched = jma.document_requests();
        // Reads of an unchanged feed carry its ETag and are answered 304.
        let (feeds, not_modified, conditional) = eventually(
            "a conditional read answered 304",
            Duration::from_secs(20),
            async || jma.feed_counts(),
            |(_, not_modified, _)| *not_modified > 0,
        )
        .await;
        assert!(
            conditional > 0 && not_modified > 0,
            "conditional requests: {feeds} reads, {conditional} with If-None-Match, {not_modified} answered 304"
        );
        if let Some(second) = second {
            second.stop().await;
        }
        world.app.hub.stop().await;
        let mut settings: Vec<(String, String)> = jma.settings(2);
        settings.extend(
            line::settings(&world.line)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        );
        let refs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let restarted = spawn_hub(&world.app.database_url, &refs).await;
        let restarted = TestApp::adopt(restarted, backend, world.app.database_url.clone());
        let other = jma.publish(
            WARNINGS,
            warnings(
                "通常",
                "発表",
                "",
                &[(BUZEN.0, BUZEN.1, &[("大雨警報", "継続")])],
            ),
        );
        assert_eq!(outcome_of(&restarted, &other).await, "other-area");
        assert_eq!(
            jma.document_requests(),
            fetched + 1,
            "only the new document was fetched"
        );
        assert_eq!(emergencies(&restarted).await.len(), 2, "nothing replayed");
        assert_eq!(
            count(
                &restarted,
                "SELECT COUNT(*) FROM emergencies WHERE cap_key LIKE 'jma,%'"
            )
            .await,
            2
        );
        world.line.assert_no_violations();
        restarted.hub.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_cities_drills_and_malformed_documents_reach_no_resident_and_the_poller_goes_on() {
    let jma = JmaStandIn::start().await;
    let world = world_with(&jma, Backend::Sqlite).await;
    let elsewhere = jma.publish(
        WARNINGS,
        warnings(
            "通常",
            "発表",
            "豊前市に大雨特別警報",
            &[
                (BUZEN.0, BUZEN.1, &[("大雨特別警報", "発表")]),
                (KANDA.0, KANDA.1, &[("大雨警報", "発表")]),
            ],
        ),
    );
    let drill = jma.publish(WARNINGS, special("訓練", "発表"));
    let broken = special("通常", "発表").replace(
        "<jmx_mete:Status>発表</jmx_mete:Status>",
        "<jmx_mete:Status>発令</jmx_mete:Status>",
    );
    let malformed = jma.publish(WARNINGS, broken);
    let truncated = special("通常", "発表");
    let half = truncated.chars().count() / 2;
    let truncated = jma.publish(WARNINGS, truncated.chars().take(half).collect());
    assert_eq!(outcome_of(&world.app, &elsewhere).await, "other-area");
    assert_eq!(outcome_of(&world.app, &drill).await, "drill");
    assert_eq!(outcome_of(&world.app, &malformed).await, "malformed");
    assert_eq!(outcome_of(&world.app, &truncated).await, "malformed");
    let (_, overview) = world.app.get("/api/jma", Some(ADMIN_TOKEN)).await;
    let detail = overview["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["document"] == malformed.id)
        .and_then(|d| d["detail"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("Status") && detail.contains("発令") && detail.contains("line"),
        "{detail}"
    );
    // The drill is a dry run (staff test recipients only); nothing public.
    let list = emergencies(&world.app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["dry_run"], true);
    assert!(
        overview["drafts"].as_array().unwrap().is_empty(),
        "{overview}"
    );

    // The poller went on: the next real document is acted on.
    let real = jma.publish(WARNINGS, special("通常", "発表"));
    assert_eq!(outcome_of(&world.app, &real).await, "sent");
    let list = emergencies(&world.app).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["dry_run"], false);
    let text: String = world
        .line
        .accepted()
        .iter()
        .map(|r| line_text(&r.messages))
        .collect();
    assert!(!text.contains("訓練"), "a drill reached LINE: {text}");
    assert_eq!(text.matches("大雨特別警報（行橋市）").count(), 1, "{text}");
    world.line.assert_no_violations();
    world.app.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_correction_replaces_what_was_sent_and_a_withdrawal_cancels_it() {
    let jma = JmaStandIn::start().await;
    let world = world_with(&jma, Backend::Sqlite).await;
    let issued = jma.publish(
        WARNINGS,
        warnings(
            "通常",
            "発表",
            "",
            &[(YUKUHASHI.0, YUKUHASHI.1, &[("暴風特別警報", "発表")])],
        ),
    );
    assert_eq!(outcome_of(&world.app, &issued).await, "sent");
    let corrected = jma.publish(
        WARNINGS,
        warnings(
            "通常",
            "訂正",
            "暴風特別警報を大雨特別警報に訂正します。",
            &[(YUKUHASHI.0, YUKUHASHI.1, &[("大雨特別警報", "発表")])],
        ),
    );
    assert_eq!(outcome_of(&world.app, &corrected).await, "corrected");
    let list = emergencies(&world.app).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["kind"], "update");
    assert_eq!(list[0]["title"], "【更新】大雨特別警報（行橋市）");
    let withdrawn = jma.publish(
        WARNINGS,
        warnings("通常", "取消", "先ほどの警報を取り消します。", &[]),
    );
    assert_eq!(outcome_of(&world.app, &withdrawn).await, "cancelled");
    let list = emergencies(&world.app).await;
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["kind"], "cancel");
    assert_eq!(list[0]["cancelled"], true);
    world.app.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warning_becomes_a_draft_that_a_disaster_account_sends_once() {
    for backend in BACKENDS {
        let jma = JmaStandIn::start().await;
        let world = world_with(&jma, backend).await;
        let entry = jma.publish(
            WARNINGS,
            warnings(
                "通常",
                "発表",
                "",
                &[(
                    YUKUHASHI.0,
                    YUKUHASHI.1,
                    &[("大雨警報", "発表"), ("雷注意報", "発表")],
                )],
            ),
        );
        assert_eq!(outcome_of(&world.app, &entry).await, "draft");
        assert!(
            emergencies(&world.app).await.is_empty(),
            "a draft sends nothing"
        );
        let (_, overview) = world.app.get("/api/jma", Some(ADMIN_TOKEN)).await;
        let draft = &overview["drafts"][0];
        assert_eq!(
            draft["kinds"],
            serde_json::json!(["大雨警報"]),
            "{overview}"
        );
        assert_eq!(draft["title"], "大雨警報（行橋市）");
        let id = draft["id"].as_i64().unwrap();
        let path = format!("/api/jma/drafts/{id}/send");
        let pr = world.app.token("pr").await;
        let (status, _) = world.app.post_json(&path, Some(&pr), &Value::Null).await;
        assert_eq!(status, 403);
        let disaster = world.app.token("disaster").await;
        let (status, sent) = world
            .app
            .post_json(&path, Some(&disaster), &Value::Null)
            .await;
        assert_eq!(status, 201, "{sent}");
        let (status, again) = world
            .app
            .post_json(&path, Some(&disaster), &Value::Null)
            .await;
        assert_eq!(status, 409, "{again}");
        let emergency = sent["emergency"].as_i64().unwrap();
        world
            .app
            .emergency_done(emergency, Duration::from_secs(30))
            .await;
        assert_eq!(emergencies(&world.app).await.len(), 1);
        // Its 継続 in the next document makes no second draft.
        let continued = jma.publish(
            WARNINGS,
            warnings(
                "通常",
                "発表",
                "",
                &[(YUKUHASHI.0, YUKUHASHI.1, &[("大雨警報", "継続")])],
            ),
        );
        assert_eq!(outcome_of(&world.app, &continued).await, "nothing");
        world.app.hub.stop().await;
    }
}

/// Runs tests/browser/jma.mjs as `username` and returns what it printed.
async fn run_jma_browser(app: &TestApp, username: &str) -> Value {
    let artifacts = browser::artifacts_dir();
    browser::run_script(
        "jma.mjs",
        vec![
            app.base.clone().into(),
            username.into(),
            PASSWORD.into(),
            artifacts.into(),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disaster_account_sends_a_jma_draft_from_the_console_in_a_real_browser() {
    let jma = JmaStandIn::start().await;
    let world = world_with(&jma, Backend::Sqlite).await;
    add_staff(&world.app, "bousai", "disaster").await;
    let entry = jma.publish(
        WARNINGS,
        warnings(
            "通常",
            "発表",
            "京築では、低い土地の浸水に警戒してください。",
            &[(
                YUKUHASHI.0,
                YUKUHASHI.1,
                &[("大雨警報", "発表"), ("洪水注意報", "発表")],
            )],
        ),
    );
    assert_eq!(outcome_of(&world.app, &entry).await, "draft");
    let shown = run_jma_browser(&world.app, "bousai").await;
    assert_eq!(shown["problems"], serde_json::json!([]), "{shown}");
    assert!(shown["alert"].as_str().unwrap().contains("1 件"), "{shown}");
    assert!(
        shown["menu"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "気象庁"),
        "{shown}"
    );
    assert_eq!(shown["draft_title"], "大雨警報（行橋市）", "{shown}");
    assert!(
        shown["draft_text"].as_str().unwrap().contains("浸水に警戒"),
        "{shown}"
    );
    assert!(
        shown["after"].as_str().unwrap().contains("送信済み"),
        "{shown}"
    );
    assert!(
        shown["after"].as_str().unwrap().contains("bousai"),
        "{shown}"
    );
    assert_eq!(shown["pending_after"], 0);
    let list = emergencies(&world.app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["title"], "大雨警報（行橋市）");
    let alert = progress(&world.app, list[0]["id"].as_i64().unwrap()).await;
    assert_eq!(alert["triggered_by"], "bousai");
    assert_eq!(alert["cap_identifier"], format!("{}/draft", entry.id));
    eventually(
        "the draft's broadcast at the LINE stand-in",
        Duration::from_secs(30),
        async || world.line.accepted(),
        |accepted| {
            accepted
                .iter()
                .any(|r| line_text(&r.messages).contains("大雨警報（行橋市）"))
        },
    )
    .await;
    world.app.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_landslide_alert_for_the_city_is_sent_at_once_and_one_for_neighbours_is_not() {
    let jma = JmaStandIn::start().await;
    let world = world_with(&jma, Backend::Sqlite).await;
    let neighbours = jma.publish(
        LANDSLIDE,
        landslide(&[
            (BUZEN.0, BUZEN.1, "警戒", "発表"),
            (YUKUHASHI.0, YUKUHASHI.1, "なし", "なし"),
        ]),
    );
    assert_eq!(outcome_of(&world.app, &neighbours).await, "nothing");
    let ours = jma.publish(
        LANDSLIDE,
        landslide(&[
            (YUKUHASHI.0, YUKUHASHI.1, "警戒", "発表"),
            (KANDA.0, KANDA.1, "警戒", "発表"),
        ]),
    );
    assert_eq!(outcome_of(&world.app, &ours).await, "sent");
    let list = emergencies(&world.app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["title"], "土砂災害警戒情報（行橋市）");
    let alert = progress(&world.app, list[0]["id"].as_i64().unwrap()).await;
    assert!(
        alert["text"]["ja"]["body"]
            .as_str()
            .unwrap()
            .contains("土砂災害の危険度"),
        "{alert}"
    );
    assert_eq!(
        alert["text"]["en"]["title"],
        "Landslide alert for Yukuhashi City"
    );
    world.app.hub.stop().await;
}
