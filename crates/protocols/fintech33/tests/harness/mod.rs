//! The router on a real engine: a throwaway database, a fixed clock, a merchant with generated
//! keys, the router served on 127.0.0.1:0, and the phase-1 client pointed at it.
#![allow(dead_code)]

use polypay_core::{Currency, FixedClock, Merchant, Money, Payment, PaymentCommand, Timestamp};
use polypay_engine::{Engine, NewMerchant, NewPayout, Platform, SandboxKeys, keys};
use polypay_fintech33::wire::{CreateOrder, OrderRef, Payer};
use polypay_fintech33::{
    Amount, BizCipher, Client, MerchantKeys, RsaPrivateKey, RsaPublicKey, SignHash,
};
use polypay_store::testing::TestDb;
use std::sync::Arc;

/// 2024-01-01T12:00:00Z.
pub const START_MS: i64 = 1_704_110_400_000;

pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<FixedClock>,
    pub platform: Arc<Platform>,
    pub merchant: Merchant,
    pub sandbox_keys: Option<SandboxKeys>,
    pub base_url: String,
    pub db_name: &'static str,
    _db: TestDb,
}

impl Harness {
    /// A merchant with generated RSA keys (its public half registered) and the given notify URL.
    pub async fn start(db: TestDb, sandbox: bool) -> Harness {
        Self::start_with(db, sandbox, true).await
    }

    pub async fn start_with(db: TestDb, sandbox: bool, generate_keys: bool) -> Harness {
        let clock = Arc::new(FixedClock::new(Timestamp(START_MS)));
        let engine = Engine::new(db.open().expect("open store"), clock.clone());
        let (merchant, sandbox_keys) = engine
            .create_merchant(NewMerchant {
                name: "shop".into(),
                notify_url: Some("http://127.0.0.1:9/fintech33-hook".into()),
                generate_keys,
            })
            .await
            .expect("merchant");
        let platform = Arc::new(Platform {
            public_base_url: "http://polypay.test".into(),
            sandbox,
            ec_key: keys::generate_ec_p256().expect("ec key"),
            rsa_key: keys::generate_rsa_2048().expect("rsa key"),
        });
        let base_url = serve(&engine, &platform).await;
        Harness {
            engine,
            clock,
            platform,
            merchant,
            sandbox_keys,
            base_url,
            db_name: db.name,
            _db: db,
        }
    }

    /// The merchant as stored now (after settings changes).
    pub async fn merchant(&self) -> Merchant {
        self.engine
            .merchant(&self.merchant.id)
            .await
            .expect("merchant")
    }

    /// The merchant's SDK with its own keys: ECB, SHA-256.
    pub fn client(&self) -> Client {
        self.client_with(None, SignHash::Sha256)
    }

    pub fn client_with(&self, cbc_iv: Option<&str>, hash: SignHash) -> Client {
        Client::new(self.base_url.clone(), self.merchant_keys(cbc_iv, hash))
    }

    pub fn merchant_keys(&self, cbc_iv: Option<&str>, hash: SignHash) -> MerchantKeys {
        let c = &self.merchant.credentials.fintech33;
        let private = match &self.sandbox_keys {
            Some(k) => RsaPrivateKey::from_text(&k.rsa.private_pem).expect("merchant key"),
            None => RsaPrivateKey::generate().expect("key"),
        };
        MerchantKeys {
            app_id: c.app_id.clone(),
            app_secret: c.app_secret.expose().to_owned(),
            cipher: BizCipher::from_base64(c.aes_key.expose(), cbc_iv).expect("aes key"),
            sign_hash: hash,
            private_key: private,
            platform_key: RsaPublicKey::from_text(&self.platform.rsa_key.public_pem)
                .expect("platform key"),
        }
    }

    pub async fn payment(&self, order_sn: &str) -> Payment {
        self.engine
            .payment_by_order_no(&self.merchant.id, order_sn)
            .await
            .expect("payment")
    }

    /// The customer opens the cashier and pays.
    pub async fn pay(&self, order_sn: &str) -> Payment {
        let p = self.payment(order_sn).await;
        self.engine
            .transition_payment(&p.id, PaymentCommand::Open)
            .await
            .expect("open");
        let cmd = PaymentCommand::Succeed {
            channel_order_no: format!("ch-{order_sn}"),
        };
        self.engine
            .transition_payment(&p.id, cmd)
            .await
            .expect("pay")
    }

    /// The merchant's USD balance in cents.
    pub async fn usd_balance(&self) -> i64 {
        self.engine
            .balances(&self.merchant.id)
            .await
            .expect("balances")
            .iter()
            .find(|m| m.currency == Currency::USD)
            .map_or(0, |m| m.minor)
    }

    /// Spends `cents` of the balance through a payout (to make a refund unaffordable).
    pub async fn spend(&self, cents: i64) {
        self.engine
            .create_payout(NewPayout {
                merchant_id: self.merchant.id.clone(),
                protocol: polypay_core::Protocol::Fintech33,
                merchant_order_no: format!("spend-{cents}"),
                public_id: format!("spend-{}", polypay_engine::random_hex(6)),
                amount: Money::new(cents, Currency::USD),
                notify_url: None,
                start_processing: false,
                attrs: serde_json::json!({}),
            })
            .await
            .expect("payout");
    }
}

/// Serves the fintech33 router on an ephemeral loopback port; returns its base URL.
pub async fn serve(engine: &Engine, platform: &Arc<Platform>) -> String {
    let router = polypay_fintech33::server::router(engine.clone(), platform.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

pub fn payer(email: &str) -> Payer {
    Payer::example(email)
}

pub fn order(order_sn: &str, payer_id: u64, amount: &str) -> CreateOrder {
    CreateOrder {
        order_sn: order_sn.into(),
        currency: "USD".into(),
        amount: Amount::parse(amount).expect("amount"),
        payer_id,
        purpose_of_transaction: "PAY_FOR_GOODS".into(),
        description: "Test order".into(),
        skip3ds: false,
        domain: "shop.example.com".into(),
        product: "T-shirt||Mug".into(),
    }
}

pub fn by_sn(order_sn: &str) -> OrderRef {
    OrderRef {
        order_sn: Some(order_sn.into()),
        link_id: None,
    }
}

pub fn by_link(link_id: &str) -> OrderRef {
    OrderRef {
        order_sn: None,
        link_id: Some(link_id.into()),
    }
}
