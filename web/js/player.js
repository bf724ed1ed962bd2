// Owns the broadcast player on the meeting page: plays the meeting by WHEP while the server says
// it is on air, retries with backoff while the publisher is not there yet (503 not_on_air) or the
// connection drops, stops when it goes off air or the meeting ends, and shows the
// "on air / N watching" badge and the unmute button.
//
// Two modes, shown as text under the video: `webrtc` (WHEP, live) and `hls` (the server's HLS
// rendition, a few seconds behind). The player switches to HLS, for the rest of the page's life,
// when WHEP cannot work from here and the server offers HLS: the WHEP request fails (no answer,
// 5xx, too_many_viewers; not 503 not_on_air, which only means "not yet"), or the connection
// fails or is not up within 10 s (what a network blocking WebRTC's UDP looks like). `?hls=1`
// starts in HLS. hls.js (web/vendor/hls.js) is loaded, only then, by import(); a browser without
// Media Source Extensions (an older iPhone's Safari) plays HLS itself.
//
// Test hook: `window.__kezdesuPlayer` is {pc, state, session, mode, hls}: the current
// RTCPeerConnection (null when not playing by WebRTC), the player's state, the mode, and the
// hls.js instance (null unless hls.js plays), so a browser test can read getStats(). It is
// read-only information and changes nothing when read.

import { formatNumber, registerStrings, t } from './i18n.js';
import { setText } from './meeting-view.js';
import playerStrings from './strings/player.js';
import { play } from './webrtc-client.js';

registerStrings(playerStrings);

/** Waits before trying again: 1 s, 2 s, 4 s, 8 s, then 15 s, each with some jitter. */
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
/** A connection 'disconnected' for this long is given up and started again. */
const DISCONNECTED_GRACE_MS = 5000;
/** A WebRTC connection not up within this is taken for a network that blocks WebRTC. */
const WEBRTC_CONNECT_LIMIT_MS = 10000;
/** hls.js, relative to this module, and its worker (a file, since the CSP forbids blob: code). */
const HLS_MODULE = '../vendor/hls.js/hls.light.min.mjs';
const HLS_WORKER = '/vendor/hls.js/hls.worker.js';
const HLS_TYPE = 'application/vnd.apple.mpegurl';

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
    mode: document.createElement('p'),
  };
  el.mode.id = 'player-mode';
  el.mode.className = 'player__status player__mode';
  el.status.after(el.mode);

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
  let connectTimer = null;
  let mode = new URLSearchParams(window.location.search).get('hls') === '1' ? 'hls' : 'webrtc';
  let hlsPath = null; // the playlist's path as the meeting's JSON names it
  let hlsPlayer = null; // the hls.js instance while it plays

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
    get mode() {
      return mode;
    },
    get hls() {
      return hlsPlayer;
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
    el.root.dataset.mode = mode;
    setText(el.status, statusText());
    setText(el.mode, wanted() ? t(`player.mode.${mode}`) : '');
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
    clearTimeout(connectTimer);
    connectTimer = null;
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

  function playlistUrl() {
    return hlsPath ?? `/api/meetings/${encodeURIComponent(meetingId)}/hls/index.m3u8`;
  }

  /** Whether the server offers HLS of this meeting: its playlist, or 503 while it starts. */
  async function hlsOffered() {
    try {
      const response = await fetch(playlistUrl(), { cache: 'no-store' });
      return response.ok || response.status === 503;
    } catch {
      return false;
    }
  }

  /** WebRTC failed in a way HLS may get around: HLS if the server offers it, else retry. */
  async function fallBackOr(nextState, retryAfterSeconds = null) {
    stopSession();
    const mine = generation;
    starting = true;
    const offered = wanted() && (await hlsOffered());
    if (mine !== generation) return;
    starting = false;
    if (offered && wanted()) {
      switchToHls();
    } else {
      retryLater(nextState, retryAfterSeconds);
    }
  }

  /** From WebRTC to HLS, for the rest of the page's life: the network will not change. */
  function switchToHls() {
    mode = 'hls';
    attempt = 0;
    start();
  }

  async function start() {
    if (mode === 'hls') return startHls();
    stopSession();
    const mine = generation;
    starting = true;
    setState(attempt === 0 ? 'connecting' : state);
    // Not up in time: HLS if the server offers it; otherwise this attempt goes on as before.
    connectTimer = setTimeout(async () => {
      connectTimer = null;
      if (mine !== generation || state === 'playing' || !(await hlsOffered())) return;
      if (mine === generation && state !== 'playing' && wanted()) switchToHls();
    }, WEBRTC_CONNECT_LIMIT_MS);
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
      if (next === 'waiting') retryLater(next, error.retryAfterSeconds);
      else fallBackOr(next, error.retryAfterSeconds);
    } finally {
      if (mine === generation) starting = false;
    }
  }

  async function startHls() {
    stopSession();
    const mine = generation;
    starting = true;
    setState(attempt === 0 ? 'connecting' : state);
    try {
      let release = () => {};
      // hls.js wherever Media Source Extensions are (the same player everywhere: Chromium now
      // answers canPlayType(HLS) too); the browser's own HLS where they are not (an iPhone's
      // Safari before iOS 17.1).
      const mediaSource = 'MediaSource' in window || 'ManagedMediaSource' in window;
      if (!mediaSource && el.video.canPlayType(HLS_TYPE)) {
        el.video.src = playlistUrl();
      } else {
        const { default: Hls } = await import(HLS_MODULE);
        if (mine !== generation) return;
        if (!Hls.isSupported()) throw new Error('this browser has no Media Source Extensions');
        const hls = new Hls({ workerPath: HLS_WORKER });
        hls.on(Hls.Events.ERROR, (_event, data) => {
          if (data.fatal && mine === generation) retryLater('retrying');
        });
        hls.loadSource(playlistUrl());
        hls.attachMedia(el.video);
        hlsPlayer = hls;
        release = () => {
          hls.destroy();
          if (hlsPlayer === hls) hlsPlayer = null;
        };
      }
      session = {
        pc: null,
        stop() {
          release();
          el.video.removeAttribute('src');
          el.video.load();
        },
      };
      el.video.play?.().catch(() => {}); // muted autoplay is allowed; a blocked one waits for a tap
    } catch {
      if (mine === generation) retryLater('retrying');
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
      clearTimeout(connectTimer);
      connectTimer = null;
      setState('playing');
    } else if (connection === 'failed') {
      fallBackOr('retrying');
    } else if (connection === 'closed') {
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
  // By HLS, playing is when the video plays; a failure of Safari's own HLS shows as an error.
  el.video.addEventListener('playing', () => {
    if (mode === 'hls' && session !== null) {
      attempt = 0;
      setState('playing');
    }
  });
  el.video.addEventListener('error', () => {
    if (mode === 'hls' && session !== null && hlsPlayer === null) retryLater('retrying');
  });
  // Tell the server at once when the reader leaves, so the viewer count stays true.
  window.addEventListener('pagehide', () => stopSession());

  render();

  return {
    setMeeting(meeting) {
      if (!meeting) return;
      ended = meeting.phase === 'ended' || meeting.status === 'ended' || meeting.status === 'cancelled';
      // Only answers about the meeting carry it, not the event stream's snapshots: kept.
      if (typeof meeting.hls === 'string' && meeting.hls.startsWith('/')) hlsPath = meeting.hls;
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
