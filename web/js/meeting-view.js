// Owns what the meeting page and the presenter page show alike: the session timer and the
// compliance record (computed from server timestamps), the phase controls for officials, and the
// meeting's Server-Sent Events stream (snapshot, phase_changed, meeting_updated, broadcast).
// Both pages use the same element ids for these parts.

import { api, describeError } from './api.js';
import { registerStrings, t } from './i18n.js';
import meetingViewStrings from './strings/meeting-view.js';

registerStrings(meetingViewStrings);

export const TIMER_TICK_MS = 250;

/** The meeting a staff page is about, from its `?meeting=ID` address; null when none. */
export function parseMeetingId(search) {
  const value = new URLSearchParams(search).get('meeting') ?? '';
  return /^\d+$/.test(value) ? value : null;
}

// Used only when the server refused the stream outright; EventSource retries other drops itself.
const RESUBSCRIBE_DELAY_MS = 5000;

export const PHASE_ACTIONS = [
  { phase: 'presentation', buttonId: 'start-presentation', allowedFrom: ['scheduled'] },
  { phase: 'qa', buttonId: 'switch-to-qa', allowedFrom: ['scheduled', 'presentation'] },
  { phase: 'ended', buttonId: 'end-meeting', allowedFrom: ['presentation', 'qa'], confirmKey: 'control.confirmEnd' },
];

const byId = (id) => document.getElementById(id);

/** Writes only on change, so live regions announce real changes and not every tick. */
export function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

/** Seconds as m:ss, or h:mm:ss from an hour up. */
export function formatClock(totalSeconds) {
  const seconds = Math.max(0, Math.round(totalSeconds));
  const hours = Math.floor(seconds / 3600);
  const minutes = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const rest = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${minutes}:${rest}` : `${minutes}:${rest}`;
}

/** The phase name, the countdown or the Q&A clock, and the compliance record once ended. */
export function renderTimer(meeting) {
  if (!meeting) return;
  const { phase } = meeting;
  setText(byId('meeting-phase'), t(`phase.${phase}`));
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

/** Whether `account` may run the meeting's session timer (its akim, moderators, admins). */
export function mayControl(account, meeting) {
  if (!account || !meeting) return false;
  if (account.role === 'admin' || account.role === 'moderator') return true;
  return account.role === 'akim' && account.id === meeting.akim_account_id;
}

/** Whether `account` may broadcast the meeting (its akim or an admin), as the stream key is. */
export function mayBroadcast(account, meeting) {
  if (!account || !meeting) return false;
  if (account.role === 'admin') return true;
  return account.role === 'akim' && account.id === meeting.akim_account_id;
}

/** Whether `account` may publish the meeting's results (the commission, its akim, admins). */
export function mayPublishResults(account, meeting) {
  if (!account || !meeting) return false;
  if (account.role === 'admin' || account.role === 'commission') return true;
  return account.role === 'akim' && account.id === meeting.akim_account_id;
}

/** Whether the meeting is over for good (nothing more to broadcast or to control). */
export function isOver(meeting) {
  return meeting?.phase === 'ended' || meeting?.status === 'ended' || meeting?.status === 'cancelled';
}

/**
 * Wires the phase buttons (#start-presentation, #switch-to-qa, #end-meeting, #control-error in
 * #phase-controls). `getMeeting()` and `getAccount()` give the page's current copies;
 * `onMeeting(meeting)` takes the server's reply. Returns {render()}.
 */
export function mountPhaseControls({ meetingId, getMeeting, getAccount, onMeeting }) {
  let inFlight = false;
  let errorText = '';
  let lastPhase = null;

  function render() {
    const meeting = getMeeting();
    if (!meeting) return;
    if (lastPhase !== null && meeting.phase !== lastPhase) errorText = ''; // it was about the old phase
    lastPhase = meeting.phase;
    const open = meeting.status === 'scheduled' || meeting.status === 'live';
    byId('phase-controls').hidden = !(mayControl(getAccount(), meeting) && open);
    for (const action of PHASE_ACTIONS) {
      const button = byId(action.buttonId);
      button.hidden = !action.allowedFrom.includes(meeting.phase);
      button.disabled = inFlight;
    }
    setText(byId('control-error'), errorText);
  }

  async function request(action) {
    if (action.confirmKey && !window.confirm(t(action.confirmKey))) return;
    inFlight = true;
    errorText = '';
    render();
    try {
      const response = await api.post(`/api/meetings/${meetingId}/phase`, { phase: action.phase });
      // The event stream brings the change too; applying the reply just shows it sooner.
      const updated = response?.meeting ?? response;
      if (updated?.id !== undefined && updated?.phase) onMeeting(updated);
    } catch (error) {
      errorText = describeError(error);
    } finally {
      inFlight = false;
      render();
    }
  }

  for (const action of PHASE_ACTIONS) {
    byId(action.buttonId).addEventListener('click', () => request(action));
  }
  return { render };
}

function parseEventData(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return null; // a malformed event is skipped; the next snapshot corrects the page
  }
}

/**
 * Follows the meeting's event stream. `onMeeting(meeting)` gets every whole meeting (snapshot,
 * phase change, plan edit, refetch after a lag); `onBroadcast({on_air, viewers})` the broadcast
 * state; `onRestream(status)` a restream destination's new state; `onPlatform(status)` a platform
 * comment reader's new state; `onConnection(state)` connecting | live | reconnecting | closed. `isOver()` says whether
 * the meeting has ended, so a closed stream is nothing to worry about.
 */
export function subscribeMeetingEvents({
  meetingId,
  onMeeting,
  onBroadcast = () => {},
  onRestream = () => {},
  onPlatform = () => {},
  onConnection = () => {},
  isOver: over = () => false,
}) {
  let source = null;
  let stopped = false;

  function refetch() {
    api.get(`/api/meetings/${meetingId}`).then(onMeeting, () => {});
  }

  function open() {
    if (stopped) return;
    source = new EventSource(`/api/meetings/${meetingId}/events`);
    const current = source;
    current.addEventListener('open', () => onConnection('live'));
    current.addEventListener('snapshot', (event) => {
      onConnection('live');
      onMeeting(parseEventData(event));
    });
    current.addEventListener('phase_changed', (event) => onMeeting(parseEventData(event)?.meeting));
    // The plan was edited (title, time, cancellation): the data is the whole meeting.
    current.addEventListener('meeting_updated', (event) => onMeeting(parseEventData(event)));
    current.addEventListener('broadcast', (event) => {
      const data = parseEventData(event);
      if (data && typeof data === 'object') {
        onBroadcast({ on_air: data.on_air === true, viewers: Number(data.viewers) || 0 });
      }
    });
    // A restream destination's state changed: a RestreamStatus.
    current.addEventListener('restream', (event) => {
      const data = parseEventData(event);
      if (data && typeof data === 'object') onRestream(data);
    });
    // A platform comment reader's state changed: a PlatformStatus.
    current.addEventListener('platform', (event) => {
      const data = parseEventData(event);
      if (data && typeof data === 'object') onPlatform(data);
    });
    // Events were missed: fetch the meeting again rather than show a stale one.
    current.addEventListener('lagged', refetch);
    current.addEventListener('error', () => {
      if (current !== source) return;
      if (over()) {
        current.close();
        onConnection('closed');
        return;
      }
      onConnection('reconnecting');
      if (current.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          if (current === source) open();
        }, RESUBSCRIBE_DELAY_MS);
      }
    });
  }

  open();
  return {
    close() {
      stopped = true;
      source?.close();
      source = null;
      onConnection('closed');
    },
  };
}
