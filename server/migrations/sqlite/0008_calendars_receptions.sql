-- Where a meeting is held and where it is streamed, as announced.
ALTER TABLE meetings ADD COLUMN place TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN online_link TEXT NOT NULL DEFAULT '';

-- An akim's yearly calendar of meetings, kept as revisions: the first one is agreed with the
-- maslikhat and submitted; a correction is a new revision with its own agreement. No revision is
-- ever deleted, and only a draft changes.
CREATE TABLE calendar_revisions (
    id INTEGER PRIMARY KEY,
    akim_account_id BIGINT NOT NULL REFERENCES accounts (id),
    -- The territory the akim governed when the revision was made: what it must cover.
    territory_id BIGINT NOT NULL REFERENCES territories (id),
    year INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'agreed', 'submitted')),
    -- Why a correction was made (empty for the first revision).
    reason TEXT NOT NULL DEFAULT '',
    -- The maslikhat's agreement: the day of its decision and the decision's number.
    agreed_on TEXT,
    maslikhat_decision TEXT,
    -- The day the calendar was sent to the Government.
    submitted_on TEXT,
    version BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (akim_account_id, year, revision)
);

-- The meetings a revision plans, in order.
CREATE TABLE calendar_entries (
    revision_id BIGINT NOT NULL REFERENCES calendar_revisions (id),
    position INTEGER NOT NULL,
    territory_id BIGINT NOT NULL REFERENCES territories (id),
    planned_on TEXT NOT NULL,
    -- The local start time, "HH:MM", when already known.
    starts_at TEXT,
    place TEXT NOT NULL,
    online_link TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (revision_id, position)
);

-- Personal receptions of citizens after a meeting: slots, with the officials taking part.
CREATE TABLE reception_slots (
    id INTEGER PRIMARY KEY,
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    starts_at BIGINT NOT NULL,
    minutes INTEGER NOT NULL,
    place TEXT NOT NULL,
    -- A JSON array of {"name", "position"}: public, like the officials' offices.
    officials TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    booked INTEGER NOT NULL DEFAULT 0,
    cancelled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reception_slots_by_meeting ON reception_slots (meeting_id, starts_at);

-- A citizen's booking of a slot, with the topic. The name and contact are personal data, read
-- only by those who manage the meeting; the holder of the receipt code reads their own booking.
CREATE TABLE reception_bookings (
    id INTEGER PRIMARY KEY,
    slot_id BIGINT NOT NULL REFERENCES reception_slots (id),
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    topic TEXT NOT NULL,
    -- The SHA-256 of the normalized contact: one booking per person and slot.
    contact_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,
    cancelled_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX reception_bookings_by_slot ON reception_bookings (slot_id);
CREATE UNIQUE INDEX reception_bookings_once ON reception_bookings (slot_id, contact_hash)
    WHERE cancelled_at IS NULL;

-- The problem issues a reception raised.
CREATE TABLE reception_issues (
    booking_id BIGINT NOT NULL REFERENCES reception_bookings (id),
    issue_id BIGINT NOT NULL REFERENCES register_issues (id),
    linked_by BIGINT REFERENCES accounts (id),
    linked_at BIGINT NOT NULL,
    PRIMARY KEY (booking_id, issue_id)
);
CREATE INDEX reception_issues_by_issue ON reception_issues (issue_id);
