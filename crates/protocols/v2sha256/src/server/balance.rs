//! balance/query (§5.7): `available` from the engine's balances, `frozen` = the sum of the
//! merchant's PENDING/PROCESSING payouts (already excluded from `available`).

use super::payment::currency;
use super::{Caller, Gateway, errors};
use crate::amount::format_amount;
use crate::envelope::ApiError;
use crate::wire::{Balance, BalanceData, BalanceQueryRequest, ResponseData};
use polypay_core::{Currency, MerchantId};
use polypay_engine::EngineError;
use std::collections::BTreeMap;

/// How many unfinished payouts (of all merchants) the frozen sum looks at; see [`frozen`].
const UNFINISHED_SCAN_LIMIT: i64 = 10_000;

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
        for (c, minor) in self.frozen(id).await? {
            rows.entry(c.code()).or_insert((c, 0, 0)).2 += minor;
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

    /// The merchant's PENDING/PROCESSING payout amounts per currency.
    ///
    /// The engine has no per-merchant query for this yet, so this reads the store's list of
    /// unfinished payouts (every merchant's, oldest first, capped) and keeps this merchant's.
    /// Exact while fewer than [`UNFINISHED_SCAN_LIMIT`] payouts are in flight gateway-wide.
    async fn frozen(&self, merchant: &MerchantId) -> Result<Vec<(Currency, i64)>, ApiError> {
        let payouts = self
            .engine
            .store()
            .read(|db| Ok::<_, EngineError>(db.unfinished_payouts(UNFINISHED_SCAN_LIMIT)?))
            .await
            .map_err(|e| errors::internal(&e))?;
        Ok(payouts
            .into_iter()
            .filter(|p| p.merchant_id == *merchant)
            .map(|p| (p.amount.currency, p.amount.minor))
            .collect())
    }
}
