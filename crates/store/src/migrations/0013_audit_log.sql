-- polypay schema v13: the operator's audit log. Every change an operator makes (through the
-- admin API, the sandbox control API, the console or a `polypay` command on the database) is
-- recorded here in the change's own transaction: a change is never without its entry, nor an
-- entry without its change. Rows are only ever appended.
CREATE TABLE audit_log (
    id {id},
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    merchant_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_merchant ON audit_log (merchant_id, id);
CREATE INDEX audit_log_by_object ON audit_log (object_id, id);
