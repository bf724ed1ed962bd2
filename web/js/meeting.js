// Owns the meeting page: the meeting's live state over Server-Sent Events, the phase timer
// (computed from server timestamps), the compliance record, and phase controls for officials.
// The discussion panel (comments and questions over the WebSocket) is live.js; it reports phase
// changes it sees, and the page then refetches the meeting (the SSE stream stays the source).

import { api, describeError, fetchSession } from './api.js';
import { formatMeetingDateTime, pickLocalized, setUpLanguageSwitch, t } from './i18n.js';
import { mountLivePanel } from './live.js';

const TIMER_TICK_MS = 250;
// Used only when the server refused the stream outright; EventSource retries other drops itself.
const RESUBSCRIBE_DELAY_MS = 5000;

const PHASE_ACTIONS = [
  { phase: 'presentation', buttonId: 'start-presentation', allowedFrom: ['scheduled'] },
  { phase: 'qa', buttonId: 'switch-to-qa', allowedFrom: ['scheduled', 'presentation'] },
  { phase: 'ended', buttonId: 'end-meeting', allowedFrom: ['presentation', 'qa'], confirmKey: 'control.confirmEnd' },
];

const byId = (id) => document.getElementById(id);
const meetingId = parseMeetingId(location.pathname);

let meeting = null;
let account = null;
let messageKey = 'common.loading';
let connectionState = 'connecting'; // connecting | live | reconnecting | closed
let controlRequestInFlight = false;
let controlErrorText = '';
let livePanel = null; // mounted once the meeting is known

function parseMeetingId(pathname) {
  const match = /^\/meetings\/(\d+)\/?$/.exec(pathname);
  return match ? match[1] : null;
}

// Writes only on change, so live regions announce real changes and not every tick.
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/** Seconds as m:ss, or h:mm:ss from an hour up. */
function formatClock(totalSeconds) {
  const seconds = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(seconds / 3600);
  const minutes = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const rest = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${minutes}:${rest}` : `${minutes}:${rest}`;
}

function renderAll() {
  const message = byId('page-message');
  message.hidden = messageKey === null;
  setText(message, messageKey ? t(messageKey) : '');
  byId('meeting').hidden = meeting === null;
  if (meeting === null) return;
  renderMeeting();
  renderConnection();
  renderTimer();
  renderControls();
  livePanel?.setMeeting(meeting);
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
  setText(byId('meeting-phase'), t(`phase.${meeting.phase}`));
}

function renderConnection() {
  const indicator = byId('connection-state');
  indicator.hidden = connectionState === 'closed';
  indicator.dataset.state = connectionState;
  setText(indicator, connectionState === 'closed' ? '' : t(`connection.${connectionState}`));
}

function renderTimer() {
  if (meeting === null) return;
  const { phase } = meeting;
  byId('timer-not-started').hidden = phase !== 'scheduled' || meeting.status === 'cancelled';
  byId('timer-presentation').hidden = phase !== 'presentation';
  byId('timer-qa').hidden = phase !== 'qa';
  byId('compliance').hidden = phase !== 'ended';

  if (phase === 'presentation') {
    const budget = Number(meeting.presentation_budget_seconds) || 0;
    // Whole seconds rounded up, so the clock shows 00:00 only once the time is really over.
    const remaining = Math.max(0, Math.ceil((Date.parse(meeting.presentation_ends_at) - Date.now()) / 1000)) || 0;
    setText(byId('countdown-label'), t(remaining > 0 ? 'timer.remaining' : 'timer.overtime'));
    setText(byId('countdown'), formatClock(remaining));
    const progress = byId('presentation-progress');
    progress.max = budget > 0 ? budget : 1;
    progress.value = budget > 0 ? Math.min(budget, budget - remaining) : 1;
  } else if (phase === 'qa') {
    const elapsed = Math.floor((Date.now() - Date.parse(meeting.phase_started_at)) / 1000) || 0;
    setText(byId('qa-elapsed'), formatClock(elapsed));
  } else if (phase === 'ended') {
    renderCompliance(meeting.compliance);
  }
}

function renderCompliance(compliance) {
  byId('compliance-missing').hidden = compliance != null;
  byId('compliance-record').hidden = compliance == null;
  if (compliance == null) return;
  setText(byId('compliance-presentation'), formatClock(compliance.presentation_seconds));
  setText(byId('compliance-qa'), formatClock(compliance.qa_seconds));
  setText(byId('compliance-budget'), formatClock(compliance.presentation_budget_seconds));
  const split = byId('compliance-split');
  split.className = `badge badge--${compliance.split_kept ? 'kept' : 'broken'}`;
  setText(split, t(compliance.split_kept ? 'compliance.kept' : 'compliance.broken'));
}

function mayControl() {
  if (account === null || meeting === null) return false;
  if (account.role === 'admin' || account.role === 'moderator') return true;
  return account.role === 'akim' && account.id === meeting.akim_account_id;
}

function renderControls() {
  const open = meeting.status === 'scheduled' || meeting.status === 'live';
  byId('phase-controls').hidden = !(mayControl() && open);
  for (const action of PHASE_ACTIONS) {
    const button = byId(action.buttonId);
    button.hidden = !action.allowedFrom.includes(meeting.phase);
    button.disabled = controlRequestInFlight;
  }
  setText(byId('control-error'), controlErrorText);
}

async function requestPhase(action) {
  if (action.confirmKey && !window.confirm(t(action.confirmKey))) return;
  controlRequestInFlight = true;
  controlErrorText = '';
  renderControls();
  try {
    const response = await api.post(`/api/meetings/${meetingId}/phase`, { phase: action.phase });
    // The event stream brings the change too; applying the reply just shows it sooner.
    const updated = response?.meeting ?? response;
    if (updated?.id !== undefined && updated?.phase) meeting = updated;
  } catch (error) {
    controlErrorText = describeError(error);
  } finally {
    controlRequestInFlight = false;
    renderAll();
  }
}

function applyMeeting(next) {
  if (!next || typeof next !== 'object') return;
  if (meeting !== null && next.phase !== meeting.phase) controlErrorText = ''; // the error was about the old phase
  meeting = next;
  messageKey = null;
  if (livePanel === null) livePanel = mountLivePanel({ meetingId, onPhaseChanged: onLivePhaseChanged });
  renderAll();
}

// The live channel saw the phase change (perhaps before the event stream did, or while that
// stream was reconnecting): fetch the meeting for its new deadlines. Replayed history may carry
// an old phase; the fetch then just confirms the current one.
function onLivePhaseChanged(event) {
  if (meeting === null || event?.phase === meeting.phase) return;
  api.get(`/api/meetings/${meetingId}`).then(applyMeeting, () => {});
}

function parseEventData(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return null; // a malformed event is skipped; the next snapshot corrects the page
  }
}

function setConnection(state) {
  connectionState = state;
  if (meeting !== null) renderConnection();
}

function subscribe() {
  const source = new EventSource(`/api/meetings/${meetingId}/events`);
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('snapshot', (event) => {
    setConnection('live');
    applyMeeting(parseEventData(event));
  });
  source.addEventListener('phase_changed', (event) => applyMeeting(parseEventData(event)?.meeting));
  // The plan was edited (title, time, cancellation): the data is the whole meeting.
  source.addEventListener('meeting_updated', (event) => applyMeeting(parseEventData(event)));
  // Events were missed: fetch the meeting again rather than show a stale one.
  source.addEventListener('lagged', () => {
    api.get(`/api/meetings/${meetingId}`).then(applyMeeting, () => {});
  });
  source.addEventListener('error', () => {
    // An ended meeting will not change again, so a closed stream is nothing to worry about.
    if (meeting?.phase === 'ended') {
      source.close();
      setConnection('closed');
      return;
    }
    setConnection('reconnecting');
    if (source.readyState === EventSource.CLOSED) setTimeout(subscribe, RESUBSCRIBE_DELAY_MS);
  });
}

async function loadSession() {
  try {
    account = (await fetchSession())?.account ?? null;
  } catch {
    account = null; // without a session the page is simply read-only
  }
  if (meeting !== null) renderControls();
}

async function start() {
  setUpLanguageSwitch(() => {
    renderAll();
    livePanel?.relabel();
  });
  renderAll();
  if (meetingId === null) {
    messageKey = 'meeting.notFound';
    renderAll();
    return;
  }
  byId('signin-link').href = `/signin.html?next=${encodeURIComponent(location.pathname)}`;
  for (const action of PHASE_ACTIONS) {
    byId(action.buttonId).addEventListener('click', () => requestPhase(action));
  }
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
  subscribe();
  setInterval(renderTimer, TIMER_TICK_MS);
}

start();
