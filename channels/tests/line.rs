//! LINE against the spec-validating mock on 127.0.0.1.

use std::time::{Duration, Instant};

use channels::line::{
    LineClient, LineConfig, LineMessage, LineRateLimits, LineUserId, QuickReply, QuickReplyItem,
    QuotaType,
};
use channels::testing::{Faults, LineMock};
use channels::{FailureKind, Outcome, RateLimit, Request, RetryPolicy, Sink};
use serde_json::json;
use uuid::Uuid;

fn user(i: usize) -> LineUserId {
    format!("U{i:032x}").parse().unwrap()
}

fn key(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

fn client(mock: &LineMock) -> LineClient {
    let mut cfg = LineConfig::new(Some(mock.token())).with_api_base(mock.base_url());
    cfg.limits = LineRateLimits::unlimited();
    LineClient::new(cfg).unwrap()
}

fn text(s: &str) -> Vec<LineMessage> {
    vec![LineMessage::text(s).unwrap()]
}

#[tokio::test]
async fn every_request_kind_passes_the_spec() {
    let mock = LineMock::start().await.unwrap();
    let line = client(&mock);

    let qr = QuickReply::new(
        (0..13)
            .map(|i| {
                if i % 2 == 0 {
                    QuickReplyItem::message(format!("候補{i}"), format!("質問{i}")).unwrap()
                } else {
                    QuickReplyItem::postback(
                        format!("役に立った{i}"),
                        format!("faq=1&helped={i}"),
                        Some("役に立った".into()),
                    )
                    .unwrap()
                }
            })
            .collect(),
    )
    .unwrap();
    let flex = LineMessage::flex(
        "避難指示が出ました",
        json!({"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "text", "text": "避難指示", "weight": "bold", "size": "xl"},
            {"type": "text", "text": "今元地区に避難指示が発令されました。", "wrap": true}]},
          "footer": {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "action": {"type": "postback", "label": "無事です", "data": "safety=ok"}}]}}),
    )
    .unwrap();
    let messages = vec![
        LineMessage::text("住民票の写しは総合窓口課で取得できます。").unwrap(),
        flex.clone().with_quick_reply(qr.clone()),
    ];

    let o = line.push(&user(1), &messages, key("push-1")).await;
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");
    let to: Vec<_> = (2..502).map(user).collect();
    let o = line.multicast(&to, &messages, key("multi-1")).await;
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");
    let o = line
        .broadcast(std::slice::from_ref(&flex), key("broadcast-1"))
        .await;
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");
    let o = line
        .narrowcast(
            &text("防災訓練のお知らせ"),
            Some(&json!({"type": "audience", "audienceGroupId": 4389303728991_i64})),
            Some(&json!({"demographic": {"type": "age", "gte": "age_60"}})),
            Some(&json!({"max": 1000, "upToRemainingQuota": true})),
            key("narrow-1"),
        )
        .await;
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");
    let o = line
        .reply(
            "38ef843bde154d9b91c21320ffd17a0f",
            &[LineMessage::text("こちらの回答が見つかりました")
                .unwrap()
                .with_quick_reply(qr)],
        )
        .await;
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");
    let q = line.quota().await.unwrap();
    assert_eq!(q.kind, QuotaType::Limited);
    let c = line.quota_consumption().await.unwrap();
    assert_eq!(c.total_usage, 501);

    // The Sink shape: one recipient → push, many → multicast; one outcome per recipient.
    let outs = line
        .send(&Request::new(
            key("sink-1"),
            vec![user(600), user(601)],
            text("ごみの日"),
        ))
        .await;
    assert_eq!(outs.len(), 2);
    assert!(outs.iter().all(|o| matches!(o, Outcome::Sent { .. })));

    mock.assert_no_violations();
    let s = mock.stats();
    assert_eq!(s.rejected, 0);
    assert_eq!(s.accepted, 6);
    assert_eq!(s.broadcasts, 1);
    assert_eq!(s.narrowcasts, 1);
    assert_eq!(s.replies, 1);
    assert_eq!(mock.deliveries(user(1).as_str()), 1);
    assert_eq!(mock.deliveries(user(501).as_str()), 1);
    // Every send carried the caller's retry key.
    let keys: Vec<_> = mock
        .accepted()
        .into_iter()
        .filter_map(|a| a.retry_key)
        .collect();
    assert!(keys.contains(&key("multi-1").to_string()));
    assert_eq!(keys.len(), 5, "all but the reply carry a retry key");
}

#[tokio::test]
async fn reused_retry_key_409_counts_as_sent_once() {
    let mock = LineMock::start().await.unwrap();
    let line = client(&mock);
    let k = key("notice-7/chunk-0");
    let first = line.push(&user(7), &text("市報7月号"), k).await;
    let Outcome::Sent {
        provider_id: first_id,
    } = first
    else {
        panic!("{first:?}")
    };
    let again = line.push(&user(7), &text("市報7月号"), k).await;
    assert_eq!(
        again,
        Outcome::Sent {
            provider_id: first_id.clone()
        },
        "a 409 names the accepted request (x-line-accepted-request-id)"
    );
    let to = vec![user(8), user(9)];
    let m1 = line.multicast(&to, &text("x"), key("m")).await;
    let m2 = line.multicast(&to, &text("x"), key("m")).await;
    assert_eq!(m1, m2);
    assert_eq!(mock.stats().conflicts, 2);
    assert_eq!(mock.deliveries(user(7).as_str()), 1);
    assert_eq!(mock.deliveries(user(8).as_str()), 1);
    mock.assert_no_violations();
}

#[tokio::test]
async fn injected_faults_every_message_delivered_exactly_once() {
    let mock = LineMock::start().await.unwrap();
    mock.set_faults(Faults {
        p_429: 0.05,
        p_500: 0.025,
        p_500_after_accept: 0.025,
        p_timeout: 0.01,
        p_drop: 0.01,
        retry_after_secs: 1,
        timeout_sleep: Duration::from_millis(1500),
        seed: 20261126,
    });
    let mut cfg = LineConfig::new(Some(mock.token())).with_api_base(mock.base_url());
    cfg.limits = LineRateLimits::unlimited();
    cfg.timeout = Duration::from_millis(500);
    cfg.retry = RetryPolicy {
        max_attempts: 12,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(2),
        budget: Duration::from_secs(60),
        jitter: 0.5,
    };
    let line = LineClient::new(cfg).unwrap();

    // 400 pushes and 16 multicasts of 100: 2,000 residents.
    let mut requests = Vec::new();
    for i in 0..400 {
        requests.push(Request::single(
            key(&format!("p{i}")),
            user(i),
            text("お知らせ"),
        ));
    }
    for c in 0..16 {
        let to = (0..100).map(|j| user(1000 + c * 100 + j)).collect();
        requests.push(Request::new(key(&format!("m{c}")), to, text("お知らせ")));
    }
    let started = Instant::now();
    let outcomes = line.send_all(&requests, 32).await;
    let elapsed = started.elapsed();

    let flat: Vec<&Outcome> = outcomes.iter().flatten().collect();
    assert_eq!(flat.len(), 2000);
    let not_sent: Vec<_> = flat
        .iter()
        .filter(|o| !matches!(o, Outcome::Sent { .. }))
        .collect();
    assert!(
        not_sent.is_empty(),
        "{} not sent, e.g. {:?}",
        not_sent.len(),
        &not_sent[..not_sent.len().min(3)]
    );
    let per_user = mock.deliveries_per_user();
    assert_eq!(per_user.len(), 2000);
    let dup: Vec<_> = per_user.iter().filter(|(_, n)| **n != 1).collect();
    assert!(dup.is_empty(), "delivered more than once: {dup:?}");
    mock.assert_no_violations();
    let s = mock.stats();
    eprintln!("faults run in {elapsed:?}: {s:?}");
    assert!(s.injected_429 > 0 && s.injected_500 > 0, "{s:?}");
    assert!(s.injected_timeouts + s.injected_drops > 0, "{s:?}");
    assert!(
        s.conflicts > 0,
        "accepted-then-failed requests were retried with the same key: {s:?}"
    );
}

#[tokio::test]
async fn permanent_failures_and_record_only() {
    let mock = LineMock::start().await.unwrap();
    // Wrong token → 401 → Failed(unauthorized), no retry.
    let bad = LineClient::new(LineConfig::new(Some("wrong".into())).with_api_base(mock.base_url()))
        .unwrap();
    let o = bad.push(&user(1), &text("x"), key("a")).await;
    assert_eq!(o.failure_kind(), Some(FailureKind::Unauthorized), "{o:?}");
    assert_eq!(mock.stats().unauthorized, 1);

    let line = client(&mock);
    // Six messages: refused before any request.
    let six: Vec<_> = (0..6)
        .map(|i| LineMessage::text(format!("{i}")).unwrap())
        .collect();
    let o = line.push(&user(1), &six, key("b")).await;
    assert_eq!(o.failure_kind(), Some(FailureKind::InvalidMessage));
    let to: Vec<_> = (0..501).map(user).collect();
    let outs = line.send(&Request::new(key("c"), to, text("x"))).await;
    assert_eq!(outs.len(), 501);
    assert_eq!(outs[0].failure_kind(), Some(FailureKind::InvalidMessage));
    // A reply token is single-use: LINE answers 400.
    assert!(matches!(
        line.reply("tok", &text("a")).await,
        Outcome::Sent { .. }
    ));
    let o = line.reply("tok", &text("a")).await;
    assert_eq!(o.failure_kind(), Some(FailureKind::InvalidMessage), "{o:?}");
    assert_eq!(mock.stats().requests, 3);

    // No token: record-only, nothing sent.
    let rec = LineClient::new(LineConfig::new(None).with_api_base(mock.base_url())).unwrap();
    assert!(rec.is_record_only());
    let outs = rec
        .send(&Request::new(key("d"), vec![user(1), user(2)], text("x")))
        .await;
    assert_eq!(outs, vec![Outcome::Recorded, Outcome::Recorded]);
    assert_eq!(rec.reply("t", &text("x")).await, Outcome::Recorded);
    assert_eq!(mock.stats().requests, 3);
    mock.assert_no_violations();
}

#[tokio::test]
async fn retry_budget_ends_in_retry_with_retry_after() {
    let mock = LineMock::start().await.unwrap();
    mock.set_faults(Faults {
        p_429: 1.0,
        retry_after_secs: 30,
        ..Faults::none()
    });
    let line = client(&mock);
    let t = Instant::now();
    let o = line.push(&user(3), &text("x"), key("e")).await;
    match o {
        Outcome::Retry { after, reason } => {
            assert_eq!(after, Duration::from_secs(30));
            assert!(reason.contains("429"), "{reason}");
        }
        o => panic!("{o:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "a long Retry-After is handed back, not slept"
    );
    assert_eq!(mock.deliveries(user(3).as_str()), 0);
}

#[tokio::test]
async fn rate_limit_per_endpoint() {
    let mock = LineMock::start().await.unwrap();
    let mut cfg = LineConfig::new(Some(mock.token())).with_api_base(mock.base_url());
    cfg.limits = LineRateLimits {
        multicast: RateLimit::per_second(20),
        ..LineRateLimits::unlimited()
    };
    let line = LineClient::new(cfg).unwrap();
    let t = Instant::now();
    for i in 0..30 {
        let o = line
            .multicast(&[user(i), user(i + 100)], &text("x"), key(&format!("r{i}")))
            .await;
        assert!(matches!(o, Outcome::Sent { .. }));
    }
    let multicast_time = t.elapsed();
    assert!(
        multicast_time >= Duration::from_millis(450),
        "{multicast_time:?}"
    );
    // Push has its own (unlimited here) limiter: not held back by the drained multicast one.
    let t = Instant::now();
    for i in 0..30 {
        line.push(&user(i), &text("x"), key(&format!("q{i}"))).await;
    }
    assert!(t.elapsed() < multicast_time, "{:?}", t.elapsed());
}

#[tokio::test]
async fn the_mock_rejects_requests_that_break_the_spec() {
    let mock = LineMock::start().await.unwrap();
    channels::http::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{}/v2/bot/message/push", mock.base_url());
    let cases = [
        (
            json!({"to": "U0123456789abcdef0123456789abcdef", "messages": []}),
            Some("k"),
        ),
        (
            json!({"to": "U0123456789abcdef0123456789abcdef", "messages": [{"type": "text"}]}),
            None,
        ),
        (
            json!({"to": "u-not-an-id", "messages": [{"type": "text", "text": "x", "quickreply": {}}]}),
            None,
        ),
    ];
    for (body, bad_key) in cases {
        let mut r = http.post(&url).bearer_auth(mock.token()).json(&body);
        r = match bad_key {
            Some(k) => r.header("X-Line-Retry-Key", k),
            None => r.header("X-Line-Retry-Key", Uuid::new_v4().to_string()),
        };
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status(), 400);
        let err: serde_json::Value = resp.json().await.unwrap();
        assert!(
            err["details"].as_array().is_some_and(|d| !d.is_empty()),
            "{err}"
        );
    }
    let resp = http
        .get(format!("{}/v2/bot/message/nothing", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v = mock.violations();
    assert!(v.iter().any(|e| e.contains("minItems")), "{v:#?}");
    assert!(v.iter().any(|e| e.contains("X-Line-Retry-Key")), "{v:#?}");
    assert!(
        v.iter()
            .any(|e| e.contains("missing required property `text`")),
        "{v:#?}"
    );
    assert!(
        v.iter()
            .any(|e| e.contains("`quickreply` is not in the schema")),
        "{v:#?}"
    );
    assert!(v.iter().any(|e| e.contains("not a LINE user id")), "{v:#?}");
    assert!(v.iter().any(|e| e.contains("Authorization")), "{v:#?}");
    assert!(
        v.iter()
            .any(|e| e.contains("no operation GET /v2/bot/message/nothing")),
        "{v:#?}"
    );
    assert_eq!(mock.stats().rejected, 4);
    assert_eq!(mock.stats().accepted, 0);
}

#[tokio::test]
async fn provider_garbage_is_retried_not_a_panic() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A "provider" that answers anything but HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut hits = 0u32;
        while let Ok((mut s, _)) = listener.accept().await {
            hits += 1;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"\x00\x01garbage \xff\xfe\r\n\r\n").await;
            if hits >= 3 {
                break;
            }
        }
        hits
    });
    let mut cfg = LineConfig::new(Some("t".into())).with_api_base(format!("http://{addr}"));
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    cfg.timeout = Duration::from_secs(2);
    let line = LineClient::new(cfg).unwrap();
    let o = line.push(&user(1), &text("x"), key("g")).await;
    assert!(
        matches!(&o, Outcome::Retry { reason, .. } if reason.contains("3 attempt")),
        "{o:?}"
    );
    assert_eq!(server.await.unwrap(), 3);
}
