-- Comments from the akimat's social-media accounts (YouTube, Telegram, VK, Facebook).

-- A platform's author stands in one meeting's channel as a viewer whose token nobody holds,
-- so that time-outs and bans apply to them as to anyone. Their platform id is for moderators.
ALTER TABLE viewers ADD COLUMN platform TEXT;
ALTER TABLE viewers ADD COLUMN platform_user_id TEXT;
CREATE UNIQUE INDEX viewers_by_platform_author ON viewers (meeting_id, platform, platform_user_id);

-- An akim's connected account on a platform. The credential (tokens, the OAuth client's
-- secret) is stored sealed with the server's secret key, never in clear, and never read back
-- through the API; `hint` is its masked form.
CREATE TABLE platform_credentials (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    platform TEXT NOT NULL,
    credential_sealed TEXT NOT NULL,
    hint TEXT NOT NULL,
    connected_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, platform)
);

-- What a meeting follows on a platform (the core's `Follow`, as JSON), and where its reader
-- stands: `cursor` is written in the transaction that stores the comments read up to it, so
-- that a restart, or another node taking the meeting over, resumes there with no duplicate.
-- `status` is the reader's last status (JSON), for the nodes that do not run it.
CREATE TABLE meeting_platforms (
    meeting_id BIGINT NOT NULL REFERENCES meetings (id),
    platform TEXT NOT NULL,
    follow TEXT NOT NULL,
    cursor TEXT,
    status TEXT,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, platform)
);

-- A live question's source comment from a platform: the public `CommentSource` (platform,
-- external id, link) as JSON; NULL for a comment typed on Kezdesu's page.
ALTER TABLE problem_issue_sources ADD COLUMN source TEXT;
