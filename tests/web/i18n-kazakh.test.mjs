// Kazakh dates are put together by i18n.js, since browsers without Kazakh locale data (Debian's
// Chromium among them) would show "2026 M11 28, Sat".

import assert from 'node:assert/strict';
import { test } from 'node:test';

// The remembered language is Kazakh; i18n.js reads it when it loads.
globalThis.localStorage = { getItem: () => 'kk', setItem: () => {} };
const { formatCalendarDate, formatMeetingDate, formatMeetingDateTime } = await import('../../web/js/i18n.js');

test('Kazakh dates use Kazakh month and weekday names, in Almaty time', () => {
  assert.equal(formatCalendarDate('2026-11-28'), '28 қараша 2026 ж.');
  assert.equal(formatCalendarDate('2027-01-05'), '5 қаңтар 2027 ж.');
  // 19:30 UTC on 31 December is already 1 January in Almaty (UTC+5).
  assert.equal(formatMeetingDate('2026-12-31T19:30:00Z'), '1 қаңтар 2027 ж.');
  assert.equal(formatMeetingDateTime('2026-03-02T05:00:00Z'), 'дс, 2 наурыз 2026 ж., 10:00 (Алматы уақыты)');
});
