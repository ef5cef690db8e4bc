//! Shared by the console's HTTP and browser tests: an operator signed in over plain HTTP (cookie
//! and CSRF token carried by hand), and payment fixtures.

#![allow(dead_code)]

use polypay_core::{Currency, Money, Payment, PaymentState, Protocol};
use polypay_engine::NewPayment;
use polypay_server::testing::TestServer;
use serde_json::json;

/// An operator's HTTP session with the console.
pub struct Operator {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

/// One answer: status, `Location` (redirects are not followed), body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Answer {
        status,
        location,
        body: r.text().await.unwrap_or_default(),
    }
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

impl Operator {
    /// Signs in with the admin token and reads the CSRF token from the overview.
    pub async fn sign_in(s: &TestServer) -> Operator {
        let http = client();
        let r = http
            .post(format!("{}/console/login", s.base_url))
            .form(&[("token", s.admin_token.as_str())])
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), 303);
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_string();
        let mut op = Operator {
            http,
            base: s.base_url.clone(),
            cookie,
            csrf: String::new(),
        };
        let overview = op.get("/console").await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        op.csrf = csrf_of(&overview.body);
        op
    }

    pub async fn get(&self, path: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("GET");
        answer(r).await
    }

    /// POSTs a form with this session's CSRF token added.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &self.csrf));
        self.post_raw(path, &fields).await
    }

    /// POSTs a form exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .expect("POST");
        answer(r).await
    }
}

/// A PassToPay payment of the test merchant, as its front door would create it.
pub fn passtopay_payment(
    s: &TestServer,
    order_no: &str,
    n: u32,
    minor: i64,
    notify: Option<String>,
) -> NewPayment {
    NewPayment {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: order_no.into(),
        public_id: format!("P{:019}", 1_000_000 + u64::from(n)),
        amount: Money::new(minor, Currency::CNY),
        notify_url: notify,
        return_url: None,
        ttl_seconds: 900,
        initial_state: PaymentState::Created,
        attrs: json!({"wayCode": "ALI_QR", "subject": "goods", "body": "0", "currency": "cny",
                      "clientIp": "210.73.10.148", "appId": s.credentials_of("passtopay")["appId"]}),
    }
}

pub async fn create_payment(s: &TestServer, new: NewPayment) -> Payment {
    s.engine().create_payment(new).await.expect("payment")
}
