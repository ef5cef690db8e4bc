-- polypay schema v11: the operator's lists (console, admin API, `polypay export`) read newest
-- first from an index instead of sorting the whole table: the unfiltered payments list of a
-- 2M-row PostgreSQL table scanned and sorted every row (0.6 s) per page. Refunds gain the
-- per-merchant index payments and payouts have. Built online on PostgreSQL (CONCURRENTLY).
CREATE INDEX {concurrently} payments_by_created ON payments (created_at, id);
CREATE INDEX {concurrently} payouts_by_created ON payouts (created_at, id);
CREATE INDEX {concurrently} refunds_by_created ON refunds (created_at, id);
CREATE INDEX {concurrently} refunds_by_merchant ON refunds (merchant_id, created_at, id);
