//! The notifier on real outbox rows, verified with the phase-1 client's `verify_callback`.

mod harness;

use harness::Harness;
use polypay_blockatm::client::{CallbackEvent, parse_redirect};
use polypay_blockatm::server;
use polypay_blockatm::sign::Scheme;
use polypay_blockatm::wire::{
    CreateOrderData, CreateOrderRequest, CreatePayoutRequest, PayOrderDetail,
};
use polypay_core::{PaymentCommand, PaymentState, PayoutCommand, PayoutState, Timestamp};
use polypay_notify::{CallbackRequest, Encoded, ProtocolNotifier};
use std::sync::Arc;

fn order(order_no: &str, redirect: Option<&str>) -> CreateOrderRequest {
    CreateOrderRequest {
        order_no: order_no.into(),
        amount: "13.41".into(),
        symbol: "USDT".into(),
        chain_id: Some("11155111".into()),
        cashier_id: None,
        cust_no: Some("cust00001".into()),
        redirect_url: redirect.map(str::to_owned),
    }
}

async fn create(h: &Harness, order_no: &str, redirect: Option<&str>) -> polypay_core::Payment {
    let client = h.client(false);
    let prepared = client
        .build_create_order(&order(order_no, redirect), h.now_ms())
        .unwrap();
    h.call::<CreateOrderData>(&client, prepared).await.unwrap();
    h.engine
        .payment_by_order_no(&h.merchant.id, order_no)
        .await
        .unwrap()
}

fn notifier(h: &Harness) -> Arc<dyn ProtocolNotifier> {
    server::notifier(h.platform.clone())
}

/// Encodes every outbox row of `object_id`; returns (event name, callback) for those that send.
async fn encoded(h: &Harness, object_id: &str, at: i64) -> Vec<(String, CallbackRequest)> {
    let notifier = notifier(h);
    let mut out = Vec::new();
    for row in h.outbox(object_id).await {
        if let Encoded::Send(request) = notifier.encode(&row, &h.merchant, Timestamp(at)).unwrap() {
            out.push((row.event.clone(), request));
        }
    }
    out
}

#[tokio::test]
async fn payment_webhooks_verify_and_retries_resign() {
    for h in Harness::all().await {
        let payment = create(&h, "N-1", None).await;
        h.pay("N-1").await;
        let sent = encoded(&h, payment.id.as_str(), 1_743_060_300_000).await;
        let events: Vec<&str> = sent.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events, ["payment.succeeded"], "created is never announced");
        let (_, request) = &sent[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "http://127.0.0.1:9/hooks");
        let client = h.client(false);
        let verified = client
            .verify_callback(&request.headers, &request.body)
            .unwrap();
        assert_eq!(verified.scheme, Scheme::V2Hmac);
        assert_eq!(verified.time_ms, 1_743_060_300_000);
        let CallbackEvent::Payment(body) = verified.event else {
            panic!("payment event expected");
        };
        assert_eq!(body.state(), Some(PaymentState::Succeeded));
        assert_eq!(body.amount.as_ref().map(|a| a.as_str()), Some("13.41"));
        assert_eq!(body.id, Some(8_210_000_001));
        assert_eq!(body.order_no.as_deref(), Some("N-1"));
        assert_eq!(body.network.as_deref(), Some("Sepolia"));
        // The webhook and E2 show the same chain data.
        let detail: PayOrderDetail = h
            .call(
                &client,
                client.build_payment_detail("N-1", h.now_ms()).unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert_eq!(body.tx_id, detail.tx_id);
        assert_eq!(body.from_address, detail.from_address);
        // Body keys ascend (7.2).
        let text = String::from_utf8(request.body.clone()).unwrap();
        assert!(
            text.starts_with("{\"amount\":\"13.41\",\"blockTime\":"),
            "{text}"
        );
        // A retry: same body, new time and signature, still valid.
        let retry = notifier(&h).reencode(request, &h.merchant, 2, Timestamp(1_743_060_360_000));
        assert_eq!(retry.body, request.body);
        assert_ne!(retry.headers, request.headers);
        let again = client.verify_callback(&retry.headers, &retry.body).unwrap();
        assert_eq!(again.time_ms, 1_743_060_360_000);
    }
}

#[tokio::test]
async fn v1_webhooks_are_signed_with_the_platform_key() {
    for mut h in Harness::all().await {
        h.update_settings(serde_json::json!({"blockatm": {
            "webhook_scheme": "V1",
            "payment_notify_url": "http://127.0.0.1:9/blockatm"
        }}))
        .await;
        let payment = create(&h, "N-V1", None).await;
        h.engine
            .transition_payment(&payment.id, PaymentCommand::Open)
            .await
            .unwrap();
        h.engine
            .transition_payment(&payment.id, PaymentCommand::Cancel)
            .await
            .unwrap();
        let sent = encoded(&h, payment.id.as_str(), h.now_ms() as i64).await;
        let events: Vec<&str> = sent.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(events, ["payment.pending", "payment.cancelled"]);
        for (_, request) in &sent {
            assert_eq!(request.url, "http://127.0.0.1:9/blockatm");
            assert!(
                request
                    .headers
                    .iter()
                    .any(|(n, _)| n == "BlockATM-Signature-V1")
            );
            let verified = h
                .client(false)
                .verify_callback(&request.headers, &request.body)
                .unwrap();
            assert_eq!(verified.scheme, Scheme::V1Ecdsa);
            let CallbackEvent::Payment(body) = verified.event else {
                panic!("payment event expected");
            };
            assert_eq!(body.from_address.as_deref(), Some(""));
            assert_eq!(body.tx_id, None);
        }
        let cancelled = &sent[1].1;
        let text = String::from_utf8(cancelled.body.clone()).unwrap();
        assert!(text.contains("\"status\":\"CANCELLED\""), "{text}");
        // Re-signed retries keep the V1 scheme.
        let retry = notifier(&h).reencode(
            cancelled,
            &h.merchant,
            3,
            Timestamp(h.now_ms() as i64 + 60_000),
        );
        let verified = h
            .client(false)
            .verify_callback(&retry.headers, &retry.body)
            .unwrap();
        assert_eq!(verified.scheme, Scheme::V1Ecdsa);
    }
}

#[tokio::test]
async fn payout_webhooks_announce_final_states_only() {
    for mut h in Harness::all().await {
        h.update_settings(serde_json::json!({"blockatm": {
            "payout_notify_url": "http://127.0.0.1:9/payouts",
            "payout_fee": "0.5"
        }}))
        .await;
        let funding = create(&h, "FUND", None).await;
        h.pay("FUND").await;
        let client = h.client(false);
        let mut ids = Vec::new();
        for biz in ["PO-OK", "PO-NO"] {
            let request = CreatePayoutRequest {
                biz_order_no: biz.into(),
                amount: "5".into(),
                chain_id: "TRON".into(),
                symbol: "USDT".into(),
                to_address: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into(),
                cust_no: "473_860001".into(),
                remark: None,
                merchant_id: None,
            };
            let prepared = client.build_create_payout(&request, h.now_ms()).unwrap();
            h.call::<()>(&client, prepared).await.unwrap();
            ids.push(
                h.engine
                    .payout_by_order_no(&h.merchant.id, biz)
                    .await
                    .unwrap()
                    .id,
            );
        }
        h.engine
            .transition_payout(&ids[0], PayoutCommand::Process)
            .await
            .unwrap();
        h.engine
            .transition_payout(
                &ids[0],
                PayoutCommand::Succeed {
                    channel_order_no: "x".into(),
                },
            )
            .await
            .unwrap();
        h.engine
            .transition_payout(
                &ids[1],
                PayoutCommand::Fail {
                    code: "r".into(),
                    message: "refused".into(),
                },
            )
            .await
            .unwrap();
        for (id, state) in [
            (&ids[0], PayoutState::Succeeded),
            (&ids[1], PayoutState::Failed),
        ] {
            let sent = encoded(&h, id.as_str(), h.now_ms() as i64).await;
            assert_eq!(sent.len(), 1, "only the final state is announced");
            let (_, request) = &sent[0];
            assert_eq!(request.url, "http://127.0.0.1:9/payouts");
            let event = request
                .headers
                .iter()
                .find(|(n, _)| n == "BlockATM-Event")
                .unwrap();
            assert_eq!(event.1, "Payout");
            let verified = client
                .verify_callback(&request.headers, &request.body)
                .unwrap();
            let CallbackEvent::Payout(body) = verified.event else {
                panic!("payout event expected");
            };
            assert_eq!(body.state(), Some(state));
            assert_eq!(body.kind, Some(1));
            assert_eq!(body.fee.as_ref().map(|f| f.as_str()), Some("0.5"));
            assert_eq!(body.tx_id.is_some(), state == PayoutState::Succeeded);
            assert_eq!(body.network.as_deref(), Some("TRON"));
        }
        // The funding payment's webhook still goes to the merchant URL (no payment URL set).
        let sent = encoded(&h, funding.id.as_str(), h.now_ms() as i64).await;
        assert_eq!(sent[0].1.url, "http://127.0.0.1:9/hooks");
    }
}

#[tokio::test]
async fn nothing_is_sent_without_a_url() {
    for mut h in Harness::all().await {
        let mut merchant = h.merchant.clone();
        merchant.notify_url = None;
        h.merchant = h.engine.update_merchant(merchant).await.unwrap();
        let payment = create(&h, "N-0", None).await;
        h.pay("N-0").await;
        assert!(
            encoded(&h, payment.id.as_str(), h.now_ms() as i64)
                .await
                .is_empty()
        );
    }
}

#[tokio::test]
async fn redirect_carries_status_and_tx_id() {
    for h in Harness::all().await {
        let payment = create(&h, "R-1", Some("https://shop.example/back?o=R-1")).await;
        let notifier = notifier(&h);
        let now = Timestamp(h.now_ms() as i64);
        assert_eq!(
            notifier.redirect_url(&payment, &h.merchant, now),
            None,
            "open order"
        );
        h.pay("R-1").await;
        let paid = h.engine.payment(&payment.id).await.unwrap();
        let url = notifier.redirect_url(&paid, &h.merchant, now).unwrap();
        assert!(
            url.starts_with("https://shop.example/back?o=R-1&txId=0x"),
            "{url}"
        );
        let params = parse_redirect(&url).unwrap();
        assert_eq!(params.status.to_state(), PaymentState::Succeeded);
        let client = h.client(false);
        let detail: PayOrderDetail = h
            .call(
                &client,
                client.build_payment_detail("R-1", h.now_ms()).unwrap(),
            )
            .await
            .unwrap()
            .data;
        assert_eq!(Some(params.tx_id), detail.tx_id);

        let expired = create(&h, "R-2", Some("https://shop.example/back")).await;
        let expired = h
            .engine
            .transition_payment(&expired.id, PaymentCommand::Expire)
            .await
            .unwrap();
        let url = notifier.redirect_url(&expired, &h.merchant, now).unwrap();
        assert_eq!(url, "https://shop.example/back?txId=&status=EXPIRED");
        let no_return = create(&h, "R-3", None).await;
        assert_eq!(notifier.redirect_url(&no_return, &h.merchant, now), None);
    }
}

#[test]
fn schedule_timeout_and_ack() {
    let platform = polypay_engine::Platform {
        public_base_url: "http://127.0.0.1".into(),
        sandbox: true,
        ec_key: polypay_engine::keys::generate_ec_p256().unwrap(),
        rsa_key: polypay_engine::keys::generate_ec_p256().unwrap(),
    };
    let notifier = server::notifier(Arc::new(platform));
    assert_eq!(
        notifier.attempt_offsets_ms(),
        [0, 60_000, 300_000, 1_800_000, 7_200_000, 86_400_000]
    );
    assert_eq!(notifier.attempt_timeout().as_secs(), 10);
    assert!(
        notifier.independent_deliveries(),
        "spec 7.2: one order's events independently"
    );
    assert!(notifier.is_ack(200, b"whatever"));
    assert!(!notifier.is_ack(204, b""));
    assert_eq!(notifier.protocol(), polypay_core::Protocol::Blockatm);
}
