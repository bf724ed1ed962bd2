// The register pages' pure rules (web/js/register-model.js): the list filters in the address and
// in API calls (the API refuses unknown parameters, so nothing malformed may pass), paging, the
// workflow's next statuses, today in Almaty, sums in tenge, and history entries in words.
// Run with `node --test tests/web`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exportPath,
  filterQuery,
  historySummary,
  isKeeper,
  listApiPath,
  listPageUrl,
  nextStatuses,
  openActions,
  pageCount,
  parseIssueId,
  parseTenge,
  readFilters,
  receiptPath,
  territoryOptions,
  todayIn,
} from '../../web/js/register-model.js';

test('filters are read from the address, dropping anything unknown or malformed', () => {
  const filters = readFilters('?status=planned&category=roads&territory_id=12&level=central&overdue=true&sort=newest&page=3');
  assert.deepEqual(filters, {
    territory_id: '12',
    status: 'planned',
    category: 'roads',
    level: 'central',
    overdue: 'true',
    sort: 'newest',
    page: 3,
  });
  const junk = readFilters(
    '?status=done&category=Roads%3Cb%3E&territory_id=-1&level=world&overdue=yes&sort=random&page=0&foo=bar',
  );
  assert.deepEqual(junk, readFilters(''), 'nothing malformed survives');
  assert.equal(readFilters('?page=2.5').page, 1);
  assert.equal(readFilters(new URLSearchParams({ status: 'in_progress' })).status, 'in_progress');
});

test('a query holds the set filters in a fixed order, without defaults', () => {
  assert.equal(filterQuery(readFilters('')), '');
  assert.equal(filterQuery(readFilters('?sort=priority&page=1')), '', 'the default order and page 1 are left out');
  const filters = readFilters('?page=2&sort=oldest&status=planned&territory_id=3');
  assert.equal(filterQuery(filters), 'territory_id=3&status=planned&sort=oldest&page=2');
  assert.equal(filterQuery(filters, { page: false }), 'territory_id=3&status=planned&sort=oldest');
  assert.equal(listPageUrl(readFilters('')), '/issues.html');
  assert.equal(listPageUrl(filters), '/issues.html?territory_id=3&status=planned&sort=oldest&page=2');
  // What a page writes, it reads back the same.
  assert.deepEqual(readFilters(filterQuery(filters)), filters);
});

test('API calls and exports carry the same filters', () => {
  const filters = readFilters('?status=planned&overdue=false&page=2');
  assert.equal(listApiPath(filters, 20), '/api/issues?status=planned&overdue=false&page=2&page_size=20');
  assert.equal(listApiPath(readFilters(''), 20), '/api/issues?page=1&page_size=20');
  assert.equal(exportPath(filters, 'csv'), '/api/issues/export?format=csv&status=planned&overdue=false');
  assert.equal(exportPath(readFilters(''), 'json'), '/api/issues/export?format=json');
  assert.equal(exportPath(readFilters(''), 'xlsx'), '/api/issues/export?format=json', 'only csv or json');
});

test('paging counts at least one page', () => {
  assert.equal(pageCount(0, 20), 1);
  assert.equal(pageCount(20, 20), 1);
  assert.equal(pageCount(21, 20), 2);
  assert.equal(pageCount(undefined, 20), 1);
});

test('the keepers of the register are the commission, akims and admins', () => {
  assert.equal(isKeeper({ role: 'commission' }), true);
  assert.equal(isKeeper({ role: 'akim' }), true);
  assert.equal(isKeeper({ role: 'admin' }), true);
  assert.equal(isKeeper({ role: 'moderator' }), false);
  assert.equal(isKeeper(null), false);
});

test('the workflow offers one step forward, rejection and escalation; nothing once closed', () => {
  assert.deepEqual(nextStatuses('new'), ['accepted', 'rejected', 'escalated']);
  assert.deepEqual(nextStatuses('accepted'), ['planned', 'rejected', 'escalated']);
  assert.deepEqual(nextStatuses('planned'), ['in_progress', 'rejected', 'escalated']);
  assert.deepEqual(nextStatuses('in_progress'), ['resolved', 'rejected', 'escalated']);
  for (const closed of ['resolved', 'rejected', 'escalated', 'bogus']) assert.deepEqual(nextStatuses(closed), []);
});

test('open plan items are those not done of an issue not closed', () => {
  const actions = [{ id: 1, done_on: null }, { id: 2, done_on: '2026-01-02' }];
  assert.deepEqual(openActions({ status: 'planned', actions }).map((item) => item.id), [1]);
  assert.deepEqual(openActions({ status: 'resolved', actions }), []);
});

test('today is the day in Almaty, whatever the machine zone', () => {
  // 20:30 UTC on 31 December is already 1 January in Almaty (UTC+5).
  assert.equal(todayIn('Asia/Almaty', new Date('2026-12-31T20:30:00Z')), '2027-01-01');
  assert.equal(todayIn('Asia/Almaty', new Date('2026-06-15T12:00:00Z')), '2026-06-15');
});

test('sums in tenge, ids and receipt links are parsed and built safely', () => {
  assert.equal(parseTenge('1 500 000'), 1500000);
  assert.equal(parseTenge('1\u00a0500\u00a0000 ₸'), 1500000);
  assert.equal(parseTenge(''), null);
  assert.ok(Number.isNaN(parseTenge('12.5')));
  assert.ok(Number.isNaN(parseTenge('-3')));
  assert.equal(parseIssueId('№ 42'), 42);
  assert.equal(parseIssueId(' 7 '), 7);
  assert.equal(parseIssueId('0'), null);
  assert.equal(parseIssueId('7; drop'), null);
  assert.equal(receiptPath('a/b?c'), '/receipt.html?code=a%2Fb%3Fc');
});

test('territories are listed each under its parent', () => {
  const territories = [
    { id: 3, name: 'Beta', parent_id: 1 },
    { id: 1, name: 'Oblast', parent_id: null },
    { id: 2, name: 'Alpha', parent_id: 1 },
    { id: 4, name: 'Village', parent_id: 2 },
    { id: 5, name: 'Orphan', parent_id: 99 },
  ];
  const options = territoryOptions(territories, (territory) => territory.name);
  assert.deepEqual(
    options.map((option) => `${option.depth}:${option.name}`),
    ['0:Oblast', '1:Alpha', '2:Village', '1:Beta', '0:Orphan'],
  );
});

test('history entries are put in words, every known action', () => {
  // A stand-in for the UI's t(): the key and its parameters, so the test sees what was chosen.
  const t = (key, params = {}) => {
    const shown = Object.entries(params).map(([name, value]) => `${name}=${value}`);
    return shown.length ? `[${key} ${shown.join(' ')}]` : `[${key}]`;
  };
  const names = {
    status: (code) => `S:${code}`,
    level: (code) => `L:${code}`,
    source: (kind) => `K:${kind}`,
    category: (code) => `C:${code}`,
    territory: (id) => `T:${id}`,
    day: (day) => `D:${day}`,
    money: (amount) => `M:${amount}`,
  };
  const say = (action, detail) => historySummary({ at: '', by: null, action, detail }, t, names);

  assert.equal(
    say('created', { source: 'request', channel: null, title: 'Яма' }),
    '[history.created source=K:request]; [history.title title=Яма]',
  );
  assert.equal(
    say('created', { source: 'import', channel: 'opendata', title: 'X' }),
    '[history.created source=K:import]; [history.channel channel=opendata]; [history.title title=X]',
  );
  assert.equal(say('retitled', { title: 'Новый' }), '[history.retitled title=Новый]');
  assert.equal(
    say('edited', { title: 'A', description: 'long text', category: 'roads', territory_id: 3, on_briefing: true }),
    '[history.edited] [history.edited.title title=A]; [history.edited.description]; ' +
      '[history.edited.category category=C:roads]; [history.edited.territory territory=T:3]; [history.edited.briefingOn]',
  );
  assert.equal(say('edited', { category: null }), '[history.edited] [history.edited.categoryCleared]');
  assert.equal(
    say('status', { from: 'planned', to: 'escalated', level: 'central', note: 'к Правительству' }),
    '[history.status from=S:planned to=S:escalated]; [history.level level=L:central]; [history.note note=к Правительству]',
  );
  assert.equal(say('merged_into', { into: 9 }), '[history.mergedInto id=9]');
  assert.equal(say('merged_from', { from: 4, sources_moved: 2 }), '[history.mergedFrom id=4 n=2]');
  assert.equal(
    say('action_added', {
      measure: 'Ремонт',
      executor_organisation: 'ГУ ЖКХ',
      executor_person: 'Иванов',
      deadline: '2027-01-15',
      financing_needed: true,
      financing_amount: 1500000,
      maslikhat_session_on: '2026-12-20',
      done_on: null,
    }),
    '[history.actionAdded measure=Ремонт executor=ГУ ЖКХ, Иванов deadline=D:2027-01-15]; ' +
      '[history.financing amount=M:1500000]; [history.maslikhat date=D:2026-12-20]',
  );
  assert.equal(
    say('action_updated', { measure: 'Ремонт', executor_organisation: 'ГУ', executor_person: '', deadline: '2027-01-15', done_on: '2027-01-10' }),
    '[history.actionUpdated measure=Ремонт executor=ГУ deadline=D:2027-01-15]; [history.done date=D:2027-01-10]',
  );
  assert.equal(
    say('progress', { quarter: '2026-Q4', reported_on: '2026-11-28', text: 'Смета готова' }),
    '[history.progress quarter=2026-Q4 date=D:2026-11-28 text=Смета готова]',
  );
  assert.equal(say('something_new', null), '[history.other action=something_new]');
});
