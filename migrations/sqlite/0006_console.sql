-- The staff console: staff accounts (argon2id password hashes, lockout) and their browser sessions.
CREATE TABLE staff_users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT NOT NULL UNIQUE,
    -- PHC string ($argon2id$v=19$...): never the password itself.
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    -- Login refused until this time (Unix ms) after too many failures; 0 = not locked.
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms   BIGINT NOT NULL,
    updated_at_ms   BIGINT NOT NULL
);

-- A session cookie holds a random id; only its SHA-256 is stored, with the CSRF token the pages send back.
CREATE TABLE staff_sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX staff_sessions_by_expiry ON staff_sessions (expires_at_ms);
