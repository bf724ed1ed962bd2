// The calendar, compliance and reception pages' pure rules, free of the DOM and of the UI
// language so that Node tests (tests/web/calendar-model.test.mjs) can check them: the compliance
// filters and the calendar's akim and year as read from and written to a URL query (the API
// refuses unknown parameters, so only known, well-formed ones pass), the territories an akim's
// calendar may plan in (the akim's own and everything inside it, from parent_id), which link
// from user data may be shown as a link, the reception form's local time in Almaty as RFC 3339,
// its officials one per line, and who may keep a calendar or arrange receptions.

import { MEETINGS_TIME_ZONE, MEETINGS_UTC_OFFSET } from './time-zone.js';

export const PERIODS = ['quarter', 'half_year', 'year'];
export const DEFAULT_PERIOD = 'quarter';
export const REVISION_STATES = ['draft', 'agreed', 'submitted'];
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2199;
/** Asia/Almaty's offset: the whole of Kazakhstan keeps UTC+5. */
export const ALMATY_OFFSET = MEETINGS_UTC_OFFSET;
export const ALMATY = MEETINGS_TIME_ZONE;

const POSITIVE_ID = /^[1-9]\d{0,15}$/;
const YEAR = /^\d{4}$/;

/** A year 2000–2199 from text, or `fallback`. */
export function readYear(text, fallback) {
  const trimmed = String(text ?? '').trim();
  if (!YEAR.test(trimmed)) return fallback;
  const year = Number(trimmed);
  return year >= MIN_YEAR && year <= MAX_YEAR ? year : fallback;
}

/** A positive id from text, or null. */
export function readId(text) {
  const trimmed = String(text ?? '').trim();
  return POSITIVE_ID.test(trimmed) ? Number(trimmed) : null;
}

/** The year (a number) of an instant in `timeZone`; `now` by default. */
export function yearIn(timeZone = ALMATY, instant = new Date()) {
  const date = instant instanceof Date ? instant : new Date(instant);
  if (Number.isNaN(date.getTime())) return null;
  return Number(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric' }).format(date));
}

// ---------------------------------------------------------------------------------------------
// The compliance dashboard's filters

/** The dashboard's filters asked for by a URL query; `currentYear` when it names none. */
export function readComplianceFilters(search, currentYear) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? '');
  const get = (key) => (params.get(key) ?? '').trim();
  return {
    year: readYear(get('year'), currentYear),
    period: PERIODS.includes(get('period')) ? get('period') : DEFAULT_PERIOD,
    territory_id: POSITIVE_ID.test(get('territory_id')) ? get('territory_id') : '',
  };
}

/** The query (without `?`) of the dashboard's filters: year first, defaults left out. */
export function complianceQuery(filters) {
  const params = new URLSearchParams();
  params.set('year', String(filters.year));
  if (filters.period && filters.period !== DEFAULT_PERIOD) params.set('period', filters.period);
  if (filters.territory_id) params.set('territory_id', String(filters.territory_id));
  return params.toString();
}

export function compliancePageUrl(filters) {
  return `/compliance.html?${complianceQuery(filters)}`;
}

/** The API call for the dashboard's figures, as JSON or as the CSV download. */
export function complianceApiPath(filters, format = 'json') {
  const query = complianceQuery(filters);
  return format === 'csv' ? `/api/compliance?${query}&format=csv` : `/api/compliance?${query}`;
}

// ---------------------------------------------------------------------------------------------
// The yearly calendar

/** The akim (an id or null) and year a calendar page's address names. */
export function readCalendarAddress(search, currentYear) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? '');
  return { akim: readId(params.get('akim')), year: readYear(params.get('year'), currentYear) };
}

export function calendarPageUrl(akim, year) {
  return `/calendar.html?akim=${encodeURIComponent(akim)}&year=${encodeURIComponent(year)}`;
}

/**
 * The ids of territory `rootId` and of every territory inside it (children, their children…),
 * root first, from each territory's `parent_id`. A loop in bad data cannot hang the page.
 */
export function territoryAndInside(territories, rootId) {
  const list = Array.isArray(territories) ? territories : [];
  if (!list.some((territory) => territory.id === rootId)) return [];
  const children = new Map();
  for (const territory of list) {
    if (territory.parent_id === null || territory.parent_id === undefined) continue;
    if (!children.has(territory.parent_id)) children.set(territory.parent_id, []);
    children.get(territory.parent_id).push(territory.id);
  }
  const found = [rootId];
  const seen = new Set(found);
  for (let index = 0; index < found.length; index += 1) {
    for (const child of children.get(found[index]) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      found.push(child);
    }
  }
  return found;
}

/** The revision the page shows first: the one in force, or else the latest the reader may see. */
export function shownRevision(view) {
  const revisions = Array.isArray(view?.revisions) ? view.revisions : [];
  if (revisions.length === 0) return null;
  const inForce = revisions.find((revision) => revision.revision === view.in_force);
  return inForce ?? revisions[revisions.length - 1];
}

/** The latest revision of a year's calendar (drafts included, for those who see them). */
export function latestRevision(view) {
  const revisions = Array.isArray(view?.revisions) ? view.revisions : [];
  return revisions.length ? revisions[revisions.length - 1] : null;
}

/**
 * The next thing the calendar's keeper may do with the year's calendar: `start` the first
 * revision, `edit` a draft (save, agree), `submit` an agreed one (or `correct` it), or
 * `correct` a submitted one.
 */
export function keeperStep(view) {
  const latest = latestRevision(view);
  if (latest === null) return 'start';
  if (latest.state === 'draft') return 'edit';
  if (latest.state === 'agreed') return 'submit';
  return 'correct';
}

/**
 * Problems with the planned meetings as typed, before they are sent: for each row (0-based
 * `index`) the fields missing or malformed (`territory`, `date`, `time`, `place`, `online_link`).
 * The server checks everything again; this only spares a round trip.
 */
export function entryProblems(entries, year) {
  const problems = [];
  (entries ?? []).forEach((entry, index) => {
    const fields = [];
    if (!readId(entry.territory_id)) fields.push('territory');
    const date = String(entry.date ?? '');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number(date.slice(0, 4)) !== Number(year)) fields.push('date');
    if (entry.time && !/^\d{2}:\d{2}$/.test(entry.time)) fields.push('time');
    if (String(entry.place ?? '').trim() === '') fields.push('place');
    const link = String(entry.online_link ?? '').trim();
    if (link !== '' && !isWebLink(link)) fields.push('online_link');
    if (fields.length) problems.push({ index, fields });
  });
  return problems;
}

/** Entries as the API takes them: trimmed, ids as numbers, an empty time as null. */
export function entriesForApi(entries) {
  return (entries ?? []).map((entry) => ({
    territory_id: Number(entry.territory_id),
    date: String(entry.date ?? '').trim(),
    time: String(entry.time ?? '').trim() || null,
    place: String(entry.place ?? '').trim(),
    online_link: String(entry.online_link ?? '').trim(),
  }));
}

/** Planned meetings in date (then time) order, for reading. */
export function sortedEntries(entries) {
  return [...(entries ?? [])].sort((a, b) => {
    const left = `${a.date ?? ''} ${a.time ?? ''}`;
    const right = `${b.date ?? ''} ${b.time ?? ''}`;
    return left < right ? -1 : left > right ? 1 : 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Links and times

/**
 * Whether text from user data may be shown as a link: an absolute http:// or https:// address
 * with a host and no white space, quotes or angle brackets. Anything else is shown as text.
 */
export function isWebLink(text) {
  const value = String(text ?? '');
  if (!/^https?:\/\/[^/?#]/.test(value) || value.length > 2000) return false;
  if (/[\s"'<>\\\u0000-\u001f\u007f]/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A `datetime-local` input's value (`YYYY-MM-DDTHH:MM`, read as Almaty time whatever the
 * device's zone) as RFC 3339 with Almaty's offset, or null when it is not one.
 */
export function localDateTimeToRfc3339(value, offset = ALMATY_OFFSET) {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(value ?? '').trim());
  if (!match) return null;
  const [, day, hours, minutes, seconds = '00'] = match;
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) return null;
  return `${day}T${hours}:${minutes}:${seconds}${offset}`;
}

/** An instant as a `datetime-local` value in `timeZone` (Almaty), or '' when it is not one. */
export function instantToLocalInput(instant, timeZone = ALMATY) {
  const date = instant instanceof Date ? instant : new Date(instant);
  if (!instant || Number.isNaN(date.getTime())) return '';
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const part = (type) => parts.find((entry) => entry.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}`;
}

// ---------------------------------------------------------------------------------------------
// Receptions

// "Name — position": an em or en dash, or a hyphen with spaces around it, splits the line once.
const OFFICIAL_SEPARATOR = /\s*[—–]\s*|\s+-\s+/;

/**
 * Officials typed one per line as "Name — position" (the position may be left out). Returns
 * {officials: [{name, position}], bad: [1-based numbers of lines with no name]}; empty lines
 * are skipped.
 */
export function parseOfficials(text) {
  const officials = [];
  const bad = [];
  String(text ?? '')
    .split(/\r?\n/)
    .forEach((line, index) => {
      const trimmed = line.trim();
      if (trimmed === '') return;
      const separator = OFFICIAL_SEPARATOR.exec(trimmed);
      const name = (separator ? trimmed.slice(0, separator.index) : trimmed).trim();
      const position = separator ? trimmed.slice(separator.index + separator[0].length).trim() : '';
      if (name === '') bad.push(index + 1);
      else officials.push({ name, position });
    });
  return { officials, bad };
}

/** Officials back as lines "Name — position". */
export function officialsText(officials) {
  return (officials ?? [])
    .map((official) => (official.position ? `${official.name} — ${official.position}` : official.name))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Who may do what (the server decides; the pages only offer what it would allow)

/** The akim themself and admins keep an akim's calendar. */
export function mayKeepCalendar(account, akimId) {
  if (!account || account.disabled) return false;
  if (account.role === 'admin') return true;
  return account.role === 'akim' && Number(account.id) === Number(akimId);
}

/** Admins, the commission and the meeting's akim arrange a meeting's receptions. */
export function mayArrangeReceptions(account, meeting) {
  if (!account || account.disabled || !meeting) return false;
  if (account.role === 'admin' || account.role === 'commission') return true;
  return account.role === 'akim' && Number(account.id) === Number(meeting.akim_account_id);
}
