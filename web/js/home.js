// Owns the home page: loads all meetings and lists them grouped as live, upcoming and past.

import { api } from './api.js';
import { formatMeetingDateTime, pickLocalized, setUpLanguageSwitch, t } from './i18n.js';

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

setUpLanguageSwitch(render);
render();
loadMeetings();
