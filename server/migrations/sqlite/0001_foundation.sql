-- Accounts, sign-in sessions, territories, meetings and viewers.
-- Kept to SQL that PostgreSQL also speaks (BIGINT instants in Unix milliseconds, BOOLEAN,
-- TEXT), so that its migrations differ only in how ids are generated.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'akim', 'moderator', 'commission')),
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A staff sign-in. Only the SHA-256 of the token is kept, so a copy of the database
-- does not let anyone sign in.
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_by_expiry ON staff_sessions (expires_at);
CREATE INDEX staff_sessions_by_account ON staff_sessions (account_id);

CREATE TABLE territories (
    id INTEGER PRIMARY KEY,
    kato TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name_kk TEXT NOT NULL,
    name_ru TEXT NOT NULL,
    name_en TEXT NOT NULL,
    parent_id BIGINT REFERENCES territories (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    title_kk TEXT NOT NULL,
    title_ru TEXT NOT NULL,
    title_en TEXT NOT NULL,
    territory_id BIGINT NOT NULL REFERENCES territories (id),
    akim_account_id BIGINT NOT NULL REFERENCES accounts (id),
    planned_start BIGINT NOT NULL,
    planned_minutes INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('calendar', 'unscheduled')),
    -- The rule set's presentation share, fixed when the meeting goes live, so that a change
    -- of rules never moves the deadline of a meeting under way.
    presentation_share TEXT NOT NULL,
    cancelled_at BIGINT,
    presentation_started_at BIGINT,
    qa_started_at BIGINT,
    ended_at BIGINT,
    -- Optimistic concurrency: every update names the version it read.
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX meetings_by_start ON meetings (planned_start);
CREATE INDEX meetings_live ON meetings (presentation_started_at, qa_started_at, ended_at);

-- An anonymous viewer of one meeting, holding a token instead of an account.
CREATE TABLE viewers (
    id INTEGER PRIMARY KEY,
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    display_name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX viewers_by_meeting ON viewers (meeting_id);
