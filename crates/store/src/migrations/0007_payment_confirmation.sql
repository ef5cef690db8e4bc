-- polypay schema v7: a sandbox payment paid on a chain (BlockATM) stays pending while the transfer
-- gathers confirmations and carries the time it is due to succeed; the sandbox sweeper succeeds it
-- then, and the expiry sweep leaves it alone. NULL for every other payment.
ALTER TABLE payments ADD COLUMN succeed_at BIGINT;
CREATE INDEX payments_succeed_due ON payments (succeed_at) WHERE state IN ('created', 'pending') AND succeed_at IS NOT NULL;
