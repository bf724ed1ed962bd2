// Owns the compliance dashboard (/compliance.html): for each akim and each period of the year
// begun so far, how the decree was kept: meetings held, coverage of the territories owed
// meetings (with the gaps named, and what coverage periods not over yet require), calendar
// meetings announced on time, unscheduled meetings (those announced late flagged), the time
// split kept, results published on time and quarterly progress on time (with what is not due
// yet). Public. The filters (year, period, territory) live in the address, so a view can be
// linked and the back button steps through them; the CSV link asks the API for the same
// figures as a file.

import { api, describeError } from './api.js';
import { formatCalendarDate, formatNumber, pickLocalized, setUpLanguageSwitch, t } from './i18n.js';
import {
  ALMATY,
  MAX_YEAR,
  MIN_YEAR,
  PERIODS,
  calendarPageUrl,
  complianceApiPath,
  compliancePageUrl,
  readComplianceFilters,
  yearIn,
} from './calendar-model.js';
import { joined, periodName, periodWithDays, ratioCell, stackedTable } from './calendar-view.js';
import { fillCodeSelect, fillTerritorySelect, loadTerritories, make, territoryName } from './register-view.js';

const byId = (id) => document.getElementById(id);
const el = {
  form: byId('filters'),
  year: byId('filter-year'),
  period: byId('filter-period'),
  territory: byId('filter-territory'),
  summary: byId('report-summary'),
  facts: byId('report-facts'),
  asOf: byId('report-as-of'),
  ruleSet: byId('report-rule-set'),
  error: byId('report-error'),
  list: byId('akim-list'),
  exportCsv: byId('export-csv'),
  signin: byId('signin-link'),
};

const currentYear = yearIn(ALMATY);
let filters = readComplianceFilters(location.search, currentYear);
let territories = [];
let report = null;
let loading = false;
let errorText = '';
let requestCounter = 0;

// ---- the filter form

function showFilters() {
  el.year.value = String(filters.year);
  fillCodeSelect(el.period, PERIODS, (period) => t(`dashboard.period.${period}`), null, filters.period);
  el.period.value = filters.period;
  fillTerritorySelect(el.territory, territories, 'dashboard.filter.anyTerritory', filters.territory_id);
}

function formFilters() {
  return readComplianceFilters(
    new URLSearchParams({ year: el.year.value, period: el.period.value, territory_id: el.territory.value }),
    currentYear,
  );
}

// ---- rendering

function render() {
  let summary = '';
  if (loading && report === null) summary = t('common.loading');
  else if (report !== null) {
    summary =
      report.akims.length === 0
        ? t('dashboard.none')
        : t('dashboard.total', { n: formatNumber(report.akims.length), year: report.year });
  }
  el.summary.textContent = summary;
  el.error.textContent = errorText;
  el.facts.hidden = report === null;
  if (report !== null) {
    el.asOf.textContent = formatCalendarDate(report.as_of);
    el.ruleSet.textContent = report.rule_set;
  }
  el.list.setAttribute('aria-busy', loading ? 'true' : 'false');
  el.list.replaceChildren(...(report?.akims ?? []).map(akimSection));
  el.exportCsv.href = complianceApiPath(filters, 'csv');
  el.signin.href = `/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function akimSection(akim) {
  const section = make('section', 'panel akim-report');
  section.dataset.akim = String(akim.akim_account_id);
  const headingId = `akim-${akim.akim_account_id}-heading`;
  section.setAttribute('aria-labelledby', headingId);
  const heading = make('h2', 'akim-report__name', akim.akim_name);
  heading.id = headingId;
  const territory = make(
    'p',
    'akim-report__territory',
    t('dashboard.territory', { name: pickLocalized(akim.territory_name), kato: akim.territory_kato }),
  );
  const calendar = make('a', null, t('dashboard.calendarLink', { year: report.year }));
  calendar.href = calendarPageUrl(akim.akim_account_id, report.year);
  const links = make('p', 'akim-report__links');
  links.append(calendar);
  section.append(heading, territory, links);

  if (!akim.periods?.length) {
    section.append(make('p', 'notice', t('dashboard.noPeriods')));
    return section;
  }
  const columns = [
    t('dashboard.col.period'),
    t('dashboard.col.held'),
    t('dashboard.col.coverage'),
    t('dashboard.col.announced'),
    t('dashboard.col.unscheduled'),
    t('dashboard.col.split'),
    t('dashboard.col.results'),
    t('dashboard.col.progress'),
  ];
  const rows = akim.periods.map((figures) => ({
    data: { period: figures.period, index: figures.index },
    cells: [
      periodCell(figures),
      formatNumber(figures.meetings_held),
      coverageCell(figures),
      ratioCell(figures.announcements_on_time),
      unscheduledCell(figures),
      ratioCell(figures.split_kept),
      pendingCell(figures.results_on_time, figures.results_pending),
      pendingCell(figures.progress_on_time, figures.progress_pending),
    ],
  }));
  const box = make('div', 'table-box');
  box.append(
    stackedTable({
      caption: t('dashboard.caption', { name: akim.akim_name, year: report.year }),
      columns,
      rows,
      className: 'compliance-table',
    }),
  );
  section.append(box);
  return section;
}

function periodCell(figures) {
  const box = make('span', 'period-cell');
  box.append(
    make('span', 'period-cell__name', periodName(figures.period, figures.index)),
    make(
      'span',
      'period-cell__days',
      t('period.days', { from: formatCalendarDate(figures.first_day), to: formatCalendarDate(figures.last_day) }),
    ),
  );
  box.title = periodWithDays(figures.period, figures.index, figures.first_day, figures.last_day);
  return box;
}

function coverageCell(figures) {
  const box = make('span', 'coverage-cell');
  box.append(ratioCell(figures.coverage));
  // A coverage period not over yet is neither met nor missed: "— · period not over: n".
  const pending = figures.coverage_pending ?? 0;
  if (pending > 0) {
    const note = make('span', 'pending', t('dashboard.coveragePending', { n: formatNumber(pending) }));
    note.dataset.pending = String(pending);
    box.append(note);
  }
  const gaps = figures.coverage_gaps ?? [];
  if (gaps.length) {
    const list = make('span', 'gap-list');
    list.dataset.gaps = gaps.join(' ');
    list.append(
      make('span', 'gap-list__label', t('dashboard.gaps')),
      ' ',
      ...joined(gaps.map((id) => make('span', 'gap-list__name', territoryName(territories, id)))),
    );
    box.append(list);
  }
  return box;
}

function unscheduledCell(figures) {
  const box = make('span');
  box.append(make('span', null, formatNumber(figures.unscheduled)));
  if (figures.unscheduled_announced_late > 0) {
    const late = make(
      'span',
      'badge badge--overdue',
      t('dashboard.announcedLate', { n: formatNumber(figures.unscheduled_announced_late) }),
    );
    late.dataset.late = String(figures.unscheduled_announced_late);
    box.append(' ', late);
  }
  return box;
}

function pendingCell(ratio, pending) {
  const box = make('span');
  box.append(ratioCell(ratio));
  if (pending > 0) {
    const note = make('span', 'pending', t('dashboard.pending', { n: formatNumber(pending) }));
    note.dataset.pending = String(pending);
    box.append(note);
  }
  return box;
}

// ---- loading

async function load() {
  const counter = ++requestCounter;
  loading = true;
  errorText = '';
  render();
  try {
    const answer = await api.get(complianceApiPath(filters));
    if (counter !== requestCounter) return;
    report = answer && typeof answer === 'object' && Array.isArray(answer.akims) ? answer : null;
  } catch (error) {
    if (counter !== requestCounter) return;
    report = null;
    errorText = describeError(error);
  }
  loading = false;
  render();
}

function go(next) {
  filters = next;
  history.pushState(null, '', compliancePageUrl(filters));
  showFilters();
  load();
}

el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const year = Number(el.year.value);
  const valid = Number.isInteger(year) && year >= MIN_YEAR && year <= MAX_YEAR;
  el.year.setAttribute('aria-invalid', valid ? 'false' : 'true');
  if (!valid) {
    errorText = t('dashboard.badYear', { min: MIN_YEAR, max: MAX_YEAR });
    render();
    el.year.focus();
    return;
  }
  go(formFilters());
});
byId('filters-reset').addEventListener('click', (event) => {
  event.preventDefault();
  go(readComplianceFilters('', currentYear));
});
window.addEventListener('popstate', () => {
  filters = readComplianceFilters(location.search, currentYear);
  showFilters();
  load();
});

function start() {
  setUpLanguageSwitch(() => {
    showFilters();
    render();
  });
  // The address always names the year, so the view can be linked as it is.
  history.replaceState(null, '', compliancePageUrl(filters));
  showFilters();
  render();
  loadTerritories().then((loaded) => {
    territories = loaded;
    showFilters();
    render();
  });
  load();
}

start();
