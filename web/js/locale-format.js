// Dates the shared formatters of i18n.js do not cover, in the page's language (the `lang` that
// i18n.js sets on <html>): a month of a year ("March 2026"), a day of the year without one
// ("15 January"), and an instant to the second in Almaty.

import { KAZAKH_MONTHS, dateParts } from './i18n.js';
import { MEETINGS_TIME_ZONE } from './time-zone.js';

const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
const ALMATY = MEETINGS_TIME_ZONE;

function locale() {
  return LOCALES[document.documentElement.lang] ?? LOCALES.ru;
}

/** A month `YYYY-MM` in words, "March 2026", as a heading (capitalized). */
export function formatMonth(month) {
  const match = /^(\d{4})-(\d{2})$/.exec(month ?? '');
  if (!match) return '—';
  if (document.documentElement.lang === 'kk') {
    const name = KAZAKH_MONTHS[Number(match[2]) - 1] ?? '';
    return `${name.charAt(0).toLocaleUpperCase('kk')}${name.slice(1)} ${match[1]}`;
  }
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 15, 12));
  const text = new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', month: 'long', year: 'numeric' }).format(date);
  return text.charAt(0).toLocaleUpperCase(locale()) + text.slice(1);
}

/** A day of any year, {month, day}, in words: "15 January". */
export function formatMonthDay({ month, day }) {
  if (document.documentElement.lang === 'kk') return `${day} ${KAZAKH_MONTHS[month - 1] ?? ''}`;
  // 2024 is a leap year, so 29 February is a day too.
  const date = new Date(Date.UTC(2024, month - 1, day, 12));
  return new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', day: 'numeric', month: 'long' }).format(date);
}

/** An instant to the second in Almaty: "28 Nov 2026, 14:05:09". */
export function formatInstantSeconds(isoText, timeZone = ALMATY) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return '—';
  if (document.documentElement.lang === 'kk') {
    const parts = dateParts(date, timeZone || ALMATY);
    return `${parts.day} ${KAZAKH_MONTHS[parts.month - 1]} ${parts.year} ж., ${parts.hour}:${parts.minute}:${parts.second}`;
  }
  return new Intl.DateTimeFormat(locale(), {
    timeZone: timeZone || ALMATY,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(date);
}
