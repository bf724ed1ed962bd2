// web/js/bounded-list.js and web/js/announce.js under Node, with a stand-in container: the list
// keeps at most its cap of rows in number order, the reader's pause counts what it holds back,
// and announcements are summed up and throttled.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThrottledAnnouncer } from '../../web/js/announce.js';
import { BoundedList, ScrollPause } from '../../web/js/bounded-list.js';

class FakeRow {
  constructor(key) {
    this.key = key;
    this.parent = null;
    this.updates = 0;
  }
  remove() {
    if (!this.parent) return;
    this.parent.children.splice(this.parent.children.indexOf(this), 1);
    this.parent = null;
  }
}

class FakeContainer {
  constructor() {
    this.children = [];
    this.writes = 0;
  }
  insertBefore(row, before) {
    row.remove();
    const index = before === null ? this.children.length : this.children.indexOf(before);
    assert.ok(index >= 0, 'the reference row is in the container');
    this.children.splice(index, 0, row);
    row.parent = this;
    this.writes += 1;
  }
  replaceChildren(...rows) {
    for (const row of this.children) row.parent = null;
    this.children = [];
    for (const row of rows) {
      row.remove();
      row.parent = this;
      this.children.push(row);
    }
    this.writes += 1;
  }
  keys() {
    return this.children.map((row) => row.key);
  }
}

function list(options = {}) {
  const container = new FakeContainer();
  const bounded = new BoundedList({
    container,
    maxRows: 3,
    build: (item) => new FakeRow(item.key),
    update: (row) => {
      row.updates += 1;
    },
    ...options,
  });
  return { container, bounded };
}

test('rows stay in number order, capped, the oldest dropped', () => {
  const { container, bounded } = list();
  assert.deepEqual(bounded.upsert(1, { key: 1 }), []);
  bounded.upsert(2, { key: 2 });
  bounded.upsert(4, { key: 4 });
  assert.deepEqual(bounded.upsert(3, { key: 3 }), [1], 'a restored comment goes in its place');
  assert.deepEqual(container.keys(), [2, 3, 4]);
  assert.deepEqual(bounded.upsert(5, { key: 5 }), [2]);
  assert.deepEqual(container.keys(), [3, 4, 5]);
  assert.deepEqual(bounded.upsert(1, { key: 1 }), [], 'older than every row of a full list: not added');
  assert.deepEqual(container.keys(), [3, 4, 5]);
  bounded.upsert(4, { key: 4 });
  assert.equal(bounded.row(4).updates, 1, 'a shown row is updated in place');
  bounded.remove(4);
  assert.deepEqual(container.keys(), [3, 5]);
  assert.equal(bounded.size, 2);
});

test('newest first: the newest row on top', () => {
  const { container, bounded } = list({ newestFirst: true });
  for (const key of [1, 2, 3, 5]) bounded.upsert(key, { key });
  assert.deepEqual(container.keys(), [5, 3, 2]);
  bounded.upsert(4, { key: 4 });
  assert.deepEqual(container.keys(), [5, 4, 3]);
});

test('replaceAll shows the newest rows in one write, keeping rows already shown', () => {
  const { container, bounded } = list();
  bounded.upsert(7, { key: 7 });
  const kept = bounded.row(7);
  const writes = container.writes;
  bounded.replaceAll([9, 7, 1, 8, 2].map((key) => [key, { key }]));
  assert.equal(container.writes, writes + 1);
  assert.deepEqual(container.keys(), [7, 8, 9]);
  assert.equal(bounded.row(7), kept);
  assert.equal(kept.updates, 1);
  bounded.clear();
  assert.deepEqual(container.keys(), []);
});

test('the pause: away from the newest end the list holds still and counts; back there it resumes', () => {
  const pause = new ScrollPause();
  assert.equal(pause.added(2), true, 'following: the list moves');
  pause.scrolled(false);
  assert.equal(pause.added(3), false);
  assert.equal(pause.added(2), false);
  assert.equal(pause.unseen, 5);
  assert.equal(pause.scrolled(true), true, 'back at the end: resumes, and must catch up');
  assert.equal(pause.unseen, 0);
  assert.equal(pause.scrolled(true), false, 'already following');
  pause.scrolled(false);
  pause.added(1);
  assert.equal(pause.resume(), true, 'the button resumes too');
});

test('announcements: at most one summary per interval, with everything counted meanwhile', () => {
  let now = 0;
  const timers = new Map();
  let nextId = 1;
  const fakeTimers = {
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { callback, at: now + ms });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
  };
  const advance = (ms) => {
    now += ms;
    for (const [id, timer] of [...timers]) {
      if (timer.at <= now) {
        timers.delete(id);
        timer.callback();
      }
    }
  };
  const said = [];
  const announcer = new ThrottledAnnouncer({
    say: (text) => said.push(text),
    text: (n) => `${n} new`,
    intervalMs: 5000,
    timers: fakeTimers,
    now: () => now,
  });
  announcer.added(1);
  advance(0);
  assert.deepEqual(said, ['1 new'], 'the first is said at once');
  for (let i = 0; i < 50; i += 1) {
    announcer.added(1);
    advance(100);
  }
  assert.deepEqual(said, ['1 new', '50 new'], 'then one summary when the interval is over');
  advance(6000);
  announcer.added(1);
  advance(0);
  assert.deepEqual(said, ['1 new', '50 new', '1 new'], 'after a quiet interval, said at once again');
  announcer.added(3);
  announcer.reset();
  advance(10000);
  assert.equal(said.length, 3, 'reset forgets what was counted');
  announcer.setMuted(true);
  announcer.added(4);
  advance(10000);
  assert.equal(said.length, 3, 'muted: nothing counted');
});
