-- Outbound: notices (scheduled, recurring), the outbox (one delivery row per resident, channel and firing),
-- rendered contents shared by the deliveries of one firing, and LINE multicast batches with their retry keys.
CREATE TABLE notices (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    title              TEXT NOT NULL,
    body               TEXT NOT NULL,
    segment            TEXT NOT NULL,
    channels           TEXT NOT NULL,
    templates          TEXT NOT NULL DEFAULT '{}',
    send_at_ms         BIGINT,
    cron               TEXT,
    ignore_quiet_hours BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL,
    next_fire_ms       BIGINT,
    fire_count         BIGINT NOT NULL DEFAULT 0,
    last_fired_at_ms   BIGINT,
    error              TEXT,
    created_by         TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    updated_at_ms      BIGINT NOT NULL
);
CREATE INDEX notices_due ON notices (status, next_fire_ms);

CREATE TABLE delivery_contents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_kind TEXT NOT NULL,
    source_id   BIGINT NOT NULL,
    firing      BIGINT NOT NULL,
    channel     TEXT NOT NULL,
    language    TEXT NOT NULL,
    content     TEXT NOT NULL,
    UNIQUE (source_kind, source_id, firing, channel, language)
);

CREATE TABLE delivery_batches (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    channel        TEXT NOT NULL,
    retry_key      TEXT NOT NULL UNIQUE,
    content_id     BIGINT NOT NULL REFERENCES delivery_contents(id),
    priority       BIGINT NOT NULL,
    size           BIGINT NOT NULL,
    status         TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    due_at_ms      BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX delivery_batches_due ON delivery_batches (status, channel, priority, due_at_ms);

CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    source_kind    TEXT NOT NULL,
    source_id      BIGINT NOT NULL,
    firing         BIGINT NOT NULL,
    priority       BIGINT NOT NULL DEFAULT 0,
    resident_id    BIGINT REFERENCES residents(id) ON DELETE SET NULL,
    channel        TEXT NOT NULL,
    address        TEXT NOT NULL,
    address_detail TEXT,
    language       TEXT NOT NULL,
    content_id     BIGINT NOT NULL REFERENCES delivery_contents(id),
    status         TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    due_at_ms      BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    batch_id       BIGINT REFERENCES delivery_batches(id),
    provider_id    TEXT,
    error          TEXT,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    UNIQUE (source_kind, source_id, firing, resident_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (channel, status, priority, due_at_ms);
CREATE INDEX deliveries_by_source ON deliveries (source_kind, source_id, channel, status);
CREATE INDEX deliveries_by_batch ON deliveries (batch_id);
CREATE INDEX deliveries_by_resident ON deliveries (resident_id);
