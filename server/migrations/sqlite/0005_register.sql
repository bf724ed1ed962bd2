-- The register of problem issues: what citizens raised, by any channel, and what is done about it.
--
-- The live channel's `problem_issues` rows belong to the rooms, which rewrite them on every
-- commit; the register links to them as sources and keeps its own data here.

CREATE TABLE register_issues (
    id INTEGER PRIMARY KEY,
    -- The meeting the issue was raised for, if any.
    meeting_id BIGINT REFERENCES meetings (id),
    territory_id BIGINT REFERENCES territories (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- A code from the configured category list.
    category TEXT,
    -- new, accepted, planned, in_progress, resolved, rejected or escalated
    status TEXT NOT NULL,
    -- The rejection reason or the note of the last change of status; published.
    status_note TEXT,
    -- oblast or central, once escalated
    escalation_level TEXT,
    accepted_at BIGINT,
    escalated_at BIGINT,
    -- On the akim's briefing list for the meeting.
    on_briefing BOOLEAN NOT NULL DEFAULT FALSE,
    -- While false, the title follows the live question's wording.
    title_edited BOOLEAN NOT NULL DEFAULT FALSE,
    -- Set when the issue was merged into another, which now holds its sources.
    merged_into BIGINT REFERENCES register_issues (id),
    -- The kind and id of the source the issue was raised by; they never change, whatever is
    -- merged in later. (No foreign key: the source row is written just after the issue's.)
    origin_kind TEXT NOT NULL,
    origin_source BIGINT,
    -- In the public list: the core's `publicly_listed`, worked out at every write, so that the
    -- public list pages in SQL.
    listed BOOLEAN NOT NULL DEFAULT FALSE,
    -- The sum of the sources' supporters, kept with every write to them, for the priority order.
    supporters BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX register_issues_by_meeting ON register_issues (meeting_id);
CREATE INDEX register_issues_by_status ON register_issues (status);
CREATE INDEX register_issues_listed ON register_issues (listed, id);
CREATE INDEX register_issues_priority ON register_issues (listed, supporters DESC, id);
CREATE INDEX register_issues_by_supporters ON register_issues (supporters DESC, id);

-- Where an issue came from. Merging moves sources to the issue merged into; none is ever deleted.
CREATE TABLE issue_sources (
    id INTEGER PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES register_issues (id),
    -- live_question, request, commission or import
    kind TEXT NOT NULL,
    meeting_id BIGINT REFERENCES meetings (id),
    -- For a live question: its row in the live channel's projection.
    problem_issue_id BIGINT UNIQUE REFERENCES problem_issues (id),
    -- For an import: the channel and the row's id there, which make imports idempotent.
    channel TEXT,
    external_id TEXT,
    text TEXT NOT NULL,
    -- How many people this source speaks for; a merged live question counts nothing, as the
    -- question it joined counts its voters.
    supporters BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    -- Lets the citizen follow the issue; a read-only capability, shown once to them.
    receipt_code TEXT UNIQUE,
    created_by BIGINT REFERENCES accounts (id),
    UNIQUE (channel, external_id)
);
CREATE INDEX issue_sources_by_issue ON issue_sources (issue_id);

-- The citizen's name and contact on a request or an entry. Personal data: no public query
-- reads this table.
CREATE TABLE issue_source_contacts (
    source_id BIGINT PRIMARY KEY REFERENCES issue_sources (id),
    name TEXT NOT NULL,
    contact TEXT
);

-- A viewer's receipt: follows every comment of theirs that became a question.
CREATE TABLE viewer_receipts (
    code TEXT PRIMARY KEY,
    viewer_id BIGINT NOT NULL UNIQUE REFERENCES viewers (id),
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    created_at BIGINT NOT NULL
);

CREATE TABLE action_items (
    id INTEGER PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES register_issues (id),
    measure TEXT NOT NULL,
    executor_organisation TEXT NOT NULL,
    executor_person TEXT NOT NULL,
    -- Civil dates, 'YYYY-MM-DD', which compare as text.
    deadline TEXT NOT NULL,
    financing_needed BOOLEAN NOT NULL,
    -- Whole tenge.
    financing_amount BIGINT,
    maslikhat_session_on TEXT,
    done_on TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX action_items_by_issue ON action_items (issue_id);

CREATE TABLE progress_updates (
    id INTEGER PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES register_issues (id),
    reported_on TEXT NOT NULL,
    text TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX progress_updates_by_issue ON progress_updates (issue_id);

-- Every change of an issue, kept forever: who (null for the live channel), when, and what.
CREATE TABLE issue_history (
    id INTEGER PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES register_issues (id),
    at BIGINT NOT NULL,
    account_id BIGINT REFERENCES accounts (id),
    action TEXT NOT NULL,
    -- JSON; never holds a citizen's name or contact.
    detail TEXT NOT NULL
);
CREATE INDEX issue_history_by_issue ON issue_history (issue_id);

-- The question a merged live question joined, so the register can merge their issues too.
ALTER TABLE problem_issues ADD COLUMN merged_into_question BIGINT;
