// Owns two ways a citizen follows what they raise at a meeting, on the meeting page:
//
// - the request form (#request in meeting.html), open while the meeting is scheduled: name and
//   contact (never published), the problem in a line, the request in full and a category; it
//   POSTs /api/meetings/{id}/requests and shows the receipt link that follows the request;
// - "follow my questions" (#live-follow, in the discussion panel) for a viewer who joined: it
//   POSTs /api/meetings/{id}/receipt with the viewer's token and shows the receipt link, which
//   follows every comment of theirs that becomes a question.

import { api, describeError } from './api.js';
import { registerStrings, t } from './i18n.js';
import { receiptPath } from './register-model.js';
import { fillCategorySelect, loadCategories } from './register-view.js';
import requestFormStrings from './strings/request-form.js';

registerStrings(requestFormStrings);

const byId = (id) => document.getElementById(id);

/** The receipt link as the reader will keep it: the whole address, shown and linked. */
function showReceiptLink(link, code) {
  const path = receiptPath(code);
  link.href = path;
  link.textContent = new URL(path, location.origin).href;
}

function requestErrorText(error) {
  if (error?.problem?.code === 'requests_closed') return t('request.error.closed');
  if (error?.status === 429) return t('request.error.rateLimited');
  if (error?.status === 404) return t('meeting.notFound');
  return describeError(error);
}

/**
 * Mounts the request form. `getMeeting()` gives the page's current meeting. Returns {render()},
 * called when the meeting or the language changes.
 */
export function mountRequestForm({ meetingId, getMeeting }) {
  const el = {
    root: byId('request'),
    form: byId('request-form'),
    name: byId('request-name'),
    contact: byId('request-contact'),
    title: byId('request-title'),
    text: byId('request-text'),
    category: byId('request-category'),
    submit: byId('request-submit'),
    error: byId('request-error'),
    sent: byId('request-sent'),
    link: byId('request-receipt-link'),
    again: byId('request-again'),
  };
  let categories = [];
  let sending = false;
  let errorText = '';
  let receiptCode = null; // the last request's receipt, shown until another is written

  function render() {
    const meeting = getMeeting();
    const open = meeting?.status === 'scheduled';
    // The receipt stays in view after the meeting starts: it is the citizen's only key.
    el.root.hidden = !(open || receiptCode !== null);
    el.form.hidden = receiptCode !== null || !open;
    el.sent.hidden = receiptCode === null;
    if (receiptCode !== null) showReceiptLink(el.link, receiptCode);
    fillCategorySelect(el.category, categories, 'request.noCategory');
    el.submit.disabled = sending;
    el.submit.textContent = t(sending ? 'request.sending' : 'request.submit');
    el.error.textContent = errorText;
  }

  function fieldsMissing() {
    return [el.name, el.title, el.text].find((field) => field.value.trim() === '') ?? null;
  }

  async function send(event) {
    event.preventDefault();
    if (sending) return;
    const missing = fieldsMissing();
    for (const field of [el.name, el.title, el.text]) {
      field.setAttribute('aria-invalid', field === missing ? 'true' : 'false');
    }
    if (missing) {
      errorText = t('request.error.required');
      render();
      missing.focus();
      return;
    }
    const body = {
      name: el.name.value.trim(),
      title: el.title.value.trim(),
      text: el.text.value.trim(),
    };
    if (el.contact.value.trim() !== '') body.contact = el.contact.value.trim();
    if (el.category.value !== '') body.category = el.category.value;
    sending = true;
    errorText = '';
    render();
    try {
      const answer = await api.post(`/api/meetings/${meetingId}/requests`, body);
      if (typeof answer?.receipt_code !== 'string') throw new Error('no receipt');
      receiptCode = answer.receipt_code;
      el.form.reset();
      sending = false;
      render();
      el.link.focus();
    } catch (error) {
      errorText = requestErrorText(error);
      sending = false;
      render();
    }
  }

  el.form.addEventListener('submit', send);
  el.again.addEventListener('click', () => {
    receiptCode = null;
    errorText = '';
    render();
    el.name.focus();
  });
  loadCategories().then((list) => {
    categories = list;
    render();
  });
  render();
  return { render };
}

/**
 * Mounts "follow my questions" in the discussion panel. `getViewer()` gives the stored viewer
 * ({token, viewer_id}) or null. Returns {render()}, called when the viewer joins or leaves and
 * when the language changes.
 */
export function mountFollowButton({ meetingId, getViewer }) {
  const el = {
    root: byId('live-follow'),
    button: byId('live-follow-button'),
    result: byId('live-follow-result'),
    link: byId('live-follow-link'),
    error: byId('live-follow-error'),
  };
  let asking = false;
  let errorText = '';
  let known = null; // {viewerId, code}: the server answers the same code for a viewer each time

  function render() {
    const viewer = getViewer();
    el.root.hidden = viewer === null;
    if (viewer === null) return;
    const code = known?.viewerId === viewer.viewer_id ? known.code : null;
    el.result.hidden = code === null;
    if (code !== null) showReceiptLink(el.link, code);
    el.button.disabled = asking;
    el.button.textContent = t(asking ? 'follow.asking' : 'follow.button');
    el.error.textContent = errorText;
  }

  async function ask() {
    const viewer = getViewer();
    if (viewer === null || asking) return;
    asking = true;
    errorText = '';
    render();
    try {
      const answer = await api.post(`/api/meetings/${meetingId}/receipt`, undefined, { token: viewer.token });
      if (typeof answer?.receipt_code !== 'string') throw new Error('no receipt');
      known = { viewerId: viewer.viewer_id, code: answer.receipt_code };
      asking = false;
      render();
      el.link.focus();
    } catch (error) {
      errorText = error?.status === 401 ? t('live.join.expired') : describeError(error);
      asking = false;
      render();
    }
  }

  el.button.addEventListener('click', ask);
  render();
  return { render };
}
