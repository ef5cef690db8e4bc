//! Shared fixtures of the integration tests: the §9 inputs and request helpers.
#![allow(dead_code)]

use polypay_v2sha256::inbound::{HttpRequest, Inbound, MerchantProfile, ServerContext, handle};
use polypay_v2sha256::{ApiError, Credentials, CurrencyRule};

pub const APP_ID: &str = "483f6c9c743b4a9bbd34bee0c9c81eb71";
pub const SECRET: &str = "EXAMPLE_SECRET";
pub const TS: u64 = 1_715_670_758_482;

pub const B0: &str = r#"{"key1": "value1", "key2": "value2"}"#;
pub const B1: &str = r#"{"merchantTradeNo":"ORD20240514001","amount":"100.05","currency":"INR","description":"Test order","payer":{"userId":"u-1001","name":"Asha","email":"asha@example.com","phone":"9999999999"},"payMethod":{"type":"UPI"},"merchantAttach":"a=1","notifyUrl":"https://merchant.example.com/notify","returnUrl":"https://merchant.example.com/return"}"#;
pub const B2: &str = r#"{"code":"OK","errorMessage":null,"data":{"paymentNo":"PAY202405140000000001","merchantTradeNo":"ORD20240514001","status":"PENDING","action":{"type":"REDIRECT","url":"https://pay.example.test/cashier/PAY202405140000000001"}}}"#;
pub const B3: &str = r#"{"type":"PAYMENT","data":{"paymentNo":"PAY202405140000000001","merchantTradeNo":"ORD20240514001","amount":"100.05","currency":"INR","status":"PAID","description":"Test order","merchantAttach":"a=1","refundedAmount":"0.00","createdTime":"2024-05-14T07:12:38.482+00:00","paidTime":"2024-05-14T07:13:20.000+00:00"}}"#;

pub fn credentials() -> Credentials {
    Credentials::new(APP_ID, SECRET)
}

pub fn merchant() -> MerchantProfile {
    let mut m = MerchantProfile::new(credentials());
    m.currencies.push(CurrencyRule::new("USD", 2));
    m
}

pub fn lookup(app_id: &str) -> Option<MerchantProfile> {
    (app_id == APP_ID).then(merchant)
}

pub fn header(sign: &str, timestamp: &str, nonce: &str) -> String {
    format!("V2_SHA256 appId={APP_ID},sign={sign},timestamp={timestamp},nonce={nonce}")
}

/// A server-side request: `target` is path with optional `?query`.
pub struct Req {
    pub method: &'static str,
    pub scheme: &'static str,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn post(target: &str, authorization: &str, body: &[u8]) -> Req {
        Req {
            method: "POST",
            scheme: "http",
            target: target.to_owned(),
            headers: vec![("authorization".to_owned(), authorization.to_owned())],
            body: body.to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn handle_at(
        &self,
        now_ms: u64,
        public_base_url: Option<&str>,
    ) -> Result<Inbound, ApiError> {
        let (path, query) = match self.target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.target.as_str(), None),
        };
        let req = HttpRequest {
            method: self.method,
            scheme: self.scheme,
            path,
            query,
            headers: &self.headers,
            body: &self.body,
        };
        handle(
            &req,
            &ServerContext {
                now_ms,
                public_base_url,
            },
            lookup,
        )
    }

    pub fn handle(&self) -> Result<Inbound, ApiError> {
        self.handle_at(TS + 1_000, None)
    }
}

/// Status, code and message of a rendered error.
pub fn triple(e: &ApiError) -> (u16, String, String) {
    let r = e.render();
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["data"], serde_json::Value::Null);
    (
        r.status,
        v["code"].as_str().unwrap().to_owned(),
        v["errorMessage"].as_str().unwrap().to_owned(),
    )
}
