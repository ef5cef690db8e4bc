-- polypay schema v12, PostgreSQL: as v11 on SQLite, a merchant's order, payout and refund
-- numbers are unique per protocol; the key is (merchant, number, protocol), whose prefix still
-- serves a lookup without protocol.
ALTER TABLE payments
    DROP CONSTRAINT payments_merchant_id_merchant_order_no_key,
    ADD CONSTRAINT payments_merchant_order_no_key UNIQUE (merchant_id, merchant_order_no, protocol);
ALTER TABLE payouts
    DROP CONSTRAINT payouts_merchant_id_merchant_order_no_key,
    ADD CONSTRAINT payouts_merchant_order_no_key UNIQUE (merchant_id, merchant_order_no, protocol);
ALTER TABLE refunds
    DROP CONSTRAINT refunds_merchant_id_merchant_refund_no_key,
    ADD CONSTRAINT refunds_merchant_refund_no_key UNIQUE (merchant_id, merchant_refund_no, protocol);
