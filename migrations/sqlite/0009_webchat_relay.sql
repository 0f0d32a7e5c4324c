-- Web chat banners relayed between hub processes (PostgreSQL LISTEN/NOTIFY carries the id; SQLite runs one
-- process and does not use this table).
CREATE TABLE webchat_broadcasts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    origin        TEXT NOT NULL,
    message       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX webchat_broadcasts_by_time ON webchat_broadcasts (created_at_ms);
