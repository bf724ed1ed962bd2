// The console's near-duplicate clusters and likely questions (web/js/clusters-model.js), fed
// through the live state (web/js/live-state.js) with events shaped as docs/protocol.md and the
// issue-18 additions (`similar_to`, `likely_question`, `flagged`) say.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_PROMOTE_COMMENTS,
  arrangeLikely,
  clusterList,
  createClusterIndex,
  flaggedOf,
  isLikelyQuestion,
  mergeTargets,
  openQuestionFor,
  promoteCommand,
  similarToOf,
  standingAutoModeration,
  updateClusters,
} from '../../web/js/clusters-model.js';
import * as live from '../../web/js/live-state.js';

const ROAD = 'Когда отремонтируют дорогу на улице Абая?';

function moderatorState() {
  const state = live.createState({ maxComments: 5000 });
  live.applyHello(state, { type: 'hello', you: { role: 'moderator' }, last_seq: 0, hide_reasons: ['spam'] });
  return state;
}

/** Feeds events with consecutive seq numbers; returns the changes record. */
function feed(state, events) {
  let seq = state.lastSeq;
  return live.applyEvents(
    state,
    events.map((event) => ({ at: '2026-12-07T10:00:00Z', ...event, seq: (seq += 1) })),
  );
}

function posted(comment, text, extra = {}) {
  return { type: 'comment_posted', comment, author: 100 + comment, author_name: `Viewer ${comment}`, client_id: `c${comment}`, text, held: false, ...extra };
}

test('comments sharing a key, with the key comment, form one cluster, newest first', () => {
  const state = moderatorState();
  const index = createClusterIndex();
  const changes = feed(state, [
    posted(1, ROAD, { likely_question: true }),
    posted(2, 'Привет всем'),
    posted(3, 'Когда отремонтируют дорогу на ул. Абая???', { similar_to: { comment: 1 }, likely_question: true }),
    posted(4, 'когда отремонтируют дорогу на улице Абая', { similar_to: { comment: 1 } }),
  ]);
  updateClusters(index, state, changes);
  const [cluster, ...rest] = clusterList(index, state);
  assert.equal(rest.length, 0, 'a lone comment is no cluster');
  assert.equal(cluster.key, 'c:1');
  assert.deepEqual(cluster.members, [4, 3, 1]);
  assert.equal(cluster.count, 3);
  assert.equal(cluster.label, 'когда отремонтируют дорогу на улице Абая', 'the newest text');
  assert.equal(cluster.keyQuestion, null);
  assert.deepEqual(promoteCommand(cluster), { type: 'promote', comments: [1, 3, 4] });
  assert.deepEqual(promoteCommand(cluster, { text: '  ' }), { type: 'promote', comments: [1, 3, 4] }, 'blank text is left out');
  assert.deepEqual(promoteCommand(cluster, { text: ROAD }), { type: 'promote', comments: [1, 3, 4], text: ROAD });
});

test('hidden and promoted comments leave the cluster; held ones stay but cannot be promoted', () => {
  const state = moderatorState();
  const index = createClusterIndex();
  updateClusters(
    index,
    state,
    feed(state, [
      posted(1, ROAD),
      posted(2, ROAD, { similar_to: { comment: 1 } }),
      posted(3, ROAD, { similar_to: { comment: 1 }, held: true }),
      posted(4, ROAD, { similar_to: { comment: 1 } }),
    ]),
  );
  let [cluster] = clusterList(index, state);
  assert.deepEqual(cluster.members, [4, 3, 2, 1]);
  assert.deepEqual(cluster.held, [3]);
  assert.deepEqual(promoteCommand(cluster).comments, [1, 2, 4], 'held members are released first');

  updateClusters(index, state, feed(state, [{ type: 'comment_hidden', comment: 4, reason: 'spam', by: { account: 1, name: 'M' } }]));
  [cluster] = clusterList(index, state);
  assert.deepEqual(cluster.members, [3, 2, 1]);

  updateClusters(index, state, feed(state, [{ type: 'comment_released', comment: 3, author: 103, author_name: 'Viewer 3', text: ROAD, by: { account: 1, name: 'M' } }]));
  [cluster] = clusterList(index, state);
  assert.deepEqual(cluster.held, []);
  assert.deepEqual(cluster.visible, [3, 2, 1]);

  // Promoted into question 1: the cluster is gone (nothing left in it).
  updateClusters(index, state, feed(state, [{ type: 'question_created', question: 1, text: ROAD, sources: [1, 2, 3], by: { account: 1, name: 'M' } }]));
  assert.deepEqual(clusterList(index, state), []);

  // A latecomer like comment 1 joins its question: offered to be merged into question 1.
  updateClusters(index, state, feed(state, [posted(5, ROAD, { similar_to: { comment: 1 } })]));
  [cluster] = clusterList(index, state);
  assert.equal(cluster.key, 'c:1');
  assert.deepEqual(cluster.members, [5]);
  assert.equal(cluster.keyQuestion, 1, 'the question comment 1 went into');
  assert.deepEqual(promoteCommand(cluster, { into: 1 }), { type: 'promote', comments: [5], into: 1 });
  assert.deepEqual(promoteCommand(cluster, { into: 1, text: 'ignored' }), { type: 'promote', comments: [5], into: 1 });
});

test('a cluster keyed by an open question is shown from its first comment, and follows merges', () => {
  const state = moderatorState();
  const index = createClusterIndex();
  updateClusters(
    index,
    state,
    feed(state, [
      posted(1, ROAD),
      { type: 'question_created', question: 1, text: ROAD, sources: [1], by: { account: 1, name: 'M' } },
      posted(2, 'Где будет остановка?'),
      { type: 'question_created', question: 2, text: 'Где будет остановка?', sources: [2], by: { account: 1, name: 'M' } },
      posted(3, 'Дорога на Абая когда?', { similar_to: { question: 1 } }),
    ]),
  );
  let [cluster] = clusterList(index, state);
  assert.equal(cluster.key, 'q:1');
  assert.equal(cluster.keyQuestion, 1);
  assert.equal(cluster.keyQuestionText, ROAD);
  assert.deepEqual(
    mergeTargets(cluster, live.openQuestions(state)).map((question) => question.number),
    [1, 2],
    'the key question first',
  );

  // Question 1 merged into 2: the cluster now belongs with 2.
  updateClusters(index, state, feed(state, [{ type: 'question_merged', question: 1, into: 2, sources: [1, 2], votes: 0 }]));
  [cluster] = clusterList(index, state);
  assert.equal(cluster.keyQuestion, 2);
  assert.equal(openQuestionFor(state, 1).number, 2);

  // Question 2 answered: no open question any more, and one comment is no cluster.
  updateClusters(index, state, feed(state, [{ type: 'question_answered', question: 2, summary: 'Летом', by: { account: 1, name: 'M' } }]));
  assert.deepEqual(clusterList(index, state), []);
  assert.equal(openQuestionFor(state, 1), null);
});

test('clusters come newest activity first, bounded, and the index follows dropped comments', () => {
  const state = live.createState({ maxComments: 6 });
  live.applyHello(state, { type: 'hello', you: { role: 'moderator' }, last_seq: 0 });
  const index = createClusterIndex();
  updateClusters(
    index,
    state,
    feed(state, [
      posted(1, 'A'),
      posted(2, 'B'),
      posted(3, 'A.', { similar_to: { comment: 1 } }),
      posted(4, 'B.', { similar_to: { comment: 2 } }),
    ]),
  );
  assert.deepEqual(clusterList(index, state).map((cluster) => cluster.key), ['c:2', 'c:1']);
  updateClusters(index, state, feed(state, [posted(5, 'A!', { similar_to: { comment: 1 } })]));
  assert.deepEqual(clusterList(index, state).map((cluster) => cluster.key), ['c:1', 'c:2']);
  assert.deepEqual(clusterList(index, state, { limit: 1 }).map((cluster) => cluster.key), ['c:1']);
  // Three more comments push 1 and 2 out of the list (cap 6).
  const changes = feed(state, [posted(6, 'x'), posted(7, 'y'), posted(8, 'z')]);
  assert.deepEqual(changes.removed, [1, 2]);
  updateClusters(index, state, changes);
  const left = clusterList(index, state);
  assert.deepEqual(left.map((cluster) => [cluster.key, cluster.members]), [['c:1', [5, 3]]], 'c:2 keeps only 4');
  // A snapshot's changes (or none) build the index again from the state.
  state.comments.get(5).similarTo = null;
  assert.equal(updateClusters(index, state, { snapshot: true, added: [], updated: new Set(), removed: [] }), true);
  assert.deepEqual(clusterList(index, state), [], 'rebuilt from the state as it is');
  state.comments.get(5).similarTo = { comment: 1 };
  updateClusters(index, state, null);
  // The index built from scratch agrees with the one kept up to date.
  const fresh = createClusterIndex();
  updateClusters(fresh, state, null);
  assert.deepEqual(clusterList(fresh, state), clusterList(index, state));
});

test('the incremental index agrees with a rebuild over a long random run', () => {
  const state = moderatorState();
  const index = createClusterIndex();
  let random = 42;
  const next = (n) => {
    random = (random * 1103515245 + 12345) % 2147483648;
    return random % n;
  };
  let comments = 0;
  let questions = 0;
  for (let round = 0; round < 300; round += 1) {
    const events = [];
    for (let i = 0; i < 5; i += 1) {
      const roll = next(10);
      if (roll < 6 || comments === 0) {
        comments += 1;
        const similar = comments > 1 && next(3) > 0 ? { comment: 1 + next(Math.min(comments - 1, 8)) } : undefined;
        events.push(posted(comments, `text ${comments}`, { similar_to: similar, held: next(5) === 0 }));
      } else if (roll === 6) {
        events.push({ type: 'comment_hidden', comment: 1 + next(comments), reason: 'spam', by: { account: 1, name: 'M' } });
      } else if (roll === 7) {
        const number = 1 + next(comments);
        events.push({ type: 'comment_released', comment: number, author: 100 + number, author_name: 'V', text: `text ${number}` });
      } else {
        questions += 1;
        events.push({ type: 'question_created', question: questions, text: `q${questions}`, sources: [1 + next(comments)], by: { account: 1, name: 'M' } });
      }
    }
    updateClusters(index, state, feed(state, events));
    if (round % 50 === 49) {
      const fresh = createClusterIndex();
      updateClusters(fresh, state, null);
      assert.deepEqual(clusterList(index, state), clusterList(fresh, state), `round ${round}`);
    }
  }
});

test('a few thousand comments are indexed and listed quickly', () => {
  const state = moderatorState();
  const index = createClusterIndex();
  const events = [];
  for (let n = 1; n <= 4000; n += 1) {
    events.push(posted(n, `text ${n}`, n % 4 === 0 ? {} : { similar_to: { comment: n - (n % 4) || 4 } }));
  }
  const started = performance.now();
  updateClusters(index, state, feed(state, events));
  const all = clusterList(index, state, { limit: 20 });
  assert.equal(all.length, 20);
  // One more frame: a new member of one cluster only rebuilds that cluster.
  updateClusters(index, state, feed(state, [posted(4001, 'again', { similar_to: { comment: 8 } })]));
  assert.equal(index.dirty.size, 1);
  assert.equal(clusterList(index, state, { limit: 1 })[0].key, 'c:8');
  assert.ok(performance.now() - started < 1000, 'well within a frame budget per update');
});

test('likely questions first, or only them', () => {
  const comments = [
    { number: 5, likelyQuestion: true },
    { number: 4 },
    { number: 3, likely_question: true },
    { number: 2 },
    { number: 1, likelyQuestion: true },
  ];
  assert.deepEqual(arrangeLikely(comments, 'all').map((c) => c.number), [5, 4, 3, 2, 1]);
  assert.deepEqual(arrangeLikely(comments, 'first').map((c) => c.number), [5, 3, 1, 4, 2]);
  assert.deepEqual(arrangeLikely(comments, 'only').map((c) => c.number), [5, 3, 1]);
  assert.equal(isLikelyQuestion({ likelyQuestion: false }), false);
  const state = moderatorState();
  feed(state, [posted(1, ROAD, { likely_question: true }), posted(2, 'Салем')]);
  assert.equal(isLikelyQuestion(live.findComment(state, 1)), true, 'the live state keeps the mark');
  assert.equal(isLikelyQuestion(live.findComment(state, 2)), false);
});

test("an automatic rule's decision stands until a moderator undoes it", () => {
  const state = moderatorState();
  feed(state, [
    posted(1, 'к.у.п.и.т.е дешево', { held: true, flagged: { rule: 'blocked_terms', action: 'hold', reason: 'blocked_term' } }),
    posted(2, 'смотрите bit.ly/xyz', { held: true, flagged: { rule: 'links', action: 'hide', reason: 'link' } }),
    posted(3, 'обычный', { similar_to: { nonsense: true } }),
  ]);
  const held = live.findComment(state, 1);
  const hidden = live.findComment(state, 2);
  assert.equal(held.state, 'held');
  assert.equal(hidden.state, 'hidden', 'a rule that hides leaves the comment hidden');
  assert.equal(hidden.reason, 'link');
  assert.deepEqual(standingAutoModeration(held), { rule: 'blocked_terms', action: 'hold', reason: 'blocked_term' });
  assert.deepEqual(standingAutoModeration(hidden), { rule: 'links', action: 'hide', reason: 'link' });
  assert.equal(standingAutoModeration(live.findComment(state, 3)), null);
  assert.equal(similarToOf(live.findComment(state, 3)), null, 'a malformed similar_to is ignored');
  assert.equal(flaggedOf({ flagged: { action: 'hold' } }), null, 'no rule, no flag');

  feed(state, [
    { type: 'comment_released', comment: 1, author: 101, author_name: 'Viewer 1', text: 'к.у.п.и.т.е дешево', by: { account: 1, name: 'M' } },
    { type: 'comment_restored', comment: 2, author: 102, author_name: 'Viewer 2', text: 'смотрите bit.ly/xyz', by: { account: 1, name: 'M' } },
  ]);
  assert.equal(standingAutoModeration(held), null, 'released');
  assert.equal(standingAutoModeration(hidden), null, 'restored');
  feed(state, [{ type: 'comment_hidden', comment: 2, reason: 'spam', by: { account: 1, name: 'M' } }]);
  assert.equal(standingAutoModeration(hidden), null, "hidden again: the moderator's doing");
});

test('at most 50 comments go into one promote', () => {
  const visible = Array.from({ length: 70 }, (_, i) => 70 - i);
  const message = promoteCommand({ visible });
  assert.equal(message.comments.length, MAX_PROMOTE_COMMENTS);
  assert.deepEqual(message.comments.slice(0, 3), [1, 2, 3], 'oldest first: the cluster leads with its first comment');
  assert.equal(promoteCommand({ visible: [] }), null);
});

test("the protocol's fixtures of issue 18 are read into the state and the marks", async () => {
  const { readFile } = await import('node:fs/promises');
  const fixture = async (name) =>
    JSON.parse(await readFile(new URL(`../fixtures/protocol/events/${name}.json`, import.meta.url), 'utf8'));
  const flagged = await fixture('comment_posted.flagged');
  const likely = await fixture('comment_posted.likely_question');
  const state = moderatorState();
  live.applyEvents(state, [flagged, likely]);
  const held = live.findComment(state, flagged.comment);
  assert.equal(held.state, 'held');
  assert.deepEqual(standingAutoModeration(held), flagged.flagged);
  assert.deepEqual(similarToOf(held), flagged.similar_to);
  const question = live.findComment(state, likely.comment);
  assert.equal(isLikelyQuestion(question), true);
  assert.deepEqual(similarToOf(question), likely.similar_to);
});
