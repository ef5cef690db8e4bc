//! Refunds and transfers over HTTP on a real engine: sandbox refunds settle at once, the
//! refund rules of spec 5.6, transfers reserve the balance and start processing.

mod harness;

use harness::*;
use polypay_core::{Currency, PaymentState, PayoutState};
use polypay_passtopay::wire::*;

async fn cny_balance(h: &Harness) -> i64 {
    h.engine
        .balances(&h.merchant.id)
        .await
        .unwrap()
        .iter()
        .find(|m| m.currency == Currency::CNY)
        .map_or(0, |m| m.minor)
}

#[tokio::test]
async fn sandbox_refunds_complete_immediately() {
    for h in Harness::all().await {
        let paid = h.paid("P1", 1000).await;
        let by_no = PayOrderRef::MchOrderNo("P1".into());
        let r = h
            .client
            .refund(&by_no, &refund_params("RF1", 400))
            .await
            .unwrap();
        assert!(r.signature_verified);
        let d = r.data;
        assert_eq!((d.state, d.pay_amount, d.refund_amount), (2, 1000, 400));
        assert!(d.refund_order_id.starts_with('R') && d.refund_order_id.len() == 20);
        assert_eq!(cny_balance(&h).await, 600);
        let p = h.payment(&paid.public_id).await;
        assert_eq!(p.state, PaymentState::PartiallyRefunded);
        let q = h.client.query_payment(&by_no).await.unwrap().data;
        assert_eq!(q.state, 2, "partially refunded still reads 2");

        let q = h
            .client
            .query_refund(&RefundRef::MchRefundNo("RF1".into()))
            .await;
        let q = q.unwrap();
        assert!(q.signature_verified);
        let q = q.data;
        assert_eq!(
            (q.state, q.pay_order_id.as_str()),
            (2, paid.public_id.as_str())
        );
        assert_eq!(
            (q.currency.as_str(), q.ext_param.as_deref()),
            ("CNY", Some("r-ext"))
        );
        assert_eq!(q.success_time, Some(START));
        let by_id = RefundRef::RefundOrderId(d.refund_order_id.clone());
        assert_eq!(
            h.client
                .query_refund(&by_id)
                .await
                .unwrap()
                .data
                .mch_refund_no,
            "RF1"
        );

        let dup = h.client.refund(&by_no, &refund_params("RF1", 1)).await;
        assert_eq!(api_msg(dup), "duplicate mchRefundNo");
        let over = h.client.refund(&by_no, &refund_params("RF2", 601)).await;
        assert_eq!(api_msg(over), "refund amount exceeds refundable amount");
        let mut usd = refund_params("RF3", 1);
        usd.currency = "usd".into();
        assert_eq!(
            api_msg(h.client.refund(&by_no, &usd).await),
            "currency is invalid"
        );

        let rest = h
            .client
            .refund(&by_no, &refund_params("RF4", 600))
            .await
            .unwrap();
        assert_eq!(rest.data.state, 2);
        assert_eq!(h.client.query_payment(&by_no).await.unwrap().data.state, 5);
        let more = h.client.refund(&by_no, &refund_params("RF5", 1)).await;
        assert_eq!(api_msg(more), "order state does not allow refund");
        assert_eq!(cny_balance(&h).await, 0);
    }
}

#[tokio::test]
async fn refund_rules() {
    for h in Harness::all().await {
        let open = h.unified("O1", 100).await;
        let by_id = PayOrderRef::PayOrderId(open.pay_order_id);
        let r = h.client.refund(&by_id, &refund_params("RF1", 10)).await;
        assert_eq!(api_msg(r), "order state does not allow refund");
        let gone = PayOrderRef::MchOrderNo("missing".into());
        let r = h.client.refund(&gone, &refund_params("RF2", 10)).await;
        assert_eq!(api_msg(r), "order not found");
        let q = h
            .client
            .query_refund(&RefundRef::MchRefundNo("RF1".into()))
            .await;
        assert_eq!(api_msg(q), "order not found");

        // The balance must cover a refund: spend it on a transfer first.
        h.paid("O2", 100).await;
        h.client
            .transfer(&transfer_params("T1", 100))
            .await
            .unwrap();
        let by_no = PayOrderRef::MchOrderNo("O2".into());
        let r = h.client.refund(&by_no, &refund_params("RF3", 10)).await;
        assert_eq!(api_msg(r), "insufficient balance");
    }
}

#[tokio::test]
async fn refunds_stay_pending_outside_the_sandbox_and_are_exclusive() {
    for db in polypay_store::testing::TestDb::all() {
        let h = Harness::start(db, false).await;
        h.paid("P1", 1000).await;
        let by_no = PayOrderRef::MchOrderNo("P1".into());
        let d = h
            .client
            .refund(&by_no, &refund_params("RF1", 100))
            .await
            .unwrap()
            .data;
        assert_eq!(d.state, 1);
        let second = h.client.refund(&by_no, &refund_params("RF2", 100)).await;
        assert_eq!(api_msg(second), "refund in progress");
    }
}

#[tokio::test]
async fn transfers_reserve_and_start_processing() {
    for h in Harness::all().await {
        let broke = h.client.transfer(&transfer_params("T0", 100)).await;
        assert_eq!(api_msg(broke), "insufficient balance");
        assert!(
            h.engine
                .payout_by_order_no(&h.merchant.id, "T0")
                .await
                .is_err()
        );

        h.paid("P1", 500).await;
        let t = h
            .client
            .transfer(&transfer_params("T1", 300))
            .await
            .unwrap();
        assert!(t.signature_verified);
        let d = t.data;
        assert_eq!((d.state, d.amount, d.mch_order_no.as_str()), (1, 300, "T1"));
        assert!(d.transfer_id.starts_with('T') && d.transfer_id.len() == 20);
        assert_eq!(d.account_name.as_deref(), Some("张三"));
        assert_eq!(cny_balance(&h).await, 200);
        let po = h.engine.payout_by_public_id(&d.transfer_id).await.unwrap();
        assert_eq!(po.state, PayoutState::Processing);

        let dup = h.client.transfer(&transfer_params("T1", 1)).await;
        assert_eq!(api_msg(dup), "duplicate mchOrderNo");
        let over = h.client.transfer(&transfer_params("T2", 201)).await;
        assert_eq!(api_msg(over), "insufficient balance");

        for r in [
            TransferRef::TransferId(d.transfer_id.clone()),
            TransferRef::MchOrderNo("T1".into()),
        ] {
            let q = h.client.query_transfer(&r).await.unwrap();
            assert!(q.signature_verified);
            let q = q.data;
            assert_eq!((q.state, q.amount, q.currency.as_str()), (1, 300, "cny"));
            assert_eq!(q.entry_type.as_deref(), Some("BANK_CARD"));
            assert_eq!(q.extra_param.as_deref(), Some("x1"));
            assert_eq!(q.if_code.as_deref(), Some("alipay"));
            assert_eq!(q.transfer_desc.as_deref(), Some("0"));
        }
        let missing = TransferRef::MchOrderNo("nope".into());
        assert_eq!(
            api_msg(h.client.query_transfer(&missing).await),
            "order not found"
        );
    }
}
