//! The dispatcher against a local receiver, with the clock driven explicitly (no sleeps): on
//! SQLite always, and on PostgreSQL when POLYPAY_TEST_DATABASE_URL is set.

mod support;

use polypay_core::Protocol;
use polypay_notify::{DispatchConfig, DispatchReport, NotifyError};
use polypay_store::testing::TestDb;
use polypay_store::{AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState, OutboxEvent};
use serde_json::json;
use std::sync::Arc;
use support::{Fixture, Reply, config};

fn report(ingested: usize, attempted: usize, acknowledged: usize, dead: usize) -> DispatchReport {
    DispatchReport {
        ingested,
        attempted,
        acknowledged,
        failed: attempted - acknowledged,
        dead,
    }
}

#[tokio::test]
async fn retry_schedule_is_honoured_and_acknowledged_callbacks_stop() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 60_000, 300_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        f.receiver.script(
            "/m",
            vec![Reply::Status(500, "busy"), Reply::Status(503, "later")],
        );
        let id = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;

        assert_eq!(
            d.run_once().await.unwrap(),
            report(1, 1, 0, 0),
            "{}",
            db.name
        );
        assert_eq!(d.run_once().await.unwrap(), report(0, 0, 0, 0));
        f.at(59_999);
        assert_eq!(
            d.run_once().await.unwrap(),
            report(0, 0, 0, 0),
            "not due yet"
        );
        f.at(60_000);
        assert_eq!(d.run_once().await.unwrap(), report(0, 1, 0, 0));
        f.at(299_999);
        assert_eq!(d.run_once().await.unwrap(), report(0, 0, 0, 0));
        f.at(300_000);
        assert_eq!(d.run_once().await.unwrap(), report(0, 1, 1, 0));
        f.at(100_000_000);
        assert_eq!(
            d.run_once().await.unwrap(),
            report(0, 0, 0, 0),
            "never again"
        );

        let got = f.receiver.requests_to("/m");
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].header("x-signature"),
            Some(&*format!("sig-{id}-{}", support::T0.0))
        );
        assert_eq!(
            got[0].header("x-attempt"),
            None,
            "the first attempt is sent as stored"
        );
        assert_eq!(
            got[1].header("x-attempt"),
            Some("2"),
            "retries are re-encoded"
        );
        assert_eq!(got[2].header("x-attempt"), Some("3"));

        let (delivery, log) = f.delivery_of(id).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged);
        assert_eq!(delivery.attempts, 3);
        let outcomes: Vec<_> = log.iter().map(|a| a.outcome).collect();
        use AttemptOutcome::*;
        assert_eq!(outcomes, [Rejected, Rejected, Acknowledged]);
        let statuses: Vec<_> = log.iter().map(|a| a.response_status).collect();
        assert_eq!(statuses, [Some(500), Some(503), Some(200)]);
        assert_eq!(log[0].response_body.as_deref(), Some("busy"));
        assert_eq!(log[1].started_at, support::T0.plus_millis(60_000));
        let sent = log[1].request.as_ref().expect("request as sent");
        assert_eq!(sent.url, f.receiver.url("/m"));
        assert!(sent.headers.contains(&("x-attempt".into(), "2".into())));
        assert_eq!(sent.body, got[1].body, "the log holds the bytes sent");
        assert!(
            log.iter()
                .all(|a| a.latency_ms.is_some() && a.node_id == "a")
        );
    }
}

#[tokio::test]
async fn only_the_protocols_acknowledgement_counts_and_redirects_are_not_followed() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 1_000, 2_000, 3_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        f.receiver.script(
            "/m",
            vec![
                Reply::Status(200, "FAIL"),
                Reply::Redirect(f.receiver.url("/elsewhere")),
                Reply::Status(201, "success"),
            ],
        );
        let id = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        for (at, acked) in [(0, 0), (1_000, 0), (2_000, 0), (3_000, 1)] {
            f.at(at);
            let r = d.run_once().await.unwrap();
            assert_eq!(
                (r.attempted, r.acknowledged),
                (1, acked),
                "{} at {at}",
                db.name
            );
        }
        assert!(
            f.receiver.requests_to("/elsewhere").is_empty(),
            "redirect followed"
        );
        let (delivery, log) = f.delivery_of(id).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged);
        let statuses: Vec<_> = log.iter().map(|a| a.response_status).collect();
        assert_eq!(statuses, [Some(200), Some(302), Some(201), Some(200)]);
        assert_eq!(
            log[0].outcome,
            AttemptOutcome::Rejected,
            "200 without the ack body"
        );
    }
}

#[tokio::test]
async fn a_response_body_with_nul_bytes_is_recorded_and_does_not_hold_back_its_batch() {
    // PostgreSQL's text cannot hold U+0000: a merchant answering with one must not stop the
    // attempts recorded with it (another merchant's here) from being recorded.
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 1_000], config("a"));
        let odd = f.merchant("odd", "/odd").await;
        let plain = f.merchant("plain", "/plain").await;
        f.receiver
            .script("/odd", vec![Reply::Status(200, "fa\0il\0")]);
        let first = f
            .emit(&odd, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        let second = f
            .emit(&plain, "payment", "pay_2", "payment.succeeded", json!({}))
            .await;
        let r = d.run_once().await.unwrap();
        assert_eq!((r.attempted, r.acknowledged), (2, 1), "{}", db.name);
        let (delivery, log) = f.delivery_of(first).await;
        assert_eq!(delivery.state, DeliveryState::Pending, "{}", db.name);
        assert_eq!(log.len(), 1, "{}", db.name);
        assert_eq!(log[0].outcome, AttemptOutcome::Rejected);
        assert_eq!(
            log[0].response_body.as_deref(),
            Some("fa\u{fffd}il\u{fffd}"),
            "{}: recorded with each NUL replaced",
            db.name
        );
        let (delivery, _) = f.delivery_of(second).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged, "{}", db.name);

        f.at(1_000);
        let r = d.run_once().await.unwrap();
        assert_eq!((r.attempted, r.acknowledged), (1, 1), "{}", db.name);
        let (delivery, _) = f.delivery_of(first).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged, "{}", db.name);
    }
}

#[tokio::test]
async fn a_protocol_with_independent_deliveries_does_not_hold_later_events_back() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.independent_dispatcher(&[0, 60_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        f.receiver.script("/fail", vec![Reply::Status(500, "no")]);
        let failing = json!({"notify_url": f.receiver.url("/fail")});
        f.emit(&m, "payment", "pay_1", "payment.pending", failing)
            .await;
        f.emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        let r = d.run_once().await.unwrap();
        assert_eq!(
            (r.ingested, r.attempted, r.acknowledged),
            (2, 2, 1),
            "{}: both at once; the later one acknowledged while the first waits",
            db.name
        );
        assert_eq!(f.receiver.requests_to("/m").len(), 1);
        let listed = f
            .engine
            .store()
            .read(|db| {
                let filter = polypay_store::DeliveryFilter {
                    payment: Some("pay_1".into()),
                    limit: 10,
                    ..Default::default()
                };
                db.deliveries(&filter)
            })
            .await
            .unwrap();
        let summary = polypay_notify::operator::delivery_summary_json(&listed[0]);
        assert_eq!(
            summary["payment_id"], "pay_1",
            "the key's object, not the key"
        );
    }
}

/// Event order holds per URL: a refund whose callback goes to a URL of its own does not wait
/// behind its payment's callback failing at another (for a whole retry schedule), while a
/// refund sent to the payment's URL still does.
#[tokio::test]
async fn a_callback_to_another_url_does_not_wait_behind_a_failing_one() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 1_000, 2_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        f.receiver.script("/m", vec![Reply::Status(500, "no")]);
        f.payment_with_refund(&m, "pay_1", "rf_1").await;
        let first = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        let own = json!({"payment_id": "pay_1", "notify_url": f.receiver.url("/r")});
        f.emit(&m, "refund", "rf_1", "refund.succeeded", own).await;
        let shared = json!({"payment_id": "pay_1"});
        let later = f.emit(&m, "refund", "rf_1", "refund.failed", shared).await;

        let r = d.run_once().await.unwrap();
        assert_eq!(
            (r.ingested, r.attempted, r.acknowledged),
            (3, 2, 1),
            "{}: the payment's (refused) and the refund's at its own URL",
            db.name
        );
        assert_eq!(f.receiver.requests_to("/r").len(), 1);
        assert_eq!(
            d.run_once().await.unwrap().attempted,
            0,
            "{}: the one to /m waits for the payment's retry",
            db.name
        );
        // What the operator is shown: which callback it waits for.
        let (first, _) = f.delivery_of(first).await;
        let (waiting, _) = f.delivery_of(later).await;
        let waits = |id| polypay_notify::operator::delivery_with_attempts(&f.engine, id);
        assert_eq!(waits(waiting.id).await.unwrap().waiting_for, Some(first.id));
        assert_eq!(waits(first.id).await.unwrap().waiting_for, None);
        f.at(1_000);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        let events: Vec<_> = f
            .receiver
            .requests_to("/m")
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            events,
            ["payment.succeeded", "payment.succeeded", "refund.failed"],
            "{}",
            db.name
        );
    }
}

/// A callback queued by a version whose keys named the object alone still holds back its
/// object's later callbacks to its endpoint once the node has re-keyed it (at start).
#[tokio::test]
async fn callbacks_queued_with_bare_keys_still_hold_back_later_ones() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 1_000, 2_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        f.receiver.script("/m", vec![Reply::Status(500, "no")]);
        f.payment_with_refund(&m, "pay_1", "rf_1").await;
        let first = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        assert_eq!(d.run_once().await.unwrap().attempted, 1);
        let (queued, _) = f.delivery_of(first).await;
        let id = queued.id;
        f.engine
            .store()
            .write(move |db| db.set_order_key(id, "pay_1"))
            .await
            .unwrap();
        assert_eq!(d.rekey_bare_pending().await.unwrap(), 1, "{}", db.name);
        assert_eq!(d.rekey_bare_pending().await.unwrap(), 0, "{}", db.name);

        f.emit(
            &m,
            "refund",
            "rf_1",
            "refund.succeeded",
            json!({"payment_id": "pay_1"}),
        )
        .await;
        let r = d.run_once().await.unwrap();
        assert_eq!(
            (r.ingested, r.attempted),
            (1, 0),
            "{}: the refund waits for the payment's retry",
            db.name
        );
        f.at(1_000);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);

        // A re-send of one keyed so (its request stored) keys it by its endpoint too.
        f.engine
            .store()
            .write(move |db| db.set_order_key(id, "pay_1"))
            .await
            .unwrap();
        d.resend(id).await.unwrap();
        let (resent, _) = f.delivery_of(first).await;
        let endpoint = resent.request.as_ref().unwrap().url.clone();
        assert_eq!(
            resent.order_key,
            polypay_notify::schedule::keyed_at("pay_1", &endpoint),
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn callbacks_of_one_payment_go_out_in_event_order() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 1_000, 2_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        let other = f.merchant("other", "/o").await;
        f.receiver.script("/m", vec![Reply::Status(500, "no")]);
        f.payment_with_refund(&m, "pay_1", "rf_1").await;
        f.emit(&m, "payment", "pay_1", "payment.pending", json!({}))
            .await;
        f.emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        let refund = json!({"payment_id": "pay_1"});
        f.emit(&m, "refund", "rf_1", "refund.succeeded", refund)
            .await;
        f.emit(&other, "payment", "pay_2", "payment.succeeded", json!({}))
            .await;

        let r = d.run_once().await.unwrap();
        assert_eq!(
            (r.ingested, r.attempted),
            (4, 2),
            "{}: pay_1's first and pay_2",
            db.name
        );
        assert_eq!(
            d.run_once().await.unwrap().attempted,
            0,
            "pay_1 waits for its retry"
        );
        f.at(1_000);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        assert_eq!(d.run_once().await.unwrap().attempted, 0);

        let events: Vec<_> = f
            .receiver
            .requests_to("/m")
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            events,
            [
                "payment.pending",
                "payment.pending",
                "payment.succeeded",
                "refund.succeeded"
            ]
        );
        assert_eq!(f.receiver.requests_to("/o").len(), 1);

        // The operator's view of pay_1 (the console's payment page): its three callbacks, the
        // refund's included, oldest first, each with its own attempts, in one read.
        let filter = polypay_store::DeliveryFilter {
            payment: Some("pay_1".into()),
            limit: 10,
            ..Default::default()
        };
        let listed = polypay_notify::operator::list_deliveries_with_attempts(&f.engine, filter)
            .await
            .unwrap();
        let seen: Vec<_> = listed
            .iter()
            .map(|(d, log)| {
                assert!(log.iter().all(|a| a.delivery_id == d.id), "{}", db.name);
                (
                    d.event.as_str(),
                    log.iter().map(|a| a.attempt).collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("payment.pending", vec![1, 2]),
                ("payment.succeeded", vec![1]),
                ("refund.succeeded", vec![1]),
            ],
            "{}",
            db.name
        );
    }
}

/// A first attempt held back longer than a minute (behind an earlier callback of its payment)
/// is re-encoded like a retry, so a protocol that signs each attempt afresh does not send a
/// signature as old as the wait; one sent at once goes out as stored.
#[tokio::test]
async fn a_first_attempt_held_back_over_a_minute_is_signed_afresh() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 120_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        f.receiver.script("/m", vec![Reply::Status(500, "no")]);
        f.emit(&m, "payment", "pay_1", "payment.pending", json!({}))
            .await;
        f.emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        assert_eq!(d.run_once().await.unwrap().attempted, 1, "{}", db.name);
        f.at(120_000);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
        let got = f.receiver.requests_to("/m");
        assert_eq!(got.len(), 3, "{}", db.name);
        assert!(got[0].header("x-signature").unwrap().starts_with("sig-"));
        assert_eq!(got[0].header("x-attempt"), None, "sent at once, as stored");
        assert_eq!(got[1].header("x-attempt"), Some("2"));
        assert_eq!(got[2].json()["event"], "payment.succeeded");
        assert_eq!(got[2].header("x-attempt"), Some("1"), "{}", db.name);
        assert!(
            got[2]
                .header("x-signature")
                .unwrap()
                .starts_with("resigned-"),
            "{}",
            db.name
        );
    }
}

#[tokio::test]
async fn a_delivery_dies_after_its_last_attempt_unblocks_the_next_and_can_be_resent() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 1_000, 2_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        let no = Reply::Status(500, "down");
        f.receiver.script("/m", vec![no.clone(), no.clone(), no]);
        let first = f
            .emit(&m, "payment", "pay_1", "payment.pending", json!({}))
            .await;
        let second = f
            .emit(&m, "payment", "pay_1", "payment.failed", json!({}))
            .await;

        assert_eq!(
            d.run_once().await.unwrap(),
            report(2, 1, 0, 0),
            "{}",
            db.name
        );
        f.at(1_000);
        assert_eq!(d.run_once().await.unwrap(), report(0, 1, 0, 0));
        f.at(2_000);
        assert_eq!(d.run_once().await.unwrap(), report(0, 1, 0, 1));
        let (dead, log) = f.delivery_of(first).await;
        assert_eq!(dead.state, DeliveryState::Dead);
        // An answer that is not the acknowledgement says what the protocol wanted instead.
        let why = "not an acknowledgement: passtopay expects HTTP 2xx (test notifier)";
        assert_eq!(
            (log[2].response_status, log[2].error.as_deref()),
            (Some(500), Some(why)),
            "{}",
            db.name
        );
        assert_eq!(dead.last_error.as_deref(), Some(why));
        assert_eq!(
            d.run_once().await.unwrap(),
            report(0, 1, 1, 0),
            "next one unblocked"
        );
        f.at(50_000_000);
        assert_eq!(d.run_once().await.unwrap().attempted, 0, "dead stays dead");

        d.resend(dead.id).await.unwrap();
        assert_eq!(d.run_once().await.unwrap(), report(0, 1, 1, 0));
        let (resent, log) = f.delivery_of(first).await;
        assert_eq!(resent.state, DeliveryState::Acknowledged);
        assert_eq!(log.len(), 4);
        assert_eq!(log[3].error, None, "an acknowledgement has no error");
        assert_eq!(log[3].started_at, support::T0.plus_millis(50_000_000));

        let (acked, _) = f.delivery_of(second).await;
        d.resend(acked.id).await.unwrap();
        assert_eq!(
            d.run_once().await.unwrap().acknowledged,
            1,
            "acknowledged re-sent too"
        );
        assert_eq!(f.receiver.requests_to("/m").len(), 6);
        assert!(matches!(
            d.resend(999_999).await,
            Err(NotifyError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn skipped_events_are_recorded_and_never_sent() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0], config("a"));
        let m = f.merchant("shop", "/m").await;
        let id = f
            .emit(&m, "payout", "po_1", "payout.created", json!({}))
            .await;
        assert_eq!(
            d.run_once().await.unwrap(),
            report(1, 0, 0, 0),
            "{}",
            db.name
        );
        assert_eq!(
            d.run_once().await.unwrap(),
            report(0, 0, 0, 0),
            "never reconsidered"
        );
        let (skipped, log) = f.delivery_of(id).await;
        assert_eq!(skipped.state, DeliveryState::Skipped);
        assert!(log.is_empty() && skipped.request.is_none());
        let summary = polypay_notify::operator::delivery_summary_json(&skipped);
        assert_eq!(
            summary["payment_id"],
            json!(null),
            "a payout has no payment"
        );
        assert_eq!(
            skipped.last_error.as_deref(),
            Some("skipped: the protocol sends no callback for this event")
        );
        let err = d.resend(skipped.id).await.unwrap_err();
        assert!(matches!(err, NotifyError::NotSendable(..)), "{err}");

        // A notified event with nowhere to go says so, not that the protocol is silent.
        let (nowhere, _) = f
            .engine
            .create_merchant(polypay_engine::NewMerchant {
                name: "no url".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let id = f
            .emit(&nowhere, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        assert_eq!(d.run_once().await.unwrap(), report(1, 0, 0, 0));
        let (skipped, _) = f.delivery_of(id).await;
        assert_eq!(
            (skipped.state, skipped.last_error.as_deref()),
            (
                DeliveryState::Skipped,
                Some(
                    "skipped: no callback URL: the order named none, nor does the merchant \
                     where the protocol falls back to one"
                )
            ),
            "{}",
            db.name
        );
        let err = d.resend(skipped.id).await.unwrap_err().to_string();
        assert!(err.contains("no callback URL"), "{err}");
        assert!(f.receiver.requests().is_empty());

        // Given a URL, the re-sent callback is keyed by its endpoint, as one queued now.
        let change = polypay_engine::MerchantUpdate {
            notify_url: Some(Some(f.receiver.url("/late"))),
            ..Default::default()
        };
        f.engine
            .update_merchant_profile(&nowhere.id, change)
            .await
            .unwrap();
        d.resend(skipped.id).await.unwrap();
        let (resent, _) = f.delivery_of(id).await;
        assert_eq!(
            resent.order_key,
            polypay_notify::schedule::keyed_at("pay_1", &f.receiver.url("/late")),
            "{}",
            db.name
        );
        assert_eq!(d.run_once().await.unwrap().acknowledged, 1);
    }
}

#[tokio::test]
async fn silent_events_get_no_delivery_and_the_cursor_passes_them() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0], config("a"));
        let m = f.merchant("shop", "/m").await;
        let silent = f
            .emit(&m, "payment", "pay_1", support::SILENT, json!({}))
            .await;
        let sent = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        assert_eq!(
            d.run_once().await.unwrap(),
            report(1, 1, 1, 0),
            "{}: one delivery, sent",
            db.name
        );
        // A pass works out where the cursor may go before it writes its batch: the next one
        // moves it over the event just ingested (on PostgreSQL once the events are settled,
        // which the time rule proves a minute later whatever else runs on the server).
        f.at(61_000);
        assert_eq!(
            d.run_once().await.unwrap(),
            report(0, 0, 0, 0),
            "{}",
            db.name
        );
        let store = f.engine.store().clone();
        let (cursor, deliveries) = store
            .read(|db| {
                let all = db.deliveries(&polypay_store::DeliveryFilter {
                    limit: 10,
                    ..Default::default()
                })?;
                Ok::<_, polypay_store::StoreError>((db.delivery_cursor()?, all))
            })
            .await
            .unwrap();
        let outbox: Vec<i64> = deliveries.iter().map(|d| d.outbox_id).collect();
        assert_eq!(outbox, [sent], "{}: none for the silent event", db.name);
        assert!(
            cursor >= sent && sent > silent,
            "{}: the cursor passed both ({cursor})",
            db.name
        );
        assert_eq!(f.receiver.requests_to("/m").len(), 1, "{}", db.name);
    }
}

#[tokio::test]
async fn an_interrupted_attempt_is_retried_by_another_dispatcher_after_its_lease_expires() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let m = f.merchant("shop", "/m").await;
        f.receiver.script("/m", vec![Reply::Hang]);
        let id = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;

        let crashed = f.dispatcher(&[0, 60_000], config("a"));
        let run = tokio::spawn(async move { crashed.run_once().await });
        f.receiver.wait_for(1).await;
        run.abort(); // the node dies mid-attempt: leased, sent, nothing recorded
        assert!(run.await.unwrap_err().is_cancelled());

        let restarted = f.dispatcher(&[0, 60_000], config("b"));
        assert_eq!(
            restarted.run_once().await.unwrap().attempted,
            0,
            "{}: lease held",
            db.name
        );
        f.at(29_999);
        assert_eq!(restarted.run_once().await.unwrap().attempted, 0);
        f.at(30_000);
        assert_eq!(restarted.run_once().await.unwrap(), report(0, 1, 1, 0));

        assert_eq!(f.receiver.requests_to("/m").len(), 2);
        let (delivery, log) = f.delivery_of(id).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged);
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].outcome, AttemptOutcome::Interrupted);
        assert_eq!(log[0].node_id, "a");
        assert_eq!(
            (log[1].outcome, log[1].node_id.as_str()),
            (AttemptOutcome::Acknowledged, "b")
        );
        assert_eq!(log[1].attempt, 2, "the interrupted attempt counts");
        assert_eq!(delivery.attempts, 2);
    }
}

#[tokio::test]
async fn a_delivery_whose_attempts_keep_being_interrupted_dies_at_the_end_of_its_schedule() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let m = f.merchant("shop", "/m").await;
        f.receiver.script("/m", vec![Reply::Hang, Reply::Hang]);
        let id = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        // Two attempts in the schedule; a node dies in each of them.
        for (n, node) in ["a", "b"].into_iter().enumerate() {
            f.at(i64::try_from(n).unwrap() * 30_000);
            let crashed = f.dispatcher(&[0, 1_000], config(node));
            let run = tokio::spawn(async move { crashed.run_once().await });
            f.receiver.wait_for(n + 1).await;
            run.abort();
            assert!(run.await.unwrap_err().is_cancelled());
        }
        f.at(60_000);
        let last = f.dispatcher(&[0, 1_000], config("c"));
        assert_eq!(last.run_once().await.unwrap(), report(0, 1, 0, 1));
        assert_eq!(
            f.receiver.requests_to("/m").len(),
            2,
            "{}: not sent a third time",
            db.name
        );
        let (delivery, log) = f.delivery_of(id).await;
        assert_eq!(delivery.state, DeliveryState::Dead, "{}", db.name);
        let outcomes: Vec<_> = log.iter().map(|a| (a.attempt, a.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                (1, AttemptOutcome::Interrupted),
                (2, AttemptOutcome::Interrupted),
                (3, AttemptOutcome::Error),
            ]
        );
        assert!(
            log[2]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("used up the retry schedule"))
        );
    }
}

#[tokio::test]
async fn private_addresses_are_refused_with_a_recorded_error_unless_allowed() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let mut strict = config("a");
        strict.allow_private = false;
        let d = f.dispatcher(&[0, 1_000], strict);
        let port = f.receiver.port();
        let urls = [
            format!("http://127.0.0.1:{port}/a"),
            format!("http://localhost:{port}/b"),
            format!("http://[::1]:{port}/c"),
            format!("http://10.0.0.1:{port}/d"),
        ];
        let mut ids = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            let m = f.merchant_at(&format!("shop{i}"), url).await;
            ids.push(
                f.emit(
                    &m,
                    "payment",
                    &format!("pay_{i}"),
                    "payment.succeeded",
                    json!({}),
                )
                .await,
            );
        }
        assert_eq!(
            d.run_once().await.unwrap(),
            report(4, 4, 0, 0),
            "{}",
            db.name
        );
        assert!(
            f.receiver.requests().is_empty(),
            "a refused callback reached the receiver"
        );
        for id in ids {
            let (delivery, log) = f.delivery_of(id).await;
            assert_eq!(
                delivery.state,
                DeliveryState::Pending,
                "refusals retry on schedule"
            );
            let error = log[0].error.as_deref().unwrap_or("");
            assert!(error.starts_with("refused:"), "{error}");
            assert_eq!(delivery.last_error.as_deref(), Some(error));
        }

        let allowed = f.dispatcher(&[0, 1_000], config("b"));
        f.at(1_000);
        let r = allowed.run_once().await.unwrap();
        assert_eq!(r.attempted, 4);
        assert_eq!(
            f.receiver.requests().len(),
            2,
            "loopback reachable once allowed"
        );
    }
}

#[tokio::test]
async fn a_hanging_merchant_does_not_delay_another_merchants_callbacks() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let mut c = config("a");
        c.concurrency = 2;
        c.timeout_cap = Some(std::time::Duration::from_millis(300));
        let d = f.dispatcher(&[0, 60_000], c);
        let slow = f.merchant("slow", "/slow").await;
        let fast = f.merchant("fast", "/fast").await;
        f.receiver
            .script("/slow", vec![Reply::Hang, Reply::Hang, Reply::Hang]);
        for i in 0..3 {
            f.emit(
                &slow,
                "payment",
                &format!("pay_s{i}"),
                "payment.succeeded",
                json!({}),
            )
            .await;
        }
        let id = f
            .emit(&fast, "payment", "pay_f", "payment.succeeded", json!({}))
            .await;

        let r = d.run_once().await.unwrap();
        assert_eq!(
            (r.attempted, r.acknowledged, r.failed),
            (2, 1, 1),
            "{}",
            db.name
        );
        let (delivery, _) = f.delivery_of(id).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged);
        let slow_errors: Vec<_> = f
            .engine
            .store()
            .read(|db| {
                db.deliveries(&polypay_store::DeliveryFilter {
                    limit: 10,
                    ..Default::default()
                })
            })
            .await
            .unwrap()
            .into_iter()
            .filter_map(|d| d.last_error)
            .collect();
        assert_eq!(slow_errors, ["timed out after 300 ms"]);
    }
}

#[tokio::test]
async fn run_finishes_attempts_in_flight_before_it_stops() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(&[0, 60_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        let gate = Arc::new(tokio::sync::Notify::new());
        f.receiver.script("/m", vec![Reply::Gate(gate.clone())]);
        let id = f
            .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
            .await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(d.run(std::time::Duration::from_millis(10), async {
            let _ = stopped.await;
        }));
        f.receiver.wait_for(1).await;
        stop.send(()).unwrap();
        gate.notify_one();
        running.await.unwrap();
        let (delivery, log) = f.delivery_of(id).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged, "{}", db.name);
        assert_eq!(log.len(), 1);
    }
}

/// A running dispatcher (10 ms tick) whose first callback is acknowledged while its next
/// `failures` cycles fail; then a second callback is emitted and has arrived. Returns the
/// first event's delivery and log as stored then, and every request the merchant received once
/// the dispatcher stopped.
async fn first_callback_recorded_through_failures(
    f: &Fixture,
    failures: u32,
) -> ((Delivery, Vec<DeliveryAttempt>), usize) {
    let d = f.dispatcher(&[0, 60_000], config("a"));
    let m = f.merchant("shop", "/m").await;
    let gate = Arc::new(tokio::sync::Notify::new());
    f.receiver.script("/m", vec![Reply::Gate(gate.clone())]);
    let first = f
        .emit(&m, "payment", "pay_1", "payment.succeeded", json!({}))
        .await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let tick = std::time::Duration::from_millis(10);
    let running = tokio::spawn(d.clone().run(tick, async {
        let _ = stopped.await;
    }));
    f.receiver.wait_for(1).await;
    // The attempt is at the merchant; the next cycles, the first of which records it, fail.
    let failed = d.fail_next_cycles(failures);
    gate.notify_one();
    let wait = std::time::Duration::from_secs(30);
    tokio::time::timeout(wait, failed).await.unwrap().unwrap();
    // A later event is leased by a cycle after the failures, which records whatever is still
    // held in the same job, before the lease.
    f.emit(&m, "payment", "pay_2", "payment.succeeded", json!({}))
        .await;
    assert!(
        tokio::time::timeout(wait, f.receiver.wait_for(2))
            .await
            .is_ok(),
        "the second callback"
    );
    let stored = f.delivery_of(first).await;
    stop.send(()).unwrap();
    running.await.unwrap();
    (stored, f.receiver.requests_to("/m").len())
}

/// The store refuses the cycle that records an acknowledged attempt (a database restart, say):
/// the attempt is held and recorded by the next cycle, not lost and sent again once its lease
/// expires.
#[tokio::test]
async fn an_attempt_whose_recording_failed_is_recorded_by_a_later_cycle() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let ((delivery, log), sent) = first_callback_recorded_through_failures(&f, 1).await;
        assert_eq!(delivery.state, DeliveryState::Acknowledged, "{}", db.name);
        assert_eq!(log.len(), 1, "{}: one attempt, recorded once", db.name);
        assert_eq!(
            sent, 2,
            "{}: the first callback was not sent again",
            db.name
        );
    }
}

/// A batch the store keeps refusing is given up after eight cycles, so it cannot stop delivery:
/// its delivery is attempted again once its lease expires, as after a crash.
#[tokio::test]
async fn attempts_the_store_keeps_refusing_are_given_up_and_delivery_goes_on() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        let ((delivery, log), _) = first_callback_recorded_through_failures(&f, 8).await;
        assert_eq!(
            (delivery.state, log.len()),
            (DeliveryState::Pending, 0),
            "{}: given up, its lease left to expire",
            db.name
        );
        assert!(delivery.lease_until.is_some(), "{}", db.name);
    }
}

#[tokio::test]
async fn run_leases_the_next_delivery_as_soon_as_an_attempt_frees_its_permit() {
    for db in TestDb::all() {
        let f = Fixture::new(&db).await;
        // 8 permits, 30 callbacks due, and a tick that never comes again after the first: all
        // 30 arrive only if finished attempts start the next ones.
        let d = f.dispatcher(&[0, 60_000], config("a"));
        let m = f.merchant("shop", "/m").await;
        for i in 0..30 {
            f.emit(
                &m,
                "payment",
                &format!("pay_{i}"),
                "payment.succeeded",
                json!({}),
            )
            .await;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let hour = std::time::Duration::from_secs(3600);
        let running = tokio::spawn(d.run(hour, async {
            let _ = stopped.await;
        }));
        let all = tokio::time::timeout(std::time::Duration::from_secs(30), f.receiver.wait_for(30));
        assert!(all.await.is_ok(), "{}: waited for a tick", db.name);
        stop.send(()).unwrap();
        running.await.unwrap();
        assert_eq!(f.receiver.requests_to("/m").len(), 30, "{}", db.name);
    }
}

#[tokio::test]
async fn run_ingests_a_backlog_of_several_batches_once_each_without_a_tick() {
    // With one delivery cycle at a time, and with two in flight (`polypay serve` runs one per
    // store writer: two on PostgreSQL); on SQLite the second waits for the writer.
    for (cycles, db) in [1, 2]
        .into_iter()
        .flat_map(|cycles| TestDb::all().into_iter().map(move |db| (cycles, db)))
    {
        let f = Fixture::new(&db).await;
        let d = f.dispatcher(
            &[0, 60_000],
            DispatchConfig {
                cycles,
                ..config("a")
            },
        );
        let m = f.merchant("shop", "/m").await;
        // 1,250 events (two and a half ingestion batches), every other one sending nothing
        // (half of those silent, read by no pass; the others skipped), written in one job; the
        // tick never comes again after the first pass, so the backlog is read by quick passes,
        // each while the previous batch is being written.
        let events: Vec<OutboxEvent> = (0..1_250)
            .map(|i| OutboxEvent {
                id: 0,
                merchant_id: m.id.clone(),
                protocol: Protocol::Passtopay,
                object_kind: "payment".into(),
                object_id: format!("pay_{i}"),
                event: match i % 4 {
                    0 | 2 => "payment.succeeded",
                    1 => support::SILENT,
                    _ => "refund.created",
                }
                .into(),
                payload: json!({}),
                created_at: f.clock_now(),
            })
            .collect();
        f.engine
            .store()
            .write(move |db| {
                for e in &events {
                    db.append_outbox(e)?;
                }
                Ok::<_, polypay_store::StoreError>(())
            })
            .await
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let hour = std::time::Duration::from_secs(3600);
        let running = tokio::spawn(d.run(hour, async {
            let _ = stopped.await;
        }));
        let all =
            tokio::time::timeout(std::time::Duration::from_secs(60), f.receiver.wait_for(625));
        if all.await.is_err() {
            // What was stored, to tell an ingestion stall from a delivery stall.
            let store = f.engine.store().clone();
            let seen = store
                .read(|db| {
                    let all = db.deliveries(&polypay_store::DeliveryFilter {
                        limit: 5_000,
                        ..Default::default()
                    })?;
                    let mut by_state = std::collections::BTreeMap::new();
                    for d in &all {
                        *by_state.entry(d.state.as_str()).or_insert(0) += 1;
                    }
                    let leased = all.iter().filter(|d| d.lease_until.is_some()).count();
                    Ok::<_, polypay_store::StoreError>(format!(
                        "deliveries {by_state:?}, {leased} leased, cursor {}",
                        db.delivery_cursor()?
                    ))
                })
                .await
                .unwrap();
            panic!(
                "{} with {cycles} cycles: the backlog was not all delivered: {} received; {seen}",
                db.name,
                f.receiver.requests().len()
            );
        }
        stop.send(()).unwrap();
        running.await.unwrap();
        let mut sent: Vec<String> = f
            .receiver
            .requests_to("/m")
            .iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect();
        assert_eq!(sent.len(), 625, "{} with {cycles} cycles", db.name);
        sent.sort();
        sent.dedup();
        assert_eq!(
            sent.len(),
            625,
            "{} with {cycles} cycles: a callback was sent twice",
            db.name
        );
        let store = f.engine.store().clone();
        let (all, pending) = store
            .read(|db| {
                let all = db.deliveries(&polypay_store::DeliveryFilter {
                    limit: 5_000,
                    ..Default::default()
                })?;
                Ok::<_, polypay_store::StoreError>((all.len(), db.pending_delivery_count()?))
            })
            .await
            .unwrap();
        assert_eq!(
            (all, pending),
            (625 + 312, 0),
            "{} with {cycles} cycles: a delivery for each event but the 313 silent ones",
            db.name
        );
    }
}

/// A second node on the fixture's database, and a dispatcher on each ("a" on the fixture's).
fn two_nodes(
    db: &TestDb,
    f: &Fixture,
) -> (
    polypay_engine::Engine,
    polypay_notify::Dispatcher,
    polypay_notify::Dispatcher,
) {
    let other_node = polypay_engine::Engine::new(db.open().unwrap(), f.clock.clone());
    let notifier = support::TestNotifier::shared(&[0, 1_000]);
    let a = polypay_notify::Dispatcher::new(f.engine.clone(), vec![notifier.clone()], config("a"));
    let b = polypay_notify::Dispatcher::new(other_node.clone(), vec![notifier], config("b"));
    (other_node, a, b)
}

#[tokio::test]
async fn two_dispatchers_on_one_postgres_never_send_the_same_attempt_twice() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let f = Fixture::new(&db).await;
    let (_, a, b) = two_nodes(&db, &f);
    let mut paths = Vec::new();
    for i in 0..6 {
        let m = f.merchant(&format!("shop{i}"), "/unused").await;
        for j in 0..5 {
            let path = format!("/{i}/{j}");
            f.receiver.script(&path, vec![Reply::Status(500, "again")]);
            let payload = json!({"notify_url": f.receiver.url(&path)});
            f.emit(
                &m,
                "payment",
                &format!("pay_{i}_{j}"),
                "payment.succeeded",
                payload,
            )
            .await;
            paths.push(path);
        }
    }
    let mut total = DispatchReport::default();
    let mut by_node = [0, 0];
    for round in 0..40 {
        if round == 20 {
            f.at(1_000);
        }
        let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
        for (i, r) in [ra.unwrap(), rb.unwrap()].into_iter().enumerate() {
            total.ingested += r.ingested;
            total.attempted += r.attempted;
            total.acknowledged += r.acknowledged;
            by_node[i] += r.attempted;
        }
    }
    assert_eq!(total.ingested, 30, "each event ingested exactly once");
    assert_eq!((total.attempted, total.acknowledged), (60, 30));
    assert!(
        by_node[0] > 0 && by_node[1] > 0,
        "both nodes worked: {by_node:?}"
    );
    for path in &paths {
        assert_eq!(f.receiver.requests_to(path).len(), 2, "{path}");
    }
}

/// Two nodes on one PostgreSQL database, each drawing numbers from a shared sequence (as
/// V2_SHA256's refund and payout numbers are) and emitting events while both dispatchers
/// ingest and deliver: a batch that drew a number and then waited for a delivery row another
/// node's ingestion had inserted, while that ingestion's batch waited for the sequence row,
/// was a deadlock. Sequences are taken first in every batch and the ingestion last
/// (`polypay_store::Locks`), and an ingestion no longer waits on a delivery being updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_drawing_numbers_while_both_ingest_do_not_deadlock() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let f = Fixture::new(&db).await;
    let (other_node, a, b) = two_nodes(&db, &f);
    let m = f.merchant("shop", "/ok").await;
    const PER_TASK: usize = 100;
    let mut tasks = Vec::new();
    for (n, node) in [f.engine.clone(), other_node.clone()]
        .into_iter()
        .enumerate()
    {
        for t in 0..16 {
            let (node, m, now) = (node.clone(), m.clone(), f.clock_now());
            tasks.push(tokio::spawn(async move {
                for i in 0..PER_TASK {
                    node.next_sequence("RF", 1).await.unwrap();
                    let e = OutboxEvent {
                        id: 0,
                        merchant_id: m.id.clone(),
                        protocol: Protocol::Passtopay,
                        object_kind: "payment".into(),
                        object_id: format!("pay_{n}_{t}_{i}"),
                        event: "payment.succeeded".into(),
                        payload: json!({}),
                        created_at: now,
                    };
                    node.store()
                        .write(move |db| db.append_outbox(&e))
                        .await
                        .unwrap();
                }
            }));
        }
    }
    let events = 2 * 16 * PER_TASK;
    let mut acknowledged = 0;
    for _ in 0..2_000 {
        let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
        acknowledged += ra.unwrap().acknowledged + rb.unwrap().acknowledged;
        if acknowledged == events && tasks.iter().all(|t| t.is_finished()) {
            break;
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(acknowledged, events, "each event delivered once");
    let lost = f.engine.store().batch_conflicts() + other_node.store().batch_conflicts();
    assert_eq!(lost, 0, "no batch lost to a deadlock");
}
