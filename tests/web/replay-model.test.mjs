// The replay's model (web/js/replay-model.js) with plain values: the recording's timeline, the
// discussion at any moment (forward and back), the phase bar and the questions' moments.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CHECKPOINT_EVERY,
  ReplayDiscussion,
  fileAt,
  formatPosition,
  instantAt,
  isShown,
  phaseBar,
  positionOf,
  questionMoments,
  timeline,
} from '../../web/js/replay-model.js';
import strings from '../../web/js/strings/replay.js';

const T0 = Date.parse('2026-03-02T05:00:00Z');
const iso = (seconds) => new Date(T0 + seconds * 1000).toISOString();

// Two on-air periods in one file: 0–6 s and 60–65.5 s of the meeting; a second file after.
const MANIFEST = {
  state: 'ready',
  files: [
    { number: 1, url: '/api/meetings/4/recording/1', duration_seconds: 11.5 },
    { number: 2, url: '/api/meetings/4/recording/2', duration_seconds: 4 },
  ],
  parts: [
    { number: 2, started_at: iso(60), duration_seconds: 5.5, file: 1, offset_seconds: 6 },
    { number: 1, started_at: iso(0), duration_seconds: 6, file: 1, offset_seconds: 0 },
    { number: 3, started_at: iso(100), duration_seconds: 4, file: 2, offset_seconds: 0 },
    { number: 4, started_at: iso(200), duration_seconds: null, file: null, offset_seconds: null },
  ],
};

const comment = (seq, seconds, number, text) => ({
  seq,
  at: iso(seconds),
  type: 'comment_posted',
  comment: number,
  author: 1,
  author_name: 'Айгүл',
  text,
});

describe('the replay timeline', () => {
  const line = timeline(MANIFEST);

  test('files play one after another, and parts without a file are left out', () => {
    assert.deepEqual(line.files.map((file) => [file.number, file.start, file.duration]), [[1, 0, 11.5], [2, 11.5, 4]]);
    assert.equal(line.duration, 15.5);
    assert.equal(line.parts.length, 3);
  });

  test('an instant maps to its place in the video; a pause maps to where the video resumes', () => {
    assert.equal(positionOf(line, T0 - 5000), 0, 'before the first period');
    assert.equal(positionOf(line, T0 + 3000), 3);
    assert.equal(positionOf(line, T0 + 30_000), 6, 'off air: the next period');
    assert.equal(positionOf(line, T0 + 62_000), 8);
    assert.equal(positionOf(line, T0 + 101_000), 12.5, 'the second file');
    assert.equal(positionOf(line, T0 + 500_000), 15.5, 'after the end');
  });

  test('a place in the video maps back to its instant, and to its file', () => {
    assert.equal(instantAt(line, 3), T0 + 3000);
    assert.equal(instantAt(line, 8), T0 + 62_000);
    assert.equal(instantAt(line, 12.5), T0 + 101_000);
    assert.equal(instantAt(line, 99), T0 + 104_000, 'clamped to the end');
    for (const seconds of [0, 2.5, 6, 9, 11.5, 14]) assert.equal(positionOf(line, instantAt(line, seconds)), seconds);
    assert.deepEqual(fileAt(line, 12.5), { number: 2, url: '/api/meetings/4/recording/2', seconds: 1 });
    assert.deepEqual(fileAt(line, 4), { number: 1, url: '/api/meetings/4/recording/1', seconds: 4 });
    assert.equal(instantAt(timeline({ files: [], parts: [] }), 3), null);
  });
});

describe('the discussion at a moment', () => {
  test('shows what was said up to that moment, and a comment hidden since as hidden', () => {
    const events = [
      comment(1, 1, 1, 'Когда починят дорогу?'),
      comment(2, 2, 2, 'spam spam'),
      { seq: 3, at: iso(4), type: 'comment_hidden', comment: 2, reason: 'spam', by: { name: 'Модератор' } },
    ];
    const discussion = new ReplayDiscussion(events);
    assert.equal(discussion.at(T0).comments.size, 0);
    assert.deepEqual([...discussion.at(T0 + 2500).comments.keys()], [1, 2]);
    assert.equal(discussion.at(T0 + 2500).comments.get(2).state, 'visible');
    assert.equal(discussion.at(T0 + 5000).comments.get(2).state, 'hidden');
    assert.equal(discussion.at(T0 + 1500).comments.size, 1, 'seeking back');
  });

  test('any order of seeks gives the state a fold from the start gives', () => {
    const events = [];
    for (let seq = 1; seq <= CHECKPOINT_EVERY * 3 + 17; seq += 1) events.push(comment(seq, seq / 10, seq, `Комментарий ${seq}`));
    const discussion = new ReplayDiscussion(events, { maxComments: 50 });
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 40; round += 1) {
      const at = T0 + Math.floor(next() * 160_000);
      const seen = discussion.at(at);
      const fresh = new ReplayDiscussion(events, { maxComments: 50 }).at(at);
      assert.equal(seen.lastSeq, fresh.lastSeq, `round ${round}`);
      assert.deepEqual([...seen.comments.keys()], [...fresh.comments.keys()], `round ${round}`);
    }
    assert.ok(discussion.checkpoints.length >= 3, 'kept states to seek back to');
  });
});

describe('the phase bar and the questions', () => {
  const line = timeline(MANIFEST);
  const events = [
    { seq: 1, at: iso(0.5), type: 'phase_changed', phase: 'presentation' },
    { seq: 2, at: iso(4), type: 'phase_changed', phase: 'qa' },
    { seq: 3, at: iso(61), type: 'question_on_air', question: 1 },
    { seq: 4, at: iso(63), type: 'question_answered', question: 1, summary: 'Весной' },
    { seq: 5, at: iso(64), type: 'question_on_air', question: 1 },
    { seq: 6, at: iso(103), type: 'phase_changed', phase: 'ended' },
  ];

  test('the presentation and the Q&A lie on the video where they were', () => {
    assert.deepEqual(phaseBar(events, line), [
      { phase: 'presentation', from: 0.5, to: 4 },
      { phase: 'qa', from: 4, to: 14.5 },
    ]);
  });

  test('a question is linked to the moment it first went on air, and to its answer', () => {
    const moments = questionMoments(events);
    assert.deepEqual(moments.get(1), { onAir: T0 + 61_000, answered: T0 + 63_000 });
    assert.equal(positionOf(line, moments.get(1).onAir), 7);
  });
});

test('a place on the timeline reads as the video controls show it', () => {
  assert.equal(formatPosition(0), '0:00');
  assert.equal(formatPosition(9.99), '0:09');
  assert.equal(formatPosition(75), '1:15');
  assert.equal(formatPosition(3599), '59:59');
  assert.equal(formatPosition(3600), '1:00:00');
  assert.equal(formatPosition(3725.4), '1:02:05');
  assert.equal(formatPosition(-3), '0:00');
  assert.equal(formatPosition(Number.NaN), '0:00');
});

test('only visible and promoted comments are shown in the replay', () => {
  assert.equal(isShown({ state: 'visible' }), true);
  assert.equal(isShown({ state: 'promoted' }), true);
  assert.equal(isShown({ state: 'hidden' }), false);
  assert.equal(isShown({ state: 'held' }), false);
  assert.equal(isShown(null), false);
});

test('every replay string is in Kazakh, Russian and English, with the same placeholders', () => {
  const keys = Object.keys(strings.en).sort();
  const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
  for (const language of ['kk', 'ru']) {
    assert.deepEqual(Object.keys(strings[language]).sort(), keys, language);
    for (const key of keys) {
      assert.ok(strings[language][key].trim() !== '', `${language} ${key}`);
      assert.deepEqual(placeholders(strings[language][key]), placeholders(strings.en[key]), `${language} ${key}`);
    }
  }
});
