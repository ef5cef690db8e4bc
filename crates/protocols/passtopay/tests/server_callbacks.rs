//! The ProtocolNotifier on real outbox rows: which events notify, each callback verified by
//! the merchant-side client in all three encodings, the retry/ack rules, and the redirect.

mod harness;

use harness::*;
use polypay_core::{PaymentCommand, PayoutCommand};
use polypay_passtopay::notify::CallbackData;
use polypay_passtopay::wire::*;

#[tokio::test]
async fn payment_success_notifies_once_and_verifies() {
    for h in Harness::all().await {
        let paid = h.paid("P1", 100).await;
        let id = paid.id.as_str();
        assert!(h.encode(id, "payment.pending").await.is_none());
        let cb = h.encode(id, "payment.succeeded").await.expect("notified");
        assert_eq!((cb.method.as_str(), cb.url.as_str()), ("POST", NOTIFY_URL));
        assert_eq!(
            cb.headers,
            [(
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            )]
        );
        let CallbackData::Payment(n) = h.verify(&cb).unwrap() else {
            panic!("not a payment callback")
        };
        assert_eq!((n.order.state, n.order.amount, n.req_time), (2, 100, START));
        assert_eq!(n.order.pay_order_id, paid.public_id);
        assert_eq!(n.order.success_time, Some(START));
        assert_eq!(n.order.subject.as_deref(), Some("商品"));
        assert_eq!(n.order.ext_param.as_deref(), Some("ext & more"));
        assert_eq!(n.order.pay_url, None);

        // Later refunds do not re-notify the payment; the refund gets its own callback.
        let by_no = PayOrderRef::MchOrderNo("P1".into());
        let r = h
            .client
            .refund(&by_no, &refund_params("RF1", 100))
            .await
            .unwrap()
            .data;
        assert!(h.encode(id, "payment.refunded").await.is_none());
        let refund = h
            .engine
            .refund_by_public_id(&r.refund_order_id)
            .await
            .unwrap();
        let rid = refund.id.as_str();
        assert!(h.encode(rid, "refund.pending").await.is_none());
        let cb = h
            .encode(rid, "refund.succeeded")
            .await
            .expect("refund notified");
        let CallbackData::Refund(n) = h.verify(&cb).unwrap() else {
            panic!("not a refund callback")
        };
        assert_eq!(
            (n.refund.state, n.refund.refund_amount, n.refund.pay_amount),
            (2, 100, 100)
        );
        assert_eq!(n.refund.pay_order_id, paid.public_id);
    }
}

#[tokio::test]
async fn failure_expiry_and_customer_cancel_notify() {
    for h in Harness::all().await {
        let cases = [
            (
                "F1",
                PaymentCommand::Fail {
                    code: "SANDBOX_FAIL".into(),
                    message: "payment failed".into(),
                },
                "payment.failed",
                3,
            ),
            ("F2", PaymentCommand::Expire, "payment.expired", 6),
            ("F3", PaymentCommand::Cancel, "payment.cancelled", 6),
        ];
        for (no, cmd, event, state) in cases {
            let d = h.unified(no, 100).await;
            let p = h.payment(&d.pay_order_id).await;
            h.engine.transition_payment(&p.id, cmd).await.unwrap();
            let cb = h.encode(p.id.as_str(), event).await.expect(event);
            let CallbackData::Payment(n) = h.verify(&cb).unwrap() else {
                panic!()
            };
            assert_eq!(
                (n.order.state, n.order.success_time),
                (state, None),
                "{event}"
            );
            if state == 3 {
                assert_eq!(n.order.err_code.as_deref(), Some("SANDBOX_FAIL"));
                assert_eq!(n.order.err_msg.as_deref(), Some("payment failed"));
            }
        }
        // No notifyUrl, no callback.
        let mut silent = unified_params("F4", 100);
        silent.notify_url = None;
        let d = h.client.create_unified_order(&silent).await.unwrap().data;
        let paid = h.pay(&d.pay_order_id).await;
        assert!(
            h.encode(paid.id.as_str(), "payment.succeeded")
                .await
                .is_none()
        );
    }
}

#[tokio::test]
async fn transfer_outcomes_notify() {
    for h in Harness::all().await {
        h.paid("P1", 1000).await;
        let ok = h
            .client
            .transfer(&transfer_params("T1", 100))
            .await
            .unwrap()
            .data;
        let po = h.engine.payout_by_public_id(&ok.transfer_id).await.unwrap();
        assert!(
            h.encode(po.id.as_str(), "payout.processing")
                .await
                .is_none()
        );
        let cmd = PayoutCommand::Succeed {
            channel_order_no: "CH1".into(),
        };
        h.engine.transition_payout(&po.id, cmd).await.unwrap();
        let cb = h.encode(po.id.as_str(), "payout.succeeded").await.unwrap();
        let CallbackData::Transfer(n) = h.verify(&cb).unwrap() else {
            panic!()
        };
        assert_eq!((n.transfer.state, n.transfer.amount), (2, 100));
        assert_eq!(n.transfer.channel_order_no.as_deref(), Some("CH1"));
        assert_eq!(n.transfer.account_no, "6222021234567890123");

        let bad = h
            .client
            .transfer(&transfer_params("T2", 100))
            .await
            .unwrap()
            .data;
        let po = h
            .engine
            .payout_by_public_id(&bad.transfer_id)
            .await
            .unwrap();
        let cmd = PayoutCommand::Fail {
            code: "SANDBOX_FAIL".into(),
            message: "transfer failed".into(),
        };
        h.engine.transition_payout(&po.id, cmd).await.unwrap();
        let cb = h.encode(po.id.as_str(), "payout.failed").await.unwrap();
        let CallbackData::Transfer(n) = h.verify(&cb).unwrap() else {
            panic!()
        };
        assert_eq!(
            (n.transfer.state, n.transfer.err_code.as_deref()),
            (3, Some("SANDBOX_FAIL"))
        );
    }
}

#[tokio::test]
async fn notify_formats_follow_the_merchant_setting() {
    for h in Harness::all().await {
        let paid = h.paid("P1", 100).await;
        let id = paid.id.as_str();

        h.set_settings(serde_json::json!({"notify_format": "json"}))
            .await;
        let cb = h.encode(id, "payment.succeeded").await.unwrap();
        assert_eq!(cb.headers[0].1, "application/json");
        let v: serde_json::Value = serde_json::from_slice(&cb.body).unwrap();
        assert!(v["amount"].is_i64() && v["state"].is_i64() && v["mchNo"].is_string());
        assert!(matches!(h.verify(&cb).unwrap(), CallbackData::Payment(_)));

        h.set_settings(serde_json::json!({"notify_format": "query"}))
            .await;
        let cb = h.encode(id, "payment.succeeded").await.unwrap();
        assert!(cb.body.is_empty() && cb.headers.is_empty());
        assert!(
            cb.url.starts_with(&format!("{NOTIFY_URL}&amount=100&")),
            "{}",
            cb.url
        );
        assert!(matches!(h.verify(&cb).unwrap(), CallbackData::Payment(_)));

        // A tampered callback does not verify.
        let mut forged = cb.clone();
        forged.url = forged.url.replace("amount=100", "amount=1");
        assert!(h.verify(&forged).is_err());
    }
}

#[tokio::test]
async fn retries_ack_and_redirect() {
    for h in Harness::all().await {
        let n = h.notifier();
        assert_eq!(n.protocol(), polypay_core::Protocol::Passtopay);
        assert_eq!(
            n.attempt_offsets_ms(),
            [0, 30_000, 60_000, 90_000, 120_000, 150_000]
        );
        assert_eq!(n.attempt_timeout(), std::time::Duration::from_secs(20));
        assert!(
            !n.independent_deliveries(),
            "one object's callbacks in event order"
        );
        assert!(n.is_ack(500, b"SUCCESS") && n.is_ack(200, b"success"));
        assert!(!n.is_ack(200, b"success\n") && !n.is_ack(200, b"ok"));

        let paid = h.paid("P1", 100).await;
        let first = h
            .encode(paid.id.as_str(), "payment.succeeded")
            .await
            .unwrap();
        h.clock.advance(30_000);
        let merchant = h.merchant_now().await;
        let retry = n.reencode(
            &first,
            &merchant,
            2,
            polypay_core::Timestamp(START + 30_000),
        );
        assert_eq!(retry, first, "every attempt re-sends identical bytes");

        let url = n
            .redirect_url(&paid, &merchant, polypay_core::Timestamp(START + 1))
            .unwrap();
        assert!(
            url.starts_with(&format!("{RETURN_URL}?amount=100&")),
            "{url}"
        );
        let back = h.client.verify_redirect(&url).unwrap();
        assert_eq!((back.order.state, back.req_time), (2, START + 1));
        let mut no_return = paid.clone();
        no_return.return_url = None;
        assert!(
            n.redirect_url(&no_return, &merchant, polypay_core::Timestamp(START))
                .is_none()
        );
    }
}
