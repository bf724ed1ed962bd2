// The web page's live-channel state (web/js/live-state.js), fed the same protocol fixtures the
// Rust tests check against the server (tests/fixtures/protocol/). Run with `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  applyEvents, applyHello, applyAck, commentStatus, createState, findComment, queueOrder, onAirQuestion, resumeSeq,
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
