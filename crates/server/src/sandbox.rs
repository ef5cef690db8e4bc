//! The sandbox control API (`/sandbox/v1`, admin token, sandbox mode only) and the sandbox's
//! own background work: payout processing and scenario auto-success.
//!
//! Every action enters the engine as a command, exactly like a cashier click would.

use crate::admin::error;
use crate::audit::Operator;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use polypay_core::{
    MerchantId, PaymentCommand, PaymentId, PayoutCommand, PayoutId, PayoutState, RefundId,
    Timestamp,
};
use polypay_engine::{EngineError, sandbox::channel_order_no};
use polypay_store::{Db, StoreError};
use serde::Deserialize;
use serde_json::json;

pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route(
            "/sandbox/v1/payments/{reference}/{action}",
            post(payment_action),
        )
        .route(
            "/sandbox/v1/payouts/{reference}/{action}",
            post(payout_action),
        )
        .route(
            "/sandbox/v1/refunds/{reference}/{action}",
            post(refund_action),
        )
        .route("/sandbox/v1/clock", get(clock))
        .route("/sandbox/v1/clock/advance", post(advance_clock))
        .route(
            "/sandbox/v1",
            axum::routing::any(crate::admin::unknown_route),
        )
        .route(
            "/sandbox/v1/{*rest}",
            axum::routing::any(crate::admin::unknown_route),
        );
    crate::admin::guarded(routes, state)
}

pub(crate) fn engine_error(e: EngineError) -> Response {
    match e {
        EngineError::NotFound(what) => error(StatusCode::NOT_FOUND, &format!("{what} not found")),
        EngineError::Rule(rule) => error(StatusCode::CONFLICT, &rule.to_string()),
        EngineError::Invalid(why) => error(StatusCode::BAD_REQUEST, &why),
        other => {
            tracing::error!(error = %other, "sandbox action failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn sandbox_only(s: &AppState) -> Option<Response> {
    (s.mode() != crate::config::Mode::Sandbox).then(|| {
        error(
            StatusCode::NOT_FOUND,
            "the sandbox API exists only in sandbox mode",
        )
    })
}

/// `?merchant=mch_…`: the reference is that merchant's own order (or refund) number.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Owner {
    merchant: Option<String>,
}

/// What a reference may be, said when none matches.
pub(crate) const PAYMENT_REFS: &str = "payment not found: a reference is polypay's id (pay_…), the \
     protocol's order id, the cashier token at the end of the payment link, or the merchant's \
     order number with ?merchant=mch_…";
pub(crate) const PAYOUT_REFS: &str = "payout not found: a reference is polypay's id (po_…), the \
     protocol's order id, or the merchant's order number with ?merchant=mch_…";
pub(crate) const REFUND_REFS: &str = "refund not found: a reference is polypay's id (rf_…), the \
     protocol's refund id, or the merchant's refund number with ?merchant=mch_…";

/// A lookup of one kind of reference.
type Lookup<T> = fn(&mut Db<'_>, &str) -> Result<Option<T>, StoreError>;
/// A lookup of a merchant's own number.
type ByNumber<T> = fn(&mut Db<'_>, &MerchantId, &str) -> Result<Option<T>, StoreError>;

/// The object `reference` names, in one read: with an owner by the merchant's own number,
/// else by each of `lookups` in turn; `Ok(None)` when none matches.
async fn resolve<T: Send + 'static>(
    s: &AppState,
    reference: &str,
    owner: &Owner,
    by_number: ByNumber<T>,
    lookups: &'static [Lookup<T>],
) -> Result<Option<T>, EngineError> {
    let (reference, merchant) = (reference.to_string(), owner.merchant.clone());
    let found = s
        .engine()
        .store()
        .read(move |db| {
            if let Some(m) = &merchant {
                let m = MerchantId(m.clone());
                let found = by_number(db, &m, &reference)?;
                // Only a miss asks whether the merchant exists, to say which is unknown.
                if found.is_none() && !db.merchant_exists(&m)? {
                    return Err(EngineError::NotFound("merchant"));
                }
                return Ok(found);
            }
            for lookup in lookups {
                if let Some(found) = lookup(db, &reference)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        })
        .await?;
    Ok(found)
}

/// A payment by polypay id (`pay_…`), the protocol's public id or the cashier token, or with
/// an owner by the merchant's order number.
pub(crate) async fn find_payment(
    s: &AppState,
    reference: &str,
    owner: &Owner,
) -> Result<Option<polypay_core::Payment>, EngineError> {
    resolve(
        s,
        reference,
        owner,
        |db, m, no| db.payment_by_order_no(m, no),
        &[
            |db, r| db.payment(&PaymentId(r.to_string())),
            |db, r| db.payment_by_public_id(r),
            |db, r| db.payment_by_cashier_token(r),
        ],
    )
    .await
}

/// `succeed`, `fail`, `cancel` or `expire` a payment.
async fn payment_action(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((reference, action)): Path<(String, String)>,
    Query(owner): Query<Owner>,
) -> Response {
    if let Some(r) = sandbox_only(&s) {
        return r;
    }
    let payment = match find_payment(&s, &reference, &owner).await {
        Ok(Some(p)) => p,
        Ok(None) => return error(StatusCode::NOT_FOUND, PAYMENT_REFS),
        Err(e) => return engine_error(e),
    };
    match move_payment(&s, &op, &payment, &action).await {
        None => error(
            StatusCode::NOT_FOUND,
            "action must be succeed, fail, cancel or expire",
        ),
        Some(Ok(p)) => Json(p).into_response(),
        Some(Err(e)) => engine_error(e),
    }
}

/// A sandbox move of a payment (`succeed`, `fail`, `cancel`, `expire`), as the control API
/// and the console make it: the engine command, audited as `payment.<action>`; `None` for an
/// action there is none of.
pub(crate) async fn move_payment(
    s: &AppState,
    op: &Operator,
    payment: &polypay_core::Payment,
    action: &str,
) -> Option<Result<polypay_core::Payment, EngineError>> {
    let now = s.engine().clock().now();
    let cmd = match action {
        "succeed" => PaymentCommand::Succeed {
            channel_order_no: channel_order_no(payment.amount.currency, now),
        },
        "fail" => PaymentCommand::Fail {
            code: "SANDBOX_FAIL".into(),
            message: "payment failed".into(),
        },
        "cancel" => PaymentCommand::Cancel,
        "expire" => PaymentCommand::Expire,
        _ => return None,
    };
    let audited = op.engine(
        s.engine(),
        &format!("payment.{action}"),
        ("payment", payment.id.as_str()),
        Some(&payment.merchant_id),
        json!({"through": "sandbox"}),
    );
    Some(audited.transition_payment(&payment.id, cmd).await)
}

/// A sandbox move of a payout (`succeed`, `fail`, `process`; `lock` is `process`, as
/// BlockATM reports it), as the control API and the console make it, audited as
/// `payout.<action>`; `None` for an action there is none of.
pub(crate) async fn move_payout(
    s: &AppState,
    op: &Operator,
    payout: &polypay_core::Payout,
    action: &str,
) -> Option<Result<polypay_core::Payout, EngineError>> {
    let now = s.engine().clock().now();
    let (verb, cmd) = match action {
        "succeed" => (
            "succeed",
            PayoutCommand::Succeed {
                channel_order_no: channel_order_no(payout.amount.currency, now),
            },
        ),
        "fail" => (
            "fail",
            PayoutCommand::Fail {
                code: "SANDBOX_FAIL".into(),
                message: "payout failed".into(),
            },
        ),
        // Pending -> processing, which BlockATM reports as "locked" (status 3).
        "lock" | "process" => ("process", PayoutCommand::Process),
        _ => return None,
    };
    let audited = op.engine(
        s.engine(),
        &format!("payout.{verb}"),
        ("payout", payout.id.as_str()),
        Some(&payout.merchant_id),
        json!({"through": "sandbox"}),
    );
    Some(audited.transition_payout(&payout.id, cmd).await)
}

/// A payout by polypay id (`po_…`) or the protocol's public id, or with an owner by the
/// merchant's order number.
pub(crate) async fn find_payout(
    s: &AppState,
    reference: &str,
    owner: &Owner,
) -> Result<Option<polypay_core::Payout>, EngineError> {
    resolve(
        s,
        reference,
        owner,
        |db, m, no| db.payout_by_order_no(m, no),
        &[
            |db, r| db.payout(&PayoutId(r.to_string())),
            |db, r| db.payout_by_public_id(r),
        ],
    )
    .await
}

/// A refund by polypay id (`rf_…`) or the protocol's public id, or with an owner by the
/// merchant's refund number.
pub(crate) async fn find_refund(
    s: &AppState,
    reference: &str,
    owner: &Owner,
) -> Result<Option<polypay_core::Refund>, EngineError> {
    resolve(
        s,
        reference,
        owner,
        |db, m, no| db.refund_by_no(m, no),
        &[
            |db, r| db.refund(&RefundId(r.to_string())),
            |db, r| db.refund_by_public_id(r),
        ],
    )
    .await
}

/// `succeed` or `fail` a payout.
async fn payout_action(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((reference, action)): Path<(String, String)>,
    Query(owner): Query<Owner>,
) -> Response {
    if let Some(r) = sandbox_only(&s) {
        return r;
    }
    let payout = match find_payout(&s, &reference, &owner).await {
        Ok(Some(p)) => p,
        Ok(None) => return error(StatusCode::NOT_FOUND, PAYOUT_REFS),
        Err(e) => return engine_error(e),
    };
    match move_payout(&s, &op, &payout, &action).await {
        None => error(
            StatusCode::NOT_FOUND,
            "action must be succeed, fail or lock (process)",
        ),
        Some(Ok(p)) => Json(p).into_response(),
        Some(Err(e)) => engine_error(e),
    }
}

/// `succeed` or `fail` a pending refund.
async fn refund_action(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((reference, action)): Path<(String, String)>,
    Query(owner): Query<Owner>,
) -> Response {
    if let Some(r) = sandbox_only(&s) {
        return r;
    }
    let refund = match find_refund(&s, &reference, &owner).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, REFUND_REFS),
        Err(e) => return engine_error(e),
    };
    let failure = match action.as_str() {
        "succeed" => None,
        "fail" => Some(("SANDBOX_FAIL".to_string(), "refund failed".to_string())),
        _ => return error(StatusCode::NOT_FOUND, "action must be succeed or fail"),
    };
    let audited = op.engine(
        s.engine(),
        &format!("refund.{action}"),
        ("refund", refund.id.as_str()),
        Some(&refund.merchant_id),
        json!({"through": "sandbox"}),
    );
    match audited.settle_refund(&refund, failure).await {
        Ok((r, p)) => Json(json!({"refund": r, "payment": p})).into_response(),
        Err(e) => engine_error(e),
    }
}

async fn clock(State(s): State<AppState>) -> Response {
    if let Some(r) = sandbox_only(&s) {
        return r;
    }
    let now = s.engine().clock().now();
    Json(json!({"now": now.to_rfc3339(), "now_ms": now.0, "offset_ms": s.inner.clock.offset_ms()}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: Option<i64>,
    ms: Option<i64>,
}

/// How far time travel may take the sandbox clock: 100 years of 365.25 days.
const MOST_AHEAD_MS: i64 = 3_155_760_000_000;

/// Why time travel past [`MOST_AHEAD_MS`] is refused.
pub(crate) const TOO_FAR: &str = "the sandbox clock goes at most 100 years ahead of real time";

/// Moves the installation's sandbox clock `delta_ms` forward (the shared offset, then this
/// node's clock); `false`, and nothing moved, past [`MOST_AHEAD_MS`]. The control API and the
/// console both travel through here, so every node and restart sees the jump.
pub(crate) async fn travel(
    s: &AppState,
    op: &Operator,
    delta_ms: i64,
) -> Result<bool, EngineError> {
    let audited = op.engine(
        s.engine(),
        "clock.advance",
        ("sandbox_clock", "installation"),
        None,
        json!({"ms": delta_ms}),
    );
    // A jump too far fails the job, so its audit entry goes with it.
    let moved = audited
        .store()
        .write(move |db| {
            db.advance_sandbox_clock(delta_ms, MOST_AHEAD_MS)?
                .ok_or(EngineError::Invalid(TOO_FAR.into()))
        })
        .await;
    match moved {
        Ok(offset) => {
            s.inner.clock.follow(offset);
            Ok(true)
        }
        Err(EngineError::Invalid(why)) if why == TOO_FAR => Ok(false),
        Err(e) => Err(e),
    }
}

/// Time travel: moves the sandbox clock forward; expiries, payout delays and callback
/// schedules all follow it. The due work is swept at once, batch after batch until none is
/// left, so the effects are visible on return.
async fn advance_clock(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    body: Result<Json<Advance>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Some(r) = sandbox_only(&s) {
        return r;
    }
    let a = match body {
        Ok(Json(a)) => a,
        Err(refused) => {
            return crate::admin::refused_body(
                refused,
                "body must be {\"seconds\": N} or {\"ms\": N}",
            );
        }
    };
    let delta = match (a.seconds, a.ms) {
        (Some(seconds), None) => seconds.saturating_mul(1000),
        (None, Some(ms)) => ms,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "body must be {\"seconds\": N} or {\"ms\": N}, one of them",
            );
        }
    };
    if delta <= 0 {
        return error(StatusCode::BAD_REQUEST, "the clock only moves forward");
    }
    match travel(&s, &op, delta).await {
        Ok(true) => {}
        Ok(false) => return error(StatusCode::BAD_REQUEST, TOO_FAR),
        Err(e) => return engine_error(e),
    }
    sweep_all_due(&s).await;
    clock(State(s)).await
}

/// After time travel: sweeps batch after batch until nothing due is left (not one batch), so
/// the answer shows the sandbox as it is at the new time; for at most [`TRAVEL_SWEEP`] (due
/// work arriving faster than it drains must not hold the answer, nor a stopping node, for
/// ever): what is left, the sweeper finishes.
pub(crate) async fn sweep_all_due(s: &AppState) {
    let started = std::time::Instant::now();
    loop {
        if started.elapsed() >= TRAVEL_SWEEP {
            tracing::info!("time travel answers before its sweep ended; the sweeper goes on");
            break;
        }
        match sweep(s).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                tracing::warn!(error = %e, "sweep after time travel failed");
                break;
            }
        }
    }
}

/// In sandbox mode, moves this node's clock as far as the installation's time travel: another
/// node's reaches this one within a tick.
pub async fn follow_clock(s: &AppState) -> Result<(), EngineError> {
    if s.engine().scenarios().is_some() {
        let offset = s
            .engine()
            .store()
            .read(|db| db.sandbox_clock_offset())
            .await?;
        s.inner.clock.follow(offset);
    }
    Ok(())
}

/// One pass of the background work: expiry always; in sandbox mode, payout processing and
/// scenario auto-success too.
///
/// Each kind of due work is taken [`SWEEP_BATCH`] at a time; true when a batch was full, so
/// more may be due at once (the caller sweeps again rather than wait for its next tick).
pub async fn sweep(s: &AppState) -> Result<bool, EngineError> {
    follow_clock(s).await?;
    let expired = s.engine().expire_due_payments(SWEEP_BATCH).await?;
    if !expired.is_empty() {
        tracing::info!(count = expired.len(), "expired payments");
    }
    // A kind whose batch read its limit may have more due, also when another node (the lease
    // holder, during time travel) moved some of them first.
    let mut more = expired.full(SWEEP_BATCH);
    if s.engine().scenarios().is_some() {
        let payouts_full = process_payouts(s).await?;
        // Refunds created with a sandbox settlement delay (OTT Pay, V2_SHA256, 33 Fintech).
        let settled = s.engine().settle_due_refunds(SWEEP_BATCH).await?;
        // Chain transfers that have gathered their confirmations (BlockATM) and scenarios'
        // automatic successes (`.03`, `auto_succeed_after_ms`), scheduled at creation.
        let succeeded = s.engine().succeed_due_payments(SWEEP_BATCH).await?;
        more |= payouts_full || settled.full(SWEEP_BATCH) || succeeded.full(SWEEP_BATCH);
    }
    Ok(more)
}

/// The longest time travel sweeps before it answers.
const TRAVEL_SWEEP: std::time::Duration = std::time::Duration::from_secs(20);

/// How many due objects of a kind one sweep takes.
pub const SWEEP_BATCH: i64 = 500;

/// Sandbox payout processor: pending -> processing at once (where the protocol's sandbox does
/// that, [`crate::protocols::sandbox_processes_payouts`]); then, after the configured delay,
/// succeeded, or failed when its amount ends in .01 (the decline rule). Moves at most
/// [`SWEEP_BATCH`], the oldest first, and says whether to sweep again: it reads on past
/// payouts it leaves as they are (held by `.02`, locked), which never stand in the way of due
/// ones.
async fn process_payouts(s: &AppState) -> Result<bool, EngineError> {
    let now = s.engine().clock().now();
    let delay = s.config().payout_delay_ms;
    let created_by = now.plus_millis(-delay);
    let scenarios = s.engine().scenarios().unwrap_or_default();
    let mut moves = Vec::new();
    let mut after: Option<(Timestamp, PayoutId)> = None;
    loop {
        let position = after.clone();
        let page = s
            .engine()
            .store()
            .read(move |db| {
                let after = position.as_ref().map(|(at, id)| (*at, id));
                db.unfinished_payouts(created_by, after, SWEEP_BATCH)
            })
            .await?;
        let last_page = (page.len() as i64) < SWEEP_BATCH;
        after = page.last().map(|p| (p.created_at, p.id.clone()));
        for p in page {
            if moves.len() as i64 == SWEEP_BATCH {
                break;
            }
            if let Some(cmd) = payout_move(&p, now, delay, &scenarios) {
                moves.push(async move {
                    let moved = s.engine().transition_payout(&p.id, cmd).await?;
                    // Taken to processing with its delay already past (time travel, a
                    // backlog): completed now, not at the next sweep.
                    match payout_move(&moved, now, delay, &scenarios) {
                        Some(next) if moved.state == PayoutState::Processing => {
                            s.engine().transition_payout(&moved.id, next).await
                        }
                        _ => Ok(moved),
                    }
                });
            }
        }
        if last_page || moves.len() as i64 == SWEEP_BATCH {
            break;
        }
    }
    // All at once: they share commits instead of waiting for one each.
    let tried = moves.len();
    let mut moved = 0;
    for outcome in futures_util::future::join_all(moves).await {
        match outcome {
            Ok(_) => moved += 1,
            // Moved meanwhile by a control call or another node.
            Err(EngineError::Rule(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // Sweep again when a full batch was tried (another node may have moved some first) and
    // some of it moved; a batch refused whole is not: a payout the state machine keeps
    // refusing would otherwise loop the sweep.
    Ok(tried as i64 >= SWEEP_BATCH && moved > 0)
}

/// What the sandbox payout processor does to a payout not yet final, if anything now.
fn payout_move(
    p: &polypay_core::Payout,
    now: Timestamp,
    delay: i64,
    scenarios: &polypay_engine::Scenarios,
) -> Option<PayoutCommand> {
    let processes = crate::protocols::sandbox_processes_payouts(p.protocol);
    match p.state {
        PayoutState::Pending if processes => Some(PayoutCommand::Process),
        // A BlockATM payout that was locked stays locked until the control API acts.
        PayoutState::Pending | PayoutState::Processing
            if (p.state == PayoutState::Processing) == processes
                && p.created_at.plus_millis(delay) <= now =>
        {
            match scenarios.for_amount(p.amount) {
                Some(polypay_engine::Scenario::Decline) => Some(PayoutCommand::Fail {
                    code: "SANDBOX_DECLINED".into(),
                    message: "declined by a sandbox amount rule".into(),
                }),
                Some(polypay_engine::Scenario::HoldUntilExpiry) => None,
                _ => Some(PayoutCommand::Succeed {
                    channel_order_no: channel_order_no(p.amount.currency, now),
                }),
            }
        }
        _ => None,
    }
}
