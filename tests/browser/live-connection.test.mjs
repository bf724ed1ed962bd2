// Unit tests of web/js/live-connection.js in Node, with a stand-in WebSocket and timers: how it
// signs in (an auth message with a token, nothing with the page's cookie), which `since` it
// joins and resumes with, and what it does when the server refuses it. The real channel is
// presenter.test.mjs, in Chromium against the real server.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { LiveConnection, liveUrl } from '../../web/js/live-connection.js';
import { frameScheduler } from '../../web/js/frame-batch.js';
import { createState, queueOrder } from '../../web/js/live-state.js';

class FakeSocket extends EventTarget {
  static all = [];

  constructor(url) {
    super();
    this.url = new URL(url);
    this.sent = [];
    this.closedWith = null;
    FakeSocket.all.push(this);
  }

  static last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
  }

  // What the server does:

  opened() {
    this.dispatchEvent(new Event('open'));
  }

  receive(message) {
    const event = new Event('message');
    event.data = JSON.stringify(message);
    this.dispatchEvent(event);
  }

  dropped(code = 1006) {
    const event = new Event('close');
    event.code = code;
    this.dispatchEvent(event);
  }
}

class FakeTimers {
  constructor() {
    this.pending = new Map();
    this.next = 1;
  }

  setTimeout(callback, ms) {
    const id = this.next++;
    this.pending.set(id, { callback, ms });
    return id;
  }

  clearTimeout(id) {
    this.pending.delete(id);
  }

  /** Runs every timer due (there is at most one: the reconnect). */
  fire() {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const { callback } of due) callback();
    return due.length;
  }
}

const place = { protocol: 'http:', host: 'kezdesu.example:8080' };
const hello = (role, lastSeq, extra = {}) => ({
  type: 'hello',
  meeting_id: 7,
  meeting: { phase: 'qa' },
  you: { role, ...extra },
  last_seq: lastSeq,
  viewers: 3,
  max_comment_chars: 1000,
  hide_reasons: ['spam'],
});
const by = { account: 1, name: 'Admin' };
const at = '2026-03-02T05:05:00Z';
const question = (seq, number, text) => ({ seq, at, type: 'question_created', question: number, text, sources: [], by });

function connect(options) {
  const timers = new FakeTimers();
  const statuses = [];
  const seen = { disconnected: [], authFailed: [], hellos: 0, events: 0 };
  const state = createState();
  const connection = new LiveConnection({
    meetingId: 7,
    state,
    WebSocketImpl: FakeSocket,
    place,
    timers,
    random: () => 0.5,
    handlers: {
      status: (status) => statuses.push(status),
      hello: () => {
        seen.hellos += 1;
      },
      events: () => {
        seen.events += 1;
      },
      disconnected: (info) => seen.disconnected.push(info),
      authFailed: (code) => seen.authFailed.push(code),
    },
    ...options,
  });
  connection.start();
  return { connection, state, timers, statuses, seen };
}

describe('the live channel connection', () => {
  beforeEach(() => {
    FakeSocket.all = [];
  });

  test('the address never carries a token, only since', () => {
    assert.equal(liveUrl(place, 7), 'ws://kezdesu.example:8080/api/meetings/7/live');
    assert.equal(liveUrl({ protocol: 'https:', host: 'k.kz' }, 7, 12), 'wss://k.kz/api/meetings/7/live?since=12');
  });

  test('a viewer signs in with an auth message and resumes from the recent history head', () => {
    const { state, timers, statuses } = connect({ token: 'viewer-token' });
    const socket = FakeSocket.last();
    assert.equal(socket.url.search, '', 'first join: the recent history, no since, no token');
    socket.opened();
    assert.deepEqual(socket.sent, [{ type: 'auth', token: 'viewer-token' }]);
    socket.receive(hello('viewer', 40, { viewer_id: 9 }));
    assert.equal(state.role, 'viewer');
    socket.dropped();
    assert.equal(timers.fire(), 1, 'a reconnect is scheduled');
    assert.equal(FakeSocket.last().url.searchParams.get('since'), '40', 'not before the head at the first hello');
    assert.deepEqual(statuses, ['connecting', 'live', 'reconnecting']);
  });

  test("a staff page signed in by cookie sends no token and follows the whole log", () => {
    const { connection, state, timers, seen } = connect({ token: null, fromStart: true });
    const socket = FakeSocket.last();
    assert.equal(socket.url.searchParams.get('since'), '0', 'the whole log on first joining');
    assert.equal(socket.url.searchParams.has('token'), false);
    socket.opened();
    assert.deepEqual(socket.sent, [], 'no auth message: the session cookie signs it in');
    socket.receive(hello('admin', 5, { account_id: 1 }));
    assert.equal(connection.status, 'live');
    assert.equal(state.role, 'admin');
    socket.receive({ type: 'events', events: [question(1, 1, 'Roads'), question(2, 2, 'Schools')] });
    socket.receive({ type: 'events', events: [{ seq: 3, at, type: 'queue_reordered', pinned: [2], by }] });
    assert.deepEqual(queueOrder(state), [2, 1], 'pinned first, from the log');

    // Dropped in the middle of the replay: resume from the last event applied (3), not from the
    // head at hello (5), or events 4 and 5 would be lost.
    socket.dropped(4000);
    assert.deepEqual(seen.disconnected, [{ welcomed: true, code: 4000 }]);
    assert.equal(connection.status, 'reconnecting');
    timers.fire();
    const again = FakeSocket.last();
    assert.notEqual(again, socket);
    assert.equal(again.url.searchParams.get('since'), '3');
    again.opened();
    again.receive(hello('admin', 6, { account_id: 1 }));
    // The server replays after `since`; one already seen is dropped.
    again.receive({ type: 'events', events: [{ seq: 3, at, type: 'queue_reordered', pinned: [], by }] });
    again.receive({ type: 'events', events: [question(4, 3, 'Parks'), { seq: 5, at, type: 'question_on_air', question: 2, replaces: null, by }] });
    assert.deepEqual(queueOrder(state), [1, 3]);
    assert.equal(state.onAir, 2);
    assert.equal(seen.hellos, 2);
    assert.equal(seen.events, 4);
  });

  test('a handshake refused over HTTP is a close without a hello, and is retried', () => {
    const { timers, seen, connection } = connect({ token: null, fromStart: true });
    FakeSocket.last().dropped(1006);
    assert.deepEqual(seen.disconnected, [{ welcomed: false, code: 1006 }]);
    assert.equal(connection.status, 'reconnecting');
    timers.fire();
    assert.equal(FakeSocket.last().url.searchParams.get('since'), '0', 'still the whole log: nothing was seen');
  });

  test('an unauthenticated close stops reconnecting and says so', () => {
    const { timers, seen, connection } = connect({ token: null, fromStart: true });
    const socket = FakeSocket.last();
    socket.opened();
    socket.receive({ type: 'error', code: 'unauthenticated', message: 'send auth first' });
    socket.dropped(4001);
    assert.deepEqual(seen.authFailed, [4001]);
    assert.equal(connection.status, 'closed');
    assert.equal(timers.fire(), 0, 'no reconnect');
  });

  test('stopping closes the socket and schedules nothing', () => {
    const { connection, timers, seen } = connect({ token: null });
    const socket = FakeSocket.last();
    socket.opened();
    socket.receive(hello('akim', 0));
    connection.stop();
    assert.deepEqual(socket.closedWith, { code: 1000, reason: 'leaving' });
    socket.dropped(1000);
    assert.deepEqual(seen.disconnected, [], 'a stopped connection reports nothing more');
    assert.equal(timers.fire(), 0);
  });

  test('a console joins with a snapshot and resumes after it with since', () => {
    const { connection, state, timers, seen } = connect({ token: null, snapshot: true });
    const socket = FakeSocket.last();
    assert.equal(socket.url.search, '?snapshot=true');
    socket.opened();
    socket.receive(hello('moderator', 120, { account_id: 3 }));
    socket.receive({
      type: 'snapshot',
      seq: 120,
      pinned: [2],
      on_air: null,
      questions: [
        { question: 1, text: 'Roads', sources: [], votes: 5, state: 'queued' },
        { question: 2, text: 'Schools', sources: [], votes: 0, state: 'queued' },
      ],
      comments: [{ comment: 9, author: 4, author_name: 'A', text: 'held one', posted_at: at, seq: 99, state: 'held' }],
    });
    assert.equal(seen.events, 1, 'the snapshot is one update');
    assert.deepEqual(queueOrder(state), [2, 1]);
    assert.equal(state.comments.get(9).state, 'held');
    socket.receive({ type: 'events', events: [question(121, 3, 'Parks')] });
    socket.dropped(4000);
    timers.fire();
    assert.equal(FakeSocket.last().url.search, '?since=121', 'a drop resumes after the last event');
    assert.equal(connection.status, 'reconnecting');
  });

  test('a reader reads at once, then joins and signs in on the open socket', () => {
    const answers = [];
    const { connection, state, timers } = connect({
      token: null,
      snapshot: true,
      handlers: {
        answer: (message) => answers.push(message),
        authenticated: (message) => answers.push(message.type),
      },
    });
    const socket = FakeSocket.last();
    socket.opened();
    assert.deepEqual(socket.sent, [], 'no token: a reader');
    socket.receive(hello('reader', 10));
    assert.equal(state.role, 'reader');
    assert.equal(connection.ready, true);
    connection.authenticate('viewer-token');
    assert.deepEqual(socket.sent, [{ type: 'auth', token: 'viewer-token' }]);
    assert.equal(connection.send({ type: 'comment', client_id: 'a', text: 'x' }), false, 'not before the answer');
    socket.receive({ type: 'authenticated', you: { role: 'viewer', viewer_id: 41, display_name: 'Айгүл' } });
    assert.deepEqual(answers, ['authenticated']);
    assert.equal(state.role, 'viewer');
    assert.equal(state.viewerId, 41);
    assert.equal(connection.send({ type: 'comment', client_id: 'a', text: 'x' }), true);
    // After a drop the token signs the new socket in, resuming with since.
    socket.dropped(1006);
    timers.fire();
    const again = FakeSocket.last();
    again.opened();
    assert.deepEqual(again.sent, [{ type: 'auth', token: 'viewer-token' }]);
    again.receive(hello('reader', 10));
    assert.equal(connection.ready, false, 'waits for the answer to its auth');
    again.receive({ type: 'authenticated', you: { role: 'viewer', viewer_id: 41 } });
    assert.equal(connection.ready, true);
  });

  test('a refused auth on the open socket stops reconnecting', () => {
    const { connection, timers, seen } = connect({ token: null });
    const socket = FakeSocket.last();
    socket.opened();
    socket.receive(hello('reader', 0));
    connection.authenticate('expired');
    socket.receive({ type: 'error', code: 'unauthenticated', message: 'bad token' });
    socket.dropped(4001);
    assert.deepEqual(seen.authFailed, [4001]);
    assert.equal(timers.fire(), 0);
  });

  test('events frames are folded once per frame, and before any answer that follows them', () => {
    const frames = [];
    const schedule = frameScheduler({
      requestFrame: (callback) => frames.push(callback),
      cancelFrame: () => {},
      timers: { setTimeout: () => 0, clearTimeout: () => {} },
    });
    const updates = [];
    const { state } = connect({ token: null, schedule, handlers: { events: (changes) => updates.push(changes.applied) } });
    const socket = FakeSocket.last();
    socket.opened();
    socket.receive(hello('reader', 0));
    for (let seq = 1; seq <= 5; seq += 1) socket.receive({ type: 'events', events: [question(seq, seq, `Q${seq}`)] });
    assert.equal(state.lastSeq, 0, 'not folded yet');
    assert.equal(frames.length, 1);
    frames.shift()();
    assert.deepEqual(updates, [5], 'five frames, one update');
    socket.receive({ type: 'events', events: [question(6, 6, 'Q6')] });
    // A count means the same before or after the waiting events: they wait for their frame.
    socket.receive({ type: 'viewers', count: 9 });
    assert.equal(state.viewers, 9);
    assert.equal(state.lastSeq, 5, 'a count does not draw the batch out of turn');
    socket.receive({ type: 'done', request_id: 'r-1' });
    assert.equal(state.lastSeq, 6, 'folded before an answer that follows them');
  });

  test('a server without snapshots refuses the handshake: the next attempt joins as before', () => {
    const { timers } = connect({ token: null, snapshot: true, fromStart: true });
    assert.equal(FakeSocket.last().url.search, '?snapshot=true');
    FakeSocket.last().dropped(1006); // the 400 of a server that does not know the parameter
    timers.fire();
    assert.equal(FakeSocket.last().url.search, '?since=0', 'the whole log, as before snapshots');
    FakeSocket.last().dropped(1006);
    timers.fire();
    assert.equal(FakeSocket.last().url.search, '?snapshot=true', 'and the snapshot again the time after');
  });
});
