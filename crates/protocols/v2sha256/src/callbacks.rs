//! This protocol's [`ProtocolNotifier`] (§7): which outbox events become webhooks, their signed
//! encoding (same body bytes on every attempt, fresh timestamp/nonce/sign each time), the ack
//! rule, the retry schedule, and the signed sync redirect to `returnUrl`.

use crate::notify::{
    self, ATTEMPT_OFFSETS, ATTEMPT_TIMEOUT, encode_callback, payment_notifies, payout_notifies,
    redirect_applies, refund_notifies, sign_callback,
};
use crate::objects::{payment_data, payout_data, refund_data};
use crate::settings::{Settings, credentials};
use crate::sign::fresh_nonce;
use crate::wire::{Callback, PaymentStatus, PayoutStatus, RedirectParams, RefundStatus};
use polypay_core::{Merchant, Payment, Payout, Protocol, Refund, Timestamp};
use polypay_notify::{
    CallbackRequest, CashierAction, CashierForm, CashierInput, CashierMarks, Encoded,
    ProtocolNotifier, Skip,
};
use polypay_store::OutboxEvent;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The v2sha256 notifier. Stateless: everything comes from the event and the merchant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Notifier;

impl ProtocolNotifier for Notifier {
    fn protocol(&self) -> Protocol {
        Protocol::V2sha256
    }

    /// The states whose status sends no webhook (§7.1): `callback_of`'s own rules.
    fn silent_events(&self) -> Vec<String> {
        polypay_notify::silent_states(
            |s| !payment_notifies(PaymentStatus::from_core(s)),
            |s| !payout_notifies(PayoutStatus::from_core(s)),
            |s| !refund_notifies(RefundStatus::from_core(s)),
        )
    }

    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Result<Encoded, String> {
        if event.protocol != Protocol::V2sha256 {
            return Ok(Encoded::Skip(Skip::NotNotified));
        }
        let (callback, notify_url) = match callback_of(event, &Settings::of(merchant))? {
            Ok(found) => found,
            Err(why) => return Ok(Encoded::Skip(why)),
        };
        let request = encode_callback(
            &credentials(merchant),
            &notify_url,
            &callback,
            millis(now),
            &fresh_nonce(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Encoded::Send(convert(request)))
    }

    fn reencode(
        &self,
        first: &CallbackRequest,
        merchant: &Merchant,
        _attempt: u32,
        now: Timestamp,
    ) -> CallbackRequest {
        // Same body bytes, fresh timestamp, nonce and sign (§7.1).
        let signed = sign_callback(
            &credentials(merchant),
            &first.url,
            first.body.clone(),
            millis(now),
            &fresh_nonce(),
        );
        signed.map_or_else(|_| first.clone(), convert)
    }

    fn is_ack(&self, status: u16, body: &[u8]) -> bool {
        notify::is_ack(status, body)
    }

    fn ack_rule(&self) -> &'static str {
        notify::ACK_RULE
    }

    fn attempt_offsets_ms(&self) -> Vec<i64> {
        ATTEMPT_OFFSETS
            .iter()
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .collect()
    }

    fn attempt_timeout(&self) -> Duration {
        ATTEMPT_TIMEOUT
    }

    fn independent_deliveries(&self) -> bool {
        false
    }

    fn redirect_url(
        &self,
        payment: &Payment,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Option<String> {
        let return_url = payment.return_url.as_deref().filter(|u| !u.is_empty())?;
        let status = PaymentStatus::from_core(payment.state);
        if !redirect_applies(status) {
            return None;
        }
        let data = payment_data(payment, Settings::of(merchant).offset);
        let params = RedirectParams {
            merchant_trade_no: data.merchant_trade_no,
            payment_no: data.payment_no,
            status,
            amount: data.amount,
            currency: data.currency,
            merchant_attach: data.merchant_attach,
            timestamp_ms: millis(now),
            nonce: fresh_nonce(),
        };
        let secret = merchant.credentials.v2sha256.app_secret.expose();
        Some(notify::redirect_url(return_url, &params, secret))
    }

    fn cashier_form(
        &self,
        _payment: &Payment,
        _merchant: &Merchant,
        _link: CashierInput<'_>,
    ) -> CashierForm {
        crate::checkout::form()
    }

    fn cashier_submit(
        &self,
        _payment: &Payment,
        action: CashierAction,
        input: CashierInput<'_>,
        _now: Timestamp,
    ) -> Result<CashierMarks, String> {
        crate::checkout::submit(action, input)
    }
}

/// The webhook an event sends and where, or why nothing goes out (§7.1 sends nothing for its
/// state, or there is no URL).
pub fn callback_of(
    event: &OutboxEvent,
    settings: &Settings,
) -> Result<Result<(Callback, String), Skip>, String> {
    let offset = settings.offset;
    Ok(match event.object_kind.as_str() {
        "payment" => {
            let p: Payment = payload(event)?;
            let notify = payment_notifies(PaymentStatus::from_core(p.state));
            url(notify, &p.notify_url).map(|u| (Callback::Payment(payment_data(&p, offset)), u))
        }
        "payout" => {
            let p: Payout = payload(event)?;
            let notify = payout_notifies(PayoutStatus::from_core(p.state));
            url(notify, &p.notify_url).map(|u| (Callback::Payout(payout_data(&p, offset)), u))
        }
        "refund" => {
            let r: Refund = payload(event)?;
            let notify = refund_notifies(RefundStatus::from_core(r.state));
            url(notify, &r.notify_url).map(|u| (Callback::Refund(refund_data(&r, offset)), u))
        }
        _ => Err(Skip::NotNotified),
    })
}

fn url(notify: bool, notify_url: &Option<String>) -> Result<String, Skip> {
    if !notify {
        return Err(Skip::NotNotified);
    }
    notify_url
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or(Skip::NoUrl)
}

fn payload<T: DeserializeOwned>(event: &OutboxEvent) -> Result<T, String> {
    T::deserialize(&event.payload).map_err(|e| format!("outbox event {} payload: {e}", event.id))
}

fn millis(at: Timestamp) -> u64 {
    u64::try_from(at.millis()).unwrap_or(0)
}

fn convert(r: notify::CallbackRequest) -> CallbackRequest {
    CallbackRequest {
        url: r.url,
        method: r.method.to_owned(),
        headers: r.headers,
        body: r.body,
    }
}
