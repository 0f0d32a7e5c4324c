-- The segment change feed (issue 16): every hub process keeps a live snapshot of the residents' segment
-- attributes and applies the changes listed here instead of rebuilding it. Triggers write the feed in the same
-- transaction as the change, so no writer can forget it and a change is in the feed exactly when it is committed.
-- One row per resident: the sequence number of its latest change (a forgotten resident keeps only its id here).
CREATE TABLE segment_feed (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO segment_feed (id, last_seq) VALUES (1, 0);

CREATE TABLE segment_changes (
    resident_id INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL
);
CREATE INDEX segment_changes_by_seq ON segment_changes (seq);

-- SQLite has one writer at a time, so numbers are handed out in commit order. A trigger's own conflict clause is
-- overruled by the outer statement's (an upsert's would make `INSERT OR REPLACE` fail), hence delete, then insert.
CREATE TRIGGER segment_feed_resident_insert AFTER INSERT ON residents BEGIN
    UPDATE segment_feed SET last_seq = last_seq + 1 WHERE id = 1;
    DELETE FROM segment_changes WHERE resident_id = NEW.id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (NEW.id, (SELECT last_seq FROM segment_feed WHERE id = 1));
END;
CREATE TRIGGER segment_feed_resident_update AFTER UPDATE OF birth_date, district, language, interests, pending ON residents BEGIN
    UPDATE segment_feed SET last_seq = last_seq + 1 WHERE id = 1;
    DELETE FROM segment_changes WHERE resident_id = NEW.id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (NEW.id, (SELECT last_seq FROM segment_feed WHERE id = 1));
END;
CREATE TRIGGER segment_feed_resident_delete AFTER DELETE ON residents BEGIN
    UPDATE segment_feed SET last_seq = last_seq + 1 WHERE id = 1;
    DELETE FROM segment_changes WHERE resident_id = OLD.id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (OLD.id, (SELECT last_seq FROM segment_feed WHERE id = 1));
END;
CREATE TRIGGER segment_feed_address_insert AFTER INSERT ON resident_addresses BEGIN
    UPDATE segment_feed SET last_seq = last_seq + 1 WHERE id = 1;
    DELETE FROM segment_changes WHERE resident_id = NEW.resident_id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (NEW.resident_id, (SELECT last_seq FROM segment_feed WHERE id = 1));
END;
CREATE TRIGGER segment_feed_address_update AFTER UPDATE OF resident_id, channel, active ON resident_addresses BEGIN
    UPDATE segment_feed SET last_seq = last_seq + 1 WHERE id = 1;
    DELETE FROM segment_changes WHERE resident_id = OLD.resident_id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (OLD.resident_id, (SELECT last_seq FROM segment_feed WHERE id = 1));
    DELETE FROM segment_changes WHERE resident_id = NEW.resident_id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (NEW.resident_id, (SELECT last_seq FROM segment_feed WHERE id = 1));
END;
CREATE TRIGGER segment_feed_address_delete AFTER DELETE ON resident_addresses BEGIN
    UPDATE segment_feed SET last_seq = last_seq + 1 WHERE id = 1;
    DELETE FROM segment_changes WHERE resident_id = OLD.resident_id;
    INSERT INTO segment_changes (resident_id, seq) VALUES (OLD.resident_id, (SELECT last_seq FROM segment_feed WHERE id = 1));
END;
