//! `polypay client blockatm …`: the BlockATM merchant SDK from the command line — collection
//! orders, queries, payouts, cashier/token/network lists, signed cashier links, and webhook
//! verification (V2 HMAC headers by default, V1 ECDSA with `--v1`).
//!
//! API calls print the response envelope and `signature: not applicable …` (BlockATM does not
//! sign responses); the exit code is non-zero on a transport failure or an error envelope.
//! `verify-callback` prints the webhook and `signature: verified` / `signature: NOT verified`,
//! failing in the second case.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use polypay_blockatm::client::{
    Client, ClientCredentials, PaymentListFilter, PreparedRequest, parse_response,
};
use polypay_blockatm::sign::{EcPublicKey, EcSigningKey};
use polypay_blockatm::wire::{CreateOrderRequest, CreatePayoutRequest};
use serde_json::Value;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// E1 POST /order/api/v2/pay/order: create a collection order.
    CreatePayment {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        order_no: String,
        /// Token amount, at most 6 decimals (e.g. 100.5).
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "USDT")]
        symbol: String,
        /// Chain id or network code (default TRON).
        #[arg(long)]
        chain_id: Option<String>,
        #[arg(long)]
        cust_no: Option<String>,
        #[arg(long)]
        redirect_url: Option<String>,
    },
    /// E2 GET /order/api/v2/payorder/detail: one payment.
    Query {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        order_no: String,
    },
    /// E3 GET /order/api/v2/payorder/list: payments filtered.
    List {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        order_no: String,
        #[arg(long)]
        chain_id: Option<String>,
        #[arg(long)]
        cust_no: Option<String>,
        #[arg(long)]
        symbol: Option<String>,
    },
    /// E4 POST /order/api/v2/payout/order: create a payout.
    Payout {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        biz_order_no: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        chain_id: String,
        #[arg(long, default_value = "USDT")]
        symbol: String,
        #[arg(long)]
        to_address: String,
        #[arg(long)]
        cust_no: String,
        #[arg(long)]
        remark: Option<String>,
    },
    /// E5 GET /order/api/v2/payout/detail: one payout.
    PayoutQuery {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        biz_order_no: String,
    },
    /// E6 GET /admin/api/v2/pub/cashier/info (default: the credentials' cashierId).
    CashierInfo {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        cashier_id: Option<i64>,
    },
    /// E7 GET /admin/api/v2/pub/symbolList.
    Symbols {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        chain_id: Option<String>,
        #[arg(long)]
        symbol: Option<String>,
    },
    /// E8 GET /admin/api/v2/pub/allNetworks.
    Networks {
        #[command(flatten)]
        conn: Conn,
    },
    /// W: print a signed hosted-cashier link `<base>/cashier?apiKey=…&signature=…`.
    WidgetUrl {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        cust_no: String,
        #[arg(long)]
        order_no: Option<String>,
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        currency: Option<String>,
        #[arg(long)]
        chain_id: Option<String>,
        #[arg(long)]
        redirect_url: Option<String>,
        #[arg(long)]
        lang: Option<String>,
        #[arg(long)]
        expire_period: Option<u32>,
    },
    /// Verify a webhook: headers (`Name: value` lines) and raw body, from files or `-` (stdin).
    VerifyCallback {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        headers: PathBuf,
        #[arg(long)]
        body: PathBuf,
    },
}

/// Where the server is and what the merchant holds.
#[derive(Args)]
pub struct Conn {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// JSON from `polypay merchant create --json` or `demo-merchant.json` (its
    /// `credentials.blockatm`), or that object alone.
    #[arg(long)]
    credentials: Option<PathBuf>,
    #[arg(long)]
    api_key: Option<String>,
    #[arg(long)]
    secret_key: Option<String>,
    /// Sign with the merchant's EC key (V1 ECDSA) instead of HMAC (V2).
    #[arg(long)]
    v1: bool,
    /// The merchant's EC private key (PEM or base64 PKCS#8), for `--v1`; a file path or the text.
    #[arg(long)]
    ec_private_key: Option<String>,
    /// polypay's platform EC public key (base64 SPKI or PEM; path or text), to verify V1 webhooks
    /// (default: the credentials file's `platformPublicKey`).
    #[arg(long)]
    platform_public_key: Option<String>,
    /// `BlockATM-Rec_Window` in ms.
    #[arg(long)]
    recv_window: Option<u64>,
}

/// The fields read from a credentials file.
#[derive(Default)]
struct FileCredentials {
    api_key: Option<String>,
    secret_key: Option<String>,
    cashier_id: Option<i64>,
    ec_private_key: Option<String>,
    platform_public_key: Option<String>,
}

impl Conn {
    fn file(&self) -> anyhow::Result<FileCredentials> {
        let Some(path) = &self.credentials else {
            return Ok(FileCredentials::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: Value = serde_json::from_str(&text).context("credentials file is not JSON")?;
        let block = json
            .pointer("/credentials/blockatm")
            .or_else(|| json.get("blockatm"))
            .unwrap_or(&json);
        let text = |name: &str| block.get(name).and_then(Value::as_str).map(str::to_owned);
        Ok(FileCredentials {
            api_key: text("apiKey"),
            secret_key: text("secretKey"),
            cashier_id: match block.get("cashierId") {
                Some(Value::String(s)) => s.parse().ok(),
                Some(Value::Number(n)) => n.as_i64(),
                _ => None,
            },
            ec_private_key: text("ecPrivateKey"),
            platform_public_key: text("platformPublicKey"),
        })
    }

    fn client(&self) -> anyhow::Result<(Client, Option<i64>)> {
        let file = self.file()?;
        let api_key = self.api_key.clone().or(file.api_key);
        let secret_key = self.secret_key.clone().or(file.secret_key);
        let (Some(api_key), Some(secret_key)) = (api_key, secret_key) else {
            bail!("give --credentials FILE or --api-key and --secret-key");
        };
        let ec_private_key = match (self.v1, self.ec_private_key.clone().or(file.ec_private_key)) {
            (false, _) => None,
            (true, None) => bail!("--v1 needs --ec-private-key or a credentials file with one"),
            (true, Some(text)) => Some(
                EcSigningKey::parse(&text_or_file(&text)?)
                    .context("--ec-private-key is not a P-256 private key")?,
            ),
        };
        let platform_public_key =
            match (&self.platform_public_key, file.platform_public_key) {
                (Some(text), _) => Some(
                    EcPublicKey::parse(&text_or_file(text)?)
                        .context("--platform-public-key is not a P-256 public key")?,
                ),
                (None, Some(text)) => Some(EcPublicKey::parse(&text).context(
                    "the credentials file's platformPublicKey is not a P-256 public key",
                )?),
                (None, None) => None,
            };
        let credentials = ClientCredentials {
            api_key,
            secret_key,
            ec_private_key,
            platform_public_key,
        };
        let mut client = Client::new(&self.base_url, credentials, reqwest::Client::new());
        client.recv_window_ms = self.recv_window;
        Ok((client, file.cashier_id))
    }
}

/// A value given inline, or the contents of the file it names.
fn text_or_file(value: &str) -> anyhow::Result<String> {
    let path = std::path::Path::new(value);
    if !value.contains('\n') && path.is_file() {
        return std::fs::read_to_string(path).with_context(|| format!("reading {value}"));
    }
    Ok(value.to_owned())
}

fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0)
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    let t = now_ms();
    match cmd {
        Command::CreatePayment {
            conn,
            order_no,
            amount,
            symbol,
            chain_id,
            cust_no,
            redirect_url,
        } => {
            let (client, _) = conn.client()?;
            let request = CreateOrderRequest {
                order_no,
                amount,
                symbol,
                chain_id,
                cashier_id: None,
                cust_no,
                redirect_url,
            };
            send(&client, client.build_create_order(&request, t)?).await
        }
        Command::Query { conn, order_no } => {
            let (client, _) = conn.client()?;
            send(&client, client.build_payment_detail(&order_no, t)?).await
        }
        Command::List {
            conn,
            order_no,
            chain_id,
            cust_no,
            symbol,
        } => {
            let (client, _) = conn.client()?;
            let filter = PaymentListFilter {
                order_no,
                chain_id,
                cust_no,
                symbol,
            };
            send(&client, client.build_payment_list(&filter, t)?).await
        }
        Command::Payout {
            conn,
            biz_order_no,
            amount,
            chain_id,
            symbol,
            to_address,
            cust_no,
            remark,
        } => {
            let (client, _) = conn.client()?;
            let request = CreatePayoutRequest {
                biz_order_no,
                amount,
                chain_id,
                symbol,
                to_address,
                cust_no,
                remark,
                merchant_id: None,
            };
            send(&client, client.build_create_payout(&request, t)?).await
        }
        Command::PayoutQuery { conn, biz_order_no } => {
            let (client, _) = conn.client()?;
            send(&client, client.build_payout_detail(&biz_order_no, t)?).await
        }
        Command::CashierInfo { conn, cashier_id } => {
            let (client, file_cashier) = conn.client()?;
            let Some(id) = cashier_id.or(file_cashier) else {
                bail!("give --cashier-id or a credentials file with cashierId");
            };
            send(&client, client.build_cashier_info(id, t)?).await
        }
        Command::Symbols {
            conn,
            chain_id,
            symbol,
        } => {
            let (client, _) = conn.client()?;
            let prepared = client.build_symbol_list(chain_id.as_deref(), symbol.as_deref())?;
            send(&client, prepared).await
        }
        Command::Networks { conn } => {
            let (client, _) = conn.client()?;
            send(&client, client.build_all_networks()?).await
        }
        Command::WidgetUrl {
            conn,
            cust_no,
            order_no,
            amount,
            currency,
            chain_id,
            redirect_url,
            lang,
            expire_period,
        } => {
            let (client, _) = conn.client()?;
            let period = expire_period.map(|p| p.to_string());
            let params = [
                ("custNo", Some(cust_no.as_str())),
                ("orderNo", order_no.as_deref()),
                ("amount", amount.as_deref()),
                ("currency", currency.as_deref()),
                ("chainId", chain_id.as_deref()),
                ("redirectURL", redirect_url.as_deref()),
                ("lang", lang.as_deref()),
                ("expirePeriod", period.as_deref()),
            ];
            let base = format!("{}/cashier", conn.base_url.trim_end_matches('/'));
            println!("{}", client.widget_url(&base, &params)?);
            Ok(())
        }
        Command::VerifyCallback {
            conn,
            headers,
            body,
        } => {
            let (client, _) = conn.client()?;
            verify_callback(&client, &headers, &body)
        }
    }
}

/// Sends a prepared request, prints the envelope, and fails on transport errors or refusals.
async fn send(client: &Client, prepared: PreparedRequest) -> anyhow::Result<()> {
    let out = client.outbound(prepared);
    let http = reqwest::Client::new();
    let mut builder = match out.method {
        "POST" => http.post(&out.url).body(out.body),
        _ => http.get(&out.url),
    };
    for (name, value) in &out.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.context("sending the request")?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.context("reading the response")?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => println!("{}", serde_json::to_string_pretty(&json)?),
        Err(_) => println!("{}", String::from_utf8_lossy(&bytes)),
    }
    println!("signature: not applicable (BlockATM does not sign responses)");
    parse_response::<Value>(status, &bytes).context("request refused")?;
    Ok(())
}

/// `Name: value` lines; blank lines and an HTTP request line are skipped.
fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| !name.contains(' '))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn verify_callback(client: &Client, headers: &PathBuf, body: &PathBuf) -> anyhow::Result<()> {
    if headers.as_os_str() == "-" && body.as_os_str() == "-" {
        bail!("only one of --headers and --body can be read from stdin");
    }
    let headers = parse_headers(&String::from_utf8_lossy(&super::read_input(headers)?));
    let body = super::read_input(body)?;
    match client.verify_callback(&headers, &body) {
        Ok(callback) => {
            println!("{}", serde_json::to_string_pretty(&callback.raw)?);
            println!("scheme: {:?}, time: {}", callback.scheme, callback.time_ms);
            println!("signature: verified");
            println!("acknowledge with: {}", polypay_blockatm::notify::ACK_RULE);
            Ok(())
        }
        Err(error) => {
            // The body is not echoed: unverified bytes (perhaps not text) are not for a terminal.
            println!("signature: NOT verified");
            super::explain_final_newline(&body, |b: &[u8]| {
                client.verify_callback(&headers, b).is_ok()
            });
            bail!("webhook not verified: {error}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use polypay_blockatm::amount::Amount;
    use polypay_blockatm::notify::{WebhookEvent, encode_webhook};
    use polypay_blockatm::sign::Signer;
    use polypay_blockatm::wire::{PayoutNotification, PayoutStatus};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        conn: Conn,
    }

    /// A V1 webhook verifies with the platform key of the credentials file the merchant got
    /// (`credentials.blockatm.platformPublicKey`), no `--platform-public-key` needed.
    #[test]
    fn v1_webhooks_verify_with_the_credentials_files_platform_key() {
        let platform = EcSigningKey::generate().unwrap();
        let public = platform.public_key().unwrap().to_base64();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("merchant.json");
        let creds = serde_json::json!({"credentials": {"blockatm": {
            "apiKey": "pk_payment_1", "secretKey": "sck_1", "platformPublicKey": public}}});
        std::fs::write(&file, creds.to_string()).unwrap();
        let payout = PayoutNotification {
            amount: Amount::parse("44").unwrap(),
            biz_order_no: "B1".into(),
            block_time: None,
            chain_id: "11155111".into(),
            contract_id: 77,
            create_time: 1_743_060_200_000,
            cust_no: "c1".into(),
            fee: Amount::parse("0.5").unwrap(),
            gas_amount: Amount::default(),
            network: "Sepolia".into(),
            status: PayoutStatus::Refuse,
            symbol: "USDT".into(),
            to_address: "0xc87dd49427a188bf2b601c1d5cd2aaf36bd553d2".into(),
            tx_id: None,
            kind: 1,
        };
        let event = WebhookEvent::Payout(payout);
        let signer = Signer::Ecdsa(&platform);
        let hook = encode_webhook("https://m.example/h", &event, &signer, 1_743_060_268_000);
        let hook = hook.unwrap();
        let path = file.to_str().unwrap();
        let cli = Cli::try_parse_from(["t", "--credentials", path]).unwrap();
        let (client, _) = cli.conn.client().unwrap();
        client.verify_callback(&hook.headers, &hook.body).unwrap();

        // Without a platform key the answer says what is missing.
        let bare = serde_json::json!({"apiKey": "pk_payment_1", "secretKey": "sck_1"});
        std::fs::write(&file, bare.to_string()).unwrap();
        let cli = Cli::try_parse_from(["t", "--credentials", path]).unwrap();
        let (client, _) = cli.conn.client().unwrap();
        let err = client
            .verify_callback(&hook.headers, &hook.body)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no platform public key to verify a V1 (ECDSA) signature with"
        );
    }

    #[test]
    fn header_lines() {
        let parsed = parse_headers(
            "POST /hooks HTTP/1.1\nBlockATM-Request-Time: 1743060268000\n\nBlockATM-Signature-V2:ab\n",
        );
        assert_eq!(
            parsed,
            vec![
                (
                    "BlockATM-Request-Time".to_owned(),
                    "1743060268000".to_owned()
                ),
                ("BlockATM-Signature-V2".to_owned(), "ab".to_owned()),
            ]
        );
    }
}
