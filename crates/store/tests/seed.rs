//! Bulk seeding for the benchmark inserts exactly the rows asked for, through every index, on
//! SQLite and (with POLYPAY_TEST_DATABASE_URL) PostgreSQL.

use polypay_core::merchant::*;
use polypay_core::*;
use polypay_store::testing::TestDb;

fn merchant() -> Merchant {
    let secret = |s: &str| Secret::new(s.to_string());
    Merchant {
        id: MerchantId::from_random("seed1"),
        name: "seeded shop".into(),
        notify_url: None,
        enabled: true,
        created_at: Timestamp(1),
        credentials: Credentials {
            passtopay: PassToPayCredentials {
                mch_no: "Mseed1".into(),
                app_id: "appseed1".into(),
                app_secret: secret("p2p-seed-secret"),
            },
            blockatm: BlockAtmCredentials {
                api_key: "pk_seed1".into(),
                secret_key: secret("sck_seed"),
                cashier_id: "1".into(),
                ec_public_key: None,
            },
            ottpay: OttPayCredentials {
                merchant_id: "ONseed1".into(),
                sign_key: secret("SIGNKEYSEED"),
                operator_id: "1".into(),
                shop_id: "1".into(),
            },
            v2sha256: V2Sha256Credentials {
                app_id: "v2seed1".into(),
                app_secret: secret("v2seedsecret"),
            },
            fintech33: Fintech33Credentials {
                app_id: "Fseed1".into(),
                app_secret: secret("f33seedsecret"),
                aes_key: secret("aesseed"),
                rsa_public_key: None,
            },
        },
        settings: serde_json::json!({}),
    }
}

fn template(m: &Merchant) -> Payment {
    // 2026-11-18: the seeded rows' snowflake public ids need times after the 2010 epoch.
    let now = 1_795_000_000_000;
    Payment {
        id: PaymentId::from_random("template"),
        merchant_id: m.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: "real-1".into(),
        public_id: "P1234567890123456789".into(),
        amount: Money::new(12_300, Currency::CNY),
        state: PaymentState::Created,
        refunded_minor: 0,
        refund_pending_minor: 0,
        notify_url: Some("https://example.com/notify".into()),
        return_url: None,
        cashier_token: "ab".repeat(32),
        created_at: Timestamp(now),
        updated_at: Timestamp(now),
        expires_at: Timestamp(now + 7_200_000),
        finished_at: None,
        channel_order_no: None,
        error_code: None,
        error_message: None,
        attrs: serde_json::json!({"wayCode": "ALI_QR", "subject": "goods"}),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn seeding_inserts_exactly_n_queryable_rows() {
    for db in TestDb::all() {
        let store = db.open().expect("open store");
        let m = merchant();
        let t = template(&m);
        let (m2, t2) = (m.clone(), t.clone());
        let inserted = store
            .write(move |db| {
                db.insert_merchant(&m2)?;
                let first = db.seed_payments(&t2, "seed-", 1, 600)?;
                let second = db.seed_payments(&t2, "seed-", 601, 400)?;
                Ok::<_, polypay_store::StoreError>(first + second)
            })
            .await
            .expect("seed");
        assert_eq!(inserted, 1000, "{}", db.name);
        let id = m.id.clone();
        let (count, last, first) = store
            .read(move |db| {
                Ok::<_, polypay_store::StoreError>((
                    db.payment_count()?,
                    db.payment_by_order_no(&id, "seed-1000")?,
                    db.payment_by_order_no(&id, "seed-1")?,
                ))
            })
            .await
            .expect("read");
        assert_eq!(count, 1000, "{}", db.name);
        let last = last.expect("seed-1000 is stored");
        let first = first.expect("seed-1 is stored");
        assert_eq!(last.amount, t.amount);
        assert_eq!(last.attrs, t.attrs);
        assert_eq!(last.notify_url, t.notify_url);
        // The engine's time-ordered shapes: creation ms as 12 hex digits, then random hex.
        let ms = format!("{:012x}", last.created_at.0);
        assert_eq!(last.id.as_str().len(), 36, "{}", last.id);
        assert!(
            last.id.as_str().starts_with(&format!("pay_{ms}")),
            "{}",
            last.id
        );
        assert_eq!(last.cashier_token.len(), 64);
        assert!(last.cashier_token.starts_with(&ms));
        assert!(last.cashier_token.chars().all(|c| c.is_ascii_hexdigit()));
        // PassToPay's shape: P + a 19-digit snowflake id of the creation millisecond.
        assert_eq!(last.public_id.len(), 20, "{}", last.public_id);
        let snowflake: i64 = last.public_id[1..].parse().unwrap();
        assert_eq!((snowflake >> 22) + 1_288_834_974_657, last.created_at.0);
        assert_ne!(last.cashier_token, first.cashier_token);
        assert!(!last.state.is_open() && !first.state.is_open());
        assert!(first.created_at < last.created_at && last.created_at < t.created_at);
        let by_token = last.cashier_token.clone();
        let found = store
            .read(move |db| db.payment_by_cashier_token(&by_token))
            .await
            .expect("by token");
        assert_eq!(found.map(|p| p.id), Some(last.id.clone()), "{}", db.name);
        let clash = store
            .write(move |db| db.seed_payments(&t, "seed-", 1000, 1))
            .await;
        assert!(clash.is_err(), "a reused order number fails the statement");
        store.close();
    }
}
