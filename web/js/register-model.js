// The register pages' pure rules, free of the DOM and of the UI language so that Node tests
// (tests/web/register-model.test.mjs) can check them: the list filters as read from and written
// to a URL query (the API refuses unknown parameters, so only known, well-formed ones pass),
// paging, who keeps the register, today's date in the meetings' time zone, a history entry put in
// words, and the little parsing the commission's forms need.

import { MEETINGS_TIME_ZONE } from './time-zone.js';

export const ISSUE_STATUSES = ['new', 'accepted', 'planned', 'in_progress', 'resolved', 'rejected', 'escalated'];
export const LEVELS = ['oblast', 'central'];
export const SORTS = ['priority', 'newest', 'oldest', 'updated'];
export const DEFAULT_SORT = 'priority';
export const SOURCE_KINDS = ['live_question', 'request', 'commission', 'import'];
/** The statuses an issue is closed in: nothing more happens to it at this level. */
export const CLOSED_STATUSES = ['resolved', 'rejected', 'escalated'];
/** The issues an action plan and progress are kept for. */
export const ACTING_STATUSES = ['accepted', 'planned', 'in_progress'];
export const LIST_PAGE_SIZE = 20;
export const DEFAULT_TIME_ZONE = MEETINGS_TIME_ZONE;

/** The roles that keep the register (see every issue, change issues, read contacts). */
const KEEPER_ROLES = ['commission', 'akim', 'admin'];

/** The filter keys, in the order they are written to a query. */
const FILTER_KEYS = ['territory_id', 'status', 'category', 'level', 'overdue', 'sort'];

const POSITIVE_ID = /^[1-9]\d{0,15}$/;
const CATEGORY_CODE = /^[a-z0-9_]{1,64}$/;

/** Whether `account` (from GET /api/session) keeps the register. */
export function isKeeper(account) {
  return Boolean(account && KEEPER_ROLES.includes(account.role));
}

/** Filters with nothing set: the whole public list, by priority, from page 1. */
export function emptyFilters() {
  return { territory_id: '', status: '', category: '', level: '', overdue: '', sort: DEFAULT_SORT, page: 1 };
}

/**
 * The list filters a URL query asks for (a string like `?status=planned&page=2`, or
 * URLSearchParams). Anything unknown or malformed is dropped rather than sent to the API, which
 * would refuse the whole request.
 */
export function readFilters(search) {
  const params = search instanceof URLSearchParams ? search : new URLSearchParams(search ?? '');
  const filters = emptyFilters();
  const get = (key) => (params.get(key) ?? '').trim();
  if (POSITIVE_ID.test(get('territory_id'))) filters.territory_id = get('territory_id');
  if (ISSUE_STATUSES.includes(get('status'))) filters.status = get('status');
  if (CATEGORY_CODE.test(get('category'))) filters.category = get('category');
  if (LEVELS.includes(get('level'))) filters.level = get('level');
  if (get('overdue') === 'true' || get('overdue') === 'false') filters.overdue = get('overdue');
  if (SORTS.includes(get('sort'))) filters.sort = get('sort');
  const page = Number(get('page'));
  if (Number.isInteger(page) && page >= 1 && page <= 1_000_000) filters.page = page;
  return filters;
}

/**
 * The query string (without `?`) of `filters`, keys in a fixed order, defaults left out so that
 * equal filters give equal links. `page: false` leaves the page out (exports, a new search).
 */
export function filterQuery(filters, { page = true } = {}) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters?.[key];
    if (value === undefined || value === null || value === '') continue;
    if (key === 'sort' && value === DEFAULT_SORT) continue;
    params.set(key, String(value));
  }
  if (page && Number(filters?.page) > 1) params.set('page', String(filters.page));
  return params.toString();
}

/** The page address of a filtered list: `/issues.html?…`. */
export function listPageUrl(filters) {
  const query = filterQuery(filters);
  return query ? `/issues.html?${query}` : '/issues.html';
}

/** The API call for one page of the list. */
export function listApiPath(filters, pageSize = LIST_PAGE_SIZE) {
  const query = filterQuery(filters, { page: false });
  const paging = `page=${Math.max(1, Number(filters?.page) || 1)}&page_size=${pageSize}`;
  return `/api/issues?${query ? `${query}&` : ''}${paging}`;
}

/** The export of every issue the filters match, as `csv` or `json`. */
export function exportPath(filters, format) {
  const query = filterQuery(filters, { page: false });
  return `/api/issues/export?format=${format === 'csv' ? 'csv' : 'json'}${query ? `&${query}` : ''}`;
}

/** How many pages `total` issues take (at least one, so "page 1 of 1" for an empty list). */
export function pageCount(total, pageSize = LIST_PAGE_SIZE) {
  const count = Math.ceil((Number(total) || 0) / pageSize);
  return Math.max(1, count);
}

/** The receipt page of a receipt code, built here rather than taken from an answer as is. */
export function receiptPath(code) {
  return `/receipt.html?code=${encodeURIComponent(String(code ?? ''))}`;
}

/** A positive issue id from text (a query value, a form field), or null. */
export function parseIssueId(text) {
  const trimmed = String(text ?? '').trim().replace(/^№\s*/, '');
  return POSITIVE_ID.test(trimmed) ? Number(trimmed) : null;
}

/**
 * A sum of money in whole tenge from what a person typed ("1 500 000", "1500000 ₸"): the
 * number, null when empty, or NaN when it is not a whole non-negative number.
 */
export function parseTenge(text) {
  const compact = String(text ?? '')
    .replace(/[\s\u00a0\u202f]/g, '')
    .replace(/(₸|тг\.?|tenge|kzt)$/i, '');
  if (compact === '') return null;
  if (!/^\d{1,15}$/.test(compact)) return Number.NaN;
  return Number(compact);
}

/** Today (`YYYY-MM-DD`) in `timeZone`, the day the server reckons deadlines by. */
export function todayIn(timeZone = DEFAULT_TIME_ZONE, now = new Date()) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(now);
  const part = (type) => parts.find((entry) => entry.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** Whether `text` is a calendar day `YYYY-MM-DD`. */
export function isDay(text) {
  return /^\d{4}-\d{2}-\d{2}$/.test(String(text ?? ''));
}

/**
 * The territories as options for a select, each under its parent (depth first, by name), with
 * `depth` for indenting. `nameOf(territory)` gives the name in the reader's language.
 */
export function territoryOptions(territories, nameOf) {
  const list = Array.isArray(territories) ? territories : [];
  const known = new Set(list.map((territory) => territory.id));
  const children = new Map();
  for (const territory of list) {
    const parent = known.has(territory.parent_id) ? territory.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(territory);
  }
  const options = [];
  const seen = new Set();
  const walk = (parent, depth) => {
    const members = [...(children.get(parent) ?? [])].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
    for (const territory of members) {
      if (seen.has(territory.id)) continue; // a loop in bad data must not hang the page
      seen.add(territory.id);
      options.push({ id: territory.id, name: nameOf(territory), depth });
      walk(territory.id, depth + 1);
    }
  };
  walk(null, 0);
  return options;
}

const FORWARD = { new: 'accepted', accepted: 'planned', planned: 'in_progress', in_progress: 'resolved' };

/**
 * The statuses an issue in `status` may move to, as the server's workflow allows: the next step
 * along new → accepted → planned → in progress → resolved, or rejection or escalation from any
 * open status; nothing from a closed one.
 */
export function nextStatuses(status) {
  if (!ISSUE_STATUSES.includes(status) || CLOSED_STATUSES.includes(status)) return [];
  return [FORWARD[status], 'rejected', 'escalated'];
}

/** The open action-plan items of an issue: not done, the issue not closed. */
export function openActions(issue) {
  if (!issue || CLOSED_STATUSES.includes(issue.status)) return [];
  return (issue.actions ?? []).filter((item) => !item.done_on);
}

/**
 * A history entry ({at, by, action, detail}) in words. `t(key, params)` is the UI's string
 * lookup; `names` turns codes into words: {status(code), level(code), source(kind),
 * category(code), territory(id), day(YYYY-MM-DD), money(amount)}. Unknown actions say their name.
 */
export function historySummary(entry, t, names) {
  const detail = entry?.detail && typeof entry.detail === 'object' ? entry.detail : {};
  const day = (value) => (value ? names.day(value) : '');
  // The parts of one entry, in one sentence: "Status: accepted → planned; note: …".
  const sentence = (parts) => parts.filter(Boolean).join('; ');
  switch (entry?.action) {
    case 'created':
      return sentence([
        t('history.created', { source: SOURCE_KINDS.includes(detail.source) ? names.source(detail.source) : '—' }),
        detail.channel ? t('history.channel', { channel: detail.channel }) : '',
        detail.title ? t('history.title', { title: detail.title }) : '',
      ]);
    case 'retitled':
      return t('history.retitled', { title: detail.title ?? '' });
    case 'edited': {
      const parts = [];
      if ('title' in detail) parts.push(t('history.edited.title', { title: detail.title ?? '' }));
      if ('description' in detail) parts.push(t('history.edited.description'));
      if ('category' in detail) {
        parts.push(
          detail.category
            ? t('history.edited.category', { category: names.category(detail.category) })
            : t('history.edited.categoryCleared'),
        );
      }
      if ('territory_id' in detail) {
        parts.push(t('history.edited.territory', { territory: names.territory(detail.territory_id) }));
      }
      if ('on_briefing' in detail) {
        parts.push(t(detail.on_briefing ? 'history.edited.briefingOn' : 'history.edited.briefingOff'));
      }
      return parts.length ? `${t('history.edited')} ${sentence(parts)}` : t('history.edited');
    }
    case 'status':
      return sentence([
        t('history.status', {
          from: detail.from ? names.status(detail.from) : '—',
          to: detail.to ? names.status(detail.to) : '—',
        }),
        detail.level ? t('history.level', { level: names.level(detail.level) }) : '',
        detail.note ? t('history.note', { note: detail.note }) : '',
      ]);
    case 'merged_into':
      return t('history.mergedInto', { id: detail.into ?? '?' });
    case 'merged_from':
      return t('history.mergedFrom', { id: detail.from ?? '?', n: detail.sources_moved ?? 0 });
    case 'action_added':
    case 'action_updated': {
      const executor = [detail.executor_organisation, detail.executor_person].filter(Boolean).join(', ');
      const financing = detail.financing_needed
        ? t('history.financing', {
            amount: detail.financing_amount == null ? '—' : names.money(detail.financing_amount),
          })
        : '';
      return sentence([
        t(entry.action === 'action_added' ? 'history.actionAdded' : 'history.actionUpdated', {
          measure: detail.measure ?? '',
          executor: executor || '—',
          deadline: day(detail.deadline) || '—',
        }),
        financing,
        detail.financing_needed && detail.maslikhat_session_on
          ? t('history.maslikhat', { date: day(detail.maslikhat_session_on) })
          : '',
        detail.done_on ? t('history.done', { date: day(detail.done_on) }) : '',
      ]);
    }
    case 'progress':
      return t('history.progress', {
        quarter: detail.quarter ?? '',
        date: day(detail.reported_on) || '—',
        text: detail.text ?? '',
      });
    default:
      return t('history.other', { action: String(entry?.action ?? '') });
  }
}
