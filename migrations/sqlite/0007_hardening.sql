-- Hardening (issue 9).

-- The LINE webhook answers 200 once its events are stored here, then handles them from a queue. `payload` is the
-- event as received until it is handled (then cleared: it holds the resident's message); a row with a payload and
-- no `handled_at_ms` is still to handle, also after a restart. Rows from before this migration were handled inline.
ALTER TABLE line_webhook_events ADD COLUMN payload TEXT;
ALTER TABLE line_webhook_events ADD COLUMN handled_at_ms BIGINT;
CREATE INDEX line_webhook_events_pending ON line_webhook_events (handled_at_ms, received_at_ms);

-- Retention: finished delivery rows older than HUB_DELIVERY_RETENTION_DAYS lose their address (the sweep looks
-- them up by age).
CREATE INDEX deliveries_by_age ON deliveries (updated_at_ms);

-- The audit log is append-only: no API changes it, and the database refuses to.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
