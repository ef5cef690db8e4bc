//! Each protocol's silent events (`ProtocolNotifier::silent_events`: ingestion gives them no
//! delivery) are exactly what its spec never notifies, and its encoder agrees: for each of them,
//! whatever the object carries, it builds no callback.

use polypay_core::{
    Currency, Merchant, MerchantId, Money, Payment, PaymentId, PaymentState, Payout, PayoutId,
    PayoutState, Protocol, Refund, RefundId, RefundState, Timestamp,
};
use polypay_notify::{Encoded, Skip};
use polypay_server::testing::TestServer;
use polypay_store::OutboxEvent;
use serde_json::{Value, json};

const URL: &str = "https://merchant.example/notify";

/// The object a `<kind>.<state>` event carries, in that state, with a notify URL.
fn payload(merchant: &MerchantId, protocol: Protocol, event: &str) -> Value {
    let (kind, state) = event.split_once('.').expect("kind.state");
    let at = Timestamp(1_700_000_000_000);
    let amount = Money::new(1_000, Currency::USD);
    let object = match kind {
        "payment" => serde_json::to_value(Payment {
            id: PaymentId::from_random("1"),
            merchant_id: merchant.clone(),
            protocol,
            merchant_order_no: "O1".into(),
            public_id: "P1".into(),
            amount,
            state: PaymentState::parse(state).expect("payment state"),
            refunded_minor: 0,
            refund_pending_minor: 0,
            notify_url: Some(URL.into()),
            return_url: Some(URL.into()),
            cashier_token: "t".into(),
            created_at: at,
            updated_at: at,
            expires_at: at.plus_millis(60_000),
            finished_at: None,
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs: json!({}),
        }),
        "payout" => serde_json::to_value(Payout {
            id: PayoutId::from_random("1"),
            merchant_id: merchant.clone(),
            protocol,
            merchant_order_no: "T1".into(),
            public_id: "T1".into(),
            amount,
            state: PayoutState::parse(state).expect("payout state"),
            notify_url: Some(URL.into()),
            created_at: at,
            updated_at: at,
            finished_at: None,
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs: json!({}),
        }),
        "refund" => serde_json::to_value(Refund {
            id: RefundId::from_random("1"),
            merchant_id: merchant.clone(),
            payment_id: PaymentId::from_random("1"),
            protocol,
            merchant_refund_no: "R1".into(),
            public_id: "R1".into(),
            amount,
            state: RefundState::parse(state).expect("refund state"),
            reason: None,
            notify_url: Some(URL.into()),
            created_at: at,
            updated_at: at,
            finished_at: None,
            error_code: None,
            error_message: None,
            attrs: json!({}),
            channel_order_no: None,
        }),
        other => panic!("unknown kind {other}"),
    };
    object.expect("serialise")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_protocol_is_silent_exactly_where_its_spec_sends_nothing() {
    let s = TestServer::start().await;
    let merchant = Merchant {
        notify_url: Some(URL.into()),
        ..s.merchant.clone()
    };
    let expected: [(Protocol, &[&str]); 5] = [
        (
            Protocol::Passtopay,
            &[
                "payment.created",
                "payment.pending",
                "payment.partially_refunded",
                "payment.refunded",
                "payout.pending",
                "payout.processing",
                "refund.pending",
            ],
        ),
        (
            Protocol::Blockatm,
            &[
                "payment.created",
                "payment.partially_refunded",
                "payment.refunded",
                "payout.pending",
                "payout.processing",
                "refund.pending",
                "refund.succeeded",
                "refund.failed",
            ],
        ),
        (
            Protocol::Ottpay,
            &[
                "payment.created",
                "payment.pending",
                "payment.failed",
                "payment.expired",
                "payment.cancelled",
                "payment.partially_refunded",
                "payment.refunded",
                "payout.pending",
                "payout.processing",
                "payout.succeeded",
                "payout.failed",
                "refund.pending",
                "refund.succeeded",
                "refund.failed",
            ],
        ),
        (
            Protocol::V2sha256,
            &[
                "payment.created",
                "payment.pending",
                "payout.pending",
                "payout.processing",
                "refund.pending",
            ],
        ),
        (
            Protocol::Fintech33,
            &[
                "payment.created",
                "payment.partially_refunded",
                "payment.refunded",
                "payout.pending",
                "payout.processing",
                "payout.succeeded",
                "payout.failed",
            ],
        ),
    ];
    for (protocol, names) in expected {
        let notifier = s.state.notifier(protocol).expect("mounted");
        let mut silent = notifier.silent_events();
        silent.sort();
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        assert_eq!(silent, names, "{protocol}");
        for (i, event) in silent.iter().enumerate() {
            let outbox = OutboxEvent {
                id: i as i64 + 1,
                merchant_id: merchant.id.clone(),
                protocol,
                object_kind: event.split('.').next().unwrap().into(),
                object_id: "obj_1".into(),
                event: event.clone(),
                payload: payload(&merchant.id, protocol, event),
                created_at: Timestamp(1_700_000_000_000),
            };
            let encoded = notifier.encode(&outbox, &merchant, Timestamp(1_700_000_000_000));
            assert!(
                matches!(encoded, Ok(Encoded::Skip(Skip::NotNotified))),
                "{protocol} {event}: a silent event must encode to no callback, got {encoded:?}"
            );
        }
    }
    // All of them, as ingestion sees them: 41 (protocol, event) pairs.
    assert_eq!(s.state.silent_events().len(), 41);
}
