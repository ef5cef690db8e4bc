//! REFUND (spec §5.6) through the router: sandbox immediate success, PROCESSING outside it,
//! every refusal of spec §4 rows 14-18, and STATUS_QUERY of refunds.

mod harness;

use harness::{Harness, active_pay};
use polypay_core::{Money, PaymentState, Protocol};
use polypay_engine::NewPayout;
use polypay_ottpay::Client;
use polypay_ottpay::client::StatusQueryData;
use polypay_ottpay::wire::{RefundRequest, RefundStatusResponse, StatusQueryRequest};
use polypay_store::testing::TestDb;

/// STATUS_QUERY of a refund, verified.
async fn refund_status(client: &Client, order_id: &str) -> RefundStatusResponse {
    let q = client
        .status_query(&StatusQueryRequest {
            order_id: order_id.into(),
        })
        .await
        .expect("call");
    let StatusQueryData::Refund(r) = q.into_verified().expect("verified") else {
        panic!("refund");
    };
    r
}

fn refund(order_id: Option<&str>, ori: &str, amount: &str) -> RefundRequest {
    RefundRequest {
        order_id: order_id.map(str::to_owned),
        ori_order_id: ori.into(),
        refund_amt: amount.into(),
        merchant_id: None,
    }
}

#[tokio::test]
async fn sandbox_refunds_succeed_at_once_and_are_queryable() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        client
            .active_pay(&active_pay(Some("P1"), "100", "20"))
            .await
            .expect("call");

        let r = client
            .refund(&refund(Some("R0"), "P1", "10"))
            .await
            .expect("call");
        assert_eq!(
            (r.rsp_code.as_str(), r.rsp_msg.as_str()),
            ("FAIL", "order not refundable")
        );
        let r = client
            .refund(&refund(Some("R0"), "nope", "10"))
            .await
            .expect("call");
        assert_eq!(r.rsp_msg, "order not found");

        h.pay("P1").await;
        let r = client
            .refund(&refund(Some("R1"), "P1", "50"))
            .await
            .expect("call");
        assert_eq!(
            (r.rsp_code.as_str(), r.rsp_msg.as_str()),
            ("SUCCESS", "success")
        );
        let data = r.into_verified().expect("verified");
        assert_eq!(
            (data.order_id.as_str(), data.ori_order_id.as_str()),
            ("R1", "P1")
        );
        assert_eq!(
            (data.refund_amt.as_str(), data.order_status.as_str()),
            ("50", "SUCCESS")
        );
        assert_eq!(
            (data.currency_type.as_str(), data.trade_time.as_str()),
            ("CAD", "2023-03-23 01:21:53")
        );
        let payment = h.payment("P1").await;
        assert_eq!(
            payment.state,
            PaymentState::PartiallyRefunded,
            "{}",
            h.db_name
        );
        let balance = h.engine.balances(&h.merchant.id).await.expect("balances");
        assert_eq!(balance.first().map(|m| m.minor), Some(70));

        let again = client
            .refund(&refund(Some("R1"), "P1", "1"))
            .await
            .expect("call");
        assert_eq!(
            (again.rsp_code.as_str(), again.rsp_msg.as_str()),
            ("ORDER_USED", "order_id already used")
        );
        // Row 14 comes before row 15.
        let again = client
            .refund(&refund(Some("R1"), "nope", "1"))
            .await
            .expect("call");
        assert_eq!(again.rsp_code, "ORDER_USED");
        let over = client
            .refund(&refund(Some("R2"), "P1", "71"))
            .await
            .expect("call");
        assert_eq!(
            (over.rsp_code.as_str(), over.rsp_msg.as_str()),
            ("PARAM_INVALID", "invalid parameter: refund_amt")
        );

        let generated = client
            .refund(&refund(None, "P1", "70"))
            .await
            .expect("call");
        let generated = generated.into_verified().expect("verified");
        assert_eq!(generated.order_id.len(), 17);
        assert_eq!(h.payment("P1").await.state, PaymentState::Refunded);

        let q = client
            .status_query(&StatusQueryRequest {
                order_id: "P1".into(),
            })
            .await
            .expect("call");
        let StatusQueryData::Payment(p) = q.into_verified().expect("verified") else {
            panic!("payment");
        };
        assert_eq!(
            (p.order_status.as_str(), p.refund_amount.as_str()),
            ("REFUND", "120")
        );
        let r = refund_status(&client, "R1").await;
        assert_eq!((r.order_id.as_str(), r.ori_order_id.as_str()), ("R1", "P1"));
        assert_eq!(
            (r.order_status.as_str(), r.refund_amt.as_str()),
            ("SUCCESS", "50")
        );
        assert_eq!(r.merchant_id, h.ott_merchant_id());
    }
}

#[tokio::test]
async fn outside_the_sandbox_a_refund_is_processing_and_blocks_another() {
    for db in TestDb::all() {
        let h = Harness::start(db, false).await;
        let client = h.client();
        client
            .active_pay(&active_pay(Some("P1"), "100", "0"))
            .await
            .expect("call");
        h.pay("P1").await;
        let r = client
            .refund(&refund(Some("R1"), "P1", "40"))
            .await
            .expect("call");
        assert_eq!(
            (r.rsp_code.as_str(), r.rsp_msg.as_str()),
            ("PROCESSING", "processing")
        );
        assert_eq!(
            r.into_verified().expect("verified").order_status,
            "PROCESSING"
        );
        let second = client
            .refund(&refund(Some("R2"), "P1", "10"))
            .await
            .expect("call");
        assert_eq!(
            (second.rsp_code.as_str(), second.rsp_msg.as_str()),
            ("FAIL", "order not refundable")
        );
        let r = refund_status(&client, "R1").await;
        assert_eq!(r.order_status, "PROCESSING");
    }
}

#[tokio::test]
async fn a_sandbox_refund_delay_leaves_the_refund_pending() {
    let h = Harness::start(TestDb::sqlite(), true).await;
    h.set_settings(serde_json::json!({"refund_delay_seconds": 30}))
        .await;
    let client = h.client();
    client
        .active_pay(&active_pay(Some("P1"), "100", "0"))
        .await
        .expect("call");
    h.pay("P1").await;
    let r = client
        .refund(&refund(Some("R1"), "P1", "40"))
        .await
        .expect("call");
    assert_eq!(r.rsp_code, "PROCESSING");
    // The sandbox sweeper's step settles it once the delay has passed, not before.
    let status = || async { refund_status(&client, "R1").await.order_status };
    h.clock.advance(29_999);
    assert!(
        h.engine
            .settle_due_refunds(500)
            .await
            .expect("sweep")
            .is_empty()
    );
    assert_eq!(status().await, "PROCESSING");
    h.clock.advance(1);
    assert_eq!(
        h.engine.settle_due_refunds(500).await.expect("sweep").len(),
        1
    );
    assert_eq!(status().await, "SUCCESS");
}

#[tokio::test]
async fn a_refund_beyond_the_balance_is_insufficient_balance() {
    for db in TestDb::all() {
        let h = Harness::start(db, true).await;
        let client = h.client();
        client
            .active_pay(&active_pay(Some("P1"), "100", "0"))
            .await
            .expect("call");
        let paid = h.pay("P1").await;
        // Drain 80 of the 100 credited by the payment.
        h.engine
            .create_payout(NewPayout {
                merchant_id: h.merchant.id.clone(),
                protocol: Protocol::Passtopay,
                merchant_order_no: "drain".into(),
                public_id: format!("drain-{}", h.merchant.id),
                amount: Money::new(80, paid.amount.currency),
                notify_url: None,
                start_processing: false,
                attrs: serde_json::json!({}),
            })
            .await
            .expect("payout");
        let r = client
            .refund(&refund(Some("R1"), "P1", "50"))
            .await
            .expect("call");
        assert_eq!(
            (r.rsp_code.as_str(), r.rsp_msg.as_str()),
            ("FAIL", "insufficient balance")
        );
        assert_eq!(h.payment("P1").await.state, PaymentState::Succeeded);
        let ok = client
            .refund(&refund(Some("R2"), "P1", "20"))
            .await
            .expect("call");
        assert_eq!(ok.rsp_code, "SUCCESS");
    }
}
