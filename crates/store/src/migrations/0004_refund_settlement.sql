-- polypay schema v4: a sandbox refund created with a settlement delay (OTT Pay's
-- refund_delay_seconds, V2_SHA256's refund_delay_ms) carries the time it is due to settle; the
-- sandbox sweeper settles it then. NULL for every other refund.
ALTER TABLE refunds ADD COLUMN settle_at BIGINT;
CREATE INDEX refunds_settle_due ON refunds (settle_at) WHERE state = 'pending' AND settle_at IS NOT NULL;
