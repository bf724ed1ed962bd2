// Owns the page where staff arrange a meeting's personal receptions (/receptions.html?meeting=ID):
// open a slot (a local date and time in Almaty sent as RFC 3339 with +05:00, its length, place,
// the officials one per line "Name — position", and how many citizens it receives), list the
// slots with their bookings (the citizen's name, contact and topic: personal data, shown only
// here), link a booking to the problem issue it raised by the issue's number (and unlink it),
// cancel a booking (freeing its place) and cancel a slot. For admins, the commission and the
// meeting's akim; the server checks again.

import { api, describeError, fetchSession } from './api.js';
import { formatNumber, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import {
  ALMATY,
  instantToLocalInput,
  localDateTimeToRfc3339,
  mayArrangeReceptions,
  parseOfficials,
  readId,
} from './calendar-model.js';
import { formatInstant } from './calendar-view.js';
import { officialsLine } from './reception-booking.js';
import { parseIssueId } from './register-model.js';
import { make } from './register-view.js';
import receptionsStrings from './strings/receptions.js';

registerStrings(receptionsStrings);

const byId = (id) => document.getElementById(id);
const meetingId = readId(new URLSearchParams(location.search).get('meeting'));

let meeting = null;
let account = null;
let signedIn = null; // null until the session is known
let slots = [];
const bookings = new Map(); // slot id → [BookingView] | {error}
let messageKey = 'common.loading';
let messageText = null;
let statusText = '';
let errorText = '';
let busy = false;

// ---------------------------------------------------------------------------------------------
// Rendering

function render() {
  const here = location.pathname + location.search;
  byId('signin-link').href = `/signin.html?next=${encodeURIComponent(here)}`;
  byId('signin-needed-link').href = `/signin.html?next=${encodeURIComponent(here)}`;
  const back = byId('meeting-back');
  back.href = meetingId ? `/meetings/${meetingId}` : '/';
  const message = byId('page-message');
  const text = messageText ?? (messageKey ? t(messageKey) : '');
  message.hidden = text === '';
  message.textContent = text;
  byId('signin-needed').hidden = signedIn !== false;

  const name = byId('meeting-name');
  name.hidden = meeting === null;
  if (meeting !== null) {
    const title = pickLocalized(meeting.title);
    name.textContent = t('arrange.meeting', { title, when: formatInstant(meeting.planned_start) });
    document.title = `${t('arrange.title')} — ${title} — Kezdesu`;
  }
  const allowed = meeting !== null && mayArrangeReceptions(account, meeting);
  byId('arrange').hidden = !allowed;
  if (!allowed) return;
  byId('work-status').textContent = statusText;
  byId('work-error').textContent = errorText;
  renderSlots();
  for (const button of byId('arrange').querySelectorAll('button')) button.disabled = busy;
}

function renderSlots() {
  const list = byId('slot-list');
  byId('slots-empty').hidden = slots.length > 0;
  // Rebuilt whole: what was typed into the issue fields, and the focus, are kept by id.
  const focused = list.contains(document.activeElement) ? document.activeElement.id : null;
  const typed = new Map([...list.querySelectorAll('input[id]')].map((input) => [input.id, input.value]));
  list.replaceChildren(...slots.map(slotItem));
  for (const [id, value] of typed) {
    const input = byId(id);
    if (input) input.value = value;
  }
  if (focused) byId(focused)?.focus();
}

function slotItem(slot) {
  const item = make('li', 'slot-admin');
  item.dataset.reception = String(slot.id);
  const headingId = `slot-${slot.id}-heading`;
  item.setAttribute('aria-labelledby', headingId);
  const heading = make('h3', 'slot-admin__when', t('reception.when', { when: formatInstant(slot.starts_at), minutes: slot.minutes }));
  heading.id = headingId;
  item.append(
    heading,
    make('p', 'reception__place', t('reception.place', { place: slot.place })),
    make('p', 'reception__officials', t('reception.officials', { names: officialsLine(slot.officials) })),
  );
  const state = make('p', 'issue-badges');
  state.append(
    make(
      'span',
      null,
      t('arrange.list.booked', { booked: formatNumber(slot.booked), capacity: formatNumber(slot.capacity) }),
    ),
  );
  if (slot.cancelled) {
    const badge = make('span', 'badge badge--cancelled', t('reception.state.cancelled'));
    badge.dataset.cancelled = 'true';
    state.append(' ', badge);
  }
  item.append(state);
  if (!slot.cancelled) {
    const cancel = make('button', 'button button--danger button--small', t('arrange.list.cancel'));
    cancel.type = 'button';
    cancel.id = `slot-${slot.id}-cancel`;
    cancel.setAttribute('aria-describedby', headingId);
    cancel.addEventListener('click', () => cancelSlot(slot));
    const row = make('div', 'button-row');
    row.append(cancel);
    item.append(row);
  }
  item.append(bookingsPart(slot));
  return item;
}

function bookingsPart(slot) {
  const part = make('div', 'slot-admin__bookings');
  const known = bookings.get(slot.id);
  const count = Array.isArray(known) ? known.length : null;
  part.append(
    make('h4', null, count === null ? t('arrange.bookings.title') : t('arrange.bookings.count', { n: formatNumber(count) })),
  );
  if (known === undefined) {
    part.append(make('p', 'notice', t('common.loading')));
    return part;
  }
  if (!Array.isArray(known)) {
    part.append(make('p', 'error', known.error));
    return part;
  }
  if (known.length === 0) {
    part.append(make('p', 'notice', t('arrange.bookings.none')));
    return part;
  }
  const list = make('ul', 'booking-list');
  list.append(...known.map(bookingItem));
  part.append(list);
  return part;
}

function bookingItem(booking) {
  const item = make('li', 'booking');
  item.dataset.booking = String(booking.id);
  item.dataset.cancelled = booking.cancelled ? 'true' : 'false';
  const name = make('p', 'booking__name');
  name.id = `booking-${booking.id}-name`;
  name.tabIndex = -1; // takes the focus once the booking's cancel button is gone
  name.append(make('strong', null, booking.name));
  if (booking.cancelled) {
    const badge = make('span', 'badge badge--cancelled', t('arrange.bookings.cancelled'));
    badge.dataset.cancelled = 'true';
    name.append(' ', badge);
  }
  const facts = make('dl', 'facts booking__facts');
  const fact = (labelKey, value, className = null) => {
    const row = make('div');
    row.append(make('dt', null, t(labelKey)), make('dd', className, value));
    facts.append(row);
  };
  fact('arrange.bookings.contact', booking.contact, 'contact');
  fact('arrange.bookings.topic', booking.topic, 'multiline');
  item.append(name, facts);
  if (!booking.cancelled) {
    const cancel = make('button', 'button button--danger button--small', t('arrange.bookings.cancel'));
    cancel.type = 'button';
    cancel.id = `booking-${booking.id}-cancel`;
    cancel.setAttribute('aria-describedby', name.id);
    cancel.addEventListener('click', () => cancelBooking(booking));
    const row = make('div', 'button-row');
    row.append(cancel);
    item.append(row);
  }

  const linked = make('div', 'booking__issues');
  linked.append(make('p', 'booking__issues-title', t('arrange.issues.title')));
  if (booking.issue_ids.length === 0) {
    linked.append(make('p', 'notice', t('arrange.issues.none')));
  } else {
    const list = make('ul', 'linked-issues');
    for (const issueId of booking.issue_ids) {
      const entry = make('li', 'linked-issue');
      entry.dataset.issue = String(issueId);
      const link = make('a', null, t('issue.numbered', { id: issueId }));
      link.href = `/issue.html?id=${encodeURIComponent(issueId)}`;
      const unlink = make(
        'button',
        'button button--quiet button--small',
        t('arrange.issues.unlink', { id: issueId }),
      );
      unlink.type = 'button';
      unlink.id = `booking-${booking.id}-unlink-${issueId}`;
      unlink.dataset.unlink = String(issueId);
      unlink.addEventListener('click', () => unlinkIssue(booking, issueId));
      entry.append(link, ' ', unlink);
      list.append(entry);
    }
    linked.append(list);
  }
  const form = make('form', 'link-issue');
  form.noValidate = true;
  const field = make('div', 'field');
  const input = make('input');
  input.id = `booking-${booking.id}-issue`;
  input.type = 'text';
  input.inputMode = 'numeric';
  input.autocomplete = 'off';
  input.dataset.issueInput = 'true';
  const label = make('label', null, t('arrange.issues.number'));
  label.htmlFor = input.id;
  field.append(label, input);
  const button = make('button', 'button button--small', t('arrange.issues.link'));
  button.type = 'submit';
  button.id = `booking-${booking.id}-link`;
  form.append(field, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    linkIssue(booking, input);
  });
  linked.append(form);
  item.append(linked);
  return item;
}

// ---------------------------------------------------------------------------------------------
// Changes

function problemText(error) {
  if (error?.status === 401) return t('ws.error.signedOut');
  if (error?.status === 403) return t('arrange.forbidden');
  if (error?.problem?.code === 'meeting_cancelled') return t('arrange.error.meetingCancelled');
  return describeError(error);
}

async function act(change, doneKey, params = {}) {
  if (busy) return false;
  busy = true;
  statusText = '';
  errorText = '';
  render();
  try {
    await change();
    statusText = t(doneKey, params);
    return true;
  } catch (error) {
    errorText = problemText(error);
    return false;
  } finally {
    busy = false;
    render();
  }
}

async function createSlot(event) {
  event.preventDefault();
  const start = byId('slot-start');
  const minutes = byId('slot-minutes');
  const place = byId('slot-place');
  const officialsField = byId('slot-officials');
  const capacity = byId('slot-capacity');
  const startsAt = localDateTimeToRfc3339(start.value);
  const { officials, bad } = parseOfficials(officialsField.value);
  const minutesValue = Number(minutes.value);
  const capacityValue = Number(capacity.value);
  const problems = [
    [start, startsAt === null, 'arrange.create.badStart'],
    [minutes, !Number.isInteger(minutesValue) || minutesValue < 5 || minutesValue > 480, 'arrange.create.badMinutes'],
    [place, place.value.trim() === '', 'arrange.create.badPlace'],
    [officialsField, officials.length === 0 || bad.length > 0, 'arrange.create.badOfficials'],
    [capacity, !Number.isInteger(capacityValue) || capacityValue < 1 || capacityValue > 500, 'arrange.create.badCapacity'],
  ];
  for (const [field, wrong] of problems) field.setAttribute('aria-invalid', wrong ? 'true' : 'false');
  const first = problems.find(([, wrong]) => wrong);
  if (first) {
    statusText = '';
    errorText = t(first[2]);
    render();
    first[0].focus();
    return;
  }
  const done = await act(async () => {
    const slot = await api.post(`/api/meetings/${meetingId}/receptions`, {
      starts_at: startsAt,
      minutes: minutesValue,
      place: place.value.trim(),
      officials,
      capacity: capacityValue,
    });
    slots = [...slots, slot].sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
    bookings.set(slot.id, []);
  }, 'arrange.create.done');
  if (done) {
    place.value = '';
    officialsField.value = '';
  }
}

async function cancelSlot(slot) {
  if (!window.confirm(t('arrange.list.confirmCancel', { when: formatInstant(slot.starts_at) }))) return;
  await act(async () => {
    const saved = await api.post(`/api/receptions/${slot.id}/cancel`);
    slots = slots.map((entry) => (entry.id === saved.id ? saved : entry));
  }, 'arrange.list.cancelled');
}

function replaceBooking(saved) {
  const list = bookings.get(saved.reception_id);
  if (Array.isArray(list)) {
    bookings.set(
      saved.reception_id,
      list.map((entry) => (entry.id === saved.id ? saved : entry)),
    );
  }
}

async function cancelBooking(booking) {
  if (!window.confirm(t('arrange.bookings.confirmCancel', { name: booking.name }))) return;
  const done = await act(async () => {
    const saved = await api.post(`/api/reception-bookings/${booking.id}/cancel`);
    replaceBooking(saved);
    // The slot's count of places booked changed: read the slots again.
    try {
      const answer = await api.get(`/api/meetings/${meetingId}/receptions`);
      if (Array.isArray(answer)) slots = answer;
    } catch {
      if (!booking.cancelled && saved.cancelled) {
        slots = slots.map((entry) =>
          entry.id === saved.reception_id ? { ...entry, booked: Math.max(0, entry.booked - 1) } : entry,
        );
      }
    }
  }, 'arrange.bookings.cancelDone');
  if (done) byId(`booking-${booking.id}-name`)?.focus();
}

async function linkIssue(booking, input) {
  const issueId = parseIssueId(input.value);
  input.setAttribute('aria-invalid', issueId === null ? 'true' : 'false');
  if (issueId === null) {
    statusText = '';
    errorText = t('arrange.issues.badNumber');
    render();
    byId(input.id)?.focus();
    return;
  }
  const done = await act(
    async () => replaceBooking(await api.post(`/api/reception-bookings/${booking.id}/issues`, { issue_id: issueId })),
    'arrange.issues.linked',
    { id: issueId },
  );
  if (done) {
    const field = byId(input.id);
    if (field) field.value = '';
  }
}

async function unlinkIssue(booking, issueId) {
  await act(
    async () => replaceBooking(await api.delete(`/api/reception-bookings/${booking.id}/issues/${issueId}`)),
    'arrange.issues.unlinked',
    { id: issueId },
  );
  byId(`booking-${booking.id}-issue`)?.focus();
}

// ---------------------------------------------------------------------------------------------
// Loading

async function loadBookings(slot) {
  try {
    const list = await api.get(`/api/receptions/${slot.id}/bookings`);
    bookings.set(slot.id, Array.isArray(list) ? list : []);
  } catch (error) {
    bookings.set(slot.id, { error: problemText(error) });
  }
  render();
}

async function start() {
  setUpLanguageSwitch(render);
  byId('slot-form').addEventListener('submit', createSlot);
  render();
  if (meetingId === null) {
    messageKey = 'meeting.notFound';
    render();
    return;
  }
  try {
    account = (await fetchSession())?.account ?? null;
  } catch {
    account = null;
  }
  signedIn = account !== null;
  try {
    meeting = await api.get(`/api/meetings/${meetingId}`);
  } catch (error) {
    if (error?.status === 404) messageKey = 'meeting.notFound';
    else messageText = describeError(error);
    render();
    return;
  }
  if (!signedIn) messageKey = null;
  else if (!mayArrangeReceptions(account, meeting)) messageKey = 'arrange.forbidden';
  else messageKey = null;
  // The form starts at the meeting's planned end, in Almaty time.
  const startInput = byId('slot-start');
  const meetingStart = Date.parse(meeting.planned_start);
  startInput.min = instantToLocalInput(meeting.planned_start, ALMATY);
  if (!startInput.value && !Number.isNaN(meetingStart)) {
    startInput.value = instantToLocalInput(new Date(meetingStart + (meeting.planned_minutes ?? 0) * 60000), ALMATY);
  }
  render();
  if (byId('arrange').hidden) return;
  try {
    const answer = await api.get(`/api/meetings/${meetingId}/receptions`);
    slots = Array.isArray(answer) ? answer : [];
  } catch (error) {
    errorText = problemText(error);
  }
  render();
  await Promise.all(slots.map(loadBookings));
}

start();
