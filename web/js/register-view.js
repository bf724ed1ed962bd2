// What the register's pages (the issue list, an issue, a receipt, a meeting's results) show
// alike: status badges, the categories and territories by name, an issue's deadlines, its action
// plan as a table and its progress reports. Everything from the API goes in as text
// (textContent), never as markup.

import { api } from './api.js';
import { formatCalendarDate, formatMeetingDateTime, formatNumber, pickLocalized, registerStrings, t } from './i18n.js';
import { historySummary, territoryOptions } from './register-model.js';
import registerViewStrings from './strings/register-view.js';

registerStrings(registerViewStrings);

/** An element with a class and text. */
export function make(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

/** The issue's status as a badge; `data-status` carries the code for styles and tests. */
export function statusBadge(status) {
  const badge = make('span', `badge badge--issue-${status}`, issueStatusName(status));
  badge.dataset.status = status;
  return badge;
}

export function issueStatusName(status) {
  return t(`issue.status.${status}`);
}

export function levelName(level) {
  return t(`issue.level.${level}`);
}

export function sourceKindName(kind) {
  return t(`issue.source.${kind}`);
}

/** A sum in whole tenge, grouped the reader's way. */
export function formatTenge(amount) {
  return t('issue.tenge', { amount: formatNumber(amount) });
}

/** A day `YYYY-MM-DD`, or a dash. */
export function formatDay(day) {
  return day ? formatCalendarDate(day) : '—';
}

/** An instant, in Almaty time. */
export function formatInstant(iso) {
  return formatMeetingDateTime(iso);
}

// ---------------------------------------------------------------------------------------------
// Categories and territories, loaded once per page

let categoriesPromise = null;
let territoriesPromise = null;

/** The configured categories [{code, kk, ru, en}] (empty when they could not be read). */
export function loadCategories() {
  categoriesPromise ??= api.get('/api/issues/categories').then(
    (list) => (Array.isArray(list) ? list : []),
    () => {
      categoriesPromise = null; // try again next time
      return [];
    },
  );
  return categoriesPromise;
}

/** The territories [{id, name, parent_id, …}] (empty when they could not be read). */
export function loadTerritories() {
  territoriesPromise ??= api.get('/api/territories').then(
    (answer) => (Array.isArray(answer?.territories) ? answer.territories : []),
    () => {
      territoriesPromise = null;
      return [];
    },
  );
  return territoriesPromise;
}

/** A category's name in the reader's language, or its code when it is not configured. */
export function categoryName(categories, code) {
  if (!code) return '';
  const category = (categories ?? []).find((entry) => entry.code === code);
  return category ? pickLocalized(category) || code : code;
}

/** A territory's name in the reader's language, or "No. id" when unknown. */
export function territoryName(territories, id) {
  if (id === null || id === undefined) return '';
  const territory = (territories ?? []).find((entry) => entry.id === id);
  return territory ? pickLocalized(territory.name) : t('issue.numbered', { id });
}

/**
 * Fills a <select> with the categories; `emptyKey` names the first, empty option. Keeps the
 * selected value when it is still there.
 */
export function fillCategorySelect(select, categories, emptyKey, selected = select.value) {
  const options = [new Option(t(emptyKey), '')];
  for (const category of categories ?? []) {
    options.push(new Option(pickLocalized(category) || category.code, category.code));
  }
  select.replaceChildren(...options);
  select.value = options.some((option) => option.value === selected) ? selected : '';
}

/** Fills a <select> with the territories, each indented under its parent. */
export function fillTerritorySelect(select, territories, emptyKey, selected = select.value) {
  const options = [new Option(t(emptyKey), '')];
  for (const entry of territoryOptions(territories, (territory) => pickLocalized(territory.name))) {
    // Non-breaking spaces indent; an option holds text only.
    options.push(new Option(`${'\u00a0\u00a0'.repeat(entry.depth)}${entry.name}`, String(entry.id)));
  }
  select.replaceChildren(...options);
  select.value = options.some((option) => option.value === String(selected)) ? String(selected) : '';
}

/** Fills a <select> with codes and their names; `emptyKey` (optional) names a first empty option. */
export function fillCodeSelect(select, codes, nameOf, emptyKey = null, selected = select.value) {
  const options = emptyKey ? [new Option(t(emptyKey), '')] : [];
  for (const code of codes) options.push(new Option(nameOf(code), code));
  select.replaceChildren(...options);
  if (options.some((option) => option.value === selected)) select.value = selected;
}

// ---------------------------------------------------------------------------------------------
// Parts of an issue

/** A definition list of what is due: the next report, the next plan deadline, the collection. */
export function deadlineFacts(issue) {
  const deadlines = issue.deadlines ?? {};
  const list = make('dl', 'facts issue-deadlines');
  const add = (labelKey, value, late = false) => {
    const row = make('div');
    const dd = make('dd', null, value);
    if (late) dd.append(' ', overdueBadge());
    row.append(make('dt', null, t(labelKey)), dd);
    list.append(row);
  };
  if (deadlines.progress_due) add('issue.progressDue', formatDay(deadlines.progress_due), deadlines.progress_overdue);
  if (deadlines.next_action_deadline) {
    add('issue.nextActionDeadline', formatDay(deadlines.next_action_deadline), deadlines.actions_overdue > 0);
  }
  if (deadlines.actions_overdue > 0) add('issue.actionsOverdue', formatNumber(deadlines.actions_overdue));
  if (deadlines.central_collection_due) add('issue.centralCollection', formatDay(deadlines.central_collection_due));
  return list.children.length ? list : null;
}

export function overdueBadge() {
  const badge = make('span', 'badge badge--overdue', t('issue.overdue'));
  badge.dataset.overdue = 'true';
  return badge;
}

/**
 * The action plan as a table in a scrolling box (it is wider than a phone). `extraColumn`, when
 * given, is {heading, cell(item)} for the commission's buttons.
 */
export function actionTable(issue, { extraColumn = null, caption = null } = {}) {
  const table = make('table', 'plan-table');
  if (caption) table.append(make('caption', null, caption));
  const head = make('thead');
  const headRow = make('tr');
  for (const column of ['measure', 'executor', 'deadline', 'financing', 'done']) {
    const cell = make('th', null, t(`issue.plan.${column}`));
    cell.scope = 'col';
    headRow.append(cell);
  }
  if (extraColumn) {
    const cell = make('th', null, extraColumn.heading);
    cell.scope = 'col';
    headRow.append(cell);
  }
  head.append(headRow);
  const body = make('tbody');
  for (const item of issue.actions ?? []) {
    const row = make('tr');
    row.dataset.item = String(item.id);
    if (item.overdue) row.classList.add('plan-table__row--overdue');
    const measure = make('th', 'plan-table__measure', item.measure);
    measure.scope = 'row';
    const executor = make('td');
    executor.append(make('span', 'plan-table__organisation', item.executor_organisation));
    if (item.executor_person) executor.append(make('br'), make('span', 'plan-table__person', item.executor_person));
    const deadline = make('td', null, formatDay(item.deadline));
    if (item.overdue) deadline.append(' ', overdueBadge());
    const financing = make('td');
    if (item.financing_needed) {
      const amount =
        item.financing_amount == null ? t('issue.plan.financingNeeded') : formatTenge(item.financing_amount);
      financing.append(make('span', null, amount));
      if (item.maslikhat_session_on) {
        const session = t('issue.plan.maslikhat', { date: formatDay(item.maslikhat_session_on) });
        financing.append(make('br'), make('span', 'hint', session));
      }
    } else {
      financing.textContent = t('issue.plan.noFinancing');
    }
    const done = make('td', null, item.done_on ? formatDay(item.done_on) : t('issue.plan.notDone'));
    row.append(measure, executor, deadline, financing, done);
    if (extraColumn) {
      const cell = make('td');
      const content = extraColumn.cell(item);
      if (content) cell.append(content);
      row.append(cell);
    }
    body.append(row);
  }
  table.append(head, body);
  const box = make('div', 'table-scroll');
  // A scrolling box is reachable and named for keyboard and screen-reader users.
  box.tabIndex = 0;
  box.setAttribute('role', 'region');
  box.setAttribute('aria-label', caption ?? t('issue.plan.title'));
  box.append(table);
  return box;
}

/** Progress reports, newest first: date, quarter, who, text. */
export function progressList(issue) {
  const list = make('ol', 'progress-list');
  const reports = [...(issue.progress ?? [])].sort((a, b) =>
    a.reported_on === b.reported_on ? b.id - a.id : a.reported_on < b.reported_on ? 1 : -1,
  );
  for (const report of reports) {
    const item = make('li', 'progress-item');
    item.append(
      make(
        'p',
        'progress-item__meta',
        t('issue.progress.meta', { date: formatDay(report.reported_on), quarter: report.quarter, by: report.by }),
      ),
      make('p', 'progress-item__text', report.text),
    );
    list.append(item);
  }
  return list;
}

/** Words for a history entry, with names in the reader's language. */
export function describeHistory(entry, { categories = [], territories = [] } = {}) {
  return historySummary(entry, t, {
    status: issueStatusName,
    level: levelName,
    source: sourceKindName,
    category: (code) => categoryName(categories, code),
    territory: (id) => territoryName(territories, id),
    day: formatDay,
    money: formatTenge,
  });
}

/** An issue's title as a link to its page. */
export function issueLink(issue, className = null) {
  const link = make('a', className, issue.title || t('issue.numbered', { id: issue.id }));
  link.href = `/issue.html?id=${encodeURIComponent(issue.id)}`;
  return link;
}
