use super::cap::MAX_DEPTH;
use super::*;

fn districts() -> Vec<String> {
    crate::config::DEFAULT_DISTRICTS
        .iter()
        .map(|d| d.to_string())
        .collect()
}

/// A realistic evacuation order (避難指示, 警戒レベル4) for three districts.
const EVACUATION_ORDER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>yukuhashi-20261126-0001</identifier>
  <sender>bousai@city.yukuhashi.lg.jp</sender>
  <sent>2026-11-26T03:12:00+09:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>行橋市災害対策本部</source>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Met</category>
    <category>Safety</category>
    <event>避難指示</event>
    <responseType>Evacuate</responseType>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <eventCode><valueName>警戒レベル</valueName><value>4</value></eventCode>
    <expires>2026-11-26T15:00:00+09:00</expires>
    <senderName>行橋市災害対策本部</senderName>
    <headline>【警戒レベル4】今元・仲津・泉地区に避難指示</headline>
    <description>
      今川の水位が氾濫危険水位に達しました。
      今元、仲津、泉の各地区に避難指示を発令しました。
    </description>
    <instruction>危険な場所から全員避難してください。避難所：今元小学校、仲津小学校、泉小学校。</instruction>
    <web>https://www.city.yukuhashi.fukuoka.jp/</web>
    <area>
      <areaDesc>今元地区、仲津地区、泉地区</areaDesc>
      <geocode><valueName>district</valueName><value>今元</value></geocode>
      <geocode><valueName>district</valueName><value>仲津</value></geocode>
      <geocode><valueName>district</valueName><value>泉</value></geocode>
    </area>
  </info>
</alert>
"#;

const WHOLE_CITY: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>yukuhashi-20261126-0002</identifier>
  <sender>bousai@city.yukuhashi.lg.jp</sender>
  <sent>2026-11-26T04:00:00+09:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Geo</category>
    <event>地震</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>震度6弱の地震</headline>
    <description>市内で震度6弱を観測しました。</description>
    <area>
      <areaDesc>行橋市全域</areaDesc>
      <geocode><valueName>JIS X 0402</valueName><value>402133</value></geocode>
    </area>
  </info>
</alert>"#;

fn cap(document: &str) -> Result<EmergencyAlert, CapError> {
    parse_cap(document.as_bytes(), &districts())
}

fn names(area: &Option<Area>) -> Vec<String> {
    match area {
        Some(Area::Districts(list)) => list.iter().map(|d| d.as_str().to_owned()).collect(),
        other => panic!("expected districts, got {other:?}"),
    }
}

#[test]
fn evacuation_order_for_three_districts() {
    let alert = cap(EVACUATION_ORDER).unwrap();
    assert_eq!(alert.kind, AlertKind::Alert);
    assert_eq!(alert.status, AlertStatus::Actual);
    assert!(!alert.dry_run);
    assert!(alert.references.is_empty());
    assert_eq!(alert.severity, Severity::Extreme);
    assert_eq!(alert.urgency, Urgency::Immediate);
    assert_eq!(names(&alert.area), ["今元", "仲津", "泉"]);
    let ja = alert.text.japanese();
    assert_eq!(ja.title, "【警戒レベル4】今元・仲津・泉地区に避難指示");
    assert_eq!(
        ja.body,
        "今川の水位が氾濫危険水位に達しました。\n今元、仲津、泉の各地区に避難指示を発令しました。\n\n\
         危険な場所から全員避難してください。避難所：今元小学校、仲津小学校、泉小学校。"
    );
    let origin = alert.cap.as_ref().unwrap();
    assert_eq!(origin.identifier, "yukuhashi-20261126-0001");
    assert_eq!(origin.sender, "bousai@city.yukuhashi.lg.jp");
    assert_eq!(origin.sent.to_rfc3339(), "2026-11-26T03:12:00+09:00");
    assert_eq!(origin.scope, Scope::Public);
    assert_eq!(origin.event.as_deref(), Some("避難指示"));
    assert_eq!(origin.categories, [Category::Met, Category::Safety]);
    assert_eq!(origin.certainty, Certainty::Observed);
    assert_eq!(origin.sender_name.as_deref(), Some("行橋市災害対策本部"));
    assert_eq!(
        origin.expires.unwrap().to_rfc3339(),
        "2026-11-26T15:00:00+09:00"
    );
    assert!(alert.area.as_ref().unwrap().includes(Some("泉")));
    assert!(!alert.area.as_ref().unwrap().includes(Some("行橋")));
    assert!(!alert.area.as_ref().unwrap().includes(None));
}

#[test]
fn city_code_means_the_whole_city() {
    let alert = cap(WHOLE_CITY).unwrap();
    assert_eq!(alert.area, Some(Area::WholeCity));
    assert!(alert.area.unwrap().includes(None));
    let short_code = WHOLE_CITY.replace("402133", "40213");
    assert_eq!(cap(&short_code).unwrap().area, Some(Area::WholeCity));
    let spelled = WHOLE_CITY.replace("JIS X 0402", "jisx0402");
    assert_eq!(cap(&spelled).unwrap().area, Some(Area::WholeCity));
}

#[test]
fn city_code_with_districts_is_the_whole_city() {
    let document = EVACUATION_ORDER.replace(
        "<areaDesc>",
        "<geocode><valueName>JIS X 0402</valueName><value>402133</value></geocode><areaDesc>",
    );
    assert_eq!(cap(&document).unwrap().area, Some(Area::WholeCity));
}

#[test]
fn update_references_the_earlier_alert() {
    let document = EVACUATION_ORDER
        .replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>")
        .replace(
            "<scope>Public</scope>",
            "<scope>Public</scope>\n  <references>bousai@city.yukuhashi.lg.jp,yukuhashi-20261126-0001,2026-11-26T03:12:00+09:00 \
             bousai@city.yukuhashi.lg.jp,yukuhashi-20261125-0009,2026-11-25T22:00:00+09:00</references>",
        );
    let alert = cap(&document).unwrap();
    assert_eq!(alert.kind, AlertKind::Update);
    assert_eq!(alert.references.len(), 2);
    let first = &alert.references[0];
    assert_eq!(first.sender.as_deref(), Some("bousai@city.yukuhashi.lg.jp"));
    assert_eq!(first.identifier, "yukuhashi-20261126-0001");
    assert_eq!(
        first.sent.unwrap().to_rfc3339(),
        "2026-11-26T03:12:00+09:00"
    );
    assert_eq!(alert.references[1].identifier, "yukuhashi-20261125-0009");
    assert_eq!(names(&alert.area), ["今元", "仲津", "泉"]);
    assert_eq!(
        alert.marked_title("ja"),
        "【更新】【警戒レベル4】今元・仲津・泉地区に避難指示"
    );
}

#[test]
fn update_without_area_reaches_the_referenced_alerts_people() {
    let start = EVACUATION_ORDER.find("<area>").unwrap();
    let end = EVACUATION_ORDER.find("</area>").unwrap() + "</area>".len();
    let document = format!("{}{}", &EVACUATION_ORDER[..start], &EVACUATION_ORDER[end..])
        .replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>")
        .replace(
            "<scope>Public</scope>",
            "<scope>Public</scope><references>a@b,x1,2026-11-26T03:12:00+09:00</references>",
        );
    let alert = cap(&document).unwrap();
    assert_eq!(alert.area, None);
}

#[test]
fn cancel_without_info_gets_a_standard_text() {
    let document = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
      <identifier>yukuhashi-20261126-0003</identifier>
      <sender>bousai@city.yukuhashi.lg.jp</sender>
      <sent>2026-11-26T06:00:00+09:00</sent>
      <status>Actual</status>
      <msgType>Cancel</msgType>
      <scope>Public</scope>
      <references>bousai@city.yukuhashi.lg.jp,yukuhashi-20261126-0001,2026-11-26T03:12:00+09:00</references>
    </alert>"#;
    let alert = cap(document).unwrap();
    assert_eq!(alert.kind, AlertKind::Cancel);
    assert_eq!(alert.references[0].identifier, "yukuhashi-20261126-0001");
    assert_eq!(alert.area, None);
    assert_eq!(alert.text.japanese().title, "緊急情報の取り消し");
    assert_eq!(
        alert.marked_title("en"),
        "[CANCELLED] Emergency alert cancelled"
    );
}

#[test]
fn cancel_with_info_keeps_its_text() {
    let document = EVACUATION_ORDER
        .replace("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>")
        .replace(
            "<scope>Public</scope>",
            "<scope>Public</scope><references>bousai@city.yukuhashi.lg.jp,yukuhashi-20261126-0001,2026-11-26T03:12:00+09:00</references>",
        )
        .replace(
            "【警戒レベル4】今元・仲津・泉地区に避難指示",
            "避難指示を解除します",
        );
    let alert = cap(&document).unwrap();
    assert_eq!(alert.kind, AlertKind::Cancel);
    assert_eq!(alert.marked_title("ja"), "【取消】避難指示を解除します");
}

#[test]
fn exercise_and_test_are_dry_runs() {
    for status in ["Exercise", "Test"] {
        let document = EVACUATION_ORDER
            .replace(
                "<status>Actual</status>",
                &format!("<status>{status}</status>"),
            )
            // A drill may be restricted to the staff taking part.
            .replace(
                "<scope>Public</scope>",
                "<scope>Restricted</scope><restriction>訓練参加者</restriction>",
            );
        let alert = cap(&document).unwrap();
        assert!(alert.dry_run, "{status}");
        assert!(alert.status.is_dry_run());
        assert!(alert.marked_title("ja").starts_with("【訓練】"));
    }
    let exercise = EVACUATION_ORDER.replace("<status>Actual</status>", "<status>Exercise</status>");
    assert_eq!(cap(&exercise).unwrap().status, AlertStatus::Exercise);
}

#[test]
fn english_and_japanese_info_blocks() {
    let english = r#"<info>
    <language>en-US</language>
    <category>Met</category>
    <event>Evacuation order</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <headline>Evacuation order for Imamoto, Nakatsu and Izumi</headline>
    <description>The Imagawa river has reached the flood danger level.</description>
    <instruction>Leave dangerous places now. If it is dangerous outside, go to the second floor or higher.</instruction>
    <area>
      <areaDesc>Imamoto, Nakatsu, Izumi</areaDesc>
      <geocode><valueName>district</valueName><value>今元</value></geocode>
      <geocode><valueName>district</valueName><value>仲津</value></geocode>
      <geocode><valueName>district</valueName><value>泉</value></geocode>
    </area>
  </info>
</alert>"#;
    let document = EVACUATION_ORDER.replace("</alert>", english);
    let alert = cap(&document).unwrap();
    assert_eq!(alert.text.languages(), [Language::Ja, Language::En]);
    let en = alert.text.get(Language::En).unwrap();
    assert_eq!(en.title, "Evacuation order for Imamoto, Nakatsu and Izumi");
    assert!(en.body.ends_with("second floor or higher."));
    assert_eq!(alert.text.for_language("en").title, en.title);
    assert_eq!(
        alert.text.for_language("vi"),
        alert.text.japanese(),
        "no Vietnamese: Japanese"
    );
    assert_eq!(alert.text.for_language("fr"), alert.text.japanese());
    assert_eq!(names(&alert.area), ["今元", "仲津", "泉"]);
    // The Japanese block stays first whichever comes first in the document.
    let reordered = EVACUATION_ORDER.replace("<info>", &english.replace("</alert>", "<info>"));
    let alert = cap(&reordered).unwrap();
    assert_eq!(alert.cap.unwrap().event.as_deref(), Some("避難指示"));

    let json = serde_json::to_value(&alert.text).unwrap();
    assert_eq!(json["en"]["title"], en.title);
    assert!(json["ja"]["body"].as_str().unwrap().contains("今川"));
}

#[test]
fn unsupported_languages_are_listed_not_sent() {
    let portuguese = EVACUATION_ORDER
        .split("<info>")
        .nth(1)
        .unwrap()
        .replace("ja-JP", "pt-BR");
    let document = EVACUATION_ORDER.replace("</alert>", &format!("<info>{portuguese}"));
    let alert = cap(&document).unwrap();
    assert_eq!(alert.text.languages(), [Language::Ja]);
    assert_eq!(alert.cap.unwrap().ignored_languages, ["pt-BR"]);
}

#[test]
fn prefixed_names_entities_cdata_and_foreign_elements() {
    let document = r#"<?xml version="1.0"?>
<!-- from the prefecture's disaster system -->
<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <cap:identifier>pref-fukuoka-123</cap:identifier>
  <cap:sender>bousai@pref.fukuoka.lg.jp</cap:sender>
  <cap:sent>2026-11-26T03:12:00Z</cap:sent>
  <cap:status>Actual</cap:status>
  <cap:msgType>Alert</cap:msgType>
  <cap:scope>Public</cap:scope>
  <cap:info>
    <cap:language>ja</cap:language>
    <cap:category>Met</cap:category>
    <cap:event>高潮警報</cap:event>
    <cap:urgency>Expected</cap:urgency>
    <cap:severity>Severe</cap:severity>
    <cap:certainty>Likely</cap:certainty>
    <cap:headline>高潮警報 &amp; 避難指示 &#x3042;</cap:headline>
    <cap:description><![CDATA[<海岸> から離れてください]]></cap:description>
    <cap:area>
      <cap:areaDesc>蓑島</cap:areaDesc>
      <cap:geocode><cap:valueName>district</cap:valueName><cap:value>　蓑島　</cap:value></cap:geocode>
    </cap:area>
  </cap:info>
  <ds:Signature><ds:SignedInfo>anything &amp; more</ds:SignedInfo></ds:Signature>
</cap:alert>"#;
    let alert = cap(document).unwrap();
    assert_eq!(alert.text.japanese().title, "高潮警報 & 避難指示 あ");
    assert_eq!(alert.text.japanese().body, "<海岸> から離れてください");
    assert_eq!(names(&alert.area), ["蓑島"]);
    assert_eq!(alert.urgency, Urgency::Expected);
}

/// Replaces the first occurrence of `from` in the evacuation order.
fn changed(from: &str, to: &str) -> String {
    assert!(EVACUATION_ORDER.contains(from), "{from}");
    EVACUATION_ORDER.replacen(from, to, 1)
}

/// Whether an error is the one a case expects.
type IsExpected = fn(&CapErrorKind) -> bool;

#[test]
fn each_error_names_its_element() {
    let references =
        "<scope>Public</scope><references>a@b,x1,2026-11-26T03:12:00+09:00</references>";
    let cases: Vec<(String, &str, IsExpected)> = vec![
        (
            changed("<identifier>yukuhashi-20261126-0001</identifier>", ""),
            "/alert/identifier",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            changed(
                "<identifier>yukuhashi-20261126-0001</identifier>",
                "<identifier> </identifier>",
            ),
            "/alert/identifier",
            |k| *k == CapErrorKind::Empty,
        ),
        (
            changed("yukuhashi-20261126-0001", "yukuhashi 0001"),
            "/alert/identifier",
            |k| matches!(k, CapErrorKind::InvalidIdentifier(_)),
        ),
        (
            changed("<sender>", "<sender>a@b</sender><sender>"),
            "/alert/sender",
            |k| *k == CapErrorKind::Duplicate,
        ),
        (
            changed("2026-11-26T03:12:00+09:00", "2026/11/26 03:12"),
            "/alert/sent",
            |k| matches!(k, CapErrorKind::InvalidDateTime(_)),
        ),
        (
            changed("<status>Actual</status>", "<status>Real</status>"),
            "/alert/status",
            |k| matches!(k, CapErrorKind::InvalidValue { value, .. } if value == "Real"),
        ),
        (
            changed("<status>Actual</status>", "<status>Draft</status>"),
            "/alert/status",
            |k| *k == CapErrorKind::Refused("Draft".into()),
        ),
        (
            changed("<status>Actual</status>", "<status>System</status>"),
            "/alert/status",
            |k| *k == CapErrorKind::Refused("System".into()),
        ),
        (
            changed("<msgType>Alert</msgType>", "<msgType>Ack</msgType>"),
            "/alert/msgType",
            |k| *k == CapErrorKind::Refused("Ack".into()),
        ),
        (
            changed("<msgType>Alert</msgType>", "<msgType>Error</msgType>"),
            "/alert/msgType",
            |k| *k == CapErrorKind::Refused("Error".into()),
        ),
        (
            changed("<msgType>Alert</msgType>", "<msgType>Warning</msgType>"),
            "/alert/msgType",
            |k| matches!(k, CapErrorKind::InvalidValue { .. }),
        ),
        (
            changed("<msgType>Alert</msgType>", ""),
            "/alert/msgType",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            changed("<scope>Public</scope>", "<scope>Everyone</scope>"),
            "/alert/scope",
            |k| matches!(k, CapErrorKind::InvalidValue { .. }),
        ),
        (
            changed("<scope>Public</scope>", "<scope>Private</scope>"),
            "/alert/scope",
            |k| matches!(k, CapErrorKind::NotPublic { .. }),
        ),
        (
            changed("<msgType>Alert</msgType>", "<msgType>Update</msgType>"),
            "/alert/references",
            |k| *k == CapErrorKind::ReferencesRequired("Update"),
        ),
        (
            changed(
                "<scope>Public</scope>",
                "<scope>Public</scope><references>yukuhashi-20261126-0001</references>",
            ),
            "/alert/references",
            |k| matches!(k, CapErrorKind::InvalidReference(r) if r == "yukuhashi-20261126-0001"),
        ),
        (
            changed(
                "<scope>Public</scope>",
                "<scope>Public</scope><references>a@b,x1,yesterday</references>",
            ),
            "/alert/references",
            |k| matches!(k, CapErrorKind::InvalidReference(_)),
        ),
        (
            changed("<msgType>Alert</msgType>", "<msgType>Update</msgType>")
                .replace("<scope>Public</scope>", references)
                .replace("<urgency>Immediate</urgency>", ""),
            "/alert/info[1]/urgency",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            changed(
                "<severity>Extreme</severity>",
                "<severity>Catastrophic</severity>",
            ),
            "/alert/info[1]/severity",
            |k| matches!(k, CapErrorKind::InvalidValue { value, .. } if value == "Catastrophic"),
        ),
        (
            changed("<severity>Extreme</severity>", ""),
            "/alert/info[1]/severity",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            changed("<urgency>Immediate</urgency>", "<urgency>Now</urgency>"),
            "/alert/info[1]/urgency",
            |k| matches!(k, CapErrorKind::InvalidValue { .. }),
        ),
        (
            changed(
                "<certainty>Observed</certainty>",
                "<certainty>Sure</certainty>",
            ),
            "/alert/info[1]/certainty",
            |k| matches!(k, CapErrorKind::InvalidValue { .. }),
        ),
        (
            changed("<category>Safety</category>", "<category>Flood</category>"),
            "/alert/info[1]/category[2]",
            |k| matches!(k, CapErrorKind::InvalidValue { .. }),
        ),
        (
            changed("<category>Met</category>", "").replace("<category>Safety</category>", ""),
            "/alert/info[1]/category[1]",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            changed("<event>避難指示</event>", ""),
            "/alert/info[1]/event",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            changed("<headline>", "<headLine>x</headLine><headline>"),
            "/alert/info[1]/headLine",
            |k| *k == CapErrorKind::UnknownElement,
        ),
        (
            changed("<event>避難指示</event>", "<event><b>避難指示</b></event>"),
            "/alert/info[1]/event/b",
            |k| *k == CapErrorKind::UnknownElement,
        ),
        (changed("<info>", "<info>避難"), "/alert/info[1]", |k| {
            *k == CapErrorKind::UnexpectedText
        }),
        (
            changed("<language>ja-JP</language>", "<language>en-US</language>"),
            "/alert/info",
            |k| matches!(k, CapErrorKind::NoJapanese { found } if found == "en-US"),
        ),
        (
            changed("<language>ja-JP</language>", ""),
            "/alert/info",
            |k| matches!(k, CapErrorKind::NoJapanese { found } if found == "en-US"),
        ),
        (
            EVACUATION_ORDER.replace(
                "</alert>",
                &format!("<info>{}", EVACUATION_ORDER.split("<info>").nth(1).unwrap()),
            ),
            "/alert/info[2]",
            |k| *k == CapErrorKind::DuplicateLanguage(Language::Ja),
        ),
        (
            changed("<instruction>", "<!--")
                .replace("</instruction>", "-->")
                .replace("<description>", "<!--")
                .replace("</description>", "-->"),
            "/alert/info[1]/description",
            |k| *k == CapErrorKind::NoBody,
        ),
        (
            changed("【警戒レベル4】", &"長".repeat(MAX_TITLE_CHARS)),
            "/alert/info[1]/headline",
            |k| matches!(k, CapErrorKind::TooLong { .. }),
        ),
        (
            changed("<value>仲津</value>", "<value>博多</value>"),
            "/alert/info[1]/area[1]/geocode[2]/value",
            |k| matches!(k, CapErrorKind::UnknownDistrict(m) if m.contains("博多")),
        ),
        (
            changed(
                "<geocode><valueName>district</valueName><value>今元</value></geocode>",
                "<geocode><valueName>JIS X 0402</valueName><value>401005</value></geocode>",
            ),
            "/alert/info[1]/area[1]/geocode[1]/value",
            |k| *k == CapErrorKind::OtherCityCode("401005".into()),
        ),
        (
            changed(
                "<valueName>district</valueName><value>今元</value>",
                "<value>今元</value>",
            ),
            "/alert/info[1]/area[1]/geocode[1]/valueName",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            EVACUATION_ORDER.replace(
                "<valueName>district</valueName>",
                "<valueName>SAME</valueName>",
            ),
            "/alert/info[1]/area[1]",
            |k| *k == CapErrorKind::AreaWithoutDistrict,
        ),
        (
            changed("<areaDesc>今元地区、仲津地区、泉地区</areaDesc>", ""),
            "/alert/info[1]/area[1]/areaDesc",
            |k| *k == CapErrorKind::Missing,
        ),
        (
            {
                let start = EVACUATION_ORDER.find("<area>").unwrap();
                let end = EVACUATION_ORDER.find("</area>").unwrap() + "</area>".len();
                format!("{}{}", &EVACUATION_ORDER[..start], &EVACUATION_ORDER[end..])
            },
            "/alert/info[1]/area",
            |k| *k == CapErrorKind::NoArea,
        ),
        (
            {
                let start = EVACUATION_ORDER.find("<info>").unwrap();
                let end = EVACUATION_ORDER.find("</info>").unwrap() + "</info>".len();
                format!("{}{}", &EVACUATION_ORDER[..start], &EVACUATION_ORDER[end..])
            },
            "/alert/info",
            |k| *k == CapErrorKind::NoInfo("Alert"),
        ),
        (
            changed("cap:1.2", "cap:1.1"),
            "/alert",
            |k| matches!(k, CapErrorKind::WrongNamespace { found: Some(ns) } if ns.ends_with("1.1")),
        ),
        (
            changed(r#" xmlns="urn:oasis:names:tc:emergency:cap:1.2""#, ""),
            "/alert",
            |k| *k == CapErrorKind::WrongNamespace { found: None },
        ),
        (
            changed("<sender>", r#"<sender xmlns="">a</sender><sender>"#),
            "/alert/sender",
            |k| *k == CapErrorKind::WrongNamespace { found: None },
        ),
        (
            EVACUATION_ORDER
                .replace("<alert ", "<notice ")
                .replace("</alert>", "</notice>"),
            "/notice",
            |k| *k == CapErrorKind::NotAlert("notice".into()),
        ),
        (changed("</headline>", "</head>"), "document", |k| {
            matches!(k, CapErrorKind::Malformed(_))
        }),
        (
            changed("</alert>", ""),
            "document",
            |k| matches!(k, CapErrorKind::Malformed(m) if m.contains("<alert>")),
        ),
        (changed("</alert>", "</alert><alert/>"), "/alert", |k| {
            *k == CapErrorKind::SecondRoot
        }),
        (
            changed(
                "<alert ",
                "<!DOCTYPE alert [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<alert ",
            )
            .replace("<event>避難指示</event>", "<event>&xxe;</event>"),
            "document",
            |k| *k == CapErrorKind::Doctype,
        ),
        (
            changed("<event>避難指示</event>", "<event>&xxe;</event>"),
            "document",
            |k| *k == CapErrorKind::UnknownEntity("xxe".into()),
        ),
        (
            changed(r#"encoding="UTF-8""#, r#"encoding="Shift_JIS""#),
            "document",
            |k| *k == CapErrorKind::UnsupportedEncoding("Shift_JIS".into()),
        ),
        (
            changed(
                "<web>",
                &format!(
                    "{}{}<web>",
                    "<note>".repeat(MAX_DEPTH),
                    "</note>".repeat(MAX_DEPTH)
                ),
            ),
            "document",
            |k| *k == CapErrorKind::TooDeep,
        ),
        (
            changed("<web>", &"<parameter/>".repeat(super::cap::MAX_ELEMENTS)),
            "document",
            |k| *k == CapErrorKind::TooManyElements,
        ),
        (String::new(), "document", |k| *k == CapErrorKind::NoRoot),
    ];
    for (document, element, is_expected) in cases {
        let error = cap(&document).unwrap_err();
        assert_eq!(error.element, element, "{error}");
        assert!(is_expected(&error.kind), "{element}: {error}");
        // Every error renders, and the API gets it as a 400 naming the element.
        let api: ApiError = error.clone().into();
        assert_eq!(api.status, StatusCode::BAD_REQUEST);
        assert_eq!(api.field.as_deref(), Some(element));
        assert!(api.message.starts_with(element), "{}", api.message);
    }
}

#[test]
fn errors_carry_line_and_column() {
    let error = cap(&changed(
        "<severity>Extreme</severity>",
        "<severity>Big</severity>",
    ))
    .unwrap_err();
    let position = error.position.unwrap();
    assert_eq!((position.line, position.column), (17, 5));
    assert!(error.to_string().contains("line 17, column 5"), "{error}");

    let error = cap(&changed("</headline>", "</head>")).unwrap_err();
    let position = error.position.unwrap();
    assert_eq!(position.line, 22, "{error}");

    let error = cap(&changed("<sent>", "<sent><bad")).unwrap_err();
    assert!(error.position.is_some(), "{error}");
}

#[test]
fn oversized_and_non_utf8_documents_are_refused() {
    let mut big = EVACUATION_ORDER.replace(
        "</instruction>",
        &format!("</instruction><note>{}</note>", "a".repeat(MAX_CAP_BYTES)),
    );
    big.truncate(MAX_CAP_BYTES + 1);
    let error = parse_cap(big.as_bytes(), &districts()).unwrap_err();
    assert!(matches!(error.kind, CapErrorKind::TooLarge { .. }));
    let api: ApiError = error.into();
    assert_eq!(api.status, StatusCode::PAYLOAD_TOO_LARGE);

    let mut shift_jis = EVACUATION_ORDER.as_bytes().to_vec();
    let at = EVACUATION_ORDER.find("避難指示").unwrap();
    shift_jis[at] = 0x94; // a Shift_JIS lead byte, invalid in UTF-8
    let error = parse_cap(&shift_jis, &districts()).unwrap_err();
    assert_eq!(error.kind, CapErrorKind::NotUtf8 { offset: at });
    assert!(error.position.is_some());

    let with_bom = [b"\xEF\xBB\xBF".as_slice(), EVACUATION_ORDER.as_bytes()].concat();
    assert!(parse_cap(&with_bom, &districts()).is_ok());
}

#[test]
fn broken_documents_never_panic() {
    let documents = [EVACUATION_ORDER, WHOLE_CITY];
    for document in documents {
        let bytes = document.as_bytes();
        for end in 0..bytes.len() {
            // Truncated anywhere, even inside a multi-byte character.
            let _ = parse_cap(&bytes[..end], &districts());
        }
    }
    // Deterministic mutations: replace, delete and duplicate bytes with the characters XML cares about.
    let interesting = b"<>&;/=\"' \n:xa\xE3\x81\x82\xFF#!?[]-";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for round in 0..3000 {
        let mut bytes = documents[round % 2].as_bytes().to_vec();
        for _ in 0..1 + next(4) {
            let at = next(bytes.len());
            match next(3) {
                0 => bytes[at] = interesting[next(interesting.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => {
                    let end = (at + next(40)).min(bytes.len());
                    let piece = bytes[at..end].to_vec();
                    bytes.splice(at..at, piece);
                }
            }
        }
        if let Err(error) = parse_cap(&bytes, &districts()) {
            assert!(!error.element.is_empty());
            let _ = error.to_string();
        }
    }
}

fn json(text: &str) -> Result<EmergencyAlert, ApiError> {
    parse_emergency_request(Some("application/json"), text.as_bytes(), &districts())
}

#[test]
fn json_alert_for_districts() {
    let alert = json(
        r#"{"title": "避難指示", "body": {"ja": "今元・仲津に避難指示。", "en": "Evacuate now."},
            "districts": ["今元", " 仲津 ", "今元"], "dry_run": false, "severity": "extreme"}"#,
    )
    .unwrap();
    assert_eq!(alert.kind, AlertKind::Alert);
    assert_eq!(alert.status, AlertStatus::Actual);
    assert!(!alert.dry_run);
    assert_eq!(alert.severity, Severity::Extreme);
    assert_eq!(alert.urgency, Urgency::Immediate);
    assert_eq!(names(&alert.area), ["今元", "仲津"]);
    assert_eq!(alert.text.for_language("en").body, "Evacuate now.");
    assert_eq!(
        alert.text.for_language("en").title,
        "避難指示",
        "no English title: the Japanese one"
    );
    assert!(alert.cap.is_none());
}

#[test]
fn json_null_or_missing_districts() {
    let everyone = json(r#"{"title": "t", "body": {"ja": "b"}, "districts": null}"#).unwrap();
    assert_eq!(everyone.area, Some(Area::WholeCity));
    let left_out = json(r#"{"title": "t", "body": {"ja": "b"}}"#).unwrap();
    assert_eq!(left_out.area, Some(Area::WholeCity));
    let cancel =
        json(r#"{"title": "取消", "body": {"ja": "b"}, "kind": "cancel", "references": ["42"]}"#)
            .unwrap();
    assert_eq!(cancel.kind, AlertKind::Cancel);
    assert_eq!(cancel.area, None);
    assert_eq!(cancel.references[0].identifier, "42");
    assert_eq!(cancel.references[0].sender, None);
}

#[test]
fn json_titles_per_language_and_dry_run() {
    let alert = json(
        r#"{"title": {"ja": "避難指示", "en": "Evacuation order"},
            "body": {"ja": "避難してください。", "en": "Evacuate.", "ja-easy": "にげて ください。"},
            "districts": ["泉"], "dry_run": true, "kind": "update", "references": ["41"]}"#,
    )
    .unwrap();
    assert!(alert.dry_run);
    assert_eq!(alert.status, AlertStatus::Test);
    assert_eq!(alert.kind, AlertKind::Update);
    assert_eq!(alert.text.for_language("en").title, "Evacuation order");
    assert_eq!(alert.text.for_language("ja-easy").body, "にげて ください。");
    assert_eq!(
        alert.marked_title("en"),
        "[DRILL] [UPDATE] Evacuation order"
    );
    assert_eq!(alert.marked_title("ja"), "【訓練】【更新】避難指示");
    let value = serde_json::to_value(&alert).unwrap();
    assert_eq!(value["area"]["districts"][0], "泉");
    assert_eq!(value["status"], "test");
    assert_eq!(value["text"]["en"]["title"], "Evacuation order");
}

#[test]
fn json_errors_name_the_field() {
    let cases = [
        (r#"{"title": "t", "body": {"en": "b"}}"#, "body.ja"),
        (
            r#"{"title": "t", "body": {"ja": "b", "fr": "b"}}"#,
            "body.fr",
        ),
        (r#"{"title": "t", "body": {"ja": "  "}}"#, "body.ja"),
        (r#"{"title": " ", "body": {"ja": "b"}}"#, "title"),
        (
            r#"{"title": {"en": "t"}, "body": {"ja": "b", "en": "b"}}"#,
            "title.ja",
        ),
        (
            r#"{"title": {"ja": "t", "ko": "t"}, "body": {"ja": "b"}}"#,
            "title.ko",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "districts": []}"#,
            "districts",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "districts": ["今元", "東京"]}"#,
            "districts[1]",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "kind": "cancel"}"#,
            "references",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "kind": "update", "references": ["a b"]}"#,
            "references[0]",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "severity": "huge"}"#,
            "severity",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "kind": "ack"}"#,
            "kind",
        ),
        (
            r#"{"title": "t", "body": {"ja": "b"}, "dry_run": "yes"}"#,
            "dry_run",
        ),
        (r#"{"title": 5, "body": {"ja": "b"}}"#, "title"),
        (r#"{"body": {"ja": "b"}}"#, "body"),
    ];
    for (body, field) in cases {
        let error = json(body).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            error.field.as_deref(),
            Some(field),
            "{body}: {}",
            error.message
        );
    }
    let unknown = json(r#"{"title": "t", "body": {"ja": "b"}, "area": "all"}"#).unwrap_err();
    assert!(unknown.message.contains("area"), "{}", unknown.message);
    let long = format!(
        r#"{{"title": "t", "body": {{"ja": "{}"}}}}"#,
        "あ".repeat(MAX_BODY_CHARS + 1)
    );
    assert_eq!(json(&long).unwrap_err().field.as_deref(), Some("body.ja"));
}

#[test]
fn content_type_picks_the_parser() {
    let alert = parse_emergency_request(
        Some("application/cap+xml; charset=utf-8"),
        EVACUATION_ORDER.as_bytes(),
        &districts(),
    )
    .unwrap();
    assert!(alert.cap.is_some());
    let alert = parse_emergency_request(
        None,
        br#"{"title": "t", "body": {"ja": "b"}}"#,
        &districts(),
    )
    .unwrap();
    assert!(alert.cap.is_none());
    let error = parse_emergency_request(Some("text/plain"), b"hello", &districts()).unwrap_err();
    assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let error = parse_emergency_request(
        Some("application/cap+xml"),
        br#"{"title": "t"}"#,
        &districts(),
    )
    .unwrap_err();
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
}

#[test]
fn language_tags() {
    assert_eq!(Language::from_language_tag("ja-JP"), Some(Language::Ja));
    assert_eq!(Language::from_language_tag("EN-us"), Some(Language::En));
    assert_eq!(Language::from_language_tag("zh-TW"), Some(Language::Zh));
    assert_eq!(Language::from_language_tag("ko"), Some(Language::Ko));
    assert_eq!(Language::from_language_tag("vi-VN"), Some(Language::Vi));
    assert_eq!(
        Language::from_language_tag("ja-x-easy"),
        Some(Language::JaEasy)
    );
    assert_eq!(Language::from_language_tag("pt-BR"), None);
    for language in Language::ALL {
        assert!(crate::residents::LANGUAGES.contains(&language.code()));
    }
}
