-- polypay schema v1. {id} is the dialect's auto-increment primary key.
CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    notify_url TEXT,
    enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    credentials_sealed TEXT NOT NULL,
    settings TEXT NOT NULL
);

CREATE TABLE merchant_keys (
    protocol TEXT NOT NULL,
    key_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    PRIMARY KEY (protocol, key_id)
);

CREATE TABLE payments (
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
    UNIQUE (merchant_id, merchant_order_no)
);
CREATE INDEX payments_open_by_expiry ON payments (expires_at) WHERE state IN ('created', 'pending');
CREATE INDEX payments_open_by_created ON payments (created_at) WHERE state IN ('created', 'pending');
CREATE INDEX payments_by_merchant ON payments (merchant_id, created_at);

CREATE TABLE payouts (
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
    UNIQUE (merchant_id, merchant_order_no)
);
CREATE INDEX payouts_unfinished ON payouts (created_at) WHERE state IN ('pending', 'processing');
CREATE INDEX payouts_by_merchant ON payouts (merchant_id, created_at);

CREATE TABLE refunds (
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
    UNIQUE (merchant_id, merchant_refund_no)
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE state = 'pending';

-- The materialised balance of each merchant's available account; the ledger is the truth.
CREATE TABLE balances (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    currency TEXT NOT NULL,
    available_minor BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, currency)
);

-- Double-entry: the entries of one txn_id sum to zero per currency.
CREATE TABLE ledger_entries (
    id {id},
    txn_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    account TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_by_merchant ON ledger_entries (merchant_id, currency, account);
CREATE INDEX ledger_by_object ON ledger_entries (object_id);

-- Every state change appends one event here, in the transaction of the change.
CREATE TABLE outbox (
    id {id},
    merchant_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_by_object ON outbox (object_id, id);

-- Small sealed values of the platform (its own key pairs, the admin token hash).
CREATE TABLE platform_secrets (
    name TEXT PRIMARY KEY,
    value_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Claimed nonces and issued tokens, shared by every node on the same database.
CREATE TABLE nonces (
    scope TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

-- Protocol-owned records the core model does not know (33 Fintech payers and tokens, ...).
-- merchant_id is '' for records looked up without a merchant (e.g. a bearer token).
CREATE TABLE protocol_records (
    protocol TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (protocol, merchant_id, kind, record_key)
);

-- Named counters for provider-style sequential ids.
CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
