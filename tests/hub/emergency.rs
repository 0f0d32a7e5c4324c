//! Emergency broadcasts end to end, over HTTP against the spec-validating LINE mock and a real SMTP server
//! (aiosmtpd): the trigger's input checks (JSON and CAP 1.2), the fan-out to every channel of every resident of
//! the area exactly once (before a notice in flight), LINE broadcast for the whole city, dry runs, updates and
//! cancellations to the same people, safety answers on LINE and the web chat, progress (JSON and SSE), roles,
//! and a SIGKILL of the real binary in the middle of an alert with LINE failing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use channels::line::webhook::sign;
use channels::testing::{Faults, LineMock};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::db::{count, count_with, execute};
use crate::support::line::{
    SECRET, line_text, postback, quick_reply_data, replies_now, settled, text_message,
};
use crate::support::people::{Person, assert_same_residents, csv_of, import, people};
use crate::support::process::HubProcess;
use crate::support::smtp::SmtpServer;
use crate::support::webchat::{self, next_json};
use crate::support::world::{MAIL_FROM, World};
use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, TestApp, eventually, fresh_database, install_crypto, spawn_app,
    spawn_hub,
};

const CAP_BAD_SEVERITY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>yukuhashi-test-1</identifier>
  <sender>bousai@city.yukuhashi.lg.jp</sender>
  <sent>2026-11-26T03:12:00+09:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info>
    <language>ja-JP</language><category>Met</category><event>避難指示</event>
    <urgency>Immediate</urgency><severity>Catastrophic</severity><certainty>Observed</certainty>
    <headline>今元地区に避難指示</headline>
    <description>避難してください。</description>
    <area>
      <areaDesc>今元地区</areaDesc>
      <geocode><valueName>district</valueName><value>今元</value></geocode>
    </area>
  </info>
</alert>"#;

#[tokio::test]
async fn malformed_cap_and_json_are_refused_naming_the_place() {
    let app = spawn_app(Backend::Sqlite).await;
    let disaster = app.token("disaster").await;

    let response = app
        .client
        .post(app.url("/api/emergencies"))
        .bearer_auth(&disaster)
        .header("content-type", "application/cap+xml")
        .body(CAP_BAD_SEVERITY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["field"], "/alert/info[1]/severity", "{error}");
    assert!(error["error"].as_str().unwrap().contains("Catastrophic"));

    let response = app
        .client
        .post(app.url("/api/emergencies"))
        .bearer_auth(&disaster)
        .header("content-type", "application/cap+xml")
        .body("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let (status, error) = app
        .post_json(
            "/api/emergencies",
            Some(ADMIN_TOKEN),
            &serde_json::json!({"title": "避難指示", "body": {"ja": "避難してください"}, "districts": ["今元", "博多"]}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "districts[1]", "{error}");
    app.hub.stop().await;
}

// ---------- what arrived ----------

/// Who got a message whose text (LINE) or subject (email) contains `marker`: resident → channels, with repeats.
/// Email counts distinct Message-IDs (an SMTP server that got the same message twice is one delivery).
fn arrivals(
    line: &LineMock,
    smtp: &SmtpServer,
    people: &[Person],
    marker: &str,
) -> BTreeMap<String, Vec<&'static str>> {
    let by_line: HashMap<&str, &Person> = people
        .iter()
        .filter_map(|p| p.line.as_deref().map(|l| (l, p)))
        .collect();
    let by_email: HashMap<&str, &Person> = people
        .iter()
        .filter_map(|p| p.email.as_deref().map(|e| (e, p)))
        .collect();
    let mut got: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for request in line.accepted() {
        if !line_text(&request.messages).contains(marker) {
            continue;
        }
        for user in &request.to {
            let person = by_line
                .get(user.as_str())
                .unwrap_or_else(|| panic!("a LINE message to an unknown user {user}"));
            got.entry(person.external_id.clone())
                .or_default()
                .push("line");
        }
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for mail in smtp.mails() {
        if !mail.subject.contains(marker) || !seen.insert(mail.message_id.clone()) {
            continue;
        }
        let person = by_email
            .get(mail.to.as_str())
            .unwrap_or_else(|| panic!("an email to an unknown address {}", mail.to));
        got.entry(person.external_id.clone())
            .or_default()
            .push("email");
    }
    got
}

/// What an emergency to `districts` must do: every resident there, once on each channel they have.
fn expected_in(people: &[Person], districts: &[&str]) -> BTreeMap<String, Vec<&'static str>> {
    people
        .iter()
        .filter(|p| districts.contains(&p.district))
        .filter_map(|p| {
            let mut channels = Vec::new();
            if p.line.is_some() {
                channels.push("line");
            }
            if p.email.is_some() {
                channels.push("email");
            }
            (!channels.is_empty()).then(|| (p.external_id.clone(), channels))
        })
        .collect()
}

fn assert_exactly_once(
    expected: &BTreeMap<String, Vec<&'static str>>,
    got: &BTreeMap<String, Vec<&'static str>>,
    what: &str,
) {
    assert_same_residents(expected, got, what, "the area");
    for (resident, want) in expected {
        let mut have = got[resident].clone();
        have.sort_unstable();
        let mut want = want.clone();
        want.sort_unstable();
        assert_eq!(have, want, "{what}: {resident} (each channel exactly once)");
    }
}

// ---------- talking to the hub ----------

async fn post_cap(client: &reqwest::Client, base: &str, token: &str, xml: &str) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/emergencies"))
        .bearer_auth(token)
        .header("content-type", "application/cap+xml")
        .body(xml.to_owned())
        .send()
        .await
        .expect("CAP sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn line_event(user: &str, event_id: &str, kind: Value) -> Value {
    let mut event = json!({
        "mode": "active",
        "timestamp": 1_764_000_000_000_i64,
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": false},
        "replyToken": format!("reply-{event_id}"),
    });
    if let (Some(event), Some(kind)) = (event.as_object_mut(), kind.as_object()) {
        for (key, value) in kind {
            event.insert(key.clone(), value.clone());
        }
    }
    event
}

async fn post_line_events(app: &TestApp, events: Vec<Value>) {
    let body = crate::support::line::body(events);
    let status = app
        .client
        .post(app.url("/line/webhook"))
        .header("content-type", "application/json")
        .header("x-line-signature", sign(SECRET, &body))
        .body(body)
        .send()
        .await
        .expect("webhook sent")
        .status()
        .as_u16();
    assert_eq!(status, 200);
    // The webhook acknowledges first and answers from a queue: wait until the events are handled.
    settled(app).await;
}

/// The last reply the stand-in accepted that contains `text` (the events are handled: see `settled`).
async fn reply_containing(line: &LineMock, text: &str) -> String {
    eventually(
        format!("a reply containing {text:?}"),
        Duration::from_secs(5),
        async || {
            replies_now(line)
                .into_iter()
                .rev()
                .map(|r| line_text(&r.messages))
                .find(|t| t.contains(text))
        },
        Option::is_some,
    )
    .await
    .unwrap_or_default()
}

async fn emergency_world(
    backend: Backend,
    extra: &[(&str, &str)],
) -> (TestApp, LineMock, SmtpServer) {
    let mut builder = World::builder(backend);
    for (key, value) in extra {
        builder = builder.setting(key, value);
    }
    let world = builder.start().await;
    (world.app, world.line, world.smtp)
}

fn residents_in(
    people: &[Person],
    districts: &[&str],
    with: impl Fn(&Person) -> bool,
) -> Vec<Person> {
    people
        .iter()
        .filter(|p| districts.contains(&p.district) && with(p))
        .cloned()
        .collect()
}

// ---------- the tests ----------

/// How many residents the large tests use (`HUB_TEST_EMERGENCY_RESIDENTS`, default 20,000).
fn large_n() -> usize {
    std::env::var("HUB_TEST_EMERGENCY_RESIDENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

/// The issue's scene: 20,000 residents, a notice to all of them being sent, an emergency for three districts
/// that finishes first and reaches every resident there once on LINE and once by email, nobody outside; then
/// safety answers on LINE (quick reply, plain text, forged data) and who may see who needs help.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emergency_overtakes_a_notice_and_reaches_its_districts_once_sqlite() {
    overtakes_a_notice(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emergency_overtakes_a_notice_and_reaches_its_districts_once_postgres() {
    overtakes_a_notice(Backend::Postgres).await;
}

async fn overtakes_a_notice(backend: Backend) {
    {
        let (app, line, smtp) = emergency_world(backend, &[]).await;
        let people = people(large_n(), 5);
        let clock = Instant::now();
        import(&app, &people).await;
        eprintln!(
            "{backend:?}: {} residents imported in {:?}",
            people.len(),
            clock.elapsed()
        );
        let disaster = app.token("disaster").await;
        let pr = app.token("pr").await;

        // A newsletter to everyone, on LINE and email.
        let (status, notice) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &json!({"title": "Newsletter-N1", "body": {"ja": "市報です。"}, "segment": "",
                        "channels": ["line", "email"], "send_at": null, "ignore_quiet_hours": true}),
            )
            .await;
        assert_eq!(status, 201, "{notice}");
        let notice_id = notice["id"].as_i64().expect("id");
        app.notice_when(
            notice_id,
            "the first newsletter sent",
            Duration::from_secs(60),
            |view| view["totals"]["sent"].as_i64().unwrap_or(0) > 0,
        )
        .await;

        // The emergency, while the notice is being sent.
        let districts = ["今元", "仲津", "泉"];
        let (status, created) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"title": "避難指示E1", "body": {"ja": "今元・仲津・泉地区に避難指示を発令しました。",
                        "en": "Evacuation order: leave now."}, "districts": districts, "severity": "extreme"}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let progress = app.emergency_done(id, Duration::from_secs(120)).await;
        let (_, notice_then) = app
            .get(&format!("/api/notices/{notice_id}"), Some(&pr))
            .await;
        assert!(
            notice_then["totals"]["pending"].as_i64().unwrap_or(0) > 0,
            "{backend:?}: the notice finished before the emergency: {notice_then}"
        );
        eprintln!(
            "{backend:?}: emergency E1 to {} residents: first sent {} ms, all sent {} ms after the trigger; \
             the notice still had {} of {} deliveries pending",
            progress["targeted_residents"],
            progress["first_sent_ms"],
            progress["all_sent_ms"],
            notice_then["totals"]["pending"],
            notice_then["totals"]["targeted"]
        );

        let expected = expected_in(&people, &districts);
        let got = arrivals(&line, &smtp, &people, "避難指示E1");
        assert_exactly_once(&expected, &got, "emergency E1");
        let line_people = people
            .iter()
            .filter(|p| districts.contains(&p.district) && p.line.is_some())
            .count() as i64;
        let email_people = people
            .iter()
            .filter(|p| districts.contains(&p.district) && p.email.is_some())
            .count() as i64;
        assert_eq!(
            progress["counts"]["line"]["sent"], line_people,
            "{progress}"
        );
        assert_eq!(
            progress["counts"]["email"]["sent"], email_people,
            "{progress}"
        );
        assert_eq!(progress["totals"]["failed"], 0, "{progress}");
        assert_eq!(progress["line_broadcast"], false);
        let first = progress["first_sent_ms"].as_i64().expect("first_sent_ms");
        let all = progress["all_sent_ms"].as_i64().expect("all_sent_ms");
        assert!(first <= all, "{progress}");
        // Residents read it in their language (English here), others in Japanese; no unsubscribe link.
        for request in line.accepted() {
            let text = line_text(&request.messages);
            if !text.contains("避難指示E1") {
                continue;
            }
            let person = people
                .iter()
                .find(|p| p.line.as_deref() == request.to.first().map(String::as_str))
                .expect("a resident");
            if person.language == "en" {
                assert!(text.contains("Evacuation order"), "{text}");
            } else {
                assert!(text.contains("避難指示を発令"), "{text}");
            }
        }
        assert!(
            smtp.mails()
                .iter()
                .filter(|m| m.subject.contains("避難指示E1"))
                .all(|m| m.list_unsubscribe.is_none())
        );

        // Safety: a Japanese reader taps 「無事です」.
        let reader = residents_in(&people, &districts, |p| {
            p.line.is_some() && p.language == "ja"
        });
        let (a, b) = (&reader[0], &reader[1]);
        let user_a = a.line.clone().expect("LINE");
        let request = line
            .accepted()
            .into_iter()
            .find(|r| line_text(&r.messages).contains("避難指示E1") && r.to.contains(&user_a))
            .expect("A's LINE message");
        let safe_data =
            quick_reply_data(request.messages.as_array().expect("messages"), "無事です");
        let help_data =
            quick_reply_data(request.messages.as_array().expect("messages"), "助けが必要");
        post_line_events(
            &app,
            vec![line_event(&user_a, "ev-a1", postback(&safe_data))],
        )
        .await;
        reply_containing(&line, "受け付けました").await;
        // Tapped twice: still one answer. A forged one (the other answer's code with this signature) is ignored.
        post_line_events(
            &app,
            vec![line_event(&user_a, "ev-a2", postback(&safe_data))],
        )
        .await;
        let forged = safe_data.replacen(":s:", ":h:", 1);
        assert_ne!(forged, safe_data);
        post_line_events(&app, vec![line_event(&user_a, "ev-a3", postback(&forged))]).await;
        let other_id = help_data.replacen(&format!("em:{id}:"), &format!("em:{}:", id + 1000), 1);
        post_line_events(
            &app,
            vec![line_event(&user_a, "ev-a4", postback(&other_id))],
        )
        .await;
        let (_, p) = app
            .get(&format!("/api/emergencies/{id}"), Some(&disaster))
            .await;
        assert_eq!(
            (p["safe"].as_i64(), p["need_help"].as_i64()),
            (Some(1), Some(0)),
            "{p}"
        );

        // B writes 「助けが必要」; someone outside the area writing 「無事です」 gets the FAQ, not an answer.
        let user_b = b.line.clone().expect("LINE");
        post_line_events(
            &app,
            vec![line_event(&user_b, "ev-b1", text_message("助けが必要"))],
        )
        .await;
        reply_containing(&line, "災害対策本部").await;
        let outsider = people
            .iter()
            .find(|p| !districts.contains(&p.district) && p.line.is_some())
            .expect("someone outside");
        post_line_events(
            &app,
            vec![line_event(
                outsider.line.as_deref().expect("LINE"),
                "ev-c1",
                text_message("無事です"),
            )],
        )
        .await;
        let (_, p) = app
            .get(&format!("/api/emergencies/{id}"), Some(&disaster))
            .await;
        assert_eq!(
            (p["safe"].as_i64(), p["need_help"].as_i64()),
            (Some(1), Some(1)),
            "{p}"
        );

        // Who needs help: the disaster team sees B with the district; PR and viewers do not.
        let (status, list) = app
            .get(&format!("/api/emergencies/{id}/need-help"), Some(&disaster))
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["count"], 1, "{list}");
        assert_eq!(list["residents"][0]["external_id"], b.external_id.as_str());
        assert_eq!(list["residents"][0]["district"], b.district);
        let (status, _) = app
            .get(&format!("/api/emergencies/{id}/need-help"), Some(&pr))
            .await;
        assert_eq!(status, 403, "PR staff must not see who needs help");
        let viewer = app.token("viewer").await;
        let (status, _) = app
            .get(&format!("/api/emergencies/{id}/need-help"), Some(&viewer))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app.get(&format!("/api/emergencies/{id}"), Some(&pr)).await;
        assert_eq!(status, 200, "progress holds no personal data");

        // A changes their answer: the last one counts, once.
        post_line_events(
            &app,
            vec![line_event(&user_a, "ev-a5", text_message("助けが必要です"))],
        )
        .await;
        let (_, p) = app
            .get(&format!("/api/emergencies/{id}"), Some(&disaster))
            .await;
        assert_eq!(
            (p["safe"].as_i64(), p["need_help"].as_i64()),
            (Some(0), Some(2)),
            "{p}"
        );

        line.assert_no_violations();
        app.hub.abort();
        drop(smtp);
    }
}

/// A whole-city alert is one LINE broadcast (and email to every resident with an address); the web chat shows
/// it with the safety buttons and counts the page's answer; the progress stream speaks SSE; a dry run goes to
/// the test recipients only; a cancellation reaches the same people (again one broadcast), marked 【取消】.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_city_broadcast_web_chat_dry_run_and_cancellation() {
    for backend in BACKENDS {
        let (app, line, smtp) = emergency_world(
            backend,
            &[("HUB_EMERGENCY_TEST_RECIPIENTS", "R00001, R00002")],
        )
        .await;
        let people = people(300, 9);
        import(&app, &people).await;
        let disaster = app.token("disaster").await;
        // On PostgreSQL a second hub shares the database: one of them fans out, both dispatch, nobody twice.
        let second = if backend == Backend::Postgres {
            let line_settings = crate::support::line::settings(&line);
            let smtp_url = smtp.url();
            let mut settings: Vec<(&str, &str)> = line_settings
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect();
            settings.extend([
                ("HUB_SMTP_URL", smtp_url.as_str()),
                ("HUB_MAIL_FROM", MAIL_FROM),
                ("HUB_MAIL_RATE", "2000"),
            ]);
            Some(spawn_hub(&app.database_url, &settings).await)
        } else {
            None
        };
        let mut socket = webchat::open(app.hub.addr).await;
        eventually(
            "the web chat page open",
            Duration::from_secs(5),
            async || app.hub.state.webchat.open_count(),
            |open| *open >= 1,
        )
        .await;

        let (status, created) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"title": "大雨特別警報W1", "body": {"ja": "市内全域に大雨特別警報。", "en": "Heavy rain emergency warning."},
                        "districts": null}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");

        // The open page shows it at once, with the two buttons, and takes the page's answer.
        let banner = next_json(&mut socket).await;
        assert_eq!(banner["type"], "emergency", "{banner}");
        assert_eq!(banner["id"], id);
        assert!(
            banner["title"]
                .as_str()
                .unwrap_or_default()
                .contains("大雨特別警報W1")
        );
        let labels: Vec<&str> = banner["choices"]
            .as_array()
            .expect("choices")
            .iter()
            .filter_map(|c| c["label"].as_str())
            .collect();
        assert_eq!(labels, ["無事です", "助けが必要"]);
        socket
            .send(Message::Text(
                json!({"emergency": id, "answer": "safe"})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("sent");
        let answered = next_json(&mut socket).await;
        assert_eq!(answered["type"], "safety", "{answered}");
        assert_eq!(answered["recorded"], true);
        socket
            .send(Message::Text(
                json!({"emergency": id + 99, "answer": "safe"})
                    .to_string()
                    .into(),
            ))
            .await
            .expect("sent");
        assert_eq!(
            next_json(&mut socket).await["type"],
            "error",
            "only banners shown here"
        );

        // Server-sent events: the same progress.
        let response = app
            .client
            .get(app.url(&format!("/api/emergencies/{id}/events")))
            .bearer_auth(&disaster)
            .send()
            .await
            .expect("events");
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/event-stream")
        );
        let mut response = response;
        let mut text = String::new();
        while !text.contains("\n\n") {
            let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
                .await
                .expect("an event")
                .expect("bytes")
                .expect("open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(text.starts_with("event: progress\n"), "{text}");
        let data = text
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("data");
        let event: Value = serde_json::from_str(data).expect("JSON");
        assert_eq!(event["id"], id);
        drop(response);

        let progress = app.emergency_done(id, Duration::from_secs(60)).await;
        assert_eq!(progress["line_broadcast"], true, "{progress}");
        // The web chat's answer is anonymous: counted apart, never among the verified answers.
        assert_eq!(progress["safe"], 0, "{progress}");
        assert_eq!(progress["unverified"]["safe"], 1, "{progress}");
        assert_eq!(progress["whole_city"], true);
        let with_line = people.iter().filter(|p| p.line.is_some()).count() as i64;
        let with_email = people.iter().filter(|p| p.email.is_some()).count() as i64;
        assert_eq!(progress["counts"]["line"]["sent"], with_line, "{progress}");
        assert_eq!(
            progress["counts"]["email"]["sent"], with_email,
            "{progress}"
        );
        let broadcasts: Vec<_> = line
            .accepted()
            .into_iter()
            .filter(|r| line_text(&r.messages).contains("大雨特別警報W1"))
            .collect();
        assert_eq!(broadcasts.len(), 1, "one request for the whole city");
        assert_eq!(broadcasts[0].path, "/v2/bot/message/broadcast");
        let messages = broadcasts[0].messages.as_array().expect("messages");
        assert_eq!(messages.len(), 2, "Japanese and English");
        quick_reply_data(
            broadcasts[0].messages.as_array().expect("messages"),
            "無事です",
        );
        let mails = smtp.mails();
        assert_eq!(
            mails
                .iter()
                .filter(|m| m.subject.contains("大雨特別警報W1"))
                .count() as i64,
            with_email
        );
        // A LINE friend who is not a registered resident answers the broadcast: counted too.
        post_line_events(
            &app,
            vec![line_event(
                "U0123456789abcdef0123456789abcdef",
                "ev-f1",
                text_message("無事です"),
            )],
        )
        .await;
        reply_containing(&line, "受け付けました").await;
        let (_, p) = app
            .get(&format!("/api/emergencies/{id}"), Some(&disaster))
            .await;
        // It is verified (LINE's signed webhook); the web chat's earlier answer stays apart as unverified.
        assert_eq!(p["safe"], 1, "{p}");
        assert_eq!(p["unverified"]["safe"], 1, "{p}");

        // A dry run: the two test recipients only, marked 【訓練】, no broadcast, no banner.
        let (status, drill) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"title": "訓練D1", "body": {"ja": "これは訓練です。"}, "districts": null, "dry_run": true}),
            )
            .await;
        assert_eq!(status, 201, "{drill}");
        assert_eq!(drill["dry_run"], true);
        let drill_id = drill["id"].as_i64().expect("id");
        app.emergency_done(drill_id, Duration::from_secs(30)).await;
        let testers: Vec<Person> = people
            .iter()
            .filter(|p| ["R00001", "R00002"].contains(&p.external_id.as_str()))
            .cloned()
            .collect();
        let expected: BTreeMap<String, Vec<&'static str>> = testers
            .iter()
            .filter_map(|p| {
                let mut c = Vec::new();
                if p.line.is_some() {
                    c.push("line");
                }
                if p.email.is_some() {
                    c.push("email");
                }
                (!c.is_empty()).then(|| (p.external_id.clone(), c))
            })
            .collect();
        assert_exactly_once(
            &expected,
            &arrivals(&line, &smtp, &people, "訓練D1"),
            "dry run",
        );
        assert!(
            line.accepted()
                .iter()
                .filter(|r| line_text(&r.messages).contains("訓練D1"))
                .all(|r| r.path != "/v2/bot/message/broadcast"
                    && line_text(&r.messages).contains("【訓練】"))
        );
        assert_eq!(line.stats().broadcasts, 1);

        // The cancellation: the same people (a broadcast again), marked 【取消】, and the alert shows cancelled.
        let (status, cancel) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"cancels": id, "title": "大雨特別警報W1", "body": {"ja": "大雨特別警報は解除されました。"}}),
            )
            .await;
        assert_eq!(status, 201, "{cancel}");
        assert_eq!(cancel["kind"], "cancel");
        let cancel_id = cancel["id"].as_i64().expect("id");
        let done = app.emergency_done(cancel_id, Duration::from_secs(60)).await;
        assert_eq!(done["counts"]["line"]["sent"], with_line, "{done}");
        assert_eq!(done["counts"]["email"]["sent"], with_email, "{done}");
        assert_eq!(line.stats().broadcasts, 2);
        let cancelled_broadcast = line
            .accepted()
            .into_iter()
            .rfind(|r| r.path == "/v2/bot/message/broadcast")
            .expect("broadcast");
        assert!(line_text(&cancelled_broadcast.messages).contains("【取消】大雨特別警報W1"));
        let (_, original) = app
            .get(&format!("/api/emergencies/{id}"), Some(&disaster))
            .await;
        assert_eq!(original["cancelled"], true, "{original}");
        let cancel_banner = next_json(&mut socket).await;
        assert_eq!(cancel_banner["id"], cancel_id, "{cancel_banner}");
        assert_eq!(cancel_banner["choices"], json!([]));

        // The list, newest first; roles.
        let (status, list) = app.get("/api/emergencies", Some(&disaster)).await;
        assert_eq!(status, 200, "{list}");
        let ids: Vec<i64> = list
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|e| e["id"].as_i64())
            .collect();
        assert_eq!(ids, [cancel_id, drill_id, id]);
        let pr = app.token("pr").await;
        let (status, _) = app
            .post_json(
                "/api/emergencies",
                Some(&pr),
                &json!({"title": "x", "body": {"ja": "x"}}),
            )
            .await;
        assert_eq!(status, 403, "PR cannot trigger an emergency");
        let (status, error) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"updates": 999_999, "title": "x", "body": {"ja": "x"}}),
            )
            .await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["field"], "references[0]", "{error}");
        let (status, error) = app
            .post_json(
                "/api/emergencies",
                Some(&disaster),
                &json!({"updates": id, "title": "x", "body": {"ja": "x"}, "dry_run": true}),
            )
            .await;
        assert_eq!(status, 400, "a drill cannot update a real alert: {error}");
        // A page opened now is shown what is still open: the cancellation.
        let mut late = webchat::open(app.hub.addr).await;
        let shown = next_json(&mut late).await;
        assert_eq!(shown["id"], cancel_id, "{shown}");

        line.assert_no_violations();
        if let Some(second) = second {
            second.stop().await;
        }
        app.hub.stop().await;
    }
}

// ---------- the real binary, killed ----------

fn cap_document(
    identifier: &str,
    msg_type: &str,
    references: Option<&str>,
    districts: &[&str],
    headline: &str,
) -> String {
    let geocodes: String = districts
        .iter()
        .map(|d| format!("<geocode><valueName>district</valueName><value>{d}</value></geocode>"))
        .collect();
    let references = references
        .map(|r| format!("<references>{r}</references>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>bousai@city.yukuhashi.lg.jp</sender>
  <sent>2026-11-26T03:12:00+09:00</sent>
  <status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{references}
  <info>
    <language>ja-JP</language><category>Met</category><event>避難指示</event>
    <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
    <headline>{headline}</headline>
    <description>今川が氾濫危険水位に達しました。</description>
    <instruction>危険な場所から全員避難してください。</instruction>
    <area><areaDesc>三地区</areaDesc>{geocodes}</area>
  </info>
</alert>"#
    )
}

/// A CAP alert for three districts; the hub process is killed (SIGKILL) a fifth of the way through and started
/// again on the same database, with LINE failing 5% of requests with 500 (half of them after accepting the
/// request) and answering some slowly: every resident is reached exactly once on each channel — LINE counted
/// at the mock (a resent batch carries its stored retry key and gets 409), email by distinct Message-ID. Then a
/// CAP Update reaches exactly the alert's people, also one who has moved away since, and not one who moved in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cap_alert_survives_sigkill_and_its_update_reaches_the_same_people_sqlite() {
    survives_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cap_alert_survives_sigkill_and_its_update_reaches_the_same_people_postgres() {
    survives_sigkill(Backend::Postgres).await;
}

async fn survives_sigkill(backend: Backend) {
    {
        install_crypto();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, dir.path()).await;
        let line = LineMock::start().await.expect("LINE mock");
        let smtp = SmtpServer::start();
        let env: Vec<(String, String)> = [
            ("HUB_DATABASE_URL", database_url.clone()),
            ("HUB_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("HUB_LINE_CHANNEL_TOKEN", line.token()),
            ("HUB_LINE_API_BASE", line.base_url()),
            ("HUB_SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port)),
            (
                "HUB_MAIL_FROM",
                "行橋市 <info@city.yukuhashi.example>".to_owned(),
            ),
            ("HUB_MAIL_RATE", "400".to_owned()),
            ("HUB_DISPATCH_LEASE_SECS", "3".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let log = dir.path().join("hub.log");
        let client = reqwest::Client::new();
        let first = HubProcess::start(&env, &log).await;
        let mut people = people(large_n(), 17);
        let response = client
            .post(format!("{}/api/residents/import", first.base))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(csv_of(&people))
            .send()
            .await
            .expect("import");
        assert_eq!(response.status().as_u16(), 200);

        line.set_faults(Faults {
            p_500: 0.025,
            p_500_after_accept: 0.025,
            p_timeout: 0.2,
            timeout_sleep: Duration::from_millis(1500),
            ..Faults::default()
        });
        let districts = ["行橋", "大橋", "今川"];
        let alert = cap_document("yukuhashi-crash-1", "Alert", None, &districts, "避難指示C1");
        let (status, created) = post_cap(&client, &first.base, ADMIN_TOKEN, &alert).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let expected = expected_in(&people, &districts);
        let total: usize = expected.values().map(Vec::len).sum();

        // A fifth of the way: then SIGKILL.
        eventually(
            "a fifth of the deliveries handled",
            Duration::from_secs(120),
            async || {
                first
                    .get(&format!("/api/emergencies/{id}"), Some(ADMIN_TOKEN))
                    .await
                    .1
            },
            |p| {
                let handled = p["totals"]["sent"].as_u64().unwrap_or(0)
                    + p["totals"]["failed"].as_u64().unwrap_or(0);
                handled * 5 >= total as u64
            },
        )
        .await;
        drop(first); // kill -9
        let at_kill = line.stats();

        let second = HubProcess::start(&env, &log).await;
        let progress = second.emergency_done(id, Duration::from_secs(180)).await;
        assert_eq!(progress["totals"]["failed"], 0, "{progress}");
        let got = arrivals(&line, &smtp, &people, "避難指示C1");
        assert_exactly_once(&expected, &got, "CAP alert across a SIGKILL");
        let per_user = line.deliveries_per_user();
        for person in people
            .iter()
            .filter(|p| expected.contains_key(&p.external_id))
        {
            if let Some(user) = &person.line {
                assert_eq!(
                    per_user.get(user),
                    Some(&1),
                    "{backend:?}: {user} LINE deliveries"
                );
            }
        }
        let copies = smtp
            .mails()
            .iter()
            .filter(|m| m.subject.contains("避難指示C1"))
            .count();
        let distinct = expected.values().filter(|c| c.contains(&"email")).count();
        eprintln!(
            "{backend:?}: killed at {:?}; LINE after: {:?}; emails {copies} stored for {distinct} residents",
            at_kill,
            line.stats()
        );
        assert!(
            copies <= distinct + 64,
            "{copies} emails for {distinct}: more resends than the messages in flight at the kill"
        );

        // The same CAP document again: the same emergency, nothing sent again.
        let (status, again) = post_cap(&client, &second.base, ADMIN_TOKEN, &alert).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            (again["id"].as_i64(), again["duplicate"].as_bool()),
            (Some(id), Some(true))
        );

        // Before the update: one of them moves away, someone new moves in.
        line.set_faults(Faults::none());
        let mover = people
            .iter_mut()
            .find(|p| p.district == "行橋" && p.line.is_some() && p.email.is_some())
            .expect("a mover");
        mover.district = "蓑島";
        let mover = mover.clone();
        let newcomer = Person {
            external_id: "NEW0001".into(),
            birth: chrono::NaiveDate::from_ymd_opt(1980, 5, 5).expect("date"),
            district: "行橋",
            language: "ja",
            interests: vec![],
            line: Some("U0000000000000000000000000000abcd".into()),
            email: Some("newcomer@example.org".into()),
            push: None,
            preferred: vec![],
        };
        for person in [&mover, &newcomer] {
            let response = client
                .post(format!("{}/api/residents", second.base))
                .bearer_auth(ADMIN_TOKEN)
                .json(&json!({
                    "external_id": person.external_id, "birth_date": person.birth.to_string(),
                    "district": person.district, "language": person.language, "interests": [],
                    "channels": {"line": person.line, "email": person.email}}))
                .send()
                .await
                .expect("upsert");
            assert_eq!(response.status().as_u16(), 200);
        }
        people.push(newcomer);
        let update = cap_document(
            "yukuhashi-crash-2",
            "Update",
            Some("bousai@city.yukuhashi.lg.jp,yukuhashi-crash-1,2026-11-26T03:12:00+09:00"),
            &[],
            "避難指示C1-UPDATE",
        )
        .replace("<area><areaDesc>三地区</areaDesc></area>", "");
        let (status, updated) = post_cap(&client, &second.base, ADMIN_TOKEN, &update).await;
        assert_eq!(status, 201, "{updated}");
        let update_id = updated["id"].as_i64().expect("id");
        let done = second
            .emergency_done(update_id, Duration::from_secs(120))
            .await;
        assert_eq!(done["references"], json!([id]), "{done}");
        assert_eq!(done["incident_id"], id);
        assert!(
            done["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("【更新】"),
            "{done}"
        );
        let got = arrivals(&line, &smtp, &people, "避難指示C1-UPDATE");
        assert!(
            got.contains_key(&mover.external_id),
            "the mover still gets the update"
        );
        assert!(
            !got.contains_key("NEW0001"),
            "the newcomer was not reached by the alert"
        );
        assert_exactly_once(&expected, &got, "CAP update");
        line.assert_no_violations();
        drop(second);
        drop(smtp);
    }
}

// ---------- crashes at the right moment ----------

/// Behind the hub's back: a trigger that refuses the emergency delivery rows of residents with an id above
/// `above`, so a fan-out writes its first chunk and then fails on the next one, again and again, with
/// `fanned_out` still false, until [`release_fan_out`].
async fn hold_fan_out(database_url: &str, backend: Backend, above: i64) {
    let statements = match backend {
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER test_hold_fan_out BEFORE INSERT ON deliveries \
             WHEN NEW.source_kind = 'emergency' AND NEW.resident_id > {above} \
             BEGIN SELECT RAISE(ABORT, 'held by the test'); END"
        )],
        Backend::Postgres => vec![
            "CREATE FUNCTION test_hold_fan_out() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'held by the test'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER test_hold_fan_out BEFORE INSERT ON deliveries FOR EACH ROW \
                 WHEN (NEW.source_kind = 'emergency' AND NEW.resident_id > {above}) \
                 EXECUTE FUNCTION test_hold_fan_out()"
            ),
        ],
    };
    for statement in statements {
        execute(database_url, &statement, &[]).await;
    }
}

async fn release_fan_out(database_url: &str, backend: Backend) {
    let statement = match backend {
        Backend::Sqlite => "DROP TRIGGER test_hold_fan_out",
        Backend::Postgres => "DROP TRIGGER test_hold_fan_out ON deliveries",
    };
    execute(database_url, statement, &[]).await;
}

/// `hub serve` with LINE and SMTP on `database_url` (a 3 s dispatch lease, so a killed process's claims run out
/// soon).
fn crash_env(database_url: &str, line: &LineMock, smtp: &SmtpServer) -> Vec<(String, String)> {
    crate::support::process::settings(
        database_url,
        &[
            ("HUB_LINE_CHANNEL_TOKEN", line.token()),
            ("HUB_LINE_API_BASE", line.base_url()),
            ("HUB_SMTP_URL", smtp.url()),
            ("HUB_MAIL_FROM", MAIL_FROM.to_owned()),
            ("HUB_MAIL_RATE", "2000".to_owned()),
            ("HUB_DISPATCH_LEASE_SECS", "3".to_owned()),
        ],
    )
}

/// The fan-out itself is interrupted: `hub serve` is killed (SIGKILL) after the first chunk of rows was written
/// and is being sent, while the rest cannot be written yet (a trigger holds them) — `fanned_out` is false at the
/// kill, as read from the database afterwards. The process started again finishes the fan-out (the emergency
/// worker's recovery) and every resident of the area is reached exactly once on each channel: the rows sent
/// before the kill are not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fan_out_killed_half_way_is_finished_by_the_next_start_sqlite() {
    killed_during_fan_out(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fan_out_killed_half_way_is_finished_by_the_next_start_postgres() {
    killed_during_fan_out(Backend::Postgres).await;
}

async fn killed_during_fan_out(backend: Backend) {
    install_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_database(backend, dir.path()).await;
    let line = LineMock::start().await.expect("LINE mock");
    let smtp = SmtpServer::start();
    let env = crash_env(&database_url, &line, &smtp);
    let log = dir.path().join("hub.log");
    let first = HubProcess::start(&env, &log).await;
    let people = people(3000, 29);
    import(&first, &people).await;
    let districts = ["行橋", "大橋", "今川"];
    // The fan-out's first chunk is the area's first 200 residents (by id): rows after them are held.
    let first_chunk_end = count(
        &*database_url,
        "SELECT id FROM residents WHERE district IN ('行橋', '大橋', '今川') ORDER BY id LIMIT 1 OFFSET 199",
    )
    .await;
    hold_fan_out(&database_url, backend, first_chunk_end).await;

    let (status, created) = first
        .post_json(
            "/api/emergencies",
            Some(ADMIN_TOKEN),
            &json!({"title": "避難指示K1", "body": {"ja": "三地区に避難指示。"}, "districts": districts}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    let path = format!("/api/emergencies/{id}");
    let at_kill = eventually(
        "the first chunk being sent while the fan-out is unfinished",
        Duration::from_secs(60),
        async || first.get(&path, Some(ADMIN_TOKEN)).await.1,
        |p| p["totals"]["sent"].as_i64().unwrap_or(0) > 0,
    )
    .await;
    first.kill();
    assert_eq!(at_kill["fanned_out"], false, "{at_kill}");
    let rows_at_kill = count_with(
        &*database_url,
        "SELECT COUNT(*) FROM deliveries WHERE source_kind = 'emergency' AND source_id = $1",
        &[id.into()],
    )
    .await;
    let unfinished = count_with(
        &*database_url,
        "SELECT COUNT(*) FROM emergencies WHERE id = $1 AND fanned_out_at_ms IS NULL",
        &[id.into()],
    )
    .await;
    assert_eq!(
        unfinished, 1,
        "{backend:?}: killed with the fan-out unfinished"
    );
    let expected = expected_in(&people, &districts);
    let all_rows: usize = expected.values().map(Vec::len).sum();
    assert!(
        rows_at_kill > 0 && (rows_at_kill as usize) < all_rows,
        "{backend:?}: {rows_at_kill} of {all_rows} rows written at the kill"
    );

    release_fan_out(&database_url, backend).await;
    let second = HubProcess::start(&env, &log).await;
    let done = second.emergency_done(id, Duration::from_secs(120)).await;
    assert_eq!(done["fanned_out"], true, "{done}");
    assert_eq!(done["totals"]["failed"], 0, "{done}");
    let got = arrivals(&line, &smtp, &people, "避難指示K1");
    assert_exactly_once(&expected, &got, "an emergency whose fan-out was killed");
    for (user, n) in line.deliveries_per_user() {
        assert_eq!(n, 1, "{backend:?}: {user} got the LINE message {n} times");
    }
    let copies = smtp
        .mails()
        .iter()
        .filter(|m| m.subject.contains("避難指示K1"))
        .count();
    let addresses = expected.values().filter(|c| c.contains(&"email")).count();
    eprintln!(
        "{backend:?}: {rows_at_kill} of {all_rows} rows at the kill; LINE {:?}; {copies} emails for {addresses}",
        line.stats()
    );
    line.assert_no_violations();
    second.kill();
}

/// A whole-city emergency goes to LINE as one broadcast. `hub serve` is killed (SIGKILL) while LINE holds the
/// broadcast it accepted; the process started again sends the broadcast once more with the same
/// `X-Line-Retry-Key`, LINE answers 409 (already accepted), and the broadcast's rows count as sent: the city's
/// LINE friends got it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_city_line_broadcast_cut_off_by_a_crash_is_resent_once_with_its_retry_key() {
    for backend in BACKENDS {
        install_crypto();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, dir.path()).await;
        let line = LineMock::start().await.expect("LINE mock");
        let smtp = SmtpServer::start();
        let env = crash_env(&database_url, &line, &smtp);
        let log = dir.path().join("hub.log");
        let first = HubProcess::start(&env, &log).await;
        let people = people(300, 31);
        import(&first, &people).await;
        line.set_faults(Faults {
            p_timeout: 1.0,
            timeout_sleep: Duration::from_secs(60),
            ..Faults::default()
        });
        let (status, created) = first
            .post_json(
                "/api/emergencies",
                Some(ADMIN_TOKEN),
                &json!({"title": "大雨特別警報B1", "body": {"ja": "市内全域に大雨特別警報。"}, "districts": null}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let broadcasts = || {
            line.accepted()
                .into_iter()
                .filter(|r| r.path == "/v2/bot/message/broadcast")
                .collect::<Vec<_>>()
        };
        let held = eventually(
            "the broadcast accepted by LINE (and held)",
            Duration::from_secs(30),
            async || broadcasts(),
            |accepted| !accepted.is_empty(),
        )
        .await;
        first.kill();
        assert_eq!(line.stats().conflicts, 0, "nothing resent before the crash");
        let key = held[0].retry_key.clone().expect("a retry key");
        let unanswered = count_with(
            &*database_url,
            "SELECT COUNT(*) FROM delivery_batches WHERE retry_key = $1 AND status <> 'done'",
            &[key.as_str().into()],
        )
        .await;
        assert_eq!(
            unanswered, 1,
            "{backend:?}: the broadcast's answer was never recorded"
        );

        line.set_faults(Faults::none());
        let second = HubProcess::start(&env, &log).await;
        let done = second.emergency_done(id, Duration::from_secs(60)).await;
        let on_line = people.iter().filter(|p| p.line.is_some()).count() as i64;
        assert_eq!(
            done["counts"]["line"]["sent"].as_i64(),
            Some(on_line),
            "{done}"
        );
        assert_eq!(done["totals"]["failed"], 0, "{done}");
        let stats = line.stats();
        assert_eq!(
            broadcasts().len(),
            1,
            "{backend:?}: one broadcast accepted: {stats:?}"
        );
        assert_eq!(
            stats.conflicts, 1,
            "{backend:?}: the resend carried the same retry key and was answered 409: {stats:?}"
        );
        assert_eq!(
            stats.user_deliveries, 0,
            "no per-user LINE message besides the broadcast"
        );
        line.assert_no_violations();
        second.kill();
    }
}

// ---------- promises kept through the API ----------

/// An emergency over Web Push, against the push stand-in (which checks VAPID and the RFC 8030 headers and
/// decrypts every message): each subscribed resident of the area gets one push, with `Urgency: high`, nobody
/// outside it; a notice to the same people goes with a lower urgency.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emergency_reaches_web_push_subscribers_once_with_high_urgency() {
    for backend in BACKENDS {
        let world = World::builder(backend).push_residents(22).start().await;
        let app = &world.app;
        let districts = ["行橋", "行事", "大橋"];
        let (status, created) = app
            .post_json(
                "/api/emergencies",
                Some(ADMIN_TOKEN),
                &json!({"title": "土砂災害警戒P1", "body": {"ja": "土砂災害に警戒してください。", "en": "Beware of landslides."},
                        "districts": districts}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let done = app.emergency_done(id, Duration::from_secs(60)).await;
        let mut want: Vec<String> = world
            .people
            .iter()
            .filter(|p| districts.contains(&p.district))
            .filter_map(|p| p.push.as_ref()?["endpoint"].as_str().map(str::to_owned))
            .collect();
        want.sort();
        assert!(want.len() >= 6, "{want:?}");
        assert_eq!(
            done["counts"]["push"]["sent"].as_i64(),
            Some(want.len() as i64),
            "{done}"
        );
        let pushes: Vec<_> = world
            .push()
            .received()
            .into_iter()
            .filter(|p| p.payload_str().contains("土砂災害警戒P1"))
            .collect();
        let mut reached: Vec<String> = pushes.iter().map(|p| p.endpoint.clone()).collect();
        reached.sort();
        assert_eq!(
            reached, want,
            "{backend:?}: each subscriber in the area once"
        );
        for push in &pushes {
            assert_eq!(push.urgency.as_deref(), Some("high"), "{push:?}");
            let payload: Value = serde_json::from_str(push.payload_str()).expect("a JSON payload");
            assert!(
                payload["title"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("土砂災害警戒P1"),
                "{payload}"
            );
        }

        // A notice to them is not urgent.
        let notice = app
            .create_notice(
                &json!({"title": "通常P1", "body": {"ja": "お知らせです。"}, "segment": "",
                                   "channels": ["push"], "ignore_quiet_hours": true}),
            )
            .await;
        app.notice_done(notice, Duration::from_secs(60)).await;
        let notices: Vec<_> = world
            .push()
            .received()
            .into_iter()
            .filter(|p| p.payload_str().contains("通常P1"))
            .collect();
        assert!(!notices.is_empty());
        assert!(
            notices.iter().all(|p| p.urgency.as_deref() != Some("high")),
            "{notices:?}"
        );
        world.push().assert_no_violations();
        world.app.hub.stop().await;
    }
}

/// Arrivals of a message whose marker differs by language (the standard texts of a cancellation).
fn arrivals_of_any(
    line: &LineMock,
    smtp: &SmtpServer,
    people: &[Person],
    markers: &[&str],
) -> BTreeMap<String, Vec<&'static str>> {
    let mut all: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for marker in markers {
        for (resident, channels) in arrivals(line, smtp, people, marker) {
            all.entry(resident).or_default().extend(channels);
        }
    }
    all
}

/// Through the API: a CAP alert for 今元; an update in JSON that adds 泉 reaches the alert's people and those of
/// 泉, each once on each channel; then a CAP Cancel with no `<info>` (CAP allows it: the hub sends its standard
/// text) reaches the alert's people once and marks the incident cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_json_update_adds_an_area_and_a_cap_cancel_without_info_reaches_the_alerts_people() {
    for backend in BACKENDS {
        let (app, line, smtp) = emergency_world(backend, &[]).await;
        let people = people(400, 37);
        import(&app, &people).await;
        let alert = cap_document("yukuhashi-area-1", "Alert", None, &["今元"], "避難指示A1");
        let (status, created) = post_cap(&app.client, &app.base, ADMIN_TOKEN, &alert).await;
        assert_eq!(status, 201, "{created}");
        let alert_id = created["id"].as_i64().expect("id");
        app.emergency_done(alert_id, Duration::from_secs(60)).await;
        let in_imamoto = expected_in(&people, &["今元"]);
        assert!(!in_imamoto.is_empty());
        assert_exactly_once(
            &in_imamoto,
            &arrivals(&line, &smtp, &people, "避難指示A1"),
            "the alert",
        );

        let (status, update) = app
            .post_json(
                "/api/emergencies",
                Some(ADMIN_TOKEN),
                &json!({"updates": alert_id, "title": "範囲拡大U1", "body": {"ja": "泉地区にも避難指示を出しました。"},
                        "districts": ["泉"]}),
            )
            .await;
        assert_eq!(status, 201, "{update}");
        let update_id = update["id"].as_i64().expect("id");
        let done = app.emergency_done(update_id, Duration::from_secs(60)).await;
        assert_eq!(done["references"], json!([alert_id]), "{done}");
        assert_exactly_once(
            &expected_in(&people, &["今元", "泉"]),
            &arrivals(&line, &smtp, &people, "範囲拡大U1"),
            "the update with an added area",
        );

        let cancel = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>yukuhashi-area-1-cancel</identifier>
  <sender>bousai@city.yukuhashi.lg.jp</sender>
  <sent>2026-11-26T05:00:00+09:00</sent>
  <status>Actual</status><msgType>Cancel</msgType><scope>Public</scope>
  <references>bousai@city.yukuhashi.lg.jp,yukuhashi-area-1,2026-11-26T03:12:00+09:00</references>
</alert>"#;
        let (status, cancelled) = post_cap(&app.client, &app.base, ADMIN_TOKEN, cancel).await;
        assert_eq!(status, 201, "{cancelled}");
        let cancel_id = cancelled["id"].as_i64().expect("id");
        let done = app.emergency_done(cancel_id, Duration::from_secs(60)).await;
        assert_eq!(done["kind"], "cancel", "{done}");
        assert_eq!(done["references"], json!([alert_id]), "{done}");
        assert!(
            done["title"]
                .as_str()
                .unwrap_or_default()
                .starts_with("【取消】"),
            "{done}"
        );
        let (_, alert_now) = app
            .get(&format!("/api/emergencies/{alert_id}"), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(alert_now["cancelled"], true, "{alert_now}");
        assert_exactly_once(
            &in_imamoto,
            &arrivals_of_any(
                &line,
                &smtp,
                &people,
                &["緊急情報の取り消し", "Emergency alert cancelled"],
            ),
            "the CAP Cancel without info",
        );
        line.assert_no_violations();
        app.hub.stop().await;
    }
}
