//! What residents read (issue 15): the sign-up page, its errors and its confirmation page, and the web chat page,
//! each in the resident's language with no developer English; やさしい日本語 with one code (`ja-easy`) from
//! `/register` to a notice's segment rule.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::browser;
use crate::support::smtp::SmtpServer;
use crate::support::wording::assert_no_developer_english;
use crate::support::{ADMIN_TOKEN, BACKENDS, Backend, TestApp, form, spawn_app, spawn_app_with};

/// The resident languages other than English: their pages must not show English sentences.
const NOT_ENGLISH: [&str; 5] = ["ja", "ja-easy", "zh", "ko", "vi"];

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

/// The path of the first link in `text` that contains `marker`.
fn link(text: &str, marker: &str) -> String {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} link in {text}"));
    let start = text[..at].rfind("http").expect("a URL");
    let end = text[start..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .map_or(text.len(), |e| start + e);
    let url = &text[start..end];
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/')
        .map_or("/".into(), |at| rest[at..].to_owned())
}

/// A sign-up form with everything wrong a resident can get wrong: a district not in the list, a birth year out of
/// range, a broken e-mail address, no consent.
fn everything_wrong(lang: &str) -> String {
    form(&[
        ("lang", lang),
        ("email", "not-an-address"),
        ("district", "東京"),
        ("birth_year", "1850"),
        ("interests", "子育て"),
        ("language", lang),
    ])
}

#[tokio::test]
async fn registration_pages_and_errors_speak_the_page_language() {
    let app = spawn_app(Backend::Sqlite).await;
    for lang in NOT_ENGLISH {
        let (status, page) = app.get_page(&format!("/register?lang={lang}")).await;
        assert_eq!(status, 200, "{lang}");
        assert_no_developer_english(&format!("/register?lang={lang}"), &page);
        let (status, refused) = app.post_form("/register", everything_wrong(lang)).await;
        assert_eq!(status, 400, "{lang}: {refused}");
        assert_no_developer_english(&format!("/register errors ({lang})"), &refused);
        for field in ["district", "birth_year", "email", "consent"] {
            assert!(
                refused.contains(&format!("data-field=\"{field}\"")),
                "{lang}: {field} named: {refused}"
            );
        }
        assert!(
            !refused.contains("is not") && !refused.contains("1900 and"),
            "{lang}: {refused}"
        );
    }

    // Japanese: each message names its field once, in a sentence, and says what to do.
    let (_, japanese) = app.post_form("/register", everything_wrong("ja")).await;
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(
        japanese.contains(&format!(
            "生まれた年は1900年から{year}年の間で入力してください"
        )),
        "{japanese}"
    );
    assert!(
        japanese.contains("お住まいの地区を一覧から選んでください"),
        "{japanese}"
    );
    assert!(
        !japanese.contains("地区:") && !japanese.contains("上記の説明に同意します:"),
        "no label in front of a message: {japanese}"
    );
    assert!(
        japanese.contains("value=\"not-an-address\""),
        "kept what was typed"
    );

    // English: districts and topics in English, the stored values still the city's own.
    let (_, english) = app.get_page("/register?lang=en").await;
    assert!(
        english.contains("<option value=\"行橋\">Yukuhashi (行橋)</option>"),
        "{english}"
    );
    assert!(
        english.contains("value=\"子育て\"> Childcare</label>"),
        "{english}"
    );
    assert!(english.contains("data-denied=\"Notifications are blocked"));
    // やさしい日本語: age groups and districts in hiragana.
    let (_, easy) = app.get_page("/register?lang=ja-easy").await;
    assert!(easy.contains("20さい から 29さい") && easy.contains("80さい より うえ"));
    assert!(
        !easy.contains("20代") && !easy.contains("80歳以上"),
        "{easy}"
    );
    assert!(easy.contains(">みのしま</option>"), "{easy}");
    // The push button explains a refused permission in the page's language, not with the browser's words.
    let (_, page) = app.get_page("/register").await;
    assert!(
        page.contains("data-denied=\"通知がブロックされています"),
        "{page}"
    );
}

#[tokio::test]
async fn the_confirmation_page_shows_the_address_what_happens_next_and_ways_on() {
    let smtp = SmtpServer::start();
    let smtp_url = smtp.url();
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("HUB_SMTP_URL", &smtp_url),
            ("HUB_MAIL_FROM", "Yukuhashi City <info@city.example>"),
        ],
    )
    .await;
    for lang in ["ja", "en", "vi"] {
        let address = format!("{}@example.jp", lang.replace('-', ""));
        let (status, sent) = app
            .post_form(
                "/register",
                form(&[
                    ("lang", lang),
                    ("email", &address),
                    ("district", "今元"),
                    ("language", lang),
                    ("consent", "yes"),
                ]),
            )
            .await;
        assert_eq!(status, 200, "{sent}");
        assert!(sent.contains(&address), "{lang}: the address shown: {sent}");
        assert!(
            sent.contains(&format!(
                "/register?lang={lang}&amp;email={}",
                address.replace('@', "%40")
            )),
            "{lang}: a way back to correct the address: {sent}"
        );
        assert!(sent.contains(&format!("/chat?lang={lang}")), "{sent}");
        assert!(
            sent.contains("https://www.city.yukuhashi.fukuoka.jp/"),
            "{sent}"
        );
        if lang != "en" {
            assert_no_developer_english(&format!("confirmation page ({lang})"), &sent);
        }
        // The way back fills the address in.
        let (_, again) = app
            .get_page(&format!(
                "/register?lang={lang}&email={}",
                address.replace('@', "%40")
            ))
            .await;
        assert!(again.contains(&format!("value=\"{address}\"")), "{again}");
    }
    let (_, japanese) = app
        .post_form(
            "/register",
            form(&[
                ("email", "hanako@example.jp"),
                ("district", "泉"),
                ("consent", "yes"),
            ]),
        )
        .await;
    assert!(japanese.contains("確認メールを"), "{japanese}");
    assert!(japanese.contains("7日以内"), "{japanese}");
    assert!(japanese.contains("メールアドレスを直す"), "{japanese}");
}

#[tokio::test]
async fn a_notice_for_easy_japanese_reaches_a_resident_who_chose_it_on_the_register_page() {
    for backend in BACKENDS {
        let smtp = SmtpServer::start();
        let smtp_url = smtp.url();
        let app = spawn_app_with(
            backend,
            &[
                ("HUB_SMTP_URL", &smtp_url),
                ("HUB_MAIL_FROM", "Yukuhashi City <info@city.example>"),
            ],
        )
        .await;
        let easy = "easy@example.jp";
        let (status, _) = app
            .post_form(
                "/register",
                form(&[
                    ("lang", "ja-easy"),
                    ("email", easy),
                    ("district", "行事"),
                    ("language", "ja-easy"),
                    ("consent", "yes"),
                ]),
            )
            .await;
        assert_eq!(status, 200);
        let mails = smtp.delivered_to(&app, easy, 1).await;
        let confirm = link(&mails[0].text, "/register/confirm/");
        let (status, confirmed) = app.get_page(&confirm).await;
        assert_eq!(status, 200, "{confirmed}");
        assert_no_developer_english("confirmed (ja-easy)", &confirmed);

        // One code everywhere: the rule says `ja-easy`, as the resident's profile does; the old `easy-ja` reads
        // the same.
        assert_eq!(
            preview(&app, r#"language = "ja-easy""#).await,
            1,
            "{backend:?}"
        );
        assert_eq!(
            preview(&app, r#"language = "easy-ja""#).await,
            1,
            "{backend:?}"
        );
        let id = app
            .create_notice(&json!({
                "title": "ごみの日",
                "body": {"ja": "収集日が変わります。", "ja-easy": "ごみ を だす ひ が かわります。"},
                "segment": "language = \"ja-easy\"",
                "channels": ["email"],
                "ignore_quiet_hours": true
            }))
            .await;
        let notice: Value = app
            .notice_when(id, "sent to the resident", Duration::from_secs(15), |n| {
                n["status"] == "fired" && n["totals"]["pending"] == 0
            })
            .await;
        assert_eq!(notice["totals"]["targeted"], 1, "{notice}");
        let mails = smtp.delivered_to(&app, easy, 2).await;
        assert!(
            mails
                .iter()
                .any(|m| m.text.contains("ごみ を だす ひ が かわります。")),
            "the やさしい日本語 body reached them: {mails:?}"
        );
    }
}

#[tokio::test]
async fn the_chat_page_speaks_the_page_language() {
    let app = spawn_app(Backend::Sqlite).await;
    for lang in NOT_ENGLISH {
        let (status, page) = app.get_page(&format!("/chat?lang={lang}")).await;
        assert_eq!(status, 200, "{lang}");
        assert_no_developer_english(&format!("/chat?lang={lang}"), &page);
        assert!(page.contains(&format!("data-lang=\"{lang}\"")), "{page}");
    }
    let (_, english) = app.get_page("/chat?lang=en").await;
    for words in [
        "<html lang=\"en\">",
        "Yukuhashi City FAQ chat",
        "placeholder=\"e.g. residence certificate\"",
        "data-helpful=\"Helpful\"",
        "data-none=\"None of these\"",
        "data-emergency=\"Emergency information\"",
    ] {
        assert!(english.contains(words), "{words}: {english}");
    }
    assert!(!english.contains("ご質問"), "{english}");
    let (_, japanese) = app.get_page("/chat").await;
    assert!(
        japanese.contains("<html lang=\"ja\">") && japanese.contains("data-none=\"どれでもない\"")
    );
}
#[tokio::test]
async fn residents_register_and_chat_in_a_real_browser_on_a_phone_and_a_laptop() {
    browser::require();
    let app = spawn_app(Backend::Sqlite).await;
    let artifacts = browser::artifacts_dir();
    let base = app.url("");
    let base = base.trim_end_matches('/').to_owned();
    let shown = browser::run_script("residents.mjs", vec![base.into(), artifacts.into()]).await;
    assert_eq!(shown["problems"], json!([]), "{shown}");
    for size in ["phone", "laptop"] {
        let register = &shown[size]["register"];
        let errors: Vec<&str> = register["errors"]
            .as_array()
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(errors.len(), 2, "{size}: {register}");
        assert!(
            errors.iter().any(|e| e.contains("生まれた年は1900年から")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("メールアドレスを入力するか")),
            "{errors:?}"
        );
        assert_eq!(register["errorsVisible"], true);
        let confirmation = register["confirmation"]["text"]
            .as_str()
            .unwrap_or_default();
        assert!(
            confirmation.contains(&format!("hanako-{size}@example.jp")),
            "{size}: {confirmation}"
        );
        assert!(confirmation.contains("7日以内"), "{confirmation}");
        let links = register["confirmation"]["links"].to_string();
        assert!(
            links.contains("/chat?lang=ja") && links.contains("email=hanako"),
            "{links}"
        );
        assert_eq!(
            register["refilled"],
            format!("hanako-{size}@example.jp"),
            "{register}"
        );
        let english = &register["english"];
        assert_eq!(english["title"], "Get notices from Yukuhashi City");
        assert!(
            english["districts"]
                .to_string()
                .contains("Minoshima (蓑島)"),
            "{english}"
        );
        assert!(
            english["interests"]
                .to_string()
                .contains(r#"{"label":"Childcare","value":"子育て"}"#),
            "{english}"
        );
        assert!(!english["ages"].to_string().contains('代'), "{english}");

        let chat = &shown[size]["chat"];
        assert_eq!(
            chat["kind"], "answer",
            "「住民票の写しを取りたい」 is answered at once: {chat}"
        );
        assert_eq!(
            chat["answerVisible"], true,
            "{size}: the answer's buttons are hidden: {chat}"
        );
        assert_eq!(
            chat["link"], 0,
            "no 「詳しい情報」 to the city's top page: {chat}"
        );
        let next = &chat["next"];
        assert!(
            next["text"]
                .as_str()
                .unwrap_or_default()
                .contains("0930-25-1111"),
            "{chat}"
        );
        assert_eq!(next["tel"], "tel:0930251111");
        assert_eq!(
            next["visible"], true,
            "{size}: the next steps are hidden: {chat}"
        );
        let english = &chat["english"];
        assert!(
            english["header"]
                .as_str()
                .unwrap_or_default()
                .contains("Yukuhashi City FAQ chat"),
            "{english}"
        );
        assert_eq!(english["placeholder"], "e.g. residence certificate");
        assert_eq!(english["send"], "Send");
        assert_eq!(english["visible"], true, "{size}: {english}");
        assert!(
            english["buttons"].to_string().contains("Helpful")
                || english["buttons"].to_string().contains("None of these"),
            "{english}"
        );
    }
    app.hub.stop().await;
}
