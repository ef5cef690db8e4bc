//! The contract each protocol implements so the dispatcher and the cashier can speak for it.

use crate::cashier::{CashierAction, CashierForm, CashierInput, CashierMarks};
use polypay_core::{
    Merchant, Payment, PaymentState, Payout, PayoutState, Protocol, Refund, RefundState, Timestamp,
};
use polypay_engine::events::Tracked;
use polypay_store::{OutboxEvent, SilentEvents};
use std::time::Duration;

/// An HTTP request to a merchant, exactly as it will be sent (and recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a protocol makes of an outbox event ([`ProtocolNotifier::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// The callback to send.
    Send(CallbackRequest),
    /// Nothing to send, and why (the delivery's note; a refused re-send says it).
    Skip(Skip),
}

impl Encoded {
    /// The callback to send, if any.
    pub fn request(self) -> Option<CallbackRequest> {
        match self {
            Encoded::Send(r) => Some(r),
            Encoded::Skip(_) => None,
        }
    }
}

/// Why no callback goes out for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The spec sends none for it: a state it does not notify, a repeat it forbids, an event
    /// of another protocol.
    NotNotified,
    /// The spec would send one, but there is nowhere to send it: the order named no callback
    /// URL, and where the protocol falls back to one (the merchant's, its protocol settings')
    /// there is none either.
    NoUrl,
}

impl Skip {
    /// The reason in words, for the operator.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::NotNotified => "the protocol sends no callback for this event",
            Skip::NoUrl => {
                "no callback URL: the order named none, nor does the merchant where the protocol falls back to one"
            }
        }
    }
}

/// One protocol's callback and redirect rules (its spec's notification section).
///
/// No default bodies: a protocol that forgets a rule fails to compile.
pub trait ProtocolNotifier: Send + Sync + 'static {
    fn protocol(&self) -> Protocol;

    /// Builds the callback for an outbox event of this protocol, or says why none goes out
    /// ([`Skip`]: the spec sends none for it, or there is no URL to send it to).
    /// `now` is when it is signed, by the merchant's clock (`Clock::wall`: sandbox time travel
    /// does not move it); the times the callback reports come from the event.
    fn encode(
        &self,
        event: &OutboxEvent,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Result<Encoded, String>;

    /// The events (`<kind>.<state>`, as the outbox names them) this protocol never sends a
    /// callback for, whatever the merchant, the object or what came before: [`encode`] answers
    /// [`Skip::NotNotified`] for each of them every time. Ingestion passes them without writing a delivery (so
    /// they cost no `skipped` row) and retention removes them like finished callback history. It
    /// must not name an event that can be sent: that event would never be delivered. Leaving
    /// one out only costs its `skipped` row.
    ///
    /// [`encode`]: ProtocolNotifier::encode
    fn silent_events(&self) -> Vec<String>;

    /// The request for a later attempt. Protocols whose retries re-send identical bytes return
    /// `first.clone()`; those that re-sign with a fresh timestamp/nonce rebuild it (`now`: the
    /// merchant's clock, as for [`ProtocolNotifier::encode`]).
    fn reencode(
        &self,
        first: &CallbackRequest,
        merchant: &Merchant,
        attempt: u32,
        now: Timestamp,
    ) -> CallbackRequest;

    /// Whether the merchant's response acknowledges the callback.
    fn is_ack(&self, status: u16, body: &[u8]) -> bool;

    /// [`ProtocolNotifier::is_ack`] in words, for an attempt the merchant answered with
    /// something else: the most common integration mistake gets its own message.
    fn ack_rule(&self) -> &'static str;

    /// When each attempt is due, in milliseconds after the first attempt (`[0, …]`); its
    /// length is the number of attempts before the delivery is dead.
    fn attempt_offsets_ms(&self) -> Vec<i64>;

    /// How long one attempt may take.
    fn attempt_timeout(&self) -> Duration;

    /// Whether the spec delivers the events of one object independently (BlockATM), so a
    /// callback still being retried holds back none of the later ones; otherwise they go out
    /// in event order ([`crate::schedule::order_key`]).
    fn independent_deliveries(&self) -> bool;

    /// Where the customer's browser goes when a payment ends on the cashier page (the
    /// returnUrl/redirect_url/redirectURL plus the spec's signed parameters), if anywhere;
    /// `now` stamps and signs it, by the merchant's clock as for [`ProtocolNotifier::encode`].
    fn redirect_url(
        &self,
        payment: &Payment,
        merchant: &Merchant,
        now: Timestamp,
    ) -> Option<String>;

    /// Whether the merchant's own page may frame this protocol's hosted cashier (BlockATM's
    /// widget); the others' pages refuse every frame (clickjacking).
    fn framed_by_merchant(&self) -> bool {
        false
    }

    /// What a cashier page in the merchant's frame tells the page around it (`postMessage`)
    /// once `payment` has ended, if anything: BlockATM's widget loader calls its `finish` or
    /// `cancel` with it.
    fn frame_message(&self, _payment: &Payment) -> Option<serde_json::Value> {
        None
    }

    /// What the hosted cashier shows for an open payment beyond amount, order and QR: extra
    /// details, the inputs before the outcome, a verification step (the spec's sandbox section).
    /// `link` holds the parameters the cashier URL was opened with, or those carried into a
    /// posted form.
    fn cashier_form(
        &self,
        payment: &Payment,
        merchant: &Merchant,
        link: CashierInput<'_>,
    ) -> CashierForm;

    /// Checks what the customer submitted with `action` (fields the POST left out already hold
    /// the page's pre-filled values) and returns what to record on the payment with its
    /// transition; `Err` is a message for the customer, and nothing changes. `now` is the
    /// engine's clock (a card's expiry month, a block time).
    fn cashier_submit(
        &self,
        payment: &Payment,
        action: CashierAction,
        input: CashierInput<'_>,
        now: Timestamp,
    ) -> Result<CashierMarks, String>;
}

/// The events none of `notifiers` sends (each one's [`ProtocolNotifier::silent_events`]).
pub fn silent_events<'a>(
    notifiers: impl IntoIterator<Item = &'a std::sync::Arc<dyn ProtocolNotifier>>,
) -> SilentEvents {
    let pairs: Vec<(Protocol, String)> = notifiers
        .into_iter()
        .flat_map(|n| n.silent_events().into_iter().map(|e| (n.protocol(), e)))
        .collect();
    SilentEvents::new(pairs.iter().map(|(p, e)| (*p, e.as_str())))
}

/// The names (`<kind>.<state>`, as the outbox names them) of the payment, payout and refund
/// states for which `payment`, `payout` and `refund` say nothing is sent: a protocol's
/// [`ProtocolNotifier::silent_events`] from its own rules.
pub fn silent_states(
    payment: impl Fn(PaymentState) -> bool,
    payout: impl Fn(PayoutState) -> bool,
    refund: impl Fn(RefundState) -> bool,
) -> Vec<String> {
    fn names<S: Copy + std::fmt::Display>(
        kind: &str,
        all: &[S],
        silent: impl Fn(S) -> bool,
    ) -> Vec<String> {
        all.iter()
            .filter(|s| silent(**s))
            .map(|s| format!("{kind}.{s}"))
            .collect()
    }
    let mut out = names(<Payment as Tracked>::KIND, PaymentState::ALL, payment);
    out.extend(names(<Payout as Tracked>::KIND, PayoutState::ALL, payout));
    out.extend(names(<Refund as Tracked>::KIND, RefundState::ALL, refund));
    out
}
