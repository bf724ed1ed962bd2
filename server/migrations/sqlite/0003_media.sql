-- The broadcast: each meeting's stream key, which its akim (or OBS) presents to publish by WHIP.
-- Kept readable, not hashed: the akim must be able to see it again to set up OBS, as with any
-- streaming service. Rotating it replaces the row.
CREATE TABLE meeting_stream_keys (
    meeting_id BIGINT PRIMARY KEY REFERENCES meetings (id),
    stream_key TEXT NOT NULL,
    rotated_at BIGINT NOT NULL,
    rotated_by BIGINT REFERENCES accounts (id)
);
