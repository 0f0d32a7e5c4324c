//! Web Push against the push service stand-in on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use channels::push::{PushConfig, PushMessage, PushSink, Subscription, Urgency, VapidKey};
use channels::testing::PushStandIn;
use channels::{FailureKind, Outcome, Request, RetryPolicy, Sink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

fn key(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

fn sink(vapid: &VapidKey) -> PushSink {
    let mut cfg = PushConfig::new(vapid, "mailto:bousai@city.yukuhashi.example");
    // The stand-in runs on loopback: allowed explicitly.
    cfg.allow_loopback = true;
    PushSink::new(cfg).unwrap()
}

#[tokio::test]
async fn payload_decrypts_and_vapid_verifies() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(Some(vapid.public_key_base64url()))
        .await
        .unwrap();
    let push = sink(&vapid);
    assert_eq!(push.public_key(), vapid.public_key_base64url());
    let subs: Vec<Subscription> = (0..5).map(|_| standin.new_subscription()).collect();

    let notice = PushMessage::notification(
        "市報ゆくはし12月号",
        "子育て支援の特集です。",
        Some("https://city.yukuhashi.example/news/12"),
    );
    for (i, s) in subs.iter().enumerate() {
        let outs = push
            .send(&Request::single(
                key(&format!("n{i}")),
                s.clone(),
                notice.clone(),
            ))
            .await;
        assert!(
            matches!(&outs[..], [Outcome::Sent { provider_id }] if provider_id.contains("/message/")),
            "{outs:?}"
        );
    }
    let alert = PushMessage::emergency(
        "避難指示",
        "今元地区に避難指示。直ちに避難してください。",
        None,
    );
    let o = push.send_one(&subs[0], &alert, key("alert-1")).await;
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");

    standin.assert_no_violations();
    let got = standin.received_for(&subs[0].endpoint);
    assert_eq!(got.len(), 2);
    let body: serde_json::Value = serde_json::from_str(got[0].payload_str()).unwrap();
    assert_eq!(body["title"], "市報ゆくはし12月号");
    assert_eq!(body["url"], "https://city.yukuhashi.example/news/12");
    assert_eq!(got[0].urgency.as_deref(), Some("normal"));
    assert_eq!(got[0].ttl, 86_400);
    assert_eq!(
        got[0].topic.as_deref(),
        Some(key("n0").simple().to_string().as_str())
    );
    assert_eq!(got[0].vapid_subject, "mailto:bousai@city.yukuhashi.example");
    let alert_got: serde_json::Value = serde_json::from_str(got[1].payload_str()).unwrap();
    assert_eq!(
        alert_got["body"],
        "今元地区に避難指示。直ちに避難してください。"
    );
    assert_eq!(got[1].urgency.as_deref(), Some("high"));
    assert_eq!(standin.received().len(), 6);
    assert_eq!(standin.stats().accepted, 6);
}

#[tokio::test]
async fn gone_subscriptions_fail_with_gone() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(Some(vapid.public_key_base64url()))
        .await
        .unwrap();
    let push = sink(&vapid);
    let sub = standin.new_subscription();
    let msg = PushMessage::notification("t", "b", None);
    assert!(matches!(
        push.send_one(&sub, &msg, key("a")).await,
        Outcome::Sent { .. }
    ));
    standin.set_gone(&sub.endpoint);
    let o = push.send_one(&sub, &msg, key("b")).await;
    assert_eq!(
        o.failure_kind(),
        Some(FailureKind::Gone),
        "410 → gone: {o:?}"
    );
    // Unknown endpoint on the same service: 404 → gone.
    let mut unknown = standin.new_subscription();
    unknown.endpoint = format!("{}/push/nosuch", standin.base_url());
    let o = push.send_one(&unknown, &msg, key("c")).await;
    assert_eq!(
        o.failure_kind(),
        Some(FailureKind::Gone),
        "404 → gone: {o:?}"
    );
    assert_eq!(standin.stats().gone, 2);
    standin.assert_no_violations();
}

#[tokio::test]
async fn throttled_and_failing_push_service_is_retried() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(Some(vapid.public_key_base64url()))
        .await
        .unwrap();
    let mut cfg = PushConfig::new(&vapid, "mailto:bousai@city.yukuhashi.example");
    // The stand-in runs on loopback: allowed explicitly.
    cfg.allow_loopback = true;
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let push = PushSink::new(cfg).unwrap();
    let sub = standin.new_subscription();
    let msg = PushMessage::notification("t", "b", None);
    standin.fail_next(2, 429);
    assert!(matches!(
        push.send_one(&sub, &msg, key("a")).await,
        Outcome::Sent { .. }
    ));
    standin.fail_next(1, 503);
    assert!(matches!(
        push.send_one(&sub, &msg, key("b")).await,
        Outcome::Sent { .. }
    ));
    assert_eq!(standin.stats().requests, 5);
    assert_eq!(standin.received().len(), 2);
    standin.fail_next(10, 429);
    let o = push.send_one(&sub, &msg, key("c")).await;
    assert!(
        matches!(o, Outcome::Retry { .. }),
        "429 past the budget → Retry: {o:?}"
    );
    standin.assert_no_violations();
}

#[tokio::test]
async fn refusals_bad_input_and_record_only() {
    let vapid = VapidKey::generate();
    let other = VapidKey::generate();
    let standin = PushStandIn::start(Some(other.public_key_base64url()))
        .await
        .unwrap();
    let sub = standin.new_subscription();
    let msg = PushMessage::notification("t", "b", None);
    // Signed with a key the subscription was not made for: 403 → unauthorized.
    let o = sink(&vapid).send_one(&sub, &msg, key("a")).await;
    assert_eq!(o.failure_kind(), Some(FailureKind::Unauthorized), "{o:?}");
    assert_eq!(standin.violations().len(), 1);

    let push = sink(&other);
    let mut broken = sub.clone();
    broken.auth = URL_SAFE_NO_PAD.encode([0u8; 5]);
    let o = push.send_one(&broken, &msg, key("b")).await;
    assert_eq!(o.failure_kind(), Some(FailureKind::InvalidRecipient));
    let big = PushMessage {
        payload: "あ".repeat(1500),
        ttl: Duration::from_secs(60),
        urgency: Urgency::Low,
    };
    let o = push.send_one(&sub, &big, key("c")).await;
    assert_eq!(o.failure_kind(), Some(FailureKind::InvalidMessage));
    // The largest payload that fits still goes through.
    let max = PushMessage {
        payload: "x".repeat(channels::push::MAX_PAYLOAD),
        ..big
    };
    assert!(matches!(
        push.send_one(&sub, &max, key("d")).await,
        Outcome::Sent { .. }
    ));

    // Wrong decryption keys on the service side would show up as a violation: none.
    assert_eq!(standin.stats().accepted, 1);

    let mut cfg = PushConfig::new(&other, "mailto:x@example.org");

    // The stand-in runs on loopback: allowed explicitly.

    cfg.allow_loopback = true;
    cfg.vapid_private_key = None;
    let rec = PushSink::new(cfg).unwrap();
    assert!(rec.is_record_only());
    assert_eq!(rec.send_one(&sub, &msg, key("e")).await, Outcome::Recorded);
    assert!(PushSink::new(PushConfig::new(&other, "bousai@city")).is_err());
}

#[tokio::test]
async fn unreachable_push_service_is_retry() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(None).await.unwrap();
    let mut sub = standin.new_subscription();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    sub.endpoint = format!("http://127.0.0.1:{port}/push/x");
    let mut cfg = PushConfig::new(&vapid, "https://city.yukuhashi.example");
    // The stand-in runs on loopback: allowed explicitly.
    cfg.allow_loopback = true;
    cfg.retry = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let push = PushSink::new(cfg).unwrap();
    let o = push
        .send_one(&sub, &PushMessage::notification("t", "b", None), key("x"))
        .await;
    assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
}

/// RFC 8291 Appendix A: the stand-in's decryption (web-push-native) yields the RFC's plaintext.
#[test]
fn rfc8291_appendix_a_decrypts() {
    let d = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
    let ciphertext = d(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    );
    let ua_private =
        p256::SecretKey::from_slice(&d("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).unwrap();
    let auth = web_push_native::Auth::clone_from_slice(&d("BTBZMqHH6r4Tts7J_aSIgg"));
    let plain = web_push_native::decrypt(ciphertext, &ua_private, &auth).unwrap();
    assert_eq!(plain, b"When I grow up, I want to be a watermelon");
}

/// A loopback listener that answers every request with `response` and counts the connections it accepted.
async fn raw_server(response: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                if !response.is_empty() {
                    let _ = stream.write_all(response.as_bytes()).await;
                } else {
                    // Never answers: holds the connection open.
                    tokio::time::sleep(Duration::from_secs(600)).await;
                }
            });
        }
    });
    (base, hits)
}

#[tokio::test]
async fn redirects_are_refused_not_followed() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(Some(vapid.public_key_base64url()))
        .await
        .unwrap();
    let target = standin.new_subscription();
    // The redirect points at a real subscription of the stand-in: following it would be accepted there.
    let response: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            target.endpoint
        )
        .into_boxed_str(),
    );
    let (base, hits) = raw_server(response).await;
    let mut sub = target.clone();
    sub.endpoint = format!("{base}/push/redirecting");
    let o = sink(&vapid)
        .send_one(&sub, &PushMessage::notification("t", "b", None), key("r"))
        .await;
    assert_eq!(o.failure_kind(), Some(FailureKind::Rejected), "{o:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(standin.stats().requests, 0, "the redirect was not followed");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_is_cut_off_after_one_timeout() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(None).await.unwrap();
    let (base, hits) = raw_server("").await;
    let mut sub = standin.new_subscription();
    sub.endpoint = format!("{base}/push/silent");
    let mut cfg = PushConfig::new(&vapid, "mailto:bousai@city.yukuhashi.example");
    cfg.allow_loopback = true;
    cfg.timeout = Duration::from_millis(300);
    let push = PushSink::new(cfg).unwrap();
    let started = std::time::Instant::now();
    let o = push
        .send_one(&sub, &PushMessage::notification("t", "b", None), key("s"))
        .await;
    assert!(matches!(o, Outcome::Retry { .. }), "{o:?}");
    // One attempt (not the 60 s retry budget): the row is rescheduled and the worker is free.
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn refused_endpoints_are_never_connected_to() {
    let vapid = VapidKey::generate();
    let standin = PushStandIn::start(Some(vapid.public_key_base64url()))
        .await
        .unwrap();
    let mut strict_cfg = PushConfig::new(&vapid, "mailto:bousai@city.yukuhashi.example");
    strict_cfg.allow_loopback = false;
    let strict = PushSink::new(strict_cfg).unwrap();
    let good = standin.new_subscription();
    let msg = PushMessage::notification("t", "b", None);
    // Without the explicit allowance even the loopback stand-in is refused before any connection.
    let o = strict.send_one(&good, &msg, key("a")).await;
    assert_eq!(
        o.failure_kind(),
        Some(FailureKind::InvalidRecipient),
        "{o:?}"
    );
    for endpoint in [
        "https://10.0.0.1/push/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/push/x",
        "https://[::ffff:10.0.0.1]/x",
        "http://fcm.googleapis.com/fcm/send/x",
    ] {
        let mut sub = good.clone();
        sub.endpoint = endpoint.to_owned();
        let o = strict.send_one(&sub, &msg, key(endpoint)).await;
        assert_eq!(
            o.failure_kind(),
            Some(FailureKind::InvalidRecipient),
            "{endpoint}: {o:?}"
        );
    }
    assert_eq!(standin.stats().requests, 0);
    let mut bad_cfg = PushConfig::new(&vapid, "mailto:bousai@city.yukuhashi.example");
    bad_cfg.allowed_hosts = vec!["*.".into()];
    assert!(PushSink::new(bad_cfg).is_err());
}
