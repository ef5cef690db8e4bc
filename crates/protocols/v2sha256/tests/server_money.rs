//! Payouts, refunds and balances through the router on a real engine (§5.4–§5.7, §8).

mod harness;

use harness::*;
use polypay_core::{PaymentState, PayoutCommand, PayoutState, RefundState};
use polypay_store::testing::TestDb;
use polypay_v2sha256::wire::{
    BalanceQueryRequest, PaymentQueryRequest, PaymentStatus, PayoutQueryRequest, PayoutStatus,
    RefundCreateRequest, RefundQueryRequest, RefundStatus,
};

fn refund_request(trade_no: &str, payment_no: &str, amount: &str) -> RefundCreateRequest {
    RefundCreateRequest {
        merchant_trade_no: trade_no.into(),
        payment_no: Some(payment_no.into()),
        payment_merchant_trade_no: None,
        amount: amount.into(),
        reason: Some("damaged".into()),
        notify_url: None,
    }
}

async fn balance(h: &Harness, currency: Option<&str>) -> Vec<(String, String, String)> {
    let req = BalanceQueryRequest {
        currency: currency.map(str::to_owned),
    };
    let r = h
        .client
        .balance_query(&req)
        .await
        .unwrap()
        .into_verified()
        .unwrap();
    r.data
        .unwrap()
        .balances
        .into_iter()
        .map(|b| (b.currency, b.available, b.frozen))
        .collect()
}

fn row(c: &str, available: &str, frozen: &str) -> (String, String, String) {
    (c.into(), available.into(), frozen.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_debit_freeze_and_settle() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        assert_eq!(balance(&h, None).await, []);
        assert_eq!(balance(&h, Some("INR")).await, [row("INR", "0.00", "0.00")]);
        // A currency V2_SHA256 payments may not use is still one the ledger may hold (another
        // protocol's): answered, as the query without a currency would list it.
        assert_eq!(balance(&h, Some("CNY")).await, [row("CNY", "0.00", "0.00")]);

        let short = h
            .client
            .payout_create(&payout_request("PO-1", "5.00"))
            .await
            .unwrap();
        assert!(short.signature_verified);
        assert_eq!(
            (short.code.as_str(), short.error_message.as_deref()),
            ("INSUFFICIENT_BALANCE", Some("insufficient balance"))
        );
        let gone = PayoutQueryRequest {
            payout_no: None,
            merchant_trade_no: Some("PO-1".into()),
        };
        let r = h.client.payout_query(&gone).await.unwrap();
        assert_eq!(r.error_message.as_deref(), Some("payout not found"));

        h.paid_payment("ORD-FUND", "100.00").await;
        assert_eq!(balance(&h, None).await, [row("INR", "100.00", "0.00")]);

        let created = h
            .client
            .payout_create(&payout_request("PO-1", "30.50"))
            .await
            .unwrap()
            .into_verified()
            .unwrap()
            .data
            .unwrap();
        assert_eq!(created.status, PayoutStatus::Pending);
        assert_eq!(
            (created.amount.as_str(), created.currency.as_str()),
            ("30.50", "INR")
        );
        assert_eq!(balance(&h, None).await, [row("INR", "69.50", "30.50")]);
        let stored = h.payout(&created.payout_no).await;
        assert_eq!(stored.state, PayoutState::Pending);
        assert_eq!(
            stored.attrs["payoutMethod"]["accountNumber"],
            "********9012"
        );

        let dup = h
            .client
            .payout_create(&payout_request("PO-1", "1.00"))
            .await
            .unwrap();
        assert_eq!(dup.code, "DUPLICATE_TRADE_NO");

        // What the lead's sandbox payout processor does.
        let engine = h.engine();
        engine
            .transition_payout(&stored.id, PayoutCommand::Process)
            .await
            .unwrap();
        let q = PayoutQueryRequest {
            payout_no: Some(created.payout_no.clone()),
            merchant_trade_no: Some("PO-1".into()),
        };
        let p = h.client.payout_query(&q).await.unwrap().data.unwrap();
        assert_eq!(
            (p.status, p.finished_time.as_deref()),
            (PayoutStatus::Processing, None)
        );
        let done = PayoutCommand::Succeed {
            channel_order_no: "UTR1".into(),
        };
        engine.transition_payout(&stored.id, done).await.unwrap();
        let p = h.client.payout_query(&q).await.unwrap().data.unwrap();
        assert_eq!(p.status, PayoutStatus::Paid);
        assert!(p.finished_time.is_some() && p.fail_reason.is_none());
        assert_eq!(p.description, "Vendor payout");
        assert_eq!(
            balance(&h, Some("INR")).await,
            [row("INR", "69.50", "0.00")]
        );

        let failing = h
            .client
            .payout_create(&payout_request("PO-2", "9.50"))
            .await
            .unwrap()
            .data
            .unwrap();
        let id = h.payout(&failing.payout_no).await.id;
        let fail = PayoutCommand::Fail {
            code: "BANK_REJECTED".into(),
            message: "beneficiary account closed".into(),
        };
        engine.transition_payout(&id, fail).await.unwrap();
        let q = PayoutQueryRequest {
            payout_no: Some(failing.payout_no),
            merchant_trade_no: None,
        };
        let p = h.client.payout_query(&q).await.unwrap().data.unwrap();
        assert_eq!(p.status, PayoutStatus::Failed);
        assert_eq!(p.fail_reason.as_deref(), Some("beneficiary account closed"));
        assert_eq!(balance(&h, None).await, [row("INR", "69.50", "0.00")]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_refunds_settle_at_once_by_default() {
    for db in TestDb::all() {
        let h = Harness::new(db).await;
        let unpaid = h
            .client
            .payment_create(&payment_request("ORD-U", "10.00"))
            .await
            .unwrap()
            .data
            .unwrap();
        let r = h
            .client
            .refund_create(&refund_request("RF-0", &unpaid.payment_no, "1.00"))
            .await
            .unwrap();
        assert_eq!(
            (r.code.as_str(), r.error_message.as_deref()),
            ("STATUS_ERROR", Some("payment status does not allow refund"))
        );

        let paid = h.paid_payment("ORD-P", "100.00").await;
        for (amount, message) in [
            ("100.01", "amount: exceeds the refundable amount"),
            ("1.001", "amount: must have at most 2 decimal places"),
        ] {
            let r = h
                .client
                .refund_create(&refund_request("RF-X", &paid, amount))
                .await
                .unwrap();
            assert_eq!(
                (r.code.as_str(), r.error_message.as_deref()),
                ("PARAM_ERROR", Some(message))
            );
        }
        let missing = h
            .client
            .refund_create(&refund_request("RF-X", "PAY404", "1.00"))
            .await
            .unwrap();
        assert_eq!(missing.error_message.as_deref(), Some("payment not found"));

        let r = h
            .client
            .refund_create(&refund_request("RF-1", &paid, "40.00"))
            .await
            .unwrap()
            .into_verified()
            .unwrap()
            .data
            .unwrap();
        assert_eq!(r.status, RefundStatus::Refunded);
        assert_eq!(
            (r.payment_no.as_str(), r.amount.as_str()),
            (paid.as_str(), "40.00")
        );
        assert_eq!(r.reason.as_deref(), Some("damaged"));
        assert!(r.finished_time.is_some());
        let q = PaymentQueryRequest {
            payment_no: Some(paid.clone()),
            merchant_trade_no: None,
        };
        let p = h.client.payment_query(&q).await.unwrap().data.unwrap();
        assert_eq!(
            (p.status, p.refunded_amount.as_str()),
            (PaymentStatus::PartiallyRefunded, "40.00")
        );
        assert!(p.paid_time.is_some());

        let dup = h
            .client
            .refund_create(&refund_request("RF-1", &paid, "1.00"))
            .await
            .unwrap();
        assert_eq!(dup.code, "DUPLICATE_TRADE_NO");

        let mut by_trade = refund_request("RF-2", &paid, "60.00");
        by_trade.payment_no = None;
        by_trade.payment_merchant_trade_no = Some("ORD-P".into());
        let r = h
            .client
            .refund_create(&by_trade)
            .await
            .unwrap()
            .data
            .unwrap();
        assert_eq!(r.status, RefundStatus::Refunded);
        let p = h.client.payment_query(&q).await.unwrap().data.unwrap();
        assert_eq!(
            (p.status, p.refunded_amount.as_str()),
            (PaymentStatus::Refunded, "100.00")
        );
        let again = h
            .client
            .refund_create(&refund_request("RF-3", &paid, "1.00"))
            .await
            .unwrap();
        assert_eq!(again.code, "STATUS_ERROR");
        assert_eq!(balance(&h, None).await, [row("INR", "0.00", "0.00")]);

        let q = RefundQueryRequest {
            refund_no: Some(r.refund_no.clone()),
            merchant_trade_no: Some("RF-2".into()),
        };
        let found = h.client.refund_query(&q).await.unwrap().data.unwrap();
        assert_eq!(found.refund_no, r.refund_no);
        let wrong = RefundQueryRequest {
            refund_no: Some(r.refund_no),
            merchant_trade_no: Some("RF-1".into()),
        };
        let nf = h.client.refund_query(&wrong).await.unwrap();
        assert_eq!(nf.error_message.as_deref(), Some("refund not found"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_stay_pending_with_a_delay_or_outside_the_sandbox() {
    for db in TestDb::all() {
        let mut h = Harness::new(db).await;
        h.set_settings(serde_json::json!({"refund_delay_ms": 5000}))
            .await;
        let paid = h.paid_payment("ORD-D", "10.00").await;
        let mut req = refund_request("RF-D", &paid, "10.00");
        req.notify_url = Some("https://merchant.example.com/refunds".into());
        let r = h.client.refund_create(&req).await.unwrap().data.unwrap();
        assert_eq!(
            (r.status, r.finished_time.as_deref()),
            (RefundStatus::Pending, None)
        );
        let refund = h.engine().refund_by_public_id(&r.refund_no).await.unwrap();
        assert_eq!(refund.state, RefundState::Pending);
        assert_eq!(
            refund.notify_url.as_deref(),
            Some("https://merchant.example.com/refunds")
        );
        assert_eq!(h.payment(&paid).await.state, PaymentState::Succeeded);
        // Money is held while pending: nothing left to refund or to pay out.
        assert_eq!(balance(&h, None).await, [row("INR", "0.00", "0.00")]);
        let r = h
            .client
            .payout_create(&payout_request("PO-D", "0.01"))
            .await
            .unwrap();
        assert_eq!(r.code, "INSUFFICIENT_BALANCE");
    }
    let h = Harness::with_mode(TestDb::sqlite(), false).await;
    let paid = h.paid_payment("ORD-G", "10.00").await;
    let r = h
        .client
        .refund_create(&refund_request("RF-G", &paid, "1.00"))
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(r.status, RefundStatus::Pending);
    let refund = h.engine().refund_by_public_id(&r.refund_no).await.unwrap();
    // The payment's notifyUrl is the default.
    assert_eq!(
        refund.notify_url.as_deref(),
        Some("https://merchant.example.com/notify?src=pg")
    );
}
