-- Emergency broadcasts: the alert row (written before anything is sent), the fan-out's claim and completion, the
-- safety answers (安否確認) per emergency and responder, and LINE broadcast batches (one request to every friend).
CREATE TABLE emergencies (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- alert | update | cancel
    kind             TEXT NOT NULL,
    -- The first alert of the incident: itself for an alert, the referenced alert's root for an update or cancel.
    root_id          BIGINT,
    -- JSON: the emergency ids this update or cancellation is about.
    reference_ids    TEXT NOT NULL DEFAULT '[]',
    -- JSON: the references as given (CAP sender,identifier,sent or JSON identifiers).
    references_given TEXT NOT NULL DEFAULT '[]',
    -- actual | exercise | test
    status           TEXT NOT NULL,
    dry_run          BIGINT NOT NULL DEFAULT 0,
    -- JSON {"ja": {"title", "body"}, "en": {…}, …}
    text             TEXT NOT NULL,
    -- NULL: the referenced alerts' people only; 'city': everyone; else a JSON list of districts.
    area             TEXT,
    severity         TEXT NOT NULL,
    urgency          TEXT NOT NULL,
    -- A CAP alert's `sender,identifier`: the same document posted twice is one emergency.
    cap_key          TEXT UNIQUE,
    -- The CAP identifier alone (references from JSON name it without the sender).
    cap_identifier   TEXT,
    -- JSON of the CAP document's own fields (identifier, sender, sent, event, …).
    cap              TEXT,
    triggered_by     TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    -- LINE goes as one broadcast (every friend of the account) rather than per-user multicasts.
    line_broadcast   BIGINT NOT NULL DEFAULT 0,
    -- The fan-out: claimed under a short lease, finished when fanned_out_at_ms is set.
    fan_owner        TEXT,
    fan_lease_until_ms BIGINT NOT NULL DEFAULT 0,
    fanned_out_at_ms BIGINT,
    targeted         BIGINT,
    -- Web chat pages the banner was queued for (summed over the hub processes).
    webchat_pages    BIGINT NOT NULL DEFAULT 0,
    -- Set on the alert an update or cancellation replaced or withdrew.
    cancelled_at_ms  BIGINT,
    -- Progress, kept once known (milliseconds from the trigger).
    first_sent_ms    BIGINT,
    all_sent_ms      BIGINT
);
CREATE INDEX emergencies_unfinished ON emergencies (fanned_out_at_ms, fan_lease_until_ms);
CREATE INDEX emergencies_by_time ON emergencies (created_at_ms);
CREATE INDEX emergencies_by_cap_identifier ON emergencies (cap_identifier);

CREATE TABLE emergency_answers (
    -- The incident (root alert) the answer counts for.
    emergency_id  BIGINT NOT NULL REFERENCES emergencies(id),
    -- `resident:ID`, `line:HASH` (a LINE friend who is not a registered resident) or `webchat:TOKEN` (one page).
    responder     TEXT NOT NULL,
    resident_id   BIGINT REFERENCES residents(id) ON DELETE SET NULL,
    channel       TEXT NOT NULL,
    -- safe | need_help
    answer        TEXT NOT NULL,
    -- The emergency (alert or update) whose message was answered.
    answered_from BIGINT NOT NULL,
    answered_at_ms BIGINT NOT NULL,
    PRIMARY KEY (emergency_id, responder)
);
CREATE INDEX emergency_answers_need_help ON emergency_answers (emergency_id, answer);

-- LINE batches: `multicast` (≤ 500 stored recipients) or `broadcast` (every friend; its rows are only counted).
ALTER TABLE delivery_batches ADD COLUMN endpoint TEXT NOT NULL DEFAULT 'multicast';
-- A finished batch's outcome, for rows attached to a broadcast after it was sent.
ALTER TABLE delivery_batches ADD COLUMN outcome TEXT;
ALTER TABLE delivery_batches ADD COLUMN provider_id TEXT;
ALTER TABLE delivery_batches ADD COLUMN error TEXT;

-- Claims order by `priority DESC, due_at_ms, id`: an index in exactly that order lets a claim read the first rows
-- instead of sorting every pending row of a large notice (which made each claim slower the larger the notice,
-- and an emergency wait behind it).
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (channel, status, priority DESC, due_at_ms, id);
DROP INDEX delivery_batches_due;
CREATE INDEX delivery_batches_due ON delivery_batches (status, channel, priority DESC, due_at_ms, id);
