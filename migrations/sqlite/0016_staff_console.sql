-- The console does the whole job (issue 15).

-- A staff account an admin disabled: it cannot log in, its sessions end, and it is kept (the audit log names it).
ALTER TABLE staff_users ADD COLUMN disabled_at_ms BIGINT;

-- Missed FAQ questions staff dismissed as junk (「あああ」, tests): hidden from the misses page and its count, by
-- their normalised text; a question asked again after dismissal stays hidden.
CREATE TABLE faq_miss_dismissals (
    normalized      TEXT PRIMARY KEY,
    question        TEXT NOT NULL,
    dismissed_by    TEXT NOT NULL,
    dismissed_at_ms BIGINT NOT NULL
);
