//! Pay-ins: create (idempotent per merchant order number), look up, and move through states.

use crate::error::EngineError;
use crate::sandbox::Scenario;
use crate::{Engine, events, ledger, time_ordered_hex};
use polypay_core::{
    MerchantId, Money, Payment, PaymentCommand, PaymentId, PaymentState, Protocol, Timestamp,
};
use polypay_store::{Db, Inserted, Locks, NonceArgs, PaymentRow};

/// What a protocol front door asks for when a merchant creates a payment.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub merchant_id: MerchantId,
    pub protocol: Protocol,
    pub merchant_order_no: String,
    /// The provider-style id shown to the merchant; the caller makes it unique.
    pub public_id: String,
    pub amount: Money,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    /// Seconds from creation until the payment expires.
    pub ttl_seconds: i64,
    /// `created`, or `pending` for protocols whose orders are payable at once.
    pub initial_state: PaymentState,
    pub attrs: serde_json::Value,
}

/// A replay guard claimed in the same write as the payment it protects (see
/// [`Engine::claim_nonce`]): a replayed request is refused with [`EngineError::NonceReused`]
/// before anything is written, and a refused create leaves the nonce unclaimed.
#[derive(Debug, Clone)]
pub struct NonceClaim {
    pub scope: String,
    pub nonce: String,
    pub ttl_ms: i64,
    /// When the request came, by the merchant's clock ([`polypay_core::Clock::wall`]): the
    /// claim lives `ttl_ms` from then, as the request's timestamp window does, whatever the
    /// sandbox's time travel did to the platform's clock.
    pub at: Timestamp,
}

impl NonceClaim {
    /// Claims the nonce inside a write job; [`EngineError::NonceReused`] if it is taken.
    fn claim(&self, db: &mut Db<'_>) -> Result<(), EngineError> {
        let at = self.at;
        match db.claim_nonce(&self.scope, &self.nonce, at, at.plus_millis(self.ttl_ms))? {
            true => Ok(()),
            false => Err(EngineError::NonceReused),
        }
    }

    /// The claim as the store takes it with an insert.
    fn args(&self) -> NonceArgs<'_> {
        NonceArgs {
            scope: &self.scope,
            nonce: &self.nonce,
            now: self.at,
            expires_at: self.at.plus_millis(self.ttl_ms),
        }
    }
}

impl Engine {
    /// Creates a payment. A second create with the same merchant order number returns
    /// [`EngineError::DuplicatePayment`] carrying the existing payment and writes nothing.
    pub async fn create_payment(&self, new: NewPayment) -> Result<Payment, EngineError> {
        let payment = self.new_payment(new)?;
        self.insert_new_payment(payment, None).await
    }

    async fn insert_new_payment(
        &self,
        payment: Payment,
        claim: Option<NonceClaim>,
    ) -> Result<Payment, EngineError> {
        let decline = self.declines(&payment);
        let succeed_at = self.auto_success_at(&payment);
        // Everything the insert needs is built here, off the writer's critical path.
        let row = PaymentRow::of(&payment);
        let created_event = events::prepare(&payment, payment.created_at)?;
        let id = payment.id.clone();
        let (merchant_id, order_no) = (
            payment.merchant_id.clone(),
            payment.merchant_order_no.clone(),
        );
        let created_at = payment.created_at;
        // The writer answers with the payment only when a decline changed it; otherwise the
        // caller's own copy is the row (no clone of the attrs on the writer thread).
        let declined = self
            .store
            .write(move |db| {
                insert_payment_row(
                    db,
                    &merchant_id,
                    &order_no,
                    &row,
                    &created_event,
                    claim.as_ref(),
                )?;
                if let Some(at) = succeed_at {
                    db.schedule_payment_success(&id, at)?;
                }
                decline
                    .then(|| transition_payment(db, &id, &decline_command(), created_at))
                    .transpose()
            })
            .await?;
        Ok(declined.unwrap_or(payment))
    }

    /// Creates a payment whose provider-style number comes from sequence `sequence` (first
    /// value `start`); `number` writes the drawn value into the payment (its `public_id`, its
    /// attrs).
    ///
    /// On SQLite (one writer) the value is drawn in the insert's own write job: one group
    /// commit, gapless, and a duplicate order number consumes no value. On PostgreSQL the
    /// writers run transactions side by side, and a sequence row updated in each would
    /// serialise them all on its lock; there a node reserves values in blocks
    /// ([`Engine::draw_number`]): unique across nodes, increasing per node, with gaps (an
    /// unused block's values when a node stops, and the value a refused duplicate drew).
    ///
    /// `claim`, if given, is claimed in the same commit (one commit instead of two for a
    /// protocol with a nonce per request).
    pub async fn create_numbered_payment<F>(
        &self,
        new: NewPayment,
        sequence: &str,
        start: i64,
        number: F,
        claim: Option<NonceClaim>,
    ) -> Result<Payment, EngineError>
    where
        F: Fn(i64, &mut Payment) -> Result<(), EngineError> + Send + 'static,
    {
        if matches!(self.store.backend(), polypay_store::Backend::Postgres(_)) {
            // No read first: a duplicate is refused by the insert, and the number it drew is
            // skipped (numbers on PostgreSQL have gaps anyway; a read per create to spare the
            // rare retry its number cost a round trip to the database on every create).
            let value = self.draw_number(sequence, start).await?;
            let mut payment = self.new_payment(new)?;
            number(value, &mut payment)?;
            return self.insert_new_payment(payment, claim).await;
        }
        let template = self.new_payment(new)?;
        let decline = self.declines(&template);
        let succeed_at = self.auto_success_at(&template);
        let sequence = sequence.to_string();
        self.store
            .write(move |db| {
                if let Some(claim) = &claim {
                    claim.claim(db)?;
                }
                // A duplicate is refused before the sequence moves: a clean failure, which
                // needs no savepoint (see the store's writer) unless a nonce was claimed.
                if let Some(existing) =
                    db.payment_by_order_no(&template.merchant_id, &template.merchant_order_no)?
                {
                    return Err(EngineError::DuplicatePayment(Box::new(existing)));
                }
                let mut payment = template.clone();
                number(db.next_sequence(&sequence, start)?, &mut payment)?;
                let row = PaymentRow::of(&payment);
                let created_event = events::prepare(&payment, payment.created_at)?;
                let created = insert_payment(db, &payment, &row, &created_event)?;
                if let Some(at) = succeed_at {
                    db.schedule_payment_success(&created.id, at)?;
                }
                finish_create(db, created, decline)
            })
            .await
    }

    fn new_payment(&self, new: NewPayment) -> Result<Payment, EngineError> {
        if new.amount.minor <= 0 {
            return Err(polypay_core::CoreError::NonPositiveAmount.into());
        }
        let now = self.clock.now();
        Ok(Payment {
            id: PaymentId::from_random(&time_ordered_hex(10)),
            merchant_id: new.merchant_id,
            protocol: new.protocol,
            merchant_order_no: new.merchant_order_no,
            public_id: new.public_id,
            amount: new.amount,
            state: new.initial_state,
            refunded_minor: 0,
            refund_pending_minor: 0,
            notify_url: new.notify_url,
            return_url: new.return_url,
            cashier_token: time_ordered_hex(26),
            created_at: now,
            updated_at: now,
            expires_at: now.plus_seconds(new.ttl_seconds),
            finished_at: None,
            channel_order_no: None,
            error_code: None,
            error_message: None,
            attrs: new.attrs,
        })
    }

    /// Whether a sandbox amount rule declines this payment at creation.
    fn declines(&self, payment: &Payment) -> bool {
        self.scenarios.and_then(|s| s.for_amount(payment.amount)) == Some(Scenario::Decline)
    }

    /// When a sandbox scenario (`.03`, `auto_succeed_after_ms`) has this new payment succeed by
    /// itself, if before it expires: scheduled in the create's own write job, so the sweeper
    /// finds it by the due time's index ([`Engine::succeed_due_payments`]) however many other
    /// payments are open. Decided once, at creation, like a decline.
    fn auto_success_at(&self, payment: &Payment) -> Option<Timestamp> {
        self.scenarios?
            .auto_success_due(payment)
            .filter(|due| *due < payment.expires_at)
    }

    pub async fn payment(&self, id: &PaymentId) -> Result<Payment, EngineError> {
        let id = id.clone();
        self.store
            .read(move |db| db.payment(&id)?.ok_or(EngineError::NotFound("payment")))
            .await
    }

    pub async fn payment_by_order_no(
        &self,
        m: &MerchantId,
        order_no: &str,
    ) -> Result<Payment, EngineError> {
        let (m, no) = (m.clone(), order_no.to_string());
        self.store
            .read(move |db| {
                db.payment_by_order_no(&m, &no)?
                    .ok_or(EngineError::NotFound("payment"))
            })
            .await
    }

    pub async fn payment_by_public_id(&self, public_id: &str) -> Result<Payment, EngineError> {
        let id = public_id.to_string();
        self.store
            .read(move |db| {
                db.payment_by_public_id(&id)?
                    .ok_or(EngineError::NotFound("payment"))
            })
            .await
    }

    pub async fn payment_by_cashier_token(&self, token: &str) -> Result<Payment, EngineError> {
        let token = token.to_string();
        self.store
            .read(move |db| {
                db.payment_by_cashier_token(&token)?
                    .ok_or(EngineError::NotFound("payment"))
            })
            .await
    }

    /// Applies `cmd` to the payment; a success credits the merchant's balance in the same commit.
    pub async fn transition_payment(
        &self,
        id: &PaymentId,
        cmd: PaymentCommand,
    ) -> Result<Payment, EngineError> {
        let id = id.clone();
        let clock = self.clock.clone();
        self.store
            .write_locking(Locks::Object(id.as_str().to_owned()), move |db| {
                transition_payment(db, &id, &cmd, clock.now())
            })
            .await
    }

    /// Applies `cmd` after merging `marks` into the payment's attrs (top-level members), in one
    /// write job: a protocol's mark on a transition (PassToPay's `closedByMerchant` on a close)
    /// is never seen without the transition, nor the transition without it. Empty `marks`: a
    /// plain transition.
    pub async fn transition_payment_marked(
        &self,
        id: &PaymentId,
        cmd: PaymentCommand,
        marks: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Payment, EngineError> {
        let id = id.clone();
        let clock = self.clock.clone();
        self.store
            .write_locking(Locks::Object(id.as_str().to_owned()), move |db| {
                merge_marks(db, &id, &marks)?;
                transition_payment(db, &id, &cmd, clock.now())
            })
            .await
    }

    /// Expires every open payment due at the engine's current time (at most `limit`); returns them.
    pub async fn expire_due_payments(
        &self,
        limit: i64,
    ) -> Result<crate::Swept<Payment>, EngineError> {
        let now = self.clock.now();
        let due = self
            .store
            .read(move |db| db.payments_due_for_expiry(now, limit))
            .await?;
        // All at once: they share commits instead of waiting for one each.
        let transitions = due
            .iter()
            .map(|id| self.transition_payment(id, PaymentCommand::Expire));
        let mut expired = Vec::with_capacity(due.len());
        for outcome in futures_util::future::join_all(transitions).await {
            match outcome {
                Ok(p) => expired.push(p),
                // Paid or closed between the scan and the transition: nothing to expire.
                Err(EngineError::Rule(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(crate::Swept {
            done: expired,
            due: due.len(),
        })
    }
}

/// A created payment, declined at once when a sandbox amount rule says so.
fn finish_create(db: &mut Db<'_>, created: Payment, decline: bool) -> Result<Payment, EngineError> {
    if !decline {
        return Ok(created);
    }
    transition_payment(db, &created.id, &decline_command(), created.created_at)
}

/// What a sandbox amount rule's decline does to a payment at creation.
fn decline_command() -> PaymentCommand {
    PaymentCommand::Fail {
        code: "SANDBOX_DECLINED".into(),
        message: "declined by a sandbox amount rule".into(),
    }
}

fn insert_payment(
    db: &mut Db<'_>,
    payment: &Payment,
    row: &PaymentRow,
    created: &events::Prepared,
) -> Result<Payment, EngineError> {
    insert_payment_row(
        db,
        &payment.merchant_id,
        &payment.merchant_order_no,
        row,
        created,
        None,
    )?;
    Ok(payment.clone())
}

/// Inserts a payment row and its `created` event, claiming `claim` first if given; a taken
/// nonce is [`EngineError::NonceReused`], a taken (merchant, order number) a
/// [`EngineError::DuplicatePayment`] carrying the existing payment, a taken public id (or
/// cashier token) [`EngineError::DuplicatePublicId`]. On any of them the payment and event
/// are not written, and a claim made is undone with the failing job.
fn insert_payment_row(
    db: &mut Db<'_>,
    merchant_id: &MerchantId,
    order_no: &str,
    row: &PaymentRow,
    created: &events::Prepared,
    claim: Option<&NonceClaim>,
) -> Result<(), EngineError> {
    let args = claim.map(NonceClaim::args);
    match db.insert_payment_with_event(row, &created.outbox(), args.as_ref())? {
        Inserted::Event(_) => Ok(()),
        Inserted::NonceTaken => Err(EngineError::NonceReused),
        Inserted::KeyTaken => Err(match db.payment_by_order_no(merchant_id, order_no)? {
            Some(existing) => EngineError::DuplicatePayment(Box::new(existing)),
            None => EngineError::DuplicatePublicId,
        }),
    }
}

/// Merges `marks` into the payment's attrs (top-level members) and stores it, inside a write
/// job that goes on to its transition; returns the payment as stored. No marks, no write.
pub(crate) fn merge_marks(
    db: &mut Db,
    id: &PaymentId,
    marks: &serde_json::Map<String, serde_json::Value>,
) -> Result<Payment, EngineError> {
    let mut current = db.payment(id)?.ok_or(EngineError::NotFound("payment"))?;
    if marks.is_empty() {
        return Ok(current);
    }
    add_marks(&mut current, marks);
    db.update_payment(&current)?;
    Ok(current)
}

/// Merges `marks` into the payment's attrs (in memory).
pub(crate) fn add_marks(p: &mut Payment, marks: &serde_json::Map<String, serde_json::Value>) {
    match p.attrs.as_object_mut() {
        Some(attrs) => attrs.extend(marks.clone()),
        None => p.attrs = serde_json::Value::Object(marks.clone()),
    }
}

/// The payment transition, usable inside any write job (the cashier and sandbox reuse it).
pub fn transition_payment(
    db: &mut Db<'_>,
    id: &PaymentId,
    cmd: &PaymentCommand,
    now: Timestamp,
) -> Result<Payment, EngineError> {
    let current = db.payment(id)?.ok_or(EngineError::NotFound("payment"))?;
    let next = current.apply(cmd, now)?;
    db.update_payment(&next)?;
    if next.state == PaymentState::Succeeded {
        let id = next.id.as_str();
        ledger::credit(
            db,
            &next.merchant_id,
            "customer",
            next.amount,
            "payment",
            id,
            now,
        )?;
    }
    let n = &next;
    events::emit(db, n, now)?;
    Ok(next)
}
