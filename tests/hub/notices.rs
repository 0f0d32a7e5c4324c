//! Notices end to end: residents imported over the API, segment previews checked against an independent
//! computation, notices delivered through the spec-validating LINE mock, a real SMTP server (aiosmtpd) and the
//! Web Push stand-in — exactly the right residents, on the right channel, in the right language, once each.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use channels::testing::{Faults, LineMock};
use chrono::Utc;
use serde_json::{Value, json};

use crate::support::db::{count, count_with};
use crate::support::people::{Person, assert_same_residents, import, people, today_in_tokyo};
use crate::support::process::{self, HubProcess};
use crate::support::world::World;
use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, PUBLIC_URL, eventually, fresh_database, install_crypto,
    public_path, spawn_app_with,
};

/// The world of these tests: `residents` people (seed 7) and 40 with Web Push.
async fn world(backend: Backend, residents: usize) -> World {
    World::builder(backend)
        .residents(residents, 7)
        .push_residents(40)
        .start()
        .await
}

/// What a notice should do: resident → (channel, language).
fn expected(
    people: &[Person],
    matches: impl Fn(&Person) -> bool,
    channels: &[&str],
    languages: &[&str],
) -> BTreeMap<String, (&'static str, String)> {
    people
        .iter()
        .filter(|p| matches(p))
        .filter_map(|p| {
            let channel = p.channel_for(channels)?;
            let language = if languages.contains(&p.language) {
                p.language.to_owned()
            } else {
                "ja".to_owned()
            };
            Some((p.external_id.clone(), (channel, language)))
        })
        .collect()
}

/// What actually arrived for the notice titled `title`: resident → (channel, language) and how many times.
fn arrived(world: &World, title: &str) -> BTreeMap<String, Vec<(&'static str, String)>> {
    let by_line: HashMap<&str, &Person> = world
        .people
        .iter()
        .filter_map(|p| p.line.as_deref().map(|l| (l, p)))
        .collect();
    let by_email: HashMap<&str, &Person> = world
        .people
        .iter()
        .filter_map(|p| p.email.as_deref().map(|e| (e, p)))
        .collect();
    let by_push: HashMap<String, &Person> = world
        .people
        .iter()
        .filter_map(|p| {
            p.push
                .as_ref()
                .and_then(|s| s["endpoint"].as_str())
                .map(|e| (e.to_owned(), p))
        })
        .collect();
    let mut got: BTreeMap<String, Vec<(&'static str, String)>> = BTreeMap::new();
    for request in world.line.accepted() {
        let text = request.messages[0]["text"].as_str().unwrap_or_default();
        if !text.contains(title) {
            continue;
        }
        let language = language_marker(text);
        for user in &request.to {
            let person = by_line.get(user.as_str()).expect("a known LINE user");
            got.entry(person.external_id.clone())
                .or_default()
                .push(("line", language.clone()));
        }
    }
    for mail in world.smtp.mails() {
        if !mail.subject.contains(title) {
            continue;
        }
        let person = by_email
            .get(mail.to.trim_matches(['<', '>']))
            .unwrap_or_else(|| panic!("an email to an unknown address {}", mail.to));
        got.entry(person.external_id.clone())
            .or_default()
            .push(("email", language_marker(&mail.subject)));
    }
    for push in world.push().received() {
        let payload: Value = serde_json::from_str(push.payload_str()).expect("JSON payload");
        let push_title = payload["title"].as_str().unwrap_or_default();
        if !push_title.contains(title) {
            continue;
        }
        let person = by_push.get(&push.endpoint).expect("a known subscription");
        got.entry(person.external_id.clone())
            .or_default()
            .push(("push", language_marker(push_title)));
    }
    got
}

/// The templates of the test notices put `[lang]` in every channel's visible text.
fn language_marker(text: &str) -> String {
    text.split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(lang, _)| lang.to_owned())
        .unwrap_or_default()
}

fn notice_body(title: &str, segment: &str, channels: &[&str], send_at: Option<String>) -> Value {
    json!({
        "title": title,
        "body": {"ja": "土曜日に防災訓練があります。", "en": "There is a drill on Saturday.", "zh": "星期六有防灾演练。"},
        "segment": segment,
        "channels": channels,
        "send_at": send_at,
        "cron": null,
        "ignore_quiet_hours": true,
        "templates": {
            "line": {"text": "[{{language}}] {{title}}\n{{body}}"},
            "email": {"subject": "[{{language}}] {{title}}", "text": "{{body}}", "html": "<p>{{body}}</p>"},
            "push": {"title": "[{{language}}] {{title}}", "body": "{{body}}"}
        }
    })
}

fn assert_exactly(
    expected: &BTreeMap<String, (&'static str, String)>,
    arrived: &BTreeMap<String, Vec<(&'static str, String)>>,
    what: &str,
) {
    assert_same_residents(expected, arrived, what, "the segment");
    for (resident, got) in arrived {
        let want = &expected[resident];
        assert_eq!(
            got.len(),
            1,
            "{what}: {resident} got {} messages: {got:?}",
            got.len()
        );
        assert_eq!(
            (got[0].0, got[0].1.as_str()),
            (want.0, want.1.as_str()),
            "{what}: {resident} channel/language"
        );
    }
}

// ---------- the tests ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn segment_preview_counts_match_an_independent_computation() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        let people = people(2500, 11);
        import(&app, &people).await;
        let pr = app.token("pr").await;
        let today = today_in_tokyo();
        type Expected<'a> = Box<dyn Fn(&Person) -> bool + 'a>;
        let rules: Vec<(&str, Expected)> = vec![
            (
                r#"age >= 65 and district in ["今元", "仲津"] and interests has "防災""#,
                Box::new(|p: &Person| {
                    p.age_on(today) >= 65
                        && ["今元", "仲津"].contains(&p.district)
                        && p.interests.contains(&"防災")
                }),
            ),
            (
                r#"language != "ja" or channels has "email""#,
                Box::new(|p: &Person| p.language != "ja" || p.email.is_some()),
            ),
            (
                r#"not (age >= 18 and age < 65) and channels has "line""#,
                Box::new(|p: &Person| {
                    let age = p.age_on(today);
                    !(18..65).contains(&age) && p.line.is_some()
                }),
            ),
            ("", Box::new(|_: &Person| true)),
        ];
        for (rule, matches) in &rules {
            let (status, preview) = app
                .post_json("/api/segments/preview", Some(&pr), &json!({"rule": rule}))
                .await;
            assert_eq!(status, 200, "{rule}: {preview}");
            let want = people.iter().filter(|p| matches(p)).count() as u64;
            assert_eq!(
                preview["count"].as_u64(),
                Some(want),
                "{:?} {rule}: {preview}",
                app.backend
            );
            let by_district: u64 = preview["summary"]["by_district"]
                .as_object()
                .expect("districts")
                .values()
                .filter_map(Value::as_u64)
                .sum();
            assert_eq!(by_district, want, "district counts add up");
            assert!(
                !preview.to_string().contains("R0"),
                "no personal data in a preview"
            );
        }
        // A broken rule: 400 with the column.
        let (status, error) = app
            .post_json(
                "/api/segments/preview",
                Some(&pr),
                &json!({"rule": "age >= and district = \"泉\""}),
            )
            .await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["column"], 8, "{error}");
        assert_eq!(error["field"], "rule");
        assert!(
            error["error"]
                .as_str()
                .unwrap_or_default()
                .starts_with("column 8:"),
            "{error}"
        );
        let (status, error) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("x", "district = \"今本\"", &["line"], None),
            )
            .await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["field"], "segment");
        assert_eq!(error["column"], 12, "{error}");
        // Roles: a viewer previews but cannot create notices; no token is 401.
        let viewer = app.token("viewer").await;
        let (status, _) = app
            .post_json(
                "/api/segments/preview",
                Some(&viewer),
                &json!({"rule": "age > 30"}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = app
            .post_json(
                "/api/notices",
                Some(&viewer),
                &notice_body("x", "", &["line"], None),
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = app
            .post_json("/api/notices", None, &notice_body("x", "", &["line"], None))
            .await;
        assert_eq!(status, 401);
        app.hub.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notices_now_and_scheduled_reach_exactly_their_residents_once() {
    for backend in BACKENDS {
        let world = world(backend, 3000).await;
        let app = &world.app;
        let pr = app.token("pr").await;
        let today = today_in_tokyo();

        // Now: everyone 65+ or following 防災, on every channel.
        let channels = ["line", "email", "push"];
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body(
                    "Drill-now",
                    r#"age >= 65 or interests has "防災""#,
                    &channels,
                    None,
                ),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let now_id = created["id"].as_i64().expect("id");

        // Scheduled 4 s ahead: 仲津 and 今元 residents, LINE and email only.
        let send_at = Utc::now() + chrono::Duration::seconds(4);
        let scheduled_channels = ["line", "email"];
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body(
                    "Drill-later",
                    r#"district in ["仲津", "今元"]"#,
                    &scheduled_channels,
                    Some(send_at.to_rfc3339()),
                ),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let later_id = created["id"].as_i64().expect("id");
        let (_, early) = app
            .get(&format!("/api/notices/{later_id}"), Some(&pr))
            .await;
        // Unless this machine was so loaded that its time has come already, it waits.
        assert!(
            early["status"] == "scheduled" || Utc::now() >= send_at,
            "{early}"
        );

        let done_now = app.notice_done(now_id, Duration::from_secs(90)).await;
        let done_later = app.notice_done(later_id, Duration::from_secs(90)).await;

        let languages = ["ja", "en", "zh"];
        let want_now = expected(
            &world.people,
            |p| p.age_on(today) >= 65 || p.interests.contains(&"防災"),
            &channels,
            &languages,
        );
        let got_now = arrived(&world, "Drill-now");
        assert_exactly(&want_now, &got_now, &format!("{backend:?} now"));
        let want_later = expected(
            &world.people,
            |p| ["仲津", "今元"].contains(&p.district),
            &scheduled_channels,
            &languages,
        );
        let got_later = arrived(&world, "Drill-later");
        assert_exactly(&want_later, &got_later, &format!("{backend:?} scheduled"));
        // Every channel was used, and the counts say the same as the providers.
        for channel in channels {
            let n = want_now.values().filter(|(c, _)| *c == channel).count() as i64;
            assert!(n > 0, "the test population reaches {channel}");
            assert_eq!(
                done_now["counts"][channel]["sent"].as_i64(),
                Some(n),
                "{done_now}"
            );
            assert_eq!(done_now["counts"][channel]["targeted"].as_i64(), Some(n));
        }
        assert_eq!(done_now["totals"]["failed"], 0);
        assert_eq!(
            done_later["totals"]["sent"].as_i64(),
            Some(want_later.len() as i64)
        );

        // The scheduled notice: not before its time on any channel.
        let not_before = send_at - chrono::Duration::milliseconds(5);
        for request in world.line.accepted() {
            if request.messages[0]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("Drill-later")
            {
                assert!(
                    request.at >= not_before,
                    "LINE got it at {} before {send_at}",
                    request.at
                );
            }
        }
        let not_before_system: std::time::SystemTime = not_before.into();
        let mails = world.smtp.mails();
        for mail in mails.iter().filter(|m| m.subject.contains("Drill-later")) {
            assert!(
                mail.written >= not_before_system,
                "an email before its time"
            );
        }
        // Email: a Message-ID per delivery, and a one-click unsubscribe link.
        let ids: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
        assert_eq!(ids.len(), mails.len(), "Message-IDs are unique");
        assert!(mails.iter().all(|m| {
            m.list_unsubscribe
                .as_deref()
                .is_some_and(|l| l.contains("/unsubscribe/"))
        }));
        world.line.assert_no_violations();
        world.push().assert_no_violations();

        // Nothing more can come: both notices fired once, nothing pending, no further firing scheduled; what
        // arrived is still exactly what should have.
        for id in [now_id, later_id] {
            let (_, view) = app.get(&format!("/api/notices/{id}"), Some(&pr)).await;
            assert_eq!(
                (
                    &view["fire_count"],
                    &view["totals"]["pending"],
                    &view["next_fire_at"]
                ),
                (&json!(1), &json!(0), &Value::Null),
                "{view}"
            );
        }
        assert_exactly(&want_now, &arrived(&world, "Drill-now"), "later look");
        assert_exactly(&want_later, &arrived(&world, "Drill-later"), "later look");
        world.app.hub.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn line_failing_five_percent_still_delivers_each_once() {
    for backend in BACKENDS {
        let world = world(backend, 2500).await;
        world.line.set_faults(Faults {
            p_500: 0.03,
            p_500_after_accept: 0.02,
            seed: 5,
            ..Faults::default()
        });
        let app = &world.app;
        let pr = app.token("pr").await;
        // Small batches make many requests: everyone with LINE, one language each → several multicasts.
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("Flaky", "", &["line"], None),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let done = app.notice_done(id, Duration::from_secs(120)).await;
        let want = expected(&world.people, |_| true, &["line"], &["ja", "en", "zh"]);
        assert_exactly(
            &want,
            &arrived(&world, "Flaky"),
            &format!("{backend:?} flaky LINE"),
        );
        let stats = world.line.stats();
        assert!(stats.injected_500 > 0, "faults were injected: {stats:?}");
        assert_eq!(
            done["counts"]["line"]["sent"].as_i64(),
            Some(want.len() as i64),
            "{done}"
        );
        world.line.assert_no_violations();
        world.app.hub.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hubs_on_one_postgres_deliver_a_notice_once() {
    let world = world(Backend::Postgres, 2000).await;
    let app = &world.app;
    // A second hub on the same database, same providers.
    let second = world.another_hub().await;
    let pr = app.token("pr").await;
    // Several notices at once, due in a second, so both schedulers race for them.
    let send_at = (Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let mut ids = Vec::new();
    for i in 0..4 {
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body(
                    &format!("Twin-{i}"),
                    "",
                    &["line", "email", "push"],
                    Some(send_at.clone()),
                ),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_i64().expect("id"));
    }
    let want = expected(
        &world.people,
        |_| true,
        &["line", "email", "push"],
        &["ja", "en", "zh"],
    );
    for (i, id) in ids.iter().enumerate() {
        let done = app.notice_done(*id, Duration::from_secs(120)).await;
        assert_eq!(done["fire_count"], 1, "fired once: {done}");
        assert_exactly(&want, &arrived(&world, &format!("Twin-{i}")), "two hubs");
    }
    world.line.assert_no_violations();
    second.stop().await;
    world.app.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn templates_previews_edits_cancels_quiet_hours_and_unsubscribe() {
    for backend in BACKENDS {
        // Links in messages are checked against the public URL (not the address the hub listens on).
        let world = World::builder(backend)
            .residents(300, 7)
            .push_residents(40)
            .setting("HUB_PUBLIC_URL", PUBLIC_URL)
            .start()
            .await;
        let app = &world.app;
        let pr = app.token("pr").await;
        // A template that does not render is refused when the notice is saved.
        let mut broken = notice_body("Broken", "", &["email"], None);
        broken["templates"]["email"]["text"] = json!("{{#if body}}never closed");
        let (status, error) = app.post_json("/api/notices", Some(&pr), &broken).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["field"], "templates.email.text", "{error}");
        let mut unknown = notice_body("Unknown", "", &["line"], None);
        unknown["templates"]["line"]["text"] = json!("{{greeting}} {{title}}");
        let (status, error) = app.post_json("/api/notices", Some(&pr), &unknown).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["field"], "templates.line.text");

        // Scheduled far ahead: preview, edit, cancel.
        let later = (Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let mut body = notice_body(
            "<b>Edit & me</b>",
            "",
            &["email", "line"],
            Some(later.clone()),
        );
        body["templates"] = json!(null);
        let (status, created) = app.post_json("/api/notices", Some(&pr), &body).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let emailer = world
            .people
            .iter()
            .find(|p| p.email.is_some() && p.language == "en")
            .expect("an English reader with email");
        let (status, preview) = app
            .get(
                &format!(
                    "/api/notices/{id}/preview?resident={}&channel=email",
                    emailer.external_id
                ),
                Some(&pr),
            )
            .await;
        assert_eq!(status, 200, "{preview}");
        assert_eq!(preview["language"], "en");
        assert_eq!(
            preview["rendered"]["subject"],
            "【Yukuhashi City】<b>Edit & me</b>"
        );
        let html = preview["rendered"]["html"].as_str().expect("html");
        assert!(
            html.contains("&lt;b&gt;Edit &amp; me&lt;/b&gt;"),
            "escaped: {html}"
        );
        assert!(
            preview["rendered"]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("drill on Saturday")
        );

        body["title"] = json!("Edited");
        body["ignore_quiet_hours"] = json!(false);
        let (status, edited) = app
            .put_json(&format!("/api/notices/{id}"), &pr, &body)
            .await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["title"], "Edited");
        let (status, cancelled) = app
            .post_json(&format!("/api/notices/{id}/cancel"), Some(&pr), &json!({}))
            .await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(cancelled["status"], "cancelled");
        let (status, _) = app
            .put_json(&format!("/api/notices/{id}"), &pr, &body)
            .await;
        assert_eq!(status, 409, "a cancelled notice cannot be edited");

        // Quiet hours are each resident's (registration): the notice fires at 22:30 JST and each delivery
        // waits for the end of its resident's quiet hours (tests/hub/registration.rs follows one through).
        let tomorrow = today_in_tokyo() + chrono::Duration::days(1);
        let mut quiet = notice_body(
            "Quiet",
            "",
            &["line"],
            Some(format!("{tomorrow}T22:30:00+09:00")),
        );
        quiet["ignore_quiet_hours"] = json!(false);
        let (status, created) = app.post_json("/api/notices", Some(&pr), &quiet).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            created["next_fire_at"],
            format!("{tomorrow}T22:30:00+09:00"),
            "{created}"
        );

        // Send one now to email readers, then unsubscribe with the link from the email.
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("Unsub", "", &["email"], None),
            )
            .await;
        assert_eq!(status, 201);
        app.notice_done(created["id"].as_i64().expect("id"), Duration::from_secs(60))
            .await;
        let mails = world.smtp.mails();
        let mail = mails
            .iter()
            .find(|m| {
                m.subject.contains("Unsub")
                    && m.to.contains(emailer.email.as_deref().unwrap_or("-"))
            })
            .expect("the English reader's email");
        let link = mail
            .list_unsubscribe
            .as_deref()
            .expect("List-Unsubscribe")
            .trim_matches(['<', '>'])
            .to_owned();
        let path = public_path(&link);
        assert!(path.starts_with("/unsubscribe/"), "{link}");
        let page = app.client.get(app.url(&path)).send().await.expect("page");
        assert_eq!(page.status().as_u16(), 200);
        let forged = app
            .client
            .post(app.url(&format!("{path}0")))
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("post");
        assert_eq!(forged.status().as_u16(), 404, "a forged token does nothing");
        let (_, resident) = app
            .get(
                &format!("/api/residents/{}", emailer.external_id),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(
            resident["inactive_channels"],
            json!([]),
            "GET does not unsubscribe"
        );
        let one_click = app
            .client
            .post(app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("post");
        assert_eq!(one_click.status().as_u16(), 200);
        let (_, resident) = app
            .get(
                &format!("/api/residents/{}", emailer.external_id),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(
            resident["inactive_channels"],
            json!(["email"]),
            "{resident}"
        );
        // The next notice to email readers leaves the address out; an emergency still reaches it (opt-outs do
        // not apply to emergencies), without an unsubscribe link.
        let address = emailer.email.as_deref().expect("an address");
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("AfterUnsub", "", &["email"], None),
            )
            .await;
        assert_eq!(status, 201);
        let after = created["id"].as_i64().expect("id");
        let done = app.notice_done(after, Duration::from_secs(60)).await;
        assert!(done["counts"]["email"]["sent"].as_i64() > Some(0), "{done}");
        assert_eq!(
            count_with(
                app,
                "SELECT COUNT(*) FROM deliveries WHERE source_kind = 'notice' AND source_id = $1 AND address = $2",
                &[after.into(), address.into()],
            )
            .await,
            0,
            "the unsubscribed address is not targeted by the next notice"
        );
        let (status, emergency) = app
            .post_json(
                "/api/emergencies",
                Some(ADMIN_TOKEN),
                &json!({"title": "退会後の緊急", "body": {"ja": "避難してください。", "en": "Evacuate now."},
                        "districts": [emailer.district]}),
            )
            .await;
        assert_eq!(status, 201, "{emergency}");
        app.emergency_done(
            emergency["id"].as_i64().expect("id"),
            Duration::from_secs(60),
        )
        .await;
        let to_address: Vec<_> = world
            .smtp
            .mails()
            .into_iter()
            .filter(|m| m.to.contains(address))
            .collect();
        assert!(
            !to_address.iter().any(|m| m.subject.contains("AfterUnsub")),
            "{to_address:?}"
        );
        let emergencies: Vec<_> = to_address
            .iter()
            .filter(|m| m.subject.contains("退会後の緊急"))
            .collect();
        assert_eq!(
            emergencies.len(),
            1,
            "the emergency reaches it once: {to_address:?}"
        );
        assert!(
            emergencies[0].list_unsubscribe.is_none(),
            "{:?}",
            emergencies[0]
        );

        // A push subscription the service calls gone is marked inactive.
        let gone = world
            .people
            .iter()
            .find(|p| p.push.is_some())
            .expect("a push reader");
        let endpoint = gone
            .push
            .as_ref()
            .and_then(|s| s["endpoint"].as_str())
            .expect("endpoint");
        world.push().set_gone(endpoint);
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("Gone", "", &["push"], None),
            )
            .await;
        assert_eq!(status, 201);
        let done = app
            .notice_done(created["id"].as_i64().expect("id"), Duration::from_secs(60))
            .await;
        assert_eq!(done["counts"]["push"]["failed"], 1, "{done}");
        let (_, resident) = app
            .get(
                &format!("/api/residents/{}", gone.external_id),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(resident["inactive_channels"], json!(["push"]), "{resident}");
        world.app.hub.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_credentials_deliveries_are_recorded() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        let people = people(200, 3);
        import(&app, &people).await;
        let pr = app.token("pr").await;
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("Record", "", &["line", "email"], None),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let done = app
            .notice_done(created["id"].as_i64().expect("id"), Duration::from_secs(60))
            .await;
        let want = expected(&people, |_| true, &["line", "email"], &["ja"]);
        assert_eq!(
            done["totals"]["recorded"].as_i64(),
            Some(want.len() as i64),
            "{done}"
        );
        assert_eq!(done["totals"]["sent"], 0);

        // A resident who asks to be forgotten: the notice's counts stay, their address leaves the delivery rows.
        let forgotten = people
            .iter()
            .find(|person| person.email.is_some())
            .expect("someone with email");
        let email = forgotten.email.clone().expect("email");
        assert_eq!(
            app.delete(
                &format!("/api/residents/{}", forgotten.external_id),
                Some(ADMIN_TOKEN)
            )
            .await,
            204
        );
        let (_, after) = app
            .get(
                &format!("/api/notices/{}", created["id"].as_i64().expect("id")),
                Some(&pr),
            )
            .await;
        assert_eq!(after["totals"], done["totals"], "{after}");
        let left = count_with(
            &app,
            "SELECT COUNT(*) FROM deliveries WHERE address = $1",
            &[email.as_str().into()],
        )
        .await;
        assert_eq!(
            left, 0,
            "the forgotten resident's address is still in deliveries"
        );
        app.hub.stop().await;
    }
}

/// A crash while LINE holds a request it accepted: `hub serve` is killed (SIGKILL) with LINE batches accepted and
/// unanswered. The batch and its key are stored, so after the lease runs out the restarted process sends the
/// same batch with the same `X-Line-Retry-Key`, LINE answers 409, and the rows are counted sent — nobody gets
/// the message twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_crash_an_unanswered_line_batch_is_resent_with_its_key_and_nobody_gets_it_twice() {
    for backend in BACKENDS {
        install_crypto();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(backend, dir.path()).await;
        let line = LineMock::start().await.expect("LINE mock");
        let env = process::settings(
            &database_url,
            &[
                ("HUB_LINE_CHANNEL_TOKEN", line.token()),
                ("HUB_LINE_API_BASE", line.base_url()),
                ("HUB_DISPATCH_LEASE_SECS", "3".to_owned()),
            ],
        );
        let log = dir.path().join("hub.log");
        let first = HubProcess::start(&env, &log).await;
        let people = people(1200, 21);
        import(&first, &people).await;
        // LINE accepts every request and then holds the answer.
        line.set_faults(Faults {
            p_timeout: 1.0,
            timeout_sleep: Duration::from_secs(30),
            ..Faults::default()
        });
        let (status, created) = first
            .post_json(
                "/api/notices",
                Some(ADMIN_TOKEN),
                &notice_body("Crash", "", &["line"], None),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        eventually(
            "a LINE request accepted",
            Duration::from_secs(30),
            async || line.stats().accepted,
            |accepted| *accepted > 0,
        )
        .await;
        // The crash: the process ends at once, nothing in flight is recorded.
        first.kill();
        let at_kill = line.stats();
        assert_eq!(
            at_kill.conflicts, 0,
            "no resend before the crash: {at_kill:?}"
        );
        let unrecorded = count(
            &*database_url,
            "SELECT COUNT(*) FROM deliveries WHERE source_kind = 'notice' AND status = 'pending'",
        )
        .await;
        assert!(unrecorded > 0, "deliveries left pending by the kill");

        // The same binary started again on the same database, LINE answering normally again.
        line.set_faults(Faults::none());
        let second = HubProcess::start(&env, &log).await;
        let done = second
            .notice_when(
                id,
                "fired once, nothing pending after the restart",
                Duration::from_secs(120),
                |n| n["fire_count"] == 1 && n["totals"]["pending"] == 0,
            )
            .await;
        let want = expected(&people, |_| true, &["line"], &["ja", "en", "zh"]);
        assert_eq!(
            done["counts"]["line"]["sent"].as_i64(),
            Some(want.len() as i64),
            "{done}"
        );
        let per_user = line.deliveries_per_user();
        for person in people.iter().filter(|p| want.contains_key(&p.external_id)) {
            let user = person.line.as_deref().expect("a LINE user");
            assert_eq!(
                per_user.get(user),
                Some(&1),
                "{backend:?}: {user} deliveries"
            );
        }
        assert!(
            line.stats().conflicts > 0,
            "the resent batches were answered 409 (already accepted): {:?}",
            line.stats()
        );
        line.assert_no_violations();
        second.kill();
    }
}

/// The LINE recipients of every message whose text contains `marker`, each as often as it was sent to them.
fn line_recipients(line: &LineMock, marker: &str) -> BTreeMap<String, usize> {
    let mut recipients = BTreeMap::new();
    for request in line.accepted() {
        if crate::support::line::line_text(&request.messages).contains(marker) {
            for user in request.to {
                *recipients.entry(user).or_default() += 1;
            }
        }
    }
    recipients
}

/// A recurring notice (cron every three seconds) fires twice and more, each firing reaching each resident once;
/// edited between firings, the later firings carry the new text; stopped, it fires no more — checked after a
/// notice scheduled past its next occurrence has fired (the scheduler fires due notices in time order), not
/// after a fixed sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recurring_notice_fires_repeatedly_takes_an_edit_and_stops() {
    for backend in BACKENDS {
        let world = World::builder(backend).start().await;
        let app = &world.app;
        app.import_csv(crate::support::people::simple_csv("cron", 12, true, false))
            .await;
        let pr = app.token("pr").await;
        let mut notice = json!({"title": "定期便", "body": {"ja": "定期便その一"}, "segment": "",
                                "channels": ["line"], "cron": "*/3 * * * * * *", "ignore_quiet_hours": true});
        let (status, created) = app.post_json("/api/notices", Some(&pr), &notice).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        app.notice_when(id, "fired twice", Duration::from_secs(30), |n| {
            n["fire_count"].as_i64() >= Some(2) && n["status"] == "scheduled"
        })
        .await;

        notice["body"]["ja"] = json!("定期便その二");
        let (status, edited) = app
            .put_json(&format!("/api/notices/{id}"), &pr, &notice)
            .await;
        assert_eq!(status, 200, "{edited}");
        let edited_at = edited["fire_count"].as_i64().expect("fire_count");
        app.notice_when(
            id,
            "fired twice after the edit",
            Duration::from_secs(30),
            |n| n["fire_count"].as_i64() >= Some(edited_at + 2),
        )
        .await;

        let (status, stopped) = app
            .post_json(&format!("/api/notices/{id}/cancel"), Some(&pr), &json!({}))
            .await;
        assert_eq!(status, 200, "{stopped}");
        assert_eq!(stopped["status"], "cancelled", "{stopped}");
        let fired = stopped["fire_count"].as_i64().expect("fire_count");
        // A notice due after the stopped one's next occurrence: once it has fired, that occurrence has passed.
        let after = (Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
        let sentinel = app
            .create_notice(&json!({"title": "見張り", "body": {"ja": "見張りの便"}, "segment": "",
                                   "channels": ["line"], "send_at": after, "ignore_quiet_hours": true}))
            .await;
        app.notice_done(sentinel, Duration::from_secs(30)).await;
        let (_, last) = app.get(&format!("/api/notices/{id}"), Some(&pr)).await;
        assert_eq!(
            last["fire_count"].as_i64(),
            Some(fired),
            "{backend:?}: no firing after the stop: {last}"
        );
        assert_eq!(last["status"], "cancelled", "{last}");
        eventually(
            "nothing of the recurring notice pending",
            Duration::from_secs(30),
            async || app.get(&format!("/api/notices/{id}"), Some(&pr)).await.1,
            |n| n["totals"]["pending"] == 0,
        )
        .await;

        let before = line_recipients(&world.line, "定期便その一");
        let after = line_recipients(&world.line, "定期便その二");
        assert_eq!(before.len(), 12, "{backend:?}: {before:?}");
        assert_eq!(after.len(), 12, "{backend:?}: {after:?}");
        let firings_before = before.values().next().copied().unwrap_or(0);
        let firings_after = after.values().next().copied().unwrap_or(0);
        assert!(
            before.values().all(|n| *n == firings_before)
                && after.values().all(|n| *n == firings_after),
            "each firing reaches each resident once: {before:?} {after:?}"
        );
        assert!(
            firings_before >= 2 && firings_after >= 2,
            "{firings_before} {firings_after}"
        );
        assert_eq!(
            (firings_before + firings_after) as i64,
            fired,
            "{backend:?}: every firing, and only those, sent"
        );
        world.line.assert_no_violations();
        world.app.hub.stop().await;
    }
}
