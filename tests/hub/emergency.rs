//! The emergency trigger's input: JSON and CAP 1.2 are checked over HTTP before anything else happens.

use crate::support::{ADMIN_TOKEN, Backend, spawn_app};

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
