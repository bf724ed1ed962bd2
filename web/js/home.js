// Owns the home page: loads all meetings and lists them grouped as live, upcoming and past; then
// the calendar: the upcoming meetings by month (from GET /api/meetings?from=now), each with its
// akim's yearly calendar, and the iCalendar feeds of each akim and territory met there, with
// links to the compliance dashboard and the issue register. Admins get a header link to the
// administration page.

import { api, fetchSession } from './api.js';
import { formatMeetingDateTime, formatNumber, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import homeStrings from './strings/home.js';
import navStrings from './strings/admin-nav.js';
import { calendarPageUrl } from './calendar-model.js';
import { akimsOf, feedUrl, monthGroups, territoriesOf } from './home-calendar-model.js';
import { formatMonth } from './locale-format.js';
import { loadTerritories, make } from './register-view.js';

registerStrings(homeStrings);
registerStrings(navStrings);

const CALENDAR_LIMIT = 200;
const MAX_AKIM_NAMES = 50;

const byStartAscending = (a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start);
const byStartDescending = (a, b) => byStartAscending(b, a);

const MEETING_GROUPS = [
  { titleKey: 'home.live', statuses: ['live'], order: byStartAscending },
  { titleKey: 'home.upcoming', statuses: ['scheduled'], order: byStartAscending },
  { titleKey: 'home.past', statuses: ['ended', 'cancelled'], order: byStartDescending },
];

const pageMessage = document.getElementById('page-message');
const groupsContainer = document.getElementById('meeting-groups');

let meetings = null; // null until loaded
let messageKey = 'common.loading';

function render() {
  pageMessage.hidden = messageKey === null;
  pageMessage.textContent = messageKey ? t(messageKey) : '';

  const sections = [];
  for (const group of MEETING_GROUPS) {
    const members = (meetings ?? []).filter((meeting) => group.statuses.includes(meeting.status));
    if (members.length > 0) sections.push(renderGroup(group, members.sort(group.order)));
  }
  groupsContainer.replaceChildren(...sections);
}

function renderGroup(group, members) {
  const section = document.createElement('section');
  section.className = 'meeting-group';
  const heading = document.createElement('h2');
  heading.textContent = t(group.titleKey);
  const list = document.createElement('ul');
  list.className = 'meeting-list';
  list.append(...members.map(renderMeetingCard));
  section.append(heading, list);
  return section;
}

function renderMeetingCard(meeting) {
  const link = document.createElement('a');
  link.className = 'meeting-card';
  link.href = `/meetings/${encodeURIComponent(meeting.id)}`;

  const title = document.createElement('h3');
  title.className = 'meeting-card__title';
  title.textContent = pickLocalized(meeting.title);

  const when = document.createElement('p');
  when.className = 'meeting-card__when';
  const minutes = t('meeting.minutes', { n: meeting.planned_minutes });
  when.textContent = `${formatMeetingDateTime(meeting.planned_start, meeting.time_zone)} · ${minutes}`;

  link.append(title, when, statusBadge(meeting.status));
  const item = document.createElement('li');
  item.append(link);
  return item;
}

function statusBadge(status) {
  const badge = document.createElement('span');
  badge.className = `badge badge--${status}`;
  badge.textContent = t(`status.${status}`);
  return badge;
}

async function loadMeetings() {
  try {
    // Asked for by status, so that a long history never pushes live and upcoming meetings
    // out of the server's page; the past is limited to the last 90 days.
    const since = new Date(Date.now() - 90 * 24 * 3600 * 1000).toISOString();
    const lists = await Promise.all([
      api.get('/api/meetings?status=live'),
      api.get('/api/meetings?status=scheduled&limit=200'),
      api.get(`/api/meetings?status=ended&from=${encodeURIComponent(since)}&limit=200`),
      api.get(`/api/meetings?status=cancelled&from=${encodeURIComponent(since)}&limit=200`),
    ]);
    meetings = lists.flatMap((response) => (Array.isArray(response?.meetings) ? response.meetings : []));
    messageKey = meetings.length === 0 ? 'home.empty' : null;
  } catch {
    messageKey = 'common.loadFailed';
  }
  render();
}

// ---------------------------------------------------------------------------------------------
// The calendar of upcoming meetings

const calendar = {
  meetings: null, // null until loaded
  failed: false,
  truncated: false, // the server's page was full: later meetings are not shown
  territories: [],
  akimNames: new Map(), // akim id → display name, as their calendars give it
};

function language() {
  return document.documentElement.lang;
}

function akimName(id) {
  return calendar.akimNames.get(id) ?? t('homecal.akimNumbered', { id });
}

function territoryNameOf(id) {
  const territory = calendar.territories.find((entry) => entry.id === id);
  return territory ? pickLocalized(territory.name) : t('issue.numbered', { id });
}

function renderCalendar() {
  const message = document.getElementById('calendar-message');
  const months = document.getElementById('calendar-months');
  const feeds = document.getElementById('calendar-feeds');
  const limited = document.getElementById('calendar-limited');
  let text = '';
  if (calendar.failed) text = t('homecal.loadFailed');
  else if (calendar.meetings === null) text = t('common.loading');
  else if (calendar.meetings.length === 0) text = t('homecal.empty');
  message.textContent = text;
  message.hidden = text === '';
  const meetingsShown = calendar.meetings ?? [];
  months.replaceChildren(...monthGroups(meetingsShown).map(renderMonth));
  limited.hidden = !calendar.truncated;
  limited.textContent = t('homecal.limited', { n: formatNumber(CALENDAR_LIMIT) });
  feeds.hidden = meetingsShown.length === 0;
  document.getElementById('feed-akims').replaceChildren(
    ...akimsOf(meetingsShown).map(({ id, year }) => {
      const item = make('li');
      item.dataset.akim = String(id);
      const name = akimName(id);
      const yearly = make('a', null, t('homecal.yearly', { year }));
      yearly.href = calendarPageUrl(id, year);
      yearly.setAttribute('aria-label', t('homecal.yearlyLabel', { name, year }));
      item.append(make('span', 'feed-list__name', name), yearly, feedLink('akim', id, name));
      return item;
    }),
  );
  document.getElementById('feed-territories').replaceChildren(
    ...territoriesOf(meetingsShown).map((id) => {
      const item = make('li');
      item.dataset.territory = String(id);
      const name = territoryNameOf(id);
      item.append(make('span', 'feed-list__name', name), feedLink('territory', id, name));
      return item;
    }),
  );
}

function feedLink(kind, id, name) {
  const link = make('a', 'feed-link', t('homecal.feed'));
  link.href = feedUrl(kind, id, language());
  link.type = 'text/calendar';
  link.dataset.feed = kind;
  link.setAttribute('aria-label', t('homecal.feedLabel', { name }));
  return link;
}

function renderMonth(group) {
  const section = make('section', 'calendar-month');
  section.dataset.month = group.month;
  const headingId = `calendar-month-${group.month}`;
  section.setAttribute('aria-labelledby', headingId);
  const heading = make('h3');
  heading.id = headingId;
  heading.append(
    make('span', null, formatMonth(group.month)),
    make('span', 'calendar-month__count', t('homecal.monthCount', { n: formatNumber(group.meetings.length) })),
  );
  const list = make('ul', 'calendar-list');
  list.setAttribute('aria-labelledby', headingId);
  list.append(...group.meetings.map((meeting) => renderCalendarItem(meeting, group.year)));
  section.append(heading, list);
  return section;
}

function renderCalendarItem(meeting, year) {
  const item = make('li', 'calendar-item');
  item.dataset.meeting = String(meeting.id);
  item.dataset.status = meeting.status;
  const when = make('p', 'calendar-item__when', formatMeetingDateTime(meeting.planned_start, meeting.time_zone));
  if (meeting.status !== 'scheduled') when.append(statusBadge(meeting.status));
  const title = make('p', 'calendar-item__title');
  const link = make('a', null, pickLocalized(meeting.title));
  link.href = `/meetings/${encodeURIComponent(meeting.id)}`;
  title.append(link);
  const where = make(
    'p',
    'calendar-item__where',
    `${territoryNameOf(meeting.territory_id)} · ${t('homecal.akim', { name: akimName(meeting.akim_account_id) })}`,
  );
  const links = make('p', 'calendar-item__links');
  const yearly = make('a', null, t('homecal.yearly', { year }));
  yearly.href = calendarPageUrl(meeting.akim_account_id, year);
  yearly.setAttribute('aria-label', t('homecal.yearlyLabel', { name: akimName(meeting.akim_account_id), year }));
  links.append(yearly);
  item.append(when, title, where, links);
  return item;
}

async function loadCalendar() {
  try {
    const from = new Date().toISOString();
    const answer = await api.get(`/api/meetings?from=${encodeURIComponent(from)}&limit=${CALENDAR_LIMIT}`);
    // Upcoming: still to be held, or called off (a cancellation is news to subscribers too).
    const listed = Array.isArray(answer?.meetings) ? answer.meetings : [];
    calendar.meetings = listed.filter((meeting) => meeting.status === 'scheduled' || meeting.status === 'cancelled');
    calendar.truncated = listed.length >= CALENDAR_LIMIT;
  } catch {
    calendar.failed = true;
  }
  renderCalendar();
  if (calendar.meetings === null) return;
  // Names come with the territories and with each akim's calendar (the public view of an akim).
  const akims = akimsOf(calendar.meetings).slice(0, MAX_AKIM_NAMES);
  await Promise.all([
    loadTerritories().then((territories) => {
      calendar.territories = territories;
    }),
    ...akims.map(({ id, year }) =>
      api.get(`/api/akims/${encodeURIComponent(id)}/calendars/${encodeURIComponent(year)}`).then(
        (view) => {
          if (typeof view?.akim_name === 'string' && view.akim_name !== '') calendar.akimNames.set(id, view.akim_name);
        },
        () => {}, // an akim without a territory has no calendar: the number stands for the name
      ),
    ),
  ]);
  renderCalendar();
}

async function showAdminLink() {
  try {
    const session = await fetchSession();
    document.getElementById('admin-link').hidden = session?.account?.role !== 'admin';
  } catch {
    // Without a session the header simply has no admin link.
  }
}

setUpLanguageSwitch(() => {
  render();
  renderCalendar();
});
render();
renderCalendar();
loadMeetings();
loadCalendar();
showAdminLink();
