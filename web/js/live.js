// Owns the meeting's live channel on the page: the discussion panel (questions, comments,
// posting, voting), read at once by anyone, and joining as a viewer (a name) only to comment or
// vote; the token then signs in on the open socket. The rules of the state live in
// live-state.js and the WebSocket (snapshot on joining, auth, resume with `since`, reconnect
// with backoff, events folded once per animation frame) in live-connection.js; this module does
// the joining and the DOM. The protocol is docs/protocol.md. A comment written on a social-media
// platform carries the platform's mark beside its author (platforms.js).
//
// Keeping up with a flood (50 comments a second on a phone): the list shows at most
// MAX_COMMENT_ROWS rows (bounded-list.js), listeners sit on the containers, the list holds still
// while the reader reads back ("New comments: N" brings it back), and screen readers hear a
// summary every few seconds (announce.js) rather than every comment.

import { api, describeError } from './api.js';
import { ThrottledAnnouncer } from './announce.js';
import { BoundedList, ScrollPause } from './bounded-list.js';
import { frameScheduler } from './frame-batch.js';
import { formatMeetingTime, formatNumber, registerStrings, t } from './i18n.js';
import { LiveConnection } from './live-connection.js';
import * as live from './live-state.js';
import { platformBadge, platformBadgeSignature } from './platforms.js';
import liveStrings from './strings/live.js';

registerStrings(liveStrings);

const STORAGE_PREFIX = 'kezdesu.viewer.';
const COUNTDOWN_TICK_MS = 250;
/** Within this many pixels of the bottom, the comment list follows new comments. */
const FOLLOW_BOTTOM_PX = 48;
/** Events are folded and drawn at most this often (and once per animation frame). */
const REDRAW_INTERVAL_MS = 100;
/** Comment rows on the page at most; older ones drop off (the state keeps a few more). */
export const MAX_COMMENT_ROWS = 100;
/** My comments listed under the form, newest first. */
const MAX_MINE_SHOWN = 50;
const DEFAULT_MAX_COMMENT_CHARS = 1000;
/** Errors about a message the server could not read, so they carry no client_id to match. */
const UNREAD_CODES = new Set(['message_too_large', 'malformed_message', 'invalid_message']);

// ---------------------------------------------------------------------------------------------
// The viewer token, kept per meeting for this tab

function storageKey(meetingId) {
  return `${STORAGE_PREFIX}${meetingId}`;
}

/** The stored viewer of this meeting, or null (none, unreadable or expired). */
export function loadViewer(meetingId, now = Date.now()) {
  try {
    const stored = JSON.parse(sessionStorage.getItem(storageKey(meetingId)) ?? 'null');
    if (!stored || typeof stored.token !== 'string' || !Number.isInteger(stored.viewer_id)) return null;
    const expires = Date.parse(stored.expires_at);
    if (Number.isFinite(expires) && expires <= now) {
      sessionStorage.removeItem(storageKey(meetingId));
      return null;
    }
    return stored;
  } catch {
    return null; // storage blocked or garbled: join again
  }
}

function saveViewer(meetingId, viewer) {
  try {
    sessionStorage.setItem(storageKey(meetingId), JSON.stringify(viewer));
  } catch {
    // Not kept across a reload, but this page still works.
  }
}

function clearViewer(meetingId) {
  try {
    sessionStorage.removeItem(storageKey(meetingId));
  } catch {
    // Nothing to clear.
  }
}

/** A comment's client id: a UUID (randomUUID needs a secure context, so with a fallback). */
function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------
// The panel

const byId = (id) => document.getElementById(id);

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function make(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function setBlocked(button, blocked) {
  button.setAttribute('aria-disabled', blocked ? 'true' : 'false');
}

/** A localized string for `key`, or `fallback` when there is none. */
function tOr(key, fallback, params) {
  const text = t(key, params);
  return text === key ? fallback : text;
}

function reasonText(reason) {
  if (!reason) return '';
  return tOr(`live.reason.${reason}`, reason);
}

/** Why an automatic rule held or hid a comment: its public reason code in words. */
function ruleText(reason) {
  if (!reason) return '';
  return tOr(`live.rule.${reason}`, reasonText(reason));
}

/** The reader's text for an `error` answer: ours for known codes, the server's otherwise. */
function liveErrorText(message) {
  return tOr(`live.error.${message.code}`, message.message || t('error.generic'));
}

function joinErrorText(error) {
  switch (error?.problem?.code) {
    case 'meeting_over':
      return t('live.join.over');
    case 'invalid_display_name':
      return t('live.join.invalidName');
    case 'rate_limited':
      return t('live.join.rateLimited');
    default:
      return describeError(error);
  }
}

/**
 * Mounts the discussion panel (#live in meeting.html). `onPhaseChanged(event)` is called with
 * the last `phase_changed` of each events frame so the page can refresh the meeting;
 * `onViewerChanged()` when the reader joins or leaves (the stored viewer is `loadViewer`'s).
 */
export function mountLivePanel({ meetingId, meeting: initialMeeting = null, onPhaseChanged = () => {}, onViewerChanged = () => {} }) {
  const el = {
    root: byId('live'),
    connection: byId('live-connection'),
    viewers: byId('live-viewers'),
    notice: byId('live-notice'),
    joinForm: byId('live-join'),
    joinName: byId('live-join-name'),
    joinSubmit: byId('live-join-submit'),
    joinError: byId('live-join-error'),
    body: byId('live-body'),
    onAir: byId('live-on-air'),
    onAirText: byId('live-on-air-text'),
    onAirVotes: byId('live-on-air-votes'),
    queue: byId('live-queue'),
    queueEmpty: byId('live-queue-empty'),
    voteError: byId('live-vote-error'),
    closed: byId('live-closed'),
    closedSummary: byId('live-closed-summary'),
    closedList: byId('live-closed-list'),
    commentsSection: byId('live-comments-section'),
    commentLog: byId('live-comments-log'),
    comments: byId('live-comments'),
    commentsEmpty: byId('live-comments-empty'),
    commentsNew: byId('live-comments-new'),
    announce: byId('live-comments-announce'),
    postForm: byId('live-post'),
    joinedAs: byId('live-joined-as'),
    postText: byId('live-post-text'),
    postCount: byId('live-post-count'),
    postHints: byId('live-post-hints'),
    postSubmit: byId('live-post-submit'),
    postError: byId('live-post-error'),
    mine: byId('live-mine'),
    mineSummary: byId('live-mine-summary'),
    mineList: byId('live-mine-list'),
    leave: byId('live-leave'),
  };

  let meeting = initialMeeting;
  let viewer = loadViewer(meetingId);
  let state = null; // the live state while connected (reading, or joined)
  let archive = null; // questions of an ended meeting, from the issue list, for non-joined readers
  let connection = null;
  let connectionStatus = 'closed';
  let noticeKey = null;
  let joinInFlight = false;
  let joinError = '';
  let pending = null; // the comment sent and not yet acknowledged: {clientId, text}
  let postError = '';
  let retryUntil = 0;
  let retryTimer = null;
  let followTimer = null; // the scroll to the newest row after the frame (followNewest)
  let voteError = '';
  let requestCounter = 0;
  let hintsKey = '';
  let archiveUnfolded = false;
  let voteAfterJoining = null; // the question a reader wanted to vote for before joining
  const voteRequests = new Map(); // request_id → {question, up}
  const commentParts = new WeakMap(); // a comment's row → its parts
  const questionNodes = new Map(); // question number → its parts
  const commentList = new BoundedList({
    container: el.comments,
    maxRows: MAX_COMMENT_ROWS,
    build: buildComment,
    update: (row, comment) => updateComment(commentParts.get(row), comment),
  });
  const pause = new ScrollPause();
  const announcer = new ThrottledAnnouncer({
    // Written even when the same as before, so that a second "New comments: 3" is heard too.
    say: (text) => {
      el.announce.textContent = text;
    },
    text: (n) => t('live.comments.announce', { n: formatNumber(n) }),
  });

  // ---- modes

  /** joined (a viewer), reading (anyone, before joining) or closed (an ended meeting's record). */
  function mode() {
    if (viewer) return 'joined';
    if (isClosed()) return 'closed';
    return 'reading';
  }

  function isClosed() {
    return meeting != null && (meeting.status === 'ended' || meeting.status === 'cancelled');
  }

  function renderAll() {
    const current = mode();
    el.root.hidden = false;
    el.joinForm.hidden = current !== 'reading';
    const connected = current === 'joined' || current === 'reading';
    el.body.hidden = !(connected || (current === 'closed' && archive !== null));
    const joined = current === 'joined';
    el.commentsSection.hidden = !connected;
    el.postForm.hidden = !joined;
    el.leave.hidden = !joined;
    const notice = current === 'closed' ? 'live.closed' : current === 'reading' ? noticeKey : null;
    el.notice.hidden = notice === null;
    setText(el.notice, notice ? t(notice) : '');
    renderConnection();
    renderJoin();
    renderQuestions();
    renderPost();
    renderMine();
  }

  function renderConnection() {
    const show = mode() !== 'closed';
    el.connection.hidden = !show;
    el.connection.dataset.state = connectionStatus;
    setText(el.connection, show ? t(`live.connection.${connectionStatus}`) : '');
    const count = state?.viewers;
    el.viewers.hidden = !show || count == null;
    setText(el.viewers, count == null ? '' : t('live.viewers', { n: formatNumber(count) }));
  }

  function renderJoin() {
    setText(el.joinSubmit, t(joinInFlight ? 'live.join.joining' : 'live.join.submit'));
    setBlocked(el.joinSubmit, joinInFlight);
    el.joinName.setAttribute('aria-invalid', joinError ? 'true' : 'false');
    setText(el.joinError, joinError);
  }

  // ---- joining and leaving

  async function join(event) {
    event.preventDefault();
    if (joinInFlight) return;
    const name = el.joinName.value.trim();
    if (name === '') {
      joinError = t('live.join.nameRequired');
      renderJoin();
      el.joinName.focus();
      return;
    }
    joinInFlight = true;
    joinError = '';
    renderJoin();
    try {
      const answer = await api.post(`/api/meetings/${meetingId}/viewers`, { display_name: name });
      if (typeof answer?.token !== 'string' || !Number.isInteger(answer.viewer_id)) throw new Error('no token');
      viewer = {
        token: answer.token,
        viewer_id: answer.viewer_id,
        display_name: answer.display_name,
        expires_at: answer.expires_at,
        votes: [],
      };
      saveViewer(meetingId, viewer);
      noticeKey = null;
      if (connection && state) {
        // Already reading: sign in on the open socket, and keep what is shown.
        state.viewerId = viewer.viewer_id;
        state.displayName = viewer.display_name ?? null;
        connection.authenticate(viewer.token);
      } else {
        startLive();
      }
      renderAll();
      onViewerChanged();
      el.postText.focus();
    } catch (error) {
      joinError = joinErrorText(error);
    } finally {
      joinInFlight = false;
      renderJoin();
    }
  }

  /** Connects: as the stored viewer, or as a reader who has not joined. */
  function startLive() {
    stopLive();
    archive = null;
    state = live.createState({ viewerId: viewer?.viewer_id ?? null, myVotes: viewer?.votes ?? [] });
    state.displayName = viewer?.display_name ?? null;
    connection = new LiveConnection({
      meetingId,
      token: viewer?.token ?? null,
      state,
      snapshot: true,
      schedule: frameScheduler({ minIntervalMs: REDRAW_INTERVAL_MS }),
      handlers: {
        status(status) {
          connectionStatus = status;
          renderConnection();
          renderPost();
        },
        hello() {
          signedIn();
          renderConnection();
          renderQuestions();
          renderPost();
        },
        authenticated() {
          signedIn();
          renderAll();
        },
        events: applyChanges,
        viewers: renderConnection,
        answer: handleAnswer,
        disconnected() {
          if (voteRequests.size > 0) {
            voteRequests.clear();
            renderQuestions();
          }
        },
        reset() {
          rebuildComments();
          renderMine();
          seedQuestions(state);
          renderQuestions();
        },
        authFailed() {
          if (!viewer) {
            renderAll(); // a reader refused (a server that wants a token): nothing to read
            return;
          }
          // The token expired or is not for this meeting: read on, and join again.
          const name = viewer.display_name ?? '';
          leave();
          el.joinName.value = name;
          noticeKey = 'live.join.expired';
          renderAll();
        },
      },
    });
    connection.start();
    seedQuestions(state);
  }

  /**
   * Commands may go now (signed in as the viewer): a comment sent before a drop goes again with
   * the same client_id (the server answers with the same ack and adds nothing if it got it the
   * first time), and a vote asked for before joining goes now.
   */
  function signedIn() {
    if (!connection?.ready || !viewer) return;
    if (pending) connection.send({ type: 'comment', client_id: pending.clientId, text: pending.text });
    if (voteAfterJoining !== null) {
      const question = voteAfterJoining;
      voteAfterJoining = null;
      if (live.isVotable(state, question) && !state.myVotes.has(question)) sendVote(question, true);
    }
  }

  /** Questions created before the history we get are filled in from the public issue list. */
  function seedQuestions(target) {
    api.get(`/api/meetings/${meetingId}/issues`).then(
      (list) => {
        if (target !== state && target !== archive) return; // left or rejoined meanwhile
        live.seedIssues(target, list?.issues);
        renderAll();
      },
      () => {}, // the events still bring every question created from now on
    );
  }

  function stopLive() {
    connection?.stop();
    connection = null;
    state = null;
    pending = null;
    postError = '';
    voteError = '';
    voteRequests.clear();
    stopCountdown();
    connectionStatus = 'closed';
    commentList.clear();
    pause.resume();
    announcer.reset();
    renderNewButton();
    questionNodes.clear();
    el.queue.replaceChildren();
  }

  /** Leaves the discussion; the page reads on as a reader (or shows an ended meeting's record). */
  function leave() {
    stopLive();
    clearViewer(meetingId);
    viewer = null;
    voteAfterJoining = null;
    onViewerChanged();
    if (isClosed()) loadArchive();
    else startLive();
  }

  function onLeaveClick() {
    const name = viewer?.display_name ?? '';
    leave();
    noticeKey = null;
    renderAll();
    if (!el.joinForm.hidden) {
      el.joinName.value = name;
      el.joinName.focus();
    }
  }

  function loadArchive() {
    if (archive !== null) return;
    archive = live.createState();
    seedQuestions(archive);
  }

  // ---- answers

  function handleAnswer(message) {
    if (message.type === 'ack') {
      const changes = live.newChanges();
      live.applyAck(state, message, changes);
      if (pending && message.client_id === pending.clientId) commentPosted();
      applyChanges(changes);
      return;
    }
    if (message.type === 'done') {
      const request = voteRequests.get(message.request_id);
      if (!request) return;
      voteRequests.delete(message.request_id);
      voteError = '';
      live.applyVoteDone(state, request);
      saveVotes();
      renderQuestions();
      return;
    }
    // An error.
    const unreadable = !message.client_id && !message.request_id && UNREAD_CODES.has(message.code);
    if (pending && (message.client_id === pending.clientId || unreadable)) {
      pending = null;
      postError = liveErrorText(message);
      if (Number(message.retry_after_ms) > 0) startCountdown(Number(message.retry_after_ms));
      // A ban from before the history we got is learnt here.
      if (message.code === 'banned' && state) state.me.banned = true;
      renderPost();
      renderMine();
    } else if (message.request_id && voteRequests.has(message.request_id)) {
      voteRequests.delete(message.request_id);
      voteError = liveErrorText(message);
      if (message.code === 'banned' && state) {
        state.me.banned = true;
        renderPost();
      }
      renderQuestions();
    }
    // Other errors (idle, since_ahead, an old comment's) are the connection's business.
  }

  function commentPosted() {
    pending = null;
    postError = '';
    el.postText.value = '';
    renderPost();
    renderMine();
  }

  function applyChanges(changes) {
    applyCommentChanges(changes);
    if (pending && live.findMineByClientId(state, pending.clientId)) commentPosted();
    if (changes.mine) renderMine();
    if (changes.questions || changes.myVotes) renderQuestions();
    if (changes.myVotes) saveVotes();
    if (changes.me || changes.settings || changes.phase) renderPost();
    if (changes.phase) onPhaseChanged(changes.phase);
  }

  function saveVotes() {
    if (!viewer || !state) return;
    viewer = { ...viewer, votes: [...state.myVotes] };
    saveViewer(meetingId, viewer);
  }

  // ---- comments

  function isNearBottom() {
    const log = el.commentLog;
    return log.scrollHeight - log.scrollTop - log.clientHeight < FOLLOW_BOTTOM_PX;
  }

  function scrollToBottom() {
    el.commentLog.scrollTop = el.commentLog.scrollHeight;
  }

  /**
   * Keeps the log at its newest row as a batch of rows comes in, without a layout of its own.
   * Where the browser anchors scrolling (CSS overflow-anchor), the end marker below the list
   * holds the log at its bottom during the frame's own layout. Reading scrollHeight right after
   * inserting the rows, as this did before, forced a second style and layout in every batch:
   * 12 % of a phone's main thread at 50 comments a second. The scroll after the frame, when
   * layout is clean and reading it costs nothing, covers browsers without anchoring and the
   * list's first overflow.
   */
  function followNewest() {
    if (followTimer !== null) return;
    followTimer = setTimeout(() => {
      followTimer = null;
      if (!pause.paused) scrollToBottom();
    }, 0);
  }

  function buildComment(comment) {
    const node = {
      item: make('li', 'comment'),
      author: make('span', 'comment__author'),
      platform: make('span', 'comment__platform'),
      you: make('span', 'comment__you'),
      status: make('span', 'comment__status'),
      text: make('p', 'comment__text'),
    };
    const meta = make('p', 'comment__meta');
    meta.append(node.author, node.platform, node.you, node.status);
    node.item.append(meta, node.text);
    updateComment(node, comment);
    commentParts.set(node.item, node);
    return node.item;
  }

  /** The short status on a comment in the list; the text line already says "hidden: …". */
  function commentBadge(comment) {
    switch (comment.state) {
      case 'held':
        return comment.flagged ? t('live.status.heldByRule', { rule: ruleText(comment.flagged.reason) }) : t('live.status.held');
      case 'promoted':
        return comment.question == null ? '' : t('live.status.promoted', { n: comment.question });
      case 'visible':
        return comment.mine ? t('live.status.visible') : '';
      default:
        return '';
    }
  }

  function updateComment(node, comment) {
    node.item.dataset.state = comment.state;
    node.item.classList.toggle('comment--mine', comment.mine);
    setText(node.author, comment.authorName || '—');
    // Written on a social-media platform: its name beside the author's, a link to it there.
    const platform = platformBadgeSignature(comment.source);
    if (node.platformShown !== platform) {
      node.platformShown = platform;
      const badge = platformBadge(comment.source);
      node.platform.replaceChildren(...(badge ? [badge] : []));
      node.platform.hidden = badge === null;
    }
    node.you.hidden = !comment.mine;
    setText(node.you, t('live.comments.you'));
    const badge = commentBadge(comment);
    node.status.hidden = badge === '';
    setText(node.status, badge);
    const hidden = comment.state === 'hidden';
    node.text.classList.toggle('comment__text--hidden', hidden);
    const why = comment.flagged?.action === 'hide' ? ruleText(comment.reason) : reasonText(comment.reason);
    setText(node.text, hidden ? t('live.comments.hidden', { reason: why }) : comment.text);
  }

  function applyCommentChanges(changes) {
    if (!state) return;
    if (changes.snapshot) {
      // The log folded on joining: drawn once, and not news to announce.
      announcer.reset();
      showNewestComments();
      return;
    }
    for (const number of changes.removed) commentList.remove(number);
    for (const number of changes.updated) {
      const comment = live.findComment(state, number);
      // Hidden or released while the list is paused: updated in place all the same.
      if (comment && commentList.has(number)) commentList.upsert(number, comment);
    }
    const added = changes.added.filter((number) => state.comments.has(number) && !commentList.has(number));
    if (added.length > 0) {
      // History replayed on reconnecting is not news.
      if (!changes.replay) announcer.added(added.filter((number) => !state.comments.get(number).mine).length);
      if (pause.added(added.length)) {
        for (const number of added) commentList.upsert(number, state.comments.get(number));
        followNewest();
      }
      renderNewButton();
    }
    el.commentsEmpty.hidden = state.comments.size > 0;
  }

  /** The newest comments held, in one DOM write, the list scrolled to them. */
  function showNewestComments() {
    const entries = state ? [...state.comments].slice(-MAX_COMMENT_ROWS) : [];
    commentList.replaceAll(entries);
    el.commentsEmpty.hidden = (state?.comments.size ?? 0) > 0;
    scrollToBottom();
    renderNewButton();
  }

  function rebuildComments() {
    commentList.clear();
    showNewestComments();
  }

  /** The reader scrolled: away from the newest comments the list holds still; back there it catches up. */
  function onLogScroll() {
    if (!state) return;
    const nearBottom = isNearBottom();
    if (nearBottom === !pause.paused) return;
    if (pause.scrolled(nearBottom)) showNewestComments();
    renderNewButton();
  }

  function resumeFollowing() {
    if (pause.resume()) showNewestComments();
    else scrollToBottom();
    renderNewButton();
  }

  function renderNewButton() {
    // While the reader follows the newest comments, only the end marker anchors the log's
    // scrolling (app.css); while paused, the rows anchor it as usual, so they hold still.
    const following = String(!pause.paused);
    if (el.commentLog.dataset.following !== following) el.commentLog.dataset.following = following;
    const show = pause.paused && pause.unseen > 0;
    if (!show && el.commentsNew === document.activeElement) el.commentLog.focus({ preventScroll: true });
    el.commentsNew.hidden = !show;
    setText(el.commentsNew, show ? t('live.comments.new', { n: formatNumber(pause.unseen) }) : '');
  }

  // ---- my comments

  function statusText(comment) {
    switch (comment.state) {
      case 'held':
        return comment.flagged ? t('live.status.heldByRule', { rule: ruleText(comment.flagged.reason) }) : t('live.status.held');
      case 'hidden':
        // Hidden by an automatic rule as it came in (not later by a moderator): say so.
        if (comment.flagged?.action === 'hide' && comment.reason === comment.flagged.reason) {
          return t('live.status.hiddenByRule', { rule: ruleText(comment.reason) });
        }
        return t('live.status.hidden', { reason: reasonText(comment.reason) });
      case 'promoted':
        return t('live.status.promoted', { n: comment.question });
      default:
        return t('live.status.visible');
    }
  }

  function renderMine() {
    if (!state) {
      el.mine.hidden = true;
      el.mineList.replaceChildren();
      return;
    }
    const mine = [...state.mine.values()].reverse().slice(0, MAX_MINE_SHOWN);
    const items = [];
    if (pending) items.push(mineItem(pending.text, t('live.status.sending'), 'sending'));
    for (const comment of mine) items.push(mineItem(comment.text, statusText(comment), comment.state));
    el.mine.hidden = items.length === 0;
    setText(el.mineSummary, t('live.mine.title', { n: state.mine.size }));
    el.mineList.replaceChildren(...items);
  }

  function mineItem(text, status, kind) {
    const item = make('li', 'my-comment');
    item.dataset.state = kind;
    item.append(make('p', 'my-comment__text', text), make('p', 'my-comment__status', status));
    return item;
  }

  // ---- posting

  function currentPhase() {
    return state?.phase ?? meeting?.phase ?? null;
  }

  function postBlock() {
    if (!state) return 'offline';
    if (pending) return 'pending';
    if (retryUntil > Date.now()) return 'wait';
    // 'reader' until the server answers the joined viewer's auth: the comment waits for it.
    if (state.role && state.role !== 'viewer' && state.role !== 'reader') return 'viewers_only';
    const phase = currentPhase();
    if (phase && !live.OPEN_PHASES.includes(phase)) return 'not_live';
    if (state.me.banned) return 'banned';
    return null;
  }

  function postHints() {
    const hints = [];
    if (!state) return hints;
    if (state.role && state.role !== 'viewer' && state.role !== 'reader') hints.push(t('live.post.viewersOnly'));
    const phase = currentPhase();
    if (phase && !live.OPEN_PHASES.includes(phase)) hints.push(t('live.post.notLive'));
    if (state.me.banned) hints.push(t('live.post.banned'));
    else if (state.me.timedOutUntil && Date.parse(state.me.timedOutUntil) > Date.now()) {
      hints.push(t('live.post.timedOut', { time: formatMeetingTime(state.me.timedOutUntil, meeting?.time_zone) }));
    }
    if (state.slowModeSeconds > 0) hints.push(t('live.post.slowMode', { n: state.slowModeSeconds }));
    if (state.holdFirstComments) hints.push(t('live.post.holdFirst'));
    if (pending && connectionStatus !== 'live') hints.push(t('live.post.offline'));
    return hints;
  }

  function renderPost() {
    const name = state?.displayName ?? viewer?.display_name ?? '';
    setText(el.joinedAs, name ? t('live.joinedAs', { name }) : '');
    const max = state?.maxCommentChars ?? DEFAULT_MAX_COMMENT_CHARS;
    if (el.postText.maxLength !== max) el.postText.maxLength = max;
    setText(el.postCount, t('live.post.count', { n: el.postText.value.length, max }));
    el.postText.readOnly = pending !== null;

    const hints = postHints();
    const key = hints.join('\n');
    if (key !== hintsKey) {
      hintsKey = key;
      el.postHints.replaceChildren(...hints.map((hint) => make('li', '', hint)));
    }
    el.postHints.hidden = hints.length === 0;

    const block = postBlock();
    const wait = Math.ceil((retryUntil - Date.now()) / 1000);
    let label = t('live.post.submit');
    if (block === 'pending') label = t('live.post.sending');
    else if (block === 'wait') label = t('live.post.wait', { n: wait });
    setText(el.postSubmit, label);
    setBlocked(el.postSubmit, block !== null && block !== 'offline');
    setText(el.postError, postError);
  }

  function submitComment(event) {
    event.preventDefault();
    if (!state || !connection) return;
    const block = postBlock();
    if (block === 'not_live' || block === 'banned' || block === 'viewers_only') {
      postError = t(`live.error.${block}`);
      renderPost();
      return;
    }
    if (block !== null) return; // sending, or waiting out a countdown the button shows
    const text = el.postText.value;
    if (text.trim() === '') {
      postError = t('live.error.text_empty');
      renderPost();
      el.postText.focus();
      return;
    }
    pending = { clientId: newClientId(), text };
    postError = '';
    resumeFollowing(); // my comment is about to appear at the bottom
    // When not connected it goes after the next hello (see the hello handler).
    connection.send({ type: 'comment', client_id: pending.clientId, text });
    renderPost();
    renderMine();
  }

  function startCountdown(ms) {
    retryUntil = Date.now() + ms;
    clearInterval(retryTimer);
    retryTimer = setInterval(() => {
      if (Date.now() >= retryUntil) stopCountdown();
      renderPost();
    }, COUNTDOWN_TICK_MS);
  }

  function stopCountdown() {
    clearInterval(retryTimer);
    retryTimer = null;
    retryUntil = 0;
  }

  // ---- questions

  function questionText(question) {
    return question.text ?? t('live.questions.untitled', { n: question.number });
  }

  function buildQuestion(number) {
    const node = {
      item: make('li', 'question'),
      number: make('span', 'question__number'),
      text: make('span', 'question__body'),
      pinned: make('span', 'question__pinned'),
      votes: make('span', 'question__votes'),
      button: make('button', 'vote-button'),
      count: make('span', 'vote-button__count'),
      label: make('span', 'vote-button__label'),
    };
    const textLine = make('p', 'question__text');
    textLine.id = `live-question-${number}`;
    textLine.append(node.number, ' ', node.text);
    node.button.type = 'button';
    node.button.dataset.question = String(number);
    node.button.setAttribute('aria-describedby', textLine.id);
    const arrow = make('span', 'vote-button__arrow', '▲');
    arrow.setAttribute('aria-hidden', 'true');
    node.button.append(arrow, node.label, node.count);
    const footer = make('div', 'question__footer');
    footer.append(node.button, node.votes, node.pinned);
    node.item.append(textLine, footer);
    return node;
  }

  function updateQuestion(node, question, source, readOnly) {
    setText(node.number, t('live.questions.number', { n: question.number }));
    setText(node.text, questionText(question));
    node.pinned.hidden = !source.pinned.includes(question.number);
    setText(node.pinned, t('live.questions.pinned'));
    const votes = question.votes ?? 0;
    node.votes.hidden = !readOnly;
    setText(node.votes, t('live.questions.votes', { n: formatNumber(votes) }));
    node.button.hidden = readOnly;
    setText(node.label, t('live.questions.vote'));
    setText(node.count, formatNumber(votes));
    node.button.setAttribute('aria-pressed', source.myVotes.has(question.number) ? 'true' : 'false');
    const busy = [...voteRequests.values()].some((request) => request.question === question.number);
    setBlocked(node.button, busy || connectionStatus !== 'live');
  }

  function renderQuestions() {
    const source = state ?? archive;
    setText(el.voteError, voteError);
    if (!source) {
      el.onAir.hidden = true;
      el.closed.hidden = true;
      return;
    }
    // A reader votes too: the button asks for a name first.
    const readOnly = state === null || (state.role !== null && state.role !== 'viewer' && state.role !== 'reader');

    const onAir = live.onAirQuestion(source);
    el.onAir.hidden = onAir === null;
    if (onAir) {
      setText(el.onAirText, `${t('live.questions.number', { n: onAir.number })} ${questionText(onAir)}`);
      setText(el.onAirVotes, t('live.questions.votes', { n: formatNumber(onAir.votes ?? 0) }));
    }

    // Keyed update: nodes are reused and only moved, so a focused vote button keeps focus.
    const focused = document.activeElement;
    const order = live.queueOrder(source);
    const wanted = new Set(order);
    for (const [number, node] of questionNodes) {
      if (!wanted.has(number)) {
        node.item.remove();
        questionNodes.delete(number);
      }
    }
    order.forEach((number, index) => {
      let node = questionNodes.get(number);
      if (!node) {
        node = buildQuestion(number);
        questionNodes.set(number, node);
      }
      updateQuestion(node, source.questions.get(number), source, readOnly);
      const current = el.queue.children[index] ?? null;
      if (current !== node.item) el.queue.insertBefore(node.item, current);
    });
    if (focused instanceof HTMLElement && focused.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
    const closed = live.closedQuestions(source);
    const queueEmpty = order.length === 0 && onAir === null;
    // "No questions yet" while there are none at all; "the queue is empty" once all were taken
    // up (not worth saying of an ended meeting's record).
    let emptyKey = null;
    if (queueEmpty && closed.length === 0) emptyKey = 'live.questions.empty';
    else if (queueEmpty && source === state) emptyKey = 'live.questions.queueEmpty';
    el.queueEmpty.hidden = emptyKey === null;
    setText(el.queueEmpty, emptyKey ? t(emptyKey) : '');

    el.closed.hidden = closed.length === 0;
    // An ended meeting's record is all there is to read: show it unfolded (once).
    if (source === archive && closed.length > 0 && !archiveUnfolded) {
      archiveUnfolded = true;
      el.closed.open = true;
    }
    setText(el.closedSummary, t('live.questions.closed', { n: closed.length }));
    el.closedList.replaceChildren(...closed.map(closedItem));
  }

  function closedItem(question) {
    const item = make('li', 'closed-question');
    item.dataset.state = question.state;
    item.append(
      make('p', 'question__text', `${t('live.questions.number', { n: question.number })} ${questionText(question)}`),
    );
    let outcome;
    if (question.state === 'answered') {
      outcome = question.outcome
        ? t('live.questions.answered', { text: question.outcome })
        : t('live.questions.answeredPlain');
    } else {
      outcome = question.outcome
        ? t('live.questions.dismissed', { text: question.outcome })
        : t('live.questions.dismissedPlain');
    }
    item.append(make('p', 'closed-question__outcome', outcome));
    return item;
  }

  function onQueueClick(event) {
    const button = event.target.closest('button[data-question]');
    if (!button || !state || !connection) return;
    if (button.getAttribute('aria-disabled') === 'true') return;
    const question = Number(button.dataset.question);
    if (!live.isVotable(state, question)) return;
    if (!viewer) {
      // Votes are a viewer's: ask for a name, and vote once joined.
      voteAfterJoining = question;
      joinError = t('live.join.toVote');
      renderJoin();
      el.joinName.focus();
      return;
    }
    sendVote(question, !state.myVotes.has(question));
  }

  function sendVote(question, up) {
    requestCounter += 1;
    const requestId = `vote-${requestCounter}`;
    voteError = '';
    if (!connection.send({ type: 'vote', question, up, request_id: requestId })) {
      voteError = t('live.error.offline');
      renderQuestions();
      return;
    }
    voteRequests.set(requestId, { question, up });
    renderQuestions();
  }

  // ---- wiring

  el.joinForm.addEventListener('submit', join);
  el.postForm.addEventListener('submit', submitComment);
  el.postText.addEventListener('input', () => {
    if (postError && el.postText.value.trim() !== '' && retryUntil === 0) postError = '';
    renderPost();
  });
  el.postText.addEventListener('keydown', (event) => {
    // Ctrl+Enter (Cmd+Enter) sends; Enter alone is a new line.
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      el.postForm.requestSubmit();
    }
  });
  el.queue.addEventListener('click', onQueueClick);
  el.commentLog.addEventListener('scroll', onLogScroll, { passive: true });
  el.commentsNew.addEventListener('click', () => {
    resumeFollowing();
    el.commentLog.focus({ preventScroll: true });
  });
  el.leave.addEventListener('click', onLeaveClick);
  window.addEventListener('online', () => connection?.retryNow());

  // Everyone reads at once; the name is asked for only to comment or vote.
  if (mode() === 'closed') loadArchive();
  else startLive();
  renderAll();

  return {
    /** The page's copy of the meeting changed (phase, status). */
    setMeeting(next) {
      meeting = next;
      // An ended or cancelled meeting's record is its questions, from the issue list.
      if (!viewer && isClosed()) {
        if (connection) stopLive();
        loadArchive();
      }
      renderAll();
    },
    /** The language changed: redraw every text. */
    relabel() {
      hintsKey = '';
      rebuildComments();
      for (const node of questionNodes.values()) node.item.remove();
      questionNodes.clear();
      renderAll();
    },
  };
}
