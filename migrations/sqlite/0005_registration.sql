-- Registration (issue 8): what residents told the city themselves, their consent, topics they opted out of,
-- quiet hours and the 配信停止 flag; pending e-mail sign-ups waiting for their confirmation link.
-- `pending` = 1: signed up but not yet consented (LINE) or confirmed (e-mail): left out of notices, segment
-- previews and the registration statistics.
ALTER TABLE residents ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE residents ADD COLUMN notices_paused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE residents ADD COLUMN muted_topics TEXT NOT NULL DEFAULT '[]';
-- Minutes after midnight JST; NULL means the default 21:00–8:00; equal values mean no quiet hours.
ALTER TABLE residents ADD COLUMN quiet_from_min BIGINT;
ALTER TABLE residents ADD COLUMN quiet_until_min BIGINT;
ALTER TABLE residents ADD COLUMN age_band TEXT;
ALTER TABLE residents ADD COLUMN consent_at_ms BIGINT;
ALTER TABLE residents ADD COLUMN consent_version TEXT;
ALTER TABLE residents ADD COLUMN registered_via TEXT;

ALTER TABLE notices ADD COLUMN topic TEXT;

CREATE TABLE email_signups (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT NOT NULL UNIQUE,
    resident_id     BIGINT NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    profile         TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    last_sent_at_ms BIGINT NOT NULL,
    confirmed_at_ms BIGINT
);
CREATE INDEX email_signups_by_resident ON email_signups (resident_id);
