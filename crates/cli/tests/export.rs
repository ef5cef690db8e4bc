//! `polypay export` on a node's database: every matching object once across pages, CSV that a
//! spreadsheet cannot run, JSON Lines as the admin API shows them, and nothing written for a
//! filter that is refused.

use polypay_core::{Currency, Money, PaymentState, Protocol};
use polypay_engine::NewPayment;
use polypay_server::testing::TestServer;
use serde_json::json;
use std::process::Output;

fn order(s: &TestServer, no: &str) -> NewPayment {
    NewPayment {
        merchant_id: s.merchant.id.clone(),
        protocol: Protocol::Passtopay,
        merchant_order_no: no.into(),
        public_id: format!("P-{no}"),
        amount: Money::new(12_345, Currency::CNY),
        notify_url: None,
        return_url: None,
        ttl_seconds: 900,
        initial_state: PaymentState::Created,
        attrs: json!({"wayCode": "ALI_QR"}),
    }
}

async fn export(s: &TestServer, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_polypay"))
        .arg("export")
        .args(args)
        .args(["--database-url", &s.state.config().database_url])
        .env("POLYPAY_MASTER_KEY", "00".repeat(32))
        .env_remove("POLYPAY_CONFIG")
        .output()
        .await
        .expect("run polypay export")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn payments_are_exported_once_each_across_pages() {
    let s = TestServer::start().await;
    // More than one page (1,000 rows) of the export's own reads.
    let creates = (0..1003).map(|i| s.engine().create_payment(order(&s, &format!("E{i:04}"))));
    for made in futures_util::future::join_all(creates).await {
        made.expect("payment");
    }
    s.engine()
        .create_payment(order(&s, "=HYPERLINK(\"x\"),1"))
        .await
        .expect("payment");
    let (status, _) = s.sandbox("payments/P-E0007/succeed", json!({})).await;
    assert_eq!(status, 200);

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("payments.csv");
    // A link someone left under the output's name is replaced, not written through.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("victim"), &file).unwrap();
    let out = export(&s, &["payments", "--output", file.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("exported 1004 payments to "),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.path().join("victim").exists(),
        "the link was not followed"
    );
    assert!(!std::fs::symlink_metadata(&file).unwrap().is_symlink());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["payments.csv"], "no temporary file left");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "it names payers' orders");
    }
    let text = std::fs::read_to_string(&file).expect("read");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,merchant_id,protocol,merchant_order_no,public_id,state,currency,amount,refunded,\
         refund_pending,created_at,finished_at,channel_order_no,error_code,error_message"
    );
    assert_eq!(lines.len(), 1005);
    let mut ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1004, "every payment once");
    let special = lines
        .iter()
        .find(|l| l.contains("HYPERLINK"))
        .expect("the formula-like order");
    assert!(
        special.contains(",\"'=HYPERLINK(\"\"x\"\"),1\",\"P-=HYPERLINK(\"\"x\"\"),1\",created,"),
        "quoted, and disarmed where it starts a field: {special}"
    );
    let paid: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains(",succeeded,"))
        .copied()
        .collect();
    assert_eq!(paid.len(), 1);
    assert!(
        paid[0].contains(",E0007,P-E0007,succeeded,CNY,123.45,0.00,0.00,"),
        "{}",
        paid[0]
    );

    let out = export(
        &s,
        &["payments", "--format", "jsonl", "--state", "succeeded"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["merchant_order_no"], "E0007");
    assert_eq!(
        rows[0]["attrs"]["wayCode"], "ALI_QR",
        "whole, as the admin API shows it"
    );
    assert!(
        rows[0].get("cashier_token").is_none(),
        "not the live payment link"
    );

    // A filter that is refused writes nothing.
    let refused = dir.path().join("none.csv");
    for (args, why) in [
        (
            vec!["payments", "--merchant", "mch_nobody"],
            "no merchant mch_nobody",
        ),
        (vec!["payments", "--state", "paid"], "state must be one of"),
        (
            vec!["refunds", "--created-from", "2026-12-06"],
            "created_from must be an RFC 3339",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--output", refused.to_str().unwrap()]);
        let out = export(&s, &args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
        assert!(!refused.exists(), "{args:?}");
    }
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(left, 1, "payments.csv, nothing else");
    let out = export(&s, &["payments", "--merchant", "mch_nobody"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "not even the CSV header");

    // A reader that goes away (`| head -1`) ends the export quietly, as a Unix tool.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    // std's `output` keeps the closed pipe as stdout (tokio's would capture it).
    let closed = std::process::Command::new(env!("CARGO_BIN_EXE_polypay"))
        .args([
            "export",
            "payments",
            "--database-url",
            &s.state.config().database_url,
        ])
        .env("POLYPAY_MASTER_KEY", "00".repeat(32))
        .env_remove("POLYPAY_CONFIG")
        .stdout(writer)
        .output()
        .expect("run polypay export");
    assert_eq!(closed.status.code(), Some(141), "{}", stderr(&closed));
    assert!(closed.stderr.is_empty(), "{}", stderr(&closed));
}
