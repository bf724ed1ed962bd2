// Owns the presenter page (/present.html?meeting=ID) for the meeting's akim or an admin: the
// camera preview and device pickers, going on air from the browser by WHIP with the meeting's
// stream key, the broadcast state and viewer count (from the meeting's event stream), the
// session timer and phase controls (shared with the meeting page, meeting-view.js), the question
// queue, the settings for OBS (server URL and bearer token, with rotation), and where the
// meeting is restreamed (restream.js), publishing H.264 whenever a destination is on, and the
// comments read from the akimat's social-media accounts (platforms.js: the akim's accounts,
// what the meeting follows, each reader's state).
//
// Test hook: `window.__kezdesuPresenter` is {pc, state}: the publishing RTCPeerConnection (null
// when not publishing) and the publishing state, so a browser test can read getStats().
//
// The question queue and the question on air follow the meeting's live channel
// (live-connection.js), joined with the page's session cookie: the whole log on first joining,
// so pinned questions are known however long ago they were pinned, then every event as it
// happens, resuming with `since` after a drop. live-state.js folds the events and orders the
// queue exactly as the discussion panel does. While the channel is down, the public issue list
// (GET /api/meetings/{id}/issues) is read every few seconds instead.

import { api, describeError, fetchSession } from './api.js';
import { formatMeetingTime, formatNumber, pickLocalized, registerStrings, setUpLanguageSwitch, t } from './i18n.js';
import { frameRenderer, frameScheduler } from './frame-batch.js';
import { LiveConnection } from './live-connection.js';
import * as live from './live-state.js';
import {
  TIMER_TICK_MS,
  isOver,
  mayBroadcast,
  mountPhaseControls,
  parseMeetingId,
  renderTimer,
  setText,
  subscribeMeetingEvents,
} from './meeting-view.js';
import { make } from './register-view.js';
import { mountPlatforms } from './platforms.js';
import { mountRestream } from './restream.js';
import { prefersH264 } from './restream-model.js';
import { publish } from './webrtc-client.js';
import moderateStrings from './strings/moderate.js';
import platformsStrings from './strings/platforms.js';
import restreamStrings from './strings/restream.js';
import presentStrings from './strings/present.js';
import liveStrings from './strings/live.js';
import playerStrings from './strings/player.js';

registerStrings(moderateStrings); // the link to the moderator console
registerStrings(restreamStrings);
registerStrings(platformsStrings);
registerStrings(presentStrings);
registerStrings(liveStrings);
registerStrings(playerStrings);

/** Waits before publishing again after a drop: 1 s, 2 s, 4 s, 8 s, then 15 s. */
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
/** A connection 'disconnected' for this long is given up and published again. */
const DISCONNECTED_GRACE_MS = 5000;
/** While the live channel is down, the issue list is read this often instead. */
const QUEUE_POLL_MS = 5000;
const COPIED_NOTICE_MS = 3000;
/** What the camera is asked for; the browser gives the nearest it can. */
const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

const byId = (id) => document.getElementById(id);
const meetingId = parseMeetingId(location.search);

let account = null;
let meeting = null;
let messageKey = 'common.loading';
let connectionState = 'connecting';
let broadcast = { on_air: false, viewers: 0 };
let controls = null;
/** The restream panel, once the account is known to manage the broadcast. */
let restream = null;
/** The platform comments panel, likewise. */
let platforms = null;

// Broadcasting
let allowed = null; // null until the stream key answered; then whether this account may broadcast
let streamKey = null; // {stream_key, whip_url, rotated_at}
let keyShown = false;
let obsError = '';
let obsStatus = '';
let obsStatusTimer = null;
let rotating = false;

// The camera and microphone
let localStream = null;
let cameras = [];
let microphones = [];
let cameraId = '';
let microphoneId = '';
let deviceErrorKey = null;
let cameraStarting = false;

// Publishing
let publishState = 'off'; // off | starting | connecting | on-air | reconnecting
let publishError = '';
let wantOnAir = false;
let session = null;
let attempt = 0;
let generation = 0;
let retryTimer = null;
let disconnectTimer = null;

window.__kezdesuPresenter = {
  get pc() {
    return session?.pc ?? null;
  },
  get state() {
    return publishState;
  },
};

// Questions
let liveState = null; // the live channel's state: the queue, pins, the question on air
let liveConnection = null;
let liveStatus = 'connecting'; // connecting | live | reconnecting | closed
let fallback = null; // a state made from the issue list, read while the channel is down
let fallbackLoadedAt = null;
let checkingSession = false;

// ---------------------------------------------------------------------------------------------
// Rendering

function renderAll() {
  const message = byId('page-message');
  message.hidden = messageKey === null;
  setText(message, messageKey ? t(messageKey) : '');
  byId('present').hidden = meeting === null;
  if (meeting === null) return;
  const title = pickLocalized(meeting.title);
  setText(byId('meeting-title'), title);
  document.title = `${t('present.pageTitle')} — ${title}`;
  renderConnection();
  renderTimer(meeting);
  controls?.render();
  renderBadge();
  renderStudio();
  renderObs();
  restream?.render();
  platforms?.render();
  renderQueue();
}

function renderConnection() {
  const indicator = byId('connection-state');
  indicator.hidden = connectionState === 'closed';
  indicator.dataset.state = connectionState;
  setText(indicator, connectionState === 'closed' ? '' : t(`connection.${connectionState}`));
}

function renderBadge() {
  const badge = byId('broadcast-badge');
  const onAir = broadcast.on_air === true;
  badge.dataset.onAir = onAir ? 'true' : 'false';
  badge.dataset.viewers = String(broadcast.viewers);
  setText(byId('broadcast-badge-text'), t(onAir ? 'broadcast.onAir' : 'broadcast.offAir'));
  const viewers = byId('broadcast-viewers');
  viewers.hidden = !onAir;
  setText(viewers, t('broadcast.watching', { n: formatNumber(broadcast.viewers) }));
}

function renderStudio() {
  const forbidden = allowed === false;
  byId('studio-forbidden').hidden = !forbidden;
  byId('studio-body').hidden = forbidden || allowed === null;

  fillSelect(byId('camera-select'), cameras, cameraId, 'present.cameraN');
  fillSelect(byId('microphone-select'), microphones, microphoneId, 'present.microphoneN');
  const busy = cameraStarting;
  byId('camera-select').disabled = busy || cameras.length === 0;
  byId('microphone-select').disabled = busy || microphones.length === 0;
  byId('camera-retry').hidden = localStream !== null || cameraStarting;
  setText(byId('device-error'), deviceErrorKey ? t(deviceErrorKey) : '');
  const previewOff = byId('preview-off');
  previewOff.hidden = localStream !== null;
  setText(previewOff, t(cameraStarting ? 'present.cameraStarting' : 'present.cameraOff'));

  const over = isOver(meeting);
  const active = publishState !== 'off';
  const goLive = byId('go-live');
  goLive.hidden = active;
  goLive.disabled = over || localStream === null || streamKey === null;
  const stop = byId('stop-live');
  stop.hidden = !active;
  const state = byId('publish-state');
  state.dataset.state = { 'on-air': 'live', reconnecting: 'reconnecting', off: 'closed' }[publishState] ?? 'connecting';
  state.dataset.publish = publishState;
  setText(state, t(`present.state.${publishState}`));
  setText(byId('publish-error'), publishError || (over && !active ? t('present.meetingOver') : ''));
}

function fillSelect(select, devices, selectedId, labelKey) {
  const wanted = devices.map((device, index) => [device.deviceId, device.label || t(labelKey, { n: index + 1 })]);
  const current = [...select.options].map((option) => [option.value, option.textContent]);
  if (JSON.stringify(wanted) !== JSON.stringify(current)) {
    select.replaceChildren(
      ...wanted.map(([value, label]) => {
        const option = document.createElement('option');
        option.value = value;
        option.textContent = label;
        return option;
      }),
    );
  }
  if (select.value !== selectedId && devices.some((device) => device.deviceId === selectedId)) {
    select.value = selectedId;
  }
}

function renderObs() {
  byId('obs').hidden = streamKey === null;
  if (streamKey === null) return;
  const url = byId('obs-url');
  if (url.value !== streamKey.whip_url) url.value = streamKey.whip_url;
  const key = byId('obs-key');
  if (key.value !== streamKey.stream_key) key.value = streamKey.stream_key;
  key.type = keyShown ? 'text' : 'password';
  const show = byId('obs-key-show');
  show.setAttribute('aria-pressed', keyShown ? 'true' : 'false');
  setText(show, t(keyShown ? 'obs.hide' : 'obs.show'));
  setText(
    byId('obs-rotated'),
    streamKey.rotated_at
      ? t('obs.rotatedAt', { time: formatMeetingTime(streamKey.rotated_at, meeting?.time_zone) })
      : '',
  );
  byId('obs-rotate').disabled = rotating;
  setText(byId('obs-status'), obsStatus);
  setText(byId('obs-error'), obsError);
}

/** What the queue shows: the live state while the channel is up, else the latest we have. */
function queueSource() {
  if (liveStatus === 'live') return liveState;
  if (fallback !== null) return fallback;
  return liveState?.connectedOnce ? liveState : null;
}

function renderQueueConnection() {
  const indicator = byId('queue-connection');
  indicator.dataset.state = liveStatus;
  setText(indicator, t(`live.connection.${liveStatus}`));
  const showUpdated = liveStatus !== 'live' && fallback !== null && fallbackLoadedAt !== null;
  setText(
    byId('queue-updated'),
    showUpdated
      ? t('present.queueUpdated', { time: formatMeetingTime(fallbackLoadedAt.toISOString(), meeting?.time_zone) })
      : '',
  );
}

function renderQueue() {
  if (meeting === null) return;
  renderQueueConnection();
  const onAirBox = byId('queue-on-air');
  const list = byId('queue');
  const empty = byId('queue-empty');
  const queue = queueSource();
  if (queue === null) {
    onAirBox.hidden = true;
    list.replaceChildren();
    empty.hidden = true;
    return;
  }
  const onAir = live.onAirQuestion(queue);
  onAirBox.hidden = onAir === null;
  if (onAir) {
    setText(byId('queue-on-air-text'), `${t('live.questions.number', { n: onAir.number })} ${questionText(onAir)}`);
    setText(byId('queue-on-air-votes'), t('live.questions.votes', { n: formatNumber(onAir.votes ?? 0) }));
  }
  const items = live.queueOrder(queue).map((number) => {
    const question = queue.questions.get(number);
    const item = make('li', 'question');
    item.dataset.question = String(number);
    const text = make('p', 'question__text');
    text.append(
      make('span', 'question__number', t('live.questions.number', { n: number })),
      ' ',
      make('span', 'question__body', questionText(question)),
    );
    const footer = make('div', 'question__footer');
    footer.append(
      make('span', 'question__votes', t('live.questions.votes', { n: formatNumber(question.votes ?? 0) })),
    );
    if (queue.pinned.includes(number)) footer.append(make('span', 'question__pinned', t('live.questions.pinned')));
    item.append(text, footer);
    return item;
  });
  list.replaceChildren(...items);
  empty.hidden = items.length > 0 || onAir !== null;
  setText(empty, t('live.questions.queueEmpty'));
}

function questionText(question) {
  return question.text ?? t('live.questions.untitled', { n: question.number });
}

// ---------------------------------------------------------------------------------------------
// The meeting and its events

function applyMeeting(next) {
  if (!next || typeof next !== 'object') return;
  const phaseChanged = meeting !== null && meeting.phase !== next.phase;
  if (next.broadcast && typeof next.broadcast === 'object') {
    broadcast = { on_air: next.broadcast.on_air === true, viewers: Number(next.broadcast.viewers) || 0 };
  }
  meeting = next;
  messageKey = null;
  restream?.applyMeeting(next);
  platforms?.applyMeeting(next);
  // An ended meeting has nothing more to show: end our broadcast with it.
  if (isOver(meeting) && wantOnAir) stopLive();
  renderAll();
  // The channel brings every change of the queue; read the list again only in its place.
  if (phaseChanged && liveStatus !== 'live') loadQueue();
}

function applyBroadcast(next) {
  broadcast = next;
  renderBadge();
}

function setConnection(state) {
  connectionState = state;
  if (meeting !== null) renderConnection();
}

// ---------------------------------------------------------------------------------------------
// The stream key and OBS settings

async function loadStreamKey() {
  try {
    streamKey = await api.get(`/api/meetings/${meetingId}/stream-key`);
    allowed = true;
  } catch (error) {
    if (error.status === 401) {
      goToSignIn();
      return;
    }
    if (error.status === 403) {
      allowed = false;
    } else {
      allowed = mayBroadcast(account, meeting);
      publishError = describeError(error);
    }
  }
  renderAll();
}

async function rotateKey() {
  if (!window.confirm(t('obs.confirmRotate'))) return;
  rotating = true;
  obsError = '';
  renderObs();
  try {
    streamKey = await api.post(`/api/meetings/${meetingId}/stream-key`);
    // Our broadcast goes on; ending it later needs the key the server knows now.
    if (session !== null) session.token = streamKey.stream_key;
    showObsStatus(t('obs.rotated'));
  } catch (error) {
    obsError = describeError(error);
  } finally {
    rotating = false;
    renderObs();
  }
}

function showObsStatus(text) {
  obsStatus = text;
  clearTimeout(obsStatusTimer);
  obsStatusTimer = setTimeout(() => {
    obsStatus = '';
    renderObs();
  }, COPIED_NOTICE_MS);
  renderObs();
}

async function copyField(inputId) {
  const input = byId(inputId);
  obsError = '';
  try {
    await navigator.clipboard.writeText(input.value);
    showObsStatus(t('obs.copied'));
  } catch {
    // No clipboard access (an insecure page, or refused): select it for the reader to copy.
    const type = input.type;
    input.type = 'text';
    input.focus();
    input.select();
    const copied = document.execCommand?.('copy') === true;
    input.type = type;
    if (copied) showObsStatus(t('obs.copied'));
    else obsError = t('obs.copyFailed');
    renderObs();
  }
}

// ---------------------------------------------------------------------------------------------
// The camera and microphone

function deviceErrorKeyOf(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'present.deviceDenied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'present.deviceMissing';
    case 'NotReadableError':
    case 'AbortError':
      return 'present.deviceBusy';
    default:
      return 'present.deviceFailed';
  }
}

function constraints() {
  return {
    video: cameraId ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: cameraId } } : { ...VIDEO_CONSTRAINTS },
    audio: microphoneId
      ? { deviceId: { exact: microphoneId }, echoCancellation: true, noiseSuppression: true }
      : { echoCancellation: true, noiseSuppression: true },
  };
}

/** (Re)starts the camera and microphone with the picked devices; an on-air stream follows. */
async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    deviceErrorKey = 'present.deviceUnsupported';
    renderStudio();
    return;
  }
  cameraStarting = true;
  deviceErrorKey = null;
  renderStudio();
  let stream = null;
  try {
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints());
    } catch (error) {
      // A remembered device may be gone: try once more with whatever the browser picks.
      if ((error?.name === 'OverconstrainedError' || error?.name === 'NotFoundError') && (cameraId || microphoneId)) {
        cameraId = '';
        microphoneId = '';
        stream = await navigator.mediaDevices.getUserMedia(constraints());
      } else {
        throw error;
      }
    }
  } catch (error) {
    deviceErrorKey = deviceErrorKeyOf(error);
    cameraStarting = false;
    renderStudio();
    return;
  }
  const old = localStream;
  localStream = stream;
  const preview = byId('preview');
  preview.srcObject = stream;
  preview.play?.().catch(() => {});
  cameraId = stream.getVideoTracks()[0]?.getSettings().deviceId ?? cameraId;
  microphoneId = stream.getAudioTracks()[0]?.getSettings().deviceId ?? microphoneId;
  if (session !== null) {
    try {
      await session.replaceStream(stream);
    } catch {
      restartPublishing(); // could not swap the tracks in place: publish anew with the new ones
    }
  }
  for (const track of old?.getTracks() ?? []) track.stop();
  cameraStarting = false;
  await refreshDevices();
  renderStudio();
}

async function refreshDevices() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    cameras = devices.filter((device) => device.kind === 'videoinput' && device.deviceId);
    microphones = devices.filter((device) => device.kind === 'audioinput' && device.deviceId);
  } catch {
    cameras = [];
    microphones = [];
  }
}

function onDevicePicked() {
  cameraId = byId('camera-select').value;
  microphoneId = byId('microphone-select').value;
  startCamera();
}

// ---------------------------------------------------------------------------------------------
// Publishing

function publishErrorText(error) {
  switch (error?.code) {
    case 'publisher_present':
      return t('present.error.publisherPresent');
    case 'not_open_for_broadcast':
      return t('present.error.notOpen');
    case 'live_channel_down':
      return t('present.error.channelDown');
    case 'network':
      return t('error.network');
    default:
      break;
  }
  if (error?.status === 401 || error?.status === 403) return t('present.error.keyRefused');
  return error?.detail || t('error.generic');
}

function clearTimers() {
  clearTimeout(retryTimer);
  retryTimer = null;
  clearTimeout(disconnectTimer);
  disconnectTimer = null;
}

/** Ends the current session, if any (DELETE on the server), and forgets late answers. */
function endSession() {
  generation += 1;
  clearTimers();
  const old = session;
  session = null;
  return old ? old.stop() : Promise.resolve();
}

async function goLive() {
  if (localStream === null || streamKey === null || isOver(meeting)) return;
  wantOnAir = true;
  attempt = 0;
  publishError = '';
  await startPublishing();
}

async function startPublishing(keyRefreshed = false) {
  await endSession();
  const mine = generation;
  if (!wantOnAir) return;
  publishState = attempt === 0 ? 'starting' : 'reconnecting';
  renderStudio();
  try {
    const started = await publish({
      url: `/api/meetings/${encodeURIComponent(meetingId)}/whip`,
      token: streamKey.stream_key,
      stream: localStream,
      onState: (state) => onPublishState(mine, state),
      // RTMP and HLS carry H.264: a VP8 camera would make the server encode the video again.
      preferVideoCodec: prefersH264(restream?.destinations() ?? [], streamKey.hls) ? 'video/H264' : null,
    });
    if (mine !== generation || !wantOnAir) {
      started.stop();
      return;
    }
    session = started;
    if (publishState !== 'on-air') publishState = attempt === 0 ? 'connecting' : 'reconnecting';
    renderStudio();
  } catch (error) {
    if (mine !== generation) return;
    if ((error.status === 401 || error.status === 403) && !keyRefreshed) {
      // The key may have been rotated on another screen: fetch the current one and try once more.
      try {
        streamKey = await api.get(`/api/meetings/${meetingId}/stream-key`);
        renderObs();
        if (mine === generation && wantOnAir) await startPublishing(true);
        return;
      } catch {
        // fall through to the error
      }
    }
    publishError = publishErrorText(error);
    // Waiting helps for a network error or a busy server, and when another publisher may be
    // our own session from before a drop that the server has not dropped yet.
    const ours = error.code === 'publisher_present' && attempt > 0;
    if (error.retryable || ours) {
      scheduleRetry(error.retryAfterSeconds);
    } else {
      wantOnAir = false;
      publishState = 'off';
      renderStudio();
    }
  }
}

function onPublishState(mine, state) {
  if (mine !== generation) return;
  if (state === 'connected') {
    attempt = 0;
    publishError = '';
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
    publishState = 'on-air';
    renderStudio();
  } else if (state === 'failed' || state === 'closed') {
    if (wantOnAir) scheduleRetry();
  } else if (state === 'disconnected') {
    publishState = 'reconnecting';
    renderStudio();
    clearTimeout(disconnectTimer);
    disconnectTimer = setTimeout(() => {
      if (mine === generation && wantOnAir) scheduleRetry();
    }, DISCONNECTED_GRACE_MS);
  }
}

function scheduleRetry(retryAfterSeconds = null) {
  endSession();
  if (!wantOnAir) return;
  const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
  attempt += 1;
  const hinted = Number(retryAfterSeconds) > 0 ? Math.min(Number(retryAfterSeconds) * 1000, 30000) : 0;
  const delay = Math.round(Math.max(base, hinted) * (0.8 + 0.4 * Math.random()));
  publishState = 'reconnecting';
  renderStudio();
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (wantOnAir) startPublishing();
  }, delay);
}

function restartPublishing() {
  if (!wantOnAir) return;
  attempt = Math.max(attempt, 1);
  startPublishing();
}

async function stopLive() {
  wantOnAir = false;
  attempt = 0;
  publishError = '';
  publishState = 'off';
  renderStudio();
  await endSession();
}

// ---------------------------------------------------------------------------------------------
// Questions

/** Joins the live channel with the session cookie and follows the queue on it. */
function followQueue() {
  liveState = live.createState();
  // The queue is redrawn at most once per animation frame, however fast the events come.
  const queueRenderer = frameRenderer(renderQueue, frameScheduler());
  liveConnection = new LiveConnection({
    meetingId,
    token: null, // the session cookie signs this page in
    snapshot: true, // every question, the pins and the one on air, in one message
    fromStart: true, // a server without snapshots: every event from the start of the log
    schedule: frameScheduler(),
    state: liveState,
    handlers: {
      status(status) {
        liveStatus = status;
        // Down: read the issue list at once, then every few seconds until the channel is back.
        if (status === 'reconnecting' || status === 'closed') loadQueue();
        renderQueue();
      },
      hello() {
        // The events from here on (the replay first) are newer than any list read meanwhile.
        fallback = null;
        fallbackLoadedAt = null;
        renderQueue();
      },
      events(changes) {
        if (changes.questions) queueRenderer.request();
      },
      reset: renderQueue,
      disconnected({ welcomed }) {
        // Refused at the handshake (a 401 shows as a bare close): perhaps signed out meanwhile.
        if (!welcomed) checkSession();
      },
      authFailed() {
        // The cookie was not taken (a proxy in front that rewrites the Host?): the issue list
        // stands in for the rest of the visit.
        checkSession();
      },
    },
  });
  liveConnection.start();
  window.addEventListener('online', () => liveConnection?.retryNow());
}

/** Signed out (the session expired, or ended elsewhere): stop joining, and sign in again. */
async function checkSession() {
  if (checkingSession) return;
  checkingSession = true;
  try {
    if ((await fetchSession()) === null) {
      liveConnection?.stop();
      // Going to sign in now would cut a broadcast; the issue list serves until it ends.
      if (!wantOnAir) goToSignIn();
    }
  } catch {
    // Unknown: keep trying to join.
  } finally {
    checkingSession = false;
  }
}

async function loadQueue() {
  try {
    const list = await api.get(`/api/meetings/${meetingId}/issues`);
    if (liveStatus === 'live') return; // the channel came back meanwhile, and is newer
    const next = live.createState();
    live.seedIssues(next, list?.issues);
    // The list does not say which questions are pinned: keep the pins last heard live.
    next.pinned = liveState ? liveState.pinned.slice() : [];
    fallback = next;
    fallbackLoadedAt = new Date();
    renderQueue();
  } catch {
    // Shown as last updated at the previous time; the next poll tries again.
  }
}

function pollQueue() {
  if (liveStatus === 'live') return;
  if (document.visibilityState !== 'visible' || meeting === null) return;
  // An ended meeting's queue changes no more once read.
  if (isOver(meeting) && fallback !== null) return;
  loadQueue();
}

// ---------------------------------------------------------------------------------------------
// Start

function goToSignIn() {
  location.replace(`/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`);
}

async function start() {
  setUpLanguageSwitch(renderAll);
  renderAll();
  if (meetingId === null) {
    messageKey = 'meeting.notFound';
    renderAll();
    return;
  }
  byId('meeting-link').href = `/meetings/${meetingId}`;
  try {
    account = (await fetchSession())?.account ?? null;
  } catch (error) {
    messageKey = error.status === 403 ? 'present.staffOnly' : 'common.loadFailed';
    renderAll();
    return;
  }
  if (account === null) {
    goToSignIn();
    return;
  }
  // Moderators and admins get a way to the moderator console.
  byId('moderate-link').href = `/moderate.html?meeting=${meetingId}`;
  byId('moderate-link-row').hidden = !['moderator', 'admin'].includes(account.role);
  try {
    applyMeeting(await api.get(`/api/meetings/${meetingId}`));
  } catch (error) {
    messageKey = error.status === 404 ? 'meeting.notFound' : 'common.loadFailed';
    renderAll();
    return;
  }

  controls = mountPhaseControls({
    meetingId,
    getMeeting: () => meeting,
    getAccount: () => account,
    onMeeting: applyMeeting,
  });
  byId('camera-select').addEventListener('change', onDevicePicked);
  byId('microphone-select').addEventListener('change', onDevicePicked);
  byId('camera-retry').addEventListener('click', startCamera);
  byId('go-live').addEventListener('click', goLive);
  byId('stop-live').addEventListener('click', stopLive);
  byId('obs-key-show').addEventListener('click', () => {
    keyShown = !keyShown;
    renderObs();
  });
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', () => copyField(button.dataset.copy));
  }
  byId('obs-rotate').addEventListener('click', rotateKey);
  navigator.mediaDevices?.addEventListener?.('devicechange', async () => {
    await refreshDevices();
    renderStudio();
  });
  // Closing the page while on air would cut the broadcast: ask first, and end it cleanly if so.
  window.addEventListener('beforeunload', (event) => {
    if (wantOnAir) event.preventDefault();
  });
  window.addEventListener('pagehide', () => {
    wantOnAir = false;
    endSession();
  });

  subscribeMeetingEvents({
    meetingId,
    onMeeting: applyMeeting,
    onBroadcast: applyBroadcast,
    onRestream: (status) => restream?.applyStatus(status),
    onPlatform: (status) => platforms?.applyStatus(status),
    onConnection: setConnection,
    isOver: () => meeting?.phase === 'ended',
  });
  setInterval(() => renderTimer(meeting), TIMER_TICK_MS);
  followQueue();
  setInterval(pollQueue, QUEUE_POLL_MS);

  await loadStreamKey();
  if (allowed) {
    restream = mountRestream({ meetingId, section: byId('restream'), editable: true });
    restream.applyMeeting(meeting);
    // The accounts the meeting's comments are read with are its akim's: the signed-in akim's
    // own, or, for an admin, the meeting's akim's.
    const akimId = account.role === 'akim' ? account.id : meeting.akim_account_id;
    platforms = mountPlatforms({ meetingId, akimId, section: byId('platforms'), getMeeting: () => meeting });
    platforms.applyMeeting(meeting);
    startCamera();
  }
}

start();
