-- polypay schema v5, SQLite only: nonce claims move to an append-only log. The writer checks
-- uniqueness in memory (store/src/claims.rs), so no index on the random nonces is left on the
-- commit path; both of the log's keys grow with time. Live claims move over; PostgreSQL keeps
-- `nonces`, whose primary key several nodes share.
CREATE TABLE nonce_log (
    id {id},
    scope TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX nonce_log_by_expiry ON nonce_log (expires_at);
INSERT INTO nonce_log (scope, nonce, expires_at)
    SELECT scope, nonce, expires_at FROM nonces ORDER BY expires_at;
DROP TABLE nonces;
