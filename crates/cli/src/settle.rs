//! `polypay settle FILE`: a file of rail reports applied through the settlement API, one
//! report per line, in order.
//!
//! A gateway's settlement process often learns outcomes in batches (a bank statement, a
//! chain indexer's export). Each line is one report, as JSON:
//!
//! ```text
//! {"object": "payment", "reference": "pay_…", "action": "succeed", "channel_order_no": "RAIL-1"}
//! {"object": "payout", "reference": "PO-7", "merchant": "mch_…", "action": "fail", "code": "BANK_REJECTED"}
//! ```
//!
//! `object` is `payment`, `payout` or `refund`; `reference` any reference the settlement API
//! takes (with `merchant` for the merchant's own number); `action` the API's; the other
//! members are the report's body (`channel_order_no`, `code`, `message`, `details`). Blank
//! lines and lines starting with `#` are skipped.
//!
//! A file can be run again: a report the object already reflects (the same success with the
//! same reference, the same failure) counts as already applied, not as refused, so a run that
//! stopped half-way is finished by running the whole file again. A line that is not a report,
//! or a report the API refuses, is listed and the run goes on; the exit code is then 1. A
//! transport failure or a server error stops the run at that line (what follows was not sent).

use crate::sandbox::control_path;
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Map, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct SettleArgs {
    /// The reports, one JSON object per line (`-` reads standard input).
    file: PathBuf,
    /// The polypay server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The admin token (printed at first start).
    #[arg(long, env = "POLYPAY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// One line's report.
struct Report {
    /// `payments`, `payouts` or `refunds`.
    objects: &'static str,
    reference: String,
    merchant: Option<String>,
    action: String,
    /// The API's body: every member but the four above.
    body: Map<String, Value>,
}

/// What became of a line.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Applied,
    AlreadyApplied,
    Refused(String),
}

pub async fn run(args: SettleArgs) -> anyhow::Result<()> {
    let token = args
        .admin_token
        .context("--admin-token (or POLYPAY_ADMIN_TOKEN) is required")?;
    let text = match args.file.as_os_str() == "-" {
        true => std::io::read_to_string(std::io::stdin()).context("reading standard input")?,
        false => std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?,
    };
    let api = Api {
        base: args.base_url.trim_end_matches('/').to_owned(),
        token,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?,
    };
    let (mut applied, mut already, mut refused, mut invalid) = (0, 0, 0, 0);
    // A byte-order mark (some spreadsheet exports write one) is not part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let report = match parse(line) {
            Ok(r) => r,
            Err(why) => {
                println!("line {line_no}: invalid: {why}");
                invalid += 1;
                continue;
            }
        };
        let what = format!(
            "{} {} {}",
            report.objects.trim_end_matches('s'),
            report.reference,
            report.action
        );
        let outcome = api.apply(&report).await.with_context(|| {
            format!("line {line_no} ({what}); the lines after it were not sent")
        })?;
        let said = match outcome {
            Outcome::Applied => {
                applied += 1;
                "applied".to_owned()
            }
            Outcome::AlreadyApplied => {
                already += 1;
                "already applied".to_owned()
            }
            Outcome::Refused(why) => {
                refused += 1;
                format!("refused: {why}")
            }
        };
        println!("line {line_no}: {what}: {said}");
    }
    println!("{applied} applied, {already} already applied, {refused} refused, {invalid} invalid");
    if refused + invalid > 0 {
        bail!("{} line(s) not applied", refused + invalid);
    }
    Ok(())
}

/// A line as a report, or why it is not one.
fn parse(line: &str) -> Result<Report, String> {
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(line) else {
        return Err("not a JSON object".into());
    };
    let mut take = |name: &str| match body.remove(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(format!("{name} must be a non-empty string")),
    };
    let object = take("object")?.ok_or("object is required")?;
    let reference = take("reference")?.ok_or("reference is required")?;
    let action = take("action")?.ok_or("action is required")?;
    let merchant = take("merchant")?;
    let (objects, actions): (_, &[&str]) = match object.as_str() {
        "payment" => ("payments", &["succeed", "fail"]),
        "payout" => ("payouts", &["process", "succeed", "fail"]),
        "refund" => ("refunds", &["succeed", "fail"]),
        other => {
            return Err(format!(
                "object must be payment, payout or refund, not {other}"
            ));
        }
    };
    if let Some((last, rest)) = actions.split_last()
        && !actions.contains(&action.as_str())
    {
        return Err(format!(
            "a {object}'s action must be {} or {last}, not {action}",
            rest.join(", ")
        ));
    }
    Ok(Report {
        objects,
        reference,
        merchant,
        action,
        body,
    })
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// `/admin/v1/{objects}/{reference}[/{action}][?merchant=…]`.
    fn url(&self, r: &Report, action: Option<&str>) -> String {
        let path = control_path(r.objects, &r.reference, action, r.merchant.as_deref());
        format!("{}/admin/v1/{path}", self.base)
    }

    /// Sends the report; on a conflict, looks at the object to tell a report it already
    /// reflects from one it refuses. `Err` for a transport failure or a server error.
    async fn apply(&self, r: &Report) -> anyhow::Result<Outcome> {
        let url = self.url(r, Some(&r.action));
        let sent = self.http.post(&url).bearer_auth(&self.token).json(&r.body);
        let (status, said) = read(sent.send().await?).await?;
        match status {
            200 => Ok(Outcome::Applied),
            409 => {
                let shown = self.http.get(self.url(r, None)).bearer_auth(&self.token);
                let (status, object) = read(shown.send().await?).await?;
                if status != 200 {
                    bail!("HTTP {status} showing the object: {}", message(&object));
                }
                Ok(match reflects(r, &object) {
                    true => Outcome::AlreadyApplied,
                    false => Outcome::Refused(message(&said)),
                })
            }
            // The token, not the report: every line would be refused alike. A timeout or a
            // rate limit says nothing about the report either: stop, and run the file again.
            401 | 403 | 408 | 429 => bail!("HTTP {status}: {}", message(&said)),
            400..=499 => Ok(Outcome::Refused(message(&said))),
            _ => bail!("HTTP {status}: {}", message(&said)),
        }
    }
}

/// The answer's status and JSON body (`Null` when it has none).
async fn read(response: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// The API's `{"error": …}`, or the status alone.
fn message(answer: &Value) -> String {
    match answer.get("error").and_then(Value::as_str) {
        Some(e) => e.to_owned(),
        None => answer.to_string(),
    }
}

/// Whether `object` already is what the report would make it: succeeded with the same rail
/// reference (a payment refunded since counts), failed with the same code, or (payouts) taken
/// by the rail. Compared as the API stores them: trimmed.
fn reflects(r: &Report, object: &Value) -> bool {
    let state = object
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let same = |stored: &str, reported: &str| {
        let stored = object.get(stored).and_then(Value::as_str);
        let reported = r.body.get(reported).and_then(Value::as_str).map(str::trim);
        stored.is_some() && stored == reported
    };
    let same_reference = same("channel_order_no", "channel_order_no");
    match r.action.as_str() {
        "succeed" => {
            let succeeded = match r.objects {
                "payments" => matches!(state, "succeeded" | "partially_refunded" | "refunded"),
                _ => state == "succeeded",
            };
            succeeded && same_reference
        }
        "fail" => state == "failed" && same("error_code", "code"),
        "process" => state == "processing" || state == "succeeded",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_reports_or_say_why_not() {
        let r = parse(
            r#"{"object":"payout","reference":"PO 7","merchant":"mch_1","action":"fail","code":"X"}"#,
        )
        .unwrap();
        assert_eq!((r.objects, r.action.as_str()), ("payouts", "fail"));
        assert_eq!(
            Value::Object(r.body.clone()),
            serde_json::json!({"code": "X"})
        );
        let api = Api {
            base: "http://h".into(),
            token: String::new(),
            http: reqwest::Client::new(),
        };
        assert_eq!(
            api.url(&r, Some("fail")),
            "http://h/admin/v1/payouts/PO%207/fail?merchant=mch%5F1"
        );
        for (line, why) in [
            ("[1]", "not a JSON object"),
            (r#"{"reference":"p","action":"fail"}"#, "object is required"),
            (
                r#"{"object":"order","reference":"p","action":"fail"}"#,
                "object must be payment, payout or refund, not order",
            ),
            (
                r#"{"object":"payment","reference":7,"action":"fail"}"#,
                "reference must be a non-empty string",
            ),
            (
                r#"{"object":"payment","reference":"p","action":"process"}"#,
                "a payment's action must be succeed or fail, not process",
            ),
            (
                r#"{"object":"refund","reference":"p","action":"SUCCEED"}"#,
                "a refund's action must be succeed or fail, not SUCCEED",
            ),
        ] {
            assert_eq!(parse(line).err().as_deref(), Some(why), "{line}");
        }
    }

    #[test]
    fn a_report_the_object_reflects_is_already_applied() {
        let report = |action: &str, body: Value| Report {
            objects: "payments",
            reference: "pay_1".into(),
            merchant: None,
            action: action.into(),
            body: body.as_object().cloned().unwrap_or_default(),
        };
        let paid = serde_json::json!({"state": "refunded", "channel_order_no": "R1"});
        let succeed = report("succeed", serde_json::json!({"channel_order_no": "R1"}));
        assert!(reflects(&succeed, &paid));
        let other = report("succeed", serde_json::json!({"channel_order_no": "R2"}));
        assert!(!reflects(&other, &paid), "another reference is a conflict");
        assert!(!reflects(&report("fail", Value::Null), &paid));
        let padded = report("succeed", serde_json::json!({"channel_order_no": " R1 "}));
        assert!(reflects(&padded, &paid), "the API stores it trimmed");
        let failed = serde_json::json!({"state": "failed", "error_code": "DECLINED"});
        let fail = |code: &str| report("fail", serde_json::json!({"code": code}));
        assert!(reflects(&fail("DECLINED"), &failed));
        assert!(
            !reflects(&fail("BANK_REJECTED"), &failed),
            "another failure"
        );
    }
}
