//! Registration (issue 8): the LINE dialog followed through the bot's own quick replies, the web sign-up with
//! e-mail double opt-in over a real SMTP server, the preferences page, deletion, topics, quiet hours and
//! 配信停止 in notices, and the staff counts.

use std::time::Duration;

use channels::testing::LineMock;
use serde_json::{Value, json};

use crate::support::db::{count, execute};
use crate::support::line::{LineUser, labels, line_app, quick_reply, text_of};
use crate::support::smtp::SmtpServer;
use crate::support::{
    ADMIN_TOKEN, BACKENDS, Backend, PUBLIC_URL, TestApp, form, public_path, spawn_app_with,
};

async fn preview(app: &TestApp, rule: &str) -> u64 {
    let (status, body) = app
        .post_json(
            "/api/segments/preview",
            Some(ADMIN_TOKEN),
            &json!({"rule": rule}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_u64().expect("a count")
}

#[tokio::test]
async fn line_dialog_from_follow_to_a_registration_found_by_a_segment() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[]).await;
        let user = LineUser::new(&app, &mock, "U1234567890abcdef1234567890abcdef");

        // Follow: the greeting, then the language question.
        let reply = user.follow().await;
        assert_eq!(reply.len(), 2, "{reply:?}");
        assert!(text_of(&reply).contains("友だち追加ありがとうございます"));
        assert_eq!(
            labels(&reply),
            [
                "日本語",
                "やさしい日本語",
                "English",
                "中文",
                "한국어",
                "Tiếng Việt"
            ]
        );
        // Pending: not in a segment before consent.
        assert_eq!(preview(&app, "").await, 0, "{backend:?}");

        let reply = user.tap(&reply, "English").await;
        assert!(text_of(&reply).contains("Do you agree"), "{reply:?}");
        let reply = user.tap(&reply, "Agree").await;
        assert!(text_of(&reply).contains("Which district"), "{reply:?}");
        assert_eq!(labels(&reply).len(), 11, "every default district fits");

        // A forged tap (another district under the same MAC) is ignored: no reply, nothing changed.
        // Districts and topics are shown in the resident's language; the postback carries the city's own name.
        let real = quick_reply(&reply, "Izumi (泉)")["action"]["data"]
            .as_str()
            .expect("data")
            .to_owned();
        let forged = real.replacen(":泉:", ":蓑島:", 1);
        assert!(user.postback(&forged).await.is_empty());
        assert!(
            user.postback("rg:1:n:d:泉:AAAAAAAAAAAAAAAA")
                .await
                .is_empty()
        );

        let reply = user.tap(&reply, "Imamoto (今元)").await;
        assert!(text_of(&reply).contains("age group"), "{reply:?}");
        let reply = user.tap(&reply, "60s").await;
        assert!(text_of(&reply).contains("topics"), "{reply:?}");
        let reply = user.tap(&reply, "Disaster prevention").await;
        assert!(
            labels(&reply).contains(&"✓Disaster prevention".to_owned()),
            "{reply:?}"
        );
        let reply = user.tap(&reply, "Nursing care").await;
        let reply = user.tap(&reply, "Childcare").await;
        let reply = user.tap(&reply, "✓Childcare").await;
        assert!(
            !labels(&reply).contains(&"✓Childcare".to_owned()),
            "toggled off"
        );
        let reply = user.tap(&reply, "Done").await;
        let summary = text_of(&reply);
        assert!(summary.contains("You are registered"), "{summary}");
        assert!(
            summary.contains("District: Imamoto (今元)") && summary.contains("Age: 60s"),
            "{summary}"
        );
        assert!(
            summary.contains("Disaster prevention, Nursing care"),
            "{summary}"
        );

        // The resident is found by a segment: age from the band's stored birth date, language, interests.
        let rule = r#"age >= 65 and age < 70 and district in ["今元"] and interests has "防災" and language = "en" and channels has "line""#;
        assert_eq!(preview(&app, rule).await, 1, "{backend:?}");
        assert_eq!(preview(&app, r#"interests has "子育て""#).await, 0);
        assert_eq!(
            preview(&app, r#"district = "泉""#).await,
            0,
            "forged tap ignored"
        );
        let (status, resident) = app
            .get(
                &format!("/api/residents/line:{}", user.id),
                Some(ADMIN_TOKEN),
            )
            .await;
        assert_eq!(status, 200, "{resident}");
        assert_eq!(resident["language"], "en");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE consent_version = '2026-11-v1' AND consent_at_ms > 0"
            )
            .await,
            1
        );

        // 「設定」 shows the settings; changing the district from there takes effect at once.
        let reply = user.say("設定").await;
        assert!(text_of(&reply).contains("Your settings"), "{reply:?}");
        let link = quick_reply(&reply, "More settings")["action"].clone();
        assert_eq!(link["type"], "uri");
        assert!(
            link["uri"]
                .as_str()
                .unwrap_or_default()
                .contains("/preferences/")
        );
        let reply = user.tap(&reply, "District").await;
        let reply = user.tap(&reply, "Nakatsu (仲津)").await;
        assert!(
            text_of(&reply).contains("District: Nakatsu (仲津)"),
            "{reply:?}"
        );
        assert_eq!(preview(&app, r#"district = "仲津""#).await, 1);

        // 配信停止 / 配信再開.
        let reply = user.say("配信停止").await;
        assert!(text_of(&reply).contains("paused"), "{reply:?}");
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE notices_paused = 1"
            )
            .await,
            1
        );
        user.say("配信再開").await;
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE notices_paused = 1"
            )
            .await,
            0
        );

        // Staff counts: no personal data, the right roles.
        let viewer = app.token("viewer").await;
        let (status, stats) = app.get("/api/registrations/stats", Some(&viewer)).await;
        assert_eq!(status, 200, "{stats}");
        assert_eq!(stats["total"], 1);
        assert_eq!(stats["by_district"]["仲津"], 1);
        assert_eq!(stats["by_age_band"]["60s"], 1);
        assert_eq!(stats["by_interest"]["防災"], 1);
        assert_eq!(stats["by_language"]["en"], 1);
        assert_eq!(stats["by_channel"]["line"], 1);
        assert_eq!(stats["by_source"]["line"], 1);
        assert_eq!(stats["growth"][0]["total"], 1);
        assert!(!stats.to_string().contains(&user.id), "no LINE ids");
        let disaster = app.token("disaster").await;
        let (status, _) = app.get("/api/registrations/stats", Some(&disaster)).await;
        assert_eq!(status, 403);

        // Unfollow marks the LINE address inactive.
        user.send(json!({"type": "unfollow"})).await;
        assert_eq!(preview(&app, r#"channels has "line""#).await, 0);
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

// ---------- the web ----------

/// The first link in `text` that contains `marker`, as a path (the link must be on `HUB_PUBLIC_URL`).
fn link(text: &str, marker: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"));
    let start = text[..at].rfind("http").expect("a URL");
    let end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |e| start + e);
    public_path(&text[start..end])
}

/// The notice once it has fired and `done` holds for it.
async fn wait_notice(app: &TestApp, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    app.notice_when(
        id,
        "fired, and the test's condition",
        Duration::from_secs(15),
        |n| n["status"] == "fired" && done(n),
    )
    .await
}

/// Sends a notice now and waits until nothing of it is pending.
async fn notice_now(app: &TestApp, body: Value) -> Value {
    let id = app.create_notice(&body).await;
    wait_notice(app, id, |n| n["totals"]["pending"] == 0).await
}

const ANNE: &str = "anne@example.jp";

#[tokio::test]
async fn web_sign_up_counts_only_after_the_confirmation_link_and_preferences_work_at_once() {
    for backend in BACKENDS {
        let smtp = SmtpServer::start();
        let smtp_url = smtp.url();
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_SMTP_URL", &smtp_url),
                ("HUB_MAIL_FROM", "Yukuhashi City <info@city.example>"),
                ("HUB_PUBLIC_URL", PUBLIC_URL),
                // A stand-in push service name (reserved `.example`, never resolved here: nothing is pushed).
                ("HUB_PUSH_ALLOWED_HOSTS", "push.example.net"),
            ],
        )
        .await;

        // The page and its files: Japanese first, six languages, no inline script or style.
        let (status, page) = app.get_page("/register").await;
        assert_eq!(status, 200);
        assert!(page.contains("<html lang=\"ja\"") && page.contains("行橋市からのお知らせ"));
        assert!(page.contains("?lang=vi") && page.contains("やさしい日本語"));
        assert!(!page.contains("style=") && !page.contains("<style") && !page.contains("<script>"));
        crate::support::wording::assert_no_developer_english("/register", &page);
        let (_, api) = app.get("/openapi.json", None).await;
        for path in [
            "/register",
            "/register/confirm/{token}",
            "/preferences/{token}",
            "/api/registrations/stats",
        ] {
            assert!(api["paths"][path].is_object(), "{path} documented");
        }
        let (_, english) = app.get_page("/register?lang=en").await;
        assert!(english.contains("Get notices from Yukuhashi City"));
        for (path, kind) in [
            ("/register.js", "text/javascript"),
            ("/sw.js", "text/javascript"),
            ("/register.css", "text/css"),
        ] {
            let response = app.client.get(app.url(path)).send().await.expect("asset");
            assert_eq!(response.status(), 200, "{path}");
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .to_owned();
            assert!(content_type.starts_with(kind), "{path}: {content_type}");
        }

        // A district not in the list: refused, the choices shown again, nothing stored.
        let signup = |district: &'static str| {
            form(&[
                ("lang", "ja"),
                ("email", ANNE),
                ("district", district),
                ("age_band", "30s"),
                ("interests", "子育て"),
                ("interests", "ごみ"),
                ("language", "ja"),
                ("consent", "yes"),
            ])
        };
        let (status, refused) = app.post_form("/register", signup("東京")).await;
        assert_eq!(status, 400, "{refused}");
        assert!(refused.contains("data-field=\"district\""), "{refused}");
        for district in ["行橋", "今元", "蓑島"] {
            assert!(refused.contains(&format!("<option value=\"{district}\">")));
        }
        assert!(
            refused.contains(&format!("value=\"{ANNE}\"")),
            "kept what was typed"
        );
        let (status, _) = app
            .post_form("/register", form(&[("email", ANNE), ("district", "今元")]))
            .await;
        assert_eq!(status, 400, "no consent");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM residents").await, 0);

        // Signed up twice: one resident, one mail, and nobody counts before the link is opened.
        for _ in 0..2 {
            let (status, done) = app.post_form("/register", signup("今元")).await;
            assert_eq!(status, 200, "{done}");
            assert!(done.contains("確認メール"), "{done}");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM residents").await, 1);
        assert_eq!(preview(&app, r#"district = "今元""#).await, 0);
        let before = notice_now(
            &app,
            json!({"title": "前", "body": {"ja": "確認前のお知らせ"}, "segment": "", "channels": ["email"],
                   "ignore_quiet_hours": true}),
        )
        .await;
        assert_eq!(before["totals"]["targeted"], 0, "{before}");
        let (_, stats) = app.get("/api/registrations/stats", Some(ADMIN_TOKEN)).await;
        assert_eq!(
            (stats["total"].clone(), stats["pending"].clone()),
            (json!(0), json!(1))
        );

        let confirmations = smtp.delivered_to(&app, ANNE, 1).await;
        assert_eq!(confirmations.len(), 1, "one mail for two submissions");
        let confirm = link(&confirmations[0].text, "/register/confirm/");
        // A forged link: 404, nothing changed.
        let forged = format!("{}0", &confirm[..confirm.len() - 1]);
        let forged = if forged == confirm {
            format!("{confirm}x")
        } else {
            forged
        };
        assert_eq!(app.get_page(&forged).await.0, 404);
        assert_eq!(preview(&app, "").await, 0);
        let (status, confirmed) = app.get_page(&confirm).await;
        assert_eq!(status, 200, "{confirmed}");
        assert_eq!(
            preview(&app, r#"district = "今元" and interests has "子育て" and age >= 30 and age < 40 and channels has "email""#).await,
            1,
            "{backend:?}"
        );
        assert_eq!(
            app.get_page(&confirm).await.0,
            200,
            "opening it again is fine"
        );

        // Now notices reach the address, with links to the preferences and to unsubscribe.
        let after = notice_now(
            &app,
            json!({"title": "後", "body": {"ja": "確認後のお知らせ"}, "segment": "", "channels": ["email"],
                   "ignore_quiet_hours": true}),
        )
        .await;
        assert_eq!(after["totals"]["sent"], 1, "{after}");
        let mails = smtp.delivered_to(&app, ANNE, 2).await;
        let notice_mail = mails
            .iter()
            .find(|m| m.text.contains("確認後のお知らせ"))
            .expect("the notice mail");
        let preferences = link(&notice_mail.text, "/preferences/");
        assert!(notice_mail.text.contains("/unsubscribe/"));

        // The preferences page shows the settings; a change is effective at once.
        let (status, page) = app.get_page(&preferences).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("<option value=\"今元\" selected>"), "{page}");
        let change = form(&[
            ("district", "泉"),
            ("age_band", "30s"),
            ("interests", "防災"),
            ("language", "en"),
            ("topics", "防災"),
            ("quiet_from", "22:00"),
            ("quiet_until", "07:00"),
        ]);
        let (status, saved) = app.post_form(&preferences, change.clone()).await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(
            preview(&app, r#"district = "泉" and language = "en""#).await,
            1
        );
        assert_eq!(preview(&app, r#"district = "今元""#).await, 0);
        // An unknown district there too: refused, nothing changed.
        let (status, _) = app
            .post_form(
                &preferences,
                change.replace("%E6%B3%89", "%E6%9D%B1%E4%BA%AC"),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(preview(&app, r#"district = "泉""#).await, 1);
        // A forged preferences link: 404, nothing changed, nothing deleted.
        let forged = preferences.replacen("/preferences/", "/preferences/9", 1);
        assert_eq!(app.post_form(&forged, change.clone()).await.0, 404);
        assert_eq!(
            app.post_form(&format!("{forged}/delete"), String::new())
                .await
                .0,
            404
        );
        assert_eq!(preview(&app, "").await, 1);

        // A confirmation link older than 7 days: 410, nothing counted.
        let late = "late@example.jp";
        let (status, _) = app
            .post_form(
                "/register",
                form(&[("email", late), ("district", "行事"), ("consent", "yes")]),
            )
            .await;
        assert_eq!(status, 200);
        let late_mail = smtp.delivered_to(&app, late, 1).await;
        assert_eq!(late_mail.len(), 1);
        execute(&app, "UPDATE email_signups SET created_at_ms = created_at_ms - 8 * 86400000 WHERE email = 'late@example.jp'", &[])
        .await;
        let expired = link(&late_mail[0].text, "/register/confirm/");
        assert_eq!(app.get_page(&expired).await.0, 410);
        assert_eq!(preview(&app, r#"district = "行事""#).await, 0);

        // Delete my data: gone at once.
        let (status, deleted) = app
            .post_form(&format!("{preferences}/delete"), String::new())
            .await;
        assert_eq!(status, 200, "{deleted}");
        assert_eq!(preview(&app, "").await, 0);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM residents WHERE pending = 0").await,
            0
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM email_signups WHERE email = 'anne@example.jp'"
            )
            .await,
            0
        );
        assert_eq!(
            app.get_page(&preferences).await.0,
            404,
            "the link died with the data"
        );

        // Web Push from this browser: registered at once; the same subscription again is the same resident.
        let push = json!({"endpoint": "https://push.example.net/send/abc123",
                          "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                   "auth": "tBHItJI5svbpez7KI4CCXg"}})
        .to_string();
        for _ in 0..2 {
            let (status, done) = app
                .post_form(
                    "/register",
                    form(&[
                        ("push", &push),
                        ("district", "蓑島"),
                        ("birth_year", "1950"),
                        ("language", "vi"),
                        ("consent", "yes"),
                    ]),
                )
                .await;
            assert_eq!(status, 200, "{done}");
        }
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM residents WHERE external_id LIKE 'push:%'"
            )
            .await,
            1
        );
        assert_eq!(
            preview(
                &app,
                r#"district = "蓑島" and channels has "push" and age >= 70 and language = "vi""#
            )
            .await,
            1
        );
        // Push and e-mail together: one resident, the e-mail counting once confirmed.
        let both = json!({"endpoint": "https://push.example.net/send/both",
                          "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                   "auth": "tBHItJI5svbpez7KI4CCXg"}})
        .to_string();
        let (status, _) = app
            .post_form(
                "/register",
                form(&[
                    ("push", &both),
                    ("email", "both@example.jp"),
                    ("district", "稗田"),
                    ("consent", "yes"),
                ]),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            preview(&app, r#"district = "稗田" and channels has "push""#).await,
            1
        );
        assert_eq!(
            preview(&app, r#"district = "稗田" and channels has "email""#).await,
            0
        );
        let mail = smtp.delivered_to(&app, "both@example.jp", 1).await;
        assert_eq!(
            app.get_page(&link(&mail[0].text, "/register/confirm/"))
                .await
                .0,
            200
        );
        assert_eq!(
            preview(
                &app,
                r#"district = "稗田" and channels has "email" and channels has "push""#
            )
            .await,
            1
        );
        app.hub.stop().await;
        drop(smtp);
    }
}

// ---------- topics, quiet hours and 配信停止 in notices ----------

/// Quiet hours that hold a notice sent now: from an hour ago until two hours from now (JST).
fn quiet_around_now() -> (String, String) {
    use chrono::Timelike;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
    let from = (now - chrono::Duration::hours(1)).time();
    let until = (now + chrono::Duration::hours(2)).time();
    (
        format!("{:02}:{:02}", from.hour(), from.minute()),
        format!("{:02}:{:02}", until.hour(), until.minute()),
    )
}

/// A resident on LINE sets their preferences as residents do: 「設定」, then the form behind the link it gives.
async fn set_preferences(app: &TestApp, mock: &LineMock, line: &str, fields: &[(&str, &str)]) {
    let user = LineUser::new(app, mock, line);
    let reply = user.say("設定").await;
    let url = quick_reply(&reply, "詳しい設定")["action"]["uri"]
        .as_str()
        .expect("a link")
        .to_owned();
    let (status, page) = app.post_form(&public_path(&url), form(fields)).await;
    assert_eq!(status, 200, "{line}: {page}");
}

#[tokio::test]
async fn notices_honour_topics_quiet_hours_and_pauses_per_resident() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[("HUB_PUBLIC_URL", PUBLIC_URL)]).await;
        let users = [
            ("U00000000000000000000000000000a01", "held"),
            ("U00000000000000000000000000000a02", "muted"),
            ("U00000000000000000000000000000a03", "paused"),
            ("U00000000000000000000000000000a04", "open"),
        ];
        let (quiet_from, quiet_until) = quiet_around_now();
        for (line, role) in users {
            let (status, body) = app
                .post_json(
                    "/api/residents",
                    Some(ADMIN_TOKEN),
                    &json!({"external_id": format!("R-{role}"), "district": "今元", "channels": {"line": line}}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let topics: &[&str] = if role == "muted" {
                &["ごみ"]
            } else {
                &["防災", "ごみ"]
            };
            let mut fields = vec![("district", "今元"), ("language", "ja")];
            fields.extend(topics.iter().map(|t| ("topics", *t)));
            match role {
                "held" => {
                    fields.push(("quiet_from", &quiet_from));
                    fields.push(("quiet_until", &quiet_until));
                }
                "paused" => {
                    fields.push(("quiet_none", "yes"));
                    fields.push(("paused", "yes"));
                }
                _ => fields.push(("quiet_none", "yes")),
            }
            set_preferences(&app, &mock, line, &fields).await;
        }

        let (status, refused) = app
            .post_json(
                "/api/notices",
                Some(ADMIN_TOKEN),
                &json!({"title": "x", "body": {"ja": "x"}, "channels": ["line"], "topic": "天気"}),
            )
            .await;
        assert_eq!((status, refused["field"].clone()), (400, json!("topic")));

        let id = app.create_notice(
            &json!({"title": "訓練", "body": {"ja": "土曜日に防災訓練があります"}, "segment": "",
                    "channels": ["line"], "topic": "防災"}),
        )
        .await;
        let notice = wait_notice(&app, id, |n| n["totals"]["sent"] == 1).await;
        assert_eq!(notice["topic"], "防災");
        // The muted and the paused resident are not targeted; the one in quiet hours waits; one is sent.
        assert_eq!(notice["totals"]["targeted"], 2, "{backend:?} {notice}");
        assert_eq!(notice["totals"]["sent"], 1, "{notice}");
        assert_eq!(notice["totals"]["pending"], 1, "{notice}");
        let held_due = count(
            &app,
            "SELECT MAX(due_at_ms) FROM deliveries WHERE source_kind = 'notice' AND status = 'pending'",
        )
        .await;
        let wait = held_due - chrono::Utc::now().timestamp_millis();
        assert!(
            wait > 100 * 60_000 && wait < 125 * 60_000,
            "held until the end of the quiet hours, about two hours: {wait} ms"
        );
        let multicasts: Vec<_> = mock
            .accepted()
            .into_iter()
            .filter(|r| r.path == "/v2/bot/message/multicast" || r.path == "/v2/bot/message/push")
            .collect();
        let reached: Vec<String> = multicasts.iter().flat_map(|r| r.to.clone()).collect();
        assert_eq!(
            reached,
            vec![users[3].0.to_owned()],
            "only the open resident now"
        );

        // A notice that ignores quiet hours reaches the held resident now; the paused one still gets nothing.
        let notice = notice_now(
            &app,
            json!({"title": "今すぐ", "body": {"ja": "今すぐのお知らせ"}, "segment": "",
                   "channels": ["line"], "ignore_quiet_hours": true}),
        )
        .await;
        assert_eq!(notice["totals"]["targeted"], 3, "{notice}");
        assert_eq!(notice["totals"]["sent"], 3, "{notice}");
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn a_long_district_list_is_paged_on_line() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let districts: Vec<String> = (1..=20).map(|i| format!("地区{i:02}")).collect();
        let app = line_app(backend, &mock, &[("HUB_DISTRICTS", &districts.join(","))]).await;
        let user = LineUser::new(&app, &mock, "U0000000000000000000000000000b001");
        let reply = user.follow().await;
        let reply = user.tap(&reply, "日本語").await;
        let reply = user.tap(&reply, "同意して登録").await;
        let first = labels(&reply);
        assert_eq!(first.len(), 13, "LINE's maximum: {first:?}");
        assert_eq!(first[..12], districts[..12]);
        assert_eq!(first[12], "次へ");
        let reply = user.tap(&reply, "次へ").await;
        let second = labels(&reply);
        assert_eq!(second[..8], districts[12..]);
        assert_eq!(
            second.last().map(String::as_str),
            Some("次へ"),
            "back to the first page"
        );
        let reply = user.tap(&reply, "地区15").await;
        assert!(text_of(&reply).contains("年代"), "{reply:?}");
        assert_eq!(preview(&app, r#"district = "地区15""#).await, 1);
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

/// A delivery held by a resident's quiet hours goes out when they end: quiet hours from an hour ago until the
/// next minute but one (whatever the hour the test runs at, midnight included), a notice sent now — the
/// resident's LINE message arrives once, at the end of the quiet hours and not before. (One test per backend:
/// each waits up to two minutes for the hours to end.)
#[tokio::test]
async fn a_delivery_held_by_quiet_hours_is_sent_when_they_end_sqlite() {
    held_until_quiet_hours_end(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_delivery_held_by_quiet_hours_is_sent_when_they_end_postgres() {
    held_until_quiet_hours_end(Backend::Postgres).await;
}

async fn held_until_quiet_hours_end(backend: Backend) {
    use chrono::Timelike;
    {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = line_app(backend, &mock, &[("HUB_PUBLIC_URL", PUBLIC_URL)]).await;
        let line = "U00000000000000000000000000000b01";
        let (status, body) = app
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({"external_id": "R-quiet-end", "district": "今元", "channels": {"line": line}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Tokyo);
        let from = (now - chrono::Duration::hours(1)).time();
        // The end: the start of the minute after next (61 to 120 s from now).
        let end = (now + chrono::Duration::minutes(2))
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .expect("a whole minute");
        let quiet_from = format!("{:02}:{:02}", from.hour(), from.minute());
        let quiet_until = format!("{:02}:{:02}", end.hour(), end.minute());
        set_preferences(
            &app,
            &mock,
            line,
            &[
                ("district", "今元"),
                ("language", "ja"),
                ("topics", "防災"),
                ("quiet_from", &quiet_from),
                ("quiet_until", &quiet_until),
            ],
        )
        .await;

        let id = app
            .create_notice(
                &json!({"title": "静かな時間Q1", "body": {"ja": "静かな時間のあとに届きます"},
                                   "segment": "", "channels": ["line"]}),
            )
            .await;
        let held = app
            .notice_when(
                id,
                "fired, its delivery held",
                Duration::from_secs(15),
                |n| n["fire_count"] == 1 && n["totals"]["pending"] == 1,
            )
            .await;
        assert_eq!(held["totals"]["targeted"], 1, "{held}");
        let due = count(
            &app,
            "SELECT MAX(due_at_ms) FROM deliveries WHERE source_kind = 'notice'",
        )
        .await;
        assert_eq!(
            due,
            end.timestamp_millis(),
            "{backend:?}: held until {quiet_until} JST"
        );
        let sent = app
            .notice_when(
                id,
                "the held delivery sent after the quiet hours",
                Duration::from_secs(180),
                |n| n["totals"]["sent"] == 1,
            )
            .await;
        assert_eq!(sent["totals"]["pending"], 0, "{sent}");
        let messages: Vec<_> = mock
            .accepted()
            .into_iter()
            .filter(|r| r.path != "/v2/bot/message/reply")
            .collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0].to, vec![line.to_owned()]);
        assert!(
            messages[0].at.timestamp_millis() >= end.timestamp_millis(),
            "{backend:?}: sent at {} before the end of the quiet hours {end}",
            messages[0].at
        );
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}
