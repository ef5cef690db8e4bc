-- polypay schema v2: merchant callbacks. {id} is the dialect's auto-increment primary key.

-- One delivery per outbox event (the UNIQUE outbox_id makes ingestion exactly-once across nodes).
-- state: pending (scheduled or leased) | acknowledged | dead | skipped (the spec sends nothing).
CREATE TABLE deliveries (
    id {id},
    outbox_id BIGINT NOT NULL UNIQUE,
    merchant_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    -- The payment a refund belongs to, else the object itself: one key's callbacks go out in order.
    order_key TEXT NOT NULL,
    event TEXT NOT NULL,
    state TEXT NOT NULL,
    -- The first attempt's request, exactly as encoded at ingestion (NULL when none was made).
    method TEXT,
    url TEXT,
    headers TEXT,
    body TEXT,
    body_base64 BIGINT NOT NULL,
    -- Attempts finished; the schedule's offsets count from schedule_start (a resend restarts it).
    attempts BIGINT NOT NULL,
    schedule_start BIGINT NOT NULL,
    schedule_at BIGINT NOT NULL,
    next_attempt_at BIGINT,
    -- A lease is held while lease_until is in the future; lease_seq fences out stale holders.
    lease_owner TEXT,
    leased_at BIGINT,
    lease_until BIGINT,
    lease_seq BIGINT NOT NULL,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_in_order ON deliveries (order_key, outbox_id) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (merchant_id, lease_until) WHERE state = 'pending';
CREATE INDEX deliveries_by_merchant ON deliveries (merchant_id, id);
CREATE INDEX deliveries_by_key ON deliveries (order_key, id);

-- Every attempt as made: request as sent, response status and body prefix, latency, error.
-- outcome: acknowledged | rejected | error | interrupted (its node stopped before recording it).
CREATE TABLE delivery_attempts (
    id {id},
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id),
    attempt BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    method TEXT,
    url TEXT,
    headers TEXT,
    body TEXT,
    body_base64 BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    latency_ms BIGINT,
    error TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);

-- Every outbox event at or below this id has been ingested (a scan starts above it).
CREATE TABLE delivery_cursor (
    name TEXT PRIMARY KEY,
    outbox_id BIGINT NOT NULL
);
INSERT INTO delivery_cursor (name, outbox_id) VALUES ('outbox', 0);
