-- FAQ sentence vectors by content (SHA-256 of the text, hex) and the model that made them: a restart, another hub
-- process or a console edit of one entry reuses the vectors of every unchanged text instead of encoding it again.
CREATE TABLE faq_vectors (
    model         TEXT NOT NULL,
    text_hash     TEXT NOT NULL,
    vector        BYTEA NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (model, text_hash)
);
