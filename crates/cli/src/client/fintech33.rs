//! `polypay client fintech33 …`: the 33 Fintech merchant SDK from the command line — token,
//! payers, orders, refunds (AES `bizContent`, RSA `sign`), and webhook verification.
//!
//! Every service call fetches a token first unless `--token` is given, prints the decrypted
//! response `{"status","errorCode","errorMessage","data"}` and `signature: verified` or
//! `signature: NOT verified`. The exit code is non-zero on a transport failure, an envelope
//! refusal (statusCode ≠ 0), a business refusal (`status` -1) or a signature that does not
//! verify.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use polypay_fintech33::client::{ClientError, Verified};
use polypay_fintech33::wire::{
    Amount, BizResponse, CreateOrder, OrderRef, Payer, ResponseEnvelope, UpdatePayer,
};
use polypay_fintech33::{BizCipher, Client, MerchantKeys, RsaPrivateKey, RsaPublicKey, SignHash};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum Command {
    /// POST /api/v2/auth/token: print a fresh token.
    Token(Conn),
    /// createPayer.
    CreatePayer {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        payer: Box<PayerArgs>,
    },
    /// getPayer by email.
    GetPayer {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        email: String,
    },
    /// updatePayer: full replacement of the payer's fields.
    UpdatePayer {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        payer_id: u64,
        #[command(flatten)]
        payer: Box<PayerArgs>,
    },
    /// createOrder: a USD payment link.
    CreatePayment {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        order_sn: String,
        /// USD in major units, at most 2 decimals (e.g. 99.99).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        payer_id: u64,
        #[arg(long, default_value = "PAY_FOR_GOODS")]
        purpose: String,
        #[arg(long, default_value = "Test order")]
        description: String,
        #[arg(long)]
        skip3ds: bool,
        #[arg(long, default_value = "shop.example.com")]
        domain: String,
        /// Product names joined by `||`.
        #[arg(long, default_value = "T-shirt||Mug")]
        product: String,
    },
    /// queryOrder by order_sn and/or linkID.
    Query {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        order: OrderArgs,
    },
    /// refundOrder (always the full amount).
    Refund {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        order: OrderArgs,
    },
    /// Decrypt and verify a PaymentOrderStatus webhook (body from a file or `-` for stdin).
    VerifyCallback {
        #[command(flatten)]
        keys: Box<KeyArgs>,
        /// The webhook body: a file, or `-` for stdin.
        #[arg(long, default_value = "-")]
        body: String,
        /// The webhook headers, one `Name: value` per line (33 Fintech signs none; accepted for symmetry).
        #[arg(long)]
        headers: Option<PathBuf>,
    },
}

/// Where the server is and who the merchant is.
#[derive(Args)]
pub struct Conn {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Use this token instead of calling the token endpoint first.
    #[arg(long)]
    token: Option<String>,
    // Boxed: the credential flags would make every client subcommand variant large.
    #[command(flatten)]
    keys: Box<KeyArgs>,
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
    /// AES key, standard base64 of 32 bytes.
    #[arg(long)]
    aes_key: Option<String>,
    /// ECB (default) or CBC.
    #[arg(long, default_value = "ECB")]
    aes_mode: String,
    /// CBC IV, standard base64 of 16 bytes.
    #[arg(long)]
    aes_iv: Option<String>,
    /// SHA256 (default) or SHA1.
    #[arg(long, default_value = "SHA256")]
    sign_hash: String,
    /// The merchant's RSA private key (PEM file).
    #[arg(long)]
    private_key: Option<PathBuf>,
    /// The platform's RSA public key (PEM file) that responses and webhooks are signed with.
    #[arg(long)]
    platform_key: Option<PathBuf>,
}

#[derive(Args)]
pub struct PayerArgs {
    #[arg(long)]
    email: String,
    #[arg(long, default_value = "Tai Man")]
    first_name: String,
    #[arg(long, default_value = "Chan")]
    last_name: String,
    #[arg(long, default_value_t = 852)]
    area_code: u32,
    #[arg(long, default_value = "91234567")]
    phone: String,
    #[arg(long, default_value = "1 Queens Road")]
    address: String,
    #[arg(long, default_value = "Hong Kong")]
    city: String,
    #[arg(long, default_value = "HK")]
    province: String,
    #[arg(long, default_value = "000000")]
    postcode: String,
    #[arg(long, default_value = "HK")]
    country: String,
}

#[derive(Args)]
pub struct OrderArgs {
    #[arg(long)]
    order_sn: Option<String>,
    #[arg(long)]
    link_id: Option<String>,
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Token(conn) => {
            // The token call is not RSA-signed: no merchant key is needed for it.
            let client = conn.client(false)?;
            let token = client.token().await.map_err(refusal)?;
            println!("{}", serde_json::to_string_pretty(&token)?);
            Ok(())
        }
        Command::CreatePayer { conn, payer } => {
            let (client, t) = conn.open().await?;
            report(client.create_payer(&t, &(*payer).into()).await)
        }
        Command::GetPayer { conn, email } => {
            let (client, t) = conn.open().await?;
            report(client.get_payer(&t, &email).await)
        }
        Command::UpdatePayer {
            conn,
            payer_id,
            payer,
        } => {
            let (client, t) = conn.open().await?;
            let update = UpdatePayer {
                payer_id,
                payer: (*payer).into(),
            };
            report(client.update_payer(&t, &update).await)
        }
        Command::CreatePayment {
            conn,
            order_sn,
            amount,
            payer_id,
            purpose,
            description,
            skip3ds,
            domain,
            product,
        } => {
            let amount = Amount::parse(&amount)
                .context("--amount: a positive decimal with at most 2 decimals")?;
            let order = CreateOrder {
                order_sn,
                currency: "USD".into(),
                amount,
                payer_id,
                purpose_of_transaction: purpose,
                description,
                skip3ds,
                domain,
                product,
            };
            let (client, t) = conn.open().await?;
            report(client.create_order(&t, &order).await)
        }
        Command::Query { conn, order } => {
            let (client, t) = conn.open().await?;
            report(client.query_order(&t, &order.into_ref()?).await)
        }
        Command::Refund { conn, order } => {
            let (client, t) = conn.open().await?;
            report(client.refund_order(&t, &order.into_ref()?).await)
        }
        Command::VerifyCallback {
            keys,
            body,
            headers,
        } => verify_callback(keys, &body, headers.as_deref()),
    }
}

impl Conn {
    /// The client; `signing`: the command signs with the merchant's private key.
    fn client(&self, signing: bool) -> anyhow::Result<Client> {
        Ok(Client::new(self.base_url.clone(), self.keys.load(signing)?))
    }

    /// The client and a token (given, or fetched now), for a command that signs.
    async fn open(&self) -> anyhow::Result<(Client, String)> {
        let client = self.client(true)?;
        let token = match &self.token {
            Some(t) => t.clone(),
            None => client.token().await.map_err(refusal)?.token,
        };
        Ok((client, token))
    }
}

impl From<PayerArgs> for Payer {
    fn from(a: PayerArgs) -> Payer {
        Payer {
            first_name: a.first_name,
            last_name: a.last_name,
            email: a.email,
            area_code: a.area_code,
            phone: a.phone,
            address: a.address,
            city: a.city,
            province: a.province,
            postcode: a.postcode,
            country: a.country,
        }
    }
}

impl OrderArgs {
    fn into_ref(self) -> anyhow::Result<OrderRef> {
        if self.order_sn.is_none() && self.link_id.is_none() {
            bail!("give --order-sn and/or --link-id");
        }
        Ok(OrderRef {
            order_sn: self.order_sn,
            link_id: self.link_id,
        })
    }
}

/// Prints the decrypted `R` and the signature verdict; fails unless the signature verified and
/// the business result is a success (`status` 0; -1 is a refusal, spec 4.2).
fn report<D: Serialize>(result: Result<Verified<D>, ClientError>) -> anyhow::Result<()> {
    let verified = result.map_err(refusal)?;
    // The wire type keeps the spec's key order (status, errorCode, errorMessage, data).
    let failure = verified
        .result
        .as_ref()
        .err()
        .map(|f| format!("refused: {} {}", f.error_code, f.error_message));
    let r = match verified.result {
        Ok(data) => BizResponse {
            status: 0,
            error_code: None,
            error_message: None,
            data: Some(data),
        },
        Err(f) => BizResponse {
            status: -1,
            error_code: Some(f.error_code),
            error_message: Some(f.error_message),
            data: None,
        },
    };
    println!("{}", serde_json::to_string_pretty(&r)?);
    print_verdict(verified.signature_valid)?;
    match failure {
        Some(failure) => bail!(failure),
        None => Ok(()),
    }
}

fn print_verdict(valid: bool) -> anyhow::Result<()> {
    if valid {
        println!("signature: verified");
        Ok(())
    } else {
        println!("signature: NOT verified");
        bail!("the signature did not verify against the platform public key")
    }
}

/// Envelope refusals print their statusCode and message; other errors as they are.
fn refusal(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Envelope {
            http_status,
            status_code,
            message,
        } => {
            let body = ResponseEnvelope {
                status_code,
                message,
                biz_content: None,
                sign: None,
            };
            println!("{}", serde_json::to_string(&body).unwrap_or_default());
            anyhow::anyhow!("refused by the server (HTTP {http_status}, statusCode {status_code})")
        }
        ClientError::Signature => {
            println!("signature: NOT verified");
            anyhow::anyhow!("signature verification failed")
        }
        other => other.into(),
    }
}

fn verify_callback(keys: Box<KeyArgs>, body: &str, headers: Option<&Path>) -> anyhow::Result<()> {
    let client = Client::new("http://unused", keys.load(false)?);
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
    let notice = match client.verify_callback(&header_pairs, &body) {
        Ok(notice) => notice,
        Err(e) => {
            let e = refusal(e);
            super::explain_final_newline(&body, |b: &[u8]| {
                client.verify_callback(&header_pairs, b).is_ok()
            });
            return Err(e);
        }
    };
    println!("{}", serde_json::to_string_pretty(&notice)?);
    print_verdict(true)?;
    println!("acknowledge with: {}", polypay_fintech33::notify::ACK_RULE);
    Ok(())
}

impl KeyArgs {
    /// Merges the credentials file (if any) with the flags into the SDK's key set. `signing`:
    /// the merchant's private key is required (else a throwaway one fills the set, for what
    /// only verifies or needs no RSA).
    fn load(&self, signing: bool) -> anyhow::Result<MerchantKeys> {
        let file = match &self.credentials {
            Some(path) => super::credentials_block(path, "fintech33")?,
            None => Value::Null,
        };
        let from_file = |name: &str| file.get(name).and_then(Value::as_str).map(str::to_owned);
        let pem = |flag: &Option<PathBuf>, field: &str| -> anyhow::Result<Option<String>> {
            match flag {
                Some(p) => Ok(Some(
                    std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?,
                )),
                None => Ok(from_file(field)),
            }
        };
        let app_id = self.app_id.clone().or_else(|| from_file("appId"));
        let app_secret = self.app_secret.clone().or_else(|| from_file("appSecret"));
        let aes_key = self.aes_key.clone().or_else(|| from_file("aesKey"));
        let (Some(app_id), Some(app_secret), Some(aes_key)) = (app_id, app_secret, aes_key) else {
            bail!("need --app-id, --app-secret and --aes-key (or --credentials FILE)");
        };
        let iv = match self.aes_mode.as_str() {
            "ECB" => None,
            "CBC" => Some(
                self.aes_iv
                    .as_deref()
                    .context("--aes-mode CBC needs --aes-iv")?,
            ),
            other => bail!("--aes-mode must be ECB or CBC, not {other}"),
        };
        let private_key = match pem(&self.private_key, "rsaPrivateKey")? {
            Some(text) => RsaPrivateKey::from_text(&text).context("merchant private key")?,
            None if signing => bail!(
                "this request is signed with the merchant's RSA private key: give \
                 --private-key FILE, or rsaPrivateKey in the credentials file"
            ),
            // Verifying a webhook or fetching a token needs no merchant key; the SDK's key
            // set still holds one.
            None => RsaPrivateKey::generate()?,
        };
        let platform = pem(&self.platform_key, "platformPublicKey")?.context(
            "need the platform public key: --platform-key FILE (SPKI PEM), \
             or platformPublicKey in the credentials file",
        )?;
        Ok(MerchantKeys {
            app_id,
            app_secret,
            cipher: BizCipher::from_base64(&aes_key, iv).context("AES key / IV")?,
            sign_hash: SignHash::parse(&self.sign_hash)
                .context("--sign-hash must be SHA256 or SHA1")?,
            private_key,
            platform_key: RsaPublicKey::from_text(&platform).context("platform public key")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polypay_fintech33::client::BusinessFailure;

    #[test]
    fn a_business_refusal_fails_the_command_and_a_success_does_not() {
        let refused: Verified<serde_json::Value> = Verified {
            result: Err(BusinessFailure {
                error_code: "ORDER_NOT_FOUND".into(),
                error_message: "order not found".into(),
            }),
            signature_valid: true,
        };
        let err = report(Ok(refused)).unwrap_err();
        assert_eq!(err.to_string(), "refused: ORDER_NOT_FOUND order not found");
        let paid = Verified {
            result: Ok(serde_json::json!({"orderSn": "S1"})),
            signature_valid: true,
        };
        report(Ok(paid)).unwrap();
        let forged = Verified {
            result: Ok(serde_json::json!({"orderSn": "S1"})),
            signature_valid: false,
        };
        assert!(report(Ok(forged)).is_err());
    }
}
