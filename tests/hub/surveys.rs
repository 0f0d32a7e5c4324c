//! Questionnaires: a survey sent to a segment, answered on LINE by following the bot's own quick replies and on
//! the web form reached by the link in the invitation email, with results, refusals and anonymisation.

use std::time::Duration;

use channels::line::webhook::sign;
use channels::testing::LineMock;
use serde_json::{Value, json};

use crate::support::db::count_with;
use crate::support::line::{
    LineUser, SECRET, body, event, post_webhook, quick_reply_data, settled, text_of,
};
use crate::support::smtp::SmtpServer;
use crate::support::{
    ADMIN_TOKEN, BACKENDS, PUBLIC_URL, TestApp, eventually, public_path, spawn_app_with,
};

const INSIDE_LINE: &str = "U1111111111111111111111111111aaaa";
const OUTSIDE_LINE: &str = "U2222222222222222222222222222bbbb";

/// Sends one signed event from `user` and returns the messages of the reply it caused (there must be one).
async fn say(app: &TestApp, mock: &LineMock, user: &str, kind: Value) -> Vec<Value> {
    LineUser::new(app, mock, user).ask(kind).await
}

async fn tap(app: &TestApp, mock: &LineMock, user: &str, data: &str) -> Vec<Value> {
    say(
        app,
        mock,
        user,
        json!({"type": "postback", "postback": {"data": data}}),
    )
    .await
}

async fn text(app: &TestApp, mock: &LineMock, user: &str, text: &str) -> Vec<Value> {
    say(
        app,
        mock,
        user,
        json!({"type": "message", "message": {"type": "text", "id": "1", "quoteToken": "q", "text": text}}),
    )
    .await
}

/// The survey link in the mail to `to`, once the invitations are sent.
async fn survey_link(app: &TestApp, smtp: &SmtpServer, to: &str) -> String {
    let mails = smtp.delivered_to(app, to, 1).await;
    let text = &mails[0].text;
    // The link is on HUB_PUBLIC_URL (its host and port checked), followed here on the hub's own address.
    let at = text
        .find("/s/")
        .unwrap_or_else(|| panic!("no survey link to {to} in {mails:?}"));
    let start = text[..at].rfind("http").expect("a full URL");
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    format!("{}{}", app.base, public_path(&url))
}

async fn db_count(app: &TestApp, sql: &str, survey: i64) -> i64 {
    count_with(app, sql, &[survey.into()]).await
}

async fn add_resident(app: &TestApp, body: Value) {
    let (status, created) = app
        .post_json("/api/residents", Some(ADMIN_TOKEN), &body)
        .await;
    assert_eq!(status, 200, "{created}");
}

/// Waits until the invitation notice has fired once and has no delivery pending.
async fn invitations_sent(app: &TestApp, notice: i64) -> Value {
    app.notice_when(
        notice,
        "invitations sent",
        Duration::from_secs(20),
        |view| view["fire_count"].as_i64() == Some(1) && view["totals"]["pending"] == 0,
    )
    .await
}

fn in_an_hour() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()
}

fn questionnaire() -> Value {
    json!({
        "title": "市民プールに関するアンケート",
        "intro": {"ja": "市民プールの利用についてお聞かせください。", "en": "Tell us how you use the city pool."},
        "questions": [
            {"kind": "single", "text": {"ja": "この1年に市民プールを利用しましたか", "en": "Did you use the pool this year?"},
             "options": [{"ja": "はい", "en": "Yes"}, {"ja": "いいえ", "en": "No"}, {"ja": "覚えていない"}]},
            {"kind": "scale", "text": {"ja": "満足度を教えてください"}},
            {"kind": "multiple", "text": {"ja": "利用する時間帯"}, "required": false,
             "options": [{"ja": "朝"}, {"ja": "昼"}, {"ja": "夜"}]},
            {"kind": "text", "text": {"ja": "ご意見をお書きください"}, "required": false}
        ],
        "segment": "district in [\"今元\", \"仲津\"]",
        "channels": ["line", "email"],
        "closes_at": in_an_hour(),
        "ignore_quiet_hours": true
    })
}

#[tokio::test]
async fn a_survey_is_answered_on_line_and_the_web_and_counted() {
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let smtp = SmtpServer::start();
        let smtp_url = smtp.url();
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_LINE_API_BASE", &mock.base_url()),
                ("HUB_LINE_CHANNEL_SECRET", SECRET),
                ("HUB_LINE_CHANNEL_TOKEN", &mock.token()),
                ("HUB_SMTP_URL", &smtp_url),
                ("HUB_MAIL_FROM", "行橋市 <info@city.yukuhashi.example>"),
                ("HUB_PUBLIC_URL", PUBLIC_URL),
            ],
        )
        .await;
        // Two invited residents answer (LINE, web), one invited does not, one outside the segment tries.
        add_resident(
            &app,
            json!({"external_id": "SV-1", "birth_date": "1950-04-01", "district": "今元",
            "channels": {"line": INSIDE_LINE}}),
        )
        .await;
        add_resident(
            &app,
            json!({"external_id": "SV-2", "birth_date": "1990-07-15", "district": "仲津",
            "channels": {"email": "sv2@example.jp"}, "preferred": ["email"]}),
        )
        .await;
        add_resident(
            &app,
            json!({"external_id": "SV-3", "birth_date": "1985-01-01", "district": "今元",
            "channels": {"email": "sv3@example.jp"}}),
        )
        .await;
        add_resident(
            &app,
            json!({"external_id": "SV-4", "birth_date": "1970-01-01", "district": "泉",
            "channels": {"line": OUTSIDE_LINE}}),
        )
        .await;
        let pr = app.token("pr").await;
        let viewer = app.token("viewer").await;

        let (status, created) = app
            .post_json("/api/surveys", Some(&pr), &questionnaire())
            .await;
        assert_eq!(status, 201, "{backend:?} {created}");
        let id = created["id"].as_i64().expect("an id");
        let notice = created["notice_id"].as_i64().expect("a notice");
        let sent = invitations_sent(&app, notice).await;
        assert_eq!(sent["totals"]["targeted"], 3, "{backend:?} {sent}");

        // LINE: the multicast invitation carries 「回答する」; the bot's quick replies lead through it.
        let invitation = mock
            .accepted()
            .into_iter()
            .find(|r| r.path == "/v2/bot/message/multicast" || r.path == "/v2/bot/message/push")
            .expect("a LINE invitation");
        assert_eq!(
            invitation.to,
            vec![INSIDE_LINE.to_owned()],
            "only the invited LINE user"
        );
        let start = quick_reply_data(std::slice::from_ref(&invitation.messages[0]), "回答する");
        let q1 = tap(&app, &mock, INSIDE_LINE, &start).await;
        assert!(text_of(&q1).contains("Q1/4"), "{q1:?}");
        let q2 = tap(&app, &mock, INSIDE_LINE, &quick_reply_data(&q1, "はい")).await;
        assert!(text_of(&q2).contains("満足度"), "{q2:?}");
        let q3 = tap(&app, &mock, INSIDE_LINE, &quick_reply_data(&q2, "5")).await;
        assert!(text_of(&q3).contains("利用する時間帯"), "{q3:?}");
        let toggled = tap(&app, &mock, INSIDE_LINE, &quick_reply_data(&q3, "朝")).await;
        assert!(text_of(&toggled).contains("選択中: 朝"), "{toggled:?}");
        let toggled = tap(&app, &mock, INSIDE_LINE, &quick_reply_data(&toggled, "夜")).await;
        let q4 = tap(
            &app,
            &mock,
            INSIDE_LINE,
            &quick_reply_data(&toggled, "選択終了"),
        )
        .await;
        assert!(text_of(&q4).contains("ご意見"), "{q4:?}");
        // A stale tap on an earlier question asks the current one again and changes nothing.
        let again = tap(&app, &mock, INSIDE_LINE, &quick_reply_data(&q1, "いいえ")).await;
        assert!(text_of(&again).contains("ご意見"), "{again:?}");
        let thanks = text(&app, &mock, INSIDE_LINE, "夜も開けてほしいです").await;
        assert!(
            text_of(&thanks).contains("ありがとうございました"),
            "{thanks:?}"
        );

        // Outside the segment: the same (validly signed) start is refused, and nothing is stored.
        let refused = tap(&app, &mock, OUTSIDE_LINE, &start).await;
        assert!(text_of(&refused).contains("対象ではない"), "{refused:?}");
        let nothing = text(&app, &mock, OUTSIDE_LINE, "アンケート").await;
        assert!(text_of(&nothing).contains("ありません"), "{nothing:?}");
        // A forged postback is ignored.
        let forged = format!(
            "{}{}",
            &start[..start.len() - 4],
            if start.ends_with("0000") {
                "1111"
            } else {
                "0000"
            }
        );
        let before = mock.accepted().len();
        let body = body(vec![event(
            OUTSIDE_LINE,
            "01SVFORGED00000000000000001",
            json!({"type": "postback", "replyToken": "forged", "postback": {"data": forged}}),
        )]);
        assert_eq!(
            post_webhook(&app, &body, Some(&sign(SECRET, &body))).await,
            200
        );
        // Handled, and not answered: no answer is coming.
        settled(&app).await;
        assert_eq!(
            mock.accepted().len(),
            before,
            "a forged postback got an answer"
        );

        // The web: the link in the invitation mail opens the form; a missing answer is shown again.
        let link = survey_link(&app, &smtp, "sv2@example.jp").await;
        let page = app.client.get(&link).send().await.expect("form");
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.expect("html");
        assert!(
            html.contains("この1年に市民プールを利用しましたか") && html.contains("lang=\"ja\""),
            "{html}"
        );
        let incomplete = app
            .client
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("q0=1")
            .send()
            .await
            .expect("post");
        assert_eq!(incomplete.status().as_u16(), 400);
        assert!(
            incomplete
                .text()
                .await
                .unwrap_or_default()
                .contains("class=\"invalid\"")
        );
        let answered = app
            .client
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("q0=1&q1=4&q2=0&q2=1&q3=%E9%A7%90%E8%BB%8A%E5%A0%B4%E3%82%92%E5%BA%83%E3%81%8F")
            .send()
            .await
            .expect("post");
        assert_eq!(answered.status().as_u16(), 200);
        // Answering again replaces the answer: still one per resident.
        let replaced = app
            .client
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("q0=0&q1=4&q3=%E9%A7%90%E8%BB%8A%E5%A0%B4%E3%82%92%E5%BA%83%E3%81%8F")
            .send()
            .await
            .expect("post");
        assert_eq!(replaced.status().as_u16(), 200);
        assert!(replaced.text().await.unwrap_or_default().contains("更新"));
        let tampered = format!(
            "{}{}",
            &link[..link.len() - 3],
            if link.ends_with("abc") { "abd" } else { "abc" }
        );
        let status = app
            .client
            .get(&tampered)
            .send()
            .await
            .expect("get")
            .status();
        assert_eq!(status.as_u16(), 404);

        // Results: counts per choice, the scale, free text for PR, rates by district and age band.
        let (status, results) = app
            .get(&format!("/api/surveys/{id}/results"), Some(&pr))
            .await;
        assert_eq!(status, 200, "{results}");
        assert_eq!(results["total"]["invited"], 3, "{backend:?} {results}");
        assert_eq!(results["total"]["answered"], 2, "{results}");
        let q = &results["questions"];
        assert_eq!(q[0]["choices"][0]["label"], "はい");
        assert_eq!(q[0]["choices"][0]["count"], 2, "{results}");
        assert_eq!(q[0]["choices"][1]["count"], 0, "{results}");
        assert_eq!(
            q[1]["distribution"],
            json!({"1": 0, "2": 0, "3": 0, "4": 1, "5": 1})
        );
        assert_eq!(q[1]["mean"], 4.5);
        assert_eq!(q[2]["choices"][0]["count"], 1, "{results}");
        assert_eq!(q[2]["choices"][2]["count"], 1, "{results}");
        assert_eq!(q[2]["skipped"], 1, "{results}");
        let mut texts: Vec<&str> = q[3]["texts"]
            .as_array()
            .expect("texts for PR")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        texts.sort_unstable();
        assert_eq!(texts, vec!["夜も開けてほしいです", "駐車場を広く"]);
        assert_eq!(
            results["by_district"]["今元"],
            json!({"invited": 2, "answered": 1, "rate": 0.5})
        );
        assert_eq!(results["by_district"]["仲津"]["rate"], 1.0);
        assert_eq!(results["by_age_band"]["70-79"]["answered"], 1, "{results}");
        let (_, for_viewer) = app
            .get(&format!("/api/surveys/{id}/results"), Some(&viewer))
            .await;
        assert!(
            for_viewer["questions"][3].get("texts").is_none(),
            "{for_viewer}"
        );
        let csv = app
            .client
            .get(app.url(&format!("/api/surveys/{id}/results.csv")))
            .bearer_auth(&pr)
            .send()
            .await
            .expect("csv");
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/csv")
        );
        let csv = csv.bytes().await.expect("bytes");
        assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "a BOM for Excel");
        let csv = String::from_utf8_lossy(&csv[3..]).to_string();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(
            csv.contains("今元") && csv.contains("夜も開けてほしいです"),
            "{csv}"
        );

        // The console charts the same results for PR (free text included); the disaster team has no survey pages.
        crate::support::console::add_staff(&app, "koho", "pr").await;
        let koho = crate::support::console::login(&app, "koho").await;
        let (status, html) = koho.get(&app, &format!("/admin/surveys/{id}")).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("<svg class=\"chart bars\""), "{html}");
        assert!(
            html.contains("夜も開けてほしいです") && html.contains("地区別の回答率"),
            "{html}"
        );
        let (status, html) = koho.get(&app, "/admin/surveys").await;
        assert_eq!(status, 200);
        assert!(html.contains("市民プールに関するアンケート"), "{html}");
        crate::support::console::add_staff(&app, "bosai", "disaster").await;
        let bosai = crate::support::console::login(&app, "bosai").await;
        assert_eq!(
            bosai.get(&app, &format!("/admin/surveys/{id}")).await.0,
            403
        );

        // Closed: the form and LINE refuse answers.
        let (status, closed) = app
            .post_json(&format!("/api/surveys/{id}/close"), Some(&pr), &json!({}))
            .await;
        assert_eq!(status, 200, "{closed}");
        assert_eq!(closed["state"], "closed");
        let late = app
            .client
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("q0=2&q1=1")
            .send()
            .await
            .expect("post");
        assert_eq!(late.status().as_u16(), 410);
        let late = tap(&app, &mock, INSIDE_LINE, &start).await;
        assert!(text_of(&late).contains("締め切"), "{late:?}");
        let (_, after) = app
            .get(&format!("/api/surveys/{id}/results"), Some(&pr))
            .await;
        assert_eq!(
            after["questions"][0]["choices"][2]["count"], 0,
            "a late answer was taken: {after}"
        );
        assert_eq!(after["total"]["answered"], 2);

        // An anonymous survey keeps no link from answer to resident once closed.
        let mut anonymous = questionnaire();
        anonymous["title"] = json!("匿名アンケート");
        anonymous["anonymous"] = json!(true);
        anonymous["questions"] =
            json!([{"kind": "scale", "text": {"ja": "行橋市は住みやすいですか"}}]);
        anonymous["channels"] = json!(["line"]);
        let (status, created) = app.post_json("/api/surveys", Some(&pr), &anonymous).await;
        assert_eq!(status, 201, "{created}");
        let anonymous_id = created["id"].as_i64().expect("an id");
        invitations_sent(&app, created["notice_id"].as_i64().expect("notice")).await;
        let question = text(&app, &mock, INSIDE_LINE, "ｱﾝｹｰﾄ").await;
        assert!(text_of(&question).contains("住みやすい"), "{question:?}");
        let thanks = tap(&app, &mock, INSIDE_LINE, &quick_reply_data(&question, "4")).await;
        assert!(text_of(&thanks).contains("ありがとう"), "{thanks:?}");
        let linked = "SELECT COUNT(*) AS n FROM survey_answers WHERE survey_id = $1 AND resident_id IS NOT NULL";
        assert_eq!(db_count(&app, linked, anonymous_id).await, 1);
        let (status, _) = app
            .post_json(
                &format!("/api/surveys/{anonymous_id}/close"),
                Some(&pr),
                &json!({}),
            )
            .await;
        assert_eq!(status, 200);
        eventually(
            "answers unlinked from residents after closing",
            Duration::from_secs(10),
            async || db_count(&app, linked, anonymous_id).await,
            |linked| *linked == 0,
        )
        .await;
        let all = "SELECT COUNT(*) AS n FROM survey_answers WHERE survey_id = $1";
        assert_eq!(
            db_count(&app, all, anonymous_id).await,
            1,
            "the answer itself stays"
        );
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn broken_surveys_are_refused_with_the_field_named() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, &[]).await;
        let pr = app.token("pr").await;
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"questions": [{"kind": "single", "text": {"en": "Which?"}, "options": [{"ja": "a"}, {"ja": "b"}]}]}),
                "questions[0].text.ja",
            ),
            (
                json!({"questions": [{"kind": "single", "text": {"ja": "どれ"}, "options": [{"ja": "a"}]}]}),
                "questions[0].options",
            ),
            (
                json!({"questions": [{"kind": "scale", "text": {"ja": "点数"}, "options": [{"ja": "a"}, {"ja": "b"}]}]}),
                "questions[0].options",
            ),
            (
                json!({"questions": [{"kind": "single", "text": {"ja": "どれ"},
                "options": [{"ja": "とても長い選択肢の名前でボタンに入りきらない"}, {"ja": "b"}]}]}),
                "questions[0].options[0].ja",
            ),
            (
                json!({"closes_at": "2020-01-01T00:00:00+09:00"}),
                "closes_at",
            ),
            (json!({"channels": ["webchat"]}), "channels[0]"),
            (json!({"segment": "age >= "}), "segment"),
            (json!({"questions": []}), "questions"),
        ];
        for (change, field) in cases {
            let mut input = questionnaire();
            for (key, value) in change.as_object().expect("object") {
                input[key] = value.clone();
            }
            let (status, error) = app.post_json("/api/surveys", Some(&pr), &input).await;
            assert_eq!(status, 400, "{backend:?} {field}: {error}");
            assert_eq!(error["field"], field, "{error}");
        }
        let (status, error) = app
            .post_json("/api/surveys", Some(&pr), &json!({"title": 1}))
            .await;
        assert_eq!(status, 400, "{error}");
        let viewer = app.token("viewer").await;
        let (status, _) = app
            .post_json("/api/surveys", Some(&viewer), &questionnaire())
            .await;
        assert_eq!(status, 403);
        let (status, _) = app.post_json("/api/surveys", None, &questionnaire()).await;
        assert_eq!(status, 401);
        let (status, surveys) = app.get("/api/surveys", Some(&viewer)).await;
        assert_eq!((status, surveys), (200, json!([])), "nothing was stored");
        app.hub.stop().await;
    }
}

/// Anonymity beyond the answer's resident id. In an anonymous survey answered on LINE: the CSV export carries no
/// column or cell that names a resident (no external id, no LINE id); forgetting a resident who answered deletes
/// their answer and leaves nothing of them in the survey's tables; a LINE answer left half-way (a session
/// holding the resident and what they answered so far) is gone once the survey closes, with every answer
/// unlinked.
#[tokio::test]
async fn an_anonymous_survey_keeps_no_trace_of_who_answered() {
    const ANSWERS_FULLY: &str = "U3333333333333333333333333333cccc";
    const STOPS_HALF_WAY: &str = "U4444444444444444444444444444dddd";
    const IS_FORGOTTEN: &str = "U5555555555555555555555555555eeee";
    for backend in BACKENDS {
        let mock = LineMock::start().await.expect("LINE mock");
        let app = crate::support::line::line_app(backend, &mock, &[]).await;
        let residents = [
            ("AN-1", "今元", ANSWERS_FULLY),
            ("AN-2", "仲津", STOPS_HALF_WAY),
            ("AN-3", "今元", IS_FORGOTTEN),
        ];
        for (external_id, district, line) in residents {
            add_resident(
                &app,
                json!({"external_id": external_id, "birth_date": "1960-02-02", "district": district,
                       "channels": {"line": line}}),
            )
            .await;
        }
        let pr = app.token("pr").await;
        let mut anonymous = questionnaire();
        anonymous["title"] = json!("匿名の満足度調査");
        anonymous["anonymous"] = json!(true);
        anonymous["channels"] = json!(["line"]);
        anonymous["questions"] = json!([
            {"kind": "single", "text": {"ja": "市民プールを利用しましたか"},
             "options": [{"ja": "はい"}, {"ja": "いいえ"}]},
            {"kind": "scale", "text": {"ja": "住みやすさを教えてください"}}
        ]);
        let (status, created) = app.post_json("/api/surveys", Some(&pr), &anonymous).await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("an id");
        invitations_sent(&app, created["notice_id"].as_i64().expect("notice")).await;

        for line in [ANSWERS_FULLY, STOPS_HALF_WAY, IS_FORGOTTEN] {
            let q1 = text(&app, &mock, line, "アンケート").await;
            assert!(text_of(&q1).contains("利用しましたか"), "{q1:?}");
            let q2 = tap(&app, &mock, line, &quick_reply_data(&q1, "はい")).await;
            assert!(text_of(&q2).contains("住みやすさ"), "{q2:?}");
            if line != STOPS_HALF_WAY {
                let thanks = tap(&app, &mock, line, &quick_reply_data(&q2, "4")).await;
                assert!(text_of(&thanks).contains("ありがとう"), "{thanks:?}");
            }
        }
        let sessions = "SELECT COUNT(*) AS n FROM survey_line_sessions WHERE survey_id = $1";
        let answers = "SELECT COUNT(*) AS n FROM survey_answers WHERE survey_id = $1";
        let linked = "SELECT COUNT(*) AS n FROM survey_answers WHERE survey_id = $1 AND resident_id IS NOT NULL";
        assert_eq!(
            db_count(&app, sessions, id).await,
            1,
            "{backend:?}: the half-way answer"
        );
        assert_eq!(db_count(&app, answers, id).await, 2);

        // Forgetting a resident who answered deletes their answer (docs/surveys.md): nothing of them is left.
        let forgotten =
            crate::support::db::count(&app, "SELECT id FROM residents WHERE external_id = 'AN-3'")
                .await;
        assert_eq!(
            app.delete("/api/residents/AN-3", Some(ADMIN_TOKEN)).await,
            204
        );
        assert_eq!(db_count(&app, answers, id).await, 1);
        assert_eq!(
            db_count(&app, linked, id).await,
            1,
            "AN-1's answer stays linked until the close"
        );
        for table in ["survey_answers", "survey_line_sessions"] {
            assert_eq!(
                count_with(
                    &app,
                    &format!("SELECT COUNT(*) FROM {table} WHERE resident_id = $1"),
                    &[forgotten.into()],
                )
                .await,
                0,
                "{backend:?}: {table} still refers to the forgotten resident"
            );
        }

        // The export names nobody, before and after the close.
        let csv = |app: &TestApp| {
            let request = app
                .client
                .get(app.url(&format!("/api/surveys/{id}/results.csv")))
                .bearer_auth(&pr);
            async move {
                let response = request.send().await.expect("csv");
                assert_eq!(response.status().as_u16(), 200);
                response.text().await.expect("csv text")
            }
        };
        let check_csv = |text: &str| {
            let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
            assert_eq!(
                lines[0],
                "回答日時,地区,年代,経路,Q1 市民プールを利用しましたか,Q2 住みやすさを教えてください",
                "{text}"
            );
            assert_eq!(lines.len(), 2, "one answer sheet: {text}");
            for (external_id, _, line) in residents {
                assert!(
                    !text.contains(external_id) && !text.contains(line),
                    "{backend:?}: the export names {external_id}: {text}"
                );
            }
        };
        check_csv(&csv(&app).await);

        let (status, _) = app
            .post_json(&format!("/api/surveys/{id}/close"), Some(&pr), &json!({}))
            .await;
        assert_eq!(status, 200);
        eventually(
            "answers unlinked and the half-way LINE session dropped after closing",
            Duration::from_secs(10),
            async || {
                (
                    db_count(&app, linked, id).await,
                    db_count(&app, sessions, id).await,
                )
            },
            |(linked, sessions)| *linked == 0 && *sessions == 0,
        )
        .await;
        assert_eq!(
            db_count(&app, answers, id).await,
            1,
            "the answer itself stays"
        );
        check_csv(&csv(&app).await);
        mock.assert_no_violations();
        app.hub.stop().await;
    }
}

#[tokio::test]
async fn residents_read_a_survey_in_their_language_and_japanese_where_it_lacks_one() {
    let smtp = SmtpServer::start();
    let smtp_url = smtp.url();
    let app = spawn_app_with(
        crate::support::Backend::Sqlite,
        &[
            ("HUB_SMTP_URL", &smtp_url),
            ("HUB_MAIL_FROM", "行橋市 <info@city.yukuhashi.example>"),
            ("HUB_PUBLIC_URL", PUBLIC_URL),
        ],
    )
    .await;
    for (id, language, mail) in [
        ("ML-en", "en", "ml-en@example.jp"),
        ("ML-zh", "zh", "ml-zh@example.jp"),
        ("ML-easy", "ja-easy", "ml-easy@example.jp"),
    ] {
        add_resident(
            &app,
            json!({"external_id": id, "birth_date": "1980-01-01", "district": "今元", "language": language,
                "channels": {"email": mail}}),
        )
        .await;
    }
    let pr = app.token("pr").await;
    let survey = json!({
        "title": "公園の利用アンケート",
        "intro": {"ja": "公園の利用についてお聞かせください。", "en": "Tell us how you use the parks.",
                  "ja-easy": "こうえんに ついて おしえて ください。"},
        "questions": [
            {"kind": "single",
             "text": {"ja": "公園をよく利用しますか", "en": "Do you often use the parks?", "zh": "您经常去公园吗？"},
             "options": [{"ja": "はい", "en": "Yes", "zh": "是"}, {"ja": "いいえ", "en": "No"}]}
        ],
        "segment": "district in [\"今元\"]",
        "channels": ["email"],
        "closes_at": in_an_hour(),
        "ignore_quiet_hours": true
    });
    let (status, created) = app.post_json("/api/surveys", Some(&pr), &survey).await;
    assert_eq!(status, 201, "{created}");
    invitations_sent(&app, created["notice_id"].as_i64().expect("a notice")).await;
    let form = |mail: &'static str| {
        let (app, smtp) = (&app, &smtp);
        async move {
            let link = survey_link(app, smtp, mail).await;
            let page = app.client.get(&link).send().await.expect("form");
            assert_eq!(page.status().as_u16(), 200);
            page.text().await.expect("html")
        }
    };
    let english = form("ml-en@example.jp").await;
    for shown in [
        "Tell us how you use the parks.",
        "Do you often use the parks?",
        "Yes",
        "No",
    ] {
        assert!(english.contains(shown), "{shown}: {english}");
    }
    // Chinese: the question and the first choice have Chinese; the invitation and the second choice fall back.
    let chinese = form("ml-zh@example.jp").await;
    for shown in [
        "公園の利用についてお聞かせください。",
        "您经常去公园吗？",
        "是",
        "いいえ",
    ] {
        assert!(chinese.contains(shown), "{shown}: {chinese}");
    }
    let easy = form("ml-easy@example.jp").await;
    for shown in [
        "こうえんに ついて おしえて ください。",
        "公園をよく利用しますか",
    ] {
        assert!(easy.contains(shown), "{shown}: {easy}");
    }
    app.hub.stop().await;
}
