//! The router-level harness: a real engine on a throwaway database (SQLite always, PostgreSQL
//! when `POLYPAY_TEST_DATABASE_URL` is set), this crate's router served on 127.0.0.1:0, a
//! merchant, and the phase-1 client pointed at it. Time is a `FixedClock` set to the wall clock
//! at start (the client stamps requests with the wall clock), moved only explicitly.
#![allow(dead_code)]

use polypay_core::{FixedClock, Merchant, Payment, PaymentCommand, PaymentId, Payout, Timestamp};
use polypay_engine::keys::{PemPair, generate_ec_p256, generate_rsa_2048};
use polypay_engine::{Engine, NewMerchant, Platform};
use polypay_store::OutboxEvent;
use polypay_store::testing::TestDb;
use polypay_v2sha256::wire::{
    PayMethod, Payer, PaymentCreateRequest, PayoutCreateRequest, PayoutMethod,
};
use polypay_v2sha256::{Client, Credentials};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The platform key pairs, generated once per test binary (RSA generation is slow).
fn platform_keys() -> &'static (PemPair, PemPair) {
    static KEYS: OnceLock<(PemPair, PemPair)> = OnceLock::new();
    KEYS.get_or_init(|| (generate_ec_p256().unwrap(), generate_rsa_2048().unwrap()))
}

/// One polypay node: an engine and this protocol's router on a loopback port.
pub struct Node {
    pub engine: Engine,
    pub platform: Arc<Platform>,
    pub base_url: String,
    /// `127.0.0.1:port`, what the node's clients send as `Host`.
    pub host: String,
}

/// Serves the router of `engine` on a fresh loopback port.
pub async fn serve(engine: Engine, sandbox: bool) -> Node {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let (ec_key, rsa_key) = platform_keys().clone();
    let platform = Arc::new(Platform {
        public_base_url: format!("http://{host}"),
        sandbox,
        ec_key,
        rsa_key,
    });
    let app = polypay_v2sha256::server::router(engine.clone(), platform.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Node {
        engine,
        platform,
        base_url: format!("http://{host}"),
        host,
    }
}

pub struct Harness {
    pub clock: Arc<FixedClock>,
    pub node: Node,
    pub merchant: Merchant,
    pub client: Client,
    // Last: dropped after the store's users.
    pub db: TestDb,
}

pub fn credentials(m: &Merchant) -> Credentials {
    let c = &m.credentials.v2sha256;
    Credentials::new(c.app_id.clone(), c.app_secret.expose())
}

impl Harness {
    /// A sandbox node with one merchant (default settings).
    pub async fn new(db: TestDb) -> Harness {
        Harness::with_mode(db, true).await
    }

    pub async fn with_mode(db: TestDb, sandbox: bool) -> Harness {
        let clock = Arc::new(FixedClock::new(Timestamp(wall_ms())));
        let engine = Engine::new(db.open().unwrap(), clock.clone());
        let (merchant, keys) = engine
            .create_merchant(NewMerchant {
                name: "v2sha256 test merchant".into(),
                notify_url: None,
                generate_keys: true,
            })
            .await
            .unwrap();
        assert!(keys.is_some());
        let node = serve(engine, sandbox).await;
        let client = Client::new(&node.base_url, credentials(&merchant)).unwrap();
        Harness {
            clock,
            node,
            merchant,
            client,
            db,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.node.engine
    }

    /// Replaces the merchant's `settings["v2sha256"]`.
    pub async fn set_settings(&mut self, v2sha256: Value) {
        let mut m = self.merchant.clone();
        m.settings = serde_json::json!({ "v2sha256": v2sha256 });
        self.merchant = self.engine().update_merchant(m).await.unwrap();
    }

    pub async fn payment(&self, payment_no: &str) -> Payment {
        self.engine()
            .payment_by_public_id(payment_no)
            .await
            .unwrap()
    }

    pub async fn payout(&self, payout_no: &str) -> Payout {
        self.engine().payout_by_public_id(payout_no).await.unwrap()
    }

    /// Marks a payment paid the way the cashier would (credits the balance).
    pub async fn pay(&self, payment_no: &str) -> Payment {
        let id = self.payment(payment_no).await.id;
        let cmd = PaymentCommand::Succeed {
            channel_order_no: "CH-1".into(),
        };
        self.engine().transition_payment(&id, cmd).await.unwrap()
    }

    /// Creates a payment through the API and pays it; returns its paymentNo.
    pub async fn paid_payment(&self, trade_no: &str, amount: &str) -> String {
        let r = self
            .client
            .payment_create(&payment_request(trade_no, amount))
            .await
            .unwrap();
        assert!(r.is_ok(), "{r:?}");
        let no = r.data.unwrap().payment_no;
        self.pay(&no).await;
        no
    }

    pub async fn outbox(&self, object_id: &str) -> Vec<OutboxEvent> {
        let id = object_id.to_owned();
        self.engine()
            .store()
            .read(move |db| db.outbox_of_object(&id))
            .await
            .unwrap()
    }

    pub async fn payment_id(&self, payment_no: &str) -> PaymentId {
        self.payment(payment_no).await.id
    }
}

pub fn payment_request(trade_no: &str, amount: &str) -> PaymentCreateRequest {
    PaymentCreateRequest {
        merchant_trade_no: trade_no.into(),
        amount: amount.into(),
        currency: "INR".into(),
        description: "Test order".into(),
        payer: Payer {
            user_id: "u-1001".into(),
            name: Some("Asha".into()),
            email: None,
            phone: None,
        },
        pay_method: PayMethod {
            kind: "UPI".into(),
            extra: Map::new(),
        },
        trade_env: None,
        merchant_attach: Some("a=1".into()),
        notify_url: "https://merchant.example.com/notify?src=pg".into(),
        return_url: "https://merchant.example.com/return".into(),
    }
}

pub fn payout_request(trade_no: &str, amount: &str) -> PayoutCreateRequest {
    PayoutCreateRequest {
        merchant_trade_no: trade_no.into(),
        amount: amount.into(),
        currency: "INR".into(),
        description: "Vendor payout".into(),
        payout_method: PayoutMethod::BankAccount {
            account_number: "123456789012".into(),
            bank_code: "HDFC0000001".into(),
            payee_name: "Ravi".into(),
            mode: Some("IMPS".into()),
            bank_name: None,
            payee_phone: None,
            payee_email: None,
        },
        merchant_attach: None,
        notify_url: "https://merchant.example.com/payouts".into(),
    }
}
