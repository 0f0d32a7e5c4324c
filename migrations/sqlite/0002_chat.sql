-- The resident chat (LINE and web): every question with its outcome, feedback, and LINE events already handled.
CREATE TABLE chat_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms         INTEGER NOT NULL,
    channel       TEXT NOT NULL,
    -- A hash of the sender (LINE user id) so feedback can be tied to the asker; NULL for the web chat.
    sender        TEXT,
    question      TEXT NOT NULL,
    -- The question normalised (NFKC, lower case, no punctuation): what /api/faq/misses groups by.
    normalized    TEXT NOT NULL,
    -- answered | candidates | missed
    outcome       TEXT NOT NULL,
    -- The entry answered (or the candidate the resident chose).
    entry_id      TEXT,
    candidates    TEXT NOT NULL DEFAULT '[]',
    -- NULL: no feedback; 1: helped; 0: did not help.
    helpful       INTEGER,
    feedback_at_ms INTEGER
);
CREATE INDEX chat_log_by_normalized ON chat_log (normalized);
CREATE INDEX chat_log_by_time ON chat_log (at_ms);

-- LINE webhook events already taken: an event id is inserted before the reply, so a redelivery is answered once.
CREATE TABLE line_webhook_events (
    event_id       TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
);
