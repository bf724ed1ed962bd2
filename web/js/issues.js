// Owns the issue list page (/issues.html): the register's public list with filters (territory
// with everything below it, status, category, level, overdue, order), paging, and export links
// with the same filters. The filters live in the address (?status=planned&page=2), so a filtered
// list can be linked and the browser's back button steps through searches. Signed-in keepers of
// the register (the commission, akims, admins) also see issues not yet public, marked as such.

import { api, describeError, fetchSession } from './api.js';
import { formatNumber, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import {
  ISSUE_STATUSES,
  LEVELS,
  LIST_PAGE_SIZE,
  SORTS,
  exportPath,
  isKeeper,
  listApiPath,
  listPageUrl,
  pageCount,
  readFilters,
} from './register-model.js';
import {
  categoryName,
  fillCategorySelect,
  fillCodeSelect,
  fillTerritorySelect,
  formatDay,
  issueLink,
  issueStatusName,
  levelName,
  loadCategories,
  loadTerritories,
  make,
  overdueBadge,
  statusBadge,
  territoryName,
} from './register-view.js';
import issuesStrings from './strings/issues.js';

registerStrings(issuesStrings);

const byId = (id) => document.getElementById(id);
const el = {
  form: byId('filters'),
  territory: byId('filter-territory'),
  status: byId('filter-status'),
  category: byId('filter-category'),
  level: byId('filter-level'),
  sort: byId('filter-sort'),
  overdue: byId('filter-overdue'),
  summary: byId('list-summary'),
  error: byId('list-error'),
  list: byId('issue-list'),
  pager: byId('pager'),
  prev: byId('page-prev'),
  next: byId('page-next'),
  position: byId('page-position'),
  exportCsv: byId('export-csv'),
  exportJson: byId('export-json'),
  keeperNote: byId('keeper-note'),
  signin: byId('signin-link'),
};

let filters = readFilters(location.search);
let categories = [];
let territories = [];
let account = null;
let page = null; // the last answer {items, total, page, page_size}
let loading = false;
let errorText = '';
let requestCounter = 0;

// ---- the filter form

function fillSelects() {
  fillTerritorySelect(el.territory, territories, 'issues.filter.anyTerritory', filters.territory_id);
  fillCodeSelect(el.status, ISSUE_STATUSES, issueStatusName, 'issues.filter.anyStatus', filters.status);
  fillCategorySelect(el.category, categories, 'issues.filter.anyCategory', filters.category);
  fillCodeSelect(el.level, LEVELS, levelName, 'issues.filter.anyLevel', filters.level);
  fillCodeSelect(el.sort, SORTS, (sort) => t(`issues.sort.${sort}`), null, filters.sort);
}

/** Puts the current filters into the form (after a load, back/forward, a language change). */
function showFilters() {
  fillSelects();
  el.territory.value = filters.territory_id;
  el.status.value = filters.status;
  el.category.value = filters.category;
  el.level.value = filters.level;
  el.sort.value = filters.sort;
  el.overdue.checked = filters.overdue === 'true';
}

function formFilters() {
  return readFilters(
    new URLSearchParams({
      territory_id: el.territory.value,
      status: el.status.value,
      category: el.category.value,
      level: el.level.value,
      sort: el.sort.value,
      overdue: el.overdue.checked ? 'true' : '',
    }),
  );
}

// ---- rendering

function render() {
  const total = page?.total ?? 0;
  const pages = pageCount(total, LIST_PAGE_SIZE);
  let summary = '';
  if (loading && page === null) summary = t('common.loading');
  else if (page !== null) summary = total === 0 ? t('issues.none') : t('issues.total', { n: formatNumber(total) });
  el.summary.textContent = summary;
  el.error.textContent = errorText;
  el.list.setAttribute('aria-busy', loading ? 'true' : 'false');
  el.list.replaceChildren(...(page?.items ?? []).map(issueCard));

  el.pager.hidden = page === null || pages <= 1;
  el.pager.setAttribute('aria-label', t('issues.pager.label'));
  el.position.textContent = t('issues.pager.position', { page: filters.page, pages });
  el.prev.disabled = loading || filters.page <= 1;
  el.next.disabled = loading || filters.page >= pages;

  el.exportCsv.href = exportPath(filters, 'csv');
  el.exportJson.href = exportPath(filters, 'json');
  el.keeperNote.hidden = !isKeeper(account);
  el.signin.href = `/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function issueCard(issue) {
  const item = make('li', 'issue-card');
  item.dataset.issue = String(issue.id);
  item.dataset.status = issue.status;
  const title = make('h2', 'issue-card__title');
  title.append(issueLink(issue));
  const badges = make('p', 'issue-card__badges');
  badges.append(statusBadge(issue.status));
  if (issue.level) badges.append(' ', make('span', 'badge badge--level', levelName(issue.level)));
  if (issue.public === false) {
    const hidden = make('span', 'badge badge--private', t('issue.notPublic'));
    hidden.dataset.private = 'true';
    badges.append(' ', hidden);
  }
  if (issue.deadlines?.overdue) badges.append(' ', overdueBadge());

  const facts = make('p', 'issue-card__facts');
  const parts = [t('issue.numbered', { id: issue.id })];
  if (issue.category) parts.push(categoryName(categories, issue.category));
  if (issue.territory_id != null) parts.push(territoryName(territories, issue.territory_id));
  parts.push(t('issue.supportersCount', { n: formatNumber(issue.supporters ?? 0) }));
  facts.textContent = parts.join(' · ');

  item.append(title, badges, facts);
  const due = [];
  if (issue.deadlines?.next_action_deadline) {
    due.push(t('issues.card.nextDeadline', { date: formatDay(issue.deadlines.next_action_deadline) }));
  }
  if (issue.deadlines?.progress_due) {
    due.push(t('issues.card.progressDue', { date: formatDay(issue.deadlines.progress_due) }));
  }
  if (due.length) item.append(make('p', 'issue-card__due', due.join(' · ')));
  return item;
}

// ---- loading

async function load() {
  const counter = ++requestCounter;
  loading = true;
  errorText = '';
  render();
  try {
    const answer = await api.get(listApiPath(filters, LIST_PAGE_SIZE));
    if (counter !== requestCounter) return; // a newer search is on its way
    page = answer && typeof answer === 'object' ? answer : { items: [], total: 0 };
    // A page past the end (a stale link): go to the last one.
    const pages = pageCount(page.total, LIST_PAGE_SIZE);
    if (filters.page > pages && page.total > 0) {
      filters = { ...filters, page: pages };
      history.replaceState(null, '', listPageUrl(filters));
      load();
      return;
    }
  } catch (error) {
    if (counter !== requestCounter) return;
    page = null;
    errorText = describeError(error);
  }
  loading = false;
  render();
}

/** Shows `next` filters: in the address (a new history entry), the form and the list. */
function go(next) {
  filters = next;
  history.pushState(null, '', listPageUrl(filters));
  showFilters();
  load();
}

el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  go({ ...formFilters(), page: 1 });
});
byId('filters-reset').addEventListener('click', (event) => {
  event.preventDefault();
  go(readFilters(''));
});
el.prev.addEventListener('click', () => go({ ...filters, page: Math.max(1, filters.page - 1) }));
el.next.addEventListener('click', () => go({ ...filters, page: filters.page + 1 }));
window.addEventListener('popstate', () => {
  filters = readFilters(location.search);
  showFilters();
  load();
});

async function start() {
  setUpLanguageSwitch(() => {
    showFilters();
    render();
  });
  showFilters();
  render();
  // Names for the filters and the cards; the list itself does not wait for them.
  Promise.all([loadCategories(), loadTerritories()]).then(([loadedCategories, loadedTerritories]) => {
    categories = loadedCategories;
    territories = loadedTerritories;
    showFilters();
    render();
  });
  fetchSession().then(
    (session) => {
      account = session?.account ?? null;
      render();
    },
    () => {},
  );
  load();
}

start();
