//! The store conformance suite: every test runs against SQLite and, when
//! POLYPAY_TEST_DATABASE_URL is set, against PostgreSQL.

use polypay_core::merchant::*;
use polypay_core::*;
use polypay_store::testing::TestDb;
use polypay_store::{Db, LedgerEntry, OutboxEvent, SilentEvents, Store, StoreError};

use polypay_store::testing::merchant;

fn payment(m: &Merchant, order_no: &str, minor: i64) -> Payment {
    Payment {
        id: PaymentId::from_random(order_no),
        merchant_id: m.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: order_no.into(),
        public_id: format!("P{order_no}"),
        amount: Money::new(minor, Currency::CNY),
        state: PaymentState::Created,
        refunded_minor: 0,
        refund_pending_minor: 0,
        notify_url: None,
        return_url: Some("https://example.com/return".into()),
        cashier_token: format!("tok{order_no}"),
        created_at: Timestamp(10),
        updated_at: Timestamp(10),
        expires_at: Timestamp(1000),
        finished_at: None,
        channel_order_no: None,
        error_code: None,
        error_message: None,
        attrs: serde_json::json!({"wayCode": "ALI_QR", "subject": "商品"}),
    }
}

async fn w<T: Send + 'static>(
    s: &Store,
    f: impl FnMut(&mut Db<'_>) -> Result<T, StoreError> + Send + 'static,
) -> T {
    s.write(f).await.expect("write")
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in TestDb::all() {
        let store = db.open().expect("open store");
        test(store.clone(), db.name).await;
        store.close();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn merchants_round_trip_and_secrets_are_sealed() {
    each_backend(|s, name| async move {
        let m = merchant("a1");
        let m2 = m.clone();
        w(&s, move |db| db.insert_merchant(&m2)).await;
        let got = s
            .read(|db| db.merchant(&MerchantId::from_random("a1")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, m, "{name}");
        for (p, key) in [
            (Protocol::Passtopay, "Ma1"),
            (Protocol::Blockatm, "pk_a1"),
            (Protocol::Fintech33, "Fa1"),
        ] {
            let found = s.read(move |db| db.merchant_by_key(p, key)).await.unwrap();
            assert_eq!(found.map(|m| m.id), Some(m.id.clone()), "{name} {p}");
        }
        let none = s
            .read(|db| db.merchant_by_key(Protocol::Ottpay, "nobody"))
            .await
            .unwrap();
        assert!(none.is_none());
        if let polypay_store::Backend::Sqlite(path) = s.backend().clone() {
            s.close();
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
            let hay = String::from_utf8_lossy(&bytes);
            assert!(hay.contains("shop a1"), "the name is stored in clear");
            for secret in [
                "p2p-secret-a1-9f8e7d",
                "sck_secret_a1_4242",
                "SIGNKEYa1ABCDEF",
                "v2secreta1xyz",
            ] {
                assert!(!hay.contains(secret), "{secret} stored in plain text");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn payments_insert_once_per_order_number() {
    each_backend(|s, name| async move {
        let m = merchant("b1");
        let (m1, p) = (m.clone(), payment(&m, "o1", 100));
        let p1 = p.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        assert!(w(&s, move |db| db.insert_payment(&p1)).await, "{name}");
        let mut dup = payment(&m, "o1", 999);
        dup.id = PaymentId::from_random("other");
        dup.public_id = "Pother".into();
        dup.cashier_token = "tokother".into();
        assert!(
            !w(&s, move |db| db.insert_payment(&dup)).await,
            "{name}: duplicate inserted"
        );
        let by_no = s
            .read(move |db| db.payment_by_order_no(&MerchantId::from_random("b1"), "o1"))
            .await
            .unwrap();
        assert_eq!(by_no.as_ref(), Some(&p));
        let by_token = s
            .read(|db| db.payment_by_cashier_token("toko1"))
            .await
            .unwrap();
        assert_eq!(by_token.map(|p| p.amount.minor), Some(100));
        let mut next = p
            .apply(
                &PaymentCommand::Succeed {
                    channel_order_no: "c9".into(),
                },
                Timestamp(20),
            )
            .unwrap();
        next.attrs["extra"] = serde_json::json!(1);
        let n2 = next.clone();
        w(&s, move |db| db.update_payment(&n2)).await;
        let got = s.read(|db| db.payment_by_public_id("Po1")).await.unwrap();
        assert_eq!(got, Some(next));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_and_its_event_go_in_together_or_not_at_all() {
    use polypay_store::Inserted;
    /// Inserts `p` with its event, claiming `nonce` first if given (live until 1,000); a job
    /// that found a key taken fails, as the engine's does, so what it claimed is undone.
    async fn insert(s: &Store, p: &Payment, nonce: Option<&'static str>) -> Inserted {
        let p = p.clone();
        let (object_id, payload) = (
            p.id.as_str().to_string(),
            format!(r#"{{"order":"{}"}}"#, p.merchant_order_no),
        );
        let row = polypay_store::PaymentRow::of(&p);
        let out = s
            .write(move |db| {
                let claim = nonce.map(|nonce| polypay_store::NonceArgs {
                    scope: "app1",
                    nonce,
                    now: Timestamp(10),
                    expires_at: Timestamp(1_000),
                });
                let done = db.insert_payment_with_event(
                    &row,
                    &polypay_store::OutboxAppend {
                        merchant_id: &p.merchant_id,
                        protocol: p.protocol,
                        object_kind: "payment",
                        object_id: &object_id,
                        event: "payment.created",
                        payload_json: &payload,
                        created_at: Timestamp(7),
                    },
                    claim.as_ref(),
                )?;
                match done {
                    Inserted::KeyTaken => Err(StoreError::Config("key taken".into())),
                    other => Ok(other),
                }
            })
            .await;
        match out {
            Ok(done) => done,
            Err(StoreError::Config(_)) => Inserted::KeyTaken,
            Err(e) => panic!("insert: {e}"),
        }
    }
    async fn events_of(s: &Store, p: &Payment) -> Vec<OutboxEvent> {
        let id = p.id.as_str().to_string();
        s.read(move |db| db.outbox_of_object(&id)).await.unwrap()
    }
    each_backend(|s, name| async move {
        let m = merchant("e1");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let p = payment(&m, "o1", 100);
        let Inserted::Event(id) = insert(&s, &p, None).await else {
            panic!("{name}: not inserted");
        };
        let events = events_of(&s, &p).await;
        assert_eq!(events.len(), 1, "{name}");
        let e = &events[0];
        assert_eq!(
            (e.id, e.event.as_str(), e.object_kind.as_str(), e.created_at),
            (id, "payment.created", "payment", Timestamp(7)),
            "{name}"
        );
        assert_eq!((&e.merchant_id, e.protocol), (&m.id, p.protocol), "{name}");
        assert_eq!(e.payload, serde_json::json!({"order": "o1"}), "{name}");
        // A taken order number, then a taken public id: neither the payment nor its event,
        // and a nonce claimed on the way is undone with the failing job.
        let mut same_order = payment(&m, "o1", 999);
        same_order.id = PaymentId::from_random("other");
        same_order.public_id = "Pother".into();
        same_order.cashier_token = "tokother".into();
        let mut same_public = payment(&m, "o2", 5);
        same_public.public_id = p.public_id.clone();
        for (dup, nonce) in [(&same_order, None), (&same_public, Some("n-dup"))] {
            assert_eq!(
                insert(&s, dup, nonce).await,
                Inserted::KeyTaken,
                "{name}: {}",
                dup.merchant_order_no
            );
            assert!(
                events_of(&s, dup).await.is_empty(),
                "{name}: an event for a refused payment"
            );
        }
        // With a claim: the first use of a nonce goes in, its replay writes nothing.
        let p3 = payment(&m, "o3", 300);
        let fresh = insert(&s, &p3, Some("n-dup")).await;
        assert!(
            matches!(fresh, Inserted::Event(_)),
            "{name}: the refused create left its nonce unclaimed: {fresh:?}"
        );
        let p4 = payment(&m, "o4", 400);
        assert_eq!(
            insert(&s, &p4, Some("n-dup")).await,
            Inserted::NonceTaken,
            "{name}: a replay"
        );
        assert!(events_of(&s, &p4).await.is_empty(), "{name}");
        assert_eq!(s.read(|db| db.count_payments()).await.unwrap(), 2, "{name}");
        assert_eq!(
            s.read(|db| db.outbox_after(0, 10)).await.unwrap().len(),
            2,
            "{name}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_scan_sees_only_open_due_payments() {
    each_backend(|s, _| async move {
        let m = merchant("c1");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let mut due = payment(&m, "due", 1);
        due.expires_at = Timestamp(50);
        let mut paid = payment(&m, "paid", 1);
        paid.expires_at = Timestamp(50);
        paid.state = PaymentState::Succeeded;
        let later = payment(&m, "later", 1);
        w(&s, move |db| {
            for p in [&due, &paid, &later] {
                db.insert_payment(p)?;
            }
            Ok(())
        })
        .await;
        let ids = s
            .read(|db| db.payments_due_for_expiry(Timestamp(60), 10))
            .await
            .unwrap();
        assert_eq!(ids, vec![PaymentId::from_random("due")]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_waiting_for_confirmations_is_due_to_succeed_not_to_expire() {
    each_backend(|s, _| async move {
        let m = merchant("cf");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let mut paying = payment(&m, "paying", 1);
        paying.expires_at = Timestamp(50);
        let mut other = payment(&m, "other", 1);
        other.expires_at = Timestamp(50);
        let (a, b) = (paying.id.clone(), other.id.clone());
        w(&s, move |db| {
            db.insert_payment(&paying)?;
            db.insert_payment(&other)?;
            db.schedule_payment_success(&a, Timestamp(70))
        })
        .await;
        let expiring = s
            .read(|db| db.payments_due_for_expiry(Timestamp(60), 10))
            .await
            .unwrap();
        assert_eq!(expiring, vec![b.clone()], "the paid one is not expired");
        let due = |at| {
            s.read(move |db| {
                let due = db.due_payment_successes(Timestamp(at), 10)?;
                Ok::<_, polypay_store::StoreError>(
                    due.into_iter().map(|(id, ..)| id).collect::<Vec<_>>(),
                )
            })
        };
        assert!(due(69).await.unwrap().is_empty(), "not before its time");
        assert_eq!(
            due(70).await.unwrap(),
            vec![PaymentId::from_random("paying")]
        );
        let done = PaymentId::from_random("paying");
        w(&s, move |db| {
            let mut p = db.payment(&done)?.expect("payment");
            p.state = PaymentState::Succeeded;
            db.update_payment(&p)
        })
        .await;
        assert!(due(80).await.unwrap().is_empty(), "finished: no longer due");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_debit_never_overdraws() {
    each_backend(|s, name| async move {
        let m = merchant("d1");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let id = m.id.clone();
        let (i1, i2, i3) = (id.clone(), id.clone(), id.clone());
        assert!(
            !w(&s, move |db| db.try_debit(&i1, Currency::USD, 1)).await,
            "{name}: debit of empty balance"
        );
        w(&s, move |db| db.credit(&i2, Currency::USD, 500)).await;
        assert!(w(&s, move |db| db.try_debit(&i3, Currency::USD, 300)).await);
        let i4 = id.clone();
        assert!(!w(&s, move |db| db.try_debit(&i4, Currency::USD, 201)).await);
        let i5 = id.clone();
        let bal = s.read(move |db| db.balances(&i5)).await.unwrap();
        assert_eq!(bal, vec![Money::new(200, Currency::USD)]);
    })
    .await;
}

/// Credits that together do not fit a balance: only the ones past `i64::MAX` are refused
/// (`BalanceLimit`), however the writer batched them, and the balance is exact.
#[tokio::test(flavor = "multi_thread")]
async fn credits_past_the_balance_limit_are_refused_one_by_one() {
    each_backend(|s, name| async move {
        let m = merchant("bl1");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let id = m.id.clone();
        let i = id.clone();
        w(&s, move |db| db.credit(&i, Currency::USD, i64::MAX - 20)).await;
        let credits: Vec<_> = (0..8)
            .map(|_| {
                let (s, i) = (s.clone(), id.clone());
                tokio::spawn(
                    async move { s.write(move |db| db.credit(&i, Currency::USD, 6)).await },
                )
            })
            .collect();
        let mut said = Vec::new();
        for c in credits {
            said.push(c.await.expect("credit task"));
        }
        let refused = said
            .iter()
            .filter(|r| matches!(r, Err(StoreError::BalanceLimit(c)) if c == "USD"))
            .count();
        assert_eq!(refused, 5, "{name}: {said:?}");
        assert_eq!(said.iter().filter(|r| r.is_ok()).count(), 3, "{name}");
        let bal = s.read(move |db| db.balances(&id)).await.unwrap();
        assert_eq!(bal, vec![Money::new(i64::MAX - 2, Currency::USD)], "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ledger_outbox_and_platform_secrets() {
    each_backend(|s, name| async move {
        let m = merchant("e1");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let entry = |account: &str, minor| LedgerEntry {
            txn_id: "t1".into(),
            merchant_id: m.id.clone(),
            account: account.into(),
            amount: Money::new(minor, Currency::CNY),
            kind: "payment".into(),
            object_id: "pay_x".into(),
            created_at: Timestamp(5),
        };
        let entries = vec![entry("available", 100), entry("customer", -100)];
        let e2 = entries.clone();
        w(&s, move |db| db.append_ledger(&e2)).await;
        let (mid, mid2) = (m.id.clone(), m.id.clone());
        assert_eq!(
            s.read(move |db| db.ledger_sum(&mid, Currency::CNY, "available"))
                .await
                .unwrap(),
            100
        );
        assert_eq!(
            s.read(|db| db.ledger_of_object("pay_x")).await.unwrap(),
            entries
        );
        let ev = OutboxEvent {
            id: 0,
            merchant_id: mid2,
            protocol: Protocol::Blockatm,
            object_kind: "payment".into(),
            object_id: "pay_x".into(),
            event: "payment.succeeded".into(),
            payload: serde_json::json!({"a": [1, 2]}),
            created_at: Timestamp(6),
        };
        let (e1, e2) = (ev.clone(), ev.clone());
        let id1 = w(&s, move |db| db.append_outbox(&e1)).await;
        let id2 = w(&s, move |db| db.append_outbox(&e2)).await;
        assert!(id2 > id1, "{name}");
        let got = s.read(|db| db.outbox_of_object("pay_x")).await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].payload, ev.payload);
        assert_eq!(
            s.read(move |db| db.outbox_after(id1, 10)).await.unwrap()[0].id,
            id2
        );

        let first = w(&s, |db| {
            db.platform_secret_or_insert("k", b"one", Timestamp(1))
        })
        .await;
        let second = w(&s, |db| {
            db.platform_secret_or_insert("k", b"two", Timestamp(2))
        })
        .await;
        assert_eq!(
            (first.as_slice(), second.as_slice()),
            (&b"one"[..], &b"one"[..])
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn group_commit_isolates_a_failing_job() {
    each_backend(|s, name| async move {
        let m = merchant("f1");
        let m1 = m.clone();
        w(&s, move |db| db.insert_merchant(&m1)).await;
        let mut tasks = Vec::new();
        for i in 0..200 {
            let s = s.clone();
            let p = payment(&m, &format!("g{i}"), 10);
            tasks.push(tokio::spawn(async move {
                s.write(move |db| {
                    db.insert_payment(&p)?;
                    // Every tenth job fails after writing: its insert must vanish, the rest stay.
                    if i % 10 == 0 {
                        Err(StoreError::Corrupt("refused".into()))
                    } else {
                        Ok(())
                    }
                })
                .await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 20, "{name}");
        assert_eq!(
            s.read(|db| db.count_payments()).await.unwrap(),
            180,
            "{name}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_records_and_sequences() {
    use polypay_store::ProtocolRecord;
    each_backend(|s, name| async move {
        let rec = ProtocolRecord {
            protocol: Protocol::Fintech33,
            merchant_id: "mch_1".into(),
            kind: "payer".into(),
            key: "a@example.com".into(),
            value: serde_json::json!({"payerID": 10001}),
            updated_at: Timestamp(3),
        };
        let (r1, r2) = (rec.clone(), rec.clone());
        assert!(w(&s, move |db| db.insert_record(&r1)).await, "{name}");
        assert!(
            !w(&s, move |db| db.insert_record(&r2)).await,
            "{name}: second insert of one key"
        );
        let mut changed = rec.clone();
        changed.value = serde_json::json!({"payerID": 10002});
        let c2 = changed.clone();
        assert!(w(&s, move |db| db.update_record(&c2)).await);
        let got = s
            .read(|db| db.record(Protocol::Fintech33, "mch_1", "payer", "a@example.com"))
            .await
            .unwrap();
        assert_eq!(got, Some(changed));
        let seq = |db: &mut Db<'_>| db.next_sequence("payer", 10001);
        assert_eq!(
            (w(&s, seq).await, w(&s, seq).await, w(&s, seq).await),
            (10001, 10002, 10003),
            "{name}"
        );

        // Tokens created at 10, 20 and 30; the purge takes those created at 20 or before,
        // oldest first, and nothing of another kind.
        for at in [10, 20, 30] {
            let token = ProtocolRecord {
                merchant_id: String::new(),
                kind: "token".into(),
                key: format!("t{at}"),
                updated_at: Timestamp(at),
                ..rec.clone()
            };
            assert!(w(&s, move |db| db.insert_record(&token)).await, "{name}");
        }
        let purge = |kind: &'static str| {
            move |db: &mut Db<'_>| db.purge_records(Protocol::Fintech33, "", kind, Timestamp(20), 1)
        };
        assert_eq!(w(&s, purge("payer")).await, 0, "{name}: another kind");
        assert_eq!(w(&s, purge("token")).await, 1, "{name}: t10");
        assert_eq!(w(&s, purge("token")).await, 1, "{name}: t20");
        assert_eq!(w(&s, purge("token")).await, 0, "{name}: t30 is younger");
        let left = |key: &'static str| {
            move |db: &mut Db<'_>| db.record(Protocol::Fintech33, "", "token", key)
        };
        assert!(s.read(left("t10")).await.unwrap().is_none(), "{name}");
        assert!(s.read(left("t30")).await.unwrap().is_some(), "{name}");
    })
    .await;
}

// ---- callback deliveries -----------------------------------------------------------------

fn new_delivery(outbox_id: i64, merchant: &str, key: &str, at: i64) -> polypay_store::NewDelivery {
    polypay_store::NewDelivery {
        outbox_id,
        merchant_id: MerchantId(merchant.into()),
        protocol: Protocol::Passtopay,
        object_kind: "payment".into(),
        object_id: key.into(),
        order_key: key.into(),
        event: "payment.succeeded".into(),
        state: polypay_store::DeliveryState::Pending,
        request: Some(polypay_store::StoredRequest {
            method: "POST".into(),
            url: "https://example.com/cb".into(),
            headers: vec![("sign".into(), "abc".into())],
            body: vec![0xff, 0x00, b'x'],
        }),
        schedule_at: Timestamp(at),
        first_attempt_at: Timestamp(at),
        note: None,
        created_at: Timestamp(at),
    }
}

/// Reads where the ingestion cursor may go (as the dispatcher does, on a read connection),
/// moves it there, and returns where it is.
async fn advance(s: &Store, settled_before: i64) -> i64 {
    let to = s
        .read(move |db| {
            db.delivery_cursor_target(Timestamp(settled_before), None, &SilentEvents::default())
        })
        .await
        .unwrap();
    if let Some(to) = to {
        w(s, move |db| db.advance_delivery_cursor(to)).await;
    }
    s.read(|db| db.delivery_cursor()).await.unwrap()
}

fn lease(now: i64, node: &str, per_merchant: i64) -> polypay_store::LeaseRequest {
    polypay_store::LeaseRequest {
        now: Timestamp(now),
        wall: Timestamp(now),
        node_id: node.into(),
        lease_until: Timestamp(now + 1_000),
        per_merchant,
        limit: 100,
        reserve: 100,
    }
}

/// Pending deliveries keyed by their object alone are found, and take the key they are given.
#[tokio::test(flavor = "multi_thread")]
async fn bare_order_keys_are_found_and_rekeyed() {
    each_backend(|s, name| async move {
        let mut keyed = new_delivery(2, "mch_bk", "pay_bk@00ff", 10);
        keyed.object_id = "pay_bk".into();
        let mut done = new_delivery(3, "mch_bk", "pay_bk", 10);
        done.state = polypay_store::DeliveryState::Skipped;
        done.request = None;
        let rows = vec![
            new_delivery(1, "mch_bk", "pay_bk", 10),
            keyed,
            done,
            new_delivery(4, "mch_bk", "pay_bk#4", 10),
        ];
        w(&s, move |db| db.insert_deliveries(&rows)).await;
        let bare = s.read(|db| db.bare_keyed_pending(10)).await.unwrap();
        let found: Vec<_> = bare
            .iter()
            .map(|(_, k, u)| (k.as_str(), u.as_str()))
            .collect();
        assert_eq!(found, [("pay_bk", "https://example.com/cb")], "{name}");
        let id = bare[0].0;
        w(&s, move |db| db.set_order_key(id, "pay_bk@abcd")).await;
        assert!(
            s.read(|db| db.bare_keyed_pending(10))
                .await
                .unwrap()
                .is_empty()
        );
        let d = s.read(move |db| db.delivery(id)).await.unwrap().unwrap();
        assert_eq!(d.order_key, "pay_bk@abcd");
    })
    .await;
}

/// Leases follow real time, not the engine clock: a delivery whose attempt is in flight is not
/// leased again (sent twice) by a node whose engine clock time travel moved past the lease's
/// end, while one whose lease ran out in real time (its node died) is taken.
#[tokio::test(flavor = "multi_thread")]
async fn leases_follow_real_time_not_time_travel() {
    each_backend(|s, name| async move {
        let first = vec![new_delivery(1, "mch_tt", "pay_tt1", 10)];
        w(&s, move |db| db.insert_deliveries(&first)).await;
        let held = w(&s, |db| db.lease_deliveries(&lease(100, "n1", 5))).await;
        assert_eq!(held.len(), 1, "{name}");
        let second = vec![new_delivery(2, "mch_tt", "pay_tt2", 10)];
        w(&s, move |db| db.insert_deliveries(&second)).await;
        let held = w(&s, |db| db.lease_deliveries(&lease(600, "n1", 5))).await;
        assert_eq!(held.len(), 1, "{name}");
        // Real time 1,200: the first lease (until 1,100) has run out, the second (until 1,600)
        // holds, though the engine clock is an hour ahead.
        let travelled = |wall: i64| polypay_store::LeaseRequest {
            now: Timestamp(wall + 3_600_000),
            wall: Timestamp(wall),
            ..lease(wall, "n2", 5)
        };
        let taken = w(&s, move |db| db.lease_deliveries(&travelled(1_200))).await;
        let got: Vec<_> = taken.iter().map(|d| d.outbox_id).collect();
        assert_eq!(got, [1], "{name}: the held lease holds");
        let due = s
            .read(|db| db.any_delivery_due(Timestamp(3_601_300), Timestamp(1_300)))
            .await
            .unwrap();
        assert!(!due, "{name}: nothing unleased is due");
        let taken = w(&s, move |db| db.lease_deliveries(&travelled(1_600))).await;
        let got: Vec<_> = taken.iter().map(|d| d.outbox_id).collect();
        assert_eq!(got, [2], "{name}: and ends in real time");

        // A lease an earlier version took on the engine clock an hour ahead is capped at a
        // node's start, so a delivery whose node died is not held for that hour.
        let third = vec![new_delivery(3, "mch_tt", "pay_tt3", 10)];
        w(&s, move |db| db.insert_deliveries(&third)).await;
        let old = polypay_store::LeaseRequest {
            lease_until: Timestamp(3_602_000),
            ..lease(2_000, "old", 5)
        };
        let ahead = w(&s, move |db| db.lease_deliveries(&old)).await;
        assert_eq!(ahead.len(), 1, "{name}");
        assert_eq!(
            w(&s, |db| db.cap_leases(Timestamp(62_000))).await,
            1,
            "{name}"
        );
        let taken = w(&s, |db| db.lease_deliveries(&lease(62_000, "n3", 5))).await;
        let mut got: Vec<_> = taken.iter().map(|d| d.outbox_id).collect();
        got.sort();
        assert_eq!(got, [1, 2, 3], "{name}: its lease ended at the cap");
    })
    .await;
}

fn finished(
    d: &polypay_store::Delivery,
    seq: i64,
    next: polypay_store::AfterAttempt,
) -> polypay_store::FinishedAttempt {
    polypay_store::FinishedAttempt {
        attempt: polypay_store::DeliveryAttempt {
            id: 0,
            delivery_id: d.id,
            attempt: d.attempts + 1,
            node_id: "n1".into(),
            started_at: Timestamp(10),
            request: d.request.clone(),
            outcome: polypay_store::AttemptOutcome::Rejected,
            response_status: Some(500),
            response_body: Some("no".into()),
            latency_ms: Some(3),
            error: None,
        },
        lease_seq: seq,
        next,
    }
}

/// Every delivery stored (up to 100), in id order.
async fn deliveries_by_id(s: &Store) -> Vec<polypay_store::Delivery> {
    let mut all = s
        .read(|db| {
            db.deliveries(&polypay_store::DeliveryFilter {
                limit: 100,
                ..Default::default()
            })
        })
        .await
        .unwrap();
    all.sort_by_key(|d| d.id);
    all
}

/// Appends a `payment.succeeded` event of `pay_<at>` created at each of `times`; their ids.
async fn succeeded_events(s: &Store, merchant: &str, times: &[i64]) -> Vec<i64> {
    let mut ids = Vec::new();
    for &at in times {
        let ev = OutboxEvent {
            id: 0,
            merchant_id: MerchantId(merchant.into()),
            protocol: Protocol::Passtopay,
            object_kind: "payment".into(),
            object_id: format!("pay_{at}"),
            event: "payment.succeeded".into(),
            payload: serde_json::json!({"at": at}),
            created_at: Timestamp(at),
        };
        ids.push(w(s, move |db| db.append_outbox(&ev)).await);
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_ingested_once_per_outbox_event() {
    each_backend(|s, name| async move {
        let ids = succeeded_events(&s, "mch_1", &[100, 200, 300]).await;
        let todo = s
            .read(|db| db.outbox_to_ingest(0, 10, &SilentEvents::default()))
            .await
            .unwrap();
        assert_eq!(todo.iter().map(|e| e.id).collect::<Vec<_>>(), ids, "{name}");
        let two = vec![
            new_delivery(ids[0], "mch_1", "pay_100", 100),
            new_delivery(ids[1], "mch_1", "pay_200", 200),
        ];
        let again = two.clone();
        assert_eq!(w(&s, move |db| db.insert_deliveries(&two)).await, 2);
        assert_eq!(
            w(&s, move |db| db.insert_deliveries(&again)).await,
            0,
            "{name}: exactly once"
        );
        let cursor = advance(&s, 250).await;
        assert_eq!(
            cursor, ids[1],
            "{name}: the cursor stops at the first event not ingested"
        );
        let todo = s
            .read(|db| db.outbox_to_ingest(0, 10, &SilentEvents::default()))
            .await
            .unwrap();
        assert_eq!(todo.len(), 1);
        let third = vec![new_delivery(ids[2], "mch_1", "pay_300", 300)];
        w(&s, move |db| db.insert_deliveries(&third)).await;
        let young = if name == "postgres" {
            ids[1] // another node may yet commit a smaller id
        } else {
            ids[2] // one writer: ids are committed in order, no window is needed
        };
        assert_eq!(advance(&s, 250).await, young, "{name}: young events");
        assert_eq!(advance(&s, 1_000).await, ids[2]);
        assert_eq!(
            s.read(|db| db.delivery_cursor_target(
                Timestamp(1_000),
                None,
                &SilentEvents::default()
            ))
            .await
            .unwrap(),
            None,
            "{name}: nothing more to pass"
        );
        assert!(
            s.read(|db| db.outbox_to_ingest(0, 10, &SilentEvents::default()))
                .await
                .unwrap()
                .is_empty()
        );
        let d = s
            .read(|db| {
                db.deliveries(&polypay_store::DeliveryFilter {
                    payment: Some("pay_100".into()),
                    limit: 5,
                    ..Default::default()
                })
            })
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].request.as_ref().unwrap().body,
            vec![0xff, 0x00, b'x'],
            "binary bodies round-trip"
        );
    })
    .await;
}

/// The operator's lookup by payment finds the payment's callbacks and its refunds', whatever
/// their order keys: under a protocol that delivers events independently each key is
/// `<payment>#<outbox id>`, so the key cannot be what finds them.
#[tokio::test(flavor = "multi_thread")]
async fn a_payments_callbacks_include_its_refunds_under_any_order_key() {
    each_backend(|s, name| async move {
        let m = merchant("dk");
        let pay = payment(&m, "dk-1", 1_000);
        let other = payment(&m, "dk-2", 1_000);
        let refund = Refund {
            id: RefundId("rf_dk1".into()),
            merchant_id: m.id.clone(),
            payment_id: pay.id.clone(),
            protocol: Protocol::Passtopay,
            merchant_refund_no: "r-dk-1".into(),
            public_id: "Rdk1".into(),
            amount: Money::new(100, Currency::CNY),
            state: RefundState::Succeeded,
            reason: None,
            notify_url: None,
            created_at: Timestamp(20),
            updated_at: Timestamp(20),
            finished_at: Some(Timestamp(20)),
            error_code: None,
            error_message: None,
            attrs: serde_json::json!({}),
            channel_order_no: None,
        };
        let (p, o) = (pay.id.0.clone(), other.id.0.clone());
        let delivery = |outbox: i64, kind: &str, object: &str, key: String| {
            let mut d = new_delivery(outbox, m.id.as_str(), object, outbox);
            d.object_kind = kind.into();
            d.order_key = key;
            d
        };
        let rows = vec![
            delivery(1, "payment", &p, format!("{p}#1")),
            delivery(2, "refund", "rf_dk1", format!("{p}#2")),
            delivery(3, "payment", &o, format!("{o}#3")),
            // An ordered protocol's keys: the payment's id for both.
            delivery(4, "payment", &p, p.clone()),
            delivery(5, "refund", "rf_dk1", p.clone()),
        ];
        w(&s, move |db| {
            db.insert_merchant(&m)?;
            db.insert_payment(&pay)?;
            db.insert_payment(&other)?;
            db.insert_refund(&refund)?;
            db.insert_deliveries(&rows)
        })
        .await;
        let outboxes = |of: &str| {
            let filter = polypay_store::DeliveryFilter {
                payment: Some(of.into()),
                limit: 10,
                ..Default::default()
            };
            let s = s.clone();
            async move {
                let found = s.read(move |db| db.deliveries(&filter)).await.unwrap();
                found.iter().map(|d| d.outbox_id).collect::<Vec<_>>()
            }
        };
        assert_eq!(outboxes(&p).await, [5, 4, 2, 1], "{name}: newest first");
        assert_eq!(outboxes(&o).await, [3], "{name}");
        assert_eq!(outboxes("rf_dk1").await, [5, 2], "{name}: an object id");
    })
    .await;
}

fn young_event(key: &str) -> OutboxEvent {
    OutboxEvent {
        id: 0,
        merchant_id: MerchantId("mch_1".into()),
        protocol: Protocol::Passtopay,
        object_kind: "payment".into(),
        object_id: key.into(),
        event: "payment.succeeded".into(),
        payload: serde_json::json!({}),
        created_at: Timestamp(1_000),
    }
}

/// A raw connection to a test schema on a thread of its own (the synchronous client runs its
/// own runtime, so it must neither run nor be dropped on the test's), for a transaction that
/// stays open between statements, like another node's.
struct RawSession {
    tx: std::sync::mpsc::Sender<(String, std::sync::mpsc::Sender<Result<(), String>>)>,
}

impl RawSession {
    fn connect(url: &str) -> RawSession {
        let (tx, rx) =
            std::sync::mpsc::channel::<(String, std::sync::mpsc::Sender<Result<(), String>>)>();
        let url = url.to_string();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("raw connection");
            for (sql, reply) in rx {
                let _ = reply.send(c.batch_execute(&sql).map_err(|e| e.to_string()));
            }
        });
        RawSession { tx }
    }

    async fn run(&self, sql: &str) {
        let (reply, answer) = std::sync::mpsc::channel();
        self.tx
            .send((sql.to_string(), reply))
            .expect("raw session alive");
        tokio::task::spawn_blocking(move || answer.recv().expect("raw session answered"))
            .await
            .unwrap()
            .expect("raw statement");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_cursor_passes_young_events_once_the_transactions_before_them_ended() {
    let lite = TestDb::sqlite();
    let sqlite = lite.open().unwrap();
    assert_eq!(sqlite.read(|db| db.outbox_horizon()).await.unwrap(), None);
    sqlite.close();
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let s = db.open().expect("open store");
    // Another node's transaction takes its xid and draws an outbox id, and stays open.
    let raw = RawSession::connect(&db.url);
    raw.run(
        "BEGIN; SELECT pg_current_xact_id(); INSERT INTO outbox (merchant_id, protocol, \
         object_kind, object_id, event, payload, created_at) VALUES ('mch_1', 'passtopay', \
         'payment', 'pay_late', 'payment.succeeded', '{}', 1000)",
    )
    .await;
    // Two later ids commit and are ingested; every event is young (settle window not over).
    let a = w(&s, |db| db.append_outbox(&young_event("pay_a"))).await;
    let b = w(&s, |db| db.append_outbox(&young_event("pay_b"))).await;
    let rows = vec![
        new_delivery(a, "mch_1", "pay_a", 1_000),
        new_delivery(b, "mch_1", "pay_b", 1_000),
    ];
    w(&s, move |db| db.insert_deliveries(&rows)).await;
    let horizon = s.read(|db| db.outbox_horizon()).await.unwrap().unwrap();
    assert_eq!(horizon.max_id, b);
    let target = move |s: Store| async move {
        s.read(move |db| {
            db.delivery_cursor_target(Timestamp(0), Some(horizon), &SilentEvents::default())
        })
        .await
        .unwrap()
    };
    assert_eq!(
        target(s.clone()).await,
        None,
        "the in-flight transaction may still commit an id below the horizon"
    );
    assert_eq!(
        s.read(|db| db.delivery_cursor_target(Timestamp(0), None, &SilentEvents::default()))
            .await
            .unwrap(),
        None,
        "without a horizon, young events wait for the settle window"
    );

    raw.run("COMMIT").await;
    let late = a - 1;
    assert_eq!(
        target(s.clone()).await,
        None,
        "the late event has no delivery yet: the cursor stops below it"
    );
    let row = vec![new_delivery(late, "mch_1", "pay_late", 1_000)];
    w(&s, move |db| db.insert_deliveries(&row)).await;
    // Settled once no transaction older than the horizon runs anywhere in the cluster; other
    // tests' transactions last milliseconds, so a bounded number of reads sees it.
    let mut reached = None;
    for _ in 0..500 {
        reached = target(s.clone()).await;
        if reached.is_some() {
            break;
        }
    }
    assert_eq!(reached, Some(b), "every id up to the horizon is final");
    s.close();
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_are_exclusive_in_order_per_key_fair_and_fenced() {
    use polypay_store::{AfterAttempt, AttemptOutcome, DeliveryState};
    each_backend(|s, name| async move {
        let rows = vec![
            new_delivery(1, "mch_a", "pay_1", 0),
            new_delivery(2, "mch_a", "pay_1", 0),
            new_delivery(3, "mch_a", "pay_2", 0),
            new_delivery(4, "mch_b", "pay_3", 0),
        ];
        w(&s, move |db| db.insert_deliveries(&rows)).await;
        let first = w(&s, |db| db.lease_deliveries(&lease(0, "n1", 1))).await;
        let keys: Vec<_> = first.iter().map(|d| d.order_key.as_str()).collect();
        assert_eq!(
            keys,
            ["pay_1", "pay_3"],
            "{name}: one per merchant, pay_1's second waits"
        );
        let more = w(&s, |db| db.lease_deliveries(&lease(0, "n2", 1))).await;
        assert!(
            more.is_empty(),
            "{name}: leased rows and busy merchants are skipped"
        );

        let d1 = first[0].clone();
        let stale = vec![finished(&d1, d1.lease_seq - 1, AfterAttempt::Acknowledged)];
        assert_eq!(
            w(&s, move |db| db.finish_attempts(&stale, Timestamp(20))).await,
            0,
            "fenced"
        );
        let ok = vec![finished(
            &d1,
            d1.lease_seq,
            AfterAttempt::RetryAt(Timestamp(500)),
        )];
        assert_eq!(
            w(&s, move |db| db.finish_attempts(&ok, Timestamp(20))).await,
            1
        );
        let id = d1.id;
        let log = s.read(move |db| db.delivery_attempts(id)).await.unwrap();
        assert_eq!(log.len(), 2, "{name}: both attempts are logged");
        let next = w(&s, |db| db.lease_deliveries(&lease(100, "n1", 5))).await;
        assert_eq!(
            next.iter().map(|d| d.outbox_id).collect::<Vec<_>>(),
            [3],
            "pay_1 waits for its retry"
        );

        // n1 dies holding pay_3 (outbox 4) and pay_2 (outbox 3); after expiry another node
        // takes them, with pay_1's retry that is now due.
        let taken = w(&s, |db| db.lease_deliveries(&lease(1_200, "n2", 5))).await;
        let mut got: Vec<_> = taken.iter().map(|d| d.outbox_id).collect();
        got.sort();
        assert_eq!(got, [1, 3, 4], "{name}");
        let id4 = taken.iter().find(|d| d.outbox_id == 4).unwrap().id;
        let log = s.read(move |db| db.delivery_attempts(id4)).await.unwrap();
        assert_eq!(log.len(), 1);
        let both = s
            .read(move |db| db.attempts_of(&[id4, id, 999_999]))
            .await
            .unwrap();
        let mut want = s.read(move |db| db.delivery_attempts(id)).await.unwrap();
        want.extend(log.iter().cloned());
        assert_eq!(
            both.iter()
                .map(|a| (a.delivery_id, a.id))
                .collect::<Vec<_>>(),
            want.iter()
                .map(|a| (a.delivery_id, a.id))
                .collect::<Vec<_>>(),
            "{name}: several logs in one read, by delivery then attempt"
        );
        assert_eq!(
            (log[0].outcome, log[0].node_id.as_str(), log[0].started_at),
            (AttemptOutcome::Interrupted, "n1", Timestamp(0)),
            "{name}: the interrupted attempt is n1's, started when n1 leased it"
        );

        let d4 = taken.iter().find(|d| d.outbox_id == 4).unwrap().clone();
        let dead = vec![finished(&d4, d4.lease_seq, AfterAttempt::Dead)];
        w(&s, move |db| db.finish_attempts(&dead, Timestamp(1_300))).await;
        let state = s.read(move |db| db.delivery(id4)).await.unwrap().unwrap();
        assert_eq!(
            (state.state, state.attempts),
            (DeliveryState::Dead, 2),
            "{name}: the interrupted attempt and the one recorded"
        );
        assert!(
            w(&s, move |db| db.resend_delivery(
                id4,
                Timestamp(2_000),
                None,
                None
            ))
            .await
        );
        let state = s.read(move |db| db.delivery(id4)).await.unwrap().unwrap();
        assert_eq!(state.state, DeliveryState::Pending);
        assert_eq!(
            (state.schedule_start, state.next_attempt_at),
            (2, Some(Timestamp(2_000)))
        );
        assert!(
            !w(&s, |db| db.resend_delivery(
                424_242,
                Timestamp(2_000),
                None,
                None
            ))
            .await
        );
        assert_eq!(s.read(|db| db.pending_delivery_count()).await.unwrap(), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_fills_its_quota_past_blocked_deliveries_and_results_land_row_by_row() {
    use polypay_store::{AfterAttempt, DeliveryState};
    each_backend(|s, name| async move {
        // mch_a: pay_1 three times (outbox 1-3: 2 and 3 wait for 1), then pay_4 .. pay_40;
        // mch_b: pay_41 .. pay_70. Due in outbox order.
        let rows: Vec<_> = (1..=70)
            .map(|i| {
                let key = format!("pay_{}", if i <= 3 { 1 } else { i });
                let merchant = if i <= 40 { "mch_a" } else { "mch_b" };
                new_delivery(i, merchant, &key, i)
            })
            .collect();
        w(&s, move |db| db.insert_deliveries(&rows)).await;
        let mut req = lease(100, "n1", 20);
        req.limit = 36;
        let leased = w(&s, move |db| db.lease_deliveries(&req)).await;
        let got: Vec<i64> = leased.iter().map(|d| d.outbox_id).collect();
        // mch_a's quota of 20 skips the two blocked pay_1 rows; mch_b fills the rest (16).
        let want: Vec<i64> = [1].into_iter().chain(4..=22).chain(41..=56).collect();
        assert_eq!(
            got, want,
            "{name}: oldest due first, quota kept, blocked rows passed"
        );

        // One call records all 36: acknowledged, retried and dead, one under a stale lease.
        let done: Vec<_> = leased
            .iter()
            .enumerate()
            .map(|(n, d)| {
                let next = match n % 3 {
                    0 => AfterAttempt::Acknowledged,
                    1 => AfterAttempt::RetryAt(Timestamp(10_000 + d.outbox_id)),
                    _ => AfterAttempt::Dead,
                };
                let seq = if d.outbox_id == 5 {
                    d.lease_seq - 1
                } else {
                    d.lease_seq
                };
                let mut f = finished(d, seq, next);
                f.attempt.response_status = Some(200 + d.outbox_id);
                f.attempt.error = Some(format!("e{}", d.outbox_id));
                f
            })
            .collect();
        assert_eq!(
            w(&s, move |db| db.finish_attempts(&done, Timestamp(150))).await,
            35,
            "{name}: all but the stale one applied"
        );
        for (n, d) in leased.iter().enumerate() {
            let id = d.id;
            let now = s.read(move |db| db.delivery(id)).await.unwrap().unwrap();
            let log = s.read(move |db| db.delivery_attempts(id)).await.unwrap();
            assert_eq!(log.len(), 1, "{name}: outbox {} logged once", d.outbox_id);
            assert_eq!(log[0].response_status, Some(200 + d.outbox_id));
            if d.outbox_id == 5 {
                assert_eq!(
                    (now.state, now.attempts),
                    (DeliveryState::Pending, 0),
                    "{name}: fenced"
                );
                continue;
            }
            let (state, next, finished_at) = match n % 3 {
                0 => (DeliveryState::Acknowledged, None, Some(Timestamp(150))),
                1 => (
                    DeliveryState::Pending,
                    Some(Timestamp(10_000 + d.outbox_id)),
                    None,
                ),
                _ => (DeliveryState::Dead, None, Some(Timestamp(150))),
            };
            assert_eq!(
                (
                    now.state,
                    now.next_attempt_at,
                    now.finished_at,
                    now.attempts
                ),
                (state, next, finished_at, 1),
                "{name}: outbox {}'s own result",
                d.outbox_id
            );
            assert_eq!(
                (
                    now.last_status,
                    now.last_error.as_deref(),
                    now.lease_owner.as_deref()
                ),
                (
                    Some(200 + d.outbox_id),
                    Some(format!("e{}", d.outbox_id).as_str()),
                    None
                ),
                "{name}: outbox {}",
                d.outbox_id
            );
        }
        // pay_1 was acknowledged: its second delivery is next, with the rest still due.
        let mut req = lease(200, "n1", 100);
        req.limit = 100;
        let next = w(&s, move |db| db.lease_deliveries(&req)).await;
        assert!(next.iter().any(|d| d.outbox_id == 2), "{name}");
        assert!(
            !next.iter().any(|d| d.outbox_id == 3),
            "{name}: 3 still waits for 2"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_merchant_borrows_spare_slots_but_never_the_reserve() {
    each_backend(|s, name| async move {
        // mch_a: 30 due (outbox 1-30); mch_b: 2 due after them (outbox 31, 32).
        let rows: Vec<_> = (1..=32)
            .map(|i| {
                let merchant = if i <= 30 { "mch_a" } else { "mch_b" };
                new_delivery(i, merchant, &format!("pay_{i}"), i)
            })
            .collect();
        w(&s, move |db| db.insert_deliveries(&rows)).await;
        let req = |node: &str, limit: i64| {
            let mut r = lease(100, node, 5);
            (r.limit, r.reserve) = (limit, 5);
            r
        };
        let at_reserve = req("n0", 5);
        let fair_only = w(&s, move |db| db.lease_deliveries(&at_reserve)).await;
        let got: Vec<i64> = fair_only.iter().map(|d| d.outbox_id).collect();
        assert_eq!(got, [1, 2, 3, 4, 5], "{name}: no spare slots, shares only");

        let first = req("n1", 20);
        let leased = w(&s, move |db| db.lease_deliveries(&first)).await;
        let got: Vec<i64> = leased.iter().map(|d| d.outbox_id).collect();
        // mch_a is at its share (n0 holds 5): mch_b's 2 first, then 13 borrowed, 5 left free.
        let want: Vec<i64> = (6..=18).chain([31, 32]).collect();
        assert_eq!(got.len(), 15, "{name}");
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(
            sorted, want,
            "{name}: borrowed oldest due first, the reserve kept"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_ingestion_batch_goes_in_whole_and_once() {
    each_backend(|s, name| async move {
        // 70 rows: two multi-row statements of 32, then one of 4 and one of 2.
        let first: Vec<_> = (1..=70)
            .map(|i| new_delivery(i, "mch_1", &format!("pay_{i}"), i))
            .collect();
        assert_eq!(
            w(&s, move |db| db.insert_deliveries(&first)).await,
            70,
            "{name}"
        );
        let again: Vec<_> = (1..=80)
            .map(|i| new_delivery(i, "mch_1", &format!("pay_{i}"), i))
            .collect();
        assert_eq!(
            w(&s, move |db| db.insert_deliveries(&again)).await,
            10,
            "{name}: only the new ones"
        );
        for key in ["pay_1", "pay_40", "pay_70", "pay_80"] {
            let found = s
                .read(move |db| {
                    db.deliveries(&polypay_store::DeliveryFilter {
                        payment: Some(key.into()),
                        limit: 5,
                        ..Default::default()
                    })
                })
                .await
                .unwrap();
            assert_eq!(found.len(), 1, "{name}: {key}");
            let d = &found[0];
            let n: i64 = key[4..].parse().unwrap();
            assert_eq!(
                (d.outbox_id, d.created_at, d.next_attempt_at),
                (n, Timestamp(n), Some(Timestamp(n))),
                "{name}: {key}'s own values, not a neighbour's"
            );
            assert_eq!(d.request.as_ref().unwrap().body, vec![0xff, 0x00, b'x']);
        }
    })
    .await;
}

fn claim(
    n: &'static str,
    now: i64,
) -> impl FnMut(&mut Db<'_>) -> Result<bool, StoreError> + Send + 'static {
    move |db| db.claim_nonce("app1", n, Timestamp(now), Timestamp(now + 100))
}

/// Each store is a node of its own (on SQLite, what another process on the same file would be).
#[tokio::test(flavor = "multi_thread")]
async fn nonce_claims_hold_across_nodes_restarts_and_purges() {
    for db in TestDb::all() {
        let name = db.name;
        let (a, b) = (db.open().expect("open"), db.open().expect("open"));
        assert!(w(&a, claim("n1", 0)).await);
        assert!(!w(&a, claim("n1", 50)).await, "{name}: replay accepted");
        assert!(
            !w(&b, claim("n1", 50)).await,
            "{name}: replay on another node accepted"
        );
        assert!(
            w(&b, claim("n1", 150)).await,
            "{name}: expired nonce not reusable"
        );
        assert!(
            !w(&a, claim("n1", 160)).await,
            "{name}: the other node's new claim missed"
        );
        // n1 now lives until 250; n2 and n3 until 100; n4 until 300.
        assert!(w(&a, claim("n2", 0)).await && w(&b, claim("n3", 0)).await);
        assert!(w(&a, claim("n4", 200)).await);
        let purge = |limit| move |db: &mut Db<'_>| db.purge_nonces(Timestamp(260), limit);
        assert_eq!(w(&a, purge(2)).await, 2, "{name}: at most the limit");
        let mut purged = 2;
        loop {
            match w(&a, purge(2)).await {
                0 => break,
                n => purged += n,
            }
            assert!(purged < 10, "{name}: purged more than was claimed");
        }
        // SQLite's log keeps n1's first claim until purged; PostgreSQL's second claim replaced it.
        assert!((3..=4).contains(&purged), "{name}: purged {purged}");
        // A node that starts now loads what is left: the live claim, and nothing expired.
        let c = db.open().expect("open");
        assert!(
            !w(&c, claim("n4", 260)).await,
            "{name}: a live claim was purged"
        );
        assert!(
            w(&c, claim("n2", 260)).await,
            "{name}: an expired claim held"
        );
        for s in [a, b, c] {
            s.close();
        }
    }
}

/// A claim is made only with the write job that made it: a job that fails after claiming
/// releases its nonce, alone or in a batch with others.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_job_releases_its_nonce_claims() {
    const NONCES: [&str; 12] = [
        "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11",
    ];
    for db in TestDb::all() {
        let name = db.name;
        let s = db.open().expect("open");
        // Spawned together, so that the writer batches them.
        let jobs: Vec<_> = NONCES
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.write(move |db: &mut Db<'_>| {
                        let claimed = db.claim_nonce("app1", n, Timestamp(0), Timestamp(100))?;
                        match i % 2 {
                            0 => Ok(claimed),
                            _ => Err(StoreError::Config("failed after claiming".into())),
                        }
                    })
                    .await
                })
            })
            .collect();
        for (i, job) in jobs.into_iter().enumerate() {
            let out = job.await.expect("join");
            assert_eq!(out.is_ok(), i % 2 == 0, "{name}: job {i}: {out:?}");
        }
        for (i, &n) in NONCES.iter().enumerate() {
            let again = w(&s, claim(n, 1)).await;
            assert_eq!(again, i % 2 == 1, "{name}: {n} claimable again: {again}");
        }
        s.close();
    }
}

/// Retention walks resume where they stopped: a wall of deliveries still pending at the front
/// of the table (more than one call reads) does not hide the finished ones behind it.
#[tokio::test(flavor = "multi_thread")]
async fn a_purge_walk_resumes_past_deliveries_still_pending() {
    use polypay_store::{AfterAttempt, Purged};
    each_backend(|s, name| async move {
        // Ten pending deliveries, then one created earlier and acknowledged.
        let times: Vec<i64> = (100..110).chain([50]).collect();
        let events = succeeded_events(&s, "mch_w", &times).await;
        let rows: Vec<_> = times
            .iter()
            .zip(&events)
            .map(|(&at, &e)| new_delivery(e, "mch_w", &format!("pay_{at}"), at))
            .collect();
        w(&s, move |db| db.insert_deliveries(&rows)).await;
        advance(&s, 1_000).await;
        let leased = w(&s, move |db| db.lease_deliveries(&lease(60, "n1", 10))).await;
        assert_eq!(leased.len(), 1, "{name}: only pay_50 is due");
        let done = vec![finished(
            &leased[0],
            leased[0].lease_seq,
            AfterAttempt::Acknowledged,
        )];
        w(&s, move |db| db.finish_attempts(&done, Timestamp(60))).await;
        let ids: Vec<i64> = deliveries_by_id(&s).await.iter().map(|d| d.id).collect();
        let purge = |from: i64| {
            move |db: &mut Db<'_>| db.purge_finished_deliveries(Timestamp(1_000), 1, from)
        };
        // A call reads at most 8 × limit rows: eight pending ones.
        assert_eq!(
            w(&s, purge(0)).await,
            Purged {
                deleted: 0,
                resume: Some(ids[7])
            },
            "{name}: the first call reads only pending deliveries"
        );
        assert_eq!(
            w(&s, purge(ids[7])).await,
            Purged {
                deleted: 1,
                resume: Some(ids[10])
            },
            "{name}: the next one resumes and reaches pay_50"
        );
        assert_eq!(
            w(&s, purge(ids[10])).await,
            Purged {
                deleted: 0,
                resume: None
            },
            "{name}: then the walk ends"
        );
        let left = s.read(|db| db.pending_delivery_count()).await.unwrap();
        assert_eq!(left, 10, "{name}: the pending ones stay");
    })
    .await;
}

/// Retention: finished deliveries older than the cut go with their attempts and events; pending
/// ones, young ones and events not yet ingested stay.
#[tokio::test(flavor = "multi_thread")]
async fn finished_callback_history_is_purged_after_its_retention() {
    use polypay_store::{AfterAttempt, DeliveryState};
    each_backend(|s, name| async move {
        let events = succeeded_events(&s, "mch_r", &[100, 200, 300, 400, 500]).await;
        // pay_100 acknowledged at 150, pay_200 pending, pay_300 dead at 350, pay_400 skipped
        // (finished at ingestion), pay_500 not ingested yet.
        let mut rows: Vec<_> = [100, 200, 300, 400]
            .iter()
            .zip(&events)
            .map(|(&at, &e)| new_delivery(e, "mch_r", &format!("pay_{at}"), at))
            .collect();
        rows[3].state = DeliveryState::Skipped;
        w(&s, move |db| db.insert_deliveries(&rows)).await;
        advance(&s, 1_000).await;
        for (now, key, after) in [
            (150, "pay_100", AfterAttempt::Acknowledged),
            (350, "pay_300", AfterAttempt::Dead),
        ] {
            let leased = w(&s, move |db| db.lease_deliveries(&lease(now, "n1", 10))).await;
            let d = leased
                .iter()
                .find(|d| d.object_id == key)
                .expect("due")
                .clone();
            let done = vec![finished(&d, d.lease_seq, after)];
            w(&s, move |db| db.finish_attempts(&done, Timestamp(now))).await;
        }
        let before = deliveries_by_id(&s).await;
        let states: Vec<_> = before.iter().map(|d| d.state).collect();
        use DeliveryState::*;
        assert_eq!(states, [Acknowledged, Pending, Dead, Skipped], "{name}");
        let purge = |before: i64, limit: i64| {
            move |db: &mut Db<'_>| {
                db.purge_finished_deliveries(Timestamp(before), limit, 0)
                    .map(|p| p.deleted)
            }
        };
        let first = before[0].id;
        let limited = w(&s, move |db| {
            db.purge_finished_deliveries(Timestamp(360), 1, 0)
        })
        .await;
        assert_eq!(
            (limited.deleted, limited.resume),
            (1, Some(first)),
            "{name}: at most the limit, then resume above it"
        );
        assert_eq!(
            w(&s, purge(360, 10)).await,
            1,
            "{name}: pay_300; pay_400 is younger"
        );
        let left: Vec<_> = deliveries_by_id(&s)
            .await
            .iter()
            .map(|d| d.object_id.clone())
            .collect();
        assert_eq!(left, ["pay_200", "pay_400"], "{name}");
        for gone in [&before[0], &before[2]] {
            let id = gone.id;
            let attempts = s.read(move |db| db.delivery_attempts(id)).await.unwrap();
            assert!(
                attempts.is_empty(),
                "{name}: attempts of {}",
                gone.object_id
            );
        }
        assert_eq!(w(&s, purge(10_000, 10)).await, 1, "{name}: pay_400");
        assert_eq!(
            w(&s, purge(10_000, 10)).await,
            0,
            "{name}: only pending left"
        );
        for (at, kept) in [
            (100, false),
            (200, true),
            (300, false),
            (400, false),
            (500, true),
        ] {
            let id = format!("pay_{at}");
            let n = s
                .read(move |db| db.outbox_of_object(&id))
                .await
                .unwrap()
                .len();
            assert_eq!(n == 1, kept, "{name}: pay_{at}'s event");
        }
    })
    .await;
}

/// Silent events (their protocol never sends them): ingestion reads past them, the cursor moves
/// over them as over ingested ones, and retention removes the old ones below the cursor that
/// have no delivery. The same event name of another protocol is not silent.
#[tokio::test(flavor = "multi_thread")]
async fn silent_events_are_passed_by_ingestion_and_purged_after_their_retention() {
    use polypay_store::DeliveryState;
    let silent = std::sync::Arc::new(SilentEvents::new([
        (Protocol::Passtopay, "payment.created"),
        (Protocol::Passtopay, "refund.pending"),
        (Protocol::Ottpay, "bad'name"),
    ]));
    assert_eq!(silent.len(), 2, "a name outside [a-z0-9_.] is left out");
    each_backend(|s, name| {
        let silent = silent.clone();
        async move {
            let event = |protocol: Protocol, event: &str, at: i64| OutboxEvent {
                id: 0,
                merchant_id: MerchantId("mch_s".into()),
                protocol,
                object_kind: "payment".into(),
                object_id: format!("pay_{at}"),
                event: event.into(),
                payload: serde_json::json!({}),
                created_at: Timestamp(at),
            };
            let mut ids = Vec::new();
            for e in [
                event(Protocol::Passtopay, "payment.created", 100),
                event(Protocol::Passtopay, "payment.created", 200),
                event(Protocol::Ottpay, "payment.created", 300),
                event(Protocol::Passtopay, "refund.pending", 400),
                event(Protocol::Passtopay, "payment.succeeded", 500),
                event(Protocol::Passtopay, "payment.created", 600),
            ] {
                ids.push(w(&s, move |db| db.append_outbox(&e)).await);
            }
            let sl = silent.clone();
            let todo = s
                .read(move |db| db.outbox_to_ingest(0, 10, &sl))
                .await
                .unwrap();
            let todo: Vec<i64> = todo.iter().map(|e| e.id).collect();
            assert_eq!(todo, [ids[2], ids[4]], "{name}: silent events are not read");
            // pay_200's event was ingested as skipped before it was known to be silent.
            let mut skipped = new_delivery(ids[1], "mch_s", "pay_200", 200);
            (skipped.state, skipped.request) = (DeliveryState::Skipped, None);
            skipped.event = "payment.created".into();
            w(&s, move |db| db.insert_deliveries(&[skipped.clone()])).await;
            let target = |s: &Store| {
                let (s, sl) = (s.clone(), silent.clone());
                async move {
                    s.read(move |db| db.delivery_cursor_target(Timestamp(1_000), None, &sl))
                        .await
                        .unwrap()
                }
            };
            assert_eq!(
                target(&s).await,
                Some(ids[1]),
                "{name}: over the silent pay_100 and the ingested pay_200, not the OTT Pay event"
            );
            let rows: Vec<_> = [2, 4]
                .iter()
                .map(|&i| new_delivery(ids[i], "mch_s", &format!("pay_{}", 100 * (i + 1)), 0))
                .collect();
            w(&s, move |db| db.insert_deliveries(&rows)).await;
            let to = target(&s).await;
            assert_eq!(to, Some(ids[5]), "{name}: to the end, the last one silent");
            let (fourth, last) = (ids[4], ids[5]);
            w(&s, move |db| db.advance_delivery_cursor(fourth)).await;
            let purge = |before: i64, limit: i64| {
                let sl = silent.clone();
                move |db: &mut Db<'_>| {
                    db.purge_silent_events(Timestamp(before), limit, &sl, 0)
                        .map(|p| p.deleted)
                }
            };
            assert_eq!(
                w(&s, purge(1_000, 10)).await,
                2,
                "{name}: pay_100 and pay_400"
            );
            assert_eq!(w(&s, purge(1_000, 10)).await, 0, "{name}: nothing more");
            for (at, kept) in [
                (100, false),
                (200, true),
                (300, true),
                (400, false),
                (500, true),
                (600, true),
            ] {
                let id = format!("pay_{at}");
                let n = s
                    .read(move |db| db.outbox_of_object(&id))
                    .await
                    .unwrap()
                    .len();
                assert_eq!(
                    n == 1,
                    kept,
                    "{name}: pay_{at} (pay_200 has a delivery, pay_600 is above the cursor)"
                );
            }
            w(&s, move |db| db.advance_delivery_cursor(last)).await;
            assert_eq!(w(&s, purge(600, 10)).await, 0, "{name}: pay_600 is young");
            assert_eq!(w(&s, purge(601, 1)).await, 1, "{name}: pay_600");
        }
    })
    .await;
}

/// A merchant's payouts in flight, summed per currency; finished ones and other merchants'
/// are not counted.
#[tokio::test(flavor = "multi_thread")]
async fn unfinished_payouts_are_summed_per_merchant_and_currency() {
    each_backend(|s, name| async move {
        let (a, b) = (merchant("pa"), merchant("pb"));
        for m in [a.clone(), b.clone()] {
            w(&s, move |db| db.insert_merchant(&m)).await;
        }
        let rows = [
            (&a, "1", 100, Currency::USD, PayoutState::Pending),
            (&a, "2", 250, Currency::USD, PayoutState::Processing),
            (&a, "3", 40, Currency::CNY, PayoutState::Processing),
            (&a, "4", 999, Currency::USD, PayoutState::Succeeded),
            (&a, "5", 999, Currency::CNY, PayoutState::Failed),
            (&b, "6", 7, Currency::USD, PayoutState::Pending),
        ];
        for (m, no, minor, currency, state) in rows {
            let p = Payout {
                id: PayoutId::from_random(no),
                merchant_id: m.id.clone(),
                protocol: Protocol::V2sha256,
                merchant_order_no: format!("PO{no}"),
                public_id: format!("PAYOUT{no}"),
                amount: Money::new(minor, currency),
                state,
                notify_url: None,
                created_at: Timestamp(1),
                updated_at: Timestamp(1),
                finished_at: None,
                channel_order_no: None,
                error_code: None,
                error_message: None,
                attrs: serde_json::json!({}),
            };
            assert!(w(&s, move |db| db.insert_payout(&p)).await);
        }
        let id = a.id.clone();
        let totals = s
            .read(move |db| db.unfinished_payout_totals(&id))
            .await
            .unwrap();
        assert_eq!(
            totals,
            [
                Money::new(40, Currency::CNY),
                Money::new(350, Currency::USD)
            ],
            "{name}"
        );
        let nobody = MerchantId("mch_nobody".into());
        let none = s
            .read(move |db| db.unfinished_payout_totals(&nobody))
            .await
            .unwrap();
        assert!(none.is_empty(), "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_results_and_attempt_logs_round_trip_exactly() {
    // PostgreSQL writes a batch of deliveries, attempts or results as one JSON parameter; text
    // that JSON, SQL or array syntax could mangle must come back byte for byte. A request body
    // holding a NUL comes back exactly too; text kept for reading gets U+FFFD for it instead
    // (PostgreSQL's text cannot hold U+0000), on both backends.
    const AWKWARD: &str = "q\"uo'te \\ back{sl,ash} [] \n\t\u{1} é✓ 🦀 $1 '' NULL null";
    const WITH_NUL: &str = "q\"uo'te \\ back{sl,ash} [] \n\t\u{1} é✓ 🦀 $1 '' NULL null\0.";
    const NUL_READ: &str = "q\"uo'te \\ back{sl,ash} [] \n\t\u{1} é✓ 🦀 $1 '' NULL null\u{fffd}.";
    each_backend(|s, name| async move {
        let mut text = new_delivery(1, "mch_1", "pay_1", 10);
        text.request = Some(polypay_store::StoredRequest {
            method: "POST".into(),
            url: format!("https://example.com/cb?x={}", "%22"),
            headers: vec![
                ("sign".into(), AWKWARD.into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: WITH_NUL.as_bytes().to_vec(),
        });
        let mut skipped = new_delivery(2, "mch_1", "pay_2", 10);
        skipped.state = polypay_store::DeliveryState::Skipped;
        skipped.request = None;
        skipped.note = Some(WITH_NUL.into());
        let rows = vec![text.clone(), skipped];
        assert_eq!(
            w(&s, move |db| db.insert_deliveries(&rows)).await,
            2,
            "{name}"
        );
        let leased = w(&s, |db| db.lease_deliveries(&lease(10, "n1", 10))).await;
        assert_eq!(leased.len(), 1, "{name}");
        let d = leased[0].clone();
        assert_eq!(d.request, text.request, "{name}: the stored request");
        let mut f = finished(
            &d,
            d.lease_seq,
            polypay_store::AfterAttempt::RetryAt(Timestamp(99)),
        );
        f.attempt.response_body = Some(WITH_NUL.into());
        f.attempt.error = Some(AWKWARD.into());
        let done = vec![f];
        assert_eq!(
            w(&s, move |db| db.finish_attempts(&done, Timestamp(20))).await,
            1,
            "{name}"
        );
        let (after, log, skipped) = s
            .read(move |db| {
                Ok::<_, polypay_store::StoreError>((
                    db.delivery(d.id)?.unwrap(),
                    db.delivery_attempts(d.id)?,
                    db.delivery(d.id + 1)?.unwrap(),
                ))
            })
            .await
            .unwrap();
        assert_eq!(
            (after.attempts, after.next_attempt_at, after.last_status),
            (1, Some(Timestamp(99)), Some(500)),
            "{name}"
        );
        assert_eq!(after.last_error.as_deref(), Some(AWKWARD), "{name}");
        assert_eq!(log.len(), 1, "{name}");
        assert_eq!(log[0].request, text.request, "{name}: the logged request");
        assert_eq!(log[0].response_body.as_deref(), Some(NUL_READ), "{name}");
        assert_eq!(log[0].error.as_deref(), Some(AWKWARD), "{name}");
        assert_eq!(
            skipped.last_error.as_deref(),
            Some(NUL_READ),
            "{name}: the note"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vault_check_tells_another_master_key_apart() {
    for db in TestDb::all() {
        let name = db.name;
        let first = db.open().unwrap();
        first
            .write(|db| db.check_vault(Timestamp(1)))
            .await
            .expect("a new database takes the first key");
        first.close();
        let other = polypay_store::Vault::from_key_bytes(&[7u8; 32]).unwrap();
        let wrong = Store::open(&db.url, other, Default::default()).unwrap();
        let refused = wrong.write(|db| db.check_vault(Timestamp(2))).await;
        assert!(
            matches!(refused, Err(StoreError::Sealed)),
            "{name}: {refused:?}"
        );
        wrong.close();
        let again = db.open().unwrap();
        again
            .write(|db| db.check_vault(Timestamp(3)))
            .await
            .expect("the right key still opens it");
        again.close();
    }
}

/// A PostgreSQL failure names its cause, not only its kind ("db error"): an operator who
/// points polypay at a database or server that is not there is told which.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_errors_say_what_went_wrong() {
    let Ok(base) = std::env::var("POLYPAY_TEST_DATABASE_URL") else {
        return;
    };
    if base.is_empty() {
        return;
    }
    let at = base.rfind('/').expect("a database in the URL");
    let missing = format!("{}/polypay_no_such_database", &base[..at]);
    let open = |url: String| {
        let vault = polypay_store::testing::test_vault();
        Store::open(&url, vault, polypay_store::StoreOptions::default())
            .err()
            .expect("no store")
            .to_string()
    };
    let err = open(missing);
    assert!(
        err.contains("\"polypay_no_such_database\" does not exist"),
        "{err}"
    );
    let err = open("postgres://postgres:hunter2@127.0.0.1:1/x".into());
    assert!(
        err.contains("postgres at 127.0.0.1:1/x") && err.contains("refused"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "never the password: {err}");
}

/// A merchant's statement: its entries on one currency's available balance, newest first,
/// paged by id; other accounts, currencies and merchants are not in it.
#[tokio::test(flavor = "multi_thread")]
async fn a_statement_lists_one_balance_newest_first_in_pages() {
    each_backend(|s, name| async move {
        let (m, other) = (MerchantId("mch_st".into()), MerchantId("mch_other".into()));
        let entry =
            |m: &MerchantId, account: &str, minor: i64, currency: Currency, at: i64| LedgerEntry {
                txn_id: format!("t{at}"),
                merchant_id: m.clone(),
                account: account.into(),
                amount: Money::new(minor, currency),
                kind: "payment".into(),
                object_id: format!("pay_{at}"),
                created_at: Timestamp(at),
            };
        let mut entries = Vec::new();
        for at in 1..=5 {
            entries.push(entry(&m, "available", at * 100, Currency::CNY, at));
            entries.push(entry(&m, "customer", -at * 100, Currency::CNY, at));
        }
        entries.push(entry(&m, "available", 7, Currency::USD, 6));
        entries.push(entry(&other, "available", 9, Currency::CNY, 7));
        w(&s, move |db| db.append_ledger(&entries)).await;
        let page = |before: Option<i64>| {
            let (s, m) = (s.clone(), m.clone());
            async move {
                s.read(move |db| db.ledger_statement(&m, Currency::CNY, before, 2))
                    .await
                    .unwrap()
            }
        };
        let first = page(None).await;
        let amounts =
            |p: &[(i64, LedgerEntry)]| p.iter().map(|(_, e)| e.amount.minor).collect::<Vec<_>>();
        assert_eq!(amounts(&first), [500, 400], "{name}");
        let second = page(Some(first[1].0)).await;
        assert_eq!(amounts(&second), [300, 200], "{name}");
        let last = page(Some(second[1].0)).await;
        assert_eq!(amounts(&last), [100], "{name}");
        assert!(page(Some(last[0].0)).await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_by_position_through_ties_and_filter_by_finish() {
    use polypay_store::console::{ListFilter, Position};
    each_backend(|s, name| async move {
        let m = merchant("lists");
        let m2 = m.clone();
        w(&s, move |db| db.insert_merchant(&m2)).await;
        // Seven payments, three created in one millisecond; every other one finished.
        let created = [10, 30, 30, 30, 40, 50, 60];
        for (i, at) in created.iter().enumerate() {
            let mut p = payment(&m, &format!("l{i}"), 100);
            p.created_at = Timestamp(*at);
            if i % 2 == 0 {
                p.state = PaymentState::Succeeded;
                p.finished_at = Some(Timestamp(100 + i as i64));
            }
            w(&s, move |db| db.insert_payment(&p).map(|_| ())).await;
        }
        let page = |f: ListFilter| {
            let s = s.clone();
            async move {
                s.read(move |db| db.console_payments(&f))
                    .await
                    .expect("list")
            }
        };
        let mut seen: Vec<(i64, String)> = Vec::new();
        let mut before = None;
        loop {
            let got = page(ListFilter {
                merchant_id: Some(m.id.clone()),
                limit: 2,
                before: before.clone(),
                ..ListFilter::default()
            })
            .await;
            seen.extend(got.items.iter().map(|p| (p.created_at.0, p.id.0.clone())));
            let Some(last) = got.items.last().filter(|_| got.has_more) else {
                break;
            };
            before = Some(Position {
                created_at: last.created_at,
                id: last.id.0.clone(),
            });
        }
        let mut expected: Vec<(i64, String)> = seen.clone();
        expected.sort_by(|a, b| b.cmp(a));
        expected.dedup();
        assert_eq!(seen.len(), 7, "{name}: every payment once");
        assert_eq!(seen, expected, "{name}: newest first, ties by id");
        let finished = page(ListFilter {
            finished_from: Some(Timestamp(102)),
            finished_before: Some(Timestamp(106)),
            limit: 10,
            ..ListFilter::default()
        })
        .await;
        let orders: Vec<&str> = finished
            .items
            .iter()
            .map(|p| p.merchant_order_no.as_str())
            .collect();
        assert_eq!(orders, ["l4", "l2"], "{name}: finished in [102, 106)");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_lease_has_one_holder_until_it_lapses_or_is_released() {
    each_backend(|s, name| async move {
        let take = |holder: &'static str, now: i64| {
            let s = s.clone();
            async move {
                s.write(move |db| db.take_sweep_lease("sweep", holder, now, now + 5000))
                    .await
                    .expect("lease")
            }
        };
        assert!(take("a", 1000).await, "{name}: nobody had it");
        assert!(!take("b", 1500).await, "{name}: a holds it");
        assert!(take("a", 2000).await, "{name}: a renews (until 7000)");
        assert!(!take("b", 6999).await, "{name}: not lapsed yet");
        assert!(take("b", 7001).await, "{name}: lapsed, b takes it");
        assert!(!take("a", 7002).await, "{name}: a lost it");
        let held = s.read(|db| db.sweep_lease("sweep")).await.expect("read");
        assert_eq!(held, Some(("b".into(), 12_001)), "{name}");
        s.write(|db| db.release_sweep_lease("sweep", "a"))
            .await
            .expect("not a's to release");
        assert!(!take("a", 7003).await, "{name}: b still holds it");
        s.write(|db| db.release_sweep_lease("sweep", "b"))
            .await
            .expect("release");
        assert!(
            take("a", 7004).await,
            "{name}: released, a takes it at once"
        );
        let other = s.read(|db| db.sweep_lease("other")).await.expect("read");
        assert_eq!(other, None, "{name}: leases are per sweep");
        // A lease no node would write (a clock far ahead, a hand-edited row) does not hold.
        let ghost = |db: &mut Db<'_>| db.take_sweep_lease("sweep", "ghost", 1, 9_000_000_000_000);
        assert!(!w(&s, ghost).await, "{name}: a holds it");
        s.write(|db| db.release_sweep_lease("sweep", "a"))
            .await
            .expect("release");
        assert!(w(&s, ghost).await, "{name}: ghost takes it far ahead");
        assert!(
            take("a", 7005).await,
            "{name}: a lease ending that far ahead is void"
        );
    })
    .await;
}

/// Deliveries waiting behind an earlier one of their key are no lease candidates: however many
/// of them fell due first, they cannot fill the candidate window and starve every other
/// merchant's callbacks (seen in QA: 900 refund callbacks behind their payments' retries
/// stopped 17,000 others for good).
#[tokio::test(flavor = "multi_thread")]
async fn deliveries_waiting_for_their_key_do_not_starve_the_rest() {
    each_backend(|s, name| async move {
        // The head of key k is retried later; five of its followers fell due long before.
        let mut rows = vec![new_delivery(1, "mch_a", "k", 1_000)];
        rows.extend((2..=6).map(|outbox| new_delivery(outbox, "mch_a", "k", 10)));
        rows.push(new_delivery(7, "mch_b", "other", 20));
        assert_eq!(
            w(&s, move |db| db.insert_deliveries(&rows)).await,
            7,
            "{name}"
        );
        // One delivery per lease: a candidate window of four.
        let mut req = lease(30, "n1", 10);
        req.limit = 1;
        req.reserve = 0;
        let leased = w(&s, move |db| db.lease_deliveries(&req)).await;
        let outboxes: Vec<i64> = leased.iter().map(|d| d.outbox_id).collect();
        assert_eq!(
            outboxes,
            [7],
            "{name}: the other merchant's callback goes out"
        );
    })
    .await;
}

/// An audited handle's entry commits with its job's writes or not at all: a job that wrote and
/// then failed leaves neither its rows nor the entry, beside a job that succeeded in the same
/// batch.
#[tokio::test(flavor = "multi_thread")]
async fn an_audit_entry_commits_with_its_change_or_not_at_all() {
    use polypay_store::{AuditEntry, AuditFilter};
    each_backend(|s, name| async move {
        let entry = |action: &str| AuditEntry {
            id: 0,
            at: Timestamp(1),
            actor: "test".into(),
            source: "local".into(),
            action: action.into(),
            object_kind: "merchant".into(),
            object_id: action.into(),
            merchant_id: None,
            detail: serde_json::json!({"n": 1}),
        };
        let (kept, lost) = (merchant("au1"), merchant("au2"));
        let kept_id = kept.id.clone();
        let (good_store, bad_store) = (s.audited(entry("kept")), s.audited(entry("lost")));
        let good = good_store.write(move |db| db.insert_merchant(&kept));
        let bad = bad_store.write(move |db| {
            db.insert_merchant(&lost)?;
            Err::<(), _>(StoreError::Backend("refused after writing".into()))
        });
        let (good, bad) = tokio::join!(good, bad);
        good.expect("the good job");
        assert!(bad.is_err(), "{name}");
        let (entries, more) = s
            .read(|db| {
                db.audit_log(&AuditFilter {
                    limit: 10,
                    ..Default::default()
                })
            })
            .await
            .unwrap();
        assert!(!more);
        let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["kept"], "{name}");
        assert_eq!(entries[0].detail, serde_json::json!({"n": 1}));
        let merchants = s.read(|db| db.merchants()).await.unwrap();
        let ids: Vec<_> = merchants.iter().map(|m| m.id.clone()).collect();
        assert_eq!(
            ids,
            [kept_id],
            "{name}: the failed job's merchant is gone too"
        );
    })
    .await;
}
