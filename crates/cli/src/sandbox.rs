//! `polypay sandbox …`: the sandbox control API from the command line (complete, fail, cancel or
//! expire a payment, settle a payout or refund, move the sandbox clock).

use clap::{Args, Subcommand};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

#[derive(Args)]
pub struct SandboxArgs {
    /// The polypay server.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    base_url: String,
    /// The admin token (printed at first start).
    #[arg(
        long,
        env = "POLYPAY_ADMIN_TOKEN",
        global = true,
        hide_env_values = true
    )]
    admin_token: Option<String>,
    #[command(subcommand)]
    command: SandboxCommand,
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Act on a payment: succeed, fail, cancel or expire. REF is pay_…, the protocol's order id,
    /// the cashier token at the end of the payment link, or with --merchant your order number.
    Payment(Target),
    /// Act on a payout: succeed, fail, or lock (pending -> processing; BlockATM's status 3). REF
    /// is po_…, the protocol's order id, or with --merchant your order number.
    Payout(Target),
    /// Act on a pending refund: succeed or fail. REF is rf_…, the protocol's refund id (33
    /// Fintech's `<linkID>#<n>` as it is: the command encodes it), or with --merchant your
    /// refund number.
    Refund(Target),
    /// Move the sandbox clock forward, e.g. `advance 3600` (seconds).
    Advance { seconds: i64 },
    /// Show the sandbox clock.
    Clock,
}

/// What to do to which payment, payout or refund.
#[derive(Args)]
struct Target {
    action: String,
    reference: String,
    /// REF is this merchant's own order (or refund) number.
    #[arg(long, value_name = "MERCHANT_ID")]
    merchant: Option<String>,
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let token = args
        .admin_token
        .ok_or_else(|| anyhow::anyhow!("--admin-token (or POLYPAY_ADMIN_TOKEN) is required"))?;
    let base = args.base_url.trim_end_matches('/');
    let http = reqwest::Client::new();
    let act = |kind: &str, t: &Target| {
        let path = control_path(kind, &t.reference, Some(&t.action), t.merchant.as_deref());
        ("POST", path, json!({}))
    };
    let (method, path, body) = match &args.command {
        SandboxCommand::Payment(t) => act("payments", t),
        SandboxCommand::Payout(t) => act("payouts", t),
        SandboxCommand::Refund(t) => act("refunds", t),
        SandboxCommand::Advance { seconds } => (
            "POST",
            "clock/advance".to_string(),
            json!({"seconds": seconds}),
        ),
        SandboxCommand::Clock => ("GET", "clock".to_string(), json!({})),
    };
    let url = format!("{base}/sandbox/v1/{path}");
    let request = if method == "GET" {
        http.get(&url)
    } else {
        http.post(&url).json(&body)
    };
    let response = request.bearer_auth(token).send().await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    println!("{}", serde_json::to_string_pretty(&answer)?);
    if !status.is_success() {
        anyhow::bail!("the sandbox API answered HTTP {status}");
    }
    Ok(())
}

/// `payments/{ref}[/{action}]` and the like (the sandbox API's and the settlement API's), the
/// reference one path segment even when it holds `#` or `/` (33 Fintech refunds are
/// `<linkID>#<n>`), and `?merchant=` when it is a merchant's own number.
pub(crate) fn control_path(
    kind: &str,
    reference: &str,
    action: Option<&str>,
    merchant: Option<&str>,
) -> String {
    let mut path = format!(
        "{kind}/{}",
        utf8_percent_encode(reference, NON_ALPHANUMERIC)
    );
    if let Some(action) = action {
        path.push('/');
        path.extend(utf8_percent_encode(action, NON_ALPHANUMERIC));
    }
    if let Some(m) = merchant {
        path.push_str("?merchant=");
        path.extend(utf8_percent_encode(m, NON_ALPHANUMERIC));
    }
    path
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_are_one_segment() {
        assert_eq!(
            super::control_path("refunds", "4b1e-9c#2", Some("fail"), None),
            "refunds/4b1e%2D9c%232/fail"
        );
        assert_eq!(
            super::control_path("payouts", "PO/1", Some("lock"), None),
            "payouts/PO%2F1/lock"
        );
        assert_eq!(
            super::control_path("payments", "A 1&b", Some("succeed"), Some("mch_1")),
            "payments/A%201%26b/succeed?merchant=mch%5F1"
        );
    }
}
