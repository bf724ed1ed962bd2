// What the calendar, compliance and reception pages show alike: periods and shares in words,
// the revision states as badges, links from user data (only http(s), opened without referrer),
// and tables that stack into labelled cards on a phone. Everything from the API goes in as text
// (textContent), never as markup.

import { formatCalendarDate, formatMeetingDateTime, formatNumber, formatPercent, registerStrings, t } from './i18n.js';
import { isWebLink } from './calendar-model.js';
import { make } from './register-view.js';
import calendarStrings from './strings/calendar.js';
import complianceStrings from './strings/compliance.js';

registerStrings(calendarStrings);
registerStrings(complianceStrings);

/** A period of the year in words: "Q2", "2nd half-year", "Year". */
export function periodName(period, index) {
  if (period === 'year') return t('period.year');
  return t(`period.${period}`, { n: index });
}

/** A period with its days: "Q2 (1 April 2026 – 30 June 2026)". */
export function periodWithDays(period, index, firstDay, lastDay) {
  return t('period.withDays', {
    name: periodName(period, index),
    from: formatCalendarDate(firstDay),
    to: formatCalendarDate(lastDay),
  });
}

/** A share {done, owed, percent}: the per cent (a dash when nothing was owed). */
export function percentText(ratio) {
  return ratio && ratio.percent !== null && ratio.percent !== undefined ? formatPercent(ratio.percent) : '—';
}

/** A share as an element: the per cent, then "done of owed" in small print. */
export function ratioCell(ratio) {
  const box = make('span', 'ratio');
  box.append(make('span', 'ratio__percent', percentText(ratio)));
  if (ratio && ratio.owed > 0) {
    box.append(
      ' ',
      make(
        'span',
        'ratio__count',
        t('dashboard.ratio', { done: formatNumber(ratio.done), owed: formatNumber(ratio.owed) }),
      ),
    );
  }
  box.dataset.percent = ratio?.percent === null || ratio?.percent === undefined ? '' : String(ratio.percent);
  return box;
}

/** A revision's state as a badge; `data-state` carries the code for styles and tests. */
export function revisionStateBadge(state) {
  const badge = make('span', `badge badge--revision-${state}`, t(`calendar.state.${state}`));
  badge.dataset.state = state;
  return badge;
}

/** A deadline's outcome {met: true|false|null} as a badge. */
export function deadlineBadge(check) {
  const outcome = check?.met === true ? 'met' : check?.met === false ? 'missed' : 'pending';
  const badge = make('span', `badge badge--deadline-${outcome}`, t(`calendar.deadline.${outcome}`));
  badge.dataset.outcome = outcome;
  return badge;
}

/**
 * A link from user data: an element <a> only when it is an http(s) address, opened in a new tab
 * without opener or referrer; otherwise the text as it is (never markup).
 */
export function userLink(text, className = null) {
  const value = String(text ?? '').trim();
  if (value === '') return null;
  if (!isWebLink(value)) return make('span', className, value);
  const link = make('a', className, value);
  link.href = value;
  link.rel = 'noopener noreferrer';
  link.target = '_blank';
  return link;
}

/** A date and time in Almaty. */
export function formatInstant(iso) {
  return formatMeetingDateTime(iso);
}

/**
 * A table that stacks into one card per row on a phone: every cell carries its column's label
 * (shown before it by the stylesheet), and explicit ARIA roles keep the table a table for screen
 * readers when the stylesheet changes its display. `columns` are labels; each row is
 * {cells: [text or Node], className?, data?: {key: value}}; the first cell heads the row.
 */
export function stackedTable({ caption = null, columns, rows, className = '' }) {
  const table = make('table', `data-table ${className}`.trim());
  table.setAttribute('role', 'table');
  if (caption) table.append(make('caption', null, caption));
  const head = make('thead');
  head.setAttribute('role', 'rowgroup');
  const headRow = make('tr');
  headRow.setAttribute('role', 'row');
  for (const label of columns) {
    const cell = make('th', null, label);
    cell.scope = 'col';
    cell.setAttribute('role', 'columnheader');
    headRow.append(cell);
  }
  head.append(headRow);
  const body = make('tbody');
  body.setAttribute('role', 'rowgroup');
  for (const row of rows) {
    const tr = make('tr', row.className ?? null);
    tr.setAttribute('role', 'row');
    for (const [key, value] of Object.entries(row.data ?? {})) tr.dataset[key] = String(value);
    row.cells.forEach((content, index) => {
      const cell = make(index === 0 ? 'th' : 'td');
      if (index === 0) cell.scope = 'row';
      cell.setAttribute('role', index === 0 ? 'rowheader' : 'cell');
      cell.dataset.label = columns[index] ?? '';
      if (content instanceof Node) cell.append(content);
      else if (content !== null && content !== undefined) cell.textContent = String(content);
      tr.append(cell);
    });
    body.append(tr);
  }
  table.append(head, body);
  return table;
}

/** Nodes joined by a separator text, for a line of several parts. */
export function joined(parts, separator = ', ') {
  const nodes = [];
  parts.filter((part) => part !== null && part !== undefined && part !== '').forEach((part, index) => {
    if (index) nodes.push(separator);
    nodes.push(part);
  });
  return nodes;
}
