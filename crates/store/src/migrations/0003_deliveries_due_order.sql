-- polypay schema v3: the lease reads due deliveries in (next_attempt_at, id) order. SQLite's
-- index on next_attempt_at already ends in the rowid; PostgreSQL's did not, so it read and sorted
-- every due delivery (the whole backlog) on each lease to find the first few.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
