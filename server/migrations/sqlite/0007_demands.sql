-- Meetings at the population's demand: a public demand on a territory, and the distinct people
-- who support it. Reaching the configured number of supporters obliges the akim to hold a
-- meeting by a deadline.
CREATE TABLE meeting_demands (
    id INTEGER PRIMARY KEY,
    territory_id BIGINT NOT NULL REFERENCES territories (id),
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    supporters BIGINT NOT NULL DEFAULT 0,
    -- When the supporters reached the threshold; the obligation runs from that day.
    reached_at BIGINT,
    -- The meeting scheduled for it.
    meeting_id BIGINT REFERENCES meetings (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX meeting_demands_by_territory ON meeting_demands (territory_id);

-- Who supports a demand, once each: `identity_hash` is the SHA-256 of the supporter's
-- normalized contact. The name and contact are personal data: no public query reads them.
CREATE TABLE demand_supporters (
    demand_id BIGINT NOT NULL REFERENCES meeting_demands (id),
    identity_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    supported_at BIGINT NOT NULL,
    PRIMARY KEY (demand_id, identity_hash)
);
