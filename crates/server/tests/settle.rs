//! The settlement API on a gateway: the operator's rail reports payments, payouts and refunds
//! done or failed, with its own references; the merchant's callbacks and balance follow.

use polypay_core::{Currency, Money, PaymentState, Protocol};
use polypay_engine::{NewPayment, NewPayout, NewRefund};
use polypay_server::config::Overrides;
use polypay_server::testing::{Receiver, TestServer};
use polypay_store::testing::TestDb;
use serde_json::json;

fn payout(s: &TestServer, no: &str, minor: i64) -> NewPayout {
    NewPayout {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: no.into(),
        public_id: format!("PO-{no}"),
        amount: Money::new(minor, Currency::CNY),
        notify_url: None,
        start_processing: false,
        attrs: json!({}),
    }
}

/// A pending refund of 1.00 of `paid`: RF-R1.
fn refund_of(paid: &polypay_core::Payment) -> NewRefund {
    NewRefund {
        payment_id: paid.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_refund_no: "R1".into(),
        public_id: "RF-R1".into(),
        amount: Money::new(100, Currency::CNY),
        reason: None,
        notify_url: None,
        exclusive: true,
        fee_minor: 0,
        settle_after_ms: None,
        attrs: json!({}),
    }
}

async fn balance(s: &TestServer) -> i64 {
    let all = s.engine().balances(&s.merchant.id).await.unwrap();
    all.iter().map(|m| m.minor).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateways_rail_settles_payments_payouts_and_refunds() {
    for db in TestDb::all() {
        let name = db.name;
        let gateway = Overrides {
            mode: Some("gateway".into()),
            allow_private_callbacks: Some(true),
            ..Default::default()
        };
        let s = TestServer::start_on(db, gateway).await;
        let hook = Receiver::start(200, "success").await;
        let paid = NewPayment {
            merchant_id: s.merchant.id.clone(),
            protocol: Protocol::Passtopay,
            merchant_order_no: "A1".into(),
            public_id: "P-A1".into(),
            amount: Money::new(1000, Currency::CNY),
            notify_url: Some(format!("{}/notify", hook.url)),
            return_url: None,
            ttl_seconds: 900,
            initial_state: PaymentState::Created,
            attrs: json!({"wayCode": "ALI_QR"}),
        };
        let created = s.engine().create_payment(paid).await.unwrap();

        let (status, _) = s.sandbox("payments/P-A1/succeed", json!({})).await;
        assert_eq!(status, 404, "{name}: no sandbox control API on a gateway");
        let clock = reqwest::Client::new()
            .get(format!("{}/sandbox/v1/clock", s.base_url))
            .bearer_auth("test-admin-token")
            .send()
            .await
            .unwrap();
        assert_eq!(clock.status(), 404, "nor its clock");
        let (status, body) = s.admin_post("payments/P-A1/succeed", json!({})).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("channel_order_no must be")
        );
        let (status, body) = s
            .admin_post("payments/P-A1/succeed", json!({"chanel": "typo"}))
            .await;
        assert_eq!(status, 400, "unknown fields are refused: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("unknown field `chanel`"),
            "by name: {body}"
        );

        // Found by the merchant's number, its id in hand for the report.
        let shown = format!("payments/A1?merchant={}", s.merchant.id);
        let (status, found) = s.admin_get(&shown).await;
        assert_eq!(
            (status, found["id"].as_str()),
            (200, Some(created.id.as_str()))
        );
        let (status, body) = s.admin_get("payments/A1?merchant=mch_nobody").await;
        assert_eq!(status, 404);
        assert_eq!(body["error"], "merchant not found");
        let rail = json!({"channel_order_no": " RAIL-20261207-1 "});
        let by_number = format!("payments/A1/succeed?merchant={}", s.merchant.id);
        let (status, body) = s.admin_post(&by_number, rail.clone()).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["state"], "succeeded");
        assert_eq!(body["channel_order_no"], "RAIL-20261207-1");
        let (status, _) = s.admin_post("payments/P-A1/succeed", rail).await;
        assert_eq!(status, 409, "a paid payment is not paid again");
        assert_eq!(balance(&s).await, 1000);
        s.dispatch().await;
        assert_eq!(hook.requests().len(), 1, "{name}: the merchant is told");

        // A payout the rail takes, then pays; another it rejects (the money comes back).
        s.engine()
            .create_payout(payout(&s, "T1", 700))
            .await
            .unwrap();
        let (status, body) = s.admin_post("payouts/PO-T1/process", json!({})).await;
        assert_eq!((status, body["state"].as_str()), (200, Some("processing")));
        let done = json!({"channel_order_no": "RAIL-P-1"});
        let (status, body) = s.admin_post("payouts/PO-T1/succeed", done).await;
        assert_eq!(
            (status, body["state"].as_str()),
            (200, Some("succeeded")),
            "{body}"
        );
        s.engine()
            .create_payout(payout(&s, "T2", 200))
            .await
            .unwrap();
        assert_eq!(balance(&s).await, 100);
        let rejected = json!({"code": "BANK_REJECTED", "message": "account closed"});
        let (status, body) = s.admin_post("payouts/PO-T2/fail", rejected).await;
        assert_eq!(
            (status, body["state"].as_str()),
            (200, Some("failed")),
            "{body}"
        );
        assert_eq!(body["error_code"], "BANK_REJECTED");
        assert_eq!(balance(&s).await, 300);

        // A pending refund the rail could not send back.
        let refund = refund_of(&created);
        s.engine().create_refund(refund).await.unwrap();
        assert_eq!(balance(&s).await, 200);
        let (status, body) = s.admin_post("refunds/RF-R1/succeed", json!({})).await;
        assert_eq!(status, 400, "a success names the rail's reference: {body}");
        let (status, body) = s
            .admin_post("refunds/RF-R1/fail", json!({"code": "RAIL_DOWN"}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["refund"]["state"], "failed");
        assert_eq!(body["refund"]["error_message"], "RAIL_DOWN");
        assert_eq!(balance(&s).await, 300);
        // Another, which the rail sends back: its reference is the refund's.
        let again = NewRefund {
            merchant_refund_no: "R2".into(),
            public_id: "RF-R2".into(),
            ..refund_of(&created)
        };
        s.engine().create_refund(again).await.unwrap();
        let sent = json!({"channel_order_no": "RAIL-RF-2"});
        let (status, body) = s.admin_post("refunds/RF-R2/succeed", sent).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["refund"]["channel_order_no"], "RAIL-RF-2");
        let stored = s.engine().refund_by_public_id("RF-R2").await.unwrap();
        assert_eq!(stored.channel_order_no.as_deref(), Some("RAIL-RF-2"));
        // What PassToPay's refund query and refund callback render it from.
        let shown = polypay_passtopay::server::view::refund_query_data(&stored, &s.merchant);
        assert_eq!(shown.channel_order_no.as_deref(), Some("RAIL-RF-2"));
        assert_eq!(balance(&s).await, 200);

        // The merchant's statement tells the same story, newest first.
        let statement = format!("merchants/{}/ledger?currency=cny&limit=4", s.merchant.id);
        let (status, body) = s.admin_get(&statement).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["available"], "2.00");
        let moves: Vec<_> = body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap(),
                    e["amount"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            moves,
            [
                "refund -1.00",
                "refund_reversal 1.00",
                "refund -1.00",
                "payout_reversal 2.00"
            ],
            "{name}"
        );
        let next = body["next_before"].as_i64().expect("an older page");
        let (_, older) = s.admin_get(&format!("{statement}&before={next}")).await;
        assert_eq!(older["entries"].as_array().unwrap().len(), 3, "{older}");
        assert!(older["next_before"].is_null());
        for (query, status) in [
            (format!("merchants/{}/ledger", s.merchant.id), 400),
            (
                format!("merchants/{}/ledger?currency=XXX", s.merchant.id),
                400,
            ),
            ("merchants/mch_nobody/ledger?currency=CNY".to_string(), 404),
        ] {
            assert_eq!(s.admin_get(&query).await.0, status, "{query}");
        }
    }
}

/// `GET /admin/v1/{payments,payouts,refunds}`: newest first, a page at a time by cursor,
/// filtered, every parameter checked by name.
#[tokio::test(flavor = "multi_thread")]
async fn the_operator_lists_objects_a_page_at_a_time() {
    for db in TestDb::all() {
        let name = db.name;
        let s = TestServer::start_on(db, Overrides::default()).await;
        let mut created = Vec::new();
        for i in 0..5 {
            let p = NewPayment {
                merchant_id: s.merchant.id.clone(),
                protocol: Protocol::Passtopay,
                merchant_order_no: format!("L{i}"),
                public_id: format!("P-L{i}"),
                amount: Money::new(1000, Currency::CNY),
                notify_url: None,
                return_url: None,
                ttl_seconds: 900,
                initial_state: PaymentState::Created,
                attrs: json!({"wayCode": "ALI_QR"}),
            };
            created.push(s.engine().create_payment(p).await.unwrap().id);
            // Two payments per second of the clock; the conformance suite pages through ties.
            if i % 2 == 1 {
                s.clock().advance(1000);
            }
        }
        let (status, _) = s.sandbox("payments/P-L3/succeed", json!({})).await;
        assert_eq!(status, 200);
        let mut walked = Vec::new();
        let mut path = "payments?limit=2".to_string();
        loop {
            let (status, page) = s.admin_get(&path).await;
            assert_eq!(status, 200, "{name}: {page}");
            let items = page["payments"].as_array().expect("payments").clone();
            assert!(items.len() <= 2);
            walked.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_string()));
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("payments?limit=2&cursor={c}"),
                None => break,
            }
        }
        let newest_first: Vec<String> = created.iter().rev().map(|id| id.0.clone()).collect();
        let mut sorted = walked.clone();
        sorted.sort();
        let mut expected = newest_first.clone();
        expected.sort();
        assert_eq!(sorted, expected, "{name}: every payment once");
        // Across milliseconds time decides (within one, ids).
        assert_eq!(walked[0], created[4].0, "{name}: the newest first");
        let mut oldest = walked[3..].to_vec();
        oldest.sort();
        let mut first_two = vec![created[0].0.clone(), created[1].0.clone()];
        first_two.sort();
        assert_eq!(
            oldest, first_two,
            "{name}: the first millisecond's two last"
        );

        let (_, paid) = s.admin_get("payments?state=succeeded").await;
        let paid = paid["payments"].as_array().unwrap();
        assert_eq!(paid.len(), 1);
        assert_eq!(paid[0]["merchant_order_no"], "L3");
        let mine = format!("payments?merchant={}&number=L2&limit=1000", s.merchant.id);
        let (_, one) = s.admin_get(&mine).await;
        assert_eq!(one["payments"][0]["public_id"], "P-L2", "{one}");
        let listed = one["payments"][0].as_object().unwrap();
        assert!(listed.contains_key("attrs") && !listed.contains_key("cashier_token"));
        assert_eq!(one["next_cursor"], serde_json::Value::Null);
        let (status, none) = s.admin_get("payouts").await;
        assert_eq!(
            (status, none),
            (200, json!({"payouts": [], "next_cursor": null}))
        );
        let (status, none) = s
            .admin_get("refunds?finished_from=2026-12-06T00:00:00%2B08:00")
            .await;
        assert_eq!(
            (status, none["refunds"].as_array().map(Vec::len)),
            (200, Some(0))
        );

        for (query, why) in [
            ("payments?merchnt=mch_1", "unknown field `merchnt`"),
            ("payments?merchant=mch_nobody", "no merchant mch_nobody"),
            ("payments?state=paid", "state must be one of"),
            ("payouts?state=expired", "state must be one of"),
            (
                "payments?limit=0",
                "limit must be a whole number from 1 to 1000",
            ),
            (
                "payments?created_from=yesterday",
                "created_from must be an RFC 3339 time",
            ),
            ("payments?cursor=1", "cursor must be a next_cursor"),
        ] {
            let (status, body) = s.admin_get(query).await;
            assert_eq!(status, 400, "{query}: {body}");
            let text = body["error"].as_str().unwrap_or_default();
            assert!(text.contains(why), "{query}: {text}");
        }
        let anonymous = reqwest::get(format!("{}/admin/v1/payments", s.base_url))
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
    }
}
