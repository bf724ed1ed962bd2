// Owns the moderator console (/moderate.html?meeting=ID) for accounts with the moderator or admin
// role: every comment of the meeting newest first (held and hidden ones too), hiding with a
// reason in one click or one key, releasing and restoring, timing out and banning authors, slow
// mode and holding first comments, promoting comments into a question, and running the question
// queue (edit, merge, pin and move, on air, answered or dismissed). It also shows the session
// timer (meeting-view.js), how many are connected and the state of the connection. Comments
// written on a social-media platform carry its mark (a link to the comment there, and the
// author's id on the platform), and once hidden, or their author banned or timed out, what
// became of the same action sent back to the platform; the platform readers' states are a
// panel of their own (platforms.js).
//
// Everything goes over the meeting's live channel (live-connection.js, signed in by the session
// cookie), joined with a snapshot (`?snapshot=true`: settings, pins, every question and held
// comment, the latest comments) so that joining late costs nothing, and resumed with `since`
// after a drop; live-state.js folds the events, dropping any `seq` already seen, so nothing is
// lost or shown twice. Events are folded and drawn at most once per animation frame (onBatch),
// the list shows at most MAX_ROWS comments, and it holds still while the moderator works below
// its top ("New comments: N" brings it back). Commands carry a `request_id`; the
// server's `error` for one is shown in an aria-live region, named after the command.
//
// The page renders from the state: lists are reconciled by number (comments and questions keep
// their elements, so focus stays where the moderator is), and an element is rebuilt only when
// what it shows changed. User text is only ever set with textContent.

import { api, fetchSession } from './api.js';
import { commentMarks, mountClusters } from './clusters.js';
import { formatMeetingTime, formatNumber, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import { frameRenderer, frameScheduler } from './frame-batch.js';
import { LiveConnection } from './live-connection.js';
import * as live from './live-state.js';
import {
  TIMER_TICK_MS,
  formatClock,
  mountPhaseControls,
  parseMeetingId,
  renderTimer,
  setText,
  subscribeMeetingEvents,
} from './meeting-view.js';
import { moderationLogUrl } from './moderation-log-model.js';
import { make } from './register-view.js';
import { mountPlatformStatus, outcomeText, platformBadge, platformBadgeSignature } from './platforms.js';
import { mountRestream } from './restream.js';
import strings from './strings/moderate.js';
import platformsStrings from './strings/platforms.js';
import restreamStrings from './strings/restream.js';
import liveStrings from './strings/live.js';
import moderationLogStrings from './strings/moderation-log.js';

registerStrings(strings);
registerStrings(restreamStrings);
registerStrings(platformsStrings);
registerStrings(liveStrings);
registerStrings(moderationLogStrings);

/** The roles this console is for (docs/protocol.md: "moderators" are both). */
const MODERATOR_ROLES = ['moderator', 'admin'];
/** Comments kept in memory; the newest PAGE_SIZE are shown, more on request up to MAX_ROWS. */
const MAX_COMMENTS = 5000;
const PAGE_SIZE = 100;
const MAX_ROWS = 500;
/** Within this many pixels of the list's top, new comments come in; further down it holds still. */
const FOLLOW_TOP_PX = 48;
const SLOW_MODE_CHOICES = [0, 5, 10, 15, 30, 60, 120, 300, 600];
const TIMEOUT_CHOICES = [1, 5, 10, 15, 30, 60, 180, 1440];
const DEFAULT_TIMEOUT_MINUTES = 10;
/** Errors listed at most; older ones drop off. */
const MAX_ERRORS_SHOWN = 6;
/** How often time-outs are checked for having run out (they show on the comments). */
const STANDING_TICK_MS = 15000;
const FILTERS = ['all', 'held', 'hidden'];

const byId = (id) => document.getElementById(id);
const meetingId = parseMeetingId(location.search);

let account = null;
let meeting = null;
let messageKey = 'common.loading';
let controls = null;
/** The restream states (restream.js, read only here). */
let restream = null;
/** The platform readers' states and the outcomes of moderation sent back (platforms.js). */
let platforms = null;
/** The similar comments' panel and the likely-question view (clusters.js). */
let clusters = null;

let liveState = null;
let connection = null;
let liveStatus = 'connecting'; // connecting | live | reconnecting | closed
let online = navigator.onLine !== false;
let refused = false; // the channel does not take this account as a moderator

// What the moderator is doing
let view = 'comments'; // the column shown on narrow screens: comments | questions
let filter = 'all';
let shownLimit = PAGE_SIZE;
// While the moderator works below the top of the list, comments newer than this are held back
// (counted on the "New comments" button) so that the list does not move under them.
let frozenNewest = null;
const selected = new Set(); // comment numbers to promote, in the order picked
let timeoutMinutes = DEFAULT_TIMEOUT_MINUTES;
let openForm = null; // {question, kind: edit | merge | answer | dismiss}
const drafts = new Map(); // `${kind}:${question}` → text typed in a question's form
let lastComment = null; // the comment last focused, for the C key
let lastQuestion = null;
let renderedSlowMode = null;
let holdPending = null; // the hold switch's setting asked for, until the server answers
let holdSettlesAtSeq = null; // the seq of the hold's event, when its `done` came first

// Commands
let requestCounter = 0;
const pending = new Map(); // request_id → {label, onDone, onError}
let doneText = '';

// Rendered items: number → {element, signature}
const commentItems = new Map();
const questionItems = new Map();
let languageVersion = 0;

/**
 * A button of an item's toolbar: `action` names what it does (for clicks and focus), `text` is
 * shown, `more` is read out after it but not shown (whose comment or author), and `symbol`,
 * shown instead of `text` but not read out (an arrow), makes `text` a screen reader's only.
 * The name comes from the content, so that what is shown is part of what is read out.
 */
function actionButton(action, text, { key = null, more = null, symbol = null, className = 'mod-chip' } = {}) {
  const button = make('button', className);
  button.type = 'button';
  button.dataset.action = action;
  if (key) {
    button.setAttribute('aria-keyshortcuts', key);
    const hint = make('kbd', 'mod-kbd', key.replace('Shift+', '⇧'));
    hint.setAttribute('aria-hidden', 'true');
    button.append(hint, ' ');
  }
  if (symbol) {
    const shown = make('span', null, symbol);
    shown.setAttribute('aria-hidden', 'true');
    button.append(shown, make('span', 'visually-hidden', text));
  } else {
    button.append(text);
  }
  if (more) button.append(make('span', 'visually-hidden', ` (${more})`));
  return button;
}

function reasonLabel(reason) {
  const key = `moderate.reason.${reason}`;
  const text = t(key);
  return text === key ? String(reason) : text;
}

function isModerator(role) {
  return MODERATOR_ROLES.includes(role);
}

// ---------------------------------------------------------------------------------------------
// Commands and their answers

/**
 * Sends a moderation command with a fresh request_id; `label` names it in answers. `onDone`
 * and `onError` follow the server's answer. Returns whether it went out.
 */
function command(message, label, { onDone = null, onError = null } = {}) {
  requestCounter += 1;
  const requestId = `m-${Date.now().toString(36)}-${requestCounter}`;
  if (liveStatus !== 'live' || !connection?.send({ ...message, request_id: requestId })) {
    showError({ requestId, label, code: 'offline', text: t('moderate.error.offline') });
    onError?.();
    return false;
  }
  pending.set(requestId, { label, onDone, onError });
  return true;
}

function errorText(message) {
  const key = `moderate.error.${message.code}`;
  const text = t(key);
  if (text !== key) return text;
  return message.message || t('moderate.error.generic');
}

function onAnswer(message) {
  if (message.type === 'ack') return; // the console does not comment
  const request = message.request_id != null ? pending.get(message.request_id) : undefined;
  if (request) pending.delete(message.request_id);
  if (message.type === 'done') {
    if (!request) return;
    doneText = t(message.seq == null ? 'moderate.doneNothing' : 'moderate.done', { action: request.label });
    renderDone();
    request.onDone?.(message);
    return;
  }
  if (message.type !== 'error') return;
  // A `since_ahead` is the channel starting over (live-connection.js does that), not a failure.
  if (message.code === 'since_ahead') return;
  if (!request && (message.code === 'unauthenticated' || message.code === 'forbidden') && !liveState.connectedOnce) {
    return; // refused at sign-in: the page says so
  }
  showError({
    requestId: message.request_id ?? null,
    label: request?.label ?? null,
    code: message.code ?? null,
    text: errorText(message),
  });
  request?.onError?.(message);
}

/** The connection dropped with commands unanswered: say so, since they may or may not be done. */
function failPending() {
  for (const [requestId, request] of pending) {
    showError({ requestId, label: request.label, code: 'no_answer', text: t('moderate.error.noAnswer') });
    request.onError?.();
  }
  pending.clear();
}

function showError({ requestId, label, code, text }) {
  const list = byId('mod-error-list');
  const item = make('li', 'mod-error');
  if (requestId) item.dataset.requestId = requestId;
  if (code) item.dataset.code = code;
  item.textContent = label ? t('moderate.errorFor', { action: label, error: text }) : text;
  list.append(item);
  while (list.children.length > MAX_ERRORS_SHOWN) list.firstElementChild.remove();
  byId('mod-errors-clear').hidden = false;
}

function clearErrors() {
  byId('mod-error-list').replaceChildren();
  byId('mod-errors-clear').hidden = true;
}

function renderDone() {
  setText(byId('mod-done'), doneText);
}

/** A note about a key that did nothing here (said politely, not as an error). */
function note(key, params) {
  doneText = t(key, params);
  renderDone();
}

// ---------------------------------------------------------------------------------------------
// Actions on comments

function commentOf(number) {
  return live.findComment(liveState, number);
}

function hide(number, reason) {
  const comment = commentOf(number);
  if (!comment || !reason) return;
  if (comment.state !== 'visible' && comment.state !== 'held') {
    note('moderate.note.cannotHide', { n: number });
    return;
  }
  command({ type: 'hide', comment: number, reason }, t('moderate.action.hide', { n: number, reason: reasonLabel(reason) }));
}

function releaseOrRestore(number) {
  const comment = commentOf(number);
  if (comment?.state === 'held') {
    command({ type: 'release', comment: number }, t('moderate.action.release', { n: number }));
  } else if (comment?.state === 'hidden') {
    command({ type: 'restore', comment: number }, t('moderate.action.restore', { n: number }));
  } else {
    note('moderate.note.nothingToRelease', { n: number });
  }
}

function toggleSelected(number, on = !selected.has(number)) {
  const comment = commentOf(number);
  if (on && comment?.state !== 'visible') {
    note('moderate.note.selectVisible', { n: number });
    scheduleRender();
    return;
  }
  if (on) selected.add(number);
  else selected.delete(number);
  renderSelection();
}

function startPromote(number) {
  if (number != null && selected.size === 0) toggleSelected(number, true);
  if (selected.size === 0) {
    note('moderate.promote.none');
    return;
  }
  byId('promote-text').focus();
}

function promote() {
  pruneSelection();
  const comments = [...selected];
  if (comments.length === 0) {
    note('moderate.promote.none');
    renderSelection();
    return;
  }
  const text = byId('promote-text').value;
  const message = { type: 'promote', comments };
  if (text.trim() !== '') message.text = text;
  const label = t('moderate.action.promote', { list: comments.map((n) => `№ ${n}`).join(', ') });
  command(message, label, {
    onDone() {
      for (const number of comments) selected.delete(number);
      byId('promote-text').value = '';
      renderSelection();
    },
  });
}

function timeOut(number) {
  const comment = commentOf(number);
  if (!comment || comment.author == null) return;
  command(
    { type: 'time_out', viewer: comment.author, minutes: timeoutMinutes },
    t('moderate.action.timeout', { name: comment.authorName, minutes: timeoutMinutes }),
  );
}

function setBan(number, banned) {
  const comment = commentOf(number);
  if (!comment || comment.author == null) return;
  command(
    { type: banned ? 'ban' : 'unban', viewer: comment.author },
    t(banned ? 'moderate.action.ban' : 'moderate.action.unban', { name: comment.authorName }),
  );
}

function toggleBan(number) {
  const comment = commentOf(number);
  if (!comment) return;
  setBan(number, !live.authorStanding(liveState, comment.author, Date.now()).banned);
}

// ---------------------------------------------------------------------------------------------
// Actions on questions

function questionOf(number) {
  return liveState.questions.get(number) ?? null;
}

function isOpenQuestion(question) {
  return question != null && (question.state === 'queued' || question.state === 'on_air' || question.state === null);
}

function putOnAir(number) {
  const question = questionOf(number);
  if (!isOpenQuestion(question)) return;
  if (liveState.onAir === number) {
    note('moderate.note.alreadyOnAir', { n: number });
    return;
  }
  command({ type: 'put_on_air', question: number }, t('moderate.action.onAir', { n: number }));
}

function movePin(number, move) {
  const found = live.pinMove(liveState, number, move);
  if (!found) {
    note('moderate.note.cannotMove', { n: number });
    return;
  }
  command({ type: 'pin', question: number, position: found.position }, t(`moderate.action.${move}`, { n: number }));
}

function togglePin(number) {
  movePin(number, liveState.pinned.includes(number) ? 'unpin' : 'pin');
}

function openQuestionForm(number, kind) {
  if (!isOpenQuestion(questionOf(number))) return;
  if (kind === 'merge' && live.openQuestions(liveState, number).length === 0) {
    note('moderate.note.nothingToMerge', { n: number });
    return;
  }
  openForm = { question: number, kind };
  renderQuestions();
  const field = document.querySelector(`[data-question="${number}"] .mod-qform [data-field]`);
  field?.focus();
}

function closeQuestionForm({ focus = true } = {}) {
  if (!openForm) return;
  const { question } = openForm;
  openForm = null;
  renderQuestions();
  if (focus) focusItem(document.querySelector(`[data-question="${question}"]`));
}

function submitQuestionForm(number, kind, form) {
  const field = form.querySelector('[data-field]');
  const value = field.value;
  if (value === '') {
    field.focus();
    form.reportValidity();
    return;
  }
  const done = {
    onDone() {
      drafts.delete(`${kind}:${number}`);
      if (openForm?.question === number && openForm.kind === kind) closeQuestionForm({ focus: kind === 'edit' });
    },
  };
  switch (kind) {
    case 'edit':
      command({ type: 'edit_question', question: number, text: value }, t('moderate.action.edit', { n: number }), done);
      break;
    case 'merge': {
      const into = Number(value);
      command({ type: 'merge', question: number, into }, t('moderate.action.merge', { n: number, into }), done);
      break;
    }
    case 'answer':
      command({ type: 'answer', question: number, summary: value }, t('moderate.action.answer', { n: number }), done);
      break;
    case 'dismiss':
      command({ type: 'dismiss', question: number, reason: value }, t('moderate.action.dismiss', { n: number }), done);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

/**
 * Renders what changed on the next animation frame, once, however many frames came in
 * meanwhile, and at most every RENDER_INTERVAL_MS: each redraw of the lists costs a style, layout
 * and paint of the column whatever it adds.
 */
const RENDER_INTERVAL_MS = 50;
const liveRenderer = frameRenderer(() => renderLive(), frameScheduler({ minIntervalMs: RENDER_INTERVAL_MS }));

function scheduleRender() {
  liveRenderer.request();
}

function renderAll() {
  const message = byId('page-message');
  message.hidden = messageKey === null;
  setText(message, messageKey ? t(messageKey) : '');
  byId('moderate').hidden = meeting === null || messageKey !== null;
  if (meeting === null) return;
  const title = pickLocalized(meeting.title);
  setText(byId('meeting-title'), title);
  document.title = `${t('moderate.pageTitle')} — ${title}`;
  renderTimer(meeting);
  renderMiniClock();
  controls?.render();
  renderLive();
}

function renderLive() {
  if (meeting === null || liveState === null) return;
  pruneSelection();
  renderConnection();
  renderViewers();
  renderSettings();
  renderComments();
  renderSelection();
  renderQuestions();
  renderViews();
  renderDone();
}

function connectionView() {
  if (refused) return 'closed';
  if (liveStatus === 'live') return 'live';
  if (!online && liveStatus !== 'closed') return 'offline';
  return liveStatus;
}

function renderConnection() {
  const state = connectionView();
  const indicator = byId('mod-connection');
  indicator.dataset.state = state;
  setText(indicator, t(`moderate.connection.${state}`));
  byId('moderate').dataset.connection = state;
}

function renderViewers() {
  const viewers = liveState.viewers;
  setText(byId('mod-viewers'), viewers == null ? '' : t('moderate.viewers', { n: formatNumber(viewers) }));
}

/** The phase and its clock in the status bar, which stays in view. */
function renderMiniClock() {
  if (!meeting) return;
  setText(byId('mod-phase-name'), t(`phase.${meeting.phase}`));
  let clock = '';
  if (meeting.phase === 'presentation') {
    const remaining = Math.max(0, Math.ceil((Date.parse(meeting.presentation_ends_at) - Date.now()) / 1000)) || 0;
    clock = remaining > 0 ? t('moderate.clock.left', { time: formatClock(remaining) }) : t('timer.overtime');
  } else if (meeting.phase === 'qa') {
    const elapsed = Math.floor((Date.now() - Date.parse(meeting.phase_started_at)) / 1000) || 0;
    clock = formatClock(elapsed);
  }
  setText(byId('mod-phase-clock'), clock);
}

function fillSelect(select, choices, label) {
  const signature = `${languageVersion}:${choices.join(',')}`;
  if (select.dataset.signature === signature) return;
  const value = select.value;
  select.replaceChildren(
    ...choices.map((choice) => {
      const option = make('option', null, label(choice));
      option.value = String(choice);
      return option;
    }),
  );
  select.dataset.signature = signature;
  if (value !== '') select.value = value;
}

function renderSettings() {
  const hold = byId('hold-first');
  if (holdSettlesAtSeq !== null && liveState.lastSeq >= holdSettlesAtSeq) {
    holdPending = null;
    holdSettlesAtSeq = null;
  }
  hold.checked = holdPending ?? liveState.holdFirstComments;
  const slowChoices = SLOW_MODE_CHOICES.includes(liveState.slowModeSeconds)
    ? SLOW_MODE_CHOICES
    : [...SLOW_MODE_CHOICES, liveState.slowModeSeconds].sort((a, b) => a - b);
  const slow = byId('slow-mode');
  fillSelect(slow, slowChoices, (seconds) =>
    seconds === 0 ? t('moderate.settings.slowOff') : t('moderate.settings.seconds', { n: seconds }),
  );
  // The select follows the server's value when that changes, not while the moderator picks.
  if (renderedSlowMode !== liveState.slowModeSeconds) {
    slow.value = String(liveState.slowModeSeconds);
    renderedSlowMode = liveState.slowModeSeconds;
  }
  setText(
    byId('slow-mode-now'),
    liveState.slowModeSeconds > 0
      ? t('moderate.settings.slowNow', { n: liveState.slowModeSeconds })
      : t('moderate.settings.slowNowOff'),
  );
  const timeout = byId('timeout-minutes');
  fillSelect(timeout, TIMEOUT_CHOICES, (minutes) => t('moderate.settings.minutes', { n: minutes }));
  timeout.value = String(timeoutMinutes);
  const reasons = liveState.hideReasons.slice(0, 9);
  const keys = byId('keys-reason-keys');
  const keysSignature = `${languageVersion}:${reasons.join(',')}`;
  if (keys.dataset.signature !== keysSignature) {
    keys.dataset.signature = keysSignature;
    keys.replaceChildren(...(reasons.length > 0 ? [make('kbd', null, '1'), '–', make('kbd', null, String(reasons.length))] : []));
    setText(
      byId('keys-reasons'),
      t('moderate.keys.hide', { list: reasons.map((reason, index) => `${index + 1} ${reasonLabel(reason)}`).join(', ') }),
    );
  }
}

// Lists are reconciled by key: elements kept, moved only when their place changed, and focus
// given back to the element that had it if moving it took it away.
function reconcile(container, elements) {
  const focused = document.activeElement;
  const wanted = new Set(elements);
  for (const child of [...container.children]) if (!wanted.has(child)) child.remove();
  let cursor = container.firstElementChild;
  for (const element of elements) {
    if (element === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      container.insertBefore(element, cursor);
    }
  }
  if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
}

/**
 * Rebuilds `part` with `build()` when `signature` changed; focus inside it goes back to the
 * control for the same action, or to `fallback`.
 */
function patch(part, signature, build, fallback) {
  if (part.dataset.signature === signature) return;
  const focused = document.activeElement;
  const hadFocus = focused !== part && part.contains(focused);
  const action = hadFocus ? focused.dataset?.action : null;
  part.replaceChildren(...build());
  part.dataset.signature = signature;
  if (hadFocus) {
    const again = action ? part.querySelector(`[data-action="${action}"]`) : null;
    (again ?? fallback).focus({ preventScroll: true });
  }
}

function pruneSelection() {
  for (const number of selected) {
    if (commentOf(number)?.state !== 'visible') selected.delete(number);
  }
}

function renderComments() {
  const focusedIndex = commentElements().findIndex((element) => element.contains(document.activeElement));
  const counts = live.commentCounts(liveState);
  for (const button of document.querySelectorAll('.mod-filter__button')) {
    const name = button.dataset.filter;
    button.setAttribute('aria-pressed', String(name === filter));
    setText(button, t(`moderate.filter.${name}`, { n: formatNumber(counts[name]) }));
  }
  const list = (state, which, limit) =>
    clusters ? clusters.arrange(state, which, limit) : live.commentsNewestFirst(state, which, limit);
  const newer = frozenNewest === null ? [] : list(liveState, filter, Infinity).filter((c) => c.number > frozenNewest);
  const comments = list(liveState, filter, shownLimit + newer.length)
    .filter((comment) => frozenNewest === null || comment.number <= frozenNewest)
    .slice(0, shownLimit);
  const newButton = byId('comments-new');
  newButton.parentElement.hidden = newer.length === 0;
  setText(newButton, newer.length === 0 ? '' : t('moderate.comments.new', { n: formatNumber(newer.length) }));
  const shown = new Set();
  const elements = comments.map((comment) => {
    shown.add(comment.number);
    return commentElement(comment);
  });
  for (const number of commentItems.keys()) if (!shown.has(number)) commentItems.delete(number);
  reconcile(byId('comment-list'), elements);
  // The focused comment left this view (released from the held ones, say): the next one takes it.
  if (focusedIndex >= 0 && !byId('comment-list').contains(document.activeElement) && elements.length > 0) {
    focusItem(elements[Math.min(focusedIndex, elements.length - 1)]);
  }
  const total = (clusters ? clusters.total(liveState, filter, counts) : (counts[filter] ?? 0)) - newer.length;
  const empty = byId('comments-empty');
  empty.hidden = total > 0;
  setText(empty, t(`moderate.comments.empty.${filter}`));
  const more = byId('comments-more');
  more.hidden = total <= comments.length || shownLimit >= MAX_ROWS;
  setText(more, t('moderate.comments.more', { n: formatNumber(Math.min(PAGE_SIZE, total - comments.length)) }));
}

function commentElement(comment) {
  let item = commentItems.get(comment.number);
  if (!item) {
    const element = make('li', 'mod-comment');
    element.dataset.comment = String(comment.number);
    element.tabIndex = -1;
    element.setAttribute('aria-labelledby', `comment-${comment.number}-head comment-${comment.number}-text`);
    item = { element };
    commentItems.set(comment.number, item);
  }
  const standing = live.authorStanding(liveState, comment.author, Date.now());
  const sentBack = platformOutcomes(comment, standing);
  const signature = [
    languageVersion,
    comment.state,
    comment.reason,
    comment.hiddenBy,
    comment.question,
    comment.text,
    comment.authorName,
    standing.banned,
    standing.timedOutUntil,
    timeoutMinutes,
    liveState.hideReasons.join(','),
    platformBadgeSignature(comment.source, { staff: true }),
    sentBack.join('\u0002'),
  ].join('\u0001');
  const { element } = item;
  element.dataset.state = comment.state;
  patch(element, signature, () => buildComment(comment, standing, sentBack), element);
  const checkbox = element.querySelector('input[data-action="select"]');
  if (checkbox) checkbox.checked = selected.has(comment.number);
  element.classList.toggle('is-selected', selected.has(comment.number));
  return element;
}

/**
 * What became of the moderation sent back to the comment's platform, as lines of text: the
 * removal of a hidden comment (matched by its number), and the ban or time-out of its author
 * (matched by the author's viewer id) while it stands.
 */
function platformOutcomes(comment, standing) {
  if (!comment.source || !platforms) return [];
  const { comments, viewers } = platforms.outcomes();
  const lines = [];
  if (comment.state === 'hidden') {
    const removal = comments.get(comment.number);
    if (removal) lines.push(removal);
  }
  if (standing.banned || standing.timedOutUntil) {
    const ban = viewers.get(comment.author);
    if (ban) lines.push(ban);
  }
  return lines.map((outcome) => `${outcome.outcome}\u0003${outcomeText(outcome)}`);
}

/** Each action sent back seen pending on this page, by `${platform}:${seq}`. */
const pendingOutcomes = new Set();

/**
 * Says (in the status region) what became of an action sent back that this page saw pending:
 * the moderator who hid a comment hears whether the platform removed it too. Outcomes already
 * known when the page loaded are only shown on their comments.
 */
function announceOutcomes() {
  const { comments, viewers } = platforms.outcomes();
  for (const outcome of [...comments.values(), ...viewers.values()]) {
    const key = `${outcome.platform}:${outcome.seq}`;
    if (outcome.outcome === 'pending') pendingOutcomes.add(key);
    else if (pendingOutcomes.delete(key)) {
      doneText = outcomeText(outcome);
      renderDone();
    }
  }
}

function buildComment(comment, standing, sentBack = []) {
  const n = comment.number;
  const head = make('div', 'mod-comment__head');
  head.id = `comment-${n}-head`;
  if (comment.state === 'visible') {
    const checkbox = make('input', 'mod-check');
    checkbox.type = 'checkbox';
    checkbox.id = `comment-${n}-select`;
    checkbox.dataset.action = 'select';
    checkbox.setAttribute('aria-keyshortcuts', 'X');
    const label = make('label', 'mod-comment__number');
    label.htmlFor = checkbox.id;
    label.append(make('span', 'visually-hidden', `${t('moderate.comment.select')} `), `№ ${n}`);
    head.append(checkbox, label);
  } else {
    head.append(make('span', 'mod-comment__number', `№ ${n}`));
  }
  head.append(make('span', 'mod-comment__author', comment.authorName || t('moderate.comment.anonymous')));
  const platform = platformBadge(comment.source, { staff: true });
  if (platform) head.append(platform);
  head.append(...commentMarks(comment)); // an automatic rule's doing; a likely question
  if (comment.at) head.append(make('span', 'mod-comment__time', formatMeetingTime(comment.at, meeting?.time_zone)));
  if (comment.state === 'held') head.append(make('span', 'mod-badge mod-badge--held', t('moderate.comment.held')));
  if (comment.state === 'hidden') {
    const text = comment.hiddenBy
      ? t('moderate.comment.hiddenBy', { reason: reasonLabel(comment.reason), name: comment.hiddenBy })
      : t('moderate.comment.hidden', { reason: reasonLabel(comment.reason) });
    head.append(make('span', 'mod-badge mod-badge--hidden', text));
  }
  if (comment.state === 'promoted') {
    head.append(make('span', 'mod-badge mod-badge--promoted', t('moderate.comment.promoted', { n: comment.question })));
  }
  if (standing.banned) head.append(make('span', 'mod-badge mod-badge--banned', t('moderate.comment.banned')));
  else if (standing.timedOutUntil) {
    const until = formatMeetingTime(standing.timedOutUntil, meeting?.time_zone);
    head.append(make('span', 'mod-badge mod-badge--timeout', t('moderate.comment.timedOut', { time: until })));
  }

  const text = make('p', 'mod-comment__text', comment.text);
  text.id = `comment-${n}-text`;
  const parts = [head, text];
  if (sentBack.length > 0) {
    // What the platform did with the same action; said in words, not by colour alone.
    const list = make('ul', 'mod-sent-back');
    for (const line of sentBack) {
      const [outcome, words] = line.split('\u0003');
      const item = make('li', 'mod-sent-back__item', words);
      item.dataset.outcome = outcome;
      list.append(item);
    }
    parts.push(list);
  }

  const actions = make('div', 'mod-comment__actions');
  if (comment.state === 'visible' || comment.state === 'held') {
    const reasons = make('div', 'mod-reasons');
    reasons.setAttribute('role', 'group');
    reasons.setAttribute('aria-label', t('moderate.comment.hideGroup', { n }));
    liveState.hideReasons.forEach((reason, index) => {
      const key = index < 9 ? String(index + 1) : null;
      const button = actionButton(`hide:${reason}`, reasonLabel(reason), { key, className: 'mod-chip mod-chip--hide' });
      button.dataset.reason = reason;
      reasons.append(button);
    });
    actions.append(reasons);
  }
  const tools = make('div', 'mod-tools');
  if (comment.state === 'held') {
    tools.append(actionButton('release', t('moderate.comment.release'), { key: 'R', className: 'mod-chip mod-chip--go' }));
  } else if (comment.state === 'hidden') {
    tools.append(actionButton('restore', t('moderate.comment.restore'), { key: 'R', className: 'mod-chip mod-chip--go' }));
  }
  const more = t('moderate.comment.ofAuthor', { name: comment.authorName || t('moderate.comment.anonymous') });
  tools.append(actionButton('timeout', t('moderate.comment.timeout', { minutes: timeoutMinutes }), { key: 'T', more }));
  if (standing.banned) {
    tools.append(actionButton('unban', t('moderate.comment.unban'), { key: 'B', more }));
  } else {
    if (standing.timedOutUntil) tools.append(actionButton('unban', t('moderate.comment.liftTimeout'), { more }));
    tools.append(actionButton('ban', t('moderate.comment.ban'), { key: 'B', more, className: 'mod-chip mod-chip--danger' }));
  }
  actions.append(tools);
  return [...parts, actions];
}

function renderSelection() {
  pruneSelection();
  for (const [number, { element }] of commentItems) {
    const on = selected.has(number);
    element.classList.toggle('is-selected', on);
    const checkbox = element.querySelector('input[data-action="select"]');
    if (checkbox && checkbox.checked !== on) checkbox.checked = on;
  }
  const list = [...selected].map((n) => `№ ${n}`).join(', ');
  setText(
    byId('promote-selected'),
    selected.size === 0 ? t('moderate.promote.nothingSelected') : t('moderate.promote.selected', { n: selected.size, list }),
  );
  const fields = byId('promote-fields');
  const hide = selected.size === 0;
  if (hide && fields.contains(document.activeElement)) focusComments();
  fields.hidden = hide;
}

function setView(next) {
  view = next === 'questions' ? 'questions' : 'comments';
  renderViews();
}

/** Which column narrow screens show, and how much is in each. */
function renderViews() {
  byId('mod-columns').dataset.view = view;
  const comments = liveState ? liveState.comments.size : 0;
  const questions = liveState ? live.queueOrder(liveState).length + (liveState.onAir == null ? 0 : 1) : 0;
  for (const button of document.querySelectorAll('.mod-views button')) {
    const name = button.dataset.view;
    button.setAttribute('aria-pressed', String(name === view));
    setText(button, t(`moderate.views.${name}`, { n: formatNumber(name === 'questions' ? questions : comments) }));
  }
}

function renderQuestions() {
  const focusedQuestion = document.activeElement?.closest?.('#on-air-item [data-question], #question-list [data-question]');
  const onAir = live.onAirQuestion(liveState);
  const box = byId('on-air-box');
  box.hidden = onAir === null;
  const airSlot = byId('on-air-item');
  if (onAir) {
    const element = questionElement(onAir, { onAir: true });
    if (airSlot.firstElementChild !== element) airSlot.replaceChildren(element);
  } else {
    airSlot.replaceChildren();
  }
  const queue = live.queueOrder(liveState);
  const elements = queue.map((number) => questionElement(questionOf(number), { onAir: false }));
  const shown = new Set([...queue, ...(onAir ? [onAir.number] : [])]);
  for (const number of questionItems.keys()) if (!shown.has(number)) questionItems.delete(number);
  reconcile(byId('question-list'), elements);
  // The focused question moved on air, or was answered: follow it, or take the first one.
  if (focusedQuestion && !focusedQuestion.isConnected) {
    const again = questionItems.get(Number(focusedQuestion.dataset.question))?.element;
    focusItem(again?.isConnected ? again : questionElements()[0]);
  }
  if (openForm && !shown.has(openForm.question)) openForm = null;
  const empty = byId('questions-empty');
  empty.hidden = queue.length > 0;
  setText(empty, t('moderate.questions.empty'));
  renderClosed();
}

function questionElement(question, { onAir }) {
  let item = questionItems.get(question.number);
  if (!item || item.onAir !== onAir) {
    const element = make(onAir ? 'div' : 'li', 'mod-question');
    element.dataset.question = String(question.number);
    element.tabIndex = -1;
    element.setAttribute('aria-labelledby', `question-${question.number}-head question-${question.number}-text`);
    const main = make('div', 'mod-question__main');
    const form = make('div', 'mod-question__form');
    element.append(main, form);
    item = { element, main, form, onAir };
    questionItems.set(question.number, item);
  }
  const { element, main, form } = item;
  const pinnedIndex = liveState.pinned.includes(question.number)
    ? live.queueOrder(liveState).filter((n) => liveState.pinned.includes(n)).indexOf(question.number)
    : -1;
  const canUp = !onAir && live.pinMove(liveState, question.number, 'up') !== null;
  const canDown = !onAir && live.pinMove(liveState, question.number, 'down') !== null;
  element.dataset.state = onAir ? 'on_air' : 'queued';
  element.dataset.pinned = String(pinnedIndex >= 0);
  const signature = [
    languageVersion,
    onAir,
    question.text,
    question.votes,
    question.sources.join(','),
    pinnedIndex,
    canUp,
    canDown,
  ].join('\u0001');
  patch(main, signature, () => buildQuestion(question, { onAir, pinnedIndex, canUp, canDown }), element);
  const kind = openForm?.question === question.number ? openForm.kind : null;
  const targets = kind === 'merge' ? live.openQuestions(liveState, question.number) : [];
  const formSignature = [
    languageVersion,
    kind,
    targets.map((target) => `${target.number}:${target.text}`).join('\u0002'),
  ].join('\u0001');
  patch(form, formSignature, () => (kind ? [buildQuestionForm(question, kind, targets)] : []), element);
  return element;
}

function buildQuestion(question, { onAir, pinnedIndex, canUp, canDown }) {
  const n = question.number;
  const head = make('p', 'mod-question__head');
  head.id = `question-${n}-head`;
  head.append(make('span', 'question__number', `№ ${n}`));
  if (pinnedIndex >= 0) head.append(make('span', 'question__pinned', t('moderate.question.pinned')));
  head.append(make('span', 'question__votes', t('moderate.question.votes', { n: formatNumber(question.votes ?? 0) })));
  const text = make('p', onAir ? 'mod-question__text on-air__text' : 'mod-question__text', question.text ?? '');
  text.id = `question-${n}-text`;
  const parts = [head, text];
  if (question.sources.length > 0) {
    parts.push(
      make(
        'p',
        'mod-question__sources',
        t('moderate.question.sources', { list: question.sources.map((source) => `№ ${source}`).join(', ') }),
      ),
    );
  }
  const actions = make('div', 'mod-tools');
  if (onAir) {
    actions.append(
      actionButton('answer', t('moderate.question.answer'), { key: 'S', className: 'mod-chip mod-chip--go' }),
      actionButton('dismiss', t('moderate.question.dismiss'), { key: 'D' }),
      actionButton('edit', t('moderate.question.edit'), { key: 'E' }),
      actionButton('merge', t('moderate.question.merge'), { key: 'M' }),
    );
  } else {
    const pinned = pinnedIndex >= 0;
    actions.append(
      actionButton('on-air', t('moderate.question.onAir'), { key: 'A', className: 'mod-chip mod-chip--go' }),
      actionButton(pinned ? 'unpin' : 'pin', t(pinned ? 'moderate.question.unpin' : 'moderate.question.pin'), { key: 'P' }),
    );
    const up = actionButton('up', t('moderate.question.up', { n }), { key: 'Shift+K', symbol: '↑' });
    up.disabled = !canUp;
    const down = actionButton('down', t('moderate.question.down', { n }), { key: 'Shift+J', symbol: '↓' });
    down.disabled = !canDown;
    actions.append(
      up,
      down,
      actionButton('edit', t('moderate.question.edit'), { key: 'E' }),
      actionButton('merge', t('moderate.question.merge'), { key: 'M' }),
      actionButton('answer', t('moderate.question.answer'), { key: 'S' }),
      actionButton('dismiss', t('moderate.question.dismiss'), { key: 'D' }),
    );
  }
  actions.setAttribute('role', 'group');
  actions.setAttribute('aria-label', t('moderate.question.actions', { n }));
  parts.push(actions);
  return parts;
}

const FORM_FIELDS = {
  edit: { label: 'moderate.form.editLabel', submit: 'moderate.form.editSubmit', multiline: true },
  merge: { label: 'moderate.form.mergeLabel', submit: 'moderate.form.mergeSubmit', hint: 'moderate.form.mergeHint' },
  answer: { label: 'moderate.form.answerLabel', submit: 'moderate.form.answerSubmit' },
  dismiss: { label: 'moderate.form.dismissLabel', submit: 'moderate.form.dismissSubmit' },
};

function buildQuestionForm(question, kind, targets) {
  const n = question.number;
  const spec = FORM_FIELDS[kind];
  const form = make('form', 'mod-qform');
  form.noValidate = true;
  form.dataset.kind = kind;
  const fieldBox = make('div', 'field');
  const id = `question-${n}-${kind}`;
  const label = make('label', null, t(spec.label, { n }));
  label.htmlFor = id;
  let field;
  if (kind === 'merge') {
    field = make('select', 'select');
    for (const target of targets) {
      const option = make('option', null, t('moderate.form.mergeOption', { n: target.number, text: target.text ?? '' }));
      option.value = String(target.number);
      field.append(option);
    }
    const draft = drafts.get(`${kind}:${n}`);
    if (draft && targets.some((target) => String(target.number) === draft)) field.value = draft;
  } else if (spec.multiline) {
    field = make('textarea');
    field.rows = 3;
    field.value = drafts.get(`${kind}:${n}`) ?? question.text ?? '';
  } else {
    field = make('input');
    field.type = 'text';
    field.value = drafts.get(`${kind}:${n}`) ?? '';
    field.autocomplete = 'off';
  }
  field.id = id;
  field.required = true;
  field.dataset.field = kind;
  if (liveState.maxCommentChars && kind !== 'merge') field.maxLength = Math.max(liveState.maxCommentChars, 1000);
  fieldBox.append(label, field);
  if (spec.hint) {
    const hint = make('p', 'hint', t(spec.hint));
    hint.id = `${id}-hint`;
    field.setAttribute('aria-describedby', hint.id);
    fieldBox.append(hint);
  }
  const row = make('div', 'button-row');
  const submit = make('button', 'button', t(spec.submit));
  submit.type = 'submit';
  const cancel = make('button', 'button button--quiet', t('moderate.form.cancel'));
  cancel.type = 'button';
  cancel.dataset.action = 'cancel-form';
  cancel.setAttribute('aria-keyshortcuts', 'Escape');
  row.append(submit, cancel);
  form.append(fieldBox, row);
  field.addEventListener('input', () => drafts.set(`${kind}:${n}`, field.value));
  field.addEventListener('change', () => drafts.set(`${kind}:${n}`, field.value));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitQuestionForm(n, kind, form);
  });
  return form;
}

function renderClosed() {
  const closed = live.closedQuestions(liveState);
  const details = byId('closed-questions');
  details.hidden = closed.length === 0;
  setText(byId('closed-summary'), t('moderate.questions.closed', { n: closed.length }));
  const signature = `${languageVersion}:${closed.map((q) => `${q.number}:${q.state}:${q.text}:${q.outcome}`).join('\u0002')}`;
  const list = byId('closed-list');
  if (list.dataset.signature === signature) return;
  list.dataset.signature = signature;
  list.replaceChildren(
    ...closed.map((question) => {
      const item = make('li', 'closed-question');
      item.dataset.question = String(question.number);
      item.dataset.state = question.state;
      const text = make('p', 'question__text');
      text.append(make('span', 'question__number', `№ ${question.number}`), ' ', question.text ?? '');
      const outcome = make(
        'p',
        'closed-question__outcome',
        t(question.state === 'answered' ? 'moderate.question.answered' : 'moderate.question.dismissed', {
          text: question.outcome ?? '',
        }),
      );
      item.append(text, outcome);
      return item;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Focus and keys

function focusItem(element) {
  if (!element) return;
  element.focus({ preventScroll: true });
  element.scrollIntoView({ block: 'nearest' });
}

function commentElements() {
  return [...byId('comment-list').children];
}

function questionElements() {
  return [...byId('on-air-item').children, ...byId('question-list').children];
}

/** Moves focus `step` items along the list the focus is in (comments unless in questions). */
function moveFocus(item, step) {
  const inQuestions = item ? item.dataset.question !== undefined : byId('mod-questions').contains(document.activeElement);
  const items = inQuestions ? questionElements() : commentElements();
  if (items.length === 0) return;
  const index = item ? items.indexOf(item) : -1;
  const next = index === -1 ? items[0] : items[Math.max(0, Math.min(items.length - 1, index + step))];
  focusItem(next);
}

function focusComments() {
  setView('comments');
  const known = lastComment != null ? commentItems.get(lastComment)?.element : null;
  focusItem(known?.isConnected ? known : commentElements()[0]);
}

function focusQuestions() {
  setView('questions');
  const known = lastQuestion != null ? questionItems.get(lastQuestion)?.element : null;
  focusItem(known?.isConnected ? known : questionElements()[0]);
}

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(target.type);
  return false;
}

/**
 * The shortcut a key press means: its Latin letter or digit, lower case whatever Caps Lock says
 * (Shift is read on its own). With a Kazakh or Russian layout the key gives a Cyrillic letter, so
 * the physical key (J is J wherever it is labelled О) stands in; likewise for digits typed with
 * Shift (AZERTY) and the number pad.
 */
function keyOf(event) {
  const { key, code } = event;
  if (/^[a-z0-9]$/i.test(key)) return key.toLowerCase();
  const letter = /^Key([A-Z])$/.exec(code ?? '');
  if (letter && key.length === 1) return letter[1].toLowerCase();
  const digit = /^(?:Digit|Numpad)([0-9])$/.exec(code ?? '');
  if (digit && key.length === 1) return digit[1];
  return key;
}

function onKeyDown(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  if (meeting === null || liveState === null || refused) return;
  const target = event.target;
  const { key, shiftKey } = event;
  const letter = keyOf(event);
  if (isTyping(target)) {
    if (key === 'Escape') {
      if (target.closest('.mod-qform')) {
        event.preventDefault();
        closeQuestionForm();
      } else if (target.id === 'promote-text') {
        event.preventDefault();
        focusComments();
      }
    } else if (key === 'Enter' && !event.shiftKey && target instanceof HTMLTextAreaElement) {
      // Enter sends (Shift+Enter is a new line): the promote form and a question's new wording.
      event.preventDefault();
      target.form?.requestSubmit();
    }
    return;
  }
  const item = target instanceof Element ? target.closest('[data-comment], [data-question]') : null;
  const inLiveList = item && (item.closest('#comment-list') || item.closest('#question-list') || item.closest('#on-air-item'));
  const comment = inLiveList && item.dataset.comment !== undefined ? Number(item.dataset.comment) : null;
  const question = inLiveList && item.dataset.question !== undefined ? Number(item.dataset.question) : null;
  let handled = true;
  if ((letter === 'j' && !shiftKey) || key === 'ArrowDown') moveFocus(inLiveList ? item : null, 1);
  else if ((letter === 'k' && !shiftKey) || key === 'ArrowUp') moveFocus(inLiveList ? item : null, -1);
  else if (letter === 'c' && !shiftKey) focusComments();
  else if (letter === 'q' && !shiftKey) focusQuestions();
  else if (key === '?') {
    const help = byId('mod-keys');
    help.open = true;
    byId('mod-keys-summary').focus();
  } else if (key === 'Escape') {
    if (openForm) closeQuestionForm();
    else if (selected.size > 0) {
      selected.clear();
      renderSelection();
    } else handled = false;
  } else if (comment !== null && (!shiftKey || /^[0-9]$/.test(letter))) {
    handled = onCommentKey(letter, comment);
  } else if (question !== null) {
    handled = onQuestionKey(shiftKey ? letter.toUpperCase() : letter, question);
  } else {
    handled = false;
  }
  if (handled) event.preventDefault();
}

function onCommentKey(key, number) {
  if (/^[1-9]$/.test(key)) {
    const reason = liveState.hideReasons[Number(key) - 1];
    if (!reason) return false;
    hide(number, reason);
    return true;
  }
  switch (key) {
    case 'r':
      releaseOrRestore(number);
      return true;
    case 'x':
      toggleSelected(number);
      return true;
    case 'p':
      startPromote(number);
      return true;
    case 't':
      timeOut(number);
      return true;
    case 'b':
      toggleBan(number);
      return true;
    default:
      return false;
  }
}

/** `key`: a lower-case letter, or an upper-case one with Shift. */
function onQuestionKey(key, number) {
  switch (key) {
    case 'a':
      putOnAir(number);
      return true;
    case 'p':
      togglePin(number);
      return true;
    case 'K':
      movePin(number, 'up');
      return true;
    case 'J':
      movePin(number, 'down');
      return true;
    case 'e':
      openQuestionForm(number, 'edit');
      return true;
    case 'm':
      openQuestionForm(number, 'merge');
      return true;
    case 's':
      openQuestionForm(number, 'answer');
      return true;
    case 'd':
      openQuestionForm(number, 'dismiss');
      return true;
    default:
      return false;
  }
}

/** Shift+arrows move a question too (the plain arrows move the focus). */
function onShiftArrow(event) {
  if (!event.shiftKey || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return false;
  if (isTyping(event.target)) return false;
  const item = event.target instanceof Element ? event.target.closest('#question-list [data-question]') : null;
  if (!item) return false;
  event.preventDefault();
  movePin(Number(item.dataset.question), event.key === 'ArrowUp' ? 'up' : 'down');
  return true;
}

function onListClick(event) {
  const control = event.target instanceof Element ? event.target.closest('[data-action]') : null;
  if (!control) return;
  const commentElement_ = control.closest('[data-comment]');
  const questionElement_ = control.closest('[data-question]');
  const action = control.dataset.action;
  if (commentElement_ && !questionElement_) {
    const number = Number(commentElement_.dataset.comment);
    if (action.startsWith('hide:')) hide(number, control.dataset.reason);
    else if (action === 'select') toggleSelected(number, control.checked);
    else if (action === 'release' || action === 'restore') releaseOrRestore(number);
    else if (action === 'timeout') timeOut(number);
    else if (action === 'ban') setBan(number, true);
    else if (action === 'unban') setBan(number, false);
    return;
  }
  if (!questionElement_) return;
  const number = Number(questionElement_.dataset.question);
  switch (action) {
    case 'on-air':
      putOnAir(number);
      break;
    case 'pin':
    case 'unpin':
    case 'up':
    case 'down':
      movePin(number, action);
      break;
    case 'edit':
    case 'merge':
    case 'answer':
    case 'dismiss':
      if (openForm?.question === number && openForm.kind === action) closeQuestionForm();
      else openQuestionForm(number, action);
      break;
    case 'cancel-form':
      closeQuestionForm();
      break;
    default:
      break;
  }
}

function rememberFocus(event) {
  const item = event.target instanceof Element ? event.target.closest('[data-comment], [data-question]') : null;
  if (!item) return;
  if (item.dataset.comment !== undefined) lastComment = Number(item.dataset.comment);
  else lastQuestion = Number(item.dataset.question);
}

// ---------------------------------------------------------------------------------------------
// The live channel

function resetItems() {
  frozenNewest = null;
  commentItems.clear();
  questionItems.clear();
  byId('comment-list').replaceChildren();
  byId('question-list').replaceChildren();
  byId('on-air-item').replaceChildren();
  selected.clear();
  openForm = null;
}

/**
 * Where the comment list is: at its newest end (its top), or scrolled down into older ones. On a
 * wide screen the list scrolls in its own box; on a phone with the page.
 */
function atNewestEnd() {
  const list = byId('comment-list');
  if (list.scrollHeight > list.clientHeight + 1 && getComputedStyle(list).overflowY !== 'visible') {
    return list.scrollTop < FOLLOW_TOP_PX;
  }
  return list.getBoundingClientRect().top > -FOLLOW_TOP_PX;
}

/** Holds the list still while the moderator is below its top; lets it move again at the top. */
function onListScroll() {
  if (liveState === null) return;
  const atTop = atNewestEnd();
  if (atTop && frozenNewest !== null) {
    frozenNewest = null;
    renderComments();
  } else if (!atTop && frozenNewest === null) {
    frozenNewest = liveState.newestComment ?? 0;
  }
}

function showNewComments() {
  frozenNewest = null;
  const list = byId('comment-list');
  list.scrollTop = 0;
  if (list.getBoundingClientRect().top < 0) list.scrollIntoView({ block: 'start' });
  renderComments();
  focusComments();
}

/**
 * Called once per animation frame with what the events of that frame (or the snapshot on
 * joining) changed: the live state is current, `changes` says what moved (live-state.js's
 * newChanges). Everything that follows the comments redraws from here.
 */
function onBatch(state, changes) {
  if (changes.phase && changes.phase.phase !== meeting?.phase) refetchMeeting();
  clusters?.update(state, changes);
  scheduleRender();
}

function join() {
  liveState = live.createState({ maxComments: MAX_COMMENTS });
  connection = new LiveConnection({
    meetingId,
    token: null, // the session cookie signs this page in
    snapshot: true, // settings, pins, questions, held and latest comments in one message
    fromStart: true, // a server without snapshots: every event from the start of the log
    schedule: frameScheduler(),
    state: liveState,
    handlers: {
      status(status) {
        liveStatus = status;
        renderConnection();
      },
      hello(message) {
        if (!isModerator(liveState.role)) {
          refused = true;
          connection.stop();
          messageKey = 'moderate.forbidden';
          renderAll();
          return;
        }
        if (message.meeting && typeof message.meeting === 'object') applyMeeting(message.meeting);
        clusters?.update(liveState, null);
        scheduleRender();
      },
      events(changes) {
        onBatch(liveState, changes);
      },
      viewers: renderViewers,
      answer: onAnswer,
      platform: (status) => platforms?.applyStatus(status),
      reset() {
        resetItems();
        clusters?.update(liveState, null);
        scheduleRender();
      },
      disconnected({ welcomed }) {
        failPending();
        if (!welcomed) checkSession();
      },
      authFailed() {
        checkSession();
        renderConnection();
      },
    },
  });
  connection.start();
}

/** Signed out meanwhile (the session ended): go and sign in again. */
let checkingSession = false;
async function checkSession() {
  if (checkingSession) return;
  checkingSession = true;
  try {
    if ((await fetchSession()) === null) {
      connection?.stop();
      goToSignIn();
    }
  } catch {
    // Unknown: keep trying to join.
  } finally {
    checkingSession = false;
  }
}

function goToSignIn() {
  location.replace(`/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`);
}

function applyMeeting(next) {
  if (!next || typeof next !== 'object' || next.id === undefined) return;
  const first = meeting === null;
  meeting = { ...meeting, ...next };
  restream?.applyMeeting(next);
  platforms?.applyMeeting(next);
  if (first) renderAll();
  else {
    renderTimer(meeting);
    renderMiniClock();
    controls?.render();
  }
}

function refetchMeeting() {
  api.get(`/api/meetings/${meetingId}`).then(applyMeeting, () => {});
}

function onLanguageChange() {
  languageVersion += 1;
  renderAll();
  restream?.render();
  platforms?.render();
}

// ---------------------------------------------------------------------------------------------
// Start

function wire() {
  document.addEventListener('keydown', (event) => {
    if (!onShiftArrow(event)) onKeyDown(event);
  });
  document.addEventListener('focusin', rememberFocus);
  // A checkbox toggled by a click or by Space gets a click event too, which onListClick reads.
  byId('comment-list').addEventListener('click', onListClick);
  byId('mod-questions').addEventListener('click', onListClick);
  for (const button of document.querySelectorAll('.mod-views button')) {
    button.addEventListener('click', () => setView(button.dataset.view));
  }
  for (const button of document.querySelectorAll('.mod-filter__button')) {
    button.addEventListener('click', () => {
      filter = FILTERS.includes(button.dataset.filter) ? button.dataset.filter : 'all';
      shownLimit = PAGE_SIZE;
      renderComments();
    });
  }
  byId('comments-more').addEventListener('click', () => {
    shownLimit = Math.min(MAX_ROWS, shownLimit + PAGE_SIZE);
    renderComments();
  });
  byId('comments-new').addEventListener('click', showNewComments);
  byId('comment-list').addEventListener('scroll', onListScroll, { passive: true });
  window.addEventListener('scroll', onListScroll, { passive: true });
  byId('promote-form').addEventListener('submit', (event) => {
    event.preventDefault();
    promote();
  });
  byId('promote-clear').addEventListener('click', () => {
    selected.clear();
    renderSelection();
    focusComments();
  });
  byId('hold-first').addEventListener('change', (event) => {
    const on = event.target.checked;
    // The switch shows what was asked until the server answers; then the server's setting.
    // The `done` may overtake its event: until the live state has applied the done's seq, the
    // switch keeps showing what was asked, or it would flick back for a moment.
    holdPending = on;
    const settle = () => {
      holdPending = null;
      holdSettlesAtSeq = null;
      scheduleRender();
    };
    const settleWhenApplied = (done) => {
      if (done?.seq == null || liveState.lastSeq >= done.seq) {
        settle();
        return;
      }
      holdSettlesAtSeq = done.seq;
    };
    command({ type: 'hold_first_comments', on }, t(on ? 'moderate.action.holdOn' : 'moderate.action.holdOff'), {
      onDone: settleWhenApplied,
      onError: settle,
    });
  });
  byId('slow-mode-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const seconds = Number(byId('slow-mode').value) || 0;
    command(
      { type: 'slow_mode', seconds },
      seconds > 0 ? t('moderate.action.slowMode', { n: seconds }) : t('moderate.action.slowModeOff'),
    );
  });
  byId('timeout-minutes').addEventListener('change', (event) => {
    const minutes = Number(event.target.value);
    if (TIMEOUT_CHOICES.includes(minutes)) timeoutMinutes = minutes;
    renderComments();
  });
  byId('mod-errors-clear').addEventListener('click', clearErrors);
  window.addEventListener('online', () => {
    online = true;
    connection?.retryNow();
    renderConnection();
  });
  window.addEventListener('offline', () => {
    online = false;
    // The socket may linger for a while without a network: drop it now and say so; it resumes
    // with `since` when the network is back.
    connection?.socket?.close(4000, 'offline');
    renderConnection();
  });
}

async function start() {
  setUpLanguageSwitch(onLanguageChange);
  renderAll();
  if (meetingId === null) {
    messageKey = 'meeting.notFound';
    renderAll();
    return;
  }
  byId('meeting-link').href = `/meetings/${meetingId}`;
  byId('log-link').href = moderationLogUrl(meetingId);
  try {
    account = (await fetchSession())?.account ?? null;
  } catch {
    messageKey = 'common.loadFailed';
    renderAll();
    return;
  }
  if (account === null) {
    goToSignIn();
    return;
  }
  if (!isModerator(account.role)) {
    messageKey = 'moderate.forbidden';
    renderAll();
    return;
  }
  try {
    meeting = await api.get(`/api/meetings/${meetingId}`);
  } catch (error) {
    messageKey = error.status === 404 ? 'meeting.notFound' : 'common.loadFailed';
    renderAll();
    return;
  }
  messageKey = null;
  // On a phone the lists come first: the timer is in the status bar, the rest folds away.
  if (window.matchMedia('(max-width: 47.99rem)').matches) {
    byId('session-fold').open = false;
    byId('settings-fold').open = false;
  }
  controls = mountPhaseControls({
    meetingId,
    getMeeting: () => meeting,
    getAccount: () => account,
    onMeeting: applyMeeting,
  });
  // The platform readers' states, and what became of moderation sent back to them.
  platforms = mountPlatformStatus({
    meetingId,
    section: byId('platforms'),
    getMeeting: () => meeting,
    onChange() {
      announceOutcomes();
      scheduleRender();
    },
  });
  platforms.applyMeeting(meeting);
  clusters = mountClusters({
    section: byId('clusters'),
    likelySelect: byId('likely-filter'),
    command,
    onArrange: () => renderComments(),
  });
  wire();
  join();
  renderAll();
  // Where the meeting is restreamed, and how each destination fares (states only).
  restream = mountRestream({ meetingId, section: byId('restream'), editable: false });
  restream.applyMeeting(meeting);
  subscribeMeetingEvents({
    meetingId,
    onMeeting: applyMeeting,
    onRestream: (status) => restream.applyStatus(status),
    onPlatform: (status) => platforms.applyStatus(status),
    isOver: () => meeting?.phase === 'ended',
  });
  setInterval(() => {
    renderTimer(meeting);
    renderMiniClock();
  }, TIMER_TICK_MS);
  // Time-outs run out without an event: look again now and then.
  setInterval(() => renderComments(), STANDING_TICK_MS);
}

start();
