-- Questionnaires (アンケート): a survey is sent as an invitation notice (same outbox, same rules for who gets
-- what); a resident may answer when the invitation reached them, while the survey is open.
CREATE TABLE surveys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT NOT NULL,
    intro           TEXT NOT NULL,
    questions       TEXT NOT NULL,
    segment         TEXT NOT NULL,
    channels        TEXT NOT NULL,
    anonymous       BIGINT NOT NULL DEFAULT 0,
    open_at_ms      BIGINT NOT NULL,
    close_at_ms     BIGINT NOT NULL,
    notice_id       BIGINT NOT NULL REFERENCES notices(id),
    anonymised_at_ms BIGINT,
    created_by      TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX surveys_by_notice ON surveys (notice_id);

-- One answer per resident and survey. `resident_id` is cleared when an anonymous survey closes; district and
-- age band are kept (as they were when answering) for the response rates.
CREATE TABLE survey_answers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id      BIGINT NOT NULL REFERENCES surveys(id),
    resident_id    BIGINT REFERENCES residents(id) ON DELETE SET NULL,
    district       TEXT,
    age_band       TEXT NOT NULL,
    channel        TEXT NOT NULL,
    answers        TEXT NOT NULL,
    answered_at_ms BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL,
    UNIQUE (survey_id, resident_id)
);

-- A LINE answer in progress: the question asked last and what was answered so far.
CREATE TABLE survey_line_sessions (
    survey_id     BIGINT NOT NULL REFERENCES surveys(id),
    resident_id   BIGINT NOT NULL REFERENCES residents(id) ON DELETE CASCADE,
    question      BIGINT NOT NULL,
    answers       TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (survey_id, resident_id)
);
