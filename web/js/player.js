// Owns the broadcast player on the meeting page: plays the meeting by WHEP while the server says
// it is on air, retries with backoff while the publisher is not there yet (503 not_on_air) or the
// connection drops, stops when it goes off air or the meeting ends, and shows the
// "on air / N watching" badge and the unmute button.
//
// Test hook: `window.__kezdesuPlayer` is {pc, state, session}: the current RTCPeerConnection
// (null when not playing), the player's state, so a browser test can read getStats(). It is
// read-only information and changes nothing when read.

import { formatNumber, t } from './i18n.js';
import { setText } from './meeting-view.js';
import { play } from './webrtc-client.js';

/** Waits before trying again: 1 s, 2 s, 4 s, 8 s, then 15 s, each with some jitter. */
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
/** A connection 'disconnected' for this long is given up and started again. */
const DISCONNECTED_GRACE_MS = 5000;

const byId = (id) => document.getElementById(id);

/**
 * Mounts the player (#broadcast in meeting.html). Call `setMeeting(meeting)` with every copy of
 * the meeting and `setBroadcast({on_air, viewers})` with every `broadcast` event.
 */
export function mountPlayer({ meetingId }) {
  const el = {
    root: byId('broadcast'),
    video: byId('player'),
    badge: byId('broadcast-badge'),
    badgeText: byId('broadcast-badge-text'),
    viewers: byId('broadcast-viewers'),
    status: byId('player-status'),
    unmute: byId('player-unmute'),
    offAir: byId('player-off-air'),
  };

  let onAir = false;
  let viewers = 0;
  let ended = false;
  let state = 'idle'; // idle | connecting | playing | waiting | full | retrying | ended
  let session = null;
  let attempt = 0;
  let retryTimer = null;
  let disconnectTimer = null;
  let generation = 0; // bumps on every start/stop, so late answers of an old try are dropped
  let starting = false; // an offer is out and its answer not yet in

  const hook = {
    get pc() {
      return session?.pc ?? null;
    },
    get session() {
      return session;
    },
    get state() {
      return state;
    },
  };
  window.__kezdesuPlayer = hook;

  function wanted() {
    return onAir && !ended;
  }

  function render() {
    el.root.hidden = false;
    el.badge.dataset.onAir = onAir && !ended ? 'true' : 'false';
    el.badge.dataset.viewers = String(viewers);
    setText(el.badgeText, t(onAir && !ended ? 'broadcast.onAir' : 'broadcast.offAir'));
    el.viewers.hidden = !(onAir && !ended);
    setText(el.viewers, t('broadcast.watching', { n: formatNumber(viewers) }));
    el.root.dataset.state = state;
    setText(el.status, statusText());
    el.offAir.hidden = state === 'playing';
    setText(el.offAir, offAirText());
    el.unmute.hidden = state !== 'playing';
    el.unmute.setAttribute('aria-pressed', el.video.muted ? 'false' : 'true');
    setText(el.unmute, t(el.video.muted ? 'player.unmute' : 'player.mute'));
  }

  function statusText() {
    switch (state) {
      case 'connecting':
        return t('player.connecting');
      case 'waiting':
        return t('player.waiting');
      case 'retrying':
        return t('player.retrying');
      case 'full':
        return t('player.full');
      default:
        return '';
    }
  }

  function offAirText() {
    if (ended) return t('player.ended');
    if (!onAir) return t('player.offAir');
    return t('player.connecting');
  }

  function setState(next) {
    state = next;
    render();
  }

  function clearTimers() {
    clearTimeout(retryTimer);
    retryTimer = null;
    clearTimeout(disconnectTimer);
    disconnectTimer = null;
  }

  function stopSession() {
    generation += 1;
    starting = false;
    clearTimers();
    const old = session;
    session = null;
    old?.stop();
    el.video.srcObject = null;
  }

  async function start() {
    stopSession();
    const mine = generation;
    starting = true;
    setState(attempt === 0 ? 'connecting' : state);
    try {
      const started = await play({
        url: `/api/meetings/${encodeURIComponent(meetingId)}/whep`,
        video: el.video,
        onState: (connection) => onConnectionState(mine, connection),
      });
      if (mine !== generation) {
        started.stop(); // stopped or restarted meanwhile
        return;
      }
      session = started;
      el.video.play?.().catch(() => {}); // muted autoplay is allowed; a blocked one waits for a tap
    } catch (error) {
      if (mine !== generation) return;
      // 503 not_on_air: the publisher has not connected yet (or just left); too_many_viewers: the
      // server is full for now; anything else is retried the same way while the server still
      // says on air.
      const next = { not_on_air: 'waiting', too_many_viewers: 'full' }[error.code] ?? 'retrying';
      retryLater(next, error.retryAfterSeconds);
    } finally {
      if (mine === generation) starting = false;
    }
  }

  function onConnectionState(mine, connection) {
    if (mine !== generation) return;
    if (connection === 'connected') {
      attempt = 0;
      clearTimeout(disconnectTimer);
      disconnectTimer = null;
      setState('playing');
    } else if (connection === 'failed' || connection === 'closed') {
      retryLater('retrying');
    } else if (connection === 'disconnected') {
      // Often comes back by itself (a network change); give it a moment.
      clearTimeout(disconnectTimer);
      disconnectTimer = setTimeout(() => {
        if (mine === generation) retryLater('retrying');
      }, DISCONNECTED_GRACE_MS);
    }
  }

  function retryLater(nextState, retryAfterSeconds = null) {
    stopSession();
    if (!wanted()) {
      setState(ended ? 'ended' : 'idle');
      return;
    }
    const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt += 1;
    const hinted = Number(retryAfterSeconds) > 0 ? Math.min(Number(retryAfterSeconds) * 1000, 30000) : 0;
    const delay = Math.round(Math.max(base, hinted) * (0.8 + 0.4 * Math.random()));
    setState(nextState);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (wanted()) start();
    }, delay);
  }

  function update() {
    if (wanted()) {
      if (session === null && retryTimer === null && !starting) {
        attempt = 0;
        start();
      }
    } else if (session !== null || retryTimer !== null || state !== 'idle') {
      stopSession();
      attempt = 0;
      state = ended ? 'ended' : 'idle';
    }
    render();
  }

  el.unmute.addEventListener('click', () => {
    el.video.muted = !el.video.muted;
    if (!el.video.muted) el.video.play?.().catch(() => {});
    render();
  });
  el.video.addEventListener('volumechange', render);
  // Tell the server at once when the reader leaves, so the viewer count stays true.
  window.addEventListener('pagehide', () => stopSession());

  render();

  return {
    setMeeting(meeting) {
      if (!meeting) return;
      ended = meeting.phase === 'ended' || meeting.status === 'ended' || meeting.status === 'cancelled';
      if (meeting.broadcast && typeof meeting.broadcast === 'object') {
        onAir = meeting.broadcast.on_air === true;
        viewers = Number(meeting.broadcast.viewers) || 0;
      }
      update();
    },
    setBroadcast(broadcast) {
      onAir = broadcast.on_air === true;
      viewers = Number(broadcast.viewers) || 0;
      update();
    },
    relabel: render,
  };
}
