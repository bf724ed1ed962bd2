// The replay of an ended meeting on its page: the recording plays beside the discussion as it
// was at the video's moment. Comments, the question on air, the queue and its votes appear when
// they happened; seeking moves the discussion with the video; each question links to the moments
// it was put on air and answered; the phase bar shows the presentation and the Q&A on the
// video's timeline. The rules (the timeline, the discussion folded from the log, the bar) are in
// replay-model.js; this module fetches, draws and follows the <video>.
//
// The discussion comes from GET /api/meetings/{id}/log, the public form of the live channel's
// log: a comment hidden during the meeting is `redacted` there and never reaches the page.
// Until the recording is ready (being recorded or prepared), deleted or failed, the page keeps
// its ordinary panels and this section only says so; `onAvailable(true)` tells meeting.js to
// hand the page over to the replay.

import { api, describeError } from './api.js';
import { BoundedList } from './bounded-list.js';
import { formatMeetingDateTime, formatNumber, formatPercent, registerStrings, t } from './i18n.js';
import * as live from './live-state.js';
import { platformBadge } from './platforms.js';
import {
  ReplayDiscussion,
  fileAt,
  formatPosition,
  instantAt,
  isShown,
  phaseBar,
  positionOf,
  questionMoments,
  timeline,
} from './replay-model.js';
import replayStrings from './strings/replay.js';

registerStrings(replayStrings);

/** Events per request for the log (the server's most). */
const LOG_PAGE = 2000;
/** How often a recording being made or prepared is asked after. */
const POLL_MS = 5000;
/** Comment rows on the page at most, the newest first. */
const COMMENT_ROWS = 100;
/** Within this many seconds of the end, the whole discussion is shown (events after the last frame too). */
const END_SLACK_SECONDS = 0.25;

const byId = (id) => document.getElementById(id);

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Mounts the replay section of the meeting page. `getMeeting()` gives the meeting (its time
 * zone), `getAccount()` the signed-in account (admins may delete the recording) and
 * `onAvailable(playing)` is called whenever whether the replay plays changes.
 */
export function mountReplay({ meetingId, getMeeting, getAccount, onAvailable = () => {} }) {
  const el = {
    root: byId('replay'),
    notice: byId('replay-notice'),
    body: byId('replay-body'),
    video: byId('replay-video'),
    track: byId('replay-phase-track'),
    playhead: byId('replay-playhead'),
    phaseList: byId('replay-phase-list'),
    phaseShare: byId('replay-phase-share'),
    nowHeading: byId('replay-now-heading'),
    onAir: byId('replay-on-air'),
    onAirText: byId('replay-on-air-text'),
    onAirVotes: byId('replay-on-air-votes'),
    queue: byId('replay-queue'),
    queueEmpty: byId('replay-queue-empty'),
    comments: byId('replay-comments'),
    commentsEmpty: byId('replay-comments-empty'),
    questions: byId('replay-questions'),
    questionsEmpty: byId('replay-questions-empty'),
    admin: byId('replay-admin'),
    deleteButton: byId('replay-delete'),
    deleteConfirm: byId('replay-delete-confirm'),
    deleteYes: byId('replay-delete-yes'),
    deleteNo: byId('replay-delete-no'),
    deleteError: byId('replay-delete-error'),
  };

  // loading | absent (never on air) | waiting (being recorded or prepared) | ready | failed |
  // deleted | error (could not be loaded)
  let status = 'loading';
  let manifest = null;
  let line = null; // the timeline (replay-model.js timeline)
  let discussion = null;
  let finalState = null; // the discussion at the meeting's end: every question as it ended
  let moments = new Map(); // question → {onAir, answered} instants
  let segments = [];
  let fileNumber = null; // the replay file in the <video>
  let afterLoad = null; // {seconds, play}: where to go once the file's metadata is in
  let drawnIndex = -1; // the discussion's event count when last drawn
  let drawQueued = false;
  let pollTimer = null;
  let confirming = false;
  let deleting = false;
  let deleteError = '';
  let playing = null; // what onAvailable was last told
  const commentParts = new WeakMap();
  const comments = new BoundedList({
    container: el.comments,
    maxRows: COMMENT_ROWS,
    newestFirst: true,
    build: buildComment,
    update: (row, comment) => updateComment(commentParts.get(row), comment),
  });

  // ---- loading

  async function load() {
    clearTimeout(pollTimer);
    let next;
    try {
      next = await api.get(`/api/meetings/${meetingId}/recording`);
    } catch (error) {
      setStatus(error.status === 404 ? 'absent' : 'error');
      return;
    }
    manifest = next;
    switch (manifest.state) {
      case 'ready':
        try {
          await prepare(await loadLog());
          setStatus('ready');
        } catch {
          setStatus('error');
        }
        break;
      case 'deleted':
        setStatus('deleted');
        break;
      case 'failed':
        setStatus('failed');
        break;
      default: // recording, processing: the replay is made once the meeting has ended
        setStatus('waiting');
        pollTimer = setTimeout(load, POLL_MS);
    }
  }

  /** Every event of the log, page by page. */
  async function loadLog() {
    const events = [];
    let after = 0;
    for (;;) {
      const page = await api.get(`/api/meetings/${meetingId}/log?after=${after}&limit=${LOG_PAGE}`);
      const received = Array.isArray(page?.events) ? page.events : [];
      events.push(...received);
      const last = Number(page?.last_seq);
      if (!page?.more || received.length === 0 || !Number.isInteger(last) || last <= after) return events;
      after = last;
    }
  }

  async function prepare(events) {
    line = timeline(manifest);
    discussion = new ReplayDiscussion(events);
    // The whole meeting once, for the index of its questions: a plain fold, with no kept states.
    finalState = live.createState();
    for (const event of events) live.applyEvent(finalState, event);
    moments = questionMoments(events);
    segments = phaseBar(events, line);
    drawnIndex = -1;
    buildPhaseBar();
    buildQuestionIndex();
    const first = line.files[0];
    if (first) loadFile(first, 0, false);
  }

  function setStatus(next) {
    status = next;
    render();
    const nowPlaying = status === 'ready';
    if (nowPlaying !== playing) {
      playing = nowPlaying;
      onAvailable(nowPlaying);
    }
  }

  // ---- the video and its files

  function currentFile() {
    return line?.files.find((file) => file.number === fileNumber) ?? null;
  }

  /** Where the replay is on the whole timeline, in seconds. */
  function position() {
    const file = currentFile();
    return (file?.start ?? 0) + (Number(el.video.currentTime) || 0);
  }

  function loadFile(file, seconds, play) {
    fileNumber = file.number;
    afterLoad = { seconds, play };
    el.video.src = file.url;
    el.video.load();
  }

  /** Moves the replay to `seconds` of the whole timeline, switching files when needed. */
  function seekTo(seconds) {
    const target = fileAt(line, seconds);
    if (!target) return;
    if (target.number !== fileNumber) {
      loadFile(target, target.seconds, !el.video.paused);
    } else {
      el.video.currentTime = target.seconds;
    }
    scheduleDraw();
  }

  el.video.addEventListener('loadedmetadata', () => {
    if (afterLoad === null) return;
    const { seconds, play } = afterLoad;
    afterLoad = null;
    if (seconds > 0) el.video.currentTime = seconds;
    if (play) el.video.play().catch(() => {});
    scheduleDraw();
  });
  // The next file of a recording made of several plays on where the last one ended.
  el.video.addEventListener('ended', () => {
    const file = currentFile();
    const next = file ? line.files.find((candidate) => candidate.start > file.start) : null;
    if (next) loadFile(next, 0, true);
    scheduleDraw();
  });
  for (const type of ['timeupdate', 'seeking', 'seeked', 'play', 'pause']) {
    el.video.addEventListener(type, scheduleDraw);
  }

  // ---- drawing

  function scheduleDraw() {
    if (drawQueued || status !== 'ready') return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      drawMoment();
    });
  }

  function render() {
    el.root.hidden = status === 'absent' || status === 'loading';
    const notice = noticeText();
    el.notice.hidden = notice === '';
    setText(el.notice, notice);
    el.body.hidden = status !== 'ready';
    renderAdmin();
    if (status === 'ready') {
      relabelPhaseBar();
      buildQuestionIndex();
      drawnIndex = -1;
      drawMoment();
    }
  }

  function noticeText() {
    switch (status) {
      case 'waiting':
        return t('replay.preparing');
      case 'failed':
        return t('replay.failed');
      case 'error':
        return t('replay.loadFailed');
      case 'deleted': {
        const meeting = getMeeting();
        const date = manifest?.deleted_at ? formatMeetingDateTime(manifest.deleted_at, meeting?.time_zone) : '';
        return t('replay.deleted', { date });
      }
      default:
        return '';
    }
  }

  /** The discussion at the video's moment. */
  function drawMoment() {
    if (status !== 'ready' || !line) return;
    const seconds = position();
    const atEnd = el.video.ended || seconds >= line.duration - END_SLACK_SECONDS;
    const instant = atEnd ? Number.POSITIVE_INFINITY : (instantAt(line, seconds) ?? Number.POSITIVE_INFINITY);
    const state = discussion.at(instant);
    setText(el.nowHeading, t('replay.now.title', { time: formatPosition(seconds) }));
    el.playhead.style.left = `${line.duration > 0 ? Math.min(100, (seconds / line.duration) * 100) : 0}%`;
    if (discussion.index === drawnIndex) return; // nothing happened since the last frame drawn
    drawnIndex = discussion.index;
    drawOnAir(state);
    drawQueue(state);
    const shown = [...state.comments.values()].filter(isShown);
    comments.replaceAll(shown.map((comment) => [comment.number, comment]));
    el.commentsEmpty.hidden = shown.length > 0;
    markCurrentQuestion(state.onAir);
  }

  function questionLine(question) {
    const text = question.text ?? t('live.questions.untitled', { n: question.number });
    return `${t('live.questions.number', { n: question.number })} ${text}`;
  }

  function drawOnAir(state) {
    const onAir = live.onAirQuestion(state);
    el.onAir.hidden = onAir === null;
    if (!onAir) return;
    setText(el.onAirText, questionLine(onAir));
    setText(el.onAirVotes, t('live.questions.votes', { n: formatNumber(onAir.votes ?? 0) }));
  }

  function drawQueue(state) {
    const rows = live.queueOrder(state).map((number) => {
      const question = state.questions.get(number);
      const row = make('li', 'question');
      row.append(make('p', 'question__text', questionLine(question)));
      row.append(make('p', 'question__votes', t('live.questions.votes', { n: formatNumber(question.votes ?? 0) })));
      return row;
    });
    el.queue.replaceChildren(...rows);
    el.queueEmpty.hidden = rows.length > 0;
  }

  function buildComment(comment) {
    const node = {
      item: make('li', 'comment'),
      author: make('span', 'comment__author'),
      platform: make('span', 'comment__platform'),
      status: make('span', 'comment__status'),
      text: make('p', 'comment__text'),
    };
    const meta = make('p', 'comment__meta');
    meta.append(node.author, node.platform, node.status);
    node.item.append(meta, node.text);
    commentParts.set(node.item, node);
    updateComment(node, comment);
    return node.item;
  }

  function updateComment(node, comment) {
    node.item.dataset.comment = String(comment.number);
    node.item.dataset.state = comment.state;
    setText(node.author, comment.authorName || '—');
    const badge = platformBadge(comment.source);
    node.platform.replaceChildren(...(badge ? [badge] : []));
    node.platform.hidden = badge === null;
    const promoted = comment.state === 'promoted' && comment.question != null;
    node.status.hidden = !promoted;
    setText(node.status, promoted ? t('live.status.promoted', { n: comment.question }) : '');
    setText(node.text, comment.text ?? '');
  }

  // ---- the phase bar

  function buildPhaseBar() {
    for (const old of el.track.querySelectorAll('.phase-bar__segment')) old.remove();
    for (const segment of segments) {
      const block = make('div', 'phase-bar__segment');
      block.dataset.phase = segment.phase;
      const total = line.duration || 1;
      block.style.left = `${(segment.from / total) * 100}%`;
      block.style.width = `${((segment.to - segment.from) / total) * 100}%`;
      el.track.insertBefore(block, el.playhead);
    }
    relabelPhaseBar();
  }

  function phaseName(phase) {
    return t(phase === 'qa' ? 'replay.phases.qa' : 'replay.phases.presentation');
  }

  /** The bar in words: each phase a button to its start, and the presentation's share. */
  function relabelPhaseBar() {
    if (!line) return;
    const items = segments.map((segment) => {
      const item = make('li');
      const key = make('span', 'phase-bar__key');
      key.dataset.phase = segment.phase;
      key.setAttribute('aria-hidden', 'true');
      const button = make(
        'button',
        'moment-link',
        t('replay.phases.segment', {
          phase: phaseName(segment.phase),
          from: formatPosition(segment.from),
          to: formatPosition(segment.to),
        }),
      );
      button.type = 'button';
      button.dataset.seek = String(segment.from);
      item.append(key, button);
      return item;
    });
    el.phaseList.replaceChildren(...items);
    const presentation = segments
      .filter((segment) => segment.phase === 'presentation')
      .reduce((sum, segment) => sum + (segment.to - segment.from), 0);
    const share = line.duration > 0 ? (presentation / line.duration) * 100 : 0;
    el.phaseShare.hidden = segments.length === 0;
    setText(el.phaseShare, t('replay.phases.share', { share: formatPercent(share) }));
    el.track.setAttribute('role', 'img');
    el.track.setAttribute(
      'aria-label',
      segments.map((segment) => `${phaseName(segment.phase)} ${formatPosition(segment.from)}–${formatPosition(segment.to)}`).join(', '),
    );
  }

  // ---- every question of the meeting, with links to its moments

  function buildQuestionIndex() {
    if (!finalState) return;
    const questions = [...finalState.questions.values()].sort((a, b) => a.number - b.number);
    const rows = questions.map((question) => {
      const row = make('li', 'question');
      row.dataset.question = String(question.number);
      row.append(make('p', 'question__text', questionLine(question)));
      const links = make('ul', 'replay-moments');
      const moment = moments.get(question.number) ?? { onAir: null, answered: null };
      if (moment.onAir !== null) links.append(momentItem('replay.questions.onAirAt', moment.onAir, 'on-air'));
      else links.append(make('li', 'question__state', t('replay.questions.notOnAir')));
      if (moment.answered !== null) links.append(momentItem('replay.questions.answeredAt', moment.answered, 'answered'));
      row.append(links);
      return row;
    });
    el.questions.replaceChildren(...rows);
    el.questionsEmpty.hidden = rows.length > 0;
  }

  function momentItem(key, instant, kind) {
    const item = make('li');
    const seconds = positionOf(line, instant);
    const button = make('button', 'moment-link', t(key, { time: formatPosition(seconds) }));
    button.type = 'button';
    button.dataset.seek = String(seconds);
    button.dataset.moment = kind;
    item.append(button);
    return item;
  }

  function markCurrentQuestion(onAir) {
    for (const row of el.questions.children) {
      row.dataset.current = String(Number(row.dataset.question) === onAir);
    }
  }

  // Delegation: the links are rebuilt on every language change.
  el.root.addEventListener('click', (event) => {
    const link = event.target.closest('[data-seek]');
    if (!link || status !== 'ready') return;
    seekTo(Number(link.dataset.seek));
    el.video.focus({ preventScroll: true });
    el.video.scrollIntoView({ block: 'nearest' });
  });

  // ---- deleting (admins)

  function renderAdmin() {
    const admin = getAccount()?.role === 'admin';
    el.admin.hidden = !(admin && (status === 'ready' || status === 'failed'));
    el.deleteButton.hidden = confirming;
    el.deleteConfirm.hidden = !confirming;
    el.deleteYes.setAttribute('aria-disabled', String(deleting));
    setText(el.deleteError, deleteError);
  }

  el.deleteButton.addEventListener('click', () => {
    confirming = true;
    deleteError = '';
    renderAdmin();
    el.deleteNo.focus();
  });
  el.deleteNo.addEventListener('click', () => {
    confirming = false;
    renderAdmin();
    el.deleteButton.focus();
  });
  el.deleteYes.addEventListener('click', async () => {
    if (deleting) return;
    deleting = true;
    renderAdmin();
    try {
      await api.delete(`/api/meetings/${meetingId}/recording`);
      confirming = false;
      el.video.pause();
      el.video.removeAttribute('src');
      el.video.load();
      line = null;
      await load();
      el.notice.focus?.();
    } catch (error) {
      deleteError = t('replay.delete.failed', { message: describeError(error) });
    } finally {
      deleting = false;
      renderAdmin();
    }
  });

  load();

  // Test hook: where the replay is and in what state (tests/browser/replay.test.mjs).
  const hook = {
    /** Redraws in the current language, or for a new account. */
    render,
    /** For tests: where the replay is, in seconds of the whole timeline. */
    get position() {
      return line ? position() : null;
    },
    get status() {
      return status;
    },
  };
  window.__kezdesuReplay = hook;
  return hook;
}
