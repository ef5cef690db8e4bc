//! A minimal W3C WebDriver client over reqwest for the browser tests: starts chromedriver on a
//! free port, opens a headless Chromium session, and offers the few commands the tests use.
//! Shared by the cashier and console browser tests (each uses a subset, hence the allow).
#![allow(dead_code)]

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};

const DRIVER: &str = "/usr/bin/chromedriver";

pub struct Driver {
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
    pub async fn start() -> Option<Driver> {
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

    pub async fn session(&self) -> Session<'_> {
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1280,1000"]}}}});
        let v = self.call(reqwest::Method::POST, "/session", caps).await;
        let id = v["sessionId"].as_str().expect("session id").to_string();
        // A click that submits a form returns before the next page is loaded: element lookups
        // wait (up to 5 s) for the element to appear instead of racing the navigation.
        let timeouts = json!({"implicit": 5000, "pageLoad": 10000});
        self.call(
            reqwest::Method::POST,
            &format!("/session/{id}/timeouts"),
            timeouts,
        )
        .await;
        Session {
            driver: self,
            base: format!("/session/{id}"),
        }
    }
}

/// One browser session with the few WebDriver commands the test needs.
pub struct Session<'a> {
    driver: &'a Driver,
    base: String,
}

impl Session<'_> {
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.driver
            .call(reqwest::Method::POST, &format!("{}{path}", self.base), body)
            .await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.driver
            .call(
                reqwest::Method::GET,
                &format!("{}{path}", self.base),
                json!({}),
            )
            .await
    }

    pub async fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_string()
    }

    pub async fn count(&self, css: &str) -> usize {
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        v.as_array().map_or(0, Vec::len)
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/click"), json!({})).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{e}/clear"), json!({})).await;
        self.post(&format!("/element/{e}/value"), json!({ "text": text }))
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.get(&format!("/element/{e}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The current URL once `landed` holds for it: a click returns when the form is submitted,
    /// not when the next page has loaded (polled, bounded at 5 s; the last URL either way).
    pub async fn url_when(&self, landed: impl Fn(&str) -> bool) -> String {
        let mut url = self.url().await;
        for _ in 0..100 {
            if landed(&url) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            url = self.url().await;
        }
        url
    }

    /// The page's first `h1` once `shown` holds for its text (polled as [`Self::url_when`]; read
    /// by script, so a navigation in between cannot leave a stale element).
    pub async fn heading_when(&self, shown: impl Fn(&str) -> bool) -> String {
        let script = json!({"script": "var h = document.querySelector('h1'); return h ? h.textContent : '';", "args": []});
        let mut text = String::new();
        for _ in 0..100 {
            text = self
                .post("/execute/sync", script.clone())
                .await
                .as_str()
                .unwrap_or_default()
                .to_string();
            if shown(&text) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        text
    }

    /// The browser's Back button.
    pub async fn back(&self) {
        self.post("/back", json!({})).await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Saves a screenshot as `name` under POLYPAY_SCREENSHOT_DIR (else the temp dir).
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let shot = self.get("/screenshot").await;
        let Ok(bytes) =
            base64::engine::general_purpose::STANDARD.decode(shot.as_str().unwrap_or_default())
        else {
            return;
        };
        let dir = match std::env::var("POLYPAY_SCREENSHOT_DIR") {
            Ok(d) if std::path::Path::new(&d).is_absolute() => std::path::PathBuf::from(d),
            Ok(d) => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(d),
            Err(_) => std::env::temp_dir().join("polypay-browser"),
        };
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(name), bytes).expect("write screenshot");
    }

    pub async fn close(&self) {
        self.driver
            .call(reqwest::Method::DELETE, &self.base, json!({}))
            .await;
    }
}
