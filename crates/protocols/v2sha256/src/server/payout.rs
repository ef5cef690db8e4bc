//! payout/create and payout/query (§5.4, §5.5). A payout is debited on acceptance and starts
//! PENDING; the lead's payout processor moves it to PROCESSING and PAID/FAILED.

use super::payment::{currency, to_value};
use super::{Caller, Gateway, errors};
use crate::envelope::ApiError;
use crate::objects::{attr, mask_account_number, payout_data};
use crate::validate::{Lookup, PayoutCreate};
use crate::wire::{PayoutCreateData, PayoutMethod, PayoutStatus, ResponseData};
use polypay_core::{Money, Payout, Protocol};
use polypay_engine::{EngineError, NewPayout};
use serde_json::{Map, Value};

impl Gateway {
    pub(crate) async fn create_payout(
        &self,
        caller: &Caller,
        create: PayoutCreate,
    ) -> Result<ResponseData, ApiError> {
        let req = create.request;
        let currency = currency(&req.currency)?;
        let public_id = self.next_number("PO").await?;
        let mut attrs = Map::new();
        attrs.insert(attr::DESCRIPTION.into(), req.description.into());
        if let Some(a) = req.merchant_attach.filter(|a| !a.is_empty()) {
            attrs.insert(attr::MERCHANT_ATTACH.into(), a.into());
        }
        attrs.insert(
            attr::PAYOUT_METHOD.into(),
            stored_method(&req.payout_method)?,
        );
        let new = NewPayout {
            merchant_id: caller.merchant.id.clone(),
            protocol: Protocol::V2sha256,
            merchant_order_no: req.merchant_trade_no,
            public_id,
            amount: Money::new(create.amount_minor, currency),
            notify_url: Some(req.notify_url),
            start_processing: false,
            attrs: Value::Object(attrs),
        };
        let p = self
            .engine
            .create_payout(new)
            .await
            .map_err(errors::payout)?;
        Ok(ResponseData::PayoutCreate(PayoutCreateData {
            payout_no: p.public_id.clone(),
            merchant_trade_no: p.merchant_order_no.clone(),
            amount: crate::objects::amount(p.amount),
            currency: p.amount.currency.code().to_owned(),
            status: PayoutStatus::from_core(p.state),
        }))
    }

    pub(crate) async fn query_payout(
        &self,
        caller: &Caller,
        lookup: &Lookup,
    ) -> Result<ResponseData, ApiError> {
        let p = self.find_payout(caller, lookup).await?;
        Ok(ResponseData::Payout(payout_data(
            &p,
            caller.settings.offset,
        )))
    }

    async fn find_payout(&self, caller: &Caller, lookup: &Lookup) -> Result<Payout, ApiError> {
        let found = match (&lookup.number, &lookup.merchant_trade_no) {
            (Some(no), _) => self.engine.payout_by_public_id(no).await,
            (None, Some(t)) => self.engine.payout_by_order_no(&caller.merchant.id, t).await,
            (None, None) => Err(EngineError::NotFound("payout")),
        };
        let p = found.map_err(|e| errors::lookup(e, "payout"))?;
        let mine = p.merchant_id == caller.merchant.id
            && p.protocol == Protocol::V2sha256
            && lookup
                .merchant_trade_no
                .as_ref()
                .is_none_or(|t| *t == p.merchant_order_no);
        if mine {
            Ok(p)
        } else {
            Err(ApiError::object_not_found("payout"))
        }
    }
}

/// `payoutMethod` as kept in `attrs`: as sent, except a bank account number, masked.
fn stored_method(method: &PayoutMethod) -> Result<Value, ApiError> {
    let mut value = to_value(method)?;
    if let PayoutMethod::BankAccount { account_number, .. } = method {
        value["accountNumber"] = mask_account_number(account_number).into();
    }
    Ok(value)
}
