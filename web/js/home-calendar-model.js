// The home page's calendar, as pure rules free of the DOM and of the UI language so that Node
// tests (tests/web/admin-model.test.mjs) can check them: the upcoming meetings grouped by the
// month they begin in (in their own time zone, Almaty unless the server says otherwise), the
// akims and territories whose iCalendar feeds to offer, and the feeds' addresses.

import { MEETINGS_TIME_ZONE } from './time-zone.js';

export const DEFAULT_TIME_ZONE = MEETINGS_TIME_ZONE;
export const FEED_LANGUAGES = ['kk', 'ru', 'en'];

/** The year and month (`YYYY-MM`) an instant falls in, in `timeZone`; null for a bad instant. */
export function monthOf(isoText, timeZone = DEFAULT_TIME_ZONE) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return null;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timeZone || DEFAULT_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
  }).formatToParts(date);
  const part = (type) => parts.find((entry) => entry.type === type)?.value;
  return `${part('year')}-${part('month')}`;
}

/**
 * The meetings grouped by month, earliest first: [{month: 'YYYY-MM', year, meetings}], each
 * month's meetings by planned start. Meetings without a readable start are left out.
 */
export function monthGroups(meetings) {
  const groups = new Map();
  const dated = (Array.isArray(meetings) ? meetings : [])
    .filter((meeting) => !Number.isNaN(Date.parse(meeting?.planned_start)))
    .sort((a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start) || a.id - b.id);
  for (const meeting of dated) {
    const month = monthOf(meeting.planned_start, meeting.time_zone);
    if (!groups.has(month)) groups.set(month, []);
    groups.get(month).push(meeting);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([month, members]) => ({ month, year: Number(month.slice(0, 4)), meetings: members }));
}

/** The distinct akims of the meetings, first meeting first: [{id, year}] (the year of their first meeting). */
export function akimsOf(meetings) {
  const seen = new Map();
  for (const { meetings: members } of monthGroups(meetings)) {
    for (const meeting of members) {
      if (!meeting.akim_account_id || seen.has(meeting.akim_account_id)) continue;
      seen.set(meeting.akim_account_id, { id: meeting.akim_account_id, year: Number(monthOf(meeting.planned_start, meeting.time_zone).slice(0, 4)) });
    }
  }
  return [...seen.values()];
}

/** The distinct territory ids of the meetings, first meeting first. */
export function territoriesOf(meetings) {
  const ids = [];
  for (const { meetings: members } of monthGroups(meetings)) {
    for (const meeting of members) {
      if (meeting.territory_id && !ids.includes(meeting.territory_id)) ids.push(meeting.territory_id);
    }
  }
  return ids;
}

/** An iCalendar feed's address: `kind` is `akim` or `territory`; `lang` names its language. */
export function feedUrl(kind, id, lang = null) {
  const base = kind === 'akim' ? `/api/akims/${encodeURIComponent(id)}/calendar.ics` : `/api/territories/${encodeURIComponent(id)}/calendar.ics`;
  return FEED_LANGUAGES.includes(lang) ? `${base}?lang=${lang}` : base;
}
