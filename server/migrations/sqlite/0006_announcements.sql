-- Announcements, and the territory each akim governs (which decides the akim's level: how far
-- ahead meetings are announced and what the calendar must cover).
ALTER TABLE accounts ADD COLUMN territory_id BIGINT REFERENCES territories (id);
-- When the meeting was announced; an unscheduled meeting may be announced later than the rule
-- set's lead time, which `announced_late` records.
ALTER TABLE meetings ADD COLUMN announced_at BIGINT;
ALTER TABLE meetings ADD COLUMN announced_late BOOLEAN NOT NULL DEFAULT FALSE;
