-- polypay schema v14: which nodes may run on the schema. From this version on, each migration
-- records the oldest node it leaves able to run: a node whose binary knows migrations up to N
-- runs on a database holding a newer migration only if that migration's `min_known` is at most
-- N. A node refuses to start, and a running node stops, when one is not: a node older than the
-- schema would otherwise go on writing by rules the newer version has changed (secrets sealed
-- in a format it cannot read, operator changes without audit entries). A newer migration
-- without a row here was made by a version that did not say: no older node runs with it.
CREATE TABLE schema_compat (
    version BIGINT PRIMARY KEY,
    min_known BIGINT NOT NULL
);
