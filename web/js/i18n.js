// Owns the UI language: the remembered choice, the language switch, the dictionaries pages
// register (`registerStrings`), picking a language out of {kk, ru, en} data, and formatting times
// in Almaty. It holds no text of its own: what every page shares (the header and navigation,
// common words and errors, the meeting's nouns) is `web/js/strings/shared.js`, registered here,
// and a page's or a component's own strings live in `web/js/strings/<page>.js`.
// tests/web/strings.test.mjs checks that every key a page uses is registered on it, and that kk,
// ru and en have the same keys and placeholders.

import sharedStrings from './strings/shared.js';
import { MEETINGS_TIME_ZONE } from './time-zone.js';

const STORAGE_KEY = 'kezdesu.lang';
const LANGUAGES = ['kk', 'ru', 'en'];
const DEFAULT_LANGUAGE = 'ru';
const LANGUAGE_NAMES = { kk: 'Қазақша', ru: 'Русский', en: 'English' };
const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
// Data from the API is filled in Russian first most often, so that is the first fallback.
const FALLBACK_ORDER = ['ru', 'kk', 'en'];
// The server names the zone of every meeting (its `time_zone`); this is only the fallback.
const DEFAULT_TIME_ZONE = MEETINGS_TIME_ZONE;

// Every string by language: the shared ones, then each page's as it registers them.
const STRINGS = { kk: {}, ru: {}, en: {} };

let currentLanguage = readStoredLanguage();

function readStoredLanguage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(stored) ? stored : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE; // storage can be blocked in private modes
  }
}

function setLanguage(language) {
  currentLanguage = LANGUAGES.includes(language) ? language : DEFAULT_LANGUAGE;
  try {
    localStorage.setItem(STORAGE_KEY, currentLanguage);
  } catch {
    // Not remembered, but the page still switches.
  }
}

// The dictionaries already added: a component and the page that imports it may both register
// one (the presenter page and live.js both need the live channel's strings).
const registered = new Set();

/**
 * Adds a page's own strings, `{kk: {...}, ru: {...}, en: {...}}`, so that each page keeps its
 * dictionary in its own module (`web/js/strings/<page>.js`) instead of this shared file. The
 * same dictionary registered again is a no-op; a key already here from another dictionary is an
 * error: two pages must not mean different things by one key.
 */
export function registerStrings(dictionary) {
  if (registered.has(dictionary)) return;
  registered.add(dictionary);
  for (const language of LANGUAGES) {
    for (const [key, text] of Object.entries(dictionary[language] ?? {})) {
      if (key in STRINGS[language]) throw new Error(`i18n key ${key} is defined twice`);
      STRINGS[language][key] = text;
    }
  }
}

registerStrings(sharedStrings);

/** The UI string for `key` in the chosen language; `{name}` placeholders come from `params`. */
export function t(key, params = {}) {
  const template = STRINGS[currentLanguage][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The chosen language's text of a {kk, ru, en} object, falling back to ru, kk, en. */
export function pickLocalized(texts) {
  if (!texts) return '';
  for (const language of [currentLanguage, ...FALLBACK_ORDER]) {
    const text = texts[language];
    if (typeof text === 'string' && text.trim() !== '') return text;
  }
  return '';
}

// Making an Intl formatter costs far more than formatting with one, and the moderator console
// formats thousands of counts and times a minute in a flood (4 % of its main thread, when each
// call made its own). So each is made once per kind, locale and options; the set is small (the
// languages times the meetings' time zones).
const formatters = new Map();

function formatter(Kind, locale, options) {
  const key = `${Kind.name} ${locale} ${JSON.stringify(options)}`;
  let made = formatters.get(key);
  if (made === undefined) {
    made = new Kind(locale, options);
    formatters.set(key, made);
  }
  return made;
}

/**
 * A date and time shown in the meeting's time zone (Almaty unless the server says otherwise),
 * whatever the reader's device time zone is.
 */
export function formatMeetingDateTime(isoText, timeZone = DEFAULT_TIME_ZONE) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return '—';
  const zone = timeZone || DEFAULT_TIME_ZONE;
  const zoneLabel = zone === DEFAULT_TIME_ZONE ? t('time.almaty') : zone;
  if (currentLanguage === 'kk') {
    const parts = dateParts(date, zone);
    return `${KAZAKH_WEEKDAYS[parts.weekday] ?? parts.weekday}, ${kazakhDate(parts)}, ${parts.hour}:${parts.minute} (${zoneLabel})`;
  }
  const dateTime = formatter(Intl.DateTimeFormat, LOCALES[currentLanguage], {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return `${dateTime.format(date)} (${zoneLabel})`;
}

/** A calendar day given as `YYYY-MM-DD` (no time, no zone), e.g. "12 March 2026". */
export function formatCalendarDate(dayText) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dayText ?? '');
  if (!match) return '—';
  if (currentLanguage === 'kk') {
    return kazakhDate({ year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) });
  }
  // Noon UTC, shown in UTC: the same day whatever the reader's time zone.
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 12));
  return formatter(Intl.DateTimeFormat, LOCALES[currentLanguage], {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(date);
}

/** The calendar day of an instant in the meeting's time zone, e.g. "12 March 2026". */
export function formatMeetingDate(isoText, timeZone = DEFAULT_TIME_ZONE) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return '—';
  if (currentLanguage === 'kk') return kazakhDate(dateParts(date, timeZone || DEFAULT_TIME_ZONE));
  return formatter(Intl.DateTimeFormat, LOCALES[currentLanguage], {
    timeZone: timeZone || DEFAULT_TIME_ZONE,
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(date);
}

/** A time of day (hours and minutes) in the meeting's time zone. */
export function formatMeetingTime(isoText, timeZone = DEFAULT_TIME_ZONE) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return '—';
  return formatter(Intl.DateTimeFormat, LOCALES[currentLanguage], {
    timeZone: timeZone || DEFAULT_TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(date);
}

/** A count in the chosen language's digit grouping (1 843, 1,843). */
export function formatNumber(value) {
  return formatter(Intl.NumberFormat, LOCALES[currentLanguage], {}).format(value);
}

/** A share in per cent (`66.7` → "66,7 %" / "66.7%"), to one decimal at most. */
export function formatPercent(value) {
  return formatter(Intl.NumberFormat, LOCALES[currentLanguage], { style: 'percent', maximumFractionDigits: 1 }).format(
    Number(value) / 100,
  );
}

// Kazakh month and weekday names. Browsers built without Kazakh locale data (Debian's Chromium
// among them) format kk-KZ dates as "2026 M11 28, Sat", so Kazakh dates are put together here.
export const KAZAKH_MONTHS = [
  'қаңтар', 'ақпан', 'наурыз', 'сәуір', 'мамыр', 'маусым',
  'шілде', 'тамыз', 'қыркүйек', 'қазан', 'қараша', 'желтоқсан',
];
const KAZAKH_WEEKDAYS = { Mon: 'дс', Tue: 'сс', Wed: 'ср', Thu: 'бс', Fri: 'жм', Sat: 'сб', Sun: 'жс' };

/** The calendar parts of `date` in `timeZone`, as numbers (and the English weekday). */
export function dateParts(date, timeZone) {
  const parts = formatter(Intl.DateTimeFormat, 'en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'numeric',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const part = (type) => parts.find((entry) => entry.type === type)?.value ?? '';
  return {
    year: Number(part('year')),
    month: Number(part('month')),
    day: Number(part('day')),
    weekday: part('weekday'),
    hour: part('hour'),
    minute: part('minute'),
    second: part('second'),
  };
}

/** "28 қараша 2026 ж." */
function kazakhDate({ year, month, day }) {
  return `${day} ${KAZAKH_MONTHS[month - 1]} ${year} ж.`;
}

/** Fills every element marked data-i18n with its string and sets <html lang>. */
function applyStaticText() {
  document.documentElement.lang = currentLanguage;
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
}

/** Wires the page's #language-switch select; `onLanguageChange` re-renders the dynamic parts. */
export function setUpLanguageSwitch(onLanguageChange = () => {}) {
  const select = document.getElementById('language-switch');
  for (const language of LANGUAGES) {
    const option = document.createElement('option');
    option.value = language;
    option.lang = language;
    option.textContent = LANGUAGE_NAMES[language];
    select.append(option);
  }
  select.value = currentLanguage;
  select.addEventListener('change', () => {
    setLanguage(select.value);
    applyStaticText();
    onLanguageChange();
  });
  applyStaticText();
}
