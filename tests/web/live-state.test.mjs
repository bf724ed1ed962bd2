// The web page's live-channel state (web/js/live-state.js), fed the same protocol fixtures the
// Rust tests check against the server (tests/fixtures/protocol/). Run with `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyEvents, applyHello, applyAck, authorStanding, commentCounts, commentsNewestFirst, commentStatus, createState,
  findComment, newChanges, pinMove, queueOrder, onAirQuestion, resumeSeq, applySnapshot, applyAuthenticated,
} from '../../web/js/live-state.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'protocol');
const fixture = (kind, name) => JSON.parse(readFileSync(join(fixtures, kind, `${name}.json`), 'utf8'));

const by = { account: 3, name: 'Moderator' };
let seq = 0;
const at = '2026-03-02T05:05:00Z';
const event = (body) => ({ seq: ++seq, at, ...body });

test('every event fixture is understood and applied once', () => {
  const state = createState({ viewerId: 41 });
  applyHello(state, fixture('server', 'hello'));
  assert.equal(state.viewers, fixture('server', 'hello').viewers, 'the count comes with the hello');
  const files = readdirSync(join(fixtures, 'events')).filter((name) => name.endsWith('.json'));
  assert.ok(files.length >= 20);
  const events = files.map((name) => JSON.parse(readFileSync(join(fixtures, 'events', name), 'utf8')))
    .sort((a, b) => a.seq - b.seq);
  const first = applyEvents(state, events);
  assert.ok(first.applied > 0);
  const again = applyEvents(state, events);
  assert.equal(again.applied, 0, 'a replayed event is never applied twice');
  assert.equal(resumeSeq(state), Math.max(...events.map((e) => e.seq)));
});

test('a comment is hidden with its reason, restored, and promoted into a question', () => {
  seq = 0;
  const state = createState({ viewerId: 41 });
  applyHello(state, { ...fixture('server', 'hello'), last_seq: 0 });
  applyEvents(state, [
    event({ type: 'comment_posted', comment: 1, author: 41, author_name: 'Айгүл', client_id: 'c1', text: 'Дорога?', held: false }),
    event({ type: 'comment_posted', comment: 2, author: 42, author_name: 'Ерлан', client_id: 'c1', text: 'Садик', held: false }),
  ]);
  applyAck(state, { type: 'ack', client_id: 'c1', seq: 1, comment: 1 });
  applyEvents(state, [event({ type: 'comment_hidden', comment: 1, reason: 'spam', by })]);
  assert.equal(commentStatus(findComment(state, 1)).kind, 'hidden');
  assert.equal(commentStatus(findComment(state, 1)).reason, 'spam');
  applyEvents(state, [
    event({ type: 'comment_restored', comment: 1, author: 41, author_name: 'Айгүл', text: 'Дорога?', by }),
    event({ type: 'question_created', question: 1, text: 'Ремонт дороги', sources: [1], by }),
  ]);
  const status = commentStatus(findComment(state, 1));
  assert.equal(status.kind, 'promoted');
  assert.equal(status.question, 1);
});

test('the queue is pinned first, then by votes, and the question on air is apart', () => {
  seq = 0;
  const state = createState({ viewerId: 50 });
  applyHello(state, { ...fixture('server', 'hello'), last_seq: 0 });
  const posts = [1, 2, 3].map((n) => event({ type: 'comment_posted', comment: n, author: 40 + n, author_name: `v${n}`, client_id: 'c', text: `q${n}`, held: false }));
  const questions = [1, 2, 3].map((n) => event({ type: 'question_created', question: n, text: `q${n}`, sources: [n], by }));
  applyEvents(state, [...posts, ...questions]);
  applyEvents(state, [event({ type: 'votes_changed', question: 2, votes: 5 }), event({ type: 'votes_changed', question: 3, votes: 2 })]);
  assert.deepEqual(queueOrder(state), [2, 3, 1]);
  applyEvents(state, [event({ type: 'queue_reordered', pinned: [1], by })]);
  assert.deepEqual(queueOrder(state), [1, 2, 3]);
  applyEvents(state, [event({ type: 'question_on_air', question: 2, replaces: null, by })]);
  assert.equal(onAirQuestion(state)?.number, 2);
  assert.deepEqual(queueOrder(state), [1, 3]);
});

test('moderators: every comment newest first, held and hidden ones included, and authors\' standing', () => {
  seq = 0;
  const state = createState({ maxComments: 1000 });
  applyHello(state, { ...fixture('server', 'hello'), you: { role: 'moderator', account_id: 3 }, last_seq: 0 });
  applyEvents(state, [
    event({ type: 'comment_posted', comment: 1, author: 41, author_name: 'Айгүл', client_id: 'a', text: 'Дорога?', held: false }),
    event({ type: 'comment_posted', comment: 2, author: 42, author_name: 'Ерлан', client_id: 'b', text: 'Купите!', held: false }),
    event({ type: 'comment_posted', comment: 3, author: 43, author_name: 'Дана', client_id: 'c', text: 'Первый', held: true }),
  ]);
  const hidden = applyEvents(state, [event({ type: 'comment_hidden', comment: 2, reason: 'spam', by })]);
  assert.deepEqual([...hidden.updated], [2]);
  assert.deepEqual(commentsNewestFirst(state).map((c) => c.number), [3, 2, 1]);
  assert.deepEqual(commentsNewestFirst(state, 'held').map((c) => c.number), [3]);
  assert.deepEqual(commentsNewestFirst(state, 'all', 2).map((c) => c.number), [3, 2]);
  assert.equal(findComment(state, 2).hiddenBy, 'Moderator');
  assert.deepEqual(commentCounts(state), { all: 3, visible: 1, held: 1, hidden: 1, promoted: 0 });
  applyEvents(state, [event({ type: 'comment_released', comment: 3, author: 43, author_name: 'Дана', text: 'Первый', by })]);
  assert.equal(findComment(state, 3).state, 'visible');

  const now = Date.parse('2026-03-02T05:10:00Z');
  const standing = applyEvents(state, [
    event({ type: 'author_timed_out', viewer: 41, minutes: 10, until: '2026-03-02T05:15:00Z', by }),
    event({ type: 'author_banned', viewer: 42, by }),
  ]);
  assert.deepEqual([...standing.authors].sort(), [41, 42]);
  assert.deepEqual(authorStanding(state, 41, now), { banned: false, timedOutUntil: '2026-03-02T05:15:00Z' });
  assert.deepEqual(authorStanding(state, 41, now + 10 * 60 * 1000), { banned: false, timedOutUntil: null });
  assert.equal(authorStanding(state, 42, now).banned, true);
  assert.equal(state.authors.get(42).name, 'Ерлан');
  applyEvents(state, [event({ type: 'author_unbanned', viewer: 42, by })]);
  assert.equal(authorStanding(state, 42, now).banned, false);
  assert.equal(authorStanding(state, 99, now).banned, false, 'an unknown author is in good standing');
  assert.equal(newChanges().authors.size, 0);
});

test('queue moves give the pin position that moves a question one place', () => {
  seq = 0;
  const state = createState();
  applyHello(state, { ...fixture('server', 'hello'), last_seq: 0 });
  const numbers = [1, 2, 3, 4, 5];
  applyEvents(state, [
    ...numbers.map((n) => event({ type: 'comment_posted', comment: n, author: 40 + n, author_name: `v${n}`, client_id: 'c', text: `q${n}`, held: false })),
    ...numbers.map((n) => event({ type: 'question_created', question: n, text: `q${n}`, sources: [n], by })),
  ]);
  // What the server does with a pin command (server/core/src/live: remove, insert at min(position, len)).
  const apply = (number, move) => {
    const found = pinMove(state, number, move);
    assert.ok(found, `${move} ${number} is possible`);
    const pinned = state.pinned.filter((q) => q !== number);
    if (found.position !== null) pinned.splice(Math.min(found.position, pinned.length), 0, number);
    applyEvents(state, [event({ type: 'queue_reordered', pinned, by })]);
    return queueOrder(state);
  };
  assert.deepEqual(queueOrder(state), [1, 2, 3, 4, 5]);
  assert.equal(pinMove(state, 1, 'up'), null, 'the first cannot go up');
  assert.equal(pinMove(state, 3, 'down'), null, 'an unpinned question is ordered by votes');
  assert.equal(pinMove(state, 3, 'unpin'), null);
  assert.deepEqual(apply(4, 'pin'), [4, 1, 2, 3, 5]);
  assert.deepEqual(apply(2, 'pin'), [4, 2, 1, 3, 5], 'pinned in the order pinned');
  assert.equal(pinMove(state, 2, 'pin'), null);
  assert.deepEqual(apply(2, 'up'), [2, 4, 1, 3, 5]);
  assert.deepEqual(apply(2, 'down'), [4, 2, 1, 3, 5]);
  assert.deepEqual(apply(1, 'up'), [4, 1, 2, 3, 5], 'the first unpinned goes above the last pinned');
  assert.deepEqual(apply(5, 'up'), [4, 1, 2, 5, 3], 'a lower one is pinned below the pinned ones');
  // The question on air stays in the server's pinned list; positions count it.
  applyEvents(state, [event({ type: 'question_on_air', question: 1, replaces: null, by })]);
  assert.deepEqual(queueOrder(state), [4, 2, 5, 3]);
  assert.deepEqual(state.pinned, [4, 1, 2, 5]);
  assert.deepEqual(apply(5, 'up'), [4, 5, 2, 3]);
  assert.deepEqual(apply(4, 'down'), [5, 4, 2, 3]);
  assert.deepEqual(apply(4, 'down'), [5, 2, 4, 3]);
  assert.deepEqual(apply(4, 'down'), [5, 2, 3, 4], 'the last pinned moved down is unpinned: among the others by age');
  assert.equal(state.pinned.includes(4), false);
  assert.equal(pinMove(state, 1, 'up'), null, 'the question on air is not in the queue');
  assert.deepEqual(apply(5, 'unpin'), [2, 3, 4, 5]);
});

test('a comment from a platform keeps its source: posted, hidden, restored, released', () => {
  seq = 0;
  const state = createState({ maxComments: 1000 });
  applyHello(state, { ...fixture('server', 'hello'), you: { role: 'moderator', account_id: 3 }, last_seq: 0 });
  const source = { platform: 'youtube', external_id: 'LCC.abc', url: 'https://www.youtube.com/watch?v=vid1', author_id: 'UC1' };
  applyEvents(state, [
    event({ type: 'comment_posted', comment: 1, author: 60, author_name: 'Aigul on YouTube', text: 'Where is the bus?', held: false, source }),
    event({ type: 'comment_posted', comment: 2, author: 41, author_name: 'Ерлан', client_id: 'b', text: 'Here', held: false }),
    event({ type: 'comment_posted', comment: 3, author: 61, author_name: 'Dana', text: 'First', held: true, source: { platform: 'telegram', external_id: '-100:5' } }),
  ]);
  assert.deepEqual(findComment(state, 1).source, source);
  const fromPlatform = fixture('events', 'comment_posted.from_platform');
  applyEvents(state, [{ ...fromPlatform, seq: ++seq }]);
  assert.deepEqual(findComment(state, fromPlatform.comment).source, fromPlatform.source, 'the protocol fixture’s source');
  assert.notEqual(findComment(state, 1).source, source, 'a copy, not the event’s object');
  assert.equal(findComment(state, 2).source, null, 'written on the page');
  applyEvents(state, [event({ type: 'comment_hidden', comment: 1, reason: 'spam', by })]);
  assert.equal(findComment(state, 1).source.platform, 'youtube', 'hidden, still from YouTube');
  applyEvents(state, [
    event({ type: 'comment_restored', comment: 1, author: 60, author_name: 'Aigul on YouTube', text: 'Where is the bus?', by, source }),
    event({ type: 'comment_released', comment: 3, author: 61, author_name: 'Dana', text: 'First', by, source: { platform: 'telegram', external_id: '-100:5' } }),
  ]);
  assert.equal(findComment(state, 1).state, 'visible');
  assert.equal(findComment(state, 1).source.author_id, 'UC1');
  assert.equal(findComment(state, 3).source.platform, 'telegram');

  // A viewer who never saw the held comment gets it, with its source, when it is released.
  seq = 0;
  const viewer = createState({ viewerId: 99 });
  applyHello(viewer, { ...fixture('server', 'hello'), last_seq: 0 });
  applyEvents(viewer, [
    event({ type: 'redacted' }),
    event({ type: 'comment_released', comment: 1, author: 61, author_name: 'Dana', text: 'First', by, source: { platform: 'vk', external_id: '-1_2', url: 'https://vk.com/wall-1_2?reply=3' } }),
  ]);
  assert.deepEqual(findComment(viewer, 1).source, { platform: 'vk', external_id: '-1_2', url: 'https://vk.com/wall-1_2?reply=3' });
  // Garbage is not a source.
  applyEvents(viewer, [event({ type: 'comment_posted', comment: 2, author: 5, author_name: 'x', text: 'y', held: false, source: 'youtube' })]);
  assert.equal(findComment(viewer, 2).source, null);
});

// ---- Snapshots (docs/protocol.md: `?snapshot=true`), from tests/web/fixtures/snapshot.*.json

const snapshotFixture = (name) =>
  JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', `snapshot.${name}.json`), 'utf8'));

test("a moderator's snapshot: held comments, pins, the question on air, settings and authors", () => {
  const state = createState({ maxComments: 5000 });
  applyHello(state, { ...fixture('server', 'hello'), you: { role: 'moderator', account_id: 3 }, last_seq: 120 });
  const changes = applySnapshot(state, snapshotFixture('moderator'));
  assert.equal(changes.snapshot, true);
  assert.equal(state.lastSeq, 120, 'resumes after the snapshot');
  assert.equal(resumeSeq(state), 120);
  assert.equal(state.slowModeSeconds, 30);
  assert.equal(state.holdFirstComments, true);
  assert.deepEqual([...state.comments.keys()], [9, 40, 41, 42, 43], 'in number order');
  assert.equal(newestOf(state), 43);
  assert.deepEqual(commentsNewestFirst(state, 'held').map((c) => c.number), [43, 40]);
  const flagged = findComment(state, 40);
  assert.deepEqual(flagged.flagged, { rule: 'links', action: 'hold', reason: 'link' });
  assert.equal(flagged.at, '2026-12-07T05:10:00Z');
  assert.equal(findComment(state, 41).reason, 'spam');
  assert.equal(findComment(state, 9).question, 2);
  assert.equal(findComment(state, 42).source.platform, 'youtube');
  assert.deepEqual(findComment(state, 42).similarTo, { question: 2 });
  assert.equal(findComment(state, 42).likelyQuestion, true);
  assert.deepEqual(commentCounts(state), { all: 5, visible: 1, held: 2, hidden: 1, promoted: 1 });
  assert.equal(onAirQuestion(state).number, 2);
  assert.deepEqual(queueOrder(state), [3, 4], 'pinned first; the one on air and the closed ones are out');
  assert.deepEqual(pinMove(state, 4, 'pin'), { position: 1 }, 'just after the last pinned one shown (3)');
  assert.equal(state.questions.get(1).outcome, 'В мае.');
  assert.equal(state.questions.get(5).outcome, 'Не по теме');
  assert.equal(state.questions.get(6).into, 2);
  assert.equal(authorStanding(state, 9, Date.parse('2026-12-07T06:00:00Z')).banned, true);
  assert.equal(authorStanding(state, 10, Date.parse('2026-12-07T06:00:00Z')).timedOutUntil, '2030-01-01T00:00:00Z');

  // The events after it apply on top; one at or before its seq is a duplicate.
  const later = applyEvents(state, [
    { seq: 119, at, type: 'comment_posted', comment: 99, author: 1, author_name: 'x', client_id: 'a', text: 'old', held: false },
    { seq: 121, at, type: 'comment_released', comment: 40, author: 7, author_name: 'Айгүл', text: 'Посмотрите http://spam.example', by },
    { seq: 122, at, type: 'question_on_air', question: 3, replaces: 2, by },
  ]);
  assert.equal(later.applied, 2);
  assert.equal(findComment(state, 99), null);
  assert.equal(findComment(state, 40).state, 'visible');
  assert.equal(onAirQuestion(state).number, 3);
});

test("a viewer's snapshot: my held and hidden comments with the rule's reason, my votes", () => {
  const state = createState({ viewerId: 41 });
  applyHello(state, fixture('server', 'hello'));
  applySnapshot(state, snapshotFixture('viewer'));
  assert.deepEqual([...state.mine.keys()], [10, 11]);
  assert.deepEqual(commentStatus(findComment(state, 10)), {
    kind: 'held',
    reason: null,
    question: null,
    flagged: { rule: 'links', action: 'hold', reason: 'link' },
  });
  assert.equal(commentStatus(findComment(state, 11)).kind, 'hidden');
  assert.equal(commentStatus(findComment(state, 11)).reason, 'blocked_term');
  assert.deepEqual([...state.myVotes], [1]);
  assert.deepEqual(queueOrder(state), [1]);
  assert.equal(state.lastSeq, 57);
});

test('a comment an automatic rule hid at once is hidden with its reason; one it held says why', () => {
  const state = createState({ viewerId: 41 });
  applyHello(state, { ...fixture('server', 'hello'), last_seq: 0 });
  applyEvents(state, [
    { seq: 1, at, type: 'comment_posted', comment: 1, author: 41, author_name: 'Айгүл', client_id: 'c1', text: 'http://x', held: true,
      flagged: { rule: 'links', action: 'hold', reason: 'link' } },
    { seq: 2, at, type: 'comment_posted', comment: 2, author: 41, author_name: 'Айгүл', client_id: 'c2', text: 'bad', held: true,
      flagged: { rule: 'blocked_terms', action: 'hide', reason: 'blocked_term' } },
  ]);
  assert.equal(findComment(state, 1).state, 'held');
  assert.equal(findComment(state, 1).flagged.reason, 'link');
  assert.equal(findComment(state, 2).state, 'hidden');
  assert.equal(findComment(state, 2).reason, 'blocked_term');
});

test('a reader who joins on the open socket becomes that viewer', () => {
  const state = createState();
  applyHello(state, { ...fixture('server', 'hello'), you: { role: 'reader' }, last_seq: 0 });
  applyEvents(state, [
    { seq: 1, at, type: 'comment_posted', comment: 1, author: 41, author_name: 'Айгүл', client_id: '', text: 'hi', held: false },
  ]);
  assert.equal(state.role, 'reader');
  const changes = applyAuthenticated(state, { type: 'authenticated', you: { role: 'viewer', viewer_id: 41, display_name: 'Айгүл' } });
  assert.equal(state.role, 'viewer');
  assert.equal(state.viewerId, 41);
  assert.equal(changes.me, true);
  assert.deepEqual([...state.mine.keys()], [1], 'what I wrote in another tab is mine');
});

function newestOf(state) {
  return state.newestComment;
}

test("the protocol's own snapshot and authenticated fixtures fold in", () => {
  const state = createState({ maxComments: 5000 });
  applyHello(state, { ...fixture('server', 'hello'), you: { role: 'reader' }, last_seq: 120 });
  applySnapshot(state, fixture('server', 'snapshot'));
  assert.deepEqual([...state.comments.keys()], [12, 13, 14]);
  assert.equal(findComment(state, 13).flagged.reason, 'link');
  assert.equal(findComment(state, 14).source.platform, 'youtube');
  assert.equal(onAirQuestion(state).number, 2);
  assert.deepEqual(queueOrder(state), [3]);
  assert.equal(state.holdFirstComments, true);
  applyAuthenticated(state, fixture('server', 'authenticated'));
  assert.equal(state.role, fixture('server', 'authenticated').you.role);
});
