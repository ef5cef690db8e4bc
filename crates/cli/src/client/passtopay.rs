//! `polypay client passtopay …`: the PassToPay (Jeepay) merchant SDK from the command line —
//! unifiedOrder, cashierOrder, cryptoOrder, query, close, refund, refund query, transfer,
//! transfer query, and verification of callbacks and return redirects.
//!
//! Each call prints the response envelope as received and `signature: verified` when `data`
//! carried a matching `sign`, else `signature: NOT verified`. The exit code is non-zero on a
//! transport failure, a refusal (`code` ≠ 0, which the provider never signs) or a bad `sign`.
//! Close answers `"data":{}`, which the spec leaves unsigned: that is reported, not an error.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use polypay_passtopay::client::{self, PreparedRequest};
use polypay_passtopay::wire::{
    CashierOrderParams, CryptoOrderParams, PayOrderRef, RefundOrderParams, RefundRef,
    TransferOrderParams, TransferRef, UnifiedOrderParams,
};
use polypay_passtopay::{AppSecret, Client, ClientError, Credentials};
use serde_json::Value;
use std::path::{Path, PathBuf};

const DEFAULT_NOTIFY: &str = "https://merchant.example/passtopay/notify";

#[derive(Subcommand)]
pub enum Command {
    /// /api/pay/unifiedOrder: an Alipay payment (ALI_QR or ALI_WAP).
    #[command(alias = "unified-order")]
    CreatePayment {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        order: OrderArgs,
        /// ALI_QR or ALI_WAP.
        #[arg(long, default_value = "ALI_QR")]
        way_code: String,
        /// codeUrl/codeImgUrl (ALI_QR), payUrl/codeImgUrl/form (ALI_WAP); default per method.
        #[arg(long)]
        pay_data_type: Option<String>,
        #[arg(long, default_value = "cny")]
        currency: String,
        #[arg(long, default_value = "商品")]
        subject: String,
        #[arg(long, default_value = "0")]
        body: String,
    },
    /// /api/pay/cashierOrder: a hosted-cashier payment.
    CashierOrder {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        order: OrderArgs,
        /// cny (or another 2-decimal currency).
        #[arg(long, default_value = "cny")]
        currency: String,
        /// Pins ALI_QR or ALI_WAP on the cashier.
        #[arg(long)]
        way_code: Option<String>,
    },
    /// /api/pay/cryptoOrder: a USDT/USDC payment (amount = tokens × 100).
    CryptoOrder {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        order: OrderArgs,
        /// USDT or USDC.
        #[arg(long, default_value = "USDT")]
        currency: String,
        /// 1 (Ethereum), 0x2b6653dc (Tron), 56 (BNB Chain), 137 (Polygon).
        #[arg(long, default_value = "0x2b6653dc")]
        chain: String,
    },
    /// /api/pay/query.
    Query {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        payment: PaymentRef,
    },
    /// /api/pay/close: close an unpaid payment.
    Close {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        payment: PaymentRef,
    },
    /// /api/refund/refundOrder: refund (part of) a paid payment.
    Refund {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        payment: PaymentRef,
        /// Generated when absent.
        #[arg(long)]
        mch_refund_no: Option<String>,
        /// In the payment's units (fen; crypto tokens × 100).
        #[arg(long)]
        refund_amount: i64,
        /// The payment's currency as it was sent.
        #[arg(long, default_value = "cny")]
        currency: String,
        #[arg(long, default_value = "refund")]
        reason: String,
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// /api/refund/query.
    QueryRefund {
        #[command(flatten)]
        conn: Conn,
        #[arg(long, required_unless_present = "mch_refund_no")]
        refund_order_id: Option<String>,
        #[arg(long)]
        mch_refund_no: Option<String>,
    },
    /// /api/transferOrder: a bank-card payout (fen).
    Transfer {
        #[command(flatten)]
        conn: Conn,
        /// Generated when absent.
        #[arg(long)]
        mch_order_no: Option<String>,
        #[arg(long)]
        amount: i64,
        #[arg(long)]
        account_no: String,
        #[arg(long)]
        account_name: Option<String>,
        #[arg(long)]
        bank_name: Option<String>,
        /// 8-digit or letter bank code, sent in channelExtra.
        #[arg(long)]
        bank_code: Option<String>,
        #[arg(long, default_value = "127.0.0.1")]
        client_ip: String,
        #[arg(long, default_value = "cli")]
        cust_no: String,
        #[arg(long, default_value = "0")]
        transfer_desc: String,
        #[arg(long, default_value = DEFAULT_NOTIFY)]
        notify_url: String,
        #[arg(long)]
        extra_param: Option<String>,
    },
    /// /api/transfer/query.
    QueryTransfer {
        #[command(flatten)]
        conn: Conn,
        #[arg(long, required_unless_present = "mch_order_no")]
        transfer_id: Option<String>,
        #[arg(long)]
        mch_order_no: Option<String>,
    },
    /// Verify a notification: its body (file or `-` for stdin), headers file and query string.
    VerifyCallback {
        #[command(flatten)]
        keys: KeyArgs,
        #[arg(long, default_value = "-")]
        body: String,
        /// One `Name: value` per line (only Content-Type matters).
        #[arg(long)]
        headers: Option<PathBuf>,
        /// The notify URL as called (or just its query string), for the `query` format.
        #[arg(long, default_value = "")]
        url: String,
    },
    /// Verify the customer's return to returnUrl (the full URL or its query string).
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
    mch_no: Option<String>,
    #[arg(long)]
    app_id: Option<String>,
    #[arg(long, env = "POLYPAY_PASSTOPAY_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
}

/// Fields every create shares.
#[derive(Args)]
pub struct OrderArgs {
    /// Generated when absent.
    #[arg(long)]
    mch_order_no: Option<String>,
    /// Fen (cashier: minor units; crypto: tokens × 100).
    #[arg(long)]
    amount: i64,
    #[arg(long, default_value = "127.0.0.1")]
    client_ip: String,
    #[arg(long, default_value = "cli")]
    cust_no: String,
    #[arg(long, default_value = DEFAULT_NOTIFY)]
    notify_url: String,
    #[arg(long)]
    return_url: Option<String>,
    /// Seconds.
    #[arg(long)]
    expired_time: Option<i64>,
    #[arg(long)]
    ext_param: Option<String>,
}

/// `--pay-order-id` or `--mch-order-no` (payOrderId wins).
#[derive(Args)]
pub struct PaymentRef {
    #[arg(long, required_unless_present = "mch_order_no")]
    pay_order_id: Option<String>,
    #[arg(long)]
    mch_order_no: Option<String>,
}

impl PaymentRef {
    fn to_ref(&self) -> PayOrderRef {
        match (&self.pay_order_id, &self.mch_order_no) {
            (Some(id), _) => PayOrderRef::PayOrderId(id.clone()),
            (None, no) => PayOrderRef::MchOrderNo(no.clone().unwrap_or_default()),
        }
    }
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    let now = now_ms();
    match cmd {
        Command::CreatePayment {
            conn,
            order,
            way_code,
            pay_data_type,
            currency,
            subject,
            body,
        } => {
            let c = conn.client()?;
            let p = UnifiedOrderParams {
                mch_order_no: order_no(&order.mch_order_no, now),
                way_code,
                amount: order.amount,
                currency,
                subject,
                body,
                client_ip: order.client_ip,
                cust_no: order.cust_no,
                register_time: now,
                user_name: None,
                mbr_tel: None,
                id_no: None,
                notify_url: Some(order.notify_url),
                return_url: order.return_url,
                expired_time: order.expired_time,
                channel_extra: pay_data_type.map(|t| format!(r#"{{"payDataType":"{t}"}}"#)),
                ext_param: order.ext_param,
            };
            send(&conn, &c, c.build_unified_order(&p, now)).await
        }
        Command::CashierOrder {
            conn,
            order,
            currency,
            way_code,
        } => {
            let c = conn.client()?;
            let p = CashierOrderParams {
                mch_order_no: order_no(&order.mch_order_no, now),
                amount: order.amount,
                currency,
                cust_no: order.cust_no,
                register_time: now,
                way_code,
                user_name: None,
                mbr_tel: None,
                id_no: None,
                notify_url: Some(order.notify_url),
                return_url: order.return_url,
                expired_time: order.expired_time,
                ext_param: order.ext_param,
                subject: None,
                body: None,
            };
            send(&conn, &c, c.build_cashier_order(&p, now)).await
        }
        Command::CryptoOrder {
            conn,
            order,
            currency,
            chain,
        } => {
            let c = conn.client()?;
            let p = CryptoOrderParams {
                mch_order_no: order_no(&order.mch_order_no, now),
                amount: order.amount,
                currency,
                chain,
                subject: "crypto".into(),
                body: "0".into(),
                client_ip: order.client_ip,
                cust_no: order.cust_no,
                register_time: now,
                way_code: None,
                user_name: None,
                mbr_tel: None,
                id_no: None,
                notify_url: Some(order.notify_url),
                return_url: order.return_url,
                expired_time: order.expired_time,
                ext_param: order.ext_param,
            };
            send(&conn, &c, c.build_crypto_order(&p, now)).await
        }
        Command::Query { conn, payment } => {
            let c = conn.client()?;
            send(&conn, &c, c.build_query_payment(&payment.to_ref(), now)).await
        }
        Command::Close { conn, payment } => {
            let c = conn.client()?;
            send(&conn, &c, c.build_close_payment(&payment.to_ref(), now)).await
        }
        Command::Refund {
            conn,
            payment,
            mch_refund_no,
            refund_amount,
            currency,
            reason,
            notify_url,
        } => {
            let c = conn.client()?;
            let p = RefundOrderParams {
                mch_refund_no: mch_refund_no.unwrap_or_else(|| format!("RF{now}")),
                refund_amount,
                currency,
                refund_reason: reason,
                client_ip: None,
                notify_url,
                channel_extra: None,
                ext_param: None,
            };
            send(&conn, &c, c.build_refund(&payment.to_ref(), &p, now)).await
        }
        Command::QueryRefund {
            conn,
            refund_order_id,
            mch_refund_no,
        } => {
            let c = conn.client()?;
            let r = match refund_order_id {
                Some(id) => RefundRef::RefundOrderId(id),
                None => RefundRef::MchRefundNo(mch_refund_no.unwrap_or_default()),
            };
            send(&conn, &c, c.build_query_refund(&r, now)).await
        }
        Command::Transfer {
            conn,
            mch_order_no,
            amount,
            account_no,
            account_name,
            bank_name,
            bank_code,
            client_ip,
            cust_no,
            transfer_desc,
            notify_url,
            extra_param,
        } => {
            let c = conn.client()?;
            let channel_extra =
                bank_code.map(|code| serde_json::json!({ "bankCode": code }).to_string());
            let p = TransferOrderParams {
                mch_order_no: order_no(&mch_order_no, now),
                entry_type: "BANK_CARD".into(),
                amount,
                currency: "cny".into(),
                account_no,
                account_name,
                bank_name,
                client_ip,
                transfer_desc,
                cust_no,
                notify_url: Some(notify_url),
                channel_extra,
                extra_param,
            };
            send(&conn, &c, c.build_transfer(&p, now)).await
        }
        Command::QueryTransfer {
            conn,
            transfer_id,
            mch_order_no,
        } => {
            let c = conn.client()?;
            let r = match transfer_id {
                Some(id) => TransferRef::TransferId(id),
                None => TransferRef::MchOrderNo(mch_order_no.unwrap_or_default()),
            };
            send(&conn, &c, c.build_query_transfer(&r, now)).await
        }
        Command::VerifyCallback {
            keys,
            body,
            headers,
            url,
        } => verify_callback(&keys, &body, headers.as_deref(), &url),
        Command::VerifyRedirect { keys, url } => verify_redirect(&keys, &url),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn order_no(given: &Option<String>, now: i64) -> String {
    given.clone().unwrap_or_else(|| format!("cli{now}"))
}

impl Conn {
    /// The SDK builds and signs; [`send`] posts, so the raw envelope can be printed.
    fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::new(&self.base_url, self.keys.load()?))
    }
}

/// Sends a signed request, prints the envelope and the verdict.
async fn send(conn: &Conn, client: &Client, req: PreparedRequest) -> anyhow::Result<()> {
    let url = format!("{}{}", conn.base_url.trim_end_matches('/'), req.path);
    let mut builder = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?
        .post(&url)
        .body(req.body);
    for (name, value) in req.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .with_context(|| format!("POST {url}"))?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) => println!("{}", String::from_utf8_lossy(&body)),
    }
    let secret = &client.credentials().app_secret;
    match client::parse_response::<Value>(&body, secret) {
        Ok(v) if v.signature_verified => {
            println!("signature: verified");
            Ok(())
        }
        Ok(_) => {
            println!("signature: NOT verified (no sign: the spec leaves empty data unsigned)");
            Ok(())
        }
        Err(ClientError::Api { code, msg, .. }) => {
            println!("signature: NOT verified");
            bail!("refused (HTTP {status}): {code} {msg}")
        }
        Err(e) => {
            println!("signature: NOT verified");
            bail!("response rejected (HTTP {status}): {e}")
        }
    }
}

fn verify_callback(
    keys: &KeyArgs,
    body: &str,
    headers: Option<&Path>,
    url: &str,
) -> anyhow::Result<()> {
    let secret = keys.load()?.app_secret;
    let body = super::read_input(body)?;
    let header_text = match headers {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?,
        None => String::new(),
    };
    let header_pairs: Vec<(&str, &str)> = header_text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect();
    let query = url.split_once('?').map_or(url, |(_, q)| q);
    let query = if query.starts_with("http://") || query.starts_with("https://") {
        ""
    } else {
        query
    };
    match client::verify_callback_with(query, &header_pairs, &body, &secret) {
        Ok(data) => {
            println!("{}", serde_json::to_string_pretty(&callback_json(&data))?);
            println!("signature: verified");
            println!("reply with: success");
            Ok(())
        }
        Err(e) => {
            println!("signature: NOT verified");
            super::explain_final_newline(&body, |b: &[u8]| {
                client::verify_callback_with(query, &header_pairs, b, &secret).is_ok()
            });
            bail!("callback rejected: {e}")
        }
    }
}

fn callback_json(data: &polypay_passtopay::CallbackData) -> Value {
    use polypay_passtopay::CallbackData::*;
    let (kind, value) = match data {
        Payment(n) => ("payment", serde_json::to_value(n)),
        Transfer(n) => ("transfer", serde_json::to_value(n)),
        Refund(n) => ("refund", serde_json::to_value(n)),
    };
    serde_json::json!({ "kind": kind, "fields": value.unwrap_or_default() })
}

fn verify_redirect(keys: &KeyArgs, url: &str) -> anyhow::Result<()> {
    let secret = keys.load()?.app_secret;
    match client::verify_redirect_with(url, &secret) {
        Ok(n) => {
            println!("{}", serde_json::to_string_pretty(&n)?);
            println!("signature: verified");
            Ok(())
        }
        Err(e) => {
            println!("signature: NOT verified");
            bail!("redirect rejected: {e}")
        }
    }
}

impl KeyArgs {
    /// Merges the credentials file (if any) with the flags.
    fn load(&self) -> anyhow::Result<Credentials> {
        let file = match &self.credentials {
            Some(path) => super::credentials_block(path, "passtopay")?,
            None => Value::Null,
        };
        let pick = |flag: &Option<String>, field: &str| {
            flag.clone()
                .or_else(|| file.get(field).and_then(Value::as_str).map(str::to_owned))
        };
        let (Some(mch_no), Some(app_id), Some(secret)) = (
            pick(&self.mch_no, "mchNo"),
            pick(&self.app_id, "appId"),
            pick(&self.app_secret, "appSecret"),
        ) else {
            bail!("need --mch-no, --app-id and --app-secret (or --credentials FILE)");
        };
        Ok(Credentials::new(mch_no, app_id, AppSecret::new(secret)))
    }
}
