-- Restream destinations: where a meeting's broadcast is pushed by RTMP(S), usually the
-- akimat's official social-media accounts. An akim's defaults have `account_id` set and are
-- copied to each new meeting of theirs; a meeting's own have `meeting_id`. The stream key is
-- stored sealed with the server's secret key (server/src/secrets.rs), never in clear;
-- `key_hint` is its masked form (`••••f3a9`), shown instead of it.
CREATE TABLE restream_destinations (
    id INTEGER PRIMARY KEY,
    meeting_id BIGINT REFERENCES meetings (id),
    account_id BIGINT REFERENCES accounts (id),
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    ingest_url TEXT NOT NULL,
    stream_key_sealed TEXT NOT NULL,
    key_hint TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK ((meeting_id IS NULL) <> (account_id IS NULL))
);
CREATE INDEX restream_destinations_meeting ON restream_destinations (meeting_id, id);
CREATE INDEX restream_destinations_account ON restream_destinations (account_id, id);
