-- polypay schema v11, SQLite: a merchant's order, payout and refund numbers are unique per
-- protocol, as each provider keeps its own (a merchant may send the same number to two
-- providers; 33 Fintech's own refund numbers `<order_sn>#<n>` could be taken by a PassToPay or
-- V2_SHA256 refund). SQLite cannot drop a UNIQUE constraint: each table is rebuilt with the
-- new key, (merchant, number, protocol), whose prefix still serves a lookup without protocol.
-- Runs with foreign keys off (the migration runner; refunds reference payments) and checked
-- before it commits.
CREATE TABLE payments_v11 (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    protocol TEXT NOT NULL,
    merchant_order_no TEXT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    state TEXT NOT NULL,
    refunded_minor BIGINT NOT NULL,
    refund_pending_minor BIGINT NOT NULL,
    notify_url TEXT,
    return_url TEXT,
    cashier_token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    finished_at BIGINT,
    channel_order_no TEXT,
    error_code TEXT,
    error_message TEXT,
    attrs TEXT NOT NULL,
    succeed_at BIGINT,
    UNIQUE (merchant_id, merchant_order_no, protocol)
);
INSERT INTO payments_v11 SELECT * FROM payments;
DROP TABLE payments;
ALTER TABLE payments_v11 RENAME TO payments;
CREATE INDEX payments_open_by_expiry ON payments (expires_at) WHERE state IN ('created', 'pending');
CREATE INDEX payments_open_by_created ON payments (created_at) WHERE state IN ('created', 'pending');
CREATE INDEX payments_by_merchant ON payments (merchant_id, created_at);
CREATE INDEX payments_succeed_due ON payments (succeed_at) WHERE state IN ('created', 'pending') AND succeed_at IS NOT NULL;

CREATE TABLE payouts_v11 (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    protocol TEXT NOT NULL,
    merchant_order_no TEXT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    state TEXT NOT NULL,
    notify_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    channel_order_no TEXT,
    error_code TEXT,
    error_message TEXT,
    attrs TEXT NOT NULL,
    UNIQUE (merchant_id, merchant_order_no, protocol)
);
INSERT INTO payouts_v11 SELECT * FROM payouts;
DROP TABLE payouts;
ALTER TABLE payouts_v11 RENAME TO payouts;
CREATE INDEX payouts_unfinished ON payouts (created_at) WHERE state IN ('pending', 'processing');
CREATE INDEX payouts_by_merchant ON payouts (merchant_id, created_at);
CREATE INDEX payouts_unfinished_by_merchant ON payouts (merchant_id) WHERE state IN ('pending', 'processing');

CREATE TABLE refunds_v11 (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    payment_id TEXT NOT NULL REFERENCES payments (id),
    protocol TEXT NOT NULL,
    merchant_refund_no TEXT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    notify_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    error_code TEXT,
    error_message TEXT,
    attrs TEXT NOT NULL,
    settle_at BIGINT,
    channel_order_no TEXT,
    UNIQUE (merchant_id, merchant_refund_no, protocol)
);
INSERT INTO refunds_v11 SELECT * FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_v11 RENAME TO refunds;
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE state = 'pending';
CREATE INDEX refunds_settle_due ON refunds (settle_at) WHERE state = 'pending' AND settle_at IS NOT NULL;
