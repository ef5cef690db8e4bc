//! The ProtocolNotifier on real outbox rows: which events send a webhook, its exact plaintext,
//! verification with the merchant SDK, identical retries, the ack rule and the schedule.

mod harness;

use harness::*;
use polypay_core::{Merchant, PaymentCommand, Timestamp};
use polypay_fintech33::wire::{OrderStatus, PaymentOrderStatus};
use polypay_notify::{CallbackRequest, Encoded, ProtocolNotifier, Skip};
use polypay_store::OutboxEvent;
use polypay_store::testing::TestDb;
use std::sync::Arc;
use std::time::Duration;

async fn outbox(h: &Harness, object_id: &str) -> Vec<OutboxEvent> {
    let id = object_id.to_owned();
    h.engine
        .store()
        .read(move |db| db.outbox_of_object(&id))
        .await
        .expect("outbox")
}

/// Encodes every event of the object: `(event name, request if any)`.
fn encode_all(
    n: &Arc<dyn ProtocolNotifier>,
    events: &[OutboxEvent],
    merchant: &Merchant,
) -> Vec<(String, Option<CallbackRequest>)> {
    events
        .iter()
        .map(|e| {
            let req = n.encode(e, merchant, Timestamp(START_MS)).expect("encode");
            (e.event.clone(), req.request())
        })
        .collect()
}

fn verify(h: &Harness, req: &CallbackRequest) -> PaymentOrderStatus {
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "http://127.0.0.1:9/fintech33-hook");
    assert_eq!(
        req.headers,
        vec![(
            "Content-Type".to_owned(),
            "application/json;charset=UTF-8".to_owned()
        )]
    );
    h.client()
        .verify_callback(&[], &req.body)
        .expect("webhook verifies with the merchant SDK")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_and_refund_events_become_verified_webhooks() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;
        let payer_id = client
            .create_payer(&t, &payer("tm.chan@example.com"))
            .await
            .unwrap()
            .result
            .unwrap()
            .payer_id;
        let created = client
            .create_order(&t, &order("ORDER-0001", payer_id, "999.33"))
            .await
            .unwrap()
            .result
            .unwrap();
        let payment = h.pay("ORDER-0001").await;
        client
            .refund_order(&t, &by_sn("ORDER-0001"))
            .await
            .unwrap()
            .result
            .unwrap();
        let notifier = polypay_fintech33::server::notifier(h.platform.clone());
        let merchant = h.merchant().await;

        let payment_events =
            encode_all(&notifier, &outbox(&h, payment.id.as_str()).await, &merchant);
        let names: Vec<_> = payment_events
            .iter()
            .map(|(e, r)| (e.as_str(), r.is_some()))
            .collect();
        assert_eq!(
            names,
            [
                ("payment.created", false),
                ("payment.pending", true),
                ("payment.succeeded", true),
                ("payment.refunded", false),
            ]
        );
        let refund = h
            .engine
            .refunds_of_payment(&payment.id)
            .await
            .unwrap()
            .remove(0);
        let refund_events = encode_all(&notifier, &outbox(&h, refund.id.as_str()).await, &merchant);
        let names: Vec<_> = refund_events
            .iter()
            .map(|(e, r)| (e.as_str(), r.is_some()))
            .collect();
        assert_eq!(
            names,
            [("refund.pending", true), ("refund.succeeded", true)]
        );

        let sent: Vec<PaymentOrderStatus> = payment_events
            .iter()
            .chain(&refund_events)
            .filter_map(|(_, r)| r.as_ref())
            .map(|r| verify(&h, r))
            .collect();
        let statuses: Vec<_> = sent.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            [
                OrderStatus::Processing,
                OrderStatus::Paid,
                OrderStatus::RefundRequest,
                OrderStatus::RefundCompleted
            ]
        );
        for s in &sent {
            assert_eq!(s.order_sn, "ORDER-0001");
            assert_eq!(s.platform_order_sn, "SS2024010112000000001");
            assert_eq!(s.request_id, 10_000_001);
            assert_eq!(s.region, "HKG");
            assert_eq!(s.payer_email, "tm.chan@example.com");
            assert_eq!(s.description, "Test order");
            assert_eq!(s.comment, "PAY_FOR_GOODS");
            assert_eq!(s.currency, "USD");
            assert_eq!(s.amount.to_string(), "999.33");
            assert_eq!(s.link_id, created.link_id);
            assert_eq!(s.link_expiry, created.link_expiry);
            assert_eq!(s.request_time, s.creation_time);
            assert_eq!(s.fail_times, 0);
        }

        // The plaintext is the spec's wrapper object, fields in table order.
        let (_, Some(paid)) = &payment_events[2] else {
            panic!("no Paid webhook")
        };
        let body: serde_json::Value = serde_json::from_slice(&paid.body).unwrap();
        assert_eq!(body["noticeType"], "PaymentOrderStatus");
        let keys = h.client().keys().cipher.clone();
        let plain = keys
            .decrypt_b64(body["bizContent"].as_str().unwrap())
            .unwrap();
        let text = String::from_utf8(plain).unwrap();
        assert!(
            text.starts_with(&format!(
                r#"{{"PaymentOrderStatus":{{"order_sn":"ORDER-0001","platform_order_sn":"SS2024010112000000001","requestID":10000001,"region":"HKG","payerEmail":"tm.chan@example.com","description":"Test order","comment":"PAY_FOR_GOODS","requestTime":"2024-01-01 12:00:00.000+0000","currency":"USD","amount":999.33,"linkID":"{}","linkExpiry":"2024-01-01 12:15:00.000+0000","status":"Paid","failTimes":0,"creationTime":"2024-01-01 12:00:00.000+0000"}}}}"#,
                created.link_id
            )),
            "{text}"
        );

        // Retries send identical bytes; ack rule, schedule and timeout are the spec's.
        assert_eq!(
            &notifier.reencode(paid, &merchant, 3, Timestamp(START_MS + 1)),
            paid
        );
        assert!(notifier.is_ack(500, br#"{"code":0}"#));
        assert!(notifier.is_ack(200, br#"{"code":"0"}"#));
        assert!(!notifier.is_ack(200, br#"{"code":1}"#));
        let offsets = notifier.attempt_offsets_ms();
        assert_eq!(offsets.len(), 10);
        assert_eq!(
            (offsets[0], offsets[1], offsets[9]),
            (0, 60_000, 12 * 3_600_000)
        );
        assert_eq!(notifier.attempt_timeout(), Duration::from_secs(10));
        assert!(
            !notifier.independent_deliveries(),
            "one object's callbacks in event order"
        );
        assert_eq!(
            notifier.redirect_url(&payment, &merchant, Timestamp(START_MS)),
            None
        );
        assert_eq!(notifier.protocol(), polypay_core::Protocol::Fintech33);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_count_and_webhook_url_rules() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        let t = client.token().await.unwrap().token;
        let payer_id = client
            .create_payer(&t, &payer("a@example.com"))
            .await
            .unwrap()
            .result
            .unwrap()
            .payer_id;
        for sn in ["F-1", "F-2"] {
            client
                .create_order(&t, &order(sn, payer_id, "1"))
                .await
                .unwrap()
                .result
                .unwrap();
        }
        let failed = h.payment("F-1").await;
        let fail = PaymentCommand::Fail {
            code: "DECLINED".into(),
            message: "card declined".into(),
        };
        h.engine.transition_payment(&failed.id, fail).await.unwrap();
        let cancelled = h.payment("F-2").await;
        h.engine
            .transition_payment(&cancelled.id, PaymentCommand::Cancel)
            .await
            .unwrap();

        let notifier = polypay_fintech33::server::notifier(h.platform.clone());
        let merchant = h.merchant().await;
        let events = outbox(&h, failed.id.as_str()).await;
        let (_, req) = encode_all(&notifier, &events, &merchant).pop().unwrap();
        let notice = verify(&h, &req.unwrap());
        assert_eq!((notice.status, notice.fail_times), (OrderStatus::Failed, 1));
        let events = outbox(&h, cancelled.id.as_str()).await;
        let (_, req) = encode_all(&notifier, &events, &merchant).pop().unwrap();
        assert_eq!(verify(&h, &req.unwrap()).status, OrderStatus::Cancelled);

        // The per-protocol webhook URL wins; no URL at all means nothing is sent.
        let last = events.last().unwrap();
        let mut m = merchant.clone();
        m.settings = serde_json::json!({"fintech33": {"webhook_url": "http://127.0.0.1:9/other"}});
        let req = notifier
            .encode(last, &m, Timestamp(START_MS))
            .unwrap()
            .request()
            .unwrap();
        assert_eq!(req.url, "http://127.0.0.1:9/other");
        let mut m = merchant.clone();
        m.notify_url = None;
        assert_eq!(
            notifier.encode(last, &m, Timestamp(START_MS)).unwrap(),
            Encoded::Skip(Skip::NoUrl),
            "the delivery's note says why"
        );
    }
}
