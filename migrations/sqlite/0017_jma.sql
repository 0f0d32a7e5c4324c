-- JMA's disaster XML feed (issue 26): the documents seen in the feeds (each acted on once, a restart does not
-- replay them), the feeds' conditional-request state, the one lease under which a hub acts on documents, what the
-- city's areas have in effect (so a 継続 is not sent again and a 解除 finds what it lifts), and drafts waiting for
-- a person.
CREATE TABLE jma_entries (
    -- The Atom entry's <id> (urn:uuid:…): the document's identity in the high-frequency and the long feed.
    entry_id          TEXT PRIMARY KEY,
    url               TEXT NOT NULL,
    title             TEXT NOT NULL,
    updated_at_ms     BIGINT NOT NULL,
    -- When a hub first saw it in a feed.
    seen_at_ms        BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms   BIGINT NOT NULL DEFAULT 0,
    -- Set once it has been acted on (or skipped): never fetched again.
    done_at_ms        BIGINT,
    -- sent | draft | lifted | corrected | cancelled | nothing | other-area | drill | stale | malformed | failed
    outcome           TEXT,
    detail            TEXT,
    emergency_id      BIGINT
);
CREATE INDEX jma_entries_pending ON jma_entries (done_at_ms, updated_at_ms);

CREATE TABLE jma_feeds (
    url               TEXT PRIMARY KEY,
    etag              TEXT,
    last_modified     TEXT,
    checked_at_ms     BIGINT,
    ok_at_ms          BIGINT,
    failures          BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT
);

-- One row: the hub that acts on documents until until_ms (several hubs on one PostgreSQL act one at a time).
CREATE TABLE jma_lease (
    name              TEXT PRIMARY KEY,
    holder            TEXT NOT NULL,
    until_ms          BIGINT NOT NULL
);

CREATE TABLE jma_active (
    area_code         TEXT NOT NULL,
    kind              TEXT NOT NULL,
    doc_type          TEXT NOT NULL,
    entry_id          TEXT NOT NULL,
    -- The alert residents got for it, or the draft waiting for it.
    emergency_id      BIGINT,
    draft_id          BIGINT,
    since_ms          BIGINT NOT NULL,
    PRIMARY KEY (area_code, kind)
);

CREATE TABLE jma_drafts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id          TEXT NOT NULL UNIQUE,
    doc_type          TEXT NOT NULL,
    -- JSON list of JMA's kind names, and of the area codes.
    kinds             TEXT NOT NULL,
    area_codes        TEXT NOT NULL,
    -- JSON {"ja": {"title", "body"}, …}, as emergencies store it.
    text              TEXT NOT NULL,
    severity          TEXT NOT NULL,
    office            TEXT NOT NULL,
    report_time       TEXT NOT NULL,
    -- pending | sending | sent | superseded | lifted | cancelled
    status            TEXT NOT NULL DEFAULT 'pending',
    created_at_ms     BIGINT NOT NULL,
    decided_by        TEXT,
    decided_at_ms     BIGINT,
    emergency_id      BIGINT
);
