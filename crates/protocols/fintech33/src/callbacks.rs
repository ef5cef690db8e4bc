//! The 33 Fintech [`ProtocolNotifier`]: which outbox events become a `PaymentOrderStatus` webhook
//! (§7), sealed with the platform key parsed once, and the ack rule and schedule of phase 1.
//!
//! Event → status: `payment.pending` Processing, `.succeeded` Paid, `.failed` Failed, `.expired`
//! Expired, `.cancelled` Cancelled; `refund.pending` RefundRequest, `.succeeded` RefundCompleted,
//! `.failed` RefundFailed. `payment.created` (New) is not notified, and `payment.refunded` is the
//! same change as `refund.succeeded`, so it sends nothing.

use polypay_core::{Merchant, Payment, PaymentState, Protocol, Refund, RefundState, Timestamp};
use polypay_notify::{
    CallbackRequest, CashierAction, CashierForm, CashierInput, CashierMarks, Encoded,
    ProtocolNotifier, Skip,
};
use polypay_store::OutboxEvent;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::notify::{ATTEMPT_OFFSETS, ATTEMPT_TIMEOUT, encode_webhook, is_ack};
use crate::order_record::{OrderFacts, RefundAttrs};
use crate::settings::{MerchantSettings, credentials_of};
use crate::sign::PlatformKeys;
use crate::wire::OrderStatus;

/// Encodes 33 Fintech webhooks with the platform key pair.
pub struct Fintech33Notifier {
    /// `None` when the platform key did not parse (logged once at start-up).
    keys: Option<Arc<PlatformKeys>>,
}

impl Fintech33Notifier {
    pub fn new(keys: Option<Arc<PlatformKeys>>) -> Self {
        Fintech33Notifier { keys }
    }
}

/// The order an event describes, the status it reports and the failure count.
/// The status a payment's webhook reports on entering `state`; `None`: that state sends none.
fn payment_status(state: PaymentState) -> Option<OrderStatus> {
    match state {
        PaymentState::Pending => Some(OrderStatus::Processing),
        PaymentState::Succeeded => Some(OrderStatus::Paid),
        PaymentState::Failed => Some(OrderStatus::Failed),
        PaymentState::Expired => Some(OrderStatus::Expired),
        PaymentState::Cancelled => Some(OrderStatus::Cancelled),
        PaymentState::Created | PaymentState::PartiallyRefunded | PaymentState::Refunded => None,
    }
}

/// The status a refund's webhook reports on entering `state` (every refund state sends one).
fn refund_status(state: RefundState) -> OrderStatus {
    match state {
        RefundState::Pending => OrderStatus::RefundRequest,
        RefundState::Succeeded => OrderStatus::RefundCompleted,
        RefundState::Failed => OrderStatus::RefundFailed,
    }
}

pub fn describe(event: &OutboxEvent) -> Result<Option<(OrderFacts, OrderStatus, u32)>, Error> {
    if event.protocol != Protocol::Fintech33 {
        return Ok(None);
    }
    match event.object_kind.as_str() {
        "payment" => {
            let payment = Payment::deserialize(&event.payload)?;
            let Some(status) = payment_status(payment.state) else {
                return Ok(None);
            };
            // Sandbox: one payment attempt per link, so a failed link failed exactly once.
            let fail_times = u32::from(payment.state == PaymentState::Failed);
            Ok(Some((
                OrderFacts::of_payment(&payment)?,
                status,
                fail_times,
            )))
        }
        "refund" => {
            let refund = Refund::deserialize(&event.payload)?;
            let status = refund_status(refund.state);
            Ok(Some((RefundAttrs::of(&refund)?.order, status, 0)))
        }
        _ => Ok(None),
    }
}

impl ProtocolNotifier for Fintech33Notifier {
    fn protocol(&self) -> Protocol {
        Protocol::Fintech33
    }

    /// Payment states without a webhook status, and every payout (33 Fintech has no payout
    /// webhook): `describe`'s own rules. Every refund state is notified.
    fn silent_events(&self) -> Vec<String> {
        polypay_notify::silent_states(|s| payment_status(s).is_none(), |_| true, |_| false)
    }

    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        _now: Timestamp,
    ) -> Result<Encoded, String> {
        let Some((facts, status, fail_times)) = describe(event).map_err(|e| e.to_string())? else {
            return Ok(Encoded::Skip(Skip::NotNotified));
        };
        let settings = MerchantSettings::of(merchant).map_err(|e| e.to_string())?;
        let Some(url) = settings.webhook_url(merchant) else {
            return Ok(Encoded::Skip(Skip::NoUrl));
        };
        let keys = self.keys.as_ref().ok_or("platform RSA key is unusable")?;
        let credentials = credentials_of(merchant)
            .map_err(|e| e.to_string())?
            .ok_or("merchant has no registered RSA public key")?;
        let notice = facts
            .notice(status, fail_times)
            .map_err(|e| e.to_string())?;
        let request =
            encode_webhook(url, &notice, &credentials, keys).map_err(|e| e.to_string())?;
        Ok(Encoded::Send(CallbackRequest {
            url: request.url,
            method: request.method.to_owned(),
            headers: request
                .headers
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect(),
            body: request.body,
        }))
    }

    /// Identical bytes on every attempt (§7).
    fn reencode(
        &self,
        first: &CallbackRequest,
        _merchant: &Merchant,
        _attempt: u32,
        _now: Timestamp,
    ) -> CallbackRequest {
        first.clone()
    }

    fn is_ack(&self, status: u16, body: &[u8]) -> bool {
        is_ack(status, body)
    }

    fn ack_rule(&self) -> &'static str {
        crate::notify::ACK_RULE
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

    /// 33 Fintech documents no redirect: the sandbox cashier ends on its own result page (§7).
    fn redirect_url(
        &self,
        _payment: &Payment,
        _merchant: &Merchant,
        _now: Timestamp,
    ) -> Option<String> {
        None
    }

    fn cashier_form(
        &self,
        payment: &Payment,
        _merchant: &Merchant,
        _link: CashierInput<'_>,
    ) -> CashierForm {
        crate::checkout::form(payment)
    }

    fn cashier_submit(
        &self,
        payment: &Payment,
        action: CashierAction,
        input: CashierInput<'_>,
        now: Timestamp,
    ) -> Result<CashierMarks, String> {
        crate::checkout::submit(payment, action, input, now)
    }
}
