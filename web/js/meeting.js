// Owns the meeting page: the meeting's live state over Server-Sent Events, the phase timer
// (computed from server timestamps), the compliance record, phase controls for officials, the
// broadcast player, and the results once the meeting has ended. The timer, the controls and the
// event stream are shared with the presenter page (meeting-view.js); the player is player.js.
// The discussion panel (comments and questions over the WebSocket) is live.js; it reports phase
// changes it sees, and the page then refetches the meeting (the SSE stream stays the source).
// The results section is results.js; the deadlines it shows come only with a fetched meeting,
// so the page fetches the meeting once it sees the meeting end, and keeps those deadlines
// across later stream events. The request form (open while the meeting is scheduled) and
// "follow my questions" for a joined viewer are request-form.js; the personal receptions after
// the meeting (slots and the booking form) are reception-booking.js. The meeting's place and
// online link (shown as a link only when it is an http(s) address) are in its facts, with a link
// to the akim's yearly calendar.

import { api, fetchSession } from './api.js';
import { calendarPageUrl, yearIn } from './calendar-model.js';
import { userLink } from './calendar-view.js';
import { formatMeetingDateTime, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import { loadViewer, mountLivePanel } from './live.js';
import {
  TIMER_TICK_MS,
  isOver,
  mayBroadcast,
  mountPhaseControls,
  renderTimer,
  setText,
  subscribeMeetingEvents,
} from './meeting-view.js';
import { mountPlayer } from './player.js';
import { mountFollowButton, mountRequestForm } from './request-form.js';
import { mountReceptions } from './reception-booking.js';
import { mountReplay } from './replay.js';
import { mountResults } from './results.js';
import moderateStrings from './strings/moderate.js';
import platformsStrings from './strings/platforms.js';
import { mountModerationLogLink } from './moderation-log-link.js';

registerStrings(moderateStrings); // the link to the moderator console
registerStrings(platformsStrings); // the platform marks on comments

const byId = (id) => document.getElementById(id);
const meetingId = parseMeetingId(location.pathname);

let meeting = null;
let account = null;
let messageKey = 'common.loading';
let connectionState = 'connecting'; // connecting | live | reconnecting | closed
let livePanel = null; // mounted once the meeting is known
let player = null; // likewise
// An ended meeting's replay (replay.js). While it plays, the live panel and the player stay
// unmounted (or hidden, when the meeting ended in front of the reader): the replay's section
// shows the recording and the discussion in step instead.
let replay = null;
let replayPlaying = false;
let replayDecided = false; // the recording's state is known (or could not be fetched)
let controls = null;
let results = null;
let requestForm = null;
let follow = null;
let receptions = null;
let deadlinesRequested = false; // a fetch for the ended meeting's deadlines was made

function parseMeetingId(pathname) {
  const match = /^\/meetings\/(\d+)\/?$/.exec(pathname);
  return match ? match[1] : null;
}

function renderAll() {
  const message = byId('page-message');
  message.hidden = messageKey === null;
  setText(message, messageKey ? t(messageKey) : '');
  byId('meeting').hidden = meeting === null;
  if (meeting === null) return;
  renderMeeting();
  renderConnection();
  renderTimer(meeting);
  renderControls();
  results?.render();
  requestForm?.render();
  receptions?.render();
  replay?.render();
  if (replayPlaying) return;
  livePanel?.setMeeting(meeting);
  player?.setMeeting(meeting);
}

function renderMeeting() {
  const title = pickLocalized(meeting.title);
  setText(byId('meeting-title'), title);
  document.title = `${title} — Kezdesu`;
  setText(byId('meeting-planned-start'), formatMeetingDateTime(meeting.planned_start, meeting.time_zone));
  setText(byId('meeting-planned-length'), t('meeting.minutes', { n: meeting.planned_minutes }));
  setText(byId('meeting-kind'), t(`kind.${meeting.kind}`));
  const status = byId('meeting-status');
  status.className = `badge badge--${meeting.status}`;
  setText(status, t(`status.${meeting.status}`));
  const place = (meeting.place ?? '').trim();
  byId('meeting-place-row').hidden = place === '';
  setText(byId('meeting-place'), place);
  // A link from the meeting's data: only an http(s) address becomes a link.
  const linkText = (meeting.online_link ?? '').trim();
  byId('meeting-link-row').hidden = linkText === '';
  const linkBox = byId('meeting-link');
  if (linkBox.dataset.value !== linkText) {
    linkBox.dataset.value = linkText;
    const link = userLink(linkText);
    linkBox.replaceChildren(...(link ? [link] : []));
  }
  const year = yearIn(meeting.time_zone || 'Asia/Almaty', meeting.planned_start);
  const calendarRow = byId('meeting-calendar-row');
  calendarRow.hidden = !meeting.akim_account_id || !year;
  if (!calendarRow.hidden) {
    const calendarLink = byId('meeting-calendar-link');
    calendarLink.href = calendarPageUrl(meeting.akim_account_id, year);
    setText(calendarLink, t('meeting.calendarLink', { year }));
  }
}

function renderConnection() {
  const indicator = byId('connection-state');
  indicator.hidden = connectionState === 'closed';
  indicator.dataset.state = connectionState;
  setText(indicator, connectionState === 'closed' ? '' : t(`connection.${connectionState}`));
}

function renderControls() {
  if (meeting === null) return;
  controls?.render();
  // Those who may broadcast get a way to the presenter page.
  byId('presenter-link-row').hidden = !mayBroadcast(account, meeting) || isOver(meeting);
  // Moderators and admins get a way to the moderator console.
  byId('moderate-link-row').hidden = !['moderator', 'admin'].includes(account?.role);
}

function applyMeeting(next) {
  if (!next || typeof next !== 'object') return;
  // A meeting without the broadcast field (an older event) keeps the broadcast state we know.
  if (next.broadcast === undefined && meeting?.broadcast !== undefined) {
    next = { ...next, broadcast: meeting.broadcast };
  }
  // Stream events carry no deadlines; an ended meeting keeps those a fetch brought.
  if (next.deadlines === undefined && meeting?.deadlines !== undefined && next.phase === 'ended') {
    next = { ...next, deadlines: meeting.deadlines };
  }
  meeting = next;
  messageKey = null;
  if (meeting.phase === 'ended' && replay === null) {
    replay = mountReplay({
      meetingId,
      getMeeting: () => meeting,
      getAccount: () => account,
      onAvailable: showReplay,
    });
  }
  // An ended meeting waits for its recording's state, so the live panel does not flash up
  // before the replay takes its place.
  if (meeting.phase !== 'ended' || replayDecided) mountPanels();
  renderAll();
  if (meeting.phase === 'ended' && meeting.deadlines === undefined) fetchDeadlines();
}

/** The live panel and the player, unless the replay plays. */
function mountPanels() {
  if (replayPlaying) return;
  if (livePanel === null) {
    livePanel = mountLivePanel({
      meetingId,
      meeting,
      onPhaseChanged: onLivePhaseChanged,
      onViewerChanged: () => follow?.render(),
    });
  }
  if (player === null) player = mountPlayer({ meetingId });
}

/** The replay plays (or stopped playing: deleted): the page's panels follow. */
function showReplay(playing) {
  replayDecided = true;
  replayPlaying = playing;
  byId('broadcast').hidden = playing || player === null;
  byId('live').hidden = playing || livePanel === null;
  if (!playing) mountPanels();
  renderAll();
}

// The meeting ended (live, or before the stream's snapshot came): fetch it for its deadlines,
// once; a failed fetch may be retried by the next event.
function fetchDeadlines() {
  if (deadlinesRequested) return;
  deadlinesRequested = true;
  api.get(`/api/meetings/${meetingId}`).then(applyMeeting, () => {
    deadlinesRequested = false;
  });
}

function applyDeadlines(deadlines) {
  if (meeting === null || !deadlines) return;
  meeting = { ...meeting, deadlines };
  results?.render();
}

function applyBroadcast(broadcast) {
  if (meeting === null) return;
  meeting = { ...meeting, broadcast };
  player?.setBroadcast(broadcast);
}

// The live channel saw the phase change (perhaps before the event stream did, or while that
// stream was reconnecting): fetch the meeting for its new deadlines. Replayed history may carry
// an old phase; the fetch then just confirms the current one.
function onLivePhaseChanged(event) {
  if (meeting === null || event?.phase === meeting.phase) return;
  api.get(`/api/meetings/${meetingId}`).then(applyMeeting, () => {});
}

function setConnection(state) {
  connectionState = state;
  if (meeting !== null) renderConnection();
}

async function loadSession() {
  try {
    account = (await fetchSession())?.account ?? null;
  } catch {
    account = null; // without a session the page is simply read-only
  }
  renderControls();
  results?.render();
  receptions?.render();
  replay?.render();
}

async function start() {
  setUpLanguageSwitch(() => {
    renderAll();
    if (!replayPlaying) {
      livePanel?.relabel();
      player?.relabel();
    }
    replay?.render();
    follow?.render();
    receptions?.render();
  });
  renderAll();
  if (meetingId === null) {
    messageKey = 'meeting.notFound';
    renderAll();
    return;
  }
  byId('signin-link').href = `/signin.html?next=${encodeURIComponent(location.pathname)}`;
  byId('presenter-link').href = `/present.html?meeting=${encodeURIComponent(meetingId)}`;
  byId('moderate-link').href = `/moderate.html?meeting=${encodeURIComponent(meetingId)}`;
  mountModerationLogLink(meetingId);
  controls = mountPhaseControls({
    meetingId,
    getMeeting: () => meeting,
    getAccount: () => account,
    onMeeting: applyMeeting,
  });
  results = mountResults({
    meetingId,
    getMeeting: () => meeting,
    getAccount: () => account,
    onDeadlines: applyDeadlines,
  });
  requestForm = mountRequestForm({ meetingId, getMeeting: () => meeting });
  follow = mountFollowButton({ meetingId, getViewer: () => loadViewer(meetingId) });
  receptions = mountReceptions({ meetingId, getMeeting: () => meeting, getAccount: () => account });
  loadSession();
  try {
    // Loaded once up front so a wrong id says "not found" instead of reconnecting forever.
    applyMeeting(await api.get(`/api/meetings/${meetingId}`));
  } catch (error) {
    if (error.status === 404) {
      messageKey = 'meeting.notFound';
      renderAll();
      return;
    }
    messageKey = 'common.loadFailed'; // the event stream may still bring the meeting
    renderAll();
  }
  subscribeMeetingEvents({
    meetingId,
    onMeeting: applyMeeting,
    onBroadcast: applyBroadcast,
    onConnection: setConnection,
    isOver: () => meeting?.phase === 'ended',
  });
  setInterval(() => renderTimer(meeting), TIMER_TICK_MS);
}

start();
