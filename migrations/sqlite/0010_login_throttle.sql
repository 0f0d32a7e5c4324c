-- Staff login (issue 25, holes 3, 7 and 8).

-- Failed console logins, counted per client address and typed username (`username` = '' for the client's count
-- over all names). The counts drive an exponential backoff per (client, account) and per client, so an attacker
-- elsewhere cannot lock the real user out (the old per-account lock below is gone). `unreported` failures since
-- `report_from_ms` are summarised in ONE audit row per pair and window, so a flood cannot bury the audit log (which
-- is append-only: nothing here updates it).
CREATE TABLE login_failures (
    client           TEXT NOT NULL,
    username         TEXT NOT NULL,
    failures         BIGINT NOT NULL,
    last_failure_ms  BIGINT NOT NULL,
    blocked_until_ms BIGINT NOT NULL DEFAULT 0,
    unreported       BIGINT NOT NULL DEFAULT 0,
    report_from_ms   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (client, username)
);
CREATE INDEX login_failures_by_username ON login_failures (username);
CREATE INDEX login_failures_by_report ON login_failures (report_from_ms);

-- The fixed lock of an account against everyone (a weapon against staff) is replaced by the backoff above.
ALTER TABLE staff_users DROP COLUMN failed_attempts;
ALTER TABLE staff_users DROP COLUMN locked_until_ms;

-- Tokens: when each was last used (at most once a minute is written), and which was made from HUB_ADMIN_TOKEN (a
-- start with a different HUB_ADMIN_TOKEN revokes the previous one).
ALTER TABLE staff_tokens ADD COLUMN last_used_at_ms BIGINT;
ALTER TABLE staff_tokens ADD COLUMN bootstrap BIGINT NOT NULL DEFAULT 0;
UPDATE staff_tokens SET bootstrap = 1 WHERE name = 'admin (HUB_ADMIN_TOKEN)';
