// The calendar, compliance and reception pages' pure rules (web/js/calendar-model.js): filters in
// the address and in API calls (nothing malformed may pass), the territories a calendar may plan
// in, which links from user data may be links, Almaty local time as RFC 3339, officials one per
// line, the keeper's next step, and who may keep a calendar or arrange receptions.
// Run with `node --test tests/web`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  calendarPageUrl,
  complianceApiPath,
  compliancePageUrl,
  entriesForApi,
  entryProblems,
  instantToLocalInput,
  isWebLink,
  keeperStep,
  localDateTimeToRfc3339,
  mayArrangeReceptions,
  mayKeepCalendar,
  officialsText,
  parseOfficials,
  readCalendarAddress,
  readComplianceFilters,
  shownRevision,
  territoryAndInside,
  yearIn,
} from '../../web/js/calendar-model.js';

test('compliance filters are read from the address, dropping anything unknown or malformed', () => {
  assert.deepEqual(readComplianceFilters('?year=2027&period=half_year&territory_id=12', 2026), {
    year: 2027,
    period: 'half_year',
    territory_id: '12',
  });
  assert.deepEqual(readComplianceFilters('?year=1999&period=month&territory_id=-1&format=csv', 2026), {
    year: 2026,
    period: 'quarter',
    territory_id: '',
  });
  assert.deepEqual(readComplianceFilters('?year=20277', 2026).year, 2026);
  assert.deepEqual(readComplianceFilters('?territory_id=1%3Bdrop', 2026).territory_id, '');
});

test('compliance filters make the page address, the API call and the CSV link alike', () => {
  const filters = { year: 2026, period: 'quarter', territory_id: '' };
  assert.equal(compliancePageUrl(filters), '/compliance.html?year=2026');
  assert.equal(complianceApiPath(filters), '/api/compliance?year=2026');
  assert.equal(complianceApiPath(filters, 'csv'), '/api/compliance?year=2026&format=csv');
  const narrowed = { year: 2026, period: 'year', territory_id: '5' };
  assert.equal(compliancePageUrl(narrowed), '/compliance.html?year=2026&period=year&territory_id=5');
  assert.equal(complianceApiPath(narrowed, 'csv'), '/api/compliance?year=2026&period=year&territory_id=5&format=csv');
});

test('a calendar address names an akim and a year', () => {
  assert.deepEqual(readCalendarAddress('?akim=3&year=2027', 2026), { akim: 3, year: 2027 });
  assert.deepEqual(readCalendarAddress('?akim=x&year=abc', 2026), { akim: null, year: 2026 });
  assert.deepEqual(readCalendarAddress('?akim=0', 2026), { akim: null, year: 2026 });
  assert.equal(calendarPageUrl(3, 2027), '/calendar.html?akim=3&year=2027');
});

test('a calendar plans in the akim territory and everything inside it, and a loop cannot hang it', () => {
  const territories = [
    { id: 1, parent_id: null },
    { id: 2, parent_id: 1 },
    { id: 3, parent_id: 2 },
    { id: 4, parent_id: 2 },
    { id: 5, parent_id: 3 },
    { id: 6, parent_id: 1 },
    { id: 7, parent_id: null },
  ];
  assert.deepEqual(territoryAndInside(territories, 2).sort(), [2, 3, 4, 5]);
  assert.equal(territoryAndInside(territories, 2)[0], 2, 'the akim territory comes first');
  assert.deepEqual(territoryAndInside(territories, 7), [7]);
  assert.deepEqual(territoryAndInside(territories, 99), []);
  const loop = [
    { id: 1, parent_id: 2 },
    { id: 2, parent_id: 1 },
  ];
  assert.deepEqual(territoryAndInside(loop, 1).sort(), [1, 2]);
});

test('only http(s) addresses with a host become links', () => {
  for (const good of ['https://example.org', 'http://example.org/live?x=1#t', 'https://youtu.be/abc']) {
    assert.equal(isWebLink(good), true, good);
  }
  for (const bad of [
    'javascript:alert(1)',
    'JAVASCRIPT:alert(1)',
    'data:text/html,<b>x</b>',
    'https://',
    'https:///path',
    '//example.org',
    'ftp://example.org',
    'https://exa mple.org',
    'https://example.org/"onmouseover="x',
    "https://example.org/'x",
    'https://example.org/<script>',
    ' https://example.org',
    '',
    null,
  ]) {
    assert.equal(isWebLink(bad), false, String(bad));
  }
});

test('a local date and time is Almaty time, sent with +05:00', () => {
  assert.equal(localDateTimeToRfc3339('2026-03-02T15:00'), '2026-03-02T15:00:00+05:00');
  assert.equal(localDateTimeToRfc3339('2026-03-02T15:00:30'), '2026-03-02T15:00:30+05:00');
  for (const bad of ['', '2026-03-02', '2026-03-02T25:00', '2026-03-02 15:00', 'x']) {
    assert.equal(localDateTimeToRfc3339(bad), null, bad);
  }
  assert.equal(instantToLocalInput('2026-03-02T10:00:00Z'), '2026-03-02T15:00');
  assert.equal(instantToLocalInput('2026-12-31T20:30:00+00:00'), '2027-01-01T01:30');
  assert.equal(instantToLocalInput('nonsense'), '');
  assert.equal(yearIn('Asia/Almaty', new Date('2026-12-31T20:30:00Z')), 2027);
});

test('officials are typed one per line as "Name — position"', () => {
  const { officials, bad } = parseOfficials(
    'Айгерім Сәрсенова — руководитель отдела ЖКХ\n\n  Болат Нұрланов  \nАлия Ким – аким села\nИван Петров - зам. акима\n — без имени',
  );
  assert.deepEqual(officials, [
    { name: 'Айгерім Сәрсенова', position: 'руководитель отдела ЖКХ' },
    { name: 'Болат Нұрланов', position: '' },
    { name: 'Алия Ким', position: 'аким села' },
    { name: 'Иван Петров', position: 'зам. акима' },
  ]);
  assert.deepEqual(bad, [6]);
  // A hyphen inside a name does not split it.
  assert.deepEqual(parseOfficials('Анна-Мария Ли').officials, [{ name: 'Анна-Мария Ли', position: '' }]);
  assert.equal(officialsText(officials.slice(0, 2)), 'Айгерім Сәрсенова — руководитель отдела ЖКХ\nБолат Нұрланов');
});

test('planned meetings are checked before they are sent, and sent as the API takes them', () => {
  const rows = [
    { territory_id: '3', date: '2026-02-10', time: '10:00', place: 'Клуб', online_link: 'https://example.org' },
    { territory_id: '', date: '2025-02-10', time: '', place: ' ', online_link: 'javascript:x' },
  ];
  assert.deepEqual(entryProblems(rows, 2026), [{ index: 1, fields: ['territory', 'date', 'place', 'online_link'] }]);
  assert.deepEqual(entriesForApi(rows.slice(0, 1)), [
    { territory_id: 3, date: '2026-02-10', time: '10:00', place: 'Клуб', online_link: 'https://example.org' },
  ]);
  assert.equal(entriesForApi([{ territory_id: '3', date: '2026-02-10', time: '', place: 'x' }])[0].time, null);
});

test('the revision shown and the keeper next step follow the year calendar', () => {
  const draft = { id: 1, revision: 1, state: 'draft' };
  const agreed = { id: 1, revision: 1, state: 'agreed' };
  const correction = { id: 2, revision: 2, state: 'draft' };
  assert.equal(keeperStep({ revisions: [] }), 'start');
  assert.equal(keeperStep({ revisions: [draft] }), 'edit');
  assert.equal(keeperStep({ revisions: [agreed] }), 'submit');
  assert.equal(keeperStep({ revisions: [{ ...agreed, state: 'submitted' }] }), 'correct');
  assert.equal(keeperStep({ revisions: [agreed, correction] }), 'edit');
  assert.equal(shownRevision({ in_force: 1, revisions: [agreed, correction] }), agreed);
  assert.equal(shownRevision({ in_force: null, revisions: [draft] }), draft);
  assert.equal(shownRevision({ in_force: null, revisions: [] }), null);
});

test('the akim themself and admins keep a calendar; admins, the commission and its akim arrange receptions', () => {
  const akim = { id: 3, role: 'akim' };
  assert.equal(mayKeepCalendar(akim, 3), true);
  assert.equal(mayKeepCalendar(akim, 4), false);
  assert.equal(mayKeepCalendar({ id: 1, role: 'admin' }, 4), true);
  assert.equal(mayKeepCalendar({ id: 5, role: 'commission' }, 4), false);
  assert.equal(mayKeepCalendar(null, 4), false);
  assert.equal(mayKeepCalendar({ ...akim, disabled: true }, 3), false);
  const meeting = { akim_account_id: 3 };
  assert.equal(mayArrangeReceptions(akim, meeting), true);
  assert.equal(mayArrangeReceptions({ id: 4, role: 'akim' }, meeting), false);
  assert.equal(mayArrangeReceptions({ id: 5, role: 'commission' }, meeting), true);
  assert.equal(mayArrangeReceptions({ id: 6, role: 'moderator' }, meeting), false);
  assert.equal(mayArrangeReceptions(null, meeting), false);
});
