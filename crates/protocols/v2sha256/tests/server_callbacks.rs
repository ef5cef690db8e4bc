//! The `ProtocolNotifier`: real outbox rows from the engine, encoded and verified with the
//! client SDK's `verify_callback`; retries re-sign the same bytes; the sync redirect verifies
//! with `verify_redirect`.

mod harness;

use harness::*;
use polypay_core::{PaymentCommand, PayoutCommand, Timestamp};
use polypay_notify::{CallbackRequest, ProtocolNotifier};
use polypay_store::testing::TestDb;
use polypay_v2sha256::notify::notify_target;
use polypay_v2sha256::server::notifier;
use polypay_v2sha256::wire::{
    Callback, PaymentStatus, PayoutStatus, RefundCreateRequest, RefundStatus,
};
use polypay_v2sha256::{Client, VerifiedCallback};
use std::sync::Arc;

fn verify(client: &Client, req: &CallbackRequest) -> VerifiedCallback {
    assert_eq!(req.method, "POST");
    let (_, target) = notify_target(&req.url).unwrap();
    client
        .verify_callback(&target, &req.headers, &req.body)
        .unwrap()
}

/// Encodes every outbox row of an object; `None` where the spec sends nothing.
async fn encode_all(
    h: &Harness,
    n: &Arc<dyn ProtocolNotifier>,
    object_id: &str,
) -> Vec<(String, Option<CallbackRequest>)> {
    let now = h.engine().clock().now();
    h.outbox(object_id)
        .await
        .into_iter()
        .map(|e| {
            let encoded = n.encode(&e, &h.merchant, now).unwrap().request();
            (e.event, encoded)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_events_become_signed_payment_webhooks() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let n = notifier(h.node.platform.clone());
        assert_eq!(n.protocol(), polypay_core::Protocol::V2sha256);
        let no = h.paid_payment("ORD-CB", "100.05").await;
        let id = h.payment_id(&no).await;
        let events = encode_all(&h, &n, id.as_str()).await;
        let names: Vec<_> = events
            .iter()
            .map(|(e, r)| (e.as_str(), r.is_some()))
            .collect();
        assert_eq!(
            names,
            [("payment.created", false), ("payment.succeeded", true)]
        );
        let req = events[1].1.clone().unwrap();
        assert_eq!(req.url, "https://merchant.example.com/notify?src=pg");
        let ct = req
            .headers
            .iter()
            .find(|(k, _)| k == "Content-Type")
            .unwrap();
        assert_eq!(ct.1, "application/json;charset=UTF-8");
        let verified = verify(&h.client, &req);
        let Callback::Payment(data) = verified.callback else {
            panic!("not a PAYMENT webhook")
        };
        assert_eq!(
            (data.payment_no.as_str(), data.status),
            (no.as_str(), PaymentStatus::Paid)
        );
        assert_eq!(
            (data.amount.as_str(), data.merchant_attach.as_deref()),
            ("100.05", Some("a=1"))
        );
        assert!(data.paid_time.is_some());
        let body = String::from_utf8(req.body.clone()).unwrap();
        assert!(
            body.starts_with(r#"{"type":"PAYMENT","data":{"paymentNo":""#),
            "{body}"
        );

        // A retry: the same bytes, a fresh timestamp/nonce/sign that still verifies.
        h.clock.advance(60_000);
        let retry = n.reencode(&req, &h.merchant, 2, h.engine().clock().now());
        assert_eq!(
            (retry.url.as_str(), &retry.body),
            (req.url.as_str(), &req.body)
        );
        assert_ne!(retry.headers, req.headers);
        let again = verify(&h.client, &retry);
        assert_eq!(again.timestamp_ms, verified.timestamp_ms + 60_000);
        assert_ne!(again.nonce, verified.nonce);

        // Tampering is caught by the merchant.
        let mut forged = req.clone();
        forged.body = body.replace("100.05", "999.99").into_bytes();
        let (_, target) = notify_target(&forged.url).unwrap();
        assert!(
            h.client
                .verify_callback(&target, &forged.headers, &forged.body)
                .is_err()
        );

        assert!(n.is_ack(200, br#"{"code":"OK"}"#) && !n.is_ack(200, b"OK"));
        let offsets = n.attempt_offsets_ms();
        assert_eq!(offsets.len(), 9);
        assert_eq!(
            (offsets[0], offsets[1], offsets[8]),
            (0, 60_000, 86_400_000)
        );
        assert_eq!(n.attempt_timeout(), std::time::Duration::from_secs(10));
        assert!(
            !n.independent_deliveries(),
            "one object's callbacks in event order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_expired_payments_notify_opened_ones_do_not() {
    let h = Harness::new(TestDb::sqlite()).await;
    let n = notifier(h.node.platform.clone());
    for (trade_no, cmd, status) in [
        (
            "ORD-F",
            PaymentCommand::Fail {
                code: "DECLINED".into(),
                message: "declined".into(),
            },
            PaymentStatus::Failed,
        ),
        ("ORD-E", PaymentCommand::Expire, PaymentStatus::Expired),
        ("ORD-C", PaymentCommand::Cancel, PaymentStatus::Closed),
    ] {
        let r = h
            .client
            .payment_create(&payment_request(trade_no, "5.00"))
            .await
            .unwrap();
        let id = h.payment_id(&r.data.unwrap().payment_no).await;
        h.engine()
            .transition_payment(&id, PaymentCommand::Open)
            .await
            .unwrap();
        h.engine().transition_payment(&id, cmd).await.unwrap();
        let events = encode_all(&h, &n, id.as_str()).await;
        let sent: Vec<_> = events.iter().map(|(_, r)| r.is_some()).collect();
        assert_eq!(sent, [false, false, true], "{trade_no}");
        let Callback::Payment(data) = verify(&h.client, events[2].1.as_ref().unwrap()).callback
        else {
            panic!("not a PAYMENT webhook")
        };
        assert_eq!((data.status, data.paid_time), (status, None));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payout_and_refund_webhooks() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let n = notifier(h.node.platform.clone());
        let paid = h.paid_payment("ORD-R", "50.00").await;

        let po = h
            .client
            .payout_create(&payout_request("PO-CB", "20.00"))
            .await
            .unwrap();
        let payout = h.payout(&po.data.unwrap().payout_no).await;
        h.engine()
            .transition_payout(&payout.id, PayoutCommand::Process)
            .await
            .unwrap();
        let done = PayoutCommand::Succeed {
            channel_order_no: "UTR9".into(),
        };
        h.engine()
            .transition_payout(&payout.id, done)
            .await
            .unwrap();
        let events = encode_all(&h, &n, payout.id.as_str()).await;
        let sent: Vec<_> = events
            .iter()
            .map(|(e, r)| (e.as_str(), r.is_some()))
            .collect();
        assert_eq!(
            sent,
            [
                ("payout.pending", false),
                ("payout.processing", false),
                ("payout.succeeded", true)
            ]
        );
        let req = events[2].1.as_ref().unwrap();
        assert_eq!(req.url, "https://merchant.example.com/payouts");
        let Callback::Payout(data) = verify(&h.client, req).callback else {
            panic!("not a PAYOUT webhook")
        };
        assert_eq!(
            (data.status, data.amount.as_str()),
            (PayoutStatus::Paid, "20.00")
        );
        assert!(data.finished_time.is_some());

        let refund = RefundCreateRequest {
            merchant_trade_no: "RF-CB".into(),
            payment_no: Some(paid.clone()),
            payment_merchant_trade_no: None,
            amount: "10.00".into(),
            reason: None,
            notify_url: Some("https://merchant.example.com/refunds?k=1".into()),
        };
        let r = h.client.refund_create(&refund).await.unwrap().data.unwrap();
        let stored = h.engine().refund_by_public_id(&r.refund_no).await.unwrap();
        let events = encode_all(&h, &n, stored.id.as_str()).await;
        let sent: Vec<_> = events
            .iter()
            .map(|(e, r)| (e.as_str(), r.is_some()))
            .collect();
        assert_eq!(
            sent,
            [("refund.pending", false), ("refund.succeeded", true)]
        );
        let req = events[1].1.as_ref().unwrap();
        assert_eq!(req.url, "https://merchant.example.com/refunds?k=1");
        let Callback::Refund(data) = verify(&h.client, req).callback else {
            panic!("not a REFUND webhook")
        };
        assert_eq!(
            (data.status, data.payment_no.as_str()),
            (RefundStatus::Refunded, paid.as_str())
        );
        assert_eq!(data.reason, None);

        // The refund also moved the payment: a PAYMENT webhook says PARTIALLY_REFUNDED.
        let payment_events = encode_all(&h, &n, h.payment_id(&paid).await.as_str()).await;
        let (name, last) = payment_events.last().unwrap();
        assert_eq!(name, "payment.partially_refunded");
        let Callback::Payment(data) = verify(&h.client, last.as_ref().unwrap()).callback else {
            panic!("not a PAYMENT webhook")
        };
        assert_eq!(
            (data.status, data.refunded_amount.as_str()),
            (PaymentStatus::PartiallyRefunded, "10.00")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_signed_and_only_for_finished_payments() {
    let h = Harness::new(TestDb::sqlite()).await;
    let n = notifier(h.node.platform.clone());
    let r = h
        .client
        .payment_create(&payment_request("ORD-RD", "100.05"))
        .await
        .unwrap();
    let no = r.data.unwrap().payment_no;
    let now = Timestamp(1_715_670_800_000);
    let open = h.payment(&no).await;
    assert_eq!(n.redirect_url(&open, &h.merchant, now), None);
    let paid = h.pay(&no).await;
    let url = n.redirect_url(&paid, &h.merchant, now).unwrap();
    assert!(url.starts_with(&format!(
        "https://merchant.example.com/return?merchantTradeNo=ORD-RD&paymentNo={no}&status=PAID&amount=100.05&currency=INR&merchantAttach=a%3D1&timestamp=1715670800000&nonce="
    )), "{url}");
    let params = h.client.verify_redirect(&url).unwrap();
    assert_eq!(
        (params.payment_no.as_str(), params.status),
        (no.as_str(), PaymentStatus::Paid)
    );
    let forged = url.replace("amount=100.05", "amount=1.05");
    assert!(h.client.verify_redirect(&forged).is_err());
    let mut no_return = paid.clone();
    no_return.return_url = None;
    assert_eq!(n.redirect_url(&no_return, &h.merchant, now), None);
}
