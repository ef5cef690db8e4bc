//! balance/query (§5.7): `available` from the engine's balances, `frozen` = the sum of the
//! merchant's PENDING/PROCESSING payouts (already excluded from `available`).

use super::payment::currency;
use super::{Caller, Gateway, errors};
use crate::amount::format_amount;
use crate::envelope::ApiError;
use crate::wire::{Balance, BalanceData, BalanceQueryRequest, ResponseData};
use polypay_core::Currency;
use std::collections::BTreeMap;

impl Gateway {
    pub(crate) async fn query_balance(
        &self,
        caller: &Caller,
        req: BalanceQueryRequest,
    ) -> Result<ResponseData, ApiError> {
        let id = &caller.merchant.id;
        let available = self
            .engine
            .balances(id)
            .await
            .map_err(|e| errors::internal(&e))?;
        let mut rows: BTreeMap<&'static str, (Currency, i64, i64)> = BTreeMap::new();
        for money in available {
            rows.entry(money.currency.code())
                .or_insert((money.currency, 0, 0))
                .1 += money.minor;
        }
        let frozen = self
            .engine
            .unfinished_payout_totals(id)
            .await
            .map_err(|e| errors::internal(&e))?;
        for money in frozen {
            rows.entry(money.currency.code())
                .or_insert((money.currency, 0, 0))
                .2 += money.minor;
        }
        if let Some(code) = req.currency {
            let c = currency(&code)?;
            rows.retain(|k, _| *k == c.code());
            rows.entry(c.code()).or_insert((c, 0, 0));
        }
        let balances = rows
            .into_values()
            .map(|(c, available, frozen)| Balance {
                currency: c.code().to_owned(),
                available: format_amount(available, c.exponent()),
                frozen: format_amount(frozen, c.exponent()),
            })
            .collect();
        Ok(ResponseData::Balance(BalanceData { balances }))
    }
}
