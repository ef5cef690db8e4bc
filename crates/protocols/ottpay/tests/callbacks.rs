//! The ProtocolNotifier (spec §7) on real outbox rows, verified by the phase-1 client: only
//! `payment.succeeded` is notified, with identical bytes on retries; the PREPAY redirect.

mod harness;

use harness::{Harness, active_pay, prepay_init};
use polypay_core::{Payment, PaymentCommand, Timestamp};
use polypay_notify::{CallbackRequest, Encoded, ProtocolNotifier, Skip};
use polypay_ottpay::client::parse_redirect;
use polypay_ottpay::wire::PrepayQueryRequest;
use polypay_store::testing::TestDb;
use std::sync::Arc;

fn notifier(h: &Harness) -> Arc<dyn ProtocolNotifier> {
    polypay_ottpay::server::notifier(h.platform.clone())
}

/// Encodes every outbox row of a payment; answers (event name, callback) pairs.
async fn encode_all(h: &Harness, payment: &Payment) -> Vec<(String, Option<CallbackRequest>)> {
    let n = notifier(h);
    let merchant = h.engine.merchant(&h.merchant.id).await.expect("merchant");
    let now = Timestamp(harness::START_MS);
    h.outbox(payment)
        .await
        .iter()
        .map(|e| {
            (
                e.event.clone(),
                n.encode(e, &merchant, now).expect("encode").request(),
            )
        })
        .collect()
}

fn only_success(encoded: Vec<(String, Option<CallbackRequest>)>) -> CallbackRequest {
    let mut sent: Vec<_> = encoded.into_iter().filter(|(_, c)| c.is_some()).collect();
    assert_eq!(sent.len(), 1, "exactly one callback");
    let (event, callback) = sent.remove(0);
    assert_eq!(event, "payment.succeeded");
    callback.expect("callback")
}

#[tokio::test]
async fn a_paid_active_pay_order_gets_one_verified_callback() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let created = h
            .client()
            .active_pay(&active_pay(Some("C1"), "3", "1"))
            .await
            .expect("call");
        let created = created.into_verified().expect("verified");
        let paid = h.pay("C1").await;
        let callback = only_success(encode_all(&h, &paid).await);
        assert_eq!(callback.url, "https://m.example/cb");
        assert_eq!(callback.method, "POST");
        assert_eq!(
            callback.headers,
            vec![(
                "Content-Type".to_owned(),
                "application/json;charset=UTF-8".to_owned()
            )]
        );
        let body = String::from_utf8_lossy(&callback.body).into_owned();
        assert!(
            body.starts_with(r#"{"rsp_code":"SUCCESS","rsp_msg":"success","merchant_id":""#),
            "{body}"
        );

        let data = h
            .client()
            .verify_callback(&[], &callback.body)
            .expect("verified");
        assert_eq!((data.amount.as_str(), data.tip.as_str()), ("3", "1"));
        assert_eq!(data.bizpay_order_id, created.bizpay_order_id);
        assert_eq!(data.exchange_rate, "5.057030");
        assert_eq!(data.merchant_id, h.ott_merchant_id());
        assert_eq!(data.order_id, "C1");
        assert_eq!(data.finish_time, "2023-03-23 01:21:53");
        assert_eq!(data.remarks, "");
        assert!(data.sub_open_id.starts_with("sbx"));
        assert_eq!((data.prepay_order_id, data.sale_num), (None, None));

        // Another signKey cannot read it.
        let other = h
            .client_with_key("0000000000000000")
            .verify_callback(&[], &callback.body);
        assert!(other.is_err());

        // Retries send identical bytes.
        let n = notifier(&h);
        let merchant = h.engine.merchant(&h.merchant.id).await.expect("merchant");
        assert_eq!(n.reencode(&callback, &merchant, 3, Timestamp(0)), callback);
    }
}

#[tokio::test]
async fn failures_expiry_and_refunds_are_not_notified() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let client = h.client();
    for id in ["F1", "E1"] {
        client
            .active_pay(&active_pay(Some(id), "100", "0"))
            .await
            .expect("call");
    }
    let f = h.payment("F1").await;
    let failed = h
        .engine
        .transition_payment(
            &f.id,
            PaymentCommand::Fail {
                code: "X".into(),
                message: "x".into(),
            },
        )
        .await
        .expect("fail");
    assert!(
        encode_all(&h, &failed)
            .await
            .iter()
            .all(|(_, c)| c.is_none())
    );
    let e = h.payment("E1").await;
    let expired = h
        .engine
        .transition_payment(&e.id, PaymentCommand::Expire)
        .await
        .expect("expire");
    assert!(
        encode_all(&h, &expired)
            .await
            .iter()
            .all(|(_, c)| c.is_none())
    );

    client
        .active_pay(&active_pay(Some("R1"), "100", "0"))
        .await
        .expect("call");
    h.pay("R1").await;
    let refund = polypay_ottpay::wire::RefundRequest {
        order_id: Some("RF1".into()),
        ori_order_id: "R1".into(),
        refund_amt: "100".into(),
        merchant_id: None,
    };
    assert_eq!(
        client.refund(&refund).await.expect("call").rsp_code,
        "SUCCESS"
    );
    let paid = h.payment("R1").await;
    // payment.refunded and the refund's own events send nothing; only the success did.
    only_success(encode_all(&h, &paid).await);
    let refunds = h
        .engine
        .refunds_of_payment(&paid.id)
        .await
        .expect("refunds");
    let refund_id = refunds[0].id.as_str().to_owned();
    let events = h
        .engine
        .store()
        .read(move |db| db.outbox_of_object(&refund_id))
        .await
        .expect("outbox");
    let merchant = h.engine.merchant(&h.merchant.id).await.expect("merchant");
    assert!(!events.is_empty());
    for event in &events {
        assert_eq!(
            notifier(&h).encode(event, &merchant, Timestamp(0)),
            Ok(Encoded::Skip(Skip::NotNotified))
        );
    }
}

#[tokio::test]
async fn prepay_callbacks_carry_the_prepay_fields_and_the_redirect_is_readable() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        h.client()
            .prepay_init(&prepay_init("pp-1"))
            .await
            .expect("call");
        let payment = h
            .engine
            .payment_by_order_no(&h.merchant.id, "pp-1")
            .await
            .expect("payment");
        let n = notifier(&h);
        let merchant = h.engine.merchant(&h.merchant.id).await.expect("merchant");
        assert_eq!(
            n.redirect_url(&payment, &merchant, Timestamp(0)),
            None,
            "open: no redirect"
        );

        let order_id = payment
            .public_id
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let paid = h.pay(&order_id).await;
        let callback = only_success(encode_all(&h, &paid).await);
        let data = h
            .client()
            .verify_callback(&[], &callback.body)
            .expect("verified");
        assert_eq!(data.order_id, order_id);
        assert_eq!(data.prepay_order_id.as_deref(), Some("pp-1"));
        assert_eq!(data.sale_num.as_deref(), Some("20220727132626764"));
        assert_eq!(
            (data.remarks.as_str(), data.amount.as_str()),
            ("可以", "500")
        );
        assert_eq!(data.bizpay_order_id, "WX5908991856628806");

        let location = n
            .redirect_url(&paid, &merchant, Timestamp(0))
            .expect("redirect");
        assert!(
            location.starts_with("https://m.example/back?x=1&total_fee=500&trade_no="),
            "{location}"
        );
        let params = parse_redirect(&location).expect("readable");
        assert_eq!(params.total_fee, "500");
        assert_eq!(params.trade_no, order_id);
        assert_eq!(params.out_trade_no, "pp-1");
        assert_eq!(params.trade_status, "Trade_Finished");
        // The redirect is unsigned: the merchant confirms with PREPAY_QUERY.
        let query = PrepayQueryRequest {
            prepay_order_id: params.out_trade_no,
            order_id: Some(params.trade_no),
            merchant_id: String::new(),
        };
        let confirmed = h.client().prepay_query(&query).await.expect("call");
        assert_eq!(
            confirmed.into_verified().expect("verified").status,
            "SUCCESS"
        );
    }
}

#[tokio::test]
async fn prepay_redirects_report_failure_and_cancellation() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let n = notifier(&h);
    let merchant = h.engine.merchant(&h.merchant.id).await.expect("merchant");
    let cases = [
        (
            "pp-f",
            PaymentCommand::Fail {
                code: "X".into(),
                message: "x".into(),
            },
            "Trade_Failed",
        ),
        ("pp-c", PaymentCommand::Cancel, "Trade_Closed"),
        ("pp-e", PaymentCommand::Expire, "Trade_Closed"),
    ];
    for (id, command, status) in cases {
        h.client()
            .prepay_init(&prepay_init(id))
            .await
            .expect("call");
        let p = h
            .engine
            .payment_by_order_no(&h.merchant.id, id)
            .await
            .expect("payment");
        let done = h
            .engine
            .transition_payment(&p.id, command)
            .await
            .expect("transition");
        let location = n
            .redirect_url(&done, &merchant, Timestamp(0))
            .expect("redirect");
        assert_eq!(
            parse_redirect(&location).expect("readable").trade_status,
            status
        );
    }
    // ACTIVEPAY orders have no redirect even when finished.
    h.client()
        .active_pay(&active_pay(Some("A1"), "100", "0"))
        .await
        .expect("call");
    let paid = h.pay("A1").await;
    assert_eq!(n.redirect_url(&paid, &merchant, Timestamp(0)), None);
}

#[tokio::test]
async fn the_schedule_and_ack_rule_follow_section_7() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    let n = notifier(&h);
    assert_eq!(n.protocol(), polypay_core::Protocol::Ottpay);
    assert_eq!(
        n.attempt_offsets_ms(),
        vec![0, 60_000, 300_000, 900_000, 3_600_000, 21_600_000]
    );
    assert_eq!(n.attempt_timeout(), std::time::Duration::from_secs(10));
    assert!(
        !n.independent_deliveries(),
        "one object's callbacks in event order"
    );
    assert!(n.is_ack(200, b"anything"));
    assert!(n.is_ack(204, b""));
    assert!(!n.is_ack(302, b"SUCCESS"));
    assert!(!n.is_ack(500, b"SUCCESS"));
}
