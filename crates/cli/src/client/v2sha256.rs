//! `polypay client v2sha256 …`: the V2_SHA256 gateway merchant SDK from the command line —
//! payment create/query, payout create/query, refund create/query, balance, webhook and
//! sync-redirect verification.
//!
//! Each call prints `{"httpStatus","code","errorMessage","data"}` and `signature: verified` when
//! the response's `Authorization` header verified (§3.3), else `signature: NOT verified`
//! (401/404/405/413 answers are unsigned). The exit code is non-zero on a transport failure, an
//! answer that does not verify, or a refusal (`code` other than `OK`).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use polypay_v2sha256::notify::notify_target;
use polypay_v2sha256::wire::{
    BalanceQueryRequest, PayMethod, Payer, PaymentCreateRequest, PaymentQueryRequest,
    PayoutCreateRequest, PayoutMethod, PayoutQueryRequest, RefundCreateRequest, RefundQueryRequest,
};
use polypay_v2sha256::{ApiResponse, Client, Credentials};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

const DEFAULT_NOTIFY: &str = "https://merchant.example/v2sha256/notify";
const DEFAULT_RETURN: &str = "https://merchant.example/v2sha256/return";

#[derive(Subcommand)]
pub enum Command {
    /// payment/create: a pay-in; prints the hosted cashier URL as `data.action.url`.
    CreatePayment {
        #[command(flatten)]
        conn: Conn,
        /// Generated (`ORD<ms>`) when absent.
        #[arg(long)]
        merchant_trade_no: Option<String>,
        /// Major units as a decimal string, e.g. 100.05.
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "INR")]
        currency: String,
        #[arg(long, default_value = "polypay CLI order")]
        description: String,
        #[arg(long, default_value = "cli-user")]
        user_id: String,
        /// payMethod.type.
        #[arg(long, default_value = "UPI")]
        pay_method: String,
        #[arg(long)]
        merchant_attach: Option<String>,
        #[arg(long, default_value = DEFAULT_NOTIFY)]
        notify_url: String,
        #[arg(long, default_value = DEFAULT_RETURN)]
        return_url: String,
    },
    /// payment/query by paymentNo and/or merchantTradeNo.
    #[command(alias = "query")]
    QueryPayment {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        lookup: Lookup,
    },
    /// payout/create: UPI (--vpa), BANK_ACCOUNT (--account-number, --bank-code), PIX (--pix-key)
    /// or WALLET (--wallet-id).
    #[command(alias = "payout")]
    CreatePayout {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        merchant_trade_no: Option<String>,
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "INR")]
        currency: String,
        #[arg(long, default_value = "polypay CLI payout")]
        description: String,
        #[command(flatten)]
        method: MethodArgs,
        #[arg(long)]
        merchant_attach: Option<String>,
        #[arg(long, default_value = DEFAULT_NOTIFY)]
        notify_url: String,
    },
    /// payout/query by payoutNo and/or merchantTradeNo.
    QueryPayout {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        lookup: Lookup,
    },
    /// refund/create: refund (part of) a paid payment.
    Refund {
        #[command(flatten)]
        conn: Conn,
        /// The refund's own number; generated (`RF<ms>`) when absent.
        #[arg(long)]
        merchant_trade_no: Option<String>,
        /// The payment's paymentNo…
        #[arg(long)]
        payment_no: Option<String>,
        /// …or its merchantTradeNo.
        #[arg(long)]
        payment_merchant_trade_no: Option<String>,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: Option<String>,
        /// Default: the payment's notifyUrl.
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// refund/query by refundNo and/or merchantTradeNo.
    QueryRefund {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        lookup: Lookup,
    },
    /// balance/query: available and frozen per currency.
    Balance {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        currency: Option<String>,
    },
    /// Verify a webhook: its body (file or `-` for stdin) and headers (`Name: value` lines).
    VerifyCallback {
        #[command(flatten)]
        keys: KeyArgs,
        #[arg(long, default_value = "-")]
        body: String,
        #[arg(long)]
        headers: PathBuf,
        /// The notifyUrl the webhook was sent to, or just its path and query (the signed line).
        #[arg(long, default_value = "/")]
        url: String,
        /// Judge the timestamp window (±300 s, §3.1) as of this time (ms since the epoch)
        /// instead of now: for a webhook captured earlier, or a spec vector.
        #[arg(long)]
        at: Option<u64>,
    },
    /// Verify the signed sync redirect the payer's browser arrived with.
    VerifyRedirect {
        #[command(flatten)]
        keys: KeyArgs,
        #[arg(long)]
        url: String,
    },
}

/// Where the server is and who the merchant is.
#[derive(Args)]
pub struct Conn {
    /// Scheme, host and an optional prefix such as `/pg`; requests go to `<base>/v2/...`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    #[command(flatten)]
    keys: KeyArgs,
}

/// The merchant's credentials: flags, or `--credentials FILE` (`polypay merchant create --json`
/// output or demo-merchant.json); flags win over the file.
#[derive(Args)]
pub struct KeyArgs {
    #[arg(long)]
    credentials: Option<PathBuf>,
    #[arg(long)]
    app_id: Option<String>,
    #[arg(long)]
    app_secret: Option<String>,
}

/// The polypay number and/or the merchant's number of the object to query.
#[derive(Args)]
pub struct Lookup {
    /// paymentNo / payoutNo / refundNo.
    #[arg(long, visible_aliases = ["payment-no", "payout-no", "refund-no"])]
    number: Option<String>,
    #[arg(long)]
    merchant_trade_no: Option<String>,
}

/// payoutMethod fields; the type follows from which identifier is given unless --method says.
#[derive(Args)]
pub struct MethodArgs {
    /// UPI, BANK_ACCOUNT, PIX or WALLET.
    #[arg(long)]
    method: Option<String>,
    #[arg(long, default_value = "polypay CLI payee")]
    payee_name: String,
    #[arg(long)]
    vpa: Option<String>,
    #[arg(long)]
    account_number: Option<String>,
    #[arg(long)]
    bank_code: Option<String>,
    /// IMPS, NEFT or RTGS.
    #[arg(long)]
    mode: Option<String>,
    #[arg(long)]
    pix_key: Option<String>,
    #[arg(long)]
    wallet_id: Option<String>,
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::CreatePayment {
            conn,
            merchant_trade_no,
            amount,
            currency,
            description,
            user_id,
            pay_method,
            merchant_attach,
            notify_url,
            return_url,
        } => {
            let req = PaymentCreateRequest {
                merchant_trade_no: merchant_trade_no.unwrap_or_else(|| generated("ORD")),
                amount,
                currency,
                description,
                payer: Payer {
                    user_id,
                    name: None,
                    email: None,
                    phone: None,
                },
                pay_method: PayMethod {
                    kind: pay_method,
                    extra: Map::new(),
                },
                trade_env: None,
                merchant_attach,
                notify_url,
                return_url,
            };
            report(conn.open()?.payment_create(&req).await)
        }
        Command::QueryPayment { conn, lookup } => {
            let req = PaymentQueryRequest {
                payment_no: lookup.number,
                merchant_trade_no: lookup.merchant_trade_no,
            };
            report(conn.open()?.payment_query(&req).await)
        }
        Command::CreatePayout {
            conn,
            merchant_trade_no,
            amount,
            currency,
            description,
            method,
            merchant_attach,
            notify_url,
        } => {
            let req = PayoutCreateRequest {
                merchant_trade_no: merchant_trade_no.unwrap_or_else(|| generated("PO")),
                amount,
                currency,
                description,
                payout_method: method.build()?,
                merchant_attach,
                notify_url,
            };
            report(conn.open()?.payout_create(&req).await)
        }
        Command::QueryPayout { conn, lookup } => {
            let req = PayoutQueryRequest {
                payout_no: lookup.number,
                merchant_trade_no: lookup.merchant_trade_no,
            };
            report(conn.open()?.payout_query(&req).await)
        }
        Command::Refund {
            conn,
            merchant_trade_no,
            payment_no,
            payment_merchant_trade_no,
            amount,
            reason,
            notify_url,
        } => {
            if payment_no.is_none() && payment_merchant_trade_no.is_none() {
                bail!("need --payment-no or --payment-merchant-trade-no");
            }
            let req = RefundCreateRequest {
                merchant_trade_no: merchant_trade_no.unwrap_or_else(|| generated("RF")),
                payment_no,
                payment_merchant_trade_no,
                amount,
                reason,
                notify_url,
            };
            report(conn.open()?.refund_create(&req).await)
        }
        Command::QueryRefund { conn, lookup } => {
            let req = RefundQueryRequest {
                refund_no: lookup.number,
                merchant_trade_no: lookup.merchant_trade_no,
            };
            report(conn.open()?.refund_query(&req).await)
        }
        Command::Balance { conn, currency } => {
            let req = BalanceQueryRequest { currency };
            report(conn.open()?.balance_query(&req).await)
        }
        Command::VerifyCallback {
            keys,
            body,
            headers,
            url,
            at,
        } => verify_callback(&keys, &body, &headers, &url, at),
        Command::VerifyRedirect { keys, url } => verify_redirect(&keys, &url),
    }
}

/// A merchant number from the clock: `<prefix><unix ms>`.
fn generated(prefix: &str) -> String {
    format!("{prefix}{}", jiff::Timestamp::now().as_millisecond())
}

impl Conn {
    fn open(&self) -> anyhow::Result<Client> {
        Client::new(&self.base_url, self.keys.load()?).context("--base-url")
    }
}

impl MethodArgs {
    fn build(self) -> anyhow::Result<PayoutMethod> {
        let kind = match (&self.method, &self.vpa, &self.account_number, &self.pix_key) {
            (Some(m), ..) => m.to_ascii_uppercase(),
            (None, Some(_), ..) => "UPI".into(),
            (None, None, Some(_), _) => "BANK_ACCOUNT".into(),
            (None, None, None, Some(_)) => "PIX".into(),
            _ if self.wallet_id.is_some() => "WALLET".into(),
            _ => bail!("need --vpa, --account-number, --pix-key or --wallet-id"),
        };
        let need =
            |v: Option<String>, flag: &str| v.with_context(|| format!("{kind} needs --{flag}"));
        let payee_name = self.payee_name.clone();
        Ok(match kind.as_str() {
            "UPI" => PayoutMethod::Upi {
                vpa: need(self.vpa, "vpa")?,
                payee_name,
            },
            "BANK_ACCOUNT" => PayoutMethod::BankAccount {
                account_number: need(self.account_number, "account-number")?,
                bank_code: need(self.bank_code, "bank-code")?,
                payee_name,
                mode: self.mode,
                bank_name: None,
                payee_phone: None,
                payee_email: None,
            },
            "PIX" => PayoutMethod::Pix {
                pix_key: need(self.pix_key, "pix-key")?,
                payee_name,
            },
            "WALLET" => PayoutMethod::Wallet {
                wallet_id: need(self.wallet_id, "wallet-id")?,
                payee_name,
                wallet_provider: None,
            },
            other => bail!("unknown payout method {other} (UPI, BANK_ACCOUNT, PIX, WALLET)"),
        })
    }
}

/// Prints the answer and the verdict; fails on a transport error, an unverified answer or a
/// refusal.
fn report<T: Serialize>(
    result: Result<ApiResponse<T>, polypay_v2sha256::Error>,
) -> anyhow::Result<()> {
    let r = result.context("request failed")?;
    let out = json!({
        "httpStatus": r.http_status,
        "code": r.code,
        "errorMessage": r.error_message,
        "data": r.data,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    println!("signature: {}", verdict(r.signature_verified));
    if !r.signature_verified {
        bail!(
            "the response is not signed by the gateway (HTTP {})",
            r.http_status
        );
    }
    if !r.is_ok() {
        bail!(
            "refused: {} {}",
            r.code,
            r.error_message.unwrap_or_default()
        );
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "verified" } else { "NOT verified" }
}

fn verify_callback(
    keys: &KeyArgs,
    body: &str,
    headers: &Path,
    url: &str,
    at: Option<u64>,
) -> anyhow::Result<()> {
    let client = Client::new("http://127.0.0.1", keys.load()?)?;
    let body = super::read_input(body)?;
    let header_text =
        String::from_utf8(super::read_input(headers)?).context("headers are not UTF-8")?;
    let header_pairs: Vec<(&str, &str)> = header_text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect();
    let target = if url.starts_with('/') {
        url.to_owned()
    } else {
        notify_target(url).map(|(_, t)| t).context("--url")?
    };
    match client.verify_callback(&target, &header_pairs, &body) {
        Ok(v) => {
            let out =
                json!({"timestamp": v.timestamp_ms, "nonce": v.nonce, "callback": v.callback});
            println!("{}", serde_json::to_string_pretty(&out)?);
            println!("signature: verified");
            let now = at.unwrap_or_else(|| jiff::Timestamp::now().as_millisecond().max(0) as u64);
            v.check_fresh(now).map_err(|e| {
                let hint = match at {
                    None => " (--at <ms> judges a captured webhook at its own time)",
                    Some(_) => "",
                };
                anyhow::anyhow!("webhook rejected: {e}{hint}")
            })?;
            println!("acknowledge with: {}", polypay_v2sha256::notify::ACK_RULE);
            Ok(())
        }
        Err(e) => {
            println!("signature: NOT verified");
            super::explain_final_newline(&body, |b: &[u8]| {
                client.verify_callback(&target, &header_pairs, b).is_ok()
            });
            // The signed line holds the notify URL's path and query: without --url it is `/`.
            let hint = match (&e, url) {
                (polypay_v2sha256::Error::BadSignature, "/") => {
                    " (the signature covers the notify URL's path: give --url)"
                }
                _ => "",
            };
            Err(anyhow::anyhow!("webhook rejected: {e}{hint}"))
        }
    }
}

fn verify_redirect(keys: &KeyArgs, url: &str) -> anyhow::Result<()> {
    let client = Client::new("http://127.0.0.1", keys.load()?)?;
    match client.verify_redirect(url) {
        Ok(p) => {
            let out = json!({
                "merchantTradeNo": p.merchant_trade_no,
                "paymentNo": p.payment_no,
                "status": p.status,
                "amount": p.amount,
                "currency": p.currency,
                "merchantAttach": p.merchant_attach,
                "timestamp": p.timestamp_ms,
                "nonce": p.nonce,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            println!("signature: verified");
            Ok(())
        }
        Err(e) => {
            println!("signature: NOT verified");
            Err(anyhow::anyhow!("redirect rejected: {e}"))
        }
    }
}

impl KeyArgs {
    /// Merges the credentials file (if any) with the flags.
    fn load(&self) -> anyhow::Result<Credentials> {
        let file = match &self.credentials {
            Some(path) => super::credentials_block(path, "v2sha256")?,
            None => Value::Null,
        };
        let pick = |flag: &Option<String>, field: &str| {
            flag.clone()
                .or_else(|| file.get(field).and_then(Value::as_str).map(str::to_owned))
        };
        let (Some(app_id), Some(app_secret)) = (
            pick(&self.app_id, "appId"),
            pick(&self.app_secret, "appSecret"),
        ) else {
            bail!("need --app-id and --app-secret (or --credentials FILE)");
        };
        Ok(Credentials::new(app_id, app_secret))
    }
}
