// The civil day, month and year as the server counts them, for the browser tests.
//
// The server reckons every date in its configured `[meetings] time_zone` (Asia/Almaty by
// default), and so do the pages. A test that took "today" or "this year" from the machine's zone
// would pass while the two zones share a date and fail while they do not, so tests/run runs the
// tests with the machine's zone set to one whose day differs from the server's. Every civil date
// a browser test uses comes from here; tests/integration/local_zone.rs fails on any other read
// of a zone in the tests.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The zone of config/default.toml's [meetings] section, which the test servers run with. */
function configuredZone() {
  const config = readFileSync(path.join(REPO_ROOT, 'config', 'default.toml'), 'utf8');
  const section = config.split(/^\[meetings\]\s*$/m)[1]?.split(/^\[/m)[0] ?? '';
  const zone = /^time_zone\s*=\s*"([^"]+)"/m.exec(section)?.[1];
  if (!zone) throw new Error('config/default.toml names no [meetings] time_zone');
  return zone;
}

export const SERVER_TIME_ZONE = configuredZone();

/** The numeric parts of `instant` in the server's zone: {year, month, day, hour, minute}. */
export function serverParts(instant = new Date()) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: SERVER_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(instant);
  const part = (type) => Number(parts.find((entry) => entry.type === type).value);
  return { year: part('year'), month: part('month'), day: part('day'), hour: part('hour'), minute: part('minute') };
}

const two = (number) => String(number).padStart(2, '0');

/** The server's today, `offsetDays` later (or earlier), as `YYYY-MM-DD`. */
export function serverDay(offsetDays = 0, instant = new Date()) {
  const { year, month, day } = serverParts(instant);
  // Civil arithmetic on a UTC date of the same numbers: no zone's midnight is involved.
  return new Date(Date.UTC(year, month - 1, day + offsetDays)).toISOString().slice(0, 10);
}

/** The year `instant` falls in, in the server's zone. */
export function serverYear(instant = new Date()) {
  return serverParts(instant).year;
}

/** The month `instant` falls in, in the server's zone, as `YYYY-MM`. */
export function serverMonth(instant = new Date()) {
  const { year, month } = serverParts(instant);
  return `${year}-${two(month)}`;
}

/** `instant` as a `datetime-local` value (`YYYY-MM-DDTHH:MM`) in the server's zone. */
export function serverLocalInput(instant) {
  const { year, month, day, hour, minute } = serverParts(instant);
  return `${year}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}`;
}

/** `instant` formatted for `locale` with Intl `options`, in the server's zone. */
export function formatInServerZone(instant, locale, options) {
  return new Intl.DateTimeFormat(locale, { ...options, timeZone: SERVER_TIME_ZONE }).format(instant);
}

/** The server zone's offset from UTC at `instant`, as `+05:00`. */
export function serverUtcOffset(instant = new Date()) {
  const name = new Intl.DateTimeFormat('en-GB', { timeZone: SERVER_TIME_ZONE, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((part) => part.type === 'timeZoneName').value;
  // "GMT" alone is UTC itself.
  return name === 'GMT' ? '+00:00' : name.slice(3);
}
