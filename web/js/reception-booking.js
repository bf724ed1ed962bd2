// Owns the meeting page's personal receptions (#receptions in meeting.html): the meeting's
// reception slots (when, how long, where, the officials taking part, places still free), and the
// booking form (the slot, name, contact, topic; name and contact are never published). A booking
// answers with a code, shown once with a note to keep it: only the code opens the booking again.
// Those who arrange the meeting's receptions (admins, the commission, the meeting's akim) get a
// link to receptions.html.

import { api, describeError } from './api.js';
import { formatNumber, registerStrings, t } from './i18n.js';
import { mayArrangeReceptions } from './calendar-model.js';
import { formatInstant } from './calendar-view.js';
import { make } from './register-view.js';
import receptionBookingStrings from './strings/reception-booking.js';
import requestFormStrings from './strings/request-form.js';

registerStrings(receptionBookingStrings);
registerStrings(requestFormStrings);

const byId = (id) => document.getElementById(id);

/** Whether a slot takes bookings now (the server decides again when one is sent). */
export function bookable(slot, now = Date.now()) {
  return !slot.cancelled && !slot.started && slot.free > 0 && Date.parse(slot.starts_at) > now;
}

/** A slot's state in words, for its card; a cancelled meeting's slots are cancelled with it. */
function slotState(slot, meetingCancelled = false) {
  if (slot.cancelled || meetingCancelled) return { code: 'cancelled', text: t('reception.state.cancelled') };
  // The server says when it began; the browser's clock covers a page left open since.
  if (slot.started || Date.parse(slot.starts_at) <= Date.now()) {
    return { code: 'closed', text: t('reception.state.closed') };
  }
  if (slot.free <= 0) return { code: 'full', text: t('reception.state.full') };
  return {
    code: 'open',
    text: t('reception.state.free', { free: formatNumber(slot.free), capacity: formatNumber(slot.capacity) }),
  };
}

/** The officials taking part, "Name, position" each. */
export function officialsLine(officials) {
  return (officials ?? [])
    .map((official) => (official.position ? t('reception.official', official) : official.name))
    .join('; ');
}

/** A slot in one line, for the booking form's choice. */
export function slotLabel(slot) {
  return t('reception.slotLabel', {
    when: formatInstant(slot.starts_at),
    place: slot.place,
  });
}

function bookingErrorText(error) {
  const code = error?.problem?.code;
  if (code === 'reception_full') return t('reception.error.full');
  if (code === 'reception_started') return t('reception.error.started');
  if (code === 'reception_cancelled') return t('reception.error.cancelled');
  if (code === 'already_booked') return t('reception.error.alreadyBooked');
  if (code === 'meeting_cancelled') return t('reception.error.meetingCancelled');
  if (code === 'invalid_contact') return t('reception.error.contact');
  if (error?.status === 429) return t('request.error.rateLimited');
  return describeError(error);
}

/**
 * Mounts the receptions section. `getMeeting()` and `getAccount()` give the page's meeting and
 * signed-in account. Returns {render()}, called when either or the language changes.
 */
export function mountReceptions({ meetingId, getMeeting, getAccount }) {
  const el = {
    root: byId('receptions'),
    arrangeRow: byId('receptions-arrange-row'),
    arrangeLink: byId('receptions-arrange-link'),
    list: byId('reception-list'),
    empty: byId('receptions-empty'),
    loadError: byId('receptions-load-error'),
    form: byId('booking-form'),
    slot: byId('booking-slot'),
    name: byId('booking-name'),
    contact: byId('booking-contact'),
    topic: byId('booking-topic'),
    submit: byId('booking-submit'),
    error: byId('booking-error'),
    done: byId('booking-done'),
    doneText: byId('booking-done-text'),
    code: byId('booking-code'),
    again: byId('booking-again'),
  };
  let slots = null; // null until read
  let loadError = '';
  let sending = false;
  let errorText = '';
  let booked = null; // {code, slot}: shown once, until another booking is started

  function render() {
    const meeting = getMeeting();
    const arranges = mayArrangeReceptions(getAccount(), meeting);
    const list = slots ?? [];
    // A cancelled meeting takes no bookings (the server answers 409 meeting_cancelled).
    const meetingCancelled = meeting?.status === 'cancelled';
    el.root.hidden = meeting === null || (!arranges && list.length === 0 && booked === null);
    el.arrangeRow.hidden = !arranges;
    el.arrangeLink.href = `/receptions.html?meeting=${encodeURIComponent(meetingId)}`;
    el.loadError.textContent = loadError;
    el.empty.hidden = slots === null || list.length > 0;
    el.list.replaceChildren(...list.map((slot) => slotItem(slot, meetingCancelled)));

    const open = meetingCancelled ? [] : list.filter((slot) => bookable(slot));
    const chosen = el.slot.value;
    el.slot.replaceChildren(
      new Option(t('reception.book.chooseSlot'), ''),
      ...open.map((slot) => new Option(slotLabel(slot), String(slot.id))),
    );
    if (open.some((slot) => String(slot.id) === chosen)) el.slot.value = chosen;
    else if (open.length === 1) el.slot.value = String(open[0].id);

    el.form.hidden = booked !== null || open.length === 0;
    el.done.hidden = booked === null;
    if (booked !== null) {
      el.doneText.textContent = t('reception.book.done', { slot: slotLabel(booked.slot) });
      el.code.textContent = booked.code;
    }
    el.submit.disabled = sending;
    el.submit.textContent = t(sending ? 'reception.book.sending' : 'reception.book.submit');
    el.error.textContent = errorText;
  }

  function slotItem(slot, meetingCancelled) {
    const item = make('li', 'reception');
    item.dataset.reception = String(slot.id);
    const state = slotState(slot, meetingCancelled);
    item.dataset.state = state.code;
    item.append(
      make('p', 'reception__when', t('reception.when', { when: formatInstant(slot.starts_at), minutes: slot.minutes })),
      make('p', 'reception__place', t('reception.place', { place: slot.place })),
    );
    if (slot.officials?.length) {
      item.append(make('p', 'reception__officials', t('reception.officials', { names: officialsLine(slot.officials) })));
    }
    const badge = make(
      'span',
      state.code === 'open' ? 'badge badge--kept' : state.code === 'cancelled' ? 'badge badge--cancelled' : 'badge',
      state.text,
    );
    badge.dataset.free = String(slot.free);
    const footer = make('p', 'reception__state');
    footer.append(badge);
    item.append(footer);
    return item;
  }

  async function load() {
    try {
      const answer = await api.get(`/api/meetings/${meetingId}/receptions`);
      slots = Array.isArray(answer) ? answer : [];
      loadError = '';
    } catch (error) {
      loadError = error?.status === 404 ? '' : describeError(error);
    }
    render();
  }

  async function send(event) {
    event.preventDefault();
    if (sending) return;
    const fields = [el.slot, el.name, el.contact, el.topic];
    const missing = fields.find((field) => field.value.trim() === '') ?? null;
    for (const field of fields) field.setAttribute('aria-invalid', field === missing ? 'true' : 'false');
    if (missing) {
      errorText = t('reception.error.required');
      render();
      missing.focus();
      return;
    }
    const slotId = el.slot.value;
    sending = true;
    errorText = '';
    render();
    try {
      const answer = await api.post(`/api/receptions/${encodeURIComponent(slotId)}/bookings`, {
        name: el.name.value.trim(),
        contact: el.contact.value.trim(),
        topic: el.topic.value.trim(),
      });
      if (typeof answer?.code !== 'string') throw new Error('no code');
      booked = { code: answer.code, slot: answer.reception };
      slots = (slots ?? []).map((slot) => (slot.id === answer.reception?.id ? answer.reception : slot));
      el.form.reset();
      sending = false;
      render();
      el.code.focus();
    } catch (error) {
      errorText = bookingErrorText(error);
      sending = false;
      render();
      // The places may have changed meanwhile.
      if (error?.status === 409) load();
    }
  }

  el.form.addEventListener('submit', send);
  el.again.addEventListener('click', () => {
    booked = null;
    errorText = '';
    render();
    el.slot.focus();
  });
  load();
  return { render };
}
