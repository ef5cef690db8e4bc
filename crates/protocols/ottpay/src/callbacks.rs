//! The [`ProtocolNotifier`] of OTT Pay (spec §7): one encrypted callback when a payment becomes
//! `succeeded`, identical bytes on every attempt, any 2xx acknowledges; and the unsigned PREPAY
//! return redirect.

use crate::notify::{self, ATTEMPT_OFFSETS, ATTEMPT_TIMEOUT};
use crate::server::{MerchantSettings, PaymentAttrs, bizpay_order_id, checkout};
use crate::sign::SignKey;
use crate::wire::{Action, CallbackData, format_exchange_rate, format_time};
use polypay_core::{Merchant, Payment, Protocol, Timestamp};
use polypay_engine::Platform;
use polypay_notify::{
    CallbackRequest, CashierAction, CashierForm, CashierInput, CashierMarks, Encoded,
    ProtocolNotifier, Skip,
};
use polypay_store::OutboxEvent;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The only event that is notified (spec §7.1: nothing for failure, expiry or refunds).
const NOTIFIED_EVENT: &str = "payment.succeeded";

pub struct OttNotifier {
    _platform: Arc<Platform>,
}

impl OttNotifier {
    pub fn new(platform: Arc<Platform>) -> OttNotifier {
        OttNotifier {
            _platform: platform,
        }
    }
}

impl ProtocolNotifier for OttNotifier {
    fn protocol(&self) -> Protocol {
        Protocol::Ottpay
    }

    /// Every event but [`NOTIFIED_EVENT`].
    fn silent_events(&self) -> Vec<String> {
        let mut all = polypay_notify::silent_states(|_| true, |_| true, |_| true);
        all.retain(|e| e != NOTIFIED_EVENT);
        all
    }

    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        _now: Timestamp,
    ) -> Result<Encoded, String> {
        if event.protocol != Protocol::Ottpay || event.event != NOTIFIED_EVENT {
            return Ok(Encoded::Skip(Skip::NotNotified));
        }
        let payment = Payment::deserialize(&event.payload)
            .map_err(|e| format!("ottpay: payment payload: {e}"))?;
        let Some(url) = payment.notify_url.clone() else {
            return Ok(Encoded::Skip(Skip::NoUrl));
        };
        let data = callback_data(&payment, merchant)?;
        let sign_key = SignKey::new(merchant.credentials.ottpay.sign_key.expose());
        let request = notify::encode_callback(&url, &data, &sign_key)
            .map_err(|e| format!("ottpay: callback encoding: {e}"))?;
        Ok(Encoded::Send(CallbackRequest {
            url: request.url,
            method: request.method.to_owned(),
            headers: request
                .headers
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            body: request.body,
        }))
    }

    fn reencode(
        &self,
        first: &CallbackRequest,
        _merchant: &Merchant,
        _attempt: u32,
        _now: Timestamp,
    ) -> CallbackRequest {
        // Spec §7.1: identical bytes on every attempt.
        first.clone()
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
            .map(|offset| i64::try_from(offset.as_millis()).unwrap_or(i64::MAX))
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
        _merchant: &Merchant,
        _now: Timestamp,
    ) -> Option<String> {
        redirect_url(payment)
    }

    fn cashier_form(
        &self,
        payment: &Payment,
        _merchant: &Merchant,
        link: CashierInput<'_>,
    ) -> CashierForm {
        checkout::form(payment, link)
    }

    fn cashier_submit(
        &self,
        payment: &Payment,
        action: CashierAction,
        input: CashierInput<'_>,
        _now: Timestamp,
    ) -> Result<CashierMarks, String> {
        checkout::submit(payment, action, input)
    }
}

/// Where the browser goes when a payment ends on the cashier: PREPAY's synchronous redirect
/// (spec §7.2); for H5PAY the `redirect_url` its cashier link carried, as given (spec §5.2);
/// ACTIVEPAY has none.
pub fn redirect_url(payment: &Payment) -> Option<String> {
    let attrs = PaymentAttrs::of(payment)?;
    if !attrs.is_prepay() {
        return attrs
            .redirect_url
            .filter(|_| attrs.action == Action::H5Pay.as_str());
    }
    let prepay = attrs.prepay.as_ref()?;
    let base = payment.return_url.as_deref()?;
    let total = u64::try_from(payment.amount.minor).ok()?;
    let params = notify::redirect_params(
        total,
        &attrs.order_id,
        &prepay.prepay_order_id,
        payment.state,
    )?;
    Some(notify::redirect_location(base, &params))
}

/// The decrypted callback data of a succeeded payment (spec §7.1), in the specified order.
pub fn callback_data(payment: &Payment, merchant: &Merchant) -> Result<CallbackData, String> {
    let attrs = PaymentAttrs::of(payment).ok_or("ottpay: payment attrs missing")?;
    let settings = MerchantSettings::of(merchant);
    let currency = payment.amount.currency.code();
    let rate = settings
        .rates
        .get(currency)
        .or_else(|| crate::wire::RateTable::default().get(currency))
        .map(format_exchange_rate)
        .unwrap_or_default();
    let finished = payment.finished_at.unwrap_or(payment.updated_at);
    let finished = jiff::Timestamp::from_millisecond(finished.millis())
        .map_err(|_| "ottpay: finish time out of range")?;
    let prepay = attrs.prepay.as_ref().filter(|_| attrs.is_prepay());
    let remarks = prepay.and_then(|p| p.remarks.clone()).unwrap_or_default();
    Ok(CallbackData {
        amount: attrs.amount.to_string(),
        bizpay_order_id: bizpay_order_id(payment, &attrs),
        exchange_rate: rate,
        tip: attrs.tip.to_string(),
        merchant_id: merchant.credentials.ottpay.merchant_id.clone(),
        order_id: attrs.order_id.clone(),
        finish_time: format_time(finished, &settings.time_zone),
        remarks,
        sub_open_id: attrs.sub_open_id.clone(),
        prepay_order_id: prepay.map(|p| p.prepay_order_id.clone()),
        sale_num: prepay.map(|p| p.sale_num.clone()),
    })
}
