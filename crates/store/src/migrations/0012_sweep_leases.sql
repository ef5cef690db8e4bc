-- polypay schema v12: which node runs each background sweep. Every node of a PostgreSQL
-- installation used to run every sweep (the same due list read, the same transitions raced,
-- the losers' work thrown away); now a node runs one only while it holds its lease, renewed at
-- each tick and taken over by another node once it lapses.
CREATE TABLE sweep_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
