-- やさしい日本語 has one code everywhere: `ja-easy` (issue 15). Segment rules used to spell it `easy-ja` while
-- residents, imports and /register stored `ja-easy`, so a rule for やさしい日本語 reached nobody. Rewrite the
-- stored rules of notices and surveys, any per-language templates keyed by the old code, and any resident stored
-- with it. (The rule parser still reads `easy-ja` as `ja-easy` for rules sent by older clients.)
UPDATE notices SET segment = REPLACE(segment, '"easy-ja"', '"ja-easy"') WHERE segment LIKE '%easy-ja%';
UPDATE notices SET templates = REPLACE(templates, '"easy-ja"', '"ja-easy"') WHERE templates LIKE '%easy-ja%';
UPDATE surveys SET segment = REPLACE(segment, '"easy-ja"', '"ja-easy"') WHERE segment LIKE '%easy-ja%';
UPDATE residents SET language = 'ja-easy' WHERE language = 'easy-ja';
