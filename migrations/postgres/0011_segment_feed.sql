-- The segment change feed (issue 16): every hub process keeps a live snapshot of the residents' segment
-- attributes and applies the changes listed here instead of rebuilding it. Triggers write the feed in the same
-- transaction as the change, so no writer can forget it and a change is in the feed exactly when it is committed.
-- One row per resident: the sequence number of its latest change (a forgotten resident keeps only its id here).
CREATE SEQUENCE segment_seq;

CREATE TABLE segment_changes (
    resident_id BIGINT PRIMARY KEY,
    seq         BIGINT NOT NULL
);
CREATE INDEX segment_changes_by_seq ON segment_changes (seq);

-- A reader that has applied everything up to N must never later see a change numbered N or lower. Numbers from a
-- sequence are handed out before commit, and transactions commit in any order; so the first change of a
-- transaction takes a transaction-scoped advisory lock, held until it commits or rolls back: writers of
-- resident rows take numbers one transaction after another, and the numbers are in commit order. (A counter row
-- updated per change would do the same, but an import of a million residents would leave a million versions of
-- that row in one transaction.)
CREATE FUNCTION segment_feed_record() RETURNS trigger AS $$
DECLARE
    next_seq BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(7316016);
    next_seq := nextval('segment_seq');
    -- Wakes the other processes' snapshots (notifications with the same payload are sent once per transaction).
    PERFORM pg_notify('hub_segments', '');
    IF TG_TABLE_NAME = 'residents' THEN
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO segment_changes (resident_id, seq) VALUES (OLD.id, next_seq)
                ON CONFLICT (resident_id) DO UPDATE SET seq = EXCLUDED.seq;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO segment_changes (resident_id, seq) VALUES (NEW.id, next_seq)
                ON CONFLICT (resident_id) DO UPDATE SET seq = EXCLUDED.seq;
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO segment_changes (resident_id, seq) VALUES (OLD.resident_id, next_seq)
                ON CONFLICT (resident_id) DO UPDATE SET seq = EXCLUDED.seq;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO segment_changes (resident_id, seq) VALUES (NEW.resident_id, next_seq)
                ON CONFLICT (resident_id) DO UPDATE SET seq = EXCLUDED.seq;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER segment_feed_residents
    AFTER INSERT OR DELETE OR UPDATE OF birth_date, district, language, interests, pending ON residents
    FOR EACH ROW EXECUTE FUNCTION segment_feed_record();
CREATE TRIGGER segment_feed_addresses
    AFTER INSERT OR DELETE OR UPDATE OF resident_id, channel, active ON resident_addresses
    FOR EACH ROW EXECUTE FUNCTION segment_feed_record();
