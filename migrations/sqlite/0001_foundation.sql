-- Residents, their channel addresses, staff tokens, the audit log and stored settings.
CREATE TABLE residents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id   TEXT NOT NULL UNIQUE,
    birth_date    TEXT,
    district      TEXT,
    language      TEXT NOT NULL DEFAULT 'ja',
    interests     TEXT NOT NULL DEFAULT '[]',
    preferred     TEXT NOT NULL DEFAULT '[]',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE resident_addresses (
    resident_id INTEGER NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    address     TEXT NOT NULL,
    detail      TEXT,
    active      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (resident_id, channel)
);
CREATE UNIQUE INDEX resident_addresses_unique_address ON resident_addresses (address, channel);

CREATE TABLE staff_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms  INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    role   TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
