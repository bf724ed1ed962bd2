-- The live channel: each meeting's event log, and the problem issues its questions became.

-- One row per event, gap-free `seq` within a meeting. `body` is the event as staff (and, for
-- events shown to one viewer only, that viewer) see it; `public_body` is what everyone else
-- sees when it differs; `redacted` marks public forms that carry nothing.
CREATE TABLE live_events (
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL,
    public_body TEXT,
    audience_viewer_id BIGINT,
    redacted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (meeting_id, seq)
);

-- A question from the live channel, kept as a problem issue of the meeting's issue list.
CREATE TABLE problem_issues (
    id INTEGER PRIMARY KEY,
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    question_number BIGINT NOT NULL,
    text TEXT NOT NULL,
    -- queued, on_air, answered, dismissed or merged
    state TEXT NOT NULL,
    -- The answer summary, the dismissal reason, or the question it was merged into.
    outcome TEXT,
    votes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (meeting_id, question_number)
);

-- Every comment an issue was made of or merged from.
CREATE TABLE problem_issue_sources (
    issue_id BIGINT NOT NULL REFERENCES problem_issues (id),
    comment_number BIGINT NOT NULL,
    author_viewer_id BIGINT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    posted_at BIGINT NOT NULL,
    PRIMARY KEY (issue_id, comment_number)
);
