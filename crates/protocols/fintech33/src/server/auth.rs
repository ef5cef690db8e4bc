//! Authentication on the engine: the token call (§3.1), Bearer tokens kept as protocol records
//! (so they survive restarts and work on every node), and the merchant's parsed credentials.

use polypay_core::{Merchant, MerchantId, Protocol, Timestamp};
use polypay_engine::{Engine, EngineError};
use polypay_store::ProtocolRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

use super::Ctx;
use crate::credentials::{Credentials, TOKEN_TTL_SECS, generate_token};
use crate::inbound::{EnvelopeError, HttpResponse, parse_token_request};
use crate::render::render_token_response;
use crate::settings::{cipher_of, credentials_of};
use crate::wire::PayEnvelope;

/// Record kind of an issued token; records are global (merchant id `""`), keyed by the token's
/// SHA-256 so a copy of the database holds no usable token.
const TOKEN_KIND: &str = "token";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenValue {
    merchant_id: MerchantId,
    /// Milliseconds since the epoch.
    expires_at: i64,
    /// [`secret_tag`] of the `appSecret` the token was issued for: a token dies with the
    /// secret it was issued for (a rotated secret is one the merchant wants no longer to
    /// work). Absent on tokens issued before polypay recorded it; those live out their 7200 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

fn token_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A tag of an `appSecret`: enough to tell it from the next one, useless for finding it (the
/// first 16 bytes of a domain-separated SHA-256 of a 256-bit random secret).
fn secret_tag(merchant: &Merchant) -> String {
    let secret = merchant.credentials.fintech33.app_secret.expose();
    let digest = Sha256::new()
        .chain_update(b"polypay fintech33 token secret\0")
        .chain_update(secret.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// Deletes the tokens whose 7200 s are over (each one a record kept until then); returns how
/// many. Run by every node's sweeper.
pub async fn purge_expired_tokens(engine: &Engine) -> Result<u64, EngineError> {
    let max_age_ms = TOKEN_TTL_SECS as i64 * 1000;
    engine
        .purge_records(Protocol::Fintech33, "", TOKEN_KIND, max_age_ms, 50)
        .await
}

/// `POST /api/v2/auth/token`: checks `appId`/`appSecret` and stores a new token for 7200 s.
pub(super) async fn issue_token(ctx: &Ctx, body: &[u8]) -> HttpResponse {
    match try_issue_token(ctx, body).await {
        Ok(response) => response,
        Err(e) => e.render(),
    }
}

async fn try_issue_token(ctx: &Ctx, body: &[u8]) -> Result<HttpResponse, EnvelopeError> {
    let request = parse_token_request(body)?;
    let merchant = match ctx
        .engine
        .merchant_by_key(Protocol::Fintech33, &request.app_id)
        .await
    {
        Ok(m) if m.enabled => m,
        Ok(_) | Err(EngineError::NotFound(_)) => return Err(EnvelopeError::TokenCredentials),
        Err(e) => return Err(internal("merchant lookup", &e)),
    };
    let expected = merchant
        .credentials
        .fintech33
        .app_secret
        .expose()
        .as_bytes();
    if !bool::from(expected.ct_eq(request.app_secret.as_bytes())) {
        return Err(EnvelopeError::TokenCredentials);
    }
    let token = generate_token().map_err(|e| internal("token generation", &e))?;
    // Tokens live by the merchant's clock, which time travel does not move (`Clock::wall`).
    let now = ctx.engine.clock().wall();
    let value = TokenValue {
        merchant_id: merchant.id.clone(),
        expires_at: now.plus_seconds(TOKEN_TTL_SECS as i64).millis(),
        secret: Some(secret_tag(&merchant)),
    };
    let record = ProtocolRecord {
        protocol: Protocol::Fintech33,
        merchant_id: String::new(),
        kind: TOKEN_KIND.to_owned(),
        key: token_key(&token),
        value: serde_json::to_value(&value).map_err(|e| internal("token record", &e))?,
        updated_at: now,
    };
    match ctx.engine.insert_record(record).await {
        Ok(true) => Ok(render_token_response(&token, TOKEN_TTL_SECS)),
        // 256 random bits never collide; refuse rather than hand out a token that is not ours.
        Ok(false) => Err(EnvelopeError::Internal),
        Err(e) => Err(internal("token insert", &e)),
    }
}

/// The enabled merchant a live token belongs to, while its `appSecret` is the one the token
/// was issued for; anything else is "invalid or expired".
pub(super) async fn merchant_for_token(ctx: &Ctx, token: &str) -> Result<Merchant, EnvelopeError> {
    let key = token_key(token);
    let value = match ctx.tokens.get(&key) {
        Some(value) => value,
        None => {
            let record = ctx
                .engine
                .record(Protocol::Fintech33, "", TOKEN_KIND, &key)
                .await
                .map_err(|e| internal("token lookup", &e))?
                .ok_or(EnvelopeError::InvalidToken)?;
            let value: TokenValue =
                serde_json::from_value(record.value).map_err(|e| internal("token record", &e))?;
            ctx.tokens.put(key, &value);
            value
        }
    };
    if ctx.engine.clock().wall() >= Timestamp(value.expires_at) {
        return Err(EnvelopeError::InvalidToken);
    }
    let issued_for = |m: &Merchant| {
        value
            .secret
            .as_ref()
            .is_none_or(|tag| bool::from(tag.as_bytes().ct_eq(secret_tag(m).as_bytes())))
    };
    match ctx.engine.merchant(&value.merchant_id).await {
        Ok(m) if m.enabled && issued_for(&m) => Ok(m),
        Ok(_) | Err(EngineError::NotFound(_)) => Err(EnvelopeError::InvalidToken),
        Err(e) => Err(internal("merchant lookup", &e)),
    }
}

/// §3.4 steps 2–4 for a merchant with no registered RSA public key: the body and the
/// decryption are judged as usual, and no signature can verify.
pub(super) fn unkeyed_failure(body: &[u8], merchant: &Merchant) -> EnvelopeError {
    let Ok(envelope) = serde_json::from_slice::<PayEnvelope>(body) else {
        return EnvelopeError::Body;
    };
    match cipher_of(merchant) {
        Ok((cipher, _)) if cipher.decrypt_b64(&envelope.biz_content).is_none() => {
            EnvelopeError::Decrypt
        }
        Ok(_) => EnvelopeError::Signature,
        Err(e) => internal("merchant settings", &e),
    }
}

fn internal(what: &str, error: &dyn std::fmt::Display) -> EnvelopeError {
    tracing::error!(error = %error, "fintech33: {what} failed");
    EnvelopeError::Internal
}

/// Tokens this node has looked up, by [`token_key`]. A token record never changes (§3.1: a new
/// token does not revoke older ones; a rotated `appSecret` does, checked against the merchant
/// on every call), so a node may keep what it read; the expiry is still checked on every call,
/// against the engine's clock.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<String, TokenValue>>,
}

/// Bound on cached tokens; past it the cache starts over.
const MAX_TOKENS: usize = 100_000;

impl TokenCache {
    fn get(&self, key: &str) -> Option<TokenValue> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: String, value: &TokenValue) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_TOKENS {
                entries.clear();
            }
            entries.insert(key, value.clone());
        }
    }
}

/// Parsed credentials per merchant, reused while the merchant's key material and settings are
/// unchanged (parsing an RSA key costs more than the request it authenticates).
#[derive(Default)]
pub(crate) struct CredentialCache {
    entries: Mutex<HashMap<MerchantId, Cached>>,
}

/// A digest of the material the credentials were built from, and the credentials.
type Cached = ([u8; 32], Arc<Credentials>);

/// Bound on cached merchants; past it the cache starts over.
const MAX_CACHED: usize = 10_000;

impl CredentialCache {
    /// The merchant's credentials, `None` when it registered no RSA key. Unusable settings
    /// (a bad AES key or IV, an unknown option) are an internal error, logged.
    pub(super) fn get(
        &self,
        merchant: &Merchant,
    ) -> Result<Option<Arc<Credentials>>, EnvelopeError> {
        let fingerprint = fingerprint(merchant);
        let cached = self.entries.lock().ok().and_then(|entries| {
            let (f, c) = entries.get(&merchant.id)?;
            (*f == fingerprint).then(|| Arc::clone(c))
        });
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(credentials) =
            credentials_of(merchant).map_err(|e| internal("merchant credentials", &e))?
        else {
            return Ok(None);
        };
        let credentials = Arc::new(credentials);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
            entries.insert(merchant.id.clone(), (fingerprint, Arc::clone(&credentials)));
        }
        Ok(Some(credentials))
    }
}

/// A digest of everything the credentials are built from.
fn fingerprint(merchant: &Merchant) -> [u8; 32] {
    let c = &merchant.credentials.fintech33;
    let mut h = Sha256::new();
    for part in [
        c.app_id.as_str(),
        c.app_secret.expose(),
        c.aes_key.expose(),
        c.rsa_public_key.as_deref().unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update(
        merchant
            .settings
            .get("fintech33")
            .map(|v| v.to_string())
            .unwrap_or_default(),
    );
    h.finalize().into()
}
