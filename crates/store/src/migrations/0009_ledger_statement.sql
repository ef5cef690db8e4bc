-- polypay schema v9: a merchant's statement (its entries on one balance, newest first, paged by
-- id: `GET /admin/v1/merchants/{id}/ledger`, `polypay merchant ledger`) walks this index in
-- order. It replaces the index without `id`, whose prefix still serves the ledger sums.
DROP INDEX ledger_by_merchant;
CREATE INDEX ledger_by_merchant ON ledger_entries (merchant_id, currency, account, id);
