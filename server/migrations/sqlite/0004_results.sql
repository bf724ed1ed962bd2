-- A meeting's published results (the decree: within ten calendar days of its end, the results,
-- the list of problem issues and the action plan). `published_at` is the first publication
-- and never changes, so the ten-day rule can be checked; later edits move `updated_at`.
CREATE TABLE meeting_results (
    meeting_id BIGINT PRIMARY KEY REFERENCES meetings (id),
    summary TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT NOT NULL REFERENCES accounts (id),
    updated_at BIGINT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES accounts (id)
);
