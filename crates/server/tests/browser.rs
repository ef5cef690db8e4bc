//! A real browser on the cashier page: headless Chromium driven over WebDriver opens a cashier
//! URL, clicks Pay, and lands on the merchant's return URL with the protocol's signed parameters.
//!
//! Needs chromium + chromedriver (`.ci/run` installs them and sets POLYPAY_BROWSER_TESTS=1, which
//! makes a missing driver a failure instead of a skip).

use polypay_core::{Currency, Money, PaymentState, Protocol};
use polypay_engine::NewPayment;
use polypay_server::testing::{Receiver, TestServer};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};

const DRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Option<Driver> {
        if !std::path::Path::new(DRIVER).exists() {
            assert!(
                std::env::var("POLYPAY_BROWSER_TESTS").is_err(),
                "chromedriver is missing"
            );
            eprintln!("skipped: {DRIVER} not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let d = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        // Wait for the driver process to listen: bounded, it is an external process starting.
        for _ in 0..100 {
            if d.http.get(format!("{}/status", d.url)).send().await.is_ok() {
                return Some(d);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not start");
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let r = self
            .http
            .request(method, format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("webdriver");
        let v: Value = r.json().await.expect("webdriver json");
        assert!(v["value"]["error"].is_null(), "webdriver {path}: {v}");
        v["value"].clone()
    }

    async fn session(&self) -> String {
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=420,900"]}}}});
        let v = self.call(reqwest::Method::POST, "/session", caps).await;
        v["sessionId"].as_str().expect("session id").to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_pays_on_the_cashier_and_returns_to_the_merchant() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let s = TestServer::start().await;
    let shop = Receiver::start(200, "thanks").await;
    let new = NewPayment {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: "browser-1".into(),
        public_id: "P1000000000000000042".into(),
        amount: Money::new(2500, Currency::CNY),
        notify_url: None,
        return_url: Some(format!("{}/return", shop.url)),
        ttl_seconds: 900,
        initial_state: PaymentState::Created,
        attrs: json!({"wayCode": "ALI_QR", "subject": "goods", "body": "0", "currency": "cny",
                      "clientIp": "210.73.10.148", "appId": s.credentials_of("passtopay")["appId"]}),
    };
    let p = s.engine().create_payment(new).await.unwrap();
    let sid = driver.session().await;
    let base = format!("/session/{sid}");
    let cashier = format!("{}/cashier/{}", s.base_url, p.cashier_token);
    driver
        .call(
            reqwest::Method::POST,
            &format!("{base}/url"),
            json!({"url": cashier}),
        )
        .await;
    let shot = driver
        .call(
            reqwest::Method::GET,
            &format!("{base}/screenshot"),
            json!({}),
        )
        .await;
    save_png(shot.as_str().unwrap_or_default(), "cashier.png");
    let pay = driver
        .call(
            reqwest::Method::POST,
            &format!("{base}/element"),
            json!({"using": "css selector", "value": "#pay"}),
        )
        .await;
    let element = pay
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|v| v.as_str())
        .unwrap()
        .to_string();
    driver
        .call(
            reqwest::Method::POST,
            &format!("{base}/element/{element}/click"),
            json!({}),
        )
        .await;
    // The click returns once the form is submitted, not when the redirect chain has landed:
    // poll the current URL (bounded) until the browser reaches the merchant.
    let mut landed = String::new();
    for _ in 0..100 {
        let url = driver
            .call(reqwest::Method::GET, &format!("{base}/url"), json!({}))
            .await;
        landed = url.as_str().unwrap_or_default().to_string();
        if landed.starts_with(&shop.url) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    driver.call(reqwest::Method::DELETE, &base, json!({})).await;

    assert_eq!(
        s.payment("P1000000000000000042").await.state,
        PaymentState::Succeeded
    );
    assert!(
        landed.starts_with(&format!("{}/return?", shop.url)),
        "landed on {landed}"
    );
    let visit = shop
        .requests()
        .into_iter()
        .find(|r| r.uri.starts_with("/return"))
        .expect("return visit");
    let secret = s.credentials_of("passtopay")["appSecret"]
        .as_str()
        .unwrap_or_default();
    let secret = polypay_passtopay::AppSecret::new(secret);
    let verified = polypay_passtopay::client::verify_redirect_with(&visit.uri, &secret);
    assert!(
        verified.is_ok(),
        "return URL parameters are not correctly signed: {} {verified:?}",
        visit.uri
    );
}

fn save_png(b64: &str, name: &str) {
    use base64::Engine as _;
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
        let dir = std::env::temp_dir().join("polypay-browser");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(name), bytes);
    }
}
