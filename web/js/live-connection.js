// Owns one meeting's live channel connection (docs/protocol.md), shared by the discussion panel
// (live.js: a reader with no token, who may join later and sign in on the open socket), the
// moderator console and the presenter page (signed in by cookie): the WebSocket, signing in,
// folding what arrives into a live-state.js state, and reconnecting after a drop, resuming with
// `since`. Events frames are folded in batches (at most once per animation frame on a page,
// frame-batch.js), so a flood costs one update and one redraw per frame. No DOM: the pages
// render from the handlers, and tests run it in Node with a stand-in WebSocket.

import { FrameBatch, immediateScheduler } from './frame-batch.js';
import * as live from './live-state.js';

/** Waits before reconnecting: 1 s, 2 s, 5 s, then 10 s, each with a little jitter. */
const BACKOFF_MS = [1000, 2000, 5000, 10000];
/** Close codes after which reconnecting with the same credentials cannot help. */
const AUTH_REFUSED_CLOSE_CODES = new Set([4001, 4003]);

/**
 * The channel's address; the token never goes in it (it is sent in the `auth` message).
 * Without `since`, `snapshot` asks for the log folded into one `snapshot` message.
 */
export function liveUrl(place, meetingId, since = null, { snapshot = false } = {}) {
  const scheme = place.protocol === 'https:' ? 'wss' : 'ws';
  const base = `${scheme}://${place.host}/api/meetings/${encodeURIComponent(meetingId)}/live`;
  if (since != null) return `${base}?since=${encodeURIComponent(since)}`;
  return snapshot ? `${base}?snapshot=true` : base;
}

/**
 * One meeting's live channel: connects, signs in, applies events to `state` (dropping any seq
 * already seen) and reconnects after a drop, resuming with `since`.
 *
 * `token`: sent in an `{"type":"auth"}` message once open. `null` sends none: a page of this
 * server signed in by cookie is signed in by its session cookie on the handshake, and anyone
 * else reads as a `reader` until `authenticate(token)` (after joining) signs in on the open
 * socket.
 *
 * `snapshot`: on first joining (and when starting over), ask for the log folded into one
 * `snapshot` message (`?snapshot=true`): settings, every question, the latest comments (for
 * moderators every held one), at no cost however long the meeting has run. Resume from the last
 * event applied after a drop.
 *
 * `fromStart`: ask for the whole log (`since=0`) on first joining rather than the recent
 * history (a server without snapshots), and resume from the last event applied. Otherwise
 * resume from `live.resumeSeq` (never before the head at the first hello).
 *
 * `schedule`: when to fold the events frames received (frame-batch.js's frameScheduler on a
 * page: once per animation frame); by default at once.
 *
 * `handlers` (all optional): status(s) with s in connecting | live | reconnecting | closed;
 * hello(message, resumed); events(changes) for each batch of events, or a snapshot
 * (`changes.snapshot`); authenticated(message, changes) when `authenticate` was taken;
 * viewers(count); answer(message) for ack, done and error; platform(status) for a platform comment reader's state (staff connections only);
 * disconnected({welcomed, code}) after every close (`welcomed`: a hello had come on it;
 * a handshake refused over HTTP, such as a 401, is a close without one); reset() when the
 * server's log is not the one we followed; authFailed(code) when the server refused who we
 * are (no reconnect then).
 */
export class LiveConnection {
  constructor({
    meetingId,
    token = null,
    state,
    fromStart = false,
    snapshot = false,
    schedule = immediateScheduler(),
    handlers = {},
    WebSocketImpl = globalThis.WebSocket,
    place = globalThis.location,
    timers = globalThis,
    random = Math.random,
  }) {
    Object.assign(this, { meetingId, token, state, fromStart, snapshot, handlers, WebSocketImpl, place, timers, random });
    this.socket = null;
    this.welcomed = false; // a hello came on this socket
    this.ready = false; // after hello (and the token's answer, if one was sent): commands may be sent
    this.authPending = false; // an auth message is waiting for its answer
    this.batch = new FrameBatch({ flush: (frames) => this.applyFrames(frames), schedule });
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.status = 'closed';
    this.refused = null;
    this.restartFresh = false;
    this.askedSnapshot = false;
    this.snapshotRefused = false;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.clearTimer();
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    this.welcomed = false;
    this.batch.clear();
    if (socket) socket.close(1000, 'leaving');
    this.setStatus('closed');
  }

  /**
   * Signs in as `token`'s participant (a reader who just joined): on the open socket at once,
   * or on the next one. `handlers.authenticated` follows the server's answer.
   */
  authenticate(token) {
    this.token = token;
    if (!this.socket || !this.welcomed) return; // the open handler sends it
    this.authPending = true;
    this.ready = false;
    try {
      this.socket.send(JSON.stringify({ type: 'auth', token }));
    } catch {
      // The close that follows reconnects, and the next socket signs in.
    }
  }

  /** Reconnects now if waiting to (the browser came back online). */
  retryNow() {
    if (this.stopped || this.timer === null) return;
    this.clearTimer();
    this.open();
  }

  /** Sends a message once the channel is ready; returns whether it was sent. */
  send(message) {
    if (!this.ready || !this.socket) return false;
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.handlers.status?.(status);
  }

  clearTimer() {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Whether this attempt asks for a snapshot. A server without snapshots refuses the handshake
   * (400): after such a refusal every other attempt goes without, as a page did before them.
   */
  wantsSnapshot() {
    return this.snapshot && (!this.snapshotRefused || this.attempt % 2 === 0);
  }

  /** The `since` to connect with: null for the recent history (or the snapshot). */
  since() {
    if (!this.state.connectedOnce) return this.fromStart && !this.wantsSnapshot() ? 0 : null;
    return this.fromStart || this.snapshot ? this.state.lastSeq : live.resumeSeq(this.state);
  }

  open() {
    const since = this.since();
    this.batch.flushNow();
    this.setStatus(this.state.connectedOnce || this.attempt > 0 ? 'reconnecting' : 'connecting');
    this.refused = null;
    let socket;
    try {
      this.askedSnapshot = since == null && this.wantsSnapshot();
      socket = new this.WebSocketImpl(liveUrl(this.place, this.meetingId, since, { snapshot: this.askedSnapshot }));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.ready = false;
    this.welcomed = false;
    this.authPending = false;
    socket.addEventListener('open', () => {
      if (socket === this.socket && this.token != null) {
        this.authPending = true;
        socket.send(JSON.stringify({ type: 'auth', token: this.token }));
      }
    });
    socket.addEventListener('message', (event) => {
      if (socket === this.socket) this.receive(event.data);
    });
    // An 'error' is always followed by 'close', which is where reconnecting is decided.
    socket.addEventListener('close', (event) => {
      if (socket === this.socket) this.closed(event);
    });
  }

  receive(data) {
    if (typeof data !== 'string') return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object') return;
    if (message.type === 'events') {
      this.batch.push(message.events);
      return;
    }
    // A count and a platform's status mean the same before or after the events waiting for the
    // next frame, so they do not draw that batch out of turn, outside the frame.
    if (message.type === 'viewers') {
      this.state.viewers = Number(message.count) || 0;
      this.handlers.viewers?.(this.state.viewers);
      return;
    }
    if (message.type === 'platform') {
      if (message.status && typeof message.status === 'object') this.handlers.platform?.(message.status);
      return;
    }
    // Anything else comes after the events received before it.
    this.batch.flushNow();
    switch (message.type) {
      case 'hello': {
        const resumed = live.applyHello(this.state, message);
        this.welcomed = true;
        // A server that took the token before its hello answers with the participant's hello;
        // one that reads first says `reader` here and `authenticated` next.
        if (this.authPending && message.you?.role && message.you.role !== 'reader') this.authPending = false;
        this.ready = !this.authPending;
        this.attempt = 0;
        this.setStatus('live');
        this.handlers.hello?.(message, resumed);
        break;
      }
      case 'snapshot':
        this.handlers.events?.(live.applySnapshot(this.state, message));
        break;
      case 'authenticated': {
        this.authPending = false;
        this.ready = this.welcomed;
        const changes = live.applyAuthenticated(this.state, message);
        this.handlers.authenticated?.(message, changes);
        break;
      }
      case 'error':
        if ((!this.welcomed || this.authPending) && (message.code === 'unauthenticated' || message.code === 'forbidden')) {
          this.refused = message.code; // the close (4001 or 4003) follows
        } else if (message.code === 'since_ahead') {
          // The server's log is behind ours (restored from a backup?): what we hold is not its
          // history. Start over without `since`, as a fresh reader.
          live.resetLog(this.state);
          this.handlers.reset?.();
          this.restartFresh = true;
          this.socket?.close(1000, 'starting over');
        }
        this.handlers.answer?.(message);
        break;
      case 'ack':
      case 'done':
        this.handlers.answer?.(message);
        break;
      default:
        break; // a newer server's message this page does not know yet
    }
  }

  /** Folds a batch of events frames into the state, and tells the page once. */
  applyFrames(frames) {
    const changes = live.newChanges();
    for (const events of frames) live.applyEvents(this.state, events, changes);
    // applyEvents works `replay` out per call: for the batch, all of it was before the hello.
    changes.replay = changes.applied > 0 && this.state.lastSeq <= this.state.helloSeq;
    this.handlers.events?.(changes);
  }

  closed(event) {
    this.batch.flushNow();
    const welcomed = this.welcomed;
    if (!welcomed && this.askedSnapshot) this.snapshotRefused = true;
    this.socket = null;
    this.ready = false;
    this.welcomed = false;
    this.authPending = false;
    this.handlers.disconnected?.({ welcomed, code: event?.code ?? null });
    if (this.stopped) return;
    if (AUTH_REFUSED_CLOSE_CODES.has(event?.code) || this.refused) {
      this.stopped = true;
      this.setStatus('closed');
      this.handlers.authFailed?.(event?.code ?? null);
      return;
    }
    if (this.restartFresh) {
      this.restartFresh = false;
      this.open();
      return;
    }
    // 4000 (fell behind), 1001 (server going away), 4008 (idle) and any unexpected drop:
    // reconnect and resume from the last seq seen.
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.setStatus('reconnecting');
    // Jitter, so that thousands of viewers dropped at once do not all come back at once.
    const delay = Math.round(base * (0.8 + 0.4 * this.random()));
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delay);
  }
}
