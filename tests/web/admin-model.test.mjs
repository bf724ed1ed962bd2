// The administration page's, the moderation log's and the home calendar's pure rules
// (web/js/admin-model.js, web/js/moderation-log-model.js, web/js/home-calendar-model.js): the
// territory tree and its search, what a new or edited account sends, an import's content type,
// the rule set's days and shares, the log's reasons and targets and its counts by platform, and
// upcoming meetings by month with their feeds. Run with `node --test tests/web`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accountChanges,
  importContentType,
  newAccountBody,
  newAccountProblems,
  readMonthDay,
  readShare,
  searchTerritories,
  territoryBody,
  territoryProblems,
  territoryTree,
} from '../../web/js/admin-model.js';
import {
  moderationLogUrl,
  platformRows,
  readMeetingId,
  reasonText,
  targetText,
  totalActions,
} from '../../web/js/moderation-log-model.js';
import platformStrings from '../../web/js/strings/platforms.js';
import { akimsOf, feedUrl, monthGroups, monthOf, territoriesOf } from '../../web/js/home-calendar-model.js';

const name = (ru) => ({ kk: '', ru, en: '' });
const TERRITORIES = [
  { id: 1, kato: '620000000', kind: 'oblast', name: name('Улытау'), parent_id: null },
  { id: 3, kato: '621000000', kind: 'district', name: name('Жанааркинский район'), parent_id: 1 },
  { id: 2, kato: '622000000', kind: 'city_of_oblast_significance', name: name('Жезказган'), parent_id: 1 },
  { id: 4, kato: '621010000', kind: 'village', name: { kk: 'Ақсу', ru: 'Аксу', en: 'Aksu' }, parent_id: 3 },
  { id: 5, kato: '551000000', kind: 'district', name: name('Ёлочный район'), parent_id: null },
];
const ruName = (territory) => territory.name.ru;

test('the territory tree puts each territory under its parent, by name', () => {
  const tree = territoryTree(TERRITORIES, ruName);
  assert.deepEqual(
    tree.map((node) => node.territory.id),
    [5, 1],
    'roots by name',
  );
  const oblast = tree[1];
  assert.deepEqual(
    oblast.children.map((node) => node.territory.id),
    [3, 2],
  );
  assert.deepEqual(oblast.children[0].children.map((node) => node.territory.id), [4]);
});

test('a loop or an unknown parent in the data cannot hang or hide a territory', () => {
  const looped = [
    { id: 1, kato: '100000000', kind: 'district', name: name('А'), parent_id: 2 },
    { id: 2, kato: '200000000', kind: 'village', name: name('Б'), parent_id: 1 },
    { id: 3, kato: '300000000', kind: 'village', name: name('В'), parent_id: 99 },
    { id: 4, kato: '400000000', kind: 'village', name: name('Г'), parent_id: 4 },
  ];
  const tree = territoryTree(looped, ruName);
  const ids = [];
  const walk = (nodes) => nodes.forEach((node) => ids.push(node.territory.id) && walk(node.children));
  walk(tree);
  assert.deepEqual(ids.sort(), [1, 2, 3, 4], 'every territory once');
});

test('the search finds names in any language and KATO prefixes, with everything above them', () => {
  const byName = searchTerritories(TERRITORIES, 'аКс');
  assert.deepEqual([...byName.matches], [4]);
  assert.deepEqual([...byName.shown].sort(), [1, 3, 4]);
  assert.equal(byName.all, false);
  assert.deepEqual([...searchTerritories(TERRITORIES, 'aksu').matches], [4], 'English names count');
  assert.deepEqual([...searchTerritories(TERRITORIES, 'елочный').matches], [5], 'ё is е');
  assert.deepEqual([...searchTerritories(TERRITORIES, '621').matches].sort(), [3, 4], 'KATO by its start');
  assert.equal(searchTerritories(TERRITORIES, '   ').all, true);
  assert.equal(searchTerritories(TERRITORIES, '').shown.size, 5);
  assert.equal(searchTerritories(TERRITORIES, 'нет такого').matches.size, 0);
});

test('a new territory needs nine digits, a known kind and a name in one language', () => {
  assert.deepEqual(territoryProblems({ kato: ' 551000000 ', kind: 'district', name: { ru: 'Район' } }), []);
  assert.deepEqual(
    territoryProblems({ kato: '55100000', kind: 'county', name: { kk: ' ', ru: '', en: '' } }).map((p) => p.field),
    ['kato', 'kind', 'name'],
  );
  assert.deepEqual(territoryBody({ kato: ' 551000000 ', kind: 'district', name: { ru: ' Район ' }, parentId: '7' }), {
    kato: '551000000',
    kind: 'district',
    name: { kk: '', ru: 'Район', en: '' },
    parent_id: 7,
  });
  assert.equal(territoryBody({ kato: '1', kind: 'district', name: {}, parentId: '' }).parent_id, null);
});

test('an import file goes as CSV or JSON by its name or type, anything else is refused', () => {
  assert.equal(importContentType('villages.csv', ''), 'text/csv');
  assert.equal(importContentType('VILLAGES.CSV', 'application/vnd.ms-excel'), 'text/csv');
  assert.equal(importContentType('rows.json', ''), 'application/json');
  assert.equal(importContentType('export', 'application/json; charset=utf-8'), 'application/json');
  assert.equal(importContentType('list.txt', 'text/plain'), 'text/csv');
  assert.equal(importContentType('table.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'), null);
});

test('a new account is checked as the server checks it, and an akim needs a territory', () => {
  const good = { login: 'akim.saryarka', displayName: 'Ержан', role: 'akim', password: 'ten chars!', territoryId: '4' };
  assert.deepEqual(newAccountProblems(good), []);
  assert.deepEqual(newAccountBody(good), {
    login: 'akim.saryarka',
    display_name: 'Ержан',
    role: 'akim',
    password: 'ten chars!',
    territory_id: 4,
  });
  assert.equal(newAccountBody({ ...good, role: 'moderator' }).territory_id, undefined, 'only akims govern');
  assert.deepEqual(
    newAccountProblems({ login: 'Ab', displayName: ' ', role: 'akim', password: 'short', territoryId: '' }).map((p) => p.field),
    ['login', 'display_name', 'password', 'territory_id'],
  );
  assert.deepEqual(newAccountProblems({ ...good, role: 'king' }).map((p) => p.field), ['role']);
  assert.deepEqual(newAccountProblems({ ...good, role: 'commission', territoryId: '' }), []);
});

test('an edited account sends only what changed', () => {
  const account = { id: 9, login: 'a', display_name: 'Ержан', role: 'akim', disabled: false, territory_id: 4 };
  const same = { displayName: 'Ержан', role: 'akim', disabled: false, territoryId: '4', password: '' };
  assert.deepEqual(accountChanges(account, same), { body: {}, problems: [] });
  assert.deepEqual(accountChanges(account, { ...same, disabled: true }).body, { disabled: true });
  assert.deepEqual(accountChanges(account, { ...same, displayName: ' Ержан Қ. ', territoryId: '5' }).body, {
    display_name: 'Ержан Қ.',
    territory_id: 5,
  });
  assert.deepEqual(accountChanges(account, { ...same, role: 'moderator', territoryId: '' }).body, { role: 'moderator' });
  assert.deepEqual(accountChanges(account, { ...same, password: 'a new secret' }).body, { password: 'a new secret' });
  assert.deepEqual(accountChanges(account, { ...same, password: 'short' }).problems.map((p) => p.field), ['password']);
  const moderator = { ...account, role: 'moderator', territory_id: null };
  assert.deepEqual(
    accountChanges(moderator, { ...same, territoryId: '' }).problems.map((p) => p.field),
    ['territory_id'],
    'a new akim needs a territory',
  );
});

test("the rule set's month-days and share are read for display", () => {
  assert.deepEqual(readMonthDay('01-15'), { month: 1, day: 15 });
  assert.equal(readMonthDay('13-01'), null);
  assert.equal(readMonthDay('1-15'), null);
  assert.deepEqual(readShare('1/4'), { numerator: 1, denominator: 4, percent: 25 });
  assert.deepEqual(readShare(' 1 / 3 '), { numerator: 1, denominator: 3, percent: 33.3 });
  assert.equal(readShare('1/0'), null);
  assert.equal(readShare('a quarter'), null);
});

test('the moderation log names its meeting and reads its reasons', () => {
  assert.equal(readMeetingId('?meeting=12'), 12);
  assert.equal(readMeetingId('?meeting=0'), null);
  assert.equal(readMeetingId('?meeting=1;drop'), null);
  assert.equal(readMeetingId(''), null);
  assert.equal(moderationLogUrl(12), '/moderation-log.html?meeting=12');
  assert.deepEqual(reasonText('hide', 'insult'), { key: 'live.reason.insult', params: {} });
  assert.deepEqual(reasonText('hide', 'local_rule'), { text: 'local_rule' }, 'a configured reason unknown here');
  assert.deepEqual(reasonText('time_out', '5 min'), { key: 'modlog.reason.minutes', params: { n: 5 } });
  assert.deepEqual(reasonText('slow_mode', '30 s'), { key: 'modlog.reason.seconds', params: { n: 30 } });
  assert.deepEqual(reasonText('slow_mode', '0 s'), { key: 'modlog.reason.slowOff', params: {} });
  assert.deepEqual(reasonText('hold_first_comments', 'on'), { key: 'modlog.reason.on', params: {} });
  assert.deepEqual(reasonText('merge', 'into question 3'), { key: 'modlog.reason.into', params: { n: 3 } });
  assert.deepEqual(reasonText('dismiss', 'Уже решено'), { text: 'Уже решено' });
  assert.equal(reasonText('promote', null), null);
  assert.equal(reasonText('promote', '  '), null);
  assert.deepEqual(targetText('comment', 12), { key: 'modlog.target.comment', params: { n: 12 } });
  assert.deepEqual(targetText('channel', null), { key: 'modlog.target.channelAny', params: {} });
  assert.deepEqual(targetText('planet', 1), { key: 'modlog.target.other', params: { kind: 'planet' } });
  assert.equal(totalActions([{ action: 'hide', count: 2 }, { action: 'ban', count: 1 }]), 3);
  assert.equal(totalActions(undefined), 0);
});

test("the moderation log's counts by platform are rows in the platforms' order, each named", () => {
  // As GET /api/meetings/{id}/moderation-log sends them (tests/integration/platforms.rs).
  const byPlatform = [
    { platform: 'vk', comments: 4, held: 1, hidden: 0, promoted: 2 },
    { platform: 'mastodon', comments: 1, held: 0, hidden: 0, promoted: 0 },
    { platform: 'youtube', comments: 2, held: 0, hidden: 1, promoted: 1 },
    { comments: 9 },
    null,
  ];
  const rows = platformRows(byPlatform);
  assert.deepEqual(rows, [
    { platform: 'youtube', nameKey: 'platforms.name.youtube', comments: 2, held: 0, hidden: 1, promoted: 1 },
    { platform: 'vk', nameKey: 'platforms.name.vk', comments: 4, held: 1, hidden: 0, promoted: 2 },
    { platform: 'mastodon', nameKey: 'platforms.name.other', comments: 1, held: 0, hidden: 0, promoted: 0 },
  ]);
  for (const language of ['kk', 'ru', 'en']) {
    for (const row of rows) assert.ok(platformStrings[language][row.nameKey], `${language}: ${row.nameKey}`);
  }
  assert.deepEqual(platformRows([{ platform: 'telegram', comments: -1, held: 'x', hidden: 2.7 }]), [
    { platform: 'telegram', nameKey: 'platforms.name.telegram', comments: 0, held: 0, hidden: 2, promoted: 0 },
  ]);
  assert.deepEqual(platformRows([]), [], 'comments typed on Kezdesu only: no rows, the table is hidden');
  assert.deepEqual(platformRows(undefined), [], 'an older server without by_platform');
});

test('upcoming meetings are grouped by their month in Almaty, with their akims and territories', () => {
  const meetings = [
    { id: 3, planned_start: '2027-04-01T10:00:00+05:00', time_zone: 'Asia/Almaty', akim_account_id: 7, territory_id: 5 },
    // 30 March, 23:30 UTC is already 31 March, 04:30 in Almaty: still March.
    { id: 1, planned_start: '2027-03-30T23:30:00Z', time_zone: 'Asia/Almaty', akim_account_id: 2, territory_id: 4 },
    // 31 March, 20:00 UTC is 1 April in Almaty.
    { id: 2, planned_start: '2027-03-31T20:00:00Z', time_zone: 'Asia/Almaty', akim_account_id: 2, territory_id: 5 },
    { id: 9, planned_start: 'not a date', akim_account_id: 3, territory_id: 6 },
  ];
  assert.equal(monthOf('2027-03-31T20:00:00Z'), '2027-04');
  const groups = monthGroups(meetings);
  assert.deepEqual(
    groups.map((group) => [group.month, group.year, group.meetings.map((meeting) => meeting.id)]),
    [
      ['2027-03', 2027, [1]],
      ['2027-04', 2027, [2, 3]],
    ],
  );
  assert.deepEqual(akimsOf(meetings), [
    { id: 2, year: 2027 },
    { id: 7, year: 2027 },
  ]);
  assert.deepEqual(territoriesOf(meetings), [4, 5]);
  assert.deepEqual(monthGroups(null), []);
  assert.equal(feedUrl('akim', 2), '/api/akims/2/calendar.ics');
  assert.equal(feedUrl('territory', 5, 'kk'), '/api/territories/5/calendar.ics?lang=kk');
  assert.equal(feedUrl('territory', 5, 'de'), '/api/territories/5/calendar.ics');
});
