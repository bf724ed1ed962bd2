-- Recordings of the meetings' broadcasts, and the replays made of them.

-- A meeting's recording as a whole. `recording` while its parts are written; `processing`
-- while one node (`claimed_by`, until `claimed_until`) makes the replay of the ended meeting;
-- then `ready`, or `failed` with its `error`. A deleted recording keeps its row, in state
-- `deleted`, with who deleted it and when: the row is the record of the deletion.
CREATE TABLE recordings (
    meeting_id BIGINT PRIMARY KEY REFERENCES meetings (id),
    state TEXT NOT NULL CHECK (state IN ('recording', 'processing', 'ready', 'failed', 'deleted')),
    claimed_by TEXT,
    claimed_until BIGINT,
    error TEXT,
    deleted_at BIGINT,
    deleted_by BIGINT REFERENCES accounts (id),
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX recordings_by_state ON recordings (state);

-- One on-air period as the origin node recorded it: a Matroska file of the publisher's own
-- codecs, written as it goes, at `meeting-{id}/part-{number}.mkv` in the recordings' folder.
-- Its writer renews `alive_until`; a part whose writer stopped renewing it (a killed server, a
-- lost node) is closed by whichever node sweeps next. `file_number` and `offset_ms` place it
-- in the replay once that is made.
CREATE TABLE recording_parts (
    id INTEGER PRIMARY KEY,
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    number INTEGER NOT NULL,
    node TEXT NOT NULL,
    video_codec TEXT,
    audio_codec TEXT,
    started_at BIGINT NOT NULL,
    alive_until BIGINT NOT NULL,
    ended_at BIGINT,
    duration_ms BIGINT,
    bytes BIGINT,
    file_number INTEGER,
    offset_ms BIGINT,
    UNIQUE (meeting_id, number)
);
CREATE INDEX recording_parts_open ON recording_parts (ended_at, alive_until);

-- The replay: one browser-playable file per run of parts with the same codecs (nearly always
-- one), played one after another.
CREATE TABLE recording_files (
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    number INTEGER NOT NULL,
    path TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, number)
);
