//! Notices end to end: residents imported over the API, segment previews checked against an independent
//! computation, notices delivered through the spec-validating LINE mock, a real SMTP server (aiosmtpd) and the
//! Web Push stand-in — exactly the right residents, on the right channel, in the right language, once each.

use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use channels::testing::{Faults, LineMock, PushStandIn};
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, spawn_app_with};

const DISTRICTS: [&str; 11] = [
    "行橋", "行事", "大橋", "今元", "仲津", "泉", "今川", "稗田", "延永", "椿市", "蓑島",
];
const LANGUAGES: [&str; 6] = ["ja", "ja", "ja", "en", "zh", "vi"];
const INTERESTS: [&str; 5] = ["防災", "介護", "子育て", "ごみ", "健康"];

// ---------- a real SMTP server ----------

pub(crate) struct SmtpServer {
    child: Child,
    pub(crate) port: u16,
    pub(crate) maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_smtp() -> SmtpServer {
    let python = std::env::var("HUB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = dir.path().join("mail");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting aiosmtpd with {python} (set HUB_TEST_PYTHON to a Python with aiosmtpd): {e}")
        });
    let mut server = SmtpServer {
        child,
        port,
        maildir,
        _dir: dir,
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("aiosmtpd exited at start ({status}): is aiosmtpd installed for {python}?");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "aiosmtpd did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// One stored message: its envelope-relevant headers and when it was written.
#[derive(Debug, Clone)]
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    list_unsubscribe: Option<String>,
    written: std::time::SystemTime,
}

fn read_maildir(maildir: &Path) -> Vec<Mail> {
    let mut mails = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let header_end = text.find("\n\n").unwrap_or(text.len());
            // Unfold continuation lines.
            let headers = text[..header_end].replace("\n ", " ").replace("\n\t", " ");
            let get = |name: &str| {
                headers.lines().find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case(name)
                        .then(|| value.trim().to_owned())
                })
            };
            mails.push(Mail {
                to: get("To").unwrap_or_default(),
                subject: get("Subject").unwrap_or_default(),
                message_id: get("Message-ID").unwrap_or_default(),
                list_unsubscribe: get("List-Unsubscribe"),
                written: entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH),
            });
        }
    }
    mails
}

// ---------- residents, and an independent model of them ----------

#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) external_id: String,
    pub(crate) birth: NaiveDate,
    pub(crate) district: &'static str,
    pub(crate) language: &'static str,
    pub(crate) interests: Vec<&'static str>,
    pub(crate) line: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) push: Option<Value>,
    pub(crate) preferred: Vec<&'static str>,
}

impl Person {
    fn age_on(&self, date: NaiveDate) -> i32 {
        let mut age = date.year() - self.birth.year();
        if (date.month(), date.day()) < (self.birth.month(), self.birth.day()) {
            age -= 1;
        }
        age
    }

    fn has(&self, channel: &str) -> bool {
        match channel {
            "line" => self.line.is_some(),
            "email" => self.email.is_some(),
            "push" => self.push.is_some(),
            _ => false,
        }
    }

    /// The contract: first preferred channel (then line, push, email) the notice uses and the resident has.
    fn channel_for(&self, notice_channels: &[&str]) -> Option<&'static str> {
        self.preferred
            .iter()
            .copied()
            .chain(["line", "push", "email"])
            .find(|c| notice_channels.contains(c) && self.has(c))
    }
}

/// A small deterministic generator (no dependency on the hub's own code).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(crate) fn people(count: usize, seed: u64) -> Vec<Person> {
    let mut rng = Lcg(seed);
    (0..count)
        .map(|i| {
            let year = 1925 + rng.below(95) as i32;
            let birth =
                NaiveDate::from_ymd_opt(year, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32)
                    .expect("a date");
            let interests: Vec<&'static str> = INTERESTS
                .iter()
                .copied()
                .filter(|_| rng.below(3) == 0)
                .collect();
            let line = (rng.below(10) < 6).then(|| format!("U{:032x}", 0xabc0_0000_u64 + i as u64));
            let email = (rng.below(10) < 5).then(|| format!("r{i:05}@example.org"));
            let preferred = match rng.below(4) {
                0 => vec![],
                1 => vec!["email", "line"],
                2 => vec!["line"],
                _ => vec!["email"],
            };
            Person {
                external_id: format!("R{i:05}"),
                birth,
                district: DISTRICTS[rng.below(DISTRICTS.len() as u64) as usize],
                language: LANGUAGES[rng.below(LANGUAGES.len() as u64) as usize],
                interests,
                line,
                email,
                push: None,
                preferred,
            }
        })
        .collect()
}

pub(crate) fn csv_of(people: &[Person]) -> String {
    let mut csv = String::from(
        "external_id,birth_date,district,language,interests,line_user_id,email,preferred\n",
    );
    for p in people {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            p.external_id,
            p.birth,
            p.district,
            p.language,
            p.interests.join("|"),
            p.line.clone().unwrap_or_default(),
            p.email.clone().unwrap_or_default(),
            p.preferred.join("|"),
        ));
    }
    csv
}

pub(crate) async fn import(app: &TestApp, people: &[Person]) {
    let response = app
        .client
        .post(app.url("/api/residents/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "text/csv")
        .body(csv_of(people))
        .send()
        .await
        .expect("import sent");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "import: {body}");
}

/// Residents with a Web Push subscription go in through the JSON API (CSV has no push column).
async fn add_push_people(
    app: &TestApp,
    standin: &PushStandIn,
    people: &mut Vec<Person>,
    count: usize,
) {
    for i in 0..count {
        let subscription = serde_json::to_value(standin.new_subscription()).expect("json");
        let person = Person {
            external_id: format!("P{i:04}"),
            birth: NaiveDate::from_ymd_opt(1950 + (i as i32 % 60), 1 + (i as u32 % 12), 10)
                .expect("date"),
            district: DISTRICTS[i % DISTRICTS.len()],
            language: ["ja", "en", "vi"][i % 3],
            interests: if i % 2 == 0 {
                vec!["防災"]
            } else {
                vec!["ごみ"]
            },
            line: None,
            email: (i % 4 == 0).then(|| format!("p{i:04}@example.org")),
            push: Some(subscription.clone()),
            preferred: vec![],
        };
        let mut channels = json!({"push": subscription});
        if let Some(email) = &person.email {
            channels["email"] = json!(email);
        }
        let (status, body) = app
            .post_json(
                "/api/residents",
                Some(ADMIN_TOKEN),
                &json!({
                    "external_id": person.external_id,
                    "birth_date": person.birth.to_string(),
                    "district": person.district,
                    "language": person.language,
                    "interests": person.interests,
                    "channels": channels,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        people.push(person);
    }
}

fn today_in_tokyo() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(9)).date_naive()
}

// ---------- the hub with all three providers on loopback ----------

struct World {
    app: TestApp,
    line: LineMock,
    push: PushStandIn,
    smtp: SmtpServer,
    people: Vec<Person>,
}

async fn world(backend: Backend, residents: usize) -> World {
    let line = LineMock::start().await.expect("LINE mock");
    let smtp = start_smtp();
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let line_base = line.base_url();
    let line_token = line.token();
    let app = spawn_app_with(
        backend,
        &[
            ("HUB_LINE_CHANNEL_TOKEN", &line_token),
            ("HUB_LINE_API_BASE", &line_base),
            ("HUB_SMTP_URL", &smtp_url),
            ("HUB_MAIL_FROM", "行橋市 <info@city.yukuhashi.example>"),
            ("HUB_MAIL_RATE", "2000"),
            // The push service stand-in runs on loopback: allowed explicitly.
            ("HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "true"),
        ],
    )
    .await;
    let (status, key) = app.get("/push/vapid-public-key", None).await;
    assert_eq!(status, 200, "{key}");
    let public_key = key["public_key"].as_str().expect("a key").to_owned();
    let push = PushStandIn::start(Some(public_key))
        .await
        .expect("push stand-in");
    let mut people = people(residents, 7);
    import(&app, &people).await;
    add_push_people(&app, &push, &mut people, 40).await;
    World {
        app,
        line,
        push,
        smtp,
        people,
    }
}

async fn wait_done(app: &TestApp, token: &str, id: i64, timeout: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, notice) = app.get(&format!("/api/notices/{id}"), Some(token)).await;
        assert_eq!(status, 200, "{notice}");
        let fired = notice["fire_count"].as_i64().unwrap_or(0) > 0;
        if fired && notice["totals"]["pending"].as_i64() == Some(0) {
            return notice;
        }
        assert!(
            started.elapsed() < timeout,
            "notice {id} not done in {timeout:?}: {notice}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
    for mail in read_maildir(&world.smtp.maildir) {
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
    for push in world.push.received() {
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
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !arrived.contains_key(*k))
        .collect();
    let extra: Vec<&String> = arrived
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "{what}: {} residents got nothing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        extra.is_empty(),
        "{what}: {} residents outside the segment got it, e.g. {:?}",
        extra.len(),
        &extra[..extra.len().min(5)]
    );
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

        let done_now = wait_done(app, &pr, now_id, Duration::from_secs(90)).await;
        let done_later = wait_done(app, &pr, later_id, Duration::from_secs(90)).await;

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
        let mails = read_maildir(&world.smtp.maildir);
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
        world.push.assert_no_violations();

        // A second look changes nothing: nothing was sent twice after the fact.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_exactly(&want_now, &arrived(&world, "Drill-now"), "later look");
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
        let done = wait_done(app, &pr, id, Duration::from_secs(120)).await;
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
    // A second hub process on the same database, same providers.
    let mut env = BTreeMap::new();
    for (key, value) in [
        ("HUB_LISTEN", "127.0.0.1:0".to_owned()),
        ("HUB_DATABASE_URL", app.database_url.clone()),
        ("HUB_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HUB_LINE_CHANNEL_TOKEN", world.line.token()),
        ("HUB_LINE_API_BASE", world.line.base_url()),
        (
            "HUB_SMTP_URL",
            format!("smtp://127.0.0.1:{}", world.smtp.port),
        ),
        ("HUB_MAIL_FROM", "info@city.yukuhashi.example".to_owned()),
        ("HUB_MAIL_RATE", "2000".to_owned()),
        ("HUB_PUSH_ALLOW_LOOPBACK_FOR_TESTS", "true".to_owned()),
    ] {
        env.insert(key.to_owned(), value);
    }
    let config = hub::Config::from_parts(None, &env).expect("config");
    let second = hub::spawn(config).await.expect("second hub");
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
        let done = wait_done(app, &pr, *id, Duration::from_secs(120)).await;
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
        let world = world(backend, 300).await;
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
        let (status, edited) = put_json(app, &format!("/api/notices/{id}"), &pr, &body).await;
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["title"], "Edited");
        let (status, cancelled) = app
            .post_json(&format!("/api/notices/{id}/cancel"), Some(&pr), &json!({}))
            .await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(cancelled["status"], "cancelled");
        let (status, _) = put_json(app, &format!("/api/notices/{id}"), &pr, &body).await;
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
        wait_done(
            app,
            &pr,
            created["id"].as_i64().expect("id"),
            Duration::from_secs(60),
        )
        .await;
        let mails = read_maildir(&world.smtp.maildir);
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
        let path = link
            .split_once("/unsubscribe/")
            .map(|(_, t)| format!("/unsubscribe/{t}"))
            .expect("a link");
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
        world.push.set_gone(endpoint);
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(&pr),
                &notice_body("Gone", "", &["push"], None),
            )
            .await;
        assert_eq!(status, 201);
        let done = wait_done(
            app,
            &pr,
            created["id"].as_i64().expect("id"),
            Duration::from_secs(60),
        )
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
        let done = wait_done(
            &app,
            &pr,
            created["id"].as_i64().expect("id"),
            Duration::from_secs(60),
        )
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
        let mut connection = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .expect("connect");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE address = $1")
            .bind(&email)
            .fetch_one(&mut connection)
            .await
            .expect("count");
        assert_eq!(
            left, 0,
            "the forgotten resident's address is still in deliveries"
        );
        app.hub.stop().await;
    }
}

async fn put_json(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A crash while LINE holds a request it accepted: the batch and its key are stored, so after the lease runs
/// out a new hub sends the same batch with the same `X-Line-Retry-Key`, LINE answers 409, and the rows are
/// counted sent — nobody gets the message twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_crash_an_unanswered_line_batch_is_resent_with_its_key_and_nobody_gets_it_twice() {
    for backend in BACKENDS {
        let line = LineMock::start().await.expect("LINE mock");
        let line_base = line.base_url();
        let line_token = line.token();
        let settings = [
            ("HUB_LINE_CHANNEL_TOKEN", line_token.as_str()),
            ("HUB_LINE_API_BASE", line_base.as_str()),
            ("HUB_DISPATCH_LEASE_SECS", "3"),
        ];
        let app = spawn_app_with(backend, &settings).await;
        let people = people(1200, 21);
        import(&app, &people).await;
        // LINE accepts every request and then holds the answer.
        line.set_faults(Faults {
            p_timeout: 1.0,
            timeout_sleep: Duration::from_secs(30),
            ..Faults::default()
        });
        let (status, created) = app
            .post_json(
                "/api/notices",
                Some(ADMIN_TOKEN),
                &notice_body("Crash", "", &["line"], None),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_i64().expect("id");
        let started = Instant::now();
        while line.stats().accepted == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no LINE request"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The crash: everything stops at once, nothing in flight is recorded.
        let database_url = app.database_url.clone();
        let client = app.client.clone();
        app.hub.abort();
        let accepted_before = line.stats().accepted;
        assert!(accepted_before > 0);

        // A new hub on the same database, LINE answering normally again.
        line.set_faults(Faults::none());
        let mut env = BTreeMap::new();
        env.insert("HUB_LISTEN".to_owned(), "127.0.0.1:0".to_owned());
        env.insert("HUB_DATABASE_URL".to_owned(), database_url);
        env.insert("HUB_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned());
        for (key, value) in settings {
            env.insert(key.to_owned(), value.to_owned());
        }
        let second = hub::spawn(hub::Config::from_parts(None, &env).expect("config"))
            .await
            .expect("second hub");
        let second_base = format!("http://{}", second.addr);
        let started = Instant::now();
        let done = loop {
            let notice: Value = client
                .get(format!("{second_base}/api/notices/{id}"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            if notice["fire_count"] == 1 && notice["totals"]["pending"] == 0 {
                break notice;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not done after the restart: {notice}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
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
        second.stop().await;
    }
}
