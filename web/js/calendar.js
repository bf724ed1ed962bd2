// Owns an akim's yearly calendar page (/calendar.html?akim=ID&year=YYYY): the revisions of the
// year (the one in force, the others the reader may see, with their state, the maslikhat's
// agreement and decision, the submission to the Government and a correction's reason), the
// planned meetings of the revision shown, the decree's deadlines (due, done, met or pending), and
// the revision checked against the rule set (each period: the territories owed meetings,
// required against planned, the gaps named). For the akim themself and admins, the keeper's
// workspace: the first revision's meetings (a list of rows to add to and remove from, each in the
// akim's territory or one inside it), saving a draft with the version read, the maslikhat's
// agreement, the submission, and starting a correction with its reason. The server's problem
// (its `detail`) is read out in a live region.

import { api, describeError, fetchSession } from './api.js';
import { formatCalendarDate, formatNumber, pickLocalized, setUpLanguageSwitch, t } from './i18n.js';
import {
  ALMATY,
  calendarPageUrl,
  entriesForApi,
  entryProblems,
  keeperStep,
  latestRevision,
  mayKeepCalendar,
  readCalendarAddress,
  shownRevision,
  sortedEntries,
  territoryAndInside,
  yearIn,
} from './calendar-model.js';
import {
  deadlineBadge,
  periodWithDays,
  revisionStateBadge,
  stackedTable,
  userLink,
} from './calendar-view.js';
import { todayIn } from './register-model.js';
import { loadTerritories, make, territoryName } from './register-view.js';

const byId = (id) => document.getElementById(id);
const currentYear = yearIn(ALMATY);
const address = readCalendarAddress(location.search, currentYear);
const akimId = address.akim;
const year = address.year;

let view = null; // YearCalendarView
let akim = null; // {name, territory_id, territory_name} from the calendar's own view
let territories = [];
let account = null;
let selectedId = null; // the revision whose meetings and validation are shown
let validation = null; // {revisionId, report} | null
let validationError = '';
let messageKey = 'common.loading';
let messageText = null;
let statusText = '';
let errorText = '';
let busy = false;
let editorFor = null; // the revision (id, or 'new') whose meetings the editor holds
let rowsStale = true; // the editor's rows need building again (names, language, territories)

// ---------------------------------------------------------------------------------------------
// Reading

function isKeeper() {
  return mayKeepCalendar(account, akimId);
}

function selectedRevision() {
  return view?.revisions.find((revision) => revision.id === selectedId) ?? null;
}

function render() {
  const message = byId('page-message');
  const text = messageText ?? (messageKey ? t(messageKey) : '');
  message.hidden = text === '';
  message.textContent = text;
  byId('calendar').hidden = view === null;
  byId('signin-link').href = `/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
  if (view === null) return;
  renderHeading();
  renderDeadlines();
  renderRevisions();
  renderEntries();
  renderValidation();
  renderKeeper();
}

function renderHeading() {
  const title = t('calendar.title', { year });
  byId('calendar-title').textContent = title;
  document.title = `${title} — Kezdesu`;
  const who = akim
    ? t('calendar.akimOf', { name: akim.name, territory: pickLocalized(akim.territory_name) })
    : t('calendar.akimNumbered', { id: akimId });
  byId('calendar-akim').textContent = who;
  byId('year-nav').setAttribute('aria-label', t('calendar.years'));
  const prev = byId('year-prev');
  const next = byId('year-next');
  prev.href = calendarPageUrl(akimId, year - 1);
  prev.textContent = t('calendar.prevYear', { year: year - 1 });
  prev.hidden = year - 1 < 2000;
  next.href = calendarPageUrl(akimId, year + 1);
  next.textContent = t('calendar.nextYear', { year: year + 1 });
  next.hidden = year + 1 > 2199;
}

function renderDeadlines() {
  const deadlines = view.deadlines;
  byId('deadlines-note').hidden = deadlines.required !== false;
  const list = byId('deadline-facts');
  const rows = [];
  const add = (labelKey, content, name) => {
    const row = make('div');
    if (name) row.dataset.deadline = name;
    const dd = make('dd');
    dd.append(...content);
    row.append(make('dt', null, t(labelKey)), dd);
    rows.push(row);
  };
  for (const name of ['approval', 'submission']) {
    const check = deadlines[name];
    const parts = [t('calendar.deadline.due', { date: formatCalendarDate(check.due) })];
    if (check.done_on) parts.push(t('calendar.deadline.done', { date: formatCalendarDate(check.done_on) }));
    const line = make('span', null, parts.join(' · '));
    let badge = deadlineBadge(check);
    if (deadlines.required === false && check.met !== true) {
      // The rule set asks no approved calendar of this level: nothing was missed.
      badge = make('span', 'badge badge--deadline-none', t('calendar.deadline.notRequired'));
      badge.dataset.outcome = 'not_required';
    }
    add(`calendar.deadline.${name}`, [line, ' ', badge], name);
  }
  add('calendar.deadline.forwarding', [formatCalendarDate(deadlines.forwarding_due)], 'forwarding');
  list.replaceChildren(...rows);
}

function renderRevisions() {
  const revisions = view.revisions;
  byId('revisions-empty').hidden = revisions.length > 0;
  byId('revisions-empty').textContent = t(isKeeper() ? 'calendar.revisions.noneKeeper' : 'calendar.revisions.none');
  const list = byId('revision-list');
  list.replaceChildren(
    ...[...revisions].reverse().map((revision) => {
      const item = make('li', 'revision');
      item.dataset.revision = String(revision.revision);
      item.dataset.state = revision.state;
      if (revision.id === selectedId) item.classList.add('revision--selected');
      const headingId = `revision-${revision.id}-heading`;
      const heading = make(
        'h3',
        'revision__title',
        t(revision.revision === 1 ? 'calendar.revision.first' : 'calendar.revision.correction', {
          n: revision.revision,
        }),
      );
      heading.id = headingId;
      item.setAttribute('aria-labelledby', headingId);
      const badges = make('p', 'issue-badges');
      badges.append(revisionStateBadge(revision.state));
      if (revision.revision === view.in_force) {
        const inForce = make('span', 'badge badge--in-force', t('calendar.revision.inForce'));
        inForce.dataset.inForce = 'true';
        badges.append(' ', inForce);
      }
      const facts = make('dl', 'facts revision__facts');
      const fact = (labelKey, value) => {
        const row = make('div');
        row.append(make('dt', null, t(labelKey)), make('dd', null, value));
        facts.append(row);
      };
      if (revision.agreed_on) fact('calendar.revision.agreedOn', formatCalendarDate(revision.agreed_on));
      if (revision.maslikhat_decision) fact('calendar.revision.decision', revision.maslikhat_decision);
      if (revision.submitted_on) fact('calendar.revision.submittedOn', formatCalendarDate(revision.submitted_on));
      if (revision.reason) fact('calendar.revision.reason', revision.reason);
      fact('calendar.revision.meetings', formatNumber(revision.entries.length));
      item.append(heading, badges, facts);
      if (revision.id !== selectedId) {
        const show = make('button', 'button button--quiet button--small', t('calendar.revision.show', { n: revision.revision }));
        show.type = 'button';
        show.setAttribute('aria-controls', 'entries');
        show.addEventListener('click', () => {
          selectRevision(revision.id);
          byId('entries').focus();
        });
        item.append(show);
      } else {
        item.append(make('p', 'hint', t('calendar.revision.shown')));
      }
      return item;
    }),
  );
}

function renderEntries() {
  const revision = selectedRevision();
  const section = byId('entries');
  section.hidden = revision === null;
  if (revision === null) return;
  section.dataset.revision = String(revision.revision);
  byId('entries-heading').textContent = t('calendar.entries.title', { n: revision.revision });
  const state = byId('entries-state');
  state.replaceChildren(revisionStateBadge(revision.state));
  const entries = sortedEntries(revision.entries);
  byId('entries-empty').hidden = entries.length > 0;
  const box = byId('entries-table');
  if (entries.length === 0) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    stackedTable({
      caption: t('calendar.entries.caption', { n: revision.revision, year }),
      columns: [
        t('calendar.entries.date'),
        t('calendar.entries.time'),
        t('calendar.entries.territory'),
        t('calendar.entries.place'),
        t('calendar.entries.link'),
      ],
      rows: entries.map((entry) => ({
        data: { territory: entry.territory_id, date: entry.date },
        cells: [
          formatCalendarDate(entry.date),
          entry.time || '—',
          territoryName(territories, entry.territory_id),
          entry.place,
          userLink(entry.online_link, 'entry-link') ?? '—',
        ],
      })),
      className: 'entries-table',
    }),
  );
}

function renderValidation() {
  const revision = selectedRevision();
  const section = byId('validation');
  section.hidden = revision === null;
  if (revision === null) return;
  byId('validation-heading').textContent = t('calendar.validation.title', { n: revision.revision });
  byId('validation-error').textContent = validationError;
  const report = validation?.revisionId === revision.id ? validation.report : null;
  const summary = byId('validation-summary');
  const gapList = byId('gap-list');
  const periods = byId('validation-periods');
  if (report === null) {
    summary.textContent = validationError ? '' : t('common.loading');
    summary.dataset.gaps = '';
    gapList.replaceChildren();
    periods.replaceChildren();
    return;
  }
  summary.textContent =
    report.gaps.length === 0
      ? t('calendar.validation.noGaps')
      : t('calendar.validation.gaps', { n: formatNumber(report.gaps.length) });
  summary.dataset.gaps = String(report.gaps.length);
  summary.classList.toggle('validation-summary--gaps', report.gaps.length > 0);
  gapList.replaceChildren(
    ...report.gaps.map((gap) => {
      const item = make('li', 'gap-summary__item');
      item.dataset.territory = String(gap.territory_id);
      item.dataset.period = `${gap.period}-${gap.index}`;
      item.append(
        make('strong', 'gap-summary__name', pickLocalized(gap.name) || gap.kato),
        ' ',
        make(
          'span',
          'gap-summary__detail',
          t('calendar.validation.gapLine', {
            period: periodWithDays(gap.period, gap.index, periodDay(report, gap, 'first_day'), periodDay(report, gap, 'last_day')),
            planned: formatNumber(gap.planned),
            required: formatNumber(gap.required),
          }),
        ),
      );
      return item;
    }),
  );
  periods.replaceChildren(
    ...report.periods.map((period) => {
      const part = make('div', 'validation-period');
      part.append(make('h3', null, periodWithDays(period.period, period.index, period.first_day, period.last_day)));
      if (!period.units.length) {
        part.append(make('p', 'notice', t('calendar.validation.nothingOwed')));
        return part;
      }
      part.append(
        stackedTable({
          columns: [
            t('calendar.validation.territory'),
            t('calendar.validation.required'),
            t('calendar.validation.planned'),
            t('calendar.validation.outcome'),
          ],
          rows: period.units.map((unit) => {
            const outcome = make(
              'span',
              unit.gap ? 'badge badge--overdue' : 'badge badge--kept',
              t(unit.gap ? 'calendar.validation.gap' : 'calendar.validation.covered'),
            );
            return {
              className: unit.gap ? 'row--gap' : null,
              data: { territory: unit.territory, gap: unit.gap ? 'true' : 'false' },
              cells: [
                territoryName(territories, unit.territory),
                formatNumber(unit.required),
                formatNumber(unit.planned),
                outcome,
              ],
            };
          }),
          className: 'validation-table',
        }),
      );
      return part;
    }),
  );
}

function periodDay(report, gap, key) {
  const period = report.periods.find((entry) => entry.period === gap.period && entry.index === gap.index);
  return period?.[key] ?? '';
}

// ---------------------------------------------------------------------------------------------
// The keeper's workspace

function renderKeeper() {
  const section = byId('keeper');
  section.hidden = !isKeeper();
  if (!isKeeper()) return;
  byId('keeper-status').textContent = statusText;
  byId('keeper-error').textContent = errorText;
  const step = keeperStep(view);
  const latest = latestRevision(view);
  const entriesForm = byId('entries-form');
  entriesForm.hidden = !(step === 'start' || step === 'edit');
  byId('agree-form').hidden = step !== 'edit';
  byId('submit-form').hidden = step !== 'submit';
  byId('correct-form').hidden = !(step === 'submit' || step === 'correct');

  if (!entriesForm.hidden) {
    const target = step === 'start' ? 'new' : latest.id;
    if (editorFor !== target) {
      editorFor = target;
      renderRows(step === 'start' ? [] : sortedEntries(latest.entries));
    } else if (rowsStale) {
      renderRows(readRows()); // the same rows and values, names and labels anew
    }
    byId('entries-form-heading').textContent =
      step === 'start' ? t('calendar.editor.startTitle', { year }) : t('calendar.editor.editTitle', { n: latest.revision });
    byId('entries-form-hint').textContent = t(step === 'start' ? 'calendar.editor.startHint' : 'calendar.editor.editHint');
    byId('entries-save').textContent = t(step === 'start' ? 'calendar.editor.create' : 'calendar.editor.save');
  } else {
    editorFor = null;
  }
  const today = todayIn(ALMATY);
  for (const id of ['agree-date', 'submit-date']) {
    const input = byId(id);
    input.max = today;
    if (!input.value) input.value = today;
  }
  for (const button of section.querySelectorAll('button')) button.disabled = busy;
}

/** The territories the akim's calendar may plan in: theirs and everything inside it. */
function plannableTerritories() {
  const root = akim?.territory_id ?? view?.revisions[0]?.territory_id ?? account?.territory_id ?? null;
  if (root === null) return [];
  const ids = territoryAndInside(territories, root);
  const depthOf = new Map([[root, 0]]);
  for (const id of ids) {
    const territory = territories.find((entry) => entry.id === id);
    if (id !== root) depthOf.set(id, (depthOf.get(territory?.parent_id) ?? 0) + 1);
  }
  return ids.map((id) => ({ id, depth: depthOf.get(id) ?? 0, name: territoryName(territories, id) }));
}

function readRows() {
  return [...byId('entry-rows').querySelectorAll('.entry-row')].map((row) => ({
    territory_id: row.querySelector('[data-field="territory"]').value,
    date: row.querySelector('[data-field="date"]').value,
    time: row.querySelector('[data-field="time"]').value,
    place: row.querySelector('[data-field="place"]').value,
    online_link: row.querySelector('[data-field="online_link"]').value,
  }));
}

function renderRows(rows) {
  const container = byId('entry-rows');
  const options = plannableTerritories();
  // Rows are built again only when something changed; focus stays on the same field.
  const focused = container.contains(document.activeElement) ? document.activeElement.id : null;
  container.replaceChildren(...rows.map((entry, index) => entryRow(entry, index, options)));
  byId('entry-rows-empty').hidden = rows.length > 0;
  rowsStale = false;
  if (focused) byId(focused)?.focus();
}

function entryRow(entry, index, options) {
  const key = index + 1;
  const row = make('fieldset', 'entry-row');
  row.dataset.row = String(index + 1);
  row.append(make('legend', 'entry-row__legend', t('calendar.editor.row', { n: index + 1 })));
  const grid = make('div', 'entry-row__grid');
  const field = (name, labelKey, control, hintKey = null) => {
    const box = make('div', 'field');
    control.id = `entry-${key}-${name}`;
    control.dataset.field = name;
    const label = make('label', null, t(labelKey));
    label.htmlFor = control.id;
    box.append(label, control);
    if (hintKey) {
      const hint = make('p', 'hint', t(hintKey));
      hint.id = `${control.id}-hint`;
      control.setAttribute('aria-describedby', hint.id);
      box.append(hint);
    }
    grid.append(box);
    return control;
  };
  const select = make('select', 'select');
  select.append(new Option(t('calendar.editor.chooseTerritory'), ''));
  for (const option of options) {
    select.append(new Option(`${'\u00a0\u00a0'.repeat(option.depth)}${option.name}`, String(option.id)));
  }
  select.value = entry.territory_id ? String(entry.territory_id) : '';
  select.required = true;
  field('territory', 'calendar.editor.territory', select);

  const date = make('input');
  date.type = 'date';
  date.required = true;
  date.min = `${year}-01-01`;
  date.max = `${year}-12-31`;
  date.value = entry.date ?? '';
  field('date', 'calendar.editor.date', date);

  const time = make('input');
  time.type = 'time';
  time.value = entry.time ?? '';
  field('time', 'calendar.editor.time', time, 'calendar.editor.timeHint');

  const place = make('input');
  place.type = 'text';
  place.maxLength = 300;
  place.required = true;
  place.value = entry.place ?? '';
  field('place', 'calendar.editor.place', place);

  const link = make('input');
  link.type = 'url';
  link.maxLength = 500;
  link.inputMode = 'url';
  link.autocomplete = 'off';
  link.spellcheck = false;
  link.value = entry.online_link ?? '';
  field('online_link', 'calendar.editor.link', link, 'calendar.editor.linkHint');

  const remove = make('button', 'button button--quiet button--small', t('calendar.editor.remove', { n: index + 1 }));
  remove.type = 'button';
  remove.dataset.remove = 'true';
  remove.addEventListener('click', () => removeRow(index));
  row.append(grid, remove);
  return row;
}

function addRow() {
  const rows = readRows();
  const last = rows[rows.length - 1];
  // A new row starts where the last one was: same territory and place are the common case.
  rows.push({ territory_id: '', date: '', time: last?.time ?? '', place: '', online_link: '' });
  renderRows(rows);
  const added = byId('entry-rows').lastElementChild;
  added?.querySelector('[data-field="territory"]').focus();
}

function removeRow(index) {
  const rows = readRows();
  rows.splice(index, 1);
  renderRows(rows);
  const container = byId('entry-rows');
  const next = container.children[Math.min(index, container.children.length - 1)];
  (next?.querySelector('[data-field="territory"]') ?? byId('entry-add')).focus();
}

/** Marks the fields of the rows with problems; returns the first such field, or null. */
function markProblems(problems) {
  const rows = [...byId('entry-rows').querySelectorAll('.entry-row')];
  let first = null;
  rows.forEach((row, index) => {
    const fields = problems.find((problem) => problem.index === index)?.fields ?? [];
    for (const control of row.querySelectorAll('[data-field]')) {
      const bad = fields.includes(control.dataset.field);
      control.setAttribute('aria-invalid', bad ? 'true' : 'false');
      if (bad && first === null) first = control;
    }
  });
  return first;
}

function problemText(error) {
  if (error?.status === 401) return t('ws.error.signedOut');
  if (error?.problem?.code === 'edit_conflict') {
    return `${t('calendar.error.conflict')} ${describeError(error)}`;
  }
  return describeError(error);
}

/** Runs a change of the calendar: busy while it runs, then the calendar read again. */
async function act(change, doneKey) {
  if (busy) return;
  busy = true;
  statusText = '';
  errorText = '';
  render();
  try {
    const revision = await change();
    busy = false;
    statusText = t(doneKey);
    await reload(revision?.id ?? null);
    return true;
  } catch (error) {
    busy = false;
    errorText = problemText(error);
    render();
    return false;
  }
}

async function saveEntries(event) {
  event.preventDefault();
  const rows = readRows();
  const problems = entryProblems(rows, year);
  const first = markProblems(problems);
  if (first) {
    statusText = '';
    errorText = t('calendar.editor.problems', { rows: problems.map((problem) => problem.index + 1).join(', ') });
    render();
    first.focus();
    return;
  }
  const entries = entriesForApi(rows);
  const latest = latestRevision(view);
  if (keeperStep(view) === 'start') {
    await act(
      () => api.post(`/api/akims/${akimId}/calendars/${year}/revisions`, { after: null, reason: '', entries }),
      'calendar.editor.created',
    );
  } else {
    await act(
      () => api.put(`/api/calendar-revisions/${latest.id}/entries`, { version: latest.version, entries }),
      'calendar.editor.saved',
    );
  }
}

async function agree(event) {
  event.preventDefault();
  const date = byId('agree-date');
  const decision = byId('agree-decision');
  const missing = [date, decision].find((input) => input.value.trim() === '') ?? null;
  for (const input of [date, decision]) input.setAttribute('aria-invalid', input === missing ? 'true' : 'false');
  if (missing) {
    errorText = t('calendar.agree.required');
    statusText = '';
    render();
    missing.focus();
    return;
  }
  const latest = latestRevision(view);
  const done = await act(
    () =>
      api.post(`/api/calendar-revisions/${latest.id}/agree`, {
        version: latest.version,
        agreed_on: date.value,
        maslikhat_decision: decision.value.trim(),
      }),
    'calendar.agree.done',
  );
  if (done) decision.value = '';
}

async function submit(event) {
  event.preventDefault();
  const date = byId('submit-date');
  const latest = latestRevision(view);
  const body = { version: latest.version };
  if (date.value) body.submitted_on = date.value;
  await act(() => api.post(`/api/calendar-revisions/${latest.id}/submit`, body), 'calendar.submit.done');
}

async function correct(event) {
  event.preventDefault();
  const reason = byId('correct-reason');
  if (reason.value.trim() === '') {
    reason.setAttribute('aria-invalid', 'true');
    errorText = t('calendar.correct.required');
    statusText = '';
    render();
    reason.focus();
    return;
  }
  reason.setAttribute('aria-invalid', 'false');
  const latest = latestRevision(view);
  const done = await act(
    () =>
      api.post(`/api/akims/${akimId}/calendars/${year}/revisions`, {
        after: latest.revision,
        reason: reason.value.trim(),
        entries: [],
      }),
    'calendar.correct.done',
  );
  if (done) reason.value = '';
}

// ---------------------------------------------------------------------------------------------
// Loading

function selectRevision(id) {
  selectedId = id;
  render();
  loadValidation();
}

async function loadValidation() {
  const revision = selectedRevision();
  if (revision === null) return;
  if (validation?.revisionId === revision.id && validation.version === revision.version) return;
  validationError = '';
  try {
    const report = await api.get(`/api/calendar-revisions/${revision.id}/validation`);
    if (selectedId !== revision.id) return;
    validation = { revisionId: revision.id, version: revision.version, report };
  } catch (error) {
    if (selectedId !== revision.id) return;
    validation = null;
    validationError = describeError(error);
  }
  render();
}

async function reload(select = null) {
  const answer = await api.get(`/api/akims/${akimId}/calendars/${year}`);
  view = { ...answer, revisions: Array.isArray(answer?.revisions) ? answer.revisions : [] };
  if (answer?.akim_name) {
    akim = { name: answer.akim_name, territory_id: answer.territory_id, territory_name: answer.territory_name };
    rowsStale = true;
  }
  const keep = select ?? selectedId;
  const fallback = isKeeper() ? latestRevision(view) : shownRevision(view);
  selectedId = view.revisions.some((revision) => revision.id === keep) ? keep : fallback?.id ?? null;
  messageKey = null;
  messageText = null;
  render();
  await loadValidation();
}

async function start() {
  setUpLanguageSwitch(() => {
    rowsStale = true;
    render();
  });
  byId('entries-form').addEventListener('submit', saveEntries);
  byId('entry-add').addEventListener('click', addRow);
  byId('agree-form').addEventListener('submit', agree);
  byId('submit-form').addEventListener('submit', submit);
  byId('correct-form').addEventListener('submit', correct);
  render();
  if (akimId === null) {
    messageKey = 'calendar.noAkim';
    render();
    return;
  }
  const session = fetchSession().then(
    (answer) => {
      account = answer?.account ?? null;
    },
    () => {
      account = null;
    },
  );
  loadTerritories().then((loaded) => {
    territories = loaded;
    rowsStale = true;
    render();
  });
  await session;
  try {
    await reload();
  } catch (error) {
    if (error?.status === 404) messageKey = 'calendar.notFound';
    else messageText = describeError(error);
    render();
  }
}

start();
