//! The BlockATM [`ProtocolNotifier`]: outbox events → signed webhooks (7.2), retries with a fresh
//! time and signature, the ack rule, and the cashier's return redirect (7.1).
//!
//! URL: payment events go to the payment's own notify URL, else `payment_notify_url`, else the
//! merchant's notify URL; payout events to `payout_notify_url`, else the payment URL (as
//! before). No URL → nothing is sent (`Skip::NoUrl`). Signature: `settings.blockatm.webhook_scheme == "V1"` →
//! ECDSA with the platform P-256 key, else HMAC with the merchant's Secret Key.

use crate::merchant::Settings;
use crate::network::AddressType;
use crate::network::NetworkTable;
use crate::notify::{
    ATTEMPT_TIMEOUT, OutboundRequest, RETRY_OFFSETS_FROM_FIRST, WebhookEvent, encode_webhook,
};
use crate::orders::{
    PaymentAttrs, payment_chain, payment_notification, payout_notification, webhook_status,
};
use crate::sign::{EcSigningKey, Scheme, Signer};
use crate::wire::{PayoutStatus, RedirectParams, RedirectStatus};
use polypay_core::{Merchant, Payment, Payout, Protocol, Timestamp};
use polypay_engine::Platform;
use polypay_engine::chain::sandbox_address;
use polypay_notify::{
    CallbackRequest, CashierAction, CashierForm, CashierInput, CashierMarks, Encoded,
    ProtocolNotifier, Skip,
};
use polypay_store::OutboxEvent;
use serde::Deserialize;
use std::time::Duration;

/// BlockATM's webhook encoder.
pub struct BlockAtmNotifier {
    /// The platform's V1 key, parsed once; `None` if the configured key does not parse.
    platform_key: Option<EcSigningKey>,
    networks: NetworkTable,
}

impl BlockAtmNotifier {
    pub fn new(platform: &Platform) -> BlockAtmNotifier {
        let platform_key = match EcSigningKey::parse(&platform.ec_key.private_pem) {
            Ok(key) => Some(key),
            Err(_) => {
                tracing::error!("blockatm: platform EC key does not parse; V1 webhooks disabled");
                None
            }
        };
        BlockAtmNotifier {
            platform_key,
            networks: NetworkTable::default(),
        }
    }

    fn signer<'a>(&'a self, merchant: &'a Merchant) -> Result<Signer<'a>, String> {
        match Settings::of(merchant).webhook_scheme {
            Scheme::V2Hmac => Ok(Signer::Hmac(
                merchant.credentials.blockatm.secret_key.expose(),
            )),
            Scheme::V1Ecdsa => self
                .platform_key
                .as_ref()
                .map(Signer::Ecdsa)
                .ok_or_else(|| "platform EC key unavailable for V1 webhooks".to_owned()),
        }
    }

    /// The webhook an event announces, with its URL, or why nothing is sent.
    fn webhook(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
    ) -> Result<Result<(String, WebhookEvent), Skip>, String> {
        let settings = Settings::of(merchant);
        let payment_url = settings
            .payment_notify_url
            .clone()
            .or_else(|| merchant.notify_url.clone());
        match event.object_kind.as_str() {
            "payment" => {
                let payment = Payment::deserialize(&event.payload)
                    .map_err(|e| format!("payment payload: {e}"))?;
                let url = payment.notify_url.clone().or(payment_url);
                let body = payment_notification(&payment, &self.networks);
                Ok(routed(url, body.map(WebhookEvent::Payment)))
            }
            "payout" => {
                let payout = Payout::deserialize(&event.payload)
                    .map_err(|e| format!("payout payload: {e}"))?;
                let url = payout
                    .notify_url
                    .clone()
                    .or(settings.payout_notify_url)
                    .or(payment_url);
                Ok(routed(
                    url,
                    payout_notification(&payout).map(WebhookEvent::Payout),
                ))
            }
            _ => Ok(Err(Skip::NotNotified)),
        }
    }
}

/// A webhook and its URL, or why none goes out: no body is a state the spec does not notify.
fn routed(url: Option<String>, body: Option<WebhookEvent>) -> Result<(String, WebhookEvent), Skip> {
    let body = body.ok_or(Skip::NotNotified)?;
    url.map(|url| (url, body)).ok_or(Skip::NoUrl)
}

fn to_callback(request: OutboundRequest) -> CallbackRequest {
    CallbackRequest {
        url: request.url,
        method: request.method.to_owned(),
        headers: request.headers,
        body: request.body,
    }
}

fn millis(now: Timestamp) -> u64 {
    u64::try_from(now.millis()).unwrap_or(0)
}

impl ProtocolNotifier for BlockAtmNotifier {
    fn protocol(&self) -> Protocol {
        Protocol::Blockatm
    }

    /// Payment states without a webhook status, payouts before their final state, and every
    /// refund (BlockATM has no refund webhook): `webhook`'s own rules.
    fn silent_events(&self) -> Vec<String> {
        polypay_notify::silent_states(
            |s| webhook_status(s).is_none(),
            |s| PayoutStatus::webhook(s).is_none(),
            |_| true,
        )
    }

    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Result<Encoded, String> {
        let (url, webhook) = match self.webhook(event, merchant)? {
            Ok(found) => found,
            Err(why) => return Ok(Encoded::Skip(why)),
        };
        let signer = self.signer(merchant)?;
        encode_webhook(&url, &webhook, &signer, millis(now))
            .map(|request| Encoded::Send(to_callback(request)))
            .map_err(|e| format!("encode webhook: {e}"))
    }

    /// Same body; a new `BlockATM-Request-Time` and signature (7.2), under the merchant's
    /// current scheme. Should re-signing fail, the previous attempt is re-sent as it was.
    fn reencode(
        &self,
        first: &CallbackRequest,
        merchant: &Merchant,
        _attempt: u32,
        now: Timestamp,
    ) -> CallbackRequest {
        let Ok(signer) = self.signer(merchant) else {
            return first.clone();
        };
        let time = millis(now).to_string();
        let Ok(body) = crate::sign::parse_body(&first.body) else {
            return first.clone();
        };
        let Ok(signature) = signer.sign(&crate::sign::canonical_post(&body, &time)) else {
            return first.clone();
        };
        let mut headers: Vec<(String, String)> = first
            .headers
            .iter()
            .filter(|(name, _)| {
                ![
                    crate::HEADER_REQUEST_TIME,
                    crate::HEADER_SIGNATURE_V1,
                    crate::HEADER_SIGNATURE_V2,
                ]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            })
            .cloned()
            .collect();
        headers.push((crate::HEADER_REQUEST_TIME.into(), time));
        headers.push((signer.scheme().header().into(), signature));
        CallbackRequest {
            headers,
            ..first.clone()
        }
    }

    fn is_ack(&self, status: u16, body: &[u8]) -> bool {
        crate::notify::is_ack(status, body)
    }

    fn ack_rule(&self) -> &'static str {
        crate::notify::ACK_RULE
    }

    fn attempt_offsets_ms(&self) -> Vec<i64> {
        std::iter::once(Duration::ZERO)
            .chain(RETRY_OFFSETS_FROM_FIRST)
            .map(|d| d.as_millis() as i64)
            .collect()
    }

    fn attempt_timeout(&self) -> Duration {
        ATTEMPT_TIMEOUT
    }

    /// Spec 7.2: "events of one order delivered independently".
    fn independent_deliveries(&self) -> bool {
        true
    }

    fn redirect_url(
        &self,
        payment: &Payment,
        _merchant: &Merchant,
        _now: Timestamp,
    ) -> Option<String> {
        let base = payment.return_url.as_deref()?;
        let status = RedirectStatus::from_state(payment.state)?;
        let tx_id = payment_chain(payment, &self.networks)
            .map(|c| c.tx_id)
            .unwrap_or_default();
        Some(crate::notify::redirect_url(
            base,
            &RedirectParams { tx_id, status },
        ))
    }

    /// `BlockATM.init` frames the cashier on the merchant's page (section 5 W).
    fn framed_by_merchant(&self) -> bool {
        true
    }

    /// What the widget loader (`BlockATM.umd.js`) expects from a finished page:
    /// `{type: "blockatm:cancel"}` for a cancelled order, else `{type: "blockatm:finish",
    /// status, txId}` with the redirect's status and transfer hash.
    fn frame_message(&self, payment: &Payment) -> Option<serde_json::Value> {
        if payment.state == polypay_core::PaymentState::Cancelled {
            return Some(serde_json::json!({"type": "blockatm:cancel"}));
        }
        let status = RedirectStatus::from_state(payment.state)?;
        let tx_id = payment_chain(payment, &self.networks)
            .map(|c| c.tx_id)
            .unwrap_or_default();
        Some(
            serde_json::json!({"type": "blockatm:finish", "status": status.as_str(), "txId": tx_id}),
        )
    }

    /// Spec 8: the page shows chain, token and a simulated deposit address beside the amount
    /// and QR; the customer enters nothing. Opening it changes nothing (WAITING_PAYMENT until
    /// the transfer); Pay is the transfer seen on the chain: PENDING with its txId, then
    /// SUCCESS after the merchant's confirmation delay.
    fn cashier_form(
        &self,
        payment: &Payment,
        merchant: &Merchant,
        _link: CashierInput<'_>,
    ) -> CashierForm {
        let attrs = PaymentAttrs::of(payment);
        let network = self.networks.by_chain_id(&attrs.chain_id);
        let waiting = payment_chain(payment, &self.networks)
            .filter(|_| payment.state.is_open())
            .map(|_| {
                let name = network.map_or(attrs.network.as_str(), |n| n.name.as_str());
                format!("Transfer received on {name}: waiting for its confirmations.")
            });
        CashierForm {
            details: deposit_details(payment, &self.networks),
            stays_created: true,
            confirm_after_ms: Some(Settings::of(merchant).confirmation_delay_ms),
            waiting,
            ..CashierForm::default()
        }
    }

    /// Pay: the payer's wallet and the block time (section 8). The transfer's hash is the
    /// payment's channel reference, which the engine records with them
    /// (`Engine::confirm_payment_later`); `orders` reads it as the txId.
    fn cashier_submit(
        &self,
        payment: &Payment,
        action: CashierAction,
        _input: CashierInput<'_>,
        now: Timestamp,
    ) -> Result<CashierMarks, String> {
        let mut marks = CashierMarks::new();
        if action != CashierAction::Pay {
            return Ok(marks);
        }
        let attrs = PaymentAttrs::of(payment);
        let kind = self
            .networks
            .by_chain_id(&attrs.chain_id)
            .map_or(AddressType::Evm, |n| n.address_type)
            .kind();
        let wallet = sandbox_address(&polypay_engine::random_hex(16), kind);
        marks.insert("fromAddress".into(), wallet.into());
        marks.insert("blockTime".into(), now.millis().into());
        Ok(marks)
    }
}

/// Network, token and the order's deposit address (made up, the same on every visit).
fn deposit_details(payment: &Payment, networks: &NetworkTable) -> Vec<(String, String)> {
    let attrs = PaymentAttrs::of(payment);
    let Some(network) = networks.by_chain_id(&attrs.chain_id) else {
        return Vec::new();
    };
    let kind = network.address_type.kind();
    let seed = format!("blockatm:deposit:{}", payment.id);
    vec![
        ("Network".into(), network.name.clone()),
        ("Token".into(), attrs.symbol),
        ("Deposit address".into(), sandbox_address(&seed, kind)),
    ]
}
