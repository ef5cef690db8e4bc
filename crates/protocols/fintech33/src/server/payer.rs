//! createPayer / getPayer / updatePayer (§5.1). Payers are protocol records of the merchant:
//! kind `payer` keyed by the lower-cased email (the payer data), and kind `payer_id` keyed by
//! `payerID` (pointing at the email). Records cannot be deleted, so an email a payer moved
//! away from keeps a `{"moved":true}` tombstone that a later payer may claim.

use polypay_core::{Merchant, Protocol};
use polypay_store::ProtocolRecord;
use serde_json::json;

use super::{Ctx, Failure};
use crate::notify::FIRST_PAYER_ID;
use crate::validate::ErrorCode;
use crate::wire::{Payer, PayerData, ResponseData, UpdatePayer};

const PAYER: &str = "payer";
const PAYER_ID: &str = "payer_id";
/// The per-instance `payerID` sequence.
const PAYER_SEQUENCE: &str = "fintech33:payer";

type Outcome<T> = Result<T, Failure>;

/// Emails are unique per merchant without regard to case.
fn email_key(email: &str) -> String {
    email.to_lowercase()
}

fn record(
    merchant: &Merchant,
    kind: &str,
    key: String,
    value: serde_json::Value,
    ctx: &Ctx,
) -> ProtocolRecord {
    ProtocolRecord {
        protocol: Protocol::Fintech33,
        merchant_id: merchant.id.as_str().to_owned(),
        kind: kind.to_owned(),
        key,
        value,
        updated_at: ctx.engine.clock().now(),
    }
}

/// The payer registered under `email_key`, if any (a tombstone is no payer).
async fn by_email(ctx: &Ctx, merchant: &Merchant, email_key: &str) -> Outcome<Option<PayerData>> {
    let found = ctx
        .engine
        .record(Protocol::Fintech33, merchant.id.as_str(), PAYER, email_key)
        .await?;
    payer_of(found)
}

/// The payer a `payer` record holds (a tombstone is no payer).
fn payer_of(found: Option<ProtocolRecord>) -> Outcome<Option<PayerData>> {
    match found {
        Some(r) if r.value.get("moved").is_none() => {
            Ok(Some(serde_json::from_value(r.value).map_err(|e| {
                Failure::System(format!("payer record: {e}"))
            })?))
        }
        _ => Ok(None),
    }
}

/// The payer with `payer_id`, if its email record still names it.
pub(super) async fn by_id(
    ctx: &Ctx,
    merchant: &Merchant,
    payer_id: u64,
) -> Outcome<Option<PayerData>> {
    let (_, found) = ctx
        .engine
        .record_and_target(
            Protocol::Fintech33,
            merchant.id.as_str(),
            PAYER_ID,
            &payer_id.to_string(),
            |pointer| {
                let email = pointer.value.get("email")?.as_str()?;
                Some((PAYER.to_owned(), email.to_owned()))
            },
        )
        .await?;
    Ok(payer_of(found)?.filter(|p| p.payer_id == payer_id))
}

/// Registers `data` under its email: a fresh key, a tombstone, or the same payer's own record.
async fn claim_email(ctx: &Ctx, merchant: &Merchant, data: &PayerData) -> Outcome<()> {
    let key = email_key(&data.payer.email);
    let value = serde_json::to_value(data).map_err(crate::Error::from)?;
    if ctx
        .engine
        .insert_record(record(merchant, PAYER, key.clone(), value.clone(), ctx))
        .await?
    {
        return Ok(());
    }
    let existing = ctx
        .engine
        .record(Protocol::Fintech33, merchant.id.as_str(), PAYER, &key)
        .await?;
    let free = existing.is_some_and(|r| {
        r.value.get("moved").is_some()
            || r.value.get("payerID").and_then(|v| v.as_u64()) == Some(data.payer_id)
    });
    if !free {
        return Err(ErrorCode::PayerExists.into());
    }
    ctx.engine
        .update_record(record(merchant, PAYER, key, value, ctx))
        .await?;
    Ok(())
}

pub(super) async fn create(ctx: &Ctx, merchant: &Merchant, payer: Payer) -> Outcome<ResponseData> {
    // Checked first so a taken email does not use up a payerID.
    if by_email(ctx, merchant, &email_key(&payer.email))
        .await?
        .is_some()
    {
        return Err(ErrorCode::PayerExists.into());
    }
    let id = ctx
        .engine
        .next_sequence(PAYER_SEQUENCE, FIRST_PAYER_ID as i64)
        .await?;
    let payer_id = u64::try_from(id).map_err(|_| Failure::System("payer sequence".into()))?;
    let data = PayerData { payer_id, payer };
    // The id pointer goes first: if the email is then lost to a concurrent request, the
    // pointer names an email whose record is another payer's, and `by_id` ignores it.
    let pointer = json!({ "email": email_key(&data.payer.email) });
    ctx.engine
        .insert_record(record(
            merchant,
            PAYER_ID,
            payer_id.to_string(),
            pointer,
            ctx,
        ))
        .await?;
    claim_email(ctx, merchant, &data).await?;
    Ok(ResponseData::Payer(data))
}

pub(super) async fn get(ctx: &Ctx, merchant: &Merchant, email: &str) -> Outcome<ResponseData> {
    match by_email(ctx, merchant, &email_key(email)).await? {
        Some(data) => Ok(ResponseData::Payer(data)),
        None => Err(ErrorCode::PayerNotFound.into()),
    }
}

/// Full replacement of the payer's fields; a new email must not belong to another payer.
pub(super) async fn update(
    ctx: &Ctx,
    merchant: &Merchant,
    u: UpdatePayer,
) -> Outcome<ResponseData> {
    let Some(current) = by_id(ctx, merchant, u.payer_id).await? else {
        return Err(ErrorCode::PayerNotFound.into());
    };
    let (old_key, new_key) = (email_key(&current.payer.email), email_key(&u.payer.email));
    let data = PayerData {
        payer_id: u.payer_id,
        payer: u.payer,
    };
    claim_email(ctx, merchant, &data).await?;
    if old_key != new_key {
        let pointer = json!({ "email": new_key });
        ctx.engine
            .update_record(record(
                merchant,
                PAYER_ID,
                u.payer_id.to_string(),
                pointer,
                ctx,
            ))
            .await?;
        let tombstone = json!({ "moved": true });
        ctx.engine
            .update_record(record(merchant, PAYER, old_key, tombstone, ctx))
            .await?;
    }
    Ok(ResponseData::Payer(data))
}
