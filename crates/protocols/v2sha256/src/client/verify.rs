//! Merchant-side verification of what the gateway sends on its own initiative: webhooks (§3.4)
//! and the payer's sync redirect to `returnUrl` (§3.5, §7.2).

use super::Client;
use crate::error::Error;
use crate::sign::{
    AuthorizationHeader, parse_timestamp, redirect_sign, signs_match, single_authorization,
};
use crate::wire::{Callback, PaymentStatus, RedirectParams};
use percent_encoding::percent_decode_str;

/// A webhook whose signature verified. `timestamp_ms` and `nonce` are returned so the merchant
/// can apply its freshness and replay checks: [`VerifiedCallback::check_fresh`] applies the
/// §3.1 window and nonce format (every attempt is signed afresh, §7.1, so a retry passes);
/// refusing a nonce seen before is the receiver's, which alone keeps them.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCallback {
    pub callback: Callback,
    pub timestamp_ms: u64,
    pub nonce: String,
}

impl VerifiedCallback {
    /// §3.1's rules for a request, applied to the webhook at `now_ms`: the timestamp within
    /// ±300 s ([`crate::inbound::TIME_WINDOW_MS`]) and a nonce of 16–64 printable characters.
    pub fn check_fresh(&self, now_ms: u64) -> Result<(), Error> {
        if !crate::sign::is_valid_nonce(&self.nonce) {
            return Err(Error::BadNonce);
        }
        if now_ms.abs_diff(self.timestamp_ms) > crate::inbound::TIME_WINDOW_MS {
            let ms = self.timestamp_ms as i128 - now_ms as i128;
            let ms = i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX });
            return Err(Error::Stale { ms });
        }
        Ok(())
    }
}

/// The redirect parameters of §7.2, in URL order; `sign` comes last.
const REDIRECT_KEYS: [&str; 9] = [
    "merchantTradeNo",
    "paymentNo",
    "status",
    "amount",
    "currency",
    "merchantAttach",
    "timestamp",
    "nonce",
    "sign",
];

impl Client {
    /// Verifies a webhook received at `request_target` (path plus `?query` as received; from a
    /// notifyUrl, see [`crate::notify::notify_target`]) and parses its body.
    pub fn verify_callback<N: AsRef<str>, V: AsRef<str>>(
        &self,
        request_target: &str,
        headers: &[(N, V)],
        body: &[u8],
    ) -> Result<VerifiedCallback, Error> {
        let value = single_authorization(headers).ok_or(Error::MissingAuthorization)?;
        let header = AuthorizationHeader::parse(value).map_err(Error::MalformedAuthorization)?;
        let timestamp_ms =
            parse_timestamp(&header.timestamp).ok_or(Error::MalformedAuthorization("timestamp"))?;
        if header.app_id != self.credentials.app_id {
            return Err(Error::AppIdMismatch);
        }
        if !self
            .credentials
            .verify(&header, "POST", request_target, body)
        {
            return Err(Error::BadSignature);
        }
        let callback = serde_json::from_slice(body)?;
        Ok(VerifiedCallback {
            callback,
            timestamp_ms,
            nonce: header.nonce,
        })
    }

    /// Verifies the redirect URL (or just its query) the payer's browser arrived with.
    /// Parameters of the merchant's own `returnUrl` are ignored; for a key that appears twice
    /// the last occurrence counts, since polypay appends its parameters after the merchant's.
    pub fn verify_redirect(&self, url: &str) -> Result<RedirectParams, Error> {
        let query = url.split_once('#').map_or(url, |(q, _)| q);
        let query = query.split_once('?').map_or(query, |(_, q)| q);
        let mut found: [Option<String>; 9] = Default::default();
        for pair in query.split('&') {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(i) = REDIRECT_KEYS.iter().position(|k| *k == key) {
                let value = percent_decode_str(raw)
                    .decode_utf8()
                    .map_err(|_| Error::InvalidParameter(REDIRECT_KEYS[i]))?;
                found[i] = Some(value.into_owned());
            }
        }
        let [
            trade_no,
            payment_no,
            status,
            amount,
            currency,
            attach,
            timestamp,
            nonce,
            sign,
        ] = found;
        let take = |v: Option<String>, key: &'static str| {
            v.filter(|v| !v.is_empty())
                .ok_or(Error::MissingParameter(key))
        };
        let status_text = take(status, "status")?;
        let timestamp_text = take(timestamp, "timestamp")?;
        let params = RedirectParams {
            merchant_trade_no: take(trade_no, "merchantTradeNo")?,
            payment_no: take(payment_no, "paymentNo")?,
            status: PaymentStatus::parse(&status_text).ok_or(Error::InvalidParameter("status"))?,
            amount: take(amount, "amount")?,
            currency: take(currency, "currency")?,
            merchant_attach: attach.filter(|a| !a.is_empty()),
            timestamp_ms: parse_timestamp(&timestamp_text)
                .ok_or(Error::InvalidParameter("timestamp"))?,
            nonce: take(nonce, "nonce")?,
        };
        let sign = take(sign, "sign")?;
        // Sign over the values as received (timestamp text included), not as re-rendered.
        let mut pairs = params.pairs();
        for (key, value) in pairs.iter_mut() {
            match *key {
                "status" => *value = status_text.clone(),
                "timestamp" => *value = timestamp_text.clone(),
                _ => {}
            }
        }
        let expected = redirect_sign(&pairs, &self.credentials.app_secret);
        if signs_match(&expected, &sign) {
            Ok(params)
        } else {
            Err(Error::BadSignature)
        }
    }
}
