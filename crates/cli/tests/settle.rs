//! `polypay settle FILE` against a node: each line's report applied through the settlement
//! API, refusals and bad lines listed, and the same file run again changing nothing.

use polypay_core::{Currency, Money, PaymentState, Protocol};
use polypay_engine::NewPayment;
use polypay_server::testing::TestServer;
use serde_json::json;

async fn order(s: &TestServer, no: &str) {
    let new = NewPayment {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: no.into(),
        public_id: format!("P-{no}"),
        amount: Money::new(10_000, Currency::CNY),
        notify_url: None,
        return_url: None,
        ttl_seconds: 900,
        initial_state: PaymentState::Created,
        attrs: json!({"wayCode": "ALI_QR"}),
    };
    s.engine().create_payment(new).await.expect("payment");
}

/// Runs `polypay settle` on `lines`; its exit code and standard output.
async fn settle(s: &TestServer, lines: &[String]) -> (i32, String) {
    let out = settle_as(s, lines, "test-admin-token").await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout)
}

/// Runs `polypay settle` on `lines` with the admin token `token`.
async fn settle_as(s: &TestServer, lines: &[String], token: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("reports.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_polypay"))
        .arg("settle")
        .arg(&file)
        .args(["--base-url", &s.base_url, "--admin-token", token])
        .env_remove("POLYPAY_ADMIN_TOKEN")
        .output()
        .await
        .expect("run polypay settle")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_of_reports_is_applied_and_can_be_run_again() {
    let s = TestServer::start().await;
    for no in ["a", "b", "c"] {
        order(&s, no).await;
    }
    let mch = s.merchant.id.as_str();
    let paid_a =
        r#"{"object":"payment","reference":"P-a","action":"succeed","channel_order_no":"RAIL-1"}"#;
    let failed_b =
        r#"{"object":"payment","reference":"P-b","action":"fail","code":"DECLINED"}"#.to_string();
    let paid_c = format!(
        r#"{{"object":"payment","reference":"c","merchant":"{mch}","action":"succeed","channel_order_no":"RAIL-3"}}"#
    );
    let lines = [
        "# rail statement of 2026-12-07".to_string(),
        paid_a.to_string(),
        failed_b.clone(),
        String::new(),
        paid_a.to_string(),
        r#"{"object":"payment","reference":"P-b","action":"succeed","channel_order_no":"RAIL-2"}"#
            .to_string(),
        "not json".to_string(),
        paid_c.clone(),
        r#"{"object":"payment","reference":"P-zz","action":"succeed","channel_order_no":"R"}"#
            .to_string(),
    ];
    let (code, out) = settle(&s, &lines).await;
    assert_eq!(code, 1, "{out}");
    let said: Vec<&str> = out.lines().collect();
    assert_eq!(said[0], "line 2: payment P-a succeed: applied", "{out}");
    assert_eq!(said[1], "line 3: payment P-b fail: applied");
    assert_eq!(said[2], "line 5: payment P-a succeed: already applied");
    assert!(
        said[3].starts_with("line 6: payment P-b succeed: refused: "),
        "{out}"
    );
    assert_eq!(said[4], "line 7: invalid: not a JSON object");
    assert_eq!(said[5], "line 8: payment c succeed: applied");
    assert!(
        said[6].starts_with("line 9: payment P-zz succeed: refused: "),
        "{out}"
    );
    assert_eq!(
        said[7],
        "3 applied, 1 already applied, 2 refused, 1 invalid"
    );

    let a = s.payment("P-a").await;
    assert_eq!(a.state, PaymentState::Succeeded);
    assert_eq!(a.channel_order_no.as_deref(), Some("RAIL-1"));
    assert_eq!(s.payment("P-b").await.state, PaymentState::Failed);
    let c = s.payment("P-c").await;
    assert_eq!(c.channel_order_no.as_deref(), Some("RAIL-3"));

    // The good lines again (a run that stopped half-way, run again): nothing changes.
    let (code, out) = settle(&s, &[paid_a.to_string(), failed_b, paid_c]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("0 applied, 3 already applied, 0 refused, 0 invalid\n"),
        "{out}"
    );

    // A wrong token stops at the first line instead of refusing every one.
    let out = settle_as(&s, &[paid_a.to_string()], "wrong-token-0123456789").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("line 1 (payment P-a succeed); the lines after it were not sent"),
        "{stderr}"
    );
}
